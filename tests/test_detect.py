"""Detection end to end: partition, determinism, the CLI from synth to evaluate."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cibscan import ConfigError, open_case
from cibscan.clusters import ClusterConfig, cluster_accounts, communities
from cibscan.detect import DetectConfig, detect
from cibscan.evaluate import evaluate_assignment
from cibscan.ingest import ingest
from cibscan.synth import SynthConfig, generate, write_scenario

SMALL = SynthConfig(accounts=800, days=4, posts=25_000)


@pytest.fixture(scope="module")
def botnet_case(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("botnet")
    files = write_scenario(generate("botnet", seed=5, config=SMALL), folder)
    db = folder / "case.duckdb"
    ingest([f for f in files if f.suffix in (".parquet", ".csv")], db)
    return db


@settings(max_examples=30, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 30), st.integers(0, 30), st.floats(0.5, 20.0)),
        min_size=1,
        max_size=120,
    ),
    st.sampled_from([0.5, 1.0, 4.0]),
)
def test_communities_match_cluster_accounts(
    rows: list[tuple[int, int, float]], resolution: float
) -> None:
    # the group test's fast path must find the networks cluster_accounts finds, in its order
    pairs = {}
    for a, b, w in rows:
        if a != b:
            pairs[(f"u{min(a, b):02d}", f"u{max(a, b):02d}")] = w
    if not pairs:
        return
    keys = sorted(pairs)
    fused = pa.table(
        {
            "source": [k[0] for k in keys],
            "target": [k[1] for k in keys],
            "signals": ["share"] * len(keys),
            "n_signals": [1] * len(keys),
            "weight": [1] * len(keys),
            "p_value": [0.0] * len(keys),
            "q_value": [0.0] * len(keys),
            "surprise": [pairs[k] for k in keys],
        }
    )
    cfg = ClusterConfig(resolution=resolution, iterations=2)
    expected = [n["accounts"] for n in cluster_accounts(fused, cfg).networks]
    assert communities(fused, cfg) == expected


def test_leiden_output_is_a_partition() -> None:
    # two triangles joined by one edge, and a far pair
    pairs = [
        ("a", "b"),
        ("a", "c"),
        ("b", "c"),
        ("d", "e"),
        ("d", "f"),
        ("e", "f"),
        ("c", "d"),
        ("x", "y"),
    ]
    fused = pa.table(
        {
            "source": [p[0] for p in pairs],
            "target": [p[1] for p in pairs],
            "signals": ["share"] * len(pairs),
            "n_signals": [1] * len(pairs),
            "weight": [3] * len(pairs),
            "p_value": [1e-8] * len(pairs),
            "q_value": [1e-8] * len(pairs),
            "surprise": [8.0] * len(pairs),
        }
    )
    result = cluster_accounts(fused)
    members = [a for n in result.networks for a in n["accounts"]]
    assert len(members) == len(set(members))  # nobody in two networks
    assert sorted(sorted(n["accounts"]) for n in result.networks) == [
        ["a", "b", "c"],
        ["d", "e", "f"],
    ]  # the pair is below min_size
    by_account = dict(
        zip(
            result.accounts["account_id"].to_pylist(),
            result.accounts["network_id"].to_pylist(),
            strict=True,
        )
    )
    assert by_account["x"] is None
    assert [n["rank"] for n in result.networks] == [1, 2]


def test_detect_is_deterministic_and_finds_the_ring(botnet_case: Path) -> None:
    case = open_case(botnet_case, read_only=True)
    first = detect(case, DetectConfig(window=60))
    second = detect(case, DetectConfig(window=60))
    assert first.accounts.equals(second.accounts)
    assert first.networks == second.networks
    labels = {
        a: (lab, r)
        for a, lab, r in case.con.execute("SELECT account_id, label, role FROM labels").fetchall()
    }
    ev = evaluate_assignment(first.assignment(), labels)
    assert ev.recall_by_operation["botnet"] >= 0.9
    assert ev.flagged_by_role.get("viral_sharer", (0, 0))[0] == 0


def test_bad_detect_config() -> None:
    with pytest.raises(ConfigError, match="unknown signal 'retweets'"):
        DetectConfig(signals=("retweets",))
    with pytest.raises(ConfigError, match="alpha must be in"):
        DetectConfig(alpha=2)


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cibscan", *args], capture_output=True, text=True, check=False
    )


def test_cli_synth_ingest_detect_evaluate(tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert (
        run(
            "synth",
            "--scenario",
            "botnet",
            "--seed",
            "5",
            "--out",
            str(data),
            "--accounts",
            "800",
            "--days",
            "4",
            "--posts",
            "25000",
        ).returncode
        == 0
    )
    db = tmp_path / "case.duckdb"
    proc = run("ingest", str(data / "posts.parquet"), str(data / "accounts.csv"), "--db", str(db))
    assert proc.returncode == 0, proc.stderr
    out = tmp_path / "out"
    proc = run("detect", "--db", str(db), "--out", str(out), "--window", "60")
    assert proc.returncode == 0, proc.stderr
    networks = json.loads((out / "networks.json").read_text())
    assert networks["networks"] and networks["config"]["window"] == 60
    assert {"id", "accounts", "score", "rank", "estimated_fdr"} <= set(networks["networks"][0])
    header = (out / "accounts.csv").read_text().splitlines()[0]
    assert header.startswith('"account_id","network_id","score"') and "top_signals" in header
    edges = pa.parquet.read_table(out / "edges.parquet")
    assert {"source", "target", "signal", "weight", "p_value", "q_value"} <= set(edges.column_names)
    proc = run("evaluate", "--out", str(out), "--labels", str(data / "labels.csv"))
    assert proc.returncode == 0, proc.stderr
    evaluation = json.loads((out / "evaluation.json").read_text())
    assert evaluation["recall_by_operation"]["botnet"] >= 0.9
    assert "Recall per operation" in proc.stdout


def test_agreement_scores_penalise_missing_everything() -> None:
    labels = {f"op{i}": ("op", "amplifier") for i in range(10)}
    labels |= {f"org{i}": ("organic", "news_bot") for i in range(3)}
    missed = evaluate_assignment({"org0": "N1", "org1": "N1", "org2": "N1"}, labels)
    assert missed.recall == 0 and missed.adjusted_rand is not None
    assert missed.adjusted_rand <= 0.05
    perfect = evaluate_assignment({f"op{i}": "N1" for i in range(10)}, labels)
    assert perfect.adjusted_rand == 1.0 and perfect.nmi == 1.0


def _weak_tie_traces(planted: bool, seed: int = 3) -> pa.Table:
    """Organic shares at random times over two weeks, plus (optionally) a planted group of 12
    accounts whose members each join a few of its 40 items within minutes of each other: its
    pairs co-act about once each, so no pair passes the edge test on its own."""
    import datetime as dt

    import numpy as np

    rng = np.random.default_rng(seed)
    t0 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    rows: list[tuple[str, str, dt.datetime]] = []
    for _ in range(4000):  # organic: 300 accounts, 1500 items, random times
        account, item = f"o{rng.integers(300)}", f"i{rng.integers(1500)}"
        rows.append((account, item, t0 + dt.timedelta(seconds=int(rng.integers(14 * 86400)))))
    if planted:
        for j in range(40):
            start = t0 + dt.timedelta(seconds=int(rng.integers(14 * 86400)))
            for m in rng.choice(12, size=3, replace=False):
                rows.append(
                    (f"p{m}", f"g{j}", start + dt.timedelta(seconds=int(rng.integers(300))))
                )
    return pa.table(
        {
            "account": [r[0] for r in rows],
            "item": [r[1] for r in rows],
            "post": [str(k) for k in range(len(rows))],
            "time": pa.array([r[2] for r in rows], pa.timestamp("us", tz="UTC")),
        }
    )


def test_group_test_finds_a_planted_group_of_weak_ties() -> None:
    from cibscan.detect import group_test

    hot = pa.table({"signal": pa.array([], pa.string()), "item": pa.array([], pa.string())})
    planted = {f"p{m}" for m in range(12)}
    # Leiden may split a group this loose in two; together they hold it, and nobody else. A
    # half holds about half of the group's 40 events, so one draw may show fewer members:
    # over six draws the test finds at least four in five, and no organic account.
    found_planted = 0
    for seed in range(3, 9):
        groups = group_test({"share": _weak_tie_traces(True, seed)}, hot, set(), DetectConfig())
        assert groups, f"the planted group is not found (seed {seed})"
        found = {a for g in groups for a in g["accounts"]}
        assert found <= planted, f"organic accounts in the groups (seed {seed})"
        assert all(g["estimated_fdr"] <= 0.05 for g in groups)
        found_planted += len(found)
    assert found_planted >= 0.8 * 6 * len(planted)
    traces = _weak_tie_traces(planted=True)
    # already-covered accounts are not proposed again
    again = group_test({"share": traces}, hot, planted, DetectConfig())
    assert all(not set(g["accounts"]) & planted for g in again)


def test_group_test_budget_keeps_the_pairs_with_evidence_on_several_signals(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import cibscan.detect as detect_module

    proposing: list[int] = []
    communities_of = detect_module.communities

    def counted(fused: pa.Table, cfg: ClusterConfig) -> list[list[str]]:
        proposing.append(fused.num_rows)
        return communities_of(fused, cfg)

    monkeypatch.setattr(detect_module, "communities", counted)
    hot = pa.table({"signal": pa.array([], pa.string()), "item": pa.array([], pa.string())})
    # the same planted accounts co-act on two signals
    traces = {"share": _weak_tie_traces(True, seed=3), "link": _weak_tie_traces(True, seed=8)}
    free = detect_module.group_test(traces, hot, set(), DetectConfig())
    assert min(proposing) > 40
    proposing.clear()
    tight = detect_module.group_test(traces, hot, set(), DetectConfig(max_proposal_pairs=40))
    assert proposing and max(proposing) == 40  # the budget binds
    planted = {f"p{m}" for m in range(12)}
    for groups in (free, tight):
        found = {a for g in groups for a in g["accounts"]}
        assert len(found & planted) >= 9 and len(found - planted) <= 1


def test_group_test_finds_nothing_in_organic_noise() -> None:
    from cibscan.detect import group_test

    hot = pa.table({"signal": pa.array([], pa.string()), "item": pa.array([], pa.string())})
    for seed in (3, 4):
        traces = _weak_tie_traces(planted=False, seed=seed)
        assert group_test({"share": traces}, hot, set(), DetectConfig()) == []


def _share_button_traces(seed: int) -> dict[str, pa.Table]:
    """A crowd sharing 30 articles through a share button: every post carries the article's
    link *and* its headline text, at times that do not depend on who posts (an exponential
    delay after publication). No two accounts are tied; each post shows on two signals."""
    import datetime as dt

    import numpy as np

    rng = np.random.default_rng(seed)
    t0 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    accounts: list[str] = []
    articles: list[int] = []
    times: list[dt.datetime] = []
    for k in range(30):
        start = int(rng.integers(13 * 86400))
        for a in rng.choice(1000, size=int(rng.integers(60, 200)), replace=False):
            accounts.append(f"a{a}")
            articles.append(k)
            delay = float(rng.exponential(3 * 3600))
            times.append(t0 + dt.timedelta(seconds=start + delay))
    time = pa.array(times, pa.timestamp("us", tz="UTC"))
    post = pa.array([str(i) for i in range(len(accounts))])
    return {
        signal: pa.table(
            {
                "account": accounts,
                "item": [f"{signal}{k}" for k in articles],
                "post": post,
                "time": time,
            }
        )
        for signal in ("link", "text")
    }


def test_group_test_does_not_test_a_group_on_the_posts_that_proposed_it() -> None:
    # Split by item, a post's link and its text fell in different halves: groups proposed on
    # the links' chance co-actions were "confirmed" on the same posts' text (30-40 groups of
    # up to 77 accounts per draw). Split by time, both signals of a post are in one half.
    from cibscan.detect import group_test

    hot = pa.table({"signal": pa.array([], pa.string()), "item": pa.array([], pa.string())})
    for seed in (1, 2):
        assert group_test(_share_button_traces(seed), hot, set(), DetectConfig()) == []


def test_group_test_halves_are_blocks_of_time_shared_by_all_signals() -> None:
    import datetime as dt

    from cibscan.detect import _time_halves, split_block_us

    block = split_block_us(600_000_000)
    assert block == 3_600_000_000 and split_block_us(7_200_000_000) == 43_200_000_000
    t0 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    times = [t0 + dt.timedelta(minutes=7 * k) for k in range(200)]
    tr = pa.table(
        {
            "account": [f"a{k % 9}" for k in range(200)],
            "item": [f"i{k % 13}" for k in range(200)],
            "time": pa.array(times, pa.timestamp("us", tz="UTC")),
        }
    )
    hot = pa.table({"item": pa.array(["i0"], pa.string())})
    halves = _time_halves(tr, hot, block)
    hours = [{t.replace(minute=0) for t in h.column("time").to_pylist()} for h in halves]
    assert hours[0] and hours[1] and not hours[0] & hours[1]  # whole hours, in one half each
    assert sum(h.num_rows for h in halves) == 200 - len([k for k in range(200) if k % 13 == 0])
    assert all("i0" not in h.column("item").to_pylist() for h in halves)
    # another signal's traces at the same times fall in the same halves
    other = _time_halves(tr.set_column(1, "item", pa.array(["x"] * 200)), hot, block)
    assert [h.num_rows for h in other] == [
        sum(1 for t in times if t.replace(minute=0) in hours[h]) for h in (0, 1)
    ]


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from("abcd"), st.sampled_from("xyz"), st.integers(0, 300)),
        max_size=40,
    ),
    st.integers(0, 120),
)
def test_group_test_pairs_count_items_within_the_window(
    acts: list[tuple[str, str, int]], window: int
) -> None:
    import datetime as dt

    from cibscan.detect import _half_pairs

    t0 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    tr = pa.table(
        {
            "account": pa.array([a for a, _, _ in acts], pa.string()),
            "item": pa.array([i for _, i, _ in acts], pa.string()),
            "time": pa.array(
                [t0 + dt.timedelta(seconds=s) for _, _, s in acts], pa.timestamp("us", tz="UTC")
            ),
        }
    )
    got = {
        (s, t): w
        for s, t, w in zip(
            *(
                _half_pairs(tr, window * 1_000_000).column(c).to_pylist()
                for c in ("source", "target", "weight")
            ),
            strict=True,
        )
    }
    expected: dict[tuple[str, str], set[str]] = {}
    for a, i, s in acts:
        for b, j, u in acts:
            if a < b and i == j and abs(s - u) <= window:
                expected.setdefault((a, b), set()).add(i)
    assert got == {k: len(v) for k, v in expected.items()}


def test_agreement_scores_are_none_when_one_operation_is_all_there_is_to_split() -> None:
    # one operation split into two networks, nothing organic flagged: ARI is 0 for any split
    labels = {f"op{i}": ("op", "amplifier") for i in range(10)}
    labels |= {f"org{i}": ("organic", "ordinary") for i in range(5)}
    split = evaluate_assignment({f"op{i}": "N1" if i < 6 else "N2" for i in range(10)}, labels)
    assert split.precision == 1.0 and split.recall == 1.0
    assert split.adjusted_rand is None and split.nmi is None
    # once an organic account is flagged there are two groups to tell apart
    mixed = evaluate_assignment({**{f"op{i}": "N1" for i in range(10)}, "org0": "N1"}, labels)
    assert mixed.adjusted_rand is not None and mixed.adjusted_rand < 1.0


def test_binary_labels_read_zero_and_false_as_organic() -> None:
    labels = {"a": ("1", None), "b": ("0", None), "c": ("False", None), "d": (" no ", None)}
    ev = evaluate_assignment({"a": "N1", "b": "N1"}, labels)
    assert (ev.true_positives, ev.false_positives, ev.false_negatives) == (1, 1, 0)
    assert ev.recall_by_operation == {"1": 1.0}


def test_an_attributed_case_is_read_for_its_structure(tmp_path: Path) -> None:
    """A takedown archive holds the operation and nothing else: the null, learnt from the case,
    makes its co-action look expected. Read as attributed, its structure is reported."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from cibscan.detect import attributed_case

    scenario = generate("office", seed=3, config=SMALL)
    files = write_scenario(scenario, tmp_path / "data")
    labels = scenario.labels.to_pylist()
    operation = {r["account_id"] for r in labels if r["label"] != "organic"}
    posts = pq.read_table(next(f for f in files if f.name == "posts.parquet"))
    keep = pc.is_in(posts["account_id"], value_set=pa.array(sorted(operation)))
    pq.write_table(posts.filter(keep), tmp_path / "posts.parquet")
    db = tmp_path / "case.duckdb"
    ingest([tmp_path / "posts.parquet"], db)
    with open_case(db, create=False, read_only=True) as case:
        assert not attributed_case(case.con)  # a generic file: could hold anything
        tested = detect(case, DetectConfig(attributed="auto"))
        read = detect(case, DetectConfig(attributed="yes"))
    assert not tested.attributed and read.attributed
    # the same posts with their organic background, tested: what the operation's structure
    # should be measured against
    full = tmp_path / "full.duckdb"
    ingest([next(f for f in files if f.name == "posts.parquet")], full)
    with open_case(full, create=False, read_only=True) as case:
        background = detect(case, DetectConfig())
    posting = set(pc.unique(posts.filter(keep)["account_id"]).to_pylist())
    found_background = {a for n in background.networks for a in n["accounts"]} & posting
    found_tested = {a for n in tested.networks for a in n["accounts"]} & posting
    found = {a for n in read.networks for a in n["accounts"]}
    assert len(found_background) >= 0.8 * len(posting)  # 252 of 286
    assert len(found & posting) >= len(found_background) > 2 * len(found_tested)
    assert found <= operation
    # the amplifiers, one pool that acts alike, are one network: a chance split of theirs does
    # not hold on held-out posts
    amplifiers = {r["account_id"] for r in labels if r.get("role") == "amplifier"} & posting
    holding = [n for n in read.networks if set(n["accounts"]) & amplifiers]
    assert len(holding) == 1 and len(amplifiers & set(holding[0]["accounts"])) >= 0.9 * len(
        amplifiers
    )
    for n in read.networks:
        if "split_test" in n:
            assert n["split_test"]["component_size"] >= n["size"]
            assert n["split_test"]["split"] == (n["split_test"]["p_value"] <= 0.05)
    # the edges and their tests are the same either way; only the grouping differs
    assert read.edges.to_pylist() == tested.edges.to_pylist()
    # a case made of takedown archives only is attributed by default
    with open_case(db) as case:
        case.con.execute("UPDATE sources SET format = 'io-archive' WHERE table_name = 'posts'")
        assert attributed_case(case.con)
        case.con.execute(
            "INSERT INTO sources (path, format, table_name) VALUES ('crowd.csv', 'csv', 'posts')"
        )
        assert not attributed_case(case.con)  # organic posts beside it: testable again


