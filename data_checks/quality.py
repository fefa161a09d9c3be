"""Data-quality dimensions per force and per month, scored 0-100, with an overall grade.

Computed with Polars from what is stored (referrals, events, their histories and the
quarantine). Every measure is defined in docs/data-quality.md; in short:

- **validity**: the share of received rows that were quarantined (any status: a
  repaired row was still received wrong). Rows received = stored referrals and events
  plus quarantined rows. Score = 100 x (1 - quarantined / received).
- **completeness**: whether ``suspects_ethnicity_recorded_count`` was returned, and
  where it was, the share of suspects with ethnicity recorded. Score = 100 x suspects
  with ethnicity recorded / all suspects (a referral that did not return the count adds
  its suspects to the total only).
- **timeliness**: days from the NFA decision to the referral (reported, not scored:
  the review takes historic cases by design) and days a referral waits for its first
  event. Score = 100 x referrals whose first event came within ``first_event_days`` /
  referrals judged (those with a first event, plus those still waiting longer than
  that; a referral still inside the window is not judged yet).
- **consistency**: events breaking the order rules (stored ones, judged again, plus
  events quarantined as ``out_of_order``) and corrections per decision (earlier
  ``assessment_completed`` events replaced). Score = 100 x (1 - order-break share) x
  (1 - corrections per decision, at most 1).
- **uniqueness**: rows quarantined as ``repeated_key`` and referrals resubmitted with
  changed values (versions replaced). Score = 100 x (1 - (repeated-key rows +
  replaced versions) / referral rows received (stored + replaced + quarantined)).

The overall score is the mean of the dimension scores that can be computed; the grade
(A best to E) comes from :class:`data_checks.quality_config.QualityConfig`.

Months: a referral's month is that of its ``referral_date``; an event's that of its
``event_date``; a quarantined row's that of the date it carries (parsed as the gate
would), else the month its file was received.
"""

from __future__ import annotations

from datetime import date

import polars as pl
from sqlalchemy import Connection, Engine, select

from data_checks import cross_feed
from data_checks.parse import parse_date
from data_checks.quality_config import QualityConfig, load_quality_config
from metrics import snapshot, store
from metrics.frames import fetch_frame, text_date
from metrics.store import (
    event_history_t,
    quarantine_t,
    referral_history_t,
    referrals_t,
    submissions_t,
)

DIMENSIONS = ("validity", "completeness", "timeliness", "consistency", "uniqueness")
GROUPINGS = {
    "national": [],
    "force": ["force"],
    "month": ["month"],
    "force_month": ["force", "month"],
}


def _month(col: str | pl.Expr) -> pl.Expr:
    expr = pl.col(col) if isinstance(col, str) else col
    return expr.dt.truncate("1mo")


#: The referral columns the measures use (read by ``metrics.frames.fetch_frame``, which
#: is several times faster than reading every stored column row by row).
_REFERRAL_COLUMNS: dict[str, pl.DataType] = {
    "id": pl.Int64(),
    "force": pl.String(),
    "referral_date": pl.Date(),
    "nfa_date": pl.Date(),
    "suspects_count": pl.Int64(),
    "suspects_ethnicity_recorded_count": pl.Int64(),
}


def _current_events(conn: Connection) -> pl.DataFrame:
    """The current review events (id, referral_id, event, event_date, detail), from the
    store's columnar copy when it can be trusted, else from the rows."""
    copy = snapshot.read_tables(conn)
    events = copy.events if copy is not None else store.read_events(conn)
    return events.select(list(snapshot.EVENT_COLUMNS))


