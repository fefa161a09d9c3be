"""The contract's row rules, written once, as Great Expectations suites.

Each expectation carries in its ``meta`` the rule's code (the reason a quarantined row
gives), the contract column it speaks of, a plain-English message, its severity and
its quality dimension. The gate runs these suites on each received file; ``beaconport
check`` runs them again on what is stored. A rule that spans rows of other feeds or
the store (unknown referral, event order) lives in :mod:`data_checks.cross_feed`.

Great Expectations validates pandas frames: the Polars frame is handed over
Arrow-backed at :func:`validate_rows`, and only there. Dates are handed over as day
numbers (days since 1970-01-01) so that comparisons are exact integer comparisons.
"""

from __future__ import annotations

import os
import re
import threading
from dataclasses import dataclass
from datetime import date
from functools import cache
from typing import TYPE_CHECKING, Any

import polars as pl

from data_checks.parse import (
    EVENT_REQUIRED,
    REFERRAL_DATES,
    REFERRAL_REQUIRED,
    allowed_event_details,
)
from metrics import reference

if TYPE_CHECKING:
    import great_expectations as gx

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

EPOCH = date(1970, 1, 1)


@dataclass(frozen=True)
class Rule:
    """One contract rule as an expectation: which Great Expectations class, and its words."""

    rule: str
    column: str
    message: str
    expectation: str
    kwargs: dict[str, Any]
    severity: str = "critical"
    dimension: str = "validity"


def day_number(d: date) -> int:
    return (d - EPOCH).days


def _day(col: str) -> str:
    return f"{col}__day"


def referral_rules(today: date) -> list[Rule]:
    """Feed 1's row rules (the table in the contract), as expectations."""
    lk = reference.lookups()
    codes = "|".join(sorted(lk.offence_codes, key=len, reverse=True))
    rules = [
        Rule(
            "missing_value",
            c,
            "a required value is missing",
            "ExpectColumnValuesToNotBeNull",
            {"column": f"{c}__raw"},
        )
        for c in REFERRAL_REQUIRED
    ]
    rules += [
        Rule(
            "too_long",
            "force_referral_id",
            "force_referral_id is longer than 64 characters",
            "ExpectColumnValueLengthsToBeBetween",
            {"column": "force_referral_id", "min_value": 1, "max_value": 64},
        ),
        Rule(
            "unknown_force",
            "force",
            "names no force in forces.csv (name, short name or alias)",
            "ExpectColumnValuesToBeInSet",
            {"column": "force", "value_set": list(lk.force_names)},
        ),
        Rule(
            "unknown_outcome",
            "original_outcome",
            "is not a Home Office outcome type in outcome_types.csv",
            "ExpectColumnValuesToBeInSet",
            {"column": "original_outcome", "value_set": sorted(lk.outcome_codes)},
        ),
        Rule(
            "unknown_offence_code",
            "offence_codes",
            "holds a code that is not in offence_codes.csv (codes separated by ';')",
            "ExpectColumnValuesToMatchRegex",
            {"column": "offence_codes", "regex": rf"^(?:{codes})(?:;(?:{codes}))*$"},
        ),
        Rule(
            "date_in_future",
            "referral_date",
            "referral_date is after today",
            "ExpectColumnValuesToBeBetween",
            {"column": _day("referral_date"), "max_value": day_number(today)},
        ),
        Rule(
            "dates_out_of_order",
            "nfa_date",
            "nfa_date is before crime_recorded_date",
            "ExpectColumnPairValuesAToBeGreaterThanB",
            {
                "column_A": _day("nfa_date"),
                "column_B": _day("crime_recorded_date"),
                "or_equal": True,
                "ignore_row_if": "either_value_is_missing",
            },
        ),
        Rule(
            "dates_out_of_order",
            "referral_date",
            "referral_date is before nfa_date",
            "ExpectColumnPairValuesAToBeGreaterThanB",
            {
                "column_A": _day("referral_date"),
                "column_B": _day("nfa_date"),
                "or_equal": True,
                "ignore_row_if": "either_value_is_missing",
            },
        ),
    ]
    for c in [
        "suspects_count",
        "suspects_alive_count",
        "victims_count",
        "suspects_ethnicity_recorded_count",
    ]:
        rules.append(
            Rule(
                "negative_count",
                c,
                f"{c} is below zero",
                "ExpectColumnValuesToBeBetween",
                {"column": c, "min_value": 0},
            )
        )
    rules += [
        Rule(
            "alive_exceeds_suspects",
            "suspects_alive_count",
            "suspects_alive_count is more than suspects_count",
            "ExpectColumnPairValuesAToBeGreaterThanB",
            {
                "column_A": "suspects_count",
                "column_B": "suspects_alive_count",
                "or_equal": True,
                "ignore_row_if": "either_value_is_missing",
            },
        ),
        Rule(
            "ethnicity_exceeds_suspects",
            "suspects_ethnicity_recorded_count",
            "suspects_ethnicity_recorded_count is more than suspects_count",
            "ExpectColumnPairValuesAToBeGreaterThanB",
            {
                "column_A": "suspects_count",
                "column_B": "suspects_ethnicity_recorded_count",
                "or_equal": True,
                "ignore_row_if": "either_value_is_missing",
            },
        ),
        Rule(
            "repeated_key",
            "force_referral_id",
            "the same force and force_referral_id appear on more than one row of this file",
            "ExpectCompoundColumnsToBeUnique",
            {
                "column_list": ["force", "force_referral_id"],
                "ignore_row_if": "any_value_is_missing",
            },
            dimension="uniqueness",
        ),
    ]
    return rules


