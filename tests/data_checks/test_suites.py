"""The one suite, two ways of evaluating it: Great Expectations and its Polars compilation.

Great Expectations is the reference; the compiled form must find exactly the same rows
for every expectation of both feeds' suites, on arbitrary frames.
"""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from data_checks.parse import parse_events, parse_referrals
from data_checks.reading import EXTRA, ROW
from data_checks.suites import (
    EVENT_DATE_COLUMNS,
    REFERRAL_DATE_COLUMNS,
    event_rules,
    referral_rules,
    suite_for,
    validate_rows,
    with_day_numbers,
)
from tests.data_checks.helpers import EVENT_COLUMNS, REFERRAL_COLUMNS, TODAY
from tests.data_checks.test_gate_fuzz import PLAUSIBLE, cell

pytestmark = pytest.mark.unit

EVENT_VALUES = {
    "force": ["Kent Police", "kent", "Nowhere", ""],
    "force_referral_id": ["K-1", "K-2", ""],
    "event": [
        "assessment_started",
        "assessment_completed",
        "learning_theme",
        "LEARNING_THEME",
        "x",
        "",
    ],
    "event_date": ["2025-08-01", "2025-11-05", "1/9/2025", "2025-02-30", ""],
    "detail": ["", "nfa_upheld", "records_incomplete", "Suspect_Not_Pursued", "iopc", "?"],
}


def frame_of(rows: list[dict[str, str]], columns: list[str]) -> pl.DataFrame:
    return pl.DataFrame(
        {c: [r[c] or None for r in rows] for c in columns}, schema={c: pl.String for c in columns}
    ).with_columns(
        (pl.int_range(pl.len()) + 2).alias(ROW), pl.lit(None, dtype=pl.String).alias(EXTRA)
    )


def both_engines(frame: pl.DataFrame, feed: str) -> None:
    suite = suite_for(feed, TODAY)
    gx = validate_rows(frame, feed, TODAY, engine="gx")
    compiled = validate_rows(frame, feed, TODAY, engine="polars")
    # Great Expectations may report in another order; (rule, column) names each expectation.
    by_gx = {(o.rule, o.column): sorted(o.unexpected_rows) for o in gx}
    by_compiled = {(o.rule, o.column): sorted(o.unexpected_rows) for o in compiled}
    assert len(by_gx) == len(gx) == len(suite.expectations)
    assert by_gx == by_compiled


def referral_row() -> st.SearchStrategy[dict[str, str]]:
    ids = st.sampled_from(["K-1", "K-2", "K-1 ", "X" * 65, ""])
    return st.fixed_dictionaries(
        {
            c: st.one_of(st.sampled_from(PLAUSIBLE.get(c, [])), cell) if c in PLAUSIBLE else ids
            for c in REFERRAL_COLUMNS
        }
    )


@given(st.lists(referral_row(), min_size=1, max_size=25))
@settings(max_examples=20, deadline=None)
def test_compiled_referral_suite_matches_great_expectations(rows):
    frame = with_day_numbers(
        parse_referrals(frame_of(rows, REFERRAL_COLUMNS)), REFERRAL_DATE_COLUMNS
    )
    both_engines(frame, "referrals")


@given(
    st.lists(
        st.fixed_dictionaries({c: st.sampled_from(v) for c, v in EVENT_VALUES.items()}),
        min_size=1,
        max_size=25,
    )
)
@settings(max_examples=20, deadline=None)
def test_compiled_event_suite_matches_great_expectations(rows):
    frame = with_day_numbers(parse_events(frame_of(rows, EVENT_COLUMNS)), EVENT_DATE_COLUMNS)
    both_engines(frame, "events")


def test_every_rule_is_exercised_by_a_hand_made_frame():
    """A frame that breaks each referral rule once: both engines find each break."""
    good = dict(
        zip(
            REFERRAL_COLUMNS,
            [
                "K-0",
                "Kent Police",
                "2025-08-01",
                "2015-03-02",
                "2016-01-10",
                "15",
                "19D",
                "3",
                "3",
                "2",
            ],
            strict=True,
        )
    )
    breaks = [
        {"force_referral_id": ""},
        {"force_referral_id": "X" * 65},
        {"force": "Nowhere"},
        {"original_outcome": "99"},
        {"offence_codes": "19Z"},
        {"referral_date": "2025-11-05"},
        {"nfa_date": "2014-01-01"},
        {"referral_date": "2016-01-01"},
        {"victims_count": "-1"},
        {"suspects_alive_count": "4"},
    ]
    rows = [good] + [{**good, "force_referral_id": f"K-{i + 1}", **b} for i, b in enumerate(breaks)]
    rows.append({**good, "force_referral_id": "K-4"})  # repeats the key of the 99-outcome row
    frame = with_day_numbers(
        parse_referrals(frame_of(rows, REFERRAL_COLUMNS)), REFERRAL_DATE_COLUMNS
    )
    both_engines(frame, "referrals")
    found = {
        o.rule
        for o in validate_rows(frame, "referrals", TODAY, engine="polars")
        if o.unexpected_rows
    }
    assert found == {
        "missing_value",
        "too_long",
        "unknown_force",
        "unknown_outcome",
        "unknown_offence_code",
        "date_in_future",
        "dates_out_of_order",
        "negative_count",
        "alive_exceeds_suspects",
        "repeated_key",
    }


def test_rules_carry_plain_words_and_a_severity():
    for r in [*referral_rules(TODAY), *event_rules(TODAY)]:
        assert r.message and r.severity in {"critical", "warning", "info"}
        assert r.rule.replace("_", "").isalpha()
