"""The dashboard in real headless Chromium: sign in, visit every page, change a filter,
download a CSV, and save a screenshot of every page.

Starts ``beaconport dashboard`` on a free port against a store seeded with
``beaconport seed`` (the synthetic demo data), as a user would. Fails on any Streamlit
exception box, on the app's own failure message ("Sorry, this page could not be
drawn ... (reference ...)") on any page, and on a page failure in the server's log.

Screenshots go to ``test-artifacts/screenshots/`` (ignored by git), so a test run
leaves the work tree clean. ``make screenshots`` sets
``BEACONPORT_SCREENSHOT_DIR=docs/screenshots`` to refresh the documentation's
(a relative directory is taken from the repository's root).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dashboard.components.banners import PAGE_FAILED, STORE_FAILED

pytestmark = [pytest.mark.browser, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
SCREENSHOT_ENV = "BEACONPORT_SCREENSHOT_DIR"
DEFAULT_SCREENSHOTS = REPO / "test-artifacts" / "screenshots"
BEACONPORT = [str(Path(sys.executable).parent / "beaconport")]
USER, PASSWORD = "e2e-steward", "correct horse battery staple"
VIEWER = "e2e-viewer"  # an oversight account, with the same password
IDLE = "[data-testid='stApp'][data-test-script-state='notRunning']"
PAGES = [
    ("Progress", "progress", ""),
    ("Referral volumes", "referrals", "referrals"),
    ("Offence types", "offences", "offences"),
    ("Outcomes and timeliness", "outcomes", "outcomes"),
    ("Learning themes", "learning", "learning"),
    ("Data quality", "data-quality", "data-quality"),
    ("Method and caveats", "about", "about"),
]


def screenshot_dir() -> Path:
    """Where the screenshots go: ``$BEACONPORT_SCREENSHOT_DIR`` or test-artifacts/."""
    chosen = os.environ.get(SCREENSHOT_ENV)
    if not chosen:
        return DEFAULT_SCREENSHOTS
    path = Path(chosen)
    return path if path.is_absolute() else REPO / path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run(*args: str, stdin: str | None = None, env: dict[str, str]) -> None:
    subprocess.run(
        [*BEACONPORT, *args],
        input=stdin,
        text=True,
        check=True,
        env=env,
        capture_output=True,
        timeout=600,
    )


@pytest.fixture(scope="module")
def server_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("e2e-log") / "dashboard.log"


@pytest.fixture(scope="module")
def dashboard_url(tmp_path_factory: pytest.TempPathFactory, server_log: Path) -> Iterator[str]:
    """A seeded store and ``beaconport dashboard`` serving it on a free port."""
    tmp = tmp_path_factory.mktemp("e2e")
    env = {**os.environ, "GX_ANALYTICS_ENABLED": "false"}
    db = f"sqlite:///{tmp / 'demo.db'}"
    _run("--db", db, "seed", "--out", str(tmp / "data"), env=env)
    _run(
        "--db",
        db,
        "users",
        "add",
        USER,
        "--role",
        "steward",
        "--password-stdin",
        stdin=PASSWORD + "\n",
        env=env,
    )
    _run(
        "--db",
        db,
        "users",
        "add",
        VIEWER,
        "--role",
        "oversight",
        "--password-stdin",
        stdin=PASSWORD + "\n",
        env=env,
    )
    port = free_port()
    log = open(server_log, "w")
    server = subprocess.Popen(
        [*BEACONPORT, "--db", db, "dashboard", "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                    if r.read().strip() == b"ok":
                        break
            except OSError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"dashboard did not start: {server_log.read_text()[-2000:]}")
            time.sleep(0.3)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=20)
        log.close()


#: Streamlit draws a grey skeleton in place of an element while its code loads in the
#: browser: the page is not drawn (nor can a failure inside it show) until none is left.
NO_SKELETON = "() => !document.querySelector(\"[data-testid='stSkeleton']\")"


def wait_idle(page: Any) -> None:
    page.wait_for_timeout(300)
    page.wait_for_selector(IDLE, timeout=60_000)
    page.wait_for_function(NO_SKELETON, timeout=60_000)
    page.wait_for_timeout(300)


def assert_no_exception(page: Any, where: str) -> None:
    """No Streamlit exception box, and none of the app's own failure messages."""
    boxes = page.locator("[data-testid='stException']")
    assert boxes.count() == 0, f"{where}: {boxes.first.inner_text()[:500]}"
    for message in (PAGE_FAILED, STORE_FAILED):
        shown = page.get_by_text(message)
        assert shown.count() == 0, f"{where}: {shown.first.inner_text()[:500]}"


def full_screenshot(page: Any, path: Path) -> None:
    height = page.evaluate(
        "() => { const m = document.querySelector('[data-testid=stMain]');"
        " return m ? m.scrollHeight : 1000 }"
    )
    page.set_viewport_size({"width": 1440, "height": min(max(height, 900), 8000)})
    page.wait_for_timeout(1200)
    page.screenshot(path=str(path))
    page.set_viewport_size({"width": 1440, "height": 900})


