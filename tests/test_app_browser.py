"""The app in a real browser: `streamlit run` on a free loopback port, driven by Chromium.

Uses Debian's /usr/bin/chromium through Playwright (`playwright install` is not needed). The
browser may only resolve 127.0.0.1, so the test also proves that the app works offline: the
Spotify player degrades to a link without errors. Screenshots of every page are saved in the
test's temporary folder.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

import musicrec.app
from conftest import debian_tool
from musicrec.library import Library

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync",
                 # Tests talk to loopback only; Spotify is unreachable, as when offline.
                 "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"]
MAIN = Path(musicrec.app.__file__).parent / "main.py"
IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'
RESULT_IDS_JS = """() => [...document.querySelectorAll('[class*="st-key-more_"]')]
    .map(e => [...e.classList].find(c => c.startsWith('st-key-more_')).slice(12))"""
WIDE = {"width": 1400, "height": 2000}

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def chromium() -> Path:
    return Path(debian_tool("chromium", str(CHROMIUM)))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(small_library_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`streamlit run` of the app against the small generated library; yields its URL."""
    port = _free_port()
    log_path = tmp_path_factory.mktemp("streamlit") / "streamlit.log"
    log = log_path.open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(MAIN), "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true",
         "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none",
         "--client.toolbarMode", "minimal"],
        env={**os.environ, "MUSICREC_LIBRARY": str(small_library_path)},
        stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                    if r.read() == b"ok":
                        break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("streamlit did not start:\n" + log_path.read_text()) \
                        from None
                time.sleep(0.3)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def _settle(page, timeout: float = 20_000) -> None:  # noqa: ANN001 - Playwright's Page
    """Wait until the app has finished the run the last action started."""
    page.wait_for_timeout(300)
    page.wait_for_selector(IDLE, timeout=timeout)
    # Widgets load their code on first use and show a placeholder meanwhile.
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stSkeleton\"]')", timeout=timeout)


def _button(page, key: str):  # noqa: ANN001, ANN202 - Playwright's Page and Locator
    """The button of the widget with this key (Streamlit marks its container `st-key-KEY`)."""
    return page.locator(f".st-key-{key} button").first


def _result_ids(page) -> list[str]:  # noqa: ANN001
    return page.evaluate(RESULT_IDS_JS)


def _no_tracebacks(page, errors: list[str]) -> None:  # noqa: ANN001
    assert page.locator('[data-testid="stException"]').count() == 0
    assert errors == []


