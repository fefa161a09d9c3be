"""What every page needs to know about the person and the view: who is signed in, with
which role, which filters, whether disclosure control is on, and which store.

Pages call :func:`require_role` first: it refuses (``st.error`` then ``st.stop``) on
the server before the page computes anything, whatever the navigation showed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import streamlit as st
from sqlalchemy import Engine

from dashboard.auth import NOT_DISCLOSURE_CONTROLLED, may_switch_off_disclosure, may_view
from metrics.filters import Filters, InvalidFilter
from metrics.store import data_origin, make_engine, resolve_db_url, store_version

DEMO_ENV = "BEACONPORT_DEMO"

# Session-state keys (set only by the server: sign-in, the demo role switcher).
USER_KEY = "bp_user"
ROLE_KEY = "bp_role"
CONTEXT_KEY = "bp_context"
DISCLOSURE_OFF_KEY = "bp_disclosure_off"
SIGNED_IN_AT_KEY = "bp_signed_in_at"


@dataclass(frozen=True)
class PageContext:
    """The view a page draws: the store, the person and the filters."""

    engine: Engine
    db_url: str
    username: str
    role: str
    demo: bool
    origin: str
    version: int
    filters: Filters
    disclosure_on: bool

    @property
    def synthetic(self) -> bool:
        """True when any stored file is synthetic (every page and export says so)."""
        return self.origin in ("synthetic", "mixed")


def demo_mode() -> bool:
    """Whether the dashboard was started with ``beaconport dashboard --demo``."""
    return os.environ.get(DEMO_ENV) == "1"


def db_url() -> str:
    return resolve_db_url(None)


@st.cache_resource(show_spinner=False)
def get_engine(url: str) -> Engine:
    """One engine per store URL for the whole server process."""
    return make_engine(url)


@st.cache_data(show_spinner=False, max_entries=8)
def cached_origin(url: str, version: int) -> str:
    """``data_origin`` of the store, refreshed when new data are loaded."""
    return data_origin(get_engine(url))


def signed_in_role() -> str | None:
    return st.session_state.get(ROLE_KEY)


def disclosure_on(role: str | None) -> bool:
    """Disclosure control is on unless a steward or administrator switched it off."""
    return not (may_switch_off_disclosure(role) and st.session_state.get(DISCLOSURE_OFF_KEY))


def control_on_page(role: str | None, page: str | None) -> bool:
    """Whether ``page``'s figures are disclosure-controlled for ``role``."""
    return disclosure_on(role) and page not in NOT_DISCLOSURE_CONTROLLED


def filters_from_url() -> Filters:
    """The filters in the page's query string (no restriction when they cannot be read).

    Every value of a repeated key is read (``?force=Kent+Police&force=Essex+Police``):
    ``st.query_params.to_dict()`` keeps only the last, so a shared link to two forces
    opened on one."""
    try:
        return Filters.from_query_params({k: st.query_params.get_all(k) for k in st.query_params})
    except InvalidFilter:
        return Filters()


def build_context(filters: Filters | None = None, page: str | None = None) -> PageContext:
    """The context from the session and the store (used by the frame on every run) for
    ``page`` (a URL path; disclosure control is off on ``NOT_DISCLOSURE_CONTROLLED``)."""
    url = db_url()
    engine = get_engine(url)
    version = store_version(engine)
    role = signed_in_role() or ""
    return PageContext(
        engine=engine,
        db_url=url,
        username=st.session_state.get(USER_KEY, ""),
        role=role,
        demo=demo_mode(),
        origin=cached_origin(url, version),
        version=version,
        filters=filters if filters is not None else filters_from_url(),
        disclosure_on=control_on_page(role, page),
    )


def require_role(page: str) -> PageContext:
    """Refuse, before anything is computed, anyone whose role may not open ``page``."""
    role = signed_in_role()
    if not may_view(role, page):
        st.error(
            "You do not have access to this page. Sign in with an account whose role "
            "allows it, or ask an administrator."
        )
        st.stop()
    context = st.session_state.get(CONTEXT_KEY)
    if (
        not isinstance(context, PageContext)
        or context.role != role
        or context.disclosure_on != control_on_page(role, page)
    ):
        context = build_context(page=page)
    return context
