"""Co-action networks, default semantics: hand-counted fixtures, properties, outputs, CLI."""

from __future__ import annotations

import csv
import itertools
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import cibscan.networks as networks_module
from cibscan.case import Case, open_case
from cibscan.cli import main
from cibscan.errors import ConfigError, EmptyInputError
from cibscan.export import neutralise_formula, write_csv
from cibscan.networks import (
    EDGE_COLUMNS,
    EVIDENCE_COLUMNS,
    HOT_ITEM_COLUMNS,
    NetworkConfig,
    estimate_coordination_interval,
    networks,
)

POST_TYPES: dict[str, pa.DataType] = {
    "post_id": pa.string(),
    "account_id": pa.string(),
    "seconds": pa.float64(),
    "kind": pa.string(),
    "text": pa.string(),
    "shared_post_id": pa.string(),
    "reply_to_post_id": pa.string(),
    "urls": pa.list_(pa.string()),
    "urls_original": pa.list_(pa.string()),
    "hashtags": pa.list_(pa.string()),
    "mentions": pa.list_(pa.string()),
    "media": pa.list_(pa.string()),
}


def make_case(*rows: dict[str, Any], path: Path | None = None) -> Case:
    """A case whose posts are ``rows``; ``seconds`` counts from 2024-01-01."""
    case = open_case(path)
    if rows:
        table = pa.table(
            {
                name: pa.array([r.get(name, "post" if name == "kind" else None) for r in rows], t)
                for name, t in POST_TYPES.items()
            }
        )
        case.con.register("rows", table)
        columns = ", ".join(n for n in POST_TYPES if n != "seconds")
        case.con.execute(
            f"""INSERT INTO posts BY NAME SELECT {columns},
                TIMESTAMPTZ '2024-01-01 00:00:00+00'
                    + to_microseconds(CAST(round(seconds * 1e6) AS BIGINT)) AS timestamp
                FROM rows"""
        )
        case.con.unregister("rows")
    return case


def share(post: str, account: str, item: str, seconds: float) -> dict[str, Any]:
    return {
        "post_id": post,
        "account_id": account,
        "seconds": seconds,
        "kind": "share",
        "shared_post_id": item,
    }


def edges_of(result: Any) -> dict[tuple[str, str, str], dict[str, Any]]:
    return {(r["signal"], r["source"], r["target"]): r for r in result.edges.to_pylist()}


def test_the_package_attribute_is_the_stage_callable() -> None:
    # Issue 3 asks for cibscan.networks(case, ...): the module forwards calls to its function.
    import cibscan

    case = make_case(share("1", "a", "x", 0), share("2", "b", "x", 30))
    # Type checkers see a module: the typed spelling is `from cibscan.networks import networks`.
    via_package = cibscan.networks(case, ["share"], window=60, min_weight=1)  # type: ignore[operator]
    assert via_package.edges.equals(networks(case, ["share"], window=60, min_weight=1).edges)
    assert [(e["source"], e["target"]) for e in via_package.edges.to_pylist()] == [("a", "b")]


# --- hand-counted default semantics ----------------------------------------------------------


def test_shares_weight_counts_items_events_count_pairs() -> None:
    # Item x: a@0, b@60 (gap equal to the window counts), a@61 (same account again), c@121.
    # Item y: a@500 and b@500 (identical times). Item z: a@1000, b@1061 (too far).
    case = make_case(
        share("1", "a", "x", 0),
        share("2", "b", "x", 60),
        share("3", "a", "x", 61),
        share("4", "c", "x", 121),
        share("5", "a", "y", 500),
        share("6", "b", "y", 500),
        share("7", "a", "z", 1000),
        share("8", "b", "z", 1061),
    )
    result = networks(case, ["share"], window=60, min_weight=1)
    edges = edges_of(result)
    ab = edges[("share", "a", "b")]
    # Items x and y; events (1,2), (2,3) on x and (5,6) on y.
    assert (ab["weight"], ab["events"], ab["min_gap"]) == (2, 3, 0.0)
    assert ab["median_gap"] == pytest.approx(0.5)  # median of item minima 1 s and 0 s
    assert (edges[("share", "a", "c")]["weight"], edges[("share", "a", "c")]["events"]) == (1, 1)
    assert ("share", "b", "c") not in edges  # gap 61 s
    assert list(result.edges.column_names) == list(EDGE_COLUMNS)
    assert result.windows == {"share": 60.0}
    # min_weight 2 keeps only (a, b).
    strict = networks(case, ["share"], window=60, min_weight=2)
    assert [(r["source"], r["target"]) for r in strict.edges.to_pylist()] == [("a", "b")]


