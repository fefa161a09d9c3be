"""``beaconport dashboard``: start the Streamlit dashboard on 127.0.0.1.

The dashboard is started with the same production-like options as the repository's
``.streamlit/config.toml`` passed as flags, so that an installed copy behaves the same
wherever it is started from. ``--demo`` skips sign-in and offers a role switcher; it is
refused unless every file in the store is synthetic.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import typer

from dashboard.cli import _redact, app, fail, get_engine, state

DEMO_ENV = "BEACONPORT_DEMO"
APP_PATH = Path(__file__).resolve().parent / "app.py"

#: The Streamlit options the dashboard always runs with (mirrored in .streamlit/config.toml).
STREAMLIT_OPTIONS: dict[str, str] = {
    "browser.gatherUsageStats": "false",
    "client.showErrorDetails": "none",
    "client.toolbarMode": "viewer",
    "server.headless": "true",
    "server.runOnSave": "false",
    "server.fileWatcherType": "none",
    "global.developmentMode": "false",
}


def streamlit_command(port: int, address: str = "127.0.0.1") -> list[str]:
    """The command line that starts the dashboard's Streamlit server."""
    cmd = [sys.executable, "-m", "streamlit", "run", str(APP_PATH)]
    cmd += ["--server.address", address, "--server.port", str(port)]
    for key, value in STREAMLIT_OPTIONS.items():
        cmd += [f"--{key}", value]
    return cmd


def dashboard_environment(db_url: str, demo: bool) -> dict[str, str]:
    """The environment for the Streamlit process: the store's URL and demo mode."""
    env = dict(os.environ)
    env["BEACONPORT_DB_URL"] = db_url
    env["GX_ANALYTICS_ENABLED"] = "false"
    package_root = str(APP_PATH.parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(p for p in [package_root, env.get("PYTHONPATH")] if p)
    if demo:
        env[DEMO_ENV] = "1"
    else:
        env.pop(DEMO_ENV, None)
    return env


def _absolute_sqlite(url: str) -> str:
    """A relative SQLite path made absolute, so the server opens the same file."""
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.startswith(prefix + "/") and ":memory:" not in url:
        return prefix + str(Path(url.removeprefix(prefix)).resolve())
    return url


@app.command("dashboard")
def dashboard(
    port: int = typer.Option(8501, "--port", min=1, max=65535, help="Port on 127.0.0.1."),
    demo: bool = typer.Option(
        False,
        "--demo",
        help="Skip sign-in and offer a role switcher. Refused unless the store holds "
        "only synthetic data.",
    ),
) -> None:
    """Start the dashboard on 127.0.0.1 (default port 8501)."""
    from metrics.store import data_origin, resolve_db_url

    url = _absolute_sqlite(resolve_db_url(state.db_url))
    engine = get_engine(url)
    if demo:
        origin = data_origin(engine)
        if origin != "synthetic":
            fail(
                f"--demo needs a store holding only synthetic data; {_redact(url)} holds "
                f"{'no data' if origin == 'empty' else origin + ' data'} "
                "(run `beaconport seed` on an empty database first)"
            )
    engine.dispose()
    cmd = streamlit_command(port)
    typer.echo(f"Beaconport dashboard on http://127.0.0.1:{port}/{' (demo)' if demo else ''}")
    os.execve(cmd[0], cmd, dashboard_environment(url, demo))
