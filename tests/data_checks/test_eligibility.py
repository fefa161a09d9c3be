"""Eligibility and the rape flag, against a plain computation with Python sets."""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from data_checks.eligibility import REASONS, ReviewCriteria, ineligibility_reasons, involves_rape
from metrics import reference

pytestmark = pytest.mark.unit

CODES = reference.offence_codes()
ALL_CODES = CODES["code"].to_list()
RAPE = set(CODES.filter("rape")["code"])
CONTACT = set(CODES.filter("contact")["code"])
OUTCOMES = reference.outcome_types()
NFA = set(OUTCOMES.filter("nfa")["code"])

row_st = st.fixed_dictionaries(
    {
        "codes": st.lists(st.sampled_from(ALL_CODES), min_size=1, max_size=4),
        "crime_recorded_date": st.dates(date(2005, 1, 1), date(2026, 1, 1)),
        "suspects_count": st.integers(0, 5),
        "alive": st.integers(0, 5),
        "victims_count": st.integers(0, 5),
        "original_outcome": st.sampled_from(OUTCOMES["code"].to_list()),
    }
)


def plain_reasons(r: dict, c: ReviewCriteria) -> str:
    fails = {
        "outside_review_period": not c.period_start <= r["crime_recorded_date"] <= c.period_end,
        "fewer_than_two_suspects": r["suspects_count"] < 2,
        "fewer_than_two_victims": r["victims_count"] < 2,
        "no_contact_offence": not set(r["codes"]) & CONTACT,
        "no_suspect_alive": r["suspects_alive_count"] < 1,
        "not_closed_as_nfa": r["original_outcome"] not in NFA,
    }
    return ";".join(reason for reason in REASONS if fails[reason])


@settings(max_examples=60, deadline=None)
@given(rows=st.lists(row_st, min_size=1, max_size=30), shift=st.integers(-400, 400))
def test_reasons_and_rape_flag_match_a_plain_computation(rows: list[dict], shift: int) -> None:
    criteria = ReviewCriteria(
        date(2010, 1, 1) + timedelta(days=shift), date(2025, 3, 31) + timedelta(days=shift)
    )
    for r in rows:
        r["suspects_alive_count"] = min(r.pop("alive"), r["suspects_count"])
    frame = pl.DataFrame(
        [
            {
                "offence_codes": ";".join(r["codes"]),
                **{k: v for k, v in r.items() if k != "codes"},
            }
            for r in rows
        ]
    )
    got = frame.select(
        involves_rape().alias("rape"), ineligibility_reasons(criteria).alias("reasons")
    )
    assert got["rape"].to_list() == [bool(set(r["codes"]) & RAPE) for r in rows]
    assert got["reasons"].to_list() == [plain_reasons(r, criteria) for r in rows]


def test_a_code_is_matched_whole_not_as_part_of_another() -> None:
    """A code that is a prefix or suffix of another (``19C`` inside ``119C``, say) does
    not count; only codes between separators do."""
    rape = sorted(RAPE)[0]
    frame = pl.DataFrame({"offence_codes": [f"X{rape}", f"{rape}X", f"88A;{rape}", rape]})
    assert frame.select(involves_rape())["offence_codes"].to_list() == [False, False, True, True]
