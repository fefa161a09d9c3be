"""Statistical disclosure control: the one place the contract's rule is applied.

Every figure shown to an oversight or programme viewer, and every export they can take,
passes through this module. The rule (data contract, "Disclosure control"):

- **Primary suppression.** A count from 1 to ``threshold - 1`` (1 to 4 by default) is
  shown as ``<5``. Zero is shown as 0.
- **Rates.** A rate or percentage built on a suppressed count is withheld.
- **Secondary suppression.** Where a table's totals are published (or can be worked
  out), further cells are withheld so that no suppressed count can be worked out by
  subtracting the shown cells from a total. Those cells are shown as ``withheld``.

What a viewer can work out is decided by the table's *lines*: a row or column whose
total is published. A viewer knows the shown cells, the published totals, that a
``<5`` cell is 1 to 4 and that a ``withheld`` cell is at least 5. A suppressed cell is
safe when all of that still allows it more than one value: exactly when it lies on a
cycle of hidden cells, alternating between the lines, along which each can move by one
(one up, the next down). This stops plain subtraction (no line ever has a single hidden
cell), sums across several lines, and arguments from the markers' ranges (``<5`` plus
``withheld`` adding up to 6 would give away a 1 and a 5). Secondary cells are chosen as
the cheapest such cycle: the smallest non-zero shown cells, never a zero, and a total
only when no cell of the body will do. Ties are broken by position (row by row, left to
right), so the same table always gives the same pattern.

One rare case breaks the letter of "a count from 1 to 4 is shown as <5": when several
``<5`` cells add up to a ``<5`` total that would pin them (four cells of 1 with a total
of 4), the total is shown as ``withheld`` instead, which says nothing about its size.
A viewer who still reads that ``withheld`` as at least 5 reasons from something false,
but may land on true counts all the same; the pattern is then widened until no hidden
count is pinned to its true value under that reading either (worked out exactly, by
maximum flow, in ``_unpin_under_the_markers_word``).

Data stewards see unsuppressed figures: they simply do not call these functions.

This module works on plain integers and Polars frames and never imports Streamlit.
"""

from __future__ import annotations

import heapq
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

import polars as pl

#: The environment variable that sets the threshold for the whole program.
THRESHOLD_ENV = "BEACONPORT_DISCLOSURE_THRESHOLD"

#: Shown in place of a cell withheld by secondary suppression, and of a withheld rate.
WITHHELD = "withheld"

#: Why a cell is not shown (the values in ``SuppressedTable.mask``).
PRIMARY = "primary"  # a count from 1 to threshold - 1
SECONDARY = "secondary"  # withheld so that a primary cell cannot be worked out
DERIVED = "derived"  # a rate or percentage built on a suppressed count

Reason = Literal["primary", "secondary", "derived"]

#: Which margins of a table are published or derivable: "column" = each count column's
#: total (the sum over the rows, e.g. a national total beside a by-force column);
#: "row" = each row's total across the count columns; "both" = both, and the grand
#: total; None = no totals, so only primary suppression applies.
Totals = Literal["row", "column", "both"] | None


class DisclosureInputError(ValueError):
    """A table or figure that disclosure control cannot be applied to (a negative or
    missing count, an unknown column, a total that is not the sum of its parts)."""


@dataclass(frozen=True)
class DisclosureConfig:
    """The disclosure-control setting: counts from 1 to ``threshold - 1`` are suppressed.

    The threshold must be at least 3: at 2, ``<2`` would say the count is 1. It cannot be
    used to switch control off (a data steward's unsuppressed view is the way to see raw
    figures).
    """

    threshold: int = 5

    def __post_init__(self) -> None:
        if isinstance(self.threshold, bool) or not isinstance(self.threshold, int):
            raise DisclosureInputError(f"threshold must be a whole number, not {self.threshold!r}")
        if self.threshold < 3:
            raise DisclosureInputError(f"threshold must be at least 3, not {self.threshold}")

    @property
    def primary_marker(self) -> str:
        """What a primary-suppressed count shows as: ``<5`` at the default threshold."""
        return f"<{self.threshold}"

    def is_primary(self, n: int) -> bool:
        """Whether a count ``n`` is small enough to be suppressed (1 to threshold - 1)."""
        return 0 < n < self.threshold

    @classmethod
    def from_env(cls) -> DisclosureConfig:
        """The setting from ``BEACONPORT_DISCLOSURE_THRESHOLD``, else the default of 5."""
        raw = os.environ.get(THRESHOLD_ENV, "").strip()
        if not raw:
            return cls()
        try:
            threshold = int(raw)
        except ValueError:
            raise DisclosureInputError(
                f"{THRESHOLD_ENV} must be a whole number of at least 3, not {raw!r}"
            ) from None
        return cls(threshold)


