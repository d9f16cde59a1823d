"""The report's HTML without a browser: self-contained, escaped, policy in place, robust."""

from __future__ import annotations

import json
import re
import shutil
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from cibscan.case import open_case
from cibscan.errors import BadInputError, ConfigError
from cibscan.explain import explain
from cibscan.report import _charts, render_report
from cibscan.report._graph import MAX_GRAPH_EDGES, build_graph
from cibscan.report._inputs import DetectionOutputs
from cibscan.report._safety import clean_data, csp_hash, neutralise, script_json

from . import _cases
from ._cases import BuiltCase
from .conftest import copy_detection, payload_of

SCRIPT_TAG = re.compile(r"<script\b[^>]*>", re.I)


# ------------------------------------------------------------------------------ safety units


def test_script_json_cannot_close_its_block() -> None:
    hostile = {"a": "</script><!--<script>", "b": "x\u2028y\u2029z", "c": "&amp;"}
    encoded = script_json(hostile)
    assert not re.search(r"[<>&\u2028\u2029]", encoded)
    assert json.loads(encoded) == hostile  # JSON.parse reads the same text back


def test_neutralise_shows_direction_controls() -> None:
    text = "a\u202ab\u202bc\u202cd\u202de\u202ef\u2066g\u2067h\u2068i\u2069j\u200e\u200f\u061c"
    shown = neutralise(text)
    assert not any(ch in shown for ch in "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
    assert "[U+202E]" in shown and "[U+2069]" in shown
    assert (
        neutralise("tab\tand\nnewline stay, NUL\x00 goes")
        == "tab\tand\nnewline stay, NUL\ufffd goes"
    )


def test_clean_data_neutralises_keys_and_values_and_drops_nan() -> None:
    assert clean_data({"k\u202e": [float("inf"), "v\u2066", 1]}) == {
        "k[U+202E]": [None, "v[U+2066]", 1]
    }


# ------------------------------------------------------------------------------ the file


def test_report_is_one_self_contained_file(clean_report: Path) -> None:
    html = clean_report.read_text(encoding="utf-8")
    tags = SCRIPT_TAG.findall(html)
    # One data block and three inline scripts (graphology, sigma, the report's own).
    assert tags == ['<script type="application/json" id="cibscan-data">'] + ["<script>"] * 3
    assert not re.search(
        r"\b(src|href|action|srcset|poster|data)\s*=\s*\"?\s*(https?:|//)", html, re.I
    )
    assert not re.search(r"<(link|iframe|object|embed|img|form|base)\b", html, re.I)
    assert "@import" not in html and "url(" not in html.split("<script>")[0]
    for href in re.findall(r'href="([^"]*)"', html):
        assert href.startswith("#"), href


def test_csp_allows_exactly_the_inline_blocks(clean_report: Path) -> None:
    html = clean_report.read_text(encoding="utf-8")
    csp = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]+)">', html)
    assert csp, "no Content-Security-Policy meta tag"
    policy = csp.group(1).replace("&#39;", "'")
    assert policy.startswith("default-src 'none'")
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    scripts = re.findall(r"<script>(.*?)</script>", html, re.S)
    style = re.search(r"<style>(.*?)</style>", html, re.S)
    assert len(scripts) == 3 and style
    for body in scripts:
        assert csp_hash(body) in policy
    assert f"style-src {csp_hash(style.group(1))}" in policy
    # The policy sits before anything it governs.
    assert html.index("Content-Security-Policy") < html.index("<style>")


