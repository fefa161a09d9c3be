"""Disclosure control: hand-computed tables, and properties proved against attackers.

The attackers see only what a viewer sees (the displayed table and its published
totals) and try to work out a suppressed count three ways:

- ``subtraction_attack``: solve any published line with exactly one unknown, again and
  again until nothing new comes out (recovering one cell may unlock another line);
- ``linear_attack``: the whole system of line equations at once (exact rational
  elimination): a cell is recovered when the equations fix it;
- ``interval_attack``: the equations together with what the markers say (``<5`` is
  1..4, ``withheld`` is at least 5), by linear programming: a cell is recovered when
  its smallest and largest possible values are equal.
"""

from __future__ import annotations

import random
from fractions import Fraction

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from metrics.disclosure import (
    DEFAULT,
    WITHHELD,
    DisclosureConfig,
    DisclosureInputError,
    SuppressedFigure,
    SuppressedTable,
    apply_disclosure_control,
    apply_disclosure_control_long,
    suppress_count,
    suppress_parts,
    suppress_series_for_chart,
    withhold_rate,
)

pytestmark = pytest.mark.unit

CellId = tuple[str, int, int]

# --------------------------------------------------------------------------- helpers


def _table(rows: list[list[int]]) -> pl.DataFrame:
    """A table with a label column ``group`` and count columns ``c0``, ``c1``, ..."""
    width = len(rows[0])
    data: dict[str, list[object]] = {"group": [f"g{i}" for i in range(len(rows))]}
    for j in range(width):
        data[f"c{j}"] = [row[j] for row in rows]
    return pl.DataFrame(
        data, schema={"group": pl.String, **{f"c{j}": pl.Int64 for j in range(width)}}
    )


def _counts(width: int) -> list[str]:
    return [f"c{j}" for j in range(width)]


def _published(
    result: SuppressedTable, height: int, width: int, totals: str | None
) -> tuple[dict[CellId, str], list[tuple[list[CellId], CellId]]]:
    """What a viewer sees: every displayed cell and margin by id, and the published
    lines (the cells of a line, and its total)."""
    cells: dict[CellId, str] = {}
    for i, row in enumerate(result.display.iter_rows(named=True)):
        for j in range(width):
            cells[("body", i, j)] = row[f"c{j}"]
        if totals in ("row", "both"):
            cells[("row", i, 0)] = row["total"]
    if totals in ("column", "both"):
        for j in range(width):
            cells[("column", 0, j)] = result.totals[f"c{j}"].display
    if totals == "both":
        cells[("grand", 0, 0)] = result.totals["total"].display

    lines: list[tuple[list[CellId], CellId]] = []
    if totals in ("column", "both"):
        for j in range(width):
            lines.append(([("body", i, j) for i in range(height)], ("column", 0, j)))
    if totals in ("row", "both"):
        for i in range(height):
            lines.append(([("body", i, j) for j in range(width)], ("row", i, 0)))
    if totals == "both":
        lines.append(([("column", 0, j) for j in range(width)], ("grand", 0, 0)))
        lines.append(([("row", i, 0) for i in range(height)], ("grand", 0, 0)))
    return cells, lines


def _known(shown: str) -> int | None:
    return int(shown) if shown.isdigit() else None


def subtraction_attack(
    cells: dict[CellId, str], lines: list[tuple[list[CellId], CellId]]
) -> dict[CellId, int]:
    """Every hidden cell a viewer can work out by subtraction in one line at a time,
    repeated to a fixed point."""
    known = {k: v for k, shown in cells.items() if (v := _known(shown)) is not None}
    recovered: dict[CellId, int] = {}
    progress = True
    while progress:
        progress = False
        for members, total in lines:
            unknown = [c for c in [*members, total] if c not in known]
            if len(unknown) != 1:
                continue
            (cell,) = unknown
            if cell == total:
                value = sum(known[c] for c in members)
            else:
                value = known[total] - sum(known[c] for c in members if c != cell)
            known[cell] = recovered[cell] = value
            progress = True
    return recovered


def _rank(rows: list[list[Fraction]]) -> int:
    rows = [r[:] for r in rows]
    rank = 0
    width = len(rows[0]) if rows else 0
    for col in range(width):
        pivot = next((r for r in range(rank, len(rows)) if rows[r][col] != 0), None)
        if pivot is None:
            continue
        rows[rank], rows[pivot] = rows[pivot], rows[rank]
        for r in range(len(rows)):
            if r != rank and rows[r][col] != 0:
                factor = rows[r][col] / rows[rank][col]
                rows[r] = [a - factor * b for a, b in zip(rows[r], rows[rank], strict=True)]
        rank += 1
    return rank


