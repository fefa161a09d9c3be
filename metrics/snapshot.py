"""The store's columnar copy of the tables the figures read, kept beside the rows.

Reading 100,000 referrals and their 450,000 review events from SQLite row by row takes
most of a second, whatever the driver: the time goes in building every value. The same
tables kept as Arrow IPC blobs are read in a few hundredths. So the store keeps, in the
table ``column_segments``, a columnar copy of exactly what ``metrics.frames`` reads:

- ``referrals``: the current version of each referral (``REFERRAL_COLUMNS``: its key
  and what the figures use);
- ``offences``: the offence codes of each referral (``OFFENCE_COLUMNS``);
- ``events``: the current review events (``EVENT_COLUMNS``, with the event's ``id``);
- ``events_removed``: the ids of events a later file corrected (moved to history).

The gate writes one segment per kind it changed (more for a kind above
``SEGMENT_ROWS`` rows, offence codes cut between referrals only), in the same
transaction that loads the file, so the copy is always exactly as current as the rows
(:func:`encode`, then :func:`append`). A reader folds the segments in order
(:func:`read_tables`): a referral's latest segment wins; a referral's offence codes are
those of the latest segment that has any; removed events are dropped. When a kind
has segments from more than ``COMPACT_AFTER`` loads, the next load folds them into one
(the segments are a cache of the rows: folding them deletes no data).

If the copy cannot be trusted, the reader says so and the caller reads the rows: a
segment written in another format, or row counts that differ from the tables' (a
table edited by hand, say). :func:`rebuild` writes the copy afresh from the rows
(``beaconport store rebuild-snapshot`` runs it; the migration that added the table
did too).
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass

import polars as pl
from sqlalchemy import Connection, delete, func, select

from metrics import store

log = logging.getLogger("beaconport.snapshot")

#: Bumped whenever the columns of a segment change; older segments are then ignored
#: until :func:`rebuild` (a migration runs it).
SNAPSHOT_FORMAT = 1
#: Kinds with segments from more than this many loads are folded into one.
COMPACT_AFTER = 16
#: Rows per segment at most (a blob stays far below SQLite's and PostgreSQL's 1 GB).
SEGMENT_ROWS = 2_000_000

REFERRAL_COLUMNS: dict[str, pl.DataType] = {
    "id": pl.Int64(),
    "force": pl.String(),
    "force_referral_id": pl.String(),
    "referral_date": pl.Date(),
    "crime_recorded_date": pl.Date(),
    "original_outcome": pl.String(),
    "eligible": pl.Boolean(),
    "ineligibility_reasons": pl.String(),
}
OFFENCE_COLUMNS: dict[str, pl.DataType] = {"referral_id": pl.Int64(), "code": pl.String()}
EVENT_COLUMNS: dict[str, pl.DataType] = {
    "id": pl.Int64(),
    "referral_id": pl.Int64(),
    "event": pl.String(),
    "event_date": pl.Date(),
    "detail": pl.String(),
}
REMOVED_COLUMNS: dict[str, pl.DataType] = {"id": pl.Int64()}

SCHEMAS: dict[str, dict[str, pl.DataType]] = {
    "referrals": REFERRAL_COLUMNS,
    "offences": OFFENCE_COLUMNS,
    "events": EVENT_COLUMNS,
    "events_removed": REMOVED_COLUMNS,
}

segments_t = store.column_segments_t


@dataclass(frozen=True)
class SnapshotTables:
    """The folded copy: current referrals, their offence codes and current events."""

    referrals: pl.DataFrame
    offences: pl.DataFrame
    events: pl.DataFrame


def _encode(frame: pl.DataFrame) -> bytes:
    buffer = io.BytesIO()
    # zstd: the smallest (a tenth of the rows' size) and still read in a few hundredths
    frame.write_ipc(buffer, compression="zstd")
    return buffer.getvalue()


def _decode(data: bytes | memoryview) -> pl.DataFrame:
    return pl.read_ipc(io.BytesIO(bytes(data)))


@dataclass(frozen=True)
class Segment:
    """One encoded segment, not yet stored."""

    kind: str
    row_count: int
    data: bytes


def _encoded(kind: str, frame: pl.DataFrame) -> list[Segment]:
    frame = frame.select(pl.col(c).cast(t) for c, t in SCHEMAS[kind].items())
    return [Segment(kind, chunk.height, _encode(chunk)) for chunk in _chunks(kind, frame)]


def _chunks(kind: str, frame: pl.DataFrame) -> list[pl.DataFrame]:
    """``frame`` in pieces of at most ``SEGMENT_ROWS`` rows. A referral's offence codes
    stay in one piece: the fold takes a referral's codes from its latest segment only."""
    if frame.height <= SEGMENT_ROWS or kind != "offences":
        return list(frame.iter_slices(SEGMENT_ROWS))
    frame = frame.sort("referral_id", maintain_order=True)
    ids = frame.get_column("referral_id")
    pieces, start = [], 0
    while start < frame.height:
        end = min(start + SEGMENT_ROWS, frame.height)
        if end < frame.height:  # back to the first code of the referral cut at ``end``
            end = int(ids.search_sorted(ids[end], side="left"))
            if end <= start:  # one referral longer than a piece: keep it whole anyway
                end = int(ids.search_sorted(ids[start], side="right"))
        pieces.append(frame.slice(start, end - start))
        start = end
    return pieces


