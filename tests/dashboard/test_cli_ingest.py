"""``beaconport ingest`` as a user meets it: JSON lines, exit codes, one-line errors."""

from __future__ import annotations

import itertools
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dashboard.cli import app
from tests.data_checks.helpers import EVENT_COLUMNS, event, referral, write_csv

pytestmark = pytest.mark.sqlite
runner = CliRunner()


def run(db_url: str, *args: str):
    return runner.invoke(app, ["--db", db_url, *args], catch_exceptions=False)


def json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def test_ingest_json_lines_and_exit_codes(sqlite_url, tmp_path):
    good = write_csv(
        tmp_path / "good.csv", [referral(), referral(force_referral_id="K-2", victims_count="1")]
    )
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    res = run(sqlite_url, "ingest", "referrals", str(good), str(empty), "--json")
    assert res.exit_code == 2  # one file rejected
    lines = json_lines(res.stdout)
    assert [(x["file"], x["status"]) for x in lines] == [
        (str(good), "loaded"),
        (str(empty), "rejected"),
    ]
    assert lines[0] == {
        "file": str(good),
        "feed": "referrals",
        "status": "loaded",
        "rows_read": 2,
        "rows_loaded": 2,
        "rows_quarantined": 0,
        "rows_ineligible": 1,
        "reason": None,
    }
    assert lines[1]["reason"] == "the file is empty"
    assert res.stderr.strip() == f"beaconport: {empty}: rejected: the file is empty"
    again = run(sqlite_url, "ingest", "referrals", str(good), "--json")
    assert again.exit_code == 0
    assert json_lines(again.stdout)[0]["status"] == "duplicate"


def test_human_output_names_file_row_and_rule(sqlite_url, tmp_path):
    path = write_csv(
        tmp_path / "r.csv", [referral(), referral(force_referral_id="K-2", force="Kent Polce")]
    )
    res = run(sqlite_url, "ingest", "referrals", str(path))
    assert res.exit_code == 0
    assert (
        f"{path}: loaded 1 of 2 rows, 0 ineligible, 1 quarantined (unknown_force 1)" in res.stdout
    )
    assert f"{path}, row 3: force 'Kent Polce': names no force" in res.stdout


def test_events_command(sqlite_url, tmp_path):
    run(sqlite_url, "ingest", "referrals", str(write_csv(tmp_path / "r.csv", [referral()])))
    ev = write_csv(
        tmp_path / "e.csv", [event("K-1", "assessment_started", "2025-08-10")], EVENT_COLUMNS
    )
    res = run(sqlite_url, "ingest", "events", str(ev), "--json")
    assert res.exit_code == 0
    assert json_lines(res.stdout)[0] | {"file": None} == {
        "file": None,
        "feed": "events",
        "status": "loaded",
        "rows_read": 1,
        "rows_loaded": 1,
        "rows_quarantined": 0,
        "rows_ineligible": 0,
        "reason": None,
    }


def test_a_failure_mid_load_is_one_line_and_exit_1(sqlite_url, tmp_path, monkeypatch):
    def boom(*_a, **_k):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr("data_checks.gate._record_validation", boom)
    path = write_csv(tmp_path / "r.csv", [referral()])
    res = run(sqlite_url, "ingest", "referrals", str(path))
    assert res.exit_code == 1
    assert res.stderr.count("\n") == 1
    assert "nothing from this file was stored" in res.stderr
    assert "Traceback" not in res.stderr + res.stdout


def test_missing_file_is_rejected_not_a_traceback(sqlite_url, tmp_path):
    res = run(sqlite_url, "ingest", "referrals", str(tmp_path / "nope.csv"), "--json")
    assert res.exit_code == 2
    assert json_lines(res.stdout)[0]["status"] == "rejected"
    assert "cannot be read" in res.stderr


def test_an_unusable_database_url_is_one_line(tmp_path):
    res = runner.invoke(app, ["--db", "nosuchdb://x", "ingest", "referrals", "f.csv"])
    assert res.exit_code == 2
    assert res.stderr.startswith("beaconport: cannot open database nosuchdb://x")
    assert "Traceback" not in res.stderr


@pytest.mark.parametrize(
    "args", [[], ["ingest"], ["ingest", "referrals"], ["ingest", "events"], ["seed"]]
)
def test_every_command_has_help(args):
    res = runner.invoke(app, [*args, "--help"])
    assert res.exit_code == 0
    assert "Usage" in res.stdout


