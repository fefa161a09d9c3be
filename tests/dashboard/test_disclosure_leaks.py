"""Figures an oversight viewer could combine on one page view (docs/disclosure-control.md).

Each test reads what the page shows on the hand-made store and checks, by the
arithmetic a reader could do, that no count from 1 to 4 can be worked out; each also
checks that the safe figures are still shown, against the metrics functions.
"""

from __future__ import annotations

import re
from datetime import date
from itertools import combinations

import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

from metrics import outcomes, progress
from metrics.filters import Filters
from metrics.frames import load_store
from metrics.store import make_engine
from tests.dashboard.conftest import page_failures

pytestmark = pytest.mark.sqlite

NUMBER = re.compile(r"^\d[\d,]*$")


def _n(text: str) -> int | None:
    return int(text.replace(",", "")) if NUMBER.match(text) else None


def _ok(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not page_failures(at), page_failures(at)


def test_funnel_stages_never_differ_by_1_to_4(open_page, synthetic_store_url) -> None:
    at = open_page("", "oversight")
    at.session_state["progress_tab"] = "From referral to charge"
    at.run()
    _ok(at)
    table = pl.from_pandas(at.dataframe[0].value)
    shown = dict(zip(table["Stage"], table["Referrals"].cast(pl.String), strict=True))
    true = outcomes.outcome_funnel(load_store(make_engine(synthetic_store_url)))
    true = dict(zip(true["label"], true["referrals"], strict=True))
    exact = {k: _n(v) for k, v in shown.items() if _n(v) is not None}
    assert exact, "no stage is shown at all"
    for stage, value in exact.items():
        assert value == true[stage]
    for a, b in combinations(list(exact), 2):  # stages nest: every gap is a count
        assert not 0 < abs(exact[a] - exact[b]) < 5, (a, b, exact)
    # The cards agree with the funnel: none gives a stage the funnel withholds.
    cards = {m.label: m.value for m in at.metric}
    assert cards["Eligible"] == shown["Eligible"]
    assert cards["Referrals received"].replace(",", "") == shown["Referrals received"]
    # and the title quotes only what the funnel shows
    title = at.main.markdown[0].value if at.main.markdown else ""
    for number in re.findall(r"\d+", title):
        assert int(number) in exact.values(), title


@pytest.mark.parametrize("since", [date(2025, 1, 1), date(2025, 1, 15), date(2025, 2, 15)])
def test_change_since_never_gives_away_a_figure(open_page, synthetic_store_url, since) -> None:
    """Value minus change is the figure on the chosen day: it must not be 1 to 4, and a
    card that is withheld or <5 must not carry a number as its change."""
    at = open_page("", "oversight")
    at.date_input(key="progress_since").set_value(since).run()
    _ok(at)
    frames = load_store(make_engine(synthetic_store_url))
    table = progress.headline_progress(frames, Filters(), since=since)
    shown_any = False
    for metric in at.metric:
        if metric.label == "Forces referring":
            continue
        value, delta = _n(str(metric.value)), str(metric.proto.delta)
        change = _n(delta.lstrip("+-")) if delta[:1] in "+-" else None
        if value is None:
            assert change is None, (metric.label, metric.value, delta)
            continue
        if change is not None:
            shown_any = True
            sign = -1 if delta.startswith("-") else 1
            assert not 0 < value - sign * change < 5, (metric.label, value, delta)
            assert not 0 < change < 5, (metric.label, delta)
    referrals = table.filter(pl.col("measure") == "referrals").row(0, named=True)
    if referrals["value_at_since"] >= 5 and referrals["change"] >= 5:
        assert shown_any, "a safe change should still be shown"
