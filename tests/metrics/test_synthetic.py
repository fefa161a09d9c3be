"""The synthetic data set, checked a second way.

The files are read back with the standard library (``csv``, ``openpyxl`` for the one
workbook) and judged by a small checker written here from the contract's words, with the
reference lists read independently from the packaged CSV files. Nothing below reuses
the generator's own code to decide what is right.
"""

from __future__ import annotations

import csv
import io
import json
import re
import time
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

import metrics
from metrics.synthetic import SyntheticDataset, write_synthetic_dataset

pytestmark = pytest.mark.unit

REFERENCE = Path(metrics.__file__).parent / "reference_data"
AS_AT = date(2025, 11, 4)
REVIEW_OPENED = date(2025, 6, 1)
TODAY = date.today()
COLUMNS = [
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
    "suspects_ethnicity_recorded_count",
]
EVENT_COLUMNS = ["force", "force_referral_id", "event", "event_date", "detail"]


def _reference(name: str) -> list[dict[str, str]]:
    with (REFERENCE / name).open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


FORCES = _reference("forces.csv")
FORCE_BY_LABEL = {
    label.strip().lower(): f["name"]
    for f in FORCES
    for label in [f["name"], f["short_name"], *f["aliases"].split(";")]
    if label.strip()
}
OFFENCES = {r["code"]: r for r in _reference("offence_codes.csv")}
RAPE = {c for c, r in OFFENCES.items() if r["rape"] == "true"}
CONTACT = {c for c, r in OFFENCES.items() if r["contact"] == "true"}
OUTCOMES = {r["code"]: r["nfa"] == "true" for r in _reference("outcome_types.csv")}
EVENTS = {r["code"]: r for r in _reference("events.csv")}
DETAILS = {
    c: {v.lower() for v in r["detail_values"].split(";") if v}
    for c, r in EVENTS.items()
    if r["detail_required"] == "true"
}


# --- reading the files back -----------------------------------------------------------------


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def read_rows(path: Path) -> list[dict[str, str]]:
    """A file's data rows as text cells, whatever form it was written in."""
    data = path.read_bytes()
    if data.startswith(b"PK"):
        from openpyxl import load_workbook

        ws = load_workbook(io.BytesIO(data), read_only=True).worksheets[0]
        rows = [[_cell(v) for v in row] for row in ws.iter_rows(values_only=True)]
        header, body = rows[0], rows[1:]
        return [dict(zip(header, r, strict=True)) for r in body]
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1252")
    return list(csv.DictReader(io.StringIO(text, newline="")))


