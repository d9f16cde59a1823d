"""Safe outputs: what the adversary wrote cannot run, spoof or escape from any output.

A synthetic operation is given hostile account ids, handles, hashtags and texts (spreadsheet
formulas, ``<script>``, path traversal, absolute paths, NUL, tab, carriage return, a
right-to-left override) and run through ``investigate``. Then:

* every CSV cell that a spreadsheet would evaluate (``= + - @``, tab, CR first) is prefixed
  with ``'`` (numbers are numbers and stay as they are), and the CSV still has one row per
  account;
* JSON and XML outputs parse, with the hostile ids in them as data;
* ``report.html`` holds no markup, script or direction control from the data, only escaped text;
* no file is written outside the output folder, and no file name comes from the data.
"""

from __future__ import annotations

import csv
import json
import os
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any, Final

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given
from hypothesis import strategies as st

from cibscan.case import open_case
from cibscan.cli import main
from cibscan.cli.detect import read_assignment
from cibscan.export import (
    FORMULA_PREFIXES,
    neutralise_formula,
    restore_formula,
    write_csv,
    write_gexf,
)
from cibscan.investigate import investigate
from cibscan.synth import SynthConfig, generate

pytestmark = pytest.mark.slow

FORMULA: Final = "=cmd|' /C calc'!A0"
#: Hostile account ids, planted (with a number after each, to keep them distinct) on the
#: operation's accounts, which detection flags.
HOSTILE_IDS: Final = (
    FORMULA,
    "+1",
    "-1",
    "@x",
    "\tx",
    "\rx",
    "<script>alert(1)</script>",
    "../../etc/passwd",
    "/abs",
    "nul\x00byte",
    "\u202eevil",
)
HOSTILE_HANDLES: Final = (
    '=HYPERLINK("http://evil","x")',
    "@SUM(1+1)",
    "<img src=x onerror=alert(1)>",
    "\u202egnp.exe",
    "-2+3",
)
HOSTILE_TAG: Final = "</script><script>alert(1)</script>"
HOSTILE_TEXT: Final = f"=1+1 <script>alert(1)</script> \u202eevil\t\r {FORMULA}"
#: Columns that hold names (ids, handles, labels), never numbers.
NAME_COLUMNS: Final = ("account_id", "network_id", "coordinated_group", "top_signals",
                       "source", "target", "signal")  # fmt: skip
#: Every output ``investigate`` writes at the top of its folder.
KNOWN_OUTPUTS: Final = {
    "accounts.csv", "networks.json", "edges.parquet", "edges.csv", "evidence.parquet",
    "graph.graphml", "graph.gexf", "report.html", "run.json", "case.duckdb", ".cibscan-cache",
}  # fmt: skip


def _hostile_inputs(folder: Path) -> tuple[list[Path], dict[str, str]]:
    """Write the office scenario with hostile operators; return the files and the renaming."""
    scenario = generate("office", seed=2, config=SynthConfig(accounts=300, posts=8000, days=5))
    labels = scenario.labels.to_pylist()
    operators = sorted(r["account_id"] for r in labels if r["role"] == "operator")
    renamed = {a: f"{HOSTILE_IDS[i % len(HOSTILE_IDS)]}{i}" for i, a in enumerate(operators)}

    def rename(table: pa.Table, *columns: str) -> pa.Table:
        for column in columns:
            values = [renamed.get(v, v) for v in table[column].to_pylist()]
            index = table.column_names.index(column)
            table = table.set_column(
                index, column, pa.array(values, table.schema.field(column).type)
            )
        return table

    accounts = scenario.accounts.to_pylist()
    for n, row in enumerate(r for r in accounts if r["account_id"] in renamed):
        row["username"] = f"{HOSTILE_HANDLES[n % len(HOSTILE_HANDLES)]}{n}"
        row["display_name"] = HOSTILE_TEXT
    posts = scenario.posts.to_pylist()
    for row in posts:
        if row["account_id"] in renamed:
            # The same addition on every post keeps the operation's copies copies.
            row["text"] = f"{row['text'] or ''} {HOSTILE_TEXT}"
            row["hashtags"] = [*(row["hashtags"] or []), HOSTILE_TAG]
    tables = {
        "posts": rename(pa.Table.from_pylist(posts, schema=scenario.posts.schema),
                        "account_id", "shared_account_id", "reply_to_account_id"),
        "accounts": rename(pa.Table.from_pylist(accounts, schema=scenario.accounts.schema),
                           "account_id"),
        "memberships": rename(scenario.memberships, "account_id"),
        "infra": rename(scenario.infra, "account_id"),
    }  # fmt: skip
    files = []
    for name, table in tables.items():
        path = folder / f"{name}.parquet"
        pq.write_table(table, path)
        files.append(path)
    return files, renamed


