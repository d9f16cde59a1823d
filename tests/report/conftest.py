"""Fixtures of the report tests: built cases, rendered reports, and a real browser.

Browser tests drive Debian's Chromium (``/usr/bin/chromium``) through Playwright for Python;
no browser is ever downloaded. They skip, with the reason, when either is missing.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from cibscan.report import render_report
from cibscan.synth import generate

from . import _cases
from ._cases import BuiltCase, build, hostile

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
#: Screenshots for a person to look at; /artifacts/ is gitignored.
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "report"


@pytest.fixture(scope="session")
def clean_case(tmp_path_factory: pytest.TempPathFactory) -> BuiltCase:
    return build(tmp_path_factory.mktemp("clean"))


@pytest.fixture(scope="session")
def hostile_case(tmp_path_factory: pytest.TempPathFactory) -> BuiltCase:
    scenario = hostile(generate("office", seed=1, config=_cases.SMALL))
    built = build(tmp_path_factory.mktemp("hostile"), scenario=scenario)
    flagged = {a for n in built.networks for a in n["accounts"]}
    assert any(a.startswith(_cases.HOSTILE_ID) for a in flagged), (
        "no hostile account id was flagged; the hostile case no longer exercises the report"
    )
    return built


def _render(built: BuiltCase, name: str, **options: Any) -> Path:
    out = built.db.parent / name
    with built.open() as case:
        return render_report(case, built.detection, out, **options)


@pytest.fixture(scope="session")
def clean_report(clean_case: BuiltCase) -> Path:
    return _render(clean_case, "report.html")


@pytest.fixture(scope="session")
def hostile_report(hostile_case: BuiltCase) -> Path:
    return _render(hostile_case, "report.html")


def payload_of(html: str) -> dict[str, Any]:
    """The JSON data block of a report, parsed."""
    match = re.search(
        r'<script type="application/json" id="cibscan-data">(.*?)</script>', html, re.S
    )
    assert match, "no data block"
    data: dict[str, Any] = json.loads(match.group(1))
    return data


# ------------------------------------------------------------------------------ browser


@dataclass
class PageLog:
    """What a page did: console messages, errors, dialogs, and requests it tried."""

    console: list[tuple[str, str]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)

    def console_errors(self) -> list[str]:
        return [text for kind, text in self.console if kind == "error"]


@pytest.fixture(scope="session")
def playwright() -> Iterator[Any]:
    """The Playwright driver; skips when Chromium or Playwright is missing."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing (apt-get install -y chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("playwright is not installed (pip install playwright; no browser download)")
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright: Any) -> Iterator[Any]:
    launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    yield launched
    launched.close()


@pytest.fixture
def open_report(browser: Any) -> Iterator[Any]:
    """Open a report from disk with every non-file request aborted and logged."""
    contexts = []

    def _open(path: Path, fragment: str = "") -> tuple[Any, PageLog]:
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        contexts.append(context)
        page = context.new_page()
        log = PageLog()
        page.on("console", lambda m: log.console.append((m.type, m.text)))
        page.on("pageerror", lambda e: log.errors.append(str(e)))

        def on_dialog(dialog: Any) -> None:
            log.dialogs.append(dialog.message)
            dialog.dismiss()

        page.on("dialog", on_dialog)

        def on_route(route: Any) -> None:
            url = route.request.url
            if url.startswith("file://"):
                route.continue_()
            else:
                log.requests.append(url)
                route.abort()

        page.route("**/*", on_route)
        page.goto(path.as_uri() + fragment)
        page.wait_for_selector("#graph[data-ready='1']", timeout=30_000)
        page.wait_for_timeout(500)  # let the renderer draw its first frames
        return page, log

    yield _open
    for context in contexts:
        context.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


def copy_detection(built: BuiltCase, folder: Path) -> Path:
    """A copy of a case's detection folder, to edit."""
    target = folder / "detection"
    shutil.copytree(built.detection, target)
    return target
