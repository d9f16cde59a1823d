"""Networks from the fused significant edges: Leiden communities, scores and ranks.

Accounts are ranked by their centrality in the fused significant network (published work found
that ranking nodes by centrality in the fused network beats filtering edges by weight); networks
are Leiden communities (modularity, seeded) of that network, each with its evidence, cohesion,
score, rank and an estimate of its false-discovery rate.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

import igraph as ig
import leidenalg
import numpy as np
import pyarrow as pa

__all__ = [
    "ClusterConfig",
    "Clustering",
    "SplitTest",
    "cluster_accounts",
    "communities",
    "leiden_membership",
    "structural_order",
]

#: Which of a connected component's communities stand, given their accounts: a group number
#: for each community (communities of one group are merged; all one number: no split).
SplitTest = Callable[[list[list[str]]], list[int]]


@dataclass(frozen=True)
class ClusterConfig:
    """Options of the clustering stage.

    Parameters
    ----------
    alpha
        False-discovery rate: fused edges with ``q_value <= alpha`` form the network (1 keeps
        every edge: an attributed case's structure, ``DetectConfig.attributed``).
    min_size
        Smallest community reported as a network.
    resolution
        Leiden's resolution parameter (modularity with resolution; 1 is plain modularity).
    seed
        Seed of Leiden's random choices (same seed, same partition).
    iterations
        Leiden iterations; ``-1`` runs until an iteration changes nothing.
    """

    alpha: float = 0.05
    min_size: int = 3
    resolution: float = 1.0
    seed: int = 0
    iterations: int = -1

    def __post_init__(self) -> None:
        from cibscan.errors import ConfigError

        if not 0 < self.alpha <= 1:
            raise ConfigError(f"alpha must be in (0, 1], got {self.alpha}")
        if self.min_size < 2:
            raise ConfigError(f"min_size must be at least 2, got {self.min_size}")
        if self.resolution <= 0:
            raise ConfigError(f"resolution must be positive, got {self.resolution}")
        if self.iterations == 0 or self.iterations < -1:
            raise ConfigError(f"iterations must be -1 or positive, got {self.iterations}")


@dataclass
class Clustering:
    """Accounts with scores and network ids, and the networks' summaries."""

    accounts: pa.Table
    networks: list[dict[str, Any]]
    graph_edges: pa.Table


def _mix(values: np.ndarray) -> np.ndarray:
    """SplitMix64's finaliser, element-wise: a well-spread 64-bit hash of each value."""
    x = values.astype(np.uint64, copy=True)
    x ^= x >> np.uint64(30)
    x *= np.uint64(0xBF58476D1CE4E5B9)
    x ^= x >> np.uint64(27)
    x *= np.uint64(0x94D049BB133111EB)
    x ^= x >> np.uint64(31)
    return x


def structural_order(
    n: int, src: np.ndarray, tgt: np.ndarray, weight: np.ndarray, max_rounds: int = 32
) -> np.ndarray:
    """Nodes in an order given by the graph's structure, not by the accounts' names.

    Seeded Leiden visits nodes in their order, so a graph numbered by account name gives
    other communities when the accounts are renamed (pseudonyms, handles for ids, another
    export's ids). Numbered in this order instead, a renamed graph is the same graph, and
    Leiden's seeded run the same run, wherever colour refinement tells the nodes apart. Each
    node's colour is refined Weisfeiler-Lehman style (its colour and the multiset of its
    neighbours' colours and edge weights, hashed, the multiset by a wrapping sum) until the
    colours split no further (at most ``max_rounds`` rounds); nodes sort by final colour. Nodes
    that refinement cannot tell apart keep their order by name: interchangeable ones (two
    leaves of one hub), but also the nodes of a symmetric graph (a ring of equal cliques, all
    weights equal), whose communities may then differ under renaming, as under reseeding.
    Fused edge weights are surprises, real numbers that seldom tie.

    Parameters
    ----------
    n
        Number of nodes, numbered ``0..n-1`` in name order.
    src, tgt
        The undirected edges' ends.
    weight
        Edge weights (float64; compared bit for bit).
    max_rounds
        Most rounds of colour refinement.

    Returns
    -------
    numpy.ndarray
        ``order[k]``: the node at position ``k``.
    """
    src = np.asarray(src, dtype=np.int64)
    tgt = np.asarray(tgt, dtype=np.int64)
    bits = _mix(np.ascontiguousarray(weight, dtype=np.float64).view(np.uint64))
    colour = np.zeros(n, dtype=np.uint64)
    classes = 1
    for _ in range(max_rounds):
        inbox = np.zeros(n, dtype=np.uint64)
        np.add.at(inbox, tgt, _mix(colour[src] ^ bits))  # uint64 sums wrap: a multiset hash
        np.add.at(inbox, src, _mix(colour[tgt] ^ bits))
        colour = _mix(_mix(colour) ^ inbox)
        split = len(np.unique(colour))
        if split == classes:  # stable: a round that splits no class splits none later
            break
        classes = split
    return np.lexsort((np.arange(n), colour))


#: Steps of the largest weight in the integer weights Leiden optimises (:func:`_integer_weights`).
WEIGHT_STEPS: Final = 2**20


def _integer_weights(weight: np.ndarray) -> np.ndarray:
    """Weights rescaled to whole numbers, the largest ``WEIGHT_STEPS``, none below 1.

    Leiden moves a node when the gain is positive. With fractional weights a community's
    weight is a sum rounded in the order it was accumulated, so moving a node from A to B and
    back can both look like gains of a few ulps, and the optimiser moves it forever (it did on
    a 307-account group-test graph with ``leidenalg`` 0.12). Whole numbers below 2^53 add up
    exactly, and the gain of a move back is then exactly minus the gain of the move. A step is
    a millionth of the largest weight, far below any difference the weights mean.

    >>> _integer_weights(np.array([0.5, 2.0, 1e-9])).tolist()
    [262144.0, 1048576.0, 1.0]
    """
    finite = weight[np.isfinite(weight)]
    top = float(finite.max()) if finite.size else 0.0
    if top <= 0:
        return np.ones_like(weight)
    # An infinite weight is the largest; a missing one the smallest.
    clipped = np.nan_to_num(np.minimum(weight, top), nan=0.0)
    return np.asarray(np.maximum(np.rint(clipped * (WEIGHT_STEPS / top)), 1.0))


def _leiden(
    n: int,
    src: np.ndarray,
    tgt: np.ndarray,
    weight: np.ndarray,
    cfg: ClusterConfig,
    split_test: SplitTest | None = None,
    names: list[str] | None = None,
) -> tuple[np.ndarray, ig.Graph, np.ndarray]:
    """Community of each node: seeded Leiden, modularity with ``cfg.resolution``.

    The graph is numbered in :func:`structural_order` and its edges sorted, so renaming the
    accounts renames the communities and changes nothing else. With ``split_test`` (and the
    nodes' ``names``), each connected component that Leiden splits is asked which of its
    communities stand (each community's accounts in the graph's order, the communities in the
    order of their first account); communities it puts in one group are merged.
    Returns the membership of each node (in the caller's numbering), the graph, and
    ``position`` (the graph's vertex of each of the caller's nodes).
    """
    order = structural_order(n, src, tgt, weight)
    position = np.empty(n, dtype=np.int64)
    position[order] = np.arange(n)
    a, b = position[np.asarray(src, dtype=np.int64)], position[np.asarray(tgt, dtype=np.int64)]
    low, high = np.minimum(a, b), np.maximum(a, b)
    edge_order = np.lexsort((high, low))
    graph = ig.Graph(n=n, edges=np.column_stack([low, high])[edge_order].tolist(), directed=False)
    ordered = np.asarray(weight, dtype=float)[edge_order]
    graph.es["weight"] = ordered.tolist()
    graph.es["steps"] = _integer_weights(ordered).tolist()
    partition = leidenalg.find_partition(
        graph,
        leidenalg.RBConfigurationVertexPartition,
        weights="steps",
        resolution_parameter=cfg.resolution,
        seed=cfg.seed,
        n_iterations=cfg.iterations,
    )
    found = np.asarray(partition.membership, dtype=np.int64)
    if split_test is not None and names is not None:
        for component in graph.connected_components():
            nodes = np.asarray(component, dtype=np.int64)
            labels = list(dict.fromkeys(found[nodes].tolist()))  # by first vertex
            if len(labels) < 2:
                continue
            members = [nodes[found[nodes] == c] for c in labels]
            groups = split_test([[names[int(order[v])] for v in m.tolist()] for m in members])
            for m, g in zip(members, groups, strict=True):
                found[m] = labels[groups.index(g)]  # the group's first community
    membership = found[position]
    return membership, graph, position


def leiden_membership(
    n: int, src: np.ndarray, tgt: np.ndarray, weight: np.ndarray, config: ClusterConfig
) -> np.ndarray:
    """The community of each of ``n`` nodes, as :func:`cluster_accounts` finds them.

    Seeded Leiden (modularity with ``config.resolution``) on the graph of the undirected edges
    ``src[i] -- tgt[i]`` weighted by ``weight``, numbered in :func:`structural_order`: a node
    without edges is a community of its own.

    Examples
    --------
    >>> import numpy as np
    >>> found = leiden_membership(
    ...     4, np.array([0, 2]), np.array([1, 3]), np.array([1.0, 1.0]), ClusterConfig()
    ... )
    >>> bool(found[0] == found[1] != found[2] == found[3])
    True
    """
    return _leiden(n, src, tgt, weight, config)[0]


def cluster_accounts(
    fused: pa.Table, config: ClusterConfig | None = None, split_test: SplitTest | None = None
) -> Clustering:
    """Find networks in the fused edges and score accounts and networks.

    Parameters
    ----------
    fused
        Fused edges from :func:`cibscan.significance.fuse_signals` (``source, target, signals,
        n_signals, weight, p_value, q_value, surprise``).
    config
        Clustering options.
    split_test
        Asked, for each connected component that Leiden splits into communities, which of them
        stand: it gets the communities' accounts (in a renaming-invariant order) and returns a
        group number for each; communities of one group are merged (all one number: the
        component is one community). Modularity splits random graphs
        too; an attributed case, whose every edge is kept, tests its splits on held-out posts
        (:class:`cibscan.detect.HeldOutSplitTest`). ``None``: every community stands.

    Returns
    -------
    Clustering
        ``accounts``: ``account_id, network_id`` (null outside networks), ``score`` (strength:
        the summed surprise of the account's significant edges), ``pagerank``, ``degree``
        (significant partners), ``top_signals``; ``networks``: one dict per network, ranked by
        score; ``graph_edges``: the significant fused edges with their ``network_id`` (null
        across networks).

    Examples
    --------
    >>> import pyarrow as pa
    >>> fused = pa.table({"source": ["a", "a", "b"], "target": ["b", "c", "c"],
    ...     "signals": ["share"] * 3, "n_signals": [1] * 3, "weight": [5] * 3,
    ...     "p_value": [1e-9] * 3, "q_value": [1e-9] * 3, "surprise": [9.0] * 3})
    >>> c = cluster_accounts(fused)
    >>> c.accounts.column("network_id").to_pylist()
    ['N1', 'N1', 'N1']
    """
    cfg = config or ClusterConfig()
    keep = np.asarray(fused.column("q_value").to_numpy(zero_copy_only=False)) <= cfg.alpha
    sig = fused.filter(pa.array(keep))
    sources = sig.column("source").to_pylist()
    targets = sig.column("target").to_pylist()
    names = sorted(set(sources) | set(targets))
    index = {name: i for i, name in enumerate(names)}
    surprise = sig.column("surprise").to_numpy(zero_copy_only=False).astype(float)
    if len(names):
        src = np.fromiter((index[s] for s in sources), dtype=np.int64, count=len(sources))
        tgt = np.fromiter((index[t] for t in targets), dtype=np.int64, count=len(targets))
        found, graph, position = _leiden(len(names), src, tgt, surprise, cfg, split_test, names)
        membership = found.tolist()
        strength = np.asarray(graph.strength(weights="weight"), dtype=float)[position]
        pagerank = np.asarray(graph.pagerank(weights="weight"), dtype=float)[position] * len(names)
        degree = np.asarray(graph.degree(), dtype=int)[position]
    else:
        membership, strength = [], np.zeros(0)
        pagerank, degree = np.zeros(0), np.zeros(0, dtype=int)

    # Per-account signal evidence: surprise summed by signal over its significant edges.
    signal_strength: list[dict[str, float]] = [{} for _ in names]
    signal_lists = sig.column("signals").to_pylist()
    for s, t, sigs, w in zip(sources, targets, signal_lists, surprise.tolist(), strict=True):
        for name in str(sigs).split(","):
            for node in (index[s], index[t]):
                signal_strength[node][name] = signal_strength[node].get(name, 0.0) + w

    # Communities big enough become networks, ranked by total internal surprise.
    members: dict[int, list[int]] = {}
    for node, community in enumerate(membership):
        members.setdefault(community, []).append(node)
    edge_community = [
        membership[index[s]] if membership[index[s]] == membership[index[t]] else -1
        for s, t in zip(sources, targets, strict=True)
    ]
    q_values = sig.column("q_value").to_numpy(zero_copy_only=False)
    edges_of: dict[int, list[int]] = {}
    for i, c in enumerate(edge_community):
        if c >= 0:
            edges_of.setdefault(c, []).append(i)
    candidates: list[dict[str, Any]] = []
    for community, nodes in members.items():
        if len(nodes) < cfg.min_size:
            continue
        internal = edges_of.get(community, [])
        internal_surprise = float(surprise[internal].sum()) if internal else 0.0
        possible = len(nodes) * (len(nodes) - 1) / 2
        by_signal: dict[str, int] = {}
        for i in internal:
            for name in str(signal_lists[i]).split(","):
                by_signal[name] = by_signal.get(name, 0) + 1
        candidates.append(
            {
                "community": community,
                "nodes": nodes,
                "score": internal_surprise,
                "size": len(nodes),
                "internal_edges": len(internal),
                "cohesion": len(internal) / possible if possible else 0.0,
                "mean_edge_surprise": internal_surprise / len(internal) if internal else 0.0,
                # Each significant edge is false with probability at most its q-value; their mean
                # estimates the share of false links holding the network together.
                "estimated_fdr": float(np.mean(q_values[internal])) if internal else 1.0,
                "edges_by_signal": dict(sorted(by_signal.items(), key=lambda kv: (-kv[1], kv[0]))),
            }
        )
    candidates.sort(key=lambda c: (-c["score"], min(names[n] for n in c["nodes"])))
    network_of: dict[int, str] = {}
    networks: list[dict[str, Any]] = []
    for rank, cand in enumerate(candidates, start=1):
        nid = f"N{rank}"
        accounts = sorted(names[n] for n in cand["nodes"])
        for n in cand["nodes"]:
            network_of[n] = nid
        networks.append(
            {
                "id": nid,
                "rank": rank,
                "accounts": accounts,
                "size": cand["size"],
                "score": round(cand["score"], 6),
                "cohesion": round(cand["cohesion"], 6),
                "internal_edges": cand["internal_edges"],
                "mean_edge_surprise": round(cand["mean_edge_surprise"], 6),
                "estimated_fdr": cand["estimated_fdr"],
                "edges_by_signal": cand["edges_by_signal"],
            }
        )

    top_signals = [
        ",".join(k for k, _ in sorted(d.items(), key=lambda kv: (-kv[1], kv[0]))[:3])
        for d in signal_strength
    ]
    accounts = pa.table(
        {
            "account_id": pa.array(names, pa.string()),
            "network_id": pa.array([network_of.get(i) for i in range(len(names))], pa.string()),
            "score": pa.array(np.round(strength, 6), pa.float64()),
            "pagerank": pa.array(np.round(pagerank, 6), pa.float64()),
            "degree": pa.array(degree, pa.int64()),
            "top_signals": pa.array(top_signals, pa.string()),
        }
    )
    edge_networks = [
        network_of.get(index[s]) if c >= 0 else None
        for s, c in zip(sources, edge_community, strict=True)
    ]
    graph_edges = sig.append_column("network_id", pa.array(edge_networks, pa.string()))
    return Clustering(accounts=accounts, networks=networks, graph_edges=graph_edges)


def communities(edges: pa.Table, config: ClusterConfig | None = None) -> list[list[str]]:
    """Only the Leiden communities of :func:`cluster_accounts`, vectorised, for large graphs.

    The same graph as :func:`cluster_accounts` builds from its significant edges (accounts
    numbered in :func:`structural_order`, edges sorted, weighted by ``surprise``; here every row
    of ``edges`` is an edge: the group test's pairs only propose), the same Leiden call and ranking
    (internal surprise, then the smallest account), without the account scores and network
    summaries: the group test proposes from a million pairs, where those per-edge loops cost
    more than Leiden.

    Returns
    -------
    list of list of str
        Each community of at least ``min_size`` accounts (sorted), strongest first.

    Examples
    --------
    >>> import pyarrow as pa
    >>> edges = pa.table({"source": ["a", "a", "b", "x"], "target": ["b", "c", "c", "y"],
    ...     "surprise": [9.0] * 4})
    >>> communities(edges)
    [['a', 'b', 'c']]
    """
    cfg = config or ClusterConfig()
    sig = edges.select(["source", "target", "surprise"])
    if not sig.num_rows:
        return []
    both = pa.chunked_array([*sig.column("source").chunks, *sig.column("target").chunks])
    unique = pa.compute.unique(both)
    names = unique.take(pa.compute.sort_indices(unique))
    src = pa.compute.index_in(sig.column("source"), value_set=names).to_numpy()
    tgt = pa.compute.index_in(sig.column("target"), value_set=names).to_numpy()
    surprise = sig.column("surprise").to_numpy(zero_copy_only=False).astype(float)
    membership, _, _ = _leiden(len(names), src, tgt, surprise, cfg)
    sizes = np.bincount(membership)
    inside = membership[src] == membership[tgt]
    score = np.bincount(membership[src][inside], weights=surprise[inside], minlength=len(sizes))
    labels = names.to_pylist()
    groups: dict[int, list[str]] = {}
    for node in np.flatnonzero(sizes[membership] >= cfg.min_size).tolist():
        groups.setdefault(int(membership[node]), []).append(labels[node])
    # memberships are in name order, so each list is sorted and starts with its smallest
    ranked = sorted(groups.items(), key=lambda kv: (-float(score[kv[0]]), kv[1][0]))
    return [accounts for _, accounts in ranked]
