"""The /data-quality page through AppTest, against the hand-made store
(tests/dashboard/store.py): its figures equal the data_checks functions' output."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import polars as pl
import pytest
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from dashboard import quality_data
from data_checks.quality import quality_scores
from data_checks.quality_checks import check_results, check_runs
from data_checks.quarantine import (
    QuarantineFilters,
    export_quarantined,
    list_quarantined,
    quarantine_reason_counts,
)
from metrics.store import audit_t, make_engine, store_version
from tests.dashboard.store import insert_dashboard_store

pytestmark = pytest.mark.sqlite

OpenPage = Callable[..., AppTest]
SCORES = [
    "validity_score",
    "completeness_score",
    "timeliness_score",
    "consistency_score",
    "uniqueness_score",
    "overall_score",
    "grade",
]
REFUSAL = "You do not have access to this page"


def _table(at: AppTest, *columns: str) -> pl.DataFrame:
    """The first table on the page whose columns start with ``columns``."""
    for df in at.dataframe:
        frame: pd.DataFrame = df.value
        if list(frame.columns[: len(columns)]) == list(columns):
            return pl.from_pandas(frame)
    raise AssertionError(f"no table with columns {columns}")


def _texts(at: AppTest) -> str:
    return "\n".join(
        str(e.value)
        for kind in ("markdown", "caption", "info", "success", "warning")
        for e in getattr(at, kind)
    )


def _same(shown: pl.DataFrame, expected: pl.DataFrame) -> None:
    assert shown.columns == expected.columns
    for c in expected.columns:
        assert shown[c].to_list() == expected[c].to_list(), c


@pytest.fixture
def fresh_store(tmp_path: Path) -> str:
    """A store of its own, for tests that record a validation run."""
    url = f"sqlite:///{tmp_path / 'dq.db'}"
    engine = make_engine(url)
    insert_dashboard_store(engine)
    engine.dispose()
    return url


@pytest.mark.parametrize("role", ["steward", "admin"])
def test_scorecards_equal_quality_scores(
    open_page: OpenPage, synthetic_store_url: str, role: str
) -> None:
    at = open_page("data-quality", role)
    engine = make_engine(synthetic_store_url)
    national = quality_scores(engine, by="national")
    cards = {m.label: m.value for m in at.metric}
    assert cards["Overall quality score"] == f"{national['overall_score'][0]:.1f}"
    assert cards["Grade"] == national["grade"][0]
    assert cards["Open quarantined rows"] == "1"
    assert cards["Latest check"] == "never run"

    by_force = quality_scores(engine, by="force").select("force", *SCORES)
    _same(_table(at, "force", "validity_score"), by_force)
    assert by_force["force"].to_list() == ["Cleveland Police", "Essex Police", "Kent Police"]

    by_month = quality_scores(engine, by="month").select(
        pl.col("month").dt.strftime("%Y-%m"), *SCORES
    )
    _same(_table(at, "month", "validity_score"), by_month)

    # Both score tables print every score with one decimal (100.0, not 100), as the
    # heat map does; the values themselves are the numbers above.
    for first in ("force", "month"):
        df = next(d for d in at.dataframe if d.value.columns[0] == first)
        config = json.loads(df.proto.columns or "{}")
        for score in [c for c in SCORES if c.endswith("_score")]:
            assert config[score]["type_config"]["format"] == "%.1f", (first, score)

    # The heatmap prints every score in its cell; its title states the finding.
    heat = next(c for c in at.get("plotly_chart") if '"heatmap"' in c.proto.spec)
    cells = json.loads(heat.proto.spec)["data"][0]
    assert cells["y"] == ["Cleveland", "Essex", "Kent"]
    assert cells["text"][2] == ["96.3", "0.0", "100.0", "100.0", "100.0", "79.3 (D)"]
    text = _texts(at)
    assert "Completeness is the weakest dimension nationally" in text
    assert "Kent scores lowest overall (79.3, grade D)" in text
    assert "not disclosure-controlled" in text
    assert "No validation run is stored yet" in text


@pytest.mark.parametrize("role", ["steward", "admin"])
def test_a_stewards_session_reads_the_pages_figures_ahead_and_the_page_uses_them(
    open_page: OpenPage, monkeypatch: pytest.MonkeyPatch, synthetic_store_url: str, role: str
) -> None:
    at = open_page("", role)  # Progress: the frame starts reading Data quality's figures
    engine = make_engine(synthetic_store_url)
    key = (synthetic_store_url, store_version(engine))
    reading = quality_data._started[key]
    reading.join(timeout=60)
    assert not reading.is_alive()

    def computed_again(*_a: object, **_k: object) -> None:
        raise AssertionError("the page read the store again")

    for name in ("QualityInputs", "quality_scores_of", "list_quarantined", "reason_counts_of"):
        monkeypatch.setattr(quality_data, name, computed_again)
    at.switch_page("views/data_quality.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    national = quality_scores(engine, by="national")
    cards = {m.label: m.value for m in at.metric}
    assert cards["Overall quality score"] == f"{national['overall_score'][0]:.1f}"
    assert cards["Open quarantined rows"] == "1"
    _same(
        _table(at, "force", "validity_score"),
        quality_scores(engine, by="force").select("force", *SCORES),
    )
    shown = _table(at, "quarantine_id", "feed")
    assert shown["quarantine_id"].to_list() == list_quarantined(engine)["quarantine_id"].to_list()


@pytest.mark.parametrize("role", ["oversight", "programme"])
def test_a_session_that_may_not_open_the_page_reads_none_of_it(
    open_page: OpenPage, synthetic_store_url: str, role: str
) -> None:
    open_page("", role)
    for path in ("referrals", "learning"):
        open_page(path, role)
    version = store_version(make_engine(synthetic_store_url))
    assert (synthetic_store_url, version) not in quality_data._started


@pytest.mark.parametrize("role", ["steward", "admin"])
def test_quarantine_equals_list_quarantined(
    open_page: OpenPage, synthetic_store_url: str, role: str
) -> None:
    at = open_page("data-quality", role)
    engine = make_engine(synthetic_store_url)
    expected = list_quarantined(engine)
    shown = _table(at, "quarantine_id", "feed")
    assert shown["quarantine_id"].to_list() == expected["quarantine_id"].to_list() == [1]
    assert shown["reasons"].to_list() == expected["reasons"].to_list()
    assert shown["force_referral_id"].to_list() == ["=HYPERLINK(1)"]

    counts = quarantine_reason_counts(engine)
    by_reason = _table(at, "reason", "rows")
    assert dict(zip(by_reason["reason"], by_reason["rows"], strict=True)) == {"missing_value": 1}
    assert int(counts["rows"].sum()) == 1
    assert "Most common reason: missing_value (1 of 1 open rows)" in _texts(at).replace("\\", "")
    detail = _table(at, "feed", "force", "reason", "rows")
    assert detail["reason"].to_list() == counts["reason"].to_list()

    # Filters: a reason no open row has leaves the force filter; a force filter keeps Kent.
    at.selectbox(key="dq-force").select("Kent Police").run()
    assert _table(at, "quarantine_id", "feed").height == (
        list_quarantined(engine, QuarantineFilters(force="Kent Police")).height
    )
    at.selectbox(key="dq-file").select("referrals.csv").run()
    assert _table(at, "quarantine_id", "feed")["quarantine_id"].to_list() == [1]
    assert "beaconport quarantine repair FILE --feed referrals" in _texts(at)


def test_a_long_quarantine_shows_its_first_rows_and_downloads_them_all(
    open_page: OpenPage,
    fresh_store: str,
    tmp_path: Path,
    held_downloads: dict[str, Callable[[], bytes]],
) -> None:
    """1,005 rows quarantined by one file, plus the store's own 1: the page lists the
    oldest 1,000 and says so; the table's CSV download holds all 1,006."""
    from data_checks.gate import ingest_file
    from tests.data_checks.helpers import TODAY, referral, write_csv

    bad = [referral(force_referral_id=f"K-{n}", victims_count="-1") for n in range(1005)]
    engine = make_engine(fresh_store)
    path = write_csv(tmp_path / "bad.csv", bad)
    result = ingest_file(engine, path, "referrals", synthetic=True, today=TODAY)
    assert (result.rows_loaded, result.rows_quarantined) == (0, 1005)
    expected = list_quarantined(engine)
    assert expected.height == 1006

    at = open_page("data-quality", "steward", url=fresh_store)
    shown = _table(at, "quarantine_id", "feed")
    assert shown["quarantine_id"].to_list() == expected["quarantine_id"].head(1000).to_list()
    assert "The first 1,000 of 1,006 rows are shown." in _texts(at)
    served = held_downloads["beaconport-open-quarantine-SYNTHETIC.csv"]().decode("utf-8-sig")
    listed = [line for line in served.splitlines() if line.split(",")[0].isdigit()]
    assert len(listed) == 1006


