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
    Date,
    DateTime,
    Engine,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
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
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
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


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Submission(Base):
    """One file received, whatever became of it (loaded, duplicate or rejected)."""

    __tablename__ = "submissions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    feed: Mapped[str] = mapped_column(String(16))
    file_name: Mapped[str] = mapped_column(String(512))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    received_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    status: Mapped[str] = mapped_column(String(16))
    file_format: Mapped[str | None] = mapped_column(String(16))
    encoding: Mapped[str | None] = mapped_column(String(16))
    rows_read: Mapped[int] = mapped_column(Integer, default=0)
    rows_loaded: Mapped[int] = mapped_column(Integer, default=0)
    rows_quarantined: Mapped[int] = mapped_column(Integer, default=0)
    rows_ineligible: Mapped[int] = mapped_column(Integer, default=0)
    rows_replaced: Mapped[int] = mapped_column(Integer, default=0)
    rows_repeated: Mapped[int] = mapped_column(Integer, default=0)
    reason: Mapped[str | None] = mapped_column(Text)
    ignored_columns: Mapped[list[str]] = mapped_column(JSON, default=list)
    synthetic: Mapped[bool] = mapped_column(Boolean, default=False)


class Referral(Base):
    """The current version of a referred case file, keyed by (force, force_referral_id)."""

    __tablename__ = "referrals"
    __table_args__ = (UniqueConstraint("force", "force_referral_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # The unique key (force, force_referral_id) serves look-ups by force; figures read
    # whole tables, so no other index is worth its cost on bulk loads (revision 0002).
    force: Mapped[str] = mapped_column(String(64))
    force_referral_id: Mapped[str] = mapped_column(String(64))
    referral_date: Mapped[date] = mapped_column(Date)
    crime_recorded_date: Mapped[date] = mapped_column(Date)
    nfa_date: Mapped[date] = mapped_column(Date)
    original_outcome: Mapped[str] = mapped_column(String(8))
    offence_codes: Mapped[str] = mapped_column(String(256))
    suspects_count: Mapped[int] = mapped_column(Integer)
    suspects_alive_count: Mapped[int] = mapped_column(Integer)
    victims_count: Mapped[int] = mapped_column(Integer)
    suspects_ethnicity_recorded_count: Mapped[int | None] = mapped_column(Integer)
    involves_rape: Mapped[bool] = mapped_column(Boolean)
    eligible: Mapped[bool] = mapped_column(Boolean)
    ineligibility_reasons: Mapped[str] = mapped_column(String(256), default="")
    version: Mapped[int] = mapped_column(Integer, default=1)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"))
    source_row: Mapped[int] = mapped_column(Integer)
    loaded_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class ReferralOffence(Base):
    """One Home Office offence code of a referral (current version)."""

    __tablename__ = "referral_offences"
    # on SQLite the key is the table (migration 0006): one b-tree, not two
    __table_args__ = {"sqlite_with_rowid": False}
    referral_id: Mapped[int] = mapped_column(
        ForeignKey("referrals.id", ondelete="CASCADE"), primary_key=True
    )
    code: Mapped[str] = mapped_column(String(8), primary_key=True)


class ReferralHistory(Base):
    """A version of a referral that a later file replaced."""

    __tablename__ = "referral_history"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    referral_id: Mapped[int] = mapped_column(ForeignKey("referrals.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    values: Mapped[dict] = mapped_column(JSON)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"))
    replaced_by_submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"))
    replaced_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class ReviewEvent(Base):
    """One thing that happened to a referral in the review (current events only)."""

    __tablename__ = "review_events"
    __table_args__ = (Index("ix_review_events_referral_event", "referral_id", "event"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    referral_id: Mapped[int] = mapped_column(ForeignKey("referrals.id"))
    event: Mapped[str] = mapped_column(String(32))
    event_date: Mapped[date] = mapped_column(Date)
    detail: Mapped[str | None] = mapped_column(String(64))
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"))
    source_row: Mapped[int] = mapped_column(Integer)
    loaded_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class EventHistory(Base):
    """An ``assessment_completed`` event that a later one corrected."""

    __tablename__ = "event_history"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[int] = mapped_column(Integer)
    referral_id: Mapped[int] = mapped_column(ForeignKey("referrals.id"), index=True)
    event: Mapped[str] = mapped_column(String(32))
    event_date: Mapped[date] = mapped_column(Date)
    detail: Mapped[str | None] = mapped_column(String(64))
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"))
    replaced_by_event_id: Mapped[int | None] = mapped_column(Integer)
    replaced_by_submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"))
    replaced_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class QuarantinedRow(Base):
    """A row that broke a contract rule, kept whole and as received, with every reason."""

    __tablename__ = "quarantine"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"), index=True)
    feed: Mapped[str] = mapped_column(String(16))
    source_row: Mapped[int] = mapped_column(Integer)
    force: Mapped[str | None] = mapped_column(String(64), index=True)
    force_referral_id: Mapped[str | None] = mapped_column(String(256))
    raw: Mapped[dict] = mapped_column(JSON)
    reasons: Mapped[list[dict]] = mapped_column(JSON)
    reason_codes: Mapped[str] = mapped_column(String(512))
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)
    resolved_by_submission_id: Mapped[int | None] = mapped_column(ForeignKey("submissions.id"))
    resolved_by_referral_id: Mapped[int | None] = mapped_column(Integer)
    resolved_by_event_id: Mapped[int | None] = mapped_column(Integer)
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime)


class ValidationRun(Base):
    """One run of a Great Expectations suite (at ingestion or by ``beaconport check``)."""

    __tablename__ = "validation_runs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    suite: Mapped[str] = mapped_column(String(64))
    submission_id: Mapped[int | None] = mapped_column(ForeignKey("submissions.id"))
    started_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)
    success: Mapped[bool] = mapped_column(Boolean)
    evaluated: Mapped[int] = mapped_column(Integer, default=0)
    failed_critical: Mapped[int] = mapped_column(Integer, default=0)
    failed_warning: Mapped[int] = mapped_column(Integer, default=0)
    failed_info: Mapped[int] = mapped_column(Integer, default=0)


class ValidationResult(Base):
    """The result of one expectation in a validation run."""

    __tablename__ = "validation_results"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("validation_runs.id"), index=True)
    check: Mapped[str] = mapped_column(String(64))
    expectation: Mapped[str] = mapped_column(String(96))
    dimension: Mapped[str | None] = mapped_column(String(16))
    severity: Mapped[str] = mapped_column(String(16))
    description: Mapped[str] = mapped_column(Text)
    force: Mapped[str | None] = mapped_column(String(64))
    success: Mapped[bool] = mapped_column(Boolean)
    element_count: Mapped[int] = mapped_column(Integer, default=0)
    unexpected_count: Mapped[int] = mapped_column(Integer, default=0)
    details: Mapped[dict] = mapped_column(JSON, default=dict)


