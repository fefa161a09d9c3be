"""The Beaconport dashboard: the router and the frame around every page.

Run by ``beaconport dashboard`` (``streamlit run dashboard/app.py``). Each run: page
settings, the sign-in gate (or the demo role switcher), the navigation built from
the pages the role may open, the banners (synthetic data, disclosure control), the
shared sidebar filters, then the chosen page. A failure inside a page is logged with
its traceback and shown to the person as one plain sentence.
"""

from __future__ import annotations

import logging
import os
import sys
import time
import uuid
from pathlib import Path

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
_ROOT = str(Path(__file__).resolve().parent.parent)
if _ROOT not in sys.path:  # started as a script by `streamlit run`
    sys.path.insert(0, _ROOT)

# pandas is imported whole here, by the frame, before any page runs or the store's
# read-ahead thread starts. Plotly looks pandas up in ``sys.modules`` without importing
# it, so while another thread is halfway through a first ``import pandas`` a chart
# could see a half-initialised module ("partially initialized module 'pandas' has no
# attribute 'Series'"; seen in the browser test on a fresh server).
import pandas  # noqa: E402, F401
import streamlit as st  # noqa: E402

from dashboard import session  # noqa: E402
from dashboard.auth import (  # noqa: E402
    ROLES,
    SESSION_LIFETIME,
    SignInLocked,
    current_role,
    may_switch_off_disclosure,
    may_view,
    record_sign_out,
    verify_password,
)
from dashboard.components.banners import (  # noqa: E402
    PAGE_FAILED_MESSAGE,
    STORE_FAILED_MESSAGE,
    page_banners,
    synthetic_banner,
)
from dashboard.components.filters import sidebar_filters  # noqa: E402
from dashboard.data import prewarm_store  # noqa: E402
from dashboard.navigation import navigation_pages  # noqa: E402
from dashboard.quality_data import prewarm_quality  # noqa: E402

log = logging.getLogger("beaconport.dashboard")

ROLE_LABELS = {
    "oversight": "Oversight viewer",
    "programme": "Programme lead",
    "steward": "Data steward",
    "admin": "Administrator",
}


def sign_in_gate(notice: str | None = None) -> None:
    """The sign-in form; stops the run until someone signs in.

    The pages are routed first, every one hidden, so that a shared link's page
    (``/referrals?force=Kent+Police``) is the page shown after signing in; unrouted,
    Streamlit fell back to Progress. No page runs until then."""
    st.navigation(navigation_pages(None), position="hidden")
    st.title("Beaconport")
    st.write(
        "Oversight analytics for the national review of group-based child sexual "
        "exploitation cases closed with no further action."
    )
    if notice:
        st.info(notice)
    with st.form("sign-in", enter_to_submit=True):
        username = st.text_input("User name", autocomplete="username")
        password = st.text_input("Password", type="password", autocomplete="current-password")
        submitted = st.form_submit_button("Sign in", type="primary")
    if submitted:
        engine = session.get_engine(session.db_url())
        try:
            user = verify_password(engine, username.strip(), password)
        except SignInLocked as locked:
            st.error(
                "Too many refused sign-ins with this user name. Try again after "
                f"{locked.until:%H:%M} UTC."
            )
            st.stop()
        if user is None:
            st.error("That user name and password do not match an active account.")
        else:
            st.session_state[session.USER_KEY] = user.username
            st.session_state[session.ROLE_KEY] = user.role
            st.session_state[session.SIGNED_IN_AT_KEY] = time.time()
            st.rerun()
    st.stop()


def demo_gate(origin: str) -> None:
    """Demo mode: no sign-in, a role switcher; refused unless the store is synthetic."""
    if origin != "synthetic":
        st.error(
            "Demo mode is only allowed while the store holds synthetic data only, and "
            f"this store holds {origin} data. Restart the dashboard without --demo."
        )
        st.stop()
    role = st.sidebar.selectbox(
        "Demo: view as",
        list(ROLES),
        format_func=ROLE_LABELS.get,
        key="demo_role",
        help="Demo mode skips sign-in so you can see what each role sees.",
    )
    st.session_state[session.USER_KEY] = "demo"
    st.session_state[session.ROLE_KEY] = role


