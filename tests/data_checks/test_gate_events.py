"""The ingestion gate on review events: row rules, referral links and order rules.

Every expectation below is read off the contract by hand: "needs" means an event of
the named kind dated the same day or earlier, stored or in the same file.
"""

from __future__ import annotations

import polars as pl
import pytest
from sqlalchemy import select

from data_checks.gate import ingest_file
from metrics import store
from tests.data_checks.helpers import (
    EVENT_COLUMNS,
    TODAY,
    event,
    quarantine_reasons,
    referral,
    write_csv,
)

pytestmark = pytest.mark.sqlite


def load(engine, path, feed="events", **kw):
    return ingest_file(engine, path, feed, today=TODAY, **kw)


@pytest.fixture
def two_referrals(engine, tmp_path):
    """K-1 and K-2 in Kent, both referred on 2025-08-01."""
    r = ingest_file(
        engine,
        write_csv(tmp_path / "refs.csv", [referral(), referral(force_referral_id="K-2")]),
        "referrals",
        today=TODAY,
    )
    assert r.rows_loaded == 2
    return engine


def stored_events(engine) -> list[tuple]:
    refs = store.read_referrals(engine).select("id", "force_referral_id")
    ev = store.read_events(engine).join(refs, left_on="referral_id", right_on="id")
    return sorted(
        (r["force_referral_id"], r["event"], r["event_date"].isoformat(), r["detail"])
        for r in ev.iter_rows(named=True)
    )


def test_the_contract_smoke_case(two_referrals, tmp_path):
    rows = [
        event("K-1", "assessment_started", "2025-08-10"),
        event("K-1", "assessment_completed", "2025-08-20", "passed_back_to_force"),
        event("K-1", "learning_theme", "2025-08-20", "suspect_not_interviewed"),
        event("K-2", "assessment_completed", "2025-08-20", "nfa_upheld"),  # never started
    ]
    r = load(two_referrals, write_csv(tmp_path / "e.csv", rows, EVENT_COLUMNS))
    assert (r.rows_read, r.rows_loaded, r.rows_quarantined, r.rows_ineligible) == (4, 3, 1, 0)
    assert quarantine_reasons(two_referrals) == {5: {"out_of_order"}}


ROW_RULES = [
    (event("K-1", "assessment_started", ""), "missing_value"),
    (event("", "assessment_started", "2025-08-10"), "missing_value"),
    (event("K-1", "assessment_started", "2025-08-10", force="Kent Plice"), "unknown_force"),
    (event("K-1", "assessment_begun", "2025-08-10"), "unknown_event"),
    (event("K-1", "learning_theme", "2025-08-10"), "detail_not_allowed"),  # detail required
    (event("K-1", "learning_theme", "2025-08-10", "bad_luck"), "detail_not_allowed"),
    (event("K-1", "misconduct_referral", "2025-08-10", "nca"), "detail_not_allowed"),
    (event("K-1", "victim_contacted", "2025-11-05"), "date_in_future"),
    (event("K-1", "victim_contacted", "08/13/2025"), "unparseable_date"),
    (event("K-9", "victim_contacted", "2025-08-10"), "unknown_referral"),
    (event("K-1", "victim_contacted", "2025-08-10", force="Essex Police"), "unknown_referral"),
    (event("K-1", "victim_contacted", "2025-07-31"), "event_before_referral"),
    (event("K-1", "victim_contacted", "2025-08-10", "x" * 65), "too_long"),
]


def test_a_detail_of_64_characters_is_stored_whole(two_referrals, tmp_path):
    """The longest detail the store keeps loads as it came (lower-cased, as every
    detail is), on PostgreSQL too; one character more is quarantined (ROW_RULES)."""
    text = "Contacted by phone; follow-up visit planned for next week, ok. "
    assert len(text + "A") == 64
    rows = [event("K-1", "victim_contacted", "2025-08-10", text + "A")]
    r = load(two_referrals, write_csv(tmp_path / "e.csv", rows, EVENT_COLUMNS))
    assert (r.rows_loaded, r.rows_quarantined) == (1, 0)
    assert stored_events(two_referrals) == [
        ("K-1", "victim_contacted", "2025-08-10", (text + "A").strip().lower())
    ]


