"""Property tests: on random stores, totals agree across breakdowns and the funnel never
widens. Stores are drawn as in-memory tables (no database), so these are unit tests."""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import metrics.frames as frames_module
from metrics import reference
from metrics.filters import Filters
from metrics.frames import (
    RAW_EVENT_SCHEMA,
    RAW_OFFENCE_SCHEMA,
    RAW_REFERRAL_SCHEMA,
    StoreTables,
    prepare_frames,
)
from metrics.offences import offence_groups_by_force
from metrics.outcomes import decision_mix_by_force, outcome_funnel, weekly_throughput
from metrics.progress import headline_figures, headline_progress
from metrics.report import build_report
from metrics.themes import theme_co_occurrence, theme_share, theme_share_by_force
from metrics.volumes import (
    referrals_by_force,
    referrals_by_month,
    referrals_by_region,
    referrals_by_week,
)

pytestmark = pytest.mark.unit

FORCES = reference.forces()["name"].to_list()
CODES = reference.offence_codes()["code"].to_list()
THEMES = reference.learning_themes()["code"].to_list()
START = date(2024, 1, 1)

referral_st = st.fixed_dictionaries(
    {
        "force": st.sampled_from(FORCES),
        "day": st.integers(0, 500),
        "codes": st.lists(st.sampled_from(CODES), min_size=1, max_size=3, unique=True),
        "eligible": st.booleans(),
        "decision": st.none()
        | st.sampled_from(["nfa_upheld", "passed_back_to_force", "adopted_by_nca"]),
        "decision_after": st.integers(0, 200),
        "charged": st.booleans(),
        "convicted": st.booleans(),
        "themes": st.lists(st.sampled_from(THEMES), max_size=3),
    }
)


def build_tables(drawn: list[dict]) -> StoreTables:
    referrals, offences, events = [], [], []
    for i, r in enumerate(drawn, start=1):
        day = START + timedelta(days=r["day"])
        referrals.append(
            (
                i,
                r["force"],
                day,
                date(2015, 1, 1),
                "15",
                r["eligible"],
                "" if r["eligible"] else "fewer_than_two_victims",
            )
        )
        offences += [(i, c) for c in r["codes"]]
        if r["decision"]:
            decided = day + timedelta(days=r["decision_after"])
            events.append((i, "assessment_started", day, None))
            events.append((i, "assessment_completed", decided, r["decision"]))
            events += [(i, "learning_theme", decided, t) for t in r["themes"]]
            if r["charged"]:
                events.append((i, "suspect_charged", decided + timedelta(days=5), None))
                if r["convicted"]:
                    events.append((i, "suspect_convicted", decided + timedelta(days=50), None))
    return StoreTables(
        pl.DataFrame(referrals, schema=RAW_REFERRAL_SCHEMA, orient="row"),
        pl.DataFrame(offences, schema=RAW_OFFENCE_SCHEMA, orient="row"),
        pl.DataFrame(events, schema=RAW_EVENT_SCHEMA, orient="row"),
    )


stores = st.lists(referral_st, max_size=40).map(build_tables)
filters_st = st.builds(
    Filters,
    regions=st.sampled_from([(), ("North West",), ("London", "National")]),
    offence_groups=st.sampled_from([(), ("Rape",), ("Non-contact sexual offence",)]),
    eligibility=st.sampled_from(["all", "eligible", "ineligible"]),
)
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(tables=stores, filters=filters_st)
def test_breakdowns_add_up_to_the_national_total(tables: StoreTables, filters: Filters) -> None:
    frames = prepare_frames(tables)
    total = headline_figures(frames, filters)["referrals"]
    by_force = referrals_by_force(frames, filters)
    assert by_force["referrals"].sum() == total
    assert referrals_by_region(frames, filters)["referrals"].sum() == total
    assert referrals_by_week(frames, filters)["referrals"].sum() == total
    months = referrals_by_month(frames, filters)
    assert months["referrals"].sum() == total
    assert (months["cumulative"].to_list() or [0])[-1] == total
    groups = offence_groups_by_force(frames, filters)
    assert (
        groups.group_by("force").agg(pl.col("force_referrals").first())["force_referrals"].sum()
        == total
    )
    assert by_force["force"].to_list() == sorted(by_force["force"].to_list())


@SETTINGS
@given(
    tables=stores,
    start=st.one_of(st.none(), st.dates(date(2024, 1, 1), date(2026, 1, 1))),
    days=st.integers(0, 500),
    period=st.sampled_from(["week", "month"]),
)
def test_a_period_is_complete_when_every_day_of_it_is_covered(
    tables: StoreTables, start: date | None, days: int, period: str
) -> None:
    """A second way: list the period's days one by one, and check each against the
    filters' dates and the as-at date."""
    frames = prepare_frames(tables)
    end = start + timedelta(days=days) if start else None
    filters = Filters(date_from=start, date_to=end)
    table = (referrals_by_week if period == "week" else referrals_by_month)(frames, filters)
    last_known = min(d for d in (frames.as_at, end) if d) if (frames.as_at or end) else None
    for row in table.iter_rows(named=True):
        first = row["period_start"]
        if period == "week":
            every_day = [first + timedelta(days=k) for k in range(7)]
        else:
            every_day = []
            day = first
            while day.month == first.month:
                every_day.append(day)
                day += timedelta(days=1)
        seen = [
            d
            for d in every_day
            if (start is None or d >= start) and (last_known is None or d <= last_known)
        ]
        assert row["complete"] == (seen == every_day), row
        assert (row["covered_from"], row["covered_to"]) == (seen[0], seen[-1]), row


