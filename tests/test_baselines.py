"""Baselines: the peers' recipes give partitions, deterministically, with the peers' cuts."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import igraph as ig
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from cibscan import ConfigError, open_case
from cibscan.baselines import (
    BASELINE_NAMES,
    BASELINES,
    BaselineConfig,
    cnt_threshold_edges,
    component_networks,
    coortweet_quantile_edges,
    evaluate_baselines,
    osome_tfidf,
    osome_tfidf_edges,
)
from cibscan.case import Case
from cibscan.cli import main
from cibscan.evaluate import Evaluation
from cibscan.ingest import ingest
from cibscan.networks import networks
from cibscan.synth import SynthConfig, generate, write_scenario
from cibscan.traces import traces

SMALL = SynthConfig(accounts=800, days=4, posts=25_000)


@pytest.fixture(scope="module")
def mixed_case(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("mixed")
    files = write_scenario(generate("mixed", seed=3, config=SMALL), folder)
    db = folder / "case.duckdb"
    ingest([f for f in files if f.suffix in (".parquet", ".csv")], db)
    return db


@pytest.fixture(scope="module")
def case(mixed_case: Path) -> Case:
    return open_case(mixed_case, read_only=True)


def _labels(case: Case) -> dict[str, tuple[str, str | None]]:
    rows = case.con.execute("SELECT account_id, label, role FROM labels").fetchall()
    return {a: (label, role) for a, label, role in rows}


def _shares(rows: list[tuple[str, str, str]]) -> Case:
    """A case of shares: (account, shared item, time)."""
    store = open_case()
    values = ", ".join(
        f"('p{k}', '{account}', TIMESTAMPTZ '{time}', 'share', '{item}')"
        for k, (account, item, time) in enumerate(rows)
    )
    store.con.execute(
        "INSERT INTO posts (post_id, account_id, timestamp, kind, shared_post_id) VALUES " + values
    )
    return store


def _pairs(edges: pa.Table) -> set[tuple[str, str]]:
    return {
        (min(s, t), max(s, t))
        for s, t in zip(edges["source"].to_pylist(), edges["target"].to_pylist(), strict=True)
    }


# --- partitions and determinism ------------------------------------------------------------------


@pytest.mark.parametrize("method", BASELINE_NAMES)
def test_baseline_is_the_partition_into_components(case: Case, method: str) -> None:
    edges_of = {
        "cnt_threshold": cnt_threshold_edges,
        "coortweet_quantile": coortweet_quantile_edges,
        "osome_tfidf": osome_tfidf_edges,
    }[method]
    assignment = BASELINES[method](case, None)
    edges = edges_of(case, None)
    assert edges.num_rows > 0
    # Every account of the case is assigned once; networks are exactly the components.
    accounts = {r[0] for r in case.con.execute("SELECT account_id FROM posts").fetchall()}
    assert accounts <= set(assignment)
    pairs = sorted(_pairs(edges))
    nodes = sorted({a for p in pairs for a in p})
    graph = ig.Graph(n=len(nodes), edges=[(nodes.index(s), nodes.index(t)) for s, t in pairs])
    expected = sorted(sorted(nodes[v] for v in comp) for comp in graph.connected_components())
    members: dict[str, list[str]] = {}
    for account, network in assignment.items():
        if network is not None:
            members.setdefault(network, []).append(account)
    assert sorted(sorted(m) for m in members.values()) == expected
    # Ids B1..Bn by size, then smallest account id.
    ranked = sorted(members.values(), key=lambda m: (-len(m), min(m)))
    assert [assignment[m[0]] for m in ranked] == [f"B{k}" for k in range(1, len(ranked) + 1)]


@pytest.mark.parametrize("method", BASELINE_NAMES)
def test_baseline_is_deterministic(case: Case, mixed_case: Path, method: str) -> None:
    first = BASELINES[method](case, None)
    second = BASELINES[method](mixed_case, None)  # opened afresh from the path
    assert first == second
    assert list(first) == sorted(first)


def test_component_networks_orders_by_size_then_smallest_id() -> None:
    edges = pa.table(
        {
            "source": ["z", "m", "c", "q", "q"],
            "target": ["y", "n", "d", "b", "q"],  # q-q is a self-loop: no network
        }
    )
    assert component_networks(edges, ["k"]) == {
        "b": "B1",
        "c": "B2",
        "d": "B2",
        "k": None,
        "m": "B3",
        "n": "B3",
        "q": "B1",
        "y": "B4",
        "z": "B4",
    }
    assert component_networks(edges.slice(0, 0), ["a"]) == {"a": None}


@given(st.lists(st.tuples(st.sampled_from("abcdefgh"), st.sampled_from("abcdefgh")), max_size=12))
@example([])
def test_component_networks_is_a_partition_into_components(pairs: list[tuple[str, str]]) -> None:
    edges = pa.table(
        {"source": [s for s, _ in pairs], "target": [t for _, t in pairs]},
        schema=pa.schema([("source", pa.string()), ("target", pa.string())]),
    )
    assignment = component_networks(edges, "abcdefgh")
    assert sorted(assignment) == list("abcdefgh")
    graph = ig.Graph(n=8, edges=[("abcdefgh".index(s), "abcdefgh".index(t)) for s, t in pairs])
    for comp in graph.connected_components():
        ids = {assignment["abcdefgh"[v]] for v in comp}
        assert len(ids) == 1  # one component, one network
        assert (None in ids) == (len(comp) == 1)  # alone means in no network
    sizes = [
        sum(1 for n in assignment.values() if n == f"B{k}")
        for k in range(1, len({n for n in assignment.values() if n}) + 1)
    ]
    assert sizes == sorted(sizes, reverse=True)


def test_baselines_on_a_case_without_items() -> None:
    store = open_case()
    store.con.execute(
        "INSERT INTO posts (post_id, account_id, timestamp, kind) "
        "VALUES ('1', 'a', '2024-01-01 00:00:00+00', 'post')"
    )
    for method in BASELINE_NAMES:
        assert BASELINES[method](store, BaselineConfig(osome_min_traces=1)) == {"a": None}


# --- the peers' cuts ----------------------------------------------------------------------------


def test_cnt_threshold_keeps_weight_at_least_the_minimum(case: Case) -> None:
    every = networks(case, ["share", "link"], semantics="cnt", window=1, min_weight=1)
    assert pc.min(every.edges["weight"]).as_py() == 1  # the cut has something to cut
    for minimum in (2, 3):
        kept = cnt_threshold_edges(case, BaselineConfig(cnt_min_weight=minimum))
        assert pc.min(kept["weight"]).as_py() >= minimum
        expected = every.edges.filter(pc.greater_equal(every.edges["weight"], minimum))
        assert sorted(
            zip(
                kept["signal"].to_pylist(),
                kept["source"].to_pylist(),
                kept["target"].to_pylist(),
                strict=True,
            )
        ) == sorted(
            zip(
                expected["signal"].to_pylist(),
                expected["source"].to_pylist(),
                expected["target"].to_pylist(),
                strict=True,
            )
        )
    assert set(kept["signal"].to_pylist()) <= {"share", "link"}


def test_cnt_threshold_uses_the_one_second_window() -> None:
    store = _shares(
        [
            ("a", "x", "2024-05-01 10:00:00+00"),
            ("b", "x", "2024-05-01 10:00:01+00"),  # 1 s: inside the inclusive window
            ("a", "y", "2024-05-01 11:00:00+00"),
            ("b", "y", "2024-05-01 11:00:01+00"),
            ("a", "u", "2024-05-01 12:00:00+00"),
            ("c", "u", "2024-05-01 12:00:02+00"),  # 2 s: outside
            ("a", "v", "2024-05-01 13:00:00+00"),
            ("c", "v", "2024-05-01 13:00:02+00"),
        ]
    )
    assert _pairs(cnt_threshold_edges(store)) == {("a", "b")}
    assert _pairs(cnt_threshold_edges(store, BaselineConfig(cnt_window=2))) == {
        ("a", "b"),
        ("a", "c"),
    }


def test_coortweet_quantile_matches_the_weight_threshold_flags(case: Case) -> None:
    full = networks(
        case,
        ["share"],
        semantics="coortweet",
        window=10,
        min_participation=2,
        hot_item_cap=None,
    ).edges
    flags = full["weight_threshold"].to_pylist()
    assert 0 in flags and 1 in flags
    flagged = full.filter(pc.equal(full["weight_threshold"], 1))
    kept = coortweet_quantile_edges(case)
    assert sorted(
        zip(kept["source"].to_pylist(), kept["target"].to_pylist(), strict=True)
    ) == sorted(zip(flagged["source"].to_pylist(), flagged["target"].to_pylist(), strict=True))
    median = float(np.quantile(full["weight"].to_numpy(), 0.5))
    assert all(w > median for w in kept["weight"].to_pylist())


def _osome_hand_case() -> Case:
    # Two crowds around two hub items (20 and 21 accounts: 190 + 210 = 400 pairs with a
    # positive similarity, so the top 0.5% is 2 edges). Every account also shares an item of
    # its own. Within crowd A, a0-a1 share two more items and a2-a3 one; within B, b0-b1 one.
    rows: list[tuple[str, str, str]] = []
    t = "2024-05-01 10:00:00+00"
    for crowd, size in (("a", 20), ("b", 21)):
        for k in range(size):
            rows += [
                (f"{crowd}{k:02}", f"hub_{crowd}", t),
                (f"{crowd}{k:02}", f"own_{crowd}{k}", t),
            ]
    rows += [("a00", "x1", t), ("a01", "x1", t), ("a00", "x2", t), ("a01", "x2", t)]
    rows += [("a02", "x3", t), ("a03", "x3", t), ("b00", "y1", t), ("b01", "y1", t)]
    return _shares(rows)


def test_osome_keeps_exactly_the_top_half_percent() -> None:
    store = _osome_hand_case()
    cfg = BaselineConfig(osome_min_traces=1)
    edges = osome_tfidf_edges(store, cfg)
    # a0-a1 (two rare items) > a2-a3 (one rare item, the smaller hub weighs more) > b0-b1.
    assert list(zip(edges["source"].to_pylist(), edges["target"].to_pylist(), strict=True)) == [
        ("a00", "a01"),
        ("a02", "a03"),
    ]
    sims = edges["weight"].to_pylist()
    assert 1 > sims[0] > sims[1] > 0
    assignment = osome_tfidf(store, cfg)
    assert {a for a, n in assignment.items() if n} == {"a00", "a01", "a02", "a03"}
    # 1% of 400 pairs is 4 edges; the next two are b0-b1, then the best hub-only pair.
    wider = osome_tfidf_edges(store, BaselineConfig(osome_min_traces=1, osome_top_fraction=0.01))
    assert wider.num_rows == 4
    assert _pairs(wider.slice(0, 3)) == {("a00", "a01"), ("a02", "a03"), ("b00", "b01")}


def test_osome_support_filter() -> None:
    store = _osome_hand_case()
    # Only a00 and a01 have 4 traces: one pair, so one edge.
    edges = osome_tfidf_edges(store, BaselineConfig(osome_min_traces=4))
    assert _pairs(edges) == {("a00", "a01")}
    assert osome_tfidf_edges(store, BaselineConfig(osome_min_traces=5)).num_rows == 0


def test_osome_matches_a_dense_computation(case: Case) -> None:
    cfg = BaselineConfig(osome_block_rows=97)  # several blocks, uneven last one
    counts: dict[tuple[str, str], int] = {}
    for signal in cfg.osome_signals:
        tr = traces(case, signal)
        for account, item in zip(tr["account"].to_pylist(), tr["item"].to_pylist(), strict=True):
            key = (account, f"{signal}:{item}")
            counts[key] = counts.get(key, 0) + 1
    support: dict[str, int] = {}
    for (account, _), n in counts.items():
        support[account] = support.get(account, 0) + n
    accounts = sorted(a for a, n in support.items() if n >= cfg.osome_min_traces)
    row = {a: k for k, a in enumerate(accounts)}
    features = sorted({f for (a, f) in counts if a in row})
    col = {f: k for k, f in enumerate(features)}
    dense = np.zeros((len(accounts), len(features)))
    for (account, feature), n in counts.items():
        if account in row:
            dense[row[account], col[feature]] = 1 + math.log(n)
    df = (dense > 0).sum(axis=0)
    dense *= np.log((1 + len(accounts)) / (1 + df)) + 1
    dense /= np.linalg.norm(dense, axis=1, keepdims=True)
    sims = dense @ dense.T
    upper = sims[np.triu_indices(len(accounts), k=1)]
    positive = upper[upper > 1e-12]
    k = math.ceil(0.005 * len(positive))
    cut = np.sort(positive)[::-1][k - 1]

    edges = osome_tfidf_edges(case, cfg)
    assert edges.num_rows == k
    kept = _pairs(edges)
    for (s, t), w in zip(
        zip(edges["source"].to_pylist(), edges["target"].to_pylist(), strict=True),
        edges["weight"].to_pylist(),
        strict=True,
    ):
        assert w == pytest.approx(sims[row[s], row[t]], abs=1e-9)
        assert w >= cut - 1e-9
    above = np.argwhere(np.triu(sims, k=1) > cut + 1e-9)
    assert {(accounts[i], accounts[j]) for i, j in above} <= kept


# --- evaluation and the command line -------------------------------------------------------------


def test_evaluate_baselines(case: Case) -> None:
    scores = evaluate_baselines(case, _labels(case), methods=["coortweet_quantile"])
    assert list(scores) == ["coortweet_quantile"]
    assert isinstance(scores["coortweet_quantile"], Evaluation)
    assert scores["coortweet_quantile"].recall_by_operation["botnet"] > 0.5
    with pytest.raises(ConfigError, match="unknown baseline\\(s\\) 'louvain'; choose from"):
        evaluate_baselines(case, {}, methods=["louvain"])


def test_bad_baseline_config() -> None:
    with pytest.raises(ConfigError, match="cnt_signals: unknown or unsupported signal 'rt'"):
        BaselineConfig(cnt_signals=("rt",))
    with pytest.raises(ConfigError, match="osome_top_fraction must be in \\(0, 1\\], got 0"):
        BaselineConfig(osome_top_fraction=0)
    with pytest.raises(ConfigError, match="cnt_min_weight must be an integer >= 1, got 0"):
        BaselineConfig(cnt_min_weight=0)
    assert BaselineConfig(osome_signals="share, link").osome_signals == ("share", "link")  # type: ignore[arg-type]


def test_cli_evaluate_baselines(
    case: Case, mixed_case: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    labels = tmp_path / "labels.csv"
    truth = _labels(case)
    with open(labels, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["account_id", "label", "role"])
        writer.writerows((a, label, role or "") for a, (label, role) in truth.items())
    out = tmp_path / "out"
    out.mkdir()
    # A stand-in detection: every botnet account in one network.
    with open(out / "accounts.csv", "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["account_id", "network_id"])
        writer.writerows((a, "N1" if label == "botnet" else "") for a, (label, _) in truth.items())
    args = ["evaluate", "--out", str(out), "--labels", str(labels)]
    assert main([*args, "--baselines", "--db", str(mixed_case)]) == 0
    printed = capsys.readouterr().out
    assert "Methods compared" in printed and "Recall per operation" in printed
    for method in ("cibscan", *BASELINE_NAMES):
        assert sum(1 for line in printed.splitlines() if f" {method} " in line) == 1
    assert (out / "evaluation.json").exists() and (out / "baselines.json").exists()

    assert main(["evaluate", "--labels", str(labels), "--baselines", "--db", str(mixed_case)]) == 0
    printed = capsys.readouterr().out
    assert "cibscan" not in printed and all(m in printed for m in BASELINE_NAMES)

    assert main([*args, "--baselines"]) == 2
    assert "--baselines runs on a case store; give --db CASE" in capsys.readouterr().err
    assert main(["evaluate", "--labels", str(labels)]) == 2
    assert main(args) == 0  # unchanged without --baselines
    assert "Methods compared" not in capsys.readouterr().out