@pytest.mark.parametrize(("row", "rule"), ROW_RULES, ids=[r for _, r in ROW_RULES])
def test_each_event_rule(two_referrals, tmp_path, row, rule):
    rows = [event("K-2", "victim_contacted", "2025-08-02"), row]
    r = load(two_referrals, write_csv(tmp_path / "e.csv", rows, EVENT_COLUMNS))
    assert (r.rows_loaded, r.rows_quarantined) == (1, 1)
    assert quarantine_reasons(two_referrals) == {3: {rule}}


EVERY_REASON = [
    # (row, every reason it should carry): a row rule and a rule that needs the store
    (event("K-1", "learning_theme", "2025-07-01"), {"detail_not_allowed", "event_before_referral"}),
    (event("K-1", "nonsense", "2025-07-01"), {"unknown_event", "event_before_referral"}),
    (
        event("K-1", "assessment_completed", "2025-08-11", "bogus"),
        {"detail_not_allowed", "out_of_order"},  # and no assessment was started
    ),
    (event("K-1", "suspect_charged", "2025-11-09"), {"date_in_future", "out_of_order"}),
    (event("K-9", "nonsense", "2025-08-10"), {"unknown_event", "unknown_referral"}),
]


@pytest.mark.parametrize(
    ("row", "reasons"),
    EVERY_REASON,
    ids=lambda v: "+".join(sorted(v)) if isinstance(v, set) else None,
)
def test_a_quarantined_event_carries_every_reason(two_referrals, tmp_path, row, reasons):
    """Feed 1's "with every reason found" holds for events too: the rules that need the
    stored referral are judged on rows a row rule already quarantines."""
    rows = [event("K-2", "victim_contacted", "2025-08-02"), row]
    r = load(two_referrals, write_csv(tmp_path / "e.csv", rows, EVENT_COLUMNS))
    assert (r.rows_loaded, r.rows_quarantined) == (1, 1)
    assert quarantine_reasons(two_referrals) == {3: reasons}


def test_a_quarantined_event_never_counts_as_the_one_another_needs(two_referrals, tmp_path):
    """A started assessment quarantined for its over-long detail does not let the file's
    completion through; the completion is judged as if the start were not there."""
    rows = [
        event("K-1", "assessment_started", "2025-08-10", "x" * 65),
        event("K-1", "assessment_completed", "2025-08-20", "nfa_upheld"),
        event("K-1", "assessment_started", "2025-07-01"),  # before the referral
        event("K-2", "assessment_started", "2025-08-10"),
        event("K-2", "assessment_completed", "2025-08-20", "nfa_upheld"),
    ]
    r = load(two_referrals, write_csv(tmp_path / "e.csv", rows, EVENT_COLUMNS))
    assert (r.rows_loaded, r.rows_quarantined) == (2, 3)
    assert quarantine_reasons(two_referrals) == {
        2: {"too_long"},
        3: {"out_of_order"},
        4: {"event_before_referral"},
    }


def test_codes_and_details_match_case_insensitively_and_forces_by_alias(two_referrals, tmp_path):
    rows = [
        event(" K-1 ", " Assessment_Started ", "10/8/2025", force=" kent "),
        event("K-1", "ASSESSMENT_COMPLETED", "2025-08-10", " Adopted_By_NCA ", force="KENT POLICE"),
    ]
    r = load(two_referrals, write_csv(tmp_path / "e.csv", rows, EVENT_COLUMNS))
    assert r.rows_quarantined == 0
    assert stored_events(two_referrals) == [
        ("K-1", "assessment_completed", "2025-08-10", "adopted_by_nca"),
        ("K-1", "assessment_started", "2025-08-10", None),
    ]


def test_detail_column_may_be_absent_when_no_event_needs_it(two_referrals, tmp_path):
    rows = [
        event("K-1", "victim_contacted", "2025-08-03"),
        event("K-1", "learning_theme", "2025-08-03"),
    ]
    r = load(
        two_referrals,
        write_csv(tmp_path / "e.csv", rows, ["force", "force_referral_id", "event", "event_date"]),
    )
    assert (r.status, r.rows_loaded, r.rows_quarantined) == ("loaded", 1, 1)
    assert quarantine_reasons(two_referrals) == {3: {"detail_not_allowed"}}