def sign_out() -> None:
    user = st.session_state.get(session.USER_KEY)
    if user:
        try:
            record_sign_out(session.get_engine(session.db_url()), user)
        except Exception:  # the sign-out must work even if the audit write fails
            log.exception("could not record sign-out of %s", user)
    for key in (
        session.USER_KEY,
        session.ROLE_KEY,
        session.CONTEXT_KEY,
        session.SIGNED_IN_AT_KEY,
        session.DISCLOSURE_OFF_KEY,
    ):
        st.session_state.pop(key, None)


def recheck_account(engine) -> str | None:
    """Sign the session out, and say why, when its account was disabled or its time is up;
    follow a change of role. Runs on every page view, before anything else is drawn."""
    user = st.session_state.get(session.USER_KEY)
    signed_in_at = st.session_state.get(session.SIGNED_IN_AT_KEY, 0.0)
    if time.time() - signed_in_at > SESSION_LIFETIME.total_seconds():
        sign_out()
        return "Your session has ended. Please sign in again."
    role = current_role(engine, user)
    if role is None:
        sign_out()
        return "Your account is no longer active. Ask an administrator."
    if role != st.session_state.get(session.ROLE_KEY):
        st.session_state[session.ROLE_KEY] = role
        st.session_state.pop(session.CONTEXT_KEY, None)
        if not may_switch_off_disclosure(role):
            st.session_state.pop(session.DISCLOSURE_OFF_KEY, None)
    return None


def account_box(role: str, demo: bool) -> None:
    with st.sidebar:
        if not demo:
            st.caption(f"Signed in as **{st.session_state.get(session.USER_KEY)}**")
            st.caption(ROLE_LABELS.get(role, role))
            st.button("Sign out", on_click=sign_out, type="tertiary")
        if may_switch_off_disclosure(role):
            st.toggle(
                "Show unsuppressed figures",
                key=session.DISCLOSURE_OFF_KEY,
                help="Data stewards and administrators may switch disclosure control off.",
            )


def run_page(page: st.Page) -> None:
    """Run the page; any failure is logged and shown as a plain message."""
    try:
        page.run()
    except Exception:
        ref = uuid.uuid4().hex[:8]
        log.exception("page %r failed (reference %s)", page.url_path, ref)
        st.error(PAGE_FAILED_MESSAGE.format(ref=ref))


def main() -> None:
    st.set_page_config(
        page_title="Beaconport",
        page_icon=":material/shield:",
        layout="wide",
        initial_sidebar_state="expanded",
        menu_items={"Get help": None, "Report a bug": None, "About": "Beaconport dashboard"},
    )
    try:
        base = session.build_context(filters=None)
    except Exception:
        ref = uuid.uuid4().hex[:8]
        log.exception("cannot open the store (reference %s)", ref)
        st.error(STORE_FAILED_MESSAGE.format(ref=ref))
        st.stop()
    # Read the store into memory while the sign-in form (or the frame) is drawn.
    prewarm_store(base.db_url, base.version)
    if base.demo:
        demo_gate(base.origin)
    elif not st.session_state.get(session.ROLE_KEY):
        sign_in_gate()
    elif notice := recheck_account(base.engine):
        sign_in_gate(notice)
    role = st.session_state[session.ROLE_KEY]
    if may_view(role, "data-quality"):
        # Only for a role that may open the page: its scorecards and quarantine, read
        # while this page is drawn (dashboard.quality_data).
        prewarm_quality(base.db_url, base.version)
    page = st.navigation(navigation_pages(role), position="sidebar")
    account_box(role, base.demo)
    filters = sidebar_filters()
    context = session.build_context(filters=filters, page=page.url_path or "")
    st.session_state[session.CONTEXT_KEY] = context
    if may_view(role, page.url_path or ""):
        page_banners(context, page.url_path or "")
    else:
        synthetic_banner(context.origin)  # the page itself refuses, and says why
    run_page(page)


main()
