"""Fixtures shared by every test: stores on SQLite and PostgreSQL, and Chromium.

Every test carries a marker saying what it needs (``unit``, ``sqlite``, ``postgresql``,
``browser``, ``slow``; see pyproject.toml). A test that asks for ``store_url`` or
``engine`` runs twice, once per database, each run carrying its own marker. PostgreSQL
tests need a server at ``BEACONPORT_TEST_PG_URL`` (``make test`` starts a throwaway one);
without it they are skipped with a loud reason, and the run's summary says so again.
See docs/testing.md.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.engine import make_url

PG_URL_ENV = "BEACONPORT_TEST_PG_URL"
CHROMIUM_ENV = "BEACONPORT_CHROMIUM_PATH"
DEFAULT_CHROMIUM = "/usr/bin/chromium"

#: The arguments Debian's Chromium needs to run headless here (docs/testing.md).
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)

NEEDS_MARKERS = ("unit", "sqlite", "postgresql", "browser")
SERVICE_MARKERS = ("postgresql", "browser")

PG_SKIP_REASON = (
    f"NOT RUN ON POSTGRESQL: {PG_URL_ENV} is not set. Run `make test` (it starts a "
    f"throwaway PostgreSQL server) or point {PG_URL_ENV} at a server you may create "
    "databases on."
)


# --- databases ----------------------------------------------------------------------


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """The URL of a fresh, empty SQLite file private to this test."""
    return f"sqlite:///{tmp_path / 'beaconport-test.db'}"


def _admin_conninfo(server_url: str) -> str:
    """A libpq connection string for the server's maintenance database."""
    return make_url(server_url).set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture
def pg_url() -> Iterator[str]:
    """The URL of a fresh, empty PostgreSQL database private to this test.

    Created on the server at ``BEACONPORT_TEST_PG_URL`` and dropped afterwards (with
    FORCE, so connections left open do not keep it). Skipped, loudly, without that
    variable; a failure when it is set but the server cannot be reached.
    """
    server_url = os.environ.get(PG_URL_ENV)
    if not server_url:
        pytest.skip(PG_SKIP_REASON)
    import psycopg
    from psycopg import sql

    admin = _admin_conninfo(server_url)
    name = f"beaconport_test_{uuid.uuid4().hex[:16]}"
    try:
        with psycopg.connect(admin, autocommit=True, connect_timeout=10) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    except psycopg.OperationalError as exc:
        pytest.fail(f"{PG_URL_ENV} is set but the test database could not be created: {exc}")
    try:
        yield (
            make_url(server_url)
            .set(drivername="postgresql+psycopg", database=name)
            .render_as_string(hide_password=False)
        )
    finally:
        with psycopg.connect(admin, autocommit=True, connect_timeout=10) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


@pytest.fixture(
    params=[
        pytest.param("sqlite", marks=pytest.mark.sqlite),
        pytest.param("postgresql", marks=pytest.mark.postgresql),
    ]
)
def store_url(request: pytest.FixtureRequest) -> str:
    """A fresh, empty database URL: the test runs once on SQLite, once on PostgreSQL."""
    fixture = {"sqlite": "sqlite_url", "postgresql": "pg_url"}[request.param]
    return request.getfixturevalue(fixture)


@pytest.fixture
def engine(store_url: str) -> Iterator[Engine]:
    """The store's engine on ``store_url``, migrated to the latest schema."""
    from metrics.store import make_engine

    eng = make_engine(store_url)
    try:
        yield eng
    finally:
        eng.dispose()


# --- browser --------------------------------------------------------------------------


@pytest.fixture(scope="session")
def chromium_path() -> str:
    """Debian's Chromium (``BEACONPORT_CHROMIUM_PATH``, default /usr/bin/chromium)."""
    path = os.environ.get(CHROMIUM_ENV) or DEFAULT_CHROMIUM
    if not os.access(path, os.X_OK):
        pytest.skip(
            f"NOT RUN IN A BROWSER: no Chromium at {path}. As root, `make test` installs "
            f"Debian's chromium package; or set {CHROMIUM_ENV}."
        )
    return path


@pytest.fixture(scope="session")
def chromium_launch_options(chromium_path: str) -> dict[str, Any]:
    """Keyword arguments for Playwright's ``chromium.launch`` with Debian's Chromium."""
    return {"executable_path": chromium_path, "args": list(CHROMIUM_ARGS), "headless": True}


# --- the run's summary ------------------------------------------------------------------

_SKIPPED_HEADLINES = pytest.StashKey[list[str]]()


def _skip_reason(report: pytest.TestReport) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        reason = str(longrepr[2])
    else:
        reason = str(longrepr)
    return reason.removeprefix("Skipped: ")


def _all_reports(terminalreporter: Any) -> list[Any]:
    return [
        report
        for reports in terminalreporter.stats.values()
        for report in reports
        if isinstance(report, pytest.TestReport)
    ]


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    """Say loudly which service-backed tests did not run, and which tests carry no marker."""
    reports = _all_reports(terminalreporter)
    for marker in SERVICE_MARKERS:
        ran = {
            r.nodeid for r in reports if r.when == "call" and not r.skipped and marker in r.keywords
        }
        skipped: dict[str, int] = {}
        for r in terminalreporter.stats.get("skipped", []):
            if marker in getattr(r, "keywords", {}):
                reason = _skip_reason(r)
                skipped[reason] = skipped.get(reason, 0) + 1
        if skipped:
            headline = f"{sum(skipped.values())} {marker.upper()} TESTS SKIPPED"
            config.stash.setdefault(_SKIPPED_HEADLINES, []).append(headline)
            terminalreporter.write_sep("!", headline, red=True, bold=True)
            for reason, count in sorted(skipped.items()):
                terminalreporter.write_line(f"{count:5d} x {reason}", red=True, bold=True)
            terminalreporter.write_sep("!", red=True, bold=True)
        elif ran:
            terminalreporter.write_line(f"{marker}: {len(ran)} tests ran, none skipped")

    unmarked = sorted(
        {
            r.nodeid
            for r in reports
            if r.when in ("setup", "call") and not any(m in r.keywords for m in NEEDS_MARKERS)
        }
    )
    if unmarked:
        terminalreporter.write_sep(
            "-", f"{len(unmarked)} tests carry no marker saying what they need", yellow=True
        )
        for nodeid in unmarked:
            terminalreporter.write_line(f"  {nodeid}  (add unit, sqlite, postgresql or browser)")


def pytest_unconfigure(config: pytest.Config) -> None:
    """Repeat the skipped-services headline as the very last line, where it is seen."""
    headlines = config.stash.get(_SKIPPED_HEADLINES, [])
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if headlines and reporter is not None:
        reporter.write_line(f"!!! {'; '.join(headlines)} (reasons above) !!!", red=True, bold=True)
