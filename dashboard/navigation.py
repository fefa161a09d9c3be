"""The dashboard's pages: their files, titles, icons and URL paths, and the navigation
a role sees (only the pages ``dashboard.auth.PAGE_ROLES`` lets it open)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import streamlit as st

from dashboard.auth import permitted_pages

#: Not "pages/": Streamlit would discover that folder itself and bypass this router.
PAGES_DIR = Path(__file__).resolve().parent / "views"
#: url_path -> (file, title, icon), in navigation order.
PAGES: dict[str, tuple[str, str, str]] = {
    "": ("progress.py", "Progress", ":material/timeline:"),
    "referrals": ("referrals.py", "Referral volumes", ":material/map:"),
    "offences": ("offences.py", "Offence types", ":material/gavel:"),
    "outcomes": ("outcomes.py", "Outcomes and timeliness", ":material/hourglass_top:"),
    "learning": ("learning.py", "Learning themes", ":material/school:"),
    "data-quality": ("data_quality.py", "Data quality", ":material/fact_check:"),
    "about": ("about.py", "Method and caveats", ":material/info:"),
}


def navigation_pages(role: str | None) -> list[st.Page]:
    """Every page, those ``role`` may not open hidden from its navigation; Progress is
    the default.

    A hidden page is still routed, so a shared link to it reaches the page itself,
    whose server-side check (``dashboard.session.require_role``) refuses it and says
    why, before anything is read; left out, Streamlit would say "Page not found" and
    show Progress instead."""
    return [
        st.Page(
            str(PAGES_DIR / PAGES[path][0]),
            title=PAGES[path][1],
            icon=PAGES[path][2],
            url_path=path or None,
            default=path == "",
            visibility=visibility,
        )
        for path, visibility in page_visibility(role)
    ]


def page_visibility(role: str | None) -> list[tuple[str, Literal["visible", "hidden"]]]:
    """Each page's URL path, in navigation order, and whether ``role``'s navigation
    lists it."""
    allowed = set(permitted_pages(role))
    return [(path, "visible" if path in allowed else "hidden") for path in PAGES]
