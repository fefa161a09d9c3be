"""``beaconport check`` on stores built by the real gate, with faults placed by hand.

A small store is loaded from hand-made files; every check passes on it. Then faults are
placed with SQL UPDATEs, each in a named force, and the run must find exactly those
faults, with the right severity and force, and nothing else.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from data_checks.gate import ingest_file
from data_checks.quality_checks import (
    CheckRun,
    catalogue_frame,
    check_catalogue,
    check_results,
    check_runs,
    run_checks,
)
from data_checks.quality_config import QualityConfig
from tests.data_checks.helpers import TODAY, event, referral, write_csv

CONFIG = QualityConfig()


def build_store(engine: Engine, folder: Path) -> None:
    """Three forces; every referral decided or just arrived (W-1); every event in order."""
    eth = {"suspects_ethnicity_recorded_count": "1"}
    refs = [
        referral(force_referral_id="K-1", **eth),
        referral(force_referral_id="K-2", **eth),
        referral(force_referral_id="G-1", force="Greater Manchester Police", **eth),
        referral(force_referral_id="G-2", force="Greater Manchester Police", **eth),
        referral(
            force_referral_id="W-1",
            force="West Yorkshire Police",
            referral_date="2025-10-01",
            **eth,
        ),
    ]
    columns = [*refs[0].keys()]
    ingest_file(engine, write_csv(folder / "refs.csv", refs, columns), "referrals", today=TODAY)
    gmp = "Greater Manchester Police"
    events = [
        event("K-1", "assessment_started", "2025-08-05"),
        event("K-1", "assessment_completed", "2025-08-20", "passed_back_to_force"),
        event("K-1", "reinvestigation_started", "2025-09-01"),
        event("K-2", "assessment_started", "2025-08-05"),
        event("K-2", "assessment_completed", "2025-08-25", "nfa_upheld"),
        event("G-1", "assessment_started", "2025-08-05", force=gmp),
        event("G-1", "assessment_completed", "2025-08-25", "nfa_upheld", force=gmp),
        event("G-2", "assessment_started", "2025-08-05", force=gmp),
        event("G-2", "assessment_completed", "2025-09-25", "adopted_by_nca", force=gmp),
    ]
    r = ingest_file(engine, write_csv(folder / "events.csv", events), "events", today=TODAY)
    assert r.rows_quarantined == 0


def failing(run: CheckRun) -> set[tuple[str, str]]:
    return {(r.check.code, r.check.severity) for r in run.results if not r.success}


def failing_forces(run: CheckRun, code: str) -> dict[str, int]:
    result = next(r for r in run.results if r.check.code == code)
    return {f.force: f.unexpected_count for f in result.forces if not f.success}


def referral_id(engine: Engine, force_referral_id: str) -> int:
    with engine.connect() as conn:
        return conn.execute(
            text("SELECT id FROM referrals WHERE force_referral_id = :k"), {"k": force_referral_id}
        ).scalar_one()


def test_clean_store_passes_every_check(engine, tmp_path):
    build_store(engine, tmp_path)
    run = run_checks(engine, today=TODAY, config=CONFIG)
    assert failing(run) == set()
    assert run.success and run.as_at == date(2025, 10, 1)
    assert run.run_id is not None


def test_placed_faults_are_found_exactly_with_severity_and_force(engine, tmp_path):
    build_store(engine, tmp_path)
    k1, g1, g2 = (referral_id(engine, k) for k in ("K-1", "G-1", "G-2"))
    with engine.begin() as conn:
        # Kent: a count changed by hand breaks a contract row rule.
        conn.execute(
            text("UPDATE referrals SET suspects_alive_count = 9 WHERE force_referral_id = 'K-2'")
        )
        # Kent: K-1's assessment_started deleted: its decision (and the reinvestigation
        # that follows it) now break the order rules.
        conn.execute(
            text(
                "DELETE FROM review_events WHERE referral_id = :r AND event = 'assessment_started'"
            ),
            {"r": k1},
        )
        # Greater Manchester: an eligible referral marked ineligible by hand.
        conn.execute(
            text("UPDATE referrals SET eligible = :f WHERE id = :r"), {"f": False, "r": g1}
        )
        # Greater Manchester: an offence row removed behind the referral's back.
        conn.execute(
            text("DELETE FROM referral_offences WHERE referral_id = :r AND code = '71'"), {"r": g2}
        )
        # West Yorkshire: W-1, awaiting a decision, now arrived long before the latest date.
        conn.execute(
            text(
                "UPDATE referrals SET referral_date = '2025-05-01' WHERE force_referral_id = 'W-1'"
            )
        )
    run = run_checks(engine, today=TODAY, config=CONFIG)
    assert failing(run) == {
        ("referral.alive_exceeds_suspects", "critical"),
        ("event.order", "critical"),
        ("referral.eligible_flag_agrees", "critical"),
        ("referral.offence_rows_agree", "critical"),
        ("referral.not_stale", "warning"),
    }
    assert failing_forces(run, "referral.alive_exceeds_suspects") == {"Kent Police": 1}
    assert failing_forces(run, "event.order") == {"Kent Police": 2}
    assert failing_forces(run, "referral.eligible_flag_agrees") == {"Greater Manchester Police": 1}
    assert failing_forces(run, "referral.offence_rows_agree") == {"Greater Manchester Police": 1}
    assert failing_forces(run, "referral.not_stale") == {"West Yorkshire Police": 1}
    assert not run.success
    summary = run.summary()
    assert summary["failed"] == {"critical": 4, "warning": 1, "info": 0}
    # Stored: one row per check, and per force where it applies, with the same words.
    stored = check_results(engine, run.run_id)
    assert stored.height == len(check_catalogue(TODAY, CONFIG))
    bad = stored.filter(~stored["success"])
    assert set(zip(bad["check"], bad["severity"], strict=True)) == failing(run)
    per_force = check_results(engine, run.run_id, by_force=True)
    row = per_force.filter(
        (per_force["check"] == "referral.not_stale")
        & (per_force["force"] == "West Yorkshire Police")
    ).row(0, named=True)
    assert (row["success"], row["unexpected_count"], row["element_count"]) == (False, 1, 1)
    assert row["examples"] == ["West Yorkshire Police / W-1"]
    assert check_runs(engine)["failed_critical"].to_list()[0] == 4


def test_stale_days_and_missing_links_between_feeds(engine, tmp_path):
    build_store(engine, tmp_path)
    # A looser threshold: nothing is stale even after W-1 is moved back.
    with engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE referrals SET referral_date = '2025-06-01' WHERE force_referral_id = 'W-1'"
            )
        )
    run = run_checks(engine, today=TODAY, config=replace(CONFIG, stale_days=200))
    assert failing(run) == set()
    run = run_checks(engine, today=TODAY, config=replace(CONFIG, stale_days=30))
    assert failing(run) == {("referral.not_stale", "warning")}


@pytest.mark.unit
def test_every_check_is_described_once_with_known_severity_and_dimension():
    frame = catalogue_frame(TODAY, CONFIG)
    assert frame["check"].is_unique().all()
    assert set(frame["severity"]) <= {"critical", "warning", "info"}
    assert set(frame["dimension"]) <= {
        "validity",
        "completeness",
        "timeliness",
        "consistency",
        "uniqueness",
        "plausibility",
    }
    assert all(len(d) > 30 for d in frame["description"])


@pytest.mark.unit
def test_docs_list_every_check():
    doc = (Path(__file__).parents[2] / "docs" / "data-quality.md").read_text(encoding="utf-8")
    missing = [c for c in catalogue_frame(TODAY, CONFIG)["check"] if f"`{c}`" not in doc]
    assert missing == []


@pytest.mark.sqlite
@pytest.mark.slow
def test_cli_check_json_exit_status_and_data_docs(sqlite_url, tmp_path):
    from dashboard.cli import app
    from metrics.store import make_engine

    engine = make_engine(sqlite_url)
    build_store(engine, tmp_path)
    runner = CliRunner()
    docs = tmp_path / "docs"
    res = runner.invoke(app, ["--db", sqlite_url, "check", "--json", "--docs", str(docs)])
    assert res.exit_code == 0, res.output
    summary = json.loads(res.stdout)
    assert summary["success"] is True and summary["failed"]["critical"] == 0
    assert summary["data_origin"] == "real"  # build_store loads real (hand-made) files
    assert (docs / "index.html").is_file()
    pages = list(docs.rglob("*.html"))
    assert not any("SYNTHETIC DATA" in p.read_text(encoding="utf-8") for p in pages)
    assert any("Stored referrals keep" in p.read_text(encoding="utf-8") for p in pages)
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE referrals SET victims_count = -1 WHERE force_referral_id = 'K-1'")
        )
    res = runner.invoke(app, ["--db", sqlite_url, "check", "--json"])
    assert res.exit_code == 1
    summary = json.loads(res.stdout)
    failed = {c["check"] for c in summary["checks"] if not c["success"]}
    # A negative count also makes the stored eligibility flags disagree with the criteria.
    assert failed == {
        "referral.negative_count.victims_count",
        "referral.eligibility_agrees",
        "referral.eligible_flag_agrees",
    }


@pytest.mark.sqlite
def test_cli_check_says_when_the_store_holds_synthetic_data(sqlite_url, tmp_path):
    from dashboard.cli import app
    from metrics.store import make_engine

    engine = make_engine(sqlite_url)
    build_store(engine, tmp_path)
    first = CliRunner().invoke(app, ["--db", sqlite_url, "check"])
    assert first.stdout.startswith("checked the store")
    with engine.begin() as conn:
        conn.execute(text("UPDATE submissions SET synthetic = true"))
    res = CliRunner().invoke(app, ["--db", sqlite_url, "check"])
    assert res.stdout.splitlines()[0] == "SYNTHETIC DATA: the store holds synthetic files"
    docs = tmp_path / "docs"
    res = CliRunner().invoke(app, ["--db", sqlite_url, "check", "--json", "--docs", str(docs)])
    assert json.loads(res.stdout)["data_origin"] == "synthetic"
    pages = list(docs.rglob("*.html"))
    assert len(pages) >= 2  # the index and at least one validation page
    notice = "SYNTHETIC DATA: made up for testing and demonstration; no real cases."
    for page in pages:
        html = page.read_text(encoding="utf-8")
        assert html.count(notice) == 1, page
        assert html.index(notice) < html.index("</body>")


@pytest.mark.sqlite
@pytest.mark.slow
def test_clean_seeded_store_has_no_critical_failure(sqlite_url, tmp_path):
    from metrics.store import make_engine
    from metrics.synthetic import write_synthetic_dataset

    engine = make_engine(sqlite_url)
    ds = write_synthetic_dataset(tmp_path / "seed", referrals=400, forces=8, seed=3)
    for f in ds.referral_files:
        ingest_file(engine, f, "referrals", synthetic=True, today=TODAY)
    for f in ds.event_files:
        ingest_file(engine, f, "events", synthetic=True, today=TODAY)
    run = run_checks(engine, today=TODAY, config=CONFIG)
    assert run.failed("critical") == []
    assert run.success


def test_progress_is_told_each_stage_in_order(engine, tmp_path):
    build_store(engine, tmp_path)
    stages: list[str] = []
    run_checks(engine, today=TODAY, config=CONFIG, progress=stages.append)
    # build_store loads 5 referrals and 9 events; the quarantine is empty, so not checked.
    assert stages[:3] == [
        "reading the store",
        "checking referrals (5 rows)",
        "checking events (9 rows)",
    ]
    assert stages[-1] == "recording the run"
    assert not any("quarantine" in s for s in stages)

    stages.clear()
    run_checks(
        engine,
        today=TODAY,
        config=CONFIG,
        progress=stages.append,
        record=False,
        docs_dir=tmp_path / "docs",
    )
    assert stages[-1] == "building Data Docs"
