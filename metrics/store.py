"""The store: SQLAlchemy 2 schema, engine creation, migrations and reads as Polars frames.

The schema holds no personal data: a referral is counts, codes and dates, keyed by the
force's own reference. Nothing is deleted: replaced referrals and corrected decisions
are copied to history tables, quarantined rows stay stored after repair.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl
from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    DateTime,
    Engine,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    cast,
    create_engine,
    event,
    func,
    inspect,
    select,
    text,
)
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ColumnElement, Label

DB_URL_ENV = "BEACONPORT_DB_URL"
DEFAULT_DB_URL = "sqlite:///beaconport.db"

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


#: The schema, as SQLAlchemy Core tables: the store reads and writes through SQL
#: expressions and Polars frames, never through mapped objects, so the ORM layer is
#: never imported (about 0.07 s off the start of every command).
metadata = MetaData(naming_convention=NAMING)


# One file received, whatever became of it (loaded, duplicate or rejected).
submissions_t = Table(
    "submissions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("feed", String(16), nullable=False),
    Column("file_name", String(512), nullable=False),
    Column("sha256", String(64), index=True, nullable=False),
    Column("received_at", DateTime, default=utcnow, nullable=False),
    Column("status", String(16), nullable=False),
    Column("file_format", String(16)),
    Column("encoding", String(16)),
    Column("rows_read", Integer, default=0, nullable=False),
    Column("rows_loaded", Integer, default=0, nullable=False),
    Column("rows_quarantined", Integer, default=0, nullable=False),
    Column("rows_ineligible", Integer, default=0, nullable=False),
    Column("rows_replaced", Integer, default=0, nullable=False),
    Column("rows_repeated", Integer, default=0, nullable=False),
    Column("reason", Text),
    Column("ignored_columns", JSON, default=list, nullable=False),
    Column("synthetic", Boolean, default=False, nullable=False),
)

# The current version of a referred case file, keyed by (force, force_referral_id).
referrals_t = Table(
    "referrals",
    metadata,
    Column("id", Integer, primary_key=True),
    # The unique key (force, force_referral_id) serves look-ups by force; figures read
    # whole tables, so no other index is worth its cost on bulk loads (revision 0002).
    Column("force", String(64), nullable=False),
    Column("force_referral_id", String(64), nullable=False),
    Column("referral_date", Date, nullable=False),
    Column("crime_recorded_date", Date, nullable=False),
    Column("nfa_date", Date, nullable=False),
    Column("original_outcome", String(8), nullable=False),
    Column("offence_codes", String(256), nullable=False),
    Column("suspects_count", Integer, nullable=False),
    Column("suspects_alive_count", Integer, nullable=False),
    Column("victims_count", Integer, nullable=False),
    Column("suspects_ethnicity_recorded_count", Integer),
    Column("involves_rape", Boolean, nullable=False),
    Column("eligible", Boolean, nullable=False),
    Column("ineligibility_reasons", String(256), default="", nullable=False),
    Column("version", Integer, default=1, nullable=False),
    Column("submission_id", ForeignKey("submissions.id"), nullable=False),
    Column("source_row", Integer, nullable=False),
    Column("loaded_at", DateTime, default=utcnow, nullable=False),
    UniqueConstraint("force", "force_referral_id"),
)

# One Home Office offence code of a referral (current version).
offences_t = Table(
    "referral_offences",
    metadata,
    # on SQLite the key is the table (migration 0006): one b-tree, not two
    Column("referral_id", ForeignKey("referrals.id", ondelete="CASCADE"), primary_key=True),
    Column("code", String(8), primary_key=True),
    sqlite_with_rowid=False,
)

# A version of a referral that a later file replaced.
referral_history_t = Table(
    "referral_history",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("referral_id", ForeignKey("referrals.id"), index=True, nullable=False),
    Column("version", Integer, nullable=False),
    Column("values", JSON, nullable=False),
    Column("submission_id", ForeignKey("submissions.id"), nullable=False),
    Column("replaced_by_submission_id", ForeignKey("submissions.id"), nullable=False),
    Column("replaced_at", DateTime, default=utcnow, nullable=False),
)

# One thing that happened to a referral in the review (current events only).
events_t = Table(
    "review_events",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("referral_id", ForeignKey("referrals.id"), nullable=False),
    Column("event", String(32), nullable=False),
    Column("event_date", Date, nullable=False),
    Column("detail", String(64)),
    Column("submission_id", ForeignKey("submissions.id"), nullable=False),
    Column("source_row", Integer, nullable=False),
    Column("loaded_at", DateTime, default=utcnow, nullable=False),
    Index("ix_review_events_referral_event", "referral_id", "event"),
)

# An ``assessment_completed`` event that a later one corrected.
event_history_t = Table(
    "event_history",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("event_id", Integer, nullable=False),
    Column("referral_id", ForeignKey("referrals.id"), index=True, nullable=False),
    Column("event", String(32), nullable=False),
    Column("event_date", Date, nullable=False),
    Column("detail", String(64)),
    Column("submission_id", ForeignKey("submissions.id"), nullable=False),
    Column("replaced_by_event_id", Integer),
    Column("replaced_by_submission_id", ForeignKey("submissions.id"), nullable=False),
    Column("replaced_at", DateTime, default=utcnow, nullable=False),
)

# A row that broke a contract rule, kept whole and as received, with every reason.
quarantine_t = Table(
    "quarantine",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("submission_id", ForeignKey("submissions.id"), index=True, nullable=False),
    Column("feed", String(16), nullable=False),
    Column("source_row", Integer, nullable=False),
    Column("force", String(64), index=True),
    Column("force_referral_id", String(256)),
    Column("raw", JSON, nullable=False),
    Column("reasons", JSON, nullable=False),
    Column("reason_codes", String(512), nullable=False),
    Column("status", String(16), default="open", index=True, nullable=False),
    Column("resolved_by_submission_id", ForeignKey("submissions.id")),
    Column("resolved_by_referral_id", Integer),
    Column("resolved_by_event_id", Integer),
    Column("resolved_at", DateTime),
)

# One run of a Great Expectations suite (at ingestion or by ``beaconport check``).
validation_runs_t = Table(
    "validation_runs",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("suite", String(64), nullable=False),
    Column("submission_id", ForeignKey("submissions.id")),
    Column("started_at", DateTime, default=utcnow, nullable=False),
    Column("finished_at", DateTime),
    Column("success", Boolean, nullable=False),
    Column("evaluated", Integer, default=0, nullable=False),
    Column("failed_critical", Integer, default=0, nullable=False),
    Column("failed_warning", Integer, default=0, nullable=False),
    Column("failed_info", Integer, default=0, nullable=False),
)

# The result of one expectation in a validation run.
validation_results_t = Table(
    "validation_results",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("run_id", ForeignKey("validation_runs.id"), index=True, nullable=False),
    Column("check", String(64), nullable=False),
    Column("expectation", String(96), nullable=False),
    Column("dimension", String(16)),
    Column("severity", String(16), nullable=False),
    Column("description", Text, nullable=False),
    Column("force", String(64)),
    Column("success", Boolean, nullable=False),
    Column("element_count", Integer, default=0, nullable=False),
    Column("unexpected_count", Integer, default=0, nullable=False),
    Column("details", JSON, default=dict, nullable=False),
)

# Who did what to the store, and when.
audit_t = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("at", DateTime, default=utcnow, nullable=False),
    Column("actor", String(128), nullable=False),
    Column("action", String(64), nullable=False),
    Column("detail", JSON, default=dict, nullable=False),
    # Sign-in counts the refused attempts at one name in the last minutes (dashboard.auth).
    Index("ix_audit_log_actor_at", "actor", "at"),
)

# A dashboard user; the password is kept only as an argon2 hash.
users_t = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("username", String(128), unique=True, nullable=False),
    Column("password_hash", String(256), nullable=False),
    Column("role", String(16), nullable=False),
    Column("active", Boolean, default=True, nullable=False),
    Column("created_at", DateTime, default=utcnow, nullable=False),
    # When an administrator last lifted the sign-in lock (``beaconport users unlock``).
    Column("sign_in_unlocked_at", DateTime),
)

# A piece of the store's columnar copy of what the figures read (``metrics.snapshot``).
#
# Derived from the rows and written in the same transaction; never the only copy of
# anything.
column_segments_t = Table(
    "column_segments",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("submission_id", ForeignKey("submissions.id")),
    Column("format", Integer, nullable=False),
    Column("row_count", Integer, nullable=False),
    Column("data", LargeBinary, nullable=False),
    Column("created_at", DateTime, default=utcnow, nullable=False),
)


def resolve_db_url(url: str | None = None) -> str:
    """The database URL: the argument, else ``BEACONPORT_DB_URL``, else ``sqlite:///beaconport.db``."""
    return url or os.environ.get(DB_URL_ENV) or DEFAULT_DB_URL


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cur = dbapi_connection.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    # A larger page cache keeps index pages in memory during bulk loads (256 MiB at most).
    cur.execute("PRAGMA cache_size=-262144")
    cur.execute("PRAGMA temp_store=MEMORY")
    cur.close()


