"""``beaconport quarantine list|export|repair``: see and repair quarantined rows."""

from __future__ import annotations

import typer

from dashboard.cli import app

quarantine_app = typer.Typer(
    help="See quarantined rows, export them for correction, and load the corrected rows.",
    no_args_is_help=True,
)
app.add_typer(quarantine_app, name="quarantine")
