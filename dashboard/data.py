"""The cached bridge between pages and the metrics package.

The store is read once per store version (``metrics.store.store_version``, which
changes whenever a file is loaded) and shared by every session; each figure is cached
per (store version, filters, disclosure setting). Nothing here decides what a number
means: counting rules live in ``metrics``, disclosure control in
``metrics.disclosure``.
"""

from __future__ import annotations

import functools
import logging
import re
import threading
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import polars as pl
import streamlit as st

from dashboard.session import PageContext, get_engine
from metrics.disclosure import (
    WITHHELD,
    DisclosureConfig,
    SuppressedFigure,
    Totals,
    apply_disclosure_control,
)
from metrics.filters import Filters
from metrics.frames import AWAITING_DECISION, DECISIONS, StoreFrames, load_store

if TYPE_CHECKING:
    from metrics.disclosure_links import Link


@st.cache_resource(show_spinner="Reading the store…", max_entries=2)
def store_frames(url: str, version: int) -> StoreFrames:
    """The store read into memory, once per store version, shared by every session."""
    return load_store(get_engine(url))


_prewarm_lock = threading.Lock()
_prewarmed: set[tuple[str, int]] = set()


def prewarm_store(url: str, version: int) -> None:
    """Start reading the store in the background, once per store version.

    Called by the frame before it draws anything (the sign-in form included), so the
    store is in memory by the time a page needs it. A page asking meanwhile waits for
    the same read (the cache computes each value once), never reads it twice.
    """
    key = (url, version)
    with _prewarm_lock:
        if key in _prewarmed:
            return
        _prewarmed.add(key)

    def load() -> None:
        try:
            store_frames(url, version)
            # The linked-figure audit's solver (about 0.4 s to import), so that the
            # first page with a small hidden count does not wait for it.
            import scipy.optimize  # noqa: F401
        except Exception:  # the page will read (and report) it again
            logging.getLogger("beaconport.dashboard").exception("pre-reading the store failed")
            with _prewarm_lock:
                _prewarmed.discard(key)

    threading.Thread(target=load, name="beaconport-prewarm", daemon=True).start()


def frames(context: PageContext) -> StoreFrames:
    return store_frames(context.db_url, context.version)


_HASH_FUNCS = {Filters: repr}


@dataclass(frozen=True)
class Shown:
    """A table as the person may see it.

    ``table`` is shown beside the chart and exported; ``values`` has the same columns
    as numbers, null wherever disclosure control hides a figure (charts draw gaps,
    never zeros); ``hidden`` is True when anything was suppressed.
    """

    table: pl.DataFrame
    values: pl.DataFrame
    hidden: bool
    #: Each count column's total as the person may see it (when totals are published);
    #: a page text quoting a total must use these, never sum the raw counts.
    totals: dict[str, SuppressedFigure] = field(default_factory=dict)


def disclosure_config() -> DisclosureConfig:
    """The program's threshold (``BEACONPORT_DISCLOSURE_THRESHOLD``, default 5)."""
    return DisclosureConfig.from_env()


def _exact_totals(frame: pl.DataFrame, columns: Sequence[str], totals: Totals) -> dict:
    if totals not in ("column", "both"):
        return {}
    return {
        c: SuppressedFigure(int(frame[c].sum()), f"{int(frame[c].sum())}", None) for c in columns
    }


def shown_table(
    frame: pl.DataFrame,
    count_columns: Sequence[str],
    *,
    disclosure_on: bool,
    totals: Totals = "column",
    rate_columns: Mapping[str, Sequence[str]] | None = None,
    rate_decimals: int | None = 1,
) -> Shown:
    """``frame`` through ``metrics.disclosure.apply_disclosure_control`` when it is on."""
    if not disclosure_on or frame.height == 0:
        return Shown(frame, frame, False, _exact_totals(frame, count_columns, totals))
    result = apply_disclosure_control(
        frame,
        count_columns,
        cfg=disclosure_config(),
        totals=totals,
        rate_columns=rate_columns,
        rate_decimals=rate_decimals,
    )
    hidden = bool(
        result.mask.select(
            pl.any_horizontal(
                pl.col(c).is_not_null()
                for c in result.mask.columns
                if c not in result.label_columns
            ).any()
        ).item()
    )
    return Shown(result.display, result.values, hidden, result.totals)