def _store(conn: Connection, segments: list[Segment], submission_id: int | None) -> None:
    for segment in segments:
        conn.execute(
            segments_t.insert().values(
                kind=segment.kind,
                submission_id=submission_id,
                format=SNAPSHOT_FORMAT,
                row_count=segment.row_count,
                data=segment.data,
                created_at=store.utcnow(),
            )
        )


def _write(conn: Connection, kind: str, frame: pl.DataFrame, submission_id: int | None) -> None:
    _store(conn, _encoded(kind, frame), submission_id)


def encode(
    *,
    referrals: pl.DataFrame | None = None,
    offences: pl.DataFrame | None = None,
    events: pl.DataFrame | None = None,
    removed_event_ids: pl.Series | None = None,
) -> list[Segment]:
    """The segments that record what a load changed, for :func:`append`.

    ``referrals``: every referral the file inserted or replaced, with its id and new
    values; ``offences``: all the offence codes of those referrals; ``events``: the
    events inserted, with their ids; ``removed_event_ids``: events deleted (moved to
    history). Empty or missing arguments give no segment. This is Polars work only,
    with no database, so a load may run it on another thread while the database works.
    """
    parts = {
        "referrals": referrals,
        "offences": offences,
        "events": events,
        "events_removed": (
            removed_event_ids.rename("id").to_frame() if removed_event_ids is not None else None
        ),
    }
    return [
        segment
        for kind, frame in parts.items()
        if frame is not None and frame.height
        for segment in _encoded(kind, frame)
    ]


def append(conn: Connection, submission_id: int, segments: list[Segment]) -> None:
    """Store a load's segments (from :func:`encode`) inside the load's transaction."""
    _store(conn, segments, submission_id)
    _compact_if_needed(conn)


def _segments(conn: Connection, kinds: tuple[str, ...] | None = None) -> list[tuple]:
    q = select(segments_t.c.id, segments_t.c.kind, segments_t.c.format, segments_t.c.data)
    if kinds:
        q = q.where(segments_t.c.kind.in_(kinds))
    return list(conn.execute(q.order_by(segments_t.c.id)))


def _concat(rows: list[tuple], kind: str) -> tuple[pl.DataFrame, int]:
    """The segments of ``kind`` in order, with their segment id (``_seg``), and how many."""
    frames = [
        _decode(data).with_columns(pl.lit(seg, dtype=pl.Int64).alias("_seg"))
        for seg, k, _format, data in rows
        if k == kind
    ]
    if not frames:
        return pl.DataFrame(schema={**SCHEMAS[kind], "_seg": pl.Int64()}), 0
    return pl.concat(frames, how="vertical_relaxed"), len(frames)


def _sorted_by(frame: pl.DataFrame, *columns: str) -> pl.DataFrame:
    if len(columns) == 1 and frame.get_column(columns[0]).is_sorted():
        return frame
    return frame.sort(*columns)


