"""The store (metrics/store.py): migrations, the schema's round trip and typed reads.

Every test that takes ``engine`` or ``store_url`` runs on SQLite and on PostgreSQL.
Expected frames are written out by hand, with their types, from the rows inserted.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import date, datetime

import polars as pl
import pytest
from polars.testing import assert_frame_equal
from sqlalchemy import Engine, create_engine, inspect, select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from metrics import store
from metrics.store import (
    current_revision,
    data_origin,
    events_t,
    head_revision,
    make_engine,
    metadata,
    offences_t,
    quarantine_t,
    read_events,
    read_offences,
    read_quarantine,
    read_referrals,
    read_submissions,
    referrals_t,
    resolve_db_url,
    store_version,
    submissions_t,
    transaction,
    upgrade,
)

REFERRAL_TYPES = {
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

EVENT_TYPES = {
    "id": pl.Int64,
    "referral_id": pl.Int64,
    "event": pl.String,
    "event_date": pl.Date,
    "detail": pl.String,
    "submission_id": pl.Int64,
    "source_row": pl.Int64,
}

QUARANTINE_TYPES = {
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
}

RECEIVED = datetime(2025, 11, 3, 9, 30, 15, 123456)


def add_submission(
    conn: Connection,
    file_name: str,
    *,
    status: str = "loaded",
    synthetic: bool = False,
    feed: str = "referrals",
) -> int:
    """Insert a submission record by hand and return its id."""
    result = conn.execute(
        submissions_t.insert().values(
            feed=feed,
            file_name=file_name,
            sha256=hashlib.sha256(file_name.encode()).hexdigest(),
            received_at=RECEIVED,
            status=status,
            synthetic=synthetic,
        )
    )
    return int(result.inserted_primary_key[0])


def add_referral(
    conn: Connection, submission_id: int, force_referral_id: str, **values: object
) -> int:
    """Insert a referral by hand (defaults: an eligible rape referral) and return its id."""
    row = {
        "force": "Cleveland Police",
        "force_referral_id": force_referral_id,
        "referral_date": date(2025, 6, 2),
        "crime_recorded_date": date(2019, 3, 4),
        "nfa_date": date(2020, 1, 15),
        "original_outcome": "15",
        "offence_codes": "19C;19D",
        "suspects_count": 3,
        "suspects_alive_count": 2,
        "victims_count": 2,
        "suspects_ethnicity_recorded_count": None,
        "involves_rape": True,
        "eligible": True,
        "ineligibility_reasons": "",
        "version": 1,
        "submission_id": submission_id,
        "source_row": 2,
    } | values
    return int(conn.execute(referrals_t.insert().values(**row)).inserted_primary_key[0])


# --- migrations ---------------------------------------------------------------------


def test_new_store_is_migrated_to_head_with_every_table(engine: Engine) -> None:
    assert current_revision(engine) == head_revision()
    tables = set(inspect(engine).get_table_names())
    assert tables == set(metadata.tables) | {"alembic_version"}


def test_migrations_build_exactly_the_models_schema(engine: Engine) -> None:
    """Alembic's own comparison of the migrated database with the models finds nothing:
    every table, column, index and key the models declare was made by a migration."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []


@pytest.mark.unit
def test_the_newest_migration_file_is_alembics_head() -> None:
    assert store.newest_migration() == head_revision()


@pytest.mark.sqlite
def test_an_up_to_date_store_opens_without_alembic(tmp_path) -> None:
    """Alembic is imported only when a store needs upgrading: a fresh store is migrated
    (and so imports it); opening it again in a new process does not."""
    import subprocess
    import sys

    url = f"sqlite:///{tmp_path / 'store.db'}"
    probe = (
        "import sys; from metrics.store import make_engine, current_revision; "
        f"e = make_engine({url!r}); print('alembic' in sys.modules); e.dispose()"
    )
    runs = [
        subprocess.run(
            [sys.executable, "-c", probe], capture_output=True, text=True, check=True
        ).stdout.split()
        for _ in range(2)
    ]
    assert runs == [["True"], ["False"]]
    bare = make_engine(url, migrate=False)
    try:
        assert current_revision(bare) == head_revision()
    finally:
        bare.dispose()


