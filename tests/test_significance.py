"""The null model: calibrated p-values without structure, tiny p-values for planted pairs."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from cibscan import open_case
from cibscan.networks import networks
from cibscan.significance import (
    benjamini_hochberg,
    conditional_poisson_pvalues,
    edge_pvalues,
    fuse_signals,
    signal_null,
)
from cibscan.traces import traces

T0 = dt.datetime(2024, 3, 1, tzinfo=dt.UTC)


def share_case(rows: list[tuple[str, str, float]]):  # type: ignore[no-untyped-def]
    """A case of shares: (account, shared item, seconds after T0)."""
    case = open_case()
    data = pa.table(
        {
            "post_id": [f"p{i}" for i in range(len(rows))],
            "account_id": [r[0] for r in rows],
            "timestamp": pa.array(
                [T0 + dt.timedelta(seconds=r[2]) for r in rows], pa.timestamp("us", tz="UTC")
            ),
            "kind": ["share"] * len(rows),
            "shared_post_id": [r[1] for r in rows],
        }
    )
    case.con.register("rows", data)
    case.con.execute("INSERT INTO posts BY NAME SELECT * FROM rows")
    return case


def random_shares(
    seed: int, accounts: int = 150, items: int = 400, posts: int = 3000, days: float = 7.0
) -> list[tuple[str, str, float]]:
    """No structure: heavy-tailed activity and popularity, times independent of everything."""
    rng = np.random.default_rng(seed)
    activity = rng.pareto(1.5, accounts) + 1
    popularity = rng.pareto(1.2, items) + 1
    who = rng.choice(accounts, posts, p=activity / activity.sum())
    what = rng.choice(items, posts, p=popularity / popularity.sum())
    when = rng.uniform(0, days * 86400, posts)
    return [(f"a{w}", f"i{i}", float(t)) for w, i, t in zip(who, what, when, strict=True)]


def pvalues_of(case, window: float = 600.0) -> pa.Table:  # type: ignore[no-untyped-def]
    result = networks(
        case, ["share"], window=window, min_weight=1, hot_item_cap=None, evidence_limit=0
    )
    null = signal_null(traces(case, "share"), "share", int(window * 1e6))
    return edge_pvalues(result.edges, null)


def test_conditional_pvalue_of_one_coaction_is_one() -> None:
    p = conditional_poisson_pvalues(np.array([1, 1, 2]), np.array([1e-9, 5.0, 1e-9]))
    assert p[0] == 1.0 and p[1] == 1.0
    assert p[2] == pytest.approx(0.5e-9, rel=1e-3)  # P(X>=2)/P(X>=1) ~ λ/2 for tiny λ


def test_benjamini_hochberg_matches_scipy() -> None:
    rng = np.random.default_rng(3)
    p = np.concatenate([rng.uniform(size=200), rng.uniform(0, 1e-4, size=20)])
    np.testing.assert_allclose(benjamini_hochberg(p), stats.false_discovery_control(p))


def test_signal_null_counts_pairs_within_window() -> None:
    # item x: a, b within 30 s (1 close pair), c two hours later; item y: a alone;
    # a shares x again 100 s before c: outside the window, no pair
    case = share_case(
        [("a", "x", 0), ("b", "x", 30), ("c", "x", 7200), ("a", "y", 0), ("a", "x", 7100)]
    )
    null = signal_null(traces(case, "share"), "share", 60_000_000)
    assert null.incidences == 4 and null.pair_mass == 1.0
    exposure = dict(
        zip(null.degrees["account"].to_pylist(), null.degrees["exposure"].to_pylist(), strict=True)
    )
    assert exposure == {"a": 1.0, "b": 1.0, "c": 1.0}  # 2 W_x / (k_x - 1) = 2/2


@settings(max_examples=6, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_null_pvalues_are_calibrated_without_structure(seed: int) -> None:
    """Property: on data with no planted structure the p-values are (super-)uniform."""
    edges = pvalues_of(share_case(random_shares(seed, posts=5000)), window=3600)
    p = edges.column("p_value").to_numpy()
    # enough pairs for the check (a dominant account or item leaves fewer: 470 for seed 460)
    assert len(p) > 300
    for alpha in (0.01, 0.05, 0.2):
        # conservative (discrete, conditional) tests: no more mass below alpha than chance
        # allows (three binomial standard errors)
        assert (p <= alpha).mean() <= alpha + 3 * np.sqrt(alpha * (1 - alpha) / len(p)), alpha
    assert (edges.column("q_value").to_numpy() <= 0.05).sum() <= max(1, len(p) // 100)


def test_planted_pair_gets_tiny_pvalue() -> None:
    rows = random_shares(11)
    # two quiet accounts that share 6 obscure items within a minute of each other
    for k in range(6):
        t = 86400.0 * k + 3600
        rows += [("ring1", f"obscure{k}", t), ("ring2", f"obscure{k}", t + 20)]
    edges = pvalues_of(share_case(rows))
    planted = edges.filter(
        pa.compute.and_(
            pa.compute.equal(edges["source"], "ring1"), pa.compute.equal(edges["target"], "ring2")
        )
    )
    assert planted.num_rows == 1
    assert planted["weight"][0].as_py() == 6
    assert planted["p_value"][0].as_py() < 1e-9
    assert planted["q_value"][0].as_py() < 1e-6


def test_viral_item_is_not_evidence() -> None:
    # 300 accounts share one breaking story within seconds, and another one an hour later:
    # everyone co-acts twice, but that is what those items' crowds do.
    rows = []
    for a in range(300):
        rows += [(f"a{a}", "breaking", a * 0.1), (f"a{a}", "followup", 3600 + a * 0.1)]
    edges = pvalues_of(share_case(rows), window=60)
    assert edges.num_rows > 1000
    assert edges.column("q_value").to_numpy().min() > 0.05


def test_fusion_bonferroni_and_surprise() -> None:
    edges = pa.table(
        {
            "source": ["a", "a", "b"],
            "target": ["b", "b", "c"],
            "signal": ["share", "text", "share"],
            "weight": [3, 2, 1],
            "p_value": [1e-6, 1e-3, 1.0],
        }
    )
    fused = fuse_signals(edges).to_pylist()
    assert fused[0]["signals"] == "share,text" and fused[0]["n_signals"] == 2
    assert fused[0]["p_value"] == pytest.approx(2e-6)
    assert fused[0]["surprise"] == pytest.approx(9.0)
    assert fused[1]["p_value"] == 1.0 and fused[1]["surprise"] == 0.0