def test_evidence_is_bounded_and_closest_first() -> None:
    case = make_case(
        share("1", "a", "x", 0),
        share("2", "b", "x", 50),
        share("3", "a", "y", 100),
        share("4", "b", "y", 101),
        share("5", "b", "y", 130),
    )
    full = networks(case, ["share"], window=60, min_weight=1, evidence_limit=None)
    rows = full.evidence.to_pylist()
    assert list(full.evidence.column_names) == list(EVIDENCE_COLUMNS)
    assert [(r["item"], r["source_post"], r["target_post"], r["gap"]) for r in rows] == [
        ("y", "3", "4", 1.0),
        ("y", "3", "5", 30.0),
        ("x", "1", "2", 50.0),
    ]
    assert full.edges["events"].to_pylist() == [3]
    one = networks(case, ["share"], window=60, min_weight=1, evidence_limit=1)
    assert one.evidence.num_rows == 1 and one.edges["events"].to_pylist() == [3]
    none = networks(case, ["share"], window=60, min_weight=1, evidence_limit=0)
    assert none.evidence.num_rows == 0


SIGNAL_ROWS = [
    {"post_id": "1", "account_id": "a", "seconds": 0, "kind": "reply", "reply_to_post_id": "t",
     "text": "Stop the lies now, everybody! https://x.example/1", "urls": ["x.example/1"],
     "hashtags": ["one", "two"], "mentions": ["target"], "media": ["img"]},
    {"post_id": "2", "account_id": "b", "seconds": 30, "kind": "reply", "reply_to_post_id": "t",
     "text": "stop the LIES now, everybody! @target", "urls": ["https://www.x.example/2"],
     "hashtags": ["one", "two"], "mentions": ["target"], "media": ["img"]},
    {"post_id": "3", "account_id": "c", "seconds": 30, "kind": "share", "shared_post_id": "1",
     "text": "stop the lies now, everybody!", "urls": ["x.example/1"], "hashtags": ["one", "two"],
     "mentions": ["target"], "media": ["img"]},
    {"post_id": "4", "account_id": "d", "seconds": 5000, "text": "Stop the lies now, everybody!",
     "urls": ["x.example/1"], "hashtags": ["two", "one"], "mentions": ["target"]},
]  # fmt: skip


@pytest.mark.parametrize(
    ("signal", "expected"),
    [
        ("reply", {("a", "b")}),
        ("link", set()),  # different URLs; c is a repost, d is too late
        ("domain", {("a", "b")}),
        ("mention", {("a", "b")}),
        ("hashtag", {("a", "b")}),
        ("hashtag_seq", {("a", "b")}),
        ("text", {("a", "b")}),
        ("near_text", {("a", "b")}),
        ("media", {("a", "b")}),
        ("share", set()),
        ("co_post", {("a", "b"), ("a", "c"), ("b", "c")}),
    ],
)
def test_every_signal_hand_counted(signal: str, expected: set[tuple[str, str]]) -> None:
    result = networks(make_case(*SIGNAL_ROWS), [signal], window=60, min_weight=1)
    assert {(r["source"], r["target"]) for r in result.edges.to_pylist()} == expected
    assert set(result.edges["signal"].to_pylist()) <= {signal}


def test_several_signals_in_one_table_in_requested_order() -> None:
    result = networks(make_case(*SIGNAL_ROWS), "text,reply", window=60, min_weight=1)
    assert result.edges["signal"].to_pylist() == ["text", "reply"]
    assert list(result.stats) == ["text", "reply"]


# --- hot items -------------------------------------------------------------------------------


