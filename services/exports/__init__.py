"""Exports: mentions and stats as CSV, XLSX or NDJSON, streamed in constant memory."""
