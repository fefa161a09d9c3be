"""Quarantined rows: listing them, exporting them for correction, loading the repairs.

The repair route (docs/data-quality.md, step by step):

1. ``beaconport quarantine export OUT.csv --feed referrals`` writes the open quarantined
   rows of one feed as a CSV file: the contract's columns exactly as received, then
   ``quarantine_id`` (which quarantined row each line repairs), ``reasons`` (every rule
   broken), ``source_file``, ``source_row`` and ``data_origin`` (``SYNTHETIC`` or
   ``real``). Cells a spreadsheet would run as a formula (starting with ``=``, ``+``,
   ``-``, ``@``, a tab or a carriage return) are written with a leading apostrophe.
2. A steward corrects the contract's columns and saves the file as CSV.
3. ``beaconport quarantine repair FILE --feed referrals`` loads it through the gate with
   ``repair=True``: each row that passes closes the quarantined row its
   ``quarantine_id`` names, linking it to the file and the stored row that repaired it.
   A row that fails again is quarantined again, and the row it tried to repair is marked
   ``superseded`` (the new quarantined row carries on, and is the one exported next).
   Referrals first, then events: events quarantined only because their referral was
   (``unknown_referral``, ``out_of_order``) need no change, only loading again.

Closed rows stay stored. The extra columns other than ``quarantine_id`` are ignored by
the gate (listed as ignored columns in the submission record).
"""

from __future__ import annotations

import csv
import io
import tempfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import polars as pl
from sqlalchemy import Engine, select, update

from data_checks.errors import BeaconportError
from data_checks.gate import REPAIR_COLUMN, FileResult, ingest_file
from data_checks.parse import EVENT_OPTIONAL, EVENT_REQUIRED, REFERRAL_OPTIONAL, REFERRAL_REQUIRED
from metrics import reference
from metrics.store import audit, decode_json, json_as_text, quarantine_t, submissions_t, utcnow

FEEDS = ("referrals", "events")
STATUSES = ("open", "resolved", "superseded", "all")
#: A cell starting with one of these is run as a formula by spreadsheet programs.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
EXPORT_EXTRA_COLUMNS = [REPAIR_COLUMN, "reasons", "source_file", "source_row", "data_origin"]
SYNTHETIC_LABEL = "SYNTHETIC"


class RepairRefused(BeaconportError):
    """A repair file that cannot be loaded as a repair (names rows of the other feed, ...)."""


@dataclass(frozen=True)
class QuarantineFilters:
    """Which quarantined rows: a force, a reason code, a received file, a status, a feed."""

    force: str | None = None
    reason: str | None = None
    file: str | None = None
    status: str = "open"
    feed: str | None = None


def contract_columns(feed: str) -> list[str]:
    """The contract's columns of a feed, in the contract's order."""
    if feed == "referrals":
        return REFERRAL_REQUIRED + REFERRAL_OPTIONAL
    if feed == "events":
        return EVENT_REQUIRED + EVENT_OPTIONAL
    raise ValueError(f"unknown feed {feed!r}; expected one of {FEEDS}")


def reasons_text(reasons: list[dict] | None) -> str:
    """Every rule a row broke, for a person: ``column: message [rule]; ...``."""
    return "; ".join(
        f"{r.get('column', '')}: {r.get('message', '')} [{r.get('rule', '')}]"
        for r in reasons or []
    )


_LIST_SCHEMA = {
    "quarantine_id": pl.Int64,
    "feed": pl.String,
    "status": pl.String,
    "force": pl.String,
    "force_as_received": pl.String,
    "force_referral_id": pl.String,
    "reason_codes": pl.String,
    "reasons": pl.String,
    "source_file": pl.String,
    "source_row": pl.Int64,
    "received_at": pl.Datetime("us"),
    "data_origin": pl.String,
    "resolved_by_submission_id": pl.Int64,
    "resolved_by_referral_id": pl.Int64,
    "resolved_by_event_id": pl.Int64,
    "resolved_at": pl.Datetime("us"),
}