def make_engine(url: str | None = None, *, migrate: bool = True) -> Engine:
    """An engine for the store, upgraded to the latest schema unless ``migrate`` is false."""
    url = resolve_db_url(url)
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    engine = create_engine(url, future=True)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    if migrate:
        upgrade(engine)
    return engine


def _alembic_config(engine: Engine):
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    cfg.attributes["engine"] = engine
    return cfg


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_alembic_config(None)).get_current_head()  # type: ignore[arg-type]


def newest_migration() -> str:
    """The newest migration's revision, read from the file names (``0006_...``): the
    history is one line, numbered in order, and a test holds this equal to Alembic's own
    :func:`head_revision`. Opening an up-to-date store so needs no import of Alembic
    (about 0.3 s of every command)."""
    versions = Path(__file__).parent / "migrations" / "versions"
    return max(p.name.split("_", 1)[0] for p in versions.glob("[0-9][0-9][0-9][0-9]_*.py"))


def current_revision(engine: Engine) -> str | None:
    """The revision the store is at (``None`` for a store never migrated), read from
    Alembic's own ``alembic_version`` table without importing Alembic."""
    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def upgrade(engine: Engine) -> None:
    """Bring the schema to the latest Alembic revision (a no-op when it already is)."""
    if current_revision(engine) == newest_migration():
        return
    from alembic import command

    command.upgrade(_alembic_config(engine), "head")