def event_rules(today: date) -> list[Rule]:
    """Feed 2's row rules (the table in the contract), as expectations."""
    lk = reference.lookups()
    rules = [
        Rule(
            "missing_value",
            c,
            "a required value is missing",
            "ExpectColumnValuesToNotBeNull",
            {"column": f"{c}__raw"},
        )
        for c in EVENT_REQUIRED
    ]
    rules += [
        Rule(
            "unknown_force",
            "force",
            "names no force in forces.csv (name, short name or alias)",
            "ExpectColumnValuesToBeInSet",
            {"column": "force", "value_set": list(lk.force_names)},
        ),
        Rule(
            "unknown_event",
            "event",
            "is not an event code in events.csv",
            "ExpectColumnValuesToBeInSet",
            {"column": "event", "value_set": sorted(lk.event_codes)},
        ),
        Rule(
            "too_long",
            "detail",
            "detail is longer than 64 characters",
            "ExpectColumnValueLengthsToBeBetween",
            {"column": "detail", "max_value": 64},
        ),
        Rule(
            "detail_not_allowed",
            "detail",
            "detail is missing or not one of the values events.csv allows for this event",
            "ExpectColumnValuesToBeInSet",
            {"column": "event_detail", "value_set": allowed_event_details()},
        ),
        Rule(
            "date_in_future",
            "event_date",
            "event_date is after today",
            "ExpectColumnValuesToBeBetween",
            {"column": _day("event_date"), "max_value": day_number(today)},
        ),
    ]
    return rules


def with_day_numbers(frame: pl.DataFrame, date_columns: list[str]) -> pl.DataFrame:
    """Add ``<col>__day`` (days since 1970-01-01) for each date column."""
    return frame.with_columns(
        [pl.col(c).cast(pl.Int32).alias(_day(c)) for c in date_columns if c in frame.columns]
    )


_lock = threading.Lock()


@cache
def gx_context() -> gx.data_context.AbstractDataContext:
    """One ephemeral Great Expectations context per process (import is slow: done lazily)."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    ctx = gx.get_context(mode="ephemeral")
    ctx.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    return ctx


def build_suite(name: str, rules: list[Rule]) -> gx.ExpectationSuite:
    """A Great Expectations suite from rules, each expectation's meta naming its rule."""
    import great_expectations as gx
    import great_expectations.expectations as gxe

    suite = gx.ExpectationSuite(name=name)
    for r in rules:
        cls = getattr(gxe, r.expectation)
        suite.add_expectation(
            cls(
                **r.kwargs,
                meta={
                    "rule": r.rule,
                    "column": r.column,
                    "message": r.message,
                    "severity": r.severity,
                    "dimension": r.dimension,
                },
            )
        )
    return suite


