"""Bulk inserts into a SQLite store through a staging file, with no Python between rows.

``executemany`` builds a Python tuple for every row and binds every value of it; at a
million rows that was about half of a load's time (see docs/performance.md). Here
ADBC's SQLite driver writes the frame's Arrow columns into a new SQLite file of its own
(in C), the store's connection attaches that file, and one ``INSERT ... SELECT`` copies
the rows into the store inside the load's transaction. A rollback undoes that copy like
any other statement; the staging file is never part of the store.

Why this is safe although ADBC brings its own copy of the SQLite library: two copies of
SQLite must never have the *same* file open at once, because their POSIX locks are not
shared (https://sqlite.org/howtocorrupt.html, section 2.2.1). The store is only ever
opened by Python's ``sqlite3``. A staging file is private: created in a new temporary
folder, written and closed by ADBC before the store's connection attaches it, and only
ever opened by ``sqlite3`` after that; it is deleted when the load ends.

A large frame is staged in parts, and a worker thread writes the next part's file while
the store's connection copies the last one in. The thread only ever uses an ADBC
connection of its own, on a file of its own that nothing else has open; the store's
connection stays on the thread that opened it.

SQLite cannot detach a file that the open transaction has read, so a staging file stays
attached until the transaction has ended: :func:`staging_area` around the transaction
detaches and deletes them.

A process killed mid-load cannot delete its folder, and a million rows leave about
130 MB behind. So each folder holds a lock file that its load keeps locked (``flock``)
until the folder is gone; the kernel drops that lock when the process ends, however it
ends. Every staging area, before it makes its own folder, deletes the folders in the
same temporary directory whose lock it can take: their loads are over. A folder whose
lock is held (a load running, in this process or another) or that has no lock file (one
being made this instant, or not ours) is left as it is.
"""

from __future__ import annotations

import itertools
import logging
import os
import shutil
import sqlite3
import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import polars as pl
from sqlalchemy import Table
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError

try:
    import fcntl
except ImportError:  # Windows has no flock: abandoned folders are left there for the user
    fcntl = None

_KEY = "beaconport_staging"
_PREFIX = "beaconport-load-"
_LOCK = "in-use.lock"
#: Rows per staging file in a large insert (see docs/performance.md, 3 December 2026).
PART_ROWS = 125_000
#: At most this many staging files for one insert.
MAX_PARTS = 8
_names = itertools.count(1)
log = logging.getLogger("beaconport.staging")


@contextmanager
def staging_area(conn: Connection) -> Iterator[None]:
    """Let :func:`insert_staged` use ``conn`` inside this block, which must enclose the
    transaction; on leaving it, every staging file is detached and deleted. Folders left
    by killed loads are deleted first (:func:`remove_abandoned_folders`). Does nothing
    on other databases than SQLite."""
    if conn.dialect.name != "sqlite":
        yield
        return
    remove_abandoned_folders(Path(tempfile.gettempdir()))
    folder = tempfile.TemporaryDirectory(prefix=_PREFIX)
    try:
        lock = _hold_lock(Path(folder.name) / _LOCK)
    except OSError:
        folder.cleanup()
        raise
    conn.info[_KEY] = {"folder": Path(folder.name), "attached": []}
    try:
        yield
    finally:
        state = conn.info.pop(_KEY)
        try:
            for schema in state["attached"]:
                conn.exec_driver_sql(f"DETACH DATABASE {schema}")
        except SQLAlchemyError:
            # Never hand a connection with a file still attached back to the pool.
            conn.invalidate()
        try:
            folder.cleanup()
        except OSError as exc:
            # The transaction has ended (committed or rolled back): a folder that will
            # not go is no reason to report the load as failed. Its lock is let go
            # below, which marks it abandoned, so a later load tries again (where flock
            # exists and its lock file is still there; else it waits for a person).
            log.warning(
                "beaconport: could not delete the staging folder %s (%s); it is no longer "
                "needed: a later load will try again, or delete it by hand",
                folder.name,
                exc.strerror or exc,
            )
        finally:
            if lock is not None:
                os.close(lock)  # only now: until the folder is gone, it is in use


def remove_abandoned_folders(parent: Path) -> list[Path]:
    """Delete the staging folders under ``parent`` that no running load holds (left by a
    process that was killed mid-load); returns the folders deleted. Only folders of this
    program, owned by this user, holding a lock file that nothing holds, are deleted."""
    if fcntl is None:
        return []
    removed = []
    for folder in parent.glob(f"{_PREFIX}*"):
        try:
            if folder.is_symlink() or folder.stat().st_uid != os.getuid():
                continue
            fd = os.open(folder / _LOCK, os.O_RDWR | os.O_NOFOLLOW)
        except OSError:
            continue  # gone already, not a folder, not ours, or no lock file yet
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            continue  # a load is using it
        finally:
            os.close(fd)
        shutil.rmtree(folder, ignore_errors=True)
        removed.append(folder)
    return removed


