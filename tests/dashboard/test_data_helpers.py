"""Small helpers the pages use to quote figures (dashboard/data.py)."""

from __future__ import annotations

from itertools import product

import polars as pl
import pytest

from dashboard.data import (
    HEADLINE_DECISIONS,
    certain_leader,
    decision_gap_title,
    grouped,
    headline_shown,
    is_exact,
    shown_sum,
    sure_leader_row,
)

pytestmark = pytest.mark.unit


def test_a_sum_is_quoted_only_when_every_part_is_shown() -> None:
    assert shown_sum(pl.Series([8, 5, 7, 1200])) == "1,220"
    assert shown_sum(pl.Series([8, 5, None, 7])) == "withheld"  # 23 with a <5 gave it away
    assert shown_sum(pl.Series([], dtype=pl.Int64)) == "0"


@pytest.mark.parametrize(
    ("shown", "exact"),
    [("0", True), ("7", True), ("1,273", True), ("<5", False), ("withheld", False), ("", False)],
)
def test_is_exact(shown: str, exact: bool) -> None:
    assert is_exact(shown) is exact


@pytest.mark.parametrize(
    ("shown", "text"),
    [("1122", "1,122"), ("1,273", "1,273"), ("722", "722"), ("1000000", "1,000,000")]
    + [("12345.5", "12,345.5"), ("-1234", "-1,234"), ("0.4", "0.4")]
    + [("<5", "<5"), ("withheld", "withheld"), ("0", "0"), ("2025-06", "2025-06"), ("1,2", "1,2")],
)
def test_a_figure_in_a_title_has_thousands_separators(shown: str, text: str) -> None:
    assert grouped(shown) == text


@pytest.mark.parametrize(
    ("rows", "leader"),
    [
        # all shown: the largest total leads; a tie leads nowhere
        ([("2010", "5", "7"), ("2011", "6", "0")], "2010"),
        ([("2010", "6", "0"), ("2011", "0", "6")], None),
        # 2011's <5 could be 4: 2011 could reach 9 + 4 = 13 > 12
        ([("2010", "12", "0"), ("2011", "9", "<5")], None),
        # ... but not beyond 8 + 4 = 12 < 13
        ([("2010", "13", "0"), ("2011", "8", "<5")], "2010"),
        # a withheld figure has no upper bound: no one can be sure
        ([("2010", "50", "0"), ("2011", "withheld", "<5")], None),
        # the leader's own hidden figures count at their least: 20 + 5 > 24
        ([("2010", "20", "withheld"), ("2011", "24", "0")], "2010"),
        ([("2010", "19", "withheld"), ("2011", "24", "0")], None),
    ],
)
def test_a_leader_is_named_only_when_no_hidden_figure_could_change_it(
    rows: list[tuple[str, str, str]], leader: str | None
) -> None:
    table = pl.DataFrame(rows, schema=["year", "a", "b"], orient="row")
    assert certain_leader(table, "year", ["a", "b"]) == leader


def test_a_title_row_is_the_sure_leader_with_its_own_count_shown() -> None:
    """Values are null where the shown figure is hidden; the row comes back only when
    it surely leads and its own count is shown above 0."""
    values = pl.DataFrame({"force": ["A", "B", "C"], "n": [12, 7, None]})
    shown = values.with_columns(pl.Series("text", ["12", "7", "<5"]))
    assert sure_leader_row(shown, "force", ["text"], "n")["force"].to_list() == ["A"]
    # judged on a separate table of shown figures: C withheld, so no one is sure
    hidden = shown.with_columns(pl.Series("text", ["12", "7", "withheld"]))
    assert sure_leader_row(values, "force", ["text"], "n", shown=hidden).height == 0
    # a lone row leads surely, but a leader of 0 is no headline
    one = pl.DataFrame({"force": ["A"], "n": [0], "text": ["0"]})
    assert certain_leader(one, "force", ["text"]) == "A"
    assert sure_leader_row(one, "force", ["text"], "n").height == 0


def _by_theme(percents: list[float | None]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "theme": ["a", "b", "c"],
            "label": ["Lines of inquiry", "Victim account", "Records"],
            "percent": percents,
        },
        schema_overrides={"percent": pl.Float64},
    )


@pytest.mark.parametrize(
    ("passed", "upheld", "title"),
    [
        # gaps 46, 10, -5: the largest named, every share shown
        (
            [78.0, 40.0, 10.0],
            [32.0, 30.0, 15.0],
            "Lines of inquiry is found 46 points more often in cases passed back than in "
            "cases upheld",
        ),
        # c's upheld share hidden: its gap could be larger, so "of the themes shown"
        (
            [78.0, 40.0, 90.0],
            [32.0, 30.0, None],
            "Of the themes shown, lines of inquiry is found 46 points more often in cases "
            "passed back than in cases upheld",
        ),
        # no theme more often in cases passed back: no claim
        ([10.0, 20.0, 30.0], [10.0, 25.0, 31.0], "Themes by decision"),
        ([None, None, None], [None, None, None], "Themes by decision"),
    ],
)
def test_the_decision_gap_title_names_the_largest_gap_shown(
    passed: list[float | None], upheld: list[float | None], title: str
) -> None:
    assert decision_gap_title(_by_theme(passed), _by_theme(upheld)) == title