def read_header(path: Path) -> list[str]:
    data = path.read_bytes()
    if data.startswith(b"PK"):
        from openpyxl import load_workbook

        ws = load_workbook(io.BytesIO(data), read_only=True).worksheets[0]
        return [str(v) for v in next(ws.iter_rows(values_only=True))]
    return next(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


# --- the contract's rules, written again in plain Python --------------------------------------


def parse_date(text: str) -> date | None:
    text = text.strip()
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            return datetime.strptime(text, "%Y-%m-%d").date()
        if re.fullmatch(r"\d{1,2}/\d{1,2}/\d{4}", text):
            return datetime.strptime(text, "%d/%m/%Y").date()
    except ValueError:
        return None
    return None


def parse_count(text: str) -> int | None:
    return int(text) if re.fullmatch(r"\d+", text.strip()) else None


def outcome_code(text: str) -> str:
    return re.sub(r"^(OUTCOME\s*|OC|O)", "", text.strip().upper()).strip()


def referral_problems(row: dict[str, str]) -> list[str]:
    """Every rule of feed 1 that the row breaks (repeated keys are judged per file)."""
    problems = []
    for col in COLUMNS[:-1]:
        if not row[col].strip():
            problems.append(f"{col} missing")
    if row["force"].strip() and row["force"].strip().lower() not in FORCE_BY_LABEL:
        problems.append("unknown force")
    if not 1 <= len(row["force_referral_id"].strip()) <= 64 and row["force_referral_id"].strip():
        problems.append("id length")
    dates = {c: parse_date(row[c]) for c in ("referral_date", "crime_recorded_date", "nfa_date")}
    for c, d in dates.items():
        if row[c].strip() and d is None:
            problems.append(f"{c} unparseable")
    crime, nfa, ref = dates["crime_recorded_date"], dates["nfa_date"], dates["referral_date"]
    if crime and nfa and crime > nfa:
        problems.append("crime after nfa")
    if nfa and ref and nfa > ref:
        problems.append("nfa after referral")
    if ref and ref > TODAY:
        problems.append("referral in the future")
    if row["original_outcome"].strip() and outcome_code(row["original_outcome"]) not in OUTCOMES:
        problems.append("unknown outcome")
    codes = [c.strip().upper() for c in row["offence_codes"].split(";") if c.strip()]
    if row["offence_codes"].strip() and (not codes or any(c not in OFFENCES for c in codes)):
        problems.append("unknown offence code")
    counts = {c: parse_count(row[c]) for c in COLUMNS[7:]}
    for c, v in counts.items():
        if row[c].strip() and v is None:
            problems.append(f"{c} not a whole number")
    suspects = counts["suspects_count"]
    for c in ("suspects_alive_count", "suspects_ethnicity_recorded_count"):
        if suspects is not None and counts[c] is not None and counts[c] > suspects:
            problems.append(f"{c} above suspects_count")
    return problems


def key_of(row: dict[str, str]) -> tuple[str | None, str]:
    return FORCE_BY_LABEL.get(row["force"].strip().lower()), row["force_referral_id"].strip()


def invalid_referral_rows(path: Path) -> dict[int, list[str]]:
    """Spreadsheet row numbers of the invalid rows of one return, with their problems."""
    rows = read_rows(path)
    found: dict[int, list[str]] = {}
    keys = Counter(key_of(r) for r in rows)
    for i, r in enumerate(rows, start=2):
        problems = referral_problems(r)
        if keys[key_of(r)] > 1 and r["force_referral_id"].strip():
            problems.append("repeated key")
        if problems:
            found[i] = problems
    return found


def ineligibility(row: dict[str, str]) -> set[str]:
    reasons = set()
    crime = parse_date(row["crime_recorded_date"])
    if not date(2010, 1, 1) <= crime <= date(2025, 3, 31):
        reasons.add("outside_review_period")
    if int(row["suspects_count"]) < 2:
        reasons.add("fewer_than_two_suspects")
    if int(row["victims_count"]) < 2:
        reasons.add("fewer_than_two_victims")
    if not {c.strip().upper() for c in row["offence_codes"].split(";")} & CONTACT:
        reasons.add("no_contact_offence")
    if int(row["suspects_alive_count"]) < 1:
        reasons.add("no_suspect_alive")
    if not OUTCOMES[outcome_code(row["original_outcome"])]:
        reasons.add("not_closed_as_nfa")
    return reasons


def is_rape(row: dict[str, str]) -> bool:
    return bool({c.strip().upper() for c in row["offence_codes"].split(";")} & RAPE)


def valid_referrals(ds: SyntheticDataset) -> dict[tuple[str, str], dict[str, str]]:
    """Valid referral rows of every return, by canonical key."""
    out = {}
    for path in ds.referral_files:
        bad = invalid_referral_rows(path)
        for i, r in enumerate(read_rows(path), start=2):
            if i not in bad:
                out[key_of(r)] = r
    return out


def invalid_event_rows(ds: SyntheticDataset) -> dict[int, list[str]]:
    """Row numbers of invalid events in the events file, judged against valid referrals."""
    referrals = valid_referrals(ds)
    rows = read_rows(ds.event_files[0])
    found: dict[int, list[str]] = defaultdict(list)
    ok: dict[tuple, list[tuple[date, str, str]]] = defaultdict(list)
    for i, r in enumerate(rows, start=2):
        key = key_of(r)
        event = r["event"].strip().lower()
        day = parse_date(r["event_date"])
        detail = (r.get("detail") or "").strip().lower()
        if key not in referrals:
            found[i].append("unknown referral")
        if event not in EVENTS:
            found[i].append("unknown event")
        if day is None:
            found[i].append("bad date")
        elif key in referrals:
            if day < parse_date(referrals[key]["referral_date"]) or day > TODAY:
                found[i].append("date out of range")
        if event in DETAILS and detail not in DETAILS[event]:
            found[i].append("bad detail")
        if i not in found:
            ok[key].append((day, event, detail))
    for i, r in enumerate(rows, start=2):
        if i in found:
            continue
        day, event = parse_date(r["event_date"]), r["event"].strip().lower()
        earlier = [(d, e, x) for d, e, x in ok[key_of(r)] if d <= day]
        need = {
            "assessment_completed": lambda e, x: e == "assessment_started",
            "reinvestigation_started": lambda e, x: (
                e == "assessment_completed" and x in ("passed_back_to_force", "adopted_by_nca")
            ),
            "suspect_charged": lambda e, x: e == "reinvestigation_started",
            "suspect_convicted": lambda e, x: e == "suspect_charged",
            "suspect_acquitted": lambda e, x: e == "suspect_charged",
        }.get(event)
        if need and not any(need(e, x) for _, e, x in earlier):
            found[i].append("order")
    return dict(found)


def test_the_checker_itself_catches_each_rule(tmp_path: Path) -> None:
    """The checker below must not pass everything: hand-made rows, one rule broken each."""
    good = dict(zip(COLUMNS, ["K-1", "Kent Police", "2025-08-01", "2015-03-02", "2016-01-10",
                              "OC15", "19D;71", "3", "3", "2", ""], strict=True))  # fmt: skip
    assert referral_problems(good) == [] and ineligibility(good) == set() and is_rape(good)
    broken = [
        {"force": "Kent Polcie"},
        {"referral_date": "07/13/2025"},
        {"nfa_date": "31/02/2016"},
        {"victims_count": ""},
        {"crime_recorded_date": "2016-01-10", "nfa_date": "2015-03-02"},
        {"offence_codes": "19D;19J"},
        {"original_outcome": "NFA"},
        {"suspects_alive_count": "4"},
        {"suspects_ethnicity_recorded_count": "4"},
    ]
    for change in broken:
        assert referral_problems({**good, **change}), change
    path = tmp_path / "two.csv"
    with path.open("w", newline="") as fh:
        w = csv.DictWriter(fh, COLUMNS)
        w.writeheader()
        w.writerows([good, {**good, "force": "kent"}, {**good, "force_referral_id": "K-2"}])
    assert set(invalid_referral_rows(path)) == {2, 3}


# --- fixtures ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def default(tmp_path_factory: pytest.TempPathFactory) -> SyntheticDataset:
    return write_synthetic_dataset(tmp_path_factory.mktemp("default"))


@pytest.fixture(scope="module")
def corrupted(tmp_path_factory: pytest.TempPathFactory) -> SyntheticDataset:
    return write_synthetic_dataset(tmp_path_factory.mktemp("corrupted"), error_rate=0.05)


def all_referrals(ds: SyntheticDataset) -> list[dict[str, str]]:
    return [r for p in ds.referral_files for r in read_rows(p)]


# --- the published figures and the shape of the files ------------------------------------------


def test_defaults_reproduce_the_published_figures(default: SyntheticDataset) -> None:
    rows = all_referrals(default)
    assert len(rows) == 1273
    assert len({FORCE_BY_LABEL[r["force"].strip().lower()] for r in rows}) == 23
    assert sum(is_rape(r) for r in rows) == 236
    eligible = sum(not ineligibility(r) for r in rows)
    events = read_rows(default.event_files[0])
    assert default.expected == {
        "referrals": 1273,
        "forces_referring": 23,
        "rape_referrals": 236,
        "eligible": eligible,
        "events": len(events),
    }
    assert default.corrections_file is None


def test_files_are_named_synthetic_one_return_per_force(default: SyntheticDataset) -> None:
    paths = [*default.referral_files, *default.event_files]
    assert all(p.name.startswith("SYNTHETIC-") and p.exists() for p in paths)
    assert [p.name for p in default.event_files] == ["SYNTHETIC-events.csv"]
    assert len(default.referral_files) == 23
    forces_per_file = [
        {FORCE_BY_LABEL[r["force"].strip().lower()] for r in read_rows(p)}
        for p in default.referral_files
    ]
    assert all(len(f) == 1 for f in forces_per_file)
    assert len(set().union(*forces_per_file)) == 23
    short = {f["name"]: f["short_name"] for f in FORCES}
    for path, (force,) in zip(default.referral_files, forces_per_file, strict=True):
        slug = re.sub(r"[^a-z0-9]+", "-", short[force].lower()).strip("-")
        assert path.stem == f"SYNTHETIC-referrals-{slug}"
    for path in default.referral_files:
        assert read_header(path) == COLUMNS
    assert read_header(default.event_files[0]) == EVENT_COLUMNS


def test_small_sets_use_the_other_forms_the_contract_allows(default: SyntheticDataset) -> None:
    raw = {p: p.read_bytes() for p in default.referral_files}
    xlsx = [p for p, b in raw.items() if b.startswith(b"PK")]
    bom = [p for p, b in raw.items() if b.startswith(b"\xef\xbb\xbf")]
    crlf = [p for p, b in raw.items() if b"\r\n" in b]
    assert len(xlsx) == 1 and xlsx[0].suffix == ".xlsx"
    assert len(bom) == 1 and len(crlf) == 1
    crlf[0].read_bytes().decode("cp1252")
    cells = [r for p in default.referral_files for r in read_rows(p)]
    assert any(re.fullmatch(r"\d{2}/\d{2}/\d{4}", r["referral_date"]) for r in cells)
    assert any(
        re.fullmatch(r"\d{1,2}/\d{1,2}/\d{4}", r["nfa_date"]) and len(r["nfa_date"]) < 10
        for r in cells
    )
    names = {f["name"] for f in FORCES}
    assert any(r["force"] not in names for r in cells), "some force written as alias or short name"
    from openpyxl import load_workbook

    ws = load_workbook(xlsx[0], read_only=True).worksheets[0]
    second = next(ws.iter_rows(min_row=2, max_row=2, values_only=True))
    assert isinstance(second[2], datetime), "workbook dates are real date cells"


@pytest.mark.slow
def test_large_sets_are_plain_utf8_csv(tmp_path: Path) -> None:
    ds = write_synthetic_dataset(tmp_path, referrals=100_001, forces=10)
    for path in ds.referral_files:
        data = path.read_bytes()
        assert path.suffix == ".csv" and not data.startswith((b"PK", b"\xef\xbb\xbf"))
        assert b"\r\n" not in data[:10000]
        assert re.search(rb"\n[A-Z]+-\d{4}-\d{6},[^,]+,\d{4}-\d{2}-\d{2},", data[:2000])


# --- every row valid, and plausible ---------------------------------------------------------------


def test_every_referral_row_is_valid_under_the_contract(default: SyntheticDataset) -> None:
    for path in default.referral_files:
        assert invalid_referral_rows(path) == {}, path.name


def test_references_dates_and_counts_are_plausible(default: SyntheticDataset) -> None:
    rows = all_referrals(default)
    for r in rows:
        ref, crime, nfa = (parse_date(r[c]) for c in COLUMNS[2:5])
        assert REVIEW_OPENED <= ref <= AS_AT
        assert crime <= nfa <= ref
        assert (nfa - crime).days <= 730
        m = re.fullmatch(r"([A-Z]+)-(\d{4})-(\d{6})", r["force_referral_id"])
        assert m and int(m.group(2)) == crime.year
    eligible = [r for r in rows if not ineligibility(r)]
    years = Counter(parse_date(r["crime_recorded_date"]).year for r in eligible)
    assert min(years) == 2010 and max(years) == 2025
    assert years[2010] + years[2011] < years[2018] + years[2019], "recent years more common"
    outcomes = Counter(outcome_code(r["original_outcome"]) for r in eligible)
    main = sum(outcomes[c] for c in ("14", "15", "16", "18", "21"))
    assert main / len(eligible) > 0.8 and len(outcomes) > 5
    assert all(int(r["suspects_count"]) >= 2 for r in eligible)
    blanks = sum(r["suspects_ethnicity_recorded_count"] == "" for r in rows)
    assert 0 < blanks < len(rows) / 2


def test_rape_is_exact_and_only_where_the_count_says(tmp_path: Path) -> None:
    for i, (n, k, rape) in enumerate([(500, 5, 400), (300, 3, 300), (200, 2, 0), (44, 44, None)]):
        ds = write_synthetic_dataset(tmp_path / str(i), referrals=n, forces=k, rape=rape, seed=i)
        rows = all_referrals(ds)
        want = round(n * 236 / 1273) if rape is None else rape
        assert len(rows) == n and sum(is_rape(r) for r in rows) == want
        assert ds.expected["rape_referrals"] == want
        assert len({key_of(r)[0] for r in rows}) == k
        for path in ds.referral_files:
            assert invalid_referral_rows(path) == {}


def test_forces_are_weighted_by_population(tmp_path: Path) -> None:
    """Over many seeds the Met is chosen far more often than City of London."""
    chosen: Counter[str] = Counter()
    for seed in range(30):
        ds = write_synthetic_dataset(tmp_path / str(seed), referrals=40, forces=3, seed=seed)
        chosen.update({key_of(read_rows(p)[0])[0] for p in ds.referral_files})
    assert chosen["Metropolitan Police Service"] > 5 * chosen["City of London Police"]


def test_every_ineligibility_reason_is_represented(default: SyntheticDataset) -> None:
    rows = all_referrals(default)
    reasons = [ineligibility(r) for r in rows]
    ineligible = [x for x in reasons if x]
    assert 0.08 <= len(ineligible) / len(rows) <= 0.12
    seen = Counter(reason for x in ineligible for reason in x)
    assert set(seen) == {
        "outside_review_period",
        "fewer_than_two_suspects",
        "fewer_than_two_victims",
        "no_contact_offence",
        "no_suspect_alive",
        "not_closed_as_nfa",
    }
    assert any(len(x) > 1 for x in ineligible)
    assert default.expected["eligible"] == len(rows) - len(ineligible)


# --- events ------------------------------------------------------------------------------------------


def test_events_obey_the_order_rules_and_dates(default: SyntheticDataset) -> None:
    assert invalid_event_rows(default) == {}
    referrals = {key_of(r): r for r in all_referrals(default)}
    events = read_rows(default.event_files[0])
    per_referral: dict[tuple, list[dict[str, str]]] = defaultdict(list)
    for e in events:
        per_referral[key_of(e)].append(e)
        assert parse_date(e["event_date"]) <= AS_AT
    assert all(not ineligibility(referrals[k]) for k in per_referral)
    assert 3 <= len(events) / len(referrals) <= 6
    completed = [e for e in events if e["event"] == "assessment_completed"]
    assert all(
        sum(e["event"] == "assessment_completed" for e in evs) <= 1 for evs in per_referral.values()
    )
    assert len(set(map(lambda e: tuple(e.values()), events))) == len(events), "no exact repeats"
    decisions = Counter(e["detail"] for e in completed)
    assert 0.45 <= decisions["passed_back_to_force"] / len(completed) <= 0.65
    assert decisions["nfa_upheld"] and decisions["adopted_by_nca"]
    kinds = Counter(e["event"] for e in events)
    assert kinds["learning_theme"] > kinds["assessment_completed"]
    assert 0 < kinds["suspect_charged"] < kinds["reinvestigation_started"] / 3
    assert 0 < kinds["misconduct_referral"] < len(completed) / 10
    themes = Counter(e["detail"] for e in events if e["event"] == "learning_theme")
    top = {t for t, _ in themes.most_common(4)}
    assert top == {
        "lines_of_inquiry_not_followed",
        "victim_account_not_best_practice",
        "suspect_not_pursued",
        "suspect_not_interviewed",
    }


def test_later_as_at_means_more_progress(tmp_path: Path) -> None:
    early = write_synthetic_dataset(tmp_path / "a", as_at=date(2025, 7, 1))
    later = write_synthetic_dataset(tmp_path / "b", as_at=date(2026, 6, 1))
    assert early.expected["events"] < later.expected["events"]
    for ds, limit in ((early, date(2025, 7, 1)), (later, date(2026, 6, 1))):
        assert invalid_event_rows(ds) == {}
        for r in all_referrals(ds):
            assert parse_date(r["referral_date"]) <= limit


# --- determinism ------------------------------------------------------------------------------------


def test_the_same_seed_gives_the_same_files_and_another_seed_differs(tmp_path: Path) -> None:
    a = write_synthetic_dataset(tmp_path / "a", seed=7)
    b = write_synthetic_dataset(tmp_path / "b", seed=7)
    c = write_synthetic_dataset(tmp_path / "c", seed=8)
    files = lambda ds: [*ds.referral_files, *ds.event_files]  # noqa: E731
    assert [p.name for p in files(a)] == [p.name for p in files(b)]
    for pa, pb in zip(files(a), files(b), strict=True):
        assert pa.read_bytes() == pb.read_bytes(), pa.name
    assert a.expected == b.expected
    assert read_rows(a.event_files[0]) != read_rows(c.event_files[0])
    assert [r for p in a.referral_files for r in read_rows(p)] != all_referrals(c)


# --- corruption and the corrections record -------------------------------------------------------


def _corrections(ds: SyntheticDataset) -> list[dict[str, str]]:
    assert ds.corrections_file is not None
    with ds.corrections_file.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_error_rate_does_not_change_the_clean_data(
    default: SyntheticDataset, corrupted: SyntheticDataset
) -> None:
    assert corrupted.expected == default.expected
    assert [p.name for p in corrupted.referral_files] == [p.name for p in default.referral_files]


def test_corrupted_rows_are_recorded_and_invalid(corrupted: SyntheticDataset) -> None:
    lines = _corrections(corrupted)
    assert list(lines[0]) == [
        "feed", "file", "row", "force", "force_referral_id",
        "column", "corrupted_value", "correct_value",
    ]  # fmt: skip
    recorded = defaultdict(set)
    changed = defaultdict(set)
    for line in lines:
        recorded[(line["feed"], line["file"])].add(int(line["row"]))
        if line["corrupted_value"] != line["correct_value"]:
            changed[line["feed"]].add((line["file"], int(line["row"])))
    # About 5% of each feed's rows were corrupted (rounded), the rest untouched.
    assert len(changed["referrals"]) == round(0.05 * 1273)
    assert len(changed["events"]) == round(0.05 * corrupted.expected["events"])
    # The checker finds exactly the recorded rows invalid: nothing more, nothing less.
    for path in corrupted.referral_files:
        assert set(invalid_referral_rows(path)) == recorded[("referrals", path.name)], path.name
    events = corrupted.event_files[0]
    assert set(invalid_event_rows(corrupted)) == recorded[("events", events.name)]


@pytest.mark.parametrize(("error_rate", "seed"), [(0.01, 3), (0.3, 4), (0.9, 5)])
def test_any_error_rate_quarantines_exactly_the_recorded_rows(
    tmp_path: Path, error_rate: float, seed: int
) -> None:
    ds = write_synthetic_dataset(
        tmp_path, referrals=400, forces=6, seed=seed, error_rate=error_rate
    )
    recorded = defaultdict(set)
    for line in _corrections(ds):
        recorded[line["file"]].add(int(line["row"]))
    for path in ds.referral_files:
        assert set(invalid_referral_rows(path)) == recorded[path.name], path.name
    assert set(invalid_event_rows(ds)) == recorded[ds.event_files[0].name]
    corrupted_rows = {
        (x["file"], x["row"]) for x in _corrections(ds) if x["feed"] == "referrals"
        and x["corrupted_value"] != x["correct_value"]
    }  # fmt: skip
    assert len(corrupted_rows) == round(error_rate * 400)


def test_every_kind_of_error_appears(corrupted: SyntheticDataset) -> None:
    document = json.loads(corrupted.corrections_file.with_suffix(".json").read_text())
    kinds = Counter((r["feed"], r["kind"]) for r in document["rows"])
    for kind in (
        "force_typo", "us_order_date", "impossible_date", "blank_required", "swapped_dates",
        "unknown_offence_code", "unknown_outcome", "repeated_key", "counts_inconsistent",
    ):  # fmt: skip
        assert kinds[("referrals", kind)], kind
    for kind in ("unknown_event", "bad_detail", "missing_detail", "impossible_date"):
        assert kinds[("events", kind)], kind
    lines = _corrections(corrupted)
    us = [x for x in lines if re.fullmatch(r"\d{2}/(1[3-9]|2\d|3[01])/\d{4}", x["corrupted_value"])]
    assert us, "US-order dates with a day above 12"


def test_repairing_the_recorded_cells_gives_the_clean_data(
    default: SyntheticDataset, corrupted: SyntheticDataset
) -> None:
    lines = _corrections(corrupted)
    document = json.loads(corrupted.corrections_file.with_suffix(".json").read_text())
    pairs = list(zip(corrupted.referral_files, default.referral_files, strict=True))
    pairs.append((corrupted.event_files[0], default.event_files[0]))
    by_file = defaultdict(list)
    for line in lines:
        by_file[line["file"]].append(line)
    whole_rows = {(r["file"], r["row"]): r["correct"] for r in document["rows"]}
    for bad_path, clean_path in pairs:
        rows, clean = read_rows(bad_path), read_rows(clean_path)
        for line in by_file[bad_path.name]:
            row = rows[int(line["row"]) - 2]
            assert row[line["column"]] == line["corrupted_value"]
            assert clean[int(line["row"]) - 2][line["column"]] == line["correct_value"]
            assert line["force_referral_id"] == clean[int(line["row"]) - 2]["force_referral_id"]
            row[line["column"]] = line["correct_value"]
        assert rows == clean, bad_path.name
        for (file, row), correct in whole_rows.items():
            if file == bad_path.name:
                assert {k: v for k, v in correct.items() if k in clean[row - 2]} == clean[row - 2]


# --- arguments ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"forces": 0}, "forces"),
        ({"forces": 45}, "forces"),
        ({"referrals": 10, "forces": 11}, "referrals"),
        ({"referrals": 100, "rape": 101}, "rape"),
        ({"rape": -1}, "rape"),
        ({"error_rate": 1.0}, "error rate"),
        ({"error_rate": -0.1}, "error rate"),
        ({"as_at": date(2025, 5, 31)}, "as-at"),
        ({"as_at": TODAY + timedelta(days=1)}, "as-at"),
        ({"seed": -1}, "seed"),
    ],
)
def test_impossible_options_raise_value_error(tmp_path: Path, options: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        write_synthetic_dataset(tmp_path, **options)


# --- size ---------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_a_million_referrals_in_well_under_twenty_seconds(tmp_path: Path) -> None:
    """Budgeted in CPU seconds of this process, which other jobs on a shared machine do
    not inflate; wall-clock time on an idle two-core machine is about the same."""
    wall, cpu = time.perf_counter(), time.process_time()
    ds = write_synthetic_dataset(tmp_path, referrals=1_000_000)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    assert cpu < 20, f"{cpu:.1f} s of CPU ({wall:.1f} s wall)"
    assert wall < 60, f"{wall:.1f} s wall: far slower than expected even on a busy machine"
    lines = sum(p.read_bytes().count(b"\n") - 1 for p in ds.referral_files)
    assert lines == 1_000_000 == ds.expected["referrals"]
    assert ds.expected["forces_referring"] == 23
    assert ds.expected["rape_referrals"] == round(1_000_000 * 236 / 1273)