@cache
def _registered_suite(name: str, feed: str, today: date) -> gx.ExpectationSuite:
    return gx_context().suites.add_or_update(build_suite(name, rules_for(feed, today)))


def suite_for(feed: str, today: date) -> gx.ExpectationSuite:
    """The registered suite for a feed's rows, judged as of ``today``."""
    return _registered_suite(f"{feed}_rows_{today.isoformat()}", feed, today)


@dataclass(frozen=True)
class RuleOutcome:
    """One expectation's verdict over a frame: which rows broke it."""

    rule: str
    column: str
    message: str
    severity: str
    dimension: str
    expectation: str
    element_count: int
    unexpected_rows: list[int]
    success: bool


#: Files with more rows than this are judged by the suite compiled to Polars expressions.
GX_ROW_LIMIT_ENV = "BEACONPORT_GX_ROW_LIMIT"
DEFAULT_GX_ROW_LIMIT = 20_000


def rules_for(feed: str, today: date) -> list[Rule]:
    """The row rules of ``feed`` ("referrals" or "events"), judged as of ``today``."""
    return referral_rules(today) if feed == "referrals" else event_rules(today)


def validate_rows(
    frame: pl.DataFrame, feed: str, today: date, *, engine: str = "auto"
) -> list[RuleOutcome]:
    """Judge ``frame`` by the feed's suite; each outcome lists the positions that broke a rule.

    ``engine`` is ``gx`` (Great Expectations itself), ``polars`` (the same suite's
    expectations compiled to Polars expressions, :func:`evaluate_compiled`) or ``auto``:
    Great Expectations up to ``BEACONPORT_GX_ROW_LIMIT`` rows (default 20,000, far above
    any force's return), the compiled form above it. Both read the rules from the suite;
    the tests hold them to identical answers.
    """
    if engine == "auto":
        limit = int(os.environ.get(GX_ROW_LIMIT_ENV, DEFAULT_GX_ROW_LIMIT))
        engine = "gx" if frame.height <= limit else "polars"
    if engine == "polars":
        return evaluate_compiled(frame, rules_for(feed, today))
    if engine != "gx":
        raise ValueError(f"unknown validation engine {engine!r}")
    return _validate_with_gx(frame, suite_for(feed, today))


def _validate_with_gx(frame: pl.DataFrame, suite: gx.ExpectationSuite) -> list[RuleOutcome]:
    ctx = gx_context()
    columns = sorted(_columns_of(suite) & set(frame.columns))
    pdf = frame.select(columns).to_pandas(use_pyarrow_extension_array=True)
    with _lock:
        ds = ctx.data_sources.add_or_update_pandas("received")
        asset = next((a for a in ds.assets if a.name == "rows"), None) or ds.add_dataframe_asset(
            "rows"
        )
        bd = next((b for b in asset.batch_definitions if b.name == "whole"), None)
        bd = bd or asset.add_batch_definition_whole_dataframe("whole")
        batch = bd.get_batch(batch_parameters={"dataframe": pdf})
        result = batch.validate(suite, result_format={"result_format": "COMPLETE"})
    outcomes = []
    for r in result.results:
        meta = r.expectation_config.meta or {}
        if r.exception_info and r.exception_info.get("raised_exception"):
            raise RuntimeError(
                f"expectation {r.expectation_config.type} failed to run: "
                f"{r.exception_info.get('exception_message')}"
            )
        res = r.result or {}
        outcomes.append(
            RuleOutcome(
                rule=meta.get("rule", r.expectation_config.type),
                column=meta.get("column", ""),
                message=meta.get("message", ""),
                severity=meta.get("severity", "critical"),
                dimension=meta.get("dimension", "validity"),
                expectation=r.expectation_config.type,
                element_count=int(res.get("element_count") or len(pdf)),
                unexpected_rows=[int(i) for i in res.get("unexpected_index_list") or []],
                success=bool(r.success),
            )
        )
    return outcomes


def _columns_of(suite: gx.ExpectationSuite) -> set[str]:
    cols: set[str] = set()
    for e in suite.expectations:
        cfg = e.configuration.kwargs
        for key in ("column", "column_A", "column_B"):
            if key in cfg:
                cols.add(cfg[key])
        cols.update(cfg.get("column_list") or [])
    return cols