def test_report_summarises_every_network(clean_case: BuiltCase, clean_report: Path) -> None:
    html = clean_report.read_text(encoding="utf-8")
    data = payload_of(html)
    assert len(data["networks"]) == len(clean_case.networks) > 0
    for i, network in enumerate(clean_case.networks):
        assert f'id="net-{i}"' in html
        assert f"Network <bdi>{network['id']}</bdi>" in html
    assert "Hijacked hashtags" in html and "Evidence: post pairs" in html
    flagged = sum(len(n["accounts"]) for n in clean_case.networks)
    assert sum(1 for n in data["nodes"]["net"] if n >= 0) == flagged
    told = [  # the confinement behind an office-hours marker
        n["rhythm"]
        for n in clean_case.networks
        if (n.get("rhythm") or {}).get("accounts_telling") and n["rhythm"].get("utc_offset")
    ]
    assert told
    for rhythm in told:
        assert (
            f"{rhythm['accounts_confined']:,} of {rhythm['accounts_telling']:,} with enough "
            "posts to tell posted nothing outside 08:30–18:00 of those days"
        ) in html
    assert len(data["accounts"]) == len(data["nodes"]["x"])


# ------------------------------------------------------------------------------ hostile data


def test_hostile_strings_appear_only_escaped(hostile_report: Path) -> None:
    html = hostile_report.read_text(encoding="utf-8")
    for raw in (_cases.SCRIPT, _cases.IMG, _cases.CLOSE_SCRIPT, _cases.HOSTILE_TAG):
        assert raw not in html
    assert len(SCRIPT_TAG.findall(html)) == 4
    assert "<b id=pwn>" not in html and "<img" not in html.lower()
    # Shown as text in the page, and carried escaped in the data block.
    assert "&lt;script&gt;window.__pwned=1;alert(1)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=" in html
    assert "\\u003cscript\\u003ewindow.__pwned=1" in html
    assert 'href="javascript' not in html.lower()
    assert "javascript:window.__pwned" in html  # as text, nowhere else
    for control in "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069":
        assert control not in html
    assert "invoice[U+202E]gnp.exe" in html
    data = payload_of(html)
    ids = {a["id"] for a in data["accounts"]}
    assert any(i.startswith(_cases.HOSTILE_ID) for i in ids)  # round trip intact


# ------------------------------------------------------------------------------ robustness


def test_report_without_fingerprints(clean_case: BuiltCase, tmp_path: Path) -> None:
    folder = copy_detection(clean_case, tmp_path)
    document = json.loads((folder / "networks.json").read_text(encoding="utf-8"))
    keys = ("rhythm", "creation", "infra", "assets", "style", "hijacked_hashtags", "narratives")
    document["networks"] = [
        {k: v for k, v in n.items() if k not in keys} for n in document["networks"]
    ]
    (folder / "networks.json").write_text(json.dumps(document), encoding="utf-8")
    with clean_case.open() as case:
        out = render_report(case, folder, tmp_path / "bare.html", title="Bare <run>")
    html = out.read_text(encoding="utf-8")
    assert "<title>Bare &lt;run&gt;</title>" in html
    assert "rhythm not fingerprinted" in html
    assert "The narrative fingerprint was not run" in html
    assert "UTC (no offset inferred)" in html


def test_times_cut_to_the_minute_are_noted_beside_the_span(
    clean_case: BuiltCase, tmp_path: Path
) -> None:
    with clean_case.open() as case:
        html = render_report(case, clean_case.detection, tmp_path / "fine.html").read_text("utf-8")
    assert 'id="time-note"' not in html  # the synthetic case's times are to the second
    db = tmp_path / "case.duckdb"
    shutil.copy(clean_case.db, db)
    with open_case(db, create=False) as case:
        case.con.execute("UPDATE posts SET timestamp = date_trunc('minute', timestamp)")
        out = render_report(case, clean_case.detection, tmp_path / "cut.html")
    html = out.read_text(encoding="utf-8")
    assert 'id="time-note"' in html
    assert "100% of post times fall on whole minutes" in html


def test_report_with_no_networks(clean_case: BuiltCase, tmp_path: Path) -> None:
    folder = copy_detection(clean_case, tmp_path)
    document = json.loads((folder / "networks.json").read_text(encoding="utf-8"))
    document["networks"] = []
    (folder / "networks.json").write_text(json.dumps(document), encoding="utf-8")
    with clean_case.open() as case:
        out = render_report(case, folder, tmp_path / "none.html", max_background_nodes=100)
    html = out.read_text(encoding="utf-8")
    assert "No network was flagged" in html
    assert len(payload_of(html)["nodes"]["x"]) == 100


