"""Detection: from a case to ranked networks of coordinated accounts.

The path: :func:`cibscan.networks.networks` (co-action edges per signal, weight-1 edges
included) → :func:`cibscan.significance.signal_null` and :func:`~cibscan.significance.edge_pvalues`
(p- and q-values per signal) → :func:`~cibscan.significance.fuse_signals` (one fused edge per
pair) → :func:`cibscan.clusters.cluster_accounts` (Leiden networks, account and network scores).
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Final

import duckdb
import numpy as np
import pyarrow as pa

from cibscan.assessment import AssessmentConfig, assess_groups, enrichment_pvalue
from cibscan.case import Case, connect, open_case
from cibscan.clusters import (
    ClusterConfig,
    Clustering,
    cluster_accounts,
    communities,
    leiden_membership,
)
from cibscan.coaction import pair_events_sql
from cibscan.errors import ConfigError
from cibscan.export import atomic_path, write_csv, write_parquet
from cibscan.networks import NetworkResult, networks
from cibscan.significance import (
    EDGE_MIN_WEIGHT,
    SignalNull,
    benjamini_hochberg,
    edge_pvalues,
    expected_sql,
    fuse_signals,
    poisson_tail,
    signal_null,
)
from cibscan.traces import SIGNALS, traces

__all__ = [
    "DETECT_SIGNALS",
    "EDGE_MIN_WEIGHT",
    "SPLIT_BLOCK_SECONDS",
    "TAKEDOWN_FORMATS",
    "TESTED_EDGE_COLUMNS",
    "DetectConfig",
    "Detection",
    "HeldOutSplitTest",
    "attributed_case",
    "coaction_networks",
    "detect",
    "group_test",
    "merge_tested_groups",
    "split_block_us",
    "write_detection",
]

#: Signals used by default: every item-based trace that is specific to an account's choice.
#: ``hashtag``, ``mention`` and ``domain`` are left out: one popular hashtag, a celebrity or a
#: big news site is shared by crowds, and their sequence/text forms carry the coordination.
DETECT_SIGNALS: tuple[str, ...] = (
    "share",
    "link",
    "reply",
    "hashtag_seq",
    "text",
    "near_text",
    "media",
)


#: Columns of the exported per-signal edges (``edges.parquet``, ``edges.csv``).
TESTED_EDGE_COLUMNS: tuple[str, ...] = (
    "source",
    "target",
    "signal",
    "weight",
    "events",
    "min_gap",
    "median_gap",
    "expected",
    "p_value",
    "q_value",
)


@dataclass(frozen=True)
class DetectConfig:
    """Options of ``cibscan detect``.

    Parameters
    ----------
    signals
        Signals whose co-action is tested (see :data:`cibscan.traces.SIGNALS`).
    window
        Co-action window in seconds (inclusive).
    hot_item_cap
        Items with more posts than this inside one window are not enumerated pair by pair
        (they are listed as hot items and left out of the null model too).
    evidence_limit
        Evidence rows (post pairs) kept per edge and signal.
    alpha, min_size, resolution, seed
        See :class:`cibscan.clusters.ClusterConfig`.
    group_test
        Also test whole groups of weakly tied accounts with sample splitting (see
        :func:`group_test` and ``docs/significance.md``); groups it confirms that the edge
        test missed go through the same marker assessment.
    min_markers
        Inauthenticity markers a coordinated group needs to be flagged as a network (see
        :mod:`cibscan.assessment`); ``0`` flags every coordinated group.
    automation_alone
        Let round-the-clock activity flag a group on its own; by default it needs another
        marker beside it, since openly automated feeds show it too (:mod:`cibscan.assessment`).
    office_alone
        Let an office-hours rhythm flag a group on its own when its members also post outside
        working hours; by default only members confined to working hours do, since staff who
        post about their work (newsrooms, ministries) keep office hours too.
    bio_alone
        Let a bio that a tenth of the group shares flag it on its own; by default a reused bio
        supports a flag (a fan club or a campaign declares itself in its bios), and a reused
        display name or profile image still flags.
    flag_declared
        Count accounts that declare that they are automated (``bot`` in the handle or name,
        "automated" in the bio, ...) like any other. By default their markers do not count, and
        a group most of whose accounts declare it (an open fleet of headline or alert bots) is
        listed among the coordinated groups, with ``declared_automation``
        (:mod:`cibscan.assessment`).
    attributed
        ``"yes"``: every account of the case was attributed to an operation by a platform (a
        takedown archive), so the question is the operation's structure, not whether it
        coordinated. Networks are then the communities of the co-action graph (pairs that
        co-acted on at least two items, weighted by their co-actions), every one of at least
        ``min_size`` accounts is reported as a network, markers are measured but not required,
        and the group test does not run; the edges keep their p- and q-values. ``"auto"`` (the
        default): yes when every posts file of the case is a takedown archive
        (:data:`TAKEDOWN_FORMATS`); ``"no"``: never. See :func:`attributed_case`.
    attach_assets
        Add the Pages and Groups that a group's accounts administer (``memberships``) to it,
        and, once a network is flagged, every asset most of whose admins are in it.
    attach_infra_links
        Once a network is flagged, add the accounts that use its own IP addresses or devices
        (``infra``; see :func:`_infrastructure_links`).
    max_proposal_pairs
        The group test proposes candidates from at most this many pairs per half, the most
        surprising (on large cases a fixed level lets millions of chance pairs through; the
        200,000-post scenarios propose from about 80,000, 10M posts from millions). It bounds
        the time of the proposing Leiden runs, not the validity of the test.
    engine, spark_master, spark_conf, spark_staging
        ``"spark"`` runs the networks and significance stages on Apache Spark
        (:func:`cibscan.spark.spark_detect_edges`, same answer); clustering and assessment stay
        on this machine. ``spark_conf`` holds ``(key, value)`` Spark settings;
        ``spark_staging`` is where the case's posts are exported for the executors (a path
        every executor reads; a temporary folder on this machine when ``None``).
    """

    signals: tuple[str, ...] = DETECT_SIGNALS
    window: float = 600.0
    hot_item_cap: int | None = 1000
    evidence_limit: int = 10
    alpha: float = 0.05
    min_size: int = 3
    resolution: float = 1.0
    seed: int = 0
    min_markers: int = 1
    automation_alone: bool = False
    office_alone: bool = False
    bio_alone: bool = False
    flag_declared: bool = False
    attributed: str = "auto"
    group_test: bool = True
    attach_assets: bool = True
    attach_infra_links: bool = True
    max_proposal_pairs: int = 1_000_000
    engine: str = "duckdb"
    spark_master: str | None = None
    spark_conf: tuple[tuple[str, str], ...] = ()
    spark_staging: str | None = None

    def __post_init__(self) -> None:
        if self.engine not in ("duckdb", "spark"):
            raise ConfigError(f"engine must be duckdb or spark, got {self.engine!r}")
        signals = self.signals
        if isinstance(signals, str):
            signals = tuple(s.strip() for s in signals.split(",") if s.strip())
            object.__setattr__(self, "signals", signals)
        for s in signals:
            if s not in SIGNALS:
                raise ConfigError(f"unknown signal {s!r}; choose from {', '.join(SIGNALS)}")
        if not self.window > 0:
            raise ConfigError(f"window must be positive, got {self.window}")
        if not 0 < self.alpha < 1:
            raise ConfigError(f"alpha must be in (0, 1), got {self.alpha}")
        if self.attributed not in ("auto", "yes", "no"):
            raise ConfigError(f"attributed must be auto, yes or no, got {self.attributed!r}")
        if self.max_proposal_pairs < 1:
            raise ConfigError(f"max_proposal_pairs must be >= 1, got {self.max_proposal_pairs}")
        self.cluster_config()  # validates alpha, min_size, resolution
        self.assessment_config()

    def assessment_config(self) -> AssessmentConfig:
        """The marker assessment's part of the configuration."""
        return AssessmentConfig(
            min_markers=self.min_markers,
            automation_alone=self.automation_alone,
            office_alone=self.office_alone,
            bio_alone=self.bio_alone,
            flag_declared=self.flag_declared,
        )

    def cluster_config(self) -> ClusterConfig:
        """The clustering part of the configuration."""
        return ClusterConfig(
            alpha=self.alpha, min_size=self.min_size, resolution=self.resolution, seed=self.seed
        )

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready configuration."""
        data = asdict(self)
        data["signals"] = list(self.signals)
        return data


#: Formats whose files hold only accounts that a platform attributed to an operation.
TAKEDOWN_FORMATS: Final = frozenset({"io-archive", "ira-tweets"})


def attributed_case(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether every posts file of the case is a takedown archive (:data:`TAKEDOWN_FORMATS`).

    A takedown archive holds the operation's accounts and nothing else. The null models of the
    significance test are estimated from the case itself, so in such a case co-action among the
    operation's accounts is what the case is made of and looks expected: on the ``office``
    scenario without its organic background, no edge passed the test. The operation's
    structure is then read from the co-action graph itself (``DetectConfig.attributed``).
    Adding organic posts of the same topic and time (any other format) makes the case testable
    again, and this returns ``False``.
    """
    rows = con.execute("SELECT DISTINCT format FROM sources WHERE table_name = 'posts'").fetchall()
    formats = {str(r[0]) for r in rows}
    return bool(formats) and formats <= TAKEDOWN_FORMATS