def linear_attack(
    cells: dict[CellId, str], lines: list[tuple[list[CellId], CellId]]
) -> set[CellId]:
    """The hidden cells that the line equations, taken together, fix exactly: a cell is
    fixed when its unit vector lies in the row space of the equations over the hidden
    cells."""
    hidden = [c for c, shown in cells.items() if _known(shown) is None]
    index = {c: k for k, c in enumerate(hidden)}
    equations = []
    for members, total in lines:
        row = [Fraction(0)] * len(hidden)
        for c in members:
            if c in index:
                row[index[c]] += 1
        if total in index:
            row[index[total]] -= 1
        if any(row):
            equations.append(row)
    if not equations:
        return set()
    base = _rank(equations)
    fixed = set()
    for c, k in index.items():
        unit = [Fraction(0)] * len(hidden)
        unit[k] = Fraction(1)
        if _rank([*equations, unit]) == base:
            fixed.add(c)
    return fixed


def interval_attack(
    cells: dict[CellId, str],
    lines: list[tuple[list[CellId], CellId]],
    cfg: DisclosureConfig,
    withheld_low: int,
) -> dict[CellId, tuple[float, float]] | None:
    """The smallest and largest value of every hidden cell consistent with the shown
    cells, the totals and the markers (``<t`` means 1..t-1; ``withheld`` means at
    least ``withheld_low``), by linear programming; None when nothing is."""
    from scipy.optimize import linprog

    hidden = [c for c, shown in cells.items() if _known(shown) is None]
    if not hidden:
        return {}
    index = {c: k for k, c in enumerate(hidden)}
    known = {c: v for c, shown in cells.items() if (v := _known(shown)) is not None}
    a_eq, b_eq = [], []
    for members, total in lines:
        row = [0.0] * len(hidden)
        constant = 0.0
        for c in members:
            if c in index:
                row[index[c]] += 1
            else:
                constant += known[c]
        if total in index:
            row[index[total]] -= 1
        else:
            constant -= known[total]
        if any(row):
            a_eq.append(row)
            b_eq.append(-constant)

    bounds = [
        (1, cfg.threshold - 1) if cells[c] == cfg.primary_marker else (withheld_low, None)
        for c in hidden
    ]
    ranges = {}
    for c, k in index.items():
        objective = [0.0] * len(hidden)
        objective[k] = 1.0
        low = linprog(objective, A_eq=a_eq or None, b_eq=b_eq or None, bounds=bounds)
        if low.status == 2:  # infeasible: the belief about withheld cells is wrong
            return None
        objective[k] = -1.0
        high = linprog(objective, A_eq=a_eq or None, b_eq=b_eq or None, bounds=bounds)
        top = float("inf") if high.status == 3 else -high.fun
        ranges[c] = (low.fun, top)
    return ranges


def _true_values(rows: list[list[int]], totals: str | None) -> dict[CellId, int]:
    values: dict[CellId, int] = {}
    for i, row in enumerate(rows):
        for j, x in enumerate(row):
            values[("body", i, j)] = x
        values[("row", i, 0)] = sum(row)
    for j in range(len(rows[0])):
        values[("column", 0, j)] = sum(r[j] for r in rows)
    values[("grand", 0, 0)] = sum(map(sum, rows))
    return values


def _hand_view(
    rows: list[list[int]], hidden: set[CellId], totals: str, cfg: DisclosureConfig = DEFAULT
) -> tuple[dict[CellId, str], list[tuple[list[CellId], CellId]]]:
    """A viewer's view of ``rows`` with the ``hidden`` cells hidden by hand."""
    frame = apply_disclosure_control(_table(rows), _counts(len(rows[0])), totals=totals)  # type: ignore[arg-type]
    cells, lines = _published(frame, len(rows), len(rows[0]), totals)
    truth = _true_values(rows, totals)
    for cell in cells:
        x = truth[cell]
        cells[cell] = (
            str(x) if cell not in hidden else cfg.primary_marker if x < cfg.threshold else WITHHELD
        )
    return cells, lines