ORDER_CASES = [
    # (events in one file, rows expected to break an order rule)
    (
        [
            ("assessment_started", "2025-08-10", ""),
            ("assessment_completed", "2025-08-10", "nfa_upheld"),
        ],
        set(),
    ),
    (
        [
            ("assessment_started", "2025-08-11", ""),
            ("assessment_completed", "2025-08-10", "nfa_upheld"),
        ],
        {3},
    ),
    (
        [
            ("assessment_started", "2025-08-10", ""),
            ("assessment_completed", "2025-08-12", "nfa_upheld"),
            ("reinvestigation_started", "2025-08-13", ""),  # an upheld NFA reopens nothing
        ],
        {4},
    ),
    (
        [
            ("assessment_started", "2025-08-10", ""),
            ("assessment_completed", "2025-08-12", "passed_back_to_force"),
            ("reinvestigation_started", "2025-08-12", ""),
            ("suspect_charged", "2025-09-01", ""),
            ("suspect_convicted", "2025-10-01", ""),
            ("suspect_acquitted", "2025-10-01", ""),
        ],
        set(),
    ),
    ([("suspect_charged", "2025-09-01", ""), ("suspect_convicted", "2025-10-01", "")], {2, 3}),
    (
        # The chain breaks at its root: everything after it falls too.
        [
            ("assessment_completed", "2025-08-12", "adopted_by_nca"),
            ("reinvestigation_started", "2025-08-13", ""),
            ("suspect_charged", "2025-09-01", ""),
            ("suspect_acquitted", "2025-10-01", ""),
            ("learning_theme", "2025-08-12", "records_incomplete"),  # needs nothing
        ],
        {2, 3, 4, 5},
    ),
    (
        [
            ("reinvestigation_started", "2025-08-12", ""),
            ("assessment_completed", "2025-08-13", "passed_back_to_force"),  # a day late
            ("assessment_started", "2025-08-01", ""),
        ],
        {2},
    ),
]


@pytest.mark.parametrize(("events", "broken"), ORDER_CASES)
def test_order_rules_within_a_file(two_referrals, tmp_path, events, broken):
    rows = [event("K-1", e, d, x) for e, d, x in events]
    r = load(two_referrals, write_csv(tmp_path / "e.csv", rows, EVENT_COLUMNS))
    assert r.rows_quarantined == len(broken)
    assert set(quarantine_reasons(two_referrals)) == broken
    assert all(v == {"out_of_order"} for v in quarantine_reasons(two_referrals).values())


def test_order_rules_use_events_already_stored(two_referrals, tmp_path):
    first = [event("K-1", "assessment_started", "2025-08-10")]
    load(two_referrals, write_csv(tmp_path / "e1.csv", first, EVENT_COLUMNS))
    second = [
        event("K-1", "assessment_completed", "2025-08-10", "passed_back_to_force"),
        event(
            "K-2", "assessment_completed", "2025-08-10", "passed_back_to_force"
        ),  # K-2 never started
    ]
    r = load(two_referrals, write_csv(tmp_path / "e2.csv", second, EVENT_COLUMNS))
    assert (r.rows_loaded, r.rows_quarantined) == (1, 1)
    third = [event("K-1", "reinvestigation_started", "2025-09-01")]
    assert (
        load(two_referrals, write_csv(tmp_path / "e3.csv", third, EVENT_COLUMNS)).rows_quarantined
        == 0
    )


def test_an_exact_repeat_counts_as_loaded_but_is_stored_once(two_referrals, tmp_path):
    rows = [event("K-1", "victim_contacted", "2025-08-03")] * 2 + [
        event("K-1", "victim_contacted", "2025-08-04")
    ]
    r = load(two_referrals, write_csv(tmp_path / "e1.csv", rows, EVENT_COLUMNS))
    assert (r.rows_read, r.rows_loaded, r.rows_quarantined, r.rows_repeated) == (3, 3, 0, 1)
    again = rows[:1] + [event("K-1", "acknowledgement_given", "2025-08-05")]
    r = load(two_referrals, write_csv(tmp_path / "e2.csv", again, EVENT_COLUMNS))
    assert (r.rows_loaded, r.rows_repeated) == (2, 1)
    assert stored_events(two_referrals) == [
        ("K-1", "acknowledgement_given", "2025-08-05", None),
        ("K-1", "victim_contacted", "2025-08-03", None),
        ("K-1", "victim_contacted", "2025-08-04", None),
    ]


