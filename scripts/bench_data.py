"""Quick synthetic stores for the metrics benchmark (not the seed data set).

``generate_tables(n, seed)`` draws ``n`` referrals with about five review events each,
vectorised in NumPy and Polars; ``write_sqlite(path, tables)`` creates the schema with
the project's migrations and bulk-inserts the rows. The data only need realistic
shapes and sizes: they are not checked against the contract's order rules.
"""

from __future__ import annotations

import sqlite3
from datetime import date, datetime
from pathlib import Path

import numpy as np
import polars as pl

from metrics import reference, snapshot
from metrics.store import make_engine

AS_AT = date(2025, 11, 4)
FIRST_REFERRAL = date(2024, 6, 1)
EPOCH = date(1970, 1, 1)


def _days(d: date) -> int:
    return (d - EPOCH).days


def _dates(days: np.ndarray) -> pl.Series:
    return pl.Series(days.astype(np.int32)).cast(pl.Date)


def generate_tables(n: int, seed: int = 0) -> dict[str, pl.DataFrame]:
    """Referrals, referral_offences and review_events frames in the store's columns."""
    rng = np.random.default_rng(seed)
    forces = reference.forces()
    population = forces["population"].fill_null(300_000).to_numpy().astype(float)
    force_names = np.array(forces["name"].to_list())
    force = force_names[rng.choice(len(force_names), n, p=population / population.sum())]
    ids = np.arange(1, n + 1)
    referral_day = rng.integers(_days(FIRST_REFERRAL), _days(AS_AT) + 1, n)
    crime_day = referral_day - rng.integers(200, 6000, n)
    nfa_day = crime_day + ((referral_day - crime_day) * rng.random(n)).astype(int)
    outcomes = reference.outcome_types()
    nfa_codes = outcomes.filter("nfa")["code"].to_list()
    other_codes = outcomes.filter(~pl.col("nfa"))["code"].to_list()
    outcome = np.where(
        rng.random(n) < 0.95,
        np.array(nfa_codes)[rng.integers(0, len(nfa_codes), n)],
        np.array(other_codes)[rng.integers(0, len(other_codes), n)],
    )
    suspects = rng.integers(1, 7, n)
    alive = np.minimum(suspects, rng.integers(0, 7, n))
    victims = rng.integers(1, 6, n)

    codes_ref = reference.offence_codes()
    code_list = np.array(codes_ref["code"].to_list())
    weights = np.where(codes_ref["rape"].to_numpy(), 0.6, 1.0)
    n_codes = rng.choice([1, 2, 3], n, p=[0.55, 0.3, 0.15])
    offence_ref = np.repeat(ids, n_codes)
    offence_code = code_list[
        rng.choice(len(code_list), len(offence_ref), p=weights / weights.sum())
    ]
    offences = (
        pl.DataFrame({"referral_id": offence_ref, "code": offence_code})
        .unique(["referral_id", "code"])
        .sort("referral_id", "code")
    )
    per_referral = (
        offences.join(codes_ref.select("code", "contact", "rape"), on="code")
        .group_by("referral_id")
        .agg(
            pl.col("code").str.join(";").alias("offence_codes"),
            pl.col("contact").any().alias("has_contact"),
            pl.col("rape").any().alias("involves_rape"),
        )
        .sort("referral_id")
    )
    referrals = pl.DataFrame(
        {
            "id": ids,
            "force": force,
            "force_referral_id": [f"R{i:08d}" for i in ids],
            "referral_date": _dates(referral_day),
            "crime_recorded_date": _dates(crime_day),
            "nfa_date": _dates(nfa_day),
            "original_outcome": outcome,
            "suspects_count": suspects,
            "suspects_alive_count": alive,
            "victims_count": victims,
            "suspects_ethnicity_recorded_count": np.minimum(suspects, rng.integers(0, 7, n)),
        }
    ).join(per_referral.rename({"referral_id": "id"}), on="id", how="left")
    reasons = [
        (
            "outside_review_period",
            ~pl.col("crime_recorded_date").is_between(date(2010, 1, 1), date(2025, 3, 31)),
        ),
        ("fewer_than_two_suspects", pl.col("suspects_count") < 2),
        ("fewer_than_two_victims", pl.col("victims_count") < 2),
        ("no_contact_offence", ~pl.col("has_contact")),
        ("no_suspect_alive", pl.col("suspects_alive_count") < 1),
        ("not_closed_as_nfa", ~pl.col("original_outcome").is_in(nfa_codes)),
    ]
    referrals = (
        referrals.with_columns(
            pl.concat_list([pl.when(cond).then(pl.lit(code)) for code, cond in reasons])
            .list.drop_nulls()
            .list.join(";")
            .alias("ineligibility_reasons")
        )
        .with_columns((pl.col("ineligibility_reasons") == "").alias("eligible"))
        .drop("has_contact")
    )
    events = _generate_events(rng, ids, referral_day)
    return {"referrals": referrals, "referral_offences": offences, "review_events": events}


