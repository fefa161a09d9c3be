"""What the database alone needs to store a return's referral rows: the floor under
``beaconport ingest referrals``.

    .venv/bin/python scripts/bench_store_floor.py STORE.db [--runs 3] [--pg-url URL]

Reads every stored referral row of ``STORE.db`` (a SQLite store made by ``beaconport
seed`` or ``scripts/bench_ingest.py``) into memory, then, per run, creates a fresh store
with the real schema and connection settings (``metrics.store.make_engine``) and stores
those rows in one transaction. On SQLite three ways: as the load does (since 3 December
2026), from a Polars frame through a staging file written by ADBC and one ``INSERT ...
SELECT`` (``data_checks.staging``); through the driver's ``executemany`` with the
statement and row tuples already built (the load's way before); and, for the engine's
own share, ``INSERT ... SELECT`` from an attached copy of the rows written beforehand (no
Python between rows at all); with ``--pg-url``, also
on a fresh database of that PostgreSQL server through ``COPY``, the CSV text already
built. Prints the time to store and the time to commit. Nothing else of a load is done
(no reading, checking, offence codes or columnar copy), so this is the least such a load
can take on this machine. Not a test.
"""

from __future__ import annotations

import argparse
import io
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import polars as pl

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from bench_ingest import fresh_postgresql  # noqa: E402

from data_checks.staging import insert_staged, staging_area  # noqa: E402
from metrics.store import make_engine, referrals_t  # noqa: E402

Rows = tuple[list[str], list[tuple]]


def rows_of(db: Path, table: str) -> Rows:
    with sqlite3.connect(db) as conn:
        cursor = conn.execute(f"SELECT * FROM {table}")  # noqa: S608 (our own table names)
        return [d[0] for d in cursor.description], cursor.fetchall()


def _insert(cursor: sqlite3.Cursor, table: str, rows: Rows) -> None:
    columns, values = rows
    cursor.executemany(
        f"INSERT INTO {table} ({', '.join(columns)}) "  # noqa: S608 (our own names)
        f"VALUES ({', '.join('?' * len(columns))})",
        values,
    )


def into_sqlite(referrals: Rows, submissions: Rows, target: Path) -> tuple[float, float]:
    """Seconds for executemany and for the commit, into a fresh SQLite store."""
    engine = make_engine(f"sqlite:///{target}")
    with engine.connect() as conn:
        cursor = conn.connection.driver_connection.cursor()
        cursor.execute("BEGIN")
        _insert(cursor, "submissions", submissions)
        start = time.perf_counter()
        _insert(cursor, "referrals", referrals)
        stored = time.perf_counter()
        cursor.execute("COMMIT")
        committed = time.perf_counter()
    engine.dispose()
    return stored - start, committed - stored


def into_sqlite_staged(
    referrals: pl.DataFrame, submissions: Rows, target: Path
) -> tuple[float, float]:
    """Seconds for the load's own way (a staging file written by ADBC from the frame,
    then ``INSERT ... SELECT``) and for the commit, into a fresh SQLite store."""
    engine = make_engine(f"sqlite:///{target}")
    with engine.connect() as conn, staging_area(conn):
        transaction = conn.begin()
        _insert(conn.connection.driver_connection.cursor(), "submissions", submissions)
        start = time.perf_counter()
        insert_staged(conn, referrals_t, referrals)
        stored = time.perf_counter()
        transaction.commit()
        committed = time.perf_counter()
    engine.dispose()
    return stored - start, committed - stored


def into_sqlite_engine(referrals: Rows, submissions: Rows, target: Path) -> tuple[float, float]:
    """Seconds for SQLite itself to store the rows and commit, with no Python between
    rows: ``INSERT ... SELECT`` from a copy of them in an attached file (written
    beforehand, untimed, into a table without keys), into a fresh store."""
    columns = referrals[0]
    staging = target.with_suffix(".staging.db")
    raw = sqlite3.connect(staging)
    with raw:
        raw.execute(f"CREATE TABLE r ({', '.join(columns)})")
        _insert(raw.cursor(), "r", referrals)
    raw.close()
    engine = make_engine(f"sqlite:///{target}")
    with engine.connect() as conn:
        cursor = conn.connection.driver_connection.cursor()
        cursor.execute("ATTACH DATABASE ? AS staging", (str(staging),))
        cursor.execute("BEGIN")
        _insert(cursor, "submissions", submissions)
        names = ", ".join(columns)
        start = time.perf_counter()
        cursor.execute(f"INSERT INTO referrals ({names}) SELECT {names} FROM staging.r")  # noqa: S608
        stored = time.perf_counter()
        cursor.execute("COMMIT")
        committed = time.perf_counter()
        cursor.execute("DETACH DATABASE staging")
    engine.dispose()
    staging.unlink()
    return stored - start, committed - stored