@st.cache_data(show_spinner=False, max_entries=512, hash_funcs=_HASH_FUNCS)
def _cached(
    key: str, url: str, version: int, filters: Filters, kwargs: tuple[tuple[str, Any], ...]
) -> Any:
    fn = _REGISTRY[key]
    return fn(store_frames(url, version), filters, **dict(kwargs))


_REGISTRY: dict[str, Callable[..., Any]] = {}


def register(fn: Callable[..., Any]) -> str:
    """Make a metric function askable through the cache; returns its key."""
    key = f"{fn.__module__}.{fn.__qualname__}"
    _REGISTRY[key] = fn
    return key


def ask(fn: Callable[..., Any], context: PageContext, **kwargs: Any) -> Any:
    """``fn(frames, context.filters, **kwargs)``, cached per store version and filters."""
    key = register(fn)
    return _cached(
        key, context.db_url, context.version, context.filters, tuple(sorted(kwargs.items()))
    )


def wide(
    frame: pl.DataFrame, *, index: str, columns: str, values: str, order: Sequence[str]
) -> pl.DataFrame:
    """A long count table (one row per pair) as one row per ``index`` and one count
    column per value of ``columns``, in ``order`` (missing pairs are zeros)."""
    if frame.height == 0:
        return pl.DataFrame(schema={index: frame.schema[index], **dict.fromkeys(order, pl.Int64)})
    table = frame.pivot(on=columns, index=index, values=values, aggregate_function="sum")
    for c in order:
        if c not in table.columns:
            table = table.with_columns(pl.lit(0, dtype=pl.Int64).alias(c))
    return table.select(index, *(pl.col(c).fill_null(0).cast(pl.Int64) for c in order)).sort(index)


def shown_count(n: int, disclosure_on: bool) -> str:
    """A single headline count as the person may see it (``<5`` for 1 to 4 when on)."""
    from metrics.disclosure import suppress_count

    value = suppress_count(n, disclosure_config()) if disclosure_on else n
    return f"{value:,}" if isinstance(value, int) else value


def shown_sum(shown_values: pl.Series) -> str:
    """The sum of figures as shown (null where hidden): the number when every one is
    shown, else ``withheld`` (a sum over a hidden figure would give it away, or tell
    a withheld one is small)."""
    if shown_values.null_count():
        return WITHHELD
    return f"{int(shown_values.sum() or 0):,}"


def certain_leader(table: pl.DataFrame, label: str, columns: Sequence[str]) -> object | None:
    """The row whose total over ``columns`` is surely the largest, from the figures as
    shown (``table`` holds them as text: numbers, ``<5``, ``withheld``); None when a
    reader could not be sure, because a hidden figure might make another row larger.

    A ``<5`` is 1 to 4, a ``withheld`` at least the threshold with no upper bound; a row
    leads surely when its least possible total beats every other row's largest.
    """
    threshold = disclosure_config().threshold
    bounds = []
    for row in table.iter_rows(named=True):
        low = high = 0.0
        for c in columns:
            shown = str(row[c] or "0").replace(",", "")
            if shown.isdigit():
                low += int(shown)
                high += int(shown)
            elif shown == WITHHELD:
                low += threshold
                high = float("inf")
            else:  # "<5"
                low += 1
                high += threshold - 1
        bounds.append((row[label], low, high))
    if not bounds:
        return None
    leader = max(bounds, key=lambda b: b[1])
    if all(leader[1] > high for name, _low, high in bounds if name != leader[0]):
        return leader[0]
    return None


