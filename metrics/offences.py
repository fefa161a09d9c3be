"""Offence types of the referred cases: by offence group and Home Office code, by force
and by the year the crime was recorded."""

from __future__ import annotations

import polars as pl

from metrics import reference
from metrics.filters import Filters
from metrics.frames import StoreFrames


def offence_groups() -> list[str]:
    """The offence groups in the reference list's order (Rape first)."""
    return reference.offence_codes()["group"].unique(maintain_order=True).to_list()


def _group_rows(referrals: pl.LazyFrame) -> pl.LazyFrame:
    """One row per (referral, offence group it has)."""
    return (
        referrals.select("id", "force", "crime_recorded_date", "offence_groups")
        .explode("offence_groups")
        .rename({"offence_groups": "offence_group"})
        .filter(pl.col("offence_group").is_not_null())
    )


def _share(numerator: str, denominator: str) -> pl.Expr:
    return (
        pl.when(pl.col(denominator) > 0)
        .then(pl.col(numerator) / pl.col(denominator))
        .otherwise(None)
        .alias("share")
    )


def referrals_by_offence_group(frames: StoreFrames, filters: Filters | None = None) -> pl.DataFrame:
    """Referrals with at least one offence code of each group, and that count's share of
    all referrals in view.

    A referral with codes from several groups counts once in each, so the counts can add
    up to more than the number of referrals and the shares to more than 1. Every group
    is listed (zeros included) in the reference order; ``share`` is null when no
    referral is in view.
    """
    view = frames.filtered(filters)
    total = view.referrals.select(pl.len().alias("total"))
    counts = (
        _group_rows(view.referrals)
        .group_by("offence_group")
        .agg(pl.len().cast(pl.Int64).alias("referrals"))
    )
    groups = pl.LazyFrame({"offence_group": offence_groups()}).with_row_index("order")
    return (
        groups.join(counts, on="offence_group", how="left")
        .join(total, how="cross")
        .with_columns(pl.col("referrals").fill_null(0), pl.col("total").cast(pl.Int64))
        .with_columns(_share("referrals", "total"))
        .sort("order")
        .select("offence_group", "referrals", "share")
        .collect()
    )


def referrals_by_offence_code(frames: StoreFrames, filters: Filters | None = None) -> pl.DataFrame:
    """Referrals with each Home Office offence code, and their share of all referrals in
    view; every code in the reference list, zeros included, in the list's order."""
    view = frames.filtered(filters)
    total = view.referrals.select(pl.len().cast(pl.Int64).alias("total"))
    counts = (
        view.referrals.select("codes")
        .explode("codes")
        .drop_nulls()
        .group_by("codes")
        .agg(pl.len().cast(pl.Int64).alias("referrals"))
        .rename({"codes": "code"})
    )
    codes = (
        reference.offence_codes()
        .lazy()
        .select("code", "label", pl.col("group").alias("offence_group"))
        .with_row_index("order")
    )
    return (
        codes.join(counts, on="code", how="left")
        .join(total, how="cross")
        .with_columns(pl.col("referrals").fill_null(0))
        .with_columns(_share("referrals", "total"))
        .sort("order")
        .select("code", "label", "offence_group", "referrals", "share")
        .collect()
    )


def offence_groups_by_force(frames: StoreFrames, filters: Filters | None = None) -> pl.DataFrame:
    """For each force with referrals and each offence group: referrals with that group,
    the force's referrals, and the share.

    Every group appears for every force (zeros included); sorted by force, then the
    groups' reference order.
    """
    view = frames.filtered(filters)
    force_totals = view.referrals.group_by("force").agg(
        pl.len().cast(pl.Int64).alias("force_referrals")
    )
    counts = (
        _group_rows(view.referrals)
        .group_by("force", "offence_group")
        .agg(pl.len().cast(pl.Int64).alias("referrals"))
    )
    groups = pl.LazyFrame({"offence_group": offence_groups()}).with_row_index("order")
    return (
        force_totals.join(groups, how="cross")
        .join(counts, on=["force", "offence_group"], how="left")
        .with_columns(pl.col("referrals").fill_null(0))
        .with_columns(_share("referrals", "force_referrals"))
        .sort("force", "order")
        .select("force", "offence_group", "referrals", "force_referrals", "share")
        .collect()
    )


def offence_groups_by_crime_year(
    frames: StoreFrames, filters: Filters | None = None
) -> pl.DataFrame:
    """Referrals with each offence group by the calendar year the crime was recorded
    (``crime_recorded_date``), with that year's referrals and the share.

    Every group for every year that has referrals (zeros included); sorted by year, then
    the groups' reference order.
    """
    view = frames.filtered(filters)
    year = pl.col("crime_recorded_date").dt.year().cast(pl.Int32).alias("crime_year")
    year_totals = view.referrals.group_by(year).agg(pl.len().cast(pl.Int64).alias("year_referrals"))
    counts = (
        _group_rows(view.referrals)
        .group_by(year, "offence_group")
        .agg(pl.len().cast(pl.Int64).alias("referrals"))
    )
    groups = pl.LazyFrame({"offence_group": offence_groups()}).with_row_index("order")
    return (
        year_totals.join(groups, how="cross")
        .join(counts, on=["crime_year", "offence_group"], how="left")
        .with_columns(pl.col("referrals").fill_null(0))
        .with_columns(_share("referrals", "year_referrals"))
        .sort("crime_year", "order")
        .select("crime_year", "offence_group", "referrals", "year_referrals", "share")
        .collect()
    )
