"""Measure the dashboard in headless Chromium: first render and filter-change time per
page, at 1,273 and 100,000 referrals (synthetic data from ``beaconport seed``).

    .venv/bin/python scripts/bench_dashboard.py [--sizes 1273,100000] [--runs 3]

For each size: seed a fresh SQLite store and start ``beaconport dashboard --demo`` on a
free port. A page counts as drawn when a script run has finished after the action, no
element is still a loading placeholder (Streamlit's grey skeletons, shown while an
element's code loads in the browser), every Plotly chart on the page has drawn its SVG,
and two animation frames have passed. Measured, per page (medians of ``--runs``):

- the first page of the fresh server (it also reads the store: reported on its own);
- in the app: clicking the page in the navigation, as a person moving between pages;
  the first round is each page's first visit to this server (figures not cached yet);
- a new tab opening the page, in a fresh browser profile (an empty cache: a person's
  very first visit) and in one profile (the browser cache warm, as on later visits);
- a filter change: choosing a force in the sidebar, in that tab.

The data-quality page is for data stewards only, and a new demo tab opens as the first
role, so it is measured in the app tab after switching the demo role to "Data steward":
its first visit, later visits (from the Progress page, which is not counted) and a
filter change per visit. The sidebar filters do not apply to that page, so its filter
change is choosing a force in the page's own quarantine filter, a different one each
time. Its new-tab columns are "n/a". So that the quarantine has rows, the stores are
seeded with ``--error-rate`` (default 0.02: 2% of rows written wrong on purpose).

Streamlit's own floor is measured the same way on a bare two-page app (a line of text;
one small Plotly chart with a small table beside it). Prints Markdown tables for
docs/performance.md. Not a test: timings depend on the machine.
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
CHROMIUM = "/usr/bin/chromium"  # Debian's, installed by scripts/install-test-deps.sh
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PAGES = ["", "referrals", "offences", "outcomes", "learning", "about"]
#: The navigation's link text for each page (in-app navigation clicks these).
TITLES = {
    "": "Progress",
    "referrals": "Referral volumes",
    "offences": "Offence types",
    "outcomes": "Outcomes and timeliness",
    "learning": "Learning themes",
    "about": "Method and caveats",
    "data-quality": "Data quality",
}
#: Counts the script runs the page has finished: changes of Streamlit's script state
#: away from "running". (Reading the state when the observer is called instead, as an
#: earlier version did, misses a run that starts and ends before the call; the likely
#: cause of a rare wait for a run that had already been drawn.)
COUNT_RUNS = """
window.__bpRuns = 0;
(function watch() {
  const app = document.querySelector("[data-testid='stApp']");
  if (!app) { requestAnimationFrame(watch); return; }
  new MutationObserver(records => {
    for (const r of records) if (r.oldValue === 'running') window.__bpRuns += 1;
  }).observe(app, {
    attributes: true, attributeOldValue: true, attributeFilter: ['data-test-script-state'],
  });
})();
"""
#: Drawn: a run finished after ``runs`` had, no element is still a placeholder
#: (Streamlit draws a grey skeleton while an element's code loads in the browser) and
#: every chart has drawn its SVG.
DRAWN = """runs => {
  const app = document.querySelector("[data-testid='stApp']");
  if (!app || window.__bpRuns <= runs) return false;
  if (app.getAttribute('data-test-script-state') !== 'notRunning') return false;
  if (document.querySelector("[data-testid='stSkeleton']")) return false;
  for (const c of document.querySelectorAll("[data-testid='stPlotlyChart']"))
    if (!c.querySelector('.main-svg')) return false;
  return true;
}"""
#: Two animation frames: the browser has painted what the last run sent.
PAINTED = "() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))"


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


def runs_finished(page) -> int:
    return page.evaluate("window.__bpRuns || 0")


def wait_drawn(page, runs: int = 0) -> None:
    """Until a script run finished after the first ``runs`` and has been painted; a
    clear error (naming the page) if that takes over a minute."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        page.wait_for_function(DRAWN, arg=runs, timeout=60_000)
    except PlaywrightTimeout:
        raise SystemExit(f"bench_dashboard: {page.url} was not drawn within 60 s") from None
    page.evaluate(PAINTED)