def sure_leader_row(
    frame: pl.DataFrame,
    label: str,
    columns: Sequence[str],
    value: str,
    *,
    shown: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """The row of ``frame`` a title may name as the largest: the ``certain_leader`` of
    the figures as shown (``columns`` of ``shown``, by default of ``frame`` itself), and
    only when its own ``value`` is shown and above 0. Empty when no row surely leads."""
    leader = certain_leader(frame if shown is None else shown, label, columns)
    return frame.filter(
        pl.col(label) == pl.lit(leader, dtype=frame.schema[label]), pl.col(value) > 0
    )


def decision_gap_title(passed: pl.DataFrame, upheld: pl.DataFrame) -> str:
    """Learning themes' "passed back versus upheld" title: the theme whose share of
    assessed referrals is most larger in cases passed back than in cases upheld. Each
    frame has a row per theme (``theme``, ``label``, ``percent``; ``percent`` null
    where the share is hidden with its count). With a share hidden a larger gap could
    be out of sight, so the title then says it is the largest of the themes shown."""
    gap = (
        passed.join(upheld, on="theme", suffix="_upheld")
        .with_columns((pl.col("percent") - pl.col("percent_upheld")).alias("gap"))
        .filter(pl.col("gap").is_not_null())
        .sort("gap", descending=True)
    )
    if gap.height == 0 or gap["gap"][0] <= 0:
        return "Themes by decision"
    claim = (
        f"{gap['label'][0]} is found {gap['gap'][0]:.0f} points more often in cases "
        "passed back than in cases upheld"
    )
    if pl.concat([passed["percent"], upheld["percent"]]).is_null().any():
        return f"Of the themes shown, {claim[0].lower()}{claim[1:]}"
    return claim


def grouped(shown: str) -> str:
    """A figure as shown, with thousands separators (``1122`` to ``1,122``, as the cards
    print it; ``-1234.5`` to ``-1,234.5``); ``<5``, ``withheld`` and text as they are."""
    match = re.fullmatch(r"(-?)(\d+|\d{1,3}(?:,\d{3})+)(\.\d+)?", shown)
    if match is None:
        return shown
    sign, whole, fraction = match.groups()
    return f"{sign}{int(whole.replace(',', '')):,}{fraction or ''}"


def is_exact(shown: str) -> bool:
    """Whether a figure as shown is its number (not ``<5`` or ``withheld``)."""
    return shown.replace(",", "").isdigit()


HEADLINE_DECISIONS = (*DECISIONS, AWAITING_DECISION)
#: The figures on the Progress cards (and quoted from them elsewhere), as
#: ``headline_shown`` returns them; the ineligible count is read but not shown.
HEADLINE_FIGURES = (
    "referrals",
    "eligible",
    *HEADLINE_DECISIONS,
    "rape_referrals",
    "charged",
    "misconduct_referrals",
)
_HEADLINE_KEY = (*HEADLINE_FIGURES, "ineligible")


def headline_shown(values: Mapping[str, int], disclosure_on: bool) -> dict[str, str]:
    """The headline figures (``metrics.progress.headline_figures``) as the person may see
    them: the eligible/ineligible split of the referrals and the decisions of the
    eligible, each protected as a whole and then audited together. The Progress cards
    show these; any other page quoting the same figure, or one they add up to, must
    follow them (a figure withheld here and shown elsewhere would give the hidden part
    away)."""
    key = tuple(values[k] for k in _HEADLINE_KEY)
    return dict(_headline_shown(key, disclosure_on, disclosure_config()))


@functools.lru_cache(maxsize=256)
def _headline_shown(
    key: tuple[int, ...], disclosure_on: bool, cfg: DisclosureConfig
) -> tuple[tuple[str, str], ...]:
    """``headline_shown`` for one set of values (the audit can take tens of
    milliseconds, and each page view asks for the same figures again)."""
    values = dict(zip(_HEADLINE_KEY, key, strict=True))
    split = shown_parts(
        {"eligible": values["eligible"], "ineligible": values["ineligible"]},
        values["referrals"],
        disclosure_on,
    )
    decided = shown_parts(
        {k: values[k] for k in HEADLINE_DECISIONS}, values["eligible"], disclosure_on
    )
    decided.pop("__total__", None)  # the eligible, as the split and the audit show it
    out = {"referrals": split["__total__"], "eligible": split["eligible"], **decided}
    for k in ("rape_referrals", "charged", "misconduct_referrals"):
        out[k] = shown_count(values[k], disclosure_on)
    if disclosure_on:
        _cards_as_one(values, out, cfg)
    return tuple(out.items())


def _cards_as_one(values: Mapping[str, int], out: dict[str, str], cfg: DisclosureConfig) -> None:
    """Audit the headline figures ``out`` as one linked set, as ``report --suppress``
    is audited (``metrics.disclosure_links``), and withhold more of them where the links
    between the two protected tables would pin a small count: eligible and ineligible
    add up to the referrals, the decisions (awaiting included) to the eligible, and the
    stand-alone counts are within the referrals. Four decisions of 1 beside an eligible
    ``<5`` are each 1 to 4 and add up to at most 4, so each is 1 and the eligible is 4:
    each table alone protects that, the two together do not."""
    from metrics.disclosure_links import at_most, sums_to

    alone = ("rape_referrals", "charged", "misconduct_referrals")
    shown: dict[str, str | None] = {k: out[k] for k in HEADLINE_FIGURES}
    shown["ineligible"] = None  # not on the cards, but the referrals less the eligible
    links = [
        sums_to(["eligible", "ineligible"], "referrals"),
        sums_to(list(HEADLINE_DECISIONS), "eligible"),
        *(at_most(k, "referrals") for k in alone),
    ]
    # A decision before the eligible total, the eligible before the referrals, the
    # smallest first; small totals only when nothing of five or more will do.
    candidates = sorted(HEADLINE_DECISIONS, key=lambda k: values[k]) + ["eligible", "referrals"]
    last_resort = ["referrals", "eligible", *HEADLINE_DECISIONS]
    result = audit_shown(
        {k: values[k] for k in _HEADLINE_KEY}, shown, links, candidates, last_resort, cfg
    )
    out.update({k: result[k] for k in HEADLINE_FIGURES})


def audit_shown(
    values: Mapping[str, int],
    shown: Mapping[str, str | None],
    links: Sequence[Link],
    candidates: Sequence[str],
    last_resort: Sequence[str] = (),
    cfg: DisclosureConfig | None = None,
) -> dict[str, str | None]:
    """``metrics.disclosure_links.protect_linked`` over figures as the pages print them
    (``"1,273"``, ``"<5"``, ``"withheld"``, or None when not printed): the figures
    with more of them withheld where the ``links`` a reader knows would pin a small
    count. Figures are withheld from ``candidates`` (printed as five or more) in their
    order, then from ``last_resort`` (printed as ``<5``)."""
    from metrics.disclosure_links import LinkedFigures, protect_linked

    def as_figure(text: str | None) -> int | str | None:
        if text is None:
            return None
        return int(text.replace(",", "")) if is_exact(text) else text

    figures = LinkedFigures(values, {k: as_figure(v) for k, v in shown.items()}, list(links))
    result = protect_linked(figures, candidates, cfg or disclosure_config(), last_resort)
    return {
        k: (None if shown[k] is None else f"{v:,}" if isinstance(v, int) else str(v))
        for k, v in result.items()
    }


def withhold_rows(
    shown: Shown, key: str, keys: Collection[object], columns: Sequence[str]
) -> Shown:
    """``shown`` with ``columns`` withheld on the rows whose ``key`` is in ``keys``
    (``withheld`` in the table, null in the values)."""
    if not keys:
        return shown
    hit = pl.col(key).is_in(list(keys))
    return Shown(
        shown.table.with_columns(
            pl.when(hit).then(pl.lit(WITHHELD)).otherwise(pl.col(c)).alias(c) for c in columns
        ),
        shown.values.with_columns(
            pl.when(hit).then(None).otherwise(pl.col(c)).alias(c) for c in columns
        ),
        True,
        shown.totals,
    )


def protect_covering(
    shown: Shown,
    counts: pl.DataFrame,
    *,
    key: str,
    count: str,
    total: int,
    rate_columns: Sequence[str] = (),
    most_per_item: int | None = None,
) -> Shown:
    """A table of counts that together cover ``total`` items, each item counted in one
    row at least (and in at most ``most_per_item`` rows, when given): referrals by
    offence group, where every referral has a code. The reader knows the total
    whenever a percentage of it is shown, and then that the rows add up to at least
    it, so the shown rows can pin a ``<5`` (5 of 9 referrals shown, the only other
    group ``<5``: it is at least 4). Withholds more rows (count and ``rate_columns``),
    the smallest first, until none is pinned. ``counts`` holds the true counts."""
    from metrics.disclosure_links import Link, at_most

    if shown.table.height == 0:
        return shown
    names = {str(k): k for k in counts[key]}
    true = dict(zip(map(str, counts[key]), counts[count], strict=True))
    printed = dict(zip(map(str, shown.table[key]), shown.table[count].cast(pl.String), strict=True))
    rate_shown = any(
        is_exact(str(printed[n])) and true[n] > 0 and rate is not None
        for c in rate_columns
        for n, rate in zip(map(str, shown.values[key]), shown.values[c], strict=True)
    )
    total_name = "__total__"
    values = {**true, total_name: total}
    figures: dict[str, str | None] = {**printed, total_name: f"{total}" if rate_shown else None}
    links = [at_most(n, total_name) for n in true]
    links.append(Link({**dict.fromkeys(true, 1), total_name: -1}, low=0))
    if most_per_item is not None:
        links.append(Link({**dict.fromkeys(true, 1), total_name: -most_per_item}, high=0))
    candidates = sorted(true, key=lambda n: true[n])
    result = audit_shown(values, figures, links, candidates)
    more = [names[n] for n in true if result[n] == WITHHELD != figures[n]]
    return withhold_rows(shown, key, more, [count, *rate_columns])


def shown_parts(parts: dict[str, int], total: int | None, disclosure_on: bool) -> dict[str, str]:
    """Counts that add up to a published total, as the person may see them."""
    from metrics.disclosure import suppress_parts

    if not disclosure_on:
        out = {k: f"{v:,}" for k, v in parts.items()}
        if total is not None:
            out["__total__"] = f"{total:,}"
        return out
    shown, total_figure = suppress_parts(parts, total=total, cfg=disclosure_config())
    out = {k: (f"{f.value:,}" if f.value is not None else f.display) for k, f in shown.items()}
    if total_figure is not None:
        out["__total__"] = (
            f"{total_figure.value:,}" if total_figure.value is not None else total_figure.display
        )
    return out


def shown_long(
    frame: pl.DataFrame,
    *,
    row_key: str,
    column_key: str,
    count_column: str,
    disclosure_on: bool,
    totals: Totals = "column",
    rate_columns: Sequence[str] = (),
) -> pl.DataFrame:
    """A long count table (e.g. force by theme) as the person may see it.

    ``count_column`` becomes null where suppressed, with ``display`` (the number, ``<5``
    or ``withheld``) beside it; each of ``rate_columns`` is nulled where its count is.
    """
    if not disclosure_on or frame.height == 0:
        return frame.with_columns(
            pl.col(count_column).cast(pl.String).alias("display"),
            pl.lit(None, dtype=pl.String).alias("suppression"),
        )
    from metrics.disclosure import apply_disclosure_control_long

    result = apply_disclosure_control_long(
        frame.select(row_key, column_key, count_column),
        row_keys=row_key,
        column_key=column_key,
        count_column=count_column,
        totals=totals,
        cfg=disclosure_config(),
    )
    out = frame.drop(count_column).join(
        result.cells, on=[row_key, column_key], how="left", nulls_equal=True
    )
    hidden = pl.col("suppression").is_not_null()
    return out.with_columns(
        pl.when(hidden).then(None).otherwise(pl.col(c)).alias(c) for c in rate_columns
    ).select(*frame.columns, "display", "suppression")