class AuditEntry(Base):
    """Who did what to the store, and when."""

    __tablename__ = "audit_log"
    # Sign-in counts the refused attempts at one name in the last minutes (dashboard.auth).
    __table_args__ = (Index("ix_audit_log_actor_at", "actor", "at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    actor: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(64))
    detail: Mapped[dict] = mapped_column(JSON, default=dict)


class User(Base):
    """A dashboard user; the password is kept only as an argon2 hash."""

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(128), unique=True)
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[str] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # When an administrator last lifted the sign-in lock (``beaconport users unlock``).
    sign_in_unlocked_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)


class ColumnSegment(Base):
    """A piece of the store's columnar copy of what the figures read (``metrics.snapshot``).

    Derived from the rows and written in the same transaction; never the only copy of
    anything."""

    __tablename__ = "column_segments"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    submission_id: Mapped[int | None] = mapped_column(ForeignKey("submissions.id"))
    format: Mapped[int] = mapped_column(Integer)
    row_count: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


referrals_t = Referral.__table__
offences_t = ReferralOffence.__table__
referral_history_t = ReferralHistory.__table__
events_t = ReviewEvent.__table__
event_history_t = EventHistory.__table__
quarantine_t = QuarantinedRow.__table__
submissions_t = Submission.__table__
validation_runs_t = ValidationRun.__table__
validation_results_t = ValidationResult.__table__
audit_t = AuditEntry.__table__
users_t = User.__table__
column_segments_t = ColumnSegment.__table__


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