class QualityInputs:
    """The stored rows the measures need, one frame per kind, keyed by force and month."""

    def __init__(self, engine: Engine, config: QualityConfig) -> None:
        columns = [
            text_date(referrals_t.c[name]) if dtype == pl.Date() else referrals_t.c[name]
            for name, dtype in _REFERRAL_COLUMNS.items()
        ]
        refs = fetch_frame(engine, select(*columns).order_by(referrals_t.c.id), _REFERRAL_COLUMNS)
        with engine.connect() as conn:
            events = _current_events(conn)
            history = store.read_frame(
                conn,
                select(referral_history_t.c.referral_id),
                {"referral_id": pl.Int64},
            )
            corrections = store.read_frame(
                conn,
                select(
                    event_history_t.c.referral_id,
                    event_history_t.c.event,
                    event_history_t.c.event_date,
                ),
                {"referral_id": pl.Int64, "event": pl.String, "event_date": pl.Date},
            )
            quarantine = store.read_frame(
                conn,
                select(
                    quarantine_t.c.feed,
                    quarantine_t.c.force,
                    store.json_as_text(quarantine_t.c.raw),
                    quarantine_t.c.reason_codes,
                    submissions_t.c.received_at,
                ).join(submissions_t, submissions_t.c.id == quarantine_t.c.submission_id),
                {
                    "feed": pl.String,
                    "force": pl.String,
                    "raw": pl.String,
                    "reason_codes": pl.String,
                    "received_at": pl.Datetime("us"),
                },
            )
        dates = [d for d in (refs["referral_date"].max(), events["event_date"].max()) if d]
        self.as_at: date | None = max(dates) if dates else None  # type: ignore[assignment]
        self.config = config
        self.referrals = self._referral_rows(refs, events, history)
        self.events = self._event_rows(refs, events)
        self.corrections = (
            corrections.filter(pl.col("event") == "assessment_completed")
            .join(
                refs.select(pl.col("id").alias("referral_id"), "force"),
                on="referral_id",
                how="left",
            )
            .select("force", _month("event_date").alias("month"))
        )
        self.quarantine = self._quarantine_rows(quarantine)

    def _referral_rows(
        self, refs: pl.DataFrame, events: pl.DataFrame, history: pl.DataFrame
    ) -> pl.DataFrame:
        first = events.group_by("referral_id").agg(pl.col("event_date").min().alias("first_event"))
        replaced = history.group_by("referral_id").agg(pl.len().alias("replaced_versions"))
        window = self.config.first_event_days
        wait = (pl.col("first_event") - pl.col("referral_date")).dt.total_days()
        waiting = (
            (pl.lit(self.as_at, dtype=pl.Date) - pl.col("referral_date")).dt.total_days()
            if self.as_at
            else pl.lit(None, dtype=pl.Int64)
        )
        return (
            refs.join(first, left_on="id", right_on="referral_id", how="left")
            .join(replaced, left_on="id", right_on="referral_id", how="left")
            .select(
                "force",
                _month("referral_date").alias("month"),
                pl.col("suspects_count").alias("suspects"),
                pl.col("suspects_ethnicity_recorded_count").is_not_null().alias("eth_returned"),
                pl.when(pl.col("suspects_ethnicity_recorded_count").is_not_null())
                .then(pl.col("suspects_count"))
                .otherwise(0)
                .alias("suspects_where_returned"),
                pl.col("suspects_ethnicity_recorded_count").fill_null(0).alias("eth_recorded"),
                (pl.col("referral_date") - pl.col("nfa_date"))
                .dt.total_days()
                .alias("days_nfa_to_referral"),
                wait.alias("days_to_first_event"),
                pl.when(pl.col("first_event").is_not_null())
                .then(wait <= window)
                .when(waiting > window)
                .then(False)
                .otherwise(None)
                .alias("first_event_on_time"),
                pl.col("replaced_versions").fill_null(0),
            )
        )

    def _event_rows(self, refs: pl.DataFrame, events: pl.DataFrame) -> pl.DataFrame:
        breaks = cross_feed.order_breaks(
            events.select(
                pl.col("id").alias("pos"), "referral_id", "event", "event_date", "detail"
            ),
            events.select("referral_id", "event", "event_date", "detail").clear(),
        )
        return events.join(
            refs.select(pl.col("id").alias("referral_id"), "force"), on="referral_id", how="left"
        ).select(
            "force",
            _month("event_date").alias("month"),
            pl.col("id").is_in(breaks["pos"].implode()).alias("order_break"),
            (pl.col("event") == "assessment_completed").alias("decision"),
        )

    @staticmethod
    def _quarantine_rows(q: pl.DataFrame) -> pl.DataFrame:
        def cell(raw: object, name: str) -> str | None:
            for k, v in (raw or {}).items():  # type: ignore[union-attr]
                if str(k).strip().lower() == name and v is not None:
                    return str(v).strip() or None
            return None

        raws = store.decode_json(q["raw"].to_list())
        feeds = q["feed"].to_list()
        carried = [
            cell(r, "referral_date" if f == "referrals" else "event_date")
            for r, f in zip(raws, feeds, strict=True)
        ]
        codes = pl.col("reason_codes").fill_null("").str.split(";")
        return q.select(
            "force",
            "feed",
            pl.coalesce(
                _month(parse_date(pl.Series("d", carried, dtype=pl.String))),
                _month(pl.col("received_at").dt.date()),
            ).alias("month"),
            codes.list.contains("repeated_key").alias("repeated_key"),
            codes.list.contains("out_of_order").alias("out_of_order"),
        )


