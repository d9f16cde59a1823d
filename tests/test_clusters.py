"""Leiden networks do not depend on the accounts' names.

Seeded Leiden visits nodes in their order; numbered by name, a renamed graph (pseudonyms,
handles for ids, another export's ids) gave other communities: 43 of the 50 renamings of
``test_renamed_accounts_give_the_same_communities`` (10 graphs, 5 renamings each) did before
``structural_order``, measured by running that test's comparison on the earlier numbering.
"""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path
from typing import Final

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cibscan.clusters import (
    WEIGHT_STEPS,
    Clustering,
    _integer_weights,
    cluster_accounts,
    communities,
    structural_order,
)


def _planted(seed: int, n: int = 80) -> dict[tuple[str, str], float]:
    """Eight groups of ten, dense inside and sparse between: Leiden's choices are close."""
    rng = random.Random(seed)
    edges = {}
    for i in range(n):
        for j in range(i + 1, n):
            if rng.random() < (0.5 if i // 10 == j // 10 else 0.06):
                edges[(f"a{i:03d}", f"a{j:03d}")] = float(rng.choice([2.0, 3.0, 5.0, 8.0]))
    return edges


def _fused(edges: dict[tuple[str, str], float], rename: dict[str, str]) -> pa.Table:
    size = len(edges)
    return pa.table(
        {
            "source": [rename[s] for s, _ in edges],
            "target": [rename[t] for _, t in edges],
            "signals": ["share"] * size,
            "n_signals": [1] * size,
            "weight": [3] * size,
            "p_value": [1e-6] * size,
            "q_value": [1e-6] * size,
            "surprise": list(edges.values()),
        }
    )


def _renaming(names: list[str], seed: int) -> dict[str, str]:
    """A renaming that also reorders: the new names sort in a shuffled order."""
    shuffled = names[:]
    random.Random(seed).shuffle(shuffled)
    return {old: f"z{i:03d}" for i, old in enumerate(shuffled)}


@pytest.mark.parametrize("seed", range(10))
def test_renamed_accounts_give_the_same_communities(seed: int) -> None:
    edges = _planted(seed)
    names = sorted({a for pair in edges for a in pair})
    same = {a: a for a in names}
    found = communities(_fused(edges, same))
    assert len(found) >= 4
    for renaming in range(5):
        rename = _renaming(names, renaming)
        back = {v: k for k, v in rename.items()}
        renamed = communities(_fused(edges, rename))
        assert sorted(sorted(back[a] for a in g) for g in renamed) == sorted(found)


def test_renamed_accounts_give_the_same_networks_and_scores() -> None:
    edges = _planted(7)
    names = sorted({a for pair in edges for a in pair})
    before = cluster_accounts(_fused(edges, {a: a for a in names}))
    rename = _renaming(names, 1)
    back = {v: k for k, v in rename.items()}
    after = cluster_accounts(_fused(edges, rename))
    assert len(before.networks) >= 4
    groups = {frozenset(n["accounts"]): n["score"] for n in before.networks}
    assert {frozenset(back[a] for a in n["accounts"]): n["score"] for n in after.networks} == groups

    def by_account(
        clustering: Clustering, names: dict[str, str]
    ) -> dict[str, tuple[bool, float, int]]:
        rows = clustering.accounts.to_pylist()
        return {
            names[r["account_id"]]: (r["network_id"] is None, r["score"], r["degree"]) for r in rows
        }

    assert by_account(after, back) == by_account(before, {a: a for a in names})


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(3, 25),
    data=st.data(),
)
def test_structural_order_follows_the_nodes_not_their_numbers(n: int, data: st.DataObject) -> None:
    pairs = sorted({(i, j) for i in range(n) for j in range(i + 1, n)})
    chosen = data.draw(st.lists(st.sampled_from(pairs), min_size=1, unique=True))
    weights = data.draw(
        st.lists(st.sampled_from([1.0, 2.5, 7.0]), min_size=len(chosen), max_size=len(chosen))
    )
    src = np.array([i for i, _ in chosen])
    tgt = np.array([j for _, j in chosen])
    w = np.array(weights)
    perm = np.array(data.draw(st.permutations(range(n))))  # node i is renumbered perm[i]
    order = structural_order(n, src, tgt, w)
    renumbered = structural_order(n, perm[src], perm[tgt], w)

    # the nodes along each order look the same (degree and strength, position by position);
    # the orders differ only among nodes that colour refinement cannot tell apart
    def profile(s: np.ndarray, t: np.ndarray, order: np.ndarray) -> list[tuple[int, float]]:
        ends = np.concatenate([s, t])
        degree = np.bincount(ends, minlength=n)
        strength = np.bincount(ends, weights=np.concatenate([w, w]), minlength=n)
        return list(zip(degree[order].tolist(), strength[order].tolist(), strict=True))

    assert profile(perm[src], perm[tgt], renumbered) == profile(src, tgt, order)


