"""Reference lists: forces, offence codes, outcome types, events and learning themes.

The lists are carried as package data (``metrics/reference_data``), copied from the
contract's ``shared/reference`` folder. A deployment can replace the force populations
with newer ONS estimates by pointing ``BEACONPORT_FORCES_FILE`` at a CSV of its own with
the same columns (see docs/deployment.md).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

import polars as pl

FORCES_OVERRIDE_ENV = "BEACONPORT_FORCES_FILE"

#: Forces whose population makes a rate per 100,000 residents meaningless.
MIN_POPULATION_FOR_RATE = 100_000


def _data_path(name: str) -> Path:
    return Path(str(resources.files("metrics").joinpath("reference_data", name)))


def _bool(col: str) -> pl.Expr:
    return pl.col(col).str.strip_chars().str.to_lowercase() == "true"


@cache
def forces() -> pl.DataFrame:
    """Police forces: ``name``, ``short_name``, ``region``, ``population`` (nullable), ``aliases`` (list)."""
    df = pl.read_csv(
        Path(os.environ[FORCES_OVERRIDE_ENV])
        if os.environ.get(FORCES_OVERRIDE_ENV)
        else _data_path("forces.csv"),
        infer_schema=False,
    )
    return df.select(
        pl.col("name").str.strip_chars(),
        pl.col("short_name").str.strip_chars(),
        pl.col("region").str.strip_chars(),
        pl.col("population").str.strip_chars().cast(pl.Int64, strict=False),
        pl.col("aliases")
        .fill_null("")
        .str.split(";")
        .list.eval(pl.element().str.strip_chars())
        .list.filter(pl.element() != ""),
    )


@cache
def offence_codes() -> pl.DataFrame:
    """Home Office sexual-offence codes with ``group``, ``contact`` and ``rape`` flags."""
    df = pl.read_csv(_data_path("offence_codes.csv"), infer_schema=False)
    return df.select(
        pl.col("code").str.strip_chars().str.to_uppercase(),
        "label",
        "group",
        _bool("contact").alias("contact"),
        _bool("rape").alias("rape"),
    )


@cache
def outcome_types() -> pl.DataFrame:
    """Home Office crime outcome types with the ``nfa`` (no further action) flag."""
    df = pl.read_csv(_data_path("outcome_types.csv"), infer_schema=False)
    return df.select(
        pl.col("code").str.strip_chars().str.to_uppercase(),
        "label",
        "group",
        _bool("nfa").alias("nfa"),
    )


@cache
def events() -> pl.DataFrame:
    """Review event codes; ``detail_values`` is the list of allowed details (empty when free)."""
    df = pl.read_csv(_data_path("events.csv"), infer_schema=False)
    return df.select(
        pl.col("code").str.strip_chars().str.to_lowercase(),
        "label",
        _bool("detail_required").alias("detail_required"),
        pl.col("detail_values")
        .fill_null("")
        .str.split(";")
        .list.eval(pl.element().str.strip_chars().str.to_lowercase())
        .list.filter(pl.element() != ""),
    )


@cache
def learning_themes() -> pl.DataFrame:
    """The review's learning themes: ``code``, ``label``, ``description``."""
    return pl.read_csv(_data_path("learning_themes.csv"), infer_schema=False)


#: Plain words for the review's decisions (the values of ``assessment_completed``'s
#: detail), the same on every page, in every download and on the command line.
DECISION_LABELS: dict[str, str] = {
    "nfa_upheld": "No further action upheld",
    "passed_back_to_force": "Passed back to force",
    "adopted_by_nca": "Adopted by the NCA",
}


def theme_labels() -> dict[str, str]:
    """Each learning theme's code and its label from the reference list."""
    themes = learning_themes()
    return dict(zip(themes["code"], themes["label"], strict=True))


@dataclass(frozen=True)
class Lookups:
    """Plain-Python views of the reference lists, for the hot paths of the gate."""

    force_by_label: dict[str, str]
    force_names: tuple[str, ...]
    offence_codes: frozenset[str]
    contact_codes: frozenset[str]
    rape_codes: frozenset[str]
    outcome_codes: frozenset[str]
    nfa_outcomes: frozenset[str]
    event_codes: frozenset[str]
    detail_values: dict[str, tuple[str, ...]]
    theme_codes: tuple[str, ...]


@cache
def lookups() -> Lookups:
    """Lookup tables built once per process from the reference lists."""
    f = forces()
    by_label: dict[str, str] = {}
    for row in f.iter_rows(named=True):
        for label in [row["name"], row["short_name"], *row["aliases"]]:
            by_label[label.strip().lower()] = row["name"]
    oc = offence_codes()
    ot = outcome_types()
    ev = events()
    return Lookups(
        force_by_label=by_label,
        force_names=tuple(f["name"].to_list()),
        offence_codes=frozenset(oc["code"]),
        contact_codes=frozenset(oc.filter("contact")["code"]),
        rape_codes=frozenset(oc.filter("rape")["code"]),
        outcome_codes=frozenset(ot["code"]),
        nfa_outcomes=frozenset(ot.filter("nfa")["code"]),
        event_codes=frozenset(ev["code"]),
        detail_values={
            r["code"]: tuple(r["detail_values"])
            for r in ev.iter_rows(named=True)
            if r["detail_required"]
        },
        theme_codes=tuple(learning_themes()["code"].to_list()),
    )


def resolve_force(label: str | None) -> str | None:
    """The canonical force name for a name, short name or alias (case-insensitive)."""
    if label is None:
        return None
    return lookups().force_by_label.get(label.strip().lower())