#: The contract's default: counts 1 to 4 are shown as ``<5``.
DEFAULT = DisclosureConfig()


# --------------------------------------------------------------------------- single figures


def _check_count(n: object, what: str = "count") -> int:
    if isinstance(n, bool) or not isinstance(n, int):
        raise DisclosureInputError(f"{what} must be a whole number, not {n!r}")
    if n < 0:
        raise DisclosureInputError(f"{what} must not be negative, not {n}")
    return n


def one_more_to_withhold(shown: Sequence[int | None]) -> int | None:
    """For parts whose total is withheld: when every part is shown (None = hidden), their
    sum would give the total away, so one more must go; its position, the smallest
    non-zero part (the first of equals). None when a part is hidden already, or every
    part is zero (then the total is 0, which is shown anyway)."""
    if any(v is None for v in shown):
        return None
    nonzero = [(v, i) for i, v in enumerate(shown) if v]
    return min(nonzero)[1] if nonzero else None


def suppress_count(n: int, cfg: DisclosureConfig = DEFAULT) -> int | str:
    """A single headline count as a viewer may see it: ``n`` itself when it is 0 or at
    least the threshold, else ``"<5"`` (the primary marker).

    Use it only for a figure with no published total beside it that it is a part of;
    parts of a total go through ``suppress_parts`` or ``apply_disclosure_control``.
    """
    n = _check_count(n)
    return cfg.primary_marker if cfg.is_primary(n) else n


def withhold_rate(
    rate: float | None, *counts: int, cfg: DisclosureConfig = DEFAULT
) -> float | None | str:
    """A rate or percentage as a viewer may see it: ``"withheld"`` when any count it is
    built on (numerator or denominator) is suppressed, else ``rate`` unchanged.

    ``counts`` are the raw counts; a count that was withheld by secondary suppression
    elsewhere must be treated as suppressed by the caller (``apply_disclosure_control``
    does this for table columns).
    """
    if not counts:
        raise DisclosureInputError("withhold_rate needs the count(s) the rate is built on")
    if any(cfg.is_primary(_check_count(c)) for c in counts):
        return WITHHELD
    return rate


@dataclass(frozen=True)
class SuppressedFigure:
    """One figure after disclosure control.

    ``value`` is the number, or None when it is not shown; ``display`` is what a viewer
    sees (the number, ``<5`` or ``withheld``); ``reason`` is None when shown, else
    ``"primary"`` or ``"secondary"``.
    """

    value: int | None
    display: str
    reason: Reason | None

    @property
    def json_value(self) -> int | str:
        """The figure for JSON output: the number when shown, else its marker."""
        return self.value if self.value is not None else self.display


def _figure(n: int, reason: Reason | None, cfg: DisclosureConfig) -> SuppressedFigure:
    if reason is None:
        return SuppressedFigure(n, str(n), None)
    return SuppressedFigure(None, cfg.primary_marker if reason == PRIMARY else WITHHELD, reason)


# --------------------------------------------------------------------------- the core pattern


@dataclass
class _Pattern:
    """Suppression reasons for a matrix of counts and its published margins."""

    body: list[list[Reason | None]]
    row_totals: list[Reason | None] = field(default_factory=list)
    column_totals: list[Reason | None] = field(default_factory=list)
    grand_total: Reason | None = None


@dataclass
class _Cell:
    """A cell (of the body or a margin) in the graph of a table's equations.

    ``u`` is the line the cell belongs to on the row side and ``v`` on the column side
    (or the free node). ``sign`` is +1 when the cell appears in the equations as a
    part and -1 as a total, so that ``sign * value`` sums to zero at every line.
    """

    u: int
    v: int
    value: int
    sign: int
    penalty: int
    slot: tuple[str, int, int]


def _moves(cell: _Cell, low: int, high: int | None) -> list[int]:
    """Which ways (+1, -1) the cell's value could move by one and stay within what a
    viewer knows of it (``low`` to ``high``; no upper limit when None)."""
    moves = []
    if high is None or cell.value < high:
        moves.append(+1)
    if cell.value > low:
        moves.append(-1)
    return moves


def _arcs(cell: _Cell, low: int, high: int | None) -> list[tuple[int, int]]:
    """The cell's moves as arcs: a move that adds to the signed value goes u -> v."""
    return [
        (cell.u, cell.v) if move * cell.sign > 0 else (cell.v, cell.u)
        for move in _moves(cell, low, high)
    ]


def _reaches(
    n_nodes: int, arcs: list[tuple[int, int, int]], start: int, goal: int, skip: int
) -> bool:
    """Whether ``goal`` can be reached from ``start`` along ``arcs`` (from, to, cell),
    using no arc of cell ``skip``."""
    adjacency: list[list[int]] = [[] for _ in range(n_nodes)]
    for a, b, k in arcs:
        if k != skip:
            adjacency[a].append(b)
    seen = [False] * n_nodes
    seen[start] = True
    stack = [start]
    while stack:
        node = stack.pop()
        if node == goal:
            return True
        for nxt in adjacency[node]:
            if not seen[nxt]:
                seen[nxt] = True
                stack.append(nxt)
    return False