def _structure_edges(fused: pa.Table) -> pa.Table:
    """Fused edges for clustering an attributed case: every listed pair, weighted by its
    co-actions (items summed over signals) instead of its surprise; p and q are kept."""
    weight = pa.compute.cast(fused["weight"], pa.float64())
    return fused.set_column(fused.schema.get_field_index("surprise"), "surprise", weight)


@dataclass
class Detection:
    """The outcome of :func:`detect`."""

    accounts: pa.Table
    networks: list[dict[str, Any]]
    groups: list[dict[str, Any]]
    edges: pa.Table
    fused: pa.Table
    evidence: pa.Table
    hot_items: pa.Table
    nulls: dict[str, SignalNull]
    config: DetectConfig
    timings: dict[str, float] = field(default_factory=dict)
    attributed: bool = False

    def assignment(self) -> dict[str, str | None]:
        """Account id -> network id (``None`` outside networks)."""
        ids = self.accounts.column("account_id").to_pylist()
        nets = self.accounts.column("network_id").to_pylist()
        return dict(zip(ids, nets, strict=True))


def coaction_networks(case: Case, config: DetectConfig) -> NetworkResult:
    """The co-action edges (weight 2 up), evidence and hot items that :func:`detect` tests."""
    return networks(
        case.con,
        list(config.signals),
        window=config.window,
        min_weight=EDGE_MIN_WEIGHT,
        hot_item_cap=config.hot_item_cap,
        evidence_limit=config.evidence_limit,
    )


def detect(
    case: Case | str | os.PathLike[str],
    config: DetectConfig | None = None,
    *,
    coaction: NetworkResult | None = None,
) -> Detection:
    """Find coordinated networks in a case.

    Parameters
    ----------
    case
        An open case or the path of a case store.
    config
        Detection options.
    coaction
        The result of :func:`coaction_networks` for this case and config, when already
        computed (``cibscan investigate`` reuses it across runs); computed here when ``None``.

    Returns
    -------
    Detection
        Accounts (every account of the case, with ``network_id`` null outside networks),
        ranked networks, per-signal edges with ``expected``, ``p_value``, ``q_value``, fused
        edges, evidence and hot items.
    """
    cfg = config or DetectConfig()
    owned = not isinstance(case, Case)
    store = case if isinstance(case, Case) else open_case(case, create=False, read_only=True)
    timings: dict[str, float] = {}
    try:
        started = time.perf_counter()
        spark_stage = None
        if cfg.engine == "spark" and coaction is None:
            from cibscan.spark import spark_detect_edges

            staged = spark_detect_edges(
                store,
                cfg.signals,
                window=cfg.window,
                hot_item_cap=cfg.hot_item_cap,
                evidence_limit=cfg.evidence_limit,
                master=cfg.spark_master,
                conf=dict(cfg.spark_conf),
                staging=cfg.spark_staging,
            )
            coaction, spark_stage = staged.network, staged
        result = coaction if coaction is not None else coaction_networks(store, cfg)
        timings["networks"] = time.perf_counter() - started
        started = time.perf_counter()
        # On Spark the edges arrive tested; only the local steps below run here.
        tested: list[pa.Table] = [] if spark_stage is None else [spark_stage.edges]
        signal_traces: dict[str, pa.Table] = {}
        nulls: dict[str, SignalNull] = {} if spark_stage is None else dict(spark_stage.nulls)
        window_us = round(cfg.window * 1_000_000)
        for signal in cfg.signals if spark_stage is None else ():
            sig_edges = result.edges.filter(pa.compute.equal(result.edges["signal"], signal))
            hot = result.hot_items.filter(pa.compute.equal(result.hot_items["signal"], signal))
            tr = traces(store.con, signal, window=cfg.window)
            if cfg.group_test:
                signal_traces[signal] = tr
            null = signal_null(tr, signal, window_us, hot)
            nulls[signal] = null
            if sig_edges.num_rows:
                pairs = result.stats.get(signal, {}).get("co_acting_pairs")
                tested.append(edge_pvalues(sig_edges, null, tests=pairs))
        edges = (
            pa.concat_tables(tested)
            if tested
            else result.edges.append_column("expected", pa.array([], pa.float64()))
            .append_column("p_value", pa.array([], pa.float64()))
            .append_column("q_value", pa.array([], pa.float64()))
        )
        # Bonferroni over every signal tested: the pairs of weight 1 are not listed, so the
        # signals a pair has rows on undercount those it co-acted on.
        fused = fuse_signals(
            edges,
            signals=len(cfg.signals),
            tests=sum(int(s.get("co_acting_pairs", 0)) for s in result.stats.values()),
        )
        timings["significance"] = time.perf_counter() - started
        started = time.perf_counter()
        attributed = cfg.attributed == "yes" or (
            cfg.attributed == "auto" and attributed_case(store.con)
        )
        if attributed:  # structure, not significance: every listed pair, by its co-actions
            for signal in cfg.signals:
                if signal not in signal_traces:  # the Spark path tested edges remotely
                    signal_traces[signal] = traces(store.con, signal, window=cfg.window)
            split_test = HeldOutSplitTest(signal_traces, result.hot_items, cfg)
            clustering = cluster_accounts(
                _structure_edges(fused), replace(cfg.cluster_config(), alpha=1.0), split_test
            )
            split_tests: list[dict[str, Any]] = split_test.records
        else:
            clustering = cluster_accounts(fused, cfg.cluster_config())
            split_tests = []
        timings["clusters"] = time.perf_counter() - started
        started = time.perf_counter()
        groups = [dict(g) for g in clustering.networks]
        for g in groups:  # an attributed component's split test, on each of its networks
            for record in split_tests:
                if g["accounts"][0] in record["accounts"]:
                    g["split_test"] = {
                        "component_size": len(record["accounts"]),
                        "p_value": record["p_value"],
                        "split": record["split"],
                        "communities_proposed": record["proposed"],
                        "communities_kept": record["kept"],
                        "boundaries_tested": record["boundaries_tested"],
                        "boundary_p": next(
                            (b for kept, b in record["boundaries"] if g["accounts"][0] in kept),
                            None,
                        ),
                    }
        flagged, unflagged = _assess(
            store, groups, replace(cfg, min_markers=0) if attributed else cfg
        )
        timings["assessment"] = time.perf_counter() - started
        if cfg.group_test and not attributed:
            # Weak ties, proposed among every account: a confirmed group joins the flagged
            # networks it holds, absorbs the unflagged edge-test groups it overlaps, and is
            # assessed in turn.
            started = time.perf_counter()
            for signal in cfg.signals:
                if signal not in signal_traces:  # the Spark path tested edges remotely
                    signal_traces[signal] = traces(store.con, signal, window=cfg.window)
            covered = {a for g in flagged for a in g["accounts"]}
            # proposed among every account: a confirmed group that holds flagged networks
            # joins them into one (an operation the edge test saw in pieces)
            tested = group_test(signal_traces, result.hot_items, set(), cfg)
            merges, tested = absorb_flagged(flagged, tested, cfg.min_size)
            for merged, parts in merges:
                _count_links([merged], fused, cfg.alpha)
                others = covered - {a for p in parts for a in p["accounts"]}
                kept, _ = _assess(store, [merged], cfg, exclude=others, assessed=len(groups))
                if kept:  # the union shows a marker that flags: it replaces its parts
                    gone = {id(p) for p in parts}
                    at = min(i for i, g in enumerate(flagged) if id(g) in gone)
                    rest_flagged = [g for g in flagged if id(g) not in gone]
                    flagged = [*rest_flagged[:at], kept[0], *rest_flagged[at:]]
            covered = {a for g in flagged for a in g["accounts"]}
            remaining = [sorted(set(t["accounts"]) - covered) for t in tested]
            tested = [
                {**t, "accounts": left, "size": len(left)}
                for t, left in zip(tested, remaining, strict=True)
                if len(left) >= cfg.min_size
            ]
            pool = merge_tested_groups(unflagged, tested, cfg.min_size)
            fresh = [g for g in pool if g.get("group_test")]
            _count_links(fresh, fused, cfg.alpha)
            unflagged = [g for g in pool if not g.get("group_test")]
            timings["group_test"] = time.perf_counter() - started
            started = time.perf_counter()
            more, rest = _assess(store, fresh, cfg, exclude=covered, assessed=len(groups))
            flagged, unflagged = [*flagged, *more], [*unflagged, *rest]
            timings["assessment"] += time.perf_counter() - started
        flagged, unflagged = _finish(store, flagged, unflagged, cfg)
        accounts = _all_accounts(store, clustering, flagged, unflagged)
    finally:
        if owned:
            store.close()
    return Detection(
        accounts=accounts,
        networks=flagged,
        groups=unflagged,
        edges=edges,
        fused=fused,
        evidence=result.evidence,
        hot_items=result.hot_items,
        nulls=nulls,
        config=cfg,
        timings=timings,
        attributed=attributed,
    )


