"""The dashboard's pages: their files, titles, icons and URL paths, and the navigation
a role sees (only the pages ``dashboard.auth.PAGE_ROLES`` lets it open)."""

from __future__ import annotations

from pathlib import Path

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


def navigation_pages(role: str) -> list[st.Page]:
    """The pages ``role`` may open; Progress is the default."""
    return [
        st.Page(
            str(PAGES_DIR / PAGES[path][0]),
            title=PAGES[path][1],
            icon=PAGES[path][2],
            url_path=path or None,
            default=path == "",
        )
        for path in permitted_pages(role)
    ]
