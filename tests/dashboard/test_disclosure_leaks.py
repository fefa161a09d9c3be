"""Figures an oversight viewer could combine on one page view (docs/disclosure-control.md).

Each test reads what the page shows on the hand-made store and checks, by the
arithmetic a reader could do, that no count from 1 to 4 can be worked out; each also
checks that the safe figures are still shown, against the metrics functions.
"""

from __future__ import annotations

import re
from datetime import date
from itertools import combinations, product

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


def _open_tab(open_page, path: str, key: str, tab: str, role: str = "oversight", **kw) -> AppTest:
    at = open_page(path, role, **kw)
    at.session_state[key] = tab
    at.run()
    _ok(at)
    return at


def test_position_against_the_national_rate_is_withheld_with_the_count(open_page) -> None:
    """Essex (2 referrals) sat "above 95% limit", which only a count of 2 could give."""
    at = _open_tab(open_page, "referrals", "referrals_tab", "Against the national rate")
    table = pl.from_pandas(at.dataframe[0].value)
    hidden = table.filter(~pl.col("Referrals").cast(pl.String).str.contains(r"^\d+$"))
    assert hidden.height, "the store has a suppressed force"
    assert set(hidden["Against the national rate"].to_list()) <= {"withheld", None}
    shown = table.filter(pl.col("Referrals").cast(pl.String).str.contains(r"^\d+$"))
    assert "withheld" not in shown["Against the national rate"].to_list()
    rates = table["National rate per 100,000 people"].drop_nulls().to_list()
    assert rates and all(round(r, 1) == r for r in rates)


def test_forecast_is_withheld_when_it_would_give_the_backlog_away(open_page) -> None:
    """The store's backlog is under 5: a clearance date is backlog / rate."""
    at = _open_tab(open_page, "outcomes", "outcomes_tab", "Backlog and forecast")
    texts = [str(i.value) for i in at.info]
    assert any(t.startswith("**Forecast withheld.**") for t in texts), texts
    assert not any("would be cleared around" in t for t in texts)
    # a steward with control off sees the date
    at = _open_tab(
        open_page,
        "outcomes",
        "outcomes_tab",
        "Backlog and forecast",
        role="steward",
        disclosure_off=True,
    )
    assert any("would be cleared around" in str(i.value) for i in at.info)


def test_weekly_throughput_has_no_running_backlog_and_sums_only_shown_weeks(open_page) -> None:
    at = _open_tab(open_page, "outcomes", "outcomes_tab", "Weekly throughput")
    table = pl.from_pandas(at.dataframe[0].value)
    assert table.columns == ["Week starting", "Received", "Decisions", "Covered"]
    title = at.main.markdown[0].value
    last = table.tail(4)
    for column, word in (("Received", "received"), ("Decisions", "decided")):
        cells = last[column].cast(pl.String).to_list()
        m = re.search(rf"([\d,]+|withheld) {word}", title)
        assert m, title
        if all(NUMBER.match(c) for c in cells):
            assert m.group(1) == f"{sum(int(c) for c in cells):,}"
        else:
            assert m.group(1) == "withheld", (title, cells)
    steward = _open_tab(
        open_page,
        "outcomes",
        "outcomes_tab",
        "Weekly throughput",
        role="steward",
        disclosure_off=True,
    )
    assert "Backlog at week end" in pl.from_pandas(steward.dataframe[0].value).columns


def test_decisions_title_quotes_only_protected_national_totals(
    open_page, synthetic_store_url
) -> None:
    """Nationally the store has one decision of each kind: the totals are under 5, so
    the title may not say how many of how many reopened the case."""
    at = _open_tab(open_page, "outcomes", "outcomes_tab", "Decisions by force")
    assert at.main.markdown[0].value == "**Decisions by force (a national total is withheld)**"
    frames = load_store(make_engine(synthetic_store_url))
    mix = outcomes.decision_mix_by_force(frames)
    total = {
        k: int(mix.filter(pl.col("decision") == k)["referrals"].sum())
        for k in ("nfa_upheld", "passed_back_to_force", "adopted_by_nca")
    }
    reopened = total["passed_back_to_force"] + total["adopted_by_nca"]
    at = _open_tab(
        open_page,
        "outcomes",
        "outcomes_tab",
        "Decisions by force",
        role="steward",
        disclosure_off=True,
    )
    expected = f"**{reopened:,} of {sum(total.values()):,} decisions reopened the case**"
    assert at.main.markdown[0].value == expected