def test_the_attackers_catch_weak_patterns() -> None:
    """The attackers are not toothless: each recovers a cell from a pattern that is
    not safe against it."""
    # Primary suppression alone: 15 - 12 = 3.
    cells, lines = _hand_view([[3], [12]], {("body", 0, 0)}, "column")
    assert subtraction_attack(cells, lines) == {("body", 0, 0): 3}
    # Two rectangles joined by one cell: every line has two hidden cells or more, but
    # rows 0-1 minus columns 0-1 give the joining cell (1, 2).
    rows = [[6, 7, 8, 9], [5, 6, 7, 8], [9, 8, 7, 6], [8, 9, 6, 5]]
    square = {(0, 0), (0, 1), (1, 0), (1, 1), (2, 2), (2, 3), (3, 2), (3, 3), (1, 2)}
    cells, lines = _hand_view(rows, {("body", i, j) for i, j in square}, "both")
    assert subtraction_attack(cells, lines) == {}
    assert linear_attack(cells, lines) == {("body", 1, 2)}
    # 1 + 5 = 6: "<5" is at least 1 and "withheld" at least 5, so both are pinned.
    cells, lines = _hand_view([[1], [5], [20]], {("body", 0, 0), ("body", 1, 0)}, "column")
    assert linear_attack(cells, lines) == set()
    pytest.importorskip("scipy", reason="the interval attacker solves linear programs with SciPy")
    ranges = interval_attack(cells, lines, DEFAULT, withheld_low=5)
    assert ranges is not None and ranges[("body", 0, 0)] == pytest.approx((1, 1))


# --------------------------------------------------------------------------- single figures


def test_suppress_count_shows_zero_and_large_counts_and_hides_one_to_four() -> None:
    assert [suppress_count(n) for n in range(7)] == [0, "<5", "<5", "<5", "<5", 5, 6]
    assert suppress_count(1273) == 1273


def test_suppress_count_threshold_is_configurable() -> None:
    cfg = DisclosureConfig(threshold=10)
    assert [suppress_count(n, cfg) for n in (0, 1, 9, 10)] == [0, "<10", "<10", 10]


def test_withhold_rate_when_any_count_it_is_built_on_is_suppressed() -> None:
    assert withhold_rate(12.5, 3, 40) == WITHHELD
    assert withhold_rate(12.5, 40, 3) == WITHHELD
    assert withhold_rate(12.5, 40, 320) == 12.5
    assert withhold_rate(0.0, 0, 320) == 0.0
    assert withhold_rate(None, 0, 0) is None
    assert withhold_rate(50.0, 6, 12, cfg=DisclosureConfig(10)) == WITHHELD


