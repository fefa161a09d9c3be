"""Periods the data cover only in part (the month of the as-at date, a week cut by the
sidebar's dates): marked on the chart, named in its table and explained under it, so a
short last bar is not read as referrals falling away.

The metrics functions say which periods are whole (``complete``) and which days the
data cover (``covered_from``, ``covered_to``: ``metrics.volumes.referrals_by_period``).
"""

from __future__ import annotations

from datetime import date

import polars as pl

#: Plotly's hatching for a partial period's bar (the mark does not rely on colour).
PARTIAL_PATTERN = "/"
#: How a line chart marks a partial period's point (the same words for one or several).
HOLLOW = "marked hollow"


def short_date(d: date) -> str:
    """``4 Nov 2025``: a day in prose and tables, without a leading zero."""
    return f"{d.day} {d:%b %Y}"


def day_month(d: date) -> str:
    """``8 Mar``: a day in a title that names its month and year already."""
    return f"{d.day} {d:%b}"


def long_date(d: date) -> str:
    """``4 November 2025``: a date in a sentence, without a leading zero."""
    return f"{d.day} {d:%B %Y}"


def day_span(first: date, last: date) -> str:
    """``4 Nov 2025``, ``1 to 4 Nov 2025``, ``27 Oct to 2 Nov 2025``, ``29 Dec 2025 to
    4 Jan 2026``."""
    if first == last:
        return short_date(first)
    if (first.year, first.month) == (last.year, last.month):
        return f"{first.day} to {short_date(last)}"
    if first.year == last.year:
        return f"{first.day} {first:%b} to {short_date(last)}"
    return f"{short_date(first)} to {short_date(last)}"


def coverage_text(complete: bool, covered_from: date, covered_to: date, period: str) -> str:
    """``whole month``, or the days a partial one covers (``partial: 1 to 4 Nov 2025``)."""
    if complete:
        return f"whole {period}"
    return f"partial: {day_span(covered_from, covered_to)}"


def coverage_column(periods: pl.DataFrame, period: str) -> pl.Series:
    """One coverage text per row of a ``referrals_by_period`` frame, named ``covers``."""
    return pl.Series(
        "covers",
        [
            coverage_text(c, f, t, period)
            for c, f, t in periods.select("complete", "covered_from", "covered_to").iter_rows()
        ],
        dtype=pl.String,
    )


def partial_caption(
    periods: pl.DataFrame,
    period: str,
    label: str | None = None,
    *,
    labels: str | None = None,
    shares: bool = False,
) -> str | None:
    """A sentence under the chart naming each partial period, or None when all are whole.

    ``label`` says how the chart marks them (``hatched bar``, say), if it does, and
    ``labels`` how it marks several (``label`` with an "s" unless given). With
    ``shares`` the chart shows shares of the period's decisions, not counts: a partial
    period's share is of the decisions made so far, which is comparable but rests on
    fewer of them."""
    partial = periods.filter(~pl.col("complete"))
    if partial.height == 0:
        return None
    named = " and ".join(
        f"{_period_name(s, period)} ({day_span(f, t)})"
        for s, f, t in partial.select("period_start", "covered_from", "covered_to").iter_rows()
    )
    single = partial.height == 1
    marked = f" ({label if single else labels or f'{label}s'})" if label else ""
    verb, its = ("is", "its") if single else ("are", "their")
    covered = f"{verb} only partly covered by the data shown{marked}"
    if shares:
        tail = f"{covered}: {its} shares are of the decisions made so far, so they rest on fewer."
    else:
        counts = "count is" if single else "counts are"
        tail = f"{covered}: {its} {counts} not comparable with a whole {period}'s."
    return f"{named[0].upper()}{named[1:]} {tail}"


def _period_name(start: date, period: str) -> str:
    return f"the week beginning {short_date(start)}" if period == "week" else f"{start:%B %Y}"
