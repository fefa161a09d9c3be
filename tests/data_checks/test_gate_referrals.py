"""The ingestion gate on referral returns: each contract rule, on hand-made files.

Expected answers come from reading the contract's table by hand: each mutation below
breaks exactly one rule, so the row must be quarantined with exactly that reason, and
the untouched row beside it must load.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import select

from data_checks.errors import LoadFailed
from data_checks.gate import ingest_file
from metrics import store
from tests.data_checks.helpers import (
    REFERRAL_COLUMNS,
    TODAY,
    quarantine_reasons,
    referral,
    table_counts,
    write_csv,
)

pytestmark = pytest.mark.sqlite


def load(engine, path, feed="referrals", **kw):
    return ingest_file(engine, path, feed, today=TODAY, **kw)


def test_a_code_listed_many_times_is_stored_once(engine, tmp_path):
    """A row whose codes repeat far past what the store's column holds (about 300
    characters) still loads, on PostgreSQL too: each code is kept once, first first."""
    codes = "19d;" + ";".join(["71"] * 100) + "; 19D ;20B"
    r = load(engine, write_csv(tmp_path / "repeats.csv", [referral(offence_codes=codes)]))
    assert (r.status, r.rows_loaded, r.rows_quarantined) == ("loaded", 1, 0)
    assert store.read_referrals(engine)["offence_codes"].to_list() == ["19D;71;20B"]
    assert sorted(store.read_offences(engine)["code"].to_list()) == ["19D", "20B", "71"]


def test_valid_rows_are_stored_with_canonical_values(engine, tmp_path):
    rows = [
        referral(),
        referral(
            force_referral_id=" K-2 ",
            force="  kent ",
            referral_date="2/8/2025",
            original_outcome="OC16",
            offence_codes=" 20b ; 71;",
            suspects_count="2.0",
            suspects_alive_count="2",
        ),
        referral(force_referral_id="G-1", force="GMP", original_outcome="Outcome 18"),
    ]
    r = load(engine, write_csv(tmp_path / "ok.csv", rows))
    assert (r.status, r.rows_read, r.rows_loaded, r.rows_quarantined, r.rows_ineligible) == (
        "loaded",
        3,
        3,
        0,
        0,
    )
    refs = store.read_referrals(engine).sort("force_referral_id")
    assert refs["force_referral_id"].to_list() == ["G-1", "K-1", "K-2"]
    assert refs["force"].to_list() == ["Greater Manchester Police", "Kent Police", "Kent Police"]
    k2 = refs.row(2, named=True)
    assert k2["referral_date"] == date(2025, 8, 2)  # UK order: 2 August, never 8 February
    assert k2["original_outcome"] == "16"
    assert k2["offence_codes"] == "20B;71"
    assert k2["suspects_count"] == 2
    assert k2["involves_rape"] is False  # 20B and 71 are not rape codes
    assert refs.row(1, named=True)["involves_rape"] is True  # 19D is
    assert refs.row(0, named=True)["original_outcome"] == "18"
    offences = store.read_offences(engine)
    assert offences.height == 2 + 2 + 2  # 19D;71, 20B;71, 19D;71
    # missing stays missing and empty text stays empty (PostgreSQL loads by COPY)
    assert refs["suspects_ethnicity_recorded_count"].to_list() == [None, None, None]
    assert refs["ineligibility_reasons"].to_list() == ["", "", ""]


def test_text_that_looks_like_csv_is_stored_as_received(engine, tmp_path):
    """Quotes, commas and a leading formula sign in a key survive the bulk path
    (COPY on PostgreSQL) exactly."""
    odd = 'K-"1",=SUM(A1)'
    load(engine, write_csv(tmp_path / "odd.csv", [referral(force_referral_id=odd)]))
    assert store.read_referrals(engine)["force_referral_id"].to_list() == [odd]


INVALID = [
    # (changes to a valid row, the one rule it breaks)
    ({"force_referral_id": ""}, "missing_value"),
    ({"force": " "}, "missing_value"),
    ({"referral_date": ""}, "missing_value"),
    ({"original_outcome": ""}, "missing_value"),
    ({"offence_codes": ""}, "missing_value"),
    ({"offence_codes": ";"}, "missing_value"),
    ({"victims_count": ""}, "missing_value"),
    ({"force_referral_id": "K" * 65}, "too_long"),
    ({"force": "Atlantis Constabulary"}, "unknown_force"),
    ({"force": "Kent Polce"}, "unknown_force"),
    ({"original_outcome": "99"}, "unknown_outcome"),
    ({"original_outcome": "OC"}, "unknown_outcome"),
    ({"offence_codes": "19D;19Z"}, "unknown_offence_code"),
    ({"referral_date": "07/13/2025"}, "unparseable_date"),  # US order: no 13th month
    ({"referral_date": "31/02/2025"}, "unparseable_date"),
    ({"crime_recorded_date": "2015-02-30"}, "unparseable_date"),
    ({"nfa_date": "10/01/16"}, "unparseable_date"),  # two-digit year
    ({"nfa_date": "yesterday"}, "unparseable_date"),
    ({"referral_date": "2025-11-05", "nfa_date": "2016-01-10"}, "date_in_future"),
    ({"nfa_date": "2014-01-10"}, "dates_out_of_order"),  # before crime_recorded_date
    ({"referral_date": "2016-01-09"}, "dates_out_of_order"),  # before nfa_date
    ({"suspects_count": "-1", "suspects_alive_count": "-1"}, "negative_count"),
    ({"victims_count": "-2"}, "negative_count"),
    ({"suspects_alive_count": "4"}, "alive_exceeds_suspects"),
    ({"suspects_count": "two"}, "not_a_whole_number"),
    ({"victims_count": "2.5"}, "not_a_whole_number"),
]


@pytest.mark.parametrize(
    ("changes", "rule"), INVALID, ids=[f"{r}-{i}" for i, (_, r) in enumerate(INVALID)]
)
def test_each_rule_quarantines_the_row_and_loads_the_rest(engine, tmp_path, changes, rule):
    rows = [
        referral(force_referral_id="OK-1"),
        referral(**{"force_referral_id": "BAD-1", **changes}),
    ]
    r = load(engine, write_csv(tmp_path / "f.csv", rows))
    assert (r.status, r.rows_read, r.rows_loaded, r.rows_quarantined) == ("loaded", 2, 1, 1)
    assert quarantine_reasons(engine) == {3: {rule}}  # header is row 1, so the bad row is row 3
    assert store.read_referrals(engine)["force_referral_id"].to_list() == ["OK-1"]


def test_ethnicity_count_is_optional_but_checked(engine, tmp_path):
    cols = [*REFERRAL_COLUMNS, "suspects_ethnicity_recorded_count"]
    rows = [
        referral(force_referral_id="A", suspects_ethnicity_recorded_count=""),
        referral(force_referral_id="B", suspects_ethnicity_recorded_count="2"),
        referral(force_referral_id="C", suspects_ethnicity_recorded_count="4"),  # 4 > 3 suspects
    ]
    r = load(engine, write_csv(tmp_path / "e.csv", rows, cols))
    assert (r.rows_loaded, r.rows_quarantined) == (2, 1)
    assert quarantine_reasons(engine) == {4: {"ethnicity_exceeds_suspects"}}
    refs = store.read_referrals(engine).sort("force_referral_id")
    assert refs["suspects_ethnicity_recorded_count"].to_list() == [None, 2]


def test_a_row_breaking_several_rules_gives_every_reason(engine, tmp_path):
    bad = referral(force="Nowhere", original_outcome="99", suspects_alive_count="9", nfa_date="x")
    r = load(engine, write_csv(tmp_path / "m.csv", [bad]))
    assert r.rows_quarantined == 1
    assert quarantine_reasons(engine) == {
        2: {"unknown_force", "unknown_outcome", "alive_exceeds_suspects", "unparseable_date"}
    }
    [row] = store.read_quarantine(engine).iter_rows(named=True)
    with engine.connect() as conn:
        raw = conn.execute(select(store.quarantine_t.c.raw)).scalar_one()
    assert raw == bad  # kept whole and as received


def test_repeated_key_quarantines_every_row_with_it(engine, tmp_path):
    rows = [
        referral(force_referral_id="K-1"),
        referral(force_referral_id="K-2"),
        referral(
            force_referral_id="K-1", force="Kent", victims_count="5"
        ),  # same force, by short name
    ]
    r = load(engine, write_csv(tmp_path / "d.csv", rows))
    assert (r.rows_loaded, r.rows_quarantined) == (1, 2)
    assert quarantine_reasons(engine) == {2: {"repeated_key"}, 4: {"repeated_key"}}
    # The same id in another force is a different key.
    r = load(engine, write_csv(tmp_path / "d2.csv", [referral(), referral(force="Essex Police")]))
    assert r.rows_quarantined == 0


ELIGIBILITY = [
    ({}, ""),
    ({"crime_recorded_date": "2009-12-31", "nfa_date": "2010-02-01"}, "outside_review_period"),
    ({"crime_recorded_date": "2025-04-01", "nfa_date": "2025-05-01"}, "outside_review_period"),
    ({"crime_recorded_date": "2010-01-01"}, ""),  # first day of the window is in
    ({"crime_recorded_date": "2025-03-31", "nfa_date": "2025-04-02"}, ""),  # last day is in
    ({"suspects_count": "1", "suspects_alive_count": "1"}, "fewer_than_two_suspects"),
    ({"victims_count": "1"}, "fewer_than_two_victims"),
    ({"offence_codes": "71;88A;86"}, "no_contact_offence"),
    ({"suspects_alive_count": "0"}, "no_suspect_alive"),
    ({"original_outcome": "20"}, "not_closed_as_nfa"),  # transferred to another body
    ({"original_outcome": "1"}, "not_closed_as_nfa"),
    (
        {
            "suspects_count": "0",
            "suspects_alive_count": "0",
            "victims_count": "0",
            "offence_codes": "72",
        },
        "fewer_than_two_suspects;fewer_than_two_victims;no_contact_offence;no_suspect_alive",
    ),
]


@pytest.mark.parametrize(("changes", "reasons"), ELIGIBILITY)
def test_eligibility_reasons(engine, tmp_path, changes, reasons):
    r = load(engine, write_csv(tmp_path / "el.csv", [referral(**changes)]))
    assert (r.rows_loaded, r.rows_quarantined) == (1, 0)
    assert r.rows_ineligible == (1 if reasons else 0)
    [row] = store.read_referrals(engine).iter_rows(named=True)
    assert row["ineligibility_reasons"] == reasons
    assert row["eligible"] is (reasons == "")


def test_column_names_match_loosely_and_unknown_columns_are_listed(engine, tmp_path):
    row = referral()
    header = [f"  {c.upper()} " for c in REFERRAL_COLUMNS] + [
        "Notes",
        "suspects_ethnicity_recorded_count",
    ]
    path = tmp_path / "h.csv"
    body = ",".join(header) + "\n" + ",".join([*row.values(), "=HYPERLINK()", "1"]) + "\n"
    path.write_text(body, encoding="utf-8")
    r = load(engine, path)
    assert (r.rows_loaded, r.ignored_columns) == (1, ["Notes"])
    with engine.connect() as conn:
        ignored = conn.execute(select(store.submissions_t.c.ignored_columns)).scalar_one()
    assert ignored == ["Notes"]


def test_a_quarantined_row_keeps_no_value_of_an_ignored_column(engine, tmp_path):
    """Only the contract's cells of a quarantined row are kept: a column the contract does
    not name (here a victim's name, which a force should never send) is kept as a name
    in the submission record, its values nowhere in the store."""
    good = referral(force_referral_id="K-1")
    bad = referral(force_referral_id="K-2", nfa_date="31/02/2020")
    header = [*REFERRAL_COLUMNS, "Victim name"]
    path = tmp_path / "pd.csv"
    lines = [",".join(header)]
    lines += [",".join([*row.values(), name]) for row, name in ((good, "Ann Ex"), (bad, "Jo Ex"))]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    r = load(engine, path)
    assert (r.rows_loaded, r.rows_quarantined, r.ignored_columns) == (1, 1, ["Victim name"])
    with engine.connect() as conn:
        raw = conn.execute(select(store.quarantine_t.c.raw)).scalar_one()
    assert raw == bad  # the contract's cells, whole and as received; nothing else
    engine.dispose()
    if engine.dialect.name == "sqlite":  # not in any table, index or page of the file
        data = Path(engine.url.database).read_bytes()
        wal = Path(engine.url.database + "-wal")
        data += wal.read_bytes() if wal.exists() else b""
        assert b"Jo Ex" not in data and b"Ann Ex" not in data


def test_blank_lines_are_not_rows_and_row_numbers_stay_true(engine, tmp_path):
    path = tmp_path / "b.csv"
    good = ",".join(referral().values())
    bad = ",".join(referral(force_referral_id="K-9", force="Nowhere").values())
    path.write_text(
        ",".join(REFERRAL_COLUMNS) + f"\n{good}\n\n,,,,,,,,,\n{bad}\n\n", encoding="utf-8"
    )
    r = load(engine, path)
    assert (r.rows_read, r.rows_loaded, r.rows_quarantined) == (2, 1, 1)
    assert quarantine_reasons(engine) == {5: {"unknown_force"}}  # as a spreadsheet numbers it


def test_only_a_row_blank_in_every_cell_is_dropped(engine, tmp_path):
    """Whitespace counts as blank; a row with anything in any cell, even only in a
    column the contract does not know, or with its key alone blank, is a row read."""
    cols = ["note", *reversed(REFERRAL_COLUMNS)]
    blank = {c: " " for c in cols} | {"note": "\t"}
    rows = [
        {"note": "", **referral()},  # row 2: loads
        blank,  # row 3: not a row
        {"note": "", **referral(force_referral_id=" ")},  # row 4: its key alone blank
        blank | {"note": "see email"},  # row 5: only the unknown column has text
        {c: "" for c in cols} | {"force_referral_id": "K-5"},  # row 6: its key alone
    ]
    r = load(engine, write_csv(tmp_path / "blanks.csv", rows, cols))
    assert (r.rows_read, r.rows_loaded, r.rows_quarantined) == (4, 1, 3)
    assert set(quarantine_reasons(engine)) == {4, 5, 6}


@pytest.mark.parametrize("encoding", ["utf-8-sig", "cp1252"])
def test_bom_and_windows_1252_files_load(engine, tmp_path, encoding):
    cols = [*REFERRAL_COLUMNS, "note"]
    rows = [referral(note="Café – £5 ‘quoted’"), referral(force_referral_id="K-2", note="naïve")]
    r = load(engine, write_csv(tmp_path / "enc.csv", rows, cols, encoding=encoding))
    assert (r.status, r.rows_loaded, r.rows_quarantined) == ("loaded", 2, 0)
    with engine.connect() as conn:
        enc = conn.execute(select(store.submissions_t.c.encoding)).scalar_one()
    assert enc == {"utf-8-sig": "utf-8-bom", "cp1252": "windows-1252"}[encoding]


def test_a_byte_order_mark_before_windows_1252_text_is_not_part_of_the_header(engine, tmp_path):
    path = write_csv(tmp_path / "bom-1252.csv", [referral(force_referral_id="Café-1")])
    path.write_bytes(b"\xef\xbb\xbf" + path.read_text(encoding="utf-8").encode("cp1252"))
    r = load(engine, path)
    assert (r.status, r.rows_loaded, r.rows_quarantined) == ("loaded", 1, 0)
    assert store.read_referrals(engine)["force_referral_id"].to_list() == ["Café-1"]


def test_lines_ended_by_carriage_returns_alone_load_as_rows(engine, tmp_path):
    """Excel for Mac's "CSV (Macintosh)" ends lines with CR alone."""
    path = write_csv(
        tmp_path / "mac.csv", [referral(), referral(force_referral_id="K-2", force="Kent Plice")]
    )
    path.write_bytes(path.read_bytes().replace(b"\r\n", b"\r"))
    assert b"\n" not in path.read_bytes()
    r = load(engine, path)
    assert (r.status, r.rows_read, r.rows_loaded, r.rows_quarantined) == ("loaded", 2, 1, 1)
    assert quarantine_reasons(engine) == {3: {"unknown_force"}}


def test_xlsx_with_the_return_on_a_later_sheet_says_which_sheet_was_read(engine, tmp_path):
    from openpyxl import Workbook

    wb = Workbook()
    wb.active.title = "Notes"
    wb.active.append(["Return for Kent, prepared by the force's data team"])
    data = wb.create_sheet("Return")
    data.append(REFERRAL_COLUMNS)
    data.append(list(referral().values()))
    path = tmp_path / "two-sheets.xlsx"
    wb.save(path)
    r = load(engine, path)
    assert r.status == "rejected"
    assert r.reason.endswith(
        "(read the first of 2 sheets, 'Notes'; the return must be on the first sheet)"
    ), r.reason
    assert r.reason.startswith("required column(s) missing: force_referral_id")


def test_xlsx_with_real_date_cells_loads_and_is_recognised_by_content(engine, tmp_path):
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(REFERRAL_COLUMNS)
    ws.append(
        [
            "X-1",
            "Kent Police",
            date(2025, 8, 1),
            date(2015, 3, 2),
            date(2016, 1, 10),
            15,
            "19D",
            3,
            3,
            2,
        ]
    )
    ws.append(
        ["X-2", "Kent Police", "01/08/2025", "2015-03-02", "2016-01-10", "OC15", "20B", 2.0, 2, 2]
    )
    ws.append(
        [
            "X-3",
            "Kent Police",
            date(2025, 8, 1),
            date(2017, 3, 2),
            date(2016, 1, 10),
            15,
            "19D",
            3,
            3,
            2,
        ]
    )
    path = tmp_path / "return.csv"  # the wrong extension on purpose
    wb.save(path)
    r = load(engine, path)
    assert (r.rows_read, r.rows_loaded, r.rows_quarantined) == (3, 2, 1)
    assert quarantine_reasons(engine) == {4: {"dates_out_of_order"}}
    refs = store.read_referrals(engine).sort("force_referral_id")
    assert refs["referral_date"].to_list() == [date(2025, 8, 1), date(2025, 8, 1)]
    assert refs["suspects_count"].to_list() == [3, 2]


REJECTED = [
    (b"", "the file is empty"),
    (b"   \n\n", "the file is empty"),
    ((",".join(REFERRAL_COLUMNS) + "\n").encode(), "no data rows below the header"),
    ((",".join(REFERRAL_COLUMNS) + "\n,,,,,,,,,\n\n").encode(), "no data rows below the header"),
    (bytes(range(256)) * 4, "binary data"),
    ((",".join(REFERRAL_COLUMNS) + "\n").encode("utf-16"), "UTF-16"),
    (b"force_referral_id,force\nK-1,Kent\n", "required column(s) missing"),
    (
        (",".join(REFERRAL_COLUMNS) + ",FORCE\n" + "a," * 10 + "b\n").encode(),
        "appears more than once",
    ),
    (b"PK\x03\x04" + b"\x00" * 50, "zip"),
    (b"\xd0\xcf\x11\xe0" + b"\x00" * 50, ".xls"),
    (b"\x81\x8d\x8f\x90\x9d,x\n1,2\n", "neither UTF-8 nor Windows-1252"),
    (
        (
            ",".join(REFERRAL_COLUMNS)
            + "\nK-1,Kent,2025-08-01,2015-03-02,2016-01-10,15,19D,3,3,2"
            + '\nK-2,"Kent,2025-08-01,2015-03-02,2016-01-10,15,19D,3,3,2'
            + "\nK-3,Kent,2025-08-01,2015-03-02,2016-01-10,15,19D,3,3,2\n"
        ).encode(),
        "the quoted cell that opens on line 3 is never closed",
    ),
]


@pytest.mark.parametrize(("content", "problem"), REJECTED)
def test_unreadable_files_are_rejected_and_change_nothing_but_the_record(
    engine, tmp_path, content, problem
):
    load(engine, write_csv(tmp_path / "first.csv", [referral()]))
    before = table_counts(engine)
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    r = load(engine, path)
    assert r.status == "rejected"
    assert problem in r.reason
    assert (r.rows_read, r.rows_loaded, r.rows_quarantined) == (0, 0, 0)
    after = table_counts(engine)
    # Only the submission record saying why, and its audit entry.
    assert after == {
        **before,
        "submissions": before["submissions"] + 1,
        "audit_log": before["audit_log"] + 1,
    }
    subs = store.read_submissions(engine)
    assert subs["status"].to_list()[-1] == "rejected"
    assert problem in subs["reason"].to_list()[-1]


def test_the_same_bytes_again_are_a_duplicate(engine, tmp_path):
    path = write_csv(tmp_path / "a.csv", [referral()])
    assert load(engine, path).status == "loaded"
    before = table_counts(engine)
    copy = tmp_path / "renamed.csv"
    copy.write_bytes(path.read_bytes())
    r = load(engine, copy)
    assert (r.status, r.rows_read, r.rows_loaded) == ("duplicate", 0, 0)
    after = table_counts(engine)
    assert after["referrals"] == before["referrals"]
    assert after["submissions"] == before["submissions"] + 1
    # The same bytes as the other feed are judged on their own.
    assert load(engine, path, feed="events").status != "duplicate"


def test_a_file_is_read_once_so_what_is_recorded_is_what_was_judged(engine, tmp_path, monkeypatch):
    """A force's system rewrites the file while it is being ingested (here: every read
    after the first sees the new version). The file is read once, so the duplicate
    check, the rows loaded and the digest recorded all belong to the version read."""
    path = write_csv(tmp_path / "a.csv", [referral(force_referral_id="K-1")])
    first = path.read_bytes()
    rewritten = write_csv(tmp_path / "b.csv", [referral(force_referral_id="K-2")]).read_bytes()
    reads = []
    real = Path.read_bytes

    def changing(self: Path) -> bytes:
        if self != path:
            return real(self)
        reads.append(self)
        return first if len(reads) == 1 else rewritten

    monkeypatch.setattr(Path, "read_bytes", changing)
    assert load(engine, path).status == "loaded"
    assert len(reads) == 1
    subs = store.read_submissions(engine)
    assert subs["sha256"].to_list() == [hashlib.sha256(first).hexdigest()]
    assert store.read_referrals(engine)["force_referral_id"].to_list() == ["K-1"]


def test_the_same_bytes_loaded_at_the_same_moment_load_once(engine, tmp_path):
    """Two ingests of one file that both pass the first duplicate look (neither loaded
    yet): the second to take the store's write lock finds the first and is a duplicate."""
    from data_checks import gate

    path = write_csv(tmp_path / "a.csv", [referral(), referral(force_referral_id="K-2")])
    first = gate._prepare(engine, path, "referrals", False, False, [])
    second = gate._prepare(engine, path, "referrals", False, False, [])
    assert isinstance(first, gate.PreparedFile) and isinstance(second, gate.PreparedFile)
    criteria = gate.ReviewCriteria()
    results = [
        gate._load_prepared(
            engine, p, gate._judge_together([p], "referrals", TODAY)[0], TODAY, criteria, False, "t"
        )
        for p in (first, second)
    ]
    assert [r.status for r in results] == ["loaded", "duplicate"]
    assert table_counts(engine)["referrals"] == 2


def test_concurrent_ingests_of_one_file_load_it_once(engine, tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    path = write_csv(tmp_path / "a.csv", [referral(force_referral_id=f"K-{i}") for i in range(50)])
    with ThreadPoolExecutor(2) as pool:
        statuses = sorted(pool.map(lambda _: load(engine, path).status, range(2)))
    assert statuses == ["duplicate", "loaded"]
    assert table_counts(engine)["referrals"] == 50


def test_a_rejected_file_sent_again_is_judged_again(engine, tmp_path):
    path = tmp_path / "e.csv"
    path.write_bytes(b"")
    assert load(engine, path).status == "rejected"
    assert load(engine, path).status == "rejected"


def test_a_changed_resubmission_replaces_and_keeps_history(engine, tmp_path):
    load(engine, write_csv(tmp_path / "v1.csv", [referral(), referral(force_referral_id="K-2")]))
    first = store.read_referrals(engine).sort("force_referral_id")
    r = load(
        engine,
        write_csv(
            tmp_path / "v2.csv",
            [referral(victims_count="4", offence_codes="20B"), referral(force_referral_id="K-2")],
        ),
    )
    assert (r.rows_loaded, r.rows_replaced) == (2, 1)  # K-2 arrived unchanged
    now = store.read_referrals(engine).sort("force_referral_id")
    assert now["id"].to_list() == first["id"].to_list()  # same referral, events stay linked
    k1 = now.row(0, named=True)
    assert (k1["victims_count"], k1["offence_codes"], k1["involves_rape"], k1["version"]) == (
        4,
        "20B",
        False,
        2,
    )
    assert now.row(1, named=True)["version"] == 1
    offences = store.read_offences(engine).filter(pl.col("referral_id") == k1["id"])
    assert offences["code"].to_list() == ["20B"]
    with engine.connect() as conn:
        hist = conn.execute(select(store.referral_history_t)).mappings().all()
    assert len(hist) == 1
    assert hist[0]["version"] == 1
    assert hist[0]["values"]["victims_count"] == 2
    assert hist[0]["values"]["offence_codes"] == "19D;71"


def test_a_valid_resubmission_closes_the_quarantined_row_with_that_key(engine, tmp_path):
    load(engine, write_csv(tmp_path / "v1.csv", [referral(nfa_date="2014-01-01")]))
    assert store.read_quarantine(engine, status="open").height == 1
    r = load(engine, write_csv(tmp_path / "v2.csv", [referral()]))
    assert r.repaired == 1
    q = store.read_quarantine(engine)
    assert q["status"].to_list() == ["resolved"]  # still stored, now closed
    [ref] = store.read_referrals(engine).iter_rows(named=True)
    assert q["resolved_by_referral_id"].to_list() == [ref["id"]]
    assert q["resolved_by_submission_id"].to_list() == [r.submission_id]


def test_repair_route_links_by_quarantine_id(engine, tmp_path):
    load(engine, write_csv(tmp_path / "v1.csv", [referral(force="Kent Polce")]))
    [qid] = store.read_quarantine(engine, status="open")["id"].to_list()
    fixed = write_csv(
        tmp_path / "fix.csv",
        [referral(quarantine_id=str(qid))],
        [*REFERRAL_COLUMNS, "quarantine_id"],
    )
    # The force was unresolvable, so no key links them: only the quarantine_id does.
    r = load(engine, fixed, repair=True)
    assert (r.rows_loaded, r.repaired) == (1, 1)
    q = store.read_quarantine(engine)
    assert q["status"].to_list() == ["resolved"]


@pytest.mark.parametrize(
    "where",
    ["validate_rows", "_quarantine", "_replace_referrals", "snapshot.append", "_record_validation"],
)
def test_a_failure_mid_load_leaves_the_database_as_it_was(engine, tmp_path, monkeypatch, where):
    load(engine, write_csv(tmp_path / "v1.csv", [referral(), referral(force_referral_id="K-2")]))
    before = table_counts(engine)
    before_rows = store.read_referrals(engine)

    def boom(*_a, **_k):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(f"data_checks.gate.{where}", boom)
    rows = [
        referral(victims_count="9"),
        referral(force_referral_id="K-3"),
        referral(force="Nowhere"),
    ]
    with pytest.raises(LoadFailed, match="nothing from this file was stored"):
        load(engine, write_csv(tmp_path / "v2.csv", rows))
    assert table_counts(engine) == before
    assert store.read_referrals(engine).equals(before_rows)


def test_counts_reconcile_and_json_has_the_contract_keys(engine, tmp_path):
    rows = [referral(force_referral_id=f"K-{i}") for i in range(6)]
    rows[1]["force"] = "?"
    rows[2]["victims_count"] = "1"  # ineligible, still loaded
    rows[3]["force_referral_id"] = "K-4"  # repeats K-4
    r = load(engine, write_csv(tmp_path / "c.csv", rows))
    out = r.contract_json()
    assert list(out) == [
        "file",
        "feed",
        "status",
        "rows_read",
        "rows_loaded",
        "rows_quarantined",
        "rows_ineligible",
        "reason",
    ]
    assert out["rows_read"] == out["rows_loaded"] + out["rows_quarantined"] == 6
    assert (out["rows_loaded"], out["rows_quarantined"], out["rows_ineligible"]) == (3, 3, 1)
    json.dumps(out)
    subs = store.read_submissions(engine).row(0, named=True)
    assert (subs["rows_read"], subs["rows_loaded"], subs["rows_quarantined"]) == (6, 3, 3)


def test_validation_run_is_recorded_per_expectation(engine, tmp_path):
    load(
        engine,
        write_csv(tmp_path / "v.csv", [referral(), referral(force_referral_id="Z", force="?")]),
    )
    with engine.connect() as conn:
        runs = conn.execute(select(store.validation_runs_t)).mappings().all()
        res = conn.execute(select(store.validation_results_t)).mappings().all()
    assert len(runs) == 1 and runs[0]["success"] is False
    failed = {(r["check"], r["unexpected_count"]) for r in res if not r["success"]}
    assert failed == {("unknown_force", 1)}
    assert all(r["severity"] == "critical" for r in res)


def test_several_files_in_one_run_are_judged_each_on_its_own(engine, tmp_path):
    """One suite run for many files must give each file exactly its own verdicts."""
    from data_checks.gate import ingest_files

    a = write_csv(tmp_path / "a.csv", [referral(), referral(force_referral_id="K-2", force="?")])
    # The same keys again in the next file: a resubmission, not a repeated key.
    b = write_csv(
        tmp_path / "b.csv", [referral(victims_count="3"), referral(force_referral_id="K-3")]
    )
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    c = write_csv(
        tmp_path / "c.csv", [referral(force_referral_id="K-4"), referral(force_referral_id="K-4")]
    )
    copy_of_a = tmp_path / "a-again.csv"
    copy_of_a.write_bytes(a.read_bytes())
    results = ingest_files(engine, [a, b, empty, c, copy_of_a], "referrals", today=TODAY)
    got = [
        (r.status, r.rows_read, r.rows_loaded, r.rows_quarantined, r.rows_replaced) for r in results
    ]
    assert got == [
        ("loaded", 2, 1, 1, 0),
        ("loaded", 2, 2, 0, 1),  # K-1 replaced, K-3 new
        ("rejected", 0, 0, 0, 0),
        ("loaded", 2, 0, 2, 0),  # K-4 twice in one file
        ("duplicate", 0, 0, 0, 0),
    ]
    q = store.read_quarantine(engine, status="open").select(
        "file_name", "source_row", "reason_codes"
    )
    assert sorted(q.iter_rows()) == [
        (str(a), 3, "unknown_force"),
        (str(c), 2, "repeated_key"),
        (str(c), 3, "repeated_key"),
    ]
    refs = store.read_referrals(engine).sort("force_referral_id")
    assert refs["force_referral_id"].to_list() == ["K-1", "K-3"]
    assert refs["victims_count"].to_list() == [3, 2]
