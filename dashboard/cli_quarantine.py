"""``beaconport quarantine list|export|repair``: see and repair quarantined rows.

The repair route is described step by step in docs/data-quality.md.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer

from dashboard.cli import app, fail, get_engine
from data_checks.errors import BeaconportError, LoadFailed

quarantine_app = typer.Typer(
    help="See quarantined rows, export them for correction, and load the corrected rows.",
    no_args_is_help=True,
)
app.add_typer(quarantine_app, name="quarantine")

FORCE_OPT = typer.Option(None, "--force", help="Only this force (name, short name or alias).")
REASON_OPT = typer.Option(
    None, "--reason", help="Only rows with this reason code (e.g. unknown_force)."
)
FILE_OPT = typer.Option(
    None, "--file", help="Only rows from this received file (its name or full path)."
)
STATUS_OPT = typer.Option(
    "open", "--status", help="open, resolved, superseded or all.", show_default=True
)


def _filters(force, reason, file, status, feed=None):
    from data_checks.quarantine import STATUSES, QuarantineFilters

    if status not in STATUSES:
        fail(f"--status: '{status}' is not one of {', '.join(STATUSES)}")
    if feed is not None and feed not in ("referrals", "events"):
        fail(f"--feed: '{feed}' is not referrals or events")
    if force is not None:
        from metrics.reference import resolve_force

        if resolve_force(force) is None:
            fail(f"--force: '{force}' is not a force's name, short name or alias")
    return QuarantineFilters(force=force, reason=reason, file=file, status=status, feed=feed)


@quarantine_app.command("list")
def list_rows(
    force: str | None = FORCE_OPT,
    reason: str | None = REASON_OPT,
    file: str | None = FILE_OPT,
    status: str = STATUS_OPT,
    feed: str | None = typer.Option(None, "--feed", help="Only referrals or events."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object per row."),
) -> None:
    """List quarantined rows with every reason (open ones unless --status says otherwise)."""
    from data_checks.quarantine import QuarantineFilters, list_quarantined

    frame = list_quarantined(get_engine(), _filters(force, reason, file, status, feed))
    if as_json:
        for row in frame.iter_rows(named=True):
            typer.echo(json.dumps(row, default=str))
        return
    for r in frame.iter_rows(named=True):
        typer.echo(
            f"#{r['quarantine_id']} [{r['status']}] {r['feed']} {Path(r['source_file']).name} "
            f"row {r['source_row']}: {_force_text(r)} / "
            f"{r['force_referral_id'] or '-'} [{r['data_origin']}]: {r['reasons']}"
        )
    typer.echo(f"{frame.height} quarantined row(s)", err=True)
    if reason and frame.height == 0:
        every = list_quarantined(get_engine(), QuarantineFilters(status="all"))
        known = sorted({c for codes in every["reason_codes"] if codes for c in codes.split(";")})
        if reason not in known:
            typer.echo(
                f"beaconport: no quarantined row has the reason '{reason}'"
                + (f" (reasons in the store: {', '.join(known)})" if known else ""),
                err=True,
            )


def _force_text(row: dict) -> str:
    """The force as stored, else as the file gave it (so a steward sees the typo)."""
    if row["force"]:
        return row["force"]
    received = row.get("force_as_received")
    return f"unknown force {received!r}" if received else "(no force given)"


@quarantine_app.command("export")
def export_rows(
    out: Path = typer.Argument(..., help="The CSV file to write.", show_default=False),
    feed: str | None = typer.Option(
        None,
        "--feed",
        help="referrals or events. Without it, both feeds are written, to OUT-referrals.csv "
        "and OUT-events.csv.",
    ),
    force: str | None = FORCE_OPT,
    reason: str | None = REASON_OPT,
    file: str | None = FILE_OPT,
    status: str = STATUS_OPT,
) -> None:
    """Write quarantined rows as CSV for a steward to correct (one file per feed).

    The contract's columns as received, then quarantine_id, reasons, source_file,
    source_row and data_origin (SYNTHETIC or real). Cells starting with = + - @ (or a
    tab or carriage return) get a leading apostrophe so that no spreadsheet runs them
    as formulas; `quarantine repair` removes it again.
    """
    from data_checks.quarantine import export_quarantined

    filters = _filters(force, reason, file, status, feed)
    engine = get_engine()
    targets = (
        [(feed, out)]
        if feed
        else [
            (f, out.with_name(f"{out.stem}-{f}{out.suffix or '.csv'}"))
            for f in ("referrals", "events")
        ]
    )
    for f, path in targets:
        try:
            res = export_quarantined(engine, path, f, filters)
        except OSError as exc:
            fail(f"cannot write {path}: {exc.strerror or exc}")
        note = f" ({res.synthetic_rows} SYNTHETIC)" if res.synthetic_rows else ""
        typer.echo(f"{res.path}: {res.rows} quarantined {f} row(s){note}")


@quarantine_app.command("repair")
def repair(
    file: Path = typer.Argument(..., help="A corrected export (CSV).", show_default=False),
    feed: str = typer.Option(..., "--feed", help="referrals or events."),
    as_json: bool = typer.Option(False, "--json", help="Print the contract's JSON line."),
) -> None:
    """Load a corrected export through the gate; each row that passes closes the row it repairs.

    Repair referrals before events. Exit status 0 when the file was loaded (even if some
    rows were quarantined again), 2 when it was rejected.
    """
    from data_checks.gate import summary_line
    from data_checks.quarantine import repair_file

    if feed not in ("referrals", "events"):
        fail(f"--feed: '{feed}' is not referrals or events")
    engine = get_engine()
    try:
        outcome = repair_file(engine, file, feed)
    except LoadFailed as exc:
        fail(str(exc), code=1)
    except BeaconportError as exc:
        fail(str(exc))
    result = outcome.result
    for w in outcome.warnings:
        typer.echo(f"beaconport: warning: {w}", err=True)
    if as_json:
        typer.echo(json.dumps(result.contract_json()))
    if result.status == "rejected":
        fail(f"{result.file}: rejected: {result.reason}")
    if not as_json:
        typer.echo(summary_line(result))
        for line in result.first_problems:
            typer.echo(f"  {line}")
        if outcome.superseded:
            typer.echo(
                f"  {outcome.superseded} row(s) failed again: the new quarantined rows replace "
                "them (export again to correct them)"
            )