def _unexpected_expr(kind: str, kw: dict[str, Any]) -> pl.Expr:
    """The rows an expectation finds unexpected, with Great Expectations' own semantics.

    Column-map expectations ignore missing values (except the not-null one); pair
    expectations honour ``ignore_row_if``; compound uniqueness flags every row of a
    repeated combination.
    """
    allowed = {
        "column",
        "column_A",
        "column_B",
        "column_list",
        "value_set",
        "min_value",
        "max_value",
        "regex",
        "or_equal",
        "ignore_row_if",
        "strict_min",
        "strict_max",
    }
    if set(kw) - allowed or kw.get("strict_min") or kw.get("strict_max"):
        raise NotImplementedError(f"{kind} with {sorted(kw)}")
    if kind == "expect_column_values_to_not_be_null":
        return pl.col(kw["column"]).is_null()
    if kind == "expect_compound_columns_to_be_unique":
        cols = kw["column_list"]
        if kw.get("ignore_row_if", "all_values_are_missing") == "any_value_is_missing":
            considered = pl.all_horizontal([pl.col(c).is_not_null() for c in cols])
        else:
            considered = pl.any_horizontal([pl.col(c).is_not_null() for c in cols])
        dup = pl.struct(cols).is_duplicated()
        # Duplicates are judged among the considered rows only.
        return (
            considered
            & pl.when(considered).then(pl.struct(cols)).otherwise(None).is_duplicated()
            & dup
        )
    if kind == "expect_column_pair_values_a_to_be_greater_than_b":
        a, b = pl.col(kw["column_A"]), pl.col(kw["column_B"])
        ignore = kw.get("ignore_row_if", "both_values_are_missing")
        if ignore == "either_value_is_missing":
            skip = a.is_null() | b.is_null()
        elif ignore == "both_values_are_missing":
            skip = a.is_null() & b.is_null()
        else:
            raise NotImplementedError(f"{kind} ignore_row_if={ignore}")
        ok = (a >= b) if kw.get("or_equal") else (a > b)
        return ~skip & ~ok.fill_null(False)
    col = pl.col(kw["column"])
    if kind == "expect_column_values_to_be_in_set":
        bad = ~col.is_in(list(kw["value_set"]))
    elif kind == "expect_column_values_to_be_between":
        bad = pl.lit(False)
        if kw.get("min_value") is not None:
            bad = bad | (col < kw["min_value"])
        if kw.get("max_value") is not None:
            bad = bad | (col > kw["max_value"])
    elif kind == "expect_column_value_lengths_to_be_between":
        n = col.str.len_chars()
        bad = pl.lit(False)
        if kw.get("min_value") is not None:
            bad = bad | (n < kw["min_value"])
        if kw.get("max_value") is not None:
            bad = bad | (n > kw["max_value"])
    elif kind == "expect_column_values_to_match_regex":
        bad = ~col.str.contains(kw["regex"])
    else:
        raise NotImplementedError(kind)
    return col.is_not_null() & bad.fill_null(False)


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def evaluate_compiled(frame: pl.DataFrame, rules: list[Rule]) -> list[RuleOutcome]:
    """The suite's expectations evaluated as Polars expressions (for large files).

    Built from the same rules as the suite, with Great Expectations' semantics, so the
    answers are the same (tests compare them on random frames); it needs no import of
    Great Expectations and is about twenty times faster on a million rows.
    """
    exprs = [
        _unexpected_expr(_snake(r.expectation), dict(r.kwargs)).alias(f"e{i}")
        for i, r in enumerate(rules)
    ]
    flags = frame.select(exprs).with_row_index("pos")
    outcomes = []
    for i, r in enumerate(rules):
        rows = flags.filter(pl.col(f"e{i}"))["pos"].to_list()
        outcomes.append(
            RuleOutcome(
                rule=r.rule,
                column=r.column,
                message=r.message,
                severity=r.severity,
                dimension=r.dimension,
                expectation=_snake(r.expectation),
                element_count=frame.height,
                unexpected_rows=rows,
                success=not rows,
            )
        )
    return outcomes


REFERRAL_DATE_COLUMNS = REFERRAL_DATES
EVENT_DATE_COLUMNS = ["event_date"]
