"""Writers that stream a table as CSV, NDJSON or XLSX chunks, in constant memory.

CSV and NDJSON go out as they are written, a few hundred rows per chunk. An XLSX file
is a zip whose parts are only complete at the end, so xlsxwriter writes it in its
constant-memory mode (each row flushed to a temporary file as it is written) and the
finished file is then streamed and deleted.
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any, Final, TypeVar

import xlsxwriter

from services.exports.columns import Cell
from services.exports.formats import ExportFormat, spreadsheet_safe

T = TypeVar("T")

ROWS_PER_CHUNK: Final = 500
FILE_CHUNK: Final = 1 << 16
XLSX_MAX_ROWS: Final = 1_048_576  # Excel's limit, header included: more go on a new sheet
XLSX_MAX_TEXT: Final = 32_767  # Excel's limit of characters in a cell
CUT_MARKER: Final = "… [truncated: {length} characters in CSV/NDJSON]"


def fit_cell_text(text: str, limit: int = XLSX_MAX_TEXT) -> str:
    """`text`, or when longer than an Excel cell holds, its start ending with a visible
    marker giving the full length (CSV and NDJSON carry it whole)."""
    if len(text) <= limit:
        return text
    marker = CUT_MARKER.format(length=f"{len(text):,}")
    return text[: limit - len(marker)] + marker


_BOM: Final = "\ufeff"  # lets Excel read UTF-8 (accents) instead of guessing a code page


def decimal_mark(delimiter: str) -> str:
    """The decimal mark of the CSV dialect the separator names: `;` is the French (and
    most of continental Europe's) Excel, which reads `0,25` as a number and `0.25` as text."""
    return "," if delimiter == ";" else "."


def _csv_cell(cell: Cell, decimal: str = ".") -> str:
    if cell is None:
        return ""
    if isinstance(cell, str):
        return spreadsheet_safe(cell)
    if isinstance(cell, datetime):
        return cell.strftime("%Y-%m-%d %H:%M:%S")  # UTC; a form every spreadsheet reads
    if isinstance(cell, list):
        return spreadsheet_safe("; ".join(cell))
    if isinstance(cell, dict):
        return spreadsheet_safe("; ".join(f"{k}: {v}" for k, v in cell.items()))
    if isinstance(cell, float):
        return str(cell).replace(".", decimal)
    return str(cell)


def csv_chunks(
    header: Sequence[str], rows: Iterable[Sequence[Cell]], *, delimiter: str = ","
) -> Iterator[bytes]:
    """The table as UTF-8 CSV (with a BOM), formula-looking text made inert, decimals
    marked as the separator's dialect wants (`decimal_mark`)."""
    decimal = decimal_mark(delimiter)
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    buffer.write(_BOM)
    writer.writerow(header)
    pending = 0
    for row in rows:
        writer.writerow([_csv_cell(cell, decimal) for cell in row])
        pending += 1
        if pending >= ROWS_PER_CHUNK:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
            pending = 0
    yield buffer.getvalue().encode("utf-8")


def text_csv_chunks(
    header: Sequence[str] | None, rows: Iterable[Sequence[str]], *, delimiter: str = ","
) -> Iterator[bytes]:
    """Like `csv_chunks`, for rows whose cells are already safe CSV text (no header nor
    BOM when `header` is None: a part of a file)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    if header is not None:
        buffer.write(_BOM)
        writer.writerow(header)
    batch: list[Sequence[str]] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= ROWS_PER_CHUNK:
            writer.writerows(batch)
            batch.clear()
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    writer.writerows(batch)
    yield buffer.getvalue().encode("utf-8")


def ndjson_chunks(records: Iterable[dict[str, Any]]) -> Iterator[bytes]:
    """One JSON object per line."""
    lines: list[str] = []
    for record in records:
        lines.append(json.dumps(record, ensure_ascii=False, default=str))
        if len(lines) >= ROWS_PER_CHUNK:
            yield ("\n".join(lines) + "\n").encode("utf-8")
            lines.clear()
    # An empty export is an empty file (each line is a record).
    yield ("\n".join(lines) + "\n").encode("utf-8") if lines else b""


def xlsx_chunks(
    header: Sequence[str], rows: Iterable[Sequence[Cell]], *, sheet: str
) -> Iterator[bytes]:
    """The table as an XLSX workbook, a new sheet every million rows."""
    handle, path = tempfile.mkstemp(prefix="veille-export-", suffix=".xlsx")
    os.close(handle)
    try:
        _write_workbook(path, header, rows, sheet=sheet)
        with open(path, "rb") as done:
            while chunk := done.read(FILE_CHUNK):
                yield chunk
    finally:
        os.unlink(path)


def _write_workbook(
    path: str, header: Sequence[str], rows: Iterable[Sequence[Cell]], *, sheet: str
) -> None:
    # strings_to_*: False, so no text is ever read as a formula, a number or a link.
    workbook = xlsxwriter.Workbook(
        path,
        {
            "constant_memory": True,
            "strings_to_formulas": False,
            "strings_to_numbers": False,
            "strings_to_urls": False,
            "remove_timezone": True,
        },
    )
    bold = workbook.add_format({"bold": True})
    when = workbook.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
    worksheet = None
    row_number = XLSX_MAX_ROWS
    sheets = 0
    try:
        for row in rows:
            if row_number >= XLSX_MAX_ROWS:
                sheets += 1
                worksheet = workbook.add_worksheet(sheet if sheets == 1 else f"{sheet} {sheets}")
                worksheet.write_row(0, 0, list(header), bold)
                worksheet.freeze_panes(1, 0)
                row_number = 1
            assert worksheet is not None
            for column, cell in enumerate(row):
                _write_cell(worksheet, row_number, column, cell, when)
            row_number += 1
        if worksheet is None:  # no row: the header alone
            worksheet = workbook.add_worksheet(sheet)
            worksheet.write_row(0, 0, list(header), bold)
    finally:
        workbook.close()


def _write_cell(worksheet: Any, row: int, column: int, cell: Cell, when: Any) -> None:
    if cell is None:
        return
    if isinstance(cell, bool):
        worksheet.write_boolean(row, column, cell)
    elif isinstance(cell, int | float):
        worksheet.write_number(row, column, cell)
    elif isinstance(cell, datetime):
        worksheet.write_datetime(row, column, cell, when)
    else:
        # A string cell is never evaluated: no apostrophe needed, unlike CSV.
        if isinstance(cell, list):
            text = "; ".join(cell)
        elif isinstance(cell, dict):
            text = "; ".join(f"{k}: {v}" for k, v in cell.items())
        else:
            text = cell
        worksheet.write_string(row, column, fit_cell_text(text))


def stream(
    fmt: ExportFormat,
    *,
    header: Sequence[str],
    items: Iterable[T],
    row: Callable[[T], Sequence[Cell]],
    record: Callable[[T], dict[str, Any]],
    sheet: str,
    delimiter: str = ",",
    text_row: Callable[[T], Sequence[str]] | None = None,
) -> Iterator[bytes]:
    """Streams `items` in format `fmt`: rows for CSV and XLSX, records for NDJSON
    (`text_row`, when given, makes a CSV row of safe text more quickly than `row`)."""
    if fmt == ExportFormat.CSV and text_row is not None:
        return text_csv_chunks(header, map(text_row, items), delimiter=delimiter)
    if fmt == ExportFormat.NDJSON:
        return ndjson_chunks(record(item) for item in items)
    rows = (row(item) for item in items)
    if fmt == ExportFormat.XLSX:
        return xlsx_chunks(header, rows, sheet=sheet)
    return csv_chunks(header, rows, delimiter=delimiter)
