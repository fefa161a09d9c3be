"""Rules that look beyond one row: an event's referral, its date, and the order of events.

These are checked in Polars after the row rules, over the events already stored for the
same referrals and the file's own events together (the contract's "order rules").
"""

from __future__ import annotations

import polars as pl

REOPENING_DECISIONS = ("passed_back_to_force", "adopted_by_nca")

#: event -> (event it needs dated the same day or earlier, allowed details of that event or None)
ORDER_RULES: dict[str, tuple[str, tuple[str, ...] | None]] = {
    "assessment_completed": ("assessment_started", None),
    "reinvestigation_started": ("assessment_completed", REOPENING_DECISIONS),
    "suspect_charged": ("reinvestigation_started", None),
    "suspect_convicted": ("suspect_charged", None),
    "suspect_acquitted": ("suspect_charged", None),
}

ORDER_MESSAGES = {
    "assessment_completed": "assessment_completed needs an assessment_started on or before its date",
    "reinvestigation_started": "reinvestigation_started needs an assessment_completed deciding "
    "passed_back_to_force or adopted_by_nca on or before its date",
    "suspect_charged": "suspect_charged needs a reinvestigation_started on or before its date",
    "suspect_convicted": "suspect_convicted needs a suspect_charged on or before its date",
    "suspect_acquitted": "suspect_acquitted needs a suspect_charged on or before its date",
}


def order_breaks(
    candidates: pl.DataFrame, stored: pl.DataFrame, invalid: pl.DataFrame | None = None
) -> pl.DataFrame:
    """The candidate events (``pos``) that break an order rule, found to a fixed point.

    ``candidates`` has ``pos``, ``referral_id``, ``event``, ``event_date``, ``detail``;
    ``stored`` the same columns but ``pos``. An event that breaks a rule does not count
    as the prerequisite of another, so a chain is judged as a whole. ``invalid`` (same
    columns as ``candidates``) are rows already quarantined for another reason: they
    are judged too, so that they carry every reason, but never count as a prerequisite.
    """
    failed: set[int] = set()
    base = stored.select("referral_id", "event", "event_date", "detail")
    while True:
        alive = candidates.filter(~pl.col("pos").is_in(sorted(failed)))
        pool = pl.concat([base, alive.select("referral_id", "event", "event_date", "detail")])
        new_failed = _breaking(alive, pool)
        if new_failed <= failed:
            break
        failed |= new_failed
    rows = candidates.filter(pl.col("pos").is_in(sorted(failed)))
    if invalid is not None and invalid.height:
        invalid_failed = _breaking(invalid, pool)
        rows = pl.concat(
            [rows, invalid.filter(pl.col("pos").is_in(sorted(invalid_failed)))], how="diagonal"
        )
    return rows.select(
        "pos",
        pl.lit("out_of_order").alias("rule"),
        pl.lit("event").alias("column"),
        pl.col("event")
        .replace_strict(ORDER_MESSAGES, default="event out of order")
        .alias("message"),
    )


def _breaking(subjects: pl.DataFrame, pool: pl.DataFrame) -> set[int]:
    """``pos`` of the ``subjects`` whose prerequisite ``pool`` lacks (on or before)."""
    found: set[int] = set()
    for event, (needed, details) in ORDER_RULES.items():
        subject = subjects.filter(pl.col("event") == event)
        if subject.height == 0:
            continue
        pre = pool.filter(pl.col("event") == needed)
        if details is not None:
            pre = pre.filter(pl.col("detail").is_in(list(details)))
        earliest = pre.group_by("referral_id").agg(pl.col("event_date").min().alias("first"))
        judged = subject.join(earliest, on="referral_id", how="left")
        bad = judged.filter(pl.col("first").is_null() | (pl.col("first") > pl.col("event_date")))
        found.update(bad["pos"].to_list())
    return found