def _snapshot(root: Path) -> set[Path]:
    return {Path(d) / f for d, dirs, files in os.walk(root) for f in [*files, *dirs]}


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The hostile case investigated; the paths that appeared anywhere under the root."""
    root = tmp_path_factory.mktemp("hostile")
    inputs = root / "input"
    inputs.mkdir()
    files, renamed = _hostile_inputs(inputs)
    out = root / "deep" / "out"
    before = _snapshot(root)
    result = investigate(files, out)
    return {
        "root": root,
        "out": out,
        "new": _snapshot(root) - before,
        "renamed": renamed,
        # planted id -> the payload it starts with
        "base": {h: HOSTILE_IDS[i % len(HOSTILE_IDS)] for i, h in enumerate(renamed.values())},
        "flagged": {a for n in result.networks for a in n["accounts"]},
    }


def test_the_hostile_accounts_are_flagged(run: dict[str, Any]) -> None:
    """The payloads reach every output: detection flags the hostile accounts."""
    hostile = set(run["renamed"].values())
    flagged = run["flagged"] & hostile
    assert len(flagged) >= len(HOSTILE_IDS), sorted(flagged)
    # Every kind of payload is among them.
    assert {run["base"][h] for h in flagged} == set(HOSTILE_IDS)


def test_nothing_is_written_outside_the_output_folder(run: dict[str, Any]) -> None:
    out: Path = run["out"]
    assert {p.name for p in out.iterdir()} <= KNOWN_OUTPUTS
    for path in run["new"]:
        assert path == out.parent or out in path.parents or path == out, path
        # No file or folder is named after the data.
        for part in path.relative_to(out.parent).parts:
            assert part.isascii() and part.isprintable(), part
            assert not any(word in part for word in ("passwd", "calc", "script", "evil")), part
    assert not (run["root"] / "etc").exists()
    assert not Path("/abs0").exists()


def _csv_rows(path: Path) -> list[dict[str, str]]:
    # newline="": a CR inside a quoted cell is data, not a line end.
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _assert_cells_safe(rows: list[dict[str, str]]) -> None:
    for row in rows:
        for column, cell in row.items():
            if not cell.startswith(FORMULA_PREFIXES):
                continue
            assert column not in NAME_COLUMNS, (column, cell)
            float(cell)  # only a number may start with '-' or '+'


def test_accounts_csv_neutralises_formulas(run: dict[str, Any]) -> None:
    rows = _csv_rows(run["out"] / "accounts.csv")
    _assert_cells_safe(rows)
    ids = [r["account_id"] for r in rows]
    # One row per account, whatever tab, CR or NUL the ids hold.
    assert len(ids) == len(set(ids))
    cells = set(ids)
    for hostile in run["flagged"] & set(run["renamed"].values()):
        expected = neutralise_formula(hostile.replace("\x00", ""))
        assert expected in cells or neutralise_formula(hostile) in cells, hostile
    assert f"'{FORMULA}0" in cells
    assert "'-12" in cells or "'-113" in cells or any(c.startswith("'-1") for c in cells)


def test_accounts_csv_reads_back_to_the_ids(run: dict[str, Any]) -> None:
    """``evaluate`` and ``explain`` take the guard off: the ids they read are the real ones."""
    assignment = read_assignment(run["out"] / "accounts.csv")
    with open_case(run["out"] / "case.duckdb", create=False, read_only=True) as case:
        ids = {r[0] for r in case.con.execute("SELECT account_id FROM accounts").fetchall()}
    assert set(assignment) >= ids
    assert set(run["renamed"].values()) <= set(assignment)
    assert {assignment[a] for a in run["flagged"]} <= {f"N{i}" for i in range(1, 100)}


def test_edges_csv_neutralises_formulas(run: dict[str, Any]) -> None:
    rows = _csv_rows(run["out"] / "edges.csv")
    assert rows
    _assert_cells_safe(rows)
    ends = {r["source"] for r in rows} | {r["target"] for r in rows}
    assert any(e.startswith("'=cmd") for e in ends)


def test_json_outputs_parse_and_keep_the_ids(run: dict[str, Any]) -> None:
    document = json.loads((run["out"] / "networks.json").read_text(encoding="utf-8"))
    accounts = {a for n in document["networks"] for a in n["accounts"]}
    assert accounts & set(run["renamed"].values())
    json.loads((run["out"] / "run.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", ["graph.graphml", "graph.gexf"])
def test_graph_files_are_well_formed(run: dict[str, Any], name: str) -> None:
    tree = ET.parse(run["out"] / name)
    ids = [e.get("id") for e in tree.iter() if e.tag.endswith("}node")]
    assert len(ids) == len(set(ids)), "two accounts became one node"
    assert f"{FORMULA}0" in ids
    assert any(i is not None and i.startswith("<script>") for i in ids)


def test_report_runs_and_spoofs_nothing(run: dict[str, Any]) -> None:
    html = (run["out"] / "report.html").read_text(encoding="utf-8")
    assert "<script>alert" not in html and "<img src=x" not in html
    assert HOSTILE_TAG not in html
    for control in ("\u202e", "\x00", "\r"):
        assert control not in html, repr(control)
    # The only script blocks are the report's own: its inline code and one JSON payload.
    opening = html.count("<script")
    assert opening == html.count("</script>")
    assert opening <= 4
    # The hostile data is in the report, as text.
    assert "[U+202E]" in html
    assert "&lt;script&gt;alert(1)" in html or "\\u003cscript\\u003ealert(1)" in html
    assert "default-src &#39;none&#39;" in html


@given(st.text())
def test_neutralised_text_never_starts_a_formula(text: str) -> None:
    cell = neutralise_formula(text)
    assert not cell.startswith(FORMULA_PREFIXES)
    assert cell in (text, "'" + text)
    assert restore_formula(cell) == text


def test_write_csv_neutralises_every_text_like_column(tmp_path: Path) -> None:
    """Strings, dictionaries, lists and binary columns all reach the cell neutralised."""
    table = pa.table(
        {
            "text": pa.array(["=1+1", "ok"]),
            "large": pa.array(["@x", None], pa.large_string()),
            "dict": pa.array(["+1", "-1"]).dictionary_encode(),
            "list": pa.array([["=a", "b"], []], pa.list_(pa.string())),
            "binary": pa.array([b"=HYPERLINK()", b"plain"]),
            "number": pa.array([-3, 4]),
        }
    )
    write_csv(table, tmp_path / "t.csv")
    rows = _csv_rows(tmp_path / "t.csv")
    assert rows[0] == {"text": "'=1+1", "large": "'@x", "dict": "'+1", "list": "'=a b",
                       "binary": "'=HYPERLINK()", "number": "-3"}  # fmt: skip
    assert rows[1]["dict"] == "'-1" and rows[1]["binary"] == "plain"


def test_xml_writers_keep_distinct_ids_distinct(tmp_path: Path) -> None:
    """Characters XML cannot carry are replaced visibly, so two ids never become one node."""
    edges = pa.table({"source": ["a\x00", "a\x01"], "target": ["a", "a"], "weight": [1, 2]})
    write_gexf(edges, tmp_path / "g.gexf")
    nodes = [e.get("id") for e in ET.parse(tmp_path / "g.gexf").iter() if e.tag.endswith("}node")]
    assert len(nodes) == len(set(nodes)) == 3


def test_info_shows_hostile_rejects_as_text(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A rejected value is printed as text: no Rich markup, no terminal escape sequences."""
    hostile = "[/x][link=https://evil.example]x[/link]\x1b]0;pwned\x07\x1b[2J\u202e"
    posts = tmp_path / "posts.csv"
    with open(posts, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["post_id", "account_id", "timestamp", "text"])
        writer.writerow(["1", "a", "2024-01-01T10:00:00Z", "fine"])
        writer.writerow(["2", "b", hostile, "bad time"])
    db = tmp_path / "case.duckdb"
    assert main(["ingest", str(posts), "--db", str(db), "--on-error", "skip"]) == 0
    capsys.readouterr()
    monkeypatch.setenv("COLUMNS", "500")  # wide enough that no cell is cut
    assert main(["info", "--db", str(db)]) == 0
    shown = capsys.readouterr().out
    assert "\x1b" not in shown and "\u202e" not in shown
    assert "[link=https://evil.example]" in shown  # as text, not a hyperlink
    assert "[/x]" in shown and "[U+202E]" in shown
