"""Every page under every role, through Streamlit's AppTest, against the hand-made store
(tests/dashboard/store.py)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import date

import pandas as pd
import polars as pl
import pytest
from sqlalchemy import func, select
from streamlit.testing.v1 import AppTest

from dashboard.auth import PAGE_ROLES, ROLES, may_view
from dashboard.components.banners import PAGE_FAILED
from metrics import outcomes, progress, reference, volumes
from metrics.filters import Filters
from metrics.frames import load_store
from metrics.store import make_engine
from tests.dashboard.conftest import every_tab, page_failures

pytestmark = pytest.mark.sqlite

PAGES = list(PAGE_ROLES)
REFUSAL = "You do not have access to this page"
OpenPage = Callable[..., AppTest]


def _texts(at: AppTest) -> list[str]:
    return [
        str(e.value)
        for kind in ("markdown", "caption", "warning", "error", "info", "success")
        for e in getattr(at, kind)
    ]


def _no_exception(at: AppTest) -> None:
    assert not at.exception, [(e.value, e.stack_trace) for e in at.exception]
    assert not page_failures(at), page_failures(at)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("page", PAGES)
def test_every_page_under_every_role(
    open_page: OpenPage, synthetic_store_url: str, page: str, role: str
) -> None:
    if may_view(role, page):
        at = open_page(page, role)
        _no_exception(at)
        assert not any(REFUSAL in str(e.value) for e in at.error)
        assert any("SYNTHETIC DATA" in str(w.value) for w in at.warning), "synthetic banner"
        assert at.title, "page drew its title"
        for _label in every_tab(at, page):
            _no_exception(at)
            assert at.title
        return
    # A link to it reaches the page, which refuses on the server and says why: no
    # table, card or chart, nor the page's disclosure line ...
    at = open_page(page, role)
    _no_exception(at)
    assert any(REFUSAL in str(e.value) for e in at.error)
    assert not at.dataframe and not at.metric and not at.get("plotly_chart")
    assert not at.title
    assert not any("disclosure controlled" in str(i.value) for i in at.info)
    # ... and it is not in this role's navigation.
    from dashboard.navigation import page_visibility

    assert dict(page_visibility(role))[page] == "hidden"
    # The page's own file refuses too, run without the app around it.
    from tests.dashboard.conftest import APP, VIEWS

    at = AppTest.from_file(str(APP.parent / VIEWS[page]), default_timeout=30)
    at.session_state["bp_role"] = role
    at.run()
    assert not at.exception
    assert any(REFUSAL in str(e.value) for e in at.error)


@pytest.mark.parametrize("role", ROLES)
def test_navigation_shows_only_permitted_pages(role: str) -> None:
    """Every page is routed (so a link to a refused page reaches its refusal); the
    navigation lists only the role's own, in the documented order."""
    from dashboard.navigation import PAGES as NAV
    from dashboard.navigation import page_visibility

    assert list(NAV) == PAGES
    pages = page_visibility(role)
    assert [path for path, _ in pages] == PAGES
    shown = [path for path, visibility in pages if visibility == "visible"]
    expected = {
        "oversight": [p for p in PAGES if p != "data-quality"],
        "programme": [p for p in PAGES if p != "data-quality"],
        "steward": PAGES,
        "admin": PAGES,
    }
    assert shown == expected[role]


