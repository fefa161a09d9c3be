"""The linked-set audit (``metrics.disclosure_links``) on hand-worked cases: what a
reader can pin, under both readings of ``withheld``, and what gets withheld."""

from __future__ import annotations

import pytest

from metrics.disclosure import DisclosureConfig
from metrics.disclosure_links import (
    Link,
    LinkedFigures,
    at_most,
    pinned_figures,
    protect_linked,
    sum_between,
    sums_to,
)

pytestmark = pytest.mark.unit


def _line(a: object, b: object, total: object, values: tuple[int, int, int]) -> LinkedFigures:
    return LinkedFigures(
        dict(zip(("a", "b", "total"), values, strict=True)),
        {"a": a, "b": b, "total": total},
        [sums_to(["a", "b"], "total")],
    )


def test_plain_subtraction_is_pinned_and_the_smallest_candidate_goes() -> None:
    # 1 + 6 = 7 with 6 and 7 printed: a = 7 - 6.
    figures = _line("<5", 6, 7, (1, 6, 7))
    assert pinned_figures(figures) == ["a"]
    assert protect_linked(figures, ["total", "b"]) == {"a": "<5", "b": 6, "total": "withheld"}
    assert protect_linked(figures, ["b", "total"]) == {"a": "<5", "b": "withheld", "total": 7}


def test_markers_are_read_as_ranges() -> None:
    # a in 1..4, b at least 5, a + b = 7: a is 1 or 2, not pinned.
    assert pinned_figures(_line("<5", "withheld", 7, (1, 6, 7))) == []
    # a + b = 6 leaves only 1 and 5.
    figures = _line("<5", "withheld", 6, (1, 5, 6))
    assert pinned_figures(figures) == ["a"]
    assert protect_linked(figures, ["total"])["total"] == "withheld"


def test_an_inequality_between_tables_can_pin() -> None:
    # Rape referrals within referrals: referrals <5 but at most 2 (a total of 7 beside a
    # withheld 5 or more), rape at least 2 (a total of 6 beside a <5), so both are 2, and
    # the other force's rape referrals 6 - 2 = 4.
    values = {"r0": 2, "r1": 5, "r": 7, "p0": 2, "p1": 4, "p": 6}
    shown = {"r0": "<5", "r1": "withheld", "r": 7, "p0": "<5", "p1": "<5", "p": 6}
    links = [
        sums_to(["r0", "r1"], "r"),
        sums_to(["p0", "p1"], "p"),
        at_most("p0", "r0"),
        at_most("p1", "r1"),
    ]
    figures = LinkedFigures(values, shown, links)
    assert pinned_figures(figures) == ["r0", "p0", "p1"]
    # Without the inequality the same figures pin nothing.
    assert pinned_figures(LinkedFigures(values, shown, links[:2])) == []
    protected = protect_linked(figures, ["p", "r"])
    assert protected["p"] == "withheld" and protected["r"] == 7
    assert pinned_figures(figures, shown=protected) == []


def test_a_bound_on_a_sum_can_pin() -> None:
    # Two parts of <5 that a shown median says add up to at least 8: both are 4.
    figures = LinkedFigures(
        {"x": 4, "y": 4}, {"x": "<5", "y": "<5"}, [sum_between(["x", "y"], 8, float("inf"))]
    )
    assert pinned_figures(figures) == ["x", "y"]
    # Nothing of 5 or more to withhold: the small figures go only as a last resort.
    assert protect_linked(figures, []) == {"x": "<5", "y": "<5"}
    assert protect_linked(figures, [], last_resort=["x"]) == {"x": "withheld", "y": "<5"}


def test_a_belief_that_fails_falls_back_to_at_least_one() -> None:
    # A small total withheld: a reader taking it at its word (at least 5) finds nothing
    # consistent (its only part is <5), so can use only that it is at least 1.
    figures = LinkedFigures(
        {"a": 2, "total": 2}, {"a": "<5", "total": "withheld"}, [sums_to(["a"], "total")]
    )
    assert pinned_figures(figures) == []


def test_a_belief_that_holds_but_is_false_is_judged_against_the_truth() -> None:
    # w is a small figure withheld (really 2), one more than a (really 1), and at most 5
    # (w plus another withheld figure make 10). Taking w at its word (at least 5), a
    # reader finds w = 5 and a = 4: pinned, but to a wrong value, so nothing is given
    # away; reading w as at least 1, a could be 1 to 4.
    values = {"a": 1, "w": 2, "other": 8, "grand": 10}
    shown = {"a": "<5", "w": "withheld", "other": "withheld", "grand": 10}
    links = [Link({"w": 1, "a": -1}, 1, 1), sums_to(["w", "other"], "grand")]
    assert pinned_figures(LinkedFigures(values, shown, links)) == []
    # When the word happens to be true (w really 5, a 4), the same reading pins a.
    truth = {"a": 4, "w": 5, "other": 5, "grand": 10}
    assert pinned_figures(LinkedFigures(truth, shown, links)) == ["a"]


def test_zero_and_small_figures_are_not_withheld_as_candidates() -> None:
    figures = LinkedFigures(
        {"a": 1, "b": 0, "c": 3, "total": 4},
        {"a": "<5", "b": 0, "c": "<5", "total": "<5"},
        [sums_to(["a", "b", "c"], "total")],
    )
    # a + c = total with all three in 1..4: a = 1..3, not pinned.
    assert pinned_figures(figures) == []
    pinned = LinkedFigures(
        {"a": 1, "b": 0, "total": 1},
        {"a": "<5", "b": 0, "total": "<5"},
        [sums_to(["a", "b"], "total")],
    )
    # a = total, each 1..4: not pinned either; the zero stays printed.
    assert protect_linked(pinned, ["b", "total"]) == {"a": "<5", "b": 0, "total": "<5"}


def test_the_threshold_sets_the_ranges() -> None:
    cfg = DisclosureConfig(10)
    # At 10: a is <10 (1..9), b withheld (10 or more), total 15: a is 1..5.
    figures = _line("<10", "withheld", 15, (3, 12, 15))
    assert pinned_figures(figures, cfg) == []
    # total 11: a is 1 and b 10.
    assert pinned_figures(_line("<10", "withheld", 11, (1, 10, 11)), cfg) == ["a"]


def test_true_values_that_break_a_link_are_refused() -> None:
    with pytest.raises(ValueError, match="break a link"):
        _line("<5", 6, 8, (1, 6, 8))
    with pytest.raises(ValueError, match="unknown figures"):
        LinkedFigures({"a": 1}, {"a": "<5"}, [sums_to(["a"], "nope")])