def _query(filters: QuarantineFilters):
    q = quarantine_t
    s = submissions_t
    stmt = select(
        q.c.id,
        q.c.feed,
        q.c.status,
        q.c.force,
        q.c.force_referral_id,
        q.c.reason_codes,
        json_as_text(q.c.reasons),
        json_as_text(q.c.raw),
        s.c.file_name,
        q.c.source_row,
        s.c.received_at,
        s.c.synthetic,
        q.c.resolved_by_submission_id,
        q.c.resolved_by_referral_id,
        q.c.resolved_by_event_id,
        q.c.resolved_at,
    ).join(s, s.c.id == q.c.submission_id)
    if filters.status not in STATUSES:
        raise ValueError(f"unknown status {filters.status!r}; expected one of {STATUSES}")
    if filters.status != "all":
        stmt = stmt.where(q.c.status == filters.status)
    if filters.feed:
        if filters.feed not in FEEDS:
            raise ValueError(f"unknown feed {filters.feed!r}; expected one of {FEEDS}")
        stmt = stmt.where(q.c.feed == filters.feed)
    if filters.force:
        stmt = stmt.where(q.c.force == (reference.resolve_force(filters.force) or filters.force))
    return stmt.order_by(q.c.id)


def _matches(reason_codes: str | None, file_name: str | None, filters: QuarantineFilters) -> bool:
    if filters.reason and filters.reason not in (reason_codes or "").split(";"):
        return False
    if filters.file:
        name = file_name or ""
        if filters.file not in (name, Path(name).name):
            return False
    return True


def _columns(engine: Engine, filters: QuarantineFilters) -> dict[str, list]:
    """The matching quarantined rows, column by column, ``raw`` and ``reasons`` decoded."""
    with engine.connect() as conn:
        result = conn.execute(_query(filters))
        names = list(result.keys())
        rows = result.all()
    if filters.reason or filters.file:
        at = {name: i for i, name in enumerate(names)}
        rows = [r for r in rows if _matches(r[at["reason_codes"]], r[at["file_name"]], filters)]
    columns = {name: [r[i] for r in rows] for i, name in enumerate(names)}
    columns["raw"] = decode_json(columns["raw"])
    columns["reasons"] = decode_json(columns["reasons"])
    return columns


def _rows(engine: Engine, filters: QuarantineFilters) -> list[dict]:
    columns = _columns(engine, filters)
    return [
        dict(zip(columns, values, strict=True)) for values in zip(*columns.values(), strict=True)
    ]


def list_quarantined(engine: Engine, filters: QuarantineFilters | None = None) -> pl.DataFrame:
    """Quarantined rows (open ones by default), oldest first, with every reason in words.

    Columns: quarantine_id, feed, status, force (canonical name, null when the row named
    no known force), force_as_received (the cell as the file gave it), force_referral_id,
    reason_codes (``;``-separated), reasons (text), source_file, source_row (spreadsheet
    row, header = 1), received_at, data_origin (``SYNTHETIC`` or ``real``), and the
    resolved_by_* links of a closed row.
    """
    c = _columns(engine, filters or QuarantineFilters())
    data = {
        "quarantine_id": c["id"],
        "feed": c["feed"],
        "status": c["status"],
        "force": c["force"],
        "force_as_received": [_raw_by_contract_name(r, ["force"]).get("force") for r in c["raw"]],
        "force_referral_id": c["force_referral_id"],
        "reason_codes": c["reason_codes"],
        "reasons": [reasons_text(r) for r in c["reasons"]],
        "source_file": c["file_name"],
        "source_row": c["source_row"],
        "received_at": c["received_at"],
        "data_origin": [SYNTHETIC_LABEL if s else "real" for s in c["synthetic"]],
        "resolved_by_submission_id": c["resolved_by_submission_id"],
        "resolved_by_referral_id": c["resolved_by_referral_id"],
        "resolved_by_event_id": c["resolved_by_event_id"],
        "resolved_at": c["resolved_at"],
    }
    return pl.DataFrame(data, schema=_LIST_SCHEMA)


def quarantine_reason_counts(engine: Engine, status: str = "open") -> pl.DataFrame:
    """Quarantined rows per feed, force and reason code (a row with two reasons counts twice)."""
    return reason_counts_of(list_quarantined(engine, QuarantineFilters(status=status)))


def reason_counts_of(listed: pl.DataFrame) -> pl.DataFrame:
    """:func:`quarantine_reason_counts` of rows already listed by :func:`list_quarantined`."""
    return (
        listed.select("feed", "force", pl.col("reason_codes").str.split(";").alias("reason"))
        .explode("reason")
        .group_by("feed", "force", "reason")
        .agg(pl.len().alias("rows"))
        .sort("feed", "force", "reason", nulls_last=True)
    )