def test_rape_total_in_the_text_is_the_tables_protected_total(open_page) -> None:
    at = _open_tab(open_page, "offences", "offences_tab", "Rape priority")
    text = next(str(m.value) for m in at.main.markdown if "allegation of rape" in str(m.value))
    table = pl.from_pandas(at.dataframe[0].value)
    cells = table["Rape referrals"].cast(pl.String).to_list()
    quoted = re.match(r"\*\*([^*]+)\*\*", text).group(1)
    if _n(quoted) is not None:  # a quoted total must not pin a hidden cell
        hidden = [c for c in cells if not NUMBER.match(c)]
        assert len(hidden) != 1, (quoted, cells)


def test_no_busiest_period_is_claimed_over_hidden_ones(open_page) -> None:
    at = _open_tab(open_page, "referrals", "referrals_tab", "Trend")
    table = pl.from_pandas(at.dataframe[0].value)
    cells = table["Referrals"].cast(pl.String).to_list()
    # Every week of the store is <5 but one with none: no week can be called busiest.
    assert set(cells) == {"<5", "0"}
    assert at.main.markdown[0].value == "**Referrals over time**"
    steward = _open_tab(
        open_page, "referrals", "referrals_tab", "Trend", role="steward", disclosure_off=True
    )
    # Unsuppressed, a week is named only when it is busier than every other (no tie).
    weeks = pl.from_pandas(steward.dataframe[0].value)
    counts = [int(c) for c in weeks["Referrals"].cast(pl.String)]
    title = steward.main.markdown[0].value
    if counts.count(max(counts)) == 1:
        assert title.startswith("**Busiest week: beginning ")
        assert title.endswith(f"with {max(counts):,} referrals**")
    else:
        assert title == "**Referrals over time**"


def test_the_threshold_setting_reaches_tables_and_cards(open_page, monkeypatch) -> None:
    """At 10, Kent's 7 referrals show as <10 in the table, and the About page agrees."""
    monkeypatch.setenv("BEACONPORT_DISCLOSURE_THRESHOLD", "10")
    at = open_page("referrals", "oversight")
    _ok(at)
    table = pl.from_pandas(at.dataframe[0].value)
    kent = table.filter(pl.col("Force") == "Kent Police")["Referrals"].to_list()
    assert kent == ["<10"]
    assert "<5" not in table["Referrals"].cast(pl.String).to_list()
    home = open_page("", "oversight")
    cards = {m.label: m.value for m in home.metric}
    assert cards["Involving rape"] == "<10"  # 5 referrals involve rape


@pytest.fixture
def crime_years_store(tmp_path) -> str:
    """Kent: 11 rapes recorded in 2010; 9 rapes and 3 other contact offences in 2011.
    A viewer sees 2010 at 11 and 2011 at 9 + <5: 2011 (12) truly leads, but 2010 looks
    larger when the hidden cell is taken as 0."""
    from data_checks.gate import ingest_file
    from metrics.store import make_engine
    from tests.data_checks.helpers import TODAY, referral, write_csv

    rows = [
        referral(force_referral_id=f"A-{k}", crime_recorded_date="2010-05-01", offence_codes="19D")
        for k in range(11)
    ]
    rows += [
        referral(force_referral_id=f"B-{k}", crime_recorded_date="2011-05-01", offence_codes="19D")
        for k in range(9)
    ]
    rows += [
        referral(force_referral_id=f"C-{k}", crime_recorded_date="2011-05-01", offence_codes="22B")
        for k in range(3)
    ]
    url = f"sqlite:///{tmp_path / 'years.db'}"
    engine = make_engine(url)
    result = ingest_file(
        engine, write_csv(tmp_path / "r.csv", rows), "referrals", synthetic=True, today=TODAY
    )
    assert result.rows_loaded == 23
    engine.dispose()
    return url


