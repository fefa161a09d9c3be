"""``beaconport store verify|rebuild-snapshot``: the columnar copy checked against the
rows, and written afresh after a hand edit."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select, update
from typer.testing import CliRunner

from dashboard.cli import app
from metrics.store import make_engine, referrals_t, transaction
from tests.data_checks.helpers import REFERRAL_COLUMNS, referral, write_csv

pytestmark = pytest.mark.sqlite


def run(db: str, *args: str):
    return CliRunner().invoke(app, ["--db", db, *args])


def test_verify_and_rebuild_after_a_hand_edit(sqlite_url: str, tmp_path: Path) -> None:
    rows = [referral(force_referral_id="K-1"), referral(force_referral_id="K-2")]
    path = write_csv(tmp_path / "r.csv", rows, REFERRAL_COLUMNS)
    assert run(sqlite_url, "ingest", "referrals", str(path)).exit_code == 0
    ok = run(sqlite_url, "store", "verify", "--json")
    assert ok.exit_code == 0 and json.loads(ok.stdout) == {"matches": True, "problems": []}

    # an edit by hand the copy cannot know of: the same number of rows, another force
    engine = make_engine(sqlite_url)
    with transaction(engine) as conn:
        rid = conn.execute(select(referrals_t.c.id).limit(1)).scalar_one()
        conn.execute(
            update(referrals_t).where(referrals_t.c.id == rid).values(force="Durham Constabulary")
        )
    bad = run(sqlite_url, "store", "verify", "--json")
    assert bad.exit_code == 1 and json.loads(bad.stdout)["problems"] == ["referrals differ"]

    rebuilt = run(sqlite_url, "store", "rebuild-snapshot")
    assert rebuilt.exit_code == 0
    assert "2 referrals, 4 offence codes, 0 events" in rebuilt.stdout
    assert run(sqlite_url, "store", "verify").exit_code == 0
    engine.dispose()
