"""A small hand-made store for the dashboard tests: 14 referrals from three forces.

==================  =========  ========  ==========================================
force               referrals  eligible  decisions (eligible referrals)
==================  =========  ========  ==========================================
Kent Police         7          7         3 nfa_upheld, 3 passed_back_to_force, 1 awaiting
Cleveland Police    5          4         2 nfa_upheld, 2 awaiting
Essex Police        2          2         1 adopted_by_nca, 1 awaiting
==================  =========  ========  ==========================================

Essex's 2 referrals are a count from 1 to 4, so an oversight viewer must see ``<5``.
Rape codes on Kent 1-3 and Cleveland 1. Every assessed referral has the theme
``lines_of_inquiry_not_followed``. One quarantined row is open.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import Engine

from metrics.store import (
    events_t,
    offences_t,
    quarantine_t,
    referrals_t,
    submissions_t,
    transaction,
)

FORCES = {"Kent Police": 7, "Cleveland Police": 5, "Essex Police": 2}
DECISIONS = {
    "Kent Police": ["nfa_upheld"] * 3 + ["passed_back_to_force"] * 3 + [None],
    "Cleveland Police": ["nfa_upheld", "nfa_upheld", None, None, None],
    "Essex Police": ["adopted_by_nca", None],
}


def insert_dashboard_store(engine: Engine, *, synthetic: bool = True) -> None:
    """Insert the store described in the module docstring."""
    now = datetime(2025, 6, 2, 9, 0, 0)
    referrals, offences, events = [], [], []
    rid = 0
    for force, n in FORCES.items():
        for i in range(n):
            rid += 1
            referral_date = date(2025, 1, 6) + timedelta(days=7 * i + rid)
            eligible = not (force == "Cleveland Police" and i == 4)
            codes = ["19C", "71"] if i < (3 if force == "Kent Police" else 1) else ["20A"]
            referrals.append(
                {
                    "id": rid,
                    "force": force,
                    "force_referral_id": f"{force[:4].upper()}-{i + 1}",
                    "referral_date": referral_date,
                    "crime_recorded_date": date(2016, 1, 1),
                    "nfa_date": date(2017, 1, 1),
                    "original_outcome": "15",
                    "offence_codes": ";".join(codes),
                    "suspects_count": 3,
                    "suspects_alive_count": 2,
                    "victims_count": 2 if eligible else 1,
                    "involves_rape": "19C" in codes,
                    "eligible": eligible,
                    "ineligibility_reasons": "" if eligible else "fewer_than_two_victims",
                    "version": 1,
                    "submission_id": 1,
                    "source_row": rid,
                    "loaded_at": now,
                }
            )
            offences += [{"referral_id": rid, "code": c} for c in codes]
            decision = DECISIONS[force][i]
            if eligible:
                events.append((rid, "assessment_started", referral_date + timedelta(days=2), None))
            if eligible and decision:
                day = referral_date + timedelta(days=20)
                events.append((rid, "assessment_completed", day, decision))
                events.append((rid, "learning_theme", day, "lines_of_inquiry_not_followed"))
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
                    "synthetic": synthetic,
                }
                for sid, feed in ((1, "referrals"), (2, "events"))
            ],
        )
        conn.execute(referrals_t.insert(), referrals)
        conn.execute(offences_t.insert(), offences)
        conn.execute(
            events_t.insert(),
            [
                {
                    "id": i,
                    "referral_id": r,
                    "event": e,
                    "event_date": d,
                    "detail": detail,
                    "submission_id": 2,
                    "source_row": i,
                    "loaded_at": now,
                }
                for i, (r, e, d, detail) in enumerate(events, start=1)
            ],
        )
        conn.execute(
            quarantine_t.insert(),
            [
                {
                    "submission_id": 1,
                    "feed": "referrals",
                    "source_row": 99,
                    "force": "Kent Police",
                    "force_referral_id": "=HYPERLINK(1)",
                    "raw": {"force_referral_id": "=HYPERLINK(1)"},
                    "reasons": [{"code": "missing_value", "column": "referral_date"}],
                    "reason_codes": "missing_value",
                    "status": "open",
                }
            ],
        )
