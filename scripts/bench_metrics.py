"""Benchmark the dashboard's aggregates: Polars (metrics/) against pandas and DuckDB.

    .venv/bin/python scripts/bench_metrics.py [--sizes 10000 100000 1000000] [--repeat 3]
                                              [--write-docs]

For each size a SQLite store is generated (scripts/bench_data.py; cached in
bench-data/) with about five review events per referral. Measured, best of
``--repeat`` runs:

- end to end: from the stored data to finished figures (read the tables, derive, aggregate);
- in memory: the same from the raw tables already read into memory.

"Full set" is every figure the dashboard draws (every public function in
metrics.progress, volumes, offences, outcomes, themes and the report). "Compared set"
is the part also written in pandas and in DuckDB SQL below, in the plainest way each
allows; the three answers are checked equal before any time is reported. Peak memory
is the process's maximum resident set size after each step (``ru_maxrss``), and the
Python heap peak of one end-to-end Polars run (tracemalloc; Polars' own buffers are not
seen by tracemalloc, so RSS is the figure to read).
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import polars as pl

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from bench_data import generate_tables, write_sqlite  # noqa: E402
from sqlalchemy import Engine  # noqa: E402

from metrics import offences, outcomes, progress, reference, report, themes, volumes  # noqa: E402
from metrics.frames import (  # noqa: E402
    StoreFrames,
    StoreTables,
    prepare_frames,
    read_store_rows,
    read_store_tables,
)
from metrics.store import make_engine  # noqa: E402

DECISIONS = ["nfa_upheld", "passed_back_to_force", "adopted_by_nca"]
BANDS = [(30, "0-30 days"), (90, "31-90 days"), (180, "91-180 days"), (365, "181-365 days")]
Figures = dict[str, list[tuple]]


# ----------------------------------------------------------------------------- Polars


def polars_full_set(frames: StoreFrames) -> None:
    """Every figure the dashboard draws."""
    progress.headline_progress(frames, since=date(2025, 6, 1))
    for fn in (
        volumes.referrals_by_force,
        volumes.referrals_by_region,
        volumes.referrals_by_week,
        volumes.referrals_by_month,
        volumes.force_rate_funnel,
        offences.referrals_by_offence_group,
        offences.referrals_by_offence_code,
        offences.offence_groups_by_force,
        offences.offence_groups_by_crime_year,
        outcomes.outcome_funnel,
        outcomes.original_outcomes,
        outcomes.decision_mix_by_force,
        outcomes.time_in_stage,
        outcomes.backlog_by_age,
        outcomes.weekly_throughput,
        outcomes.backlog_forecast,
        themes.theme_share,
        themes.theme_share_by_force,
        themes.theme_share_by_month,
        themes.themes_by_decision,
        themes.theme_co_occurrence,
    ):
        fn(frames)
    report.build_report(frames)


def _rows(frame: pl.DataFrame, columns: list[str], nonzero: str | None = None) -> list[tuple]:
    if nonzero:
        frame = frame.filter(pl.col(nonzero) > 0)
    return sorted(frame.select(columns).rows())


def polars_compared(frames: StoreFrames) -> Figures:
    """The compared set, from the metrics functions."""
    figures = progress.headline_figures(frames)
    stages = outcomes.time_in_stage(frames)
    return {
        "by_force": _rows(
            volumes.referrals_by_force(frames),
            ["force", "referrals", "rape_referrals", "eligible"],
        ),
        "by_region": _rows(volumes.referrals_by_region(frames), ["region", "referrals"]),
        "by_week": _rows(
            volumes.referrals_by_week(frames), ["period_start", "referrals"], "referrals"
        ),
        "by_month": _rows(
            volumes.referrals_by_month(frames), ["period_start", "referrals"], "referrals"
        ),
        "groups_by_force": _rows(
            offences.offence_groups_by_force(frames),
            ["force", "offence_group", "referrals"],
            "referrals",
        ),
        "funnel": [tuple(outcomes.outcome_funnel(frames)["referrals"].to_list())],
        "decision_mix": _rows(
            outcomes.decision_mix_by_force(frames), ["force", "decision", "referrals"], "referrals"
        ),
        "time_in_stage": _rows(
            stages.filter(
                pl.col("stage").is_in(["referral_to_assessment_start", "referral_to_decision"])
            ),
            ["stage", "median_days", "p90_days"],
        ),
        "backlog_by_age": _rows(
            outcomes.backlog_by_age(frames), ["age_band", "referrals"], "referrals"
        ),
        "themes_by_force": _rows(
            themes.theme_share_by_force(frames), ["force", "theme", "referrals"], "referrals"
        ),
        "co_occurrence": _rows(
            themes.theme_co_occurrence(frames), ["theme_a", "theme_b", "referrals"], "referrals"
        ),
        "headline": [
            ("counts", figures["charged"], figures["convicted"], figures["misconduct_referrals"]),
            *sorted(themes.referrals_with_theme(frames).items()),
        ],
    }


# ----------------------------------------------------------------------------- pandas


def pandas_read(engine: Engine) -> dict[str, pd.DataFrame]:
    """The three tables with pandas.read_sql, as a pandas user would."""
    with engine.connect() as conn:
        referrals = pd.read_sql(
            "SELECT id, force, referral_date, crime_recorded_date, original_outcome, eligible,"
            " ineligibility_reasons FROM referrals",
            conn,
            parse_dates=["referral_date", "crime_recorded_date"],
        )
        offences_df = pd.read_sql("SELECT referral_id, code FROM referral_offences", conn)
        events = pd.read_sql(
            "SELECT referral_id, event, event_date, detail FROM review_events",
            conn,
            parse_dates=["event_date"],
        )
    referrals["eligible"] = referrals["eligible"].astype(bool)
    return {"referrals": referrals, "offences": offences_df, "events": events}


def pandas_prepare(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """The per-referral frame the dashboard draws from, with the same columns as
    ``metrics.frames.prepare_frames``, written plainly in pandas (checked equal)."""
    ref = tables["referrals"].copy()
    off = tables["offences"]
    ev = tables["events"]
    forces = reference.forces().to_pandas()[["name", "region", "population"]]
    codes = reference.offence_codes().to_pandas()[["code", "group", "rape"]]
    ref = ref.merge(forces.rename(columns={"name": "force"}), on="force", how="left")
    oc = off.merge(codes, on="code", how="left")

    def sorted_sets(frame: pd.DataFrame, column: str) -> pd.Series:
        # de-duplicated, sorted pairs cut into one list per referral with NumPy: several
        # times faster than groupby(...).agg(list), which runs Python per group
        pairs = frame[["referral_id", column]].drop_duplicates()
        pairs = pairs.sort_values(["referral_id", column])
        ids = pairs["referral_id"].to_numpy()
        starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]])
        values = np.split(pairs[column].to_numpy(), starts[1:]) if len(ids) else []
        return pd.Series([v.tolist() for v in values], index=ids[starts], dtype=object)

    def first(event: str) -> pd.Series:
        return ev[ev["event"] == event].groupby("referral_id")["event_date"].min()

    def count(event: str) -> pd.Series:
        return ev[ev["event"] == event].groupby("referral_id").size()

    dec = ev[ev["event"] == "assessment_completed"].sort_values("event_date", kind="stable")
    dec = dec.drop_duplicates("referral_id", keep="last").set_index("referral_id")
    ref = ref.set_index("id")
    ref["codes"] = sorted_sets(oc, "code")
    ref["offence_groups"] = sorted_sets(oc.dropna(subset=["group"]), "group")
    ref["involves_rape"] = oc.groupby("referral_id")["rape"].any()
    ref["ineligible_reasons"] = [
        [] if ok else [p for p in (why or "").split(";") if p]
        for ok, why in zip(ref["eligible"], ref["ineligibility_reasons"], strict=True)
    ]
    ref["assessment_started_date"] = first("assessment_started")
    ref["decision"] = dec["detail"]
    ref["decision_date"] = dec["event_date"]
    ref["reinvestigation_started_date"] = first("reinvestigation_started")
    ref["charged_date"] = first("suspect_charged")
    ref["convicted_date"] = first("suspect_convicted")
    ref["misconduct_date"] = first("misconduct_referral")
    ref["victim_contacts"] = count("victim_contacted")
    ref["acknowledgements"] = count("acknowledgement_given")
    ref["themes"] = sorted_sets(ev[ev["event"] == "learning_theme"], "detail")
    for column in ("codes", "offence_groups", "themes"):
        ref[column] = [v if isinstance(v, list) else [] for v in ref[column]]
    ref["involves_rape"] = ref["involves_rape"].fillna(False).astype(bool)
    for column in ("victim_contacts", "acknowledgements"):
        ref[column] = ref[column].fillna(0).astype(int)
    return ref.drop(columns="ineligibility_reasons").reset_index().sort_values("id")


def check_prepared_equal(polars_frame: pl.DataFrame, pandas_frame: pd.DataFrame) -> None:
    """The two per-referral frames hold the same values, column by column."""

    def plain(v: object) -> object:
        if isinstance(v, pd.Timestamp):
            return v.date()
        if v is None or (isinstance(v, float) and v != v) or v is pd.NaT:
            return None
        if hasattr(v, "tolist"):
            return v.tolist()
        return v

    for column in polars_frame.columns:
        want = polars_frame[column].to_list()
        got = [plain(v) for v in pandas_frame[column].tolist()]
        if got != want:
            raise SystemExit(f"pandas and Polars per-referral frames differ in {column}")


def pandas_compared(tables: dict[str, pd.DataFrame], ref: pd.DataFrame | None = None) -> Figures:
    """The compared set, written plainly in pandas.

    With ``ref`` (from :func:`pandas_prepare`) the figures are drawn from the full
    per-referral frame, like for like with Polars; without, only the columns these
    figures need are derived (the least pandas has to do).
    """
    ev = tables["events"]
    if ref is None:
        ref = tables["referrals"].copy()
        off = tables["offences"]
        forces = (
            reference.forces().to_pandas()[["name", "region"]].rename(columns={"name": "force"})
        )
        codes = reference.offence_codes().to_pandas()[["code", "group", "rape"]]
        ref = ref.merge(forces, on="force", how="left")
        oc = off.merge(codes, on="code", how="left")
        rape_ids = set(oc.loc[oc["rape"], "referral_id"])
        ref["involves_rape"] = ref["id"].isin(rape_ids)

        def first(event: str) -> pd.Series:
            return ev[ev["event"] == event].groupby("referral_id")["event_date"].min()

        dec = ev[ev["event"] == "assessment_completed"].sort_values("event_date")
        dec = dec.drop_duplicates("referral_id", keep="last").set_index("referral_id")
        ref = ref.set_index("id")
        ref["decision"] = dec["detail"]
        ref["decision_date"] = dec["event_date"]
        ref["assessment_started_date"] = first("assessment_started")
        ref["charged_date"] = first("suspect_charged")
        ref["convicted_date"] = first("suspect_convicted")
        ref["misconduct_date"] = first("misconduct_referral")
        ref = ref.reset_index()
        groups = oc[["referral_id", "group"]].drop_duplicates()
    else:
        groups = ref[["id", "offence_groups"]].explode("offence_groups").dropna()
        groups = groups.rename(columns={"id": "referral_id", "offence_groups": "group"})
    eligible = ref[ref["eligible"]]
    assessed = eligible[eligible["decision"].notna()]
    reopened = assessed[assessed["decision"].isin(DECISIONS[1:])]
    charged = reopened[reopened["charged_date"].notna()]
    convicted = charged[charged["convicted_date"].notna()]
    out: Figures = {}
    by_force = ref.groupby("force").agg(
        referrals=("id", "size"),
        rape_referrals=("involves_rape", "sum"),
        eligible=("eligible", "sum"),
    )
    out["by_force"] = sorted((f, int(a), int(b), int(c)) for f, a, b, c in by_force.itertuples())
    out["by_region"] = sorted((r, int(n)) for r, n in ref.groupby("region").size().items())
    week = ref["referral_date"].dt.to_period("W-SUN").dt.start_time.dt.date
    out["by_week"] = sorted((w, int(n)) for w, n in ref.groupby(week).size().items())
    month = ref["referral_date"].dt.to_period("M").dt.start_time.dt.date
    out["by_month"] = sorted((m, int(n)) for m, n in ref.groupby(month).size().items())
    groups = groups.merge(ref[["id", "force"]], left_on="referral_id", right_on="id")
    out["groups_by_force"] = sorted(
        (f, g, int(n)) for (f, g), n in groups.groupby(["force", "group"]).size().items()
    )
    out["funnel"] = [
        (len(ref), len(eligible), len(assessed), len(reopened), len(charged), len(convicted))
    ]
    mix = eligible.assign(decision=eligible["decision"].fillna("awaiting_decision"))
    out["decision_mix"] = sorted(
        (f, d, int(n)) for (f, d), n in mix.groupby(["force", "decision"]).size().items()
    )
    stages = []
    for stage, start in (
        ("referral_to_assessment_start", "assessment_started_date"),
        ("referral_to_decision", None),
    ):
        end = start or "decision_date"
        days = (eligible[end] - eligible["referral_date"]).dt.days.dropna()
        stages.append((stage, float(days.median()), float(days.quantile(0.9))))
    out["time_in_stage"] = sorted(stages)
    as_at = max(ref["referral_date"].max(), ev["event_date"].max())
    backlog = eligible[eligible["decision"].isna()]
    age = (as_at - backlog["referral_date"]).dt.days

    def band(days: int) -> str:
        return next((label for limit, label in BANDS if days <= limit), "over 365 days")

    out["backlog_by_age"] = sorted((b, int(n)) for b, n in age.map(band).value_counts().items())
    theme_rows = ev[ev["event"] == "learning_theme"][["referral_id", "detail"]].drop_duplicates()
    assessed_themes = theme_rows.merge(
        assessed[["id", "force"]], left_on="referral_id", right_on="id"
    )
    out["themes_by_force"] = sorted(
        (f, t, int(n)) for (f, t), n in assessed_themes.groupby(["force", "detail"]).size().items()
    )
    pairs = assessed_themes[["referral_id", "detail"]].merge(
        assessed_themes[["referral_id", "detail"]], on="referral_id"
    )
    out["co_occurrence"] = sorted(
        (a, b, int(n)) for (a, b), n in pairs.groupby(["detail_x", "detail_y"]).size().items()
    )
    theme_counts = theme_rows.groupby("detail").size()
    out["headline"] = [
        (
            "counts",
            int(ref["charged_date"].notna().sum()),
            int(ref["convicted_date"].notna().sum()),
            int(ref["misconduct_date"].notna().sum()),
        ),
        *sorted((t, int(theme_counts.get(t, 0))) for t in reference.lookups().theme_codes),
    ]
    return out


# ----------------------------------------------------------------------------- DuckDB

DUCKDB_SETUP = """
CREATE OR REPLACE TEMP VIEW ref AS
WITH dec AS (
    SELECT referral_id, arg_max(detail, event_date) AS decision, max(event_date) AS decision_date
    FROM events WHERE event = 'assessment_completed' GROUP BY referral_id
), firsts AS (
    SELECT referral_id,
        min(event_date) FILTER (WHERE event = 'assessment_started') AS started,
        min(event_date) FILTER (WHERE event = 'suspect_charged') AS charged_date,
        min(event_date) FILTER (WHERE event = 'suspect_convicted') AS convicted_date,
        min(event_date) FILTER (WHERE event = 'misconduct_referral') AS misconduct_date
    FROM events GROUP BY referral_id
), rape AS (
    SELECT DISTINCT o.referral_id FROM offences o JOIN codes c USING (code) WHERE c.rape
)
SELECT r.*, f.region, rape.referral_id IS NOT NULL AS involves_rape, dec.decision,
    dec.decision_date, firsts.started, firsts.charged_date, firsts.convicted_date,
    firsts.misconduct_date,
    r.eligible AND dec.decision IS NOT NULL AS assessed