def _pool_traces(
    seed: int, pools: list[list[str]], items: int, per_item: int, cross: int, prefix: str = "i"
) -> pa.Table:
    """Share traces: each item shared within 30 s by ``per_item`` accounts of one pool, over
    four days (many time blocks, so both halves hold items); ``cross`` items draw from all."""
    import datetime as dt
    import random

    rng = random.Random(seed)
    start = dt.datetime(2024, 3, 1, tzinfo=dt.UTC)
    everyone = [a for pool in pools for a in pool]
    rows: dict[str, list[object]] = {"account": [], "item": [], "post": [], "time": []}
    for k in range(items * len(pools) + cross):
        pool = everyone if k >= items * len(pools) else pools[k % len(pools)]
        t0 = start + dt.timedelta(seconds=rng.uniform(0, 4 * 86_400))
        for a in rng.sample(pool, per_item):
            rows["account"].append(a)
            rows["item"].append(f"{prefix}{k}")
            rows["post"].append(f"{prefix}p{len(rows['post'])}")
            rows["time"].append(t0 + dt.timedelta(seconds=rng.uniform(0, 30)))
    return pa.table(rows).cast(
        pa.schema(
            [
                ("account", pa.string()),
                ("item", pa.string()),
                ("post", pa.string()),
                ("time", pa.timestamp("us", tz="UTC")),
            ]
        )
    )