def timed_open(page, url: str) -> float:
    """Seconds from navigating ``page`` to ``url`` until the page is drawn."""
    start = time.perf_counter()
    page.goto(url)
    wait_drawn(page)
    return time.perf_counter() - start


def timed_click(page, action) -> float:
    """Seconds from ``action()`` (a click or key press) until its rerun is drawn."""
    runs = runs_finished(page)
    start = time.perf_counter()
    action()
    wait_drawn(page, runs)
    return time.perf_counter() - start


def navigate(page, path: str) -> float:
    """Seconds from clicking the page's link in the navigation until it is drawn."""
    link = page.locator("[data-testid='stSidebarNav'] a").filter(has_text=TITLES[path])
    return timed_click(page, link.first.click)


def choose_force(page, name: str = "Metropolitan Police Service") -> float:
    """Seconds from choosing a force in the sidebar filter until the page is drawn."""
    box = page.locator("[data-testid='stMultiSelect']").filter(has_text="Force").first
    box.locator("input").click()
    box.locator("input").fill(name)
    return timed_click(page, lambda: page.keyboard.press("Enter"))


def open_options(page, box):
    """Open a selectbox's list and return its options. Streamlit's selectbox is a
    combobox that opens from the keyboard, not from a click on its container."""
    box.locator("input").click()
    page.keyboard.press("ArrowDown")
    options = page.locator("[role='option']")
    options.first.wait_for()
    return options


def switch_role(page, label: str = "Data steward") -> None:
    """Choose ``label`` in the demo role switcher and wait for the rerun."""
    box = page.locator("[data-testid='stSelectbox']").filter(has_text="Demo: view as").first
    option = open_options(page, box).filter(has_text=label).first
    timed_click(page, option.click)


def choose_quarantine_force(page, round_: int) -> float:
    """Seconds from choosing a force in the data-quality page's quarantine filter (the
    ``round_``-th force in its list, so each round changes it) until the page is drawn."""
    box = page.locator("[data-testid='stSelectbox']").filter(has_text="Force").first
    options = open_options(page, box)
    forces = options.count() - 1  # the first option is "(all)"
    if forces < 2:
        raise SystemExit("the quarantine holds fewer than two forces: raise --error-rate")
    return timed_click(page, options.nth(1 + round_ % forces).click)


def seed(size: int, workdir: Path, env: dict[str, str], error_rate: float) -> str:
    db = f"sqlite:///{workdir / f'bench-{size}.db'}"
    forces = "23" if size < 10_000 else "44"
    subprocess.run(
        [BEACONPORT, "--db", db, "seed", "--referrals", str(size), "--forces", forces]
        + ["--error-rate", str(error_rate), "--out", str(workdir / f"data-{size}")],
        check=True,
        env=env,
        capture_output=True,
    )
    return db


COLUMNS = (
    "new tab, empty cache",
    "new tab, warm cache",
    "in the app, first visit",
    "in the app, later visits",
    "filter change",
)