@pytest.mark.unit
def test_the_command_line_starts_without_sqlalchemys_orm() -> None:
    """The schema is SQLAlchemy Core tables (nothing maps rows to objects), so starting
    the command line never imports the ORM layer, which cost every command about 0.07 s."""
    import subprocess
    import sys

    probe = "import sys, dashboard.cli; print('sqlalchemy.orm' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout.split()
    assert out == ["False"]


def test_unmigrated_engine_has_no_revision_until_upgraded(store_url: str) -> None:
    bare = make_engine(store_url, migrate=False)
    try:
        assert current_revision(bare) is None
        assert inspect(bare).get_table_names() == []
        upgrade(bare)
        assert current_revision(bare) == head_revision()
    finally:
        bare.dispose()


def test_upgrade_again_changes_nothing_and_keeps_data(engine: Engine, store_url: str) -> None:
    with transaction(engine) as conn:
        add_referral(conn, add_submission(conn, "first.csv"), "CLE-1")
    upgrade(engine)
    again = make_engine(store_url)  # a second process opening the same store
    try:
        assert current_revision(again) == head_revision()
        assert read_referrals(again)["force_referral_id"].to_list() == ["CLE-1"]
    finally:
        again.dispose()


def _offence_table_sql(engine: Engine) -> str:
    with engine.connect() as conn:
        return conn.exec_driver_sql(
            "SELECT sql FROM sqlite_master WHERE name = 'referral_offences'"
        ).scalar_one()


def test_offence_codes_move_to_one_b_tree_and_back_keeping_every_row(store_url: str) -> None:
    """Migration 0006: a store made at 0005 with offence codes in it is upgraded; the
    codes, the key and the cascade from referrals are all as before, and on SQLite the
    table is now WITHOUT ROWID. Downgrading gives the ordinary table back, rows and all."""
    from alembic import command

    bare = make_engine(store_url, migrate=False)
    try:
        command.upgrade(store._alembic_config(bare), "0005")
        with transaction(bare) as conn:
            sub = add_submission(conn, "first.csv")
            kept, dropped = add_referral(conn, sub, "CLE-1"), add_referral(conn, sub, "CLE-2")
            pairs = [(kept, "19C"), (kept, "19D"), (dropped, "17A")]
            conn.execute(offences_t.insert(), [{"referral_id": r, "code": c} for r, c in pairs])
        sqlite = bare.dialect.name == "sqlite"
        if sqlite:
            assert "WITHOUT ROWID" not in _offence_table_sql(bare)
        upgrade(bare)
        assert current_revision(bare) == head_revision()
        if sqlite:
            assert _offence_table_sql(bare).rstrip().endswith("WITHOUT ROWID")
        with bare.connect() as conn:
            assert set(conn.execute(select(offences_t))) == set(pairs)
        with pytest.raises(IntegrityError), transaction(bare) as conn:  # the key holds
            conn.execute(offences_t.insert().values(referral_id=kept, code="19C"))
        with transaction(bare) as conn:  # and so does the cascade
            conn.execute(referrals_t.delete().where(referrals_t.c.id == dropped))
        with bare.connect() as conn:
            assert set(conn.execute(select(offences_t))) == {(kept, "19C"), (kept, "19D")}
        command.downgrade(store._alembic_config(bare), "0005")
        if sqlite:
            assert "WITHOUT ROWID" not in _offence_table_sql(bare)
        with bare.connect() as conn:
            assert set(conn.execute(select(offences_t))) == {(kept, "19C"), (kept, "19D")}
    finally:
        bare.dispose()


# --- round trip through the schema ----------------------------------------------------