#: Label permutations of the held-out split test (its smallest p-value is 2 / 200).
SPLIT_PERMUTATIONS: Final = 199

#: At most this many boundary tests per component (about 30 ms each on 100 accounts); past
#: it, merging stops and the remaining communities stand (``boundaries_tested`` false).
SPLIT_BOUNDARY_TESTS: Final = 1000


class HeldOutSplitTest:
    """Whether a connected component's split into communities holds on held-out posts.

    Modularity finds communities in random graphs too, and in an attributed case every edge
    is kept: an operation whose accounts all act alike (one pool of amplifiers, each campaign
    message shared by a random handful) is split by Leiden into communities that are chance.
    Rewired graphs with the same degrees are no test of that: a co-action graph is a union of
    cliques (one per item), whose chance communities beat rewired graphs' (measured on the
    ``office`` scenario's amplifiers: modularity 0.09 against 0.055). So the split is tested by
    sample splitting, as :func:`group_test`: the traces are split into two halves by blocks of
    time (:func:`split_block_us`); Leiden proposes communities of the component on one half's
    co-actions (distinct items summed over signals); on the other half the proposal's
    modularity ``Σ_in w − Σ_c S_c² / 2W`` (``S_c``: a community's held-out strength, ``W``: the
    held-out weight) is compared with that of :data:`SPLIT_PERMUTATIONS` random relabellings
    of the same accounts (community sizes kept). Both directions are tried (Bonferroni: twice
    the smaller p-value); the split stands when that is at most ``alpha``. Each call is
    recorded in :attr:`records`.

    Parameters
    ----------
    signal_traces
        Each signal's traces (``account, item, time``).
    hot_items
        ``signal, item`` left out of the edge test; left out here too.
    cfg
        Detection options (``window``, ``alpha``, ``resolution``, ``seed``).
    """

    def __init__(
        self, signal_traces: dict[str, pa.Table], hot_items: pa.Table, cfg: DetectConfig
    ) -> None:
        self.cfg = cfg
        self.records: list[dict[str, Any]] = []
        self._halves: tuple[pa.Table, pa.Table] | None = None
        self._traces = signal_traces
        self._hot = hot_items

    def halves(self) -> tuple[pa.Table, pa.Table]:
        """``source, target, weight`` of each half (computed at the first call).

        Each signal's pairs are stored in DuckDB (which spills) and summed there; only the sum
        comes back.
        """
        if self._halves is None:
            window_us = round(self.cfg.window * 1_000_000)
            block_us = split_block_us(window_us)
            names: list[list[str]] = [[], []]
            con = connect()
            try:
                for j, signal in enumerate(sorted(self._traces)):
                    hot = self._hot.filter(pa.compute.equal(self._hot["signal"], signal))
                    for h, half in enumerate(_time_halves(self._traces[signal], hot, block_us)):
                        names[h].append(f"pairs_{h}_{j}")
                        _store_half_pairs(con, names[h][-1], half, window_us)
                empty = "SELECT NULL::VARCHAR AS source, NULL::VARCHAR AS target, 0 AS weight"
                summed = [
                    con.sql(
                        "SELECT source, target, CAST(sum(weight) AS BIGINT) AS weight FROM ("
                        + " UNION ALL ".join([f"SELECT * FROM {n}" for n in tables] or [empty])
                        + ") WHERE source IS NOT NULL GROUP BY source, target"
                        " ORDER BY source, target"
                    ).to_arrow_table()
                    for tables in names
                ]
            finally:
                con.close()
            self._halves = (summed[0], summed[1])
        return self._halves

    def __call__(self, communities: list[list[str]]) -> list[int]:
        """Which of a component's communities stand: the group of each (same group: merged).

        First the split of the whole component (all its accounts, in the graph's order) is
        tested; if it does not hold, the component is one group. If it does, a split found
        real may still carry chance boundaries (a real team beside a pool that Leiden cut in
        two), so the boundaries are tested in turn: for every two groups with a co-action
        between them, the split of their union is tested the same way; the two whose split is
        the least supported are merged while that p-value exceeds ``alpha``, and the tests of
        the merged group against its neighbours are redone, up to
        :data:`SPLIT_BOUNDARY_TESTS` tests.
        """
        accounts = [a for c in communities for a in c]
        names = pa.array(accounts, pa.string())
        local = [_local_edges(half, names) for half in self.halves()]
        community = np.repeat(np.arange(len(communities)), [len(c) for c in communities])
        group = community.copy()  # each account's group: its community's first, once merged

        def p_value(members: np.ndarray) -> float:  # held-out p of a split of these accounts
            index = np.cumsum(members) - 1
            kept = []
            for src, tgt, w in local:
                inside = members[src] & members[tgt]
                kept.append((index[src[inside]], index[tgt[inside]], w[inside]))
            n = int(members.sum())
            pvalues = [
                _held_out_split_p(n, kept[propose], kept[1 - propose], self.cfg, propose)
                for propose in (0, 1)
            ]
            return min(1.0, 2 * min(pvalues))

        def adjacent() -> list[tuple[int, int]]:  # groups with a co-action between them
            pairs: set[tuple[int, int]] = set()
            for src, tgt, _ in local:
                a, b = group[src], group[tgt]
                cross = a != b
                low, high = np.minimum(a[cross], b[cross]), np.maximum(a[cross], b[cross])
                pairs.update(zip(low.tolist(), high.tolist(), strict=True))
            return sorted(pairs)

        cache: dict[tuple[tuple[int, ...], tuple[int, ...]], float] = {}
        holds: dict[int, tuple[int, ...]] = {c: (c,) for c in range(len(communities))}

        def union_p(a: int, b: int) -> float:
            key = (holds[a], holds[b])
            if key not in cache:
                cache[key] = p_value((group == a) | (group == b))
            return cache[key]

        p = p_value(np.ones(len(accounts), dtype=bool))
        record: dict[str, Any] = {
            "accounts": set(accounts),
            "p_value": float(p),
            "split": bool(p <= self.cfg.alpha),
            "proposed": len(communities),
        }
        self.records.append(record)
        if not record["split"]:
            group[:] = 0
            holds = {0: tuple(holds)}
        record["boundaries_tested"] = bool(record["split"])
        while len(np.unique(group)) > 1:  # merge the least supported boundary while chance
            pairs = adjacent()
            if len(cache) + sum((holds[a], holds[b]) not in cache for a, b in pairs) > (
                SPLIT_BOUNDARY_TESTS
            ):
                record["boundaries_tested"] = False  # Leiden's remaining split stands
                break
            tested = [(union_p(a, b), a, b) for a, b in pairs]
            if not tested:
                break
            worst = max(tested, key=lambda t: (t[0], -t[1], -t[2]))
            if worst[0] <= self.cfg.alpha:
                break
            group[group == worst[2]] = worst[1]
            holds[worst[1]] = tuple(sorted(holds[worst[1]] + holds.pop(worst[2])))
        boundary: dict[int, float] = {}
        for a, b in adjacent() if record["boundaries_tested"] else []:
            q = union_p(a, b)
            for g in (a, b):
                boundary[g] = max(q, boundary.get(g, 0.0))
        kept = [int(g) for g in np.unique(group)]
        record["kept"] = len(kept)
        record["boundaries"] = [  # each kept group: its accounts, the largest p of its boundaries
            ({accounts[i] for i in np.flatnonzero(group == g).tolist()}, boundary.get(g))
            for g in kept
        ]
        starts = np.cumsum([0] + [len(c) for c in communities[:-1]])
        return [int(g) for g in group[starts]]  # a group is named by its first community


