"""Time ``beaconport check`` (every stored-data check, recorded) on stores of given sizes.

    .venv/bin/python scripts/bench_check.py 1273 1000000

A size of 1,273 is the seed data set loaded through the gate (every check should pass
but the warnings); larger sizes use the quick stores of ``scripts/bench_data.py``
(realistic shapes, not checked against the order rules, so some checks fail: the time
includes collecting those failures). Reports, per size: the time to read and prepare
the stored frames, the whole run (prepare + Great Expectations + recording the run),
and peak memory. Great Expectations is imported before timing starts.
"""

from __future__ import annotations

import os
import platform
import resource
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from data_checks.gate import ingest_file
from data_checks.quality_checks import run_checks, stored_frames
from data_checks.quality_config import QualityConfig
from data_checks.suites import gx_context
from metrics.store import make_engine

TODAY = date(2025, 11, 4)


def seeded_store(folder: Path, n: int) -> str:
    url = f"sqlite:///{folder / f'check-{n}.db'}"
    engine = make_engine(url)
    if n == 1273:
        from metrics.synthetic import write_synthetic_dataset

        ds = write_synthetic_dataset(folder / "seed", referrals=n)
        for f in ds.referral_files:
            ingest_file(engine, f, "referrals", synthetic=True, today=TODAY)
        for f in ds.event_files:
            ingest_file(engine, f, "events", synthetic=True, today=TODAY)
    else:
        sys.path.insert(0, str(Path(__file__).parent))
        from bench_data import generate_tables, write_sqlite

        engine.dispose()
        write_sqlite(folder / f"check-{n}.db", generate_tables(n))
    return url


def main(sizes: list[int]) -> None:
    gx_context()
    print(
        f"# {platform.python_version()}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}",
        flush=True,
    )
    print(
        "| referrals | events | prepare (s) | whole check (s) | critical / warning / info failing | peak RSS (MiB) |"
    )
    print("|---:|---:|---:|---:|---|---:|")
    with tempfile.TemporaryDirectory(prefix="bench-check-") as tmp:
        for n in sizes:
            url = seeded_store(Path(tmp), n)
            engine = make_engine(url)
            t0 = time.perf_counter()
            frames = stored_frames(engine, QualityConfig())
            prepare = time.perf_counter() - t0
            events = frames.frames["events"].height
            del frames
            t0 = time.perf_counter()
            run = run_checks(engine, today=TODAY)
            whole = time.perf_counter() - t0
            rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            failed = " / ".join(str(len(run.failed(s))) for s in ("critical", "warning", "info"))
            print(
                f"| {n:,} | {events:,} | {prepare:.1f} | {whole:.1f} | {failed} | {rss:.0f} |",
                flush=True,
            )
            engine.dispose()


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [1273])