def test_the_crime_year_title_names_a_year_only_when_it_surely_leads(
    open_page, crime_years_store
) -> None:
    """The title once ranked years by their shown cells, a hidden one counting as 0, and
    named a year that the unsuppressed figures showed was not the busiest."""

    def title_and_totals(at: AppTest) -> tuple[str, dict[str, str]]:
        titles = [
            m.value
            for m in at.main.markdown
            if m.value.startswith(("**Most referred", "**Referrals by year"))
        ]
        table = pl.from_pandas(at.dataframe[0].value).cast(pl.String)
        groups = [c for c in table.columns if c != table.columns[0]]
        totals = {
            row[0]: "+".join(row[1:]) for row in table.select(table.columns[0], *groups).rows()
        }
        return titles[0], totals

    viewer, shown = title_and_totals(
        _open_tab(open_page, "offences", "offences_tab", "By crime year", url=crime_years_store)
    )
    steward, exact = title_and_totals(
        _open_tab(
            open_page,
            "offences",
            "offences_tab",
            "By crime year",
            role="steward",
            disclosure_off=True,
            url=crime_years_store,
        )
    )
    sums = {year: sum(int(x) for x in cells.split("+")) for year, cells in exact.items()}
    best = max(sums.values())
    unique = [year for year, n in sums.items() if n == best]
    if len(unique) == 1:
        assert steward == f"**Most referred crimes were recorded in {unique[0]}**"
    else:
        assert steward == "**Referrals by year the crime was recorded**"
    if viewer != "**Referrals by year the crime was recorded**":
        # whatever the viewer is told leads must truly lead
        assert (
            len(unique) == 1 and viewer == f"**Most referred crimes were recorded in {unique[0]}**"
        )
    assert sums == {"2010": 11, "2011": 12}
    assert shown["2011"].count("<5") == 1  # the viewer does not see 2011's 3
    assert viewer == "**Referrals by year the crime was recorded**"


@pytest.fixture
def one_force_store(tmp_path) -> str:
    """Kent alone: 21 referrals, 2 of them ineligible (one victim); of the 19 eligible,
    3 no further action upheld, 9 passed back, 7 awaiting a decision. The shape a
    review found leaking across pages: the cards withhold eligible (21 - 2), while
    Outcomes printed 19 as the force's total, and 12 decided beside 9 passed back."""
    from data_checks.gate import ingest_file
    from metrics.store import make_engine
    from tests.data_checks.helpers import EVENT_COLUMNS, TODAY, event, referral, write_csv

    refs = [referral(force_referral_id=f"K-{k}") for k in range(19)]
    refs += [referral(force_referral_id=f"I-{k}", victims_count="1") for k in range(2)]
    events = []
    for k in range(12):
        decision = "nfa_upheld" if k < 3 else "passed_back_to_force"
        events.append(event(f"K-{k}", "assessment_started", "2025-08-05"))
        events.append(event(f"K-{k}", "assessment_completed", "2025-08-20", decision))
    url = f"sqlite:///{tmp_path / 'kent.db'}"
    engine = make_engine(url)
    r = ingest_file(
        engine, write_csv(tmp_path / "r.csv", refs), "referrals", synthetic=True, today=TODAY
    )
    assert (r.rows_loaded, r.rows_ineligible) == (21, 2)
    e = ingest_file(
        engine,
        write_csv(tmp_path / "e.csv", events, EVENT_COLUMNS),
        "events",
        synthetic=True,
        today=TODAY,
    )
    assert e.rows_quarantined == 0
    engine.dispose()
    return url


def test_a_figure_the_cards_withhold_is_withheld_on_outcomes_too(open_page, one_force_store):
    home = open_page("", "oversight", url=one_force_store)
    _ok(home)
    cards = {m.label: str(m.value) for m in home.metric}
    eligible_card = next(v for k, v in cards.items() if k.startswith("Eligible"))
    assert eligible_card == "withheld"  # else 21 - eligible = 2
    # Decisions by force: Kent's total (its eligible referrals) is not printed.
    at = _open_tab(open_page, "outcomes", "outcomes_tab", "Decisions by force", url=one_force_store)
    table = pl.from_pandas(at.dataframe[0].value).cast(pl.String)
    kent = table.filter(pl.col("Force") == "Kent Police").row(0, named=True)
    assert _n(kent["Total"]) is None, kent
    assert _n(kent["No further action upheld"]) is None  # 3
    # Time in stage: the 12 decided (which less the 9 passed back gives the 3) is not.
    at = _open_tab(open_page, "outcomes", "outcomes_tab", "Time in each stage", url=one_force_store)
    stages = pl.from_pandas(at.dataframe[0].value).cast(pl.String)
    decided = stages.filter(pl.col("Stage") == "Referral to decision")["Referrals"][0]
    assert _n(decided) is None, decided
    # Backlog: the 7 awaiting is quoted only as the cards show it.
    at = _open_tab(
        open_page, "outcomes", "outcomes_tab", "Backlog and forecast", url=one_force_store
    )
    awaiting_card = next(v for k, v in cards.items() if k.startswith("Awaiting"))
    texts = " ".join(m.value for m in at.main.markdown)
    assert f"{awaiting_card} eligible referrals await a decision" in texts
    if _n(awaiting_card) is None:
        bands = pl.from_pandas(at.dataframe[0].value).cast(pl.String)["Referrals"].to_list()
        assert any(_n(b) is None for b in bands if b != "0"), bands  # they do not add up to it