@pytest.mark.slow
def test_installed_console_script_uses_env_database(tmp_path):
    """The real entry point, as a user runs it: BEACONPORT_DB_URL picks the database."""
    exe = Path(sys.executable).with_name("beaconport")
    db = tmp_path / "env.db"
    env = dict(os.environ, BEACONPORT_DB_URL=f"sqlite:///{db}", GX_ANALYTICS_ENABLED="false")
    path = write_csv(tmp_path / "r.csv", [referral()])
    p = subprocess.run(
        [str(exe), "ingest", "referrals", str(path), "--json"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert p.returncode == 0, p.stderr
    assert json_lines(p.stdout)[0]["rows_loaded"] == 1
    assert db.exists()


def _command_paths(command, path=()):
    """Every command and subcommand of the command line, as argument lists."""
    yield list(path)
    for name, sub in getattr(command, "commands", {}).items():
        yield from _command_paths(sub, (*path, name))


def _description(help_text: str) -> list[list[str]]:
    """The paragraphs of a ``--help`` page's description (between the usage line and
    the first panel), each as the lines printed."""
    lines = help_text.splitlines()
    start = next(i for i, line in enumerate(lines) if "Usage:" in line) + 1
    end = next((i for i, line in enumerate(lines) if line.startswith("╭")), len(lines))
    paragraphs, current = [], []
    for line in (*lines[start:end], ""):
        if line.strip():
            current.append(line.strip())
        elif current:
            paragraphs.append(current)
            current = []
    return paragraphs


@pytest.mark.parametrize("width", [80, 120])
def test_help_paragraphs_fill_the_terminal_width(width):
    """``beaconport check --help`` printed "eligibility" alone on a line: Typer kept the
    docstring's own line breaks and then wrapped at the terminal's width. Every
    description's lines but a paragraph's last are now filled: the next word would
    not have fitted on them."""
    import typer.main

    checked = 0
    for args in _command_paths(typer.main.get_command(app)):
        res = runner.invoke(app, [*args, "--help"], env={"COLUMNS": str(width)})
        for paragraph in _description(res.stdout):
            for line, following in itertools.pairwise(paragraph):
                # one space before the word; a leading and a trailing margin column
                assert len(line) + 1 + len(following.split()[0]) > width - 2, (args, line)
                checked += 1
    assert checked, "no paragraph ran over one line"


def test_help_shows_no_type_beside_a_flag():
    """Typer printed ``<bool>`` beside every flag (which takes no value) and
    ``<list[Path]>`` beside the files; a flag now shows none, the files ``<path>...``."""
    import typer.main

    paths = list(_command_paths(typer.main.get_command(app)))
    assert ["ingest", "referrals"] in paths and ["users", "add"] in paths
    for args in paths:
        res = runner.invoke(app, [*args, "--help"], terminal_width=120)
        assert res.exit_code == 0, (args, res.output)
        assert "<bool>" not in res.stdout and "list[" not in res.stdout, (args, res.stdout)
        help_row = next(line for line in res.stdout.splitlines() if "--help" in line)
        assert re.search(r"--help\s+Show this message", help_row), help_row
    for feed in ("referrals", "events"):
        files = runner.invoke(app, ["ingest", feed, "--help"], terminal_width=120).stdout
        # named FILE, as the contract writes the command (Typer marks a required
        # argument with braces), not after the Python parameter, "{files}..."
        assert re.search(rf"Usage: .*ingest {feed} \[OPTIONS\] \{{FILE\}}\.\.\.", files), files
        assert re.search(r"FILE\s+<path>\.\.\.\s+One or more", files), files
    seed = runner.invoke(app, ["seed", "--help"], terminal_width=120).stdout
    assert re.search(r"--seed\s+<int>\s+Random seed", seed), "other types are Typer's own"


def test_seeding_twice_says_the_files_were_already_loaded(sqlite_url, tmp_path):
    """The same options write the same bytes, so a second seed loads nothing; its last
    line said only "0 referrals loaded from 3 files", which reads as a failure."""
    args = ["seed", "--referrals", "40", "--forces", "3"]
    first = run(sqlite_url, *args, "--out", str(tmp_path / "a"))
    assert first.exit_code == 0, first.output
    assert first.stderr.splitlines()[-1] == (
        "seeded SYNTHETIC data: 40 referrals loaded from 3 files"
    )
    again = run(sqlite_url, *args, "--out", str(tmp_path / "b"))
    assert again.exit_code == 0, again.output
    assert again.stderr.splitlines()[-1] == (
        "seeded SYNTHETIC data: 0 referrals loaded from 3 files "
        "(3 of them already loaded, unchanged)"
    )
