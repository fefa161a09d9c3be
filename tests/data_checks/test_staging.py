"""Bulk inserts into SQLite through a staging file (data_checks/staging.py).

The reference answer is SQLAlchemy's own ``insert()`` of the same Python values: a staged
insert must store exactly what it stores, value for value and SQLite type for SQLite
type, and must leave nothing attached or on disk behind it.
"""

from __future__ import annotations

import fcntl
import os
import signal
import sqlite3
import subprocess
import sys
import threading
from datetime import date, datetime
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    create_engine,
    select,
    text,
)
from sqlalchemy.exc import IntegrityError

from data_checks.errors import LoadFailed
from data_checks.gate import bulk_insert, ingest_file
from data_checks.staging import insert_staged, remove_abandoned_folders, staging_area
from metrics import store
from tests.data_checks.helpers import TODAY, referral, table_counts, write_csv

pytestmark = pytest.mark.sqlite

COLUMNS = ["id", "day", "at", "flag", "n", "label"]
ROWS = [
    (1, date(2010, 1, 1), datetime(2025, 3, 31, 23, 59, 58, 123456), True, 0, "010"),
    (2, date(2025, 3, 31), datetime(2010, 1, 1, 0, 0, 0), False, None, ""),
    (3, None, None, None, -7, "Robert'); DROP TABLE t;--"),
    (4, date(2016, 2, 29), datetime(2016, 2, 29, 12, 0, 0, 1), True, 2**40, "Ynys Môn “quoted”"),
    (5, date(2020, 6, 1), datetime(2020, 6, 1, 6, 30), None, None, None),
]


def _table(metadata: MetaData, name: str) -> Table:
    return Table(
        name,
        metadata,
        Column("id", Integer, primary_key=True),
        Column("day", Date),
        Column("at", DateTime),
        Column("flag", Boolean),
        Column("n", Integer),
        Column("label", String(100)),
    )


def _frame(rows: list[tuple]) -> pl.DataFrame:
    return pl.DataFrame(
        rows,
        schema={
            "id": pl.Int64,
            "day": pl.Date,
            "at": pl.Datetime("us"),
            "flag": pl.Boolean,
            "n": pl.Int64,
            "label": pl.String,
        },
        orient="row",
    )


@pytest.fixture
def db(tmp_path: Path):
    engine = create_engine(f"sqlite:///{tmp_path / 'store.db'}")
    metadata = MetaData()
    staged, plain = _table(metadata, "staged"), _table(metadata, "plain")
    metadata.create_all(engine)
    yield engine, staged, plain
    engine.dispose()


def _stored(engine, name: str) -> list[tuple]:
    """Every value as SQLite holds it, with its SQLite type, read with plain sqlite3."""
    typed = ", ".join(f"typeof({c}), {c}" for c in COLUMNS)
    with sqlite3.connect(engine.url.database) as raw:
        return raw.execute(f"SELECT {typed} FROM {name} ORDER BY id").fetchall()  # noqa: S608


def _attached(conn) -> set[str]:
    """The files attached to ``conn`` beside its own ("main" and SQLite's "temp")."""
    return {row[1] for row in conn.exec_driver_sql("PRAGMA database_list")} - {"main", "temp"}


def test_a_staged_insert_stores_what_sqlalchemy_stores(db):
    engine, staged, plain = db
    with engine.begin() as conn:
        conn.execute(plain.insert(), [dict(zip(COLUMNS, r, strict=True)) for r in ROWS])
    with engine.connect() as conn, staging_area(conn), conn.begin():
        bulk_insert(conn, staged, _frame(ROWS))
    assert _stored(engine, "staged") == _stored(engine, "plain")
    # and SQLAlchemy reads the staged rows back as the values that went in
    with engine.connect() as conn:
        assert [tuple(r) for r in conn.execute(select(staged).order_by(staged.c.id))] == ROWS


def test_a_column_of_nulls_only_is_stored_as_nulls(db):
    engine, staged, _ = db
    frame = pl.DataFrame({"id": [1, 2], "label": [None, None]})
    assert frame.schema["label"] == pl.Null
    with engine.connect() as conn, staging_area(conn), conn.begin():
        insert_staged(conn, staged, frame)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT id, label FROM staged ORDER BY id")).all() == [
            (1, None),
            (2, None),
        ]


