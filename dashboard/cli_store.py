"""``beaconport store verify|rebuild-snapshot``: the store's columnar copy.

The figures read a columnar copy of the tables they need (``metrics.snapshot``), which
every load keeps current. ``verify`` compares it with the rows; ``rebuild-snapshot``
writes it afresh from the rows, which is needed only after someone edits the tables by
hand (the figures meanwhile read the rows, more slowly, and say so in the log).
"""

from __future__ import annotations

import json

import typer

from dashboard.cli import StageDisplay, app, fail, get_engine

QUIET_OPT = typer.Option(False, "--quiet", "-q", help="No progress display.")

store_app = typer.Typer(
    help="Check or rebuild the store's columnar copy of what the figures read.",
    no_args_is_help=True,
)
app.add_typer(store_app, name="store")


@store_app.command("verify")
def verify(
    as_json: bool = typer.Option(False, "--json", help="Print the result as one JSON object."),
    quiet: bool = QUIET_OPT,
) -> None:
    """Compare the columnar copy with the rows; exit 1 if they differ."""
    from metrics import snapshot

    engine = get_engine()
    with StageDisplay(quiet) as show, engine.connect() as conn:
        show("comparing the columnar copy with the rows")
        problems = snapshot.differences(conn)
    if as_json:
        typer.echo(json.dumps({"matches": not problems, "problems": problems}))
    elif not problems:
        typer.echo("The columnar copy matches the rows.")
    else:
        typer.echo("The columnar copy does not match the rows: " + "; ".join(problems))
    if problems:
        raise typer.Exit(1)


@store_app.command("rebuild-snapshot")
def rebuild_snapshot(quiet: bool = QUIET_OPT) -> None:
    """Write the columnar copy afresh from the rows (one transaction)."""
    from sqlalchemy.exc import SQLAlchemyError

    from metrics import snapshot
    from metrics.store import audit, transaction

    engine = get_engine()
    try:
        with StageDisplay(quiet) as show, transaction(engine) as conn:
            show("writing the columnar copy from the rows")
            tables = snapshot.rebuild(conn)
            audit(conn, "cli", "rebuilt_snapshot", referrals=tables.referrals.height)
    except SQLAlchemyError as exc:
        fail(f"could not rebuild the columnar copy: {str(exc).splitlines()[0]}", code=1)
    typer.echo(
        f"Rebuilt the columnar copy: {tables.referrals.height:,} referrals, "
        f"{tables.offences.height:,} offence codes, {tables.events.height:,} events."
    )