def test_structural_order_ties_only_interchangeable_nodes() -> None:
    # a path a-b-c: a and c are interchangeable, b is not; a comes before c by number
    order = structural_order(3, np.array([0, 1]), np.array([1, 2]), np.array([1.0, 1.0]))
    assert order.tolist().index(1) in (0, 2)
    assert order.tolist().index(0) < order.tolist().index(2)
    # a heavier edge tells the ends apart: a-b weighs 2, b-c 1
    weighted = structural_order(3, np.array([0, 1]), np.array([1, 2]), np.array([2.0, 1.0]))
    swapped = structural_order(3, np.array([2, 1]), np.array([1, 0]), np.array([2.0, 1.0]))
    # node 0 in the first is node 2 in the second: both take the same place
    assert weighted.tolist().index(0) == swapped.tolist().index(2)


def test_a_split_test_merges_the_communities_it_puts_in_one_group() -> None:
    """Three cliques of five joined in a chain: Leiden splits them; the split test is asked
    once for the component, with the three communities, and its groups are what stands."""
    cliques = [[f"{c}{i}" for i in range(5)] for c in "abc"]
    edges = {(x, y): 4.0 for q in cliques for i, x in enumerate(q) for y in q[i + 1 :]}
    edges[("a0", "b0")] = edges[("b1", "c0")] = 1.0
    fused = _fused(edges, {n: n for e in edges for n in e})
    asked: list[list[list[str]]] = []

    def merge_first_two(found: list[list[str]]) -> list[int]:
        asked.append(found)
        first = next(i for i, c in enumerate(found) if "a0" in c)
        second = next(i for i, c in enumerate(found) if "b0" in c)
        return [first if i == second else i for i in range(len(found))]

    assert sorted(n["accounts"] for n in cluster_accounts(fused).networks) == cliques
    merged = cluster_accounts(fused, split_test=merge_first_two).networks
    assert sorted(n["accounts"] for n in merged) == [cliques[0] + cliques[1], cliques[2]]
    assert len(asked) == 1 and sorted(sorted(c) for c in asked[0]) == cliques
    one = cluster_accounts(fused, split_test=lambda found: [0] * len(found)).networks
    assert [n["size"] for n in one] == [15]


#: A group-test graph (307 accounts, the hostile-names case of tests/hardening) on which
#: leidenalg 0.12's seeded Leiden moved nodes back and forth forever with fractional weights.
LOOP_GRAPH: Final = Path(__file__).parent / "data" / "leiden_loop.csv"
_LOOP_RUN: Final = """
import csv, sys
import numpy as np
from cibscan.clusters import ClusterConfig, leiden_membership
rows = list(csv.DictReader(open(sys.argv[1], encoding="utf-8")))
src = np.array([int(r["source"]) for r in rows])
tgt = np.array([int(r["target"]) for r in rows])
weight = np.array([float(r["weight"]) for r in rows])
found = leiden_membership(307, src, tgt, weight, ClusterConfig(seed=0, iterations=2))
print(len(set(found.tolist())))
"""


def test_leiden_ends_on_a_graph_where_rounding_made_it_loop() -> None:
    """Integer weights: the graph that looped ends within a minute (it takes milliseconds)."""
    done = subprocess.run(
        [sys.executable, "-c", _LOOP_RUN, str(LOOP_GRAPH)],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    assert int(done.stdout) >= 2


def test_integer_weights_keep_the_weights_ratios() -> None:
    weight = np.array([178.2, 1.3, 89.1, np.inf, np.nan])
    steps = _integer_weights(weight)
    assert steps.tolist() == [WEIGHT_STEPS, round(1.3 / 178.2 * WEIGHT_STEPS), WEIGHT_STEPS // 2,
                              WEIGHT_STEPS, 1]  # fmt: skip
    assert (steps == np.rint(steps)).all()
    assert _integer_weights(np.array([0.0, 0.0])).tolist() == [1.0, 1.0]