def test_nothing_is_left_attached_or_on_disk_after_a_commit(db, monkeypatch, tmp_path):
    engine, staged, _ = db
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    with engine.connect() as conn:
        with staging_area(conn), conn.begin():
            bulk_insert(conn, staged, _frame(ROWS[:2]))
            bulk_insert(conn, staged, _frame(ROWS[2:]))
            assert len(_attached(conn)) == 2
            (folder,) = (tmp_path / "tmp").glob("beaconport-load-*")
            assert folder.stat().st_mode & 0o777 == 0o700  # the program's own user only
            assert len(list(folder.glob("*.db"))) == 2
        assert _attached(conn) == set()
    assert list((tmp_path / "tmp").iterdir()) == []
    assert len(_stored(engine, "staged")) == len(ROWS)


def test_a_failure_rolls_the_staged_rows_back_and_cleans_up(db, monkeypatch, tmp_path):
    engine, staged, _ = db
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    with engine.connect() as conn:
        with pytest.raises(ZeroDivisionError):
            with staging_area(conn), conn.begin():
                bulk_insert(conn, staged, _frame(ROWS))
                assert conn.execute(text("SELECT count(*) FROM staged")).scalar_one() == 5
                1 / 0  # noqa: B018 (the failure)
        assert _attached(conn) == set()
    assert list((tmp_path / "tmp").iterdir()) == []
    assert _stored(engine, "staged") == []


def _open_files_under(folder: Path) -> list[str]:
    """The files under ``folder`` this process holds open (read from /proc)."""
    fds = Path("/proc/self/fd")
    held = []
    for fd in fds.iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue  # closed while listing (the listing's own descriptor)
        if target.startswith(f"{folder}/"):
            held.append(target)
    return held


def test_a_folder_that_cannot_be_deleted_does_not_fail_the_load(db, monkeypatch, tmp_path, caplog):
    """If deleting the staging folder fails (an error from the file system) after the
    transaction has committed, the load is not reported as failed (its rows are
    stored): a warning names the folder, its lock is let go at once rather than held
    until the process ends, and the next load deletes it as abandoned."""
    engine, staged, _ = db
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    monkeypatch.setattr("tempfile.tempdir", str(tmp))

    def refuse(path, *args, **kwargs) -> None:
        raise PermissionError(13, "Permission denied", str(path))

    with monkeypatch.context() as m, caplog.at_level("WARNING", "beaconport.staging"):
        m.setattr("shutil.rmtree", refuse)
        with engine.connect() as conn, staging_area(conn), conn.begin():
            insert_staged(conn, staged, _frame(ROWS[:2]))
    (left,) = tmp.glob("beaconport-load-*")
    assert [r.getMessage() for r in caplog.records] == [
        f"beaconport: could not delete the staging folder {left} (Permission denied); "
        "it is no longer needed: a later load will try again, or delete it by hand"
    ]
    assert len(_stored(engine, "staged")) == 2
    assert (left / "in-use.lock").exists()
    assert _open_files_under(left) == []  # the lock is let go
    with engine.connect() as conn, staging_area(conn), conn.begin():
        insert_staged(conn, staged, _frame(ROWS[2:3]))
    assert list(tmp.iterdir()) == []
    assert len(_stored(engine, "staged")) == 3


def test_a_file_that_cannot_be_detached_takes_its_connection_out_of_the_pool(db):
    """Used the wrong way round (the transaction still open when the staging area
    ends), SQLite refuses to detach the file; the connection is then discarded, so the
    next one from the pool has nothing attached."""
    engine, staged, _ = db
    with engine.connect() as conn:
        with staging_area(conn):
            conn.begin()
            bulk_insert(conn, staged, _frame(ROWS))
        assert conn.invalidated
    with engine.connect() as conn:
        assert _attached(conn) == set()
        assert conn.execute(text("SELECT count(*) FROM staged")).scalar_one() == 0


def test_a_staged_insert_needs_a_staging_area(db):
    engine, staged, _ = db
    with engine.begin() as conn, pytest.raises(RuntimeError, match="staging_area"):
        insert_staged(conn, staged, _frame(ROWS))


