"""The Spark engine gives the DuckDB engine's answer: edges, evidence, hot items, p-values.

Spark local mode (``local[2]``) on a hand-countable case and a small synthetic one, for every
signal and every semantics.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from cibscan.case import Case, open_case
from cibscan.cli import main
from cibscan.detect import DetectConfig, detect
from cibscan.errors import ConfigError
from cibscan.networks import NetworkConfig, NetworkResult, networks
from cibscan.spark import spark_detect_edges, write_spark_outputs
from cibscan.synth import SynthConfig, generate
from cibscan.traces import SIGNALS

pytestmark = [pytest.mark.spark, pytest.mark.slow]

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


def make_case(rows: list[dict[str, Any]]) -> Case:
    """A case whose posts are ``rows``; ``seconds`` counts from 2024-01-01 UTC."""
    case = open_case()
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


def _post(post: str, account: str, seconds: float, **fields: Any) -> dict[str, Any]:
    return {"post_id": post, "account_id": account, "seconds": seconds, **fields}


TEXT = "Vote for the party today, friends and family!"
HAND = [
    # share: a-b on o1 at a gap equal to the window (60 s), and on o2 at the same instant;
    # a repeats itself on o1; c is 140 s after b (outside).
    _post("s1", "a", 0, kind="share", shared_post_id="o1"),
    _post("s2", "b", 60, kind="share", shared_post_id="o1"),
    _post("s3", "a", 30, kind="share", shared_post_id="o1"),
    _post("s4", "c", 200, kind="share", shared_post_id="o1"),
    _post("s5", "a", 1000, kind="share", shared_post_id="o2"),
    _post("s6", "b", 1000, kind="share", shared_post_id="o2"),
    # link and domain; an empty URL and a null inside a list are not items.
    _post("l1", "a", 2000, urls=["https://ex.org/x", ""], urls_original=["http://ex.org/x?u=1"]),
    _post("l2", "b", 2010, urls=["https://ex.org/x", None], urls_original=["http://ex.org/x?u=1"]),
    _post("l3", "c", 2020, urls=["https://www.ex.org/y"], urls_original=["https://www.ex.org/y"]),
    _post("l4", "d", 2030, urls=[""], urls_original=[""]),
    # reply, mention, hashtag, hashtag_seq
    _post("r1", "a", 3000, kind="reply", reply_to_post_id="t1", mentions=["x", "y"]),
    _post("r2", "c", 3059, kind="reply", reply_to_post_id="t1", mentions=["x"]),
    _post("h1", "a", 4000, hashtags=["one", "two"]),
    _post("h2", "b", 4005, hashtags=["one", "two"]),
    _post("h3", "c", 4010, hashtags=["one"]),
    _post("h4", "d", 4010, hashtags=["one", "", "two"]),
    # text and near_text: two exact copies, one near copy, one too short
    _post("x1", "a", 5000, text=TEXT),
    _post("x2", "b", 5020, text=TEXT.upper() + " https://t.co/abc"),
    _post("x3", "c", 5030, text=TEXT + "!!"),
    _post("x4", "d", 5031, text="ok!"),
    # media: a gap of 61 s is outside the window
    _post("m1", "a", 6000, media=["img1"]),
    _post("m2", "b", 6061, media=["img1"]),
    _post("m3", "c", 6100, media=["img1"]),
    # a repost carries only share and co_post traces, whatever it repeats
    _post("s7", "d", 6101, kind="share", shared_post_id="o3", media=["img1"], hashtags=["one"]),
    # rows without an account or a post id carry no trace
    _post("z1", None, 6102, media=["img1"]),  # type: ignore[arg-type]
]


def edges_of(result: NetworkResult) -> dict[tuple[str, str, str], dict[str, Any]]:
    return {(r["signal"], r["source"], r["target"]): r for r in result.edges.to_pylist()}


def assert_same(duck: NetworkResult, spark: NetworkResult) -> None:
    """Every column of every table equal, in the same order; the same windows and counts."""
    assert spark.edges.schema == duck.edges.schema
    assert spark.edges.to_pylist() == duck.edges.to_pylist()
    assert spark.evidence.schema == duck.evidence.schema
    assert spark.evidence.to_pylist() == duck.evidence.to_pylist()
    assert spark.hot_items.to_pylist() == duck.hot_items.to_pylist()
    assert spark.windows == duck.windows
    for signal, stats in duck.stats.items():
        for key in ("traces", "accounts", "items", "hot_items", "edges"):
            assert spark.stats[signal][key] == stats[key], (signal, key)
        # The pairs that co-acted at all (the significance stage's family): both or neither.
        assert spark.stats[signal].get("co_acting_pairs") == stats.get("co_acting_pairs"), signal


def test_hand_case_every_signal(spark: Any) -> None:
    case = make_case(HAND)
    cfg = NetworkConfig(
        signals=SIGNALS, window=60, min_weight=1, evidence_limit=None, near_text_threshold=0.5
    )
    duck = networks(case, config=cfg)
    result = networks(case, config=cfg, engine="spark")
    assert_same(duck, result)
    assert result.stats["share"]["co_acting_pairs"] >= result.stats["share"]["edges"] > 0
    got = edges_of(result)
    # o1: a-b at 30 s and 60 s (a's two posts), o2 at 0 s: two items, three post pairs.
    ab = got[("share", "a", "b")]
    assert (ab["weight"], ab["events"], ab["min_gap"], ab["median_gap"]) == (2, 3, 0.0, 15.0)
    assert ("share", "b", "c") not in got
    assert got[("link", "a", "b")]["weight"] == 1
    assert got[("domain", "a", "c")]["weight"] == 1  # www. dropped
    assert ("link", "a", "d") not in got
    assert got[("reply", "a", "c")]["min_gap"] == 59.0
    assert got[("hashtag_seq", "a", "b")]["weight"] == 1
    assert got[("hashtag_seq", "a", "d")]["weight"] == 1  # the empty tag is no tag
    assert ("hashtag_seq", "a", "c") not in got
    assert ("text", "a", "b") in got and ("text", "a", "c") not in got
    assert ("near_text", "a", "c") in got
    assert ("media", "a", "b") not in got and ("media", "b", "c") in got
    assert {s for s, _, _ in got} == set(SIGNALS)


def test_hand_case_cnt_and_hot_items(spark: Any) -> None:
    case = make_case(HAND)
    cnt = NetworkConfig(
        signals=("share", "link", "reply", "text", "hashtag", "media", "co_post"),
        semantics="cnt",
        window=60,
        min_weight=1,
    )
    duck = networks(case, config=cnt)
    result = networks(case, config=cnt, engine="spark")
    assert_same(duck, result)
    got = edges_of(result)
    # Directed: a's two o1 posts each have b within 60 s; b's one post has a.
    assert got[("share", "a", "b")]["weight"] == 3 - 0  # s1, s3 on o1 and s5 on o2
    assert got[("share", "b", "a")]["weight"] == 2  # s2 and s6
    hot = NetworkConfig(signals=("share", "hashtag", "co_post"), window=60, hot_item_cap=2)
    duck_hot = networks(case, config=hot)
    spark_hot = networks(case, config=hot, engine="spark")
    assert_same(duck_hot, spark_hot)
    assert {(r["signal"], r["item"]) for r in spark_hot.hot_items.to_pylist()} >= {
        ("share", "o1"),
        ("hashtag", "one"),
    }


@pytest.fixture(scope="module")
def synth_case() -> Case:
    scenario = generate("mixed", seed=3, config=SynthConfig(accounts=200, posts=3000, days=2))
    case = open_case()
    for name, table in scenario.tables().items():
        case.con.register("_t", table)
        case.con.execute(f"INSERT INTO {name} BY NAME SELECT * FROM _t")
        case.con.unregister("_t")
    return case


def test_synth_default_every_signal(spark: Any, synth_case: Case) -> None:
    cfg = NetworkConfig(signals=SIGNALS, window=120, min_weight=2, hot_item_cap=30)
    duck = networks(synth_case, config=cfg)
    result = networks(synth_case, config=cfg, engine="spark")
    assert_same(duck, result)
    assert result.edges.num_rows > 100 and result.hot_items.num_rows > 0
    assert set(result.edges.column("signal").to_pylist()) >= {"share", "text", "near_text"}


def test_synth_cnt_and_coortweet(spark: Any, synth_case: Case) -> None:
    cnt = NetworkConfig(
        signals=("share", "link", "reply", "text", "co_post"), semantics="cnt", window=10
    )
    duck = networks(synth_case, config=cnt)
    result = networks(synth_case, config=cnt, engine="spark")
    assert_same(duck, result)
    assert result.edges.num_rows > 0
    coort = NetworkConfig(signals=("share", "link"), semantics="coortweet", hot_item_cap=30)
    duck = networks(synth_case, config=coort)
    result = networks(synth_case, config=coort, engine="spark")
    assert_same(duck, result)
    assert result.edges.num_rows > 0


def test_detect_stage_pvalues_and_fused(spark: Any, synth_case: Case) -> None:
    cfg = DetectConfig(hot_item_cap=30)
    duck = detect(synth_case, cfg)
    # detect with its networks and significance stages on Spark (spark_detect_edges).
    got = detect(synth_case, replace(cfg, engine="spark"))
    assert got.assignment() == duck.assignment()
    assert [n["accounts"] for n in got.networks] == [n["accounts"] for n in duck.networks]
    assert any(duck.assignment().values())
    assert got.edges.schema.names == duck.edges.schema.names
    exact = ["source", "target", "weight", "signal", "events", "min_gap", "median_gap"]
    assert got.edges.select(exact).equals(duck.edges.select(exact))
    # Sums of floats over partitions add in another order: equal to the last few bits.
    for column in ("expected", "p_value", "q_value"):
        np.testing.assert_allclose(
            got.edges.column(column).to_numpy(), duck.edges.column(column).to_numpy(), rtol=1e-9
        )
    assert (got.edges.column("p_value").to_numpy() < 0.01).sum() > 0
    assert got.fused.select(["source", "target", "signals", "n_signals", "weight"]).equals(
        duck.fused.select(["source", "target", "signals", "n_signals", "weight"])
    )
    np.testing.assert_allclose(
        got.fused.column("q_value").to_numpy(), duck.fused.column("q_value").to_numpy(), rtol=1e-9
    )
    for signal, null in duck.nulls.items():
        assert got.nulls[signal].incidences == null.incidences
        assert got.nulls[signal].pair_mass == pytest.approx(null.pair_mass, rel=1e-12)
    assert got.evidence.equals(duck.evidence)
    assert got.hot_items.equals(duck.hot_items)


def test_case_store_posts_are_staged_where_asked(spark: Any, tmp_path: Path) -> None:
    case = make_case(HAND)
    db = tmp_path / "case.duckdb"
    case.con.execute(f"ATTACH '{db}' AS disk; COPY FROM DATABASE memory TO disk; DETACH disk")
    staging = tmp_path / "staging"
    staging.mkdir()
    duck = networks(case, ["share"], window=60)
    staged = networks(case, ["share"], window=60, engine="spark", spark_staging=str(staging))
    assert_same(duck, staged)
    assert [p.suffix for p in staging.iterdir()] == [".parquet"]  # the posts, for the executors
    out = tmp_path / "edges.parquet"
    code = main(
        ["networks", "--db", str(db), "--engine", "spark", "-s", "share", "--window", "60",
         "--spark-staging", str(staging), "--out", str(out)]
    )  # fmt: skip
    assert code == 0 and len(list(staging.iterdir())) == 2
    assert pq.read_table(out).to_pylist() == duck.edges.to_pylist()


def test_a_temporary_export_is_removed_when_the_run_ends(
    spark: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Each run on a case store used to leave its posts in /tmp/cibscan-spark-*: a copy of the
    # whole case per run, never removed.
    import tempfile

    temp = tmp_path / "temp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    case = make_case(HAND)
    duck = networks(case, ["share"], window=60)
    assert_same(duck, networks(case, ["share"], window=60, engine="spark"))
    assert spark_detect_edges(case, ["share"], window=60).network.edges.num_rows > 0
    assert list(temp.iterdir()) == []
    empty = open_case()
    with pytest.raises(Exception, match="no rows"):
        networks(empty, ["share"], window=60, engine="spark")
    assert list(temp.iterdir()) == []  # also when the run fails


def test_parquet_input_and_cli(spark: Any, synth_case: Case, tmp_path: Path) -> None:
    posts = tmp_path / "posts.parquet"
    synth_case.con.execute(f"COPY posts TO '{posts}' (FORMAT PARQUET)")
    duck = networks(synth_case, ["share", "link"], window=60)
    from_parquet = networks(str(posts), ["share", "link"], window=60, engine="spark")
    assert_same(duck, from_parquet)
    # Written by Spark as a Parquet dataset (the path could be any URI Spark writes).
    write_spark_outputs(from_parquet, str(tmp_path / "edges-dataset"), spark=spark)
    assert pq.read_table(tmp_path / "edges-dataset").to_pylist() == duck.edges.to_pylist()
    out = tmp_path / "edges.parquet"
    code = main(
        ["networks", "--posts", str(posts), "--engine", "spark", "-s", "share,link",
         "--window", "60", "--spark-conf", "spark.sql.shuffle.partitions=2", "--out", str(out)]
    )  # fmt: skip
    assert code == 0
    assert pq.read_table(out).to_pylist() == duck.edges.to_pylist()
    bad = ["networks", "--posts", str(posts), "--out", str(tmp_path / "e.csv")]
    assert main(bad) == 2  # --posts needs --engine spark
    assert main([*bad, "--engine", "spark", "--spark-conf", "novalue"]) == 2


def test_unsupported_options_say_so(spark: Any) -> None:
    case = make_case(HAND)
    with pytest.raises(ConfigError, match="near_text under semantics 'cnt'"):
        networks(case, ["near_text"], semantics="cnt", window=60, engine="spark")
    with pytest.raises(ConfigError, match="window 'auto'"):
        networks(case, ["share"], window="auto", engine="spark")
