"""Small helpers the pages use to quote figures (dashboard/data.py)."""

from __future__ import annotations

import polars as pl
import pytest

from dashboard.data import certain_leader, is_exact, shown_sum

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


@pytest.mark.parametrize(
    ("rows", "leader"),
    [
        # all shown: the largest total leads; a tie leads nowhere
        ([("2010", "5", "7"), ("2011", "6", "0")], "2010"),
        ([("2010", "6", "0"), ("2011", "0", "6")], None),
        # 2011's <5 could be 4: 2011 could reach 9 + 4 = 13 > 12
        ([("2010", "12", "0"), ("2011", "9", "<5")], None),
        # ... but not beyond 8 + 4 = 12 < 13
        ([("2010", "13", "0"), ("2011", "8", "<5")], "2010"),
        # a withheld figure has no upper bound: no one can be sure
        ([("2010", "50", "0"), ("2011", "withheld", "<5")], None),
        # the leader's own hidden figures count at their least: 20 + 5 > 24
        ([("2010", "20", "withheld"), ("2011", "24", "0")], "2010"),
        ([("2010", "19", "withheld"), ("2011", "24", "0")], None),
    ],
)
def test_a_leader_is_named_only_when_no_hidden_figure_could_change_it(
    rows: list[tuple[str, str, str]], leader: str | None
) -> None:
    table = pl.DataFrame(rows, schema=["year", "a", "b"], orient="row")
    assert certain_leader(table, "year", ["a", "b"]) == leader
