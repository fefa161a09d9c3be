"""The synthetic data set: invented referral returns and review events, written as files.

EVERY FIGURE IN THESE FILES IS INVENTED. No row describes a real case, force return or
person; only the headline totals at the default size (1,273 referrals from 23 forces,
236 involving rape, as published on 4 November 2025) are copied from the review's
public statement, so that a demonstration matches what the public has been told.

``beaconport seed`` calls :func:`write_synthetic_dataset` and then ingests the files by
the same gate as real returns. The distributions, file forms, kinds of error and the
corrections record are described in ``docs/synthetic-data.md``.

The clean data depend only on the seed and the size options. ``error_rate`` then
corrupts a copy, drawing from a separate random stream, and records every cell it
changed; putting the recorded values back gives the clean data again.
"""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from metrics import contract, reference

# --- the review and the published figures ----------------------------------------------

REVIEW_OPENED = date(2025, 6, 1)  #: the review started taking referrals (mid-2025)
PERIOD_START = date(2010, 1, 1)  #: first day of the review period (crime recorded)
PERIOD_END = date(2025, 3, 31)  #: last day of the review period
PUBLISHED_AS_AT = date(2025, 11, 4)
PUBLISHED_REFERRALS = 1273
PUBLISHED_FORCES = 23
PUBLISHED_RAPE = 236

#: Above this many referrals every return is plain UTF-8 CSV (speed for benchmarks).
FORM_VARIETY_MAX_REFERRALS = 100_000
#: British Transport Police has no resident population; it is chosen and sent referrals
#: as if it served this many residents (a small force's worth).
BTP_WEIGHT_AS_POPULATION = 250_000

PREFIX = "SYNTHETIC-"
EVENTS_FILE = f"{PREFIX}events.csv"
CORRECTIONS_CSV = f"{PREFIX}corrections.csv"
CORRECTIONS_JSON = f"{PREFIX}corrections.json"

REFERRAL_COLUMNS = [*contract.REFERRAL_REQUIRED, *contract.REFERRAL_OPTIONAL]
DATE_COLUMNS = contract.REFERRAL_DATES
COUNT_COLUMNS = contract.REFERRAL_COUNTS
REQUIRED_REFERRAL_COLUMNS = contract.REFERRAL_REQUIRED
EVENT_COLUMNS = [*contract.EVENT_REQUIRED, *contract.EVENT_OPTIONAL]
CORRECTION_COLUMNS = [
    "feed",
    "file",
    "row",
    "force",
    "force_referral_id",
    "column",
    "corrupted_value",
    "correct_value",
]

INELIGIBILITY_REASONS = (
    "outside_review_period",
    "fewer_than_two_suspects",
    "fewer_than_two_victims",
    "no_contact_offence",
    "no_suspect_alive",
    "not_closed_as_nfa",
)
_OUTSIDE, _ONE_SUSPECT, _ONE_VICTIM, _NO_CONTACT, _NONE_ALIVE, _NOT_NFA = range(6)

# --- distributions (each is explained in docs/synthetic-data.md) --------------------------

INELIGIBLE_SHARE = (0.08, 0.12)  #: the share of ineligible referrals is drawn from this range
#: Main reason of an ineligible referral; a second reason is added to some.
REASON_WEIGHTS = (0.22, 0.26, 0.16, 0.16, 0.08, 0.12)
SECOND_REASON_SHARE = 0.15

#: Relative number of referred crimes recorded in each year of the review period.
CRIME_YEAR_WEIGHTS = {
    2010: 0.45,
    2011: 0.50,
    2012: 0.60,
    2013: 0.70,
    2014: 0.85,
    2015: 1.00,
    2016: 1.05,
    2017: 1.10,
    2018: 1.10,
    2019: 1.10,
    2020: 0.95,
    2021: 1.05,
    2022: 1.00,
    2023: 0.90,
    2024: 0.75,
    2025: 0.15,  # January to March only
}
#: Crimes of referrals outside the period: mostly recorded before 2010, a few after March 2025.
EARLY_YEARS_WEIGHTS = {2004: 1, 2005: 2, 2006: 3, 2007: 4, 2008: 5, 2009: 6}
LATE_SHARE_OF_OUTSIDE = 0.15

#: Share of referrals that arrive one by one rather than in a force's batch of returns.
TRICKLE_SHARE = 0.4
NFA_DELAY_MEDIAN_DAYS = 180  # crime recorded -> no further action, lognormal
NFA_DELAY_SIGMA = 0.75
NFA_DELAY_RANGE_DAYS = (14, 730)

NFA_OUTCOMES = {
    "16": 0.30,
    "15": 0.22,
    "14": 0.18,
    "21": 0.10,
    "18": 0.08,
    "10": 0.035,
    "9": 0.02,
    "17": 0.02,
    "13": 0.015,
    "12": 0.005,
    "11": 0.005,
}
OUTCOME_21_FROM = date(2016, 1, 1)
OUTCOME_22_FROM = date(2019, 4, 1)
OTHER_OUTCOMES = {"20": 0.45, "8": 0.20, "22": 0.10, "3": 0.10, "2": 0.10, "5": 0.05}

RAPE_CODES = {"19D": 0.45, "19E": 0.18, "19C": 0.17, "19G": 0.11, "19H": 0.09}
CONTACT_CODES = {
    "22B": 0.30,
    "20A": 0.18,
    "20B": 0.12,
    "21": 0.12,
    "17A": 0.06,
    "17B": 0.05,
    "74": 0.05,
    "73": 0.05,
    "23": 0.03,
    "22A": 0.03,
    "70": 0.01,
}
NON_CONTACT_CODES = {"71": 0.50, "88A": 0.25, "86": 0.12, "72": 0.08, "88C": 0.03, "88E": 0.02}
#: Chance that each non-contact code is recorded alongside the main offence.
ALONGSIDE_CODES = {"71": 0.45, "88A": 0.25, "86": 0.12, "72": 0.10}
SECOND_RAPE_CODE_SHARE = 0.15
CONTACT_WITH_RAPE_SHARE = 0.35
SECOND_CONTACT_CODE_SHARE = 0.30

SUSPECTS_GEOMETRIC_P = 0.45  # suspects = 1 + Geometric(p): 2, 3, 4 ... mean about 3.2
VICTIMS_GEOMETRIC_P = 0.50  # victims = 1 + Geometric(p): mean about 3
SUSPECT_DIED_SHARE = 0.03
MAX_SUSPECTS = 25
MAX_VICTIMS = 30

