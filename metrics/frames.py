"""The store read once into Polars, with the per-referral columns every figure needs.

``load_store(engine)`` reads the current referrals, their offence codes, the current
review events and the number of open quarantined rows, and prepares them as
``StoreFrames``. Every metric in this package is a pure function of a ``StoreFrames``
and a ``Filters``, so the dashboard can cache one loaded ``StoreFrames`` (keyed by
``metrics.store.store_version``) and draw every figure from it.

Columns of ``StoreFrames.referrals`` (one row per current referral):

- as stored: ``id``, ``force``, ``referral_date``, ``crime_recorded_date``,
  ``original_outcome``, ``eligible`` (the columns no figure uses are not read);
- from the reference lists: ``region``, ``population`` (null when not known);
- from the offence codes: ``codes`` (list), ``offence_groups`` (list of the groups of
  its codes), ``involves_rape`` (any code with ``rape = true``);
- ``ineligible_reasons`` (list of reason codes, empty for an eligible referral);
- from the review events: ``assessment_started_date`` (first), ``decision`` and
  ``decision_date`` (the current ``assessment_completed`` event),
  ``reinvestigation_started_date``, ``charged_date``, ``convicted_date``,
  ``misconduct_date`` (each the first such event), ``victim_contacts`` and
  ``acknowledgements`` (numbers of such events) and ``themes`` (list of the
  distinct learning themes found).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import polars as pl
from sqlalchemy import (
    Column,
    Connection,
    Engine,
    Integer,
    Label,
    Select,
    String,
    cast,
    func,
    select,
)

from metrics import reference, snapshot
from metrics.filters import Filters
from metrics.store import events_t, offences_t, quarantine_t, referrals_t

#: The decisions an ``assessment_completed`` event can carry, in the contract's order.
DECISIONS: tuple[str, ...] = ("nfa_upheld", "passed_back_to_force", "adopted_by_nca")
#: Decisions that reopen a case.
REOPENING_DECISIONS: tuple[str, ...] = ("passed_back_to_force", "adopted_by_nca")
AWAITING_DECISION = "awaiting_decision"
#: Reasons a valid referral can be ineligible, in the contract's order.
INELIGIBILITY_REASONS: tuple[str, ...] = (
    "outside_review_period",
    "fewer_than_two_suspects",
    "fewer_than_two_victims",
    "no_contact_offence",
    "no_suspect_alive",
    "not_closed_as_nfa",
)


def is_assessed() -> pl.Expr:
    """An eligible referral whose current ``assessment_completed`` event carries a decision."""
    return pl.col("eligible") & pl.col("decision").is_not_null()


def is_reopened() -> pl.Expr:
    """An assessed referral passed back to its force or adopted by the NCA."""
    return is_assessed() & pl.col("decision").is_in(list(REOPENING_DECISIONS))


#: The columns read from the store (the columnar copy keeps exactly these, and the
#: events' ids).
RAW_REFERRAL_SCHEMA: dict[str, pl.DataType] = {
    k: v for k, v in snapshot.REFERRAL_COLUMNS.items() if k != "force_referral_id"
}
RAW_OFFENCE_SCHEMA: dict[str, pl.DataType] = dict(snapshot.OFFENCE_COLUMNS)
RAW_EVENT_SCHEMA: dict[str, pl.DataType] = {
    k: v for k, v in snapshot.EVENT_COLUMNS.items() if k != "id"
}


@dataclass(frozen=True)
class StoreTables:
    """The stored tables as read, before any derived column is added."""

    referrals: pl.DataFrame
    offences: pl.DataFrame
    events: pl.DataFrame
    open_quarantined_rows: int = 0


@dataclass(frozen=True)
class StoreFrames:
    """The store prepared for the metrics (see the module docstring for the columns).

    ``as_at`` is the latest ``referral_date`` or ``event_date`` stored (None for an
    empty store); ``open_quarantined_rows`` counts quarantined rows of both feeds that
    are still open. Neither changes with filters.
    """

    referrals: pl.LazyFrame
    events: pl.LazyFrame
    offences: pl.LazyFrame
    open_quarantined_rows: int
    as_at: date | None

    def filtered(self, filters: Filters | None) -> StoreFrames:
        """The same store restricted to the referrals passing ``filters``; their events
        and offence codes follow."""
        if filters is None or filters.is_empty:
            return self
        referrals = filters.apply(self.referrals)
        ids = referrals.select(pl.col("id").alias("referral_id"))
        return StoreFrames(
            referrals=referrals,
            events=self.events.join(ids, on="referral_id", how="semi"),
            offences=self.offences.join(ids, on="referral_id", how="semi"),
            open_quarantined_rows=self.open_quarantined_rows,
            as_at=self.as_at,
        )

    def up_to(self, cutoff: date) -> StoreFrames:
        """The store as it stood at the end of ``cutoff``: referrals received and events
        dated on or before it (current versions; corrections are not rewound)."""
        referrals = self.referrals.filter(pl.col("referral_date") <= cutoff)
        ids = referrals.select(pl.col("id").alias("referral_id"))
        events = self.events.filter(pl.col("event_date") <= cutoff).join(
            ids, on="referral_id", how="semi"
        )
        return StoreFrames(
            referrals=_with_event_columns(
                referrals.drop(EVENT_COLUMNS), _derived(events.collect(), offences=None)
            )
            .collect(engine="in-memory")
            .lazy(),
            events=events,
            offences=self.offences.join(ids, on="referral_id", how="semi"),
            open_quarantined_rows=self.open_quarantined_rows,
            as_at=min(self.as_at, cutoff) if self.as_at else None,
        )


def text_date(column: Column) -> Label:
    """A date column read as ISO text, the fastest common form for SQLite and PostgreSQL."""
    return cast(column, String).label(column.name)


# Field and record separators for SQLite's bulk text export: ASCII control characters
# that cannot occur in the columns read (codes, canonical force names, ISO dates).
_FIELD_SEP = "\x1f"
_RECORD_SEP = "\x1e"


def _read_schema(schema: dict[str, pl.DataType]) -> dict[str, pl.DataType]:
    """Dates are read as text and booleans as integers, then converted in Polars."""
    return {
        name: pl.String() if dtype == pl.Date() else pl.Int64() if dtype == pl.Boolean() else dtype
        for name, dtype in schema.items()
    }


def _convert(frame: pl.DataFrame, schema: dict[str, pl.DataType]) -> pl.DataFrame:
    return frame.with_columns(
        [
            pl.col(name).str.slice(0, 10).str.to_date("%Y-%m-%d")
            if dtype == pl.Date()
            else pl.col(name).cast(pl.Boolean)
            for name, dtype in schema.items()
            if dtype in (pl.Date(), pl.Boolean())
        ]
    )


def fetch_frame(engine: Engine, statement: Select, schema: dict[str, pl.DataType]) -> pl.DataFrame:
    """Run ``statement`` and return its rows as a frame with ``schema``.

    The rows travel as delimited text built by the database itself (SQLite's
    ``group_concat``, PostgreSQL's ``COPY ... TO STDOUT``) and parsed by Polars' CSV
    reader, which is several times faster than building Python objects row by row.
    Other databases fall back to fetching rows.

    Select date columns through :func:`text_date` and booleans cast to integers (they
    are read as text and integers, then converted). Text columns must not contain the
    ASCII unit and record separators (codes, canonical force names and ISO dates never
    do); an empty text reads back as null.
    """
    sql = str(statement.compile(dialect=engine.dialect, compile_kwargs={"literal_binds": True}))
    read_schema = _read_schema(schema)
    names = list(schema)
    dialect = engine.dialect.name
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        if dialect == "sqlite":
            record = f" || char({ord(_FIELD_SEP)}) || ".join(
                f"coalesce({name}, '')" for name in names
            )
            cursor.execute(
                f"SELECT group_concat({record}, char({ord(_RECORD_SEP)})) FROM ({sql})"  # noqa: S608
            )
            text = cursor.fetchone()[0]
            frame = (
                pl.read_csv(
                    text.encode(),
                    has_header=False,
                    new_columns=names,
                    schema=read_schema,
                    separator=_FIELD_SEP,
                    eol_char=_RECORD_SEP,
                    quote_char=None,
                )
                if text
                else pl.DataFrame(schema=read_schema)
            )
        elif dialect == "postgresql":
            buffer = bytearray()
            with cursor.copy(f"COPY ({sql}) TO STDOUT WITH (FORMAT csv)") as copy:
                for block in copy:
                    buffer += block
            frame = (
                pl.read_csv(bytes(buffer), has_header=False, new_columns=names, schema=read_schema)
                if buffer
                else pl.DataFrame(schema=read_schema)
            )
        else:
            cursor.execute(sql)
            frame = pl.DataFrame(cursor.fetchall(), schema=read_schema, orient="row")
        cursor.close()
    finally:
        raw.close()
    return _convert(frame, schema)


def _open_quarantined_rows(conn: Connection) -> int:
    return int(
        conn.execute(
            select(func.count()).select_from(quarantine_t).where(quarantine_t.c.status == "open")
        ).scalar_one()
    )


def read_store_tables(engine: Engine) -> StoreTables:
    """Read the current referrals, offence codes and review events, and count the open
    quarantined rows.

    They come from the store's columnar copy (``metrics.snapshot``), kept current by
    every load; when the copy cannot be trusted, from the rows
    (:func:`read_store_rows`), with a warning in the log.
    """
    with engine.connect() as conn:
        copy = snapshot.read_tables(conn)
        if copy is not None:
            return StoreTables(
                copy.referrals.select(list(RAW_REFERRAL_SCHEMA)),
                copy.offences,
                copy.events.select(list(RAW_EVENT_SCHEMA)),
                _open_quarantined_rows(conn),
            )
    return read_store_rows(engine)


def read_store_rows(engine: Engine) -> StoreTables:
    """The same tables as :func:`read_store_tables`, read from the rows (referrals and
    events in id order)."""
    r = referrals_t.c
    referrals = fetch_frame(
        engine,
        select(
            r.id,
            r.force,
            text_date(r.referral_date),
            text_date(r.crime_recorded_date),
            r.original_outcome,
            cast(r.eligible, Integer).label("eligible"),
            r.ineligibility_reasons,
        ).order_by(r.id),
        RAW_REFERRAL_SCHEMA,
        # the column is never null: an empty text (an eligible referral) reads back as
        # a missing value through SQLite's delimited text
    ).with_columns(pl.col("ineligibility_reasons").fill_null(""))
    offences = fetch_frame(
        engine, select(offences_t.c.referral_id, offences_t.c.code), RAW_OFFENCE_SCHEMA
    )
    e = events_t.c
    events = fetch_frame(
        engine,
        select(e.referral_id, e.event, text_date(e.event_date), e.detail).order_by(e.id),
        RAW_EVENT_SCHEMA,
    )
    with engine.connect() as conn:
        return StoreTables(referrals, offences, events, _open_quarantined_rows(conn))


EVENT_COLUMNS: tuple[str, ...] = (
    "assessment_started_date",
    "decision",
    "decision_date",
    "reinvestigation_started_date",
    "charged_date",
    "convicted_date",
    "misconduct_date",
    "victim_contacts",
    "acknowledgements",
    "themes",
)

_EMPTY_LIST = pl.lit([], dtype=pl.List(pl.String))


def _first_date(event: str, name: str) -> pl.Expr:
    # ``when/then`` before the aggregation keeps it on Polars' fast group-by path (an
    # expression such as ``filter`` inside ``agg`` is evaluated group by group).
    return pl.when(pl.col("event") == event).then(pl.col("event_date")).min().alias(name)


#: A set of distinct values is kept as one integer, a bit per value, while there are
#: at most this many distinct values (23 offence codes and 6 themes in the reference).
MAX_MASK_VALUES = 62


@dataclass(frozen=True)
class _Sets:
    """Per ``key``, the set of distinct values of a column, to be decoded into lists.

    ``masks`` has ``key`` and ``_mask`` (bit *i* set when the key has ``values[i]``);
    when there are more than ``MAX_MASK_VALUES`` distinct values it has ``key`` and
    the sorted list itself (``_list``) instead, and ``values`` is None.
    """

    masks: pl.LazyFrame
    values: list[str] | None


def _sets(pairs: pl.DataFrame, key: str, value: str) -> _Sets:
    """The sets of ``value`` per ``key``, as a plan to collect with the others."""
    values = pairs.get_column(value).drop_nulls().unique().sort().to_list()
    plan = pairs.lazy().select(key, value).drop_nulls(value).unique()
    if len(values) > MAX_MASK_VALUES:
        return _Sets(plan.group_by(key).agg(pl.col(value).sort().alias("_list")), None)
    if not values:  # no pairs at all (``replace_strict`` with nothing to replace
        # would give the mask a text type)
        return _Sets(pl.LazyFrame(schema={key: pl.Int64, "_mask": pl.Int64}), values)
    bits = [1 << i for i in range(len(values))]
    bit = pl.col(value).replace_strict(values, bits, return_dtype=pl.Int64)
    return _Sets(plan.group_by(key).agg(bit.sum().cast(pl.Int64).alias("_mask")), values)


def _decode(sets: _Sets, collected: pl.DataFrame, value: str, aggs: list[pl.Expr]) -> pl.DataFrame:
    """``collected`` (``sets.masks`` collected) with the columns ``aggs`` computes over
    each set's members (rows of ``value``, in sorted order), in place of the mask.

    Each distinct set is decoded once (a few thousand among 100,000 referrals), rather
    than every referral's list being built apart.
    """
    if sets.values is None:
        members = collected.explode("_list").rename({"_list": value})
        key = collected.columns[0]
        return collected.drop("_list").join(
            members.group_by(key, maintain_order=True).agg(aggs), on=key, how="left"
        )
    bits = pl.DataFrame(
        {value: sets.values, "_bit": [1 << i for i in range(len(sets.values))]},
        schema={value: pl.String, "_bit": pl.Int64},
    )
    members = (
        collected.select(pl.col("_mask").unique())
        .join(bits, how="cross")
        .filter((pl.col("_mask") & pl.col("_bit")) != 0)
    )
    lookup = members.group_by("_mask", maintain_order=True).agg(aggs)
    return collected.join(lookup, on="_mask", how="left").drop("_mask")


_LIST = pl.List(pl.String)


def _reason_lists(reasons: pl.Series) -> pl.DataFrame:
    """Each distinct stored ``ineligibility_reasons`` text (codes joined by ``;``) with
    its reasons as a list (``_reasons``)."""
    distinct = reasons.unique().to_list()
    lists = [
        [p.strip() for p in (t or "").replace(",", ";").split(";") if p.strip()] for t in distinct
    ]
    return pl.DataFrame(
        {"ineligibility_reasons": distinct, "_reasons": lists},
        schema={"ineligibility_reasons": pl.String, "_reasons": pl.List(pl.String)},
    )


def _event_plans(events: pl.LazyFrame) -> tuple[pl.LazyFrame, pl.LazyFrame]:
    """Per referral id with events: the dates and counts of ``EVENT_COLUMNS``, and the
    current decision."""
    is_decision = pl.col("event") == "assessment_completed"
    per_referral = events.group_by("referral_id").agg(
        _first_date("assessment_started", "assessment_started_date"),
        pl.when(is_decision).then(pl.col("event_date")).max().alias("decision_date"),
        _first_date("reinvestigation_started", "reinvestigation_started_date"),
        _first_date("suspect_charged", "charged_date"),
        _first_date("suspect_convicted", "convicted_date"),
        _first_date("misconduct_referral", "misconduct_date"),
        (pl.col("event") == "victim_contacted").sum().cast(pl.Int64).alias("victim_contacts"),
        (pl.col("event") == "acknowledgement_given").sum().cast(pl.Int64).alias("acknowledgements"),
    )
    # the store keeps one current decision; the latest wins if there were more (a
    # stable sort, so of several on the same day the last stored)
    decisions = (
        events.filter(is_decision)
        .select("referral_id", "event_date", pl.col("detail").alias("decision"))
        .sort("event_date", maintain_order=True)
        .group_by("referral_id")
        .agg(pl.col("decision").last())
    )
    return per_referral, decisions


def _derived(events: pl.DataFrame, offences: pl.DataFrame | None) -> dict[str, pl.DataFrame]:
    """The per-referral columns drawn from the events (and the offence codes, unless
    None), each a frame keyed by ``id``, computed in one ``collect_all``."""
    per_referral, decisions = _event_plans(events.lazy())
    themes = _sets(events.filter(pl.col("event") == "learning_theme"), "referral_id", "detail")
    plans = [per_referral, decisions, themes.masks]
    if offences is not None:
        pairs = offences.select(
            pl.col("referral_id"), pl.col("code").str.strip_chars().str.to_uppercase()
        )
        codes = _sets(pairs, "referral_id", "code")
        plans.append(codes.masks)
    done = pl.collect_all(plans, engine="in-memory")
    out = {
        "events": done[0],
        "decisions": done[1],
        "themes": _decode(themes, done[2], "detail", [pl.col("detail").alias("themes")]),
    }
    if offences is not None:
        ref = reference.offence_codes().select(
            "code", pl.col("group").alias("offence_group"), "rape"
        )
        # a referral's groups and rape flag follow from its set of codes
        out["offences"] = _decode(
            codes,
            done[3],
            "code",
            [
                pl.col("code").alias("codes"),
                pl.col("code")
                .replace_strict(ref["code"], ref["offence_group"], default=None)
                .drop_nulls()
                .unique()
                .sort()
                .alias("offence_groups"),
                pl.col("code")
                .replace_strict(ref["code"], ref["rape"], default=False)
                .any()
                .alias("involves_rape"),
            ],
        )
    return {k: v.rename({"referral_id": "id"}) for k, v in out.items()}


def _with_event_columns(referrals: pl.LazyFrame, derived: dict[str, pl.DataFrame]) -> pl.LazyFrame:
    """Add the per-referral columns drawn from the review events."""
    joined = referrals
    for name in ("events", "decisions", "themes"):
        joined = joined.join(derived[name].lazy(), on="id", how="left", maintain_order="left")
    return joined.with_columns(
        pl.col("victim_contacts").fill_null(0),
        pl.col("acknowledgements").fill_null(0),
        pl.col("themes").fill_null(_EMPTY_LIST),
    ).select(*referrals.collect_schema().names(), *EVENT_COLUMNS)


def prepare_frames(tables: StoreTables) -> StoreFrames:
    """Add the derived columns (region, population, offence groups, rape flag, event
    dates and decision) once, so every figure is a cheap query over the result.

    The result is kept in memory: each figure then runs over the prepared frame
    (``StoreFrames.referrals`` is that frame's ``.lazy()``), never over the raw tables
    again.
    """
    derived = _derived(tables.events, tables.offences)
    force_info = reference.forces().select(pl.col("name").alias("force"), "region", "population")
    raw = tables.referrals
    referrals = (
        raw.lazy()
        .join(force_info.lazy(), on="force", how="left", maintain_order="left")
        .join(derived["offences"].lazy(), on="id", how="left", maintain_order="left")
        .join(
            _reason_lists(raw.get_column("ineligibility_reasons")).lazy(),
            on="ineligibility_reasons",
            how="left",
            nulls_equal=True,
            maintain_order="left",
        )
        .with_columns(
            pl.col("codes").fill_null(_EMPTY_LIST),
            pl.col("offence_groups").fill_null(_EMPTY_LIST),
            pl.col("involves_rape").fill_null(False),
            pl.when(pl.col("eligible"))
            .then(_EMPTY_LIST)
            .otherwise(pl.col("_reasons"))
            .alias("ineligible_reasons"),
        )
        .select(
            *(c for c in raw.columns if c != "ineligibility_reasons"),
            "region",
            "population",
            "codes",
            "offence_groups",
            "involves_rape",
            "ineligible_reasons",
        )
    )
    # joins over a few hundred thousand rows: the in-memory engine, measured faster
    # here than the streaming default (scripts/bench_metrics.py)
    referrals = _with_event_columns(referrals, derived).sort("id").collect(engine="in-memory")
    latest = [raw["referral_date"].max(), tables.events["event_date"].max()]
    known = [d for d in latest if d is not None]
    return StoreFrames(
        referrals=referrals.lazy(),
        events=tables.events.lazy(),
        offences=tables.offences.lazy(),
        open_quarantined_rows=tables.open_quarantined_rows,
        as_at=max(known) if known else None,  # type: ignore[type-var]
    )


def load_store(engine: Engine) -> StoreFrames:
    """Read the store once and prepare it for every figure."""
    return prepare_frames(read_store_tables(engine))
