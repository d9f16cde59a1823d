"""Related networks: networks that use material almost no one else uses.

Detection can report one operation as several networks: two shift teams that never post at the
same hours, a second office, amplifiers and personas whose co-action it saw apart. Their
co-action does not link them, but their material can: a fringe domain, a campaign hashtag, an
image, a copied sentence, a seed post or a target that few accounts outside them touch. This
module finds, for every pair of networks, the items of that kind.

Test. For one kind of item (``share``, ``link``, ``domain``, ``hashtag``, ``mention``,
``media``, ``text``: the traces of :func:`cibscan.traces.trace_sql`), let ``N`` accounts of the
case use such items, ``n_A`` and ``n_B`` of them in networks A and B, and ``k`` use one item.
Under the null, who uses an item does not depend on the network: the item's users are a random
``k`` of the ``N``, so the count ``X_A`` in A is hypergeometric, ``P(X_A >= a)``. The item
relates A and B only if it is over-represented in *both*: an intersection-union test, whose
p-value is the larger of the two tails, ``max(P(X_A >= a), P(X_B >= b))`` (the product would
let one network's heavy use carry the other's chance pair of users: forty news feeds posting a
wire's story related them to a fan club of 1,300 two of whose fans shared it too). It is
adjusted with Bonferroni over every (item, pair of networks) that could qualify, every item of
at least ``2 * min_accounts`` users times every pair of networks, and a pair of networks is
*related* through the items with an adjusted p at most ``alpha``.

An item counts only if it is *distinctive*: at least ``min_accounts`` accounts of each network
use it, and at most ``max_outside_share`` of its users are in no network. A trending hashtag
that two operations flood among thousands of ordinary users is enriched in both, but it is the
topic they share, not their material; it is reported as hijacked by each
(:mod:`cibscan.fingerprints.hashtags`), not as a link between them.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass, field
from typing import Any, Final

import duckdb
import numpy as np
import pyarrow as pa
from scipy import stats

from cibscan.errors import ConfigError
from cibscan.fingerprints._assignment import fetch_arrow as _fetch_arrow
from cibscan.fingerprints._assignment import registered as _registered
from cibscan.fingerprints._assignment import validated_assignment as _validated_assignment
from cibscan.traces import trace_sql

__all__ = [
    "RELATED_KINDS",
    "RelatedConfig",
    "RelatedItem",
    "RelatedNetworks",
    "RelatedPair",
    "related_networks",
]

#: The kinds of items compared: the traces whose items are material (not replies: a reply
#: thread is one conversation, and a popular post draws replies from every side).
RELATED_KINDS: Final[tuple[str, ...]] = (
    "share",
    "link",
    "domain",
    "hashtag",
    "mention",
    "media",
    "text",
)

#: Longest item written to the output (a copied text is cut there, with an ellipsis).
_ITEM_CHARS: Final = 200


@dataclass(frozen=True)
class RelatedConfig:
    """Which items can relate two networks.

    Parameters
    ----------
    kinds
        Kinds of items compared (a subset of :data:`RELATED_KINDS`).
    alpha
        Family-wise level of an item's link (Bonferroni over the items and pairs that could
        qualify).
    min_accounts
        Accounts of each of the two networks that must use an item.
    max_outside_share
        Largest share of an item's users that are in no network.
    evidence_limit
        Items listed per related pair, the strongest first (all are counted).
    """

    kinds: tuple[str, ...] = RELATED_KINDS
    alpha: float = 0.01
    min_accounts: int = 2
    max_outside_share: float = 0.5
    evidence_limit: int = 10

    def __post_init__(self) -> None:
        unknown = [k for k in self.kinds if k not in RELATED_KINDS]
        if unknown:
            raise ConfigError(
                f"related-network kinds must be among {RELATED_KINDS}, not {unknown[0]!r}"
            )
        if not 0.0 < self.alpha < 1.0:
            raise ConfigError(f"related-network alpha must be in (0, 1), not {self.alpha}")
        if self.min_accounts < 1:
            raise ConfigError(
                f"related-network min_accounts must be at least 1, not {self.min_accounts}"
            )
        if not 0.0 <= self.max_outside_share < 1.0:
            raise ConfigError(
                f"related-network max_outside_share must be in [0, 1), not {self.max_outside_share}"
            )
        if self.evidence_limit < 1:
            raise ConfigError(
                f"related-network evidence_limit must be at least 1, not {self.evidence_limit}"
            )

    def as_dict(self) -> dict[str, Any]:
        """Return the configuration as JSON-ready data."""
        out = asdict(self)
        out["kinds"] = list(self.kinds)
        return out


@dataclass(frozen=True)
class RelatedItem:
    """One item that two networks use and almost no one else does.

    Attributes
    ----------
    kind
        The kind of item (``domain``, ``hashtag``, ...).
    item
        The item (a normalised URL, domain, tag, handle, media key, post id or text; texts
        longer than 200 characters are cut).
    accounts_a, accounts_b
        Accounts of the first and second network (in the pair's order) that use it.
    accounts_other
        Accounts of other networks that use it.
    accounts_outside
        Accounts in no network that use it.
    p_value, p_adjusted
        ``max(P(X_A >= a), P(X_B >= b))`` (hypergeometric tails) and its Bonferroni
        adjustment.
    """

    kind: str
    item: str
    accounts_a: int
    accounts_b: int
    accounts_other: int
    accounts_outside: int
    p_value: float
    p_adjusted: float

    def as_dict(self) -> dict[str, Any]:
        """Return JSON-ready data."""
        return asdict(self)


@dataclass(frozen=True)
class RelatedPair:
    """Two networks related through distinctive items.

    Attributes
    ----------
    networks
        The two network ids, in the order of the assignment's first appearance.
    items
        Distinctive items with an adjusted p at most ``alpha``, all kinds together.
    by_kind
        Those items per kind.
    p_adjusted
        The smallest adjusted p of them.
    evidence
        The strongest ``evidence_limit`` items.
    """

    networks: tuple[str, str]
    items: int
    by_kind: dict[str, int]
    p_adjusted: float
    evidence: list[RelatedItem]

    def as_dict(self) -> dict[str, Any]:
        """Return JSON-ready data."""
        return {
            "networks": list(self.networks),
            "items": self.items,
            "by_kind": dict(self.by_kind),
            "p_adjusted": self.p_adjusted,
            "evidence": [e.as_dict() for e in self.evidence],
        }


@dataclass(frozen=True)
class RelatedNetworks:
    """The related pairs of networks of an assignment.

    Attributes
    ----------
    pairs
        Related pairs, most items first.
    groups
        Networks joined by related pairs (connected components of two or more), each sorted in
        the assignment's order, largest first.
    tests
        The Bonferroni factor: (item, pair) tests that could qualify, all kinds together.
    config
        The :class:`RelatedConfig` used.
    """

    pairs: list[RelatedPair]
    groups: list[list[str]]
    tests: int
    config: RelatedConfig = field(default_factory=RelatedConfig)

    def for_network(self, network: str) -> list[dict[str, Any]]:
        """The networks related to ``network``, as ``networks.json`` lists them.

        Each entry names the other network (``network``) and gives the pair's ``items``,
        ``by_kind``, ``p_adjusted`` and ``evidence``, with each item's ``accounts_here`` (this
        network's accounts) and ``accounts_there`` (the other's).
        """
        out = []
        for pair in self.pairs:
            if network not in pair.networks:
                continue
            first = pair.networks[0] == network
            evidence = []
            for e in pair.evidence:
                row = e.as_dict()
                a, b = row.pop("accounts_a"), row.pop("accounts_b")
                row["accounts_here"], row["accounts_there"] = (a, b) if first else (b, a)
                evidence.append(row)
            out.append(
                {
                    "network": pair.networks[1] if first else pair.networks[0],
                    "items": pair.items,
                    "by_kind": dict(pair.by_kind),
                    "p_adjusted": pair.p_adjusted,
                    "evidence": evidence,
                }
            )
        return out

    def as_dict(self) -> dict[str, Any]:
        """Return JSON-ready data."""
        return {
            "config": self.config.as_dict(),
            "tests": self.tests,
            "pairs": [p.as_dict() for p in self.pairs],
            "groups": [list(g) for g in self.groups],
        }


def _users_sql(kind: str, assignment: str) -> str:
    """SQL of ``item, account, network_id``: each user of an item of ``kind`` once, with its
    network (null for accounts in no network)."""
    traces = f"SELECT DISTINCT account, item FROM ({trace_sql(kind)}) WHERE item IS NOT NULL"
    return f"""SELECT t.item, t.account, a.network_id
               FROM ({traces}) t LEFT JOIN "{assignment}" a ON a.account_id = t.account"""


def _kind_sql(tn: str) -> tuple[str, str]:
    """Per (item, network) user counts of the items that two networks use, and the margins,
    from the users table ``tn`` (:func:`_users_sql`).

    Returns the SQL of the counts (``item, network_id, users, item_users``, ``network_id``
    null for users in no network) and of the margins (``network_id, users``, ``network_id``
    null for the kind's users in no network, plus the items of each popularity ``k``).
    """
    counts = f"""
        WITH shared AS (SELECT item FROM {tn} WHERE network_id IS NOT NULL
                        GROUP BY item HAVING count(DISTINCT network_id) >= 2),
        k AS (SELECT item, count(*) AS item_users FROM {tn} SEMI JOIN shared USING (item)
              GROUP BY item)
        SELECT tn.item, tn.network_id, count(*) AS users, any_value(k.item_users) AS item_users
        FROM {tn} tn JOIN k USING (item)
        GROUP BY tn.item, tn.network_id
        ORDER BY tn.item, tn.network_id NULLS LAST"""
    margins = f"""
        WITH users AS (SELECT network_id, count(DISTINCT account) AS users FROM {tn}
                       GROUP BY ALL),
        pop AS (SELECT k, count(*) AS items FROM (SELECT count(*) AS k FROM {tn} GROUP BY item)
                GROUP BY k)
        SELECT 'users' AS what, network_id, users AS k, NULL::BIGINT AS items FROM users
        UNION ALL
        SELECT 'pop', NULL, k, items FROM pop"""
    return counts, margins


def _cut(item: str) -> str:
    return item if len(item) <= _ITEM_CHARS else item[: _ITEM_CHARS - 1] + "…"


def _components(pairs: list[RelatedPair], order: dict[str, int]) -> list[list[str]]:
    """Networks joined by related pairs, each in assignment order, largest first."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    names = sorted({n for p in pairs for n in p.networks}, key=order.__getitem__)
    if not names:
        return []
    index = {n: i for i, n in enumerate(names)}
    rows = [index[p.networks[0]] for p in pairs]
    cols = [index[p.networks[1]] for p in pairs]
    graph = coo_matrix(([1] * len(pairs), (rows, cols)), shape=(len(names), len(names)))
    _, labels = connected_components(graph, directed=False)
    groups: dict[int, list[str]] = {}
    for name, label in zip(names, labels.tolist(), strict=True):
        groups.setdefault(label, []).append(name)  # names are in assignment order
    return sorted(groups.values(), key=lambda g: (-len(g), order[g[0]]))


def related_networks(
    con: duckdb.DuckDBPyConnection,
    assignment: pa.Table,
    *,
    config: RelatedConfig | None = None,
) -> RelatedNetworks:
    """Find the pairs of networks that use the same distinctive items.

    Parameters
    ----------
    con
        The case's DuckDB connection (reads ``posts``).
    assignment
        ``account_id``, ``network_id`` strings: the networks compared. Accounts not in it are
        the rest of the case.
    config
        A :class:`RelatedConfig`.

    Returns
    -------
    RelatedNetworks
        The related pairs with their items, the groups they join and the Bonferroni factor.

    Examples
    --------
    >>> import pyarrow as pa
    >>> from cibscan.case import open_case
    >>> one = pa.table({"account_id": ["a"], "network_id": ["n"]})
    >>> related_networks(open_case().con, one).pairs
    []
    """
    config = config or RelatedConfig()
    table = _validated_assignment(assignment)
    order: dict[str, int] = {}
    for n in table.column("network_id").to_pylist():
        order.setdefault(n, len(order))
    n_pairs = len(order) * (len(order) - 1) // 2
    floor = 2 * config.min_accounts
    candidates: list[tuple[str, str, str, str, int, int, int, int, float]] = []
    tests = 0
    if n_pairs:
        with _registered(con, table, "assignment") as name:
            for kind in config.kinds:
                # one pass over the posts per kind: both queries read the users table
                tn = f"_cib_related_{uuid.uuid4().hex}"
                con.execute(f"CREATE TEMP TABLE {tn} AS {_users_sql(kind, name)}")
                try:
                    counts_sql, margins_sql = _kind_sql(tn)
                    margins = _fetch_arrow(con, margins_sql).to_pylist()
                    rows = _fetch_arrow(con, counts_sql).to_pylist()
                finally:
                    con.execute(f"DROP TABLE IF EXISTS {tn}")
                # the kind's users: those in no network (network_id null) and each network's
                users: dict[str | None, int] = {
                    r["network_id"]: int(r["k"]) for r in margins if r["what"] == "users"
                }
                n_total = sum(users.values())
                tests += n_pairs * sum(
                    int(r["items"]) for r in margins if r["what"] == "pop" and int(r["k"]) >= floor
                )
                candidates.extend(_kind_candidates(kind, rows, users, n_total, order, config))
    # Bonferroni: every item of at least 2 * min_accounts users, for every pair of networks.
    found: dict[tuple[str, str], list[RelatedItem]] = {}
    for kind, item, a, b, ca, cb, other, outside, p in candidates:
        adjusted = min(1.0, p * max(tests, 1))
        if adjusted > config.alpha:
            continue
        found.setdefault((a, b), []).append(
            RelatedItem(kind, _cut(item), ca, cb, other, outside, p, adjusted)
        )
    pairs = []
    for key, items in found.items():
        items.sort(key=lambda e: (e.p_value, e.kind, e.item))
        by_kind: dict[str, int] = {}
        for e in items:
            by_kind[e.kind] = by_kind.get(e.kind, 0) + 1
        pairs.append(
            RelatedPair(
                networks=key,
                items=len(items),
                by_kind=dict(sorted(by_kind.items(), key=lambda kv: (-kv[1], kv[0]))),
                p_adjusted=items[0].p_adjusted,
                evidence=items[: config.evidence_limit],
            )
        )
    pairs.sort(key=lambda p: (-p.items, p.p_adjusted, order[p.networks[0]], order[p.networks[1]]))
    return RelatedNetworks(pairs, _components(pairs, order), tests, config)


def _kind_candidates(
    kind: str,
    rows: list[dict[str, Any]],
    users: dict[str | None, int],
    n_total: int,
    order: dict[str, int],
    config: RelatedConfig,
) -> list[tuple[str, str, str, str, int, int, int, int, float]]:
    """The distinctive (item, pair) combinations of one kind, with their p-values."""
    out: list[tuple[str, str, str, str, int, int, int, int, float]] = []
    by_item: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        by_item.setdefault(str(r["item"]), []).append(r)
    for item, item_rows in by_item.items():
        k = int(item_rows[0]["item_users"])
        outside = sum(int(r["users"]) for r in item_rows if r["network_id"] is None)
        if outside > config.max_outside_share * k:
            continue
        inside = {
            str(r["network_id"]): int(r["users"])
            for r in item_rows
            if r["network_id"] is not None and int(r["users"]) >= config.min_accounts
        }
        if len(inside) < 2:
            continue
        names = sorted(inside, key=order.__getitem__)
        counts = np.array([inside[n] for n in names], dtype=np.int64)
        sizes = np.array([users.get(n, 0) for n in names], dtype=np.int64)
        tails = stats.hypergeom.sf(counts - 1, n_total, sizes, k)
        in_networks = k - outside
        for i in range(len(names)):
            for j in range(i + 1, len(names)):
                other = in_networks - int(counts[i]) - int(counts[j])
                p = float(max(tails[i], tails[j]))
                out.append(
                    (
                        kind,
                        item,
                        names[i],
                        names[j],
                        int(counts[i]),
                        int(counts[j]),
                        other,
                        outside,
                        p,
                    )
                )
    return out