@pytest.fixture
def four_single_decisions_store(tmp_path) -> str:
    """Kent alone: 6 referrals, 2 of them ineligible (one victim); of the 4 eligible,
    one of each decision and one awaiting. Each table alone protects it (eligible <5
    of 6; four decisions <5), but four decisions of at least 1 adding up to at most 4
    are each 1, so the eligible would be 4 and the ineligible 2."""
    from data_checks.gate import ingest_file
    from tests.data_checks.helpers import EVENT_COLUMNS, TODAY, event, referral, write_csv

    refs = [referral(force_referral_id=f"K-{k}") for k in range(4)]
    refs += [referral(force_referral_id=f"I-{k}", victims_count="1") for k in range(2)]
    events = []
    for k, decision in enumerate(("nfa_upheld", "passed_back_to_force", "adopted_by_nca")):
        events.append(event(f"K-{k}", "assessment_started", "2025-08-05"))
        events.append(event(f"K-{k}", "assessment_completed", "2025-08-20", decision))
    url = f"sqlite:///{tmp_path / 'four.db'}"
    engine = make_engine(url)
    for feed, rows, columns in (("referrals", refs, None), ("events", events, EVENT_COLUMNS)):
        path = write_csv(tmp_path / f"{feed}.csv", rows, *([columns] if columns else []))
        result = ingest_file(engine, path, feed, synthetic=True, today=TODAY)
        assert result.rows_quarantined == 0
    engine.dispose()
    return url


def test_the_cards_withhold_the_eligible_that_four_small_decisions_would_pin(
    open_page, four_single_decisions_store
) -> None:
    values = progress.headline_figures(
        load_store(make_engine(four_single_decisions_store)), Filters()
    )
    assert (values["referrals"], values["eligible"], values["awaiting_decision"]) == (6, 4, 1)
    home = open_page("", "oversight", url=four_single_decisions_store)
    _ok(home)
    cards = {m.label: str(m.value) for m in home.metric}
    assert cards["Referrals received"] == "6"
    assert cards["Eligible"] == "withheld"
    assert cards["Awaiting decision"] == "<5"
    assert cards["Passed back to force"] == "<5"
    # Outcomes follows the cards: neither Kent's total nor the decided count is printed.
    at = _open_tab(
        open_page, "outcomes", "outcomes_tab", "Decisions by force", url=four_single_decisions_store
    )
    kent = pl.from_pandas(at.dataframe[0].value).cast(pl.String).row(0, named=True)
    assert _n(kent["Total"]) is None, kent
    at = _open_tab(
        open_page, "outcomes", "outcomes_tab", "Time in each stage", url=four_single_decisions_store
    )
    stages = pl.from_pandas(at.dataframe[0].value).cast(pl.String)
    assert _n(stages.filter(pl.col("Stage") == "Referral to decision")["Referrals"][0]) is None
    # A steward with suppression off sees the figures themselves.
    steward = open_page("", "steward", url=four_single_decisions_store, disclosure_off=True)
    cards = {m.label: str(m.value) for m in steward.metric}
    assert (cards["Eligible"], cards["Awaiting decision"]) == ("4", "1")


