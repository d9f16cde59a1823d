"""The account graph the report draws: which accounts, which links, and where they sit.

The browser only renders; everything that costs time is done here, once:

* **Nodes.** Every account of a flagged network, plus at most ``max_background_nodes`` other
  accounts: first those with a significant link to a flagged account (they show what a network
  is attached to), then those with any significant link, then a seeded random sample of the
  rest (the crowd the networks hide in). A case of 100,000 accounts thus draws a few thousand.
* **Links.** Per-signal edges with ``q <= alpha``, merged per pair of drawn accounts (summed
  weight, the signals, the most significant signal); at most :data:`MAX_GRAPH_EDGES`, links
  inside a network first, then the most significant.
* **Layout.** Each connected component is laid out by Fruchterman-Reingold (DrL above
  :data:`DRL_ABOVE` accounts) with igraph, seeded, then the components are packed in rows,
  largest first, and the unlinked accounts are set out in a grid after them, so networks
  appear as separate, compact clusters.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from typing import Any, Final

import igraph as ig
import numpy as np
import pyarrow as pa
from numpy.typing import NDArray

from cibscan.case import connect
from cibscan.report._inputs import DetectionOutputs

__all__ = ["DRL_ABOVE", "MAX_GRAPH_EDGES", "GraphView", "build_graph"]

#: Links drawn at most; more slow the browser down without showing more.
MAX_GRAPH_EDGES: Final = 60_000
#: Components larger than this are laid out with DrL, which scales better than FR.
DRL_ABOVE: Final = 3_000
#: Partners listed per account in the account view.
PARTNERS_PER_ACCOUNT: Final = 10

FloatArray = NDArray[np.float64]


@dataclass
class GraphView:
    """The drawn graph, in node order.

    Attributes
    ----------
    ids
        Account ids; flagged accounts first, in network rank order.
    network
        Index into the networks list, or -1 for background accounts.
    tier
        0 flagged, 1 linked to a flagged account, 2 other linked account, 3 sampled crowd.
    x, y
        Coordinates from the layout.
    edges
        ``(source index, target index, weight, strongest signal, all signals)`` per link.
    partners
        Account id -> ``(partner id, signals, weight)``, strongest first, from all significant
        links (also those not drawn).
    background_total
        Accounts outside the flagged networks in the case, drawn or not.
    edges_total
        Significant links among drawn accounts before the :data:`MAX_GRAPH_EDGES` cut.
    """

    ids: list[str]
    network: list[int]
    tier: list[int]
    x: list[float]
    y: list[float]
    edges: list[tuple[int, int, float, str, str]]
    partners: dict[str, list[tuple[str, str, float]]] = field(default_factory=dict)
    background_total: int = 0
    edges_total: int = 0

    def index(self) -> dict[str, int]:
        """Account id -> node index."""
        return {a: i for i, a in enumerate(self.ids)}


def _significant_links(outputs: DetectionOutputs) -> pa.Table:
    """Per-pair merge of the significant per-signal edges."""
    con = connect()
    try:
        con.register(
            "edges_in", outputs.edges.select(["source", "target", "signal", "weight", "q_value"])
        )
        # alpha is a float from the config; formatted with repr it is a plain SQL literal.
        return con.sql(
            f"""
            SELECT least(source, target) AS a, greatest(source, target) AS b,
                   sum(weight)::DOUBLE AS weight,
                   arg_min(signal, (q_value, signal)) AS top_signal,
                   string_agg(DISTINCT signal, ',' ORDER BY signal) AS signals,
                   min(q_value) AS q
            FROM edges_in
            WHERE q_value <= {float(outputs.alpha)!r}
              AND source IS NOT NULL AND target IS NOT NULL AND source <> target
            GROUP BY 1, 2
            ORDER BY q, weight DESC, a, b
            """
        ).to_arrow_table()
    finally:
        con.close()


def _partners(
    links: dict[str, list[Any]], wanted: set[str]
) -> dict[str, list[tuple[str, str, float]]]:
    found: dict[str, list[tuple[str, str, float]]] = {}
    for a, b, w, signals in zip(
        links["a"], links["b"], links["weight"], links["signals"], strict=True
    ):
        if a in wanted:
            found.setdefault(a, []).append((b, signals, w))
        if b in wanted:
            found.setdefault(b, []).append((a, signals, w))
    return {
        k: sorted(v, key=lambda p: (-p[2], p[0]))[:PARTNERS_PER_ACCOUNT] for k, v in found.items()
    }


def _select_background(
    outputs: DetectionOutputs,
    flagged: set[str],
    links: dict[str, list[Any]],
    limit: int,
    seed: int,
) -> tuple[list[str], list[int], int]:
    """Pick the background accounts to draw, with their tier; also count all of them."""
    everyone = [a for a in outputs.accounts["account_id"].to_pylist() if a is not None]
    score = dict(zip(everyone, outputs.accounts["score"].fill_null(0.0).to_pylist(), strict=False))
    background = sorted({a for a in everyone if a not in flagged})
    near: set[str] = set()
    linked: set[str] = set()
    for a, b in zip(links["a"], links["b"], strict=True):
        a_in, b_in = a in flagged, b in flagged
        if a_in and not b_in:
            near.add(b)
        elif b_in and not a_in:
            near.add(a)
        elif not a_in and not b_in:
            linked.update((a, b))
    linked -= near
    # Accounts linked to the drawn ones but absent from accounts.csv still deserve a place.
    for extra in sorted((near | linked) - set(background)):
        background.append(extra)
    rng = np.random.default_rng(seed)
    crowd = [a for a in background if a not in near and a not in linked]
    order = rng.permutation(len(crowd))
    chosen: list[str] = []
    tiers: list[int] = []
    for tier, group in (
        (1, sorted(near, key=lambda a: (-score.get(a, 0.0), a))),
        (2, sorted(linked, key=lambda a: (-score.get(a, 0.0), a))),
        (3, [crowd[i] for i in order]),
    ):
        for account in group:
            if len(chosen) >= limit:
                break
            chosen.append(account)
            tiers.append(tier)
    return chosen, tiers, len(background)


def _component_layout(
    graph: ig.Graph, weights: list[float], seed: int, *, scale: float = 1.0
) -> FloatArray:
    n = graph.vcount()
    rng = np.random.default_rng(seed)
    start = rng.uniform(-1.0, 1.0, size=(n, 2)).tolist()
    if n > DRL_ABOVE:
        layout = graph.layout_drl(weights=weights, seed=start)
    else:
        niter = 500 if n <= 500 else 300
        layout = graph.layout_fruchterman_reingold(
            weights=weights, niter=niter, seed=start, grid="nogrid" if n <= 1000 else "grid"
        )
    coords = np.asarray(layout.coords, dtype=np.float64)
    coords -= coords.mean(axis=0)
    radius = float(np.sqrt((coords**2).sum(axis=1)).max()) if n > 1 else 0.0
    # Area proportional to the number of accounts, so big networks look big.
    target = scale * math.sqrt(n)
    return coords * (target / radius) if radius > 0 else coords


def _pack(pieces: list[tuple[list[int], FloatArray]], singles: list[int], n: int) -> FloatArray:
    """Place laid-out components in rows (largest first), then unlinked nodes in a grid."""
    xy = np.zeros((n, 2), dtype=np.float64)
    pad = 1.5
    boxes: list[tuple[list[int], FloatArray, float]] = []
    for nodes, coords in pieces:
        side = 2 * float(np.abs(coords).max()) + pad if len(nodes) > 1 else pad
        boxes.append((nodes, coords, side))
    if singles:
        # Unlinked accounts on a sunflower (Vogel) spiral: an even, organic-looking cloud
        # rather than a grid that reads as structure.
        k = np.arange(len(singles), dtype=np.float64)
        radius = 0.6 * np.sqrt(k + 0.5)
        angle = k * math.radians(137.50776)
        cloud = np.column_stack([radius * np.cos(angle), radius * np.sin(angle)])
        boxes.append((singles, cloud, float(np.abs(cloud).max()) * 2 + pad))
    area = sum(side * side for _, _, side in boxes)
    width = max(max((side for _, _, side in boxes), default=1.0), math.sqrt(area) * 1.15)
    cursor_x = cursor_y = row_height = 0.0
    for nodes, coords, side in boxes:
        if cursor_x > 0 and cursor_x + side > width:
            cursor_x = 0.0
            cursor_y += row_height
            row_height = 0.0
        centre = np.array([cursor_x + side / 2, cursor_y + side / 2])
        xy[nodes] = coords + centre
        cursor_x += side
        row_height = max(row_height, side)
    # Rows were stacked downwards; renderers put y upwards, so flip to keep the first row on top.
    xy[:, 1] = -xy[:, 1]
    return xy


def layout_graph(
    n: int,
    edges: list[tuple[int, int, float, str, str]],
    seed: int,
    emphasised: set[int] | None = None,
) -> FloatArray:
    """Coordinates for ``n`` nodes linked by ``edges``; components packed side by side.

    Components holding an ``emphasised`` node (a flagged account) get twice the room, so the
    networks stand out from the background around them.
    """
    emphasised = emphasised or set()
    graph = ig.Graph(n=n, edges=[(s, t) for s, t, *_ in edges])
    graph.es["weight"] = [math.log1p(w) + 1.0 for _, _, w, *_ in edges]
    pieces: list[tuple[list[int], FloatArray]] = []
    singles: list[int] = []
    # igraph draws from its own generator for DrL; seed it and give the default back after.
    ig.set_random_number_generator(random.Random(seed))
    try:
        for number, members in enumerate(
            sorted(graph.connected_components(), key=lambda c: (-len(c), min(c)))
        ):
            if len(members) == 1:
                singles.append(members[0])
                continue
            sub = graph.subgraph(members)
            scale = 2.0 if any(m in emphasised for m in members) else 1.0
            coords = _component_layout(sub, sub.es["weight"], seed + number, scale=scale)
            pieces.append((list(members), coords))
    finally:
        ig.set_random_number_generator(random)
    return _pack(pieces, singles, n)


def build_graph(outputs: DetectionOutputs, *, max_background_nodes: int, seed: int) -> GraphView:
    """Choose the accounts and links to draw and lay them out.

    Parameters
    ----------
    outputs
        The detect outputs.
    max_background_nodes
        Accounts outside flagged networks drawn at most.
    seed
        Seed of the background sample and of the layout.
    """
    ids: list[str] = []
    network: list[int] = []
    seen: set[str] = set()
    for number, net in enumerate(outputs.networks):
        for account in net["accounts"]:
            account = str(account)
            if account not in seen:
                seen.add(account)
                ids.append(account)
                network.append(number)
    tier = [0] * len(ids)
    links = _significant_links(outputs).to_pydict()
    chosen, tiers, background_total = _select_background(
        outputs, seen, links, max(0, max_background_nodes), seed
    )
    ids.extend(chosen)
    network.extend([-1] * len(chosen))
    tier.extend(tiers)
    index = {a: i for i, a in enumerate(ids)}
    drawn: list[tuple[int, int, float, str, str, int]] = []
    for a, b, w, top, signals in zip(
        links["a"], links["b"], links["weight"], links["top_signal"], links["signals"], strict=True
    ):
        i, j = index.get(a), index.get(b)
        if i is None or j is None:
            continue
        inside = network[i] >= 0 and network[i] == network[j]
        # Links are already in significance order; inside-network links go first.
        drawn.append((i, j, float(w), str(top), str(signals), 0 if inside else 1))
    edges_total = len(drawn)
    drawn.sort(key=lambda e: e[5])  # stable: keeps significance order within each class
    edges = [e[:5] for e in drawn[:MAX_GRAPH_EDGES]]
    xy = layout_graph(len(ids), edges, seed, {i for i, t in enumerate(tier) if t == 0})
    wanted = {a for a, t in zip(ids, tier, strict=True) if t <= 2}
    return GraphView(
        ids=ids,
        network=network,
        tier=tier,
        x=[round(float(v), 3) for v in xy[:, 0]],
        y=[round(float(v), 3) for v in xy[:, 1]],
        edges=edges,
        partners=_partners(links, wanted),
        background_total=background_total,
        edges_total=edges_total,
    )
