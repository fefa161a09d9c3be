"""The ingestion gate: read a received file, judge every row, store it in one transaction.

For every file: ``rows_read = rows_loaded + rows_quarantined``; ineligible rows are part
of ``rows_loaded``. A file is ``loaded``, ``duplicate`` (its bytes were already loaded:
nothing changes) or ``rejected`` (it cannot be read: only the submission record saying
why is stored). Any unexpected failure rolls the whole file back.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path

import polars as pl
from sqlalchemy import Engine, Table, and_, bindparam, delete, func, select, text, update
from sqlalchemy.engine import Connection

from data_checks import cross_feed
from data_checks.eligibility import ReviewCriteria, ineligibility_reasons, involves_rape
from data_checks.errors import LoadFailed, RejectedFile
from data_checks.parse import (
    EVENT_OPTIONAL,
    EVENT_REQUIRED,
    FORMAT_REASON,
    REFERRAL_OPTIONAL,
    REFERRAL_REQUIRED,
    parse_events,
    parse_referrals,
)
from data_checks.reading import ROW, ReceivedTable, file_digest, read_received_file
from data_checks.staging import insert_staged, staging_area
from data_checks.suites import (
    EVENT_DATE_COLUMNS,
    REFERRAL_DATE_COLUMNS,
    RuleOutcome,
    evaluate_compiled,
    rules_for,
    validate_rows,
    with_day_numbers,
)
from metrics import reference, snapshot, store
from metrics.store import (
    audit,
    event_history_t,
    events_t,
    offences_t,
    quarantine_t,
    referral_history_t,
    referrals_t,
    submissions_t,
    utcnow,
    validation_results_t,
    validation_runs_t,
)

FEEDS = ("referrals", "events")
REPAIR_COLUMN = "quarantine_id"
Progress = Callable[[str], None]

REFERRAL_VALUE_COLUMNS = [
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


@dataclass
class FileResult:
    """What became of one received file (the contract's JSON line, and more for the steward)."""

    file: str
    feed: str
    status: str
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    rows_ineligible: int = 0
    reason: str | None = None
    submission_id: int | None = None
    rows_replaced: int = 0
    rows_repeated: int = 0
    quarantine_reasons: Counter = field(default_factory=Counter)
    first_problems: list[str] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)
    repaired: int = 0

    def contract_json(self) -> dict:
        """Exactly the keys the contract fixes for ``ingest --json``."""
        return {
            "file": self.file,
            "feed": self.feed,
            "status": self.status,
            "rows_read": self.rows_read,
            "rows_loaded": self.rows_loaded,
            "rows_quarantined": self.rows_quarantined,
            "rows_ineligible": self.rows_ineligible,
            "reason": self.reason,
        }


@dataclass
class PreparedFile:
    """A readable file, parsed into typed columns, waiting for its rows to be judged."""

    path: Path
    feed: str
    table: ReceivedTable
    frame: pl.DataFrame


def ingest_file(
    engine: Engine,
    path: Path | str,
    feed: str,
    *,
    synthetic: bool = False,
    today: date | None = None,
    criteria: ReviewCriteria | None = None,
    actor: str = "cli",
    repair: bool = False,
    progress: Progress | None = None,
    name: str | None = None,
) -> FileResult:
    """Validate and load one file of ``feed`` ("referrals" or "events").

    ``repair`` honours a ``quarantine_id`` column (a steward's corrected export): each
    row that loads closes the quarantined row it names. ``synthetic`` marks the
    submission as synthetic data (``beaconport seed``). ``name`` is the file name to
    record and report, when ``path`` is a working copy of the file the person gave.
    """
    return ingest_files(
        engine,
        [path],
        feed,
        synthetic=synthetic,
        today=today,
        criteria=criteria,
        actor=actor,
        repair=repair,
        progress=(lambda _name, msg: progress(msg)) if progress else None,
        names=None if name is None else [name],
    )[0]


#: Files are judged together up to this many rows (one Great Expectations run for many
#: small returns); each file is still stored in a transaction of its own.
BATCH_ROWS = 200_000


def ingest_files(
    engine: Engine,
    paths: list[Path | str] | list[Path] | list[str],
    feed: str,
    *,
    synthetic: bool = False,
    today: date | None = None,
    criteria: ReviewCriteria | None = None,
    actor: str = "cli",
    repair: bool = False,
    progress: Callable[[str, str], None] | None = None,
    on_result: Callable[[FileResult], None] | None = None,
    names: list[str] | None = None,
) -> list[FileResult]:
    """Validate and load several files of one feed, in order, one transaction per file.

    ``names``, one per path, are the names recorded and reported instead of the paths.

    The row rules do not depend on the store, so the rows of consecutive readable files
    are judged by one run of the suite; everything that does depend on the store (keys
    already stored, event order, duplicates) is judged file by file as each is loaded.
    A :class:`LoadFailed` stops the run; the files before it stay loaded.
    """
    if feed not in FEEDS:
        raise ValueError(f"unknown feed {feed!r}; expected one of {FEEDS}")
    today = today or date.today()
    criteria = criteria or ReviewCriteria.from_environment()
    step = progress or (lambda _name, _msg: None)
    results: list[FileResult] = []
    pending: list[PreparedFile | FileResult] = []
    rows = 0

    def flush() -> None:
        nonlocal rows
        prepared = [p for p in pending if isinstance(p, PreparedFile)]
        outcomes = _judge_together(prepared, feed, today) if prepared else []
        for item in pending:
            if isinstance(item, FileResult):
                result = item
            else:
                step(item.path.name, "storing")
                result = _load_prepared(
                    engine, item, outcomes.pop(0), today, criteria, synthetic, actor
                )
            results.append(result)
            if on_result:
                on_result(result)
        pending.clear()
        rows = 0

    paths = [Path(p) for p in paths]
    if names is not None and len(names) != len(paths):
        raise ValueError("names must give one name per path")
    for path, name in zip(paths, names or [str(p) for p in paths], strict=True):
        step(path.name, "reading")
        item = _prepare(engine, path, feed, synthetic, repair, [*results, *pending], name)
        pending.append(item)
        if isinstance(item, PreparedFile):
            rows += item.frame.height
            if rows >= BATCH_ROWS:
                flush()
    flush()
    return results