@pytest.mark.parametrize("bad", [-1, 2.0, None, True])
def test_bad_counts_are_refused(bad: object) -> None:
    with pytest.raises(DisclosureInputError):
        suppress_count(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("threshold", [0, 1, 2, 4.5])
def test_threshold_below_three_or_fractional_is_refused(threshold: object) -> None:
    with pytest.raises(DisclosureInputError):
        DisclosureConfig(threshold)  # type: ignore[arg-type]


def test_threshold_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BEACONPORT_DISCLOSURE_THRESHOLD", raising=False)
    assert DisclosureConfig.from_env() == DEFAULT
    monkeypatch.setenv("BEACONPORT_DISCLOSURE_THRESHOLD", " 10 ")
    assert DisclosureConfig.from_env() == DisclosureConfig(10)
    monkeypatch.setenv("BEACONPORT_DISCLOSURE_THRESHOLD", "ten")
    with pytest.raises(DisclosureInputError, match="BEACONPORT_DISCLOSURE_THRESHOLD"):
        DisclosureConfig.from_env()


# --------------------------------------------------------------------------- hand-computed tables


def test_three_by_three_with_both_totals_hides_the_cheapest_rectangle() -> None:
    #        c0  c1  c2 | total
    #   g0    3   6   8 |  17
    #   g1    7   9  12 |  28
    #   g2   11  14  20 |  45
    #        21  29  40 |  90
    # The 3 needs a second hidden cell in its row and in its column, and those need
    # partners in turn: the cheapest cycle is the rectangle 3, 6, 7, 9 (6 + 7 + 9 = 22,
    # against 8 + 7 + 12 = 27 for 3, 8, 7, 12, and more for the others).
    rows = [[3, 6, 8], [7, 9, 12], [11, 14, 20]]
    result = apply_disclosure_control(_table(rows), _counts(3), totals="both")
    expected = pl.DataFrame(
        {
            "group": ["g0", "g1", "g2"],
            "c0": ["<5", WITHHELD, "11"],
            "c1": [WITHHELD, WITHHELD, "14"],
            "c2": ["8", "12", "20"],
            "total": ["17", "28", "45"],
        }
    )
    assert_frame_equal(result.display, expected)
    assert_frame_equal(
        result.mask,
        pl.DataFrame(
            {
                "group": ["g0", "g1", "g2"],
                "c0": ["primary", "secondary", None],
                "c1": ["secondary", "secondary", None],
                "c2": [None, None, None],
                "total": [None, None, None],
            },
            schema={c: pl.String for c in ["group", "c0", "c1", "c2", "total"]},
        ),
    )
    assert_frame_equal(
        result.values,
        pl.DataFrame(
            {
                "group": ["g0", "g1", "g2"],
                "c0": [None, None, 11],
                "c1": [None, None, 14],
                "c2": [8, 12, 20],
                "total": [17, 28, 45],
            },
            schema={"group": pl.String, **{c: pl.Int64 for c in ["c0", "c1", "c2", "total"]}},
        ),
    )
    assert {k: f.display for k, f in result.totals.items()} == {
        "c0": "21",
        "c1": "29",
        "c2": "40",
        "total": "90",
    }
    assert_frame_equal(
        result.display_with_total_row("group"),
        pl.concat(
            [
                expected,
                pl.DataFrame(
                    [{"group": "Total", "c0": "21", "c1": "29", "c2": "40", "total": "90"}]
                ),
            ]
        ),
    )


def test_single_column_beside_a_national_total_hides_the_next_smallest() -> None:
    # 3 is primary; of the other non-zero cells (12, 7, 5) the smallest is 5. The zero
    # is shown, and cannot protect anything.
    table = pl.DataFrame(
        {
            "force": ["A", "B", "C", "D", "E"],
            "referrals": [12, 3, 0, 7, 5],
            "per_100k": [1.2, 0.4, 0.0, 0.9, 0.6],
        }
    )
    result = apply_disclosure_control(
        table, ["referrals"], totals="column", rate_columns={"per_100k": ["referrals"]}
    )
    assert result.display.to_dict(as_series=False) == {
        "force": ["A", "B", "C", "D", "E"],
        "referrals": ["12", "<5", "0", "7", WITHHELD],
        "per_100k": ["1.2", WITHHELD, "0.0", "0.9", WITHHELD],
    }
    assert result.values["per_100k"].to_list() == [1.2, None, 0.0, 0.9, None]
    assert result.mask["per_100k"].to_list() == [None, "derived", None, None, "derived"]
    assert result.totals == {"referrals": SuppressedFigure(27, "27", None)}
    assert result.to_records()[:2] == [
        {"force": "A", "referrals": 12, "per_100k": 1.2},
        {"force": "B", "referrals": "<5", "per_100k": WITHHELD},
    ]


def test_ties_are_broken_by_position() -> None:
    result = apply_disclosure_control(pl.DataFrame({"n": [3, 6, 6]}), ["n"], totals="column")
    assert result.display["n"].to_list() == ["<5", WITHHELD, "6"]


def test_a_cell_of_exactly_the_threshold_cannot_protect_a_one() -> None:
    # 1 + 5 = 6 would give both away (a "<5" is at least 1, a withheld cell at least 5),
    # so the 20 is withheld instead: 1 + 20 = 21 leaves the 1 anywhere in 1..4.
    result = apply_disclosure_control(pl.DataFrame({"n": [1, 5, 20]}), ["n"], totals="column")
    assert result.display["n"].to_list() == ["<5", "5", WITHHELD]
    assert result.totals["n"].display == "26"


def test_a_line_whose_only_count_is_small_has_its_total_suppressed() -> None:
    result = apply_disclosure_control(pl.DataFrame({"n": [0, 2, 0]}), ["n"], totals="column")
    assert result.display["n"].to_list() == ["0", "<5", "0"]
    assert result.totals["n"] == SuppressedFigure(None, "<5", "primary")


def test_the_grand_total_is_withheld_when_nothing_else_can_protect() -> None:
    #      x  y | total
    #  a   3  0 |  3      the 3, its row total and its column total are all "<5";
    #  b   0  9 |  9      one more hidden cell closes the cycle: the grand total
    #      3  9 | 12      (cheaper than withholding 9, its row total and column total).
    table = pl.DataFrame({"f": ["a", "b"], "x": [3, 0], "y": [0, 9]})
    result = apply_disclosure_control(table, ["x", "y"], totals="both")
    assert result.display_with_total_row("f").rows() == [
        ("a", "<5", "0", "<5"),
        ("b", "0", "9", "9"),
        ("Total", "<5", "9", WITHHELD),
    ]
    assert result.totals["total"] == SuppressedFigure(None, WITHHELD, "secondary")


def test_small_counts_adding_up_to_a_small_total_have_the_total_withheld() -> None:
    # Four "<5" cells (each at least 1) with a "<5" total (at most 4) would all be 1.
    # No shown cell can help, so the total is withheld, saying nothing of its size.
    result = suppress_parts({"a": 1, "b": 1, "c": 1, "d": 1, "e": 0}, total=4)
    assert [f.display for f in result[0].values()] == ["<5", "<5", "<5", "<5", "0"]
    assert result[1] == SuppressedFigure(None, WITHHELD, "secondary")
    # With three cells the total can be 3 or 4, so "<5" is safe.
    assert suppress_parts({"a": 1, "b": 1, "c": 1}, total=3)[1] == SuppressedFigure(
        None, "<5", "primary"
    )


def test_a_withheld_small_total_does_not_let_the_markers_word_pin_a_cell() -> None:
    #       c0  c1 | total
    #  g0    1   1 |  2      every non-zero count is "<5". The 1 at g0/c0 lies on no
    #  g1    0   4 |  4      cycle at all, so the small totals of its row (2) and column
    #  g2    1   0 |  1      (4) are withheld, saying nothing of their size, and the 6
    #  g3    1   0 |  1      beside them is withheld to close a cycle.
    #  g4    1   1 |  2
    #        4   6 | 10
    # With the 10 shown, a viewer who takes "withheld" at its word (at least 5) reads
    # the two column totals as 5 and 5 (they add up to 10), so the four "<5" of c0 add
    # up to 5, and with g0's row total at least 5 that leaves one answer: g0 is 2 and 3,
    # everything else 1. The word is wrong (c0 is really 4), but g2, g3 and g4 really
    # are 1: the wrong belief gives away true counts. So the 10 is withheld too.
    rows = [[1, 1], [0, 4], [1, 0], [1, 0], [1, 1]]
    result = apply_disclosure_control(_table(rows), _counts(2), totals="both")
    assert result.display_with_total_row("group").rows() == [
        ("g0", "<5", "<5", WITHHELD),
        ("g1", "0", "<5", "<5"),
        ("g2", "<5", "0", "<5"),
        ("g3", "<5", "0", "<5"),
        ("g4", "<5", "<5", "<5"),
        ("Total", WITHHELD, WITHHELD, WITHHELD),
    ]
    assert result.totals["total"] == SuppressedFigure(None, WITHHELD, "secondary")
    pytest.importorskip("scipy", reason="the interval attacker solves linear programs with SciPy")
    cells, lines = _published(result, 5, 2, "both")
    truth = _true_values(rows, "both")
    for withheld_low in (5, 1):
        ranges = interval_attack(cells, lines, DEFAULT, withheld_low=withheld_low)
        assert ranges is not None
        assert all(high - low >= 1 for low, high in ranges.values()), (withheld_low, ranges)
        if withheld_low == 1:
            assert all(low <= truth[c] <= high for c, (low, high) in ranges.items())


def test_row_totals_taken_from_the_table_must_add_up() -> None:
    table = pl.DataFrame({"f": ["a"], "eligible": [3], "ineligible": [9], "referrals": [12]})
    result = apply_disclosure_control(
        table, ["eligible", "ineligible"], totals="row", total_column="referrals"
    )
    assert result.display.rows() == [("a", "<5", WITHHELD, "12")]
    with pytest.raises(DisclosureInputError, match="not the sum"):
        apply_disclosure_control(
            table.with_columns(referrals=pl.lit(13)),
            ["eligible", "ineligible"],
            totals="row",
            total_column="referrals",
        )


def test_decisions_adding_up_to_eligible_referrals() -> None:
    parts, total = suppress_parts(
        {"nfa_upheld": 40, "passed_back_to_force": 3, "adopted_by_nca": 0, "awaiting_decision": 12},
        total=55,
    )
    assert {k: f.json_value for k, f in parts.items()} == {
        "nfa_upheld": 40,
        "passed_back_to_force": "<5",
        "adopted_by_nca": 0,
        "awaiting_decision": WITHHELD,
    }
    assert total == SuppressedFigure(55, "55", None)
    lone, no_total = suppress_parts({"a": 3, "b": 7})
    assert {k: f.display for k, f in lone.items()} == {"a": "<5", "b": "7"}
    assert no_total is None
    with pytest.raises(DisclosureInputError):
        suppress_parts({"a": 3, "b": 7}, total=11)


def test_threshold_ten_on_a_table() -> None:
    cfg = DisclosureConfig(threshold=10)
    result = apply_disclosure_control(
        pl.DataFrame({"n": [9, 12, 15, 11, 0]}), ["n"], totals="column", cfg=cfg
    )
    assert result.display["n"].to_list() == ["<10", "12", "15", WITHHELD, "0"]
    assert result.config == cfg


def test_no_totals_means_primary_suppression_only() -> None:
    result = apply_disclosure_control(_table([[3, 7], [8, 0]]), _counts(2))
    assert result.display.rows() == [("g0", "<5", "7"), ("g1", "8", "0")]
    assert result.totals == {}


def test_rate_on_a_secondary_cell_or_on_a_small_denominator_is_withheld() -> None:
    table = pl.DataFrame(
        {
            "force": ["A", "B", "C"],
            "rape": [3, 6, 9],
            "all": [20, 30, 4],
            "share": [15.0, 20.0, 100.0],
        }
    )
    result = apply_disclosure_control(
        table,
        ["rape", "all"],
        totals="column",
        rate_columns={"share": ["rape", "all"]},
        rate_decimals=1,
    )
    assert result.display["share"].to_list() == [WITHHELD, WITHHELD, WITHHELD]
    assert result.display["rape"].to_list() == ["<5", WITHHELD, "9"]


def test_long_format_fills_missing_combinations_with_shown_zeros_and_ignores_order() -> None:
    counts = pl.DataFrame(
        {"force": ["A", "A", "B", "C"], "month": [1, 2, 1, 2], "referrals": [3, 7, 8, 9]}
    )
    result = apply_disclosure_control_long(
        counts, row_keys="force", column_key="month", count_column="referrals", totals="column"
    )
    # Month 1: 3 (primary) and 8 and a zero: the 8 is withheld. Month 2: 7, 0, 9: shown.
    assert result.cells.rows() == [
        ("A", 1, None, "<5", "primary"),
        ("A", 2, 7, "7", None),
        ("B", 1, None, WITHHELD, "secondary"),
        ("B", 2, 0, "0", None),
        ("C", 1, 0, "0", None),
        ("C", 2, 9, "9", None),
    ]
    assert result.column_totals is not None
    assert result.column_totals.rows() == [(1, 11, "11", None), (2, 16, "16", None)]
    assert result.row_totals is None and result.grand_total is None
    shuffled = counts.sample(fraction=1.0, shuffle=True, seed=3)
    again = apply_disclosure_control_long(
        shuffled, row_keys="force", column_key="month", count_column="referrals", totals="column"
    )
    assert_frame_equal(again.cells, result.cells)


def test_series_for_chart_leaves_gaps_not_zeros() -> None:
    weeks = pl.DataFrame({"week": [1, 2, 3, 4], "referrals": [0, 2, 11, 6]})
    chart = suppress_series_for_chart(weeks, "referrals")
    assert chart.rows() == [
        (1, 0, "0", None),
        (2, None, "<5", "primary"),
        (3, 11, "11", None),
        (4, None, WITHHELD, "secondary"),
    ]
    assert suppress_series_for_chart(weeks, "referrals", total_published=False)[
        "referrals_display"
    ].to_list() == ["0", "<5", "11", "6"]


@pytest.mark.parametrize(
    ("table", "message"),
    [
        (pl.DataFrame({"n": [1, -1]}), "negative"),
        (pl.DataFrame({"n": [1, None]}), "missing"),
        (pl.DataFrame({"n": [1.0, 2.0]}), "whole numbers"),
        (pl.DataFrame({"m": [1]}), "no column"),
    ],
)
def test_tables_that_cannot_be_controlled_are_refused(table: pl.DataFrame, message: str) -> None:
    with pytest.raises(DisclosureInputError, match=message):
        apply_disclosure_control(table, ["n"], totals="column")


def test_unknown_totals_and_rate_sources_are_refused() -> None:
    table = pl.DataFrame({"n": [1, 2], "r": [0.5, 1.0]})
    with pytest.raises(DisclosureInputError):
        apply_disclosure_control(table, ["n"], totals="diagonal")  # type: ignore[arg-type]
    with pytest.raises(DisclosureInputError):
        apply_disclosure_control(table, ["n"], rate_columns={"r": ["population"]})


# --------------------------------------------------------------------------- properties

TOTALS = ["row", "column", "both", None]


@st.composite
def tables(draw: st.DrawFn) -> list[list[int]]:
    """Small tables of counts, most of them 0..6 so that small counts sit next to each
    other, zeros and counts at the threshold."""
    height = draw(st.integers(1, 5))
    width = draw(st.integers(1, 4))
    cell = st.one_of(st.integers(0, 6), st.integers(0, 6), st.integers(0, 40))
    return [[draw(cell) for _ in range(width)] for _ in range(height)]


PROPERTY_SETTINGS = settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


@PROPERTY_SETTINGS
@given(rows=tables(), totals=st.sampled_from(TOTALS), threshold=st.sampled_from([5, 3, 10]))
def test_small_counts_suppressed_and_everything_else_shown_exactly(
    rows: list[list[int]], totals: str | None, threshold: int
) -> None:
    cfg = DisclosureConfig(threshold)
    height, width = len(rows), len(rows[0])
    result = apply_disclosure_control(_table(rows), _counts(width), totals=totals, cfg=cfg)  # type: ignore[arg-type]
    cells, _ = _published(result, height, width, totals)
    truth = _true_values(rows, totals)
    reasons: dict[CellId, str | None] = {}
    for i, row in enumerate(result.mask.iter_rows(named=True)):
        for j in range(width):
            reasons[("body", i, j)] = row[f"c{j}"]
        if totals in ("row", "both"):
            reasons[("row", i, 0)] = row["total"]
    for name, figure in result.totals.items():
        cell = ("grand", 0, 0) if name == "total" else ("column", 0, int(name[1:]))
        reasons[cell] = figure.reason
    for cell, shown in cells.items():
        x = truth[cell]
        if 0 < x < threshold:
            # (1) every count from 1 to threshold - 1 is hidden: a cell as "<t"; a total
            # as "<t", or withheld when "<t" would pin its small parts (see above).
            if cell[0] == "body" or shown != WITHHELD:
                assert shown == f"<{threshold}" and reasons[cell] == "primary", (cell, x)
            else:
                assert reasons[cell] == "secondary"
        elif reasons[cell] is None:
            # (2) zeros and large counts that are not withheld are shown exactly.
            assert shown == str(x), (cell, x, shown)
        else:
            assert reasons[cell] == "secondary" and shown == WITHHELD
            assert x >= threshold, "a zero or small count is never the one withheld"
        if x == 0:
            assert shown == "0"
    # The numbers behind a chart are the shown counts, with gaps where hidden.
    for i, row in enumerate(result.values.iter_rows(named=True)):
        for j in range(width):
            expected = None if reasons[("body", i, j)] else rows[i][j]
            assert row[f"c{j}"] == expected
    if totals is None:
        assert all(r != "secondary" for r in reasons.values())


@PROPERTY_SETTINGS
@given(rows=tables(), totals=st.sampled_from(TOTALS), threshold=st.sampled_from([5, 3, 10]))
def test_no_suppressed_cell_can_be_recovered(
    rows: list[list[int]], totals: str | None, threshold: int
) -> None:
    cfg = DisclosureConfig(threshold)
    height, width = len(rows), len(rows[0])
    result = apply_disclosure_control(_table(rows), _counts(width), totals=totals, cfg=cfg)  # type: ignore[arg-type]
    cells, lines = _published(result, height, width, totals)

    # (3a) no published line holds exactly one hidden cell (counting its total).
    for members, total in lines:
        hidden = [c for c in [*members, total] if _known(cells[c]) is None]
        assert len(hidden) != 1, (members, total, hidden)
    # (3b) subtraction, line by line to a fixed point, recovers nothing.
    assert subtraction_attack(cells, lines) == {}
    # (3c) nor do all the equations at once.
    assert linear_attack(cells, lines) == set()


@pytest.mark.slow
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=tables(),
    totals=st.sampled_from(["row", "column", "both"]),
    threshold=st.sampled_from([5, 3]),
)
def test_no_suppressed_cell_is_pinned_by_what_the_markers_say(
    rows: list[list[int]], totals: str, threshold: int
) -> None:
    """(3d) With the markers' ranges (1..t-1, at least t), every hidden cell can still
    take more than one value, and the true value is always among them."""
    pytest.importorskip("scipy", reason="the interval attacker solves linear programs with SciPy")
    cfg = DisclosureConfig(threshold)
    height, width = len(rows), len(rows[0])
    result = apply_disclosure_control(_table(rows), _counts(width), totals=totals, cfg=cfg)  # type: ignore[arg-type]
    cells, lines = _published(result, height, width, totals)
    truth = _true_values(rows, totals)
    degenerate = any(shown == WITHHELD and truth[cell] < threshold for cell, shown in cells.items())
    # A withheld cell is at least t, except a small total withheld in a degenerate
    # line. Believing ">= t" of every withheld cell, an attacker is right unless the
    # table is degenerate; believing ">= 1", always right.
    strong = interval_attack(cells, lines, cfg, withheld_low=threshold)
    weak = interval_attack(cells, lines, cfg, withheld_low=1)
    assert weak is not None
    believed = weak if degenerate else strong
    assert believed is not None
    for cell, (low, high) in believed.items():
        assert low - 1e-6 <= truth[cell] <= high + 1e-6
        assert high - low >= 1 - 1e-6, (cell, truth[cell], low, high)
    if degenerate and strong is not None:  # a wrong belief must not hit the truth either
        for cell, (low, high) in strong.items():
            assert not (abs(low - truth[cell]) < 1e-6 and abs(high - truth[cell]) < 1e-6)