def _hold_lock(path: Path) -> int | None:
    """Create ``path`` locked, and keep it locked until the returned descriptor is closed.
    The file is locked under another name and then renamed, so that no other load can
    ever find it under its own name unlocked."""
    if fcntl is None:
        return None
    making = path.with_name(f".{path.name}")
    fd = os.open(making, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)
    os.rename(making, path)
    return fd


def insert_staged(conn: Connection, table: Table, rows: pl.DataFrame) -> None:
    """Insert ``rows`` into ``table`` (a SQLite store) through staging files.

    A large frame goes in parts of about :data:`PART_ROWS` rows, one staging file each:
    a worker thread writes the next part's file while the store's connection copies the
    one before, so the two copies of SQLite (each on its own file, each releasing the
    GIL) work on both cores at once. The parts are copied in order, so the rows arrive
    in the frame's order. Dates and times are stored as the ISO text SQLAlchemy itself
    stores. The statements name only our own table and columns, quoted; each staging
    file's path is a bound parameter.
    """
    state = conn.info.get(_KEY)
    if state is None:
        raise RuntimeError("insert_staged needs a staging_area around the transaction")
    if rows.height == 0:
        return
    # SQLite attaches at most this many files to one connection (SQLITE_MAX_ATTACHED,
    # 10 unless built otherwise); none can be detached before the transaction ends.
    room = conn.connection.driver_connection.getlimit(sqlite3.SQLITE_LIMIT_ATTACHED) - len(
        state["attached"]
    )
    if room < 1:
        raise RuntimeError("too many staged inserts in one transaction for SQLite to attach")
    parts = max(1, min(-(-rows.height // PART_ROWS), MAX_PARTS, room))
    size = -(-rows.height // parts)
    # Polars hands its columns over as Arrow (the C stream interface, no copy). Dates and
    # times go as SQLAlchemy's ISO text; the driver cannot read Arrow's null type, so a
    # column of nothing but nulls goes as text.
    rows = rows.with_columns(
        pl.col(pl.Null).cast(pl.String),
        pl.col(pl.Date).dt.to_string("%Y-%m-%d"),
        pl.col(pl.Datetime).dt.to_string("%Y-%m-%d %H:%M:%S.%6f"),
    )
    prep = conn.dialect.identifier_preparer
    names = ", ".join(prep.quote(c) for c in rows.columns)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="beaconport-staging") as writer:
        pending = []
        for offset in range(0, rows.height, size):
            schema = f"{_KEY}_{next(_names)}"
            path = state["folder"] / f"{schema}.db"
            pending.append(
                (schema, path, writer.submit(_write_file, path, rows.slice(offset, size)))
            )
        try:
            for schema, path, written in pending:
                written.result()
                conn.exec_driver_sql(f"ATTACH DATABASE ? AS {schema}", (str(path),))
                state["attached"].append(schema)
                conn.exec_driver_sql(
                    f"INSERT INTO {prep.format_table(table)} ({names}) "  # noqa: S608 (our names)
                    f"SELECT {names} FROM {schema}.r"
                )
        except BaseException:
            for *_, written in pending:  # the parts not yet written are not wanted now
                written.cancel()
            raise


def _write_file(path: Path, rows: pl.DataFrame) -> None:
    """A new SQLite file at ``path`` holding ``rows`` as table ``r``, written by ADBC."""
    # ADBC's own API, not its DB-API module: that one imports pyarrow.dataset and pandas
    # (half a second and 180 MB before a single row is written).
    import adbc_driver_manager as adbc
    import adbc_driver_sqlite

    with (
        adbc_driver_sqlite.connect(str(path)) as database,
        adbc.AdbcConnection(database) as staging,
        adbc.AdbcStatement(staging) as statement,
    ):
        # A new connection is in autocommit mode: the driver writes the rows in one
        # transaction of its own and commits it before the file is closed.
        statement.set_options(
            **{
                adbc.INGEST_OPTION_TARGET_TABLE: "r",
                adbc.INGEST_OPTION_MODE: adbc.INGEST_OPTION_MODE_CREATE,
            }
        )
        statement.bind_stream(rows)
        statement.execute_update()