def test_referral_offences_and_event_round_trip(engine: Engine) -> None:
    with transaction(engine) as conn:
        sub = add_submission(conn, "cleveland-2025-06.csv")
        ref = add_referral(conn, sub, "CLE/2019/0042", suspects_ethnicity_recorded_count=1)
        conn.execute(offences_t.insert(), [{"referral_id": ref, "code": c} for c in ("19D", "19C")])
        ev_sub = add_submission(conn, "events-2025-07.csv", feed="events")
        conn.execute(
            events_t.insert().values(
                referral_id=ref,
                event="assessment_completed",
                event_date=date(2025, 7, 1),
                detail="passed_back_to_force",
                submission_id=ev_sub,
                source_row=5,
            )
        )

    expected_referral = pl.DataFrame(
        {
            "id": [ref],
            "force": ["Cleveland Police"],
            "force_referral_id": ["CLE/2019/0042"],
            "referral_date": [date(2025, 6, 2)],
            "crime_recorded_date": [date(2019, 3, 4)],
            "nfa_date": [date(2020, 1, 15)],
            "original_outcome": ["15"],
            "offence_codes": ["19C;19D"],
            "suspects_count": [3],
            "suspects_alive_count": [2],
            "victims_count": [2],
            "suspects_ethnicity_recorded_count": [1],
            "involves_rape": [True],
            "eligible": [True],
            "ineligibility_reasons": [""],
            "version": [1],
            "submission_id": [sub],
            "source_row": [2],
        },
        schema=REFERRAL_TYPES,
    )
    assert_frame_equal(read_referrals(engine), expected_referral)

    # Offences come back ordered by code, whatever the insertion order.
    assert_frame_equal(
        read_offences(engine),
        pl.DataFrame(
            {"referral_id": [ref, ref], "code": ["19C", "19D"]},
            schema={"referral_id": pl.Int64, "code": pl.String},
        ),
    )

    events = read_events(engine)
    assert_frame_equal(
        events.drop("id"),
        pl.DataFrame(
            {
                "referral_id": [ref],
                "event": ["assessment_completed"],
                "event_date": [date(2025, 7, 1)],
                "detail": ["passed_back_to_force"],
                "submission_id": [ev_sub],
                "source_row": [5],
            },
            schema={k: v for k, v in EVENT_TYPES.items() if k != "id"},
        ),
    )
    assert events.schema == pl.Schema(EVENT_TYPES)

    submissions = read_submissions(engine)
    assert submissions["file_name"].to_list() == ["cleveland-2025-06.csv", "events-2025-07.csv"]
    assert submissions["feed"].to_list() == ["referrals", "events"]
    assert submissions["received_at"].to_list() == [RECEIVED, RECEIVED]


def test_missing_optional_count_reads_as_null_not_zero(engine: Engine) -> None:
    with transaction(engine) as conn:
        add_referral(conn, add_submission(conn, "a.csv"), "CLE-1")
    column = read_referrals(engine)["suspects_ethnicity_recorded_count"]
    assert column.dtype == pl.Int64
    assert column.to_list() == [None]


def test_referral_key_is_unique_per_force(engine: Engine) -> None:
    with transaction(engine) as conn:
        sub = add_submission(conn, "a.csv")
        add_referral(conn, sub, "SAME-ID")
        add_referral(conn, sub, "SAME-ID", force="Durham Constabulary")  # other force: fine
    with pytest.raises(IntegrityError), transaction(engine) as conn:
        add_referral(conn, sub, "SAME-ID")
    assert read_referrals(engine).height == 2


def test_referral_must_name_a_stored_submission(engine: Engine) -> None:
    with pytest.raises(IntegrityError), transaction(engine) as conn:
        add_referral(conn, 999, "ORPHAN")
    assert read_referrals(engine).is_empty()


def test_failed_transaction_is_rolled_back(engine: Engine) -> None:
    with pytest.raises(RuntimeError), transaction(engine) as conn:
        add_submission(conn, "half-loaded.csv")
        raise RuntimeError("ingestion failed half way")
    assert read_submissions(engine).is_empty()


# --- typed reads ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("read", "types"),
    [
        (read_referrals, REFERRAL_TYPES),
        (read_events, EVENT_TYPES),
        (read_quarantine, QUARANTINE_TYPES),
    ],
    ids=["referrals", "events", "quarantine"],
)
def test_reads_of_an_empty_store_are_typed_empty_frames(
    engine: Engine, read: Callable[[Engine], pl.DataFrame], types: dict[str, pl.DataType]
) -> None:
    frame = read(engine)
    assert frame.is_empty()
    assert frame.schema == pl.Schema(types)


