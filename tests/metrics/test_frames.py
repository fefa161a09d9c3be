"""load_store: the derived per-referral columns, and filters that carry events along."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Engine

from metrics.filters import Filters
from metrics.frames import StoreFrames, load_store


def test_load_store_derives_per_referral_columns(hand_frames: StoreFrames) -> None:
    rows = {r["id"]: r for r in hand_frames.referrals.collect().iter_rows(named=True)}
    assert len(rows) == 6
    one = rows[1]
    assert one["region"] == "North East" and one["population"] == 569141
    assert one["codes"] == ["19C", "71"]
    assert one["offence_groups"] == ["Exploitation and trafficking", "Rape"]
    assert one["involves_rape"] is True
    assert one["assessment_started_date"] == date(2025, 1, 10)
    assert one["decision"] == "passed_back_to_force" and one["decision_date"] == date(2025, 2, 9)
    assert one["charged_date"] == date(2025, 3, 10) and one["convicted_date"] == date(2025, 6, 1)
    assert one["victim_contacts"] == 2
    assert one["themes"] == ["lines_of_inquiry_not_followed", "suspect_not_interviewed"]
    # the corrected decision in event_history is not the current one
    assert rows[2]["decision"] == "nfa_upheld"
    assert rows[4]["ineligible_reasons"] == ["outside_review_period", "not_closed_as_nfa"]
    assert rows[4]["themes"] == [] and rows[4]["decision"] is None
    assert rows[1]["ineligible_reasons"] == []
    assert hand_frames.as_at == date(2025, 6, 1)
    assert hand_frames.open_quarantined_rows == 1


def test_filtered_frames_carry_their_events(hand_frames: StoreFrames) -> None:
    view = hand_frames.filtered(Filters(forces=("Cleveland Police",)))
    assert sorted(view.referrals.collect()["id"]) == [1, 2]
    # 9 events of referral 1, 4 of referral 2
    assert sorted(set(view.events.collect()["referral_id"])) == [1, 2]
    assert view.events.collect().height == 13
    assert sorted(view.offences.collect()["code"]) == ["19C", "20A", "71"]


def test_up_to_rewinds_events_and_referrals(hand_frames: StoreFrames) -> None:
    earlier = hand_frames.up_to(date(2025, 2, 9))
    rows = {r["id"]: r for r in earlier.referrals.collect().iter_rows(named=True)}
    # referrals 1-4 received by 9 February; referral 1 decided that day, 2 not yet
    assert sorted(rows) == [1, 2, 3, 4]
    assert rows[1]["decision"] == "passed_back_to_force"
    assert rows[2]["decision"] is None and rows[1]["charged_date"] is None


def test_load_store_reads_an_empty_store(engine: Engine) -> None:
    frames = load_store(engine)
    assert frames.referrals.collect().height == 0
    assert frames.as_at is None and frames.open_quarantined_rows == 0
