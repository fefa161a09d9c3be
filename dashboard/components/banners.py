"""Banners shown at the top of every page: synthetic data and disclosure control."""

from __future__ import annotations

import streamlit as st

from dashboard.auth import NOT_DISCLOSURE_CONTROLLED
from dashboard.session import PageContext

SYNTHETIC_BANNER = (
    "**SYNTHETIC DATA.** Every figure on this page is made up, for testing and "
    "demonstration. It describes no real child, person, force or case."
)
MIXED_BANNER = (
    "**SYNTHETIC DATA mixed with real returns.** This store holds synthetic files as well "
    "as real ones: no figure here can be used or quoted."
)
DISCLOSURE_ON = (
    "Disclosure control is **on**: counts from 1 to 4 are shown as <5, and figures from "
    "which they could be worked out are withheld."
)
#: What a person sees when a page fails (the traceback goes to the server log only).
#: Tests look for :data:`PAGE_FAILED` and :data:`STORE_FAILED` on every page.
PAGE_FAILED = "Sorry, this page could not be drawn."
PAGE_FAILED_MESSAGE = (
    PAGE_FAILED + " The error has been logged for the data team (reference {ref}). "
    "Try changing the filters, or come back later."
)
STORE_FAILED = "The dashboard cannot open its database"
STORE_FAILED_MESSAGE = (
    STORE_FAILED + " (reference {ref}). Ask the data team to check the server log."
)
DISCLOSURE_OFF = (
    "Disclosure control is **off**: you are seeing unsuppressed figures, including counts "
    "from 1 to 4. Do not share this view or its exports outside the review's data team."
)


NOT_CONTROLLED_PAGE = (
    "This page is **not disclosure-controlled**, whatever the switch in the sidebar "
    "says: its tables count rows and files, and show counts from 1 to 4. Its downloads "
    "are marked UNSUPPRESSED. Do not share them outside the review's data team."
)


def synthetic_banner(origin: str) -> None:
    """A banner on every page while any stored data are synthetic."""
    if origin == "synthetic":
        st.warning(SYNTHETIC_BANNER, icon=":material/science:")
    elif origin == "mixed":
        st.error(MIXED_BANNER, icon=":material/science:")


def disclosure_banner(context: PageContext) -> None:
    """Says whether the figures are disclosure-controlled."""
    if context.disclosure_on:
        st.caption(f":material/shield: {DISCLOSURE_ON}")
    else:
        st.error(DISCLOSURE_OFF, icon=":material/visibility:")


def page_banners(context: PageContext, page: str = "") -> None:
    """The synthetic-data banner, then what disclosure control does on ``page``."""
    synthetic_banner(context.origin)
    if page in NOT_DISCLOSURE_CONTROLLED:
        st.info(NOT_CONTROLLED_PAGE, icon=":material/visibility:")
    else:
        disclosure_banner(context)
