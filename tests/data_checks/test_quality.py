"""Quality scores on a small hand-made store, each expected value worked out by hand below."""

from __future__ import annotations

import pytest
from sqlalchemy import delete

from data_checks.gate import ingest_file
from data_checks.quality import quality_scores
from data_checks.quality_config import QualityConfig, load_quality_config
from metrics import snapshot, store
from tests.data_checks.helpers import TODAY, event, referral, write_csv

GMP = "Greater Manchester Police"
COLUMNS = [*referral().keys(), "suspects_ethnicity_recorded_count"]


def build_store(engine, folder):
    """Kent: K-1, K-2 stored, K-3 quarantined (negative count), K-2 resubmitted changed.
    GMP: G-1 stored, G-2 twice in one file (both quarantined as repeated_key).
    Events: K-1 started on day 10, decided on day 20, decision corrected on day 24;
    G-1 started on day 40; K-2 has none (26 days waiting at the as-at date)."""
    refs = [
        referral(force_referral_id="K-1", suspects_ethnicity_recorded_count="2"),  # 3 suspects
        referral(
            force_referral_id="K-2",
            referral_date="2025-08-15",
            suspects_count="2",
            suspects_alive_count="2",
        ),  # ethnicity count not returned
        referral(force_referral_id="K-3", victims_count="-1"),
        referral(force_referral_id="G-1", force=GMP, suspects_ethnicity_recorded_count="1"),
        referral(force_referral_id="G-2", force=GMP),
        referral(force_referral_id="G-2", force=GMP, victims_count="4"),
    ]
    ingest_file(engine, write_csv(folder / "r1.csv", refs, COLUMNS), "referrals", today=TODAY)
    again = [
        referral(
            force_referral_id="K-2",
            referral_date="2025-08-15",
            suspects_count="2",
            suspects_alive_count="2",
            victims_count="3",
        )
    ]
    r = ingest_file(engine, write_csv(folder / "r2.csv", again, COLUMNS), "referrals", today=TODAY)
    assert r.rows_replaced == 1
    events = [
        event("K-1", "assessment_started", "2025-08-11"),
        event("K-1", "assessment_completed", "2025-08-21", "nfa_upheld"),
        event("G-1", "assessment_started", "2025-09-10", force=GMP),
    ]
    ingest_file(engine, write_csv(folder / "e1.csv", events), "events", today=TODAY)
    fix = [event("K-1", "assessment_completed", "2025-08-25", "passed_back_to_force")]
    ingest_file(engine, write_csv(folder / "e2.csv", fix), "events", today=TODAY)


def drop_columnar_copy(engine) -> None:
    """Delete the store's columnar copy, so readers must fall back to the rows."""
    with engine.begin() as conn:
        conn.execute(delete(store.column_segments_t))
        assert snapshot.read_tables(conn) is None


