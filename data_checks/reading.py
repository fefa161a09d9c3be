"""Reading a received file into a frame of text cells, whatever form it came in.

The form is recognised from the bytes, not the file name: an ``.xlsx`` workbook (a zip
holding ``xl/workbook.xml``), or CSV text in UTF-8 (with or without a byte-order mark)
or Windows-1252. Anything else is a :class:`RejectedFile` with a one-line reason.

Every cell comes back as text exactly as received (``None`` for an empty cell), with
the spreadsheet row number (the header is row 1) in ``_row`` and each wholly blank line
removed. Column names are matched case-insensitively, ignoring surrounding spaces.
"""

from __future__ import annotations

import csv
import hashlib
import io
import zipfile
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import polars as pl

from data_checks.errors import RejectedFile

ROW = "_row"
EXTRA = "_extra_cells"


@dataclass
class ReceivedTable:
    """A received file as text cells, with what was learnt about its form."""

    file_name: str
    sha256: str
    file_format: str
    encoding: str | None
    columns: dict[str, str]  # contract column name -> header as received
    ignored_columns: list[str]
    cells: pl.DataFrame  # one String column per contract column present, plus _row
    raw_cells: pl.DataFrame | None = None  # every column as received (for quarantine)


def file_digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _decode(name: str, data: bytes) -> tuple[str, str]:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise RejectedFile(name, "UTF-16 text is not accepted; save the file as CSV UTF-8")
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise RejectedFile(name, "an old-style .xls workbook is not accepted; save as .xlsx or CSV")
    head = data[:65536]
    if b"\x00" in head:
        raise RejectedFile(name, "binary data or UTF-16 text, not CSV or an .xlsx workbook")
    try:
        text, encoding = data.decode("utf-8-sig"), "utf-8"
        if data.startswith(b"\xef\xbb\xbf"):
            encoding = "utf-8-bom"
    except UnicodeDecodeError:
        # A UTF-8 byte-order mark before Windows-1252 text (a file re-saved by a tool
        # that adds one): the mark is not part of the text.
        body = data[3:] if data.startswith(b"\xef\xbb\xbf") else data
        try:
            text, encoding = body.decode("cp1252"), "windows-1252"
        except UnicodeDecodeError:
            raise RejectedFile(name, "neither UTF-8 nor Windows-1252 text") from None
    sample = text[:65536]
    bad = sum(1 for ch in sample if ord(ch) < 32 and ch not in "\t\r\n")
    if bad > max(
        2, len(sample) // 100
    ):  # a stray control character is a bad cell, not a binary file
        raise RejectedFile(name, "binary data (control characters), not CSV text")
    return text, encoding


def _cell_text(value: object) -> str | None:
    """An Excel cell as the text a user would have typed."""
    if value is None:
        return None
    if isinstance(value, datetime):
        if value.hour == value.minute == value.second == value.microsecond == 0:
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _read_xlsx(name: str, data: bytes) -> tuple[list[str], list[list[str | None]], list[int], str]:
    from openpyxl import load_workbook

    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - any failure to open is a rejection
        raise RejectedFile(name, f"not a readable .xlsx workbook ({type(exc).__name__})") from None
    try:
        ws = wb.worksheets[0]
        note = (
            f" (read the first of {len(wb.worksheets)} sheets, '{ws.title}'; "
            "the return must be on the first sheet)"
            if len(wb.worksheets) > 1
            else ""
        )
        rows = ws.iter_rows(values_only=True)
        header = next(rows, None)
        if header is None:
            raise RejectedFile(name, "the first sheet is empty")
        headers = ["" if h is None else str(h) for h in header]
        body: list[list[str | None]] = []
        numbers: list[int] = []
        for i, row in enumerate(rows, start=2):
            cells = [_cell_text(v) for v in row]
            body.append(cells)
            numbers.append(i)
        return headers, body, numbers, note
    finally:
        wb.close()