FROM referrals r
LEFT JOIN forces f ON f.name = r.force
LEFT JOIN rape ON rape.referral_id = r.id
LEFT JOIN dec ON dec.referral_id = r.id
LEFT JOIN firsts ON firsts.referral_id = r.id;
CREATE OR REPLACE TEMP VIEW assessed_themes AS
SELECT DISTINCT e.referral_id, e.detail AS theme, ref.force
FROM events e JOIN ref ON ref.id = e.referral_id
WHERE e.event = 'learning_theme' AND ref.assessed;
"""

DUCKDB_QUERIES = {
    "by_force": "SELECT force, count(*), count(*) FILTER (involves_rape),"
    " count(*) FILTER (eligible) FROM ref GROUP BY force",
    "by_region": "SELECT region, count(*) FROM ref GROUP BY region",
    "by_week": "SELECT date_trunc('week', referral_date)::DATE, count(*) FROM ref GROUP BY 1",
    "by_month": "SELECT date_trunc('month', referral_date)::DATE, count(*) FROM ref GROUP BY 1",
    "groups_by_force": "SELECT r.force, g.grp, count(*) FROM (SELECT DISTINCT o.referral_id,"
    ' c."group" AS grp FROM offences o JOIN codes c USING (code)) g JOIN ref r ON r.id ='
    " g.referral_id GROUP BY 1, 2",
    "funnel": "SELECT count(*), count(*) FILTER (eligible), count(*) FILTER (assessed),"
    " count(*) FILTER (assessed AND decision <> 'nfa_upheld'),"
    " count(*) FILTER (assessed AND decision <> 'nfa_upheld' AND charged_date IS NOT NULL),"
    " count(*) FILTER (assessed AND decision <> 'nfa_upheld' AND charged_date IS NOT NULL"
    " AND convicted_date IS NOT NULL) FROM ref",
    "decision_mix": "SELECT force, coalesce(decision, 'awaiting_decision'), count(*) FROM ref"
    " WHERE eligible GROUP BY 1, 2",
    "time_in_stage": "SELECT 'referral_to_assessment_start', median(started - referral_date)::DOUBLE,"
    " quantile_cont(started - referral_date, 0.9) FROM ref WHERE eligible AND started IS NOT NULL"
    " UNION ALL SELECT 'referral_to_decision', median(decision_date - referral_date)::DOUBLE,"
    " quantile_cont(decision_date - referral_date, 0.9) FROM ref WHERE assessed",
    "backlog_by_age": "SELECT CASE WHEN age <= 30 THEN '0-30 days' WHEN age <= 90 THEN '31-90 days'"
    " WHEN age <= 180 THEN '91-180 days' WHEN age <= 365 THEN '181-365 days' ELSE 'over 365 days'"
    " END, count(*) FROM (SELECT (SELECT greatest(max(referral_date), (SELECT max(event_date)"
    " FROM events)) FROM referrals) - referral_date AS age FROM ref WHERE eligible AND decision"
    " IS NULL) GROUP BY 1",
    "themes_by_force": "SELECT force, theme, count(*) FROM assessed_themes GROUP BY 1, 2",
    "co_occurrence": "SELECT a.theme, b.theme, count(*) FROM assessed_themes a JOIN"
    " assessed_themes b USING (referral_id) GROUP BY 1, 2",
    "headline": "SELECT 'counts', count(charged_date), count(convicted_date), count(misconduct_date) FROM ref",
    "themes": "SELECT t.code, count(DISTINCT e.referral_id) FROM themes t LEFT JOIN events e"
    " ON e.event = 'learning_theme' AND e.detail = t.code GROUP BY 1",
}


def duckdb_compared(tables: StoreTables) -> Figures:
    """The compared set in DuckDB SQL over the same raw tables (Arrow, zero copy)."""
    con = duckdb.connect()
    con.register("referrals", tables.referrals.to_arrow())
    con.register("offences", tables.offences.to_arrow())
    con.register("events", tables.events.to_arrow())
    con.register("forces", reference.forces().select("name", "region").to_arrow())
    con.register("codes", reference.offence_codes().to_arrow())
    con.register("themes", reference.learning_themes().to_arrow())
    con.execute(DUCKDB_SETUP)
    out: Figures = {}
    for name, sql in DUCKDB_QUERIES.items():
        rows = con.execute(sql).fetchall()
        out[name] = sorted(tuple(int(v) if isinstance(v, int) else v for v in r) for r in rows)
    themes_rows = out.pop("themes")
    out["headline"] = [*out["headline"], *themes_rows]
    out["decision_mix"] = sorted(out["decision_mix"])
    con.close()
    return out


# ----------------------------------------------------------------------------- harness


def _normalise(figures: Figures) -> Figures:
    def value(v: object) -> object:
        if isinstance(v, float):
            return round(v, 6)
        if isinstance(v, pd.Timestamp):
            return v.date()
        return v

    return {k: sorted(tuple(value(x) for x in row) for row in rows) for k, rows in figures.items()}


def best_of(repeat: int, fn: Callable[[], object]) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def max_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def machine() -> str:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    mem_kib = next(
        int(line.split()[1])
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal")
    )
    return f"{os.cpu_count()} CPUs ({cpu}), {mem_kib / 1024 / 1024:.1f} GiB RAM, Python {platform.python_version()}, Polars {pl.__version__}, pandas {pd.__version__}, DuckDB {duckdb.__version__}"


def run_size(n: int, repeat: int) -> dict[str, float | int]:
    path = ROOT / "bench-data" / f"bench_{n}.db"
    path.parent.mkdir(exist_ok=True)
    if not path.exists():
        write_sqlite(path, generate_tables(n))
    engine = make_engine(f"sqlite:///{path}", migrate=False)
    tables = read_store_tables(engine)
    events_per = tables.events.height / max(tables.referrals.height, 1)

    prepared = prepare_frames(tables)
    pandas_tables = pandas_read(engine)
    check_prepared_equal(prepared.referrals.collect(), pandas_prepare(pandas_tables))
    polars_answer = _normalise(polars_compared(prepared))
    pandas_answer = _normalise(pandas_compared(pandas_tables, pandas_prepare(pandas_tables)))
    pandas_least = _normalise(pandas_compared(pandas_tables))
    duck_answer = _normalise(duckdb_compared(tables))
    for name in polars_answer:
        if not (
            polars_answer[name] == pandas_answer[name] == pandas_least[name] == duck_answer[name]
        ):
            for label, answer in (
                ("pandas", pandas_answer),
                ("pandas (least)", pandas_least),
                ("duckdb", duck_answer),
            ):
                if answer[name] != polars_answer[name]:
                    print(name, label, answer[name][:5], polars_answer[name][:5], file=sys.stderr)
            raise SystemExit(f"answers differ for {name} at n={n}")

    result: dict[str, float | int] = {
        "n": n,
        "events_per_referral": round(events_per, 2),
        "load_before": os.getloadavg()[0],
    }
    result["polars_full_e2e"], _ = best_of(
        repeat, lambda: polars_full_set(prepare_frames(read_store_tables(engine)))
    )
    result["polars_full_rows_e2e"], _ = best_of(
        repeat, lambda: polars_full_set(prepare_frames(read_store_rows(engine)))
    )
    result["polars_full_mem"], _ = best_of(repeat, lambda: polars_full_set(prepare_frames(tables)))
    result["polars_cmp_e2e"], _ = best_of(
        repeat, lambda: polars_compared(prepare_frames(read_store_tables(engine)))
    )
    result["polars_cmp_mem"], _ = best_of(repeat, lambda: polars_compared(prepare_frames(tables)))
    result["rss_after_polars"] = max_rss_mib()
    result["duckdb_e2e"], _ = best_of(repeat, lambda: duckdb_compared(read_store_tables(engine)))
    result["duckdb_mem"], _ = best_of(repeat, lambda: duckdb_compared(tables))
    result["rss_after_duckdb"] = max_rss_mib()

    def pandas_like_for_like(t: dict[str, pd.DataFrame]) -> Figures:
        return pandas_compared(t, pandas_prepare(t))

    result["pandas_e2e"], _ = best_of(repeat, lambda: pandas_like_for_like(pandas_read(engine)))
    result["pandas_mem"], _ = best_of(repeat, lambda: pandas_like_for_like(pandas_tables))
    result["pandas_least_e2e"], _ = best_of(repeat, lambda: pandas_compared(pandas_read(engine)))
    result["pandas_least_mem"], _ = best_of(repeat, lambda: pandas_compared(pandas_tables))
    result["rss_after_pandas"] = max_rss_mib()
    result["load_after"] = os.getloadavg()[0]
    engine.dispose()
    return result


def run_isolated(n: int, repeat: int) -> dict[str, float | int]:
    """Each size in its own process, so peak memory is per size."""
    code = (
        "import json, sys; sys.path.insert(0, 'scripts'); import bench_metrics as b; "
        f"print(json.dumps(b.run_size({n}, {repeat})))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    import json

    return json.loads(out.strip().splitlines()[-1])


def markdown(results: list[dict[str, float | int]]) -> str:
    lines = [
        "## Metrics",
        "",
        f"Measured {date.today().isoformat()} with `scripts/bench_metrics.py` on {machine()}.",
        "Synthetic SQLite stores from `scripts/bench_data.py`; best of the runs (runs per",
        "size in the second column); times in",
        "seconds. *End to end* starts from the store (read, derive, aggregate): Polars reads",
        "the store's columnar copy (`metrics.snapshot`, what `load_store` reads), and, for",
        "comparison, the rows (the fallback path); pandas reads the rows with `read_sql`.",
        "*In memory* starts from the raw tables already read. The *full set* is every figure",
        "the dashboard draws (23 functions plus the report); the *compared set* is the part",
        "also written in pandas and DuckDB SQL (12 figures: by force, region, week, month,",
        "offence group by force, outcome funnel, decision mix by force, time in stage,",
        "backlog by age, themes by force, theme co-occurrence, headline counts), whose",
        "answers were checked equal across all of them before timing. *pandas* derives the",
        "same per-referral frame as `metrics.frames.prepare_frames` (checked equal, column",
        "by column) and draws the figures from it, like for like with Polars; *pandas",
        "(least)* derives only the columns the compared figures need, the least pandas has",
        "to do. DuckDB runs SQL over the same Arrow tables Polars reads. Peak memory is the",
        "process's maximum resident set size (MiB) after that engine's runs, cumulative",
        "within a size. The 1-minute load average before and after each size is given.",
        "",
        "| referrals | runs | events/ref | Polars full set e2e (copy / rows) | Polars full set in memory | Polars compared e2e | pandas e2e | pandas (least) e2e | DuckDB e2e | Polars compared in memory | pandas in memory | pandas (least) in memory | DuckDB in memory | pandas/Polars e2e | pandas/Polars mem | pandas (least)/Polars e2e / mem | DuckDB/Polars e2e / mem | peak RSS Polars / +DuckDB / +pandas | load before / after |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    for r in results:
        cmp_e2e, cmp_mem = r["polars_cmp_e2e"], r["polars_cmp_mem"]
        lines.append(
            f"| {r['n']:,} | {r.get('repeat', '')} | {r['events_per_referral']} "
            f"| {r['polars_full_e2e']:.3f} / {r['polars_full_rows_e2e']:.3f} | {r['polars_full_mem']:.3f} "
            f"| {cmp_e2e:.3f} | {r['pandas_e2e']:.3f} | {r['pandas_least_e2e']:.3f} | {r['duckdb_e2e']:.3f} "
            f"| {cmp_mem:.3f} | {r['pandas_mem']:.3f} | {r['pandas_least_mem']:.3f} | {r['duckdb_mem']:.3f} "
            f"| {r['pandas_e2e'] / cmp_e2e:.1f}x | {r['pandas_mem'] / cmp_mem:.1f}x "
            f"| {r['pandas_least_e2e'] / cmp_e2e:.1f}x / {r['pandas_least_mem'] / cmp_mem:.1f}x "
            f"| {r['duckdb_e2e'] / cmp_e2e:.2f}x / {r['duckdb_mem'] / cmp_mem:.2f}x "
            f"| {r['rss_after_polars']:.0f} / {r['rss_after_duckdb']:.0f} / {r['rss_after_pandas']:.0f} "
            f"| {r['load_before']:.1f} / {r['load_after']:.1f} |"
        )
    return "\n".join(lines) + "\n"


def write_docs(section: str) -> None:
    """Replace (or add) the "## Metrics" section of docs/performance.md, leaving the rest."""
    path = ROOT / "docs" / "performance.md"
    text = path.read_text() if path.exists() else "# Performance\n\n"
    start = text.find("## Metrics\n")
    if start == -1:
        text = text.rstrip("\n") + "\n\n" + section
    else:
        end = text.find("\n## ", start + 1)
        text = text[:start] + section + ("" if end == -1 else text[end:])
    path.write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--repeat-large",
        type=int,
        default=1,
        help="runs per measurement at 1,000,000 referrals and more (each pandas run there "
        "takes minutes)",
    )
    parser.add_argument("--write-docs", action="store_true", help="update docs/performance.md")
    args = parser.parse_args()
    results = []
    for n in args.sizes:
        repeat = args.repeat if n < 1_000_000 else args.repeat_large
        r = run_isolated(n, repeat)
        r["repeat"] = repeat
        print(r, flush=True)
        results.append(r)
    section = markdown(results)
    print(section)
    if args.write_docs:
        write_docs(section)


if __name__ == "__main__":
    main()
