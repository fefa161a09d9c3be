"""``build_report``: the contract's ``report --json`` on the hand-made store (conftest.py),
each figure worked out by hand, on SQLite and PostgreSQL."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import Engine

from metrics.frames import StoreFrames
from metrics.report import REPORT_KEYS, build_report
from metrics.store import make_engine


def expected_report() -> dict:
    return {
        # latest date stored: referral 1's conviction on 2025-06-01
        "as_at": "2025-06-01",
        "referrals": 6,
        # Cleveland, Durham, City of London, Kent
        "forces_referring": 4,
        # 19C (ref 1), 19D (ref 4), 19E (ref 6)
        "rape_referrals": 3,
        "eligible": 4,  # refs 1, 2, 5, 6
        "ineligible": 2,  # refs 3, 4
        "quarantined_rows": 1,  # one open, one resolved
        "decisions": {
            "nfa_upheld": 1,  # ref 2 (its corrected decision in history is ignored)
            "passed_back_to_force": 1,  # ref 1
            "adopted_by_nca": 1,  # ref 5
            "awaiting_decision": 1,  # ref 6
        },
        "charged": 1,  # ref 1
        "convicted": 1,  # ref 1
        "misconduct_referrals": 1,  # ref 3, ineligible but counted
        "learning_themes": {
            "lines_of_inquiry_not_followed": 2,  # refs 1, 2
            "victim_account_not_best_practice": 0,
            "suspect_not_pursued": 0,
            "suspect_not_interviewed": 2,  # refs 1, 5
            "records_incomplete": 1,  # ref 3 (ineligible, still counted)
            "potential_misconduct": 0,
        },
        # days to decision: ref 1 Jan 6 -> Feb 9 = 25 + 9 = 34; ref 2 Jan 8 -> Mar 1 =
        # 23 + 28 + 1 = 52; ref 5 Feb 10 -> Mar 14 = 18 + 14 = 32; median of 32, 34, 52
        "median_days_referral_to_decision": 34.0,
        "by_force": [
            # population 9,721 < 100,000: no rate
            {
                "force": "City of London Police",
                "referrals": 1,
                "rape_referrals": 0,
                "eligible": 1,
                "per_100k": None,
            },
            # 2 * 100,000 / 569,141 = 0.351 -> 0.4
            {
                "force": "Cleveland Police",
                "referrals": 2,
                "rape_referrals": 1,
                "eligible": 2,
                "per_100k": 0.4,
            },
            # 2 * 100,000 / 636,897 = 0.314 -> 0.3
            {
                "force": "Durham Constabulary",
                "referrals": 2,
                "rape_referrals": 1,
                "eligible": 0,
                "per_100k": 0.3,
            },
            # 1 * 100,000 / 1,860,111 = 0.054 -> 0.1
            {
                "force": "Kent Police",
                "referrals": 1,
                "rape_referrals": 1,
                "eligible": 1,
                "per_100k": 0.1,
            },
        ],
    }


def test_build_report_matches_the_contract_by_hand(hand_engine: Engine) -> None:
    report = build_report(hand_engine)
    assert tuple(report) == REPORT_KEYS
    assert report == expected_report()
    assert isinstance(report["median_days_referral_to_decision"], float)
    json.dumps(report)  # plain JSON types only


def test_build_report_from_loaded_frames_equals_from_engine(
    hand_engine: Engine, hand_frames: StoreFrames
) -> None:
    assert build_report(hand_frames) == build_report(hand_engine)


@pytest.mark.sqlite
def test_build_report_on_an_empty_store(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    report = build_report(engine)
    assert report["as_at"] is None
    assert report["referrals"] == 0 and report["by_force"] == []
    assert report["decisions"] == dict.fromkeys(
        ("nfa_upheld", "passed_back_to_force", "adopted_by_nca", "awaiting_decision"), 0
    )
    assert set(report["learning_themes"]) == {
        "lines_of_inquiry_not_followed",
        "victim_account_not_best_practice",
        "suspect_not_pursued",
        "suspect_not_interviewed",
        "records_incomplete",
        "potential_misconduct",
    }
    assert all(v == 0 for v in report["learning_themes"].values())
    assert report["median_days_referral_to_decision"] is None


def test_build_report_suppressed(hand_frames: StoreFrames) -> None:
    report = build_report(hand_frames, suppress=True)
    assert tuple(report)[: len(REPORT_KEYS)] == REPORT_KEYS
    assert report["disclosure_control"] == {"applied": True, "threshold": 5}
    # 6 referrals = 4 eligible + 2 ineligible, and the four decisions are 1 each. Alone,
    # the split would print 6 = <5 + <5; but four decisions of at least 1 add up to the
    # eligible total, so a <5 there is 4 and the ineligible 6 - 4 = 2. Audited as one
    # linked set, the small totals are withheld instead (saying nothing of their size).
    assert report["referrals"] == "withheld"
    assert report["eligible"] == "withheld" and report["ineligible"] == "<5"
    # every non-zero decision is 1: all "<5"
    assert report["decisions"] == dict.fromkeys(
        ("nfa_upheld", "passed_back_to_force", "adopted_by_nca", "awaiting_decision"), "<5"
    )
    assert report["charged"] == "<5" and report["quarantined_rows"] == "<5"
    assert report["learning_themes"]["suspect_not_pursued"] == 0  # zero is shown
    assert report["learning_themes"]["records_incomplete"] == "<5"
    # the median rests on 3 decided referrals (< 5)
    assert report["median_days_referral_to_decision"] == "withheld"
    for row in report["by_force"]:
        assert row["referrals"] in ("<5", "withheld")
        assert row["per_100k"] in ("withheld", None)
    assert report["by_force"][0]["rape_referrals"] == 0  # a zero is never hidden


def test_build_report_threshold_is_configurable(hand_frames: StoreFrames) -> None:
    report = build_report(hand_frames, suppress=True, threshold=3)
    # threshold 3: only 1 and 2 are small. eligible 4 / ineligible 2: ineligible "<3",
    # so eligible must go too (else 6 - 4 = 2), and the decisions (all 1) are "<3".
    assert report["ineligible"] == "<3"
    assert report["eligible"] == "withheld"
    assert report["disclosure_control"]["threshold"] == 3