def _cheapest_path(
    n_nodes: int, arcs: list[tuple[int, int, int, int]], start: int, goal: int
) -> tuple[int, list[int]] | None:
    """The cheapest path from ``start`` to ``goal`` along ``arcs`` (from, to, cell,
    cost): its cost and the cells it uses; None when there is none."""
    adjacency: list[list[tuple[int, int, int]]] = [[] for _ in range(n_nodes)]
    for a, b, k, cost in arcs:
        adjacency[a].append((b, k, cost))
    best: list[int | None] = [None] * n_nodes
    via: list[tuple[int, int]] = [(-1, -1)] * n_nodes
    best[start] = 0
    heap: list[tuple[int, int]] = [(0, start)]
    done = [False] * n_nodes
    while heap:
        cost, node = heapq.heappop(heap)
        if done[node]:
            continue
        done[node] = True
        if node == goal:
            break
        for nxt, k, step in adjacency[node]:
            known = best[nxt]
            if not done[nxt] and (known is None or cost + step < known):
                best[nxt] = cost + step
                via[nxt] = (node, k)
                heapq.heappush(heap, (cost + step, nxt))
    total = best[goal]
    if total is None:
        return None
    cells: list[int] = []
    node = goal
    while node != start:
        node, k = via[node]
        cells.append(k)
    return total, cells


def _max_flow(n_nodes: int, arcs: list[tuple[int, int, int]], source: int, sink: int) -> list[int]:
    """A maximum flow from ``source`` to ``sink`` along ``arcs`` (from, to, capacity),
    by shortest augmenting paths: the flow on each arc, in order."""
    # Residual edges: forward edge 2k and its reverse 2k + 1.
    heads: list[int] = []
    room: list[int] = []
    out: list[list[int]] = [[] for _ in range(n_nodes)]
    for a, b, capacity in arcs:
        out[a].append(len(heads))
        heads.append(b)
        room.append(capacity)
        out[b].append(len(heads))
        heads.append(a)
        room.append(0)
    while True:
        via: list[int | None] = [None] * n_nodes
        seen = [False] * n_nodes
        seen[source] = True
        queue = [source]
        for node in queue:
            if node == sink:
                break
            for e in out[node]:
                if room[e] > 0 and not seen[heads[e]]:
                    seen[heads[e]] = True
                    via[heads[e]] = e
                    queue.append(heads[e])
        if not seen[sink]:
            break
        path: list[int] = []
        node = sink
        while node != source:
            e = via[node]
            assert e is not None
            path.append(e)
            node = heads[e ^ 1]
        push = min(room[e] for e in path)
        for e in path:
            room[e] -= push
            room[e ^ 1] += push
    return [room[2 * k + 1] for k in range(len(arcs))]


def _feasible_point(
    n_nodes: int, cells: list[_Cell], bounds: list[tuple[int, int | None]]
) -> list[int] | None:
    """Values for ``cells`` within ``bounds`` (low, high; no upper limit when None) that
    satisfy every published line, or None when there are none.

    The lines are the conservation equations of a circulation (a cell is an arc from
    ``u`` to ``v`` when ``sign`` is +1, else from ``v`` to ``u``), so this is the
    textbook reduction of a circulation with lower bounds to one maximum flow.
    """
    excess = [0] * n_nodes
    for cell, (low, _) in zip(cells, bounds, strict=True):
        tail, head = (cell.u, cell.v) if cell.sign > 0 else (cell.v, cell.u)
        excess[head] += low
        excess[tail] -= low
    supply = sum(x for x in excess if x > 0)
    source, sink = n_nodes, n_nodes + 1
    arcs: list[tuple[int, int, int]] = []
    for cell, (low, high) in zip(cells, bounds, strict=True):
        tail, head = (cell.u, cell.v) if cell.sign > 0 else (cell.v, cell.u)
        # No flow through the network can exceed the supply: it stands for no limit.
        arcs.append((tail, head, supply if high is None else high - low))
    for node, x in enumerate(excess):
        if x > 0:
            arcs.append((source, node, x))
        elif x < 0:
            arcs.append((node, sink, -x))
    flow = _max_flow(n_nodes + 2, arcs, source, sink)
    if sum(f for (a, _, _), f in zip(arcs, flow, strict=True) if a == source) < supply:
        return None
    return [low + f for (low, _), f in zip(bounds, flow[: len(cells)], strict=True)]