DECISIONS = {"nfa_upheld": 0.30, "passed_back_to_force": 0.55, "adopted_by_nca": 0.15}
THEME_WEIGHTS = {
    "lines_of_inquiry_not_followed": 0.30,
    "victim_account_not_best_practice": 0.24,
    "suspect_not_pursued": 0.20,
    "suspect_not_interviewed": 0.16,
    "records_incomplete": 0.07,
    "potential_misconduct": 0.015,
}
#: Share of cases with the potential_misconduct theme that are referred on.
MISCONDUCT_REFERRAL_SHARE = 0.4
MISCONDUCT_BODIES = {"professional_standards": 0.8, "iopc": 0.2}
INTERNATIONAL_DETAILS = {"europol": 0.3, "interpol": 0.4, "extradition": 0.3}

# --- corruption ---------------------------------------------------------------------------

REFERRAL_ERROR_KINDS = {
    "force_typo": 0.12,
    "us_order_date": 0.12,
    "impossible_date": 0.11,
    "blank_required": 0.14,
    "swapped_dates": 0.11,
    "unknown_offence_code": 0.10,
    "unknown_outcome": 0.08,
    "repeated_key": 0.10,
    "counts_inconsistent": 0.12,
}
EVENT_ERROR_KINDS = {
    "unknown_event": 0.30,
    "bad_detail": 0.25,
    "missing_detail": 0.15,
    "impossible_date": 0.30,
}
UNKNOWN_OFFENCE_CODES = ("19J", "22C", "88F", "20", "75", "17", "19")
UNKNOWN_OUTCOMES = ("19", "23", "NFA", "OC99", "Outcome 24", "16B", "N/A")
WRONG_EVENTS = ("case_closed", "assessment started", "decision", "nfa_upheld", "charged")
WRONG_DETAILS = {
    "assessment_completed": ("passed back", "upheld", "nca", "referred_to_force"),
    "learning_theme": ("lines_of_enquiry_not_followed", "victim account", "misconduct"),
    "misconduct_referral": ("psd", "IOPC referral", "standards"),
    "international_request": ("europe", "interpol request", "abroad"),
}

_EPOCH = date(1970, 1, 1)


@dataclass(frozen=True)
class SyntheticDataset:
    """The files of one synthetic data set and what a clean ingest of them must give.

    ``expected`` holds the clean data's figures: ``referrals`` rows written, the number
    of ``forces_referring``, ``rape_referrals`` (rows with a code that has ``rape = true``),
    ``eligible`` referrals, and ``events`` rows written. With ``error_rate > 0`` the
    rows listed in ``corrections_file`` are quarantined instead, until repaired.
    """

    referral_files: list[Path]
    event_files: list[Path]
    corrections_file: Path | None
    expected: dict


def write_synthetic_dataset(
    out_dir: Path,
    *,
    referrals: int = PUBLISHED_REFERRALS,
    forces: int = PUBLISHED_FORCES,
    rape: int | None = None,
    as_at: date = PUBLISHED_AS_AT,
    seed: int = 0,
    error_rate: float = 0.0,
) -> SyntheticDataset:
    """Write an invented set of referral returns and review events to ``out_dir``.

    ``referrals`` referral rows are spread over ``forces`` forces (one return file
    each); ``rape`` of them involve an allegation of rape (``None``: 236 at the default
    size, otherwise the same share). Referral dates run from the review's opening
    (2025-06-01) to ``as_at`` and events happen up to ``as_at``. The same ``seed``
    always gives the same data. ``error_rate`` is the share of rows of each feed written
    corrupted, in place of their correct values, which are recorded in
    ``SYNTHETIC-corrections.csv`` and ``.json``. Earlier ``SYNTHETIC-*`` files in
    ``out_dir`` are removed first. Raises ``ValueError`` for impossible options.
    """
    rape_count = _validated(referrals, forces, rape, as_at, seed, error_rate)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for old in out_dir.glob(f"{PREFIX}*"):
        if old.is_file():
            old.unlink()

    clean_rng, form_rng, error_rng = (
        np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(3)
    )
    refs = _generate_referrals(clean_rng, referrals, forces, rape_count, as_at)
    events = _generate_events(clean_rng, refs, as_at)
    returns = _force_returns(refs, form_rng, vary_forms=referrals <= FORM_VARIETY_MAX_REFERRALS)
    events_text = _events_text(events)

    expected = {
        "referrals": refs.height,
        "forces_referring": refs["force"].n_unique(),
        "rape_referrals": int(refs["_rape"].sum()),
        "eligible": int(refs["_eligible"].sum()),
        "events": events.height,
    }

    corrections_path: Path | None = None
    if error_rate > 0:
        record, events_text = _corrupt(error_rng, returns, events_text, error_rate)
        corrections_path = _write_corrections(out_dir, record, seed, error_rate)

    referral_files = [_write_return(out_dir, r, as_at) for r in returns]
    events_path = out_dir / EVENTS_FILE
    events_text.write_csv(events_path)
    return SyntheticDataset(
        referral_files=referral_files,
        event_files=[events_path],
        corrections_file=corrections_path,
        expected=expected,
    )


def default_rape_count(referrals: int) -> int:
    """Referrals involving rape when not given: 236 of 1,273, the published share."""
    return round(referrals * PUBLISHED_RAPE / PUBLISHED_REFERRALS)


def _validated(
    referrals: int, forces: int, rape: int | None, as_at: date, seed: int, error_rate: float
) -> int:
    n_forces = reference.forces().height
    for name, value in (("referrals", referrals), ("forces", forces), ("seed", seed)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer):
            raise ValueError(f"{name} must be a whole number, not {value!r}")
    if not 1 <= forces <= n_forces:
        raise ValueError(f"forces must be between 1 and {n_forces}, not {forces}")
    if referrals < forces:
        raise ValueError(
            f"referrals ({referrals}) must be at least forces ({forces}): "
            "every chosen force sends at least one"
        )
    if seed < 0:
        raise ValueError(f"seed must be zero or more, not {seed}")
    rape_count = default_rape_count(referrals) if rape is None else rape
    if isinstance(rape_count, bool) or not isinstance(rape_count, int | np.integer):
        raise ValueError(f"rape must be a whole number, not {rape!r}")
    if not 0 <= rape_count <= referrals:
        raise ValueError(f"rape must be between 0 and referrals ({referrals}), not {rape_count}")
    if not isinstance(error_rate, int | float) or not 0 <= error_rate < 1:
        raise ValueError(f"error rate must be at least 0 and below 1, not {error_rate!r}")
    if not isinstance(as_at, date) or isinstance(as_at, datetime):
        raise ValueError(f"as-at must be a date, not {as_at!r}")
    if as_at < REVIEW_OPENED:
        raise ValueError(
            f"as-at ({as_at.isoformat()}) must be on or after {REVIEW_OPENED.isoformat()}, "
            "when the review started taking referrals"
        )
    if as_at > date.today():
        raise ValueError(
            f"as-at ({as_at.isoformat()}) is in the future: the contract refuses referral "
            "and event dates after today"
        )
    return int(rape_count)


