"""Fixtures for the dashboard tests: the hand-made store in a SQLite file, and an
AppTest of the dashboard signed in with a role."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from dashboard import quality_data, session
from dashboard.components.banners import PAGE_FAILED, STORE_FAILED
from metrics.store import make_engine
from tests.dashboard.store import insert_dashboard_store

APP = Path(__file__).resolve().parents[2] / "dashboard" / "app.py"
VIEWS = {
    "": "views/progress.py",
    "referrals": "views/referrals.py",
    "offences": "views/offences.py",
    "outcomes": "views/outcomes.py",
    "learning": "views/learning.py",
    "data-quality": "views/data_quality.py",
    "about": "views/about.py",
}


#: Pages whose sections are lazy tabs (only the chosen tab runs): their session key.
TAB_KEYS = {
    "": "progress_tab",
    "referrals": "referrals_tab",
    "offences": "offences_tab",
    "outcomes": "outcomes_tab",
    "learning": "learning_tab",
}


#: Lazy tabs inside a page's first section: (session key, labels).
INNER_TABS = {"referrals": ("referrals_view", ("Bar chart", "Map of the 44 forces"))}


def every_tab(at: AppTest, path: str) -> Iterator[str]:
    """Show each tab of the page in turn (the page as it is for a page without tabs),
    failing on the app's failure message; yields the tab's label."""
    key = TAB_KEYS.get(path)
    if key is None:
        yield ""
        return
    inner_key, inner_labels = INNER_TABS.get(path, ("", ()))
    labels = [t.label for t in at.tabs if t.label not in inner_labels]
    assert labels, f"{path}: no tabs drawn"
    for label in labels:
        at.session_state[key] = label
        at.run()
        assert not page_failures(at), (label, page_failures(at))
        yield label
    if inner_key:
        at.session_state[key] = labels[0]
        for label in inner_labels[1:]:
            at.session_state[inner_key] = label
            at.run()
            assert not page_failures(at), (label, page_failures(at))
            yield f"{labels[0]}: {label}"


def _store(path: Path, synthetic: bool) -> str:
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    insert_dashboard_store(engine, synthetic=synthetic)
    engine.dispose()
    return url


@pytest.fixture(scope="session")
def synthetic_store_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return _store(tmp_path_factory.mktemp("dash") / "synthetic.db", True)


@pytest.fixture(scope="session")
def real_store_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return _store(tmp_path_factory.mktemp("dash") / "real.db", False)


@pytest.fixture(autouse=True)
def _fresh_caches(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Streamlit's caches are process-wide: start every test with empty ones."""
    monkeypatch.delenv(session.DEMO_ENV, raising=False)
    monkeypatch.setenv("GX_ANALYTICS_ENABLED", "false")
    st.cache_data.clear()
    st.cache_resource.clear()
    quality_data.clear_caches()  # and which stores' figures it has started reading ahead
    yield
    st.cache_data.clear()
    st.cache_resource.clear()
    quality_data.clear_caches()


def page_failures(at: AppTest) -> list[str]:
    """The app's own failure messages on the page ("Sorry, this page could not be drawn",
    "cannot open its database") and any Streamlit exception box."""
    found = [str(e.value) for e in at.error if PAGE_FAILED in str(e.value)]
    found += [str(e.value) for e in at.error if STORE_FAILED in str(e.value)]
    found += [f"exception: {e.value}" for e in at.exception]
    return found


def signed_in_user(url: str, role: str) -> str:
    """The name of a real, active account with ``role`` in the store at ``url`` (added
    the first time): the dashboard checks the account on every page view."""
    from sqlalchemy import select

    from dashboard.auth import add_user
    from metrics.store import users_t

    username = f"tester-{role}"
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            known = conn.execute(select(users_t.c.id).where(users_t.c.username == username)).first()
        if known is None:
            add_user(engine, username, role, "a long test password", actor="test")
    finally:
        engine.dispose()
    return username


def sign_in_session(at: AppTest, url: str, role: str) -> None:
    """Put ``at``'s session where a real sign-in as ``role`` would leave it."""
    at.session_state[session.USER_KEY] = signed_in_user(url, role)
    at.session_state[session.ROLE_KEY] = role
    at.session_state[session.SIGNED_IN_AT_KEY] = time.time()


@pytest.fixture
def open_page(
    monkeypatch: pytest.MonkeyPatch, synthetic_store_url: str
) -> Iterator[Callable[..., AppTest]]:
    """``open_page(path, role)``: the dashboard signed in as ``role``, showing ``path``.

    Fails the test when the page shows the app's failure message, on opening and again
    at the end of the test (after any clicks), unless ``expect_failure=True``.
    """
    opened: list[AppTest] = []

    def _open(
        path: str,
        role: str | None,
        *,
        url: str | None = None,
        disclosure_off: bool = False,
        query: dict[str, str | list[str]] | None = None,
        expect_failure: bool = False,
    ) -> AppTest:
        monkeypatch.setenv("BEACONPORT_DB_URL", url or synthetic_store_url)
        at = AppTest.from_file(str(APP), default_timeout=30)
        if role:
            sign_in_session(at, url or synthetic_store_url, role)
        if disclosure_off:
            at.session_state[session.DISCLOSURE_OFF_KEY] = True
        for key, value in (query or {}).items():
            at.query_params[key] = value
        at.run()
        if path:
            assert not page_failures(at), page_failures(at)
            at.switch_page(VIEWS[path])
            at.run()
        if not expect_failure:
            assert not page_failures(at), page_failures(at)
            opened.append(at)
        return at

    yield _open
    for at in opened:
        assert not page_failures(at), page_failures(at)


@pytest.fixture
def held_downloads(monkeypatch: pytest.MonkeyPatch) -> dict[str, Callable[[], bytes]]:
    """What each download button holds, by file name. The bytes are built on click (a
    deferred download), so the test calls the held function to get them."""
    from streamlit.runtime.media_file_manager import MediaFileManager

    held: dict[str, Callable[[], bytes]] = {}
    original = MediaFileManager.add_deferred

    def keep(self, data_callable, mimetype, coordinates, file_name=None, **kwargs):
        held[str(file_name)] = data_callable
        return original(self, data_callable, mimetype, coordinates, file_name, **kwargs)

    monkeypatch.setattr(MediaFileManager, "add_deferred", keep)
    return held
