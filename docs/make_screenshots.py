"""Regenerate the report screenshots of docs/tutorial.md (docs/img/*.png).

Runs ``cibscan demo`` (the ``office`` scenario, seed 1) into a work folder, opens its
``report.html`` from disk in Debian's Chromium through Playwright (no browser is downloaded;
every non-file request is refused) and saves one PNG per part of the report that the tutorial
walks through. A rerun reuses the demo's finished stages.

    python docs/make_screenshots.py [--work /tmp/cibscan-tutorial] [--img docs/img]

Needs ``apt-get install chromium`` and ``pip install playwright`` (never ``playwright install``).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path
from typing import Any

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
#: Each image stays below this many bytes (the repository keeps them).
MAX_BYTES = 300_000


def _shot(
    page: Any, selector: str, path: Path, *, height: int | None = None, within: str | None = None
) -> None:
    """Save the part of the page from ``selector``'s top, ``height`` pixels tall at most.

    ``within`` names an enclosing element whose width (and left edge) the picture takes.
    """
    element = page.locator(selector).first
    element.scroll_into_view_if_needed()
    page.wait_for_timeout(300)
    box = element.bounding_box()
    frame = page.locator(within).first.bounding_box() if within else box
    if box is None or frame is None:
        raise SystemExit(f"{selector} is not visible")
    bottom = frame["y"] + frame["height"] if within else box["y"] + box["height"]
    # Bounding boxes are relative to the viewport; a full-page clip is relative to the page.
    scroll_x, scroll_y = page.evaluate("[window.scrollX, window.scrollY]")
    clip = {
        "x": frame["x"] + scroll_x,
        "y": box["y"] + scroll_y,
        "width": frame["width"],
        "height": min(bottom - box["y"], height or bottom),
    }
    page.screenshot(path=str(path), clip=clip, full_page=True)
    size = path.stat().st_size
    if size > MAX_BYTES:
        raise SystemExit(f"{path} is {size:,} bytes; lower the height or the viewport")
    print(f"{path} ({size:,} bytes)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--work", type=Path, default=Path("/tmp/cibscan-tutorial"))
    parser.add_argument("--img", type=Path, default=Path(__file__).parent / "img")
    args = parser.parse_args()
    subprocess.run(
        [sys.executable, "-m", "cibscan", "demo", "--out", str(args.work)],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    report = args.work / "report.html"
    args.img.mkdir(parents=True, exist_ok=True)

    from playwright.sync_api import sync_playwright

    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        context = browser.new_context(viewport={"width": 1200, "height": 800})
        page = context.new_page()
        page.route(
            "**/*",
            lambda route: (
                route.continue_() if route.request.url.startswith("file://") else route.abort()
            ),
        )
        page.goto(report.as_uri())
        page.wait_for_selector("#graph[data-ready='1']", timeout=60_000)
        page.wait_for_timeout(800)

        _shot(page, "#summary", args.img / "report-summary.png", height=520)
        _shot(page, "#graph-section", args.img / "report-graph.png", height=720)
        page.select_option("#network-select", "0")
        page.wait_for_timeout(1200)
        _shot(page, "section#net-0", args.img / "report-network.png", height=900)
        _shot(
            page,
            "section#net-0 h3:has-text('Hijacked hashtags')",
            args.img / "report-narratives.png",
            height=900,
            within="section#net-0",
        )
        evidence = "section#net-0 details:has(h3:has-text('Evidence'))"
        page.locator(f"{evidence} summary").click()
        _shot(page, evidence, args.img / "report-evidence.png", height=560)
        page.locator("section#net-0 table.accounts button.acct").first.click()
        page.wait_for_selector("#account-view:not([hidden])")
        _shot(page, "#account-view", args.img / "report-account.png", height=760)
        browser.close()


if __name__ == "__main__":
    main()
