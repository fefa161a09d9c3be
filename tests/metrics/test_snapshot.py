"""The store's columnar copy (metrics.snapshot): written by every load, always equal to
the rows, folded, compacted, distrusted when it cannot be right, and rebuilt."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal
from sqlalchemy import Engine, func, insert, select, update

from data_checks.gate import ingest_file
from metrics import snapshot, store
from metrics.frames import StoreTables, load_store, read_store_rows, read_store_tables
from tests.data_checks.helpers import (
    EVENT_COLUMNS,
    REFERRAL_COLUMNS,
    TODAY,
    event,
    referral,
    write_csv,
)


def _sorted(tables: StoreTables) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    return (
        tables.referrals.sort("id"),
        tables.offences.sort("referral_id", "code"),
        tables.events.sort("referral_id", "event", "event_date", "detail", nulls_last=True),
    )


def assert_copy_equals_rows(engine: Engine) -> None:
    """The folded copy equals the rows, every column (ids and keys included)."""
    with engine.connect() as conn:
        copy = snapshot.read_tables(conn)
        assert copy is not None, "the copy was distrusted"
        rows = snapshot.read_rows(conn)
        assert snapshot.differences(conn) == []
    assert_frame_equal(copy.referrals, rows.referrals)
    assert_frame_equal(
        copy.offences.sort("referral_id", "code"), rows.offences.sort("referral_id", "code")
    )
    assert_frame_equal(copy.events, rows.events)


def load(engine: Engine, path: Path, feed: str) -> None:
    result = ingest_file(engine, path, feed, today=TODAY)
    assert result.status == "loaded", result.reason


def segment_count(engine: Engine) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(store.column_segments_t)).scalar_one()


def test_every_kind_of_load_keeps_the_copy_equal_to_the_rows(
    engine: Engine, tmp_path: Path
) -> None:
    first = [
        referral(force_referral_id="K-1"),
        referral(force_referral_id="K-2", offence_codes="88A", victims_count="1"),
        referral(force_referral_id="D-1", force="Durham Constabulary", offence_codes="19C"),
    ]
    load(engine, write_csv(tmp_path / "r1.csv", first, REFERRAL_COLUMNS), "referrals")
    assert_copy_equals_rows(engine)
    # K-2 replaced with other codes (its old codes must go), K-3 new
    second = [
        referral(force_referral_id="K-2", offence_codes="19D;20A;71"),
        referral(force_referral_id="K-3", offence_codes="71"),
    ]
    load(engine, write_csv(tmp_path / "r2.csv", second, REFERRAL_COLUMNS), "referrals")
    assert_copy_equals_rows(engine)
    events = [
        event("K-1", "assessment_started", "2025-08-10"),
        event("K-1", "assessment_completed", "2025-09-01", "passed_back_to_force"),
        event("K-1", "learning_theme", "2025-09-01", "lines_of_inquiry_not_followed"),
        event("K-2", "assessment_started", "2025-08-11"),
        event("K-2", "assessment_completed", "2025-09-02", "nfa_upheld"),
    ]
    load(engine, write_csv(tmp_path / "e1.csv", events, EVENT_COLUMNS), "events")
    assert_copy_equals_rows(engine)
    # a corrected decision: the first moves to history and leaves the copy too
    fix = [event("K-2", "assessment_completed", "2025-09-20", "adopted_by_nca")]
    load(engine, write_csv(tmp_path / "e2.csv", fix, EVENT_COLUMNS), "events")
    assert_copy_equals_rows(engine)
    decisions = load_store(engine).referrals.collect()["decision"].drop_nulls().sort()
    assert decisions.to_list() == ["adopted_by_nca", "passed_back_to_force"]


def test_the_reader_uses_the_copy_and_gives_the_rows_answer(engine: Engine, tmp_path: Path) -> None:
    rows = [referral(force_referral_id=f"K-{i}") for i in range(5)]
    load(engine, write_csv(tmp_path / "r.csv", rows, REFERRAL_COLUMNS), "referrals")
    fast, slow = read_store_tables(engine), read_store_rows(engine)
    for got, want in zip(_sorted(fast), _sorted(slow), strict=True):
        assert_frame_equal(got, want)


def test_many_loads_are_compacted(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(snapshot, "COMPACT_AFTER", 3)
    for i in range(8):
        rows = [
            referral(force_referral_id=f"K-{i}"),
            referral(force_referral_id="K-shared", offence_codes=["19D", "71", "20A"][i % 3]),
        ]
        load(engine, write_csv(tmp_path / f"r{i}.csv", rows, REFERRAL_COLUMNS), "referrals")
        assert_copy_equals_rows(engine)
    with engine.connect() as conn:
        loads_per_kind = dict(
            conn.execute(
                select(
                    store.column_segments_t.c.kind,
                    func.count(
                        func.distinct(func.coalesce(store.column_segments_t.c.submission_id, 0))
                    ),
                ).group_by(store.column_segments_t.c.kind)
            ).all()
        )
    assert max(loads_per_kind.values()) <= 3
    with engine.connect() as conn:
        copy = snapshot.read_tables(conn)
    assert copy is not None
    assert copy.referrals.height == 9  # K-0 .. K-7 and K-shared once


def test_a_load_too_big_for_one_segment_keeps_every_referrals_codes(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A load's offence codes beyond SEGMENT_ROWS go in several segments. No referral's
    codes may be cut between two of them, or folding (a referral's codes are those of
    its latest segment) drops the first part. Found at a million referrals (2.2 million
    codes over two segments: one code short, so every reader fell back to the rows)."""
    monkeypatch.setattr(snapshot, "SEGMENT_ROWS", 4)
    codes = ["19C;19D;71", "20A;71", "19D", "17B;71;72;88A", "19C;20A", "71"]
    rows = [referral(force_referral_id=f"K-{i}", offence_codes=c) for i, c in enumerate(codes)]
    load(engine, write_csv(tmp_path / "r.csv", rows, REFERRAL_COLUMNS), "referrals")
    with engine.connect() as conn:
        segments = [
            (kind, n)
            for kind, n in conn.execute(
                select(store.column_segments_t.c.kind, store.column_segments_t.c.row_count)
            )
            if kind == "offences"
        ]
    assert sum(n for _kind, n in segments) == 13  # every code: 3 + 2 + 1 + 4 + 2 + 1
    assert len(segments) > 1 and all(n <= 4 for _kind, n in segments)
    assert_copy_equals_rows(engine)
    # and again once a later load replaces some of them
    later = [referral(force_referral_id="K-3", offence_codes="19D"), rows[0]]
    load(engine, write_csv(tmp_path / "r2.csv", later, REFERRAL_COLUMNS), "referrals")
    assert_copy_equals_rows(engine)