def _local_edges(pairs: pa.Table, names: pa.Array) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The pairs among ``names``: their positions in ``names`` and weights."""
    src, tgt = _positions(pairs["source"], names), _positions(pairs["target"], names)
    keep = (src >= 0) & (tgt >= 0)
    weight = np.asarray(pairs["weight"].to_numpy(zero_copy_only=False), dtype=float)
    return src[keep], tgt[keep], weight[keep]


def _held_out_split_p(
    n: int,
    propose: tuple[np.ndarray, np.ndarray, np.ndarray],
    test: tuple[np.ndarray, np.ndarray, np.ndarray],
    cfg: DetectConfig,
    direction: int,
) -> float:
    """Permutation p-value of the held-out modularity of the split proposed on one half."""
    if not len(propose[0]) or not len(test[0]):
        return 1.0
    found = leiden_membership(n, *propose, cfg.cluster_config())
    placed = np.zeros(n, dtype=bool)
    placed[propose[0]] = placed[propose[1]] = True
    labels = np.where(placed, found, -1)
    src, tgt, w = test
    keep = (labels[src] >= 0) & (labels[tgt] >= 0)
    src, tgt, w = src[keep], tgt[keep], w[keep]
    if not len(src) or len(np.unique(labels[placed])) < 2:
        return 1.0
    strength = np.bincount(src, weights=w, minlength=n) + np.bincount(tgt, weights=w, minlength=n)
    total = 2.0 * float(w.sum())
    where = np.flatnonzero(placed)
    size = int(labels.max()) + 1

    def modularity(lab: np.ndarray) -> float:
        inside = float(w[lab[src] == lab[tgt]].sum())
        by_community = np.bincount(lab[where], weights=strength[where], minlength=size)
        return inside - float((by_community**2).sum()) / total

    observed = modularity(labels)
    rng = np.random.default_rng([cfg.seed, direction, n])
    exceed = 0
    shuffled = labels.copy()
    for _ in range(SPLIT_PERMUTATIONS):
        shuffled[where] = rng.permutation(labels[where])
        exceed += int(modularity(shuffled) >= observed)
    return (1 + exceed) / (SPLIT_PERMUTATIONS + 1)


#: The group test's halves are blocks of time at least this long (and six windows).
SPLIT_BLOCK_SECONDS: Final = 3600.0


def split_block_us(window_us: int) -> int:
    """The width of the group test's time blocks: an hour, or six windows when that is longer.

    A co-action straddling two blocks is in neither half; with blocks six windows wide that is
    at most one pair in six at the window's full gap, and fewer at shorter gaps.

    Examples
    --------
    >>> split_block_us(600_000_000), split_block_us(3_600_000_000)
    (3600000000, 21600000000)
    """
    return max(round(SPLIT_BLOCK_SECONDS * 1_000_000), 6 * window_us)


def _time_halves(tr: pa.Table, hot: pa.Table, block_us: int) -> tuple[pa.Table, pa.Table]:
    """Split one signal's traces into two halves by blocks of time (hot items dropped).

    Every signal is split by the same blocks, so all the items of one post (its link, its text,
    its near-duplicate cluster) fall in the same half: a group proposed on one half is tested
    on other posts, not on the same posts seen through another signal. A block's half is the
    parity of the MD5 of its number (not Python's salted ``hash``): the same in every run, and
    independent of the ids.
    """
    con = connect()
    try:
        con.register("tr", tr.select(["account", "item", "time"]))
        con.register(
            "hot",
            hot.select(["item"]) if hot.num_rows else pa.table({"item": pa.array([], pa.string())}),
        )
        con.execute(
            "CREATE TEMP TABLE t AS SELECT account, item, time, ascii(md5(CAST(CAST("
            f"floor(epoch_us(time) / {int(block_us)}) AS BIGINT) AS VARCHAR))) % 2 AS half"
            " FROM tr WHERE item NOT IN (SELECT item FROM hot)"
        )
        halves = tuple(
            con.sql(
                f"SELECT account, item, time FROM t WHERE half = {h} ORDER BY item, account, time"
            ).to_arrow_table()
            for h in (0, 1)
        )
    finally:
        con.close()
    return halves[0], halves[1]


def _store_half_pairs(
    con: duckdb.DuckDBPyConnection, name: str, tr: pa.Table, window_us: int
) -> None:
    """Create table ``name``: ``source, target, weight`` (distinct items co-acted on within the
    window) of one half's traces.

    The pairs come from the co-action kernel (:func:`cibscan.coaction.pair_events_sql`, each post
    against its own and the next time bucket), so the work follows the pairs inside the window,
    not the square of an item's posts. They stay in DuckDB (which spills beyond its memory
    limit): on 10M posts a half holds hundreds of millions of pairs of weight 1.
    """
    view = f"_{name}_tr"
    con.register(view, tr.select(["account", "item", "time"]))
    try:
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE _{name}_acts AS SELECT item, account, us,"
            " row_number() OVER (ORDER BY item, account, us) AS post"
            f" FROM (SELECT DISTINCT item, account, epoch_us(time) AS us FROM {view})"
        )
    finally:
        con.unregister(view)
    events = pair_events_sql(f"(SELECT item, account, post, us AS t FROM _{name}_acts)", window_us)
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE {name} AS
        SELECT least(account_a, account_b) AS source, greatest(account_a, account_b) AS target,
               count(DISTINCT item) AS weight
        FROM ({events}) GROUP BY ALL
        """
    )
    con.execute(f"DROP TABLE _{name}_acts")


def _half_pairs(tr: pa.Table, window_us: int) -> pa.Table:
    """``source, target, weight`` of one half's traces (see :func:`_store_half_pairs`)."""
    con = connect()
    try:
        _store_half_pairs(con, "pairs", tr, window_us)
        return con.sql("SELECT * FROM pairs ORDER BY source, target").to_arrow_table()
    finally:
        con.close()


def _positions(values: pa.ChunkedArray | pa.Array, names: pa.Array) -> np.ndarray:
    """Index of each value in ``names`` (-1 when absent), vectorised."""
    found = pa.compute.index_in(values, value_set=names)
    return np.asarray(found.fill_null(-1).to_numpy(zero_copy_only=False), dtype=np.int64)


def _proposal_rows(
    con: duckdb.DuckDBPyConnection,
    pairs: str,
    degrees: str,
    incidences: int,
    alpha: float,
    budget: int,
) -> pa.Table:
    """``source, target, weight, expected`` of the pairs that may be surprising at ``alpha``.

    ``expected`` is ``λ_uv`` under the half's null (as in :func:`edge_pvalues`). A pair's tail
    ``P(X >= x)`` is at least its first term ``P(X = x)``, so pairs whose ``P(X = x)`` exceeds
    ``alpha`` cannot propose and are left in DuckDB. At most ``budget`` pairs leave it, the
    smallest first terms first (ties broken by the pair): on a large case the level alone lets
    hundreds of millions of chance pairs through.
    """
    return con.sql(
        f"""
        SELECT source, target, weight, expected FROM (
            SELECT *, -expected + weight * ln(greatest(expected, 1e-300)) - lgamma(weight + 1)
                   AS log_first FROM (
                SELECT e.source, e.target, e.weight,
                       {expected_sql("ds", "dt", incidences)} AS expected FROM {pairs} e
                LEFT JOIN {degrees} ds ON ds.account = e.source
                LEFT JOIN {degrees} dt ON dt.account = e.target))
        WHERE log_first <= {float(np.log(alpha))}
        ORDER BY log_first, source, target
        LIMIT {int(budget)}
        """
    ).to_arrow_table()


