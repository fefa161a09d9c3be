"""Long commands show what they are doing on a terminal, and only there.

Each command runs as a real process in a pseudo-terminal (the standard library's
``pty``), so the display is judged as a person at a terminal would see it: rich draws
it only when standard error is a terminal, and ``--quiet`` turns it off.
"""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

from tests.data_checks.helpers import REFERRAL_COLUMNS, referral, write_csv

pytestmark = [pytest.mark.sqlite, pytest.mark.slow]

BEACONPORT = Path(sys.executable).with_name("beaconport")


def in_terminal(*args: str) -> tuple[int, str]:
    """Run ``beaconport *args`` with a pseudo-terminal for its standard streams."""
    leader, follower = pty.openpty()
    env = {**os.environ, "COLUMNS": "120", "TERM": "xterm"}
    proc = subprocess.Popen(
        [str(BEACONPORT), *args], stdin=follower, stdout=follower, stderr=follower, env=env
    )
    os.close(follower)
    out = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the process closed the terminal
            break
        if not chunk:
            break
        out += chunk
    os.close(leader)
    return proc.wait(timeout=120), out.decode("utf-8", errors="replace")


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    """A store with two referrals, and the file they came from (loaded once)."""
    tmp_path = tmp_path_factory.mktemp("progress")
    db = f"sqlite:///{tmp_path / 'p.db'}"
    rows = [referral(force_referral_id="K-1"), referral(force_referral_id="K-2")]
    path = write_csv(tmp_path / "returns.csv", rows, REFERRAL_COLUMNS)
    code, out = in_terminal("--db", db, "ingest", "referrals", str(path))
    assert code == 0, out
    # The file's name and stage were on the screen while it loaded; then its result.
    assert "returns.csv: reading" in out or "returns.csv: storing" in out
    assert "loaded 2 of 2 rows" in out
    return db, path


def test_check_names_its_stages_on_a_terminal(loaded: tuple[str, Path]) -> None:
    db, _ = loaded
    code, out = in_terminal("--db", db, "check")
    assert code == 0, out
    # Checking the referrals includes importing Great Expectations: seconds, always drawn.
    assert "checking referrals (2 rows)" in out
    assert "checked the store" in out


def test_quiet_shows_no_display(loaded: tuple[str, Path]) -> None:
    db, _ = loaded
    code, out = in_terminal("--db", db, "check", "--quiet")
    assert code == 0, out
    assert "checking referrals" not in out
    assert "checked the store" in out


def test_no_display_when_standard_error_is_not_a_terminal(loaded: tuple[str, Path]) -> None:
    db, _ = loaded
    done = subprocess.run(
        [str(BEACONPORT), "--db", db, "store", "verify"], capture_output=True, text=True
    )
    assert done.returncode == 0
    assert done.stderr == ""
    assert done.stdout == "The columnar copy matches the rows.\n"


def test_ingest_quiet_on_a_terminal_shows_only_the_result(tmp_path: Path) -> None:
    """The same file as the fixture's, into a new store, with ``--quiet``: the result
    line and no stage names (which the fixture saw drawn without it)."""
    rows = [referral(force_referral_id="K-1"), referral(force_referral_id="K-2")]
    path = write_csv(tmp_path / "returns.csv", rows, REFERRAL_COLUMNS)
    db = f"sqlite:///{tmp_path / 'q.db'}"
    code, out = in_terminal("--db", db, "ingest", "referrals", "--quiet", str(path))
    assert code == 0, out
    assert "loaded 2 of 2 rows" in out
    assert "returns.csv: reading" not in out and "returns.csv: storing" not in out
    assert "files" not in out  # the bar's "n/m files"


_PROBE = """
import sys
from dashboard.cli import app
try:
    app(sys.argv[1:])
except SystemExit as exc:
    print(exc.code, "rich" in sys.modules)
"""


@pytest.mark.parametrize(("quiet", "imported"), [(True, False), (False, True)])
def test_ingest_imports_rich_only_when_it_may_show_progress(
    tmp_path: Path, quiet: bool, imported: bool
) -> None:
    """``--quiet`` never draws, so it does not import rich (about 0.02 s of every
    scripted load); without it rich is imported to ask whether a terminal is there.
    Checked on a file large enough for the suite's compiled form, the bulk-load path,
    whose own imports never need rich."""
    rows = [referral(force_referral_id=f"K-{i}") for i in range(3)]
    path = write_csv(tmp_path / "returns.csv", rows, REFERRAL_COLUMNS)
    args = ["--db", f"sqlite:///{tmp_path / 'r.db'}", "ingest", "referrals", "--json"]
    env = {**os.environ, "BEACONPORT_GX_ROW_LIMIT": "0"}
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, *args, *(["--quiet"] if quiet else []), str(path)],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    *json_lines, last = done.stdout.splitlines()
    assert '"rows_loaded": 3' in json_lines[0]
    assert last.split() == ["0", str(imported)]