# ----------------------------------------------------------------- offence types
def _small_store(tmp_path, name: str, refs: list[dict], events: list[dict] = ()) -> str:
    from data_checks.gate import ingest_file
    from tests.data_checks.helpers import EVENT_COLUMNS, TODAY, write_csv

    url = f"sqlite:///{tmp_path / f'{name}.db'}"
    engine = make_engine(url)
    path = write_csv(tmp_path / f"{name}-r.csv", refs)
    assert ingest_file(engine, path, "referrals", synthetic=True, today=TODAY).rows_quarantined == 0
    if events:
        path = write_csv(tmp_path / f"{name}-e.csv", list(events), EVENT_COLUMNS)
        result = ingest_file(engine, path, "events", synthetic=True, today=TODAY)
        assert result.rows_quarantined == 0
    engine.dispose()
    return url


def _coverage_pins(table: pl.DataFrame, most: int | None, cap: int = 40) -> list[str]:
    """The hidden small counts of an offence table (``Referrals`` and ``% of
    referrals`` by row) that a reader can pin, by brute force: the total N is any
    number every shown percentage rounds to (any number when none is shown); every
    referral has a code, so the rows add up to at least N (and at most ``most`` times
    N), none above N; a ``<5`` is 1 to 4, a ``withheld`` at least 5."""
    rows = list(table.select(pl.all().cast(pl.String)).iter_rows())
    label, count, pct = 0, -2, -1
    shown = [(int(r[count]), float(r[pct])) for r in rows if _n(r[count]) and _n(r[count]) > 0]
    totals = [
        n
        for n in range(1, cap + 1)
        if all(c <= n and abs(100 * c / n - p) <= 0.05 + 1e-9 for c, p in shown)
    ]
    known = sum(int(r[count]) for r in rows if _n(r[count]) is not None)
    hidden = [r for r in rows if _n(r[count]) is None]
    ranges = [range(1, 5) if r[count] == "<5" else range(5, cap + 1) for r in hidden]
    seen: list[set[int]] = [set() for _ in hidden]
    for n in totals:
        for values in product(*ranges):
            total = known + sum(values)
            if max(values, default=0) <= n and total >= n and (most is None or total <= most * n):
                for s, v in zip(seen, values, strict=True):
                    s.add(v)
    return [r[label] for r, s in zip(hidden, seen, strict=True) if r[count] == "<5" and len(s) == 1]


@pytest.mark.parametrize(
    ("tab", "most"), [("Offence groups", 4), ("Home Office codes", None)], ids=["groups", "codes"]
)
def test_offence_tables_hide_what_every_referral_having_a_code_would_pin(
    open_page, tmp_path, tab, most
) -> None:
    """9 referrals: 5 rape only, 4 other contact only. "5 (55.6%)" gave the total 9, and
    every referral has a code, so the <5 was at least 9 - 5 = 4."""
    from tests.data_checks.helpers import referral

    refs = [referral(force_referral_id=f"R-{k}", offence_codes="19D") for k in range(5)]
    refs += [referral(force_referral_id=f"O-{k}", offence_codes="22B") for k in range(4)]
    url = _small_store(tmp_path, "nine", refs)
    at = _open_tab(open_page, "offences", "offences_tab", tab, url=url)
    table = pl.from_pandas(at.dataframe[0].value).cast(pl.String)
    assert "<5" in table["Referrals"].to_list()
    assert _coverage_pins(table, most) == []
    title = at.main.markdown[0].value
    assert "5 referrals" not in title and "55" not in title, title
    # The steward's view is the truth the page hides.
    steward = _open_tab(
        open_page, "offences", "offences_tab", tab, role="steward", url=url, disclosure_off=True
    )
    exact = pl.from_pandas(steward.dataframe[0].value).cast(pl.String)
    assert sorted(v for v in exact["Referrals"].to_list() if v != "0") == ["4", "5"]


