"""``beaconport store verify|rebuild-snapshot``: the store's columnar copy.

The figures read a columnar copy of the tables they need (``metrics.snapshot``), which
every load keeps current. ``verify`` compares it with the rows; ``rebuild-snapshot``
writes it afresh from the rows, which is needed only after someone edits the tables by
hand (the figures meanwhile read the rows, more slowly, and say so in the log).
"""

from __future__ import annotations

import json

import typer

from dashboard.cli import app, fail, get_engine

store_app = typer.Typer(
    help="Check or rebuild the store's columnar copy of what the figures read.",
    no_args_is_help=True,
)
app.add_typer(store_app, name="store")


@store_app.command("verify")
def verify(
    as_json: bool = typer.Option(False, "--json", help="Print the result as one JSON object."),
) -> None:
    """Compare the columnar copy with the rows; exit 1 if they differ."""
    from metrics import snapshot

    with get_engine().connect() as conn:
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
def rebuild_snapshot() -> None:
    """Write the columnar copy afresh from the rows (one transaction)."""
    from sqlalchemy.exc import SQLAlchemyError

    from metrics import snapshot
    from metrics.store import audit, transaction

    engine = get_engine()
    try:
        with transaction(engine) as conn:
            tables = snapshot.rebuild(conn)
            audit(conn, "cli", "rebuilt_snapshot", referrals=tables.referrals.height)
    except SQLAlchemyError as exc:
        fail(f"could not rebuild the columnar copy: {str(exc).splitlines()[0]}", code=1)
    typer.echo(
        f"Rebuilt the columnar copy: {tables.referrals.height:,} referrals, "
        f"{tables.offences.height:,} offence codes, {tables.events.height:,} events."
    )
