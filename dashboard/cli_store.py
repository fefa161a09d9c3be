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


def _differences(engine) -> list[str]:
    """What differs between the columnar copy and the rows (empty when they agree)."""
    from metrics import snapshot
    from metrics.frames import read_store_rows

    with engine.connect() as conn:
        copy = snapshot.read_tables(conn)
    if copy is None:
        return ["the copy is missing, in another format, or its row counts differ"]
    rows = read_store_rows(engine)
    pairs = {
        "referrals": (copy.referrals, rows.referrals, ["id"]),
        "offence codes": (copy.offences, rows.offences, ["referral_id", "code"]),
        "events": (
            copy.events.drop("id"),
            rows.events,
            ["referral_id", "event", "event_date", "detail"],
        ),
    }
    return [
        f"{name} differ"
        for name, (a, b, key) in pairs.items()
        if not a.sort(key, nulls_last=True).equals(b.sort(key, nulls_last=True))
    ]


@store_app.command("verify")
def verify(
    as_json: bool = typer.Option(False, "--json", help="Print the result as one JSON object."),
) -> None:
    """Compare the columnar copy with the rows; exit 1 if they differ."""
    problems = _differences(get_engine())
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
