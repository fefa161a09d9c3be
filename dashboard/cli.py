"""The ``beaconport`` command line.

Every command takes the database from ``--db URL``, else ``BEACONPORT_DB_URL``, else
``sqlite:///beaconport.db`` in the working directory. Errors a user can act on are
printed as one line on standard error; no traceback is shown.
"""

from __future__ import annotations

import inspect
import os
import sys
import weakref
from typing import get_args

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

import typer

app = typer.Typer(
    name="beaconport",
    help="Oversight analytics for the national review of group-based child sexual "
    "exploitation cases closed with no further action.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _readable_help_types() -> None:
    """Typer 0.29 prints each parameter's Python type in ``--help``: ``<bool>`` beside
    every flag, which takes no value (so a reader may well type ``--json true``), and
    ``<list[Path]>`` beside the files. Here a flag shows no type and a list shows its
    element (``<path>...``); every other type is Typer's own. Help text only: parsing is
    untouched. Skipped if a later Typer no longer has the method."""
    from typer import core

    original = getattr(core._TyperParameter, "display_type", None)
    if original is None:
        return

    def display_type(self, ctx):  # Typer's own signature
        if getattr(self, "is_flag", False):
            return None
        descriptor = getattr(self, "type_descriptor", None)
        args = get_args(getattr(descriptor, "annotation", None))
        if getattr(descriptor, "is_list", False) and len(args) == 1:
            return f"<{self._bare_type(args[0]).lower()}>..."
        return original(self, ctx)

    core._TyperParameter.display_type = display_type


_readable_help_types()


class State:
    db_url: str | None = None
    #: Every engine a command opened and still holds, closed before the process ends
    #: (``run``); weak, so that tests invoking many commands in one process keep none.
    engines: weakref.WeakSet = weakref.WeakSet()


state = State()


@app.callback()
def main(
    db: str | None = typer.Option(
        None,
        "--db",
        help="Database URL (SQLAlchemy). Default: $BEACONPORT_DB_URL, else sqlite:///beaconport.db.",
        metavar="URL",
    ),
) -> None:
    """Beaconport: ingest force referral returns and review events, check them, report."""
    state.db_url = db


def run() -> None:
    """The ``beaconport`` console script: the command line, with a database error no
    command foresaw (a read-only file, a server gone away) given as one line, exit
    status 1, instead of a traceback. Nothing half-done is kept: every write is in a
    transaction that the error rolled back."""
    from sqlalchemy.exc import SQLAlchemyError

    code: int | str | None = 0
    try:
        app()
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        typer.echo(f"beaconport: the database refused the operation: {reason}", err=True)
        code = 1
    except SystemExit as exc:
        code = exc.code
    _exit_now(code)


def _exit_now(code: int | str | None) -> None:
    """End the process once its work is done and said: every engine the command opened
    is closed (SQLite checkpoints its write-ahead log there), logs and output are
    flushed, and then the interpreter is left without freeing every object one by one,
    which after loading a million rows took a third of a second doing nothing useful."""
    import logging

    for engine in list(state.engines):
        engine.dispose()
    logging.shutdown()
    if isinstance(code, str):
        print(code, file=sys.stderr)
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code or 0)


def fail(message: str, code: int = 2) -> None:
    """Print one clear line on standard error and exit with ``code``."""
    typer.echo(f"beaconport: {message}", err=True)
    raise typer.Exit(code)


def get_engine(db: str | None = None):
    """The store's engine, with a one-line error when the database cannot be opened."""
    from sqlalchemy.exc import SQLAlchemyError

    from metrics.store import make_engine, resolve_db_url

    url = resolve_db_url(db or state.db_url)
    try:
        engine = make_engine(url)
    except (SQLAlchemyError, ImportError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        fail(f"cannot open database {_redact(url)}: {first}")
    state.engines.add(engine)
    return engine


class StageDisplay:
    """A spinner on standard error naming the stage a long command is at, with the time
    taken so far; shown only on a terminal and unless ``--quiet`` (rich)."""

    def __init__(self, quiet: bool) -> None:
        from rich.console import Console
        from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        console = Console(stderr=True)
        self._progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            TimeElapsedColumn(),
            console=console,
            disable=quiet or not console.is_terminal,
            transient=True,
        )
        self._task = self._progress.add_task("starting", total=None)

    def __call__(self, stage: str) -> None:
        self._progress.update(self._task, description=stage)

    def __enter__(self) -> StageDisplay:
        self._progress.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._progress.stop()

    def stop(self) -> None:
        """Take the display down (before printing an error line)."""
        self._progress.stop()


def _redact(url: str) -> str:
    """The URL with any password replaced, for messages."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - a malformed URL is reported as given
        return url


# Sub-commands are defined in their own modules and registered here.
from dashboard import (  # noqa: E402,F401
    cli_check,
    cli_dashboard,
    cli_ingest,
    cli_quarantine,
    cli_report,
    cli_store,
    cli_users,
)


def flowed(doc: str) -> str:
    """A docstring with each paragraph on one line (a paragraph starting with click's
    ``\\b`` keeps its lines), for the terminal to wrap at its own width."""
    paragraphs = inspect.cleandoc(doc).split("\n\n")
    return "\n\n".join(
        p if p.startswith("\b") else " ".join(line.strip() for line in p.splitlines())
        for p in paragraphs
    )


def _flow_help(typer_app: typer.Typer) -> None:
    """Typer 0.29 keeps the single line breaks of a command's docstring after its first
    paragraph, so ``--help`` printed each source line as a line of its own and then
    wrapped it at the terminal's width, leaving a word or two alone on a line
    ("eligibility", "1,273"). Every command's paragraphs now flow. Help text only;
    plain string work, so no command imports rich for it."""
    for info in typer_app.registered_commands:
        if info.help is None and info.callback is not None and info.callback.__doc__:
            info.callback.__doc__ = flowed(info.callback.__doc__)
    for group in typer_app.registered_groups:
        if group.typer_instance is not None:
            _flow_help(group.typer_instance)


_flow_help(app)