def test_read_quarantine_joins_file_name_and_filters_by_status(engine: Engine) -> None:
    with transaction(engine) as conn:
        sub = add_submission(conn, "durham-bad.csv")
        fixed_by = add_submission(conn, "durham-fixed.csv")
        ref = add_referral(conn, fixed_by, "DUR-2", force="Durham Constabulary")
        rows = [
            {
                "submission_id": sub,
                "feed": "referrals",
                "source_row": 3,
                "force": "Durham Constabulary",
                "force_referral_id": "DUR-1",
                "raw": {"force": "Durham", "nfa_date": "31/02/2020"},
                "reasons": [{"code": "invalid_date", "column": "nfa_date"}],
                "reason_codes": "invalid_date",
                "status": "open",
                "resolved_by_submission_id": None,
                "resolved_by_referral_id": None,
            },
            {
                "submission_id": sub,
                "feed": "referrals",
                "source_row": 4,
                "force": None,
                "force_referral_id": "DUR-2",
                "raw": {"force": "Nowhere"},
                "reasons": [{"code": "unknown_force", "column": "force"}],
                "reason_codes": "unknown_force",
                "status": "resolved",
                "resolved_by_submission_id": fixed_by,
                "resolved_by_referral_id": ref,
            },
        ]
        conn.execute(quarantine_t.insert(), rows)  # same keys in every row: executemany

    everything = read_quarantine(engine)
    assert everything.schema == pl.Schema(QUARANTINE_TYPES)
    expected = pl.DataFrame(
        {
            "submission_id": [sub, sub],
            "file_name": ["durham-bad.csv", "durham-bad.csv"],
            "feed": ["referrals", "referrals"],
            "source_row": [3, 4],
            "force": ["Durham Constabulary", None],
            "force_referral_id": ["DUR-1", "DUR-2"],
            "reason_codes": ["invalid_date", "unknown_force"],
            "status": ["open", "resolved"],
            "resolved_by_submission_id": [None, fixed_by],
            "resolved_by_referral_id": [None, ref],
            "resolved_by_event_id": [None, None],
            "received_at": [RECEIVED, RECEIVED],
        },
        schema={k: v for k, v in QUARANTINE_TYPES.items() if k != "id"},
    )
    assert_frame_equal(everything.drop("id"), expected)
    assert read_quarantine(engine, status="open")["source_row"].to_list() == [3]
    assert read_quarantine(engine, status="resolved")["source_row"].to_list() == [4]

    # The raw row and its reasons are kept whole (JSON) on both databases.
    with engine.connect() as conn:
        raw, reasons = conn.execute(
            select(quarantine_t.c.raw, quarantine_t.c.reasons).where(quarantine_t.c.source_row == 3)
        ).one()
    assert raw == {"force": "Durham", "nfa_date": "31/02/2020"}
    assert reasons == [{"code": "invalid_date", "column": "nfa_date"}]


def test_json_read_as_text_decodes_in_one_call_to_the_values_stored(engine: Engine) -> None:
    # Cells a received file can hold that could confuse joining texts into one array:
    # brackets, commas and quotes inside strings, non-ASCII text, nulls and a control
    # character; and rows whose JSON is null.
    raws = [
        {"force": "Durham", "nfa_date": "31/02/2020"},
        {" Force ": '"],[{"x": 1}', "victims_count": None},
        {"force": "Dyfed-Powys \u2013 Heddlu", "note": "tab\there, comma, [bracket]"},
        {},
    ]
    reasons = [[{"column": "nfa_date", "rule": "unparseable_date"}], [], None, None]
    with transaction(engine) as conn:
        sub = add_submission(conn, "awkward.csv")
        conn.execute(
            quarantine_t.insert(),
            [
                {
                    "submission_id": sub,
                    "feed": "referrals",
                    "source_row": i + 2,
                    "raw": raw,
                    "reasons": why,
                    "reason_codes": "",
                    "status": "open",
                }
                for i, (raw, why) in enumerate(zip(raws, reasons, strict=True))
            ],
        )
    with engine.connect() as conn:
        per_row = conn.execute(
            select(quarantine_t.c.raw, quarantine_t.c.reasons).order_by(quarantine_t.c.id)
        ).all()
        as_text = conn.execute(
            select(
                store.json_as_text(quarantine_t.c.raw), store.json_as_text(quarantine_t.c.reasons)
            ).order_by(quarantine_t.c.id)
        ).all()
    assert all(isinstance(t, str) for t, _ in as_text)  # text, not decoded by the driver
    assert store.decode_json([t for t, _ in as_text]) == [r for r, _ in per_row] == raws
    decoded_reasons = store.decode_json([t for _, t in as_text])
    assert decoded_reasons == [w for _, w in per_row]
    assert decoded_reasons[:2] == reasons[:2]
    assert store.decode_json([]) == []
    assert store.decode_json([None, "1", None]) == [None, 1, None]