@PROPERTY_SETTINGS
@given(rows=tables(), totals=st.sampled_from(TOTALS))
def test_rates_on_suppressed_counts_are_withheld(rows: list[list[int]], totals: str | None) -> None:
    width = len(rows[0])
    table = _table(rows).with_columns(
        (pl.col("c0") * 100 / 7).alias("rate0"),
        (pl.col(f"c{width - 1}") / (pl.col("c0") + 1)).alias("ratio"),
    )
    result = apply_disclosure_control(
        table,
        _counts(width),
        totals=totals,  # type: ignore[arg-type]
        rate_columns={"rate0": ["c0"], "ratio": ["c0", f"c{width - 1}"]},
    )
    hidden0 = result.mask["c0"].is_not_null()
    hidden_last = result.mask[f"c{width - 1}"].is_not_null()
    # (4) a rate is withheld exactly where a count it is built on is not shown.
    assert (result.display["rate0"] == WITHHELD).to_list() == hidden0.to_list()
    assert (result.display["ratio"] == WITHHELD).to_list() == (hidden0 | hidden_last).to_list()
    assert result.values["rate0"].is_null().to_list() == hidden0.to_list()
    shown = ~hidden0
    assert result.values["rate0"].filter(shown).to_list() == table["rate0"].filter(shown).to_list()


