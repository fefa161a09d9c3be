"""What happened to the referrals: the funnel from receipt to conviction, the original
no-further-action outcomes, the review's decisions by force, time in each stage, the
backlog, weekly throughput and when the backlog will be cleared."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta

import polars as pl

from metrics import reference
from metrics.filters import Filters
from metrics.frames import (
    AWAITING_DECISION,
    DECISIONS,
    StoreFrames,
    is_assessed,
    is_reopened,
)

FUNNEL_STAGES: tuple[tuple[str, str], ...] = (
    ("received", "Referrals received"),
    ("eligible", "Eligible"),
    ("assessed", "Assessed (decision made)"),
    ("reopened", "Reopened (passed back or adopted)"),
    ("charged", "Suspect charged"),
    ("convicted", "Suspect convicted"),
)

#: (stage, from column, to column) for ``time_in_stage``.
STAGES: tuple[tuple[str, str, str], ...] = (
    ("referral_to_assessment_start", "referral_date", "assessment_started_date"),
    ("assessment_start_to_decision", "assessment_started_date", "decision_date"),
    ("decision_to_charge", "decision_date", "charged_date"),
    ("referral_to_decision", "referral_date", "decision_date"),
)

#: Backlog age bands: (label, first day, last day or None for open-ended).
AGE_BANDS: tuple[tuple[str, int, int | None], ...] = (
    ("0-30 days", 0, 30),
    ("31-90 days", 31, 90),
    ("91-180 days", 91, 180),
    ("181-365 days", 181, 365),
    ("over 365 days", 366, None),
)


def outcome_funnel(frames: StoreFrames, filters: Filters | None = None) -> pl.DataFrame:
    """How many referrals reached each stage: received, eligible, assessed, reopened,
    charged, convicted.

    Each stage is a subset of the one before, so the funnel never widens: ``eligible``
    counts eligible referrals; ``assessed`` those with a current decision; ``reopened``
    those passed back to the force or adopted by the NCA; ``charged`` those with a
    ``suspect_charged`` event; ``convicted`` those with a ``suspect_convicted`` event.
    (The headline ``charged`` and ``convicted`` count every referral with such an event,
    as the contract's report does, so they can be larger than the funnel's.)
    """
    view = frames.filtered(filters)
    charged = is_reopened() & pl.col("charged_date").is_not_null()
    counts = (
        view.referrals.select(
            pl.len().alias("received"),
            pl.col("eligible").sum().alias("eligible"),
            is_assessed().sum().alias("assessed"),
            is_reopened().sum().alias("reopened"),
            charged.sum().alias("charged"),
            (charged & pl.col("convicted_date").is_not_null()).sum().alias("convicted"),
        )
        .collect()
        .row(0, named=True)
    )
    return pl.DataFrame(
        {
            "stage": [s for s, _ in FUNNEL_STAGES],
            "label": [label for _, label in FUNNEL_STAGES],
            "referrals": [int(counts[s] or 0) for s, _ in FUNNEL_STAGES],
        },
        schema={"stage": pl.String, "label": pl.String, "referrals": pl.Int64},
    )


def original_outcomes(frames: StoreFrames, filters: Filters | None = None) -> pl.DataFrame:
    """The Home Office outcome type each force recorded when it closed the case, with
    its share of referrals in view; sorted by referrals, most first, then code."""
    view = frames.filtered(filters)
    outcome_types = (
        reference.outcome_types()
        .lazy()
        .select(
            pl.col("code").alias("original_outcome"),
            "label",
            pl.col("group").alias("outcome_group"),
            "nfa",
        )
    )
    counts = view.referrals.group_by("original_outcome").agg(
        pl.len().cast(pl.Int64).alias("referrals")
    )
    total = view.referrals.select(pl.len().cast(pl.Int64).alias("total"))
    return (
        counts.join(outcome_types, on="original_outcome", how="left")
        .join(total, how="cross")
        .with_columns((pl.col("referrals") / pl.col("total")).alias("share"))
        .sort(["referrals", "original_outcome"], descending=[True, False])
        .select("original_outcome", "label", "outcome_group", "nfa", "referrals", "share")
        .collect()
    )


def decision_mix_by_force(frames: StoreFrames, filters: Filters | None = None) -> pl.DataFrame:
    """For each force with eligible referrals, how many of them have each decision
    (``nfa_upheld``, ``passed_back_to_force``, ``adopted_by_nca``) or are
    ``awaiting_decision``, and the share of the force's eligible referrals.

    All four rows appear for every such force (zeros included); sorted by force, then
    the decisions in the contract's order.
    """
    view = frames.filtered(filters)
    decision = pl.col("decision").fill_null(AWAITING_DECISION)
    eligible = view.referrals.filter(pl.col("eligible"))
    totals = eligible.group_by("force").agg(pl.len().cast(pl.Int64).alias("eligible_referrals"))
    counts = eligible.group_by("force", decision).agg(pl.len().cast(pl.Int64).alias("referrals"))
    decisions = pl.LazyFrame({"decision": [*DECISIONS, AWAITING_DECISION]}).with_row_index("order")
    return (
        totals.join(decisions, how="cross")
        .join(counts, on=["force", "decision"], how="left")
        .with_columns(pl.col("referrals").fill_null(0))
        .with_columns((pl.col("referrals") / pl.col("eligible_referrals")).alias("share"))
        .sort("force", "order")
        .select("force", "decision", "referrals", "eligible_referrals", "share")
        .collect()
    )


def _days(start: str, end: str) -> pl.Expr:
    return (pl.col(end) - pl.col(start)).dt.total_days()


def time_in_stage(frames: StoreFrames, filters: Filters | None = None) -> pl.DataFrame:
    """Median and 90th percentile of days spent in each stage, over eligible referrals
    that have completed it.

    Stages: referral to assessment start (``referral_date`` to the first
    ``assessment_started``), assessment start to decision, decision to first charge,
    and referral to decision (the contract's ``median_days_referral_to_decision``).
    Percentiles interpolate linearly between the two nearest referrals (the median of
    an even number is the mean of the middle two); null when no referral completed the
    stage.
    """
    view = frames.filtered(filters)
    eligible = view.referrals.filter(pl.col("eligible"))
    exprs = []
    for stage, start, end in STAGES:
        days = _days(start, end).drop_nulls()
        exprs += [
            days.len().cast(pl.Int64).alias(f"{stage}:referrals"),
            days.median().cast(pl.Float64).alias(f"{stage}:median_days"),
            days.quantile(0.9, interpolation="linear").cast(pl.Float64).alias(f"{stage}:p90_days"),
        ]
    row = eligible.select(exprs).collect().row(0, named=True)
    return pl.DataFrame(
        {
            "stage": [s for s, _, _ in STAGES],
            "referrals": [row[f"{s}:referrals"] for s, _, _ in STAGES],
            "median_days": [row[f"{s}:median_days"] for s, _, _ in STAGES],
            "p90_days": [row[f"{s}:p90_days"] for s, _, _ in STAGES],
        },
        schema={
            "stage": pl.String,
            "referrals": pl.Int64,
            "median_days": pl.Float64,
            "p90_days": pl.Float64,
        },
    )


def median_days_referral_to_decision(
    frames: StoreFrames, filters: Filters | None = None
) -> float | None:
    """Median days from ``referral_date`` to the current decision's ``event_date``, over
    eligible referrals with a decision; None when there is none."""
    table = time_in_stage(frames, filters)
    return table.filter(pl.col("stage") == "referral_to_decision")["median_days"][0]


def _backlog(view: StoreFrames) -> pl.LazyFrame:
    return view.referrals.filter(pl.col("eligible") & pl.col("decision").is_null())


def backlog_by_age(
    frames: StoreFrames, filters: Filters | None = None, *, as_at: date | None = None
) -> pl.DataFrame:
    """Eligible referrals awaiting a decision, by how long ago they were received
    (days from ``referral_date`` to ``as_at``, by default the store's as-at date).

    Every band appears (zeros included), youngest first.
    """
    view = frames.filtered(filters)
    as_at = as_at or frames.as_at or date.today()
    age = (pl.lit(as_at) - pl.col("referral_date")).dt.total_days()
    band = pl.lit(AGE_BANDS[-1][0])
    for label, _first, last in reversed(AGE_BANDS[:-1]):
        band = pl.when(age <= last).then(pl.lit(label)).otherwise(band)
    counts = (
        _backlog(view)
        .group_by(band.alias("age_band"))
        .agg(pl.len().cast(pl.Int64).alias("referrals"))
    )
    bands = pl.LazyFrame(
        {
            "age_band": [b for b, _, _ in AGE_BANDS],
            "min_days": [f for _, f, _ in AGE_BANDS],
            "max_days": [t for _, _, t in AGE_BANDS],
        },
        schema={"age_band": pl.String, "min_days": pl.Int64, "max_days": pl.Int64},
    ).with_row_index("order")
    return (
        bands.join(counts, on="age_band", how="left")
        .with_columns(pl.col("referrals").fill_null(0))
        .sort("order")
        .drop("order")
        .collect()
    )


def weekly_throughput(frames: StoreFrames, filters: Filters | None = None) -> pl.DataFrame:
    """Per week (Monday to Sunday): referrals received, eligible referrals received,
    decisions made on eligible referrals (by the decision's ``event_date``), and the
    backlog of eligible referrals awaiting a decision at the end of the week.

    Every week from the first referral or decision to the last is present (zeros
    included). ``backlog`` = eligible received to date − decided to date.

    ``complete`` is false for the week running past the as-at date (the latest date
    stored), whose counts are not yet comparable with a whole week's; ``covered_from``
    and ``covered_to`` give the days the data cover (as ``referrals_by_period``). The
    filters' dates choose the referrals followed, by referral date; their decisions
    fall where they fall, so those dates cut no week here.
    """
    view = frames.filtered(filters)
    received = view.referrals.group_by(
        pl.col("referral_date").dt.truncate("1w").alias("week_start")
    ).agg(
        pl.len().cast(pl.Int64).alias("received"),
        pl.col("eligible").sum().cast(pl.Int64).alias("eligible_received"),
    )
    decided = (
        view.referrals.filter(is_assessed())
        .group_by(pl.col("decision_date").dt.truncate("1w").alias("week_start"))
        .agg(pl.len().cast(pl.Int64).alias("decisions"))
    )
    received_df, decided_df = pl.collect_all([received, decided])
    schema = {
        "week_start": pl.Date,
        "received": pl.Int64,
        "eligible_received": pl.Int64,
        "decisions": pl.Int64,
        "backlog": pl.Int64,
        "complete": pl.Boolean,
        "covered_from": pl.Date,
        "covered_to": pl.Date,
    }
    weeks = pl.concat([received_df["week_start"], decided_df["week_start"]])
    if weeks.is_empty():
        return pl.DataFrame(schema=schema)
    calendar = pl.DataFrame(
        {"week_start": pl.date_range(weeks.min(), weeks.max(), "1w", eager=True)}
    )
    week_end = pl.col("week_start") + pl.duration(days=6)
    covered_to = (
        week_end if frames.as_at is None else pl.min_horizontal(week_end, pl.lit(frames.as_at))
    )
    return (
        calendar.join(received_df, on="week_start", how="left")
        .join(decided_df, on="week_start", how="left")
        .with_columns(pl.col("received", "eligible_received", "decisions").fill_null(0))
        .sort("week_start")
        .with_columns(
            (pl.col("eligible_received").cum_sum() - pl.col("decisions").cum_sum()).alias(
                "backlog"
            ),
            (covered_to == week_end).alias("complete"),
            pl.col("week_start").alias("covered_from"),
            covered_to.alias("covered_to"),
        )
        .select(list(schema))
    )


@dataclass(frozen=True)
class BacklogForecast:
    """When the current backlog would be cleared at the recent rate of decisions.

    ``weekly_rate`` is decisions in the last ``recent_weeks`` weeks divided by that
    number of weeks; ``rate_low``/``rate_high`` its exact Poisson interval at ``level``.
    ``weeks_to_clear`` = backlog / rate, with ``weeks_earliest`` from the high rate and
    ``weeks_latest`` from the low rate (None when that rate is zero: no end in sight).
    New referrals arriving meanwhile are not included: this is when today's backlog
    would be assessed.
    """

    as_at: date
    backlog: int
    recent_weeks: int
    decisions_in_window: int
    weekly_rate: float
    rate_low: float
    rate_high: float
    level: float
    weeks_to_clear: float | None
    weeks_earliest: float | None
    weeks_latest: float | None
    clear_by: date | None
    clear_earliest: date | None
    clear_latest: date | None


def poisson_interval(count: int, level: float = 0.95) -> tuple[float, float]:
    """Exact (Garwood) interval for the mean of a Poisson count: chi-square quantiles
    ``chi2(α/2, 2k)/2`` and ``chi2(1-α/2, 2k+2)/2``; the lower bound is 0 for k = 0."""
    from scipy.stats import chi2

    alpha = 1 - level
    low = 0.0 if count == 0 else float(chi2.ppf(alpha / 2, 2 * count) / 2)
    high = float(chi2.ppf(1 - alpha / 2, 2 * count + 2) / 2)
    return low, high


def backlog_forecast(
    frames: StoreFrames,
    filters: Filters | None = None,
    *,
    as_at: date | None = None,
    recent_weeks: int = 8,
    level: float = 0.95,
) -> BacklogForecast:
    """A forecast of when the eligible referrals now awaiting a decision will all have
    one, at the rate of decisions over the last ``recent_weeks`` weeks (the
    ``7 * recent_weeks`` days ending on ``as_at``), with a Poisson interval."""
    view = frames.filtered(filters)
    as_at = as_at or frames.as_at or date.today()
    window_start = as_at - timedelta(days=7 * recent_weeks)
    backlog_now = (pl.col("eligible") & (pl.col("referral_date") <= as_at)) & (
        pl.col("decision").is_null() | (pl.col("decision_date") > as_at)
    )
    in_window = is_assessed() & pl.col("decision_date").is_between(
        window_start, as_at, closed="right"
    )
    row = (
        view.referrals.select(backlog_now.sum().alias("backlog"), in_window.sum().alias("decided"))
        .collect()
        .row(0)
    )
    backlog, decided = int(row[0] or 0), int(row[1] or 0)
    low, high = poisson_interval(decided, level)
    rate, rate_low, rate_high = decided / recent_weeks, low / recent_weeks, high / recent_weeks

    def weeks(at_rate: float) -> float | None:
        if backlog == 0:
            return 0.0
        return backlog / at_rate if at_rate > 0 else None

    def when(w: float | None) -> date | None:
        return as_at + timedelta(days=math.ceil(w * 7)) if w is not None else None

    central, earliest, latest = weeks(rate), weeks(rate_high), weeks(rate_low)
    return BacklogForecast(
        as_at=as_at,
        backlog=backlog,
        recent_weeks=recent_weeks,
        decisions_in_window=decided,
        weekly_rate=rate,
        rate_low=rate_low,
        rate_high=rate_high,
        level=level,
        weeks_to_clear=central,
        weeks_earliest=earliest,
        weeks_latest=latest,
        clear_by=when(central),
        clear_earliest=when(earliest),
        clear_latest=when(latest),
    )