def _structure(tr: pa.Table) -> pa.Table:
    """Every co-acting pair of ``tr`` (60 s window), weighted by items, as fused edges."""
    from cibscan.detect import _half_pairs

    pairs = _half_pairs(tr, 60_000_000)
    n = pairs.num_rows
    return (
        pairs.append_column("surprise", pa.compute.cast(pairs["weight"], pa.float64()))
        .append_column("signals", pa.array(["share"] * n))
        .append_column("n_signals", pa.array([1] * n))
        .append_column("p_value", pa.array([1.0] * n))
        .append_column("q_value", pa.array([1.0] * n))
    )


def test_a_chance_split_of_one_pool_does_not_hold_on_held_out_posts() -> None:
    """One pool of 60 accounts, each item shared by a random 8, ten draws: modularity splits
    every one; the split proposed on one half of the posts is no better than chance on the
    other, so at most one draw in ten (the level is 0.05) keeps a split."""
    from cibscan.detect import HeldOutSplitTest

    pool = [f"a{i:02d}" for i in range(60)]
    cfg = ClusterConfig(alpha=1.0)
    kept_split = 0
    for seed in range(10):
        tr = _pool_traces(seed, [pool], items=300, per_item=8, cross=0)
        fused = _structure(tr)
        assert len(communities(fused, cfg)) >= 2  # what modularity alone reports
        test = HeldOutSplitTest({"share": tr}, pa.table({"signal": [], "item": []}), DetectConfig())
        found = cluster_accounts(fused, cfg, test)
        (record,) = test.records
        assert record["split"] == (record["p_value"] <= 0.05)
        assert len(found.networks) == record["kept"]
        kept_split += record["split"]
        if not record["split"]:
            assert [n["size"] for n in found.networks] == [60]
    assert kept_split <= 1