def test_offence_groups_still_show_what_nothing_pins(open_page, tmp_path) -> None:
    """20 referrals: 12 rape only, 3 other contact only, 5 with both. The other
    contact 8 and the rape 17 cover 20 with room to spare: nothing more is withheld."""
    from tests.data_checks.helpers import referral

    refs = [referral(force_referral_id=f"R-{k}", offence_codes="19D") for k in range(12)]
    refs += [referral(force_referral_id=f"O-{k}", offence_codes="22B") for k in range(3)]
    refs += [referral(force_referral_id=f"B-{k}", offence_codes="19D;22B") for k in range(5)]
    url = _small_store(tmp_path, "twenty", refs)
    at = _open_tab(open_page, "offences", "offences_tab", "Offence groups", url=url)
    table = pl.from_pandas(at.dataframe[0].value).cast(pl.String)
    shown = dict(zip(table["Offence group"], table["Referrals"], strict=True))
    assert shown["Rape"] == "17" and shown["Other contact sexual offence"] == "8"
    assert at.main.markdown[0].value == "**17 referrals (85%) include a rape offence**"
    assert _coverage_pins(table, 4) == []


def test_rape_priority_does_not_give_a_forces_referrals_away(open_page, tmp_path) -> None:
    """Essex 5 referrals, all rape; Surrey 1, not rape. "5 of 6" beside Essex 5 and
    Surrey 0 gave Surrey (listed, so at least 1 referral) exactly 1."""
    from tests.data_checks.helpers import referral

    refs = [
        referral(force_referral_id=f"E-{k}", force="Essex Police", offence_codes="19D")
        for k in range(5)
    ]
    refs.append(referral(force_referral_id="S-1", force="Surrey Police", offence_codes="22B"))
    url = _small_store(tmp_path, "essex", refs)
    at = _open_tab(open_page, "offences", "offences_tab", "Rape priority", url=url)
    text = next(m.value for m in at.main.markdown if "allegation of rape" in m.value)
    table = pl.from_pandas(at.dataframe[0].value).cast(pl.String)
    rape = dict(zip(table["Force"], table["Rape referrals"], strict=True))
    total = re.match(r"\*\*(.+?)\*\* of \*\*(.+?)\*\*", text).group(2)
    # The reader's arithmetic, by brute force: each listed force has at least one
    # referral and at least its rape referrals; they add up to the total quoted.
    surrey = set()
    for essex_n, surrey_n in product(range(1, 40), repeat=2):
        floors = [_n(rape["Essex Police"]) or 0, _n(rape["Surrey Police"]) or 0]
        if essex_n < floors[0] or surrey_n < floors[1]:
            continue
        t = essex_n + surrey_n
        if (_n(total) is not None and t != _n(total)) or (total == "withheld" and t < 5):
            continue
        surrey.add(surrey_n)
    assert len(surrey) > 1, (text, rape)
    assert rape == {"Essex Police": "5", "Surrey Police": "0"}  # still shown


def test_the_pair_of_themes_named_together_surely_leads(open_page, tmp_path) -> None:
    """Kent: 6 referrals assessed; records incomplete on 5, lines of inquiry on 1 of
    those. The only pair found together is <5, every other pair 0: the title named a
    pair with "0 referrals" as the most often together (it ranked the shown pairs
    only); it must name the <5 pair, which surely leads, or none."""
    from tests.data_checks.helpers import event, referral

    refs = [referral(force_referral_id=f"K-{k}") for k in range(6)]
    events = []
    for k in range(6):
        events.append(event(f"K-{k}", "assessment_started", "2025-08-05"))
        events.append(event(f"K-{k}", "assessment_completed", "2025-08-20", "passed_back_to_force"))
        if k < 5:
            events.append(event(f"K-{k}", "learning_theme", "2025-08-20", "records_incomplete"))
    events.append(event("K-0", "learning_theme", "2025-08-20", "lines_of_inquiry_not_followed"))
    url = _small_store(tmp_path, "themes", refs, events)
    at = _open_tab(open_page, "learning", "learning_tab", "Found together", url=url)
    pair = "lines of inquiry not followed and records incomplete or inaccurate"
    titles = [m.value.replace("\\<", "<") for m in at.main.markdown]
    assert f"**Most often together: {pair} (<5 referrals)**" in titles, titles
    steward = _open_tab(
        open_page,
        "learning",
        "learning_tab",
        "Found together",
        role="steward",
        url=url,
        disclosure_off=True,
    )
    titles = [m.value for m in steward.main.markdown]
    assert f"**Most often together: {pair} (1 referral)**" in titles, titles


