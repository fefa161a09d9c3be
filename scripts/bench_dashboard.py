"""Measure the dashboard in headless Chromium: first render and filter-change time per
page, at 1,273 and 100,000 referrals (synthetic data from ``beaconport seed``).

    .venv/bin/python scripts/bench_dashboard.py [--sizes 1273,100000] [--runs 3]

For each size: seed a fresh SQLite store, start ``beaconport dashboard --demo`` on a
free port, open every page in a new browser session (first render: navigation until
Streamlit reports the script idle; the first page of a fresh server also pays for
reading the store, reported separately), both in a fresh browser profile (an empty
cache: a person's very first visit) and in a new tab of one profile (the browser
cache warm, as on every visit after the first); then pick a force in the sidebar filter
and time until the page is idle again. Prints a Markdown table for docs/performance.md.
Not a test: timings depend on the machine.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

BEACONPORT = str(Path(sys.executable).parent / "beaconport")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
IDLE = "[data-testid='stApp'][data-test-script-state='notRunning']"
PAGES = ["", "referrals", "offences", "outcomes", "learning", "about"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(url: str) -> None:
    """Until the Streamlit server at ``url`` answers its health check."""
    while True:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2):
                return
        except OSError:
            time.sleep(0.3)


def wait_idle(page) -> None:
    page.wait_for_timeout(50)
    page.wait_for_selector(IDLE, timeout=300_000)


def measure(
    size: int, runs: int, workdir: Path
) -> tuple[float, dict[str, tuple[float, float, float]]]:
    from playwright.sync_api import sync_playwright

    env = {**os.environ, "GX_ANALYTICS_ENABLED": "false"}
    db = f"sqlite:///{workdir / f'bench-{size}.db'}"
    forces = "23" if size < 10_000 else "44"
    subprocess.run(
        [
            BEACONPORT,
            "--db",
            db,
            "seed",
            "--referrals",
            str(size),
            "--forces",
            forces,
            "--out",
            str(workdir / f"data-{size}"),
        ],
        check=True,
        env=env,
        capture_output=True,
    )
    port = free_port()
    server = subprocess.Popen(
        [BEACONPORT, "--db", db, "dashboard", "--demo", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    results: dict[str, tuple[float, float, float]] = {}
    try:
        wait_healthy(url)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
            viewport = {"width": 1440, "height": 900}
            page = browser.new_page(viewport=viewport)
            start = time.perf_counter()
            page.goto(url)
            wait_idle(page)
            cold = time.perf_counter() - start
            page.close()
            # one browser profile for the warm-cache tabs, as a person's browser is
            # after their first visit; a new profile each time for the empty cache
            profile = browser.new_context(viewport=viewport)
            for path in PAGES:
                empties, firsts, changes = [], [], []
                for _ in range(runs):
                    empty = browser.new_page(viewport=viewport)
                    start = time.perf_counter()
                    empty.goto(f"{url}/{path}")
                    wait_idle(empty)
                    empties.append(time.perf_counter() - start)
                    empty.close()
                    page = profile.new_page()
                    start = time.perf_counter()
                    page.goto(f"{url}/{path}")
                    wait_idle(page)
                    firsts.append(time.perf_counter() - start)
                    box = page.locator("[data-testid='stMultiSelect']").filter(has_text="Force")
                    box.first.locator("input").click()
                    box.first.locator("input").fill("Metropolitan Police Service")
                    start = time.perf_counter()
                    page.keyboard.press("Enter")
                    wait_idle(page)
                    changes.append(time.perf_counter() - start)
                    page.close()
                results[path or "progress"] = (
                    statistics.median(empties),
                    statistics.median(firsts),
                    statistics.median(changes),
                )
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=20)
    return cold, results


FLOOR_APP = """
import streamlit as st
pages = [st.Page(lambda: st.write("hello"), title=f"Page {i}", url_path=f"p{i}" if i else "",
                 default=i == 0) for i in range(7)]
page = st.navigation(pages, position="sidebar")
with st.sidebar:
    st.multiselect("Force", [f"Force {i}" for i in range(44)], key="force")
    st.date_input("Referred from", value=None, key="from")
page.run()
"""


def floor(runs: int, workdir: Path) -> tuple[float, float]:
    """Streamlit's own floor here: a seven-page app with two sidebar widgets and a line
    of text, in a new tab with an empty and with a warm browser cache (medians)."""
    from playwright.sync_api import sync_playwright

    app = workdir / "floor_app.py"
    app.write_text(FLOOR_APP)
    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            str(app),
            "--server.port",
            str(port),
            "--server.headless",
            "true",
            "--browser.gatherUsageStats",
            "false",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
            profile = browser.new_context()
            timings: dict[str, list[float]] = {"empty": [], "warm": []}
            for _ in range(runs + 1):
                for kind, page in (("empty", browser.new_page()), ("warm", profile.new_page())):
                    start = time.perf_counter()
                    page.goto(url)
                    wait_idle(page)
                    timings[kind].append(time.perf_counter() - start)
                    page.close()
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=20)
    # the first warm-cache tab filled the cache: not counted
    return statistics.median(timings["empty"]), statistics.median(timings["warm"][1:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1273,100000")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        empty, warm = floor(args.runs, Path(tmp))
        print(
            f"Streamlit's floor (a bare seven-page app): new tab {empty:.2f} s with an empty "
            f"cache, {warm:.2f} s warm",
            flush=True,
        )
        table = {}
        for size in sizes:
            cold, per_page = measure(size, args.runs, Path(tmp))
            table[size] = per_page
            print(f"{size:,} referrals: first page of a fresh server {cold:.2f} s", flush=True)
    header = (
        "| page | "
        + " | ".join(
            f"new tab, empty cache, {s:,} | new tab, {s:,} | filter change, {s:,}" for s in sizes
        )
        + " |"
    )
    print(header)
    print("|---" * (1 + 3 * len(sizes)) + "|")
    for page in [p or "progress" for p in PAGES]:
        cells = " | ".join(" | ".join(f"{v:.2f} s" for v in table[s][page]) for s in sizes)
        print(f"| {page} | {cells} |")


if __name__ == "__main__":
    main()