def test_search_seed_knob_pages(chromium: Path, server: str, small_library: Library,
                                tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    shots = tmp_path / "screenshots"
    shots.mkdir()
    song = small_library.tracks([10])[0]
    # The shortest start of its title that finds it, as a person stops typing once it shows.
    prefix = next(song["name"][:n] for n in range(3, len(song["name"]) + 1)
                  if song["id"] in [h["id"] for h in
                                    small_library.search(song["name"][:n], 6).items])
    energy = small_library.numeric("energy")

    def energies(ids: list[str]) -> np.ndarray:
        return np.array([energy[small_library.row_of(i)] for i in ids])

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport=WIDE)
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(server)
        page.wait_for_selector(IDLE, timeout=60_000)
        expect(page.get_by_text("Pick up to 5 songs")).to_be_visible()
        page.screenshot(path=shots / "discover-no-seeds.png")

        # Search as you type, and make a hit the seed.
        page.locator(".st-key-search input").press_sequentially(prefix, delay=40)
        pick = _button(page, f"pick_track_{song['id']}")
        expect(pick).to_be_visible(timeout=15_000)
        _settle(page)
        page.screenshot(path=shots / "search.png")
        pick.click()
        expect(page.locator(f".st-key-chip_track_{song['id']}")).to_be_visible(timeout=15_000)
        _settle(page)
        assert f"seed={song['id']}" in page.url
        before = _result_ids(page)
        assert before and song["id"] not in before

        # Turn the energy knob on and all the way up: the songs change and get more energetic.
        page.locator(".st-key-on_energy label").click()
        _settle(page)
        page.locator(".st-key-target_energy input[type=range]").press("End")
        page.wait_for_function("() => location.search.includes('target_energy=1')",
                               timeout=15_000)
        page.wait_for_function(f"ids => ({RESULT_IDS_JS})().join() !== ids.join()", arg=before,
                               timeout=15_000)
        _settle(page)
        after = _result_ids(page)
        assert after != before
        assert energies(after).mean() > energies(before).mean()
        assert np.abs(energies(after) - 1).mean() < np.abs(energies(before) - 1).mean()

        # Why this song: a chart, and offline the player is just the link.
        panel = page.locator(".st-key-why_panel")
        expect(panel.locator('[data-testid="stPlotlyChart"]')).to_be_visible()
        expect(panel.get_by_text("Open in Spotify")).to_be_visible()
        page.wait_for_timeout(500)  # the player's reachability check fails meanwhile
        assert panel.locator("iframe").count() == 0
        _no_tracebacks(page, errors)
        page.screenshot(path=shots / "discover.png")

        # The link restores the same recommendation in a new tab.
        shared = browser.new_page(viewport=WIDE)
        shared.goto(page.url)
        shared.wait_for_selector(".st-key-result_0", timeout=60_000)
        _settle(shared)
        assert _result_ids(shared) == after
        shared.close()

        # Collect the results, then every other page.
        _button(page, "add_all").click()
        _settle(page)
        page.get_by_role("link", name="Sound map").click()
        page.wait_for_selector('[data-testid="stPlotlyChart"] .js-plotly-plot',
                               timeout=15_000)
        _settle(page)
        _click_a_map_point(page)
        page.screenshot(path=shots / "sound-map.png")

        page.get_by_role("link", name="Playlist").click()
        expect(page.locator(".st-key-song_0")).to_be_visible(timeout=15_000)
        _settle(page)
        uris = page.locator('[data-testid="stCode"]').inner_text()
        assert re.findall(r"spotify:track:(\w+)", uris) == after
        page.screenshot(path=shots / "playlist.png")

        page.get_by_role("link", name="Library").click()
        expect(page.get_by_text("Build a library from a CSV")).to_be_visible(timeout=15_000)
        _settle(page)
        expect(page.get_by_text(f"{len(small_library):,}")).to_be_visible()
        page.screenshot(path=shots / "library.png")

        page.get_by_role("link", name="Discover").click()
        # The seed from the search and the one clicked on the map.
        expect(page.locator('[class*="st-key-chip_track_"]')).to_have_count(2, timeout=15_000)
        _no_tracebacks(page, errors)
        browser.close()


def _click_a_map_point(page) -> None:  # noqa: ANN001
    """Click one song on the sound map; it becomes a seed (a toast says so)."""
    point = page.locator(".js-plotly-plot .scatterlayer .trace .point").nth(40)
    box = point.bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.get_by_text("as a seed").wait_for(timeout=15_000)
    _settle(page)


def test_phone_width_and_dark_theme(chromium: Path, server: str, small_library: Library,
                                    tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    seed = small_library.tracks([3])[0]["id"]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 390, "height": 1600}, color_scheme="dark",
                                is_mobile=True, device_scale_factor=2)
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(f"{server}/?seed={seed}&target_valence=0.8")
        page.wait_for_selector(".st-key-result_0", timeout=60_000)
        _settle(page)
        # Nothing wider than the phone: no sideways scrolling.
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        background = page.evaluate(
            "getComputedStyle(document.querySelector('[data-testid=stApp]')).backgroundColor")
        channels = [int(c) for c in re.findall(r"\d+", background)[:3]]
        assert sum(channels) < 3 * 80, background  # the dark theme is applied
        _no_tracebacks(page, errors)
        page.screenshot(path=tmp_path / "discover-phone-dark.png")
        browser.close()
