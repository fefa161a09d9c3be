"""Small hand-made files for the gate's tests."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

from sqlalchemy import Engine, func, select

from metrics import store

TODAY = date(2025, 11, 4)

REFERRAL_COLUMNS = [
    "force_referral_id",
    "force",
    "referral_date",
    "crime_recorded_date",
    "nfa_date",
    "original_outcome",
    "offence_codes",
    "suspects_count",
    "suspects_alive_count",
    "victims_count",
]
EVENT_COLUMNS = ["force", "force_referral_id", "event", "event_date", "detail"]


def referral(**changes: str) -> dict[str, str]:
    """A valid, eligible referral row (Kent, rape of a child under 16), with ``changes`` applied."""
    row = {
        "force_referral_id": "K-1",
        "force": "Kent Police",
        "referral_date": "2025-08-01",
        "crime_recorded_date": "2015-03-02",
        "nfa_date": "2016-01-10",
        "original_outcome": "15",
        "offence_codes": "19D;71",
        "suspects_count": "3",
        "suspects_alive_count": "3",
        "victims_count": "2",
    }
    row.update(changes)
    return row


def event(
    ref: str, ev: str, day: str, detail: str = "", force: str = "Kent Police"
) -> dict[str, str]:
    return {
        "force": force,
        "force_referral_id": ref,
        "event": ev,
        "event_date": day,
        "detail": detail,
    }


def write_csv(
    path: Path,
    rows: list[dict[str, str]],
    columns: list[str] | None = None,
    encoding: str = "utf-8",
) -> Path:
    columns = columns or list(rows[0])
    with open(path, "w", newline="", encoding=encoding) as fh:
        w = csv.DictWriter(fh, fieldnames=columns, extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)
    return path


def table_counts(engine: Engine) -> dict[str, int]:
    """Row counts of every table: a fingerprint of the store's state."""
    tables = [
        store.submissions_t,
        store.referrals_t,
        store.offences_t,
        store.referral_history_t,
        store.events_t,
        store.event_history_t,
        store.quarantine_t,
        store.validation_runs_t,
        store.validation_results_t,
        store.audit_t,
        store.column_segments_t,
    ]
    with engine.connect() as conn:
        return {
            t.name: conn.execute(select(func.count()).select_from(t)).scalar_one() for t in tables
        }


def quarantine_reasons(engine: Engine) -> dict[int, set[str]]:
    """Open quarantined rows: spreadsheet row number -> set of rule codes."""
    q = store.read_quarantine(engine, status="open")
    return {r["source_row"]: set(r["reason_codes"].split(";")) for r in q.iter_rows(named=True)}
