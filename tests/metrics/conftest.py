"""A small hand-made store for the metrics tests, inserted row by row with SQLAlchemy
Core into a real database (SQLite and PostgreSQL through the ``engine`` fixture).

The store, as a reader would draw it (weeks start on Monday):

=== ================ ============ ========== ========= ========= ===========================
id  force            referral     crime      outcome   codes     eligible / events
=== ================ ============ ========== ========= ========= ===========================
1   Cleveland Police 2025-01-06   2015-03-01 15        19C;71    eligible; started 01-10,
                     (Mon)                                        contacted 01-12 and 01-20,
                                                                  decided 02-09 passed back,
                                                                  themes lines_of_inquiry +
                                                                  suspect_not_interviewed,
                                                                  reinvestigated 02-20,
                                                                  charged 03-10, convicted 06-01
2   Cleveland Police 2025-01-08   2016-05-01 14        20A       eligible; started 01-20,
                                                                  decided 03-01 nfa_upheld
                                                                  (corrected from passed back,
                                                                  kept in event_history), theme
                                                                  lines_of_inquiry, acknowledged
                                                                  03-05
3   Durham Const.    2025-01-15   2015-07-01 15        88A       ineligible (no_contact_offence);
                                                                  misconduct referral 02-01,
                                                                  theme records_incomplete 02-01
4   Durham Const.    2025-02-03   2009-01-01 1         19D;86    ineligible (outside_review_period,
                                                                  not_closed_as_nfa); no events
5   City of London   2025-02-10   2018-01-01 21        17A       eligible; started 02-12,
                                                                  decided 03-14 adopted_by_nca,
                                                                  theme suspect_not_interviewed,
                                                                  reinvestigated 03-20
6   Kent Police      2025-03-03   2018-06-01 15        19E       eligible; started 03-05, awaiting
=== ================ ============ ========== ========= ========= ===========================

Quarantine: two rows, one still open, one resolved.
"""

from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlalchemy import Engine

from metrics.frames import StoreFrames, load_store
from metrics.store import (
    event_history_t,
    events_t,
    offences_t,
    quarantine_t,
    referrals_t,
    submissions_t,
    transaction,
)

D = date.fromisoformat

REFERRALS = [
    # id, force, referral_date, crime_recorded_date, outcome, codes, eligible, reasons
    (1, "Cleveland Police", "2025-01-06", "2015-03-01", "15", ["19C", "71"], True, ""),
    (2, "Cleveland Police", "2025-01-08", "2016-05-01", "14", ["20A"], True, ""),
    (
        3,
        "Durham Constabulary",
        "2025-01-15",
        "2015-07-01",
        "15",
        ["88A"],
        False,
        "no_contact_offence",
    ),
    (
        4,
        "Durham Constabulary",
        "2025-02-03",
        "2009-01-01",
        "1",
        ["19D", "86"],
        False,
        "outside_review_period;not_closed_as_nfa",
    ),
    (5, "City of London Police", "2025-02-10", "2018-01-01", "21", ["17A"], True, ""),
    (6, "Kent Police", "2025-03-03", "2018-06-01", "15", ["19E"], True, ""),
]

EVENTS = [
    # referral_id, event, event_date, detail
    (1, "assessment_started", "2025-01-10", None),
    (1, "victim_contacted", "2025-01-12", None),
    (1, "victim_contacted", "2025-01-20", None),
    (1, "assessment_completed", "2025-02-09", "passed_back_to_force"),
    (1, "learning_theme", "2025-02-09", "lines_of_inquiry_not_followed"),
    (1, "learning_theme", "2025-02-09", "suspect_not_interviewed"),
    (1, "reinvestigation_started", "2025-02-20", None),
    (1, "suspect_charged", "2025-03-10", None),
    (1, "suspect_convicted", "2025-06-01", None),
    (2, "assessment_started", "2025-01-20", None),
    (2, "assessment_completed", "2025-03-01", "nfa_upheld"),
    (2, "learning_theme", "2025-03-01", "lines_of_inquiry_not_followed"),
    (2, "acknowledgement_given", "2025-03-05", None),
    (3, "misconduct_referral", "2025-02-01", "professional_standards"),
    (3, "learning_theme", "2025-02-01", "records_incomplete"),
    (5, "assessment_started", "2025-02-12", None),
    (5, "assessment_completed", "2025-03-14", "adopted_by_nca"),
    (5, "learning_theme", "2025-03-14", "suspect_not_interviewed"),
    (5, "reinvestigation_started", "2025-03-20", None),
    (6, "assessment_started", "2025-03-05", None),
]

