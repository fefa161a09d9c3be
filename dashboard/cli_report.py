"""``beaconport report``: the headline figures, as the data contract specifies.

``--json`` prints exactly one JSON object with the contract's keys (unsuppressed: this
is a data steward's tool), and a warning on standard error when the store holds
synthetic data; ``--suppress`` applies disclosure control (see ``metrics.report``) and
says in its ``disclosure_control`` object where the data came from (``data_origin``:
``real``, ``synthetic`` or ``mixed``), since that is the form that may be passed on. Without ``--json`` a readable summary is printed, headed by a loud
warning when the store holds synthetic data.
"""

from __future__ import annotations

import json
from typing import Any

import typer

from dashboard.cli import app, fail, get_engine, state

#: The warning for a store that is not wholly real, on the summary's first line and, with
#: ``--json``, on standard error.
ORIGIN_WARNINGS = {
    "synthetic": "SYNTHETIC DATA: these figures are not real referrals",
    "mixed": "MIXED DATA: PART SYNTHETIC: these figures are not real referrals",
}


def _shown(value: object) -> str:
    """A figure as printed: whole numbers with thousands separators (1,273, as the
    dashboard prints them), markers such as ``<5`` as they are, nothing as "none yet"."""
    if value is None:
        return "none yet"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def _render(report: dict[str, Any], origin: str) -> None:
    from rich.console import Console
    from rich.table import Column, Table

    from metrics.frames import AWAITING_DECISION
    from metrics.reference import DECISION_LABELS, theme_labels

    console = Console()
    decisions = {**DECISION_LABELS, AWAITING_DECISION: "Awaiting decision"}
    if origin in ORIGIN_WARNINGS:
        console.print(f"[bold white on red] {ORIGIN_WARNINGS[origin]} [/]", highlight=False)
    controlled = "disclosure_control" in report
    console.print(
        f"[bold]Beaconport headline figures[/] as at {report['as_at'] or 'no data yet'}"
        + (
            f" (disclosure control applied, threshold {report['disclosure_control']['threshold']})"
            if controlled
            else " (unsuppressed: data steward's view)"
        ),
        highlight=False,
    )
    # Figures are right-aligned, so units line up with units (as on the dashboard).
    summary = Table(show_header=False, box=None)
    summary.add_column()
    summary.add_column(justify="right")
    rows = [
        ("Referrals received", report["referrals"]),
        ("Forces referring", report["forces_referring"]),
        ("Referrals involving rape", report["rape_referrals"]),
        ("Eligible", report["eligible"]),
        ("Ineligible", report["ineligible"]),
        ("Quarantined rows still open", report["quarantined_rows"]),
        *((f"Decision: {decisions.get(k, k)}", v) for k, v in report["decisions"].items()),
        ("Referrals with a suspect charged", report["charged"]),
        ("Referrals with a suspect convicted", report["convicted"]),
        ("Misconduct referrals", report["misconduct_referrals"]),
        ("Median days, referral to decision", report["median_days_referral_to_decision"]),
    ]
    for label, value in rows:
        summary.add_row(label, _shown(value))
    console.print(summary)
    themes = Table("Learning theme", Column("Referrals", justify="right"), title="Learning themes")
    labels = theme_labels()
    for code, n in report["learning_themes"].items():
        themes.add_row(labels.get(code, code), _shown(n))
    console.print(themes)
    forces = Table(
        "Force",
        *(Column(h, justify="right") for h in ("Referrals", "Rape", "Eligible", "Per 100,000")),
        title="By force",
    )
    for row in report["by_force"]:
        rate = row["per_100k"]
        forces.add_row(
            row["force"],
            _shown(row["referrals"]),
            _shown(row["rape_referrals"]),
            _shown(row["eligible"]),
            "n/a" if rate is None else str(rate),
        )
    console.print(forces)


@app.command()
def report(
    json_output: bool = typer.Option(
        False, "--json", help="Print one JSON object with the contract's keys."
    ),
    suppress: bool = typer.Option(
        False,
        "--suppress",
        help="Apply disclosure control: counts 1 to threshold-1 shown as '<threshold', "
        "secondary cells 'withheld'.",
    ),
    threshold: int | None = typer.Option(
        None,
        "--threshold",
        min=3,
        help="Disclosure-control threshold (with --suppress); default "
        "BEACONPORT_DISCLOSURE_THRESHOLD, else 5.",
    ),
) -> None:
    """Print the headline figures: referrals, eligibility, decisions, outcomes, themes, by force."""
    from metrics.disclosure import DisclosureConfig, DisclosureInputError
    from metrics.report import build_report
    from metrics.store import data_origin

    if threshold is not None and not suppress:
        typer.echo(
            "beaconport: --threshold has no effect without --suppress; "
            "these figures are unsuppressed",
            err=True,
        )
    engine = get_engine(state.db_url)
    try:
        if threshold is None:
            threshold = DisclosureConfig.from_env().threshold
        figures = build_report(engine, suppress=suppress, threshold=threshold)
        origin = data_origin(engine)
    except DisclosureInputError as exc:
        fail(str(exc))
        return
    finally:
        engine.dispose()
    if json_output:
        if suppress:
            # The form that may be passed on says what the data are, in the object itself.
            figures["disclosure_control"]["data_origin"] = origin
        typer.echo(json.dumps(figures))
        if origin in ORIGIN_WARNINGS:
            # Standard output keeps the contract's object; the warning goes beside it.
            typer.echo(f"beaconport: {ORIGIN_WARNINGS[origin]}", err=True)
    else:
        _render(figures, origin)
