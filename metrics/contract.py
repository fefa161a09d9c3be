"""The data contract's columns (version 1), in one place for the gate and the synthetic data."""

from __future__ import annotations

REFERRAL_REQUIRED = [
    "force_referral_id",
    "force",
    "referral_date",
    "crime_recorded_date",
    "nfa_date",
    "original_outcome",
    "offence_codes",
    "suspects_count",
    "suspects_alive_count",
    "victims_count",
]
REFERRAL_OPTIONAL = ["suspects_ethnicity_recorded_count"]
REFERRAL_DATES = ["referral_date", "crime_recorded_date", "nfa_date"]
REFERRAL_COUNTS = [
    "suspects_count",
    "suspects_alive_count",
    "victims_count",
    "suspects_ethnicity_recorded_count",
]

EVENT_REQUIRED = ["force", "force_referral_id", "event", "event_date"]
EVENT_OPTIONAL = ["detail"]