def _measures(inputs: QualityInputs, keys: list[str]) -> pl.DataFrame:
    by = keys or [pl.lit(1).alias("_all")]
    r = inputs.referrals.group_by(by).agg(
        pl.len().alias("referrals"),
        pl.col("eth_returned").sum().alias("ethnicity_returned"),
        pl.col("suspects").sum().alias("suspects"),
        pl.col("suspects_where_returned").sum().alias("suspects_where_returned"),
        pl.col("eth_recorded").sum().alias("suspects_ethnicity_recorded"),
        pl.col("days_nfa_to_referral").median().alias("median_days_nfa_to_referral"),
        pl.col("days_to_first_event").median().alias("median_days_to_first_event"),
        pl.col("first_event_on_time").sum().alias("first_event_on_time"),
        pl.col("first_event_on_time").is_not_null().sum().alias("first_event_judged"),
        pl.col("replaced_versions").sum().alias("replaced_versions"),
    )
    e = inputs.events.group_by(by).agg(
        pl.len().alias("events"),
        pl.col("order_break").sum().alias("events_out_of_order"),
        pl.col("decision").sum().alias("decisions"),
    )
    c = inputs.corrections.group_by(by).agg(pl.len().alias("decision_corrections"))
    q = inputs.quarantine.group_by(by).agg(
        pl.len().alias("rows_quarantined"),
        (pl.col("feed") == "referrals").sum().alias("referral_rows_quarantined"),
        pl.col("repeated_key").sum().alias("repeated_key_rows"),
        (pl.col("out_of_order") & (pl.col("feed") == "events"))
        .sum()
        .alias("quarantined_out_of_order"),
    )
    join_on = keys or ["_all"]
    frame = r
    for other in (e, c, q):
        frame = frame.join(other, on=join_on, how="full", coalesce=True, nulls_equal=True)
    counts = [
        "referrals",
        "ethnicity_returned",
        "suspects",
        "suspects_where_returned",
        "suspects_ethnicity_recorded",
        "first_event_on_time",
        "first_event_judged",
        "replaced_versions",
        "events",
        "events_out_of_order",
        "decisions",
        "decision_corrections",
        "rows_quarantined",
        "referral_rows_quarantined",
        "repeated_key_rows",
        "quarantined_out_of_order",
    ]
    frame = frame.with_columns([pl.col(x).fill_null(0).cast(pl.Int64) for x in counts])
    return frame.drop("_all") if not keys else frame


def _ratio(num: pl.Expr, den: pl.Expr) -> pl.Expr:
    return pl.when(den > 0).then(num / den).otherwise(None)


def _scores(frame: pl.DataFrame, config: QualityConfig) -> pl.DataFrame:
    received = pl.col("referrals") + pl.col("events") + pl.col("rows_quarantined")
    judged_events = pl.col("events") + pl.col("quarantined_out_of_order")
    referral_rows = (
        pl.col("referrals") + pl.col("replaced_versions") + pl.col("referral_rows_quarantined")
    )
    frame = frame.with_columns(
        (pl.col("referrals") + pl.col("events")).alias("rows_stored"),
        _ratio(pl.col("rows_quarantined"), received).alias("quarantined_share"),
        _ratio(pl.col("ethnicity_returned"), pl.col("referrals")).alias("ethnicity_returned_share"),
        _ratio(pl.col("suspects_ethnicity_recorded"), pl.col("suspects_where_returned")).alias(
            "ethnicity_recorded_share_where_returned"
        ),
        _ratio(
            pl.col("events_out_of_order") + pl.col("quarantined_out_of_order"), judged_events
        ).alias("order_break_share"),
        _ratio(pl.col("decision_corrections"), pl.col("decisions")).alias(
            "corrections_per_decision"
        ),
        _ratio(pl.col("repeated_key_rows") + pl.col("replaced_versions"), referral_rows).alias(
            "repeat_share"
        ),
    )
    frame = frame.with_columns(
        (100 * (1 - pl.col("quarantined_share"))).alias("validity_score"),
        (100 * _ratio(pl.col("suspects_ethnicity_recorded"), pl.col("suspects"))).alias(
            "completeness_score"
        ),
        (100 * _ratio(pl.col("first_event_on_time"), pl.col("first_event_judged"))).alias(
            "timeliness_score"
        ),
        pl.when(judged_events + pl.col("decisions") > 0)
        .then(
            100
            * (1 - pl.col("order_break_share").fill_null(0))
            * (1 - pl.min_horizontal(pl.col("corrections_per_decision").fill_null(0), pl.lit(1.0)))
        )
        .otherwise(None)
        .alias("consistency_score"),
        (100 * (1 - pl.col("repeat_share"))).alias("uniqueness_score"),
    )
    scores = [f"{d}_score" for d in DIMENSIONS]
    frame = frame.with_columns([pl.col(s).cast(pl.Float64).round(1) for s in scores]).with_columns(
        pl.mean_horizontal(scores).round(1).alias("overall_score")
    )
    grades = [config.grade(s) for s in frame["overall_score"].to_list()]
    return frame.with_columns(pl.Series("grade", grades, dtype=pl.String))


def quality_scores(
    engine: Engine, *, by: str = "force", config: QualityConfig | None = None
) -> pl.DataFrame:
    """Quality measures, dimension scores (0-100), overall score and grade.

    ``by`` is ``force`` (one row per force), ``month`` (per month of the row's own
    date), ``force_month`` or ``national`` (one row). Rows are sorted by their keys; a
    null force collects quarantined rows that named no known force. See the module
    docstring (and docs/data-quality.md) for each measure's counting rule.
    """
    if by not in GROUPINGS:
        raise ValueError(f"unknown grouping {by!r}; expected one of {sorted(GROUPINGS)}")
    config = config or load_quality_config()
    inputs = QualityInputs(engine, config)
    return quality_scores_of(inputs, by)


def quality_scores_of(inputs: QualityInputs, by: str) -> pl.DataFrame:
    """:func:`quality_scores` over inputs already read (to group one read several ways)."""
    keys = GROUPINGS[by]
    frame = _scores(_measures(inputs, keys), inputs.config)
    return frame.sort(keys, nulls_last=True) if keys else frame
