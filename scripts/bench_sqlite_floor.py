"""What SQLite alone needs to store a return's referral rows: the floor under ``beaconport
ingest referrals`` on SQLite.

    .venv/bin/python scripts/bench_sqlite_floor.py STORE.db [--runs 2]

Reads every stored referral row of ``STORE.db`` (a SQLite store made by ``beaconport
seed`` or ``scripts/bench_ingest.py``) into memory, then, per run, creates a fresh
store with the real schema and connection settings (``metrics.store.make_engine``) and
inserts those rows in one transaction with the driver's ``executemany``, the statement
and row tuples already built, and commits. Prints the insert and commit times. Nothing
else of a load is done (no reading, checking, offence codes or columnar copy), so this
is the least any row-by-row load can take on this machine. Not a test.
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from metrics.store import make_engine  # noqa: E402


def rows_of(db: Path, table: str) -> tuple[list[str], list[tuple]]:
    with sqlite3.connect(db) as conn:
        cursor = conn.execute(f"SELECT * FROM {table}")  # noqa: S608 (our own table names)
        return [d[0] for d in cursor.description], cursor.fetchall()


def insert(
    columns: list[str], rows: list[tuple], sql_rows: tuple, target: Path
) -> tuple[float, float]:
    """Seconds for executemany and for the commit, into a fresh store at ``target``."""
    engine = make_engine(f"sqlite:///{target}")
    sub_columns, submissions = sql_rows
    names = ", ".join(columns)
    marks = ", ".join("?" * len(columns))
    with engine.connect() as conn:
        cursor = conn.connection.driver_connection.cursor()
        cursor.execute("BEGIN")
        cursor.executemany(
            f"INSERT INTO submissions ({', '.join(sub_columns)}) "  # noqa: S608
            f"VALUES ({', '.join('?' * len(sub_columns))})",
            submissions,
        )
        start = time.perf_counter()
        cursor.executemany(f"INSERT INTO referrals ({names}) VALUES ({marks})", rows)  # noqa: S608
        inserted = time.perf_counter()
        cursor.execute("COMMIT")
        committed = time.perf_counter()
    engine.dispose()
    return inserted - start, committed - inserted


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("store", type=Path, help="a SQLite store holding referrals")
    ap.add_argument("--runs", type=int, default=2)
    args = ap.parse_args()
    columns, rows = rows_of(args.store, "referrals")
    submissions = rows_of(args.store, "submissions")
    print(f"{len(rows):,} referral rows of {len(columns)} columns from {args.store}")
    inserts, commits = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for run in range(args.runs):
            ins, com = insert(columns, rows, submissions, Path(tmp) / f"floor-{run}.db")
            inserts.append(ins)
            commits.append(com)
            print(f"run {run + 1}: executemany {ins:.2f} s, commit {com:.2f} s", flush=True)
    total = statistics.median(inserts) + statistics.median(commits)
    print(
        f"median: executemany {statistics.median(inserts):.2f} s + commit "
        f"{statistics.median(commits):.2f} s = {total:.2f} s "
        f"({len(rows) / total:,.0f} rows/s for storing the rows alone)"
    )


if __name__ == "__main__":
    main()