@pytest.mark.parametrize("seed", range(3))
def test_two_pools_linked_by_a_few_items_stay_two(seed: int) -> None:
    """Two pools of 30 (one component: a few items drew from both) keep their split."""
    from cibscan.detect import HeldOutSplitTest

    pools = [[f"a{i:02d}" for i in range(30)], [f"b{i:02d}" for i in range(30)]]
    tr = _pool_traces(seed, pools, items=150, per_item=8, cross=6)
    fused = _structure(tr)
    test = HeldOutSplitTest({"share": tr}, pa.table({"signal": [], "item": []}), DetectConfig())
    found = cluster_accounts(fused, ClusterConfig(alpha=1.0), test)
    assert sorted(n["accounts"] for n in found.networks) == pools
    assert [r["split"] for r in test.records] == [True]
    assert test.records[0]["p_value"] <= 0.01
    # deterministic: the same proposal, the same permutations
    again = HeldOutSplitTest({"share": tr}, pa.table({"signal": [], "item": []}), DetectConfig())
    cluster_accounts(fused, ClusterConfig(alpha=1.0), again)
    assert again.records == test.records


def test_the_split_test_keeps_its_level_on_pools_of_uneven_activity() -> None:
    """Twenty structureless pools whose accounts' activity is lognormal (some share ten times
    as often as others): the held-out test passes a chance split at about its level, not more."""
    import datetime as dt

    from cibscan.detect import HeldOutSplitTest

    p_values = []
    for seed in range(20):
        rng = np.random.default_rng(seed)
        activity = rng.lognormal(0.0, 1.0, 60)
        start = dt.datetime(2024, 3, 1, tzinfo=dt.UTC)
        rows: dict[str, list[object]] = {"account": [], "item": [], "post": [], "time": []}
        for k in range(300):
            t0 = start + dt.timedelta(seconds=float(rng.uniform(0, 4 * 86_400)))
            for a in rng.choice(60, 8, replace=False, p=activity / activity.sum()):
                rows["account"].append(f"a{a:02d}")
                rows["item"].append(f"i{k}")
                rows["post"].append(f"p{len(rows['post'])}")
                rows["time"].append(t0 + dt.timedelta(seconds=float(rng.uniform(0, 30))))
        tr = pa.table(rows).cast(
            pa.schema(
                [
                    ("account", pa.string()),
                    ("item", pa.string()),
                    ("post", pa.string()),
                    ("time", pa.timestamp("us", tz="UTC")),
                ]
            )
        )
        test = HeldOutSplitTest({"share": tr}, pa.table({"signal": [], "item": []}), DetectConfig())
        cluster_accounts(_structure(tr), ClusterConfig(alpha=1.0), test)
        p_values += [r["p_value"] for r in test.records]
    assert len(p_values) == 20
    assert sum(p <= 0.05 for p in p_values) <= 3  # level 0.05: about 1 in 20 by chance