def test_hot_item_is_listed_not_enumerated() -> None:
    rows = [share(str(i), f"acc{i}", "viral", i) for i in range(6)]
    rows += [share("a1", "acc0", "quiet", 100), share("a2", "acc1", "quiet", 101)]
    case = make_case(*rows)
    capped = networks(case, ["share"], window=60, min_weight=1, hot_item_cap=5)
    assert [(r["source"], r["target"]) for r in capped.edges.to_pylist()] == [("acc0", "acc1")]
    hot = capped.hot_items.to_pylist()
    assert list(capped.hot_items.column_names) == list(HOT_ITEM_COLUMNS)
    assert [(h["item"], h["posts"], h["accounts"], h["peak"], h["pairs"]) for h in hot] == [
        ("viral", 6, 6, 6, 15)
    ]
    uncapped = networks(case, ["share"], window=60, min_weight=1, hot_item_cap=None)
    assert uncapped.edges.num_rows == 15 and uncapped.hot_items.num_rows == 0
    # Participation is counted inside one window: spread out, the same item is not hot.
    slow = make_case(*[share(str(i), f"acc{i}", "viral", 100 * i) for i in range(6)])
    assert networks(slow, ["share"], window=60, hot_item_cap=5).hot_items.num_rows == 0


@pytest.mark.slow
def test_a_link_shared_by_200k_accounts_in_minutes_takes_seconds() -> None:
    n = 200_000
    case = open_case()
    case.con.execute(
        f"""INSERT INTO posts (post_id, account_id, timestamp, kind, urls)
            SELECT 'p' || i, 'acc' || i,
                   TIMESTAMPTZ '2024-01-01 00:00:00+00' + to_microseconds(i * 1500),
                   'post', ['news.example/breaking']
            FROM range({n}) r(i)"""
    )
    started = time.perf_counter()
    result = networks(case, ["link"], window=60, min_weight=1)
    elapsed = time.perf_counter() - started
    assert result.edges.num_rows == 0
    (hot,) = result.hot_items.to_pylist()
    assert hot["posts"] == n and hot["accounts"] == n and hot["peak"] == 40_001
    assert elapsed < 30  # seconds, not the hours of 20 billion pairs


# --- window="auto" ---------------------------------------------------------------------------


def test_auto_window_is_coornets_estimate() -> None:
    # Ten items; item k's second share comes k+1 s after its first (q = 0.1 keeps item 0 and
    # the quantile boundary). Item 0: shares at 0, 1, 4, 9 s -> past half (rank 3 of 4) at 4 s.
    rows = []
    for k in range(10):
        base = 10_000 * k
        for j, offset in enumerate([0, k + 1, 4 + 2 * k, 9 + 3 * k]):
            rows.append(share(f"{k}-{j}", f"acc{j}", f"item{k}", base + offset))
    case = make_case(*rows)
    assert estimate_coordination_interval(case, "share") == 4.0
    result = networks(case, ["share"], window="auto", min_weight=1)
    assert result.windows == {"share": 4.0}
    assert result.config.window == "auto"


def test_auto_window_below_a_second_stands_and_zero_is_one_second() -> None:
    # The same layout at a tenth of the times: 0.4 s, with sub-second times in the data.
    rows = []
    for k in range(10):
        for j, offset in enumerate([0, k + 1, 4 + 2 * k, 9 + 3 * k]):
            rows.append(share(f"{k}-{j}", f"acc{j}", f"item{k}", 1_000 * k + offset / 10))
    assert estimate_coordination_interval(make_case(*rows), "share") == 0.4
    at_once = [
        share(f"{k}-{j}", f"acc{j}", f"item{k}", 100 * k) for k in range(3) for j in range(3)
    ]
    assert estimate_coordination_interval(make_case(*at_once), "share") == 1.0  # CooRnet's 0 -> 1


def test_auto_window_needs_an_item_acted_on_twice() -> None:
    case = make_case(share("1", "a", "x", 0))
    with pytest.raises(EmptyInputError, match="window 'auto'"):
        networks(case, ["share"], window="auto")


# --- properties ------------------------------------------------------------------------------

share_rows = st.lists(
    st.tuples(
        st.sampled_from(["a", "b", "c", "d", "e"]),
        st.sampled_from(["x", "y", "z"]),
        st.integers(0, 300),
    ),
    max_size=30,
).map(lambda rows: [share(f"p{n}", a, i, t) for n, (a, i, t) in enumerate(rows)])


