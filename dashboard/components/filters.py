"""The sidebar filters shared by every page, kept in the URL's query string.

On the first run of a session the widgets start from the URL (so a shared link shows
the same view); after that the widgets are the source and the URL is rewritten to
match whenever they change.
"""

from __future__ import annotations

from datetime import date

import streamlit as st

from dashboard.components.periods import short_date
from dashboard.session import filters_from_url
from metrics import reference
from metrics.filters import ELIGIBILITY_CHOICES, Filters

FORCE_KEY = "filter_force"
REGION_KEY = "filter_region"
FROM_KEY = "filter_from"
TO_KEY = "filter_to"
GROUP_KEY = "filter_offence_group"
ELIGIBILITY_KEY = "filter_eligibility"
_INITIALISED_KEY = "filters_initialised"
FILTER_KEYS = (FORCE_KEY, REGION_KEY, FROM_KEY, TO_KEY, GROUP_KEY, ELIGIBILITY_KEY)

ELIGIBILITY_LABELS = {
    "all": "All referrals",
    "eligible": "Eligible only",
    "ineligible": "Ineligible only",
}


def force_names() -> list[str]:
    return sorted(reference.forces()["name"].to_list())


def region_names() -> list[str]:
    return sorted(set(reference.forces()["region"].to_list()))


def offence_group_names() -> list[str]:
    return list(dict.fromkeys(reference.offence_codes()["group"].to_list()))


def _initialise_from_url() -> None:
    """Copy the URL's filters into the widgets once per session."""
    if st.session_state.get(_INITIALISED_KEY):
        return
    f = filters_from_url()
    forces, regions, groups = set(force_names()), set(region_names()), set(offence_group_names())
    st.session_state[FORCE_KEY] = [x for x in f.forces if x in forces]
    st.session_state[REGION_KEY] = [x for x in f.regions if x in regions]
    st.session_state[FROM_KEY] = f.date_from
    st.session_state[TO_KEY] = f.date_to
    st.session_state[GROUP_KEY] = [x for x in f.offence_groups if x in groups]
    st.session_state[ELIGIBILITY_KEY] = f.eligibility
    st.session_state[_INITIALISED_KEY] = True


def _reset() -> None:
    st.session_state[FORCE_KEY] = []
    st.session_state[REGION_KEY] = []
    st.session_state[FROM_KEY] = None
    st.session_state[TO_KEY] = None
    st.session_state[GROUP_KEY] = []
    st.session_state[ELIGIBILITY_KEY] = "all"


def sidebar_filters(first_day: date | None = None, last_day: date | None = None) -> Filters:
    """Draw the filters in the sidebar and return them; the URL is kept in step."""
    _initialise_from_url()
    with st.sidebar:
        st.subheader("Filters")
        st.multiselect("Force", force_names(), key=FORCE_KEY, placeholder="All forces")
        st.multiselect("Region", region_names(), key=REGION_KEY, placeholder="All regions")
        # One above the other: side by side, the sidebar cut the year off.
        st.date_input(
            "Referred from",
            key=FROM_KEY,
            min_value=date(2000, 1, 1),
            max_value=last_day or date.today(),
            format="DD/MM/YYYY",
            help="First referral date counted (inclusive). Empty: from the start.",
        )
        st.date_input(
            "Referred to",
            key=TO_KEY,
            min_value=date(2000, 1, 1),
            max_value=date(2100, 1, 1),
            format="DD/MM/YYYY",
            help="Last referral date counted (inclusive). Empty: up to the as-at date.",
        )
        start, end = st.session_state.get(FROM_KEY), st.session_state.get(TO_KEY)
        if start and end and start > end:
            st.warning(
                "'Referred from' is after 'Referred to', so no referral can match. "
                "Swap the dates or clear one."
            )
        st.multiselect(
            "Offence group",
            offence_group_names(),
            key=GROUP_KEY,
            placeholder="All offence groups",
            help="Referrals with at least one offence code in any chosen group.",
        )
        st.selectbox(
            "Eligibility",
            list(ELIGIBILITY_CHOICES),
            key=ELIGIBILITY_KEY,
            format_func=ELIGIBILITY_LABELS.get,
        )
        st.button("Clear filters", on_click=_reset, type="tertiary")
    filters = current_filters()
    _write_url(filters)
    return filters


def current_filters() -> Filters:
    """The filters as the widgets hold them."""
    return Filters(
        forces=tuple(st.session_state.get(FORCE_KEY) or ()),
        regions=tuple(st.session_state.get(REGION_KEY) or ()),
        date_from=st.session_state.get(FROM_KEY),
        date_to=st.session_state.get(TO_KEY),
        offence_groups=tuple(st.session_state.get(GROUP_KEY) or ()),
        eligibility=st.session_state.get(ELIGIBILITY_KEY) or "all",
    )


def _write_url(filters: Filters) -> None:
    wanted = filters.to_query_params()
    current = {k: st.query_params.get_all(k) for k in st.query_params}
    normalised = {k: v if isinstance(v, list) else [v] for k, v in wanted.items()}
    if current != normalised:
        st.query_params.from_dict(wanted)


def describe_filters(filters: Filters) -> str:
    """The filters in words, for captions under figures."""
    if filters.is_empty:
        return "All referrals."
    parts = []
    if filters.forces:
        parts.append("forces: " + ", ".join(filters.forces))
    if filters.regions:
        parts.append("regions: " + ", ".join(filters.regions))
    if filters.date_from or filters.date_to:
        start = short_date(filters.date_from) if filters.date_from else "the start"
        end = short_date(filters.date_to) if filters.date_to else "the as-at date"
        parts.append(f"referred from {start} to {end}")
    if filters.offence_groups:
        parts.append("offence groups: " + ", ".join(filters.offence_groups))
    if filters.eligibility != "all":
        parts.append(ELIGIBILITY_LABELS[filters.eligibility].lower())
    return "Filtered to " + "; ".join(parts) + "."