# --- export ------------------------------------------------------------------------------


def neutralise(cell: str) -> str:
    """A cell made safe to open in a spreadsheet: a formula start gets a leading apostrophe."""
    return "'" + cell if cell.startswith(FORMULA_STARTS) else cell


def unneutralise(cell: str) -> str:
    """Undo :func:`neutralise` (only an apostrophe followed by a formula start is removed)."""
    return cell[1:] if cell.startswith("'") and cell[1:].startswith(FORMULA_STARTS) else cell


def _raw_by_contract_name(raw: dict, columns: list[str]) -> dict[str, str]:
    """The received cells under the contract's column names (headers matched as the gate does)."""
    wanted = set(columns)
    out: dict[str, str] = {}
    for header, value in (raw or {}).items():
        name = str(header).strip().lower()
        if name in wanted and name not in out:
            out[name] = "" if value is None else str(value)
    return out


@dataclass(frozen=True)
class ExportResult:
    """What an export wrote."""

    path: Path
    feed: str
    rows: int
    synthetic_rows: int


def export_quarantined(
    engine: Engine, out: Path | str, feed: str, filters: QuarantineFilters | None = None
) -> ExportResult:
    """Write the quarantined rows of ``feed`` to a CSV file for a steward to correct.

    UTF-8 with a byte-order mark (so spreadsheet programs read it right); the contract's
    columns as received, then ``quarantine_id``, ``reasons``, ``source_file``,
    ``source_row`` and ``data_origin``. Formula-like cells are neutralised.
    """
    filters = filters or QuarantineFilters()
    columns = contract_columns(feed)
    rows = _rows(
        engine,
        QuarantineFilters(filters.force, filters.reason, filters.file, filters.status, feed),
    )
    out = Path(out)
    synthetic = 0
    with out.open("w", newline="", encoding="utf-8-sig") as fh:
        w = csv.writer(fh)
        w.writerow(columns + EXPORT_EXTRA_COLUMNS)
        for r in rows:
            cells = _raw_by_contract_name(r["raw"], columns)
            synthetic += bool(r["synthetic"])
            line = [cells.get(c, "") for c in columns] + [
                str(r["id"]),
                reasons_text(r["reasons"]),
                Path(r["file_name"] or "").name,
                str(r["source_row"]),
                SYNTHETIC_LABEL if r["synthetic"] else "real",
            ]
            w.writerow([neutralise(c) for c in line])
    return ExportResult(out, feed, len(rows), synthetic)


# --- repair ------------------------------------------------------------------------------


def _read_csv_cells(path: Path) -> tuple[list[list[str]], str] | None:
    """The CSV's cells and its encoding, or None when it is not CSV text (an .xlsx)."""
    data = path.read_bytes()
    if data[:4] == b"PK\x03\x04":
        return None
    for enc in ("utf-8-sig", "cp1252"):
        try:
            text = data.decode(enc)
            break
        except UnicodeDecodeError:
            continue
    else:
        return None
    return list(csv.reader(io.StringIO(text, newline=""))), enc


def _repair_ids(cells: list[list[str]]) -> tuple[list[int], int]:
    """The ``quarantine_id`` values of the file's rows, and how many non-blank rows name
    none (they load as ordinary new rows)."""
    if not cells:
        return [], 0
    rows = [row for row in cells[1:] if any(c.strip() for c in row)]
    header = [h.strip().lower() for h in cells[0]]
    if REPAIR_COLUMN not in header:
        return [], len(rows)
    j = header.index(REPAIR_COLUMN)
    ids = []
    for row in rows:
        value = unneutralise(row[j].strip()) if j < len(row) else ""
        if value.isdigit():
            ids.append(int(value))
    return ids, len(rows) - len(ids)


