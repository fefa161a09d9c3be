"""``beaconport ingest referrals|events FILE...`` and ``beaconport seed``."""

from __future__ import annotations

import json
import tempfile
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from dashboard.cli import app, fail, get_engine
from data_checks.errors import BeaconportError, LoadFailed
from data_checks.gate import FileResult, ingest_files, summary_line

if TYPE_CHECKING:
    from rich.progress import Progress

ingest_app = typer.Typer(
    help="Validate and load files of one feed (CSV or .xlsx, recognised by content).",
    no_args_is_help=True,
)
app.add_typer(ingest_app, name="ingest")

FILES = typer.Argument(
    ..., help="One or more CSV or .xlsx files.", show_default=False, metavar="FILE"
)
JSON_OPT = typer.Option(
    False, "--json", help="Print one JSON object per file (the contract's form)."
)
QUIET_OPT = typer.Option(False, "--quiet", "-q", help="No progress display.")


def ingest_paths(
    paths: list[Path],
    feed: str,
    *,
    as_json: bool,
    quiet: bool = False,
    synthetic: bool = False,
    actor: str = "cli",
    repair: bool = False,
) -> list[FileResult]:
    """Ingest files one by one, printing a line (or JSON) for each; never a traceback."""
    engine = get_engine()
    results = []
    with _file_progress(quiet) as bar:
        task = bar.add_task(f"ingesting {feed}", total=len(paths))

        def step(name: str, stage: str) -> None:
            bar.update(task, description=f"{name}: {stage}")

        def done(result: FileResult) -> None:
            results.append(result)
            bar.advance(task)
            _report(result, as_json)

        try:
            ingest_files(
                engine,
                paths,
                feed,
                synthetic=synthetic,
                actor=actor,
                repair=repair,
                progress=step,
                on_result=done,
            )
        except LoadFailed as exc:
            bar.stop()
            fail(str(exc), code=1)
        except BeaconportError as exc:
            bar.stop()
            fail(str(exc), code=2)
    return results


class _NoProgress:
    """What ``--quiet`` shows: nothing, without importing rich (about 0.02 s)."""

    def __enter__(self) -> _NoProgress:
        return self

    def __exit__(self, *_exc: object) -> None:
        return None

    def add_task(self, *_args: object, **_kwargs: object) -> int:
        return 0

    def update(self, *_args: object, **_kwargs: object) -> None:
        return None

    def advance(self, *_args: object, **_kwargs: object) -> None:
        return None

    def stop(self) -> None:
        return None


def _file_progress(quiet: bool) -> Progress | _NoProgress:
    """A bar of files done on standard error, on a terminal and unless ``--quiet``."""
    if quiet:
        return _NoProgress()
    from rich.console import Console
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    err = Console(stderr=True)
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} files"),
        TimeElapsedColumn(),
        console=err,
        disable=not err.is_terminal,
        transient=True,
    )


def _report(result: FileResult, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(result.contract_json()))
    if result.status == "rejected":
        typer.echo(f"beaconport: {result.file}: rejected: {result.reason}", err=True)
    elif not as_json:
        typer.echo(summary_line(result))
        for line in result.first_problems:
            typer.echo(f"  {line}")
        more = result.rows_quarantined - len(result.first_problems)
        if more > 0:
            typer.echo(f"  ... and {more} more (beaconport quarantine list)")
        if result.ignored_columns:
            typer.echo(f"  ignored columns: {', '.join(result.ignored_columns)}")


def _exit_for(results: list[FileResult]) -> None:
    if any(r.status == "rejected" for r in results):
        raise typer.Exit(2)


@ingest_app.command("referrals")
def ingest_referrals(
    files: list[Path] = FILES, as_json: bool = JSON_OPT, quiet: bool = QUIET_OPT
) -> None:
    """Validate and load force referral returns (feed 1).

    Invalid rows are quarantined with every reason; valid rows are loaded, and marked
    ineligible with every reason when they fail the review's criteria. Exit status 0
    when every file was loaded or was a duplicate, 2 when any file was rejected.
    """
    _exit_for(ingest_paths(files, "referrals", as_json=as_json, quiet=quiet))


@ingest_app.command("events")
def ingest_events(
    files: list[Path] = FILES, as_json: bool = JSON_OPT, quiet: bool = QUIET_OPT
) -> None:
    """Validate and load review events (feed 2); their referrals must already be stored.

    Exit status 0 when every file was loaded or was a duplicate, 2 when any was rejected.
    """
    _exit_for(ingest_paths(files, "events", as_json=as_json, quiet=quiet))


@app.command()
def seed(
    referrals: int = typer.Option(1273, "--referrals", help="Number of referrals.", min=1),
    forces: int = typer.Option(
        23, "--forces", help="Number of forces referring (1-44).", min=1, max=44
    ),
    rape: int | None = typer.Option(
        None,
        "--rape",
        help="Referrals involving rape (default 236 at the default size, else the same share).",
    ),
    as_at: str = typer.Option("2025-11-04", "--as-at", help="Date of the data set (YYYY-MM-DD)."),
    seed_value: int = typer.Option(
        0, "--seed", help="Random seed: the same seed gives the same data."
    ),
    error_rate: float = typer.Option(
        0.0,
        "--error-rate",
        help="Share of rows written corrupted on purpose (their correct values are recorded).",
    ),
    out: Path | None = typer.Option(
        None, "--out", help="Folder for the files (default: a temporary folder)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON line per ingested file."),
) -> None:
    """Write a SYNTHETIC data set as files and ingest it through the same gate as real files.

    With the defaults it reproduces the published figures of 4 November 2025: 1,273
    referrals from 23 forces, 236 involving rape. Every figure it makes is invented.
    """
    from metrics.synthetic import write_synthetic_dataset

    try:
        when = date.fromisoformat(as_at)
    except ValueError:
        fail(f"--as-at: '{as_at}' is not a date (YYYY-MM-DD)")
    folder = out or Path(tempfile.mkdtemp(prefix="beaconport-seed-"))
    try:
        folder.mkdir(parents=True, exist_ok=True)
        dataset = write_synthetic_dataset(
            folder,
            referrals=referrals,
            forces=forces,
            rape=rape,
            as_at=when,
            seed=seed_value,
            error_rate=error_rate,
        )
    except (ValueError, OSError) as exc:
        fail(f"seed: {exc}")
    typer.echo(f"SYNTHETIC data set written to {folder}", err=True)
    results = ingest_paths(
        dataset.referral_files, "referrals", as_json=as_json, synthetic=True, actor="seed"
    )
    results += ingest_paths(
        dataset.event_files, "events", as_json=as_json, synthetic=True, actor="seed"
    )
    if dataset.corrections_file:
        typer.echo(f"record of corrupted rows: {dataset.corrections_file}", err=True)
    referral_results = [r for r in results if r.feed == "referrals"]
    loaded = sum(r.rows_loaded for r in referral_results)
    # Seeding the same store twice with the same options writes the same bytes: say
    # so, rather than leave "0 referrals loaded" to read as a failure.
    duplicates = sum(r.status == "duplicate" for r in referral_results)
    already = f" ({duplicates} of them already loaded, unchanged)" if duplicates else ""
    typer.echo(
        f"seeded SYNTHETIC data: {loaded} referrals loaded from "
        f"{len(dataset.referral_files)} files{already}",
        err=True,
    )
    _exit_for(results)