def test_no_networks_but_coordinated_groups_are_stated_and_listed(
    clean_case: BuiltCase, tmp_path: Path
) -> None:
    # Retweet-only data shows no marker: the report must not read as "no coordination".
    folder = copy_detection(clean_case, tmp_path)
    document = json.loads((folder / "networks.json").read_text(encoding="utf-8"))
    former = document["networks"]
    document["networks"] = []
    document["coordinated_groups"] = [
        {**n, "id": f"G{i}", "markers": [], "edges_by_signal": {"share": 7, "link": 9}}
        for i, n in enumerate(former, 1)
    ]
    (folder / "networks.json").write_text(json.dumps(document), encoding="utf-8")
    with clean_case.open() as case:
        out = render_report(case, folder, tmp_path / "groups.html", max_background_nodes=10)
    html = out.read_text(encoding="utf-8")
    assert "No network was flagged" in html
    n = len(former)
    assert f"<strong>{n} coordinated group{'s' if n != 1 else ''}</strong>" in html
    assert "<code>--min-markers 0</code>" in html
    rows = re.findall(r'<tr><th scope="row"><bdi>(G\d+)</bdi></th><td>([\d,]+)</td>', html)
    assert rows == [(f"G{i}", f"{len(g['accounts']):,}") for i, g in enumerate(former, 1)]
    assert "link (9), share (7)" in html  # by count, largest first


def test_groups_found_by_the_group_test_say_so(clean_case: BuiltCase, tmp_path: Path) -> None:
    # A network whose pairs are weak ties is judged as a group on held-out posts: its estimated
    # FDR is the group test's q-value, and the report and explain must say which test made it.
    folder = copy_detection(clean_case, tmp_path)
    document = json.loads((folder / "networks.json").read_text(encoding="utf-8"))
    record = {
        "proposed": 9, "kept": 8, "test_half": 1, "p_value": 2e-9, "q_value": 4e-9,
        "by_signal": {
            "link": {"observed": 41.0, "expected": 3.25, "p_value": 1e-9},
            "text": {"observed": 7.0, "expected": 5.0, "p_value": 0.2},
        },
    }  # fmt: skip
    first = {**document["networks"][0], "group_test": [record], "estimated_fdr": 4e-9}
    document["networks"][0] = first
    document["coordinated_groups"] = [
        {**first, "id": "G1", "markers": [], "edges_by_signal": {}, "internal_edges": 0}
    ]
    (folder / "networks.json").write_text(json.dumps(document), encoding="utf-8")
    with clean_case.open() as case:
        out = render_report(case, folder, tmp_path / "tested.html", max_background_nodes=10)
    html = out.read_text(encoding="utf-8")
    assert "on posts held out from its choice, its accounts co-acted 41 times on link where" in html
    assert "group test: link 41 co-actions on held-out posts, 3.2 expected" in html
    with clean_case.open() as case:
        lines = " ".join(explain(case, folder, "G1"))
    assert "Coordination as a group" in lines and "co-acted 41 times on link" in lines
    assert "predicts 3.2 (group test p = 2e-09, q = 4e-09" in lines
    # a p-value that underflowed to 0 is the strongest evidence, not a missing one
    record.update(p_value=0.0, q_value=0.0)
    document["coordinated_groups"][0]["group_test"] = [record]
    (folder / "networks.json").write_text(json.dumps(document), encoding="utf-8")
    with clean_case.open() as case:
        lines = " ".join(explain(case, folder, "G1"))
    assert "(group test p < 1e-300, q < 1e-300" in lines
    assert "held-out tests" not in lines
    # a group merged from several confirmed proposals says how many tests it has
    document["coordinated_groups"][0]["group_test"] = [record, {**record, "p_value": 1e-5}]
    (folder / "networks.json").write_text(json.dumps(document), encoding="utf-8")
    with clean_case.open() as case:
        lines = " ".join(explain(case, folder, "G1"))
    assert "the strongest of 2 held-out tests that confirmed parts of it" in lines


