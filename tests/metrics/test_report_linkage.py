"""``report --json --suppress``: no hidden count can be worked out from the others.

A second way of judging the suppressed report, independent of ``metrics.disclosure``
and of the solver in ``metrics.disclosure_links``: a viewer knows every shown figure,
that ``<5`` is 1 to 4 and ``withheld`` at least 5 (or, when nothing fits that, at least
1), and how the figures fit together (each force's referrals are its eligible plus its
ineligible ones; the headline figures are the sums over the forces; a force has no more
rape referrals than referrals; the decisions add up to the eligible total; a median is
shown only over five or more decisions). The test lists every set of true counts that
a viewer would find consistent with the report, by brute force over small tables, and
fails when some hidden figure takes only its true value in all of them.

The first cases are the ones an independent recomputation of the report found leaking,
then the ones this test found before the report was audited as one linked set.
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


def _allowed(shown: object, bound: int, least: int = 5) -> range | list[int]:
    if isinstance(shown, int):
        return [shown]
    if shown == "<5":
        return range(1, 5)
    assert shown == "withheld", shown
    return range(least, bound + 1)


def _fits(shown: object, value: int, least: int = 5) -> bool:
    if isinstance(shown, int):
        return shown == value
    if shown == "<5":
        return 1 <= value <= 4
    return value >= least


def _decision_sums(
    out: dict, bound: int, leave_out: str | None = None, least: int = 5
) -> set[tuple[int, int]]:
    """Every (sum of the decisions, sum of those made) the printed decisions allow,
    without ``leave_out`` when it is given."""
    reachable = {(0, 0)}
    for key in DECISIONS:
        if key == leave_out:
            continue
        made = key != "awaiting_decision"
        reachable = {
            (total + v, done + (v if made else 0))
            for total, done in reachable
            for v in _allowed(out["decisions"][key], bound, least)
        }
    return reachable


def _median_fits(out: dict, made: int, threshold: int = 5) -> bool:
    """What the median says of the decisions made: null, none; withheld, fewer than
    ``threshold``; a number, at least that many."""
    median = out["median_days_referral_to_decision"]
    if median is None:
        return made == 0
    if median == "withheld":
        return 1 <= made < threshold
    return made >= threshold


def _decision_totals(out: dict, bound: int, least: int = 5) -> set[int]:
    """The eligible totals the printed decisions (and the median) allow."""
    return {
        total for total, made in _decision_sums(out, bound, least=least) if _median_fits(out, made)
    }


def consistent_worlds(
    out: dict, bound: int, rape_within_referrals: bool = True, least: int = 5
) -> Iterator[dict[str, int]]:
    """Every assignment of true counts consistent with the suppressed report ``out``
    (with ``rape_within_referrals``, the reader also uses that a force has no more rape
    referrals than referrals), taking each ``withheld`` as at least ``least``."""
    rows = out["by_force"]
    per_force = []
    for row in rows:
        options = []
        for eligible in _allowed(row["eligible"], bound, least):
            for total in _allowed(row["referrals"], bound, least):
                if total < eligible:
                    continue
                for rape in _allowed(row["rape_referrals"], bound, least):
                    if rape <= total or not rape_within_referrals:
                        options.append((eligible, total - eligible, rape))
        per_force.append(options)
    decision_totals = _decision_totals(out, bound, least)
    for combo in itertools.product(*per_force):
        eligible = sum(c[0] for c in combo)
        ineligible = sum(c[1] for c in combo)
        rape = sum(c[2] for c in combo)
        if not (
            _fits(out["eligible"], eligible, least)
            and _fits(out["ineligible"], ineligible, least)
            and _fits(out["referrals"], eligible + ineligible, least)
            and _fits(out["rape_referrals"], rape, least)
            and eligible in decision_totals
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
    (name, referrals, eligible, rape referrals); the median is shown when five or more
    decisions are made."""
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
    made = sum(v for k, v in decisions.items() if k != "awaiting_decision")
    truth |= {f"decisions/{k}": v for k, v in decisions.items()}
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
        "median_days_referral_to_decision": 30.0 if made else None,
        "by_force": [
            {"force": n, "referrals": r, "rape_referrals": p, "eligible": e, "per_100k": 1.0}
            for n, r, e, p in forces
        ],
    }
    assert sum(decisions.values()) == truth["eligible"]
    out = suppress_report(report, decided=made)
    shown = {
        "eligible": out["eligible"],
        "ineligible": out["ineligible"],
        "referrals": out["referrals"],
        "rape": out["rape_referrals"],
    }
    shown |= {f"decisions/{k}": v for k, v in out["decisions"].items()}
    for row in out["by_force"]:
        shown |= {
            f"{row['force']}/eligible": row["eligible"],
            f"{row['force']}/referrals": row["referrals"],
            f"{row['force']}/rape": row["rape_referrals"],
            f"{row['force']}/ineligible": "hidden",  # never printed; protected all the same
        }
        if not isinstance(row["referrals"], int):
            assert row["per_100k"] == "withheld", row  # the rate would give the count back
    bound = truth["referrals"] + 6
    seen: dict[str, set[int]] = {k: set() for k, v in shown.items() if not isinstance(v, int)}
    # A reader first takes every withheld figure at its word (at least 5); when nothing
    # is consistent with that, a small total was withheld, and all they can use is that
    # a withheld figure is at least 1.
    least = 5
    for world in consistent_worlds(out, bound, rape_within_referrals, least):
        for key in seen:
            if key.startswith("decisions/"):
                continue  # the decisions' own split is checked below
            seen[key].add(world[key])
    if not any(seen[k] for k in seen if not k.startswith("decisions/")) and any(
        not k.startswith("decisions/") for k in seen
    ):
        least = 1
        for world in consistent_worlds(out, bound, rape_within_referrals, least):
            for key in seen:
                if not key.startswith("decisions/"):
                    seen[key].add(world[key])
    # Each decision: a value is possible when the other three can make up the rest of
    # an eligible total some consistent world has, with the median's bound kept.
    allowed_eligible = seen.get("eligible") or {truth["eligible"]}
    for key in (k for k in seen if k.startswith("decisions/")):
        name = key.removeprefix("decisions/")
        others = _decision_sums(out, bound, leave_out=name, least=least)
        seen[key] = {
            v
            for v in _allowed(out["decisions"][name], bound, least)
            for total, made in others
            if total + v in allowed_eligible
            and _median_fits(out, made + (v if name != "awaiting_decision" else 0))
        }
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