def weights(rows: list[dict[str, Any]], window: float, semantics: str = "default") -> dict:
    if not rows:
        return {}
    result = networks(
        make_case(*rows), ["share"], window=window, min_weight=1, semantics=semantics,  # type: ignore[arg-type]
        evidence_limit=0,
    )  # fmt: skip
    return {(r["source"], r["target"]): r["weight"] for r in result.edges.to_pylist()}


PROPERTY = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(rows=share_rows, small=st.integers(0, 100), extra=st.integers(0, 200))
@example(rows=[], small=0, extra=0)
def test_weights_never_decrease_as_the_window_widens(rows: list, small: int, extra: int) -> None:
    for semantics in ("default", "cnt"):
        narrow = weights(rows, small, semantics)
        wide = weights(rows, small + extra, semantics)
        assert all(wide.get(pair, 0) >= w for pair, w in narrow.items())


@PROPERTY
@given(rows=share_rows, window=st.integers(0, 200))
def test_undirected_edges_are_canonical_and_cnt_is_symmetric_in_presence(
    rows: list, window: int
) -> None:
    undirected = weights(rows, window)
    assert all(s < t for s, t in undirected)
    directed = weights(rows, window, "cnt")
    assert {tuple(sorted(p)) for p in directed} == set(undirected)
    assert all((t, s) in directed for s, t in directed)


@PROPERTY
@given(rows=share_rows, window=st.integers(0, 200), data=st.data())
def test_relabelling_accounts_changes_only_labels(rows: list, window: int, data: Any) -> None:
    names = ["a", "b", "c", "d", "e"]
    new = data.draw(st.permutations(["q", "r", "s", "t", "u"]))
    mapping = dict(zip(names, new, strict=True))
    relabelled = [{**r, "account_id": mapping[r["account_id"]]} for r in rows]
    before = weights(rows, window)
    after = weights(relabelled, window)
    assert after == {tuple(sorted((mapping[s], mapping[t]))): w for (s, t), w in before.items()}


@PROPERTY
@given(rows=share_rows, window=st.integers(0, 200), parts=st.integers(2, 4))
def test_partitions_do_not_change_the_result(rows: list, window: int, parts: int) -> None:
    if not rows:
        return
    case = make_case(*rows)
    for semantics in ("default", "cnt", "coortweet"):
        one = networks(case, ["share"], window=window, min_weight=1, semantics=semantics)  # type: ignore[arg-type]
        many = networks(
            case, ["share"], window=window, min_weight=1, semantics=semantics,  # type: ignore[arg-type]
            partitions=parts,
        )  # fmt: skip
        assert one.edges.equals(many.edges)
        assert one.evidence.equals(many.evidence)


@PROPERTY
@given(rows=share_rows, window=st.integers(0, 200), per_chunk=st.integers(1, 5))
def test_median_chunks_do_not_change_the_result(rows: list, window: int, per_chunk: int) -> None:
    """The medians are aggregated a bounded number of units at a time; the edges stay the same."""
    if not rows:
        return
    case = make_case(*rows)
    for semantics, min_weight in itertools.product(("default", "cnt"), (1, 2)):
        options: dict[str, Any] = {"window": window, "min_weight": min_weight}
        whole = networks(case, ["share"], semantics=semantics, **options)  # type: ignore[arg-type]
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(networks_module, "_units_per_chunk", lambda _con: per_chunk)
            chunked = networks(case, ["share"], semantics=semantics, **options)  # type: ignore[arg-type]
        assert whole.edges.equals(chunked.edges)


@pytest.mark.parametrize(
    ("limit", "threads", "units"),
    [
        ("256MB", 2, 2_000_000),
        ("256MB", 8, 2_000_000),
        ("64MB", 1, 500_000),
        ("1MB", 2, 100_000),
        ("64GB", 2, 4_000_000),
        ("-1", 2, 4_000_000),
    ],
)
def test_median_chunks_follow_the_memory_limit(limit: str, threads: int, units: int) -> None:
    """A median's state cannot spill: a tighter memory limit means fewer units per aggregation
    (and the same at any number of threads)."""
    con = duckdb.connect()
    con.execute(f"SET threads = {threads}")
    con.execute(f"SET memory_limit = '{limit}'")
    # DuckDB reports the limit rounded ("244.1 MiB"): equal to a thousandth.
    assert networks_module._units_per_chunk(con) == pytest.approx(units, rel=1e-3)