def _table_cells(matrix: list[list[int]], n: int, totals: Totals) -> tuple[int, list[_Cell]]:
    """The graph of a table's published equations: one node per published line (and a
    free node standing for every line that is not published), one edge per cell."""
    m = len(matrix)
    row_sums = [sum(row) for row in matrix]
    column_sums = [sum(matrix[i][j] for i in range(m)) for j in range(n)]
    # A total is used only when no cell of the body will do.
    margin = sum(row_sums) + 1
    cells: list[_Cell] = []
    if totals == "column":
        free = n
        for i in range(m):
            for j in range(n):
                cells.append(_Cell(j, free, matrix[i][j], +1, 0, ("body", i, j)))
        for j in range(n):
            cells.append(_Cell(j, free, column_sums[j], -1, margin, ("column", 0, j)))
        return n + 1, cells
    if totals == "row":
        free = m
        for i in range(m):
            for j in range(n):
                cells.append(_Cell(i, free, matrix[i][j], +1, 0, ("body", i, j)))
        for i in range(m):
            cells.append(_Cell(i, free, row_sums[i], -1, margin, ("row", i, 0)))
        return m + 1, cells
    if totals == "both":
        # Row nodes 0..m (m is the row of column totals), column nodes m+1..m+1+n (the
        # last is the column of row totals).
        total_row, total_column = m, m + 1 + n
        for i in range(m):
            for j in range(n):
                cells.append(_Cell(i, m + 1 + j, matrix[i][j], +1, 0, ("body", i, j)))
        for i in range(m):
            cells.append(_Cell(i, total_column, row_sums[i], -1, margin, ("row", i, 0)))
        for j in range(n):
            cells.append(_Cell(total_row, m + 1 + j, column_sums[j], -1, margin, ("column", 0, j)))
        cells.append(_Cell(total_row, total_column, sum(row_sums), +1, margin, ("grand", 0, 0)))
        return m + n + 2, cells
    if totals is None:
        return 1, [
            _Cell(0, 0, matrix[i][j], +1, 0, ("body", i, j)) for i in range(m) for j in range(n)
        ]
    raise DisclosureInputError(f"totals must be 'row', 'column', 'both' or None, not {totals!r}")


def _hidden_arcs(
    cells: list[_Cell], reasons: list[Reason | None], ranges: list[tuple[int, int | None]]
) -> list[tuple[int, int, int]]:
    """The moves of the hidden cells as arcs (from, to, cell)."""
    return [
        (a, b, j)
        for j, cell in enumerate(cells)
        if reasons[j] is not None
        for a, b in _arcs(cell, *ranges[j])
    ]


def _on_cycle(
    n_nodes: int,
    cells: list[_Cell],
    reasons: list[Reason | None],
    ranges: list[tuple[int, int | None]],
    k: int,
) -> bool:
    """Whether hidden cell ``k`` can take another value, its line equations kept, by
    moving along a cycle of hidden cells that each stay within their ``ranges``."""
    hidden = _hidden_arcs(cells, reasons, ranges)
    return any(_reaches(n_nodes, hidden, b, a, skip=k) for a, b in _arcs(cells[k], *ranges[k]))


def _cheapest_cycle(
    n_nodes: int,
    cells: list[_Cell],
    reasons: list[Reason | None],
    ranges: list[tuple[int, int | None]],
    k: int,
) -> list[int] | None:
    """The cheapest cycle through hidden cell ``k``: hidden cells cost nothing, a shown
    non-zero cell its value (plus a large penalty for a total); never a zero. The cells
    it uses, or None when there is no such cycle."""
    candidates = [(a, b, j, 0) for a, b, j in _hidden_arcs(cells, reasons, ranges) if j != k] + [
        (a, b, j, cell.value + cell.penalty)
        for j, cell in enumerate(cells)
        if reasons[j] is None and cell.value > 0
        for a, b in _arcs(cell, *ranges[j])
    ]
    best: tuple[int, list[int]] | None = None
    for a, b in _arcs(cells[k], *ranges[k]):
        found = _cheapest_path(n_nodes, candidates, b, a)
        if found is not None and (best is None or found[0] < best[0]):
            best = found
    return None if best is None else best[1]


