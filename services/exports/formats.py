"""The export formats, and keeping spreadsheet cells from running as formulas."""

from __future__ import annotations

from enum import StrEnum
from typing import Final


class ExportFormat(StrEnum):
    CSV = "csv"
    XLSX = "xlsx"
    NDJSON = "ndjson"

    @property
    def media_type(self) -> str:
        """The Content-Type of a file of this format."""
        return _MEDIA_TYPES[self]


_MEDIA_TYPES: Final = {
    ExportFormat.CSV: "text/csv; charset=utf-8",
    ExportFormat.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ExportFormat.NDJSON: "application/x-ndjson",
}

# A cell starting with one of these is read as a formula by Excel, LibreOffice or Google
# Sheets (OWASP "CSV injection"): `=HYPERLINK(...)` in a post must stay text.
_FORMULA_STARTS: Final = frozenset("=+-@\t\r\n\uff1d\uff0b\uff0d")


def spreadsheet_safe(text: str) -> str:
    """`text`, with a leading apostrophe when a spreadsheet would run it as a formula."""
    return "'" + text if text[:1] in _FORMULA_STARTS else text
