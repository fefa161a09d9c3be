"""Learning themes the review found: how often, where, when, together, and by decision.

Shares are of *assessed* referrals (eligible, with a current decision): a theme is
recorded when a case is assessed, so referrals still awaiting a decision cannot have
one yet. A referral counts once per theme however many events record it.
"""

from __future__ import annotations

import polars as pl

from metrics import reference
from metrics.filters import Filters
from metrics.frames import DECISIONS, StoreFrames, is_assessed


def theme_codes() -> list[str]:
    """Every learning theme code, in the reference list's order."""
    return reference.learning_themes()["code"].to_list()


def _themes_frame() -> pl.LazyFrame:
    return (
        reference.learning_themes()
        .lazy()
        .select(pl.col("code").alias("theme"), "label")
        .with_row_index("order")
    )


def referrals_with_theme(frames: StoreFrames, filters: Filters | None = None) -> dict[str, int]:
    """For every theme code (zero included): referrals, eligible or not, with at least one
    ``learning_theme`` event of that theme, as the contract's report counts them."""
    view = frames.filtered(filters)
    counts = dict(
        view.referrals.select("themes")
        .explode("themes")
        .drop_nulls()
        .group_by("themes")
        .agg(pl.len())
        .collect()
        .iter_rows()
    )
    return {code: int(counts.get(code, 0)) for code in theme_codes()}


def _theme_share(assessed: pl.LazyFrame, by: list[str]) -> pl.LazyFrame:
    """Referrals with each theme and assessed referrals per group ``by`` (every theme for
    every group, zeros included)."""
    totals = (
        assessed.group_by(by).agg(pl.len().cast(pl.Int64).alias("assessed"))
        if by
        else (assessed.select(pl.len().cast(pl.Int64).alias("assessed")))
    )
    exploded = (
        assessed.select(*by, pl.col("themes").alias("theme")).explode("theme").drop_nulls("theme")
    )
    counts = exploded.group_by([*by, "theme"]).agg(pl.len().cast(pl.Int64).alias("referrals"))
    grid = totals.join(_themes_frame(), how="cross")
    return (
        grid.join(counts, on=[*by, "theme"], how="left")
        .with_columns(pl.col("referrals").fill_null(0))
        .with_columns(
            pl.when(pl.col("assessed") > 0)
            .then(pl.col("referrals") / pl.col("assessed"))
            .otherwise(None)
            .alias("share")
        )
        .sort([*by, "order"])
        .select(*by, "theme", "label", "referrals", "assessed", "share")
    )


def _assessed(frames: StoreFrames, filters: Filters | None) -> pl.LazyFrame:
    return frames.filtered(filters).referrals.filter(is_assessed())


def theme_share(frames: StoreFrames, filters: Filters | None = None) -> pl.DataFrame:
    """For each learning theme: assessed referrals with it, all assessed referrals, and
    the share (null when none is assessed). Themes in the reference order."""
    return _theme_share(_assessed(frames, filters), []).collect()


def theme_share_by_force(frames: StoreFrames, filters: Filters | None = None) -> pl.DataFrame:
    """``theme_share`` per force with assessed referrals; sorted by force, then theme."""
    return _theme_share(_assessed(frames, filters), ["force"]).collect()


def theme_share_by_month(frames: StoreFrames, filters: Filters | None = None) -> pl.DataFrame:
    """``theme_share`` per calendar month of the decision (``month`` is its first day);
    months with no decision are absent. Sorted by month, then theme.

    ``complete`` is false for the month running past the as-at date (the latest date
    stored): its shares are of that month's decisions so far. ``covered_from`` and
    ``covered_to`` give the days the data cover (as ``referrals_by_period``). The
    filters' dates choose referrals by referral date, so they cut no month of decisions.
    """
    assessed = _assessed(frames, filters).with_columns(
        pl.col("decision_date").dt.truncate("1mo").alias("month")
    )
    month_end = pl.col("month").dt.month_end()
    covered_to = (
        month_end if frames.as_at is None else pl.min_horizontal(month_end, pl.lit(frames.as_at))
    )
    return (
        _theme_share(assessed, ["month"])
        .with_columns(
            (covered_to == month_end).alias("complete"),
            pl.col("month").alias("covered_from"),
            covered_to.alias("covered_to"),
        )
        .collect()
    )


def themes_by_decision(frames: StoreFrames, filters: Filters | None = None) -> pl.DataFrame:
    """``theme_share`` for each decision (no further action upheld, passed back to the
    force, adopted by the NCA), so themes among cases passed back can be compared with
    those upheld. All three decisions appear (zeros included), in the contract's order."""
    assessed = _assessed(frames, filters)
    decisions = pl.LazyFrame({"decision": list(DECISIONS)}).with_row_index("decision_order")
    table = _theme_share(assessed, ["decision"])
    grid = decisions.join(_themes_frame().select("theme", "label", "order"), how="cross")
    return (
        grid.join(table.drop("label"), on=["decision", "theme"], how="left")
        .with_columns(pl.col("referrals", "assessed").fill_null(0))
        .sort("decision_order", "order")
        .select("decision", "theme", "label", "referrals", "assessed", "share")
        .collect()
    )


def theme_co_occurrence(frames: StoreFrames, filters: Filters | None = None) -> pl.DataFrame:
    """How often two themes are found in the same assessed referral: one row per ordered
    pair of theme codes (``theme_a``, ``theme_b``), every pair present; the diagonal
    (a theme with itself) is the number of assessed referrals with that theme. The
    matrix is symmetric. Sorted by the themes' reference order."""
    assessed = _assessed(frames, filters).select("id", "themes")
    pairs = (
        assessed.explode("themes")
        .drop_nulls("themes")
        .rename({"themes": "theme_a"})
        .join(
            assessed.explode("themes").drop_nulls("themes").rename({"themes": "theme_b"}),
            on="id",
        )
        .group_by("theme_a", "theme_b")
        .agg(pl.len().cast(pl.Int64).alias("referrals"))
    )
    themes = _themes_frame().select("theme", "order")
    grid = themes.rename({"theme": "theme_a", "order": "order_a"}).join(
        themes.rename({"theme": "theme_b", "order": "order_b"}), how="cross"
    )
    return (
        grid.join(pairs, on=["theme_a", "theme_b"], how="left")
        .with_columns(pl.col("referrals").fill_null(0))
        .sort("order_a", "order_b")
        .select("theme_a", "theme_b", "referrals")
        .collect()
    )
