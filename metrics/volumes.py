"""Referral volumes: by force, region, week and month, per 100,000 residents, and each
force against the national rate (funnel plot)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from statistics import NormalDist
from typing import Literal

import polars as pl

from metrics import reference
from metrics.filters import Filters
from metrics.frames import StoreFrames
from metrics.reference import MIN_POPULATION_FOR_RATE

PER = 100_000
#: Two-sided coverage of the funnel plot's control limits and their column suffixes.
FUNNEL_LEVELS: tuple[tuple[float, str], ...] = ((0.95, "95"), (0.998, "99_8"))

Period = Literal["week", "month"]


def per_100k(count: pl.Expr, population: pl.Expr) -> pl.Expr:
    """Count per 100,000 residents; null when the population is missing or under 100,000."""
    return (
        pl.when(population >= MIN_POPULATION_FOR_RATE)
        .then(count * PER / population)
        .otherwise(None)
        .cast(pl.Float64)
    )


def _force_reference(filters: Filters) -> pl.LazyFrame:
    forces = reference.forces().lazy().select(pl.col("name").alias("force"), "region", "population")
    if filters.forces:
        forces = forces.filter(pl.col("force").is_in(list(filters.forces)))
    if filters.regions:
        forces = forces.filter(pl.col("region").is_in(list(filters.regions)))
    return forces


def referrals_by_force(
    frames: StoreFrames, filters: Filters | None = None, *, include_all_forces: bool = False
) -> pl.DataFrame:
    """Referrals, rape referrals and eligible referrals per force, with the rate per
    100,000 residents of the force area.

    One row per force with at least one referral (with ``include_all_forces``, every
    force in scope, zeros included), sorted by canonical force name. ``per_100k`` is
    unrounded and null for a force without a population or with fewer than 100,000
    residents (British Transport Police, City of London Police).
    """
    filters = filters or Filters()
    view = frames.filtered(filters)
    counts = view.referrals.group_by("force").agg(
        pl.len().alias("referrals"),
        pl.col("involves_rape").sum().alias("rape_referrals"),
        pl.col("eligible").sum().alias("eligible"),
    )
    all_forces = (
        reference.forces().lazy().select(pl.col("name").alias("force"), "region", "population")
    )
    table = (
        _force_reference(filters).join(counts, on="force", how="left")
        if include_all_forces
        else counts.join(all_forces, on="force", how="left")
    )
    return (
        table.select(
            "force",
            "region",
            "population",
            *(
                pl.col(c).fill_null(0).cast(pl.Int64)
                for c in ("referrals", "rape_referrals", "eligible")
            ),
        )
        .with_columns(per_100k(pl.col("referrals"), pl.col("population")).alias("per_100k"))
        .sort("force")
        .collect()
    )


def referrals_by_region(frames: StoreFrames, filters: Filters | None = None) -> pl.DataFrame:
    """Referrals per region, with the region's population (the sum over its forces that
    have one) and the rate per 100,000 residents.

    One row per region with at least one referral, sorted by region. British Transport
    Police is its own region, "National", without a population, so its rate is null.
    """
    filters = filters or Filters()
    view = frames.filtered(filters)
    populations = (
        reference.forces()
        .lazy()
        .group_by("region")
        .agg(
            pl.col("population").sum().alias("population"),
            pl.col("population").is_null().all().alias("unknown"),
        )
        .select(
            "region",
            pl.when(pl.col("unknown"))
            .then(None)
            .otherwise(pl.col("population"))
            .alias("population"),
        )
    )
    return (
        view.referrals.group_by("region")
        .agg(
            pl.len().alias("referrals"),
            pl.col("involves_rape").sum().cast(pl.Int64).alias("rape_referrals"),
        )
        .join(populations, on="region", how="left")
        .with_columns(
            pl.col("referrals").cast(pl.Int64),
            per_100k(pl.col("referrals"), pl.col("population")).alias("per_100k"),
        )
        .select("region", "population", "referrals", "rape_referrals", "per_100k")
        .sort("region", nulls_last=True)
        .collect()
    )


def _period_start(column: str, period: Period) -> pl.Expr:
    every = "1w" if period == "week" else "1mo"
    return pl.col(column).dt.truncate(every)


def _calendar(first: date, last: date, period: Period) -> pl.DataFrame:
    every = "1w" if period == "week" else "1mo"
    return pl.DataFrame({"period_start": pl.date_range(first, last, every, eager=True)})


def referrals_by_period(
    frames: StoreFrames, filters: Filters | None = None, *, period: Period = "week"
) -> pl.DataFrame:
    """Referrals received per week (weeks start on Monday) or calendar month, by
    ``referral_date``, with the running total and whether the data cover the period.

    Every period from the first to the last referral is present, zeros included, so
    the weekly counts add up to the total and ``cumulative`` ends at it.

    ``complete`` is false for a period the data cover only in part: one running past
    the as-at date (the latest date stored) or past the filters' end date, or starting
    before the filters' start date. Its count is not comparable with a whole period's;
    ``covered_from`` and ``covered_to`` give the days it does cover.
    """
    view = frames.filtered(filters)
    counts = (
        view.referrals.group_by(_period_start("referral_date", period).alias("period_start"))
        .agg(pl.len().cast(pl.Int64).alias("referrals"))
        .collect()
    )
    if counts.is_empty():
        return pl.DataFrame(
            schema={
                "period_start": pl.Date,
                "referrals": pl.Int64,
                "cumulative": pl.Int64,
                "complete": pl.Boolean,
                "covered_from": pl.Date,
                "covered_to": pl.Date,
            }
        )
    calendar = _calendar(counts["period_start"].min(), counts["period_start"].max(), period)  # type: ignore[arg-type]
    start, end = _covered(frames.as_at, filters)
    period_end = (
        pl.col("period_start") + pl.duration(days=6)
        if period == "week"
        else pl.col("period_start").dt.month_end()
    )
    covered_from = pl.max_horizontal(pl.col("period_start"), pl.lit(start, pl.Date))
    covered_to = pl.min_horizontal(period_end, pl.lit(end, pl.Date))
    return (
        calendar.join(counts, on="period_start", how="left")
        .with_columns(pl.col("referrals").fill_null(0))
        .sort("period_start")
        .with_columns(
            pl.col("referrals").cum_sum().alias("cumulative"),
            ((covered_from == pl.col("period_start")) & (covered_to == period_end)).alias(
                "complete"
            ),
            covered_from.alias("covered_from"),
            covered_to.alias("covered_to"),
        )
    )


def _covered(as_at: date | None, filters: Filters | None) -> tuple[date | None, date | None]:
    """The first and last days the view's data cover (None: no limit that side): the
    filters' dates, and the as-at date, after which nothing is known yet."""
    start = filters.date_from if filters is not None else None
    ends = [d for d in (as_at, filters.date_to if filters is not None else None) if d]
    return start, min(ends) if ends else None