def test_a_load_that_cannot_stage_its_rows_fails_in_one_line_and_changes_nothing(
    tmp_path, monkeypatch
):
    """No room for the staging folder (here the temporary folder is a plain file): the
    file is refused with one line naming it, and the store is as it was."""
    engine = store.make_engine(f"sqlite:///{tmp_path / 'store.db'}")
    path = write_csv(tmp_path / "kent.csv", [referral()])
    before = table_counts(engine)
    (tmp_path / "not-a-folder").write_text("")
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path / "not-a-folder"))
    with pytest.raises(LoadFailed) as failed:
        ingest_file(engine, path, "referrals", today=TODAY)
    message = str(failed.value)
    assert "kent.csv" in message and "failed while loading" in message
    assert "\n" not in message
    assert table_counts(engine) == before
    engine.dispose()


def _staging_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("beaconport")]


def test_a_large_insert_goes_in_parts_each_through_its_own_file(db, monkeypatch, tmp_path):
    """Five rows in parts of two: three staging files, and the rows stored are what
    SQLAlchemy stores, in the frame's order."""
    engine, staged, plain = db
    monkeypatch.setattr("data_checks.staging.PART_ROWS", 2)
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    with engine.begin() as conn:
        conn.execute(plain.insert(), [dict(zip(COLUMNS, r, strict=True)) for r in ROWS])
    with engine.connect() as conn:
        with staging_area(conn), conn.begin():
            insert_staged(conn, staged, _frame(ROWS))
            assert len(_attached(conn)) == 3
            (folder,) = (tmp_path / "tmp").glob("beaconport-load-*")
            assert len(list(folder.glob("*.db"))) == 3
        assert _attached(conn) == set()
    assert _stored(engine, "staged") == _stored(engine, "plain")
    # in the frame's order: a table without a key numbers its rows as they arrive
    loose = Table("loose", MetaData(), Column("label", String(10)))
    loose.create(engine)
    labels = ["g", "c", "a", "f", "b", "e", "d"]
    with engine.connect() as conn, staging_area(conn), conn.begin():
        insert_staged(conn, loose, pl.DataFrame({"label": labels}))
    with sqlite3.connect(engine.url.database) as raw:
        stored = [r[0] for r in raw.execute("SELECT label FROM loose ORDER BY _rowid_")]
    assert stored == labels
    assert _staging_threads() == []


def test_parts_are_capped_and_the_attach_limit_is_a_clear_error(db, monkeypatch):
    """At most MAX_PARTS files per insert, and never more attached than SQLite allows
    (10 unless built otherwise): past that, a plain error and a rollback."""
    engine, staged, _ = db
    monkeypatch.setattr("data_checks.staging.PART_ROWS", 1)
    monkeypatch.setattr("data_checks.staging.MAX_PARTS", 4)
    with engine.connect() as conn:
        limit = conn.connection.driver_connection.getlimit(sqlite3.SQLITE_LIMIT_ATTACHED)
        frames = [_frame([(i * 10 + r[0], *r[1:]) for r in ROWS]) for i in range(limit)]
        with pytest.raises(RuntimeError, match="too many staged inserts"):
            with staging_area(conn), conn.begin():
                used = 0
                for frame in frames:
                    insert_staged(conn, staged, frame)
                    used = len(_attached(conn))
                    assert used <= limit
        assert used == limit  # it filled every place before refusing
        assert _attached(conn) == set()
    assert _stored(engine, "staged") == []


def test_a_failure_in_a_later_part_rolls_every_part_back(db, monkeypatch, tmp_path):
    """A part the store refuses (a repeated id in the third) or a part that cannot be
    written (the worker thread fails on the second): the error reaches the caller,
    nothing is stored, nothing is left attached, on disk or running."""
    engine, staged, _ = db
    monkeypatch.setattr("data_checks.staging.PART_ROWS", 2)
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    repeated = _frame([*ROWS, ROWS[0]])  # parts (1, 2) (3, 4) (5, 1)
    with engine.connect() as conn:
        with pytest.raises(IntegrityError):
            with staging_area(conn), conn.begin():
                insert_staged(conn, staged, repeated)
        assert _attached(conn) == set()
    assert _stored(engine, "staged") == []

    from data_checks import staging

    written = []
    real = staging._write_file

    def second_fails(path: Path, rows: pl.DataFrame) -> None:
        written.append(path)
        if len(written) == 2:
            raise OSError("No space left on device")
        real(path, rows)

    monkeypatch.setattr("data_checks.staging._write_file", second_fails)
    with engine.connect() as conn:
        with pytest.raises(OSError, match="No space left"):
            with staging_area(conn), conn.begin():
                insert_staged(conn, staged, _frame(ROWS))
        assert _attached(conn) == set()
    assert _stored(engine, "staged") == []
    assert list((tmp_path / "tmp").iterdir()) == []
    assert _staging_threads() == []


