"""Figures published together, audited as one linked set.

``metrics.disclosure`` protects a table against its own totals. Figures from different
tables can still be linked by what a reader knows of the counts themselves: a force
cannot have more rape referrals than referrals; the decisions add up to the eligible
total printed in another table; a median shown only over five or more decisions says
how many there were. Put together, such links can pin a hidden count that each table
alone protects.

This module works out exactly what a reader can conclude from a set of printed figures
and those links, and withholds more figures until no hidden count of 1 to
``threshold - 1`` is pinned to its true value. "Exactly" here means integer linear
programming (``scipy.optimize.milp``, the HiGHS solver): for each hidden small count it
asks whether any whole-number assignment consistent with everything printed gives it
another value.

What the reader is taken to know (the same as ``metrics.disclosure``): every printed
number; that a ``<5`` is 1 to ``threshold - 1``; that a ``withheld`` count is at least
``threshold``; that counts are whole numbers of at least 0; and the linear links the
caller declares. A ``withheld`` figure is really at least the threshold except in one
rare case (a small total withheld in a degenerate line, see ``metrics.disclosure``), so
the audit takes two readings: if the reader's belief ("every withheld is at least 5")
admits some assignment, that reading is checked, and a hidden count is pinned when the
reading leaves it only its true value; if it admits none, the reader knows the belief
is wrong and can only use that a ``withheld`` figure is at least 1.

The audit withholds figures of at least the threshold, and, only when those cannot
unpin a count, small totals the caller names (never a zero); that is when the second
reading matters.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from metrics.disclosure import DEFAULT, WITHHELD, DisclosureConfig

#: What a figure shows: its number, the primary marker (``"<5"``), ``"withheld"``, or
#: None when it is not printed at all (the reader knows only that it is at least 0).
Shown = int | str | None


@dataclass(frozen=True)
class Link:
    """A linear fact a reader knows: ``low <= sum(coefficient * figure) <= high``."""

    terms: Mapping[str, int]
    low: float = -np.inf
    high: float = np.inf


def sums_to(parts: Sequence[str], total: str) -> Link:
    """The parts add up to the total."""
    terms = {p: 1 for p in parts}
    terms[total] = terms.get(total, 0) - 1
    return Link(terms, 0, 0)


def at_most(smaller: str, larger: str) -> Link:
    """``smaller`` is never more than ``larger`` (rape referrals within referrals)."""
    return Link({smaller: 1, larger: -1}, high=0)


def sum_between(parts: Sequence[str], low: float, high: float) -> Link:
    """The parts add up to a number from ``low`` to ``high``."""
    return Link({p: 1 for p in parts}, low, high)


@dataclass
class LinkedFigures:
    """Figures published together: their true ``values``, what each shows (``shown``,
    one entry per value) and the ``links`` a reader knows between them."""

    values: Mapping[str, int]
    shown: dict[str, Shown]
    links: list[Link] = field(default_factory=list)

    def __post_init__(self) -> None:
        if set(self.values) != set(self.shown):
            raise ValueError("every figure needs a true value and what it shows")
        for link in self.links:
            unknown = set(link.terms) - set(self.values)
            if unknown:
                raise ValueError(f"a link names unknown figures: {sorted(unknown)}")
            total = sum(c * self.values[n] for n, c in link.terms.items())
            if not link.low <= total <= link.high:
                # the audit reasons from the truth being one of the reader's answers
                raise ValueError(f"the true values break a link: {dict(link.terms)}")


class _Reader:
    """What a reader can conclude from ``shown``: the integer programme over every
    figure, under either reading of ``withheld``."""

    def __init__(self, figures: LinkedFigures, shown: Mapping[str, Shown], cfg: DisclosureConfig):
        self.names = list(figures.values)
        self.index = {n: k for k, n in enumerate(self.names)}
        t = cfg.threshold
        # Room enough above every true value that "no upper limit" is never the limit.
        self.ceiling = float(2 * sum(figures.values.values()) + 2 * t + 10)
        self.constraint = self._constraint(figures.links)
        self.low = {}
        self.high = {}
        for reading in ("word", "at least 1"):
            low, high = np.zeros(len(self.names)), np.full(len(self.names), self.ceiling)
            for k, name in enumerate(self.names):
                s = shown[name]
                if isinstance(s, int):
                    low[k] = high[k] = s
                elif s == cfg.primary_marker:
                    low[k], high[k] = 1, t - 1
                elif s == WITHHELD:
                    low[k] = t if reading == "word" else 1
                elif s is not None:
                    raise ValueError(f"{name}: cannot read {s!r}")
            self.low[reading], self.high[reading] = low, high
        self.reading = "word" if self._feasible(*self._bounds("word")) else "at least 1"

    def _constraint(self, links: list[Link]) -> object:
        from scipy.optimize import LinearConstraint  # only when something is audited

        if not links:
            return None
        matrix = np.zeros((len(links), len(self.names)))
        for i, link in enumerate(links):
            for name, coefficient in link.terms.items():
                matrix[i, self.index[name]] += coefficient
        return LinearConstraint(matrix, [link.low for link in links], [link.high for link in links])

    def _bounds(self, reading: str) -> tuple[np.ndarray, np.ndarray]:
        return self.low[reading].copy(), self.high[reading].copy()

    def _feasible(self, low: np.ndarray, high: np.ndarray) -> bool:
        from scipy.optimize import Bounds, milp

        if np.any(low > high):
            return False
        result = milp(
            np.zeros(len(self.names)),
            integrality=np.ones(len(self.names)),
            bounds=Bounds(low, high),
            constraints=[self.constraint] if self.constraint is not None else [],
        )
        if result.status not in (0, 2):  # 0 feasible, 2 infeasible; anything else is a fault
            raise RuntimeError(f"disclosure audit: the solver stopped ({result.message})")
        return result.status == 0

    def pinned(self, name: str, truth: int) -> bool:
        """Whether the reader's reading leaves ``name`` its true value and no other."""
        k = self.index[name]
        low, high = self._bounds(self.reading)
        for lo, hi in ((low[k], truth - 1), (truth + 1, high[k])):
            trial_low, trial_high = low.copy(), high.copy()
            trial_low[k], trial_high[k] = lo, hi
            if self._feasible(trial_low, trial_high):
                return False
        if self.reading == "at least 1":
            return True  # the truth is always consistent with this reading
        low[k] = high[k] = truth
        return self._feasible(low, high)