def _unclosed_quote_line(text: str) -> int | None:
    """The line on which a quoted cell opens and is never closed, else None.

    Left alone, such a cell takes in every line after it, so the file's remaining rows
    would arrive as one cell of one row."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    start = 1
    try:
        for _row in reader:
            start = reader.line_num + 1
    except csv.Error as exc:
        if "unexpected end of data" in str(exc):
            return start
    return None


def _read_csv_slow(text: str) -> tuple[list[str], list[list[str | None]], list[int]]:
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None) or []
    body: list[list[str | None]] = []
    numbers: list[int] = []
    for i, row in enumerate(reader, start=2):
        body.append([c if c != "" else None for c in row])
        numbers.append(i)
    return header, body, numbers


def _frame_from_rows(
    headers: list[str], body: list[list[str | None]], numbers: list[int]
) -> pl.DataFrame:
    width = len(headers)
    cols: dict[str, list[str | None]] = {f"c{j}": [] for j in range(width)}
    extra: list[str | None] = []
    for row in body:
        for j in range(width):
            cols[f"c{j}"].append(row[j] if j < len(row) else None)
        spill = [c for c in row[width:] if c is not None and c.strip() != ""]
        extra.append(";".join(spill) if spill else None)
    frame = pl.DataFrame(cols, schema={k: pl.String for k in cols})
    return frame.with_columns(
        pl.Series(ROW, numbers, dtype=pl.Int64), pl.Series(EXTRA, extra, dtype=pl.String)
    )


def _read_csv(name: str, text: str) -> tuple[list[str], pl.DataFrame]:
    header_line = next(csv.reader(io.StringIO(text, newline="")), None)
    if not header_line:
        return [], pl.DataFrame()
    headers = list(header_line)
    names = [f"c{j}" for j in range(len(headers))]
    try:
        frame = pl.read_csv(
            io.BytesIO(text.encode("utf-8")),
            has_header=False,
            skip_rows=1,
            new_columns=names,
            schema={n: pl.String for n in names},
            infer_schema=False,
            truncate_ragged_lines=False,
            quote_char='"',
        )
        frame = frame.with_columns(
            (pl.int_range(pl.len(), dtype=pl.Int64) + 2).alias(ROW),
            pl.lit(None, dtype=pl.String).alias(EXTRA),
        )
        if frame.height != _physical_lines(text) - 1:
            raise ValueError("multi-line cells: number the rows one by one")
    except (pl.exceptions.PolarsError, ValueError):  # ragged rows or cells spanning lines
        unclosed = _unclosed_quote_line(text)
        if unclosed is not None:
            raise RejectedFile(
                name,
                f'the quoted cell that opens on line {unclosed} is never closed (a missing ")',
            ) from None
        headers, body, numbers = _read_csv_slow(text)
        frame = _frame_from_rows(headers, body, numbers)
    return headers, frame


def _physical_lines(text: str) -> int:
    """Lines in the text; differs from Polars' row count only when a cell spans lines."""
    return text.count("\n") + (0 if text.endswith("\n") else 1)