def test_a_real_split_does_not_carry_a_chance_one_with_it(tmp_path: Path) -> None:
    """The office operation alone (seed 4): its operators and its amplifiers are one component,
    which Leiden cuts in three, the amplifiers in two. The split of the component holds (the
    operators are real), and the boundaries, tested one by one, merge the amplifiers' chance
    cut back: two networks, amplifiers and operators (with their Pages and Groups)."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    scenario = generate("office", seed=4, config=SMALL)
    files = write_scenario(scenario, tmp_path / "data")
    role = {
        r["account_id"]: r["role"] for r in scenario.labels.to_pylist() if r["label"] != "organic"
    }
    posts = pq.read_table(next(f for f in files if f.name == "posts.parquet"))
    keep = pc.is_in(posts["account_id"], value_set=pa.array(sorted(role)))
    pq.write_table(posts.filter(keep), tmp_path / "posts.parquet")
    ingest([tmp_path / "posts.parquet"], tmp_path / "case.duckdb")
    with open_case(tmp_path / "case.duckdb", create=False, read_only=True) as case:
        read = detect(case, DetectConfig(attributed="yes"))
    roles = [sorted({role[a] for a in n["accounts"]}) for n in read.networks]
    assert roles == [["amplifier"], ["group", "operator", "page"]]
    assert read.networks[0]["size"] == 186  # every amplifier
    for n in read.networks:
        test = n["split_test"]
        assert test["split"] and test["p_value"] <= 0.05
        assert (test["communities_proposed"], test["communities_kept"]) == (3, 2)
        assert test["boundaries_tested"]
        assert test["boundary_p"] is not None and test["boundary_p"] <= 0.05


def test_past_its_budget_of_boundary_tests_the_split_stands(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With no budget for boundary tests, a split that holds keeps Leiden's communities and
    says its boundaries were not tested."""
    import cibscan.detect
    from cibscan.detect import HeldOutSplitTest

    pools = [[f"a{i:02d}" for i in range(30)], [f"b{i:02d}" for i in range(30)]]
    tr = _pool_traces(0, pools, items=150, per_item=8, cross=6)
    monkeypatch.setattr(cibscan.detect, "SPLIT_BOUNDARY_TESTS", 0)
    test = HeldOutSplitTest({"share": tr}, pa.table({"signal": [], "item": []}), DetectConfig())
    found = cluster_accounts(_structure(tr), ClusterConfig(alpha=1.0), test)
    assert sorted(n["accounts"] for n in found.networks) == pools
    (record,) = test.records
    assert record["split"] and not record["boundaries_tested"]
    assert [b for _, b in record["boundaries"]] == [None, None]