# --- clean referrals ------------------------------------------------------------------------


def _days(d: date) -> int:
    return (d - _EPOCH).days


def _draw(rng: np.random.Generator, weights: dict[str, float], size: int) -> np.ndarray:
    """``size`` draws from the keys of ``weights``, as positions in the dictionary."""
    p = np.array(list(weights.values()), dtype=float)
    return rng.choice(len(p), size=size, p=p / p.sum())


def _pick(rng: np.random.Generator, weights: dict[str, float], size: int) -> np.ndarray:
    """``size`` draws from the keys of ``weights`` (as an object array of strings)."""
    return np.array(list(weights), dtype=object)[_draw(rng, weights, size)]


def _weekday(days: np.ndarray, earliest: int, latest: int) -> np.ndarray:
    """Move Saturdays and Sundays to the Monday after (or the Friday before, near ``latest``)."""
    wd = (days + 3) % 7  # 1970-01-01 was a Thursday; Monday is 0
    forward = days + np.where(wd == 5, 2, np.where(wd == 6, 1, 0))
    back = days - np.where(wd == 5, 1, np.where(wd == 6, 2, 0))
    moved = np.where(forward <= latest, forward, back)
    return np.where(moved >= earliest, moved, days)


def _force_prefixes() -> dict[str, str]:
    """A short upper-case code per force for its references (``GMP``, ``KENT``, ``HIOW``)."""
    out: dict[str, str] = {}
    for row in reference.forces().iter_rows(named=True):
        acronyms = [a for a in row["aliases"] if re.fullmatch(r"[A-Z]{2,4}", a)]
        words = [
            w
            for w in re.split(r"[^A-Za-z]+", row["name"])
            if w and w not in {"Police", "Constabulary", "Service", "and"}
        ]
        if acronyms:
            code = acronyms[0]
        elif len(words) > 1:
            code = "".join(w[0] for w in words).upper()
        else:
            code = words[0][:4].upper()
        length, taken, joined = len(code), set(out.values()), "".join(words).upper()
        while code in taken:  # Northumbria NORT, Northamptonshire NORTH
            length += 1
            code = joined[:length] if length <= len(joined) else f"{joined[:4]}{length}"
        out[row["name"]] = code
    return out


