"""``beaconport users`` and ``beaconport dashboard`` (the parts that do not start a server)."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dashboard.cli import app
from dashboard.cli_dashboard import STREAMLIT_OPTIONS, dashboard_environment, streamlit_command

pytestmark = pytest.mark.sqlite

REPO = Path(__file__).resolve().parents[2]
PASSWORD = "correct horse battery"


def run(db: str, *args: str, stdin: str | None = None):
    return CliRunner().invoke(app, ["--db", db, *args], input=stdin)


@pytest.fixture
def db(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'users.db'}"


def test_add_list_disable_set_password(db: str) -> None:
    assert (
        run(
            db,
            "users",
            "add",
            "alice",
            "--role",
            "steward",
            "--password-stdin",
            stdin=PASSWORD + "\n",
        ).exit_code
        == 0
    )
    result = run(db, "users", "list", "--json")
    row = json.loads(result.stdout.splitlines()[0])
    assert (row["username"], row["role"], row["active"]) == ("alice", "steward", True)
    assert run(db, "users", "disable", "alice").exit_code == 0
    assert json.loads(run(db, "users", "list", "--json").stdout)["active"] is False
    assert (
        run(
            db,
            "users",
            "set-password",
            "alice",
            "--password-stdin",
            stdin="another long password\n",
        ).exit_code
        == 0
    )


def test_prompt_asks_twice(db: str) -> None:
    result = run(
        db, "users", "add", "bob", "--role", "oversight", stdin=f"{PASSWORD}\n{PASSWORD}\n"
    )
    assert result.exit_code == 0, result.output
    assert "Repeat for confirmation" in result.output


def test_password_is_never_an_argument(db: str) -> None:
    result = run(db, "users", "add", "bob", "--role", "oversight", "--password", PASSWORD)
    assert result.exit_code != 0


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (["users", "add", "bob", "--role", "chief", "--password-stdin"], PASSWORD, "unknown role"),
        (["users", "add", "bob", "--role", "admin", "--password-stdin"], "short\n", "at least 12"),
        (["users", "disable", "nobody"], None, "no user named"),
        (["users", "unlock", "nobody"], None, "no user named"),
    ],
)
def test_errors_are_one_line_with_status_2(
    db: str, args: list[str], stdin: str | None, message: str
) -> None:
    result = run(db, *args, stdin=stdin)
    assert result.exit_code == 2
    assert message in result.stderr
    assert "Traceback" not in result.output


def test_unlock_lifts_a_sign_in_lock_that_list_shows(db: str) -> None:
    from dashboard.auth import MAX_FAILED_SIGN_INS, verify_password
    from metrics.store import make_engine

    run(db, "users", "add", "alice", "--role", "oversight", "--password-stdin", stdin=PASSWORD)
    engine = make_engine(db)
    for _ in range(MAX_FAILED_SIGN_INS):
        verify_password(engine, "alice", "not the password at all")
    locked = json.loads(run(db, "users", "list", "--json").stdout)["locked_until"]
    assert locked is not None
    assert "sign-in locked until" in run(db, "users", "list").stdout

    result = run(db, "users", "unlock", "alice")
    assert (result.exit_code, result.stdout) == (0, "unlocked alice\n")
    assert json.loads(run(db, "users", "list", "--json").stdout)["locked_until"] is None
    assert "locked" not in run(db, "users", "list").stdout
    assert verify_password(engine, "alice", PASSWORD) is not None
    engine.dispose()


def test_demo_refused_unless_store_is_synthetic(db: str) -> None:
    result = run(db, "dashboard", "--demo")
    assert result.exit_code == 2
    assert "--demo needs a store holding only synthetic data" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.unit
def test_streamlit_flags_match_repository_config() -> None:
    config = tomllib.loads((REPO / ".streamlit" / "config.toml").read_text())
    flat = {
        f"{section}.{key}": str(value).lower() if isinstance(value, bool) else str(value)
        for section, options in config.items()
        for key, value in options.items()
    }
    assert flat == STREAMLIT_OPTIONS
    cmd = streamlit_command(8599)
    assert cmd[cmd.index("--server.address") + 1] == "127.0.0.1"
    assert cmd[cmd.index("--server.port") + 1] == "8599"
    assert cmd[cmd.index("--client.showErrorDetails") + 1] == "none"


@pytest.mark.unit
def test_environment_carries_db_and_demo() -> None:
    env = dashboard_environment("sqlite:////tmp/x.db", demo=True)
    assert env["BEACONPORT_DB_URL"] == "sqlite:////tmp/x.db"
    assert env["BEACONPORT_DEMO"] == "1"
    assert "BEACONPORT_DEMO" not in dashboard_environment("sqlite:////tmp/x.db", demo=False)
