"""The words for a period the data cover only in part (dashboard.components.periods)."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from dashboard.components.periods import (
    coverage_column,
    coverage_text,
    long_date,
    partial_caption,
    short_date,
)

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("first", "last", "text"),
    [
        (date(2025, 11, 1), date(2025, 11, 4), "partial: 1 to 4 Nov 2025"),
        (date(2025, 11, 4), date(2025, 11, 4), "partial: 4 Nov 2025"),
        (date(2025, 10, 27), date(2025, 11, 2), "partial: 27 Oct to 2 Nov 2025"),
        (date(2025, 12, 29), date(2026, 1, 2), "partial: 29 Dec 2025 to 2 Jan 2026"),
    ],
)
def test_partial_periods_name_their_days(first: date, last: date, text: str) -> None:
    assert coverage_text(False, first, last, "week") == text


def test_whole_periods_say_so() -> None:
    assert coverage_text(True, date(2025, 10, 1), date(2025, 10, 31), "month") == "whole month"


PERIODS = pl.DataFrame(
    {
        "period_start": [date(2025, 9, 1), date(2025, 10, 1), date(2025, 11, 1)],
        "complete": [True, True, False],
        "covered_from": [date(2025, 9, 1), date(2025, 10, 1), date(2025, 11, 1)],
        "covered_to": [date(2025, 9, 30), date(2025, 10, 31), date(2025, 11, 4)],
    }
)


def test_the_column_and_the_caption_name_the_partial_month() -> None:
    assert coverage_column(PERIODS, "month").to_list() == [
        "whole month",
        "whole month",
        "partial: 1 to 4 Nov 2025",
    ]
    assert partial_caption(PERIODS, "month", "hatched bar") == (
        "November 2025 (1 to 4 Nov 2025) is only partly covered by the data shown (hatched "
        "bar): its count is not comparable with a whole month's."
    )
    assert partial_caption(PERIODS, "month") == (
        "November 2025 (1 to 4 Nov 2025) is only partly covered by the data shown: its count "
        "is not comparable with a whole month's."
    )


def test_a_caption_for_shares_says_they_rest_on_the_decisions_so_far() -> None:
    assert partial_caption(PERIODS, "month", shares=True) == (
        "November 2025 (1 to 4 Nov 2025) is only partly covered by the data shown: its "
        "shares are of the decisions made so far, so they rest on fewer."
    )
    two = PERIODS.with_columns(pl.Series("complete", [False, True, False]))
    assert partial_caption(two, "month", shares=True) == (
        "September 2025 (1 to 30 Sep 2025) and November 2025 (1 to 4 Nov 2025) are only "
        "partly covered by the data shown: their shares are of the decisions made so far, "
        "so they rest on fewer."
    )


def test_a_caption_can_name_its_mark_for_several_periods() -> None:
    two = PERIODS.with_columns(pl.Series("complete", [False, True, False]))
    assert "(hatched bars)" in partial_caption(two, "month", "hatched bar")
    assert "(marked hollow)" in partial_caption(
        two, "month", "marked hollow", labels="marked hollow"
    )
    assert "(marked hollow)" in partial_caption(PERIODS, "month", "marked hollow", labels="x")


def test_no_caption_when_every_period_is_whole() -> None:
    assert partial_caption(PERIODS.head(2), "month", "hatched bar") is None


def test_dates_in_prose_have_no_leading_zero() -> None:
    assert long_date(date(2026, 1, 2)) == "2 January 2026"
    assert short_date(date(2026, 1, 2)) == "2 Jan 2026"
    assert long_date(date(2025, 11, 14)) == "14 November 2025"