def test_a_group_test_group_counts_its_significant_links_like_any_group() -> None:
    """Four accounts with three significant links among them, a fourth link at q 0.2 and one to
    an outsider: the group-test group reports 3 internal links, cohesion 3/6, by signal."""
    from cibscan.detect import _count_links

    fused = pa.table(
        {
            "source": ["a", "a", "b", "c", "a"],
            "target": ["b", "c", "d", "d", "x"],
            "signals": ["share,link", "link", "share", "text", "share"],
            "q_value": [0.001, 0.01, 0.2, 0.04, 0.001],
            "surprise": [6.0, 4.0, 1.0, 2.0, 9.0],
        }
    )
    groups = [{"accounts": ["a", "b", "c", "d"], "cohesion": 0.0, "internal_edges": 0}]
    _count_links(groups, fused, 0.05)
    (g,) = groups
    assert g["internal_edges"] == 3
    assert g["cohesion"] == 0.5
    assert g["mean_edge_surprise"] == 4.0
    assert g["edges_by_signal"] == {"link": 2, "share": 1, "text": 1}


def test_a_confirmed_group_joins_the_flagged_pieces_it_holds() -> None:
    """The edge test flagged an operation in three pieces; the held-out group holds two of them
    whole, a third by one account, and two new accounts: it joins the two, leaves the third."""
    from cibscan.detect import absorb_flagged

    flagged = [
        {"id": "N1", "accounts": ["a1", "a2", "a3"], "score": 30.0},
        {"id": "N2", "accounts": ["b1", "b2", "b3", "b4"], "score": 20.0},
        {"id": "N3", "accounts": ["c1", "c2", "c3"], "score": 10.0},
    ]
    tested = [
        {
            "id": "T1",
            "accounts": ["a1", "a2", "a3", "b1", "b2", "c1", "n1", "n2"],
            "score": 50.0,
        },
        {"id": "T2", "accounts": ["c1", "c2", "c3", "m1"], "score": 5.0},  # adds 1 < 3
    ]
    merges, rest = absorb_flagged(flagged, tested, 3)
    ((merged, parts),) = merges
    assert [p["id"] for p in parts] == ["N1", "N2"]
    assert merged["accounts"] == ["a1", "a2", "a3", "b1", "b2", "b3", "b4", "n1", "n2"]
    assert merged["absorbed_groups"] == ["N1", "N2"] and merged["score"] == 50.0
    assert merged["size"] == 9
    assert [t["id"] for t in rest] == ["T2"]  # it found N3 again, and one account more