@pytest.mark.parametrize("role", ["oversight", "programme"])
def test_page_refuses_wrong_role_before_computing(
    monkeypatch: pytest.MonkeyPatch, synthetic_store_url: str, role: str
) -> None:
    """Run the data-quality page file directly (as a crafted URL would): it refuses on
    the server before reading anything."""
    import metrics.store

    def forbidden(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("the page computed before checking the role")

    monkeypatch.setattr(metrics.store, "read_quarantine", forbidden)
    monkeypatch.setattr(metrics.store, "read_submissions", forbidden)
    monkeypatch.setattr("dashboard.data.load_store", forbidden)
    monkeypatch.setenv("BEACONPORT_DB_URL", synthetic_store_url)
    from tests.dashboard.conftest import APP

    at = AppTest.from_file(str(APP.parent / "views" / "data_quality.py"), default_timeout=30)
    at.session_state["bp_role"] = role
    at.run()
    assert not at.exception
    assert any(REFUSAL in str(e.value) for e in at.error)
    assert not at.dataframe and not at.metric


@pytest.mark.parametrize("role", ["oversight", "programme"])
def test_a_link_to_a_refused_page_reads_none_of_its_figures(
    open_page: OpenPage, monkeypatch: pytest.MonkeyPatch, role: str
) -> None:
    """Through the app (a link to /data-quality): the page is reached, refuses, and
    neither it nor the app's read-ahead reads the quarantine or the files received."""
    import metrics.store

    def forbidden(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("the refused page's figures were read")

    monkeypatch.setattr(metrics.store, "read_quarantine", forbidden)
    monkeypatch.setattr(metrics.store, "read_submissions", forbidden)
    at = open_page("data-quality", role)
    _no_exception(at)
    assert any(REFUSAL in str(e.value) for e in at.error)
    assert not at.dataframe and not at.metric


def test_signed_out_person_sees_only_the_sign_in_form(open_page: OpenPage) -> None:
    at = open_page("", None)
    _no_exception(at)
    assert [t.value for t in at.text_input] == ["", ""]
    assert not at.metric and not at.dataframe


def _store_with_olive(path) -> tuple[str, object]:
    """A hand-made store at ``path`` with one user, olive (oversight): URL and engine."""
    from dashboard.auth import add_user
    from tests.dashboard.store import insert_dashboard_store

    url = f"sqlite:///{path}"
    engine = make_engine(url)
    insert_dashboard_store(engine)
    add_user(engine, "olive", "oversight", "correct horse battery", actor="test")
    return url, engine


def test_sign_in_with_a_user(open_page: OpenPage, tmp_path) -> None:
    url, _engine = _store_with_olive(tmp_path / "signin.db")
    at = open_page("", None, url=url)
    at.text_input[0].input("olive")
    at.text_input[1].input("wrong password!!")
    at.button[0].click().run()
    assert any("do not match" in str(e.value) for e in at.error)
    at.text_input[1].input("correct horse battery")
    at.button[0].click().run()
    _no_exception(at)
    assert at.title[0].value == "Progress of the review"
    assert at.session_state["bp_role"] == "oversight"


def test_sign_in_form_says_when_a_locked_name_may_try_again(open_page: OpenPage, tmp_path) -> None:
    from dashboard.auth import MAX_FAILED_SIGN_INS, SIGN_IN_LOCKOUT
    from metrics.store import audit_t

    url, engine = _store_with_olive(tmp_path / "locked.db")
    at = open_page("", None, url=url)
    at.text_input[0].input("olive")
    for _ in range(MAX_FAILED_SIGN_INS):
        at.text_input[1].input("wrong password!!")
        at.button[0].click().run()
    at.text_input[1].input("correct horse battery")
    at.button[0].click().run()
    _no_exception(at)
    with engine.connect() as conn:
        first_failure = conn.execute(
            select(func.min(audit_t.c.at)).where(audit_t.c.action == "sign_in_refused")
        ).scalar_one()
    until = first_failure + SIGN_IN_LOCKOUT
    assert [str(e.value) for e in at.error] == [
        f"Too many refused sign-ins with this user name. Try again after {until:%H:%M} UTC."
    ]
    assert "bp_role" not in at.session_state


def _signed_in_as_olive(open_page: OpenPage, url: str) -> AppTest:
    at = open_page("", None, url=url)
    at.text_input[0].input("olive")
    at.text_input[1].input("correct horse battery")
    at.button[0].click().run()
    assert at.title[0].value == "Progress of the review"
    return at


def test_disabling_an_account_signs_its_open_session_out(open_page: OpenPage, tmp_path) -> None:
    from dashboard.auth import disable_user

    url, engine = _store_with_olive(tmp_path / "disabled.db")
    at = _signed_in_as_olive(open_page, url)
    disable_user(engine, "olive", actor="test")
    at.switch_page("views/referrals.py").run()
    _no_exception(at)
    assert [str(i.value) for i in at.info] == [
        "Your account is no longer active. Ask an administrator."
    ]
    assert not at.metric and not at.dataframe
    assert "bp_role" not in at.session_state and "bp_user" not in at.session_state


def test_a_changed_role_takes_effect_at_the_next_click(open_page: OpenPage, tmp_path) -> None:
    from sqlalchemy import update

    from metrics.store import transaction, users_t

    url, engine = _store_with_olive(tmp_path / "role.db")
    with transaction(engine) as conn:
        conn.execute(update(users_t).where(users_t.c.username == "olive").values(role="steward"))
    at = _signed_in_as_olive(open_page, url)
    assert at.session_state["bp_role"] == "steward"
    at.toggle[0].set_value(True).run()  # a steward switches control off ...
    from dashboard.components.banners import DISCLOSURE_OFF

    assert DISCLOSURE_OFF in [str(e.value) for e in at.error]
    with transaction(engine) as conn:
        conn.execute(update(users_t).where(users_t.c.username == "olive").values(role="oversight"))
    at.switch_page("views/offences.py").run()
    # ... and, made an oversight viewer, is back under control, without the switch.
    assert at.session_state["bp_role"] == "oversight"
    assert not at.toggle
    assert DISCLOSURE_OFF not in [str(e.value) for e in at.error]
    at.switch_page("views/data_quality.py").run()  # ... and refused the steward's page
    assert any(REFUSAL in str(e.value) for e in at.error)
    assert not at.dataframe and not at.metric


def test_a_session_ends_after_its_lifetime(open_page: OpenPage, tmp_path) -> None:
    from dashboard.auth import SESSION_LIFETIME
    from dashboard.session import SIGNED_IN_AT_KEY

    url, _engine = _store_with_olive(tmp_path / "lifetime.db")
    at = _signed_in_as_olive(open_page, url)
    started = at.session_state[SIGNED_IN_AT_KEY]
    at.session_state[SIGNED_IN_AT_KEY] = started - SESSION_LIFETIME.total_seconds() + 60
    at.run()  # a minute before the end: still signed in
    assert at.title[0].value == "Progress of the review"
    at.session_state[SIGNED_IN_AT_KEY] = started - SESSION_LIFETIME.total_seconds() - 1
    at.run()
    assert [str(i.value) for i in at.info] == ["Your session has ended. Please sign in again."]
    assert not at.metric


def _frames(url: str):
    return load_store(make_engine(url))


def test_progress_cards_equal_the_metrics(open_page: OpenPage, synthetic_store_url: str) -> None:
    at = open_page("", "steward", disclosure_off=True)
    _no_exception(at)
    expected = progress.headline_figures(_frames(synthetic_store_url), Filters())
    cards = {m.label: m.value for m in at.metric}
    assert cards["Referrals received"] == f"{expected['referrals']:,}" == "14"
    assert cards["Eligible"] == f"{expected['eligible']:,}"
    assert cards["Awaiting decision"] == f"{expected['awaiting_decision']:,}"
    assert cards["Forces referring"] == "3"


def test_progress_tabs_show_each_section_alone(
    open_page: OpenPage, synthetic_store_url: str
) -> None:
    """The cards stay above the tabs; each tab draws its own section and no other."""
    at = open_page("", "steward", disclosure_off=True)
    assert [t.label for t in at.tabs] == [
        "Referrals over time",
        "From referral to charge",
        "Forces yet to refer",
    ]
    frames = _frames(synthetic_store_url)
    # first tab: referrals by month with the running total, and nothing else
    assert [s.value for s in at.main.subheader] == ["Referrals received over time"]
    assert len(at.get("plotly_chart")) == 1
    monthly = pl.from_pandas(at.dataframe[0].value)
    assert monthly["Referrals"].cast(pl.Int64).sum() == 14
    assert monthly["Running total"].to_list()[-1] == 14
    assert monthly["Month"].to_list() == (
        volumes.referrals_by_month(frames)["period_start"].dt.strftime("%Y-%m").to_list()
    )
    # second tab: the funnel, stage by stage
    at.session_state["progress_tab"] = "From referral to charge"
    at.run()
    _no_exception(at)
    assert [s.value for s in at.main.subheader] == ["From referral to charge"]
    assert len(at.get("plotly_chart")) == 1
    funnel = pl.from_pandas(at.dataframe[0].value)
    expected = outcomes.outcome_funnel(frames)
    assert funnel["Referrals"].cast(pl.Int64).to_list() == expected["referrals"].to_list()
    assert funnel["Referrals"].cast(pl.Int64)[0] == 14
    assert len(at.metric) == 8, "the cards stay above the tabs"
    # third tab: the 41 forces of the 44 that have not referred (the store has three)
    at.session_state["progress_tab"] = "Forces yet to refer"
    at.run()
    _no_exception(at)
    assert not at.get("plotly_chart")
    waiting = pl.from_pandas(at.dataframe[0].value)
    referring = {"Cleveland Police", "Essex Police", "Kent Police"}
    assert set(waiting["Force"]) == set(reference.forces()["name"]) - referring
    assert waiting.height == 41
    assert any("41 of 44 forces**" in t for t in _texts(at))


def test_referrals_table_equals_the_metric(open_page: OpenPage, synthetic_store_url: str) -> None:
    at = open_page("referrals", "admin", disclosure_off=True)
    _no_exception(at)
    expected = volumes.referrals_by_force(_frames(synthetic_store_url)).select(
        "force", "region", "referrals", "per_100k"
    )
    shown = pl.from_pandas(at.dataframe[0].value)
    assert shown.columns == ["Force", "Region", "Referrals", "Per 100,000 people"]
    assert shown["Force"].to_list() == expected["force"].to_list()
    assert shown["Referrals"].to_list() == expected["referrals"].to_list()
    assert dict(zip(shown["Force"], shown["Referrals"], strict=True)) == {
        "Cleveland Police": 5,
        "Essex Police": 2,
        "Kent Police": 7,
    }
    assert any("Kent referred the most files: 7" in t for t in _texts(at))


def test_url_filters_restrict_the_figures(open_page: OpenPage) -> None:
    at = open_page("", "steward", disclosure_off=True, query={"force": "Kent Police"})
    _no_exception(at)
    assert {m.label: m.value for m in at.metric}["Referrals received"] == "7"
    assert at.query_params["force"] in ("Kent Police", ["Kent Police"])


def test_a_link_to_two_forces_opens_on_both(open_page: OpenPage) -> None:
    """``?force=Kent+Police&force=Essex+Police`` (what choosing two forces writes to the
    address bar) opened on Essex alone: the URL was read with ``to_dict()``, which keeps
    a repeated key's last value. Kent's 7 and Essex's 2 referrals make 9."""
    at = open_page(
        "", "steward", disclosure_off=True, query={"force": ["Kent Police", "Essex Police"]}
    )
    assert {m.label: m.value for m in at.metric}["Referrals received"] == "9"
    assert at.multiselect(key="filter_force").value == ["Kent Police", "Essex Police"]
    assert at.query_params["force"] == ["Kent Police", "Essex Police"]


def test_choosing_two_forces_writes_both_to_the_url(open_page: OpenPage) -> None:
    at = open_page("", "steward", disclosure_off=True)
    at.multiselect(key="filter_force").select("Kent Police").select("Essex Police").run()
    assert {m.label: m.value for m in at.metric}["Referrals received"] == "9"
    assert at.query_params["force"] == ["Kent Police", "Essex Police"]


def test_dates_the_wrong_way_round_are_pointed_out(open_page: OpenPage) -> None:
    at = open_page("", "steward", query={"from": "2025-09-01", "to": "2025-08-01"})
    _no_exception(at)
    assert {m.label: m.value for m in at.metric}["Referrals received"] == "0"
    warnings = [w.value for w in at.sidebar.warning]
    assert warnings == [
        "'Referred from' is after 'Referred to', so no referral can match. "
        "Swap the dates or clear one."
    ]
    fine = open_page("", "steward", query={"from": "2025-01-01", "to": "2025-08-01"})
    assert not fine.sidebar.warning


def test_filter_change_is_written_to_the_url(open_page: OpenPage) -> None:
    at = open_page("", "steward", disclosure_off=True)
    at.multiselect(key="filter_force").select("Essex Police").run()
    _no_exception(at)
    assert {m.label: m.value for m in at.metric}["Referrals received"] == "2"
    assert at.query_params["force"] in ("Essex Police", ["Essex Police"])


SMALL = re.compile(r"^[1-4]$")
#: Words in the headers of columns that hold no count (rates, shares, days, dates).
NOT_COUNTS = ("per 100,000", "%", "days", "population", "year", "month", "rate")


def _small_counts_visible(at: AppTest) -> list[str]:
    # Forces referring counts forces, not cases or people, and is shown as it is
    # (metrics/report.py says the same for `report --suppress`).
    found = [
        f"metric {m.label}={m.value}"
        for m in at.metric
        if SMALL.match(str(m.value)) and m.label != "Forces referring"
    ]
    for df in at.dataframe:
        frame: pd.DataFrame = df.value
        for column in frame.columns:
            if any(word in str(column).lower() for word in NOT_COUNTS):
                continue
            for cell in frame[column].tolist():
                if SMALL.match(str(cell).strip()):
                    found.append(f"table column {column}={cell}")
    return found


@pytest.mark.parametrize("page", [p for p in PAGES if p not in ("data-quality", "about")])
def test_oversight_sees_no_count_from_1_to_4(open_page: OpenPage, page: str) -> None:
    at = open_page(page, "oversight")
    _no_exception(at)
    seen = 0
    for label in every_tab(at, page):
        assert _small_counts_visible(at) == [], label
        seen += len(at.dataframe)
    assert seen, "no table was checked"
    assert any("Disclosure control is **on**" in t for t in _texts(at))


@pytest.mark.parametrize("page", [p for p in PAGES if p not in ("data-quality", "about")])
def test_every_table_beside_a_chart_has_plain_headers(open_page: OpenPage, page: str) -> None:
    """No program's column name (``nfa_upheld``, ``per_100k``) reaches a reader."""
    at = open_page(page, "admin", disclosure_off=True)
    seen = 0
    for label in every_tab(at, page):
        for df in at.dataframe:
            headers = [str(c) for c in df.value.columns]
            assert not [h for h in headers if "_" in h or h[:1].islower()], (label, headers)
            seen += 1
    assert seen, "no table was checked"


@pytest.mark.parametrize("page", [p for p in PAGES if p not in ("data-quality", "about")])
def test_every_table_beside_a_chart_shows_all_its_columns(open_page: OpenPage, page: str) -> None:
    """A table in the narrow column beside a chart hides what does not fit behind a
    sideways scroll (Learning themes' share did): every table drawn there, on every tab,
    is at most three columns and ``BESIDE_TABLE_CHARS`` characters across, counted from
    what the page shows."""
    from dashboard.components.figure_block import BESIDE_TABLE_CHARS

    at = open_page(page, "admin", disclosure_off=True)
    beside = 0
    for label in every_tab(at, page):
        for column in at.columns:
            for df in column.dataframe:
                shown = df.value
                width = sum(
                    max(len(str(c)), *(len(str(v)) for v in shown[c])) if len(shown) else len(c)
                    for c in shown.columns
                )
                assert len(shown.columns) <= 3 and width <= BESIDE_TABLE_CHARS, (
                    label,
                    list(shown.columns),
                    width,
                )
                beside += 1
    if page in ("", "offences"):  # pages with narrow tables: the probe finds them
        assert beside, "no table beside a chart was checked"


@pytest.mark.parametrize("page", ["", "referrals", "offences", "outcomes", "learning"])
def test_no_chart_offers_an_unlabelled_image_download(open_page: OpenPage, page: str) -> None:
    """Plotly's "Download plot as a png" would export a chart with neither its title nor
    the SYNTHETIC line: every chart's toolbar leaves it out."""
    import json

    at = open_page(page, "oversight")
    seen = 0
    for _label in every_tab(at, page):
        for chart in at.get("plotly_chart"):
            config = json.loads(chart.proto.config)
            assert "toImage" in config["modeBarButtonsToRemove"]
            assert config["displaylogo"] is False
            seen += 1
    assert seen, "no chart was checked"


def test_oversight_sees_essex_as_less_than_5(open_page: OpenPage) -> None:
    at = open_page("referrals", "oversight")
    table = pl.from_pandas(at.dataframe[0].value)
    essex = table.filter(pl.col("Force") == "Essex Police")
    assert essex["Referrals"].to_list() == ["<5"]
    assert essex["Per 100,000 people"].to_list() == ["withheld"]


def test_only_the_chosen_tab_is_computed(open_page: OpenPage) -> None:
    """The heavy pages draw one section per run: the first tab on opening."""
    at = open_page("outcomes", "oversight")
    assert [t.label for t in at.tabs][:2] == ["Decisions by force", "Original outcomes"]
    assert len(at.get("plotly_chart")) == 1
    at.session_state["outcomes_tab"] = "Weekly throughput"
    at.run()
    _no_exception(at)
    assert [s.value for s in at.main.subheader] == ["Weekly throughput"]


def test_steward_may_switch_disclosure_off_and_is_warned(open_page: OpenPage) -> None:
    at = open_page("referrals", "steward", disclosure_off=True)
    assert any("Disclosure control is **off**" in str(e.value) for e in at.error)
    assert _small_counts_visible(at)


def test_programme_cannot_switch_disclosure_off(open_page: OpenPage) -> None:
    at = open_page("referrals", "programme", disclosure_off=True)
    assert not at.toggle
    assert _small_counts_visible(at) == []


def test_real_data_has_no_synthetic_banner(open_page: OpenPage, real_store_url: str) -> None:
    at = open_page("", "steward", url=real_store_url)
    _no_exception(at)
    assert not any("SYNTHETIC" in str(w.value) for w in at.warning)


def test_demo_mode_offers_a_role_switcher(
    open_page: OpenPage, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BEACONPORT_DEMO", "1")
    at = open_page("", None)
    _no_exception(at)
    switcher = at.selectbox(key="demo_role")
    assert switcher.options == [
        "Oversight viewer",
        "Programme lead",
        "Data steward",
        "Administrator",
    ]
    switcher.select("steward").run()
    assert at.session_state["bp_role"] == "steward"


def test_demo_mode_refused_on_real_data(
    open_page: OpenPage, monkeypatch: pytest.MonkeyPatch, real_store_url: str
) -> None:
    monkeypatch.setenv("BEACONPORT_DEMO", "1")
    at = open_page("", None, url=real_store_url)
    assert any("Demo mode is only allowed" in str(e.value) for e in at.error)
    assert not at.metric


def test_page_failure_is_a_plain_message(
    open_page: OpenPage, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_a: object, **_k: object) -> None:
        raise RuntimeError("secret detail")

    monkeypatch.setattr(progress, "headline_progress", broken)
    at = open_page("", "steward", expect_failure=True)
    assert not at.exception
    messages = [str(e.value) for e in at.error]
    assert any(PAGE_FAILED in m for m in messages)
    assert page_failures(at)
    assert not any("secret detail" in m for m in messages)


def test_downloads_are_offered_beside_tables(open_page: OpenPage) -> None:
    at = open_page("referrals", "oversight")
    labels = []
    for _tab in every_tab(at, "referrals"):
        labels += [b.proto.label for b in at.get("download_button")]
    assert labels.count("CSV") >= 4 and labels.count("Excel") >= 4


def test_an_unchanged_card_says_no_change_without_an_arrow(
    open_page: OpenPage, synthetic_store_url: str
) -> None:
    """Since the as-at day itself (the end of it), nothing changed: the cards say "no
    change" with no arrow (an up arrow on "+0" misled)."""
    from streamlit.proto.Metric_pb2 import Metric

    as_at = _frames(synthetic_store_url).as_at
    at = open_page("", "steward", disclosure_off=True)
    at.date_input(key="progress_since").set_value(as_at).run()
    _no_exception(at)
    cards = {m.label: m for m in at.metric if m.label != "Forces referring"}
    assert cards, "no cards"
    for metric in cards.values():
        assert metric.proto.delta == "no change", (metric.label, metric.proto.delta)
        assert Metric.MetricDirection.Name(metric.proto.direction) == "NONE", metric.label


# From Wednesday 8 Jan to Saturday 15 Feb 2025 the store holds referrals from 14 Jan
# (Cleveland) to 15 Feb (Cleveland): weeks from Monday 13 Jan, the last one seen only to
# the 15th; January seen from the 8th, February to the 15th (worked out from the dates in
# tests/dashboard/store.py: Kent 7, 15, 23, 31 Jan, 8, 16, 24 Feb; Cleveland 14, 22, 30
# Jan, 7, 15 Feb; Essex 19, 27 Jan).
CUT = {"from": "2025-01-08", "to": "2025-02-15"}


def _chart_patterns(at: AppTest) -> list[str]:
    import json

    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    return spec["data"][0]["marker"]["pattern"]["shape"]


def _hollow_points(at: AppTest) -> list[list[bool]]:
    """For each line of the page's first chart: which points have a hollow marker."""
    import json

    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    out = []
    for trace in spec["data"]:
        symbols = trace["marker"]["symbol"]
        if isinstance(symbols, str):
            symbols = [symbols] * len(trace["x"])
        out.append([str(s).endswith("-open") for s in symbols])
    return out


def _shown_after(at: AppTest, key: str, value: str) -> pl.DataFrame:
    """The page's first table after setting the widget ``key`` to ``value``."""
    at.session_state[key] = value
    at.run()
    _no_exception(at)
    return pl.from_pandas(at.dataframe[0].value)


def test_a_week_the_dates_cut_is_hatched_and_named(open_page: OpenPage) -> None:
    at = open_page("referrals", "steward", disclosure_off=True, query=CUT)
    weeks = _shown_after(at, "referrals_tab", "Trend")
    assert weeks["Period starting"].to_list() == [
        "2025-01-13",
        "2025-01-20",
        "2025-01-27",
        "2025-02-03",
        "2025-02-10",
    ]
    # 13-19 Jan: 14, 15, 19; 20-26: 22, 23; 27 Jan-2 Feb: 27, 30, 31; 3-9 Feb: 7, 8;
    # 10-15 Feb: 15
    assert weeks["Referrals"].cast(pl.Int64).to_list() == [3, 2, 3, 2, 1]
    assert weeks["Covered"].to_list() == ["whole week"] * 4 + ["partial: 10 to 15 Feb 2025"]
    assert _chart_patterns(at) == ["", "", "", "", "/"]
    assert (
        "The week beginning 10 Feb 2025 (10 to 15 Feb 2025) is only partly covered "
        "by the data shown (hatched bar): its count is not comparable with a whole week's."
    ) in [str(c.value) for c in at.caption]
    months = _shown_after(at, "referrals_period", "Month")
    assert months["Covered"].to_list() == [
        "partial: 8 to 31 Jan 2025",
        "partial: 1 to 15 Feb 2025",
    ]
    assert _chart_patterns(at) == ["/", "/"]
    assert any(
        str(c.value).startswith("January 2025 (8 to 31 Jan 2025) and February 2025 ")
        and "(hatched bars): their counts are not comparable" in str(c.value)
        for c in at.caption
    )


def test_whole_periods_are_not_marked(open_page: OpenPage, synthetic_store_url: str) -> None:
    # the store runs to 24 Feb (a Monday); its as-at date, a later event, is past 2 Mar
    assert _frames(synthetic_store_url).as_at >= date(2025, 3, 2)
    at = open_page("referrals", "steward", disclosure_off=True)
    weeks = _shown_after(at, "referrals_tab", "Trend")
    assert set(weeks["Covered"].to_list()) == {"whole week"}
    assert set(_chart_patterns(at)) == {""}
    assert not any("partly covered" in str(c.value) for c in at.caption)


def test_progress_names_the_partial_months(open_page: OpenPage) -> None:
    at = open_page("", "steward", disclosure_off=True, query=CUT)
    _no_exception(at)
    assert any(
        str(c.value).startswith("January 2025 (8 to 31 Jan 2025) and February 2025 ")
        and "(marked hollow)" in str(c.value)
        for c in at.caption
    )
    # the running total and the month's referrals: both months hollow on each line
    assert _hollow_points(at) == [[True, True], [True, True]]
    table = pl.from_pandas(at.dataframe[0].value)
    assert table["Covered"].to_list() == ["partial: 8 to 31 Jan 2025", "partial: 1 to 15 Feb 2025"]
    whole = open_page("", "steward", disclosure_off=True)
    assert not any("partly covered" in str(c.value) for c in whole.caption)
    assert not any(any(line) for line in _hollow_points(whole))


@pytest.mark.parametrize("page", [p for p in PAGES if p != "about"])
def test_an_empty_cell_reads_n_a_not_none(open_page: OpenPage, page: str) -> None:
    """Streamlit writes "None" in a table cell with no value (a rate for City of London
    Police, a loaded file's reason): every table on every tab says ``n/a`` instead."""
    from dashboard.components.figure_block import MISSING_CELL

    at = open_page(page, "steward")
    seen = 0
    for label in every_tab(at, page):
        for df in at.dataframe:
            assert df.proto.placeholder == MISSING_CELL, (label, list(df.value.columns))
            seen += 1
    assert seen, "no table was checked"


#: Per page and tab: the text columns of figures (which may say <5), and the label
#: columns beside them, as an oversight viewer sees them on the hand-made store.
ALIGNED = [
    ("", "progress_tab", "From referral to charge", ["Referrals"], ["Stage"]),
    ("referrals", "referrals_tab", "By force", ["Referrals"], ["Force", "Region"]),
    ("offences", "offences_tab", "Groups by force", ["Rape"], ["Force"]),
    ("outcomes", "outcomes_tab", "Time in each stage", ["Referrals"], ["Stage"]),
    (
        "learning",
        "learning_tab",
        "By month",
        ["Referrals with theme", "% of assessed referrals"],
        ["Month", "Theme", "Covered"],
    ),
]


@pytest.mark.parametrize(("page", "key", "tab", "figures", "labels"), ALIGNED)
def test_shown_figures_are_aligned_like_numbers(
    open_page: OpenPage, page: str, key: str, tab: str, figures: list[str], labels: list[str]
) -> None:
    """Under disclosure control a count column holds text (it may say <5), and was drawn
    left-aligned beside right-aligned number columns: it is now right-aligned; the
    columns that name the rows are not."""
    import json

    at = open_page(page, "oversight")
    table = _shown_after(at, key, tab)
    config = json.loads(at.dataframe[0].proto.columns or "{}")
    for name in figures:
        assert table.schema[name] == pl.String, name  # text, as it may say <5
        assert config.get(name, {}).get("alignment") == "right", (tab, name)
    for name in labels:
        assert config.get(name, {}).get("alignment") != "right", (tab, name)


def test_a_share_built_on_a_hidden_count_says_withheld(open_page: OpenPage) -> None:
    """Learning themes' long tables: where the count of referrals with a theme is hidden,
    its share of assessed referrals shows ``withheld`` (it was an empty cell), and every
    other share is the count over the assessed referrals (worked out here from the
    table with control off)."""
    at = open_page("learning", "oversight")
    raw = open_page("learning", "admin", disclosure_off=True)
    hidden = 0
    for tab in ["By force", "By month", "Passed back or upheld"]:
        tables = []
        for page in (at, raw):
            page.session_state["learning_tab"] = tab
            page.run()
            _no_exception(page)
            tables.append(pl.from_pandas(page.dataframe[0].value))
        shown, exact = tables
        keys = [
            c for c in shown.columns if c not in ("Referrals with theme", "% of assessed referrals")
        ]
        both = shown.join(exact, on=keys, suffix=" exact")
        assert both.height == shown.height == exact.height, tab
        for count, share, n, assessed, pct in both.select(
            "Referrals with theme",
            "% of assessed referrals",
            "Referrals with theme exact",
            "Assessed referrals",
            "% of assessed referrals exact",
        ).iter_rows():
            if count in ("<5", "withheld"):
                assert share == "withheld", (tab, count, share)
                hidden += 1
            else:
                assert int(count) == int(n), tab
                assert float(share) == pytest.approx(round(100 * int(n) / assessed, 1)), tab
                assert pct == pytest.approx(float(share)), tab
    assert hidden, "the store gave no hidden count to check"


def test_throughput_names_the_week_the_as_at_date_cuts(
    open_page: OpenPage, synthetic_store_url: str
) -> None:
    """Weekly throughput's last week, if the as-at date falls before its Sunday, is
    named as partial in its table and under the chart; the sidebar's dates choose the
    referrals followed and cut no week (their decisions come later)."""
    as_at = _frames(synthetic_store_url).as_at
    assert as_at == date(2025, 3, 8)  # a Saturday: the week of 3 Mar is cut

    at = open_page("outcomes", "steward", disclosure_off=True)
    weeks = _shown_after(at, "outcomes_tab", "Weekly throughput")
    assert weeks["Week starting"].to_list()[-1] == "2025-03-03"
    assert weeks["Covered"].to_list() == ["whole week"] * (weeks.height - 1) + [
        "partial: 3 to 8 Mar 2025"
    ]
    assert (
        "The week beginning 3 Mar 2025 (3 to 8 Mar 2025) is only partly covered by the "
        "data shown (marked hollow): its count is not comparable with a whole week's."
    ) in [str(c.value) for c in at.caption]
    # each line (received, decisions and, with control off, the backlog): the last
    # point alone hollow
    lines = _hollow_points(at)
    assert len(lines) == 3
    assert all(line == [False] * (weeks.height - 1) + [True] for line in lines), lines
    # the title's four weeks run from the week of 10 Feb to the as-at date, not a
    # whole four weeks
    (title,) = [t for t in _bold_titles(at) if "received" in t]
    assert title.startswith("10 Feb to 8 Mar 2025: "), title

    # Referred 8 Jan to 15 Feb: their decisions end in the week of 24 Feb, and the week
    # of 10 Feb (cut by the filter's end date for referrals) is still whole.
    at = open_page("outcomes", "steward", disclosure_off=True, query=CUT)
    weeks = _shown_after(at, "outcomes_tab", "Weekly throughput")
    assert weeks["Week starting"].to_list()[-1] == "2025-02-24"
    assert set(weeks["Covered"].to_list()) == {"whole week"}
    assert not any("partly covered" in str(c.value) for c in at.caption)
    assert not any(any(line) for line in _hollow_points(at))
    (title,) = [t for t in _bold_titles(at) if "received" in t]
    assert title.startswith("3 Feb to 2 Mar 2025: "), title


@pytest.mark.parametrize("page", ["", "referrals", "offences", "outcomes", "learning", "about"])
def test_the_as_at_date_is_written_without_a_leading_zero(
    open_page: OpenPage, synthetic_store_url: str, page: str
) -> None:
    """A date in prose reads "8 March 2025"; "08 March 2025" read as a form's field."""
    assert _frames(synthetic_store_url).as_at == date(2025, 3, 8)
    at = open_page(page, "oversight")
    text = " ".join(str(e.value) for e in (*at.caption, *at.markdown))
    assert "8 March 2025" in text, page
    assert "08 March" not in text, page


def test_learning_by_month_names_the_month_the_as_at_date_cuts(
    open_page: OpenPage, synthetic_store_url: str
) -> None:
    """Learning themes by month of decision: the month of the as-at date (8 March
    2025) holds only the decisions made so far. Its table rows say so, the caption
    names it, and a title about the latest month says "so far"; whole months say so."""
    assert _frames(synthetic_store_url).as_at == date(2025, 3, 8)
    for role, off in (("steward", True), ("oversight", False)):
        at = open_page("learning", role, disclosure_off=off)
        months = _shown_after(at, "learning_tab", "By month")
        covered = dict(months.select("Month", "Covered").unique().iter_rows())
        assert covered["2025-03"] == "partial: 1 to 8 Mar 2025", role
        assert {v for m, v in covered.items() if m != "2025-03"} == {"whole month"}, role
        assert (
            "March 2025 (1 to 8 Mar 2025) is only partly covered by the data shown (marked "
            "hollow): its shares are of the decisions made so far, so they rest on fewer."
        ) in [str(c.value) for c in at.caption], role
        # every theme's line: its March point alone hollow
        lines = _hollow_points(at)
        assert len(lines) == 6, role
        assert all(line[-1] and not any(line[:-1]) for line in lines), (role, lines)
        titles = [t for t in _bold_titles(at) if t.startswith("In March 2025")]
        assert titles and all(t.startswith("In March 2025 so far (to 8 Mar),") for t in titles)


def _configured_width(df, column: str) -> int | None:
    import json

    config = json.loads(df.proto.columns or "{}")
    return config.get(column, {}).get("width")


@pytest.mark.parametrize("page", ["", "offences", "learning", "data-quality"])
def test_a_label_column_at_the_page_width_fits_its_longest_value(
    open_page: OpenPage, page: str
) -> None:
    """Streamlit sizes a column to the rows it draws first, so the 11th force ("Hampshire
    and Isle of Wight Constabulary") was cut short: a table at the page's width (not
    beside a chart) gives its text label column room for the longest value shown."""
    from dashboard.components.figure_block import LABEL_CHAR_PX, LABEL_MAX_PX

    at = open_page(page, "steward")
    checked = 0
    for label in every_tab(at, page):
        beside = {df.proto.SerializeToString() for column in at.columns for df in column.dataframe}
        for df in at.dataframe:
            frame: pd.DataFrame = df.value
            first = str(frame.columns[0])
            texts = [v for v in frame[first] if v is not None]
            if df.proto.SerializeToString() in beside or not all(isinstance(v, str) for v in texts):
                continue
            longest = max(len(first), *(len(str(v)) for v in frame[first]))
            width = _configured_width(df, first)
            assert width is not None, (label, first)
            assert width >= min(longest * LABEL_CHAR_PX, LABEL_MAX_PX), (label, first, width)
            checked += 1
    assert checked, "no table at the page's width with a text label was checked"


def _tabs_or_page(at: AppTest, page: str) -> Iterator[str]:
    """The page's tabs shown in turn, or the page itself when it has drawn no tabs
    (a page that stops before its tabs with nothing to show)."""
    if at.tabs:
        yield from every_tab(at, page)
    else:
        yield ""


@pytest.mark.parametrize("page", ["", "referrals", "offences", "outcomes", "learning"])
def test_a_force_that_referred_nothing_draws_no_empty_chart(open_page: OpenPage, page: str) -> None:
    """Durham Constabulary has no referral in the hand-made store: every section says
    that nothing matches the filters, and none draws a chart of zeros on an axis from
    -1 to 1 or a table reading "empty". Progress still lists the force as yet to refer."""
    at = open_page(page, "oversight", query={"force": "Durham Constabulary"})
    for label in _tabs_or_page(at, page):
        assert not at.get("plotly_chart"), label
        infos = [str(i.value) for i in at.info]
        if label == "Forces yet to refer":
            listed = pl.from_pandas(at.dataframe[0].value)
            assert listed["Force"].to_list() == ["Durham Constabulary"]
        else:
            assert any("match the filters" in i for i in infos), (label, infos)
            assert not at.dataframe, label


def test_outcomes_of_ineligible_referrals_only_say_what_is_left(open_page: OpenPage) -> None:
    """Filtered to ineligible referrals (Cleveland's one, in the hand-made store): their
    original outcome types are drawn, and the sections about eligible referrals (the
    review's decisions, time in stage, the backlog, throughput) say none match."""
    at = open_page("outcomes", "steward", disclosure_off=True, query={"eligibility": "ineligible"})
    for label in every_tab(at, "outcomes"):
        infos = [str(i.value) for i in at.info]
        if label == "Original outcomes":
            assert len(at.get("plotly_chart")) == 1
            table = pl.from_pandas(at.dataframe[0].value)
            assert table["Referrals"].cast(pl.Int64).sum() == 1
        else:
            assert "No eligible referrals match the filters." in infos, (label, infos)
            assert not at.get("plotly_chart") and not at.dataframe, label


def _value_axes(spec: dict) -> list[tuple[str, dict]]:
    """(trace type, value axis) for each bar or line trace: the x axis of horizontal
    bars, the y axis of the rest. Heat maps and the tile map have no value axis."""
    layout = spec.get("layout", {})
    found = []
    for trace in spec.get("data", []):
        kind = trace.get("type", "scatter")
        if kind not in ("bar", "scatter") or layout.get("xaxis", {}).get("visible") is False:
            continue
        axis = "xaxis" if trace.get("orientation") == "h" else "yaxis"
        found.append((kind, layout.get(axis, {})))
    return found


@pytest.mark.parametrize(
    "page", ["", "referrals", "offences", "outcomes", "learning", "data-quality"]
)
def test_every_count_or_share_axis_starts_at_zero(open_page: OpenPage, page: str) -> None:
    """A bar's or a line's height is read as its size, so every value axis (counts,
    days, shares, rates) starts at 0, on every tab, for every role's view: none is
    left to Plotly, which starts a small series' axis above 0 or an all-zero one at -1."""
    import json

    at = open_page(page, "steward" if page == "data-quality" else "oversight")
    seen = 0
    for label in every_tab(at, page):
        for chart in at.get("plotly_chart"):
            spec = json.loads(chart.proto.spec)
            for kind, axis in _value_axes(spec):
                held = axis.get("rangemode") == "tozero" or (
                    "range" in axis and axis["range"][0] == 0
                )
                assert held, (label, kind, spec["layout"].get("title", {}).get("text"), axis)
                seen += 1
    assert seen, "no axis was checked"


#: The charts drawn by calendar month: (page, tab session key, tab, extra state).
MONTH_CHARTS = [
    ("", "progress_tab", "Referrals over time", {}),
    ("referrals", "referrals_tab", "Trend", {"referrals_period": "Month"}),
    ("learning", "learning_tab", "By month", {}),
    ("data-quality", None, None, {}),
]


@pytest.mark.parametrize("query", [None, CUT], ids=["all", "six-weeks"])
@pytest.mark.parametrize(("page", "key", "tab", "state"), MONTH_CHARTS)
def test_a_chart_by_month_over_a_year_or_less_ticks_each_month(
    open_page: OpenPage, page: str, key: str | None, tab: str | None, state: dict, query
) -> None:
    """Two monthly points drew ticks at weeks (Aug 31, Sep 7, ...): a chart by month
    whose months (read from the chart's own points) span a year or less has one tick a
    month, named as a month."""
    import json

    at = open_page(page, "steward", query=query)
    if key:
        at.session_state[key] = tab
    for k, v in state.items():
        at.session_state[k] = v
    at.run()
    charts = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    monthly = [c for c in charts if c["data"] and str(c["data"][0]["x"][0]).endswith("-01")]
    assert monthly, [c["layout"].get("title") for c in charts]
    for spec in monthly:
        xs = sorted({date.fromisoformat(str(x)[:10]) for t in spec["data"] for x in t["x"]})
        span = (xs[-1].year - xs[0].year) * 12 + xs[-1].month - xs[0].month + 1
        axis = spec["layout"]["xaxis"]
        if span <= 12:
            assert (axis.get("dtick"), axis.get("tickformat")) == ("M1", "%b %Y"), span
        else:
            assert "dtick" not in axis, span


def _bold_titles(at: AppTest) -> list[str]:
    """The chart titles on the page (printed above each chart in bold)."""
    return [
        str(m.value).strip("*")
        for m in at.markdown
        if str(m.value).startswith("**") and str(m.value).endswith("**")
    ]


@pytest.mark.parametrize(
    ("query", "title"),
    [
        # 9 assessed referrals, all 9 with this theme, every other theme 0
        (None, "Lines of inquiry not followed: found in 100% of assessed referrals"),
        # Essex: 1 assessed referral: its theme's count is <5, every other 0; the <5 is
        # at least 1, so it surely leads, but its share is withheld with it
        ({"force": "Essex Police"}, "Lines of inquiry not followed is the theme found most often"),
    ],
)
def test_the_most_found_theme_is_named_only_when_sure(
    open_page: OpenPage, query: dict | None, title: str
) -> None:
    """The title named the largest share shown, so with the leading theme's count <5 it
    read "Victim account not taken to best practice: found in 0% of assessed referrals"."""
    at = open_page("learning", "oversight", query=query)
    assert _bold_titles(at)[0] == title


def test_learning_heat_maps_colour_from_zero(open_page: OpenPage) -> None:
    """Both heat maps' colour scales run from 0 to their largest cell (to 1 when every
    cell is 0 or hidden): with Essex's one assessed referral the co-occurrence colour bar
    ran from -0.5 to 0.5 referrals."""
    import json

    for query in (None, {"force": "Essex Police"}):
        at = open_page("learning", "oversight", query=query)
        seen = 0
        for tab in ("By force", "Found together"):
            at.session_state["learning_tab"] = tab
            at.run()
            (chart,) = at.get("plotly_chart")
            (heat,) = json.loads(chart.proto.spec)["data"]
            cells = [v for row in heat["z"] for v in row if v is not None]
            assert heat["zmin"] == 0, tab
            assert heat["zmax"] == max([*cells, 1]), (tab, query)
            seen += 1
        assert seen == 2


@pytest.mark.parametrize(
    ("role", "query", "state", "title"),
    [
        # Cleveland's 5 referrals are withheld beside Kent's 7 (secondary suppression):
        # its rate (0.9 per 100,000 to Kent's 0.4) could be the highest, and is.
        ("oversight", None, {"referrals_measure": "Per 100,000 residents"}, "Referrals by force"),
        ("oversight", None, {}, "Referrals by force"),
        ("oversight", None, {"referrals_tab": "By region"}, "Referrals by region"),
        # every figure shown: the leaders, worked out from the store's table
        (
            "steward",
            None,
            {"referrals_measure": "Per 100,000 residents"},
            "Cleveland has the highest rate: 0.9 per 100,000",
        ),
        ("steward", None, {}, "Kent referred the most files: 7"),
        ("steward", None, {"referrals_tab": "By region"}, "South East referred the most files: 7"),
        # one force in view, its count shown
        (
            "oversight",
            {"force": "Cleveland Police"},
            {"referrals_measure": "Per 100,000 residents"},
            "Cleveland has the highest rate: 0.9 per 100,000",
        ),
        # one force in view, its count <5: no leader is named with a hidden figure
        ("oversight", {"force": "Essex Police"}, {}, "Referrals by force"),
    ],
)
def test_a_title_names_the_leading_force_only_when_the_figures_shown_prove_it(
    open_page: OpenPage, role: str, query: dict | None, state: dict, title: str
) -> None:
    """A title stating which force or region leads was taken from the largest figure
    shown, so with Cleveland withheld it read "Kent has the highest rate: 0.4 per
    100,000", which is false (Cleveland's is 0.9). It now names a leader only when no
    hidden figure could be larger (a <5 is at most 4 referrals, a withheld one could
    be any number) and its own figure is shown."""
    at = open_page("referrals", role, disclosure_off=role == "steward", query=query)
    for key, value in state.items():
        at.session_state[key] = value
    at.run()
    assert _bold_titles(at)[0] == title


def test_the_national_rate_line_is_labelled_clear_of_the_limits(open_page: OpenPage) -> None:
    """The funnel plot's national line sits at the table's national rate, labelled at
    its left end: at the right, where the limits close in on the line, they ran through
    the label."""
    import json

    at = open_page("referrals", "steward", disclosure_off=True)
    table = _shown_after(at, "referrals_tab", "Against the national rate")
    (national,) = set(table["National rate per 100,000 people"].drop_nulls().to_list())
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    (line,) = [s for s in spec["layout"]["shapes"] if s.get("y0") == s.get("y1")]
    assert line["y0"] == pytest.approx(national, abs=0.05)
    (label,) = spec["layout"]["annotations"]
    assert label["text"] == f"national {national:.1f}"
    assert (label["x"], label["xanchor"]) == (0, "left")