def test_a_later_assessment_completed_corrects_the_decision_and_keeps_history(
    two_referrals, tmp_path
):
    rows = [
        event("K-1", "assessment_started", "2025-08-10"),
        event("K-1", "assessment_completed", "2025-08-20", "nfa_upheld"),
    ]
    load(two_referrals, write_csv(tmp_path / "e1.csv", rows, EVENT_COLUMNS))
    fix = [event("K-1", "assessment_completed", "2025-08-21", "passed_back_to_force")]
    r = load(two_referrals, write_csv(tmp_path / "e2.csv", fix, EVENT_COLUMNS))
    assert (r.rows_loaded, r.rows_quarantined) == (1, 0)
    current = [e for e in stored_events(two_referrals) if e[1] == "assessment_completed"]
    assert current == [("K-1", "assessment_completed", "2025-08-21", "passed_back_to_force")]
    with two_referrals.connect() as conn:
        hist = conn.execute(select(store.event_history_t)).mappings().all()
    assert [(h["detail"], h["event_date"].isoformat()) for h in hist] == [
        ("nfa_upheld", "2025-08-20")
    ]
    # Two in one file: the later one is current, the earlier goes to history.
    both = [
        event("K-2", "assessment_started", "2025-08-10"),
        event("K-2", "assessment_completed", "2025-08-12", "adopted_by_nca"),
        event("K-2", "assessment_completed", "2025-08-11", "nfa_upheld"),
    ]
    load(two_referrals, write_csv(tmp_path / "e3.csv", both, EVENT_COLUMNS))
    k2 = [
        e for e in stored_events(two_referrals) if e[0] == "K-2" and e[1] == "assessment_completed"
    ]
    assert k2 == [("K-2", "assessment_completed", "2025-08-12", "adopted_by_nca")]
    ev = store.read_events(two_referrals)
    assert ev.filter(pl.col("event") == "assessment_completed").height == 2  # one per referral


def _history(engine) -> list[tuple[str, str]]:
    with engine.connect() as conn:
        hist = conn.execute(select(store.event_history_t).order_by("id")).mappings().all()
    return [(h["detail"], h["event_date"].isoformat()) for h in hist]


def test_a_corrected_decision_sent_again_stays_corrected(two_referrals, tmp_path):
    """A case system that sends its whole history again sends the corrected decision
    too: an exact repeat of it changes nothing (as of any stored event)."""
    started = event("K-1", "assessment_started", "2025-08-05")
    first = event("K-1", "assessment_completed", "2025-08-10", "nfa_upheld")
    fix = event("K-1", "assessment_completed", "2025-08-12", "passed_back_to_force")
    load(two_referrals, write_csv(tmp_path / "e1.csv", [started, first], EVENT_COLUMNS))
    load(two_referrals, write_csv(tmp_path / "e2.csv", [fix], EVENT_COLUMNS))
    expected = [
        ("K-1", "assessment_completed", "2025-08-12", "passed_back_to_force"),
        ("K-1", "assessment_started", "2025-08-05", None),
    ]
    assert stored_events(two_referrals) == expected
    assert _history(two_referrals) == [("nfa_upheld", "2025-08-10")]

    # The cumulative resend: both decisions and the start, all exact repeats ...
    cumulative = [started, first, fix]
    r = load(two_referrals, write_csv(tmp_path / "e3.csv", cumulative, EVENT_COLUMNS))
    assert (r.rows_read, r.rows_loaded, r.rows_quarantined, r.rows_repeated) == (3, 3, 0, 3)
    # ... and the old decision alone: nothing changes either time.
    r = load(two_referrals, write_csv(tmp_path / "e4.csv", [first], EVENT_COLUMNS))
    assert (r.rows_loaded, r.rows_repeated) == (1, 1)
    assert stored_events(two_referrals) == expected
    assert _history(two_referrals) == [("nfa_upheld", "2025-08-10")]

    # A decision not sent before is still a correction, whatever its date.
    again = event("K-1", "assessment_completed", "2025-08-11", "nfa_upheld")
    r = load(two_referrals, write_csv(tmp_path / "e5.csv", [again], EVENT_COLUMNS))
    assert (r.rows_loaded, r.rows_repeated) == (1, 0)
    assert stored_events(two_referrals)[0] == (
        "K-1",
        "assessment_completed",
        "2025-08-11",
        "nfa_upheld",
    )
    assert _history(two_referrals) == [
        ("nfa_upheld", "2025-08-10"),
        ("passed_back_to_force", "2025-08-12"),
    ]