def _check_targets(
    engine: Engine, ids: list[int], feed: str, unnamed: int = 0
) -> tuple[bool, list[str]]:
    """Whether the file is synthetic (every row names a quarantined row from synthetic
    data), and warnings about rows that cannot be repaired. A row naming none, or naming
    a row that does not exist, is new data of unknown origin: the file is then real."""
    if not ids:
        return False, [f"no {REPAIR_COLUMN} values: rows load as ordinary new rows"]
    with engine.connect() as conn:
        found = {
            r.id: r
            for r in conn.execute(
                select(
                    quarantine_t.c.id,
                    quarantine_t.c.feed,
                    quarantine_t.c.status,
                    submissions_t.c.synthetic,
                )
                .join(submissions_t, submissions_t.c.id == quarantine_t.c.submission_id)
                .where(quarantine_t.c.id.in_(sorted(set(ids))))
            )
        }
    wrong_feed = sorted(i for i, r in found.items() if r.feed != feed)
    if wrong_feed:
        raise RepairRefused(
            f"{REPAIR_COLUMN} {', '.join(map(str, wrong_feed[:5]))} name(s) quarantined "
            f"rows of the other feed; repair them with --feed "
            f"{'events' if feed == 'referrals' else 'referrals'}"
        )
    warnings = []
    missing = sorted(set(ids) - set(found))
    if missing:
        warnings.append(f"{len(missing)} {REPAIR_COLUMN} value(s) name no quarantined row")
    closed = sorted(i for i, r in found.items() if r.status != "open")
    if closed:
        warnings.append(f"{len(closed)} row(s) name a quarantined row that is no longer open")
    if unnamed:
        warnings.append(f"{unnamed} row(s) name no {REPAIR_COLUMN}: they load as ordinary new rows")
    synthetic = (
        bool(found) and not missing and not unnamed and all(r.synthetic for r in found.values())
    )
    return synthetic, warnings


@dataclass
class RepairResult:
    """What a repair file did: the gate's result, and the rows it could not repair."""

    result: FileResult
    superseded: int
    warnings: list[str]


def repair_file(
    engine: Engine,
    path: Path | str,
    feed: str,
    *,
    actor: str = "cli",
    today: date | None = None,
    synthetic: bool | None = None,
) -> RepairResult:
    """Load a corrected export through the gate (``repair=True``), closing what it repairs.

    ``synthetic`` marks the submission as synthetic; by default it is when every row
    of the file names a quarantined row that came from synthetic data (a row naming
    none is new data, of unknown origin). Apostrophes that the
    export put before formula-like cells are removed first (the file is then loaded
    from a cleaned copy in a temporary folder, recorded under the steward's path).
    """
    if feed not in FEEDS:
        raise ValueError(f"unknown feed {feed!r}; expected one of {FEEDS}")
    path = Path(path)
    read = _read_csv_cells(path) if path.is_file() else None
    ids, unnamed = _repair_ids(read[0]) if read else ([], 0)
    auto_synthetic, warnings = _check_targets(engine, ids, feed, unnamed) if read else (False, [])
    with tempfile.TemporaryDirectory(prefix="beaconport-repair-") as tmp:
        source = path
        if read:
            cells, _enc = read
            cleaned = [[unneutralise(c) for c in row] for row in cells]
            if cleaned != cells:
                source = Path(tmp) / path.name
                with source.open("w", newline="", encoding="utf-8") as fh:
                    csv.writer(fh).writerows(cleaned)
        result = ingest_file(
            engine,
            source,
            feed,
            synthetic=auto_synthetic if synthetic is None else synthetic,
            today=today,
            actor=actor,
            repair=True,
            name=str(path),
        )
    superseded = _supersede_failed_repairs(engine, result, actor) if result.submission_id else 0
    return RepairResult(result, superseded, warnings)


def _supersede_failed_repairs(engine: Engine, result: FileResult, actor: str) -> int:
    """A repair row quarantined again supersedes the open row it tried to repair."""
    if result.status != "loaded" or not result.rows_quarantined:
        return 0
    with engine.begin() as conn:
        again = conn.execute(
            select(quarantine_t.c.id, quarantine_t.c.raw).where(
                quarantine_t.c.submission_id == result.submission_id
            )
        ).all()
        pairs = []
        for new_id, raw in again:
            named = _raw_by_contract_name(raw, [REPAIR_COLUMN]).get(REPAIR_COLUMN, "")
            named = unneutralise(named.strip())
            if named.isdigit() and int(named) != new_id:
                pairs.append((int(named), new_id))
        n = 0
        for old_id, _new_id in pairs:
            n += conn.execute(
                update(quarantine_t)
                .where(quarantine_t.c.id == old_id, quarantine_t.c.status == "open")
                .values(
                    status="superseded",
                    resolved_by_submission_id=result.submission_id,
                    resolved_at=utcnow(),
                )
            ).rowcount
        if n:
            audit(
                conn,
                actor,
                "quarantine_superseded",
                submission_id=result.submission_id,
                superseded=[o for o, _ in pairs],
            )
    return n
