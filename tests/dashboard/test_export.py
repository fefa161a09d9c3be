"""CSV and Excel exports (dashboard/components/export.py)."""

from __future__ import annotations

import csv
import io
from datetime import date

import openpyxl
import polars as pl
import pytest

from dashboard.components.export import (
    SYNTHETIC_NOTICE,
    UNSUPPRESSED_NOTICE,
    neutralise_formula,
    to_csv_bytes,
    to_excel_bytes,
)

pytestmark = pytest.mark.unit

TABLE = pl.DataFrame(
    {
        "force": ["Kent Police", '=HYPERLINK("http://x")', "+cmd", "-1+1", "@SUM(A1)"],
        "referrals": [7, 2, 0, 3, 5],
        "shown": ["7", "<5", "0", "\tx", "\rx"],
        "day": [date(2025, 1, 6)] * 5,
        "themes": [["a", "b"], [], ["c"], [], []],
    }
)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@A1", "'@A1"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("Kent", "Kent"),
        ("<5", "<5"),
        (-1, -1),
        (None, None),
    ],
)
def test_neutralise_formula(value: object, expected: object) -> None:
    assert neutralise_formula(value) == expected


def _csv_rows(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def test_csv_synthetic_first_line_and_neutralised_cells() -> None:
    rows = _csv_rows(to_csv_bytes(TABLE, synthetic=True, disclosure_on=True))
    assert rows[0] == [SYNTHETIC_NOTICE]
    assert rows[1] == ["force", "referrals", "shown", "day", "themes"]
    assert rows[2] == ["Kent Police", "7", "7", "2025-01-06", "a; b"]
    starts = [r[0][:2] for r in rows[3:]]
    assert starts == ["'=", "'+", "'-", "'@"]
    assert [r[2] for r in rows[5:]] == ["'\tx", "'\rx"]
    for row in rows[1:]:
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r"))


def test_csv_real_data_has_no_notice_but_unsuppressed_is_flagged() -> None:
    rows = _csv_rows(to_csv_bytes(TABLE, synthetic=False, disclosure_on=True))
    assert rows[0][0] == "force"
    rows = _csv_rows(to_csv_bytes(TABLE, synthetic=False, disclosure_on=False))
    assert rows[0] == [UNSUPPRESSED_NOTICE]


def test_excel_synthetic_first_cell_and_no_formulas() -> None:
    book = openpyxl.load_workbook(
        io.BytesIO(to_excel_bytes(TABLE, synthetic=True, disclosure_on=True, sheet="a/b:c"))
    )
    sheet = book.active
    assert sheet.title == "a b c"
    assert sheet["A1"].value == SYNTHETIC_NOTICE
    assert [c.value for c in sheet[2]] == ["force", "referrals", "shown", "day", "themes"]
    assert sheet["B3"].value == 7
    values = [c.value for row in sheet.iter_rows(min_row=3) for c in row]
    assert all(c.data_type != "f" for row in sheet.iter_rows() for c in row)
    for v in values:
        if isinstance(v, str):
            assert not v.startswith(("=", "+", "-", "@", "\t", "\r")), v


def test_a_mixed_store_says_so_instead_of_no_real_cases() -> None:
    from dashboard.components.export import MIXED_NOTICE

    rows = _csv_rows(to_csv_bytes(TABLE, synthetic=True, disclosure_on=False, mixed=True))
    assert rows[:2] == [[MIXED_NOTICE], [UNSUPPRESSED_NOTICE]]
    assert "no real cases" not in MIXED_NOTICE
    book = openpyxl.load_workbook(
        io.BytesIO(to_excel_bytes(TABLE, synthetic=True, disclosure_on=True, mixed=True))
    )
    assert book.active["A1"].value == MIXED_NOTICE
    assert book.active["A2"].value == "force"


def test_excel_unsuppressed_notice_after_synthetic() -> None:
    book = openpyxl.load_workbook(
        io.BytesIO(to_excel_bytes(TABLE, synthetic=True, disclosure_on=False))
    )
    sheet = book.active
    assert [sheet["A1"].value, sheet["A2"].value] == [SYNTHETIC_NOTICE, UNSUPPRESSED_NOTICE]


def test_excel_writes_shown_counts_as_numbers_and_markers_as_text() -> None:
    """A controlled table's count column is text (``7``, ``<5``, ``withheld``); Excel
    must get the numbers as numbers (else "number stored as text", and SUM gives 0),
    the markers as text, and codes (``08``, ``19D``) left alone."""
    table = pl.DataFrame(
        {
            "code": ["19D", "08", "71"],
            "outcome": ["08", "15", "16"],
            "referrals": ["1,273", "<5", "withheld"],
            "percent": ["18.5", "withheld", "0.0"],
            "change": ["+3", "-2", "0"],
        }
    )
    book = openpyxl.load_workbook(
        io.BytesIO(to_excel_bytes(table, synthetic=True, disclosure_on=True))
    )
    rows = [[c.value for c in row] for row in book.active.iter_rows(min_row=3)]
    assert rows == [
        ["19D", "08", 1273, 18.5, "'+3"],
        ["08", "15", "<5", "withheld", "'-2"],
        ["71", "16", "withheld", 0, "0"],
    ]
    assert book.active["C3"].data_type == "n" and book.active["C4"].data_type == "s"