def test_a_hidden_rape_count_bounded_by_a_hidden_referral_count() -> None:
    # Found by the property test when it used rape <= referrals, before the report was
    # audited as one linked set: F1's withheld referrals left F0 at most 2, the rape
    # total 6 beside F1's <5 left F0's rape referrals at least 2, so both were 2.
    assert pinned([("F0", 2, 2, 2), ("F1", 5, 5, 4)], _decisions(7)) == []


def test_small_decisions_against_a_small_eligible_total() -> None:
    # One force, 7 referrals, 2 eligible (1 decided, 1 awaiting): ineligible 5 must be
    # withheld, so eligible was at most 2, and two decisions of <5 made it at least 2.
    decisions = _decisions(1) | {"nfa_upheld": 1}
    assert pinned([("F0", 7, 2, 0)], decisions) == []


def test_a_shown_median_says_five_decisions_were_made() -> None:
    # 6 eligible, 5 decided (4 upheld, 1 passed back), 1 awaiting. The median is shown
    # (5 decisions), so the three made add up to at least 5; beside the rest printed,
    # that can pin the small ones unless the audit withholds more.
    decisions = {"nfa_upheld": 4, "passed_back_to_force": 1, "adopted_by_nca": 0}
    assert pinned([("F0", 6, 6, 0)], decisions | {"awaiting_decision": 1}) == []


@st.composite
def linked_reports(draw: st.DrawFn) -> tuple[list[tuple[str, int, int, int]], dict[str, int]]:
    """One or two forces (referrals 1 to 9; eligible and rape referrals each 0 to the
    referrals) and the eligible split into the four decisions."""
    forces = []
    for k in range(draw(st.integers(1, 2))):
        referrals = draw(st.integers(1, 9))
        forces.append(
            (f"F{k}", referrals, draw(st.integers(0, referrals)), draw(st.integers(0, referrals)))
        )
    left = sum(f[2] for f in forces)
    decisions = {}
    for key in DECISIONS[:3]:
        decisions[key] = draw(st.integers(0, left))
        left -= decisions[key]
    decisions["awaiting_decision"] = left
    return forces, decisions


@settings(max_examples=1500, deadline=None, derandomize=True)
@given(case=linked_reports())
def test_no_small_hidden_count_can_be_pinned(
    case: tuple[list[tuple[str, int, int, int]], dict[str, int]],
) -> None:
    """Everything a reader knows of the report: its sums, eligible and rape referrals
    within each force's referrals, the decisions adding up to eligible, and what the
    median's being shown says of the decisions made."""
    forces, decisions = case
    assert pinned(forces, decisions) == []
