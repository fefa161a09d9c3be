"""``beaconport check``: Great Expectations suites run over what is STORED.

The gate judges each file as it arrives; this module judges the store as it is now, so
rows changed by hand or by a migration, links broken between the feeds, events out of
order, referrals left waiting and forces whose figures look implausible are all found.

Every check is defined once, as data (:class:`Check`): its code, the prepared frame it
runs on, the Great Expectations expectation that states it, its severity, its quality
dimension and a plain-English description. The same description goes to the JSON
summary, the stored validation results, Data Docs and the dashboard. The contract's
row rules are not restated: they are taken from :func:`data_checks.suites.referral_rules`
and :func:`data_checks.suites.event_rules`, and the stored values are parsed again with
the gate's own parser (:mod:`data_checks.parse`). Event order comes from
:func:`data_checks.cross_feed.order_breaks`, eligibility from
:mod:`data_checks.eligibility`.

Severity: ``critical`` (the store breaks the contract; figures built on it may be
wrong; ``beaconport check`` exits 1), ``warning`` (a steward should look) and ``info``
(worth knowing). A check passes when no row breaks it.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl
from sqlalchemy import Engine, select

from data_checks import cross_feed
from data_checks.eligibility import ReviewCriteria, ineligibility_reasons, involves_rape
from data_checks.parse import (
    EVENT_REQUIRED,
    REFERRAL_OPTIONAL,
    REFERRAL_REQUIRED,
    parse_events,
    parse_referrals,
)
from data_checks.quality_config import QualityConfig, load_quality_config
from data_checks.suites import (
    EVENT_DATE_COLUMNS,
    REFERRAL_DATE_COLUMNS,
    Rule,
    event_rules,
    gx_context,
    referral_rules,
    with_day_numbers,
)
from metrics import store
from metrics.store import (
    audit,
    event_history_t,
    submissions_t,
    utcnow,
    validation_results_t,
    validation_runs_t,
)

if TYPE_CHECKING:
    import great_expectations as gx

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

SEVERITIES = ("critical", "warning", "info")
DIMENSIONS = ("validity", "completeness", "timeliness", "consistency", "uniqueness", "plausibility")
RUN_KIND = "check"
RUN_SUITE = "stored_data"
DOCS_SITE = "beaconport"
UNKNOWN_FORCE = "(unknown force)"
#: The prepared frames, in the order they are checked.
FRAMES = ("referrals", "events", "offences", "quarantine", "force_shares", "force_months")
MAX_EXAMPLES = 10


@dataclass(frozen=True)
class Check:
    """One stored-data check: what it means to a steward, and the expectation that states it."""

    code: str
    frame: str
    expectation: str
    kwargs: dict[str, Any]
    severity: str
    dimension: str
    description: str
    per_force: bool = True


# --- the catalogue ------------------------------------------------------------------


def _rule_code(prefix: str, rule: Rule, rules: list[Rule]) -> str:
    """``prefix.rule``, with ``.column`` when the rule code covers several columns."""
    shared = sum(1 for r in rules if r.rule == rule.rule) > 1
    return f"{prefix}.{rule.rule}" + (f".{rule.column}" if shared else "")


def _contract_referral_checks(today: date) -> list[Check]:
    checks = []
    rules = referral_rules(today)
    for r in rules:
        checks.append(
            Check(
                code=_rule_code("referral", r, rules),
                frame="referrals",
                expectation=r.expectation,
                kwargs=r.kwargs,
                severity="critical",
                dimension=r.dimension,
                description=f"Stored referrals keep the contract's rule on {r.column}: "
                f"none where {r.message}.",
            )
        )
    return checks


def _contract_event_checks(today: date) -> list[Check]:
    wanted = {"unknown_event", "too_long", "detail_not_allowed", "date_in_future"}
    checks = []
    rules = event_rules(today)
    for r in rules:
        if r.rule in wanted or (r.rule == "missing_value" and r.column in ("event", "event_date")):
            checks.append(
                Check(
                    code=_rule_code("event", r, rules),
                    frame="events",
                    expectation=r.expectation,
                    kwargs=r.kwargs,
                    severity="critical",
                    dimension=r.dimension,
                    description=f"Stored review events keep the contract's rule on {r.column}: "
                    f"none where {r.message}.",
                )
            )
    return checks


def check_catalogue(today: date, config: QualityConfig | None = None) -> list[Check]:
    """Every stored-data check, in the order it runs and is reported."""
    c = config or load_quality_config()
    checks = _contract_referral_checks(today)
    checks += [
        Check(
            "referral.values_readable",
            "referrals",
            "ExpectColumnValuesToBeNull",
            {"column": "format_problem"},
            "critical",
            "validity",
            "Stored referral dates and counts read back as dates and whole numbers.",
        ),
        Check(
            "referral.eligibility_agrees",
            "referrals",
            "ExpectColumnPairValuesToBeEqual",
            {"column_A": "ineligibility_reasons", "column_B": "expected_ineligibility_reasons"},
            "critical",
            "consistency",
            "Each stored referral's ineligibility reasons are the ones the review's criteria "
            "give for its stored values (a hand edit or a changed review period shows here).",
        ),
        Check(
            "referral.eligible_flag_agrees",
            "referrals",
            "ExpectColumnPairValuesToBeEqual",
            {"column_A": "eligible", "column_B": "expected_eligible"},
            "critical",
            "consistency",
            "Each stored referral is marked eligible exactly when the review's criteria "
            "find no reason against it.",
        ),
        Check(
            "referral.rape_flag_agrees",
            "referrals",
            "ExpectColumnPairValuesToBeEqual",
            {"column_A": "involves_rape", "column_B": "expected_involves_rape"},
            "critical",
            "consistency",
            "Each stored referral is marked as involving rape exactly when one of its "
            "offence codes is a rape code.",
        ),
        Check(
            "referral.offence_rows_agree",
            "referrals",
            "ExpectColumnPairValuesToBeEqual",
            {"column_A": "listed_codes", "column_B": "offence_table_codes"},
            "critical",
            "consistency",
            "The offence codes listed on each referral match its rows in the offence "
            "table that the figures count from.",
        ),
        Check(
            "referral.from_loaded_file",
            "referrals",
            "ExpectColumnValuesToBeInSet",
            {"column": "submission_status", "value_set": ["loaded"]},
            "critical",
            "consistency",
            "Each stored referral came from a file recorded as loaded.",
        ),
        Check(
            "referral.not_stale",
            "referrals",
            "ExpectColumnValuesToBeBetween",
            {"column": "days_without_event", "max_value": c.stale_days},
            "warning",
            "timeliness",
            f"Eligible referrals awaiting a decision have had an event (or arrived) within "
            f"the last {c.stale_days} days before the latest date in the store.",
        ),
        Check(
            "referral.ethnicity_returned",
            "referrals",
            "ExpectColumnValuesToNotBeNull",
            {"column": "suspects_ethnicity_recorded_count"},
            "info",
            "completeness",
            "Referral returns say how many suspects have their ethnicity recorded "
            "(an optional column: blank means not returned).",
        ),
        Check(
            "event.referral_stored",
            "events",
            "ExpectColumnValuesToNotBeNull",
            {"column": "force"},
            "critical",
            "consistency",
            "Each stored review event belongs to a stored referral.",
        ),
    ]
    checks += _contract_event_checks(today)
    checks += [
        Check(
            "event.not_before_referral",
            "events",
            "ExpectColumnValuesToBeBetween",
            {"column": "days_after_referral", "min_value": 0},
            "critical",
            "validity",
            "No stored event is dated before its referral's referral_date.",
        ),
        Check(
            "event.order",
            "events",
            "ExpectColumnValuesToBeNull",
            {"column": "order_rule_broken"},
            "critical",
            "consistency",
            "Stored events keep the contract's order rules: a completed assessment follows "
            "a started one, a reinvestigation follows a decision passing the case back or to "
            "the NCA, a charge follows a reinvestigation, a verdict follows a charge.",
        ),
        Check(
            "event.one_decision",
            "events",
            "ExpectColumnValuesToBeUnique",
            {"column": "decision_of_referral"},
            "critical",
            "uniqueness",
            "Each referral has at most one current assessment_completed decision "
            "(earlier ones are kept in history).",
        ),
        Check(
            "event.not_repeated",
            "events",
            "ExpectColumnValuesToBeUnique",
            {"column": "event_key"},
            "warning",
            "uniqueness",
            "No review event is stored twice (same referral, event, date and detail).",
        ),
        Check(
            "offence.referral_stored",
            "offences",
            "ExpectColumnValuesToNotBeNull",
            {"column": "force"},
            "critical",
            "consistency",
            "Each stored offence code row belongs to a stored referral.",
            per_force=False,
        ),
        Check(
            "quarantine.none_open",
            "quarantine",
            "ExpectColumnValuesToBeInSet",
            {"column": "status", "value_set": ["resolved", "superseded"]},
            "warning",
            "validity",
            "No quarantined row is still open (an open row waits for a corrected row from "
            "the force or a steward's repair).",
        ),
        Check(
            "quarantine.repair_linked",
            "quarantine",
            "ExpectColumnValuesToBeInSet",
            {"column": "repair_linked", "value_set": [True]},
            "critical",
            "consistency",
            "Each closed quarantined row links to the loaded file, and the stored referral "
            "or event, that repaired it.",
        ),
        Check(
            "force.ineligible_share_plausible",
            "force_shares",
            "ExpectColumnValuesToBeBetween",
            {
                "column": "ineligible_z",
                "min_value": -c.plausibility_z,
                "max_value": c.plausibility_z,
            },
            "warning",
            "plausibility",
            f"A force's share of ineligible referrals is not far from the national share "
            f"(binomial z-score within plus or minus {c.plausibility_z:g}; forces with fewer "
            f"than {c.plausibility_min_rows} referrals are not judged).",
        ),
        Check(
            "force.quarantined_share_plausible",
            "force_shares",
            "ExpectColumnValuesToBeBetween",
            {
                "column": "quarantined_z",
                "min_value": -c.plausibility_z,
                "max_value": c.plausibility_z,
            },
            "warning",
            "plausibility",
            f"A force's share of quarantined referral rows is not far from the national share "
            f"(binomial z-score within plus or minus {c.plausibility_z:g}; forces with fewer "
            f"than {c.plausibility_min_rows} rows are not judged).",
        ),
        Check(
            "force.monthly_volume_steady",
            "force_months",
            "ExpectColumnValuesToBeBetween",
            {"column": "volume_ratio", "max_value": c.volume_jump_factor},
            "info",
            "plausibility",
            f"No month brings a sudden jump in a force's referrals: more than "
            f"{c.volume_jump_factor:g} times the median of its previous months (up to six "
            f"months with referrals, at least {c.volume_min_months}; months with fewer than "
            f"{c.volume_min_referrals} referrals are not judged).",
        ),
    ]
    codes = [ch.code for ch in checks]
    assert len(codes) == len(set(codes)), "check codes must be unique"
    assert max(map(len, codes)) <= 64, "check codes must fit validation_results.check"
    return checks


def catalogue_frame(today: date | None = None, config: QualityConfig | None = None) -> pl.DataFrame:
    """The catalogue as a table (code, dimension, severity, description) for pages and docs."""
    checks = check_catalogue(today or date.today(), config)
    return pl.DataFrame(
        {
            "check": [c.code for c in checks],
            "dimension": [c.dimension for c in checks],
            "severity": [c.severity for c in checks],
            "description": [c.description for c in checks],
            "per_force": [c.per_force for c in checks],
        }
    )


# --- the prepared frames -------------------------------------------------------------


@dataclass
class StoredFrames:
    """What is stored, prepared for the checks (one frame per ``Check.frame``)."""

    as_at: date | None
    frames: dict[str, pl.DataFrame]


def store_as_at(referrals: pl.DataFrame, events: pl.DataFrame) -> date | None:
    """The latest referral_date or event_date stored (the contract's ``as_at``)."""
    dates = [
        d
        for d in (
            referrals["referral_date"].max() if referrals.height else None,
            events["event_date"].max() if events.height else None,
        )
        if d is not None
    ]
    return max(dates) if dates else None  # type: ignore[return-value]


def _as_text(frame: pl.DataFrame, columns: list[str]) -> pl.DataFrame:
    """Stored values as the text cells a file would have carried (ISO dates)."""
    return frame.select(
        pl.col("id").alias("_row"),
        pl.lit(None, dtype=pl.String).alias("_extra_cells"),
        *[pl.col(c).cast(pl.String).alias(c) for c in columns],
    )


def _prepare_referrals(
    refs: pl.DataFrame,
    events: pl.DataFrame,
    offences: pl.DataFrame,
    submissions: pl.DataFrame,
    as_at: date | None,
    criteria: ReviewCriteria,
) -> pl.DataFrame:
    parsed = parse_referrals(_as_text(refs, REFERRAL_REQUIRED + REFERRAL_OPTIONAL))
    parsed = with_day_numbers(parsed, REFERRAL_DATE_COLUMNS)
    typed = refs.select(
        "id",
        "eligible",
        "involves_rape",
        pl.col("ineligibility_reasons").fill_null(""),
        "submission_id",
    )
    # Eligibility as the criteria give it, from the values as the gate parses them.
    expected = parsed.select(
        ineligibility_reasons(criteria).alias("expected_ineligibility_reasons"),
        involves_rape().alias("expected_involves_rape"),
        pl.col("offence_codes")
        .str.split(";")
        .list.unique()
        .list.sort()
        .list.join(";")
        .alias("listed_codes"),
    ).with_columns(
        (pl.col("expected_ineligibility_reasons") == "").alias("expected_eligible"),
    )
    table_codes = offences.group_by("referral_id").agg(
        pl.col("code").sort().str.join(";").alias("offence_table_codes")
    )
    last_event = events.group_by("referral_id").agg(
        pl.col("event_date").max().alias("last_event_date"),
        (pl.col("event") == "assessment_completed").any().alias("decided"),
    )
    frame = (
        pl.concat([parsed, typed, expected], how="horizontal")
        .join(table_codes, left_on="id", right_on="referral_id", how="left")
        .join(last_event, left_on="id", right_on="referral_id", how="left")
        .join(
            submissions.select(
                pl.col("id").alias("submission_id"), pl.col("status").alias("submission_status")
            ),
            on="submission_id",
            how="left",
        )
        .with_columns(pl.col("offence_table_codes").fill_null(""))
    )
    awaiting = pl.col("eligible") & ~pl.col("decided").fill_null(False)
    last = pl.coalesce("last_event_date", "referral_date")
    days = (pl.lit(as_at, dtype=pl.Date) - last).dt.total_days() if as_at else pl.lit(None)
    frame = frame.with_columns(
        pl.when(awaiting).then(days).otherwise(None).cast(pl.Int64).alias("days_without_event"),
        pl.concat_str(
            [pl.col("force").fill_null("?"), pl.col("force_referral_id").fill_null("?")],
            separator=" / ",
        ).alias("_label"),
        pl.when(pl.col("_format_reasons").list.len() > 0)
        .then(pl.col("_format_reasons").list.join("; "))
        .otherwise(None)
        .alias("format_problem"),
    )
    return frame.sort("_row")


def _prepare_events(events: pl.DataFrame, refs: pl.DataFrame) -> pl.DataFrame:
    keyed = events.join(
        refs.select(
            pl.col("id").alias("referral_id"), "force", "force_referral_id", "referral_date"
        ),
        on="referral_id",
        how="left",
    ).sort("id")
    cells = _as_text(keyed, [*EVENT_REQUIRED, "detail"])
    parsed = with_day_numbers(parse_events(cells), EVENT_DATE_COLUMNS)
    breaks = cross_feed.order_breaks(
        keyed.select(pl.col("id").alias("pos"), "referral_id", "event", "event_date", "detail"),
        keyed.select("referral_id", "event", "event_date", "detail").clear(),
    ).select(pl.col("pos").alias("id"), pl.col("message").alias("order_rule_broken"))
    extra = keyed.select(
        "id",
        "referral_id",
        pl.col("force").alias("stored_force"),
        (pl.col("event_date") - pl.col("referral_date"))
        .dt.total_days()
        .alias("days_after_referral"),
        pl.when(pl.col("event") == "assessment_completed")
        .then(pl.col("referral_id"))
        .otherwise(None)
        .alias("decision_of_referral"),
        pl.concat_str(
            [
                pl.col("referral_id").cast(pl.String),
                pl.col("event"),
                pl.col("event_date").cast(pl.String),
                pl.col("detail").fill_null(""),
            ],
            separator="|",
        ).alias("event_key"),
    ).join(breaks, on="id", how="left")
    frame = pl.concat([parsed.drop("force"), extra], how="horizontal").rename(
        {"stored_force": "force"}
    )
    return frame.with_columns(
        pl.concat_str(
            [
                pl.col("force").fill_null("?"),
                pl.lit(" / "),
                pl.col("force_referral_id").fill_null("?"),
                pl.lit(": "),
                pl.col("event").fill_null("?"),
                pl.lit(" "),
                pl.col("event_date").cast(pl.String).fill_null("?"),
            ]
        ).alias("_label")
    )


def _prepare_offences(offences: pl.DataFrame, refs: pl.DataFrame) -> pl.DataFrame:
    return offences.join(
        refs.select(pl.col("id").alias("referral_id"), "force"), on="referral_id", how="left"
    ).with_columns(
        pl.concat_str(
            [pl.lit("referral #"), pl.col("referral_id").cast(pl.String), pl.lit(" "), "code"]
        ).alias("_label")
    )


def _prepare_quarantine(
    conn: Any, quarantine: pl.DataFrame, refs: pl.DataFrame, events: pl.DataFrame
) -> pl.DataFrame:
    loaded = store.read_frame(
        conn,
        select(submissions_t.c.id).where(submissions_t.c.status == "loaded"),
        {"id": pl.Int64},
    )["id"]
    replaced = store.read_frame(conn, select(event_history_t.c.event_id), {"event_id": pl.Int64})
    event_ids = pl.concat([events["id"], replaced["event_id"]])
    linked = (
        pl.col("resolved_by_submission_id").is_in(loaded.implode())
        & (
            pl.col("resolved_by_referral_id").is_null()
            | pl.col("resolved_by_referral_id").is_in(refs["id"].implode())
        )
        & (
            pl.col("resolved_by_event_id").is_null()
            | pl.col("resolved_by_event_id").is_in(event_ids.implode())
        )
    )
    return quarantine.with_columns(
        pl.when(pl.col("status") == "resolved").then(linked).otherwise(None).alias("repair_linked"),
        pl.concat_str(
            [
                pl.lit("quarantine #"),
                pl.col("id").cast(pl.String),
                pl.lit(" ("),
                pl.col("file_name"),
                pl.lit(" row "),
                pl.col("source_row").cast(pl.String),
                pl.lit(")"),
            ]
        ).alias("_label"),
    )


def binomial_z(successes: pl.Expr, trials: pl.Expr, rate: float, min_trials: int) -> pl.Expr:
    """How many standard errors a force's count is from ``trials * rate`` (null when not judged)."""
    if not 0.0 < rate < 1.0:
        return pl.lit(None, dtype=pl.Float64)
    expected = trials * rate
    sd = (trials * rate * (1.0 - rate)).sqrt()
    return (
        pl.when(trials >= min_trials)
        .then((successes - expected) / sd)
        .otherwise(None)
        .cast(pl.Float64)
    )


def force_shares(
    refs: pl.DataFrame, quarantine: pl.DataFrame, config: QualityConfig
) -> pl.DataFrame:
    """Per force: referrals, ineligible share, quarantined referral rows, and z-scores.

    The national share is over every force together. Quarantined referral rows count
    those of any status (a repaired row was still received wrong); their share is out
    of stored referrals plus quarantined referral rows.
    """
    per_force = refs.group_by("force").agg(
        pl.len().alias("referrals"), (~pl.col("eligible")).sum().alias("ineligible")
    )
    q = (
        quarantine.filter((pl.col("feed") == "referrals") & pl.col("force").is_not_null())
        .group_by("force")
        .agg(pl.len().alias("quarantined"))
    )
    frame = (
        per_force.join(q, on="force", how="full", coalesce=True)
        .with_columns(
            pl.col("referrals").fill_null(0).cast(pl.Int64),
            pl.col("ineligible").fill_null(0).cast(pl.Int64),
            pl.col("quarantined").fill_null(0).cast(pl.Int64),
        )
        .with_columns((pl.col("referrals") + pl.col("quarantined")).alias("rows_received"))
        .sort("force")
    )
    n = int(frame["referrals"].sum() or 0)
    received = int(frame["rows_received"].sum() or 0)
    inel_rate = int(frame["ineligible"].sum() or 0) / n if n else 0.0
    q_rate = int(frame["quarantined"].sum() or 0) / received if received else 0.0
    m = config.plausibility_min_rows
    return frame.with_columns(
        binomial_z(pl.col("ineligible"), pl.col("referrals"), inel_rate, m).alias("ineligible_z"),
        binomial_z(pl.col("quarantined"), pl.col("rows_received"), q_rate, m).alias(
            "quarantined_z"
        ),
        pl.lit(inel_rate).alias("national_ineligible_share"),
        pl.lit(q_rate).alias("national_quarantined_share"),
        pl.concat_str(
            [
                pl.col("force"),
                pl.lit(": "),
                pl.col("ineligible").cast(pl.String),
                pl.lit(" of "),
                pl.col("referrals").cast(pl.String),
                pl.lit(" ineligible, "),
                pl.col("quarantined").cast(pl.String),
                pl.lit(" of "),
                pl.col("rows_received").cast(pl.String),
                pl.lit(" rows quarantined"),
            ]
        ).alias("_label"),
    )


def force_months(refs: pl.DataFrame, config: QualityConfig) -> pl.DataFrame:
    """Per force and month of referral_date: referrals, the usual month before, and the ratio."""
    counts = (
        refs.filter(pl.col("referral_date").is_not_null())
        .group_by("force", pl.col("referral_date").dt.truncate("1mo").alias("month"))
        .agg(pl.len().alias("referrals"))
        .sort("force", "month")
    )
    usual = (
        pl.col("referrals")
        .cast(pl.Float64)
        .shift(1)
        .rolling_median(window_size=6, min_samples=config.volume_min_months)
        .over("force")
    )
    return (
        counts.with_columns(usual.alias("usual_referrals"))
        .with_columns(
            pl.when(
                (pl.col("referrals") >= config.volume_min_referrals)
                & (pl.col("usual_referrals") > 0)
            )
            .then(pl.col("referrals") / pl.col("usual_referrals"))
            .otherwise(None)
            .alias("volume_ratio")
        )
        .with_columns(
            pl.concat_str(
                [
                    pl.col("force"),
                    pl.lit(" "),
                    pl.col("month").dt.strftime("%Y-%m"),
                    pl.lit(": "),
                    pl.col("referrals").cast(pl.String),
                    pl.lit(" referrals, usually "),
                    pl.col("usual_referrals").round(1).cast(pl.String).fill_null("-"),
                ]
            ).alias("_label")
        )
    )


def stored_frames(
    engine: Engine, config: QualityConfig, criteria: ReviewCriteria | None = None
) -> StoredFrames:
    """Read the store once and prepare each frame the checks run on."""
    criteria = criteria or ReviewCriteria.from_environment()
    with engine.connect() as conn:
        refs = store.read_referrals(conn)
        events = store.read_events(conn)
        offences = store.read_offences(conn)
        submissions = store.read_submissions(conn)
        quarantine = store.read_quarantine(conn)
        as_at = store_as_at(refs, events)
        prepared_q = _prepare_quarantine(conn, quarantine, refs, events)
    frames = {
        "referrals": _prepare_referrals(refs, events, offences, submissions, as_at, criteria),
        "events": _prepare_events(events, refs),
        "offences": _prepare_offences(offences, refs),
        "quarantine": prepared_q,
        "force_shares": force_shares(refs, quarantine, config),
        "force_months": force_months(refs, config),
    }
    return StoredFrames(as_at=as_at, frames=frames)


# --- running -------------------------------------------------------------------------


@dataclass
class ForceResult:
    """A check's verdict over one force's rows."""

    force: str
    element_count: int
    unexpected_count: int
    examples: list[str] = field(default_factory=list)

    @property
    def success(self) -> bool:
        return self.unexpected_count == 0


@dataclass
class CheckResult:
    """A check's verdict over the whole store, and per force where it applies."""

    check: Check
    success: bool
    element_count: int
    unexpected_count: int
    examples: list[str]
    forces: list[ForceResult]
    observed: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        """The JSON form (the same words as Data Docs and the dashboard)."""
        return {
            "check": self.check.code,
            "dimension": self.check.dimension,
            "severity": self.check.severity,
            "description": self.check.description,
            "success": self.success,
            "element_count": self.element_count,
            "unexpected_count": self.unexpected_count,
            "examples": self.examples,
            "forces_failing": [
                {
                    "force": f.force,
                    "unexpected_count": f.unexpected_count,
                    "element_count": f.element_count,
                }
                for f in self.forces
                if not f.success
            ],
        }


@dataclass
class CheckRun:
    """One ``beaconport check`` run: every check's result, as stored in validation_runs."""

    run_id: int | None
    today: date
    as_at: date | None
    results: list[CheckResult]
    docs_index: Path | None = None
    config: QualityConfig = field(default_factory=QualityConfig)

    def failed(self, severity: str) -> list[CheckResult]:
        return [r for r in self.results if not r.success and r.check.severity == severity]

    @property
    def success(self) -> bool:
        """True when no critical check failed."""
        return not self.failed("critical")

    def summary(self) -> dict[str, Any]:
        """The machine-readable summary printed by ``beaconport check --json``."""
        return {
            "run_id": self.run_id,
            "today": self.today.isoformat(),
            "as_at": self.as_at.isoformat() if self.as_at else None,
            "success": self.success,
            "evaluated": len(self.results),
            "failed": {s: len(self.failed(s)) for s in SEVERITIES},
            "stale_days": self.config.stale_days,
            "docs": str(self.docs_index) if self.docs_index else None,
            "checks": [r.summary() for r in self.results],
        }


_lock = threading.Lock()


def _expectation(check: Check) -> Any:
    import great_expectations.expectations as gxe

    cls = getattr(gxe, check.expectation)
    return cls(
        **check.kwargs,
        description=f"[{check.severity.upper()}, {check.dimension}] {check.description}",
        meta={
            "check": check.code,
            "severity": check.severity,
            "dimension": check.dimension,
            "description": check.description,
        },
    )


def _suite(name: str, checks: list[Check]) -> gx.ExpectationSuite:
    import great_expectations as gx

    suite = gx.ExpectationSuite(name=name)
    for c in checks:
        suite.add_expectation(_expectation(c))
    return gx_context().suites.add_or_update(suite)


def _columns(checks: list[Check]) -> list[str]:
    cols: set[str] = set()
    for c in checks:
        for key in ("column", "column_A", "column_B"):
            if key in c.kwargs:
                cols.add(c.kwargs[key])
        cols.update(c.kwargs.get("column_list") or [])
    return sorted(cols)


#: The line at the top of every Data Docs page built from a store that is not wholly real.
DOCS_NOTICES = {
    "synthetic": "SYNTHETIC DATA: made up for testing and demonstration; no real cases.",
    "mixed": "SYNTHETIC DATA MIXED WITH REAL RETURNS: no figure here can be used or quoted.",
}


def label_docs(docs_dir: Path, origin: str) -> int:
    """Put the synthetic (or mixed) notice at the top of every Data Docs page in
    ``docs_dir``, as every export carries it; returns the number of pages labelled."""
    notice = DOCS_NOTICES.get(origin)
    if notice is None:
        return 0
    banner = (
        '<div role="alert" style="background:#b00020;color:#fff;font-weight:bold;'
        f'padding:0.6em 1em;font-family:sans-serif">{notice}</div>'
    )
    labelled = 0
    for page in docs_dir.rglob("*.html"):
        html = page.read_text(encoding="utf-8")
        if banner in html:
            labelled += 1
            continue
        start = html.find("<body")
        end = html.find(">", start) + 1 if start >= 0 else 0
        page.write_text(html[:end] + banner + html[end:], encoding="utf-8")
        labelled += 1
    return labelled


def _enable_docs_site(docs_dir: Path) -> None:
    ctx = gx_context()
    site = {
        "class_name": "SiteBuilder",
        "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
        "store_backend": {
            "class_name": "TupleFilesystemStoreBackend",
            "base_directory": str(docs_dir.resolve()),
        },
    }
    sites = ctx.get_site_names()
    if DOCS_SITE in sites:
        ctx.update_data_docs_site(DOCS_SITE, site)
    else:
        ctx.add_data_docs_site(DOCS_SITE, site)


def _validate(frame_name: str, frame: pl.DataFrame, checks: list[Check], docs: bool) -> Any:
    """Run the checks of one frame in Great Expectations; the validation result."""
    import great_expectations as gx

    ctx = gx_context()
    suite = _suite(f"stored_{frame_name}", checks)
    pdf = frame.select(_columns(checks)).to_pandas(use_pyarrow_extension_array=True)
    with _lock:
        ds = ctx.data_sources.add_or_update_pandas("stored")
        asset = next((a for a in ds.assets if a.name == frame_name), None)
        asset = asset or ds.add_dataframe_asset(frame_name)
        bd = next((b for b in asset.batch_definitions if b.name == "whole"), None)
        bd = bd or asset.add_batch_definition_whole_dataframe("whole")
        if not docs:
            batch = bd.get_batch(batch_parameters={"dataframe": pdf})
            return batch.validate(suite, result_format={"result_format": "COMPLETE"})
        vd = ctx.validation_definitions.add_or_update(
            gx.ValidationDefinition(name=f"stored_{frame_name}", data=bd, suite=suite)
        )
        cp = ctx.checkpoints.add_or_update(
            gx.Checkpoint(
                name=f"stored_{frame_name}",
                validation_definitions=[vd],
                actions=[gx.checkpoint.UpdateDataDocsAction(name="docs", site_names=[DOCS_SITE])],
                result_format={"result_format": "COMPLETE"},
            )
        )
        run = cp.run(batch_parameters={"dataframe": pdf})
        return next(iter(run.run_results.values()))


def _examples(frame: pl.DataFrame, rows: list[int]) -> list[str]:
    if not rows or "_label" not in frame.columns:
        return []
    return frame["_label"].gather(rows[:MAX_EXAMPLES]).fill_null("?").to_list()


def _per_force(frame: pl.DataFrame, rows: list[int]) -> list[ForceResult]:
    forces = frame["force"].fill_null(UNKNOWN_FORCE) if "force" in frame.columns else None
    if forces is None:
        return []
    totals = forces.value_counts(name="n").sort("force")
    bad = (
        pl.DataFrame({"force": forces.gather(rows)}).group_by("force").agg(pl.len().alias("bad"))
        if rows
        else pl.DataFrame({"force": [], "bad": []}, schema={"force": pl.String, "bad": pl.UInt32})
    )
    labelled = pl.DataFrame({"force": forces, "_label": frame["_label"]}).with_row_index("i")
    out = []
    for force, n, b in totals.join(bad, on="force", how="left").iter_rows():
        ex: list[str] = []
        if b:
            idx = set(rows)
            ex = (
                labelled.filter((pl.col("force") == force) & pl.col("i").is_in(list(idx)))
                .head(MAX_EXAMPLES)["_label"]
                .to_list()
            )
        out.append(ForceResult(force, int(n), int(b or 0), ex))
    return out


def _empty_result(check: Check) -> CheckResult:
    return CheckResult(check, True, 0, 0, [], [])


def _results_of(frame: pl.DataFrame, checks: list[Check], validation: Any) -> list[CheckResult]:
    by_code = {c.code: c for c in checks}
    out = []
    for r in validation.results:
        code = (r.expectation_config.meta or {}).get("check")
        check = by_code[code]
        if r.exception_info and r.exception_info.get("raised_exception"):
            raise RuntimeError(
                f"check {code} failed to run: {r.exception_info.get('exception_message')}"
            )
        res = r.result or {}
        rows = [int(i) for i in res.get("unexpected_index_list") or []]
        forces = _per_force(frame, rows) if check.per_force else []
        out.append(
            CheckResult(
                check=check,
                success=bool(r.success) and not rows,
                element_count=int(res.get("element_count") or frame.height),
                unexpected_count=len(rows) or int(res.get("unexpected_count") or 0),
                examples=_examples(frame, rows),
                forces=forces,
                observed={"missing_count": res.get("missing_count")},
            )
        )
    order = {c.code: i for i, c in enumerate(checks)}
    return sorted(out, key=lambda x: order[x.check.code])


def run_checks(
    engine: Engine,
    *,
    today: date | None = None,
    config: QualityConfig | None = None,
    criteria: ReviewCriteria | None = None,
    docs_dir: Path | str | None = None,
    actor: str = "cli",
    record: bool = True,
    progress: Callable[[str], None] | None = None,
) -> CheckRun:
    """Run every stored-data check; store the run (unless ``record`` is false) and return it.

    ``today`` judges "not after today" (default: the real today); staleness is judged
    against the latest date in the store. ``docs_dir`` also builds Great Expectations
    Data Docs there (open ``index.html``; offline, it shows without its styling).
    ``progress`` is told each stage as it starts ("reading the store", "checking
    referrals (1,273 rows)", ...), for a display of long runs.
    """
    step = progress or (lambda _stage: None)
    today = today or date.today()
    config = config or load_quality_config()
    started = utcnow()
    step("reading the store")
    prepared = stored_frames(engine, config, criteria)
    catalogue = check_catalogue(today, config)
    docs = Path(docs_dir) if docs_dir else None
    if docs:
        docs.mkdir(parents=True, exist_ok=True)
        _enable_docs_site(docs)
    results: list[CheckResult] = []
    for name in FRAMES:
        checks = [c for c in catalogue if c.frame == name]
        frame = prepared.frames[name]
        if frame.height == 0:
            results += [_empty_result(c) for c in checks]
            continue
        step(f"checking {name.replace('_', ' ')} ({frame.height:,} rows)")
        validation = _validate(name, frame, checks, docs is not None)
        results += _results_of(frame, checks, validation)
    order = {c.code: i for i, c in enumerate(catalogue)}
    results.sort(key=lambda r: order[r.check.code])
    run = CheckRun(None, today, prepared.as_at, results, config=config)
    if docs:
        step("building Data Docs")
        gx_context().build_data_docs(site_names=[DOCS_SITE])
        label_docs(docs, store.data_origin(engine))
        run.docs_index = docs / "index.html"
    if record:
        step("recording the run")
        run.run_id = record_run(engine, run, started, actor)
    return run


def record_run(engine: Engine, run: CheckRun, started: Any, actor: str) -> int:
    """Store a run in validation_runs and one validation_results row per check (and per force)."""
    with engine.begin() as conn:
        res = conn.execute(
            validation_runs_t.insert().values(
                kind=RUN_KIND,
                suite=RUN_SUITE,
                submission_id=None,
                started_at=started,
                finished_at=utcnow(),
                success=run.success,
                evaluated=len(run.results),
                failed_critical=len(run.failed("critical")),
                failed_warning=len(run.failed("warning")),
                failed_info=len(run.failed("info")),
            )
        )
        run_id = int(res.inserted_primary_key[0])
        rows = []
        for r in run.results:
            base = {
                "run_id": run_id,
                "check": r.check.code,
                "expectation": r.check.expectation,
                "dimension": r.check.dimension,
                "severity": r.check.severity,
                "description": r.check.description,
            }
            rows.append(
                {
                    **base,
                    "force": None,
                    "success": r.success,
                    "element_count": r.element_count,
                    "unexpected_count": r.unexpected_count,
                    "details": {
                        "examples": r.examples,
                        "today": run.today.isoformat(),
                        "as_at": run.as_at.isoformat() if run.as_at else None,
                    },
                }
            )
            rows += [
                {
                    **base,
                    "force": f.force[:64],
                    "success": f.success,
                    "element_count": f.element_count,
                    "unexpected_count": f.unexpected_count,
                    "details": {"examples": f.examples},
                }
                for f in r.forces
            ]
        if rows:
            conn.execute(validation_results_t.insert(), rows)
        audit(
            conn,
            actor,
            "quality_check",
            run_id=run_id,
            success=run.success,
            failed={s: len(run.failed(s)) for s in SEVERITIES},
        )
    return run_id


# --- reading stored runs (for the dashboard) -----------------------------------------


def check_runs(engine: Engine, *, limit: int = 50) -> pl.DataFrame:
    """The latest ``beaconport check`` runs, newest first (one row per run)."""
    t = validation_runs_t
    q = (
        select(
            t.c.id.label("run_id"),
            t.c.started_at,
            t.c.finished_at,
            t.c.success,
            t.c.evaluated,
            t.c.failed_critical,
            t.c.failed_warning,
            t.c.failed_info,
        )
        .where(t.c.kind == RUN_KIND)
        .order_by(t.c.id.desc())
        .limit(limit)
    )
    return store.read_frame(
        engine,
        q,
        {
            "run_id": pl.Int64,
            "started_at": pl.Datetime("us"),
            "finished_at": pl.Datetime("us"),
            "success": pl.Boolean,
            "evaluated": pl.Int64,
            "failed_critical": pl.Int64,
            "failed_warning": pl.Int64,
            "failed_info": pl.Int64,
        },
    )


def check_results(
    engine: Engine, run_id: int | None = None, *, by_force: bool = False
) -> pl.DataFrame:
    """A run's results (the latest ``check`` run when ``run_id`` is None).

    One row per check (``force`` null) or, with ``by_force``, one row per check and
    force. Columns: run_id, check, dimension, severity, description, force, success,
    element_count, unexpected_count, examples (list of text).
    """
    if run_id is None:
        runs = check_runs(engine, limit=1)
        if runs.height == 0:
            return _empty_results()
        run_id = int(runs["run_id"][0])
    t = validation_results_t
    q = select(
        t.c.run_id,
        t.c.check,
        t.c.dimension,
        t.c.severity,
        t.c.description,
        t.c.force,
        t.c.success,
        t.c.element_count,
        t.c.unexpected_count,
        t.c.details,
    ).where(t.c.run_id == run_id)
    q = q.where(t.c.force.is_not(None)) if by_force else q.where(t.c.force.is_(None))
    with engine.connect() as conn:
        rows = conn.execute(q.order_by(t.c.id)).mappings().all()
    if not rows:
        return _empty_results()
    return pl.DataFrame(
        [{**{k: v for k, v in r.items() if k != "details"}, "examples": _ex(r)} for r in rows],
        schema=_RESULT_SCHEMA,
    )


def _ex(row: Any) -> list[str]:
    details = row["details"] or {}
    return [str(x) for x in details.get("examples") or []]


_RESULT_SCHEMA = {
    "run_id": pl.Int64,
    "check": pl.String,
    "dimension": pl.String,
    "severity": pl.String,
    "description": pl.String,
    "force": pl.String,
    "success": pl.Boolean,
    "element_count": pl.Int64,
    "unexpected_count": pl.Int64,
    "examples": pl.List(pl.String),
}


def _empty_results() -> pl.DataFrame:
    return pl.DataFrame(schema=_RESULT_SCHEMA)


def failures_text(run: CheckRun) -> list[str]:
    """One line per failed check, worst first, for the command line."""
    lines = []
    for sev in SEVERITIES:
        for r in run.failed(sev):
            forces = ", ".join(f"{f.force} {f.unexpected_count}" for f in r.forces if not f.success)
            lines.append(
                f"{sev.upper():8} {r.check.code}: {r.unexpected_count} of {r.element_count} "
                f"rows. {r.check.description}" + (f" [{forces}]" if forces else "")
            )
            if r.examples:
                lines.append("         e.g. " + "; ".join(r.examples[:3]))
    return lines