def referrals_by_week(frames: StoreFrames, filters: Filters | None = None) -> pl.DataFrame:
    """Referrals received per week (Monday to Sunday) with the running total."""
    return referrals_by_period(frames, filters, period="week")


def referrals_by_month(frames: StoreFrames, filters: Filters | None = None) -> pl.DataFrame:
    """Referrals received per calendar month with the running total."""
    return referrals_by_period(frames, filters, period="month")


def _z(level: float) -> float:
    return NormalDist().inv_cdf(0.5 + level / 2)


def funnel_limits(national_per_100k: float, populations: Sequence[int]) -> pl.DataFrame:
    """Funnel-plot control limits around the national rate, as rates per 100,000, for
    each population given (the dashboard draws the curves from a range of populations).

    Formula (normal approximation to the Poisson distribution of a force's count):
    with national rate ``p`` per resident and a force of ``n`` residents, the expected
    count is ``p*n`` with standard deviation ``sqrt(p*n)``, so the limits on the rate per
    100,000 are ``100000 * (p ± z * sqrt(p / n))``, lower limits floored at zero, with
    ``z = 1.960`` for 95% and ``z = 3.090`` for 99.8% (two-sided).
    """
    p = national_per_100k / PER
    frame = pl.DataFrame({"population": list(populations)}, schema={"population": pl.Int64})
    limits = []
    for level, suffix in FUNNEL_LEVELS:
        spread = _z(level) * (pl.lit(p) / pl.col("population")).sqrt()
        limits.append(((pl.lit(p) - spread).clip(lower_bound=0.0) * PER).alias(f"lower_{suffix}"))
        limits.append(((pl.lit(p) + spread) * PER).alias(f"upper_{suffix}"))
    return frame.with_columns(limits)


def force_rate_funnel(frames: StoreFrames, filters: Filters | None = None) -> pl.DataFrame:
    """Each force's referral rate per 100,000 residents against the national rate, with
    95% and 99.8% funnel-plot limits, so unusual forces stand out from merely big ones.

    Only forces with a population of at least 100,000 are compared (every such force in
    scope, zeros included); the national rate is their referrals over their residents.
    ``position`` says whether the force lies above or below the 99.8% or 95% limits or
    within them. See ``funnel_limits`` for the formula.
    """
    by_force = referrals_by_force(frames, filters, include_all_forces=True).filter(
        pl.col("population") >= MIN_POPULATION_FOR_RATE
    )
    total_pop = by_force["population"].sum()
    national = (by_force["referrals"].sum() * PER / total_pop) if total_pop else 0.0
    limits = funnel_limits(national, by_force["population"].to_list())
    table = pl.concat(
        [
            by_force.select("force", "region", "population", "referrals", "per_100k"),
            limits.drop("population"),
        ],
        how="horizontal",
    ).with_columns(pl.lit(national, dtype=pl.Float64).alias("national_per_100k"))
    rate = pl.col("per_100k")
    return table.with_columns(
        pl.when(rate > pl.col("upper_99_8"))
        .then(pl.lit("above 99.8% limit"))
        .when(rate > pl.col("upper_95"))
        .then(pl.lit("above 95% limit"))
        .when(rate < pl.col("lower_99_8"))
        .then(pl.lit("below 99.8% limit"))
        .when(rate < pl.col("lower_95"))
        .then(pl.lit("below 95% limit"))
        .otherwise(pl.lit("within limits"))
        .alias("position")
    ).sort("force")