def measure(
    size: int, runs: int, workdir: Path, error_rate: float
) -> tuple[float, dict[str, list[float | None]]]:
    """Time every page of a fresh server over a seeded store of ``size`` referrals
    (``error_rate`` of rows written wrong): the first page of the server, then per page
    the medians of ``COLUMNS`` (None where a column does not apply)."""
    from playwright.sync_api import sync_playwright

    env = {**os.environ, "GX_ANALYTICS_ENABLED": "false"}
    db = seed(size, workdir, env, error_rate)
    port = free_port()
    server = subprocess.Popen(
        [BEACONPORT, "--db", db, "dashboard", "--demo", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    timings: dict[str, dict[str, list[float]]] = {
        path or "progress": {c: [] for c in COLUMNS} for path in PAGES
    }
    try:
        wait_healthy(url)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            viewport = {"width": 1440, "height": 900}
            # one browser profile for the warm-cache tabs, as a person's browser is
            # after their first visit; a new profile each time for the empty cache
            profile = browser.new_context(viewport=viewport)
            profile.add_init_script(COUNT_RUNS)
            app = profile.new_page()
            cold = timed_open(app, url)
            # In the app: a person clicking through the pages. The first round is each
            # page's first visit to this server (its figures are not cached yet).
            for round_ in range(runs + 1):
                for path in [*PAGES[1:], ""]:
                    column = COLUMNS[2] if round_ == 0 else COLUMNS[3]
                    timings[path or "progress"][column].append(navigate(app, path))
            steward = {c: [] for c in COLUMNS}
            switch_role(app)
            steward[COLUMNS[2]].append(navigate(app, "data-quality"))
            for round_ in range(runs):
                navigate(app, "")
                steward[COLUMNS[3]].append(navigate(app, "data-quality"))
                steward[COLUMNS[4]].append(choose_quarantine_force(app, round_))
            app.close()
            for path in PAGES:
                cell = timings[path or "progress"]
                for _ in range(runs):
                    empty = browser.new_context(viewport=viewport)
                    empty.add_init_script(COUNT_RUNS)
                    page = empty.new_page()
                    cell[COLUMNS[0]].append(timed_open(page, f"{url}/{path}"))
                    empty.close()
                    page = profile.new_page()
                    cell[COLUMNS[1]].append(timed_open(page, f"{url}/{path}"))
                    cell[COLUMNS[4]].append(choose_force(page))
                    page.close()
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=20)
    timings["data-quality"] = steward
    medians = {
        page: [statistics.median(cell[c]) if cell[c] else None for c in COLUMNS]
        for page, cell in timings.items()
    }
    return cold, medians


FLOOR_APP = """
import streamlit as st
import plotly.graph_objects as go

def text():
    st.write("hello")

def chart():
    left, right = st.columns([3, 2])
    left.plotly_chart(go.Figure(go.Bar(x=["a", "b", "c"], y=[3, 1, 2])))
    right.dataframe({"x": ["a", "b", "c"], "y": [3, 1, 2]})

pages = [st.Page(text, title="Text", default=True), st.Page(chart, title="Chart", url_path="chart")]
page = st.navigation(pages, position="sidebar")
with st.sidebar:
    st.multiselect("Force", [f"Force {i}" for i in range(44)], key="force")
    st.date_input("Referred from", value=None, key="from")
page.run()
"""


def floor(runs: int, workdir: Path) -> dict[str, tuple[float, float]]:
    """Streamlit's own floor here: a two-page app with two sidebar widgets, one page a
    line of text and one a small Plotly chart with a small table beside it; per page the
    medians of a new tab with an empty and with a warm browser cache."""
    from playwright.sync_api import sync_playwright

    app = workdir / "floor_app.py"
    app.write_text(FLOOR_APP)
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(app), "--server.port", str(port)]
        + ["--server.headless", "true", "--browser.gatherUsageStats", "false"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    result = {}
    try:
        wait_healthy(url)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            profile = browser.new_context()
            profile.add_init_script(COUNT_RUNS)
            for path in ("", "chart"):
                empties, warms = [], []
                for _ in range(runs + 1):
                    empty = browser.new_context()
                    empty.add_init_script(COUNT_RUNS)
                    empties.append(timed_open(empty.new_page(), f"{url}/{path}"))
                    empty.close()
                    page = profile.new_page()
                    warms.append(timed_open(page, f"{url}/{path}"))
                    page.close()
                # the first warm-cache tab of each page filled the cache: not counted
                result[path or "text"] = (statistics.median(empties), statistics.median(warms[1:]))
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=20)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1273,100000")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--error-rate", type=float, default=0.02)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    if not Path(CHROMIUM).exists():
        raise SystemExit(
            f"bench_dashboard: {CHROMIUM} not found; install it with "
            "bash scripts/install-test-deps.sh"
        )
    with tempfile.TemporaryDirectory() as tmp:
        for page, (empty, warm) in floor(args.runs, Path(tmp)).items():
            print(
                f"Streamlit's floor, {page} page: new tab {empty:.2f} s with an empty "
                f"cache, {warm:.2f} s warm",
                flush=True,
            )
        for size in sizes:
            cold, per_page = measure(size, args.runs, Path(tmp), args.error_rate)
            print(f"\n{size:,} referrals: first page of a fresh server {cold:.2f} s\n")
            print("| page | " + " | ".join(COLUMNS) + " |")
            print("|---" * (1 + len(COLUMNS)) + "|")
            for page, values in per_page.items():
                print(
                    f"| {page} | "
                    + " | ".join("n/a" if v is None else f"{v:.2f} s" for v in values)
                    + " |",
                    flush=True,
                )


if __name__ == "__main__":
    main()
