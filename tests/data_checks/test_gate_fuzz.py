"""Property-based tests: arbitrary cells never give a traceback, and the counts reconcile."""

from __future__ import annotations

import csv
import io
from datetime import date

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from data_checks.gate import ingest_file
from data_checks.parse import parse_events, parse_referrals
from data_checks.reading import EXTRA, ROW
from metrics import store
from metrics.store import make_engine
from tests.data_checks.helpers import EVENT_COLUMNS, REFERRAL_COLUMNS, referral

# Cells drawn from plausible values, near misses and arbitrary text.
PLAUSIBLE = {
    "force": ["Kent Police", "kent", "GMP", " Met ", "Atlantis", ""],
    "referral_date": ["2025-08-01", "1/8/2025", "31/02/2025", "2030-01-01", "08/13/2025", ""],
    "crime_recorded_date": ["2015-03-02", "2009-12-31", "2025-04-01", "2015-3-2", ""],
    "nfa_date": ["2016-01-10", "2014-01-01", "10/01/2016", "x", ""],
    "original_outcome": ["15", "OC16", "Outcome 18", "O21", "20", "99", "", "oc"],
    "offence_codes": ["19D;71", "20b", "71", "19Z", ";", "19D;;22B", ""],
    "suspects_count": ["0", "1", "2", "3", "-1", "2.0", "2.5", "ten", ""],
    "suspects_alive_count": ["0", "1", "3", "9", ""],
    "victims_count": ["0", "1", "2", "", "1e3"],
}
cell = st.one_of(
    st.text(max_size=12), st.sampled_from(["", " ", "NULL", "=1+1", "0", "-0", "１２"])
)


def referral_cells() -> st.SearchStrategy[dict[str, str]]:
    return st.fixed_dictionaries(
        {
            c: st.one_of(st.sampled_from(PLAUSIBLE.get(c, ["K-1", "K-2", "X" * 65])), cell)
            for c in REFERRAL_COLUMNS
        }
    )


@pytest.mark.unit
@given(st.lists(st.lists(cell, min_size=10, max_size=10), min_size=1, max_size=20))
@settings(max_examples=200, deadline=None)
def test_parsers_never_raise_on_arbitrary_cells(rows):
    frame = pl.DataFrame(
        {c: [r[i] for r in rows] for i, c in enumerate(REFERRAL_COLUMNS)},
        schema={c: pl.String for c in REFERRAL_COLUMNS},
    ).with_columns(pl.int_range(pl.len()).alias(ROW), pl.lit(None, dtype=pl.String).alias(EXTRA))
    parsed = parse_referrals(frame)
    assert parsed.height == len(rows)
    # A cell with text that did not parse always carries a reason; a parsed one never does.
    for c in ["referral_date", "suspects_count"]:
        unparsed = parsed.filter(pl.col(f"{c}__raw").is_not_null() & pl.col(c).is_null())
        assert all(any(r.startswith(f"{c}|") for r in rs) for rs in unparsed["_format_reasons"])
    ev = frame.select(
        pl.col(REFERRAL_COLUMNS[0]).alias("force"),
        pl.col(REFERRAL_COLUMNS[1]).alias("force_referral_id"),
        pl.col(REFERRAL_COLUMNS[2]).alias("event"),
        pl.col(REFERRAL_COLUMNS[3]).alias("event_date"),
        pl.col(REFERRAL_COLUMNS[4]).alias("detail"),
        ROW,
        EXTRA,
    )
    assert parse_events(ev).height == len(rows)


@pytest.fixture(scope="module")
def fuzz_engine(tmp_path_factory):
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 'fuzz.db'}")
    yield engine
    engine.dispose()


def to_csv(rows: list[dict[str, str]], columns: list[str]) -> bytes:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=columns)
    w.writeheader()
    w.writerows(rows)
    return buf.getvalue().encode("utf-8")