def test_store_version_changes_when_a_file_is_received(engine: Engine) -> None:
    before = store_version(engine)
    with transaction(engine) as conn:
        add_submission(conn, "a.csv")
    assert store_version(engine) > before


# --- where the data came from -----------------------------------------------------------


@pytest.mark.parametrize(
    ("submissions", "origin"),
    [
        ([], "empty"),
        ([("loaded", True), ("loaded", True)], "synthetic"),
        ([("loaded", False)], "real"),
        ([("loaded", True), ("loaded", False)], "mixed"),
        # Only loaded files count: a rejected or duplicate file brought no data.
        ([("rejected", False), ("duplicate", False)], "empty"),
        ([("loaded", True), ("rejected", False), ("duplicate", False)], "synthetic"),
        ([("loaded", False), ("rejected", True)], "real"),
    ],
    ids=[
        "nothing",
        "only-synthetic",
        "only-real",
        "both",
        "only-unloaded",
        "synthetic-plus-unloaded-real",
        "real-plus-unloaded-synthetic",
    ],
)
def test_data_origin(engine: Engine, submissions: list[tuple[str, bool]], origin: str) -> None:
    with transaction(engine) as conn:
        for i, (status, synthetic) in enumerate(submissions):
            add_submission(conn, f"file-{i}.csv", status=status, synthetic=synthetic)
    assert data_origin(engine) == origin
    with engine.connect() as conn:
        assert data_origin(conn) == origin


# --- which database ---------------------------------------------------------------------


@pytest.mark.unit
def test_db_url_argument_wins_over_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(store.DB_URL_ENV, "sqlite:///from-env.db")
    assert resolve_db_url("sqlite:///from-arg.db") == "sqlite:///from-arg.db"


@pytest.mark.unit
def test_db_url_environment_wins_over_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(store.DB_URL_ENV, "sqlite:///from-env.db")
    assert resolve_db_url() == "sqlite:///from-env.db"
    assert resolve_db_url(None) == "sqlite:///from-env.db"


@pytest.mark.unit
@pytest.mark.parametrize("env", [None, ""], ids=["unset", "empty"])
def test_db_url_default_is_sqlite_in_working_directory(
    monkeypatch: pytest.MonkeyPatch, env: str | None
) -> None:
    if env is None:
        monkeypatch.delenv(store.DB_URL_ENV, raising=False)
    else:
        monkeypatch.setenv(store.DB_URL_ENV, env)
    assert resolve_db_url() == "sqlite:///beaconport.db"


@pytest.mark.unit
def test_plain_postgresql_url_uses_psycopg_3() -> None:
    eng = make_engine("postgresql://someone@127.0.0.1:1/nowhere", migrate=False)
    try:
        assert eng.url.drivername == "postgresql+psycopg"
    finally:
        eng.dispose()


@pytest.mark.sqlite
def test_sqlite_store_enforces_foreign_keys_and_wal(sqlite_url: str) -> None:
    eng = make_engine(sqlite_url)
    try:
        with eng.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar_one() == 1
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar_one() == "wal"
        # A plain engine, without the store's settings, does not enforce them.
        plain = create_engine(sqlite_url)
        with plain.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar_one() == 0
        plain.dispose()
    finally:
        eng.dispose()