def _generate_events(
    rng: np.random.Generator, ids: np.ndarray, referral_day: np.ndarray
) -> pl.DataFrame:
    n = len(ids)
    parts: list[tuple[np.ndarray, str, np.ndarray, np.ndarray | None]] = []

    started = rng.random(n) < 0.9
    start_day = referral_day + rng.integers(1, 60, n)
    parts.append((ids[started], "assessment_started", start_day[started], None))
    for share, delay in ((0.8, 3), (0.5, 10), (0.4, 20)):
        contacts = started & (rng.random(n) < share)
        parts.append((ids[contacts], "victim_contacted", start_day[contacts] + delay, None))
    completed = started & (rng.random(n) < 0.8)
    decision_day = start_day + rng.integers(1, 150, n)
    decision = np.array(["nfa_upheld", "passed_back_to_force", "adopted_by_nca"])[
        rng.choice(3, n, p=[0.6, 0.3, 0.1])
    ]
    parts.append(
        (ids[completed], "assessment_completed", decision_day[completed], decision[completed])
    )
    themes = np.array(reference.lookups().theme_codes)
    for _ in range(4):
        found = completed & (rng.random(n) < 0.5)
        parts.append(
            (
                ids[found],
                "learning_theme",
                decision_day[found],
                themes[rng.integers(0, len(themes), n)][found],
            )
        )
    acknowledged = completed & (rng.random(n) < 0.5)
    parts.append((ids[acknowledged], "acknowledgement_given", decision_day[acknowledged] + 7, None))
    misconduct = completed & (rng.random(n) < 0.06)
    body = np.array(["professional_standards", "iopc"])[rng.integers(0, 2, n)]
    parts.append(
        (ids[misconduct], "misconduct_referral", decision_day[misconduct] + 5, body[misconduct])
    )
    reopened = completed & (decision != "nfa_upheld")
    reinvestigated = reopened & (rng.random(n) < 0.9)
    reinvestigation_day = decision_day + rng.integers(1, 30, n)
    parts.append(
        (ids[reinvestigated], "reinvestigation_started", reinvestigation_day[reinvestigated], None)
    )
    charged = reinvestigated & (rng.random(n) < 0.35)
    charge_day = reinvestigation_day + rng.integers(10, 120, n)
    parts.append((ids[charged], "suspect_charged", charge_day[charged], None))
    convicted = charged & (rng.random(n) < 0.5)
    parts.append((ids[convicted], "suspect_convicted", charge_day[convicted] + 90, None))

    frames = [
        pl.DataFrame(
            {
                "referral_id": who,
                "event": pl.Series([event] * len(who), dtype=pl.String),
                "event_day": day,
                "detail": pl.Series(
                    detail if detail is not None else [None] * len(who), dtype=pl.String
                ),
            }
        )
        for who, event, day, detail in parts
    ]
    events = (
        pl.concat(frames)
        .filter(pl.col("event_day") <= _days(AS_AT))
        .unique(["referral_id", "event", "event_day", "detail"])
        .sort("referral_id", "event_day", "event")
        .with_columns(pl.col("event_day").cast(pl.Int32).cast(pl.Date).alias("event_date"))
        .drop("event_day")
    )
    return events.with_row_index("id", offset=1).with_columns(pl.col("id").cast(pl.Int64))


def write_sqlite(path: Path, tables: dict[str, pl.DataFrame]) -> None:
    """Create a store at ``path`` (replacing any) and load the generated tables into it."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    engine = make_engine(f"sqlite:///{path}")
    engine.dispose()
    now = datetime(2025, 11, 4, 12, 0, 0).isoformat(sep=" ")
    con = sqlite3.connect(path)
    con.execute("PRAGMA journal_mode=OFF")
    con.execute("PRAGMA synchronous=OFF")
    con.execute(
        "INSERT INTO submissions (id, feed, file_name, sha256, received_at, status, rows_read,"
        " rows_loaded, rows_quarantined, rows_ineligible, rows_replaced, rows_repeated,"
        " ignored_columns, synthetic) VALUES (1, 'referrals', 'bench.csv', '0', ?, 'loaded',"
        " 0, 0, 0, 0, 0, 0, '[]', 1)",
        (now,),
    )

    def iso(col: str) -> pl.Expr:
        return pl.col(col).dt.strftime("%Y-%m-%d")

    referrals = tables["referrals"].select(
        "id",
        "force",
        "force_referral_id",
        iso("referral_date"),
        iso("crime_recorded_date"),
        iso("nfa_date"),
        "original_outcome",
        "offence_codes",
        "suspects_count",
        "suspects_alive_count",
        "victims_count",
        "suspects_ethnicity_recorded_count",
        pl.col("involves_rape").cast(pl.Int8),
        pl.col("eligible").cast(pl.Int8),
        "ineligibility_reasons",
        pl.lit(1).alias("version"),
        pl.lit(1).alias("submission_id"),
        pl.col("id").alias("source_row"),
        pl.lit(now).alias("loaded_at"),
    )
    con.executemany(
        f"INSERT INTO referrals ({', '.join(referrals.columns)}) VALUES"  # noqa: S608
        f" ({', '.join('?' * len(referrals.columns))})",
        referrals.iter_rows(),
    )
    con.executemany(
        "INSERT INTO referral_offences (referral_id, code) VALUES (?, ?)",
        tables["referral_offences"].iter_rows(),
    )
    events = tables["review_events"].select(
        "id",
        "referral_id",
        "event",
        iso("event_date"),
        "detail",
        pl.lit(1).alias("submission_id"),
        pl.col("id").alias("source_row"),
        pl.lit(now).alias("loaded_at"),
    )
    con.executemany(
        "INSERT INTO review_events (id, referral_id, event, event_date, detail, submission_id,"
        " source_row, loaded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        events.iter_rows(),
    )
    con.commit()
    con.execute("ANALYZE")
    con.close()
    # rows written by hand: write the store's columnar copy from them, as
    # `beaconport store rebuild-snapshot` does
    engine = make_engine(f"sqlite:///{path}", migrate=False)
    with engine.begin() as conn:
        snapshot.rebuild(conn)
    engine.dispose()
