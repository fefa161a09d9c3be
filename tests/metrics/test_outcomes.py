"""Outcomes on the hand-made store, worked out by hand."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from metrics.frames import StoreFrames
from metrics.outcomes import (
    backlog_by_age,
    backlog_forecast,
    decision_mix_by_force,
    median_days_referral_to_decision,
    original_outcomes,
    outcome_funnel,
    poisson_interval,
    time_in_stage,
    weekly_throughput,
)


def test_outcome_funnel(hand_frames: StoreFrames) -> None:
    # received 6; eligible 1, 2, 5, 6; assessed 1, 2, 5; reopened 1, 5; charged 1; convicted 1
    assert outcome_funnel(hand_frames)["referrals"].to_list() == [6, 4, 3, 2, 1, 1]


def test_original_outcomes(hand_frames: StoreFrames) -> None:
    table = original_outcomes(hand_frames)
    # 15: refs 1, 3, 6; then 1, 14, 21 once each (ties by code)
    assert table.select("original_outcome", "referrals").rows() == [
        ("15", 3),
        ("1", 1),
        ("14", 1),
        ("21", 1),
    ]
    assert table["share"][0] == pytest.approx(0.5)
    assert table["nfa"].to_list() == [True, False, True, True]


def test_decision_mix_by_force(hand_frames: StoreFrames) -> None:
    table = decision_mix_by_force(hand_frames)
    # eligible by force: City of London (5: adopted), Cleveland (1: passed back,
    # 2: upheld), Kent (6: awaiting); Durham has none eligible
    assert table["force"].unique().sort().to_list() == [
        "City of London Police",
        "Cleveland Police",
        "Kent Police",
    ]
    cleveland = table.filter(table["force"] == "Cleveland Police")
    assert cleveland.select("decision", "referrals", "share").rows() == [
        ("nfa_upheld", 1, 0.5),
        ("passed_back_to_force", 1, 0.5),
        ("adopted_by_nca", 0, 0.0),
        ("awaiting_decision", 0, 0.0),
    ]


def test_time_in_stage(hand_frames: StoreFrames) -> None:
    table = {r["stage"]: r for r in time_in_stage(hand_frames).iter_rows(named=True)}
    # referral to start: ref 1: 4, ref 2: 12, ref 5: 2, ref 6: 2 -> sorted 2, 2, 4, 12
    # median (2 + 4) / 2 = 3; p90 linear: position 0.9 * 3 = 2.7 -> 4 + 0.7 * 8 = 9.6
    start = table["referral_to_assessment_start"]
    assert (start["referrals"], start["median_days"]) == (4, 3.0)
    assert start["p90_days"] == pytest.approx(9.6)
    # start to decision: ref 1 30, ref 2 40, ref 5 30 -> median 30
    assert table["assessment_start_to_decision"]["median_days"] == 30.0
    # decision to charge: ref 1, 9 Feb -> 10 Mar = 29
    assert table["decision_to_charge"]["median_days"] == 29.0
    assert median_days_referral_to_decision(hand_frames) == 34.0


def test_backlog_by_age(hand_frames: StoreFrames) -> None:
    # awaiting: ref 6, received 3 Mar; at 1 Jun that is 28 + 31 + 30 = 90 days
    table = backlog_by_age(hand_frames)
    assert table["referrals"].to_list() == [0, 1, 0, 0, 0]
    # at 10 Mar it is 7 days old
    assert backlog_by_age(hand_frames, as_at=date(2025, 3, 10))["referrals"].to_list() == [
        1,
        0,
        0,
        0,
        0,
    ]


def test_weekly_throughput(hand_frames: StoreFrames) -> None:
    table = weekly_throughput(hand_frames)
    rows = {r["week_start"]: r for r in table.iter_rows(named=True)}
    # week of 6 Jan: refs 1, 2 received, both eligible; week of 3 Feb: ref 4 (ineligible)
    assert (rows[date(2025, 1, 6)]["received"], rows[date(2025, 1, 6)]["eligible_received"]) == (
        2,
        2,
    )
    assert rows[date(2025, 2, 3)]["eligible_received"] == 0
    # decisions: 9 Feb (Sunday, week of 3 Feb), 1 Mar (week of 24 Feb), 14 Mar (week of 10 Mar)
    assert rows[date(2025, 2, 3)]["decisions"] == 1
    assert rows[date(2025, 2, 24)]["decisions"] == 1
    assert rows[date(2025, 3, 10)]["decisions"] == 1
    # backlog at the end: 4 eligible received - 3 decided
    assert table["backlog"].to_list()[-1] == 1
    assert table["received"].sum() == 6
    # the store's latest date is 1 Jun (a conviction), after the last week's Sunday
    assert hand_frames.as_at == date(2025, 6, 1)
    assert table["complete"].all()
    assert table["covered_to"].to_list() == [w + timedelta(days=6) for w in table["week_start"]]


def test_weekly_throughput_marks_the_week_cut_by_the_as_at_date(hand_frames: StoreFrames) -> None:
    # As the store stood on Friday 14 Mar: the week of 10 Mar is known for 5 days of 7;
    # its one decision (referral 5, 14 Mar) is in it.
    table = weekly_throughput(hand_frames.up_to(date(2025, 3, 14)))
    last = table.row(-1, named=True)
    assert (last["week_start"], last["covered_from"], last["covered_to"]) == (
        date(2025, 3, 10),
        date(2025, 3, 10),
        date(2025, 3, 14),
    )
    assert (last["complete"], last["decisions"]) == (False, 1)
    assert table["complete"].to_list() == [True] * (table.height - 1) + [False]


@pytest.mark.unit
def test_poisson_interval_known_values() -> None:
    # Garwood intervals: k = 0 -> (0, 3.689); k = 10 -> (4.795, 18.390)
    assert poisson_interval(0) == (0.0, pytest.approx(3.6889, abs=1e-3))
    low, high = poisson_interval(10)
    assert (low, high) == (pytest.approx(4.7954, abs=1e-3), pytest.approx(18.3904, abs=1e-3))


def test_backlog_forecast(hand_frames: StoreFrames) -> None:
    # at 16 Mar, over the last 4 weeks (16 Feb - 16 Mar): decisions 1 Mar and 14 Mar = 2
    # -> 0.5 a week; backlog = ref 6 = 1 -> 2 weeks -> 30 Mar
    forecast = backlog_forecast(hand_frames, as_at=date(2025, 3, 16), recent_weeks=4)
    assert forecast.backlog == 1 and forecast.decisions_in_window == 2
    assert forecast.weekly_rate == 0.5 and forecast.weeks_to_clear == 2.0
    assert forecast.clear_by == date(2025, 3, 30)
    assert forecast.clear_earliest <= forecast.clear_by <= forecast.clear_latest
    # at the store's as-at (1 Jun) no decision in the last 8 weeks: no end in sight
    stalled = backlog_forecast(hand_frames)
    assert stalled.weekly_rate == 0 and stalled.clear_by is None and stalled.clear_latest is None