def _unpin_under_the_markers_word(
    n_nodes: int, cells: list[_Cell], reasons: list[Reason | None], t: int
) -> None:
    """Withhold more cells (in ``reasons``) until a viewer who takes every ``withheld``
    at its word (at least ``t``) cannot pin a hidden cell to its true value.

    Only a table with a small total withheld in a degenerate line needs this: there the
    word is wrong, so the cycles found at the true values say nothing about what such a
    viewer concludes. Their conclusions form a polytope of their own (the line equations
    with ``<t`` in 1..t-1 and ``withheld`` at least t), which may be empty (they see
    that the word is wrong: nothing to do), or hold only points other than the truth.
    At one point of it (found exactly by maximum flow), a hidden cell is pinned exactly
    when it lies on no cycle of hidden cells with room to move, the same test as for the
    true values. A cell pinned to its true value gets the cheapest cycle at that point.
    Withholding a cell only widens the polytope and keeps the point in it, so one pass
    suffices, and the cycles at the true values are kept too.
    """
    if not any(r == SECONDARY and c.value < t for c, r in zip(cells, reasons, strict=True)):
        return
    word: list[tuple[int, int | None]] = [
        (1, t - 1) if r == PRIMARY else (t, None) for r in reasons
    ]
    point = _feasible_point(
        n_nodes,
        cells,
        [
            (c.value, c.value) if r is None else w
            for c, r, w in zip(cells, reasons, word, strict=True)
        ],
    )
    if point is None:
        return
    believed = [replace(c, value=y) for c, y in zip(cells, point, strict=True)]
    for k, cell in enumerate(cells):
        if reasons[k] is None or point[k] != cell.value:
            continue  # shown, or pinned (if at all) to a wrong value
        if _on_cycle(n_nodes, believed, reasons, word, k):
            continue
        path = _cheapest_cycle(n_nodes, believed, reasons, word, k)
        if path is None:  # withhold every non-zero figure; nothing more can be done
            path = [j for j, other in enumerate(cells) if other.value > 0]
        for j in path:
            if reasons[j] is None:
                reasons[j] = SECONDARY


def _suppression_pattern(
    matrix: list[list[int]], n: int, totals: Totals, cfg: DisclosureConfig
) -> _Pattern:
    """Which cells of ``matrix`` (and of its published margins) are suppressed, and why.

    A viewer knows every shown cell, every published total, that a ``<5`` cell lies in
    1..4 and that a withheld cell is at least 5. A suppressed cell could take another
    value, consistent with all of that, exactly when it lies on a cycle of suppressed
    cells, alternating between lines, along which every cell has room to move one way
    (one up, the next down, ...). Cells are taken in order; a suppressed cell on no such
    cycle gets the cheapest one, made of shown cells with the smallest values, a total
    only when needed. Adding cells never breaks an earlier cycle, so one pass suffices.
    """
    n_nodes, cells = _table_cells(matrix, n, totals)
    reasons: list[Reason | None] = [PRIMARY if cfg.is_primary(c.value) else None for c in cells]
    # What a viewer knows of each hidden cell: "<5" is 1..4, "withheld" is at least 5,
    # except a small total withheld in a degenerate line (below), known only to be >= 1.
    t = cfg.threshold
    ranges: list[tuple[int, int | None]] = [(1, t - 1) if r else (t, None) for r in reasons]
    free = n_nodes - 1 if totals in ("row", "column") else None

    def on_cycle(k: int) -> bool:
        return _on_cycle(n_nodes, cells, reasons, ranges, k)

    def cheapest_cycle(k: int) -> list[int] | None:
        return _cheapest_cycle(n_nodes, cells, reasons, ranges, k)

    def unbound_small_totals(touching: set[int]) -> None:
        # A line of small counts whose small total pins them all (four "<5" cells
        # adding up to a "<5" total are all 1): withhold the total, saying nothing
        # of its size.
        for j, other in enumerate(cells):
            if reasons[j] == PRIMARY and other.penalty and touching & {other.u, other.v}:
                reasons[j] = SECONDARY
                ranges[j] = (1, None)

    if totals is not None:
        for k, cell in enumerate(cells):
            if reasons[k] is None or on_cycle(k):
                continue
            path = cheapest_cycle(k)
            if path is None:
                unbound_small_totals({cell.u, cell.v} - {free})
                if on_cycle(k):
                    continue
                path = cheapest_cycle(k)
            if path is None:  # no cycle at all: withhold every non-zero figure
                for j, other in enumerate(cells):
                    if reasons[j] is None and other.value > 0:
                        reasons[j] = SECONDARY
                unbound_small_totals(set(range(n_nodes)) - {free})
                break
            for j in path:
                if reasons[j] is None:
                    reasons[j] = SECONDARY
        _unpin_under_the_markers_word(n_nodes, cells, reasons, t)

    m = len(matrix)
    pattern = _Pattern(
        body=[[None] * n for _ in range(m)],
        row_totals=[None] * m if totals in ("row", "both") else [],
        column_totals=[None] * n if totals in ("column", "both") else [],
    )
    for cell, reason in zip(cells, reasons, strict=True):
        kind, i, j = cell.slot
        if kind == "body":
            pattern.body[i][j] = reason
        elif kind == "row":
            pattern.row_totals[i] = reason
        elif kind == "column":
            pattern.column_totals[j] = reason
        else:
            pattern.grand_total = reason
    return pattern


# --------------------------------------------------------------------------- small groups