def _internal_pairs(
    con: duckdb.DuckDBPyConnection, pairs: str, members: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Member positions and weights of the pairs inside one candidate (``members``: account,
    pos, owner)."""
    rows = con.sql(
        f"""
        SELECT s.pos AS a, t.pos AS b, e.weight FROM {pairs} e
        JOIN {members} s ON s.account = e.source
        JOIN {members} t ON t.account = e.target AND t.owner = s.owner
        """
    ).to_arrow_table()
    return (
        rows.column("a").to_numpy(zero_copy_only=False).astype(np.int64),
        rows.column("b").to_numpy(zero_copy_only=False).astype(np.int64),
        rows.column("weight").to_numpy(zero_copy_only=False).astype(float),
    )


def _proposals(
    con: duckdb.DuckDBPyConnection,
    signals: list[str],
    nulls: list[dict[str, SignalNull]],
    covered: set[str],
    cfg: DetectConfig,
) -> list[tuple[list[str], int, int]]:
    """Candidate groups proposed on each half: (members, test half, partition)."""
    # Modularity has a resolution limit: in a large, sparse graph a small dense group is merged
    # into a big community. Candidates are therefore proposed at two resolutions (each a
    # partition of its own); Benjamini-Hochberg runs over all of them.
    resolutions = (cfg.resolution, 4 * cfg.resolution)
    candidates: list[tuple[list[str], int, int]] = []
    seen: set[tuple[int, frozenset[str]]] = set()
    partition = 0
    for propose in (0, 1):
        parts = []
        for j, signal in enumerate(signals):
            null = nulls[propose][signal]
            pr = _proposal_rows(
                con,
                f"pairs_{propose}_{j}",
                f"degrees_{propose}_{j}",
                null.incidences,
                cfg.alpha,
                # the fused budget is taken from these; a pair with evidence on several
                # signals need not be among any one signal's best, so twice it per signal
                2 * cfg.max_proposal_pairs,
            )
            if not pr.num_rows:
                continue
            tail = poisson_tail(
                pr.column("weight").to_numpy(zero_copy_only=False),
                pr.column("expected").to_numpy(zero_copy_only=False),
            )
            parts.append(
                pr.select(["source", "target"])
                .append_column("signal", pa.array([signal] * pr.num_rows, pa.string()))
                .append_column("weight", pr.column("weight"))
                .append_column("p_value", pa.array(tail))
            )
        if not parts:
            continue
        fused = fuse_signals(pa.concat_tables(parts))
        # Only pairs individually surprising at level alpha (no multiplicity correction) may
        # propose: the many pairs of ordinary accounts that met once on a busy item would
        # otherwise bind everyone active at the same hours into huge communities.
        fused = fused.filter(pa.compute.less_equal(fused["p_value"], cfg.alpha))
        if fused.num_rows > cfg.max_proposal_pairs:
            # On large cases a fixed level lets millions of chance pairs through; the pairs with
            # the most evidence summed over signals carry the groups (a pair of an operation
            # co-acts on its text, its links and its hashtags at once; a chance pair of two
            # barely active accounts on one item). Ties broken by the pair, for determinism.
            order = pa.compute.sort_indices(
                fused,
                sort_keys=[("surprise", "descending"), ("source", "ascending"),
                           ("target", "ascending")],
            )  # fmt: skip
            fused = fused.take(order.slice(0, cfg.max_proposal_pairs))
        for resolution in resolutions:
            partition += 1
            # two iterations: the communities only propose, the held-out half tests them
            ccfg = ClusterConfig(
                alpha=cfg.alpha,
                min_size=cfg.min_size,
                resolution=resolution,
                seed=cfg.seed,
                iterations=2,
            )
            for community in communities(fused, ccfg):
                members = [a for a in community if a not in covered]
                key = (1 - propose, frozenset(members))
                if len(members) >= cfg.min_size and key not in seen:
                    seen.add(key)
                    candidates.append((members, 1 - propose, partition))
    return candidates


def _held_out_sums(
    con: duckdb.DuckDBPyConnection,
    signals: list[str],
    nulls: list[dict[str, SignalNull]],
    candidates: list[tuple[list[str], int, int]],
) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    """Per candidate and signal on its test half: internal co-actions ``X``, expectation ``Λ``;
    per member, the best (smallest) tail of its own co-actions with the rest."""
    n = len(candidates)
    observed = np.zeros((n, len(signals)))
    expected = np.zeros((n, len(signals)))
    member_best = [np.ones(len(members)) for members, _, _ in candidates]
    for part in sorted({c[2] for c in candidates}):
        # the candidates of one partition are disjoint: each member has one position
        ids = [c for c, cand in enumerate(candidates) if cand[2] == part]
        test = candidates[ids[0]][1]
        names = pa.array([a for c in ids for a in candidates[c][0]], pa.string())
        owner = np.repeat(np.arange(len(ids)), [len(candidates[c][0]) for c in ids])
        starts = np.concatenate([[0], np.cumsum([len(candidates[c][0]) for c in ids])])
        # A table, not a registered Arrow view: with no statistics on the view the planner joins
        # the members with themselves on the owner first (quadratic in a partition's size).
        con.from_arrow(
            pa.table(
                {
                    "account": names,
                    "pos": pa.array(np.arange(len(names)), pa.int64()),
                    "owner": pa.array(owner, pa.int64()),
                }
            )
        ).create("_members")
        try:
            for j, signal in enumerate(signals):
                null = nulls[test][signal]
                scale = 2.0 * max(null.incidences, 1)
                src, tgt, w = _internal_pairs(con, f"pairs_{test}_{j}", "_members")
                observed[ids, j] += np.bincount(owner[src], weights=w, minlength=len(ids))
                own = np.bincount(src, weights=w, minlength=len(names)) + np.bincount(
                    tgt, weights=w, minlength=len(names)
                )
                deg = np.zeros(len(names))
                exp = np.zeros(len(names))
                at = _positions(null.degrees.column("account"), names)
                known = at >= 0
                deg[at[known]] = null.degrees.column("degree").to_numpy(zero_copy_only=False)[known]
                exp[at[known]] = null.degrees.column("exposure").to_numpy(zero_copy_only=False)[
                    known
                ]
                d_sum = np.bincount(owner, weights=deg, minlength=len(ids))
                a_sum = np.bincount(owner, weights=exp, minlength=len(ids))
                da_sum = np.bincount(owner, weights=deg * exp, minlength=len(ids))
                # Λ over all internal pairs, co-acting or not (closed form, as group_expected)
                expected[ids, j] = np.maximum(d_sum * a_sum - da_sum, 0.0) / scale
                # Λ_u = Σ_{v ≠ u} λ_uv for the trimming of chance members
                lam_u = (exp * (d_sum[owner] - deg) + deg * (a_sum[owner] - exp)) / scale
                tails_u = poisson_tail(own, lam_u)
                for k, c in enumerate(ids):
                    member_best[c] = np.minimum(member_best[c], tails_u[starts[k] : starts[k + 1]])
        finally:
            con.execute("DROP TABLE _members")
    return observed, expected, member_best


def group_test(
    signal_traces: dict[str, pa.Table],
    hot_items: pa.Table,
    covered: set[str],
    cfg: DetectConfig,
) -> list[dict[str, Any]]:
    """Groups of weakly tied accounts confirmed on held-out posts (sample splitting).

    The posts are split in two halves by blocks of time (:func:`split_block_us`, the same
    blocks for every signal). On one half every co-acting pair, weight 1
    included, is weighted by ``-log10 P(X ≥ x)`` (unconditional Poisson tail under that half's
    null) summed over signals, and Leiden (at ``resolution`` and four times it) proposes
    communities of at least ``min_size`` accounts not in ``covered`` (the flagged networks).
    On the other half, for each candidate and signal, the summed internal co-actions ``X`` are
    compared with the summed expectation ``Λ`` over all internal pairs (as
    :func:`cibscan.significance.group_expected`):
    ``p = P(Poisson(Λ) ≥ X)``, Bonferroni over signals and over the two directions, then
    Benjamini–Hochberg over all candidates at ``alpha``. Members whose own held-out co-actions
    with the rest of the group do not beat ``Λ_u = Σ_{v ≠ u} λ_uv`` (Bonferroni over signals
    and members) are dropped: Leiden attaches some accounts that met a real group by chance
    on the proposing half. Confirmed groups that overlap by at least half of the smaller are
    merged, and each merged group's members are then tested in the same way against the group
    itself (:func:`_retrim`): a member's ties to the rest of a large proposed community are not
    ties to the group it is reported in.

    Parameters
    ----------
    signal_traces
        Each signal's traces (``account, item, time``).
    hot_items
        ``signal, item`` left out of the edge test; left out here too.
    covered
        Accounts already in a coordinated group.
    cfg
        Detection options (``window``, ``alpha``, ``min_size``, ``resolution``, ``seed``).

    Returns
    -------
    list of dict
        One group per confirmed candidate set, shaped like :class:`cibscan.clusters.Clustering`
        networks, with a ``group_test`` record (p-value, q-value, per-signal ``X`` and ``Λ``).
    """
    window_us = round(cfg.window * 1_000_000)
    signals = sorted(signal_traces)
    con = connect()
    try:
        nulls = _store_halves(con, signal_traces, hot_items, window_us)
        candidates = _proposals(con, signals, nulls, covered, cfg)
        if not candidates:
            return []
        observed, expected, member_best = _held_out_sums(con, signals, nulls, candidates)
        merged, records, pvalues, q = _confirm(
            signals, candidates, observed, expected, member_best, cfg
        )
        kept_by = [set(r["members"]) for r in records]
        halves = [
            {a: {records[i]["test_half"] for i in g["tests"] if a in kept_by[i]} for a in g["set"]}
            for g in merged
        ]
        merged = _retrim(con, signals, nulls, merged, halves, cfg)
    finally:
        con.close()
    groups: list[dict[str, Any]] = []
    for rank, g in enumerate(merged, start=1):
        first = g["tests"][0]
        p, qv = pvalues[first], float(q[first])
        groups.append(
            {
                "id": f"T{rank}",
                "rank": rank,
                "accounts": sorted(g["set"]),
                "size": len(g["set"]),
                "score": round(-np.log10(max(p, 1e-300)), 6),
                "cohesion": 0.0,
                "internal_edges": 0,
                "mean_edge_surprise": 0.0,
                "estimated_fdr": qv,
                "edges_by_signal": {},
                "group_test": [
                    {
                        "proposed": records[i]["proposed"],
                        "kept": len(records[i]["members"]),
                        "test_half": records[i]["test_half"],
                        "p_value": pvalues[i],
                        "q_value": float(q[i]),
                        "by_signal": records[i]["by_signal"],
                    }
                    for i in g["tests"]
                ],
                **({"retrimmed": g["retrimmed"]} if g.get("retrimmed") else {}),
            }
        )
    return groups


def _store_halves(
    con: duckdb.DuckDBPyConnection,
    signal_traces: dict[str, pa.Table],
    hot_items: pa.Table,
    window_us: int,
) -> list[dict[str, SignalNull]]:
    """Split each signal's traces into the two halves of time blocks, store each half's
    co-acting pairs in ``con`` (``pairs_{half}_{j}``, ``degrees_{half}_{j}``, signals in sorted
    order) and return each half's null per signal."""
    block_us = split_block_us(window_us)
    nulls: list[dict[str, SignalNull]] = [{}, {}]
    for j, signal in enumerate(sorted(signal_traces)):
        hot = hot_items.filter(pa.compute.equal(hot_items["signal"], signal))
        for h, half in enumerate(_time_halves(signal_traces[signal], hot, block_us)):
            nulls[h][signal] = signal_null(half, signal, window_us)
            _store_half_pairs(con, f"pairs_{h}_{j}", half, window_us)
            con.register(f"degrees_{h}_{j}", nulls[h][signal].degrees)
    return nulls


def _confirm(
    signals: list[str],
    candidates: list[tuple[list[str], int, int]],
    observed: np.ndarray,
    expected: np.ndarray,
    member_best: list[np.ndarray],
    cfg: DetectConfig,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[float], np.ndarray]:
    """The candidates' tests, trims and merges: ``(merged, records, p-values, q-values)``;
    each merged group is ``{"set": accounts, "tests": record indices, strongest first}``."""
    tails = poisson_tail(observed, expected)
    pvalues = np.minimum(1.0, 2 * len(signals) * tails.min(axis=1)).tolist()
    records: list[dict[str, Any]] = []
    for c, (members, test, _part) in enumerate(candidates):
        # Bonferroni over signals and members: a chance member kept is a false account flagged
        member_q = np.minimum(1.0, member_best[c] * len(signals) * len(members))
        kept = [a for a, qv in zip(members, member_q.tolist(), strict=True) if qv <= cfg.alpha]
        by_signal = {
            signal: {
                "observed": float(observed[c, j]),
                "expected": float(expected[c, j]),
                "p_value": float(tails[c, j]),
            }
            for j, signal in enumerate(signals)
        }
        records.append(
            {"members": kept, "proposed": len(members), "by_signal": by_signal, "test_half": test}
        )
    q = benjamini_hochberg(np.array(pvalues))
    confirmed = sorted(
        (
            i
            for i in range(len(records))
            if q[i] <= cfg.alpha and len(records[i]["members"]) >= cfg.min_size
        ),
        key=lambda i: (pvalues[i], min(records[i]["members"])),
    )
    merged: list[dict[str, Any]] = []
    claimed: set[str] = set()
    for i in confirmed:  # strongest first; an account stays in the first group that claims it
        member = set(records[i]["members"])
        for g in merged:
            if len(member & g["set"]) * 2 >= min(len(member), len(g["set"])):
                g["set"] |= member - claimed
                g["tests"].append(i)
                break
        else:
            if len(member - claimed) >= cfg.min_size:
                merged.append({"set": member - claimed, "tests": [i]})
        claimed = set().union(*(g["set"] for g in merged))
    return merged, records, pvalues, q


#: Rounds of :func:`_retrim` at most (each only drops members; two or three settle it).
RETRIM_ROUNDS: Final = 8


def _retrim(
    con: duckdb.DuckDBPyConnection,
    signals: list[str],
    nulls: list[dict[str, SignalNull]],
    merged: list[dict[str, Any]],
    halves: list[dict[str, set[int]]],
    cfg: DetectConfig,
) -> list[dict[str, Any]]:
    """Trim each merged group again, against itself, until no member drops.

    A candidate's members were trimmed against the community Leiden proposed, which can be far
    larger than what is confirmed: 45 personas inside a proposed community of 3,443 accounts of
    an earthquake's crowd, where a few of the crowd's accounts beat their ``Λ_u`` on their
    co-actions with the rest of the *crowd*. Kept, they would be reported as members of the
    personas' group while acting with none of them. So each member must also beat its
    ``Λ_u`` on its co-actions with the rest of the group it is reported in, on the held-out
    half (or halves) of the tests that kept it (Bonferroni over signals, members and those
    halves, at ``alpha``), repeated while members drop; a group left with fewer than
    ``min_size`` accounts is dropped. It only removes members, so it cannot confirm anything
    the test did not.

    ``merged`` holds disjoint groups (``{"set": accounts, ...}``); ``halves`` maps each
    group's members to the test halves of the candidates that kept them; the pairs and nulls
    are those :func:`_store_halves` left in ``con``.
    """
    groups = [dict(g) for g in merged]
    for _ in range(RETRIM_ROUNDS):
        live = [i for i, g in enumerate(groups) if len(g["set"]) >= cfg.min_size]
        if not live:
            break
        best: dict[tuple[int, str], float] = {}
        for half in (0, 1):
            # the groups are disjoint: one "partition" per half
            on = [i for i in live if any(half in halves[i][a] for a in groups[i]["set"])]
            if not on:
                continue
            candidates = [(sorted(groups[i]["set"]), half, half) for i in on]
            _, _, tails = _held_out_sums(con, signals, nulls, candidates)
            for i, (members, _h, _p), t in zip(on, candidates, tails, strict=True):
                for a, tail in zip(members, t.tolist(), strict=True):
                    if half in halves[i][a]:
                        tried = len(halves[i][a])
                        best[i, a] = min(best.get((i, a), 1.0), tail * tried)
        changed = False
        for i in live:
            members = groups[i]["set"]
            scale = len(signals) * len(members)
            kept = {a for a in members if best.get((i, a), 1.0) * scale <= cfg.alpha}
            if len(kept) < len(members):
                changed = True
                dropped = groups[i].get("retrimmed", 0) + len(members) - len(kept)
                groups[i] = {**groups[i], "set": kept, "retrimmed": dropped}
        if not changed:
            break
    return [g for g in groups if len(g["set"]) >= cfg.min_size]


def _count_links(groups: list[dict[str, Any]], fused: pa.Table, alpha: float) -> None:
    """Set a group-test group's significant links among its accounts: ``internal_edges``,
    ``cohesion`` (their share of all pairs), ``mean_edge_surprise`` and ``edges_by_signal``, as
    the edge test's groups have them. The group test confirms a group on its co-actions as a
    whole; these are the pairs that are also significant on their own (q-value at most
    ``alpha``)."""
    if not groups or fused.num_rows == 0:
        return
    of = {a: i for i, g in enumerate(groups) for a in g["accounts"]}
    q = np.asarray(fused.column("q_value").to_numpy(zero_copy_only=False))
    sources = fused.column("source").to_pylist()
    targets = fused.column("target").to_pylist()
    signals = fused.column("signals").to_pylist()
    surprise = fused.column("surprise").to_pylist()
    internal = [0] * len(groups)
    total = [0.0] * len(groups)
    by_signal: list[dict[str, int]] = [{} for _ in groups]
    for s, t, sig, qv, w in zip(sources, targets, signals, q.tolist(), surprise, strict=True):
        i = of.get(s)
        if i is None or qv > alpha or of.get(t) != i:
            continue
        internal[i] += 1
        total[i] += float(w)
        for name in str(sig).split(","):
            by_signal[i][name] = by_signal[i].get(name, 0) + 1
    for g, n, w, counts in zip(groups, internal, total, by_signal, strict=True):
        possible = len(g["accounts"]) * (len(g["accounts"]) - 1) / 2
        g["internal_edges"] = n
        g["cohesion"] = round(n / possible, 6) if possible else 0.0
        g["mean_edge_surprise"] = round(w / n, 6) if n else 0.0
        g["edges_by_signal"] = dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def absorb_flagged(
    flagged: list[dict[str, Any]], tested: list[dict[str, Any]], min_size: int
) -> tuple[list[tuple[dict[str, Any], list[dict[str, Any]]]], list[dict[str, Any]]]:
    """Join flagged networks that one confirmed group holds.

    A confirmed group (strongest first) that holds at least half of each of several flagged
    networks, or of one while adding at least ``min_size`` accounts to it, joins them: the
    edge test saw one operation in pieces, the held-out test sees it whole. Accounts of the
    other flagged networks stay where they are. Returns the joined groups with the networks
    each would replace (the caller assesses the union and keeps it only when it is flagged),
    and the confirmed groups that joined nothing.

    Examples
    --------
    >>> flagged = [{"id": "N1", "accounts": ["a", "b", "c"], "score": 9.0},
    ...            {"id": "N2", "accounts": ["d", "e", "f"], "score": 8.0},
    ...            {"id": "N3", "accounts": ["x", "y", "z"], "score": 7.0}]
    >>> tested = [{"id": "T1", "accounts": ["a", "b", "d", "e", "g", "x"], "score": 5.0}]
    >>> merges, rest = absorb_flagged(flagged, tested, 3)
    >>> [(m["accounts"], [p["id"] for p in parts]) for m, parts in merges], rest
    ([(['a', 'b', 'c', 'd', 'e', 'f', 'g'], ['N1', 'N2'])], [])
    """
    merges: list[tuple[dict[str, Any], list[dict[str, Any]]]] = []
    rest: list[dict[str, Any]] = []
    used: set[int] = set()
    for confirmed in tested:
        members = set(confirmed["accounts"])
        parts = [
            i
            for i, g in enumerate(flagged)
            if i not in used and len(members & set(g["accounts"])) * 2 >= len(g["accounts"])
        ]
        before = {a for i in parts for a in flagged[i]["accounts"]}
        elsewhere = {a for i, g in enumerate(flagged) if i not in parts for a in g["accounts"]}
        accounts = (members | before) - elsewhere
        if not parts or (len(parts) == 1 and len(accounts - before) < min_size):
            rest.append(confirmed)
            continue
        used.update(parts)
        merged = dict(confirmed)
        merged["accounts"] = sorted(accounts)
        merged["size"] = len(accounts)
        merged["absorbed_groups"] = [flagged[i]["id"] for i in parts]
        merged["score"] = max([confirmed["score"], *(flagged[i]["score"] for i in parts)])
        merges.append((merged, [flagged[i] for i in parts]))
    return merges, rest


def merge_tested_groups(
    groups: list[dict[str, Any]], tested: list[dict[str, Any]], min_size: int
) -> list[dict[str, Any]]:
    """Merge the groups the group test confirmed with those the edge test found.

    The group test proposes among all accounts, so an operation whose strongest pairs made a
    few small edge-test groups is also seen whole. A confirmed group absorbs every edge-test
    group that shares at least half of the smaller of the two (they are one operation seen at two
    strengths), provided it adds at least ``min_size`` accounts to them (otherwise it only found
    them again, and their assessment stands); accounts of the other edge-test groups stay where
    they are. Confirmed groups are taken strongest first; one left with fewer than ``min_size``
    accounts is dropped. The result is ranked by score.

    Examples
    --------
    >>> edge = [{"id": "N1", "accounts": ["a", "b", "c"], "score": 9.0, "size": 3},
    ...         {"id": "N2", "accounts": ["x", "y", "z"], "score": 8.0, "size": 3}]
    >>> tested = [{"id": "T1", "accounts": ["a", "b", "d", "e", "f", "x"], "score": 5.0,
    ...            "size": 6}]
    >>> [(g["id"], g["accounts"]) for g in merge_tested_groups(edge, tested, 3)]
    [('T1', ['a', 'b', 'c', 'd', 'e', 'f']), ('N2', ['x', 'y', 'z'])]
    >>> again = [{"id": "T1", "accounts": ["a", "b", "c", "d"], "score": 5.0, "size": 4}]
    >>> [g["id"] for g in merge_tested_groups(edge, again, 3)]  # adds one account: N1 stands
    ['N1', 'N2']
    """
    kept = [dict(g) for g in groups]
    for confirmed in tested:
        members = set(confirmed["accounts"])
        absorbed = [
            g
            for g in kept
            if len(members & set(g["accounts"])) * 2 >= min(len(members), len(g["accounts"]))
        ]
        rest = [g for g in kept if g not in absorbed]
        elsewhere = {a for g in rest for a in g["accounts"]}
        before = {a for g in absorbed for a in g["accounts"]}
        accounts = (members | before) - elsewhere
        if len(accounts) < min_size or (absorbed and len(accounts - before) < min_size):
            # nothing but groups the edge test found and assessed already: they stay as they are
            continue
        merged = dict(confirmed)
        merged["accounts"] = sorted(accounts)
        merged["size"] = len(accounts)
        if absorbed:
            merged["absorbed_groups"] = [g["id"] for g in absorbed]
            merged["score"] = max([confirmed["score"], *(g["score"] for g in absorbed)])
            merged["internal_edges"] = sum(int(g.get("internal_edges", 0)) for g in absorbed)
            by_signal: dict[str, int] = {}
            for g in absorbed:
                for sig, n in g.get("edges_by_signal", {}).items():
                    by_signal[sig] = by_signal.get(sig, 0) + int(n)
            merged["edges_by_signal"] = dict(
                sorted(by_signal.items(), key=lambda kv: (-kv[1], kv[0]))
            )
        kept = [*rest, merged]
    # ranked by score, as the edge test's groups are (a merged group keeps the higher score)
    return sorted(kept, key=lambda g: (-float(g["score"]), min(g["accounts"])))


def _attached_assets(
    case: Case, groups: list[dict[str, Any]], exclude: set[str] | None = None
) -> dict[str, str]:
    """Pages and Groups administered by a group's accounts: asset id -> group id.

    An asset joins the group that holds most of its admins, when that is at least half of its
    admins; assets already in a group (or in ``exclude``) stay.
    """
    members = [(a, g["id"]) for g in groups for a in g["accounts"]]
    if not members:
        return {}
    table = pa.table({"account_id": [m[0] for m in members], "group_id": [m[1] for m in members]})
    con = case.con
    con.register("_members", table)
    con.register(
        "_elsewhere", pa.table({"account_id": pa.array(sorted(exclude or ()), pa.string())})
    )
    try:
        rows = con.execute(
            """
            WITH admins AS (
                SELECT DISTINCT asset_id, account_id FROM memberships
                WHERE lower(coalesce(role, 'admin')) IN ('admin', 'owner', 'editor', 'manager')
            ),
            runs AS (SELECT asset_id, count(*) AS admins FROM admins GROUP BY asset_id)
            SELECT asset_id, arg_min(group_id, (-n, group_id)) FROM (
                SELECT a.asset_id, g.group_id, count(*) AS n FROM admins a
                JOIN _members g ON g.account_id = a.account_id
                WHERE a.asset_id NOT IN (SELECT account_id FROM _members)
                  AND a.asset_id NOT IN (SELECT account_id FROM _elsewhere)
                GROUP BY ALL) JOIN runs USING (asset_id)
            WHERE 2 * n >= admins
            GROUP BY asset_id ORDER BY asset_id
            """
        ).fetchall()
    finally:
        con.unregister("_members")
        con.unregister("_elsewhere")
    return {str(asset): str(group) for asset, group in rows}


def _assess(
    case: Case,
    groups: list[dict[str, Any]],
    cfg: DetectConfig,
    *,
    exclude: set[str] | None = None,
    assessed: int = 0,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Split the coordinated groups into flagged networks and groups without markers.

    ``exclude``: accounts already in networks (their assets stay there); ``assessed``: groups
    assessed before, which count in the markers' multiplicity.
    """
    if cfg.attach_assets:
        attached = _attached_assets(case, groups, exclude or set())
        for g in groups:
            assets = sorted(a for a, gid in attached.items() if gid == g["id"])
            g["administered_assets"] = assets
            g["accounts"] = sorted([*g["accounts"], *assets])
            g["size"] = len(g["accounts"])
    assignment = pa.table(
        {
            "account_id": pa.array([a for g in groups for a in g["accounts"]], pa.string()),
            "network_id": pa.array([g["id"] for g in groups for _ in g["accounts"]], pa.string()),
        }
    )
    acfg = cfg.assessment_config()
    verdicts = assess_groups(case.con, assignment, acfg, tested_groups=assessed + len(groups))
    flagged: list[dict[str, Any]] = []
    unflagged: list[dict[str, Any]] = []
    for g in groups:  # already ranked by score
        verdict = verdicts.get(g["id"])
        g["group_id"] = g["id"]
        g["markers"] = verdict.markers if verdict else []
        if verdict is not None:
            g["rhythm"] = verdict.rhythm
            g["creation"] = verdict.creation
            if verdict.infra is not None:
                g["infra"] = verdict.infra
            if verdict.declared is not None:
                g["declared_automation"] = verdict.declared
        rhythm = g.get("rhythm", {})
        g["utc_offset_hours"] = rhythm.get("utc_offset_hours")
        g["utc_offset_confidence"] = rhythm.get("utc_offset_confidence", 0.0)
        g["rhythm_label"] = rhythm.get("rhythm", "unknown")
        if verdict is not None and verdict.flagged(acfg):
            flagged.append(g)
        else:
            unflagged.append(g)
    return flagged, unflagged


def _finish(
    case: Case, flagged: list[dict[str, Any]], unflagged: list[dict[str, Any]], cfg: DetectConfig
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Attach what the platform's records tie to each flagged network; number the lists."""
    if cfg.attach_assets and flagged:
        unflagged = _assets_follow_networks(case, flagged, unflagged, cfg.min_size)
    if cfg.attach_infra_links and flagged:
        unflagged = _infrastructure_links(case, flagged, unflagged, cfg)
    for rank, g in enumerate(flagged, start=1):
        g["id"], g["rank"] = f"N{rank}", rank
    for rank, g in enumerate(unflagged, start=1):
        g["id"], g["rank"] = f"G{rank}", rank
    return flagged, unflagged


def _scalar(con: Any, sql: str) -> int:
    rows = con.execute(sql).fetchall()
    return int(rows[0][0]) if rows and rows[0][0] is not None else 0


def _infrastructure_links(
    case: Case, flagged: list[dict[str, Any]], unflagged: list[dict[str, Any]], cfg: DetectConfig
) -> list[dict[str, Any]]:
    """Accounts that log in from a flagged network's own IP addresses or devices join it.

    A value (an IP address or a device id) is the network's own when at least three of its
    accounts use it, more of its accounts than other accounts do, and the enrichment is
    significant: ``P(X >= inside)`` for a hypergeometric draw of the network's accounts with
    infrastructure records from the case's, Bonferroni-adjusted over every value tested,
    at most ``alpha``. The other accounts using such a value are linked to the network (listed
    in ``linked_by_infrastructure``), leaving any coordinated group they were in. Only cases with
    platform-side records (the ``infra`` table) have such links.
    """
    con = case.con
    if not _scalar(con, "SELECT count(*) FROM infra"):
        return unflagged
    members = [(a, g["id"]) for g in flagged for a in g["accounts"]]
    con.register(
        "_net",
        pa.table({"account_id": [m[0] for m in members], "nid": [m[1] for m in members]}),
    )
    try:
        rows = con.execute(
            """
            WITH vals AS (
                SELECT DISTINCT 'ip' AS field, ip AS value, account_id FROM infra
                WHERE coalesce(ip, '') <> ''
                UNION ALL
                SELECT DISTINCT 'device_id', device_id, account_id FROM infra
                WHERE coalesce(device_id, '') <> ''
            ),
            per AS (
                SELECT v.field, v.value, n.nid, count(*) AS inside,
                       any_value(t.total) AS total
                FROM vals v JOIN _net n USING (account_id)
                JOIN (SELECT field, value, count(*) AS total FROM vals GROUP BY ALL) t
                    USING (field, value)
                GROUP BY ALL
            )
            SELECT p.field, p.value, p.nid, p.inside, p.total,
                   list(v.account_id ORDER BY v.account_id) FILTER (
                       WHERE v.account_id NOT IN (SELECT account_id FROM _net)) AS outside
            FROM per p JOIN vals v USING (field, value)
            WHERE p.inside >= 3 AND p.total - p.inside < p.inside
            GROUP BY ALL ORDER BY p.nid, p.field, p.value
            """
        ).fetchall()
        population = _scalar(con, "SELECT count(DISTINCT account_id) FROM infra")
        with_infra = dict(
            con.execute(
                "SELECT n.nid, count(DISTINCT i.account_id) FROM infra i"
                " JOIN _net n USING (account_id) GROUP BY n.nid"
            ).fetchall()
        )
        tested = _scalar(
            con,
            "SELECT count(*) FROM (SELECT DISTINCT ip FROM infra UNION ALL"
            " SELECT DISTINCT device_id FROM infra)",
        )
    finally:
        con.unregister("_net")
    linked: dict[str, dict[str, list[str]]] = {}
    for kind, value, nid, inside, total, outside in rows:
        p = enrichment_pvalue(int(inside), int(total), int(with_infra.get(nid, 0)), population)
        if not outside or min(1.0, p * max(tested, 1)) > cfg.alpha:
            continue
        for account in outside:
            linked.setdefault(str(account), {}).setdefault(str(nid), []).append(f"{kind}:{value}")
    if not linked:
        return unflagged
    joined: dict[str, str] = {}
    for account, by_network in linked.items():
        # the network it shares the most values with (then the best ranked)
        nid = min(by_network, key=lambda n: (-len(by_network[n]), n))
        joined[account] = nid
    by_id = {g["id"]: g for g in flagged}
    for account, nid in sorted(joined.items()):
        g = by_id[nid]
        g.setdefault("linked_by_infrastructure", []).append(account)
        g["accounts"] = sorted({*g["accounts"], account})
        g["size"] = len(g["accounts"])
    kept: list[dict[str, Any]] = []
    for g in unflagged:
        remaining = [a for a in g["accounts"] if a not in joined]
        g["accounts"], g["size"] = remaining, len(remaining)
        if g["size"] >= cfg.min_size:
            kept.append(g)
    return kept


def _assets_follow_networks(
    case: Case, flagged: list[dict[str, Any]], unflagged: list[dict[str, Any]], min_size: int
) -> list[dict[str, Any]]:
    """Pages and Groups run by a flagged network join it, wherever the co-action put them.

    Before the assessment an asset joins the group of most of its admins only when it is in no
    group; a set of Pages that co-act among themselves forms a group of its own, which may show
    no marker. Who runs an asset is the platform's record (``memberships``), not an inference,
    so once a network is flagged, every asset most of whose admins are in it joins it. Groups
    left with fewer than ``min_size`` accounts are dissolved.
    """
    attached = _attached_assets(case, flagged)
    if not attached:
        return unflagged
    by_network: dict[str, list[str]] = {}
    for asset, nid in attached.items():
        by_network.setdefault(nid, []).append(asset)
    for g in flagged:
        assets = sorted(by_network.get(g["id"], []))
        if assets:
            g["administered_assets"] = sorted({*g.get("administered_assets", []), *assets})
            g["accounts"] = sorted({*g["accounts"], *assets})
            g["size"] = len(g["accounts"])
    kept: list[dict[str, Any]] = []
    for g in unflagged:
        remaining = [a for a in g["accounts"] if a not in attached]
        if len(remaining) != len(g["accounts"]):
            g["accounts"] = remaining
            g["administered_assets"] = [
                a for a in g.get("administered_assets", []) if a not in attached
            ]
            g["size"] = len(remaining)
        if g["size"] >= min_size:
            kept.append(g)
    return kept


def _all_accounts(
    case: Case,
    clustering: Clustering,
    flagged: list[dict[str, Any]],
    unflagged: list[dict[str, Any]],
) -> pa.Table:
    """Every account of the case with its network (flagged) or coordinated group (not)."""
    membership = [(a, g["id"], None) for g in flagged for a in g["accounts"]]
    membership += [(a, None, g["id"]) for g in unflagged for a in g["accounts"]]
    groups = pa.table(
        {
            "account_id": pa.array([m[0] for m in membership], pa.string()),
            "network_id": pa.array([m[1] for m in membership], pa.string()),
            "group_id": pa.array([m[2] for m in membership], pa.string()),
        }
    )
    con = case.con
    con.register("_scored", clustering.accounts.drop_columns(["network_id"]))
    con.register("_groups", groups)
    try:
        return con.sql(
            """
            SELECT a.account_id, g.network_id, coalesce(s.score, 0.0) AS score,
                   coalesce(s.top_signals, '') AS top_signals,
                   coalesce(s.pagerank, 0.0) AS pagerank, coalesce(s.degree, 0) AS degree,
                   g.group_id AS coordinated_group
            FROM (SELECT account_id FROM accounts UNION SELECT account_id FROM posts
                  UNION SELECT account_id FROM _scored) a
            LEFT JOIN _scored s USING (account_id)
            LEFT JOIN _groups g USING (account_id)
            ORDER BY score DESC, a.account_id
            """
        ).to_arrow_table()
    finally:
        con.unregister("_scored")
        con.unregister("_groups")


def write_detection(
    detection: Detection, out: str | os.PathLike[str], *, extra: dict[str, Any] | None = None
) -> dict[str, Path]:
    """Write ``accounts.csv``, ``networks.json``, ``edges.parquet`` and ``evidence.parquet``.

    Every file is written to a temporary name and renamed, so an interrupted run leaves no
    half-written output.
    """
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    paths = {
        "accounts": folder / "accounts.csv",
        "networks": folder / "networks.json",
        "edges": folder / "edges.parquet",
        "evidence": folder / "evidence.parquet",
    }
    write_csv(detection.accounts, paths["accounts"])
    edges = detection.edges.select(list(TESTED_EDGE_COLUMNS))
    write_parquet(edges, paths["edges"])
    write_parquet(detection.evidence, paths["evidence"])
    document = {
        "networks": detection.networks,
        "coordinated_groups": detection.groups,
        "null_models": {k: v.as_dict() for k, v in detection.nulls.items()},
        "hot_items": detection.hot_items.num_rows,
        "config": detection.config.as_dict(),
        "attributed": detection.attributed,
        **(extra or {}),
    }
    with atomic_path(paths["networks"]) as tmp:
        tmp.write_text(
            json.dumps(document, indent=2, ensure_ascii=False, sort_keys=False) + "\n",
            encoding="utf-8",
        )
    return paths
