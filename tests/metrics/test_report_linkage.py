"""``report --json --suppress``: no hidden count can be worked out from the others.

A second way of judging the suppressed report, independent of ``metrics.disclosure``:
a viewer knows every shown figure, that ``<5`` is 1 to 4 and ``withheld`` at least 5,
and how the figures fit together (each force's referrals are its eligible plus its
ineligible ones; the headline figures are the sums over the forces; the decisions add
up to the eligible total; and, in the hand-made cases, that a force has no more rape
referrals than referrals, which the report does not yet protect in general: see the
xfail test). The test
lists every set of true counts that a viewer would find consistent with the report, by
brute force over small tables, and fails when some hidden figure takes only its true
value in all of them.

The first cases are the ones an independent recomputation of the report found leaking.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from metrics.report import suppress_report

pytestmark = pytest.mark.unit

DECISIONS = ("nfa_upheld", "passed_back_to_force", "adopted_by_nca", "awaiting_decision")


def _allowed(shown: object, bound: int) -> range | list[int]:
    if isinstance(shown, int):
        return [shown]
    if shown == "<5":
        return range(1, 5)
    assert shown == "withheld", shown
    return range(5, bound + 1)


def _fits(shown: object, value: int) -> bool:
    if isinstance(shown, int):
        return shown == value
    if shown == "<5":
        return 1 <= value <= 4
    return value >= 5


def consistent_worlds(
    out: dict, bound: int, rape_within_referrals: bool = True
) -> Iterator[dict[str, int]]:
    """Every assignment of true counts consistent with the suppressed report ``out``
    (with ``rape_within_referrals``, the reader also uses that a force has no more rape
    referrals than referrals)."""
    rows = out["by_force"]
    per_force = []
    for row in rows:
        options = []
        for eligible in _allowed(row["eligible"], bound):
            for total in _allowed(row["referrals"], bound):
                if total < eligible:
                    continue
                for rape in _allowed(row["rape_referrals"], bound):
                    if rape <= total or not rape_within_referrals:
                        options.append((eligible, total - eligible, rape))
        per_force.append(options)
    decision_sums = {
        sum(c)
        for c in itertools.product(*(_allowed(out["decisions"][k], bound) for k in DECISIONS))
    }
    for combo in itertools.product(*per_force):
        eligible = sum(c[0] for c in combo)
        ineligible = sum(c[1] for c in combo)
        rape = sum(c[2] for c in combo)
        if not (
            _fits(out["eligible"], eligible)
            and _fits(out["ineligible"], ineligible)
            and _fits(out["referrals"], eligible + ineligible)
            and _fits(out["rape_referrals"], rape)
            and eligible in decision_sums
        ):
            continue
        world = {"eligible": eligible, "ineligible": ineligible, "rape": rape}
        world["referrals"] = eligible + ineligible
        for row, (e, i, r) in zip(rows, combo, strict=True):
            world[f"{row['force']}/eligible"] = e
            world[f"{row['force']}/ineligible"] = i
            world[f"{row['force']}/referrals"] = e + i
            world[f"{row['force']}/rape"] = r
        yield world


def pinned(
    forces: list[tuple[str, int, int, int]],
    decisions: dict[str, int],
    rape_within_referrals: bool = True,
) -> list[str]:
    """The hidden figures a viewer can pin to their true values. ``forces`` are
    (name, referrals, eligible, rape referrals)."""
    truth = {
        "eligible": sum(f[2] for f in forces),
        "ineligible": sum(f[1] - f[2] for f in forces),
        "referrals": sum(f[1] for f in forces),
        "rape": sum(f[3] for f in forces),
    }
    for name, referrals, eligible, rape in forces:
        truth |= {
            f"{name}/eligible": eligible,
            f"{name}/ineligible": referrals - eligible,
            f"{name}/referrals": referrals,
            f"{name}/rape": rape,
        }
    report = {
        "referrals": truth["referrals"],
        "eligible": truth["eligible"],
        "ineligible": truth["ineligible"],
        "rape_referrals": truth["rape"],
        "decisions": decisions,
        "charged": 0,
        "convicted": 0,
        "misconduct_referrals": 0,
        "quarantined_rows": 0,
        "learning_themes": {},
        "median_days_referral_to_decision": None,
        "by_force": [
            {"force": n, "referrals": r, "rape_referrals": p, "eligible": e, "per_100k": 1.0}
            for n, r, e, p in forces
        ],
    }
    assert sum(decisions.values()) == truth["eligible"]
    out = suppress_report(report, decided=0)
    shown = {
        "eligible": out["eligible"],
        "ineligible": out["ineligible"],
        "referrals": out["referrals"],
        "rape": out["rape_referrals"],
    }
    for row in out["by_force"]:
        shown |= {
            f"{row['force']}/eligible": row["eligible"],
            f"{row['force']}/referrals": row["referrals"],
            f"{row['force']}/rape": row["rape_referrals"],
            f"{row['force']}/ineligible": "hidden",  # never printed; protected all the same
        }
    bound = truth["referrals"] + 6
    seen: dict[str, set[int]] = {k: set() for k, v in shown.items() if not isinstance(v, int)}
    for world in consistent_worlds(out, bound, rape_within_referrals):
        for key in seen:
            seen[key].add(world[key])
    # a small true count a viewer can pin down; big ones pinned are no disclosure
    return sorted(k for k, values in seen.items() if values == {truth[k]} and 1 <= truth[k] <= 4)


def _decisions(eligible: int) -> dict[str, int]:
    return {"nfa_upheld": 0, "passed_back_to_force": 0, "adopted_by_nca": 0} | {
        "awaiting_decision": eligible
    }


def test_rape_total_does_not_give_away_a_small_force_count() -> None:
    # Kent 5 rape referrals of 5; Essex 1 of 5. Printing 6 beside Kent's 5 gave Essex's 1.
    assert pinned([("Kent", 5, 5, 5), ("Essex", 5, 5, 1)], _decisions(10)) == []


def test_eligible_by_force_does_not_give_away_the_ineligible_total() -> None:
    # Kent 6 referrals, 5 eligible; Essex 5, all eligible: ineligible 1 could be had as
    # 11 - (5 + 5) when the forces' eligible counts were printed.
    assert pinned([("Kent", 6, 5, 0), ("Essex", 5, 5, 0)], _decisions(10)) == []


def test_one_force_eligible_seven_of_eight() -> None:
    assert pinned([("Dorset", 8, 7, 0)], _decisions(7)) == []


def test_a_shown_eligible_count_bounds_a_hidden_referral_count() -> None:
    # Shaped like the seed of the review: a small force, a large one whose eligible count
    # is printed, one of exactly 5.
    forces = [("Beds", 1, 1, 0), ("Met", 16, 16, 0), ("WM", 5, 5, 0)]
    assert pinned(forces, _decisions(22)) == []


@pytest.mark.xfail(
    strict=True,
    reason="known gap: the rape column is protected against its own total, not against "
    "the forces' referral counts it cannot exceed (docs/disclosure-control.md)",
)
def test_a_hidden_rape_count_bounded_by_a_hidden_referral_count() -> None:
    # Found by the property test below when it still used rape <= referrals: F1's
    # withheld referrals leave F0 at most 2, the rape total 6 beside F1's <5 leaves F0's
    # rape referrals at least 2, so both are 2.
    assert pinned([("F0", 2, 2, 2), ("F1", 5, 5, 4)], _decisions(7)) == []


@pytest.mark.xfail(
    strict=True,
    reason="known gap: the decisions are protected against the eligible total, not "
    "against the range the eligible/ineligible table leaves it (docs/disclosure-control.md)",
)
def test_small_decisions_against_a_small_eligible_total() -> None:
    # One force, 7 referrals, 2 eligible (1 decided, 1 awaiting): ineligible 5 must be
    # withheld, so eligible is at most 2; two decisions of <5 make it at least 2.
    decisions = _decisions(1) | {"nfa_upheld": 1}
    assert pinned([("F0", 7, 2, 0)], decisions, rape_within_referrals=False) == []


forces_strategy = st.lists(
    st.tuples(st.integers(0, 9), st.integers(0, 9), st.integers(0, 9)).map(
        # (referrals, eligible <= referrals, rape <= referrals)
        lambda t: (max(t), sorted(t)[1], min(t))
    ),
    min_size=1,
    max_size=2,
)


@settings(max_examples=1500, deadline=None, derandomize=True)
@given(forces=forces_strategy)
def test_no_small_hidden_count_can_be_pinned(forces: list[tuple[int, int, int]]) -> None:
    """By the sums the report publishes (and eligible <= referrals, which the table of
    eligible and ineligible carries), with every eligible referral awaiting a decision.
    Two known gaps are the xfail tests above: the bound of rape by referrals, and small
    decisions against a small eligible total."""
    named = [(f"F{k}", r, e, p) for k, (r, e, p) in enumerate(forces) if r > 0]
    if not named:
        return
    eligible = sum(f[2] for f in named)
    assert pinned(named, _decisions(eligible), rape_within_referrals=False) == []