def suppress_parts(
    parts: Mapping[str, int], *, total: int | None = None, cfg: DisclosureConfig = DEFAULT
) -> tuple[dict[str, SuppressedFigure], SuppressedFigure | None]:
    """Counts that add up to a published total (decisions by type adding up to
    eligible referrals; eligible plus ineligible adding up to referrals).

    ``total`` must be the sum of ``parts``; pass None when no total is published or
    derivable (then only primary suppression applies). Returns the parts, in the same
    order, and the total, each as a ``SuppressedFigure``; the total itself may be
    withheld when no part can protect a suppressed one.
    """
    names = list(parts)
    values = [_check_count(parts[k], f"count {k!r}") for k in names]
    if total is not None and _check_count(total, "total") != sum(values):
        raise DisclosureInputError(f"total {total} is not the sum of its parts ({sum(values)})")
    pattern = _suppression_pattern([values], len(values), "row" if total is not None else None, cfg)
    shown = {k: _figure(v, r, cfg) for k, v, r in zip(names, values, pattern.body[0], strict=True)}
    if total is None:
        return shown, None
    return shown, _figure(total, pattern.row_totals[0], cfg)


# --------------------------------------------------------------------------- wide tables


@dataclass(frozen=True)
class SuppressedTable:
    """A table after disclosure control, in three views of the same cells.

    - ``display``: what a viewer sees. Label columns unchanged; count columns (and the
      row-total column when row totals are published) as text: the number, ``<5``
      (primary) or ``withheld`` (secondary); rate columns as text, ``withheld`` when
      built on a suppressed count, null when the rate itself is null.
    - ``values``: the same columns as numbers, null wherever the display is a marker
      (for charts: a null is a gap, not a zero).
    - ``mask``: the same columns; for counts, totals and rates the reason a cell is not
      shown (``"primary"``, ``"secondary"``, ``"derived"`` for a rate), or null when it
      is shown. ``suppressed()`` gives the same as booleans.
    - ``totals``: each count column's published total (and the grand total under the
      row-total column's name when ``totals="both"``), empty when column totals are
      not published. A total can itself be suppressed.
    """

    display: pl.DataFrame
    values: pl.DataFrame
    mask: pl.DataFrame
    totals: dict[str, SuppressedFigure]
    config: DisclosureConfig
    label_columns: tuple[str, ...]

    def suppressed(self) -> pl.DataFrame:
        """The mask as booleans: True where a cell is not shown."""
        return self.mask.with_columns(
            pl.col(c).is_not_null() for c in self.mask.columns if c not in self.label_columns
        )

    def display_with_total_row(self, label_column: str, label: str = "Total") -> pl.DataFrame:
        """``display`` with a final row of the column totals, labelled ``label`` in
        ``label_column`` (other label columns and rate columns left empty)."""
        if label_column not in self.label_columns:
            raise DisclosureInputError(f"{label_column!r} is not a label column")
        if not self.totals:
            raise DisclosureInputError("this table has no published column totals")
        row: dict[str, object] = {c: None for c in self.display.columns}
        row[label_column] = label
        for name, figure in self.totals.items():
            row[name] = figure.display
        extra = pl.DataFrame([row], schema=self.display.schema)
        return pl.concat(
            [self.display.cast({label_column: pl.String}), extra.cast({label_column: pl.String})]
        )

    def to_records(self) -> list[dict[str, object]]:
        """One dict per row for JSON: shown counts and rates as numbers, suppressed ones
        as their markers (``<5``, ``withheld``)."""
        records = []
        for values, display in zip(
            self.values.iter_rows(named=True), self.display.iter_rows(named=True), strict=True
        ):
            records.append(
                {
                    c: values[c] if c in self.label_columns or values[c] is not None else display[c]
                    for c in self.values.columns
                }
            )
        return records


def _format_rate(value: float | None, decimals: int | None) -> str | None:
    if value is None:
        return None
    return f"{value:.{decimals}f}" if decimals is not None else str(value)