def _prepare(
    engine: Engine,
    path: Path,
    feed: str,
    synthetic: bool,
    repair: bool,
    earlier: list,
    name: str | None = None,
) -> PreparedFile | FileResult:
    """Read and parse a file, or the record of why it was not read (duplicate, rejected);
    ``name`` (by default the path) is what the record and every message call it."""
    name = name or str(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        return _record_rejection(
            engine, name, feed, "", f"cannot be read ({exc.strerror or exc})", synthetic
        )
    digest = file_digest(data)
    same_batch = any(isinstance(e, PreparedFile) and e.table.sha256 == digest for e in earlier)
    if same_batch or _already_loaded(engine, feed, digest):
        return _record_duplicate(engine, name, feed, digest, synthetic)
    required, optional = (
        (REFERRAL_REQUIRED, REFERRAL_OPTIONAL)
        if feed == "referrals"
        else (EVENT_REQUIRED, EVENT_OPTIONAL)
    )
    try:
        table = read_received_file(
            path,
            required,
            optional,
            (REPAIR_COLUMN,) if repair else (),
            data=data,
            digest=digest,
        )
    except RejectedFile as exc:
        return _record_rejection(engine, name, feed, digest, exc.problem, synthetic)
    table.file_name = name
    try:
        if feed == "referrals":
            frame = with_day_numbers(parse_referrals(table.cells), REFERRAL_DATE_COLUMNS)
        else:
            frame = with_day_numbers(parse_events(table.cells), EVENT_DATE_COLUMNS)
        frame = frame.with_row_index("pos")
        if repair and REPAIR_COLUMN in table.cells.columns:
            frame = frame.with_columns(
                table.cells[REPAIR_COLUMN]
                .str.strip_chars()
                .cast(pl.Int64, strict=False)
                .alias(REPAIR_COLUMN)
            )
    except Exception as exc:
        raise _load_failed(name, exc) from exc
    return PreparedFile(path=path, feed=feed, table=table, frame=frame)


def _judge_together(
    prepared: list[PreparedFile], feed: str, today: date
) -> list[list[RuleOutcome]]:
    """One run of the suite over the rows of several files; outcomes split back per file."""
    frames = [p.frame.drop("pos", REPAIR_COLUMN, strict=False) for p in prepared]
    try:
        combined = pl.concat(frames, how="diagonal_relaxed") if len(frames) > 1 else frames[0]
        outcomes = validate_rows(combined, feed, today)
    except Exception as exc:
        raise _load_failed(prepared[0].table.file_name, exc) from exc
    per_file: list[list[RuleOutcome]] = []
    offset = 0
    for p in prepared:
        n = p.frame.height
        per_file.append(
            [
                replace(
                    o,
                    unexpected_rows=[
                        r - offset for r in o.unexpected_rows if offset <= r < offset + n
                    ],
                    element_count=n,
                )
                for o in outcomes
            ]
        )
        offset += n
    if len(prepared) > 1:
        # A rule across rows (a key repeated within a file) is judged file by file, by the
        # compiled form of the same expectation (held to Great Expectations' answers).
        cross_row = [r for r in rules_for(feed, today) if r.expectation in CROSS_ROW]
        for p, outs in zip(prepared, per_file, strict=True):
            again = {(o.rule, o.column): o for o in evaluate_compiled(p.frame, cross_row)}
            for i, o in enumerate(outs):
                if (o.rule, o.column) in again:
                    outs[i] = replace(o, unexpected_rows=again[o.rule, o.column].unexpected_rows)
    for outs in per_file:
        for i, o in enumerate(outs):
            outs[i] = replace(o, success=not o.unexpected_rows)
    return per_file


#: Expectations that compare rows with each other, so a batch of files cannot share a run.
CROSS_ROW = {"ExpectCompoundColumnsToBeUnique"}


def _load_failed(name: str, exc: Exception) -> LoadFailed:
    first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    return LoadFailed(name, f"failed while loading ({type(exc).__name__}: {first[:200]})")


def _load_prepared(
    engine: Engine,
    item: PreparedFile,
    outcomes: list[RuleOutcome],
    today: date,
    criteria: ReviewCriteria,
    synthetic: bool,
    actor: str,
) -> FileResult:
    try:
        with engine.connect() as conn, staging_area(conn), conn.begin():
            return _load(
                conn, item.table, item.frame, item.feed, outcomes, today, criteria, synthetic, actor
            )
    except _LoadedMeanwhile:
        return _record_duplicate(
            engine, item.table.file_name, item.feed, item.table.sha256, synthetic
        )
    except Exception as exc:
        raise _load_failed(item.table.file_name, exc) from exc


class _LoadedMeanwhile(Exception):
    """Another process loaded the same bytes between our first look and our lock."""


#: The key of PostgreSQL's transaction-level advisory lock that loads hold.
LOAD_LOCK_KEY = 0x42_43_4E_50  # "BCNP"


def _lock_store(conn: Connection) -> None:
    """Hold the store's write lock until this load's transaction ends, so loads run one at
    a time: ids are allocated by :func:`with_new_ids` and a file's bytes are loaded once
    even by two processes at the same moment. On SQLite the first write takes the
    database's own write lock; on PostgreSQL a transaction-level advisory lock."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOAD_LOCK_KEY})


def _already_loaded(
    conn: Connection | Engine, feed: str, digest: str, *, other_than: int | None = None
) -> bool:
    """Whether a loaded submission of ``feed`` has these bytes (other than ``other_than``)."""
    if isinstance(conn, Engine):
        with conn.connect() as c:
            return _already_loaded(c, feed, digest, other_than=other_than)
    q = select(submissions_t.c.id).where(
        submissions_t.c.sha256 == digest,
        submissions_t.c.feed == feed,
        submissions_t.c.status == "loaded",
    )
    if other_than is not None:
        q = q.where(submissions_t.c.id != other_than)
    return conn.execute(q.limit(1)).first() is not None


def _record_duplicate(
    engine: Engine, name: str, feed: str, digest: str, synthetic: bool
) -> FileResult:
    reason = "the same bytes were already loaded; nothing changed"
    with engine.begin() as conn:
        sid = _insert_submission(conn, name, feed, digest, "duplicate", synthetic, reason=reason)
        audit(conn, "gate", "duplicate_file", file=name, feed=feed, submission_id=sid)
    return FileResult(file=name, feed=feed, status="duplicate", reason=reason, submission_id=sid)


def _record_rejection(
    engine: Engine, name: str, feed: str, digest: str, problem: str, synthetic: bool
) -> FileResult:
    with engine.begin() as conn:
        sid = _insert_submission(conn, name, feed, digest, "rejected", synthetic, reason=problem)
        audit(
            conn, "gate", "rejected_file", file=name, feed=feed, reason=problem, submission_id=sid
        )
    return FileResult(file=name, feed=feed, status="rejected", reason=problem, submission_id=sid)


def _insert_submission(
    conn: Connection,
    name: str,
    feed: str,
    digest: str,
    status: str,
    synthetic: bool,
    **values: object,
) -> int:
    res = conn.execute(
        submissions_t.insert().values(
            feed=feed,
            file_name=name[-512:],
            sha256=digest,
            status=status,
            synthetic=synthetic,
            received_at=utcnow(),
            ignored_columns=values.pop("ignored_columns", []),
            **values,
        )
    )
    return int(res.inserted_primary_key[0])


# --- reasons -------------------------------------------------------------------------


def _reason_table(frame: pl.DataFrame, outcomes: list[RuleOutcome]) -> pl.DataFrame:
    """One row per (pos, reason): format reasons from parsing, then the suite's verdicts."""
    parts = []
    fmt = (
        frame.select("pos", pl.col(FORMAT_REASON).alias("r"))
        .explode("r")
        .drop_nulls("r")
        .with_columns(pl.col("r").str.splitn("|", 3).alias("s"))
        .select(
            "pos",
            pl.col("s").struct.field("field_1").alias("rule"),
            pl.col("s").struct.field("field_0").alias("column"),
            pl.col("s").struct.field("field_2").alias("message"),
        )
    )
    parts.append(fmt)
    for o in outcomes:
        if o.unexpected_rows:
            parts.append(
                pl.DataFrame(
                    {
                        "pos": pl.Series(o.unexpected_rows, dtype=pl.UInt32),
                        "rule": [o.rule] * len(o.unexpected_rows),
                        "column": [o.column] * len(o.unexpected_rows),
                        "message": [o.message] * len(o.unexpected_rows),
                    }
                )
            )
    return pl.concat([p.with_columns(pl.col("pos").cast(pl.UInt32)) for p in parts])


_KNOWN_SCHEMA = {
    "referral_id": pl.Int64,
    "force": pl.String,
    "force_referral_id": pl.String,
    "referral_date": pl.Date,
}


def _stored_for_events(conn: Connection, forces: list[str]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The stored referrals of ``forces`` (key, id, ``referral_date``) and their current
    events (with ids), from the store's columnar copy when it can be trusted (a
    million-referral store reads in well under a second), else from the rows."""
    copy = snapshot.read_tables(conn)
    if copy is not None:
        known = copy.referrals.filter(pl.col("force").is_in(forces)).select(
            pl.col("id").alias("referral_id"), "force", "force_referral_id", "referral_date"
        )
        stored = copy.events.join(
            known.select(pl.col("referral_id")), on="referral_id", how="semi"
        ).select("id", "referral_id", "event", "event_date", "detail")
        return known, stored
    r, e = referrals_t.c, events_t.c
    known = store.read_frame(
        conn,
        select(r.id.label("referral_id"), r.force, r.force_referral_id, r.referral_date).where(
            r.force.in_(forces)
        ),
        _KNOWN_SCHEMA,
    )
    stored = store.read_frame(
        conn,
        select(e.id, e.referral_id, e.event, e.event_date, e.detail)
        .join(referrals_t, r.id == e.referral_id)
        .where(r.force.in_(forces)),
        dict(snapshot.EVENT_COLUMNS),
    )
    return known, stored


def _with_cross_feed_reasons(
    conn: Connection, frame: pl.DataFrame, reasons: pl.DataFrame
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Events only: unknown referral, event before the referral, order rules.

    Every row whose force, key and date can be read is judged, so that a row already
    quarantined for a row rule carries these reasons too ("every reason found"); only
    rows with no row-rule reason are candidates to load, or count as the events that
    others need. Returns the reasons (with these added), the candidate events with
    their ``referral_id``, and the stored events of the same referrals.
    """
    already = reasons["pos"].unique().implode()
    known_forces = list(reference.lookups().force_names)
    readable = frame.filter(
        pl.col("force").is_in(known_forces) & pl.col("force_referral_id").is_not_null()
    )
    forces = sorted(set(readable["force"].to_list()))
    known, stored = _stored_for_events(conn, forces)
    joined = readable.join(known, on=["force", "force_referral_id"], how="left").with_columns(
        pl.col("pos").is_in(already).alias("_invalid")
    )
    unknown = joined.filter(pl.col("referral_id").is_null()).select(
        "pos",
        pl.lit("unknown_referral").alias("rule"),
        pl.lit("force_referral_id").alias("column"),
        pl.lit("names no referral stored for this force").alias("message"),
    )
    early = joined.filter(pl.col("event_date") < pl.col("referral_date")).select(
        "pos",
        pl.lit("event_before_referral").alias("rule"),
        pl.lit("event_date").alias("column"),
        pl.lit("event_date is before the referral's referral_date").alias("message"),
    )
    judged = joined.filter(
        pl.col("referral_id").is_not_null() & (pl.col("event_date") >= pl.col("referral_date"))
    )
    candidates = judged.filter(~pl.col("_invalid")).select(
        "pos", "referral_id", "event", "event_date", "detail", ROW
    )
    invalid = judged.filter(pl.col("_invalid")).select(
        "pos", "referral_id", "event", "event_date", "detail"
    )
    stored = stored.filter(pl.col("referral_id").is_in(judged["referral_id"].implode()))
    order = cross_feed.order_breaks(candidates, stored, invalid)
    reasons = pl.concat(
        [reasons, *[p.with_columns(pl.col("pos").cast(pl.UInt32)) for p in (unknown, early, order)]]
    )
    candidates = candidates.filter(~pl.col("pos").is_in(order["pos"].implode()))
    return reasons, candidates, stored


# --- loading -------------------------------------------------------------------------


def _load(
    conn: Connection,
    table: ReceivedTable,
    frame: pl.DataFrame,
    feed: str,
    outcomes: list[RuleOutcome],
    today: date,
    criteria: ReviewCriteria,
    synthetic: bool,
    actor: str,
) -> FileResult:
    name = table.file_name
    _lock_store(conn)
    sid = _insert_submission(
        conn,
        name,
        feed,
        table.sha256,
        "loaded",
        synthetic,
        file_format=table.file_format,
        encoding=table.encoding,
        ignored_columns=table.ignored_columns,
    )
    if _already_loaded(conn, feed, table.sha256, other_than=sid):
        raise _LoadedMeanwhile
    reasons = _reason_table(frame, outcomes)
    candidates = stored_events = None
    if feed == "events":
        reasons, candidates, stored_events = _with_cross_feed_reasons(conn, frame, reasons)
    bad_pos = reasons["pos"].unique()
    good = frame.filter(~pl.col("pos").is_in(bad_pos.implode()))
    result = FileResult(
        file=name,
        feed=feed,
        status="loaded",
        rows_read=frame.height,
        submission_id=sid,
        ignored_columns=table.ignored_columns,
    )
    _quarantine(conn, sid, feed, table, frame, reasons, result)
    if feed == "referrals":
        _store_referrals(conn, sid, good, criteria, result)
    else:
        assert candidates is not None and stored_events is not None
        _store_events(conn, sid, candidates, stored_events, good, result)
    result.rows_loaded = result.rows_read - result.rows_quarantined
    conn.execute(
        update(submissions_t)
        .where(submissions_t.c.id == sid)
        .values(
            rows_read=result.rows_read,
            rows_loaded=result.rows_loaded,
            rows_quarantined=result.rows_quarantined,
            rows_ineligible=result.rows_ineligible,
            rows_replaced=result.rows_replaced,
            rows_repeated=result.rows_repeated,
        )
    )
    _record_validation(conn, sid, feed, today, outcomes, reasons, frame.height)
    audit(
        conn,
        actor,
        "loaded_file",
        file=name,
        feed=feed,
        submission_id=sid,
        rows_read=result.rows_read,
        rows_loaded=result.rows_loaded,
        rows_quarantined=result.rows_quarantined,
        repaired=result.repaired,
    )
    return result


def _quarantine(
    conn: Connection,
    sid: int,
    feed: str,
    table: ReceivedTable,
    frame: pl.DataFrame,
    reasons: pl.DataFrame,
    result: FileResult,
) -> None:
    if reasons.height == 0:
        return
    grouped = (
        reasons.unique(maintain_order=True)
        .group_by("pos", maintain_order=True)
        .agg(pl.struct("column", "rule", "message").alias("reasons"))
        .sort("pos")
    )
    raw = table.raw_cells
    assert raw is not None
    raw = raw.with_row_index("pos").drop("_extra_cells")
    rows = grouped.join(raw, on="pos", how="left").join(
        frame.select(
            "pos", pl.col("force").alias("_force"), pl.col("force_referral_id").alias("_id")
        ),
        on="pos",
        how="left",
    )
    known_forces = set(reference.lookups().force_names)
    # The contract's columns as received, under their headers. Values in columns the
    # contract does not name are not kept (only their names, in the submission record):
    # a force that adds, say, a victim's name must not have it stored here.
    received = set(table.columns.values())
    raw_cols = [c for c in raw.columns if c in received]
    records = []
    for r in rows.iter_rows(named=True):
        why = [
            {"column": x["column"], "rule": x["rule"], "message": x["message"]}
            for x in r["reasons"]
        ]
        codes = sorted({x["rule"] for x in why})
        result.quarantine_reasons.update(codes)
        if len(result.first_problems) < 5:
            result.first_problems.append(
                _describe(name=table.file_name, row=r[ROW], why=why, raw=r, table=table)
            )
        records.append(
            {
                "submission_id": sid,
                "feed": feed,
                "source_row": r[ROW],
                "force": r["_force"] if r["_force"] in known_forces else None,
                "force_referral_id": (r["_id"] or None) and r["_id"][:256],
                "raw": {c: r[c] for c in raw_cols},
                "reasons": why,
                "reason_codes": ";".join(codes)[:512],
                "status": "open",
            }
        )
    conn.execute(quarantine_t.insert(), records)
    result.rows_quarantined = len(records)


def _describe(name: str, row: int, why: list[dict], raw: dict, table: ReceivedTable) -> str:
    """One line for a person: file, row, and each rule broken with the value received."""
    parts = []
    for w in why:
        header = table.columns.get(w["column"])
        value = raw.get(header) if header else None
        shown = (
            f" '{value.strip()}'"
            if isinstance(value, str) and value.strip() and w["rule"] != "missing_value"
            else ""
        )
        msg = w["message"]
        if msg.endswith("'") and "'" in msg[:-1]:  # format reasons already quote the value
            shown = ""
        parts.append(f"{w['column']}{shown}: {msg} [{w['rule']}]")
    return f"{name}, row {row}: " + "; ".join(parts)


def _store_referrals(
    conn: Connection, sid: int, good: pl.DataFrame, criteria: ReviewCriteria, result: FileResult
) -> None:
    if good.height == 0:
        return
    now = utcnow()
    values = good.with_columns(
        involves_rape().alias("involves_rape"),
        ineligibility_reasons(criteria).alias("ineligibility_reasons"),
    ).with_columns((pl.col("ineligibility_reasons") == "").alias("eligible"))
    result.rows_ineligible = int((~values["eligible"]).sum())
    keys = values.select("force", "force_referral_id").unique()
    existing = store.read_frame(
        conn,
        select(
            referrals_t.c.id,
            referrals_t.c.version,
            referrals_t.c.submission_id,
            referrals_t.c.force,
            referrals_t.c.force_referral_id,
            *[referrals_t.c[c] for c in REFERRAL_VALUE_COLUMNS],
        ).where(referrals_t.c.force.in_(sorted(set(keys["force"].to_list())))),
        {
            k: v
            for k, v in store.REFERRAL_SCHEMA.items()
            if k
            in {
                "id",
                "version",
                "submission_id",
                "force",
                "force_referral_id",
                *REFERRAL_VALUE_COLUMNS,
            }
        },
    )
    matched = values.join(existing, on=["force", "force_referral_id"], how="left", suffix="_old")
    new_rows = matched.filter(pl.col("id").is_null())
    same = pl.all_horizontal(
        [pl.col(c).eq_missing(pl.col(f"{c}_old")) for c in REFERRAL_VALUE_COLUMNS]
    )
    old_rows = matched.filter(pl.col("id").is_not_null() & ~same)
    cols = [
        "force",
        "force_referral_id",
        *REFERRAL_VALUE_COLUMNS,
        "involves_rape",
        "eligible",
        "ineligibility_reasons",
    ]
    changed = []
    if new_rows.height:
        rows = with_new_ids(
            conn,
            referrals_t,
            new_rows.select(*cols, pl.col(ROW).alias("source_row")).with_columns(
                pl.lit(sid).alias("submission_id"),
                pl.lit(1).alias("version"),
                pl.lit(now).alias("loaded_at"),
            ),
        )
        bulk_insert(conn, referrals_t, rows)
        changed.append(rows.select("id", *cols))
    if old_rows.height:
        _replace_referrals(conn, sid, old_rows, cols, now, result)
        changed.append(old_rows.select("id", *cols))
    if changed:
        stored = pl.concat(changed)
        if conn.dialect.name == "sqlite":
            # Split inside the database: faster on SQLite than binding 1.5 million pairs
            # (the same split as _offence_rows; the columnar copy's tests hold them
            # equal). SQLite works on one core, so the columnar copy's Polars work runs
            # beside it on another thread.
            with ThreadPoolExecutor(max_workers=1, thread_name_prefix="beaconport") as pool:
                encoding = pool.submit(_referral_segments, stored)
                conn.execute(
                    text(_SQLITE_OFFENCES_SQL),
                    {"sid": sid, "first": stored["id"].min(), "last": stored["id"].max()},
                )
                segments = encoding.result()
        else:
            offences = _offence_rows(stored)
            bulk_insert(conn, offences_t, offences)
            segments = snapshot.encode(referrals=stored, offences=offences)
        snapshot.append(conn, sid, segments)
    # Closing quarantined rows needs the ids of every row received with a valid key
    # (identical ones included); most loads have nothing to close, so look first.
    open_elsewhere = conn.execute(
        select(quarantine_t.c.id)
        .where(
            quarantine_t.c.feed == "referrals",
            quarantine_t.c.status == "open",
            quarantine_t.c.submission_id != sid,
        )
        .limit(1)
    ).first()
    if open_elsewhere is None and REPAIR_COLUMN not in values.columns:
        return
    ids = store.read_frame(
        conn,
        select(referrals_t.c.id, referrals_t.c.force, referrals_t.c.force_referral_id).where(
            referrals_t.c.force.in_(sorted(set(keys["force"].to_list())))
        ),
        {"id": pl.Int64, "force": pl.String, "force_referral_id": pl.String},
    )
    loaded = values.join(ids, on=["force", "force_referral_id"], how="inner")
    _close_quarantine_by_key(conn, sid, loaded, result)
    _close_quarantine_by_repair(conn, sid, loaded, "referral", result)


# One row per (referral, code) of the referrals this file inserted or replaced (they
# carry its submission id), split by SQLite itself.
# A code listed twice on one row is stored once: OR IGNORE lets the primary key drop
# the repeat (faster than SELECT DISTINCT: 1.4 s against 1.8 s for 2.2 million pairs).
# A replaced referral's old codes are deleted before this runs, so nothing else is
# ignored: the columnar copy's tests hold the table equal to _offence_rows.
_SQLITE_OFFENCES_SQL = (
    "INSERT OR IGNORE INTO referral_offences (referral_id, code) "
    "SELECT r.id, j.value FROM referrals AS r, "
    "json_each('[\"' || replace(r.offence_codes, ';', '\",\"') || '\"]') AS j "
    # The rows this file stored lie between its smallest and largest ids: a range of the
    # table's key, not a scan of every stored referral (0.1 s per file at a million).
    "WHERE r.id BETWEEN :first AND :last AND r.submission_id = :sid"
)


def _referral_segments(stored: pl.DataFrame) -> list[snapshot.Segment]:
    return snapshot.encode(referrals=stored, offences=_offence_rows(stored))


def _offence_rows(referrals: pl.DataFrame) -> pl.DataFrame:
    """One row per (referral, code) of the referrals this file inserted or replaced; the
    codes passed the suite's pattern (letters and digits joined by ``;``)."""
    return (
        referrals.select(
            pl.col("id").alias("referral_id"), pl.col("offence_codes").str.split(";").alias("code")
        )
        .explode("code")
        .unique(maintain_order=True)
    )


def with_new_ids(conn: Connection, table: Table, rows: pl.DataFrame) -> pl.DataFrame:
    """``rows`` with an ``id`` for each, following the largest stored.

    Safe because a load holds the store's write lock for its whole transaction (see
    :func:`_lock_store`); on PostgreSQL the table's id sequence is moved past them, so
    rows inserted without an id never collide.
    """
    start = int(conn.execute(select(func.coalesce(func.max(table.c.id), 0))).scalar_one()) + 1
    if conn.dialect.name == "postgresql" and rows.height:
        conn.execute(
            text("SELECT setval(pg_get_serial_sequence(:t, 'id'), :last)"),
            {"t": table.name, "last": start + rows.height - 1},
        )
    return rows.with_columns(pl.int_range(start, start + rows.height, dtype=pl.Int64).alias("id"))


def _replace_referrals(
    conn: Connection,
    sid: int,
    old_rows: pl.DataFrame,
    cols: list[str],
    now: object,
    result: FileResult,
) -> None:
    history = []
    for r in old_rows.iter_rows(named=True):
        old = {c: r[f"{c}_old"] for c in REFERRAL_VALUE_COLUMNS}
        history.append(
            {
                "referral_id": r["id"],
                "version": r["version"],
                "values": {
                    k: (v.isoformat() if isinstance(v, date) else v) for k, v in old.items()
                },
                "submission_id": r["submission_id"],
                "replaced_by_submission_id": sid,
                "replaced_at": now,
            }
        )
    conn.execute(referral_history_t.insert(), history)
    params = (
        old_rows.select(
            *cols,
            pl.col("id").alias("b_id"),
            (pl.col("version") + 1).alias("version"),
            pl.col(ROW).alias("source_row"),
        )
        .with_columns(pl.lit(sid).alias("submission_id"), pl.lit(now).alias("loaded_at"))
        .drop("force", "force_referral_id")
        .to_dicts()
    )
    stmt = update(referrals_t).where(referrals_t.c.id == bindparam("b_id"))
    conn.execute(stmt, params)
    ids = old_rows["id"].to_list()
    for chunk in _chunks(ids, 5000):
        conn.execute(delete(offences_t).where(offences_t.c.referral_id.in_(chunk)))
    result.rows_replaced = len(ids)


def _chunks(items: list, size: int):
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _close_quarantine_by_key(
    conn: Connection, sid: int, loaded: pl.DataFrame, result: FileResult
) -> None:
    """A quarantined referral is closed when a valid row with its key loads in a later file."""
    open_rows = store.read_frame(
        conn,
        select(quarantine_t.c.id, quarantine_t.c.force, quarantine_t.c.force_referral_id).where(
            quarantine_t.c.feed == "referrals",
            quarantine_t.c.status == "open",
            quarantine_t.c.submission_id != sid,
            quarantine_t.c.force.is_not(None),
        ),
        {"id": pl.Int64, "force": pl.String, "force_referral_id": pl.String},
    )
    if open_rows.height == 0:
        return
    hits = open_rows.join(
        loaded.select("force", "force_referral_id", pl.col("id").alias("referral_id")),
        on=["force", "force_referral_id"],
        how="inner",
    )
    _resolve(conn, sid, hits.select(pl.col("id").alias("q_id"), "referral_id"), "referral", result)


def _close_quarantine_by_repair(
    conn: Connection, sid: int, loaded: pl.DataFrame, kind: str, result: FileResult
) -> None:
    """A steward's corrected row names the quarantined row it repairs (``quarantine_id``)."""
    if REPAIR_COLUMN not in loaded.columns:
        return
    hits = loaded.filter(pl.col(REPAIR_COLUMN).is_not_null()).select(
        pl.col(REPAIR_COLUMN).alias("q_id"), pl.col("id").alias(f"{kind}_id")
    )
    still_open = store.read_frame(
        conn,
        select(quarantine_t.c.id).where(
            quarantine_t.c.status == "open", quarantine_t.c.submission_id != sid
        ),
        {"id": pl.Int64},
    )
    hits = hits.filter(pl.col("q_id").is_in(still_open["id"].implode()))
    _resolve(conn, sid, hits, kind, result)


def _resolve(conn: Connection, sid: int, hits: pl.DataFrame, kind: str, result: FileResult) -> None:
    if hits.height == 0:
        return
    link = f"resolved_by_{kind}_id"
    params = [
        {"q_id": q, "link": target, "sid": sid, "now": utcnow()}
        for q, target in hits.select("q_id", f"{kind}_id").unique("q_id").iter_rows()
    ]
    conn.execute(
        update(quarantine_t)
        .where(and_(quarantine_t.c.id == bindparam("q_id"), quarantine_t.c.status == "open"))
        .values(
            {
                "status": "resolved",
                "resolved_by_submission_id": bindparam("sid"),
                link: bindparam("link"),
                "resolved_at": bindparam("now"),
            }
        ),
        params,
    )
    result.repaired += len(params)


def _store_events(
    conn: Connection,
    sid: int,
    candidates: pl.DataFrame,
    stored: pl.DataFrame,
    good: pl.DataFrame,
    result: FileResult,
) -> None:
    if candidates.height == 0:
        return
    now = utcnow()
    key = ["referral_id", "event", "event_date", "detail"]
    # Exact repeats count as loaded and change nothing: of a stored event, of an earlier
    # row of this file, or of a decision since corrected (kept in event_history), so that
    # a case system sending its whole history again does not bring a corrected decision
    # back as the current one.
    seen = (
        pl.concat([stored.select(key), _corrected_decisions(conn, candidates)])
        .with_columns(pl.lit(True).alias("_stored"))
        .unique(key)
    )
    cand = candidates.sort("event_date", ROW).join(seen, on=key, how="left", nulls_equal=True)
    cand = cand.with_columns(
        (
            pl.col("_stored").fill_null(False)
            | pl.struct(key).is_duplicated() & ~pl.struct(key).is_first_distinct()
        ).alias("_repeat")
    )
    fresh = cand.filter(~pl.col("_repeat"))
    result.rows_repeated = cand.height - fresh.height
    assessments = fresh.filter(pl.col("event") == "assessment_completed")
    others = fresh.filter(pl.col("event") != "assessment_completed")
    inserted: list[pl.DataFrame] = []
    removed: list[int] = []
    if others.height:
        inserted.append(_insert_events(conn, sid, others, now))
    if assessments.height:
        _store_assessments(conn, sid, assessments, stored, now, inserted, removed)
    segments = snapshot.encode(
        events=pl.concat(inserted, how="diagonal_relaxed") if inserted else None,
        removed_event_ids=pl.Series("id", removed, dtype=pl.Int64),
    )
    snapshot.append(conn, sid, segments)
    if REPAIR_COLUMN in good.columns:
        ids = store.read_frame(
            conn,
            select(events_t.c.id, events_t.c.source_row).where(events_t.c.submission_id == sid),
            {"id": pl.Int64, "source_row": pl.Int64},
        )
        linked = (
            good.select("pos", ROW, REPAIR_COLUMN)
            .join(ids, left_on=ROW, right_on="source_row", how="inner")
            .select(REPAIR_COLUMN, "id")
        )
        repeats = (
            cand.filter(pl.col("_repeat"))
            .join(good.select("pos", REPAIR_COLUMN), on="pos")
            .select(REPAIR_COLUMN, pl.lit(None, dtype=pl.Int64).alias("id"))
        )
        _close_quarantine_by_repair(conn, sid, pl.concat([linked, repeats]), "event", result)


def _corrected_decisions(conn: Connection, candidates: pl.DataFrame) -> pl.DataFrame:
    """(referral_id, event, event_date, detail) of every corrected decision stored in
    ``event_history``, when ``candidates`` hold any decision (else none are read)."""
    schema = {
        "referral_id": pl.Int64,
        "event": pl.String,
        "event_date": pl.Date,
        "detail": pl.String,
    }
    if not (candidates["event"] == "assessment_completed").any():
        return pl.DataFrame(schema=schema)
    return store.read_frame(
        conn,
        select(
            event_history_t.c.referral_id,
            event_history_t.c.event,
            event_history_t.c.event_date,
            event_history_t.c.detail,
        ),
        schema,
    )


def bulk_insert(conn: Connection, table: Table, rows: pl.DataFrame) -> None:
    """Insert a frame's rows: PostgreSQL's ``COPY``; on SQLite, through staging files
    (:mod:`data_checks.staging`). No value is ever written into the SQL text.
    """
    if rows.height == 0:
        return
    if conn.dialect.name == "postgresql":
        _copy_into(conn, table, rows)
    elif conn.dialect.name == "sqlite":
        insert_staged(conn, table, rows)
    else:
        raise NotImplementedError(f"bulk insert on {conn.dialect.name}")


def _copy_into(conn: Connection, table: Table, rows: pl.DataFrame, chunk: int = 100_000) -> None:
    """PostgreSQL: stream the rows through ``COPY ... FROM STDIN`` as CSV, inside the
    load's transaction (about ten times faster than ``executemany`` here).

    Null values go unquoted and empty (COPY reads them as NULL); every text is quoted,
    so an empty text stays an empty text.
    """
    from psycopg import sql

    statement = sql.SQL("COPY {} ({}) FROM STDIN WITH (FORMAT csv)").format(
        sql.Identifier(table.name), sql.SQL(", ").join(map(sql.Identifier, rows.columns))
    )
    driver = conn.connection.driver_connection
    with driver.cursor() as cursor, cursor.copy(statement) as copy:
        for part in rows.iter_slices(chunk):
            copy.write(
                part.write_csv(include_header=False, quote_style="non_numeric", null_value="")
            )


def _insert_events(conn: Connection, sid: int, events: pl.DataFrame, now: object) -> pl.DataFrame:
    """Store ``events`` (of submission ``sid``) with new ids; returns the rows stored."""
    rows = with_new_ids(
        conn,
        events_t,
        events.select(
            "referral_id", "event", "event_date", "detail", pl.col(ROW).alias("source_row")
        ).with_columns(pl.lit(sid).alias("submission_id"), pl.lit(now).alias("loaded_at")),
    )
    bulk_insert(conn, events_t, rows)
    return rows


def _store_assessments(
    conn: Connection,
    sid: int,
    assessments: pl.DataFrame,
    stored: pl.DataFrame,
    now: object,
    inserted: list[pl.DataFrame],
    removed: list[int],
) -> None:
    """Only one ``assessment_completed`` per referral: a later one corrects it (kept in
    history). The events stored are added to ``inserted``, the ids of those corrected
    to ``removed``."""
    has_stored = stored.filter(pl.col("event") == "assessment_completed")["referral_id"].implode()
    first_only = assessments.filter(
        ~pl.col("referral_id").is_in(has_stored) & (pl.len().over("referral_id") == 1)
    )
    inserted.append(_insert_events(conn, sid, first_only, now))
    corrections = []
    assessments = assessments.join(first_only.select("pos"), on="pos", how="anti")
    current = {
        r["referral_id"]: r
        for r in stored.filter(pl.col("event") == "assessment_completed").iter_rows(named=True)
    }
    for r in assessments.sort("referral_id", "event_date", ROW).iter_rows(named=True):
        res = conn.execute(
            events_t.insert().values(
                referral_id=r["referral_id"],
                event="assessment_completed",
                event_date=r["event_date"],
                detail=r["detail"],
                submission_id=sid,
                source_row=r[ROW],
                loaded_at=now,
            )
        )
        new_id = int(res.inserted_primary_key[0])
        corrections.append(
            {
                "id": new_id,
                "referral_id": r["referral_id"],
                "event": "assessment_completed",
                "event_date": r["event_date"],
                "detail": r["detail"],
            }
        )
        old = current.get(r["referral_id"])
        if old is not None:
            prev = conn.execute(select(events_t).where(events_t.c.id == old["id"])).mappings().one()
            conn.execute(
                event_history_t.insert().values(
                    event_id=prev["id"],
                    referral_id=prev["referral_id"],
                    event=prev["event"],
                    event_date=prev["event_date"],
                    detail=prev["detail"],
                    submission_id=prev["submission_id"],
                    replaced_by_event_id=new_id,
                    replaced_by_submission_id=sid,
                    replaced_at=now,
                )
            )
            conn.execute(delete(events_t).where(events_t.c.id == old["id"]))
            removed.append(int(old["id"]))
        current[r["referral_id"]] = {"id": new_id}
    if corrections:
        inserted.append(pl.DataFrame(corrections, schema=snapshot.EVENT_COLUMNS))


def _record_validation(
    conn: Connection,
    sid: int,
    feed: str,
    today: date,
    outcomes: list[RuleOutcome],
    reasons: pl.DataFrame,
    n: int,
) -> None:
    failed = [o for o in outcomes if o.unexpected_rows]
    run = conn.execute(
        validation_runs_t.insert().values(
            kind="ingest",
            suite=f"{feed}_rows",
            submission_id=sid,
            started_at=utcnow(),
            finished_at=utcnow(),
            success=reasons.height == 0,
            evaluated=len(outcomes),
            failed_critical=sum(1 for o in failed if o.severity == "critical"),
            failed_warning=sum(1 for o in failed if o.severity == "warning"),
            failed_info=sum(1 for o in failed if o.severity == "info"),
        )
    )
    run_id = int(run.inserted_primary_key[0])
    counts = (
        Counter(reasons.unique(["pos", "rule"])["rule"].to_list()) if reasons.height else Counter()
    )
    rows = [
        {
            "run_id": run_id,
            "check": o.rule,
            "expectation": o.expectation,
            "dimension": o.dimension,
            "severity": o.severity,
            "description": f"{o.column}: {o.message}",
            "force": None,
            "success": not o.unexpected_rows,
            "element_count": n,
            "unexpected_count": len(o.unexpected_rows),
            "details": {"column": o.column, "today": today.isoformat()},
        }
        for o in outcomes
    ]
    for rule in (
        "unparseable_date",
        "not_a_whole_number",
        "extra_cells",
        "unknown_referral",
        "event_before_referral",
        "out_of_order",
    ):
        if rule in counts or (
            feed == "events"
            and rule in {"unknown_referral", "event_before_referral", "out_of_order"}
        ):
            rows.append(
                {
                    "run_id": run_id,
                    "check": rule,
                    "expectation": "polars",
                    "dimension": "consistency" if rule == "out_of_order" else "validity",
                    "severity": "critical",
                    "description": rule.replace("_", " "),
                    "force": None,
                    "success": counts.get(rule, 0) == 0,
                    "element_count": n,
                    "unexpected_count": counts.get(rule, 0),
                    "details": {},
                }
            )
    conn.execute(validation_results_t.insert(), rows)


def summary_line(result: FileResult) -> str:
    """A one-line human summary of a file's fate."""
    if result.status == "rejected":
        return f"{result.file}: rejected: {result.reason}"
    if result.status == "duplicate":
        return f"{result.file}: duplicate: {result.reason}"
    extra = f", {result.rows_ineligible} ineligible" if result.feed == "referrals" else ""
    rep = f", {result.rows_replaced} replaced" if result.rows_replaced else ""
    fixed = f", {result.repaired} quarantined rows repaired" if result.repaired else ""
    return (
        f"{result.file}: loaded {result.rows_loaded} of {result.rows_read} rows{extra}{rep}{fixed}, "
        f"{result.rows_quarantined} quarantined"
        + (
            f" ({', '.join(f'{k} {v}' for k, v in result.quarantine_reasons.most_common())})"
            if result.rows_quarantined
            else ""
        )
    )
