"""The Data quality page's cached reads, shared by every steward's session.

Cached per store version (``metrics.store.store_version``, which changes whenever a
file is loaded), like the metrics in ``dashboard.data``. The scorecards and the open
quarantine take most of a second to read on a large store, so the frame starts reading
them in the background (:func:`prewarm_quality`) as soon as a session whose role may
open the page is drawn: by the time a steward opens Data quality they are usually in
memory, and a page asking sooner waits for the same read rather than starting another
(Streamlit's cache computes each value once). Sessions whose role may not open the page
never start it.
"""

from __future__ import annotations

import logging
import threading

import polars as pl
import streamlit as st

from dashboard.session import get_engine
from data_checks.quality import QualityInputs, quality_scores_of
from data_checks.quality_config import load_quality_config
from data_checks.quarantine import QuarantineFilters, list_quarantined, reason_counts_of
from metrics.store import read_submissions

log = logging.getLogger("beaconport.dashboard")

#: The groupings the page shows.
SCORE_GROUPINGS = ("force", "month", "national")


@st.cache_data(show_spinner="Scoring data quality…", max_entries=4)
def scores(url: str, version: int) -> dict[str, pl.DataFrame]:
    """``quality_scores`` by force, month and nationally, from one read of the store."""
    inputs = QualityInputs(get_engine(url), load_quality_config())
    return {by: quality_scores_of(inputs, by) for by in SCORE_GROUPINGS}


@st.cache_data(show_spinner=False, max_entries=64)
def results(url: str, run_id: int, by_force: bool) -> pl.DataFrame:
    """A stored run's results never change: cached per run."""
    from data_checks.quality_checks import check_results

    return check_results(get_engine(url), run_id, by_force=by_force)


@st.cache_data(show_spinner=False, max_entries=64)
def quarantined(
    url: str, version: int, force: str | None, reason: str | None, file: str | None
) -> pl.DataFrame:
    """``list_quarantined``: the open rows matching the page's filters."""
    return list_quarantined(get_engine(url), QuarantineFilters(force, reason, file))


@st.cache_data(show_spinner=False, max_entries=8)
def reason_counts(url: str, version: int) -> pl.DataFrame:
    """``quarantine_reason_counts``, from the open rows already listed (one read)."""
    return reason_counts_of(quarantined(url, version, None, None, None))


@st.cache_data(show_spinner=False, max_entries=8)
def submissions(url: str, version: int) -> pl.DataFrame:
    return read_submissions(get_engine(url))


def clear_caches() -> None:
    """Forget every cached read (after ``beaconport check`` is run from the page)."""
    for fn in (scores, results, quarantined, reason_counts, submissions):
        fn.clear()
    with _lock:
        _started.clear()


_lock = threading.Lock()
#: (url, version) -> the background read started for it (kept so tests can wait for it).
_started: dict[tuple[str, int], threading.Thread] = {}


def prewarm_quality(url: str, version: int) -> threading.Thread | None:
    """Start reading the scorecards and the open quarantine in the background, once per
    store version; the thread started, or None when one was already started."""
    key = (url, version)
    with _lock:
        if key in _started:
            return None

        def read() -> None:
            try:
                scores(url, version)
                reason_counts(url, version)  # lists the open quarantine on the way
            except Exception:  # the page will read (and report) it again
                log.exception("pre-reading the data-quality figures failed")
                with _lock:
                    _started.pop(key, None)

        thread = threading.Thread(target=read, name="beaconport-prewarm-quality", daemon=True)
        _started[key] = thread
    thread.start()
    return thread
