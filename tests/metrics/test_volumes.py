"""Referral volumes and the funnel plot on the hand-made store, worked out by hand."""

from __future__ import annotations

import math
from datetime import date

import polars as pl
import pytest

from metrics.filters import Filters
from metrics.frames import StoreFrames
from metrics.volumes import (
    force_rate_funnel,
    funnel_limits,
    referrals_by_force,
    referrals_by_month,
    referrals_by_region,
    referrals_by_week,
)


def test_referrals_by_force(hand_frames: StoreFrames) -> None:
    table = referrals_by_force(hand_frames)
    assert table["force"].to_list() == [
        "City of London Police",
        "Cleveland Police",
        "Durham Constabulary",
        "Kent Police",
    ]
    assert table["referrals"].to_list() == [1, 2, 2, 1]
    assert table["per_100k"][0] is None  # 9,721 residents
    assert table["per_100k"][1] == pytest.approx(2 * 100_000 / 569_141)
    everyone = referrals_by_force(hand_frames, include_all_forces=True)
    assert everyone.height == 44 and everyone["referrals"].sum() == 6


def test_referrals_by_region(hand_frames: StoreFrames) -> None:
    table = referrals_by_region(hand_frames)
    assert table.select("region", "referrals").rows() == [
        ("London", 1),
        ("North East", 4),
        ("South East", 1),
    ]
    # North East: Cleveland 569,141 + Durham 636,897 + Northumbria 1,463,903
    north_east = table.filter(pl.col("region") == "North East").row(0, named=True)
    assert north_east["population"] == 2_669_941
    assert north_east["per_100k"] == pytest.approx(4 * 100_000 / 2_669_941)


def test_referrals_by_week(hand_frames: StoreFrames) -> None:
    table = referrals_by_week(hand_frames)
    # Mondays from 6 Jan (refs 1, 2) to 3 Mar (ref 6): 9 weeks, gaps filled with zeros
    assert table["period_start"].to_list()[0] == date(2025, 1, 6)
    assert table["period_start"].to_list()[-1] == date(2025, 3, 3)
    assert table["referrals"].to_list() == [2, 1, 0, 0, 1, 1, 0, 0, 1]
    assert table["cumulative"].to_list()[-1] == 6


def test_referrals_by_month(hand_frames: StoreFrames) -> None:
    table = referrals_by_month(hand_frames, Filters(eligibility="eligible"))
    # eligible: refs 1, 2 (Jan), 5 (Feb), 6 (Mar)
    assert table.select("period_start", "referrals", "cumulative").rows() == [
        (date(2025, 1, 1), 2, 2),
        (date(2025, 2, 1), 1, 3),
        (date(2025, 3, 1), 1, 4),
    ]


def test_whole_periods_are_complete(hand_frames: StoreFrames) -> None:
    # as at 1 June 2025, months of January to March are wholly covered
    table = referrals_by_month(hand_frames)
    assert table["complete"].to_list() == [True, True, True]
    assert table["covered_to"].to_list() == [
        date(2025, 1, 31),
        date(2025, 2, 28),
        date(2025, 3, 31),
    ]


def test_periods_cut_by_the_filters_dates_are_partial(hand_frames: StoreFrames) -> None:
    # 8 Jan (a Wednesday) to 12 Feb (a Wednesday): the week of Monday 6 Jan is seen from
    # 8 Jan to Sunday 12 Jan, the week of Monday 10 Feb only to 12 Feb; those between
    # are whole (refs 2 on 8 Jan, 3 on 15 Jan, 4 on 3 Feb and 5 on 10 Feb in view)
    table = referrals_by_week(
        hand_frames, Filters(date_from=date(2025, 1, 8), date_to=date(2025, 2, 12))
    )
    assert table["period_start"].to_list()[0] == date(2025, 1, 6)
    assert table["complete"].to_list() == [False, True, True, True, True, False]
    assert table.row(0, named=True)["covered_from"] == date(2025, 1, 8)
    assert table.row(0, named=True)["covered_to"] == date(2025, 1, 12)
    assert table.row(-1, named=True)["covered_from"] == date(2025, 2, 10)
    assert table.row(-1, named=True)["covered_to"] == date(2025, 2, 12)


def test_the_month_of_the_as_at_date_is_partial(hand_frames: StoreFrames) -> None:
    # the store as it stood on 10 March: March is known only to the 10th
    table = referrals_by_month(hand_frames.up_to(date(2025, 3, 10)))
    assert table["complete"].to_list() == [True, True, False]
    assert table.row(-1, named=True)["covered_to"] == date(2025, 3, 10)


@pytest.mark.unit
def test_funnel_limits_formula() -> None:
    # national rate 10 per 100,000 = 1e-4 per resident; a force of 1,000,000:
    # expected 100, sd 10; 95%: 100 ± 1.95996 * 10 -> 80.40 .. 119.60 per 1,000,000
    table = funnel_limits(10.0, [1_000_000])
    row = table.row(0, named=True)
    assert row["lower_95"] == pytest.approx(10 - 1.959964 * 1.0, abs=1e-5)
    assert row["upper_95"] == pytest.approx(10 + 1.959964 * 1.0, abs=1e-5)
    assert row["upper_99_8"] == pytest.approx(10 + 3.090232, abs=1e-5)
    # 50,000 residents: expected 5, sd sqrt(5); 99.8% lower 5 - 3.09 * 2.236 < 0 -> 0;
    # upper 95% per 100,000: 10 + 1.96 * sqrt(1e-4 / 5e4) * 1e5 = 10 + 1.96 * 4.4721
    small = funnel_limits(10.0, [50_000]).row(0, named=True)
    assert small["lower_99_8"] == 0.0
    assert small["upper_95"] == pytest.approx(10 + 1.959964 * math.sqrt(20), abs=1e-4)


def test_force_rate_funnel(hand_frames: StoreFrames) -> None:
    table = force_rate_funnel(hand_frames)
    # every force of 100,000 or more: 44 minus City of London and BTP
    assert table.height == 42
    # national rate: 5 referrals (City of London's excluded) over their populations
    populations = table["population"].sum()
    assert table["national_per_100k"][0] == pytest.approx(5 * 100_000 / populations)
    kent = table.filter(pl.col("force") == "Kent Police").row(0, named=True)
    # Kent expects E = 5 * 1,860,111 / populations = 0.156 referrals, sd sqrt(E) = 0.395:
    # 95% upper limit 0.156 + 1.96 * 0.395 = 0.93 < 1 <= 0.156 + 3.09 * 0.395 = 1.38
    expected = 5 * 1_860_111 / populations
    assert expected + 1.959964 * math.sqrt(expected) < 1 < expected + 3.090232 * math.sqrt(expected)
    assert kent["referrals"] == 1 and kent["position"] == "above 95% limit"
    durham = table.filter(pl.col("force") == "Durham Constabulary").row(0, named=True)
    assert durham["position"] == "above 99.8% limit"  # E = 0.053: 2 is far above