@settings(max_examples=100, deadline=None)
@given(rows=tables(), totals=st.sampled_from(TOTALS))
def test_threshold_ten_suppresses_one_to_nine(rows: list[list[int]], totals: str | None) -> None:
    cfg = DisclosureConfig(threshold=10)
    width = len(rows[0])
    result = apply_disclosure_control(_table(rows), _counts(width), totals=totals, cfg=cfg)  # type: ignore[arg-type]
    for i, row in enumerate(result.display.iter_rows(named=True)):
        for j in range(width):
            x = rows[i][j]
            if 0 < x < 10:
                assert row[f"c{j}"] == "<10"
            elif x == 0:
                assert row[f"c{j}"] == "0"
            else:
                assert row[f"c{j}"] in (str(x), WITHHELD)


@settings(max_examples=100, deadline=None)
@given(rows=tables(), totals=st.sampled_from(TOTALS), seed=st.integers(0, 1000))
def test_long_and_wide_agree_whatever_the_input_order(
    rows: list[list[int]], totals: str | None, seed: int
) -> None:
    width = len(rows[0])
    wide = apply_disclosure_control(_table(rows), _counts(width), totals=totals)  # type: ignore[arg-type]
    records = [
        {"group": f"g{i}", "column": j, "n": x}
        for i, row in enumerate(rows)
        for j, x in enumerate(row)
        if x != 0 or random.Random(seed + i + j).random() < 0.5  # group_by drops zeros
    ]
    if not records:
        return
    random.Random(seed).shuffle(records)
    long = apply_disclosure_control_long(
        pl.DataFrame(records, schema={"group": pl.String, "column": pl.Int64, "n": pl.Int64}),
        row_keys="group",
        column_key="column",
        count_column="n",
        totals=totals,  # type: ignore[arg-type]
    )
    present_rows = sorted({r["group"] for r in records})
    present_columns = sorted({r["column"] for r in records})
    if len(present_rows) != len(rows) or present_columns != list(range(width)):
        return  # a wholly empty row or column is not in a long frame at all
    expected = [wide.display[f"c{j}"][i] for i in range(len(rows)) for j in range(width)]
    assert long.cells["display"].to_list() == expected


def test_a_large_table_is_quick() -> None:
    import time

    rng = random.Random(7)
    rows = [[rng.choice([0, 1, 2, 3, 5, 8, 13, 40]) for _ in range(12)] for _ in range(44)]
    started = time.perf_counter()
    result = apply_disclosure_control(_table(rows), _counts(12), totals="both")
    assert time.perf_counter() - started < 5
    cells, lines = _published(result, 44, 12, "both")
    assert subtraction_attack(cells, lines) == {}


@pytest.mark.parametrize(
    ("shown", "expected"),
    [
        ([7, 0, 5, 9], 2),  # the smallest non-zero part
        ([6, 5, 5], 1),  # the first of equals
        ([6, None, 5], None),  # one is hidden already: the sum gives nothing away
        ([0, 0], None),  # all zero: the total is 0, shown anyway
        ([], None),
    ],
)
def test_one_more_to_withhold(shown: list[int | None], expected: int | None) -> None:
    from metrics.disclosure import one_more_to_withhold

    assert one_more_to_withhold(shown) == expected