@contextmanager
def transaction(engine: Engine) -> Iterator[Connection]:
    """One database transaction: committed on success, rolled back on any error."""
    with engine.begin() as conn:
        yield conn


def read_frame(conn: Connection | Engine, query, schema: dict | None = None) -> pl.DataFrame:
    """Run a SQLAlchemy selectable and return a Polars frame."""
    if isinstance(conn, Engine):
        with conn.connect() as c:
            return read_frame(c, query, schema)
    result = conn.execute(query)
    cols = list(result.keys())
    rows = result.fetchall()
    data = {c: [r[i] for r in rows] for i, c in enumerate(cols)}
    if rows:
        return pl.DataFrame(data, schema=schema or None, strict=False)
    return pl.DataFrame(schema=schema or _empty_schema(query, cols))


def json_as_text(column: ColumnElement) -> Label:
    """A JSON column selected as its stored text, under its own name, for
    :func:`decode_json` to decode many rows at once (otherwise the driver or SQLAlchemy
    calls the JSON decoder once per row: most of the time taken to read many rows)."""
    return cast(column, Text).label(column.name)


def decode_json(texts: Sequence[str | None]) -> list:
    """The values of JSON texts read through :func:`json_as_text`, in order (None stays
    None), decoded in one call. Each text is a whole JSON value as the store wrote it, so
    joined with commas inside brackets they are one JSON array of the same values."""
    if not texts:
        return []
    return json.loads("[" + ",".join("null" if t is None else t for t in texts) + "]")


_POLARS_TYPES = {
    int: pl.Int64,
    str: pl.String,
    float: pl.Float64,
    bool: pl.Boolean,
    date: pl.Date,
    datetime: pl.Datetime("us"),
}


def _empty_schema(query: object, cols: list[str]) -> dict[str, pl.DataType]:
    """Column types for an empty result, from the query's own column types, so that an
    empty store's frames join and compare like full ones (a column of no rows would
    otherwise have Polars' null type)."""
    types: dict[str, pl.DataType] = {}
    selected = getattr(query, "selected_columns", None)
    for c in cols:
        dtype: pl.DataType = pl.Null()
        try:
            python_type = selected[c].type.python_type  # type: ignore[index]
            dtype = _POLARS_TYPES.get(python_type, pl.Null())
        except (KeyError, TypeError, NotImplementedError, AttributeError):
            pass
        types[c] = dtype
    return types


REFERRAL_SCHEMA = {
    "id": pl.Int64,
    "force": pl.String,
    "force_referral_id": pl.String,
    "referral_date": pl.Date,
    "crime_recorded_date": pl.Date,
    "nfa_date": pl.Date,
    "original_outcome": pl.String,
    "offence_codes": pl.String,
    "suspects_count": pl.Int64,
    "suspects_alive_count": pl.Int64,
    "victims_count": pl.Int64,
    "suspects_ethnicity_recorded_count": pl.Int64,
    "involves_rape": pl.Boolean,
    "eligible": pl.Boolean,
    "ineligibility_reasons": pl.String,
    "version": pl.Int64,
    "submission_id": pl.Int64,
    "source_row": pl.Int64,
}

