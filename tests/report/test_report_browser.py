"""The report in a real browser (Debian's Chromium through Playwright), opened from disk.

Every test blocks all non-file requests and fails if one was even attempted; screenshots go to
``artifacts/report/`` for a person to look at.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from . import _cases
from ._cases import BuiltCase
from ._png import ink
from .conftest import CHROMIUM, CHROMIUM_ARGS, payload_of

pytestmark = pytest.mark.browser


def _assert_quiet(log: Any) -> None:
    assert log.requests == [], f"the report tried to fetch {log.requests}"
    assert log.errors == [], f"page errors: {log.errors}"
    assert log.console_errors() == [], f"console errors: {log.console_errors()}"
    assert log.dialogs == [], f"dialogs opened: {log.dialogs}"


def _graph_ink(page: Any, path: Path) -> tuple[int, int]:
    png = page.locator("#graph").screenshot(path=str(path))
    return ink(png)


@pytest.mark.parametrize("renderer", ["webgl", "canvas"])
def test_report_opens_offline_and_draws_the_graph(
    renderer: str, clean_report: Path, open_report: Any, artifacts: Path
) -> None:
    page, log = open_report(clean_report, "#renderer=canvas" if renderer == "canvas" else "")
    data = payload_of(clean_report.read_text(encoding="utf-8"))
    graph = page.locator("#graph")
    assert graph.get_attribute("data-renderer") == renderer
    assert int(graph.get_attribute("data-node-count") or 0) == len(data["nodes"]["x"])
    assert int(graph.get_attribute("data-edge-count") or 0) == len(data["edges"]["s"])
    drawn, colours = _graph_ink(page, artifacts / f"graph-{renderer}.png")
    assert drawn > 2000 and colours >= 4, f"the graph looks blank ({drawn} px, {colours} colours)"
    page.screenshot(path=str(artifacts / f"summary-{renderer}.png"))
    page.screenshot(path=str(artifacts / f"full-page-{renderer}.png"), full_page=True)
    _assert_quiet(log)


def test_selecting_a_network_lists_its_accounts(
    clean_case: BuiltCase, clean_report: Path, open_report: Any, artifacts: Path
) -> None:
    page, log = open_report(clean_report)
    biggest = max(range(len(clean_case.networks)), key=lambda i: clean_case.networks[i]["size"])
    page.select_option("#network-select", str(biggest))
    page.wait_for_timeout(600)  # camera animation
    items = page.locator("#selection-list li")
    assert page.locator("#selection").is_visible()
    assert items.count() == len(clean_case.networks[biggest]["accounts"])
    page.locator("#graph-section").screenshot(path=str(artifacts / "network-selected.png"))
    # The listed accounts are the network's: open one and check its network and id.
    items.first.locator("button").click()
    view = page.locator("#account-view")
    assert view.is_visible()
    facts = page.locator("#account-facts").inner_text()
    assert clean_case.networks[biggest]["id"] in facts
    assert any(a in facts for a in clean_case.networks[biggest]["accounts"])
    # the bio beside the facts: what an account claims to be
    members = clean_case.networks[biggest]["accounts"]
    with clean_case.open() as case:
        rows = case.con.execute(
            "SELECT account_id, min(description) FROM accounts WHERE description <> ''"
            " AND account_id IN (SELECT unnest(?)) GROUP BY ALL ORDER BY 1 LIMIT 1",
            [members],
        ).fetchall()
    assert rows, "no member with a bio in the case"
    with_bio, bio = rows[0]
    page.fill("#account-search", with_bio)
    page.press("#account-search", "Enter")
    page.wait_for_timeout(400)
    facts = page.locator("#account-facts").inner_text()
    assert with_bio in facts and f"bio\n{bio[:40]}" in facts, facts
    page.screenshot(path=str(artifacts / "account-view.png"))
    _assert_quiet(log)


def test_account_view_from_tables_search_and_colour_by_signal(
    clean_report: Path, open_report: Any, artifacts: Path
) -> None:
    page, log = open_report(clean_report)
    button = page.locator("table.accounts button.acct").first
    handle = button.inner_text()
    button.click()
    assert page.locator("#account-view").is_visible()
    assert page.locator("#account-title").inner_text() == handle
    assert page.locator("#account-posts li").count() >= 1
    page.locator("#account-close").click()
    assert not page.locator("#account-view").is_visible()
    page.fill("#account-search", handle)
    page.press("#account-search", "Enter")
    page.wait_for_timeout(500)
    assert page.locator("#account-view").is_visible()
    assert page.locator("#account-title").inner_text() == handle
    page.locator("#account-close").click()
    page.select_option("#colour-by", "signal")
    page.wait_for_timeout(300)
    legend = page.locator("#legend").inner_text()
    assert "share" in legend and "no signal" in legend
    page.locator("#graph-section").screenshot(path=str(artifacts / "colour-by-signal.png"))
    # "Show in graph" from a network section selects that network.
    page.locator("button.show-network").last.click()
    page.wait_for_timeout(300)
    assert page.locator("#selection").is_visible()
    _assert_quiet(log)


def test_hostile_data_is_shown_as_text_and_runs_nothing(
    hostile_case: BuiltCase, hostile_report: Path, open_report: Any, artifacts: Path
) -> None:
    for fragment in ("", "#renderer=canvas"):
        page, log = open_report(hostile_report, fragment)
        assert page.evaluate("typeof window.__pwned") == "undefined"
        assert page.evaluate("document.getElementById('pwn')") is None
        assert page.evaluate("document.querySelectorAll('img, iframe, object, embed').length") == 0
        assert page.evaluate("document.querySelectorAll('script').length") == 4
        body = page.locator("body").inner_text()
        assert _cases.SCRIPT in body
        assert "<img src=x onerror=" in body
        assert "javascript:window.__pwned=1;alert(1)" in body
        assert "invoice[U+202E]gnp.exe[U+2066]x[U+2069]" in body
        # No link anywhere leads outside the page.
        hrefs = page.evaluate(
            "[...document.querySelectorAll('[href]')].map(e => e.getAttribute('href'))"
        )
        assert all(h.startswith("#") for h in hrefs)
        # Open the hostile account from the graph's network list and from a table.
        network = next(
            i
            for i, n in enumerate(hostile_case.networks)
            if any(a.startswith(_cases.HOSTILE_ID) for a in n["accounts"])
        )
        page.select_option("#network-select", str(network))
        page.wait_for_timeout(500)
        page.locator("#selection-list button").first.click()
        page.locator(f"section#net-{network} table.accounts button.acct").first.click()
        page.wait_for_timeout(200)
        assert page.locator("#account-view").is_visible()
        # The hostile id is among the accounts; search for it and show its view.
        hostile_id = next(
            a for a in hostile_case.networks[network]["accounts"] if a.startswith(_cases.HOSTILE_ID)
        )
        page.fill("#account-search", hostile_id)
        page.press("#account-search", "Enter")
        page.wait_for_timeout(400)
        assert hostile_id in page.locator("#account-facts").inner_text()
        assert page.evaluate("document.getElementById('pwn')") is None
        name = "canvas" if fragment else "webgl"
        page.screenshot(path=str(artifacts / f"hostile-account-{name}.png"))
        page.locator(f"section#net-{network}").screenshot(
            path=str(artifacts / f"hostile-network-{name}.png")
        )
        page.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")
        page.wait_for_timeout(100)
        assert page.evaluate("typeof window.__pwned") == "undefined"
        _assert_quiet(log)


def test_canvas_fallback_without_webgl(
    playwright: Any, clean_report: Path, artifacts: Path
) -> None:
    browser = playwright.chromium.launch(
        executable_path=str(CHROMIUM), args=[*CHROMIUM_ARGS, "--disable-webgl", "--disable-3d-apis"]
    )
    if True:
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.route(
                "**/*",
                lambda r: r.continue_() if r.request.url.startswith("file://") else r.abort(),
            )
            page.goto(clean_report.as_uri())
            page.wait_for_selector("#graph[data-ready='1']", timeout=30_000)
            assert page.locator("#graph").get_attribute("data-renderer") == "canvas"
            drawn, colours = ink(
                page.locator("#graph").screenshot(path=str(artifacts / "graph-no-webgl.png"))
            )
            assert drawn > 2000 and colours >= 4
            assert errors == []
        finally:
            browser.close()


def test_chromium_is_debians() -> None:
    # Documents which browser the suite ran on; skips where it is absent.
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing")
    version = subprocess.run(
        [str(CHROMIUM), "--version"], capture_output=True, text=True, check=False, timeout=60
    ).stdout
    assert "Chromium" in version