def _crowd_rows(seed: int) -> pa.Table:
    """A crowd of 60 accounts, five of whom share each of 300 items within two minutes."""
    import datetime as dt

    import numpy as np

    rng = np.random.default_rng(seed)
    t0 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    rows: list[tuple[str, str, dt.datetime]] = []
    for j in range(300):
        start = t0 + dt.timedelta(seconds=int(rng.integers(14 * 86400)))
        for m in rng.choice(60, size=5, replace=False):
            rows.append((f"c{m}", f"k{j}", start + dt.timedelta(seconds=int(rng.integers(120)))))
    return pa.table(
        {
            "account": [r[0] for r in rows],
            "item": [r[1] for r in rows],
            "post": [f"x{k}" for k in range(len(rows))],
            "time": pa.array([r[2] for r in rows], pa.timestamp("us", tz="UTC")),
        }
    )


@pytest.mark.parametrize("seed", [3, 4, 5])
def test_a_confirmed_group_keeps_only_members_tied_to_it(seed: int) -> None:
    """A member trimmed against a large proposed community (a crowd) is tested again against
    the group it is reported in: three crowd accounts that co-act with the crowd, not with the
    planted group, leave it; the planted members stay."""
    from cibscan.case import connect
    from cibscan.detect import _retrim, _store_halves

    traces = pa.concat_tables([_weak_tie_traces(True, seed), _crowd_rows(seed)])
    hot = pa.table({"signal": pa.array([], pa.string()), "item": pa.array([], pa.string())})
    planted = {f"p{m}" for m in range(12)}
    con = connect()
    try:
        nulls = _store_halves(con, {"share": traces}, hot, 600_000_000)
        for half in (0, 1):
            merged = [{"set": planted | {"c0", "c1", "c2"}, "tests": [0]}]
            tried = [{a: {half} for a in merged[0]["set"]}]
            (group,) = _retrim(con, ["share"], nulls, merged, tried, DetectConfig())
            assert group["set"] <= planted and len(group["set"]) >= 10
            assert group["retrimmed"] == 15 - len(group["set"])
            # a group made only of the crowd is the crowd's own: its members stay
            crowd = [{"set": {f"c{i}" for i in range(60)}, "tests": [0]}]
            every = [{a: {half} for a in crowd[0]["set"]}]
            (alone,) = _retrim(con, ["share"], nulls, crowd, every, DetectConfig())
            assert len(alone["set"]) >= 55
    finally:
        con.close()


