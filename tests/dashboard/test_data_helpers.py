"""Small helpers the pages use to quote figures (dashboard/data.py)."""

from __future__ import annotations

import polars as pl
import pytest

from dashboard.data import is_exact, shown_sum

pytestmark = pytest.mark.unit


def test_a_sum_is_quoted_only_when_every_part_is_shown() -> None:
    assert shown_sum(pl.Series([8, 5, 7, 1200])) == "1,220"
    assert shown_sum(pl.Series([8, 5, None, 7])) == "withheld"  # 23 with a <5 gave it away
    assert shown_sum(pl.Series([], dtype=pl.Int64)) == "0"


@pytest.mark.parametrize(
    ("shown", "exact"),
    [("0", True), ("7", True), ("1,273", True), ("<5", False), ("withheld", False), ("", False)],
)
def test_is_exact(shown: str, exact: bool) -> None:
    assert is_exact(shown) is exact