def apply_disclosure_control(
    table: pl.DataFrame,
    count_columns: Sequence[str],
    *,
    cfg: DisclosureConfig = DEFAULT,
    totals: Totals = None,
    rate_columns: Mapping[str, Sequence[str]] | None = None,
    total_column: str = "total",
    rate_decimals: int | None = None,
) -> SuppressedTable:
    """Apply the contract's disclosure rule to a breakdown table.

    ``table`` has one row per category (a force, a region, an offence group) and the
    counts in ``count_columns`` (whole numbers, no nulls). Every other column is a label
    and passes through unchanged, except ``rate_columns``: each maps a rate or
    percentage column to the count columns it is built from (numerator and
    denominator; the row-total column may be named too), and is withheld in any row
    where one of them is suppressed.

    ``totals`` says which totals a viewer has or can work out (see ``Totals``). A total
    must be the sum of the cells in its line: when a by-force column is published beside
    a national total, include every force with a count, so the rows add up. With row
    totals, ``total_column`` names the row-total column: taken from ``table`` if present
    (it must equal the row sums), otherwise added.

    Rows keep their order; where two cells are equally good to withhold, the earlier
    one (row by row, left to right) is chosen.
    """
    count_columns = list(count_columns)
    rate_columns = {k: list(v) for k, v in (rate_columns or {}).items()}
    missing = [c for c in [*count_columns, *rate_columns] if c not in table.columns]
    if missing:
        raise DisclosureInputError(f"no column(s) {missing} in the table")
    if not count_columns:
        raise DisclosureInputError("name at least one count column")
    has_row_totals = totals in ("row", "both")
    for c in count_columns:
        if not table.schema[c].is_integer():
            raise DisclosureInputError(f"count column {c!r} must hold whole numbers")
        if table[c].null_count():
            raise DisclosureInputError(f"count column {c!r} has missing values")
        if table.height and table[c].min() < 0:  # type: ignore[operator]
            raise DisclosureInputError(f"count column {c!r} has negative values")
    sources = set(count_columns) | ({total_column} if has_row_totals else set())
    for rate, built_on in rate_columns.items():
        if not table.schema[rate].is_numeric():
            raise DisclosureInputError(f"rate column {rate!r} must hold numbers")
        unknown = [c for c in built_on if c not in sources]
        if unknown or not built_on:
            raise DisclosureInputError(
                f"rate column {rate!r} must be built on count columns, not {built_on}"
            )

    matrix = [list(r) for r in table.select(count_columns).iter_rows()]
    row_sums = [sum(r) for r in matrix]
    if has_row_totals and total_column in table.columns:
        if table[total_column].to_list() != row_sums:
            raise DisclosureInputError(
                f"{total_column!r} is not the sum of {count_columns} in every row"
            )
    pattern = _suppression_pattern(matrix, len(count_columns), totals, cfg)

    label_columns = tuple(c for c in table.columns if c not in sources and c not in rate_columns)
    base = [table[c] for c in label_columns]
    reasons: dict[str, list[Reason | None]] = {
        c: [pattern.body[i][j] for i in range(table.height)] for j, c in enumerate(count_columns)
    }
    raw: dict[str, list[int]] = {c: table[c].to_list() for c in count_columns}
    if has_row_totals:
        reasons[total_column] = pattern.row_totals
        raw[total_column] = row_sums
    count_order = [*count_columns, *([total_column] if has_row_totals else [])]

    display_cols: list[pl.Series] = []
    value_cols: list[pl.Series] = []
    mask_cols: list[pl.Series] = []
    for c in count_order:
        figures = [_figure(v, r, cfg) for v, r in zip(raw[c], reasons[c], strict=True)]
        display_cols.append(pl.Series(c, [f.display for f in figures], dtype=pl.String))
        value_cols.append(pl.Series(c, [f.value for f in figures], dtype=pl.Int64))
        mask_cols.append(pl.Series(c, reasons[c], dtype=pl.String))
    for rate, built_on in rate_columns.items():
        withheld = [any(reasons[c][i] is not None for c in built_on) for i in range(table.height)]
        numbers = table[rate].cast(pl.Float64).to_list()
        as_given = table[rate].to_list()
        display_cols.append(
            pl.Series(
                rate,
                [
                    WITHHELD if w else _format_rate(x, rate_decimals)
                    for w, x in zip(withheld, as_given, strict=True)
                ],
                dtype=pl.String,
            )
        )
        value_cols.append(
            pl.Series(
                rate,
                [None if w else x for w, x in zip(withheld, numbers, strict=True)],
                dtype=pl.Float64,
            )
        )
        mask_cols.append(
            pl.Series(rate, [DERIVED if w else None for w in withheld], dtype=pl.String)
        )

    totals_out: dict[str, SuppressedFigure] = {}
    if totals in ("column", "both"):
        for j, c in enumerate(count_columns):
            column_sum = sum(matrix[i][j] for i in range(table.height))
            totals_out[c] = _figure(column_sum, pattern.column_totals[j], cfg)
    if totals == "both":
        totals_out[total_column] = _figure(sum(row_sums), pattern.grand_total, cfg)

    # The input's column order, with an added row-total column after the last count.
    order = list(table.columns)
    if has_row_totals and total_column not in order:
        order.insert(max(order.index(c) for c in count_columns) + 1, total_column)
    return SuppressedTable(
        display=pl.DataFrame([*base, *display_cols]).select(order),
        values=pl.DataFrame([*base, *value_cols]).select(order),
        mask=pl.DataFrame([*base, *mask_cols]).select(order),
        totals=totals_out,
        config=cfg,
        label_columns=label_columns,
    )


# --------------------------------------------------------------------------- long tables


