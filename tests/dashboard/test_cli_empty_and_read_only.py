"""The command line on a new, empty store and on a database it may not write: a
review found tracebacks in both (``report --json`` and ``check`` on an empty store,
``check`` on a read-only file)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from metrics.report import REPORT_KEYS
from metrics.store import make_engine

pytestmark = pytest.mark.sqlite

BEACONPORT = Path(sys.executable).with_name("beaconport")


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BEACONPORT), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={"GX_ANALYTICS_ENABLED": "false", "PATH": "/usr/bin:/bin"},
    )


@pytest.fixture
def empty_db(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    make_engine(url).dispose()  # creates and migrates the store, loads nothing
    return url


def test_report_json_on_an_empty_store_prints_zeros(empty_db: str) -> None:
    result = _run("--db", empty_db, "report", "--json")
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    report = json.loads(result.stdout)
    assert list(report) == list(REPORT_KEYS)
    assert (report["referrals"], report["forces_referring"], report["as_at"]) == (0, 0, None)
    assert report["by_force"] == []
    assert result.stderr == ""  # an empty store is neither synthetic nor mixed


def test_check_on_an_empty_store_runs(empty_db: str) -> None:
    result = _run("--db", empty_db, "check", "--json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["data_origin"] == "empty"
    assert summary["success"] is True


def test_check_on_a_read_only_database_is_one_line(tmp_path: Path, empty_db: str) -> None:
    path = Path(empty_db.removeprefix("sqlite:///"))
    copy = tmp_path / "copy.db"
    shutil.copy(path, copy)
    read_only = f"sqlite:///file:{copy}?mode=ro&uri=true"
    result = _run("--db", read_only, "check", "--quiet")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines == [
        "beaconport: the database refused the operation: attempt to write a readonly database"
    ]


def test_check_docs_into_a_file_says_so(tmp_path: Path, empty_db: str) -> None:
    target = tmp_path / "docs.html"
    target.write_text("not a folder")
    result = _run("--db", empty_db, "check", "--docs", str(target))
    assert result.returncode == 2
    assert (
        result.stderr.strip()
        == f"beaconport: --docs {target}: is a file; give a folder for the Data Docs"
    )


def test_report_threshold_without_suppress_warns(empty_db: str) -> None:
    result = _run("--db", empty_db, "report", "--json", "--threshold", "7")
    assert result.returncode == 0
    assert json.loads(result.stdout)["referrals"] == 0  # stdout keeps the object
    assert "--threshold has no effect without --suppress" in result.stderr


def test_quarantine_list_names_what_it_cannot_match(tmp_path: Path, empty_db: str) -> None:
    from data_checks.gate import ingest_file
    from tests.data_checks.helpers import TODAY, referral, write_csv

    engine = make_engine(empty_db)
    rows = [referral(force_referral_id="K-1"), referral(force="Narnia Constabulary")]
    result = ingest_file(engine, write_csv(tmp_path / "r.csv", rows), "referrals", today=TODAY)
    assert result.rows_quarantined == 1
    engine.dispose()
    listed = _run("--db", empty_db, "quarantine", "list")
    assert listed.returncode == 0
    assert "unknown force 'Narnia Constabulary'" in listed.stdout
    unknown = _run("--db", empty_db, "quarantine", "list", "--force", "Narnia")
    assert unknown.returncode == 2
    assert unknown.stderr.strip() == (
        "beaconport: --force: 'Narnia' is not a force's name, short name or alias"
    )
    typo = _run("--db", empty_db, "quarantine", "list", "--reason", "unknown_forse")
    assert typo.returncode == 0
    assert (
        "no quarantined row has the reason 'unknown_forse' (reasons in the store: unknown_force)"
        in typo.stderr
    )
