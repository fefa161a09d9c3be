"""``beaconport check``: the data-quality suites over what is stored."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from dashboard.cli import StageDisplay, app, fail, get_engine
from data_checks.errors import BeaconportError

#: The first line of ``check``'s output for a store that is not all real data.
ORIGIN_LINES = {
    "synthetic": "SYNTHETIC DATA: the store holds synthetic files",
    "mixed": "MIXED DATA: the store holds synthetic and real files",
}


@app.command()
def check(
    docs: Path | None = typer.Option(
        None,
        "--docs",
        help="Also build Great Expectations Data Docs in DIR (open DIR/index.html; "
        "offline it shows without styling).",
        metavar="DIR",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print a machine-readable summary."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress display."),
    stale_days: int | None = typer.Option(
        None,
        "--stale-days",
        help="Days without an event after which an eligible referral awaiting a decision "
        "is stale (default: the quality configuration, 90).",
        min=1,
    ),
) -> None:
    """Run the data-quality checks over the stored data and record the run.

    Checks the contract's row rules again on stored referrals and events, eligibility
    flags, links between the feeds, event order, stale referrals and per-force
    plausibility (see docs/data-quality.md). Exit status 1 when any critical check
    fails, 0 otherwise.
    """
    from dataclasses import replace

    from data_checks.quality_checks import failures_text, run_checks
    from data_checks.quality_config import load_quality_config

    try:
        config = load_quality_config()
    except (ValueError, OSError) as exc:
        fail(f"quality configuration: {exc}")
    if stale_days is not None:
        config = replace(config, stale_days=stale_days)
    if docs is not None and docs.exists() and not docs.is_dir():
        fail(f"--docs {docs}: is a file; give a folder for the Data Docs")
    engine = get_engine()
    with StageDisplay(quiet) as show:
        try:
            run = run_checks(engine, config=config, docs_dir=docs, progress=show)
        except BeaconportError as exc:
            show.stop()
            fail(str(exc))
        except OSError as exc:
            show.stop()
            where = f" {exc.filename}" if exc.filename else ""
            fail(f"cannot write the Data Docs or read a file{where}: {exc.strerror or exc}")
    from metrics.store import data_origin

    origin = data_origin(engine)
    if as_json:
        typer.echo(json.dumps(run.summary() | {"data_origin": origin}))
    else:
        if origin in ORIGIN_LINES:
            typer.echo(ORIGIN_LINES[origin])
        failed = {s: len(run.failed(s)) for s in ("critical", "warning", "info")}
        typer.echo(
            f"checked the store (as at {run.as_at or 'empty'}): {len(run.results)} checks, "
            f"{failed['critical']} critical, {failed['warning']} warning and "
            f"{failed['info']} info failing (run {run.run_id})"
        )
        for line in failures_text(run):
            typer.echo(line)
        if run.docs_index:
            typer.echo(f"Data Docs: {run.docs_index}")
    if not run.success:
        raise typer.Exit(1)
