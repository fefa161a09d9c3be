"""Benchmark ``beaconport ingest``: wall time, rows per second and peak memory.

    .venv/bin/python scripts/bench_ingest.py [--sizes 1273,100000,1000000] [--runs 5]
                                             [--write-docs] [--pg-url postgresql://...]

For each size it writes a synthetic referral return (one file per size above the
default, the seed's 23 files at 1,273) and its events file, then runs the real command
line, ``beaconport ingest referrals`` and ``beaconport ingest events``, in a fresh
process against a fresh SQLite file (and, with --pg-url, a fresh PostgreSQL database on
that server), as a user would. Times are end to end (process
start, imports, reading, checking, storing); peak memory is the child's maximum
resident set size. With --write-docs the table replaces the "Ingestion" section of
docs/performance.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from metrics.synthetic import write_synthetic_dataset  # noqa: E402

BP = Path(sys.executable).with_name("beaconport")


def run_child(args: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """Wall seconds, peak RSS in MiB (of this child alone), and stdout of one child."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(args, env=env, stdout=out, stderr=err, text=True)
        _pid, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        code = os.waitstatus_to_exitcode(status)
        proc.returncode = code
        out.seek(0)
        err.seek(0)
        if code != 0:
            raise SystemExit(f"{' '.join(args[:3])} failed ({code}): {err.read().strip()[-500:]}")
        return wall, usage.ru_maxrss / 1024, out.read()


def fresh_postgresql(server_url: str, name: str) -> str:
    """A new empty database ``name`` on the server (dropped first if it exists)."""
    import psycopg
    from sqlalchemy.engine import make_url

    url = make_url(server_url)
    admin = url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    return url.set(database=name).render_as_string(hide_password=False)


def bench(size: int, work: Path, pg_url: str | None = None, runs: int = 1) -> dict:
    """Each feed ingested ``runs`` times, each time into a fresh store (the files are
    written once); times are the median run's, peaks the largest of any run."""
    folder = work / f"n{size}"
    forces = 23 if size == 1273 else 1
    t0 = time.perf_counter()
    ds = write_synthetic_dataset(folder, referrals=size, forces=forces)
    gen = time.perf_counter() - t0
    ref_walls, ev_walls, ref_peaks, ev_peaks = [], [], [], []
    for run in range(runs):
        if pg_url:
            db_url = fresh_postgresql(pg_url, f"beaconport_bench_{size}")
        else:
            db = work / f"n{size}-{run}.db"
            db_url = f"sqlite:///{db}"
        env = dict(os.environ, BEACONPORT_DB_URL=db_url, GX_ANALYTICS_ENABLED="false")
        ref_args = [str(BP), "ingest", "referrals", "--quiet", "--json"]
        wall, peak, _ = run_child([*ref_args, *map(str, ds.referral_files)], env)
        ref_walls.append(wall)
        ref_peaks.append(peak)
        ev_args = [str(BP), "ingest", "events", "--quiet", "--json"]
        wall, peak, _ = run_child([*ev_args, *map(str, ds.event_files)], env)
        ev_walls.append(wall)
        ev_peaks.append(peak)
        if not pg_url:
            for stale in work.glob(f"n{size}-{run}.db*"):
                stale.unlink()
    events = ds.expected["events"]
    ref_s, ev_s = statistics.median(ref_walls), statistics.median(ev_walls)
    return {
        "size": size,
        "store": "PostgreSQL" if pg_url else "SQLite",
        "files": len(ds.referral_files),
        "events": events,
        "generate_s": gen,
        "runs": runs,
        "ref_s": ref_s,
        "ref_range": (min(ref_walls), max(ref_walls)),
        "ref_rate": size / ref_s,
        "ref_peak": max(ref_peaks),
        "ev_s": ev_s,
        "ev_range": (min(ev_walls), max(ev_walls)),
        "ev_rate": events / ev_s,
        "ev_peak": max(ev_peaks),
    }


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    load = os.getloadavg()[0]
    return (
        f"{os.cpu_count()} cores ({cpu}), {mem:.0f} GiB RAM, Python {platform.python_version()}, "
        f"load average {load:.1f} at the start"
    )


def _seconds(r: dict, feed: str) -> str:
    low, high = r[f"{feed}_range"]
    spread = f" ({low:.1f}–{high:.1f})" if r["runs"] > 1 else ""
    return f"{r[f'{feed}_s']:.1f}{spread}"


def table(results: list[dict]) -> str:
    lines = [
        "| store | referral rows | files | runs | referrals: seconds | referrals: rows/s | peak MiB | events | events: seconds | events: rows/s | peak MiB |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r['store']} | {r['size']:,} | {r['files']} | {r['runs']} | {_seconds(r, 'ref')} | {r['ref_rate']:,.0f} | {r['ref_peak']:,.0f} "
            f"| {r['events']:,} | {_seconds(r, 'ev')} | {r['ev_rate']:,.0f} | {r['ev_peak']:,.0f} |"
        )
    return "\n".join(lines)


def write_docs(text: str) -> None:
    path = ROOT / "docs" / "performance.md"
    doc = path.read_text() if path.exists() else "# Performance\n"
    section = f"## Ingestion\n\n{text}\n"
    pattern = re.compile(r"## Ingestion\n.*?(?=\n## |\Z)", re.S)
    doc = (
        pattern.sub(lambda _m: section.rstrip("\n"), doc)
        if pattern.search(doc)
        else doc.rstrip("\n") + "\n\n" + section
    )
    path.write_text(doc)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1273,100000,1000000")
    ap.add_argument("--write-docs", action="store_true")
    ap.add_argument(
        "--runs",
        type=int,
        default=1,
        help="ingest each size this many times, each into a fresh store, and report the "
        "median run (with the fastest and slowest) and the largest peak",
    )
    ap.add_argument(
        "--pg-url",
        help="also measure on this PostgreSQL server (a fresh database per size is created "
        "and left for inspection)",
    )
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    work = Path(tempfile.mkdtemp(prefix="beaconport-bench-"))
    header = machine()
    try:
        results = []
        for size, pg in [(s, None) for s in sizes] + [
            (s, args.pg_url) for s in sizes if args.pg_url
        ]:
            r = bench(size, work, pg, args.runs)
            results.append(r)
            print(
                f"{r['store']:>10} {size:>9,} referrals: {r['ref_s']:6.1f} s ({r['ref_rate']:,.0f} rows/s, {r['ref_peak']:,.0f} MiB); "
                f"{r['events']:,} events: {r['ev_s']:.1f} s ({r['ev_rate']:,.0f} rows/s)",
                flush=True,
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    text = (
        f"Measured {date.today().isoformat()} by `scripts/bench_ingest.py` on {header}.\n\n"
        "End to end: a fresh `beaconport ingest` process per feed, from process start to exit, "
        "against a fresh SQLite file or PostgreSQL database (reading, Great Expectations or its compiled form, "
        "eligibility, storing in one transaction per file). 1,273 is the default seed's "
        "23 files; the larger sizes are one return each. Peak memory is each process's own largest "
        "resident set. With several runs, each feed is ingested that many times into a fresh "
        "store each time: seconds are the median run's (fastest to slowest in brackets), rows "
        "a second are the median's, and peak memory is the largest of any run. "
        "PostgreSQL 15 (Debian's) runs on the same machine, on loopback.\n\n" + table(results)
    )
    print(text)
    if args.write_docs:
        write_docs(text)


if __name__ == "__main__":
    main()
