"""The state store's error, part of its contract: callers catch it without the SQL layer."""

from __future__ import annotations


class StateStoreError(RuntimeError):
    """The state store cannot be opened or used: bad URL, database down, locked, too new."""