def _fold(rows: list[tuple]) -> SnapshotTables:
    referrals, n = _concat(rows, "referrals")
    if n > 1:  # a referral's latest version wins
        referrals = referrals.unique("id", keep="last", maintain_order=True)
    offences, n = _concat(rows, "offences")
    if n > 1:  # a referral's codes are those of its latest segment
        offences = offences.filter(pl.col("_seg") == pl.col("_seg").max().over("referral_id"))
    events, _ = _concat(rows, "events")
    removed, _ = _concat(rows, "events_removed")
    if removed.height:
        events = events.join(removed.select("id"), on="id", how="anti")
    return SnapshotTables(
        _sorted_by(referrals.drop("_seg"), "id"),
        offences.drop("_seg"),
        _sorted_by(events.drop("_seg"), "id"),
    )


def _row_counts(conn: Connection) -> tuple[int, int, int]:
    counts = [
        conn.execute(select(func.count()).select_from(t)).scalar_one()
        for t in (store.referrals_t, store.offences_t, store.events_t)
    ]
    return int(counts[0]), int(counts[1]), int(counts[2])


def read_tables(conn: Connection) -> SnapshotTables | None:
    """The folded copy, or None when it cannot be trusted (the caller reads the rows).

    Distrusted: any segment in another format, or folded row counts that differ from
    the tables' own (which a gate-written copy never does).
    """
    rows = _segments(conn)
    if any(f != SNAPSHOT_FORMAT for _id, _k, f, _d in rows):
        log.warning("the columnar copy is in an older format; reading the rows instead")
        return None
    folded = _fold(rows)
    expected = _row_counts(conn)
    found = (folded.referrals.height, folded.offences.height, folded.events.height)
    if found != expected:
        log.warning(
            "the columnar copy holds %s referrals, offence codes and events where the "
            "tables hold %s; reading the rows instead (beaconport store rebuild-snapshot "
            "writes it afresh)",
            found,
            expected,
        )
        return None
    return folded


def _compact_if_needed(conn: Connection) -> None:
    """Fold a kind's segments into one when they come from more than ``COMPACT_AFTER``
    loads (``events`` and ``events_removed`` are folded together)."""
    loads = {
        kind: n
        for kind, n in conn.execute(
            select(
                segments_t.c.kind,
                func.count(func.distinct(func.coalesce(segments_t.c.submission_id, 0))),
            ).group_by(segments_t.c.kind)
        )
    }
    groups = {
        "referrals": ("referrals",),
        "offences": ("offences",),
        "events": ("events", "events_removed"),
    }
    for kind, kinds in groups.items():
        if max(loads.get(k, 0) for k in kinds) <= COMPACT_AFTER:
            continue
        rows = _segments(conn, kinds)
        folded = _fold(rows)
        frame = {
            "referrals": folded.referrals,
            "offences": folded.offences,
            "events": folded.events,
        }[kind]
        conn.execute(delete(segments_t).where(segments_t.c.id.in_([r[0] for r in rows])))
        _write(conn, kind, frame, None)


def read_rows(conn: Connection) -> SnapshotTables:
    """What the copy should hold, read from the rows (slowly: value by value)."""
    r, e, o = store.referrals_t.c, store.events_t.c, store.offences_t.c
    return SnapshotTables(
        referrals=store.read_frame(
            conn, select(*(r[c] for c in REFERRAL_COLUMNS)).order_by(r.id), REFERRAL_COLUMNS
        ),
        offences=store.read_frame(conn, select(o.referral_id, o.code), OFFENCE_COLUMNS),
        events=store.read_frame(
            conn, select(*(e[c] for c in EVENT_COLUMNS)).order_by(e.id), EVENT_COLUMNS
        ),
    )


def differences(conn: Connection) -> list[str]:
    """How the copy differs from the rows, in words (empty when they agree)."""
    copy = read_tables(conn)
    if copy is None:
        return ["the copy is missing, in another format, or its row counts differ"]
    rows = read_rows(conn)
    compared = {  # kind: (name in the message, sort key)
        "referrals": ("referrals", ["id"]),
        "offences": ("offence codes", ["referral_id", "code"]),
        "events": ("events", ["id"]),
    }
    return [
        f"{name} differ"
        for kind, (name, key) in compared.items()
        if not getattr(copy, kind).sort(key).equals(getattr(rows, kind).sort(key))
    ]


def rebuild(conn: Connection) -> SnapshotTables:
    """Write the columnar copy afresh from the rows (inside the caller's transaction)."""
    tables = read_rows(conn)
    conn.execute(delete(segments_t))
    _write(conn, "referrals", tables.referrals, None)
    _write(conn, "offences", tables.offences, None)
    _write(conn, "events", tables.events, None)
    return tables
