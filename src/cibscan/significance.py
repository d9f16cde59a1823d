"""Significance of co-action edges against a null model, and fusion of the signals.

The null model (documented for users in ``docs/significance.md``)
----------------------------------------------------------------
For one signal, let account ``u`` act on ``d_u`` distinct items, item ``i`` be acted on by
``k_i`` distinct accounts, ``M = Σ_u d_u`` the number of (account, item) incidences, and ``W_i``
the number of account pairs that acted on item ``i`` within the window of each other.

Under the null, accounts choose items independently, each in proportion to its activity and the
item's popularity (the Chung–Lu form of the bipartite configuration model:
``P(u acts on i) = d_u k_i / M``), and, on an item, which of its actors are close in time is
exchangeable: any two of them are within the window with the item's own probability
``q_i = W_i / C(k_i, 2)``. This keeps every account's activity, every item's popularity and
every item's *time profile*: a breaking story that thousands share within seconds has
``q_i ≈ 1``, so sharing it together is expected, not evidence.

Given the items ``u`` acted on, the expected number of them on which an account with ``v``'s
activity co-acts with ``u`` within the window is
``Σ_{i ∋ u} (d_v k_i / M) q_i = d_v a_u / M``, with ``u``'s *exposure*
``a_u = Σ_{i ∋ u} k_i q_i = Σ_{i ∋ u} 2 W_i / (k_i - 1)``: the number of within-window partners
a random actor of ``u``'s items meets. Conditioning on each account's own items (rather than
assuming every account picks items in proportion to their popularity) matters: an account that
shares only viral items is expected to meet many partners, an account that shares only obscure
items few. The pair's expectation is the mean of the two one-sided ones,

    λ_uv = (d_v a_u + d_u a_v) / (2 M).

The observed weight ``X_uv`` (distinct items co-acted on) is compared with a Poisson law of mean
``λ_uv``, conditionally on the pair having co-acted at all (only such pairs are ever listed):

    p_uv = P(X ≥ x | X ≥ 1) = P(X ≥ x) / P(X ≥ 1).

One co-action is therefore never evidence on its own (p = 1); repeated co-action by accounts
that are rarely active, on items that are rarely shared together, is. Benjamini–Hochberg over the
listed edges of each signal gives q-values. Hot items (see :mod:`cibscan.networks`) are left out
of both the observed weights and ``Σ W_i``.

Fusion: the evidence of a pair over signals is combined with Bonferroni's bound on the minimum
(valid whatever the dependence between signals, which is strong: a retweet ring co-shares and
co-posts the same text), ``p = min(1, k · min_s p_s)`` over the k signals on which the pair
co-acted, then Benjamini–Hochberg over pairs. The *surprise* ``Σ_s -log10 p_s`` is the fused edge
weight used for clustering and ranking; it is a measure of evidence, not a probability.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import pyarrow as pa
from scipy import stats

from cibscan.case import connect, first_row

__all__ = [
    "EDGE_MIN_WEIGHT",
    "SignalNull",
    "benjamini_hochberg",
    "conditional_poisson_pvalues",
    "edge_pvalues",
    "expected_sql",
    "fuse_signals",
    "group_expected",
    "poisson_tail",
    "signal_null",
]

_TINY: Final = 1e-300

#: The lightest edge the edge test lists. A pair that co-acted once has p = 1 under the
#: conditional test (it cannot be evidence), so such pairs are counted for Benjamini–Hochberg
#: (the networks stage's ``stats["co_acting_pairs"]``) but not listed: on 10M posts they are
#: hundreds of millions.
EDGE_MIN_WEIGHT: Final = 2


@dataclass(frozen=True)
class SignalNull:
    """The null model's parameters for one signal.

    Attributes
    ----------
    signal
        The signal's name.
    incidences
        ``M``: distinct (account, item) pairs, hot items excluded.
    pair_mass
        ``Σ_i W_i``: account pairs within the window, summed over items.
    rate
        ``2 Σ_i W_i / M²``: the expectation's scale for accounts with typical items.
    degrees
        Arrow table ``account, degree, exposure``: distinct items ``d_u`` and exposure
        ``a_u = Σ_{i ∋ u} 2 W_i / (k_i - 1)`` per account.
    """

    signal: str
    incidences: int
    pair_mass: float
    rate: float
    degrees: pa.Table

    def as_dict(self) -> dict[str, Any]:
        """Return the scalar parameters as JSON-ready data."""
        return {
            "signal": self.signal,
            "incidences": self.incidences,
            "pair_mass": self.pair_mass,
            "rate": self.rate,
            "accounts": self.degrees.num_rows,
        }


def signal_null(
    traces: pa.Table, signal: str, window_us: int, hot_items: pa.Table | None = None
) -> SignalNull:
    """Estimate the null model of one signal from its traces.

    Parameters
    ----------
    traces
        ``account, item, post, time`` (as :func:`cibscan.traces.traces` returns).
    signal
        The signal's name (for the record).
    window_us
        The co-action window in microseconds (inclusive).
    hot_items
        Items left out by the hot-item policy (column ``item``); left out here too.

    Examples
    --------
    >>> import datetime as dt, pyarrow as pa
    >>> t0 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    >>> tr = pa.table({"account": ["a", "b", "c", "a"], "item": ["x", "x", "x", "y"],
    ...                "post": ["1", "2", "3", "4"],
    ...                "time": [t0, t0 + dt.timedelta(seconds=30), t0 + dt.timedelta(hours=2), t0]})
    >>> null = signal_null(tr, "share", 60_000_000)
    >>> (null.incidences, null.pair_mass, round(null.rate, 4))
    (4, 1.0, 0.125)
    """
    con = connect()
    try:
        con.register("tr", traces.select(["account", "item", "time"]))
        hot = (
            hot_items.select(["item"])
            if hot_items is not None and hot_items.num_rows
            else pa.table({"item": pa.array([], pa.string())})
        )
        con.register("hot", hot)
        con.execute(
            "CREATE TEMP TABLE acts AS SELECT item, account, epoch_us(time) AS us "
            "FROM tr WHERE item NOT IN (SELECT item FROM hot)"
        )
        # W_i: account pairs within the window on item i. An edge counts an item when *any*
        # post of one account is within the window of any post of the other, so accounts
        # that repeat themselves have more chances; counting post pairs (capped by the item's
        # C(k_i, 2) account pairs) keeps the estimate on the safe side of that.
        con.execute(
            f"""
            CREATE TEMP TABLE items AS
            SELECT item, count(DISTINCT account) AS k,
                   least(CAST(sum(ahead) AS DOUBLE),
                         count(DISTINCT account) * (count(DISTINCT account) - 1) / 2.0)
                       AS close_pairs
            FROM (SELECT item, account,
                         count(*) OVER (PARTITION BY item ORDER BY us RANGE BETWEEN
                                        CURRENT ROW AND {int(window_us)} FOLLOWING) - 1
                         AS ahead
                  FROM acts)
            GROUP BY item
            """
        )
        con.execute("CREATE TEMP TABLE firsts AS SELECT DISTINCT item, account FROM acts")
        # exposure a_u = Σ_{i ∋ u} k_i q_i = Σ 2 W_i / (k_i - 1): how many within-window
        # partners a random actor of u's items meets.
        degrees = con.sql(
            """
            SELECT f.account, count(*) AS degree,
                   -- ordered: a float sum in the threads' order differs in the last bits
                   sum(CASE WHEN i.k > 1 THEN 2 * i.close_pairs / (i.k - 1) ELSE 0 END
                       ORDER BY i.item) AS exposure
            FROM firsts f JOIN items i USING (item)
            GROUP BY f.account ORDER BY f.account
            """
        ).to_arrow_table()
        row = first_row(
            con.execute("SELECT coalesce(sum(close_pairs ORDER BY item), 0) FROM items")
        )
        pair_mass = float(row[0]) if row else 0.0
    finally:
        con.close()
    incidences = int(sum(degrees.column("degree").to_pylist())) if degrees.num_rows else 0
    rate = 2.0 * pair_mass / float(incidences) ** 2 if incidences else 0.0
    return SignalNull(signal, incidences, pair_mass, rate, degrees)


def conditional_poisson_pvalues(observed: np.ndarray, expected: np.ndarray) -> np.ndarray:
    """``P(X ≥ x | X ≥ 1)`` for ``X ~ Poisson(λ)``, elementwise; 1 where ``x ≤ 1``.

    Examples
    --------
    >>> conditional_poisson_pvalues(np.array([1, 2, 0]), np.array([0.1, 0.1, 0.1])).round(4)
    array([1.    , 0.0492, 1.    ])
    """
    x = np.asarray(observed, dtype=np.float64)
    lam = np.maximum(np.asarray(expected, dtype=np.float64), _TINY)
    tail = stats.poisson.sf(x - 1, lam)  # P(X >= x)
    at_least_one = -np.expm1(-lam)  # P(X >= 1), precise for tiny λ
    with np.errstate(divide="ignore", invalid="ignore"):
        p = np.where(x <= 1, 1.0, np.minimum(1.0, tail / np.maximum(at_least_one, _TINY)))
    return np.asarray(p, dtype=np.float64)


def benjamini_hochberg(pvalues: np.ndarray, tests: int | None = None) -> np.ndarray:
    """Benjamini–Hochberg adjusted p-values (q-values), in the input's order.

    ``tests`` is the size of the family when it holds more tests than listed, all of the others
    with p = 1 (pairs that co-acted once: the conditional test cannot reject them, so they are
    counted, not listed); the listed q-values are then those of BH over the whole family.

    Examples
    --------
    >>> benjamini_hochberg(np.array([0.01, 0.04, 0.03, 0.5])).round(3)
    array([0.04 , 0.053, 0.053, 0.5  ])
    >>> benjamini_hochberg(np.array([0.01, 0.04, 0.03, 0.5]), tests=8).round(3)
    array([0.08 , 0.107, 0.107, 1.   ])
    """
    p = np.asarray(pvalues, dtype=np.float64)
    m = max(p.size, tests or 0)
    if p.size == 0:
        return p.copy()
    order = np.argsort(p, kind="stable")
    ranked = p[order] * m / np.arange(1, p.size + 1)
    q_sorted = np.minimum.accumulate(ranked[::-1])[::-1]
    q = np.empty(p.size, dtype=np.float64)
    q[order] = np.minimum(q_sorted, 1.0)
    return q


def expected_sql(source: str, target: str, incidences: int) -> str:
    """SQL of ``λ_uv`` for a pair whose accounts' ``degree, exposure`` rows are ``source`` and
    ``target`` (aliases of a :attr:`SignalNull.degrees` relation, left-joined: an account
    without a row has degree 1 and exposure 0)."""
    return (
        f"(coalesce({target}.degree, 1) * coalesce({source}.exposure, 0) + "
        f"coalesce({source}.degree, 1) * coalesce({target}.exposure, 0)) / "
        f"(2.0 * {max(int(incidences), 1)})"
    )


def edge_pvalues(edges: pa.Table, null: SignalNull, tests: int | None = None) -> pa.Table:
    """Add ``expected``, ``p_value`` and ``q_value`` to one signal's undirected edges.

    Parameters
    ----------
    edges
        ``source, target, weight, ...`` of one signal (default semantics: weight = distinct
        items co-acted on within the window).
    null
        The signal's null model from :func:`signal_null`.
    tests
        Pairs that co-acted at all (``stats["co_acting_pairs"]`` of the networks stage), when
        ``edges`` leaves out those of weight 1: their p-value is 1, and Benjamini–Hochberg
        counts them.
    """
    con = connect()
    try:
        con.register("e", edges)
        con.register("d", null.degrees)
        joined = con.sql(
            f"SELECT e.*, {expected_sql('ds', 'dt', null.incidences)} AS expected FROM e "
            "LEFT JOIN d ds ON ds.account = e.source LEFT JOIN d dt ON dt.account = e.target "
            # a parallel join emits rows in any order; keep the networks stage's order
            "ORDER BY e.weight DESC, e.source, e.target"
        ).to_arrow_table()
    finally:
        con.close()
    weight = joined.column("weight").to_numpy(zero_copy_only=False)
    expected = joined.column("expected").to_numpy(zero_copy_only=False)
    p = conditional_poisson_pvalues(weight, expected)
    q = benjamini_hochberg(p, tests)
    return joined.append_column("p_value", pa.array(p)).append_column("q_value", pa.array(q))


def fuse_signals(edges: pa.Table, signals: int | None = None, tests: int | None = None) -> pa.Table:
    """Combine per-signal edges into one fused edge per account pair.

    Parameters
    ----------
    edges
        ``source, target, signal, weight, p_value`` rows (several signals).
    signals
        Bonferroni's factor: the signals tested for every pair. By default the signals on which
        the pair has a row, which is right when every co-acting pair is listed on every signal
        it co-acted on (weight 1 included).
    tests
        Pairs tested in all, when more than are listed (pairs with p = 1 left out), for
        Benjamini–Hochberg (:func:`benjamini_hochberg`). An upper bound is conservative:
        :func:`cibscan.detect.detect` passes the sum over signals of the co-acting pairs, which
        counts a pair that co-acted on several signals once per signal.

    Returns
    -------
    pyarrow.Table
        ``source, target, signals`` (comma-separated, ordered by evidence), ``n_signals``,
        ``weight`` (sum over signals), ``p_value`` (Bonferroni on the minimum), ``q_value``
        (Benjamini–Hochberg over pairs), ``surprise`` (``Σ -log10 p``), sorted by source, target.
    """
    con = connect()
    try:
        con.register("e", edges.select(["source", "target", "signal", "weight", "p_value"]))
        factor = "count(*)" if signals is None else str(int(signals))
        fused = con.sql(
            f"""
            SELECT source, target,
                   string_agg(signal, ',' ORDER BY p_value, signal) AS signals,
                   count(*) AS n_signals, sum(weight) AS weight,
                   least(1.0, {factor} * min(p_value)) AS p_value,
                   sum(-log10(greatest(p_value, 1e-300)) ORDER BY signal) AS surprise
            FROM e GROUP BY source, target ORDER BY source, target
            """
        ).to_arrow_table()
    finally:
        con.close()
    q = benjamini_hochberg(fused.column("p_value").to_numpy(zero_copy_only=False), tests)
    return fused.append_column("q_value", pa.array(q))


def group_expected(null: SignalNull, accounts: list[str]) -> float:
    """Expected co-actions summed over every pair of a group, under the signal's null.

    ``Λ = Σ_{u<v} λ_uv = [(Σ d)(Σ a) − Σ d_u a_u] / (2 M)`` over the group's accounts, so pairs
    that never co-acted need not be listed. Accounts without traces count zero.

    Examples
    --------
    >>> import pyarrow as pa
    >>> d = pa.table({"account": ["a", "b", "c"], "degree": [2, 1, 1],
    ...               "exposure": [1.0, 0.5, 0.5]})
    >>> null = SignalNull("share", 4, 1.0, 0.125, d)
    >>> group_expected(null, ["a", "b", "c"])  # λ_ab + λ_ac + λ_bc = 0.25 + 0.25 + 0.125
    0.625
    """
    if not null.incidences:
        return 0.0
    member = set(accounts)
    names = null.degrees.column("account").to_pylist()
    keep = np.array([n in member for n in names], dtype=bool)
    if not keep.any():
        return 0.0
    deg = null.degrees.column("degree").to_numpy(zero_copy_only=False).astype(float)[keep]
    exp = null.degrees.column("exposure").to_numpy(zero_copy_only=False).astype(float)[keep]
    total = float(deg.sum() * exp.sum() - float(np.dot(deg, exp)))
    return max(total, 0.0) / (2.0 * null.incidences)


def poisson_tail(observed: np.ndarray, expected: np.ndarray) -> np.ndarray:
    """Unconditional ``P(X ≥ x)`` for ``X ~ Poisson(λ)``, elementwise (1 where ``x ≤ 0``).

    Examples
    --------
    >>> poisson_tail(np.array([1, 0]), np.array([0.1, 0.1])).round(4)
    array([0.0952, 1.    ])
    """
    x = np.asarray(observed, dtype=np.float64)
    lam = np.maximum(np.asarray(expected, dtype=np.float64), _TINY)
    return np.asarray(np.where(x <= 0, 1.0, stats.poisson.sf(x - 1, lam)), dtype=np.float64)
