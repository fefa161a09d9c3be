"""CSV and Excel exports of a figure's table.

Every export carries, before the table, a line saying ``SYNTHETIC DATA`` when the data
are synthetic (``SYNTHETIC DATA MIXED WITH REAL RETURNS`` when the store holds both),
and a warning when disclosure control was off. Text cells that a
spreadsheet would run as a formula (starting ``=``, ``+``, ``-``, ``@``, a tab or a
carriage return) get a leading apostrophe, so an opened export never computes
anything. The frame given is exported as it is: the page passes the
disclosure-controlled table to anyone who may see only that.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from datetime import date, datetime

import polars as pl

SYNTHETIC_NOTICE = "SYNTHETIC DATA: made up for testing and demonstration; no real cases."
MIXED_NOTICE = (
    "SYNTHETIC DATA MIXED WITH REAL RETURNS: the store holds synthetic files as well as "
    "real ones; no figure here can be used or quoted."
)
UNSUPPRESSED_NOTICE = (
    "UNSUPPRESSED: disclosure control was off; counts of 1 to 4 are shown. "
    "Do not share outside the review's data team."
)
FORMULA_PREFIXES: tuple[str, ...] = ("=", "+", "-", "@", "\t", "\r")
CSV_MIME = "text/csv"
EXCEL_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def neutralise_formula(value: object) -> object:
    """A text cell made safe to open in a spreadsheet; other values unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def export_notices(*, synthetic: bool, disclosure_on: bool, mixed: bool = False) -> list[str]:
    """The lines that precede the table in every export (``mixed``: the store holds
    synthetic and real files, which the synthetic line alone would deny)."""
    notices = []
    if mixed:
        notices.append(MIXED_NOTICE)
    elif synthetic:
        notices.append(SYNTHETIC_NOTICE)
    if not disclosure_on:
        notices.append(UNSUPPRESSED_NOTICE)
    return notices


def _cell(value: object) -> object:
    if isinstance(value, list | tuple):
        value = "; ".join("" if v is None else str(v) for v in value)
    elif isinstance(value, datetime):
        value = value.isoformat(sep=" ", timespec="seconds")
    elif isinstance(value, date):
        value = value.isoformat()
    return neutralise_formula(value)


def export_rows(frame: pl.DataFrame) -> list[list[object]]:
    """The header and the rows of ``frame`` as plain, neutralised Python values."""
    header = [neutralise_formula(str(c)) for c in frame.columns]
    return [header] + [[_cell(v) for v in row] for row in frame.iter_rows()]


def to_csv_bytes(
    frame: pl.DataFrame, *, synthetic: bool, disclosure_on: bool, mixed: bool = False
) -> bytes:
    """The table as CSV (UTF-8 with a byte-order mark, so spreadsheets read it right)."""
    import csv

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    for notice in export_notices(synthetic=synthetic, disclosure_on=disclosure_on, mixed=mixed):
        writer.writerow([notice])
    for row in export_rows(frame):
        writer.writerow(["" if v is None else v for v in row])
    return buffer.getvalue().encode("utf-8-sig")


def to_excel_bytes(
    frame: pl.DataFrame,
    *,
    synthetic: bool,
    disclosure_on: bool,
    sheet: str = "data",
    mixed: bool = False,
) -> bytes:
    """The table as an Excel workbook; notices in the first cells, then the table."""
    import xlsxwriter

    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(
        buffer,
        {
            "in_memory": True,
            "strings_to_formulas": False,
            "strings_to_urls": False,
            "strings_to_numbers": False,
        },
    )
    worksheet = workbook.add_worksheet(_sheet_name(sheet))
    bold = workbook.add_format({"bold": True})
    row_index = 0
    for notice in export_notices(synthetic=synthetic, disclosure_on=disclosure_on, mixed=mixed):
        worksheet.write_string(row_index, 0, notice, bold)
        row_index += 1
    rows = export_rows(frame)
    numeric = _numeric_text_columns(rows[1:], len(rows[0]))
    for i, row in enumerate(rows):
        for col, value in enumerate(row):
            if value is None:
                continue
            if isinstance(value, bool):
                worksheet.write_boolean(row_index, col, value)
            elif isinstance(value, int | float):
                worksheet.write_number(row_index, col, value)
            elif i > 0 and col in numeric and NUMBER_TEXT.match(str(value)):
                worksheet.write_number(row_index, col, float(str(value).replace(",", "")))
            else:
                worksheet.write_string(row_index, col, str(value), bold if i == 0 else None)
        row_index += 1
    workbook.close()
    return buffer.getvalue()


#: A number as the pages print one (``1,273``, ``18.5``, ``-3``), with no leading zero
#: (``08`` is a code, not a number).
NUMBER_TEXT = re.compile(r"^-?(0|[1-9]\d{0,2}(,\d{3})+|[1-9]\d*)(\.\d+)?$")
#: What stands for a hidden figure in a controlled table (``<5``, ``withheld``).
MARKER_TEXT = re.compile(r"^(<\d+|withheld)$")


def _numeric_text_columns(rows: list[list[object]], width: int) -> set[int]:
    """The columns of text cells that are all numbers or disclosure markers (a count
    column under control, ``7`` beside ``<5``), to be written to Excel as numbers, with
    the markers as text: counts kept as text would read "number stored as text" and
    add up to 0."""
    out = set()
    for col in range(width):
        cells = [str(r[col]) for r in rows if r[col] is not None and isinstance(r[col], str)]
        if (
            cells
            and all(NUMBER_TEXT.match(c) or MARKER_TEXT.match(c) for c in cells)
            and any(NUMBER_TEXT.match(c) for c in cells)
        ):
            out.add(col)
    return out


def _sheet_name(name: str) -> str:
    """Excel sheet names: at most 31 characters, none of ``[]:*?/\\``."""
    cleaned = "".join(" " if c in "[]:*?/\\" else c for c in name).strip() or "data"
    return cleaned[:31]


def csv_exporter(
    frame: pl.DataFrame, *, synthetic: bool, disclosure_on: bool, mixed: bool = False
) -> Callable[[], bytes]:
    """A callable that builds the CSV only when the person clicks download."""
    return lambda: to_csv_bytes(
        frame, synthetic=synthetic, disclosure_on=disclosure_on, mixed=mixed
    )


def excel_exporter(
    frame: pl.DataFrame,
    *,
    synthetic: bool,
    disclosure_on: bool,
    sheet: str = "data",
    mixed: bool = False,
) -> Callable[[], bytes]:
    """A callable that builds the workbook only when the person clicks download."""
    return lambda: to_excel_bytes(
        frame, synthetic=synthetic, disclosure_on=disclosure_on, sheet=sheet, mixed=mixed
    )