def _csv(columns: list[str], rows: list[tuple]) -> str:
    frame = pl.DataFrame(rows, schema=columns, orient="row", infer_schema_length=None)
    return frame.write_csv(include_header=False, quote_style="non_numeric", null_value="")


def into_postgresql(
    referrals: Rows, submissions: Rows, server_url: str, name: str
) -> tuple[float, float]:
    """Seconds for COPY and for the commit, into a fresh PostgreSQL database."""
    from psycopg import sql

    engine = make_engine(fresh_postgresql(server_url, name))
    texts = {"submissions": _csv(*submissions), "referrals": _csv(*referrals)}
    with engine.connect() as conn:
        driver = conn.connection.driver_connection
        with driver.cursor() as cursor:
            for table, (columns, _rows) in (("submissions", submissions), ("referrals", referrals)):
                statement = sql.SQL("COPY {} ({}) FROM STDIN WITH (FORMAT csv)").format(
                    sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns))
                )
                if table == "referrals":
                    start = time.perf_counter()
                with cursor.copy(statement) as copy:
                    stream = io.StringIO(texts[table])
                    while chunk := stream.read(1 << 20):
                        copy.write(chunk)
            stored = time.perf_counter()
        driver.commit()
        committed = time.perf_counter()
    engine.dispose()
    return stored - start, committed - stored


def measure(label: str, runs: int, once: Callable[[int], tuple[float, float]], n: int) -> None:
    stores, commits = [], []
    for run in range(runs):
        store, commit = once(run)
        stores.append(store)
        commits.append(commit)
        print(f"{label} run {run + 1}: store {store:.2f} s, commit {commit:.2f} s", flush=True)
    total = statistics.median(stores) + statistics.median(commits)
    print(
        f"{label} median: store {statistics.median(stores):.2f} s + commit "
        f"{statistics.median(commits):.2f} s = {total:.2f} s ({n / total:,.0f} rows/s "
        "for storing the rows alone)"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("store", type=Path, help="a SQLite store holding referrals")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--pg-url", help="also measure on this PostgreSQL server")
    args = ap.parse_args()
    referrals = rows_of(args.store, "referrals")
    submissions = rows_of(args.store, "submissions")
    n = len(referrals[1])
    print(f"{n:,} referral rows of {len(referrals[0])} columns from {args.store}")
    frame = pl.DataFrame(referrals[1], schema=referrals[0], orient="row", infer_schema_length=None)
    with tempfile.TemporaryDirectory() as tmp:
        measure(
            "SQLite, staged (the load's way)",
            args.runs,
            lambda run: into_sqlite_staged(frame, submissions, Path(tmp) / f"staged-{run}.db"),
            n,
        )
        measure(
            "SQLite, executemany",
            args.runs,
            lambda run: into_sqlite(referrals, submissions, Path(tmp) / f"floor-{run}.db"),
            n,
        )
        measure(
            "SQLite itself",
            args.runs,
            lambda run: into_sqlite_engine(referrals, submissions, Path(tmp) / f"engine-{run}.db"),
            n,
        )
    if args.pg_url:
        pg_referrals = _booleans(referrals, ("involves_rape", "eligible"))
        pg_submissions = _booleans(submissions, ("synthetic",))
        measure(
            "PostgreSQL",
            args.runs,
            lambda run: into_postgresql(
                pg_referrals, pg_submissions, args.pg_url, f"beaconport_floor_{run}"
            ),
            n,
        )


def _booleans(table: Rows, names: tuple[str, ...]) -> Rows:
    """SQLite returns booleans as 0 and 1; PostgreSQL's COPY wants true and false."""
    columns, rows = table
    flags = [i for i, c in enumerate(columns) if c in names]
    fixed = [
        tuple(
            (None if v is None else "true" if v else "false") if i in flags else v
            for i, v in enumerate(row)
        )
        for row in rows
    ]
    return columns, fixed


if __name__ == "__main__":
    main()