@SETTINGS
@given(tables=stores, filters=filters_st)
def test_decisions_and_funnel_are_consistent(tables: StoreTables, filters: Filters) -> None:
    frames = prepare_frames(tables)
    figures = headline_figures(frames, filters)
    funnel = outcome_funnel(frames, filters)["referrals"].to_list()
    assert funnel == sorted(funnel, reverse=True)  # never widens
    assert funnel[0] == figures["referrals"] and funnel[1] == figures["eligible"]
    decided = figures["nfa_upheld"] + figures["passed_back_to_force"] + figures["adopted_by_nca"]
    assert decided + figures["awaiting_decision"] == figures["eligible"]
    assert figures["eligible"] + figures["ineligible"] == figures["referrals"]
    mix = decision_mix_by_force(frames, filters)
    assert mix["referrals"].sum() == figures["eligible"]
    weeks = weekly_throughput(frames, filters)
    assert weeks["received"].sum() == figures["referrals"]
    assert weeks["decisions"].sum() == decided
    assert (weeks["backlog"].to_list() or [0])[-1] == figures["awaiting_decision"]


@SETTINGS
@given(tables=stores, filters=filters_st)
def test_theme_tables_agree(tables: StoreTables, filters: Filters) -> None:
    frames = prepare_frames(tables)
    shares = theme_share(frames, filters)
    by_force = theme_share_by_force(frames, filters)
    per_theme = by_force.group_by("theme").agg(pl.col("referrals").sum())
    assert (
        dict(per_theme.rows()) == {t: n for t, n in shares.select("theme", "referrals").rows()}
        or by_force.is_empty()
    )
    matrix = theme_co_occurrence(frames, filters)
    pairs = {(a, b): n for a, b, n in matrix.rows()}
    assert all(pairs[(a, b)] == pairs[(b, a)] for a, b in pairs)
    assert [pairs[(t, t)] for t in THEMES] == shares["referrals"].to_list()


@SETTINGS
@given(tables=stores)
def test_report_totals_agree(tables: StoreTables) -> None:
    report = build_report(prepare_frames(tables))
    assert sum(r["referrals"] for r in report["by_force"]) == report["referrals"]
    assert sum(r["eligible"] for r in report["by_force"]) == report["eligible"]
    assert sum(r["rape_referrals"] for r in report["by_force"]) == report["rape_referrals"]
    assert report["forces_referring"] == len(report["by_force"])
    assert sum(report["decisions"].values()) == report["eligible"]


def plain_derived(tables: StoreTables) -> dict[int, dict]:
    """The derived per-referral columns computed row by row in plain Python."""
    codes_ref = {r["code"]: r for r in reference.offence_codes().iter_rows(named=True)}
    out: dict[int, dict] = {}
    for rid, *_ in tables.referrals.iter_rows():
        codes = sorted({c for i, c in tables.offences.iter_rows() if i == rid})
        mine = [e for e in tables.events.iter_rows(named=True) if e["referral_id"] == rid]

        def first(event: str, mine: list[dict] = mine) -> date | None:
            return min((e["event_date"] for e in mine if e["event"] == event), default=None)

        decisions = sorted(
            (e for e in mine if e["event"] == "assessment_completed"),
            key=lambda e: e["event_date"],
        )
        out[rid] = {
            "codes": codes,
            "offence_groups": sorted({codes_ref[c]["group"] for c in codes}),
            "involves_rape": any(codes_ref[c]["rape"] for c in codes),
            "assessment_started_date": first("assessment_started"),
            "decision": decisions[-1]["detail"] if decisions else None,
            "decision_date": decisions[-1]["event_date"] if decisions else None,
            "charged_date": first("suspect_charged"),
            "convicted_date": first("suspect_convicted"),
            "themes": sorted({e["detail"] for e in mine if e["event"] == "learning_theme"}),
            "victim_contacts": sum(e["event"] == "victim_contacted" for e in mine),
        }
    return out


@pytest.mark.parametrize("max_mask_values", [frames_module.MAX_MASK_VALUES, 0])
@SETTINGS
@given(tables=stores)
def test_derived_columns_match_a_plain_computation(
    max_mask_values: int, tables: StoreTables
) -> None:
    """Sets of codes, groups and themes kept as bit masks (or, with too many distinct
    values, as sorted lists) give the same columns as a row-by-row computation."""
    saved = frames_module.MAX_MASK_VALUES
    frames_module.MAX_MASK_VALUES = max_mask_values
    try:
        prepared = prepare_frames(tables).referrals.collect()
    finally:
        frames_module.MAX_MASK_VALUES = saved
    expected = plain_derived(tables)
    assert prepared["id"].to_list() == sorted(expected)
    for row in prepared.iter_rows(named=True):
        assert {k: row[k] for k in expected[row["id"]]} == expected[row["id"]]


@SETTINGS
@given(tables=stores, filters=filters_st, cutoff=st.integers(-10, 800))
def test_change_since_equals_the_filtered_store_as_it_stood(
    tables: StoreTables, filters: Filters, cutoff: int
) -> None:
    """The figures at ``since`` are those of the whole store rewound to that day, then
    filtered (headline_progress filters first, for speed)."""
    frames = prepare_frames(tables)
    since = START + timedelta(days=cutoff)
    table = headline_progress(frames, filters, since=since)
    expected = headline_figures(frames.up_to(since), filters)
    assert dict(zip(table["measure"], table["value_at_since"], strict=True)) == expected
    assert table["value"].to_list() == list(headline_figures(frames, filters).values())