def test_a_failure_beside_the_offence_split_leaves_the_store_as_it_was(tmp_path, monkeypatch):
    """The columnar copy is encoded on a second thread while SQLite splits the offence
    codes; a failure there fails the file in one line and stores nothing."""
    engine = store.make_engine(f"sqlite:///{tmp_path / 'store.db'}")
    ingest_file(engine, write_csv(tmp_path / "v1.csv", [referral()]), "referrals", today=TODAY)
    before = table_counts(engine)

    def boom(_stored: pl.DataFrame) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr("data_checks.gate._referral_segments", boom)
    path = write_csv(tmp_path / "v2.csv", [referral(force_referral_id="K-9")])
    with pytest.raises(LoadFailed, match="nothing from this file was stored") as failed:
        ingest_file(engine, path, "referrals", today=TODAY)
    assert "v2.csv" in str(failed.value) and "\n" not in str(failed.value)
    assert table_counts(engine) == before
    assert _staging_threads() == []
    engine.dispose()


_KILLED_LOAD = """
import sys, time, tempfile
import polars as pl
from sqlalchemy import Column, Integer, MetaData, String, Table, create_engine
from data_checks.staging import insert_staged, remove_abandoned_folders, staging_area

tempfile.tempdir = sys.argv[2]
engine = create_engine(f"sqlite:///{sys.argv[1]}")
table = Table("t", MetaData(), Column("id", Integer, primary_key=True), Column("s", String))
table.create(engine)
with engine.connect() as conn, staging_area(conn), conn.begin():
    insert_staged(conn, table, pl.DataFrame({"id": [1, 2, 3], "s": ["a", "b", "c"]}))
    print("staged", flush=True)
    time.sleep(120)
"""


def test_a_folder_left_by_a_killed_load_is_deleted_by_the_next_load(db, tmp_path, monkeypatch):
    """A load killed mid-transaction (SIGKILL: no clean-up code runs) leaves its staging
    folder behind. While that process lives, another load leaves the folder alone; once
    it is dead, the next load deletes it, and nothing else in the temporary folder."""
    engine, staged, _ = db
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    monkeypatch.setattr("tempfile.tempdir", str(tmp))
    not_ours = tmp / "beaconport-load-made-by-hand"  # no lock file: never touched
    not_ours.mkdir()
    (tmp / "other-program").mkdir()
    child = subprocess.Popen(
        [sys.executable, "-c", _KILLED_LOAD, str(tmp_path / "killed.db"), str(tmp)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout.readline().strip() == "staged"
        (left,) = set(tmp.glob("beaconport-load-*")) - {not_ours}
        assert len(list(left.glob("*.db"))) == 1
        # the child is still loading: a load here must not touch its folder
        with engine.connect() as conn, staging_area(conn), conn.begin():
            insert_staged(conn, staged, _frame(ROWS[:1]))
        assert left.exists()
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
        child.stdout.close()
    assert child.returncode == -signal.SIGKILL
    assert left.exists()  # nothing of the killed process cleaned up
    with engine.connect() as conn, staging_area(conn), conn.begin():
        insert_staged(conn, staged, _frame(ROWS[1:2]))
    assert not left.exists()
    assert sorted(p.name for p in tmp.iterdir()) == [
        "beaconport-load-made-by-hand",
        "other-program",
    ]
    assert [r[1] for r in _stored(engine, "staged")] == [1, 2]
    # the killed load's transaction never committed
    with sqlite3.connect(tmp_path / "killed.db") as raw:
        assert raw.execute("SELECT count(*) FROM t").fetchone() == (0,)


def test_only_folders_whose_lock_is_free_are_abandoned(tmp_path):
    """Checked directly: a folder whose lock file is held (another open file, as another
    load would hold it) stays; the same folder once the lock is let go is deleted."""
    held = tmp_path / "beaconport-load-held"
    held.mkdir()
    fd = os.open(held / "in-use.lock", os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        assert remove_abandoned_folders(tmp_path) == []
        assert held.exists()
    finally:
        os.close(fd)
    assert remove_abandoned_folders(tmp_path) == [held]
    assert not held.exists()