def pinned_figures(
    figures: LinkedFigures,
    cfg: DisclosureConfig = DEFAULT,
    shown: Mapping[str, Shown] | None = None,
) -> list[str]:
    """The hidden figures of 1 to ``threshold - 1`` that a reader can pin to their true
    value from ``shown`` (default: ``figures.shown``) and the links, in order."""
    return list(_pinned(figures, cfg, figures.shown if shown is None else shown))


def _pinned(
    figures: LinkedFigures, cfg: DisclosureConfig, shown: Mapping[str, Shown]
) -> Iterator[str]:
    """``pinned_figures`` one at a time, so a caller needing only the first stops there."""
    hidden = [
        name
        for name, value in figures.values.items()
        if not isinstance(shown[name], int) and cfg.is_primary(value)
    ]
    if not hidden:  # nothing small is hidden (the usual case): no solver needed
        return
    reader = _Reader(figures, shown, cfg)
    yield from (name for name in hidden if reader.pinned(name, figures.values[name]))


def protect_linked(
    figures: LinkedFigures,
    candidates: Sequence[str],
    cfg: DisclosureConfig = DEFAULT,
    last_resort: Sequence[str] = (),
) -> dict[str, Shown]:
    """What each figure may show: ``figures.shown`` with more figures withheld until no
    hidden small count is pinned (``pinned_figures`` is empty), or until nothing more
    can be withheld.

    Only ``candidates`` printed as a number of at least the threshold are withheld, in
    the order given (the caller's preference, e.g. a force's figures before a national
    headline), then, when those are not enough, ``last_resort`` figures shown as ``<5``
    (totals, as ``metrics.disclosure`` withholds a small total that would pin its
    parts: ``withheld`` then says nothing of its size). Never a zero. For each pinned
    figure, in order, the first of them that alone unpins it is withheld; when none
    does, they are withheld in order until it is unpinned, and then those not needed
    are shown again. Every round audits every figure again; each withholds at least one
    more figure or gives up on one (when withholding them all would not unpin it), so
    the loop ends.
    """
    shown = dict(figures.shown)
    hopeless: set[str] = set()
    t = cfg.threshold

    def is_pinned(name: str, trial: Mapping[str, Shown]) -> bool:
        return _Reader(figures, trial, cfg).pinned(name, figures.values[name])

    while True:
        target = next((n for n in _pinned(figures, cfg, shown) if n not in hopeless), None)
        if target is None:
            return shown
        before = dict(shown)
        choices = [c for c in candidates if isinstance(shown[c], int) and shown[c] >= t]
        choices += [c for c in last_resort if shown[c] == cfg.primary_marker]
        for c in choices:
            trial = shown | {c: WITHHELD}
            if not is_pinned(target, trial):
                shown = trial
                break
        else:
            added: list[str] = []
            for c in choices:
                shown[c] = WITHHELD
                added.append(c)
                if not is_pinned(target, shown):
                    break
            else:
                shown = before  # withholding them all is not enough: show them again
                hopeless.add(target)
                continue
            for c in reversed(added[:-1]):
                trial = shown | {c: before[c]}
                if not is_pinned(target, trial):
                    shown = trial