@dataclass(frozen=True)
class SuppressedLong:
    """A long-format breakdown after disclosure control (e.g. force by month).

    ``cells`` has one row per combination of the row keys and the column key (the full
    grid: a combination missing from the input is a zero and is shown), with the count
    column holding the number or null when suppressed, ``display`` (what a viewer
    sees) and ``suppression`` (null, ``"primary"`` or ``"secondary"``).
    ``row_totals`` (per row-key combination) and ``column_totals`` (per column-key
    value) have the same three columns and are present when those totals are published;
    ``grand_total`` is present with ``totals="both"``.
    """

    cells: pl.DataFrame
    row_totals: pl.DataFrame | None
    column_totals: pl.DataFrame | None
    grand_total: SuppressedFigure | None
    config: DisclosureConfig


def apply_disclosure_control_long(
    frame: pl.DataFrame,
    *,
    row_keys: str | Sequence[str],
    column_key: str,
    count_column: str,
    cfg: DisclosureConfig = DEFAULT,
    totals: Totals = None,
) -> SuppressedLong:
    """Apply the disclosure rule to a long-format count (a ``group_by`` result).

    ``frame`` has key columns and one count column, at most one row per key
    combination. The table is read as rows = each combination of ``row_keys`` (e.g.
    force), columns = each value of ``column_key`` (e.g. month), both sorted, so the
    result does not depend on the order of the input. ``totals`` is as for
    ``apply_disclosure_control``: with ``"column"``, each month's national total is
    published; with ``"row"``, each force's total over the months.
    """
    keys = [row_keys] if isinstance(row_keys, str) else list(row_keys)
    needed = [*keys, column_key, count_column]
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise DisclosureInputError(f"no column(s) {missing} in the frame")
    if frame.select([*keys, column_key]).is_duplicated().any():
        raise DisclosureInputError(f"more than one row for some {[*keys, column_key]}")
    counts = frame.select(needed)
    row_index = counts.select(keys).unique().sort(keys, nulls_last=True)
    column_index = counts.select(column_key).unique().sort(column_key, nulls_last=True)
    grid = row_index.join(column_index, how="cross").join(
        counts, on=[*keys, column_key], how="left", nulls_equal=True
    )
    grid = grid.with_columns(pl.col(count_column).fill_null(0))
    width = column_index.height
    raw = grid[count_column].to_list()
    if any(not isinstance(v, int) or v < 0 for v in raw):
        raise DisclosureInputError(f"{count_column!r} must hold non-negative whole numbers")
    matrix = [raw[i * width : (i + 1) * width] for i in range(row_index.height)]
    pattern = _suppression_pattern(matrix, width, totals, cfg)

    def _columns(values: list[int], reasons: list[Reason | None]) -> list[pl.Series]:
        figures = [_figure(v, r, cfg) for v, r in zip(values, reasons, strict=True)]
        return [
            pl.Series(count_column, [f.value for f in figures], dtype=pl.Int64),
            pl.Series("display", [f.display for f in figures], dtype=pl.String),
            pl.Series("suppression", [f.reason for f in figures], dtype=pl.String),
        ]

    cells = grid.select(keys + [column_key]).with_columns(
        _columns(raw, [r for row in pattern.body for r in row])
    )
    row_totals = column_totals = None
    grand = None
    if totals in ("row", "both"):
        row_totals = row_index.with_columns(_columns([sum(r) for r in matrix], pattern.row_totals))
    if totals in ("column", "both"):
        sums = [sum(r[j] for r in matrix) for j in range(width)]
        column_totals = column_index.with_columns(_columns(sums, pattern.column_totals))
    if totals == "both":
        grand = _figure(sum(raw), pattern.grand_total, cfg)
    return SuppressedLong(cells, row_totals, column_totals, grand, cfg)


def suppress_series_for_chart(
    frame: pl.DataFrame,
    count_column: str,
    *,
    cfg: DisclosureConfig = DEFAULT,
    total_published: bool = True,
) -> pl.DataFrame:
    """A single series of counts ready to chart (e.g. referrals by force, or by week).

    Returns ``frame`` with ``count_column`` set to null where suppressed (a chart shows
    a gap, never a zero) and two added columns: ``{count_column}_display`` (the number,
    ``<5`` or ``withheld``, for hover text and the chart's table) and
    ``{count_column}_suppression`` (null, ``"primary"`` or ``"secondary"``).
    ``total_published`` says whether the series' total is shown or derivable (a
    headline figure, a total line), which calls for secondary suppression.

    A cumulative chart is not protected by this: the steps of a cumulative line are
    the period counts themselves. Do not show viewers a cumulative line over periods
    whose counts are suppressed.
    """
    result = apply_disclosure_control(
        frame, [count_column], cfg=cfg, totals="column" if total_published else None
    )
    return frame.with_columns(
        result.values[count_column],
        result.display[count_column].alias(f"{count_column}_display"),
        result.mask[count_column].alias(f"{count_column}_suppression"),
    )