def _choose_forces(rng: np.random.Generator, k: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices of ``k`` forces chosen with weight by population, and referrals per force."""
    pop = reference.forces()["population"].fill_null(BTP_WEIGHT_AS_POPULATION).to_numpy()
    w = pop.astype(float) / pop.sum()
    chosen = np.sort(rng.choice(len(w), size=k, replace=False, p=w))
    share = w[chosen] / w[chosen].sum()
    counts = 1 + rng.multinomial(n - k, share)
    return chosen, counts


def _ineligibility(rng: np.random.Generator, n: int, rape: int) -> np.ndarray:
    """An ``n`` x 6 matrix: which ineligibility reasons each referral will have."""
    reasons = np.zeros((n, 6), dtype=bool)
    n_inelig = int(round(n * rng.uniform(*INELIGIBLE_SHARE)))
    rows = rng.choice(n, size=n_inelig, replace=False)
    main = rng.choice(6, size=n_inelig, p=np.array(REASON_WEIGHTS) / sum(REASON_WEIGHTS))
    if n_inelig >= 6:
        main[:6] = rng.permutation(6)  # every reason represented
    reasons[rows, main] = True
    second = rng.random(n_inelig) < SECOND_REASON_SHARE
    other = (main + 1 + rng.integers(0, 5, size=n_inelig)) % 6
    reasons[rows[second], other[second]] = True
    # A referral with no contact offence cannot involve rape: keep room for the rape total.
    no_contact = np.flatnonzero(reasons[:, _NO_CONTACT])
    excess = len(no_contact) - (n - rape)
    if excess > 0:
        drop = rng.choice(no_contact, size=excess, replace=False)
        reasons[drop, _NO_CONTACT] = False
        reasons[drop, _ONE_SUSPECT] = True
    return reasons


def _crime_dates(rng: np.random.Generator, outside: np.ndarray) -> np.ndarray:
    """Day numbers of crime recording: in the period by year weights, else before/after it."""
    n = len(outside)
    years = np.array(list(CRIME_YEAR_WEIGHTS))
    yw = np.array(list(CRIME_YEAR_WEIGHTS.values()))
    year = rng.choice(years, size=n, p=yw / yw.sum())
    start = np.array([_days(date(int(y), 1, 1)) for y in years])
    end = np.array([_days(min(date(int(y), 12, 31), PERIOD_END)) for y in years])
    idx = year - years[0]
    crime = start[idx] + np.floor(rng.random(n) * (end[idx] - start[idx] + 1)).astype(np.int64)

    out_rows = np.flatnonzero(outside)
    late = rng.random(len(out_rows)) < LATE_SHARE_OF_OUTSIDE
    ey = np.array(list(EARLY_YEARS_WEIGHTS))
    ew = np.array(list(EARLY_YEARS_WEIGHTS.values()), dtype=float)
    early_year = rng.choice(ey, size=len(out_rows), p=ew / ew.sum())
    early_start = (
        (early_year - 1970).astype("datetime64[Y]").astype("datetime64[D]").astype(np.int64)
    )
    early = early_start + rng.integers(0, 365, size=len(out_rows))
    late_day = _days(date(2025, 4, 1)) + rng.integers(0, 45, size=len(out_rows))
    crime[out_rows] = np.where(late, late_day, early)
    return crime


#: The days over which one batch's files are dated (the batch's first day and 13 more).
BATCH_SPREAD_DAYS = 13


def _referral_dates(rng: np.random.Generator, force_idx: np.ndarray, as_at: date) -> np.ndarray:
    """Day numbers of referral: each force sends its files in a few batches, some trickle in."""
    first, last = _days(REVIEW_OPENED), _days(as_at)
    n, n_all = len(force_idx), reference.forces().height
    batches = rng.integers(1, 5, size=n_all)
    # A batch starts early enough for its two weeks to end by ``as_at``: clipping later
    # days to ``as_at`` piled a batch's overflow on the last day (66 of the default
    # data set's referrals were dated 4 November, a spike no real return would make).
    spread = min(BATCH_SPREAD_DAYS, last - first)
    batch_day = first + rng.integers(0, last - first - spread + 1, size=(n_all, 4))
    which = np.floor(rng.random(n) * batches[force_idx]).astype(np.int64)
    batched = batch_day[force_idx, which] + rng.integers(0, spread + 1, size=n)
    trickle = first + rng.integers(0, last - first + 1, size=n)
    days = np.where(rng.random(n) < TRICKLE_SHARE, trickle, batched)
    return _weekday(np.minimum(days, last), first, last)


def _offence_matrix(
    rng: np.random.Generator, n: int, rape_rows: np.ndarray, no_contact: np.ndarray
) -> tuple[list[str], np.ndarray]:
    """Offence codes per referral as a boolean matrix over the reference codes."""
    codes = reference.offence_codes()["code"].to_list()
    col = {c: j for j, c in enumerate(codes)}
    m = np.zeros((n, len(codes)), dtype=bool)

    def put(rows: np.ndarray, mix: dict[str, float]) -> None:
        columns = np.array([col[c] for c in mix])
        m[rows, columns[_draw(rng, mix, len(rows))]] = True

    is_rape = np.zeros(n, dtype=bool)
    is_rape[rape_rows] = True
    contact_only = np.flatnonzero(~is_rape & ~no_contact)
    put(rape_rows, RAPE_CODES)
    put(rape_rows[rng.random(len(rape_rows)) < SECOND_RAPE_CODE_SHARE], RAPE_CODES)
    put(rape_rows[rng.random(len(rape_rows)) < CONTACT_WITH_RAPE_SHARE], CONTACT_CODES)
    put(contact_only, CONTACT_CODES)
    put(contact_only[rng.random(len(contact_only)) < SECOND_CONTACT_CODE_SHARE], CONTACT_CODES)
    put(np.flatnonzero(no_contact), NON_CONTACT_CODES)
    for code, share in ALONGSIDE_CODES.items():
        m[:, col[code]] |= rng.random(n) < share
    return codes, m


def _generate_referrals(
    rng: np.random.Generator, n: int, k: int, rape: int, as_at: date
) -> pl.DataFrame:
    """The clean referral rows, typed, with internal ``_rape`` and ``_eligible`` flags."""
    forces = reference.forces()
    chosen, counts = _choose_forces(rng, k, n)
    force_idx = np.repeat(chosen, counts)

    reasons = _ineligibility(rng, n, rape)
    no_contact = reasons[:, _NO_CONTACT]
    rape_rows = np.sort(rng.choice(np.flatnonzero(~no_contact), size=rape, replace=False))

    referral = _referral_dates(rng, force_idx, as_at)
    crime = _crime_dates(rng, reasons[:, _OUTSIDE])
    delay = np.exp(rng.normal(np.log(NFA_DELAY_MEDIAN_DAYS), NFA_DELAY_SIGMA, size=n))
    delay = np.clip(np.round(delay), *NFA_DELAY_RANGE_DAYS).astype(np.int64)
    room = referral - crime
    squeezed = np.floor(room * rng.uniform(0.2, 1.0, size=n)).astype(np.int64)
    nfa = crime + np.where(delay <= room, delay, squeezed)

    outcomes = [*NFA_OUTCOMES, *OTHER_OUTCOMES]
    at = outcomes.index
    outcome = _draw(rng, NFA_OUTCOMES, n)
    outcome[(outcome == at("21")) & (nfa < _days(OUTCOME_21_FROM))] = at("16")
    other = len(NFA_OUTCOMES) + _draw(rng, OTHER_OUTCOMES, n)
    other[(other == at("22")) & (nfa < _days(OUTCOME_22_FROM))] = at("20")
    outcome = np.where(reasons[:, _NOT_NFA], other, outcome)

    suspects = np.minimum(1 + rng.geometric(SUSPECTS_GEOMETRIC_P, size=n), MAX_SUSPECTS)
    one = reasons[:, _ONE_SUSPECT]
    none_identified = one & (rng.random(n) < 0.1)
    suspects = np.where(one, np.where(none_identified, 0, 1), suspects)
    reasons[none_identified, _NONE_ALIVE] = True
    died = rng.binomial(suspects, SUSPECT_DIED_SHARE)
    alive = np.where(reasons[:, _NONE_ALIVE], 0, np.maximum(suspects - died, 1))
    victims = np.minimum(1 + rng.geometric(VICTIMS_GEOMETRIC_P, size=n), MAX_VICTIMS)
    victims = np.where(reasons[:, _ONE_VICTIM], np.where(rng.random(n) < 0.1, 0, 1), victims)

    n_all = forces.height
    returned_share = rng.uniform(0.4, 0.95, size=n_all)
    recorded_share = rng.uniform(0.5, 0.95, size=n_all)
    recorded = rng.binomial(suspects, recorded_share[force_idx])
    returned = rng.random(n) < returned_share[force_idx]

    codes, matrix = _offence_matrix(rng, n, rape_rows, no_contact)
    contact = set(reference.offence_codes().filter("contact")["code"])
    is_rape = np.zeros(n, dtype=bool)
    is_rape[rape_rows] = True

    names = forces["name"]
    prefixes = _force_prefixes()
    prefix = pl.Series([prefixes[x] for x in names], dtype=pl.String)
    year = crime.astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64) + 1970
    # A reference number unique within (force, year): an affine permutation of the rank.
    order = rng.permutation(n)
    group = force_idx * 100 + (year - 1990)
    rank = np.empty(n, dtype=np.int64)
    sorted_rows = order[np.argsort(group[order], kind="stable")]
    g_sorted = group[sorted_rows]
    starts = np.r_[0, np.flatnonzero(np.diff(g_sorted)) + 1]
    sizes = np.diff(np.r_[starts, n])
    rank[sorted_rows] = np.arange(n) - np.repeat(starts, sizes)
    digits = max(6, len(str(int(sizes.max()) if len(sizes) else 1)))
    modulus = 10**digits
    offset = rng.integers(0, modulus, size=(n_all, 200))
    number = (387_419 * rank + offset[force_idx, year - 1990]) % modulus

    frame = pl.DataFrame(
        {
            "_force_idx": force_idx,
            "_prefix": prefix.gather(force_idx),
            "_year": year,
            "_number": number,
            "force": names.gather(force_idx),
            "referral_date": referral.astype(np.int32),
            "crime_recorded_date": crime.astype(np.int32),
            "nfa_date": nfa.astype(np.int32),
            "original_outcome": pl.Series(outcomes, dtype=pl.String).gather(outcome),
            "suspects_count": suspects.astype(np.int64),
            "suspects_alive_count": alive.astype(np.int64),
            "victims_count": victims.astype(np.int64),
            "suspects_ethnicity_recorded_count": pl.Series(recorded.astype(np.int64)),
            "_returned": returned,
            "_rape": is_rape,
            "offence_codes": _code_lists(codes, matrix),
            "_contact": matrix[:, [c in contact for c in codes]].any(axis=1),
        }
    )
    frame = frame.with_columns(
        pl.concat_str(
            [
                pl.col("_prefix"),
                pl.col("_year").cast(pl.String),
                pl.col("_number").cast(pl.String).str.zfill(digits),
            ],
            separator="-",
        ).alias("force_referral_id"),
        *[pl.col(c).cast(pl.Date) for c in DATE_COLUMNS],
        pl.when(pl.col("_returned"))
        .then(pl.col("suspects_ethnicity_recorded_count"))
        .otherwise(None)
        .alias("suspects_ethnicity_recorded_count"),
    )
    frame = frame.with_columns(_eligible_expr().alias("_eligible"))
    # Rows in return order: by force, then referral date, then reference.
    in_order = np.lexsort((number, year, referral, force_idx))
    return frame.select("_force_idx", *REFERRAL_COLUMNS, "_rape", "_eligible")[in_order]


def _code_lists(codes: list[str], matrix: np.ndarray) -> pl.Series:
    """The ``offence_codes`` cell of each row: its codes in reference order, joined by ``;``."""
    bits = matrix.astype(np.int64) @ (np.int64(1) << np.arange(len(codes), dtype=np.int64))
    combinations, which = np.unique(bits, return_inverse=True)
    texts = [
        ";".join(c for j, c in enumerate(codes) if int(mask) >> j & 1) for mask in combinations
    ]
    return pl.Series(texts, dtype=pl.String).gather(which.ravel())


def _eligible_expr() -> pl.Expr:
    """The contract's eligibility rules, applied to the generated values as a self-check."""
    nfa = list(reference.outcome_types().filter("nfa")["code"])
    has_contact = pl.col("_contact")
    return (
        pl.col("crime_recorded_date").is_between(PERIOD_START, PERIOD_END)
        & (pl.col("suspects_count") >= 2)
        & (pl.col("victims_count") >= 2)
        & has_contact
        & (pl.col("suspects_alive_count") >= 1)
        & pl.col("original_outcome").is_in(nfa)
    )


# --- clean events -----------------------------------------------------------------------------


def _gamma_days(rng: np.random.Generator, shape: float, mean: float, size: int) -> np.ndarray:
    return np.round(rng.gamma(shape, mean / shape, size=size)).astype(np.int64)


_DETAIL_VOCABULARY = [*DECISIONS, *THEME_WEIGHTS, *MISCONDUCT_BODIES, *INTERNATIONAL_DETAILS]


def _detail_codes(rng: np.random.Generator, weights: dict[str, float], n: int) -> np.ndarray:
    """Draws of a detail, as positions in ``_DETAIL_VOCABULARY``."""
    return _DETAIL_VOCABULARY.index(next(iter(weights))) + _draw(rng, weights, n)


def _generate_events(rng: np.random.Generator, refs: pl.DataFrame, as_at: date) -> pl.DataFrame:
    """The review's events for eligible referrals up to ``as_at``, obeying the order rules."""
    last = _days(as_at)
    eligible = np.flatnonzero(refs["_eligible"].to_numpy())
    ref_day = refs["referral_date"].cast(pl.Int32).to_numpy()[eligible].astype(np.int64)
    n = len(eligible)
    codes = reference.events()["code"].to_list()
    no_detail = np.full(n, -1, dtype=np.int64)
    blocks: list[pl.DataFrame] = []

    def add(mask: np.ndarray, event: str, day: np.ndarray, detail: np.ndarray = no_detail) -> None:
        rows = np.flatnonzero(mask)
        blocks.append(
            pl.DataFrame(
                {
                    "_i": eligible[rows].astype(np.int64),
                    "_event": np.full(len(rows), codes.index(event), dtype=np.int64),
                    "event_date": day[rows].astype(np.int32),
                    "_detail": detail[rows].astype(np.int64),
                }
            )
        )

    started_day = ref_day + _gamma_days(rng, 2, 10, n)
    started = started_day <= last
    add(started, "assessment_started", started_day)

    done_day = started_day + _gamma_days(rng, 2.5, 50, n)
    done = started & (done_day <= last)
    decision = _detail_codes(rng, DECISIONS, n)
    upheld = decision == _DETAIL_VOCABULARY.index("nfa_upheld")
    add(done, "assessment_completed", done_day, decision)

    # Learning themes found during assessment: several per case, fewer when NFA is upheld.
    first_theme = _DETAIL_VOCABULARY.index(next(iter(THEME_WEIGHTS)))
    misconduct_theme = _DETAIL_VOCABULARY.index("potential_misconduct")
    tw = np.array(list(THEME_WEIGHTS.values()))
    how_many = np.where(upheld, rng.poisson(1.2, size=n), 1 + rng.poisson(2.3, size=n))
    how_many = np.where(done, np.minimum(how_many, len(tw)), 0)
    keys = np.log(tw)[None, :] - np.log(-np.log(rng.random((n, len(tw)))))
    ranked = np.argsort(-keys, axis=1)  # a weighted draw without replacement per case
    misconduct_found = np.zeros(n, dtype=bool)
    for j in range(len(tw)):
        has = how_many > j
        theme = first_theme + ranked[:, j]
        found = started_day + np.floor(rng.random(n) * (done_day - started_day + 1))
        add(has, "learning_theme", np.minimum(found.astype(np.int64), done_day), theme)
        misconduct_found |= has & (theme == misconduct_theme)

    misconduct_day = done_day + _gamma_days(rng, 2, 20, n)
    misconduct = (
        misconduct_found & (rng.random(n) < MISCONDUCT_REFERRAL_SHARE) & (misconduct_day <= last)
    )
    body = _detail_codes(rng, MISCONDUCT_BODIES, n)
    add(misconduct, "misconduct_referral", misconduct_day, body)

    contact_day = started_day + _gamma_days(rng, 2, 20, n)
    contacted = started & (rng.random(n) < 0.6) & (contact_day <= last)
    add(contacted, "victim_contacted", contact_day)
    ack_day = np.maximum(contact_day, done_day) + _gamma_days(rng, 2, 10, n)
    acknowledged = contacted & done & (rng.random(n) < 0.45) & (ack_day <= last)
    add(acknowledged, "acknowledgement_given", ack_day)

    sent_back = done & ~upheld
    reinv_day = done_day + _gamma_days(rng, 2, 12, n)
    reinv = sent_back & (rng.random(n) < 0.7) & (reinv_day <= last)
    add(reinv, "reinvestigation_started", reinv_day)

    charge_day = reinv_day + _gamma_days(rng, 2, 40, n)
    charged = reinv & (rng.random(n) < 0.2) & (charge_day <= last)
    add(charged, "suspect_charged", charge_day)
    verdict_day = charge_day + _gamma_days(rng, 2, 45, n)
    verdict = charged & (rng.random(n) < 0.5) & (verdict_day <= last)
    convicted = rng.random(n) < 0.7
    add(verdict & convicted, "suspect_convicted", verdict_day)
    add(verdict & ~convicted, "suspect_acquitted", verdict_day)

    closed_day = reinv_day + _gamma_days(rng, 3, 60, n)
    closed = reinv & ~charged & (rng.random(n) < 0.15) & (closed_day <= last)
    add(closed, "reinvestigation_closed", closed_day)

    request_day = reinv_day + _gamma_days(rng, 2, 15, n)
    request = reinv & (rng.random(n) < 0.03) & (request_day <= last)
    add(request, "international_request", request_day, _detail_codes(rng, INTERNATIONAL_DETAILS, n))

    events = pl.concat(blocks)
    # File order: by date, then referral, then the event's place in events.csv, then detail.
    key = events.select(
        ((pl.col("event_date").cast(pl.Int64) * 2**32 + pl.col("_i")) * 16 + pl.col("_event")) * 32
        + pl.col("_detail")
        + 1
    ).to_series()
    events = events[np.argsort(key.to_numpy(), kind="stable")]
    return events.select(
        refs["force"].gather(events["_i"]).alias("force"),
        refs["force_referral_id"].gather(events["_i"]).alias("force_referral_id"),
        pl.Series(codes, dtype=pl.String).gather(events["_event"]).alias("event"),
        pl.col("event_date").cast(pl.Date),
        pl.when(pl.col("_detail") >= 0)
        .then(pl.Series(_DETAIL_VOCABULARY, dtype=pl.String).gather(events["_detail"].clip(0)))
        .alias("detail"),
    )


# --- files as written -------------------------------------------------------------------------


@dataclass
class _Return:
    """One force's return: its file name, form, and cells as text in written order."""

    force: str
    file_name: str
    form: str
    text: pl.DataFrame  # the cells as written (ISO dates in the workbook form)
    typed: pl.DataFrame  # the same rows, typed (for choosing corruptions)


FORMS = (
    "csv-windows-1252",  # Windows-1252, CRLF line ends, D/M/YYYY dates
    "csv-utf8-bom",  # UTF-8 with a byte-order mark
    "xlsx",  # a workbook with real date and number cells
    "csv-dd-mm-yyyy",  # DD/MM/YYYY dates
    "csv-force-alias",  # force written as short name or alias, mixed case and spaces
)
_DATE_FORMATS = {"csv-windows-1252": "%-d/%-m/%Y", "csv-dd-mm-yyyy": "%d/%m/%Y"}


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _force_labels(rng: np.random.Generator, force: str, n: int) -> pl.Series:
    """Force cells written with the short name or an alias, as clerks type them."""
    row = reference.forces().filter(pl.col("name") == force).row(0, named=True)
    labels = [row["short_name"], *row["aliases"]]
    variants = [*labels, *(x.upper() for x in labels), *(f" {x} " for x in labels)]
    return pl.Series("force", np.array(variants, dtype=object)[rng.integers(0, len(variants), n)])


def _force_returns(
    refs: pl.DataFrame, rng: np.random.Generator, *, vary_forms: bool
) -> list[_Return]:
    """One return per force, sorted by referral date, in a deterministic mix of forms."""
    per_force = refs.partition_by("_force_idx", maintain_order=True)
    forms = ["csv"] * len(per_force)
    if vary_forms:
        for pos, form in zip(rng.permutation(len(per_force)), FORMS, strict=False):
            forms[int(pos)] = form
    short = dict(zip(*reference.forces().select("name", "short_name"), strict=True))
    returns = []
    for part, form in zip(per_force, forms, strict=True):
        force = part["force"][0]
        fmt = _DATE_FORMATS.get(form, "%Y-%m-%d")
        text = part.select(
            pl.col("force_referral_id"),
            pl.col("force"),
            *[pl.col(c).dt.to_string(fmt) for c in DATE_COLUMNS],
            pl.col("original_outcome"),
            pl.col("offence_codes"),
            *[pl.col(c).cast(pl.String) for c in COUNT_COLUMNS],
        )
        if form == "csv-force-alias":
            text = text.with_columns(_force_labels(rng, force, text.height))
        ext = "xlsx" if form == "xlsx" else "csv"
        name = f"{PREFIX}referrals-{_slug(short[force])}.{ext}"
        returns.append(_Return(force, name, form, text, part.select(REFERRAL_COLUMNS)))
    return returns


def _events_text(events: pl.DataFrame) -> pl.DataFrame:
    return events.with_columns(pl.col("event_date").dt.to_string("%Y-%m-%d"))


def _write_return(out_dir: Path, ret: _Return, as_at: date) -> Path:
    path = out_dir / ret.file_name
    if ret.form == "xlsx":
        _write_xlsx(path, ret.text, as_at)
    elif ret.form == "csv-windows-1252":
        body = ret.text.write_csv(line_terminator="\r\n")
        path.write_bytes(body.encode("cp1252"))
    else:
        ret.text.write_csv(path, include_bom=ret.form == "csv-utf8-bom")
    return path


_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _write_xlsx(path: Path, text: pl.DataFrame, as_at: date) -> None:
    """A workbook as a spreadsheet user saves it: real dates and numbers, codes as text."""
    import xlsxwriter

    wb = xlsxwriter.Workbook(path, {"constant_memory": True})
    wb.set_properties({"created": datetime(as_at.year, as_at.month, as_at.day)})
    ws = wb.add_worksheet("Referrals")
    date_cell = wb.add_format({"num_format": "dd/mm/yyyy"})
    ws.write_row(0, 0, text.columns)
    dates = {text.columns.index(c) for c in DATE_COLUMNS}
    counts = {text.columns.index(c) for c in COUNT_COLUMNS}
    for r, row in enumerate(text.iter_rows(), start=1):
        for c, value in enumerate(row):
            if value is None or value == "":
                continue
            if c in dates and _ISO.match(value):
                try:
                    ws.write_datetime(r, c, datetime.fromisoformat(value), date_cell)
                    continue
                except ValueError:
                    pass
            if c in counts and value.isdigit():
                ws.write_number(r, c, int(value))
                continue
            ws.write_string(r, c, value)
    wb.close()


# --- corruption -------------------------------------------------------------------------------


@dataclass
class _Affected:
    """A row that a clean ingest would quarantine, with what went wrong and its right values."""

    feed: str
    file: str
    row: int
    force: str
    force_referral_id: str
    cause: str  # corrupted | repeated_key_partner | referral_quarantined
    kind: str
    cells: list[tuple[str, str, str]]  # (column, corrupted_value, correct_value)
    correct: dict[str, str]
    written: dict[str, str]


def _typo(rng: np.random.Generator, text: str, known: set[str]) -> str:
    """A misspelling of ``text`` that matches nothing in ``known`` (compared lower-cased)."""
    base = text.strip()
    for _ in range(50):
        chars = list(base)
        i = int(rng.integers(0, max(len(chars) - 1, 1)))
        op = int(rng.integers(0, 3))
        if op == 0 and len(chars) > 1:
            del chars[i]
        elif op == 1 and len(chars) > 1:
            chars[i], chars[i + 1] = chars[i + 1], chars[i]
        else:
            chars.insert(i, chars[i])
        candidate = "".join(chars)
        if candidate.strip().lower() not in known and candidate.strip() and candidate != base:
            return candidate
    return base + " Constab"


def _impossible_date(rng: np.random.Generator, day: date, form: str) -> str:
    month, dom = [(2, 30), (2, 31), (4, 31), (6, 31), (9, 31), (11, 31)][int(rng.integers(0, 6))]
    if form in _DATE_FORMATS:
        return f"{dom:02d}/{month:02d}/{day.year}"
    return f"{day.year}-{month:02d}-{dom:02d}"


def _corrupt_referral_row(
    rng: np.random.Generator,
    kind: str,
    ret: _Return,
    written: dict[str, str | None],
    typed: dict[str, Any],
    partner_id: str | None,
) -> list[tuple[str, str]] | None:
    """New (column, value) pairs that make the row invalid, or ``None`` when not possible."""
    lk = reference.lookups()
    if kind == "force_typo":
        return [("force", _typo(rng, written["force"] or ret.force, set(lk.force_by_label)))]
    if kind == "us_order_date":
        late_in_month = [c for c in DATE_COLUMNS if typed[c].day > 12]
        if not late_in_month:
            return None
        c = late_in_month[int(rng.integers(0, len(late_in_month)))]
        d = typed[c]
        return [(c, f"{d.month:02d}/{d.day:02d}/{d.year}")]
    if kind == "impossible_date":
        c = DATE_COLUMNS[int(rng.integers(0, 3))]
        return [(c, _impossible_date(rng, typed[c], ret.form))]
    if kind == "blank_required":
        c = REQUIRED_REFERRAL_COLUMNS[int(rng.integers(0, len(REQUIRED_REFERRAL_COLUMNS)))]
        return [(c, "")]
    if kind == "swapped_dates":
        if typed["crime_recorded_date"] >= typed["nfa_date"]:
            return None
        crime, nfa = written["crime_recorded_date"] or "", written["nfa_date"] or ""
        return [("crime_recorded_date", nfa), ("nfa_date", crime)]
    if kind == "unknown_offence_code":
        codes = (written["offence_codes"] or "").split(";")
        codes[int(rng.integers(0, len(codes)))] = UNKNOWN_OFFENCE_CODES[
            int(rng.integers(0, len(UNKNOWN_OFFENCE_CODES)))
        ]
        return [("offence_codes", ";".join(codes))]
    if kind == "unknown_outcome":
        return [("original_outcome", UNKNOWN_OUTCOMES[int(rng.integers(0, len(UNKNOWN_OUTCOMES)))])]
    if kind == "repeated_key":
        return None if partner_id is None else [("force_referral_id", partner_id)]
    if kind == "counts_inconsistent":
        suspects = typed["suspects_count"]
        if typed["suspects_ethnicity_recorded_count"] is not None and rng.random() < 0.3:
            return [("suspects_ethnicity_recorded_count", str(suspects + 1))]
        return [("suspects_alive_count", str(suspects + 1 + int(rng.integers(0, 2))))]
    raise AssertionError(kind)


def _corrupt(
    rng: np.random.Generator, returns: list[_Return], events: pl.DataFrame, error_rate: float
) -> tuple[list[_Affected], pl.DataFrame]:
    """Corrupt ``error_rate`` of each feed's rows (returns in place, events as a new frame).

    Returns every row a clean ingest would quarantine, and the events as written.
    """
    affected: list[_Affected] = []
    sizes = np.array([r.text.height for r in returns])
    offsets = np.r_[0, np.cumsum(sizes)]
    total = int(offsets[-1])
    n_bad = int(round(error_rate * total))
    chosen = np.sort(rng.choice(total, size=n_bad, replace=False))
    kinds = _pick(rng, REFERRAL_ERROR_KINDS, n_bad)
    file_of = np.searchsorted(offsets, chosen, side="right") - 1
    quarantined: set[tuple[str, str]] = set()

    for f, ret in enumerate(returns):
        local = chosen[file_of == f] - offsets[f]
        if len(local) == 0:
            continue
        file_kinds = kinds[file_of == f]
        bad = set(local.tolist())
        free = [i for i in rng.permutation(ret.text.height).tolist() if i not in bad]
        ids = ret.text["force_referral_id"].to_list()
        written_rows = dict(zip(local.tolist(), ret.text[local.tolist()].to_dicts(), strict=True))
        typed_rows = ret.typed[local.tolist()].to_dicts()
        changes: dict[str, list[tuple[int, str | None]]] = {}
        partners: list[int] = []
        for i, kind, typed in zip(local.tolist(), file_kinds, typed_rows, strict=True):
            written = written_rows[i]
            partner = free.pop() if kind == "repeated_key" and free else None
            partner_id = None if partner is None else ids[partner]
            cells = _corrupt_referral_row(rng, kind, ret, written, typed, partner_id)
            if cells is None:
                if kind == "us_order_date":
                    kind = "impossible_date"
                else:
                    kind = "blank_required"
                cells = _corrupt_referral_row(rng, kind, ret, written, typed, None)
            assert cells is not None
            if partner is not None and kind == "repeated_key":
                partners.append(partner)
            elif partner is not None:
                free.append(partner)
            for col, value in cells:
                changes.setdefault(col, []).append((i, value))
            affected.append(
                _Affected(
                    "referrals",
                    ret.file_name,
                    i + 2,
                    ret.force,
                    written["force_referral_id"],
                    "corrupted",
                    kind,
                    [(c, v, written[c] or "") for c, v in cells],
                    _as_strings(written),
                    _as_strings({**written, **dict(cells)}),
                )
            )
            quarantined.add((ret.force, written["force_referral_id"]))
        for p, written in zip(partners, ret.text[partners].to_dicts(), strict=True):
            key = written["force_referral_id"]
            affected.append(
                _Affected(
                    "referrals",
                    ret.file_name,
                    p + 2,
                    ret.force,
                    key,
                    "repeated_key_partner",
                    "repeated_key",
                    [("force_referral_id", key, key)],
                    _as_strings(written),
                    _as_strings(written),
                )
            )
            quarantined.add((ret.force, key))
        ret.text = _apply(ret.text, changes)

    event_affected, events = _corrupt_events(rng, events, error_rate, quarantined)
    return affected + event_affected, events


def _as_strings(row: dict[str, Any]) -> dict[str, str]:
    return {k: "" if v is None else str(v) for k, v in row.items()}


def _apply(frame: pl.DataFrame, changes: dict[str, list[tuple[int, str | None]]]) -> pl.DataFrame:
    cols = []
    for name in frame.columns:
        s = frame[name].clone()
        if name in changes:
            idx, values = zip(*changes[name], strict=True)
            blanked = [None if v == "" else v for v in values]
            s = s.scatter(list(idx), pl.Series(blanked, dtype=pl.String))
        cols.append(s)
    return pl.DataFrame(cols)


def _corrupt_events(
    rng: np.random.Generator,
    events: pl.DataFrame,
    error_rate: float,
    quarantined: set[tuple[str, str]],
) -> tuple[list[_Affected], pl.DataFrame]:
    """Corrupt leaf events; list them and the events of quarantined referrals."""
    affected: list[_Affected] = []
    if events.height == 0:
        return affected, events
    keyed = events.with_row_index("_i").with_columns(
        pl.concat_str(["force", "force_referral_id"], separator="\x1f").alias("_key")
    )
    q_keys = [f"{f}\x1f{i}" for f, i in quarantined]
    knock_on = keyed.filter(pl.col("_key").is_in(q_keys))
    for r in knock_on.iter_rows(named=True):
        row = {c: r[c] for c in EVENT_COLUMNS}
        affected.append(
            _Affected(
                "events",
                EVENTS_FILE,
                r["_i"] + 2,
                r["force"],
                r["force_referral_id"],
                "referral_quarantined",
                "referral_quarantined",
                [("force_referral_id", r["force_referral_id"], r["force_referral_id"])],
                _as_strings(row),
                _as_strings(row),
            )
        )

    # Only events that no other event needs are corrupted, so no later event is quarantined.
    has = keyed.group_by("_key").agg(
        *[
            (pl.col("event") == e).any().alias(e)
            for e in (
                "assessment_completed",
                "reinvestigation_started",
                "suspect_charged",
                "suspect_convicted",
                "suspect_acquitted",
            )
        ]
    )
    keyed = keyed.join(has, on="_key", how="left")
    needed = (
        ((pl.col("event") == "assessment_started") & pl.col("assessment_completed"))
        | ((pl.col("event") == "assessment_completed") & pl.col("reinvestigation_started"))
        | ((pl.col("event") == "reinvestigation_started") & pl.col("suspect_charged"))
        | (
            (pl.col("event") == "suspect_charged")
            & (pl.col("suspect_convicted") | pl.col("suspect_acquitted"))
        )
    )
    candidates = keyed.filter(~needed & ~pl.col("_key").is_in(q_keys)).sort("_i")
    n_bad = min(int(round(error_rate * events.height)), candidates.height)
    picked = candidates[np.sort(rng.choice(candidates.height, size=n_bad, replace=False))]
    kinds = _pick(rng, EVENT_ERROR_KINDS, n_bad)
    lk = reference.lookups()
    changes: dict[str, list[tuple[int, str | None]]] = {}
    for r, kind in zip(picked.iter_rows(named=True), kinds, strict=True):
        if kind in ("bad_detail", "missing_detail") and r["event"] not in lk.detail_values:
            kind = "unknown_event" if rng.random() < 0.5 else "impossible_date"
        if kind == "unknown_event":
            pool = [*WRONG_EVENTS, _typo(rng, r["event"], set(lk.event_codes))]
            cells = [("event", pool[int(rng.integers(0, len(pool)))])]
        elif kind == "bad_detail":
            pool = WRONG_DETAILS[r["event"]]
            cells = [("detail", pool[int(rng.integers(0, len(pool)))])]
        elif kind == "missing_detail":
            cells = [("detail", "")]
        else:
            day = date.fromisoformat(r["event_date"])
            cells = [("event_date", _impossible_date(rng, day, "csv"))]
        row = {c: r[c] for c in EVENT_COLUMNS}
        for col, value in cells:
            changes.setdefault(col, []).append((r["_i"], value))
        affected.append(
            _Affected(
                "events",
                EVENTS_FILE,
                r["_i"] + 2,
                r["force"],
                r["force_referral_id"],
                "corrupted",
                kind,
                [(c, v, row[c] or "") for c, v in cells],
                _as_strings(row),
                _as_strings({**row, **dict(cells)}),
            )
        )
    return affected, _apply(events, changes)


def _write_corrections(
    out_dir: Path, affected: list[_Affected], seed: int, error_rate: float
) -> Path:
    """``SYNTHETIC-corrections.csv`` (one line per cell) and ``.json`` (one entry per row)."""
    affected = sorted(affected, key=lambda a: (a.feed != "referrals", a.file, a.row))
    path = out_dir / CORRECTIONS_CSV
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(CORRECTION_COLUMNS)
        for a in affected:
            for column, bad, good in a.cells:
                w.writerow([a.feed, a.file, a.row, a.force, a.force_referral_id, column, bad, good])
    summary = {
        f"{feed}_{cause}": sum(1 for a in affected if a.feed == feed and a.cause == cause)
        for feed in ("referrals", "events")
        for cause in ("corrupted", "repeated_key_partner", "referral_quarantined")
    }
    document = {
        "note": "SYNTHETIC: every value in these files is invented.",
        "seed": seed,
        "error_rate": error_rate,
        "rows_quarantined_by_a_clean_ingest": len(affected),
        "summary": {k: v for k, v in summary.items() if v},
    }
    rows = [
        json.dumps(
            {
                "feed": a.feed,
                "file": a.file,
                "row": a.row,
                "force": a.force,
                "force_referral_id": a.force_referral_id,
                "cause": a.cause,
                "kind": a.kind,
                "correct": a.correct,
                "as_written": a.written,
            }
        )
        for a in affected
    ]
    # One affected row per line: readable, and fast to write for large sets.
    head = json.dumps(document, indent=1)[:-2]
    body = ",\n  ".join(rows)
    (out_dir / CORRECTIONS_JSON).write_text(
        f'{head},\n "rows": [\n  {body}\n ]\n}}\n' if rows else f'{head},\n "rows": []\n}}\n',
        encoding="utf-8",
    )
    return path
