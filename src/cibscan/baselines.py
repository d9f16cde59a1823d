"""Baselines: the peers' detection recipes, run on a case and scored like cibscan's own.

Each baseline turns a case into kept account-account edges, then into networks: the connected
components of the kept edges, with ids ``B1``, ``B2``, ... ordered by size (largest first), then by
smallest account id. Every account of the case is assigned a network id or ``None``.

``cnt_threshold``
    coordination-network-toolkit 1.5.2: ``co_retweet`` and ``co_link`` networks (signals
    ``share`` and ``link`` under ``semantics="cnt"``) with the defaults of its ``compute``
    command, ``--time_window 1`` (seconds) and ``--min_edge_weight 2``; edges of either
    direction and either network with weight >= the minimum are kept (their union).
``coortweet_quantile``
    CooRTweet: ``detect_groups`` on shares with its defaults ``time_window = 10`` and
    ``min_participation = 2``, then ``generate_coordinated_network`` with
    ``edge_weight = 0.5``: edges whose weight is above the median edge weight
    (``weight_threshold == 1``) are kept. Every item is enumerated (no hot-item cap), as the
    peer does.
``osome_tfidf``
    OSoMe (Pacheco et al., ICWSM 2021), as in the authors' co-retweet notebook: an account x item
    matrix whose items are the ``share``, ``link``, ``hashtag_seq`` and ``text`` traces; accounts
    with fewer than 10 traces are left out ("support filter"); TF-IDF weights as scikit-learn's
    ``TfidfVectorizer(sublinear_tf=True)`` computes them (``tf = 1 + ln(count)``,
    ``idf = ln((1 + n) / (1 + df)) + 1``, rows scaled to unit length), so that an item many
    accounts share counts less; cosine similarity of every account pair (a sparse matrix
    product, computed in blocks of rows); the top 0.5% of the pairs with positive similarity are
    kept: ``ceil(0.005 * pairs)`` edges, ties at the cut broken by account ids. Unlike the
    notebook, no ``min_df`` and no per-account top-100 truncation of the product.

:func:`evaluate_baselines` runs them and scores each with
:func:`cibscan.evaluate.evaluate_assignment`.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Final, Literal, get_args

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from cibscan.case import Case, open_case
from cibscan.errors import ConfigError
from cibscan.evaluate import Evaluation, evaluate_assignment
from cibscan.networks import networks
from cibscan.traces import SIGNALS, traces

__all__ = [
    "BASELINES",
    "BASELINE_EDGE_SCHEMA",
    "BASELINE_NAMES",
    "BaselineConfig",
    "BaselineName",
    "cnt_threshold",
    "cnt_threshold_edges",
    "component_networks",
    "coortweet_quantile",
    "coortweet_quantile_edges",
    "evaluate_baselines",
    "osome_tfidf",
    "osome_tfidf_edges",
]

BaselineName = Literal["cnt_threshold", "coortweet_quantile", "osome_tfidf"]
#: The baselines, in the order they are reported.
BASELINE_NAMES: Final[tuple[str, ...]] = get_args(BaselineName)

CaseLike = Case | str | os.PathLike[str]
Assignment = dict[str, str | None]

#: Kept edges of a baseline: ``weight`` is the peer's edge weight (a count, or a cosine
#: similarity for ``osome_tfidf``); ``signal`` names the network the edge comes from.
BASELINE_EDGE_SCHEMA: Final = pa.schema(
    [
        ("source", pa.string()),
        ("target", pa.string()),
        ("signal", pa.string()),
        ("weight", pa.float64()),
    ]
)

#: OSoMe items: everything an account chooses to repeat (a post, a link, a tag list, a text).
OSOME_SIGNALS: Final[tuple[str, ...]] = ("share", "link", "hashtag_seq", "text")


@dataclass(frozen=True)
class BaselineConfig:
    """Options of the three baselines; the defaults are the peers' own.

    Parameters
    ----------
    cnt_signals
        Signals of ``cnt_threshold`` (``share`` is the peer's ``co_retweet``, ``link`` its
        ``co_link``).
    cnt_window
        ``cnt_threshold`` window in seconds (the peer's ``--time_window``, default 1).
    cnt_min_weight
        ``cnt_threshold`` minimum edge weight (the peer's ``--min_edge_weight``, default 2).
    coortweet_signal
        The one signal of ``coortweet_quantile`` (``share``: CooRTweet's retweet objects).
    coortweet_window
        CooRTweet's ``time_window`` in seconds (default 10).
    coortweet_min_participation
        CooRTweet's ``min_participation`` (default 2).
    coortweet_quantile
        CooRTweet's ``edge_weight`` quantile; edges above it are kept (default 0.5).
    coortweet_hot_item_cap
        Passed to :func:`cibscan.networks.networks` as ``hot_item_cap``; ``None`` (the default)
        enumerates every item, as CooRTweet does.
    osome_signals
        Signals whose items make the columns of the OSoMe account x item matrix.
    osome_min_traces
        Accounts with fewer traces (over ``osome_signals``) are left out (default 10, the
        support filter of the authors' co-retweet case study).
    osome_top_fraction
        Share of the positive-similarity pairs kept as edges (default 0.005).
    osome_block_rows
        Rows of the similarity matrix computed at a time; bounds memory, not results.

    Examples
    --------
    >>> BaselineConfig(cnt_window=60).cnt_window
    60.0
    """

    cnt_signals: tuple[str, ...] = ("share", "link")
    cnt_window: float = 1.0
    cnt_min_weight: int = 2
    coortweet_signal: str = "share"
    coortweet_window: float = 10.0
    coortweet_min_participation: int = 2
    coortweet_quantile: float = 0.5
    coortweet_hot_item_cap: int | None = None
    osome_signals: tuple[str, ...] = OSOME_SIGNALS
    osome_min_traces: int = 10
    osome_top_fraction: float = 0.005
    osome_block_rows: int = 512

    def __post_init__(self) -> None:
        for name in ("cnt_signals", "osome_signals"):
            value = getattr(self, name)
            if isinstance(value, str):
                value = tuple(s.strip() for s in value.split(",") if s.strip())
            value = tuple(dict.fromkeys(value))
            if not value:
                raise ConfigError(f"{name} is empty; choose from {', '.join(SIGNALS)}")
            for signal in value:
                if signal not in SIGNALS or signal == "near_text":
                    raise ConfigError(
                        f"{name}: unknown or unsupported signal {signal!r}; choose from "
                        + ", ".join(s for s in SIGNALS if s != "near_text")
                    )
            object.__setattr__(self, name, value)
        if self.coortweet_signal not in SIGNALS:
            raise ConfigError(
                f"coortweet_signal: unknown signal {self.coortweet_signal!r}; "
                f"choose from {', '.join(SIGNALS)}"
            )
        for name in ("cnt_window", "coortweet_window"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ConfigError(f"{name} must be a number of seconds, got {value!r}")
            if not 0 <= value < math.inf:
                raise ConfigError(f"{name} must be a finite number of seconds >= 0, got {value}")
            object.__setattr__(self, name, float(value))
        for name in (
            "cnt_min_weight",
            "coortweet_min_participation",
            "osome_min_traces",
            "osome_block_rows",
        ):
            _positive(name, getattr(self, name))
        if self.coortweet_hot_item_cap is not None:
            _positive("coortweet_hot_item_cap", self.coortweet_hot_item_cap)
        if not 0 <= self.coortweet_quantile <= 1:
            raise ConfigError(
                f"coortweet_quantile must be in [0, 1], got {self.coortweet_quantile}"
            )
        if not 0 < self.osome_top_fraction <= 1:
            raise ConfigError(
                f"osome_top_fraction must be in (0, 1], got {self.osome_top_fraction}"
            )

    def as_dict(self) -> dict[str, Any]:
        """The options as plain JSON-compatible data."""
        data = asdict(self)
        data["cnt_signals"] = list(self.cnt_signals)
        data["osome_signals"] = list(self.osome_signals)
        return data


def _positive(name: str, value: object) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ConfigError(f"{name} must be an integer >= 1, got {value!r}")


class _Store:
    """An open case: the caller's, or one opened read-only here and closed on exit."""

    def __init__(self, case: CaseLike) -> None:
        self.owned = not isinstance(case, Case)
        self.case = (
            case if isinstance(case, Case) else open_case(case, create=False, read_only=True)
        )

    def __enter__(self) -> Case:
        return self.case

    def __exit__(self, *exc: object) -> None:
        if self.owned:
            self.case.close()


def _case_accounts(case: Case) -> list[str]:
    rows = case.con.execute(
        """SELECT account_id FROM accounts WHERE account_id IS NOT NULL
           UNION SELECT account_id FROM posts WHERE account_id IS NOT NULL"""
    ).fetchall()
    return sorted(str(r[0]) for r in rows)


def _edges(source: Iterable[Any], target: Iterable[Any], signal: Any, weight: Any) -> pa.Table:
    table = pa.table({"source": source, "target": target, "signal": signal, "weight": weight})
    return table.cast(BASELINE_EDGE_SCHEMA)


# --- kept edges -----------------------------------------------------------------------------------


def cnt_threshold_edges(case: CaseLike, config: BaselineConfig | None = None) -> pa.Table:
    """Edges kept by coordination-network-toolkit's minimum edge weight.

    Parameters
    ----------
    case
        An open case or the path of a case store.
    config
        Options; ``cnt_signals``, ``cnt_window`` and ``cnt_min_weight`` are used.

    Returns
    -------
    pyarrow.Table
        :data:`BASELINE_EDGE_SCHEMA`; directed, as the peer stores them (one row per direction
        that reaches the minimum weight), for every signal.

    Examples
    --------
    >>> from cibscan.case import open_case
    >>> case = open_case()
    >>> _ = case.con.execute(
    ...     "INSERT INTO posts (post_id, account_id, timestamp, kind, shared_post_id) VALUES "
    ...     "('1', 'a', '2024-05-01 10:00:00+00', 'share', 'x'),"
    ...     "('2', 'b', '2024-05-01 10:00:01+00', 'share', 'x'),"
    ...     "('3', 'a', '2024-05-01 12:00:00+00', 'share', 'y'),"
    ...     "('4', 'b', '2024-05-01 12:00:00+00', 'share', 'y')")
    >>> cnt_threshold_edges(case).select(["source", "target", "weight"]).to_pylist()
    [{'source': 'a', 'target': 'b', 'weight': 2.0}, {'source': 'b', 'target': 'a', 'weight': 2.0}]
    """
    cfg = config or BaselineConfig()
    with _Store(case) as store:
        result = networks(
            store.con,
            list(cfg.cnt_signals),
            semantics="cnt",
            window=cfg.cnt_window,
            min_weight=cfg.cnt_min_weight,
            evidence_limit=0,
        )
    e = result.edges
    kept = e.filter(pc.greater_equal(e["weight"], cfg.cnt_min_weight))
    return _edges(kept["source"], kept["target"], kept["signal"], kept["weight"])


def coortweet_quantile_edges(case: CaseLike, config: BaselineConfig | None = None) -> pa.Table:
    """Edges CooRTweet flags above its edge-weight quantile (``weight_threshold == 1``).

    Parameters
    ----------
    case
        An open case or the path of a case store.
    config
        Options; the ``coortweet_*`` ones are used.

    Returns
    -------
    pyarrow.Table
        :data:`BASELINE_EDGE_SCHEMA`, undirected (``source < target``).

    Examples
    --------
    >>> from cibscan.case import open_case
    >>> case = open_case()
    >>> _ = case.con.execute(
    ...     "INSERT INTO posts (post_id, account_id, timestamp, kind, shared_post_id) VALUES "
    ...     "('1', 'a', '2024-05-01 10:00:00+00', 'share', 'x'),"
    ...     "('2', 'b', '2024-05-01 10:00:01+00', 'share', 'x'),"
    ...     "('3', 'c', '2024-05-01 10:00:02+00', 'share', 'x'),"
    ...     "('4', 'a', '2024-05-01 11:00:00+00', 'share', 'y'),"
    ...     "('5', 'b', '2024-05-01 11:00:01+00', 'share', 'y'),"
    ...     "('6', 'a', '2024-05-01 12:00:00+00', 'share', 'z'),"
    ...     "('7', 'b', '2024-05-01 12:00:01+00', 'share', 'z'),"
    ...     "('8', 'c', '2024-05-01 13:00:00+00', 'share', 'w')")
    >>> coortweet_quantile_edges(case).select(["source", "target", "weight"]).to_pylist()
    [{'source': 'a', 'target': 'b', 'weight': 3.0}]
    """
    cfg = config or BaselineConfig()
    with _Store(case) as store:
        result = networks(
            store.con,
            [cfg.coortweet_signal],
            semantics="coortweet",
            window=cfg.coortweet_window,
            min_participation=cfg.coortweet_min_participation,
            edge_weight_quantile=cfg.coortweet_quantile,
            hot_item_cap=cfg.coortweet_hot_item_cap,
            evidence_limit=0,
        )
    e = result.edges
    kept = e.filter(pc.equal(e["weight_threshold"], 1))
    return _edges(kept["source"], kept["target"], kept["signal"], kept["weight"])


def osome_tfidf_edges(case: CaseLike, config: BaselineConfig | None = None) -> pa.Table:
    """The top share of account pairs by cosine similarity of TF-IDF item vectors (OSoMe).

    Parameters
    ----------
    case
        An open case or the path of a case store.
    config
        Options; the ``osome_*`` ones are used.

    Returns
    -------
    pyarrow.Table
        :data:`BASELINE_EDGE_SCHEMA`, undirected (``source < target``), ``weight`` the cosine
        similarity, sorted by similarity (descending), source, target. ``ceil(fraction * m)``
        rows, where ``m`` is the number of pairs of supported accounts with a positive
        similarity; similarities are compared after rounding to 12 decimals, and ties at the
        cut go to the pair with the smaller account ids.

    Examples
    --------
    >>> from cibscan.case import open_case
    >>> case = open_case()
    >>> _ = case.con.execute(
    ...     "INSERT INTO posts (post_id, account_id, timestamp, kind, shared_post_id) VALUES "
    ...     "('1', 'a', '2024-05-01 10:00:00+00', 'share', 'x'),"
    ...     "('2', 'b', '2024-05-01 11:00:00+00', 'share', 'x'),"
    ...     "('3', 'c', '2024-05-01 12:00:00+00', 'share', 'x'),"
    ...     "('4', 'a', '2024-05-02 10:00:00+00', 'share', 'y'),"
    ...     "('5', 'b', '2024-05-02 12:00:00+00', 'share', 'y'),"
    ...     "('6', 'c', '2024-05-02 12:00:00+00', 'share', 'z')")
    >>> cfg = BaselineConfig(osome_min_traces=1)
    >>> osome_tfidf_edges(case, cfg).select(["source", "target"]).to_pylist()
    [{'source': 'a', 'target': 'b'}]
    """
    cfg = config or BaselineConfig()
    with _Store(case) as store:
        parts = []
        for signal in cfg.osome_signals:
            tr = traces(store.con, signal)
            feature = pc.binary_join_element_wise(signal, tr["item"].cast(pa.string()), "\x1f")
            parts.append(pa.table({"account": tr["account"], "feature": feature}))
    signal_label = "+".join(cfg.osome_signals)
    counts = (
        pa.concat_tables(parts)
        .group_by(["account", "feature"])
        .aggregate([("account", "count")])
        .rename_columns({"account_count": "count"})
    )
    accounts, source_idx, target_idx, similarity = _osome_pairs(counts, cfg)
    return _edges(
        [accounts[i] for i in source_idx.tolist()],
        [accounts[j] for j in target_idx.tolist()],
        pa.array([signal_label] * len(similarity), pa.string()),
        similarity,
    )


IntArr = npt.NDArray[np.int64]
FloatArr = npt.NDArray[np.float64]


def _osome_pairs(
    counts: pa.Table, cfg: BaselineConfig
) -> tuple[list[str], IntArr, IntArr, FloatArr]:
    empty = (np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.float64))
    if counts.num_rows == 0:
        return [], *empty
    # Integer codes from Arrow's dictionary encoding: a NumPy array of the (long) text items
    # would take the width of the longest one for every row.
    account_dict = pc.dictionary_encode(counts["account"]).combine_chunks()
    feature_dict = pc.dictionary_encode(counts["feature"]).combine_chunks()
    names = account_dict.dictionary
    # Accounts sorted by id, so that row order is id order and ties break by id.
    by_id = pc.sort_indices(names).to_numpy()
    rank = np.empty(len(by_id), np.int64)
    rank[by_id] = np.arange(len(by_id))
    acc_code = rank[account_dict.indices.to_numpy()]
    feature_code = feature_dict.indices.to_numpy().astype(np.int64)
    count_col = counts["count"].to_numpy().astype(np.float64)
    support = np.bincount(acc_code, weights=count_col, minlength=len(by_id))
    supported = support >= cfg.osome_min_traces
    keep = supported[acc_code]
    if supported.sum() < 2:
        return [], *empty
    sorted_names = names.take(pa.array(by_id)).to_pylist()
    accounts = [str(a) for a, ok in zip(sorted_names, supported.tolist(), strict=True) if ok]
    row_of = np.cumsum(supported) - 1
    rows = row_of[acc_code[keep]]
    _, cols = np.unique(feature_code[keep], return_inverse=True)
    tf = 1.0 + np.log(count_col[keep])
    n = len(accounts)
    df = np.bincount(cols)
    idf = np.log((1.0 + n) / (1.0 + df)) + 1.0
    matrix = sp.csr_matrix((tf * idf[cols], (rows, cols)), shape=(n, len(df)))
    norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel())
    matrix = sp.csr_matrix(sp.diags(1.0 / norms) @ matrix)
    transposed = sp.csc_matrix(matrix.T)

    # Pass 1 keeps, per block of rows, the pairs that can be in the global top: at most
    # `bound` of them (plus ties), since the final cut never exceeds `bound`.
    bound = max(1, math.ceil(cfg.osome_top_fraction * n * (n - 1) / 2))
    positive = 0
    kept_i: list[IntArr] = []
    kept_j: list[IntArr] = []
    kept_s: list[FloatArr] = []
    for start in range(0, n, cfg.osome_block_rows):
        block = sp.coo_matrix(matrix[start : start + cfg.osome_block_rows] @ transposed)
        i = block.row.astype(np.int64) + start
        j = block.col.astype(np.int64)
        s = np.round(block.data.astype(np.float64), 12)
        upper = (j > i) & (s > 0)
        i, j, s = i[upper], j[upper], s[upper]
        positive += len(s)
        if len(s) > bound:
            cut = np.partition(s, len(s) - bound)[len(s) - bound]
            ok = s >= cut
            i, j, s = i[ok], j[ok], s[ok]
        kept_i.append(i)
        kept_j.append(j)
        kept_s.append(s)
    if not positive:
        return accounts, *empty
    k = math.ceil(round(cfg.osome_top_fraction * positive, 9))
    i = np.concatenate(kept_i)
    j = np.concatenate(kept_j)
    s = np.concatenate(kept_s)
    order = np.lexsort((j, i, -s))[:k]
    return accounts, i[order], j[order], s[order]


# --- networks -------------------------------------------------------------------------------------


def component_networks(edges: pa.Table, accounts: Iterable[str] = ()) -> Assignment:
    """Assign accounts to the connected components of a set of edges.

    Direction is ignored and self-loops connect nothing. Components are numbered ``B1``,
    ``B2``, ... by size (largest first), then by smallest account id.

    Parameters
    ----------
    edges
        A table with ``source`` and ``target`` columns.
    accounts
        Accounts to include with ``None`` when they are in no component.

    Returns
    -------
    dict
        Account id -> network id (``None`` outside every component).

    Examples
    --------
    >>> edges = pa.table({"source": ["a", "c", "d"], "target": ["b", "d", "e"]})
    >>> component_networks(edges, ["a", "b", "c", "d", "e", "z"])
    {'a': 'B2', 'b': 'B2', 'c': 'B1', 'd': 'B1', 'e': 'B1', 'z': None}
    """
    source = [str(s) for s in edges["source"].to_pylist()]
    target = [str(t) for t in edges["target"].to_pylist()]
    pairs = [(s, t) for s, t in zip(source, target, strict=True) if s != t]
    assignment: Assignment = dict.fromkeys(sorted(accounts))
    if not pairs:
        return assignment
    nodes = sorted({a for pair in pairs for a in pair})
    index = {a: k for k, a in enumerate(nodes)}
    rows = np.fromiter((index[s] for s, _ in pairs), np.int64, len(pairs))
    cols = np.fromiter((index[t] for _, t in pairs), np.int64, len(pairs))
    graph = sp.coo_matrix((np.ones(len(pairs)), (rows, cols)), shape=(len(nodes), len(nodes)))
    _, labels = connected_components(graph, directed=False)
    members: dict[int, list[str]] = {}
    for node, label in zip(nodes, labels.tolist(), strict=True):
        members.setdefault(int(label), []).append(node)
    # Members are in id order, so a component's first member is its smallest id.
    ranked = sorted(members.values(), key=lambda m: (-len(m), m[0]))
    for rank, group in enumerate(ranked, start=1):
        for account in group:
            assignment[account] = f"B{rank}"
    return dict(sorted(assignment.items()))


def _assign(edges_of: Callable[[Case, BaselineConfig], pa.Table]) -> Callable[..., Assignment]:
    def run(case: CaseLike, config: BaselineConfig | None = None) -> Assignment:
        cfg = config or BaselineConfig()
        with _Store(case) as store:
            edges = edges_of(store, cfg)
            return component_networks(edges, _case_accounts(store))

    return run


def cnt_threshold(case: CaseLike, config: BaselineConfig | None = None) -> Assignment:
    """coordination-network-toolkit baseline: components of co-retweet and co-link edges.

    Parameters
    ----------
    case
        An open case or the path of a case store.
    config
        Options (``cnt_*``); default the peer's CLI defaults, window 1 s and weight >= 2.

    Returns
    -------
    dict
        Every account of the case -> ``B1``, ``B2``, ... or ``None``.

    Examples
    --------
    >>> from cibscan.case import open_case
    >>> case = open_case()
    >>> _ = case.con.execute(
    ...     "INSERT INTO posts (post_id, account_id, timestamp, kind, shared_post_id) VALUES "
    ...     "('1', 'a', '2024-05-01 10:00:00+00', 'share', 'x'),"
    ...     "('2', 'b', '2024-05-01 10:00:01+00', 'share', 'x'),"
    ...     "('3', 'a', '2024-05-01 12:00:00+00', 'share', 'y'),"
    ...     "('4', 'b', '2024-05-01 12:00:00+00', 'share', 'y'),"
    ...     "('5', 'c', '2024-05-01 12:00:00+00', 'share', 'y')")
    >>> cnt_threshold(case)
    {'a': 'B1', 'b': 'B1', 'c': None}
    """
    return _assign(cnt_threshold_edges)(case, config)


def coortweet_quantile(case: CaseLike, config: BaselineConfig | None = None) -> Assignment:
    """CooRTweet baseline: components of the share edges above the weight quantile.

    Parameters
    ----------
    case
        An open case or the path of a case store.
    config
        Options (``coortweet_*``); default CooRTweet's: 10 s, min participation 2, median.

    Returns
    -------
    dict
        Every account of the case -> ``B1``, ``B2``, ... or ``None``.

    Examples
    --------
    >>> from cibscan.case import open_case
    >>> case = open_case()
    >>> _ = case.con.execute(
    ...     "INSERT INTO posts (post_id, account_id, timestamp, kind, shared_post_id) VALUES "
    ...     "('1', 'a', '2024-05-01 10:00:00+00', 'share', 'x'),"
    ...     "('2', 'b', '2024-05-01 10:00:01+00', 'share', 'x'),"
    ...     "('3', 'c', '2024-05-01 10:00:02+00', 'share', 'x'),"
    ...     "('4', 'a', '2024-05-01 11:00:00+00', 'share', 'y'),"
    ...     "('5', 'b', '2024-05-01 11:00:01+00', 'share', 'y'),"
    ...     "('6', 'a', '2024-05-01 12:00:00+00', 'share', 'z'),"
    ...     "('7', 'b', '2024-05-01 12:00:01+00', 'share', 'z'),"
    ...     "('8', 'c', '2024-05-01 13:00:00+00', 'share', 'w')")
    >>> coortweet_quantile(case)
    {'a': 'B1', 'b': 'B1', 'c': None}
    """
    return _assign(coortweet_quantile_edges)(case, config)


def osome_tfidf(case: CaseLike, config: BaselineConfig | None = None) -> Assignment:
    """OSoMe baseline: components of the top 0.5% TF-IDF cosine-similarity edges.

    Parameters
    ----------
    case
        An open case or the path of a case store.
    config
        Options (``osome_*``); default items of ``share``, ``link``, ``hashtag_seq`` and
        ``text``, accounts with at least 10 traces, top 0.5% of pairs.

    Returns
    -------
    dict
        Every account of the case -> ``B1``, ``B2``, ... or ``None``.

    Examples
    --------
    >>> from cibscan.case import open_case
    >>> case = open_case()
    >>> _ = case.con.execute(
    ...     "INSERT INTO posts (post_id, account_id, timestamp, kind, shared_post_id) VALUES "
    ...     "('1', 'a', '2024-05-01 10:00:00+00', 'share', 'x'),"
    ...     "('2', 'b', '2024-05-01 11:00:00+00', 'share', 'x'),"
    ...     "('3', 'c', '2024-05-01 12:00:00+00', 'share', 'z')")
    >>> osome_tfidf(case, BaselineConfig(osome_min_traces=1))
    {'a': 'B1', 'b': 'B1', 'c': None}
    """
    return _assign(osome_tfidf_edges)(case, config)


#: Every baseline by name: ``(case, config) -> account -> network id or None``.
BASELINES: Final[dict[str, Callable[[CaseLike, BaselineConfig | None], Assignment]]] = {
    "cnt_threshold": cnt_threshold,
    "coortweet_quantile": coortweet_quantile,
    "osome_tfidf": osome_tfidf,
}


def evaluate_baselines(
    case: CaseLike,
    labels: Mapping[str, tuple[str, str | None]],
    config: BaselineConfig | None = None,
    *,
    methods: Sequence[str] = BASELINE_NAMES,
) -> dict[str, Evaluation]:
    """Run baselines on a case and score each against labels.

    Parameters
    ----------
    case
        An open case or the path of a case store.
    labels
        Account id -> (label, role), as for :func:`cibscan.evaluate.evaluate_assignment`.
    config
        Baseline options.
    methods
        Names from :data:`BASELINE_NAMES`, run in this order.

    Returns
    -------
    dict
        Method name -> :class:`~cibscan.evaluate.Evaluation`.

    Raises
    ------
    ConfigError
        A method name is unknown.

    Examples
    --------
    >>> from cibscan.case import open_case
    >>> case = open_case()
    >>> _ = case.con.execute(
    ...     "INSERT INTO posts (post_id, account_id, timestamp, kind, shared_post_id) VALUES "
    ...     "('1', 'a', '2024-05-01 10:00:00+00', 'share', 'x'),"
    ...     "('2', 'b', '2024-05-01 10:00:01+00', 'share', 'x'),"
    ...     "('3', 'a', '2024-05-01 12:00:00+00', 'share', 'y'),"
    ...     "('4', 'b', '2024-05-01 12:00:00+00', 'share', 'y')")
    >>> labels = {"a": ("op", None), "b": ("op", None)}
    >>> evaluate_baselines(case, labels, methods=["cnt_threshold"])["cnt_threshold"].recall
    1.0
    """
    unknown = [m for m in methods if m not in BASELINES]
    if unknown:
        raise ConfigError(
            f"unknown baseline(s) {', '.join(map(repr, unknown))}; "
            f"choose from {', '.join(BASELINE_NAMES)}"
        )
    cfg = config or BaselineConfig()
    with _Store(case) as store:
        return {m: evaluate_assignment(BASELINES[m](store, cfg), labels) for m in methods}