@pytest.mark.sqlite
@pytest.mark.slow
@given(st.lists(referral_cells(), min_size=1, max_size=15), st.lists(referral_cells(), max_size=3))
@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_ingest_never_raises_and_counts_always_reconcile(fuzz_engine, tmp_path, rows, extra):
    path = tmp_path / "fuzz.csv"
    path.write_bytes(to_csv([referral(force_referral_id="K-OK"), *rows, *extra], REFERRAL_COLUMNS))
    before = store.read_referrals(fuzz_engine).height
    q_before = store.read_quarantine(fuzz_engine).height
    r = ingest_file(fuzz_engine, path, "referrals", today=date(2025, 11, 4))
    assert r.status in {"loaded", "duplicate", "rejected"}
    if r.status == "rejected":  # e.g. a header made unreadable: always a one-line reason
        assert r.reason and "\n" not in r.reason
        assert store.read_quarantine(fuzz_engine).height == q_before
    if r.status == "loaded":
        assert r.rows_read == r.rows_loaded + r.rows_quarantined
        assert r.rows_quarantined == store.read_quarantine(fuzz_engine).height - q_before
        assert 0 <= r.rows_ineligible <= r.rows_loaded
        # New keys add referrals; keys seen before replace them.
        assert store.read_referrals(fuzz_engine).height >= before


@pytest.mark.sqlite
@pytest.mark.slow
@given(st.lists(st.lists(cell, min_size=5, max_size=5), min_size=1, max_size=10))
@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_event_ingest_never_raises(fuzz_engine, tmp_path, rows):
    path = tmp_path / "ev.csv"
    path.write_bytes(
        to_csv([dict(zip(EVENT_COLUMNS, r, strict=True)) for r in rows], EVENT_COLUMNS)
    )
    r = ingest_file(fuzz_engine, path, "events", today=date(2025, 11, 4))
    assert r.status in {"loaded", "duplicate", "rejected"}
    if r.status == "loaded":
        assert r.rows_read == r.rows_loaded + r.rows_quarantined


@pytest.mark.unit
@given(st.binary(max_size=300))
@settings(max_examples=150, deadline=None)
def test_any_bytes_are_read_or_rejected_with_a_reason(data):
    import tempfile
    from pathlib import Path

    from data_checks.errors import RejectedFile
    from data_checks.parse import REFERRAL_OPTIONAL, REFERRAL_REQUIRED
    from data_checks.reading import read_received_file

    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "x.csv"
        path.write_bytes(data)
        try:
            table = read_received_file(path, REFERRAL_REQUIRED, REFERRAL_OPTIONAL)
        except RejectedFile as exc:
            assert exc.problem and "\n" not in exc.problem
        else:
            assert table.cells.height > 0


def _codes_by_hand(text: str | None) -> str | None:
    """The contract's normalisation of an offence code list, in plain Python: upper
    case, split on ";", trimmed, empty items and repeats dropped (first kept)."""
    if text is None:
        return None
    kept: list[str] = []
    for item in text.upper().split(";"):
        item = item.strip()
        if item and item not in kept:
            kept.append(item)
    return ";".join(kept) or None


@pytest.mark.unit
@given(
    st.lists(
        st.one_of(st.none(), st.text(alphabet="19cdCD7 ;\t", max_size=14)), min_size=0, max_size=40
    )
)
@settings(max_examples=200, deadline=None)
def test_offence_codes_worked_out_once_per_text_equal_the_rule_row_by_row(texts):
    """The parser normalises each distinct code list once and maps the rows onto it;
    that must give, row for row, what the rule gives applied to each row by hand."""
    from data_checks.parse import _codes_by_distinct_text

    frame = pl.DataFrame({"offence_codes__raw": texts}, schema={"offence_codes__raw": pl.String})
    got = frame.select(_codes_by_distinct_text(frame)).to_series().to_list()
    assert got == [_codes_by_hand(t) for t in texts]
