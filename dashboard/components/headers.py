"""Plain-English column headers for the tables beside the charts and their downloads.

The metrics functions name their columns for programs (``nfa_upheld``,
``percent_of_referrals``); a reader of the dashboard, or of the CSV or Excel file they
download, gets the words the charts use. The data-quality page keeps the contract's
names, because stewards match them against the files and ``beaconport quarantine``.
"""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

from metrics.reference import DECISION_LABELS

#: The header a reader sees for each column name the metrics functions use.
HEADERS: dict[str, str] = {
    **DECISION_LABELS,
    "age_band": "Waiting for",
    "assessed": "Assessed referrals",
    "assessed_referrals_with_theme": "Assessed referrals with theme",
    "awaiting_decision": "Awaiting decision",
    "backlog": "Backlog at week end",
    "code": "Home Office code",
    "covers": "Covered",
    "crime_year": "Year crime recorded",
    "decision": "Decision",
    "decisions": "Decisions",
    "force": "Force",
    "label": "Description",
    "median_days": "Median, days",
    "month": "Month",
    "national_per_100k": "National rate per 100,000 people",
    "offence_group": "Offence group",
    "original_outcome": "Home Office outcome type",
    "outcome_group": "Outcome group",
    "p90_days": "90th percentile, days",
    "per_100k": "Per 100,000 people",
    "percent_of_assessed": "% of assessed referrals",
    "percent_of_referrals": "% of referrals",
    "period_start": "Period starting",
    "population": "Population",
    "position": "Against the national rate",
    "rape_referrals": "Rape referrals",
    "received": "Received",
    "referrals": "Referrals",
    "referrals_with_theme": "Referrals with theme",
    "region": "Region",
    "running_total": "Running total",
    "stage": "Stage",
    "theme": "Theme",
    "total": "Total",
    "week_start": "Week starting",
    "with_theme": "Found with",
}


def plain_headers(table: pl.DataFrame, overrides: Mapping[str, str] | None = None) -> pl.DataFrame:
    """``table`` with each known column renamed to its plain header (``overrides``
    first); columns already named for readers (a chart's series labels) are kept."""
    headers = HEADERS | dict(overrides or {})
    return table.rename({c: headers[c] for c in table.columns if c in headers})