def test_repair_export_is_export_quarantined(
    open_page: OpenPage,
    synthetic_store_url: str,
    tmp_path: Path,
    held_downloads: dict[str, Callable[[], bytes]],
) -> None:
    held = held_downloads
    at = open_page("data-quality", "steward")
    labels = [b.proto.label for b in at.get("download_button")]
    assert "Referrals for repair (1 row, CSV)" in labels
    events = next(b for b in at.get("download_button") if b.proto.label.startswith("Events"))
    assert events.proto.label == "Events for repair (0 rows, CSV)" and events.proto.disabled
    served = held["beaconport-quarantine-referrals-SYNTHETIC.csv"]()
    export_quarantined(make_engine(synthetic_store_url), tmp_path / "r.csv", "referrals")
    assert served == (tmp_path / "r.csv").read_bytes()
    text = served.decode("utf-8-sig")
    assert "'=HYPERLINK(1)" in text and "SYNTHETIC" in text


def test_run_the_checks_now(
    open_page: OpenPage, fresh_store: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = open_page("data-quality", "steward", url=fresh_store)
    at.button(key="run-checks").click().run()
    engine = make_engine(fresh_store)
    runs = check_runs(engine)
    assert runs.height == 1
    run_id = int(runs["run_id"][0])
    assert any(f"Run {run_id} recorded" in str(s.value) for s in at.success)
    with engine.connect() as conn:
        actors = conn.execute(
            select(audit_t.c.actor).where(audit_t.c.action == "quality_check")
        ).all()
    assert [a for (a,) in actors] == ["tester-steward"]

    shown_runs = _table(at, "run_id", "started_at")
    assert shown_runs["run_id"].to_list() == runs["run_id"].to_list()
    assert shown_runs["failed_warning"].to_list() == runs["failed_warning"].to_list()

    expected = check_results(engine, run_id)
    shown = _table(at, "check", "severity", "dimension", "description")
    assert shown["check"].to_list() == expected["check"].to_list()
    assert shown["description"].to_list() == expected["description"].to_list()
    assert shown["rows_failing"].to_list() == expected["unexpected_count"].to_list()
    assert shown["result"].to_list() == [
        "passed" if s else "failed" for s in expected["success"].to_list()
    ]
    cards = {m.label: m.value for m in at.metric}
    assert cards[f"Latest check (run {run_id})"] == ("passed" if runs["success"][0] else "failed")
    failed = expected.filter(~pl.col("success"))
    assert (
        f"{failed.height} of {expected.height} checks failed in run {run_id}" in _texts(at)
        if failed.height
        else f"Every one of the {expected.height} checks" in _texts(at)
    )
    by_force = check_results(engine, run_id, by_force=True)
    if by_force.height:
        assert _table(at, "force", "check")["check"].to_list() == by_force["check"].to_list()

    at.toggle(key="dq-failed-only").set_value(True).run()
    assert _table(at, "check", "severity").height == failed.height


@pytest.mark.parametrize("role", ["oversight", "programme"])
def test_refused_for_oversight_and_programme(
    monkeypatch: pytest.MonkeyPatch, synthetic_store_url: str, role: str
) -> None:
    """Run the page file directly: refused before any quality function is called."""
    import data_checks.quality
    import data_checks.quality_checks
    import data_checks.quarantine

    def forbidden(*_a: object, **_k: object) -> None:
        raise AssertionError("the page computed before checking the role")

    for module, name in (
        # what the page's cached reads (dashboard.quality_data) bound on import
        *((quality_data, n) for n in ("QualityInputs", "quality_scores_of", "list_quarantined")),
        *((quality_data, n) for n in ("reason_counts_of", "read_submissions")),
        (data_checks.quality, "QualityInputs"),
        (data_checks.quality, "quality_scores_of"),
        (data_checks.quality_checks, "check_runs"),
        (data_checks.quality_checks, "check_results"),
        (data_checks.quality_checks, "run_checks"),
        (data_checks.quarantine, "list_quarantined"),
        (data_checks.quarantine, "quarantine_reason_counts"),
        (data_checks.quarantine, "reason_counts_of"),
        (data_checks.quarantine, "export_quarantined"),
    ):
        monkeypatch.setattr(module, name, forbidden)
    monkeypatch.setenv("BEACONPORT_DB_URL", synthetic_store_url)
    from tests.dashboard.conftest import APP

    at = AppTest.from_file(str(APP.parent / "views" / "data_quality.py"), default_timeout=30)
    at.session_state["bp_role"] = role
    at.run()
    assert not at.exception
    assert any(REFUSAL in str(e.value) for e in at.error)
    assert not at.dataframe and not at.metric and not at.button


def test_page_is_marked_not_controlled_and_its_downloads_say_unsuppressed(
    open_page: OpenPage, held_downloads: dict[str, Callable[[], bytes]]
) -> None:
    """With the switch at 'on', this page still says its tables are not controlled, and
    its exports carry the UNSUPPRESSED line; the next page is controlled again."""
    from dashboard.components.banners import DISCLOSURE_ON, NOT_CONTROLLED_PAGE
    from dashboard.components.export import UNSUPPRESSED_NOTICE
    from tests.dashboard.conftest import VIEWS

    held = held_downloads
    at = open_page("data-quality", "steward")
    assert [str(i.value) for i in at.info][0] == NOT_CONTROLLED_PAGE
    assert not any(DISCLOSURE_ON in str(c.value) for c in at.caption)
    files = held["beaconport-files-received-SYNTHETIC.csv"]().decode("utf-8-sig")
    assert files.splitlines()[1] == UNSUPPRESSED_NOTICE

    held.clear()
    at.switch_page(VIEWS["referrals"]).run()
    assert any(DISCLOSURE_ON in str(c.value) for c in at.caption)
    assert NOT_CONTROLLED_PAGE not in [str(i.value) for i in at.info]
    by_force = held["beaconport-referrals-by-force-SYNTHETIC.csv"]().decode("utf-8-sig")
    assert UNSUPPRESSED_NOTICE not in by_force


def test_downloads_from_a_mixed_store_say_mixed(
    open_page: OpenPage, held_downloads: dict[str, Callable[[], bytes]], tmp_path
) -> None:
    """A synthetic store with one real return loaded: the pages say the data are mixed,
    and so must every download (its first line and its name), not "no real cases"."""
    from dashboard.components.export import MIXED_NOTICE, SYNTHETIC_NOTICE
    from data_checks.gate import ingest_file
    from metrics.store import data_origin
    from tests.dashboard.store import insert_dashboard_store
    from tests.data_checks.helpers import TODAY, referral, write_csv

    url = f"sqlite:///{tmp_path / 'mixed.db'}"
    engine = make_engine(url)
    insert_dashboard_store(engine, synthetic=True)
    real = write_csv(tmp_path / "kent.csv", [referral(force_referral_id="REAL-1")])
    assert ingest_file(engine, real, "referrals", today=TODAY).rows_loaded == 1
    assert data_origin(engine) == "mixed"
    open_page("referrals", "oversight", url=url)
    names = sorted(held_downloads)
    assert names and all("-MIXED." in n for n in names), names
    first = held_downloads["beaconport-referrals-by-force-MIXED.csv"]().decode("utf-8-sig")
    assert first.splitlines()[0] == MIXED_NOTICE
    assert SYNTHETIC_NOTICE not in first
