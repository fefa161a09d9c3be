"""The repair route: list, export (safe for spreadsheets), correct, repair through the gate."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from data_checks.gate import ingest_file
from data_checks.quarantine import (
    QuarantineFilters,
    RepairRefused,
    export_quarantined,
    list_quarantined,
    neutralise,
    repair_file,
    unneutralise,
)
from metrics import store
from tests.data_checks.helpers import TODAY, event, referral, write_csv

ROOT = Path(__file__).parents[2]


def read_export(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8-sig") as fh:
        return list(csv.DictReader(fh))


def write_rows(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return path


@pytest.mark.unit
@pytest.mark.parametrize("cell", ["=1+1", "+44", "-1", "@SUM(A1)", "\tx", "\rx"])
def test_formula_cells_are_neutralised_and_restored(cell):
    assert neutralise(cell) == "'" + cell
    assert unneutralise(neutralise(cell)) == cell


@pytest.mark.unit
@pytest.mark.parametrize("cell", ["K-1", "'quoted", "19D;71", ""])
def test_ordinary_cells_are_left_alone(cell):
    assert neutralise(cell) == cell
    assert unneutralise(cell) == cell


def quarantined_store(engine, folder: Path) -> None:
    refs = [
        referral(force_referral_id="K-1"),
        referral(force_referral_id="K-2", offence_codes="=SUM(A1)"),
        referral(force_referral_id="G-1", force="GMP", victims_count="-1"),
    ]
    ingest_file(engine, write_csv(folder / "refs.csv", refs), "referrals", today=TODAY)
    events = [
        event("K-1", "assessment_started", "2025-08-05"),
        event("K-2", "assessment_started", "2025-08-05"),  # its referral is quarantined
    ]
    ingest_file(engine, write_csv(folder / "events.csv", events), "events", today=TODAY)


def test_list_filters_and_export_as_received(engine, tmp_path):
    quarantined_store(engine, tmp_path)
    rows = list_quarantined(engine)
    assert rows.height == 3
    assert list_quarantined(engine, QuarantineFilters(force="Kent")).height == 2
    gmp = list_quarantined(engine, QuarantineFilters(reason="negative_count"))
    assert gmp["force"].to_list() == ["Greater Manchester Police"]
    assert list_quarantined(engine, QuarantineFilters(file="events.csv"))["feed"].to_list() == [
        "events"
    ]
    assert list_quarantined(engine, QuarantineFilters(status="resolved")).height == 0

    out = export_quarantined(engine, tmp_path / "q.csv", "referrals")
    assert (out.rows, out.synthetic_rows) == (2, 0)
    lines = read_export(tmp_path / "q.csv")
    assert list(lines[0])[:3] == ["force_referral_id", "force", "referral_date"]
    assert list(lines[0])[-5:] == [
        "quarantine_id",
        "reasons",
        "source_file",
        "source_row",
        "data_origin",
    ]
    k2, g1 = lines
    assert k2["offence_codes"] == "'=SUM(A1)"  # neutralised
    assert g1["force"] == "GMP" and g1["victims_count"] == "'-1"  # as received
    assert "[negative_count]" in g1["reasons"]
    assert (g1["source_file"], g1["source_row"], g1["data_origin"]) == ("refs.csv", "4", "real")


def test_repair_closes_rows_and_links_them(engine, tmp_path):
    quarantined_store(engine, tmp_path)
    export_quarantined(engine, tmp_path / "q.csv", "referrals")
    lines = read_export(tmp_path / "q.csv")
    lines[0]["offence_codes"] = "19D;71"
    lines[1]["victims_count"] = "2"
    done = repair_file(engine, write_rows(tmp_path / "fixed.csv", lines), "referrals", today=TODAY)
    assert (done.result.rows_loaded, done.result.repaired, done.superseded) == (2, 2, 0)
    # The event waiting for K-2 loads as exported, unchanged.
    export_quarantined(engine, tmp_path / "qe.csv", "events")
    again = repair_file(engine, tmp_path / "qe.csv", "events", today=TODAY)
    assert again.result.repaired == 1
    assert list_quarantined(engine).height == 0
    closed = list_quarantined(engine, QuarantineFilters(status="all"))
    assert closed["status"].to_list() == ["resolved"] * 3
    assert closed["resolved_by_submission_id"].null_count() == 0
    refs = store.read_referrals(engine)
    linked = closed.filter(closed["feed"] == "referrals")["resolved_by_referral_id"].to_list()
    assert sorted(refs.filter(refs["id"].is_in(linked))["force_referral_id"]) == ["G-1", "K-2"]
    assert closed.filter(closed["feed"] == "events")["resolved_by_event_id"].null_count() == 0


def _corrected_synthetic_row(engine, folder: Path) -> dict[str, str]:
    """A synthetic store with one quarantined referral (K-2, a negative count), and that
    row as exported for repair, corrected."""
    refs = [
        referral(force_referral_id="K-1"),
        referral(force_referral_id="K-2", victims_count="-1"),
    ]
    ingest_file(
        engine, write_csv(folder / "refs.csv", refs), "referrals", today=TODAY, synthetic=True
    )
    assert store.data_origin(engine) == "synthetic"
    export_quarantined(engine, folder / "q.csv", "referrals")
    [row] = read_export(folder / "q.csv")
    row["victims_count"] = "2"
    return row


def test_a_repair_of_synthetic_rows_only_stays_synthetic(engine, tmp_path):
    row = _corrected_synthetic_row(engine, tmp_path)
    done = repair_file(engine, write_rows(tmp_path / "fixed.csv", [row]), "referrals", today=TODAY)
    assert (done.result.rows_loaded, done.result.repaired) == (1, 1)
    assert store.data_origin(engine) == "synthetic"


def test_a_row_naming_no_quarantined_row_makes_the_repair_file_real(engine, tmp_path):
    """A new row in a repair file is new data of unknown origin: the file is recorded as
    real, so the store is mixed, and demo mode (synthetic stores only) refuses it."""
    row = _corrected_synthetic_row(engine, tmp_path)
    new = dict(row, force_referral_id="K-NEW", quarantine_id="", victims_count="3")
    done = repair_file(
        engine, write_rows(tmp_path / "fixed.csv", [row, new]), "referrals", today=TODAY
    )
    assert (done.result.rows_loaded, done.result.repaired) == (2, 1)
    assert "1 row(s) name no quarantine_id: they load as ordinary new rows" in done.warnings
    assert store.data_origin(engine) == "mixed"


def test_a_row_naming_a_missing_quarantined_row_makes_the_file_real(engine, tmp_path):
    row = _corrected_synthetic_row(engine, tmp_path)
    new = dict(row, force_referral_id="K-NEW", quarantine_id="99999")
    done = repair_file(
        engine, write_rows(tmp_path / "fixed.csv", [row, new]), "referrals", today=TODAY
    )
    assert done.result.rows_loaded == 2
    assert store.data_origin(engine) == "mixed"


def test_a_repair_that_fails_again_supersedes_the_row(engine, tmp_path):
    quarantined_store(engine, tmp_path)
    export_quarantined(engine, tmp_path / "q.csv", "referrals", QuarantineFilters(force="GMP"))
    lines = read_export(tmp_path / "q.csv")
    lines[0]["victims_count"] = "minus one"
    done = repair_file(engine, write_rows(tmp_path / "bad.csv", lines), "referrals", today=TODAY)
    assert (done.result.rows_quarantined, done.superseded) == (1, 1)
    still = list_quarantined(engine, QuarantineFilters(force="GMP"))
    assert still.height == 1 and still["source_file"].item().endswith("bad.csv")
    assert list_quarantined(engine, QuarantineFilters(status="superseded")).height == 1


def test_a_repair_is_recorded_under_the_stewards_file_not_its_cleaned_copy(engine, tmp_path):
    """A cell the export neutralised (``'=SUM(A1)``) makes the repair load a cleaned copy
    from a temporary folder; the submission, the result and any message still name the
    file the steward gave."""
    quarantined_store(engine, tmp_path)
    export_quarantined(engine, tmp_path / "q.csv", "referrals", QuarantineFilters(force="Kent"))
    given = write_rows(tmp_path / "as-exported.csv", read_export(tmp_path / "q.csv"))
    assert "'=SUM(A1)" in given.read_text(encoding="utf-8-sig")
    done = repair_file(engine, given, "referrals", today=TODAY)
    assert done.result.file == str(given)
    assert done.result.rows_quarantined == 1  # =SUM(A1) is still no offence code
    assert all(str(given) in line for line in done.result.first_problems)
    names = store.read_submissions(engine)["file_name"].to_list()
    assert names[-1] == str(given)
    assert not [n for n in names if "beaconport-repair-" in n]


def test_repair_refuses_rows_of_the_other_feed(engine, tmp_path):
    quarantined_store(engine, tmp_path)
    export_quarantined(engine, tmp_path / "q.csv", "referrals")
    with pytest.raises(RepairRefused, match="other feed"):
        repair_file(engine, tmp_path / "q.csv", "events", today=TODAY)


@pytest.mark.sqlite
def test_cli_list_export_repair(sqlite_url, tmp_path):
    from dashboard.cli import app
    from metrics.store import make_engine

    quarantined_store(make_engine(sqlite_url), tmp_path)
    runner = CliRunner()
    db = ["--db", sqlite_url]
    res = runner.invoke(app, [*db, "quarantine", "list", "--json", "--feed", "referrals"])
    assert res.exit_code == 0 and len(res.stdout.splitlines()) == 2
    res = runner.invoke(app, [*db, "quarantine", "export", str(tmp_path / "all.csv")])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "all-referrals.csv").is_file() and (tmp_path / "all-events.csv").is_file()
    res = runner.invoke(
        app, [*db, "quarantine", "repair", str(tmp_path / "all-events.csv"), "--feed", "events"]
    )
    # The event's referral is still quarantined: it is quarantined again, superseding.
    assert res.exit_code == 0, res.output
    assert "failed again" in res.stdout


@pytest.mark.sqlite
@pytest.mark.slow
def test_round_trip_from_a_seed_with_errors_to_the_clean_report(tmp_path):
    """error_rate 0.05 and 0 with the same seed; repair the first; reports must match."""
    from metrics.report import build_report
    from metrics.store import make_engine
    from metrics.synthetic import write_synthetic_dataset

    def seeded(name: str, error_rate: float):
        engine = make_engine(f"sqlite:///{tmp_path / name}.db")
        ds = write_synthetic_dataset(
            tmp_path / name, referrals=300, forces=6, seed=7, error_rate=error_rate
        )
        for f in ds.referral_files:
            ingest_file(engine, f, "referrals", synthetic=True, today=TODAY)
        for f in ds.event_files:
            ingest_file(engine, f, "events", synthetic=True, today=TODAY)
        return engine, ds

    dirty, ds = seeded("dirty", 0.05)
    clean, _ = seeded("clean", 0.0)
    originals = list_quarantined(dirty)
    assert originals.height > 0
    assert set(originals["data_origin"]) == {"SYNTHETIC"}
    record = ds.corrections_file.with_suffix(".json")
    for feed in ("referrals", "events"):
        export_quarantined(dirty, tmp_path / f"q-{feed}.csv", feed)
        subprocess.run(
            [
                sys.executable,
                str(ROOT / "scripts" / "repair_from_corrections.py"),
                str(record),
                str(tmp_path / f"q-{feed}.csv"),
                str(tmp_path / f"fixed-{feed}.csv"),
            ],
            check=True,
            capture_output=True,
        )
        done = repair_file(dirty, tmp_path / f"fixed-{feed}.csv", feed, today=TODAY)
        assert done.result.rows_quarantined == 0
    assert list_quarantined(dirty).height == 0
    after = list_quarantined(dirty, QuarantineFilters(status="all"))
    # Every original is still stored, now closed and linked to its repair.
    assert set(originals["quarantine_id"]) <= set(after["quarantine_id"])
    closed = after.filter(after["quarantine_id"].is_in(originals["quarantine_id"].implode()))
    assert set(closed["status"]) == {"resolved"}
    assert closed["resolved_by_submission_id"].null_count() == 0
    assert store.data_origin(dirty) == "synthetic"
    repaired, wanted = build_report(dirty), build_report(clean)
    assert repaired["quarantined_rows"] == wanted["quarantined_rows"] == 0
    assert repaired == wanted