def test_a_member_is_tested_again_on_the_half_that_kept_it() -> None:
    """A member confirmed by a test on one half is tried again on that half only: an account
    that joins the planted group only in half 1's blocks of time stays when half 1 kept it,
    leaves when only half 0 did, and stays when both did (Bonferroni over the two)."""
    import datetime as dt

    from cibscan.case import connect
    from cibscan.detect import _retrim, _store_halves, _time_halves, split_block_us

    base = _weak_tie_traces(True, 3)
    hot = pa.table({"signal": pa.array([], pa.string()), "item": pa.array([], pa.string())})
    _, second = _time_halves(base, hot, split_block_us(600_000_000))  # half 1's traces
    joined = second.filter(pa.compute.starts_with(second["account"], "p")).slice(0, 30)
    follower = pa.table(
        {
            "account": ["q"] * joined.num_rows,
            "item": joined["item"],
            "post": [f"q{k}" for k in range(joined.num_rows)],
            # one second later: the same block of time, hence the same half
            "time": pa.array(
                [t + dt.timedelta(seconds=1) for t in joined["time"].to_pylist()],
                pa.timestamp("us", tz="UTC"),
            ),
        }
    )
    traces = pa.concat_tables([base, follower])
    block = split_block_us(600_000_000)
    assert _time_halves(follower, hot, block)[0].num_rows == 0  # q acts in half 1 only
    planted = {f"p{m}" for m in range(12)}
    con = connect()
    try:
        nulls = _store_halves(con, {"share": traces}, hot, 600_000_000)
        kept = {}
        for tried in ({1}, {0}, {0, 1}):
            group = [{"set": planted | {"q"}}]
            halves = [{a: ({1} if a != "q" else tried) for a in group[0]["set"]}]
            (out,) = _retrim(con, ["share"], nulls, group, halves, DetectConfig())
            kept[frozenset(tried)] = "q" in out["set"]
        assert kept == {frozenset({1}): True, frozenset({0}): False, frozenset({0, 1}): True}
    finally:
        con.close()


def test_retrim_bonferroni_over_signals_members_and_halves_round_by_round(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The retrim's arithmetic, with the held-out tails given: a member stays when its best
    tail over the halves that kept it, times those halves, the signals and the group's current
    size, is at most ``alpha``; rounds repeat while members drop, ``retrimmed`` adds them up,
    and a group left below ``min_size`` is not returned."""
    import cibscan.detect as detect_module

    # tail per (half, round, member); a member absent from a half's entry has tail 1
    tails = {
        (0, 1): {"a": 0.001, "b": 0.5, "d": 0.02, "e": 0.008, "f": 0.006, "x": 0.001, "z": 0.9},
        (1, 1): {"b": 0.004, "c": 0.001, "f": 0.006, "y": 0.001},
        (0, 2): {"a": 0.001, "b": 0.5, "e": 0.013, "x": 0.001},
        (1, 2): {"b": 0.0055, "c": 0.001, "y": 0.001},
        (0, 3): {"a": 0.001, "b": 0.5},
        (1, 3): {"b": 0.0055, "c": 0.001},
    }
    calls: dict[int, int] = {0: 0, 1: 0}

    def given_tails(con, signals, nulls, candidates):  # type: ignore[no-untyped-def]
        half = candidates[0][1]
        calls[half] += 1
        table = tails[half, calls[half]]
        return None, None, [np.array([table.get(a, 1.0) for a in c[0]]) for c in candidates]

    monkeypatch.setattr(detect_module, "_held_out_sums", given_tails)
    groups = [{"set": set("abcdef")}, {"set": {"x", "y", "z"}}]
    halves = [
        {"a": {0}, "b": {0, 1}, "c": {1}, "d": {0}, "e": {0}, "f": {0, 1}},
        {"x": {0}, "y": {1}, "z": {0}},
    ]
    (out,) = detect_module._retrim(None, ["share"], [{}, {}], groups, halves, DetectConfig())
    # round 1 (size 6): d 0.02 x 6 and f 0.006 x 2 halves x 6 exceed 0.05; e 0.008 x 6 does
    # not. Round 2 (size 4): e 0.013 x 4 does; b 0.0055 x 2 x 4 = 0.044 does not. Round 3
    # (size 3): nothing drops. x, y, z: z drops, and two are fewer than min_size.
    assert out["set"] == {"a", "b", "c"} and out["retrimmed"] == 3
    assert calls == {0: 3, 1: 3}
    # two signals double every product: b (0.008 x 2 x 6 = 0.096) and e drop in round 1 too,
    # leaving a and c, fewer than min_size
    calls.update({0: 0, 1: 0})
    assert detect_module._retrim(None, ["a", "b"], [{}, {}], groups, halves, DetectConfig()) == []


def test_group_test_reports_the_members_its_retrim_removed() -> None:
    """End to end on the planted group beside a crowd of 60 (seeds where Leiden proposes crowd
    communities larger than what holds): no group mixes the two, the planted group is found
    whole, and a group the retrim shrank says by how many."""
    from cibscan.detect import group_test

    hot = pa.table({"signal": pa.array([], pa.string()), "item": pa.array([], pa.string())})
    planted = {f"p{m}" for m in range(12)}
    shrunk = 0
    for seed in (4, 5, 6):
        traces = pa.concat_tables([_weak_tie_traces(True, seed), _crowd_rows(seed)])
        groups = group_test({"share": traces}, hot, set(), DetectConfig())
        assert any(set(g["accounts"]) == planted for g in groups)
        for g in groups:
            members = set(g["accounts"])
            assert members <= planted or not members & planted
            assert g.get("retrimmed", 1) >= 1  # written only when it removed someone
        shrunk += sum(1 for g in groups if g.get("retrimmed"))
    assert shrunk >= 3