@pytest.mark.unit
def test_offence_codes_are_cut_into_segments_between_referrals_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Pieces of at most three codes, worked out by hand: referral 2's five codes are
    longer than a piece, so they go whole in one piece of their own."""
    monkeypatch.setattr(snapshot, "SEGMENT_ROWS", 3)
    ids = [1, 1, 2, 2, 2, 2, 2, 3, 4, 4, 5]
    frame = pl.DataFrame({"referral_id": ids, "code": [f"C{i}" for i in range(len(ids))]})
    pieces = snapshot._chunks("offences", frame.reverse())
    assert [p["referral_id"].to_list() for p in pieces] == [[1, 1], [2] * 5, [3, 4, 4], [5]]
    assert pl.concat(pieces).sort("code").equals(frame.sort("code"))


def test_rows_edited_by_hand_make_the_reader_fall_back(engine: Engine, tmp_path: Path) -> None:
    load(engine, write_csv(tmp_path / "r.csv", [referral()], REFERRAL_COLUMNS), "referrals")
    with store.transaction(engine) as conn:
        rid = conn.execute(select(store.referrals_t.c.id)).scalar_one()
        sid = conn.execute(select(store.referrals_t.c.submission_id)).scalar_one()
        conn.execute(
            insert(store.events_t).values(
                referral_id=rid,
                event="assessment_started",
                event_date=TODAY,
                submission_id=sid,
                source_row=99,
            )
        )
    with engine.connect() as conn:
        assert snapshot.read_tables(conn) is None
    # the reader still gives the stored answer, from the rows
    assert read_store_tables(engine).events.height == 1
    with store.transaction(engine) as conn:
        snapshot.rebuild(conn)
    assert_copy_equals_rows(engine)


def test_a_copy_in_another_format_is_not_trusted(engine: Engine, tmp_path: Path) -> None:
    load(engine, write_csv(tmp_path / "r.csv", [referral()], REFERRAL_COLUMNS), "referrals")
    with store.transaction(engine) as conn:
        conn.execute(update(store.column_segments_t).values(format=snapshot.SNAPSHOT_FORMAT - 1))
    with engine.connect() as conn:
        assert snapshot.read_tables(conn) is None
    assert read_store_tables(engine).referrals.height == 1


@pytest.mark.sqlite
def test_the_migration_builds_the_copy_of_rows_already_stored(tmp_path: Path) -> None:
    """A store loaded before revision 0003 gets its copy when upgraded."""
    from alembic import command

    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = store.make_engine(url)
    load(
        engine,
        write_csv(
            tmp_path / "r.csv", [referral(), referral(force_referral_id="K-2")], REFERRAL_COLUMNS
        ),
        "referrals",
    )
    command.downgrade(store._alembic_config(engine), "0002")
    engine.dispose()
    engine = store.make_engine(url)  # upgrades to head again
    assert segment_count(engine) >= 2
    assert_copy_equals_rows(engine)
    engine.dispose()
