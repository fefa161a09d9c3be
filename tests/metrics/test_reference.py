"""The reference lists (metrics/reference.py) and their packaged copy.

Expected values are taken from the CSV files a second way (the standard library's csv
module), not from the functions under test.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from importlib import resources
from pathlib import Path

import polars as pl
import pytest

from metrics import reference

pytestmark = pytest.mark.unit

REPO_ROOT = Path(__file__).resolve().parents[2]
#: The contract's reference lists: the sibling folder ``shared`` of the repository,
#: present on the team's machines only (never on a user's).
SHARED_REFERENCE = REPO_ROOT.parent / "shared" / "reference"
PACKAGED = Path(str(resources.files("metrics").joinpath("reference_data")))

CACHED = (
    reference.forces,
    reference.offence_codes,
    reference.outcome_types,
    reference.events,
    reference.learning_themes,
    reference.lookups,
)


def clear_reference_caches() -> None:
    for function in CACHED:
        function.cache_clear()


@pytest.fixture(autouse=True)
def fresh_reference_caches() -> Iterator[None]:
    """Every test reads the lists afresh, and leaves no override behind in the caches."""
    clear_reference_caches()
    yield
    clear_reference_caches()


def csv_rows(name: str, folder: Path = PACKAGED) -> list[dict[str, str]]:
    with (folder / name).open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


# --- the packaged copy ------------------------------------------------------------------


def test_packaged_copy_is_byte_identical_to_the_contracts_lists() -> None:
    if not SHARED_REFERENCE.is_dir():
        pytest.skip(
            f"no contract reference folder at {SHARED_REFERENCE} (it exists only beside "
            "the team's work tree), so the packaged copy cannot be compared with it"
        )
    shared = {p.name for p in SHARED_REFERENCE.iterdir() if p.is_file()}
    packaged = {p.name for p in PACKAGED.iterdir() if p.is_file()}
    assert shared, f"{SHARED_REFERENCE} holds no files"
    assert packaged == shared
    different = [
        name
        for name in sorted(shared)
        if (SHARED_REFERENCE / name).read_bytes() != (PACKAGED / name).read_bytes()
    ]
    assert different == [], f"packaged copies differ from {SHARED_REFERENCE}: {different}"


# --- typed frames ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("read", "schema"),
    [
        (
            reference.forces,
            {
                "name": pl.String,
                "short_name": pl.String,
                "region": pl.String,
                "population": pl.Int64,
                "aliases": pl.List(pl.String),
            },
        ),
        (
            reference.offence_codes,
            {
                "code": pl.String,
                "label": pl.String,
                "group": pl.String,
                "contact": pl.Boolean,
                "rape": pl.Boolean,
            },
        ),
        (
            reference.outcome_types,
            {"code": pl.String, "label": pl.String, "group": pl.String, "nfa": pl.Boolean},
        ),
        (
            reference.events,
            {
                "code": pl.String,
                "label": pl.String,
                "detail_required": pl.Boolean,
                "detail_values": pl.List(pl.String),
            },
        ),
        (
            reference.learning_themes,
            {"code": pl.String, "label": pl.String, "description": pl.String},
        ),
    ],
    ids=["forces", "offence_codes", "outcome_types", "events", "learning_themes"],
)
def test_reference_frames_have_expected_types(
    read: Callable[[], pl.DataFrame], schema: dict[str, pl.DataType]
) -> None:
    frame = read()
    assert frame.schema == pl.Schema(schema)
    assert not frame.is_empty()


@pytest.mark.parametrize(
    ("read", "file_name"),
    [
        (reference.forces, "forces.csv"),
        (reference.offence_codes, "offence_codes.csv"),
        (reference.outcome_types, "outcome_types.csv"),
        (reference.events, "events.csv"),
        (reference.learning_themes, "learning_themes.csv"),
    ],
    ids=["forces", "offence_codes", "outcome_types", "events", "learning_themes"],
)
def test_every_row_is_read_and_codes_are_unique(
    read: Callable[[], pl.DataFrame], file_name: str
) -> None:
    frame = read()
    assert frame.height == len(csv_rows(file_name))
    key = frame.columns[0]
    assert frame[key].n_unique() == frame.height, f"repeated {key} in {file_name}"


def test_forces_read_populations_aliases_and_quoted_names() -> None:
    forces = reference.forces()
    by_name = {row["name"]: row for row in forces.iter_rows(named=True)}
    assert len(by_name) == 44  # 43 territorial forces and British Transport Police
    assert by_name["British Transport Police"]["population"] is None
    assert by_name["City of London Police"]["short_name"] == "London, City of"
    assert by_name["Metropolitan Police Service"]["aliases"] == ["Met", "MPS", "Metropolitan"]
    assert by_name["Northumbria Police"]["aliases"] == []
    for row in csv_rows("forces.csv"):
        expected = int(row["population"]) if row["population"].strip() else None
        assert by_name[row["name"].strip()]["population"] == expected


def test_flags_match_the_csv_files() -> None:
    offences = {r["code"].upper(): r for r in csv_rows("offence_codes.csv")}
    lookups = reference.lookups()
    assert lookups.offence_codes == frozenset(offences)
    assert lookups.contact_codes == {c for c, r in offences.items() if r["contact"] == "true"}
    assert lookups.rape_codes == {c for c, r in offences.items() if r["rape"] == "true"}
    outcomes = {r["code"].upper(): r for r in csv_rows("outcome_types.csv")}
    assert lookups.nfa_outcomes == {c for c, r in outcomes.items() if r["nfa"] == "true"}
    assert "15" in lookups.nfa_outcomes
    assert "1" not in lookups.nfa_outcomes


# --- resolving a force ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("label", "name"),
    [
        ("Cleveland Police", "Cleveland Police"),  # name
        ("Cleveland", "Cleveland Police"),  # short name
        ("Cleveland Constabulary", "Cleveland Police"),  # alias
        ("GMP", "Greater Manchester Police"),
        ("gmp", "Greater Manchester Police"),  # case
        ("  West Yorkshire Police  ", "West Yorkshire Police"),  # spaces
        ("\tmet\n", "Metropolitan Police Service"),
        ("METROPOLITAN POLICE", "Metropolitan Police Service"),
        ("London, City of", "City of London Police"),
        ("Avon & Somerset", "Avon and Somerset Constabulary"),
        ("btp", "British Transport Police"),
    ],
)
def test_resolve_force_by_name_short_name_or_alias(label: str, name: str) -> None:
    assert reference.resolve_force(label) == name


@pytest.mark.parametrize("label", [None, "", "   ", "Nowhere Constabulary", "Cleveland Police X"])
def test_resolve_force_unknown_is_none(label: str | None) -> None:
    assert reference.resolve_force(label) is None


def test_every_label_in_the_list_resolves_to_its_own_force_only() -> None:
    owners: dict[str, set[str]] = {}
    for row in csv_rows("forces.csv"):
        labels = [row["name"], row["short_name"], *row["aliases"].split(";")]
        for label in filter(None, (x.strip() for x in labels)):
            owners.setdefault(label.lower(), set()).add(row["name"].strip())
    ambiguous = {label: names for label, names in owners.items() if len(names) > 1}
    assert ambiguous == {}
    for label, (name,) in owners.items():
        assert reference.resolve_force(label.upper()) == name


# --- a deployment's own populations -----------------------------------------------------


def test_forces_file_override_replaces_populations(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = csv_rows("forces.csv")
    for row in rows:
        if row["name"] == "Cleveland Police":
            row["population"] = "600000"
        if row["name"] == "Kent Police":
            row["aliases"] = "Kent Constabulary"
    override = tmp_path / "forces-2025.csv"
    with override.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)

    packaged = reference.forces()
    assert reference.resolve_force("Kent Constabulary") is None
    monkeypatch.setenv(reference.FORCES_OVERRIDE_ENV, str(override))
    clear_reference_caches()

    overridden = reference.forces()
    population = dict(zip(overridden["name"], overridden["population"], strict=True))
    assert population["Cleveland Police"] == 600_000
    assert population["Durham Constabulary"] == 636_897  # unchanged rows read as before
    assert overridden.schema == packaged.schema
    assert overridden.height == packaged.height
    assert reference.resolve_force("Kent Constabulary") == "Kent Police"

    monkeypatch.delenv(reference.FORCES_OVERRIDE_ENV)
    clear_reference_caches()
    assert reference.forces().equals(packaged)


def test_empty_forces_override_means_the_packaged_list(monkeypatch: pytest.MonkeyPatch) -> None:
    packaged = reference.forces()
    monkeypatch.setenv(reference.FORCES_OVERRIDE_ENV, "")
    clear_reference_caches()
    assert reference.forces().equals(packaged)