@pytest.mark.parametrize(
    ("printed", "size"),
    [
        ("244.1 MiB", 244.1 * 2**20),
        ("16383.9 PiB", 16383.9 * 2**50),
        ("512 bytes", 512),
        ("1.5GB", 1.5e9),
        ("a lot", None),
        ("12 I", None),
    ],
)
def test_sizes_as_duckdb_prints_them(printed: str, size: float | None) -> None:
    """An unknown form is None, which gives the fewest units per aggregation (never too many)."""
    assert networks_module._size_bytes(printed) == (None if size is None else pytest.approx(size))


# --- configuration and errors ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"signals": ("likes",)}, "unknown signal 'likes'"),
        ({"window": -1}, "window must be a finite number"),
        ({"window": "soon"}, "window must be a number of seconds or 'auto'"),
        ({"min_weight": 0}, "min_weight must be an integer >= 1"),
        ({"semantics": "osome"}, "unknown semantics 'osome'"),
        ({"keep_loops": True}, "keep_loops applies to semantics 'coortweet' only"),
        ({"near_text_threshold": 1.5}, "near_text_threshold must be in"),
        ({"signals": ("co_post",), "window": "auto"}, "co_post has no items"),
        (
            {"signals": ("near_text",), "window": "auto", "semantics": "cnt"},
            "compares posts pairwise",
        ),
        ({"signals": ()}, "no signal given"),
    ],
)
def test_bad_options_say_what_and_how(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        NetworkConfig(**options)


def test_config_from_toml_and_echoed_in_the_result(tmp_path: Path) -> None:
    path = tmp_path / "cibscan.toml"
    path.write_text('[networks]\nsignals = ["share"]\nwindow = 30\nmin_weight = 1\n')
    config = NetworkConfig.from_toml(path)
    assert config.signals == ("share",) and config.window == 30.0
    result = networks(make_case(share("1", "a", "x", 0), share("2", "b", "x", 30)), config=config)
    assert result.edges.num_rows == 1
    assert result.metadata()["config"]["window"] == 30.0
    path.write_text("[networks]\nwindoww = 30\n")
    with pytest.raises(ConfigError, match="unknown network option"):
        NetworkConfig.from_toml(path)


def test_empty_case_is_an_error() -> None:
    with pytest.raises(EmptyInputError, match="no posts"):
        networks(make_case(), ["share"])


def test_no_edges_is_an_empty_result_not_an_error() -> None:
    result = networks(make_case(share("1", "a", "x", 0)), ["share", "link"])
    assert result.edges.num_rows == 0 and result.edges.column_names == list(EDGE_COLUMNS)


def test_run_leaves_no_temporary_tables() -> None:
    case = make_case(*SIGNAL_ROWS)
    networks(case, ["share", "text", "near_text"], min_weight=1)
    networks(case, ["near_text"], min_weight=1, semantics="cnt")
    tables = case.con.execute("SELECT table_name FROM duckdb_tables() WHERE temporary").fetchall()
    assert tables == []


# --- outputs ---------------------------------------------------------------------------------

HOSTILE = [
    share("=1+1", "=cmd|'/c calc'!A0", "x", 0),
    share("2", "+evil", "x", 10),
    share("3", "@sum(1)", "x", 20),
    share("4", "\tpad", "x", 30),
    share("5", "-2", "x", 40),
    share("6", "<&\"'>\x01", "x", 50),
]


def test_csv_neutralises_formulas_in_every_text_cell(tmp_path: Path) -> None:
    result = networks(make_case(*HOSTILE), ["share"], window=60, min_weight=1)
    edges, evidence = tmp_path / "edges.csv", tmp_path / "evidence.csv"
    result.write(edges, evidence=evidence)
    for path in (edges, evidence):
        with open(path, newline="", encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                for column, value in row.items():
                    if column in ("weight", "events", "min_gap", "median_gap", "gap"):
                        continue
                    assert not value.startswith(("=", "+", "-", "@", "\t", "\r")), (column, value)
    assert neutralise_formula("\rx") == "'\rx" and neutralise_formula("a=b") == "a=b"


def test_write_csv_is_atomic(tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    target.write_text("old")
    # Arrow's CSV writer has no interval cells: the write fails half-way.
    unwritable = pa.table({"x": pa.array([(1, 2, 3)], pa.month_day_nano_interval())})
    with pytest.raises(pa.ArrowException):
        write_csv(unwritable, target)
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]


def test_graphml_gexf_parquet_round_trip(tmp_path: Path) -> None:
    result = networks(make_case(*HOSTILE), ["share"], window=60, min_weight=1)
    result.write(tmp_path / "e.graphml")
    result.write(tmp_path / "e.gexf")
    result.write(tmp_path / "e.parquet", hot_items=tmp_path / "hot.parquet")
    ns = {"g": "http://graphml.graphdrawing.org/xmlns"}
    graphml = ET.parse(tmp_path / "e.graphml").getroot()
    assert len(graphml.findall(".//g:edge", ns)) == result.edges.num_rows
    assert graphml.find(".//g:graph", ns).get("edgedefault") == "undirected"  # type: ignore[union-attr]
    gexf = ET.parse(tmp_path / "e.gexf").getroot()
    assert len(gexf.findall(".//{http://gexf.net/1.3}edge")) == result.edges.num_rows
    table = pq.read_table(tmp_path / "e.parquet")
    assert table.equals(result.edges.replace_schema_metadata(table.schema.metadata))
    assert b"cibscan.networks" in (table.schema.metadata or {})
    assert pq.read_table(tmp_path / "hot.parquet").num_rows == 0


def test_directed_graphml_for_cnt(tmp_path: Path) -> None:
    case = make_case(share("1", "a", "x", 0), share("2", "b", "x", 1))
    result = networks(case, ["share"], semantics="cnt", min_weight=1)
    result.write(tmp_path / "e.graphml")
    root = ET.parse(tmp_path / "e.graphml").getroot()
    graph = root.find(".//{http://graphml.graphdrawing.org/xmlns}graph")
    assert graph is not None and graph.get("edgedefault") == "directed"


def test_unsupported_suffix(tmp_path: Path) -> None:
    result = networks(make_case(share("1", "a", "x", 0)), ["share"])
    with pytest.raises(ConfigError, match=r"must end in \.csv, \.parquet, \.graphml, \.gexf"):
        result.write(tmp_path / "edges.xlsx")


# --- command line ----------------------------------------------------------------------------


def test_cli_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "case.duckdb"
    make_case(share("1", "a", "x", 0), share("2", "b", "x", 5), share("3", "a", "y", 100),
              share("4", "b", "y", 101), path=db).close()  # fmt: skip
    out, evidence, hot = tmp_path / "edges.csv", tmp_path / "evidence.parquet", tmp_path / "h.csv"
    status = main(
        ["networks", "--db", str(db), "--signal", "share", "--window", "60", "--min-weight", "2",
         "--out", str(out), "--evidence", str(evidence), "--hot-items", str(hot)]
    )  # fmt: skip
    assert status == 0
    lines = out.read_text().splitlines()
    assert lines[0] == '"source","target","weight","signal","events","min_gap","median_gap"'
    assert lines[1] == '"a","b",2,"share",2,1,3'
    assert pq.read_table(evidence).num_rows == 2
    assert "share" in capsys.readouterr().out
    status = main(
        ["networks", "--db", str(db), "-s", "share", "--semantics", "cnt", "--window", "60",
         "--out", str(tmp_path / "cnt.csv")]
    )  # fmt: skip
    assert status == 0
    assert len((tmp_path / "cnt.csv").read_text().splitlines()) == 3  # header + both directions


def test_cli_errors_are_user_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "case.duckdb"
    make_case(share("1", "a", "x", 0), path=db).close()
    assert main(["networks", "--db", str(db), "--out", str(tmp_path / "e.txt")]) == 2
    assert "must end in" in capsys.readouterr().err
    assert main(["networks", "--db", str(db), "--window", "soon", "--out", "e.csv"]) == 2
    assert "--window must be a number" in capsys.readouterr().err
    assert main(["networks", "--db", str(tmp_path / "none.duckdb"), "--out", "e.csv"]) == 2
    assert "no case store" in capsys.readouterr().err


def test_cli_help_has_an_example(capsys: pytest.CaptureFixture[str]) -> None:
    main(["networks", "--help"])
    out = capsys.readouterr().out
    assert "cibscan networks --db case.duckdb" in out and "--semantics" in out