EVENT_SCHEMA = {
    "id": pl.Int64,
    "referral_id": pl.Int64,
    "event": pl.String,
    "event_date": pl.Date,
    "detail": pl.String,
    "submission_id": pl.Int64,
    "source_row": pl.Int64,
}


def read_referrals(conn: Connection | Engine) -> pl.DataFrame:
    """Every stored referral (current versions), one row each."""
    cols = [referrals_t.c[c] for c in REFERRAL_SCHEMA]
    return read_frame(conn, select(*cols).order_by(referrals_t.c.id), REFERRAL_SCHEMA)


def read_events(conn: Connection | Engine) -> pl.DataFrame:
    """Every stored review event (corrected decisions excluded), with the referral's key."""
    cols = [events_t.c[c] for c in EVENT_SCHEMA]
    return read_frame(conn, select(*cols).order_by(events_t.c.id), EVENT_SCHEMA)


def read_offences(conn: Connection | Engine) -> pl.DataFrame:
    """One row per (referral, offence code)."""
    return read_frame(
        conn,
        select(offences_t.c.referral_id, offences_t.c.code).order_by(
            offences_t.c.referral_id, offences_t.c.code
        ),
        {"referral_id": pl.Int64, "code": pl.String},
    )


def read_quarantine(conn: Connection | Engine, *, status: str | None = None) -> pl.DataFrame:
    """Quarantined rows with their reasons; ``status`` is ``open``, ``resolved`` or None for all."""
    q = select(
        quarantine_t.c.id,
        quarantine_t.c.submission_id,
        submissions_t.c.file_name,
        quarantine_t.c.feed,
        quarantine_t.c.source_row,
        quarantine_t.c.force,
        quarantine_t.c.force_referral_id,
        quarantine_t.c.reason_codes,
        quarantine_t.c.status,
        quarantine_t.c.resolved_by_submission_id,
        quarantine_t.c.resolved_by_referral_id,
        quarantine_t.c.resolved_by_event_id,
        submissions_t.c.received_at,
    ).join(submissions_t, submissions_t.c.id == quarantine_t.c.submission_id)
    if status:
        q = q.where(quarantine_t.c.status == status)
    return read_frame(
        conn,
        q.order_by(quarantine_t.c.id),
        {
            "id": pl.Int64,
            "submission_id": pl.Int64,
            "file_name": pl.String,
            "feed": pl.String,
            "source_row": pl.Int64,
            "force": pl.String,
            "force_referral_id": pl.String,
            "reason_codes": pl.String,
            "status": pl.String,
            "resolved_by_submission_id": pl.Int64,
            "resolved_by_referral_id": pl.Int64,
            "resolved_by_event_id": pl.Int64,
            "received_at": pl.Datetime("us"),
        },
    )


def read_submissions(conn: Connection | Engine) -> pl.DataFrame:
    """Every file received, newest last."""
    cols = [
        "id",
        "feed",
        "file_name",
        "sha256",
        "received_at",
        "status",
        "rows_read",
        "rows_loaded",
        "rows_quarantined",
        "rows_ineligible",
        "reason",
        "synthetic",
    ]
    return read_frame(
        conn, select(*[submissions_t.c[c] for c in cols]).order_by(submissions_t.c.id)
    )


def data_origin(conn: Connection | Engine) -> str:
    """``empty``, ``synthetic`` (every loaded file was synthetic), ``real`` or ``mixed``."""
    if isinstance(conn, Engine):
        with conn.connect() as c:
            return data_origin(c)
    q = (
        select(submissions_t.c.synthetic, func.count())
        .where(submissions_t.c.status == "loaded")
        .group_by(submissions_t.c.synthetic)
    )
    counts = {bool(s): n for s, n in conn.execute(q)}
    if not counts:
        return "empty"
    if set(counts) == {True}:
        return "synthetic"
    if set(counts) == {False}:
        return "real"
    return "mixed"


def audit(conn: Connection, actor: str, action: str, **detail: object) -> None:
    """Append an entry to the audit log (inside the caller's transaction)."""
    conn.execute(audit_t.insert().values(actor=actor, action=action, detail=detail, at=utcnow()))


def store_version(conn: Connection | Engine) -> int:
    """A number that changes whenever data are loaded (for dashboard cache invalidation)."""
    if isinstance(conn, Engine):
        with conn.connect() as c:
            return store_version(c)
    return int(conn.execute(select(func.coalesce(func.max(submissions_t.c.id), 0))).scalar_one())