RAPE_CODES = {"19C", "19D", "19E", "19F", "19G", "19H"}


def insert_hand_store(engine: Engine) -> None:
    """Insert the store described in the module docstring."""
    now = datetime(2025, 6, 2, 9, 0, 0)
    with transaction(engine) as conn:
        conn.execute(
            submissions_t.insert(),
            [
                {
                    "id": sid,
                    "feed": feed,
                    "file_name": f"{feed}.csv",
                    "sha256": str(sid) * 64,
                    "received_at": now,
                    "status": "loaded",
                    "ignored_columns": [],
                    "synthetic": False,
                }
                for sid, feed in ((1, "referrals"), (2, "events"), (3, "events"))
            ],
        )
        conn.execute(
            referrals_t.insert(),
            [
                {
                    "id": rid,
                    "force": force,
                    "force_referral_id": f"REF-{rid}",
                    "referral_date": D(referral),
                    "crime_recorded_date": D(crime),
                    "nfa_date": D(crime),
                    "original_outcome": outcome,
                    "offence_codes": ";".join(codes),
                    "suspects_count": 3,
                    "suspects_alive_count": 2,
                    "victims_count": 2,
                    "involves_rape": bool(RAPE_CODES & set(codes)),
                    "eligible": eligible,
                    "ineligibility_reasons": reasons,
                    "version": 1,
                    "submission_id": 1,
                    "source_row": rid,
                    "loaded_at": now,
                }
                for rid, force, referral, crime, outcome, codes, eligible, reasons in REFERRALS
            ],
        )
        conn.execute(
            offences_t.insert(),
            [{"referral_id": r[0], "code": code} for r in REFERRALS for code in r[5]],
        )
        conn.execute(
            events_t.insert(),
            [
                {
                    "id": i,
                    "referral_id": rid,
                    "event": event,
                    "event_date": D(day),
                    "detail": detail,
                    "submission_id": 2,
                    "source_row": i,
                    "loaded_at": now,
                }
                for i, (rid, event, day, detail) in enumerate(EVENTS, start=1)
            ],
        )
        # Referral 2's first decision (passed back) was corrected to nfa_upheld.
        conn.execute(
            event_history_t.insert(),
            [
                {
                    "event_id": 99,
                    "referral_id": 2,
                    "event": "assessment_completed",
                    "event_date": D("2025-02-25"),
                    "detail": "passed_back_to_force",
                    "submission_id": 2,
                    "replaced_by_event_id": 11,
                    "replaced_by_submission_id": 3,
                    "replaced_at": now,
                }
            ],
        )
        conn.execute(
            quarantine_t.insert(),
            [
                {
                    "submission_id": 1,
                    "feed": "referrals",
                    "source_row": 7,
                    "force": "Kent Police",
                    "force_referral_id": "REF-7",
                    "raw": {"force": "Kent"},
                    "reasons": [{"code": "missing_value"}],
                    "reason_codes": "missing_value",
                    "status": status,
                }
                for status in ("open", "resolved")
            ],
        )


@pytest.fixture
def hand_engine(engine: Engine) -> Engine:
    """The hand-made store on SQLite and on PostgreSQL."""
    insert_hand_store(engine)
    return engine


@pytest.fixture
def hand_frames(hand_engine: Engine) -> StoreFrames:
    """The hand-made store loaded for the metrics."""
    return load_store(hand_engine)
