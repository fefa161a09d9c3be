"""``beaconport report``: one JSON object with the contract's keys; a readable summary
that warns about synthetic data."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import pytest
from sqlalchemy import update
from typer.testing import CliRunner

from dashboard.cli import app
from metrics.report import REPORT_KEYS
from metrics.store import make_engine, submissions_t, transaction

# The hand-made store of the metrics tests (tests/metrics/conftest.py).
_spec = importlib.util.spec_from_file_location(
    "metrics_hand_store", Path(__file__).resolve().parents[1] / "metrics" / "conftest.py"
)
_hand_store = importlib.util.module_from_spec(_spec)  # type: ignore[arg-type]
_spec.loader.exec_module(_hand_store)  # type: ignore[union-attr]
insert_hand_store = _hand_store.insert_hand_store

pytestmark = pytest.mark.sqlite


@pytest.fixture
def hand_db(sqlite_url: str) -> str:
    engine = make_engine(sqlite_url)
    insert_hand_store(engine)
    engine.dispose()
    return sqlite_url


def test_report_json_prints_one_contract_object(hand_db: str) -> None:
    result = CliRunner().invoke(app, ["--db", hand_db, "report", "--json"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1
    report = json.loads(lines[0])
    assert tuple(report) == REPORT_KEYS
    assert report["referrals"] == 6 and report["as_at"] == "2025-06-01"


def test_report_suppressed_json(hand_db: str) -> None:
    result = CliRunner().invoke(app, ["--db", hand_db, "report", "--json", "--suppress"])
    report = json.loads(result.stdout)
    # 4 eligible under four decisions of 1: a <5 would be pinned at 4, so the audit of
    # the report as one linked set withholds it (tests/metrics/test_report.py)
    assert report["eligible"] == "withheld" and report["disclosure_control"]["threshold"] == 5
    assert report["decisions"]["nfa_upheld"] == "<5"


def test_report_threshold_defaults_to_the_programs_setting(hand_db: str, monkeypatch) -> None:
    """Six referrals: at a threshold of 10 the total itself is <10; --threshold wins."""
    monkeypatch.setenv("BEACONPORT_DISCLOSURE_THRESHOLD", "10")
    result = CliRunner().invoke(app, ["--db", hand_db, "report", "--json", "--suppress"])
    report = json.loads(result.stdout)
    assert report["disclosure_control"]["threshold"] == 10
    assert report["referrals"] == "<10"
    result = CliRunner().invoke(
        app, ["--db", hand_db, "report", "--json", "--suppress", "--threshold", "5"]
    )
    report = json.loads(result.stdout)
    # at 5 the six referrals are withheld with the eligible 4 (see above), not <5
    assert report["disclosure_control"]["threshold"] == 5 and report["referrals"] == "withheld"


def test_report_summary_warns_about_synthetic_data(hand_db: str) -> None:
    engine = make_engine(hand_db)
    with transaction(engine) as conn:
        conn.execute(update(submissions_t).values(synthetic=True))
    engine.dispose()
    result = CliRunner().invoke(app, ["--db", hand_db, "report"])
    assert result.exit_code == 0, result.output
    assert "SYNTHETIC DATA" in result.stdout
    assert "Referrals received" in result.stdout


def test_report_json_says_where_the_data_came_from(hand_db: str) -> None:
    """Unsuppressed, stdout stays the contract's object and the warning goes to stderr;
    the suppressed form (the one that may be passed on) says it in the object."""
    result = CliRunner().invoke(app, ["--db", hand_db, "report", "--json", "--suppress"])
    assert json.loads(result.stdout)["disclosure_control"]["data_origin"] == "real"
    assert result.stderr == ""
    engine = make_engine(hand_db)
    with transaction(engine) as conn:
        conn.execute(update(submissions_t).values(synthetic=True))
    engine.dispose()
    plain = CliRunner().invoke(app, ["--db", hand_db, "report", "--json"])
    assert tuple(json.loads(plain.stdout)) == REPORT_KEYS
    assert plain.stderr == "beaconport: SYNTHETIC DATA: these figures are not real referrals\n"
    controlled = CliRunner().invoke(app, ["--db", hand_db, "report", "--json", "--suppress"])
    assert json.loads(controlled.stdout)["disclosure_control"] == {
        "applied": True,
        "threshold": 5,
        "data_origin": "synthetic",
    }


def _row(stdout: str, label: str) -> list[str]:
    """The cells after ``label`` on its line of the printed summary."""
    line = next(line for line in stdout.splitlines() if label in line)
    return [c.strip() for c in re.split(r"\s{2,}|│|┃", line.split(label, 1)[1]) if c.strip()]


def test_report_summary_uses_the_dashboards_words(hand_db: str) -> None:
    """Themes by their reference-list labels and decisions in plain words, as on every
    page (the hand store: themes on referrals 1 and 2, 1 and 5, 3; decisions passed back
    on 1, upheld on 2, adopted on 5; referral 6 eligible and awaiting)."""
    result = CliRunner().invoke(app, ["--db", hand_db, "report"])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert _row(out, "Lines of inquiry not followed") == ["2"]
    assert _row(out, "Suspects not interviewed as expected") == ["2"]
    assert _row(out, "Records incomplete or inaccurate") == ["1"]
    assert _row(out, "Decision: Passed back to force") == ["1"]
    assert _row(out, "Decision: No further action upheld") == ["1"]
    assert _row(out, "Decision: Adopted by the NCA") == ["1"]
    assert _row(out, "Decision: Awaiting decision") == ["1"]
    assert "_" not in out.split("Learning themes", 1)[1].split("By force", 1)[0]


def test_report_summary_prints_thousands_with_separators(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'seeded.db'}"
    seeded = CliRunner().invoke(app, ["--db", url, "seed", "--referrals", "1273"])
    assert seeded.exit_code == 0, seeded.output
    out = CliRunner().invoke(app, ["--db", url, "report"]).stdout
    assert _row(out, "Referrals received") == ["1,273"]  # the published figure
    assert _row(out, "Referrals involving rape") == ["236"]
    # figures right-aligned, units under units: 1,273 and 236 end in the same column
    lines = out.splitlines()
    ends = {
        label: next(line for line in lines if label in line).rstrip()
        for label in ("Referrals received", "Referrals involving rape", "Forces referring")
    }
    assert len({len(line) for line in ends.values()}) == 1, ends
    # and in the tables: every force's figures end where their headers do
    header = next(line for line in lines if "┃ Force" in line)
    rows = [line for line in lines if line.startswith("│") and "Police" in line]
    assert rows
    for line in rows:
        for cell_end in [i for i, ch in enumerate(header) if ch == "┃"][2:]:
            assert line[cell_end - 2] != " ", (line, cell_end)  # a digit just inside