# ----------------------------------------------------------------- the headline cards
CARD_NAMES = ("referrals", "eligible", "ineligible", *HEADLINE_DECISIONS)


def _readings(shown: dict[str, str], cap: int) -> list[dict[str, int]]:
    """Every whole-number assignment of referrals, eligible, ineligible and the four
    decisions (each at most ``cap``) a reader would find consistent with ``shown``:
    eligible + ineligible = referrals, the decisions add up to eligible, ``<5`` is 1 to
    4, an unprinted figure (ineligible) is at least 0, and ``withheld`` is at least 5 or,
    when nothing fits that, at least 1. Counted by brute force, not by the solver."""

    def allowed(name: str, v: int, least_withheld: int) -> bool:
        text = shown.get(name)
        if text is None:
            return True
        if is_exact(text):
            return v == int(text.replace(",", ""))
        return 1 <= v <= 4 if text == "<5" else v >= least_withheld

    for least in (5, 1):
        found = []
        for r, e in product(range(cap + 1), repeat=2):
            if e > r or not (allowed("referrals", r, least) and allowed("eligible", e, least)):
                continue
            if not allowed("ineligible", r - e, least):
                continue
            for d in product(range(e + 1), repeat=3):
                last = e - sum(d)
                values = (*d, last)
                if last >= 0 and all(
                    allowed(k, v, least) for k, v in zip(HEADLINE_DECISIONS, values, strict=True)
                ):
                    found.append(dict(zip(CARD_NAMES, (r, e, r - e, *values), strict=True)))
        if found:
            return found
    return []


def _card_values(ineligible: int, decisions: tuple[int, int, int, int]) -> dict[str, int]:
    eligible = sum(decisions)
    return {
        "referrals": eligible + ineligible,
        "eligible": eligible,
        "ineligible": ineligible,
        **dict(zip(HEADLINE_DECISIONS, decisions, strict=True)),
        "rape_referrals": 0,
        "charged": 0,
        "misconduct_referrals": 0,
    }


def _pinned_on_cards(values: dict[str, int], shown: dict[str, str]) -> list[str]:
    shown = {k: shown[k] for k in CARD_NAMES if k in shown}  # ineligible is not printed
    readings = _readings(shown, cap=max(values["referrals"] + 6, 12))
    return [
        k
        for k in CARD_NAMES
        if 1 <= values[k] <= 4
        and not is_exact(shown.get(k, ""))
        and {r[k] for r in readings} == {values[k]}
    ]


@pytest.mark.parametrize(
    ("ineligible", "decisions", "eligible_shown"),
    [
        # four decisions of 1 add up to at most 4 (the eligible <5): each is 1, eligible
        # 4 and ineligible 2, unless eligible is withheld
        (2, (1, 1, 1, 1), "withheld"),
        (0, (1, 1, 1, 1), "withheld"),
        # three decisions of 1 and none of the fourth: 3 is not pinned (could be 4 with 2)
        (3, (1, 1, 1, 0), "<5"),
        # nothing small hidden: shown as it is
        (6, (5, 6, 0, 9), "20"),
    ],
)
def test_the_cards_are_protected_as_one_set(
    ineligible: int, decisions: tuple[int, int, int, int], eligible_shown: str
) -> None:
    values = _card_values(ineligible, decisions)
    shown = headline_shown(values, disclosure_on=True)
    assert shown["eligible"] == eligible_shown
    assert _pinned_on_cards(values, shown) == []
    unprotected = headline_shown(values, disclosure_on=False)
    assert unprotected["eligible"] == f"{values['eligible']:,}"


def test_no_small_card_figure_can_be_worked_out_from_the_others() -> None:
    """Every split of up to 9 eligible referrals into the four decisions, beside 0 to 5
    ineligible ones: no hidden count of 1 to 4 is left with one possible value."""
    cases = 0
    for eligible in range(10):
        for d in product(range(eligible + 1), repeat=3):
            if sum(d) > eligible:
                continue
            for ineligible in (0, 1, 2, 5):
                values = _card_values(ineligible, (*d, eligible - sum(d)))
                shown = headline_shown(values, disclosure_on=True)
                assert _pinned_on_cards(values, shown) == [], (values, shown)
                cases += 1
    assert cases == 2860  # C(13, 4) splits, each beside four ineligible counts