def test_related_networks_are_linked_and_their_items_escaped(
    clean_case: BuiltCase, tmp_path: Path
) -> None:
    folder = copy_detection(clean_case, tmp_path)
    document = json.loads((folder / "networks.json").read_text(encoding="utf-8"))
    first = document["networks"][0]
    hostile = "<img src=x onerror=alert(1)>.example"
    evidence = {
        "kind": "domain", "item": hostile, "accounts_here": 12, "accounts_there": 9,
        "accounts_other": 0, "accounts_outside": 1, "p_value": 1e-40, "p_adjusted": 1e-36,
    }  # fmt: skip
    first["related_networks"] = [
        {"network": "N-elsewhere", "items": 3, "by_kind": {"domain": 2, "hashtag": 1},
         "p_adjusted": 1e-36, "evidence": [evidence]},
    ]  # fmt: skip
    if len(document["networks"]) > 1:
        other = document["networks"][1]["id"]
        first["related_networks"].insert(
            0, {"network": other, "items": 1, "by_kind": {"link": 1}, "p_adjusted": 1e-9,
                "evidence": [{**evidence, "kind": "link", "item": "https://x.example/a"}]},
        )  # fmt: skip
    (folder / "networks.json").write_text(json.dumps(document), encoding="utf-8")
    with clean_case.open() as case:
        out = render_report(case, folder, tmp_path / "related.html", max_background_nodes=10)
    html = out.read_text(encoding="utf-8")
    assert "<h3>Related networks</h3>" in html
    assert "Network <bdi>N-elsewhere</bdi>: 3 items (2 domain, 1 hashtag)" in html
    assert 'href="#N-elsewhere"' not in html  # not in the report: no link
    assert "&lt;img src=x onerror=alert(1)&gt;.example" in html and hostile not in html
    if len(document["networks"]) > 1:
        assert f'<a href="#net-1">Network <bdi>{other}</bdi></a>' in html
        assert "possibly one operation (see Related networks)" in html
    with clean_case.open() as case:
        lines = explain(case, folder, first["id"])
    told = [line for line in lines if line.startswith("Related to N-elsewhere")]
    assert told == [
        "Related to N-elsewhere through 3 items that few accounts outside the networks use "
        "(2 domain, 1 hashtag; adjusted p 1e-36): domain <img src=x onerror=alert(1)>.example, "
        "12 of its accounts, 9 of N-elsewhere's and 1 in no network."
    ]


def test_background_is_sampled_and_layout_is_seeded(clean_case: BuiltCase, tmp_path: Path) -> None:
    flagged = sum(len(n["accounts"]) for n in clean_case.networks)
    with clean_case.open() as case:
        first = render_report(
            case, clean_case.detection, tmp_path / "a.html", max_background_nodes=50
        )
        second = render_report(
            case, clean_case.detection, tmp_path / "b.html", max_background_nodes=50
        )
    a = payload_of(first.read_text(encoding="utf-8"))
    b = payload_of(second.read_text(encoding="utf-8"))
    assert len(a["nodes"]["x"]) == flagged + 50
    assert a == b


def test_missing_outputs_are_named(clean_case: BuiltCase, tmp_path: Path) -> None:
    folder = copy_detection(clean_case, tmp_path)
    (folder / "evidence.parquet").unlink()
    with clean_case.open() as case:
        with pytest.raises(BadInputError, match=r"evidence\.parquet.*missing"):
            render_report(case, folder, tmp_path / "x.html")
        with pytest.raises(ConfigError, match="max_background_nodes"):
            render_report(case, clean_case.detection, tmp_path / "x.html", max_background_nodes=-1)
    assert not (tmp_path / "x.html").exists()