def test_sign_in_visit_every_page_filter_and_download(
    dashboard_url: str,
    server_log: Path,
    chromium_launch_options: dict[str, Any],
    tmp_path: Path,
) -> None:
    from playwright.sync_api import sync_playwright

    screenshots = screenshot_dir()
    screenshots.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(**chromium_launch_options)
        page = browser.new_page(viewport={"width": 1440, "height": 900}, accept_downloads=True)
        page.goto(dashboard_url)
        wait_idle(page)
        page.get_by_label("User name").fill(USER)
        page.get_by_role("textbox", name="Password").fill("not the password")
        page.get_by_role("button", name="Sign in").click()
        wait_idle(page)
        assert page.get_by_text("do not match an active account").count() == 1

        page.get_by_role("textbox", name="Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        wait_idle(page)
        page.wait_for_selector("h1:has-text('Progress of the review')", timeout=60_000)
        assert_no_exception(page, "after sign-in")

        for title, shot, path in PAGES:
            page.locator("[data-testid='stSidebarNav'] a", has_text=title).first.click()
            wait_idle(page)
            page.wait_for_url(f"{dashboard_url}/{path}*")
            assert_no_exception(page, title)
            assert page.get_by_text("SYNTHETIC DATA").count() >= 1, f"{title}: banner"
            full_screenshot(page, screenshots / f"{shot}.png")

        # The heavy pages draw one section at a time, in tabs: open each one.
        for title, _shot, _path in PAGES[1:5]:
            page.locator("[data-testid='stSidebarNav'] a", has_text=title).first.click()
            wait_idle(page)
            sections = page.get_by_role("tablist").first  # the page's sections
            tabs = sections.get_by_role("tab")
            labels = [tabs.nth(i).inner_text().strip() for i in range(tabs.count())]
            assert len(labels) >= 4, f"{title}: tabs {labels}"
            for label in labels[1:]:
                page.get_by_role("tablist").first.get_by_role("tab", name=label, exact=True).click()
                wait_idle(page)
                assert_no_exception(page, f"{title}, tab {label}")
                # Charts load lazily in the browser: wait for one rather than count.
                page.wait_for_selector("[data-testid='stPlotlyChart']", timeout=30_000)

        # Change a filter: the figures change and the URL carries it.
        page.locator("[data-testid='stSidebarNav'] a", has_text="Referral volumes").first.click()
        wait_idle(page)
        force = page.locator("[data-testid='stMultiSelect']").filter(has_text="Force").first
        force.locator("input").click()
        force.locator("input").fill("Metropolitan Police Service")
        page.keyboard.press("Enter")
        page.keyboard.press("Escape")
        wait_idle(page)
        assert "force=Metropolitan+Police+Service" in page.url, page.url
        assert_no_exception(page, "after filter change")

        # Download the first CSV on the page.
        with page.expect_download() as info:
            page.locator("[data-testid='stDownloadButton'] button", has_text="CSV").first.click()
        target = tmp_path / "download.csv"
        info.value.save_as(target)
        first_line = target.read_text(encoding="utf-8-sig").splitlines()[0]
        assert first_line.startswith("SYNTHETIC DATA")
        assert_no_exception(page, "after download")
        browser.close()
    # A failure the page caught is logged with its traceback and a reference.
    failures = [line for line in server_log.read_text().splitlines() if "(reference " in line]
    assert not failures, failures


def _sign_in_at(page: Any, url: str, user: str) -> None:
    """Open ``url`` in a new session (as a shared link is) and sign in there."""
    page.goto(url)
    wait_idle(page)
    page.get_by_label("User name").fill(user)
    page.get_by_role("textbox", name="Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_selector("text=Signed in as", timeout=60_000)
    wait_idle(page)


def test_a_shared_link_survives_sign_in_and_a_refused_page_says_why(
    dashboard_url: str, chromium_launch_options: dict[str, Any]
) -> None:
    """A link opened in a new tab starts a new session, so its reader signs in first:
    they then see the linked page and its filters (Streamlit fell back to Progress).
    An oversight viewer's link to Data quality reaches that page's own server-side
    refusal, which says why (not "Page not found"), and the navigation does not list it."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(**chromium_launch_options)
        page = browser.new_page(viewport={"width": 1440, "height": 900})
        link = f"{dashboard_url}/referrals?force=Metropolitan+Police+Service"
        _sign_in_at(page, link, VIEWER)
        assert page.url == link
        page.wait_for_selector("h1:has-text('Referral volumes')", timeout=60_000)
        assert page.get_by_text("Filtered to forces: Metropolitan Police Service").count() == 1
        assert_no_exception(page, "shared link")

        _sign_in_at(page, f"{dashboard_url}/data-quality", VIEWER)
        page.wait_for_selector("text=You do not have access to this page", timeout=60_000)
        assert_no_exception(page, "refused page")
        assert page.url == f"{dashboard_url}/data-quality"
        assert page.get_by_text("Page not found").count() == 0
        assert page.locator("[data-testid='stDataFrame']").count() == 0
        nav = page.locator("[data-testid='stSidebarNav'] a")
        titles = [nav.nth(i).inner_text().splitlines()[-1] for i in range(nav.count())]
        assert titles == [t for t, _shot, path in PAGES if path != "data-quality"], titles
        browser.close()