def test_outcomes_and_the_cards_together_do_not_pin_a_decision(open_page, tmp_path) -> None:
    """Kent alone (as a force filter gives): 57 referrals, 6 ineligible; of the 51
    eligible, 10 upheld, 10 passed back, 3 adopted, 28 awaiting. The cards print the
    eligible 51; Outcomes printed 10, 10, <5 and 28 with the force's total withheld,
    and 51 - 10 - 10 - 28 gave the 3. A review found it on the demo's Lancashire."""
    from tests.data_checks.helpers import event, referral

    refs = [referral(force_referral_id=f"K-{k}") for k in range(51)]
    refs += [referral(force_referral_id=f"I-{k}", victims_count="1") for k in range(6)]
    decisions = ["nfa_upheld"] * 10 + ["passed_back_to_force"] * 10 + ["adopted_by_nca"] * 3
    events = []
    for k, decision in enumerate(decisions):
        events.append(event(f"K-{k}", "assessment_started", "2025-08-05"))
        events.append(event(f"K-{k}", "assessment_completed", "2025-08-20", decision))
    url = _small_store(tmp_path, "kent51", refs, events)
    home = open_page("", "oversight", url=url)
    _ok(home)
    cards = {m.label: str(m.value) for m in home.metric}
    at = _open_tab(open_page, "outcomes", "outcomes_tab", "Decisions by force", url=url)
    row = pl.from_pandas(at.dataframe[0].value).cast(pl.String).row(0, named=True)
    labels = [
        "No further action upheld",
        "Passed back to force",
        "Adopted by the NCA",
        "Awaiting decision",
    ]
    cells = [row[k] for k in labels]
    assert "<5" in cells
    # The reader's arithmetic, by brute force: the cells add up to the force's total
    # and to the cards' eligible (one force in view); a <5 is 1 to 4, withheld 5 on.
    eligible = _n(cards["Eligible"])
    total = _n(row["Total"]) if _n(row["Total"]) is not None else eligible
    ranges = [
        [_n(c)] if _n(c) is not None else (range(1, 5) if c == "<5" else range(5, 80))
        for c in cells
    ]
    possible = [set() for _ in cells]
    for combo in product(*ranges):
        if total is None or sum(combo) == total:
            for s, v in zip(possible, combo, strict=True):
                s.add(v)
    for cell, values in zip(cells, possible, strict=True):
        if cell == "<5":
            assert len(values) > 1, (cells, cards["Eligible"], row["Total"])
    # What is not needed to protect the 3 is still shown.
    assert row["Awaiting decision"] == "28" or cards["Awaiting decision"] == "28"


def test_the_learning_by_force_title_counts_only_forces_it_surely_leads(
    open_page, tmp_path
) -> None:
    """Kent: 6 assessed, records incomplete on 5 and lines of inquiry on 1: records
    incomplete surely leads. Essex: 6 assessed, each theme on 2 (<5 both): no sure
    leader, so the title counts 1 of 2 forces, for the steward too (a tie)."""
    from tests.data_checks.helpers import event, referral

    refs = [referral(force_referral_id=f"K-{k}") for k in range(6)]
    refs += [referral(force_referral_id=f"E-{k}", force="Essex Police") for k in range(6)]
    events = []
    for force, prefix in (("Kent Police", "K"), ("Essex Police", "E")):
        for k in range(6):
            ref = f"{prefix}-{k}"
            events.append(event(ref, "assessment_started", "2025-08-05", force=force))
            events.append(
                event(ref, "assessment_completed", "2025-08-20", "passed_back_to_force", force)
            )
    for k in range(5):
        events.append(event(f"K-{k}", "learning_theme", "2025-08-20", "records_incomplete"))
    events.append(event("K-5", "learning_theme", "2025-08-20", "lines_of_inquiry_not_followed"))
    for k, theme in enumerate(["records_incomplete"] * 2 + ["lines_of_inquiry_not_followed"] * 2):
        events.append(event(f"E-{k}", "learning_theme", "2025-08-20", theme, "Essex Police"))
    url = _small_store(tmp_path, "two-forces", refs, events)
    expected = "**Records incomplete or inaccurate is the clear top theme in 1 of 2 forces**"
    for role, off in (("oversight", False), ("steward", True)):
        at = _open_tab(
            open_page,
            "learning",
            "learning_tab",
            "By force",
            role=role,
            url=url,
            disclosure_off=off,
        )
        assert at.main.markdown[0].value == expected, (role, at.main.markdown[0].value)
