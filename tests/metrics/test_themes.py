"""Learning themes on the hand-made store, worked out by hand.

Assessed referrals: 1 (lines_of_inquiry, suspect_not_interviewed), 2 (lines_of_inquiry),
5 (suspect_not_interviewed). Referral 3's records_incomplete is not among the assessed.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from metrics.frames import StoreFrames
from metrics.themes import (
    referrals_with_theme,
    theme_co_occurrence,
    theme_share,
    theme_share_by_force,
    theme_share_by_month,
    themes_by_decision,
)


def test_referrals_with_theme(hand_frames: StoreFrames) -> None:
    assert referrals_with_theme(hand_frames)["records_incomplete"] == 1


def test_theme_share(hand_frames: StoreFrames) -> None:
    table = theme_share(hand_frames)
    assert dict(table.select("theme", "referrals").rows()) == {
        "lines_of_inquiry_not_followed": 2,
        "victim_account_not_best_practice": 0,
        "suspect_not_pursued": 0,
        "suspect_not_interviewed": 2,
        "records_incomplete": 0,
        "potential_misconduct": 0,
    }
    assert set(table["assessed"]) == {3}
    assert table["share"][0] == pytest.approx(2 / 3)


def test_theme_share_by_force(hand_frames: StoreFrames) -> None:
    table = theme_share_by_force(hand_frames)
    row = table.filter(
        (table["force"] == "City of London Police") & (table["theme"] == "suspect_not_interviewed")
    )
    assert row.select("referrals", "assessed", "share").row(0) == (1, 1, 1.0)
    assert sorted(set(table["force"])) == ["City of London Police", "Cleveland Police"]


def test_theme_share_by_month(hand_frames: StoreFrames) -> None:
    table = theme_share_by_month(hand_frames)
    # decisions: Feb (ref 1), Mar (refs 2, 5)
    march = table.filter(table["month"] == date(2025, 3, 1))
    assert dict(march.select("theme", "referrals").rows())["lines_of_inquiry_not_followed"] == 1
    assert set(march["assessed"]) == {2}
    # the store runs to 1 June 2025 (a conviction): both months are whole
    assert hand_frames.as_at == date(2025, 6, 1)
    months = table.select("month", "complete", "covered_from", "covered_to").unique().sort("month")
    assert months.rows() == [
        (date(2025, 2, 1), True, date(2025, 2, 1), date(2025, 2, 28)),
        (date(2025, 3, 1), True, date(2025, 3, 1), date(2025, 3, 31)),
    ]


def test_the_month_of_the_as_at_date_is_partial(hand_frames: StoreFrames) -> None:
    """Were the latest date stored 20 March 2025, March's shares would be of its
    decisions to the 20th: 1 to 20 March covered, not the whole month."""
    table = theme_share_by_month(replace(hand_frames, as_at=date(2025, 3, 20)))
    months = table.select("month", "complete", "covered_from", "covered_to").unique().sort("month")
    assert months.rows() == [
        (date(2025, 2, 1), True, date(2025, 2, 1), date(2025, 2, 28)),
        (date(2025, 3, 1), False, date(2025, 3, 1), date(2025, 3, 20)),
    ]


def test_themes_by_decision(hand_frames: StoreFrames) -> None:
    table = themes_by_decision(hand_frames)
    assert table["decision"].unique(maintain_order=True).to_list() == [
        "nfa_upheld",
        "passed_back_to_force",
        "adopted_by_nca",
    ]
    passed_back = table.filter(table["decision"] == "passed_back_to_force")
    assert passed_back["referrals"].to_list() == [1, 0, 0, 1, 0, 0]
    upheld = table.filter(table["decision"] == "nfa_upheld")
    assert upheld["referrals"].to_list() == [1, 0, 0, 0, 0, 0]


def test_theme_co_occurrence(hand_frames: StoreFrames) -> None:
    table = theme_co_occurrence(hand_frames)
    assert table.height == 36
    pairs = {(a, b): n for a, b, n in table.rows()}
    # together only in ref 1
    assert pairs[("lines_of_inquiry_not_followed", "suspect_not_interviewed")] == 1
    assert pairs[("suspect_not_interviewed", "lines_of_inquiry_not_followed")] == 1
    assert pairs[("lines_of_inquiry_not_followed", "lines_of_inquiry_not_followed")] == 2
    assert pairs[("records_incomplete", "records_incomplete")] == 0