def test_graph_of_100k_accounts_stays_small_and_fast() -> None:
    # 100,000 accounts, 20 networks of 50 dense-ish accounts, 200,000 significant edges.
    rng = np.random.default_rng(0)
    accounts = [f"a{i:06d}" for i in range(100_000)]
    networks = [
        {"id": f"N{k + 1}", "rank": k + 1, "accounts": accounts[k * 50 : (k + 1) * 50]}
        for k in range(20)
    ]
    inside_s = rng.integers(0, 50, 30_000) + 50 * rng.integers(0, 20, 30_000)
    inside_t = (inside_s // 50) * 50 + rng.integers(0, 50, 30_000)
    outside_s = rng.integers(0, 100_000, 170_000)
    outside_t = rng.integers(0, 100_000, 170_000)
    source = np.concatenate([inside_s, outside_s])
    target = np.concatenate([inside_t, outside_t])
    keep = source != target
    edges = pa.table(
        {
            "source": pa.array([accounts[i] for i in source[keep]]),
            "target": pa.array([accounts[i] for i in target[keep]]),
            "signal": pa.array(["share"] * int(keep.sum())),
            "weight": pa.array(rng.integers(1, 9, int(keep.sum()))),
            "q_value": pa.array(rng.uniform(0, 0.04, int(keep.sum()))),
        }
    )
    outputs = DetectionOutputs(
        networks=networks,
        document={"config": {"alpha": 0.05}},
        accounts=pa.table({"account_id": accounts, "score": rng.uniform(0, 1, 100_000)}),
        edges=edges,
        evidence=pa.table({"signal": pa.array([], pa.string())}),
    )
    started = time.perf_counter()
    graph = build_graph(outputs, max_background_nodes=5000, seed=0)
    elapsed = time.perf_counter() - started
    assert len(graph.ids) == 1000 + 5000
    assert len(graph.edges) <= MAX_GRAPH_EDGES
    assert all(np.isfinite(graph.x)) and all(np.isfinite(graph.y))
    assert elapsed < 60, f"graph of 100k accounts took {elapsed:.1f} s"


def test_an_attributed_case_is_stated(clean_case: BuiltCase, tmp_path: Path) -> None:
    folder = copy_detection(clean_case, tmp_path)
    document = json.loads((folder / "networks.json").read_text(encoding="utf-8"))
    with clean_case.open() as case:
        plain = render_report(case, folder, tmp_path / "plain.html", max_background_nodes=10)
    assert 'id="attributed-note"' not in plain.read_text(encoding="utf-8")
    networks = [dict(n) for n in document["networks"]]
    networks[0]["split_test"] = {
        "component_size": 261,
        "p_value": 0.01,
        "split": True,
        "communities_proposed": 3,
        "communities_kept": 2,
        "boundary_p": 0.02,
    }
    attributed = {**document, "attributed": True, "networks": networks}
    (folder / "networks.json").write_text(json.dumps(attributed), "utf-8")
    with clean_case.open() as case:
        out = render_report(case, folder, tmp_path / "attributed.html", max_background_nodes=10)
        lines = " ".join(explain(case, folder, document["networks"][0]["id"]))
    html = out.read_text(encoding="utf-8")
    assert 'id="attributed-note"' in html and "not tested against the case itself" in html
    assert "attributed (not tested)" in html and "significant links (estimated FDR" not in html
    assert "Attributed case: every account of this case was attributed" in lines
    assert "significant links" not in lines
    said = "cut by modularity into 3 communities; the split held on held-out posts (p = 0.01)"
    assert said in lines and said in html and "weakest boundary: p = 0.02" in html


def test_the_week_chart_outlines_the_fitted_working_days() -> None:
    week = [1.0] * 168
    monday = str(_charts.heatmap(week, label="w"))
    assert monday.count('class="working-days"') == 1 and 'height="90"' in monday  # 5 rows
    # Sunday-Thursday on a Monday-first grid: Monday-Thursday, then Sunday
    sunday = str(_charts.heatmap(week, label="w", working_days=(6, 0, 1, 2, 3)))
    assert sunday.count('class="working-days"') == 2
    assert 'height="72"' in sunday and 'height="18"' in sunday


def test_a_batch_of_date_only_creation_times_is_one_day(
    clean_case: BuiltCase, tmp_path: Path
) -> None:
    folder = copy_detection(clean_case, tmp_path)
    document = json.loads((folder / "networks.json").read_text(encoding="utf-8"))
    burst = {
        "marker": "creation_burst", "count": 9, "known": 22, "p_value": 4e-44,
        "start": "2019-01-14T00:00:00Z", "end": "2019-01-14T00:00:00Z",
    }  # fmt: skip
    document["networks"][0]["markers"] = [burst]
    (folder / "networks.json").write_text(json.dumps(document), encoding="utf-8")
    first = document["networks"][0]["id"]
    with clean_case.open() as case:
        lines = " ".join(explain(case, folder, first))
    assert (
        "Made in a batch: 9 accounts of the 22 with a known creation time created on "
        "2019-01-14 (p = 4e-44 against the case's creation rate)."
    ) in lines
    burst.update(start="2019-01-14T09:00:00Z", end="2019-01-14T09:40:00Z")
    (folder / "networks.json").write_text(json.dumps(document), encoding="utf-8")
    with clean_case.open() as case:
        lines = " ".join(explain(case, folder, first))
    assert "created between 2019-01-14T09:00:00Z and 2019-01-14T09:40:00Z" in lines
    # a farm made in three sessions: every burst of the window is counted, and the case's own
    burst.update(bursts=3, batched=21, window="hour", case_count=9)
    (folder / "networks.json").write_text(json.dumps(document), encoding="utf-8")
    with clean_case.open() as case:
        lines = " ".join(explain(case, folder, first))
    assert "none outside it in the case" in lines
    assert "In all, 21 of its accounts were made in 3 such bursts of one hour each." in lines


def test_a_declared_fleet_says_why_it_is_not_a_network(
    clean_case: BuiltCase, tmp_path: Path
) -> None:
    folder = copy_detection(clean_case, tmp_path)
    document = json.loads((folder / "networks.json").read_text(encoding="utf-8"))
    first = document["networks"][0]
    declared = {
        "accounts": 7,
        "members": 8,
        "fields": {"description": 2, "username": 6},
        "examples": ["b0"],
        "whole_group": True,
    }
    document["coordinated_groups"] = [
        {
            **first,
            "id": "G1",
            "markers": [{"marker": "creation_burst"}],
            "declared_automation": declared,
        }
    ]

    def rendered(name: str) -> str:
        (folder / "networks.json").write_text(json.dumps(document), encoding="utf-8")
        with clean_case.open() as case:
            out = render_report(case, folder, tmp_path / f"{name}.html", max_background_nodes=10)
        return out.read_text(encoding="utf-8")

    html = rendered("declared")
    assert (
        "creation_burst<br>7 of 8 accounts declare automation (description, username):"
        " an open automated fleet, not flagged" in html
    )
    assert "<code>--flag-declared</code>" in html
    # a group with a few declared accounts, unflagged for want of a marker: the declaration
    # is not the reason, and the report says what it did
    declared.update(accounts=2, fields={"username": 2}, whole_group=False)
    document["coordinated_groups"][0]["markers"] = []
    html = rendered("declared2")
    assert (
        "none<br>2 of 8 accounts declare automation (username); its creation, handle, profile"
        " and infrastructure markers are measured on the other 6" in html
    )
    assert "open automated fleet" not in html
    # under flag_declared the declaration did nothing, and the report says so
    declared.update(whole_group=True)
    document["config"]["flag_declared"] = True
    html = rendered("declared3")
    assert "2 of 8 accounts declare automation (username); counted like any other" in html
    assert "open automated fleet" not in html