@pytest.mark.parametrize("copy", ["columnar copy", "rows only"])
def test_scores_per_force_and_national_equal_hand_computed_values(engine, tmp_path, copy):
    """The same hand-computed answers whether the events come from the columnar copy
    or, when it cannot be trusted, from the rows."""
    build_store(engine, tmp_path)
    if copy == "rows only":
        drop_columnar_copy(engine)
    config = QualityConfig()  # first event on time within 28 days
    by_force = {r["force"]: r for r in quality_scores(engine, by="force", config=config).to_dicts()}
    assert list(by_force) == [GMP, "Kent Police"]
    kent, gmp = by_force["Kent Police"], by_force[GMP]

    # validity: Kent stores 2 referrals + 2 events (started, current decision), 1 quarantined
    # -> 1 of 5 received; GMP stores 1 + 1, 2 quarantined -> 2 of 4.
    assert (kent["rows_stored"], kent["rows_quarantined"]) == (4, 1)
    assert kent["validity_score"] == 80.0
    assert gmp["validity_score"] == 50.0
    # completeness: Kent 2 of 3 + 2 suspects known; GMP 1 of 3.
    assert (kent["ethnicity_returned"], kent["suspects"], kent["suspects_where_returned"]) == (
        1,
        5,
        3,
    )
    assert kent["ethnicity_recorded_share_where_returned"] == pytest.approx(2 / 3)
    assert kent["completeness_score"] == 40.0
    assert gmp["completeness_score"] == 33.3
    # timeliness: K-1's first event after 10 days (on time), K-2 waiting 26 days (not yet
    # judged: as at 2025-09-10), G-1's after 40 days (late).
    assert (kent["first_event_on_time"], kent["first_event_judged"]) == (1, 1)
    assert kent["timeliness_score"] == 100.0
    assert gmp["timeliness_score"] == 0.0
    assert kent["median_days_to_first_event"] == 10.0
    # days from NFA (2016-01-10) to referral: K-1 2025-08-01 = 3491, K-2 2025-08-15 = 3505
    assert kent["median_days_nfa_to_referral"] == 3498.0
    # consistency: no order break; Kent's one decision was corrected once -> 1 per decision.
    assert (kent["decisions"], kent["decision_corrections"]) == (1, 1)
    assert kent["consistency_score"] == 0.0
    assert gmp["consistency_score"] == 100.0
    # uniqueness: Kent 1 replaced version of 4 referral rows (2 stored + 1 replaced + 1
    # quarantined); GMP 2 repeated-key rows of 3 (1 stored + 2 quarantined).
    assert kent["uniqueness_score"] == 75.0
    assert gmp["uniqueness_score"] == 33.3
    # overall: the mean of the five; grade E below 70.
    assert kent["overall_score"] == 59.0  # (80 + 40 + 100 + 0 + 75) / 5
    assert gmp["overall_score"] == 43.3  # (50 + 33.3 + 0 + 100 + 33.3) / 5
    assert (kent["grade"], gmp["grade"]) == ("E", "E")

    national = quality_scores(engine, by="national", config=config).row(0, named=True)
    assert national["validity_score"] == 66.7  # 3 of 9
    assert national["completeness_score"] == 37.5  # 3 of 8
    assert national["timeliness_score"] == 50.0
    assert national["uniqueness_score"] == 57.1  # 3 of 7
    assert national["overall_score"] == 42.3

    # A longer window makes G-1 on time.
    later = quality_scores(engine, by="force", config=QualityConfig(first_event_days=40))
    assert later.filter(later["force"] == GMP)["timeliness_score"].item() == 100.0


def test_scores_per_month(engine, tmp_path):
    build_store(engine, tmp_path)
    months = quality_scores(engine, by="force_month", config=QualityConfig())
    kent = months.filter(months["force"] == "Kent Police")
    # All Kent rows (referrals, events, the quarantined row's referral_date) fall in August 2025.
    assert kent["month"].dt.strftime("%Y-%m").to_list() == ["2025-08"]
    assert kent["validity_score"].item() == 80.0
    gmp = months.filter(months["force"] == GMP).sort("month")
    assert gmp["month"].dt.strftime("%Y-%m").to_list() == ["2025-08", "2025-09"]
    # GMP's event is in September: August has 1 referral + 2 quarantined rows.
    assert gmp["rows_stored"].to_list() == [1, 1]
    assert gmp["rows_quarantined"].to_list() == [2, 0]


@pytest.mark.unit
def test_grades_and_configuration(tmp_path, monkeypatch):
    c = QualityConfig()
    assert [c.grade(s) for s in (100, 95, 94.9, 90, 80, 70, 69.9, None)] == [
        "A",
        "A",
        "B",
        "B",
        "C",
        "D",
        "E",
        None,
    ]
    toml = tmp_path / "quality.toml"
    toml.write_text("[quality]\nstale_days = 120\ngrade_a = 97.5\n", encoding="utf-8")
    monkeypatch.setenv("BEACONPORT_QUALITY_CONFIG", str(toml))
    monkeypatch.setenv("BEACONPORT_QUALITY_GRADE_A", "99")
    loaded = load_quality_config()
    assert (loaded.stale_days, loaded.grade_a, loaded.grade_b) == (120, 99.0, 90.0)
    toml.write_text("stale_dayz = 1\n", encoding="utf-8")
    with pytest.raises(ValueError, match="stale_dayz"):
        load_quality_config()