def read_received_file(
    path: Path,
    required: list[str],
    optional: list[str],
    extra_wanted: tuple[str, ...] = (),
    *,
    data: bytes | None = None,
    digest: str | None = None,
) -> ReceivedTable:
    """Read ``path`` into text cells; reject it whole when it cannot be a return of this feed.

    ``data`` (with its ``digest``) are the file's bytes when the caller has read them
    already, so that what is judged is exactly what was checked for a duplicate."""
    name = str(path)
    if data is None:
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise RejectedFile(name, f"cannot be read ({exc.strerror or exc})") from None
    if digest is None:
        digest = file_digest(data)
    if not data or data.isspace():  # (strip() would copy the whole file to check)
        raise RejectedFile(name, "the file is empty")
    sheet_note = ""
    if data[:4] == b"PK\x03\x04" and _is_xlsx(data):
        headers, body, numbers, sheet_note = _read_xlsx(name, data)
        frame = _frame_from_rows(headers, body, numbers)
        file_format, encoding = "xlsx", None
    elif data[:4] == b"PK\x03\x04":
        raise RejectedFile(name, "a zip archive that is not an .xlsx workbook")
    else:
        text, encoding = _decode(name, data)
        if "\r" in text and "\n" not in text:
            # Lines ended by CR alone (Excel for Mac's "CSV (Macintosh)"): same rows.
            text = text.replace("\r", "\n")
        headers, frame = _read_csv(name, text)
        file_format = "csv"
    try:
        return _shape(
            name, digest, file_format, encoding, headers, frame, required, optional, extra_wanted
        )
    except RejectedFile as exc:
        if sheet_note and exc.problem.startswith("required column(s) missing"):
            raise RejectedFile(name, exc.problem + sheet_note) from None
        raise


def _is_xlsx(data: bytes) -> bool:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            return "xl/workbook.xml" in zf.namelist()
    except zipfile.BadZipFile:
        return False


def _shape(
    name: str,
    digest: str,
    file_format: str,
    encoding: str | None,
    headers: list[str],
    frame: pl.DataFrame,
    required: list[str],
    optional: list[str],
    extra_wanted: tuple[str, ...],
) -> ReceivedTable:
    normalised = [h.strip().lower() for h in headers]
    known = set(required) | set(optional) | set(extra_wanted)
    for col in sorted(known):
        if normalised.count(col) > 1:
            raise RejectedFile(name, f"column '{col}' appears more than once in the header")
    missing = [c for c in required if c not in normalised]
    if missing:
        raise RejectedFile(name, f"required column(s) missing: {', '.join(missing)}")
    cell_cols = [f"c{j}" for j in range(len(headers))]
    frame = _without_blank_rows(frame, cell_cols, f"c{normalised.index(required[0])}")
    if frame.height == 0:
        raise RejectedFile(name, "no data rows below the header")
    columns = {n: headers[j] for j, n in enumerate(normalised) if n in known}
    ignored = [h for h, n in zip(headers, normalised, strict=True) if n not in known]
    raw_names = _unique_names(headers)
    raw_cells = frame.select(
        pl.col(ROW),
        *[pl.col(c).alias(raw_names[j]) for j, c in enumerate(cell_cols)],
        pl.col(EXTRA),
    )
    cells = frame.select(
        pl.col(ROW),
        *[pl.col(f"c{j}").alias(n) for j, n in enumerate(normalised) if n in known],
        pl.col(EXTRA),
    )
    return ReceivedTable(
        file_name=name,
        sha256=digest,
        file_format=file_format,
        encoding=encoding,
        columns=columns,
        ignored_columns=ignored,
        cells=cells,
        raw_cells=raw_cells,
    )


def _blank(column: str) -> pl.Expr:
    return pl.col(column).is_null() | (pl.col(column).str.strip_chars() == "")


def _without_blank_rows(frame: pl.DataFrame, cell_cols: list[str], key: str) -> pl.DataFrame:
    """``frame`` without the rows that are blank (or whitespace) in every cell.

    Only a row blank in ``key`` (a required column) can be blank throughout, so every
    cell is looked at only on those rows: most files have none, and checking every
    cell of every row took a quarter of a second at a million rows.
    """
    candidates = frame.filter(_blank(key))
    if candidates.height == 0:
        return frame
    blank_rows = candidates.filter(
        pl.all_horizontal([_blank(c) for c in cell_cols]) & pl.col(EXTRA).is_null()
    ).get_column(ROW)
    return frame.filter(~pl.col(ROW).is_in(blank_rows.implode()))


def _unique_names(headers: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for h in headers:
        label = h if h.strip() else "(blank header)"
        if label in seen:
            seen[label] += 1
            label = f"{label} ({seen[label]})"
        else:
            seen[label] = 1
        out.append(label)
    return out
