"""Headline progress on the hand-made store, worked out by hand."""

from __future__ import annotations

from datetime import date

from metrics.filters import Filters
from metrics.frames import StoreFrames
from metrics.progress import HEADLINE_MEASURES, headline_figures, headline_progress


def test_headline_figures_by_hand(hand_frames: StoreFrames) -> None:
    assert headline_figures(hand_frames) == {
        "referrals": 6,
        "forces_referring": 4,
        "forces_yet_to_refer": 40,  # 44 forces - 4
        "rape_referrals": 3,
        "eligible": 4,
        "ineligible": 2,
        "ineligible_outside_review_period": 1,  # ref 4
        "ineligible_fewer_than_two_suspects": 0,
        "ineligible_fewer_than_two_victims": 0,
        "ineligible_no_contact_offence": 1,  # ref 3
        "ineligible_no_suspect_alive": 0,
        "ineligible_not_closed_as_nfa": 1,  # ref 4
        "assessed": 3,  # refs 1, 2, 5
        "nfa_upheld": 1,
        "passed_back_to_force": 1,
        "adopted_by_nca": 1,
        "awaiting_decision": 1,
        "reopened": 2,  # refs 1 (passed back) and 5 (adopted)
        "charged": 1,
        "convicted": 1,
        "misconduct_referrals": 1,
        "victims_contacted": 2,  # two contact events for ref 1
        "acknowledgements_given": 1,
    }
    # North East: Cleveland (2 refs) and Durham (2 refs); 3 forces in the region
    north_east = headline_figures(hand_frames, Filters(regions=("North East",)))
    assert north_east["referrals"] == 4 and north_east["forces_yet_to_refer"] == 1


def test_headline_progress_change_since(hand_frames: StoreFrames) -> None:
    table = headline_progress(hand_frames, since=date(2025, 2, 9))
    assert table["measure"].to_list() == [m for m, _ in HEADLINE_MEASURES]
    got = {
        r["measure"]: (r["value"], r["value_at_since"], r["change"])
        for r in table.iter_rows(named=True)
    }
    # by 9 Feb: refs 1-4 received (3 forces), ref 1 decided (passed back), nothing charged
    assert got["referrals"] == (6, 4, 2)
    assert got["forces_referring"] == (4, 2, 2)
    assert got["passed_back_to_force"] == (1, 1, 0)
    assert got["nfa_upheld"] == (1, 0, 1)
    # eligible by then: refs 1, 2; 2 awaits its decision
    assert got["awaiting_decision"] == (1, 1, 0)
    assert got["charged"] == (1, 0, 1)
    assert got["misconduct_referrals"] == (1, 1, 0)  # ref 3's on 1 Feb
    assert headline_progress(hand_frames)["change"].null_count() == len(HEADLINE_MEASURES)
