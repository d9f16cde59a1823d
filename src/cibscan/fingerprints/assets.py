"""Assets of several kinds: the Pages and Groups a network runs, its reach, its other platforms.

A takedown report counts a network's assets by kind ("128 accounts, 41 Pages, 21 Groups"),
states the followers they reached, and links accounts of the same operation on other
platforms. Per network this module reports (see ``docs/fingerprints-a.md``):

* **Assets by kind.** The network's own accounts by ``accounts.kind`` (``user``, ``page``,
  ``group``, ``channel``; ``unknown`` when the account has no ``accounts`` row), the assets its
  accounts *administer* (``memberships`` rows whose role is one of ``admin_roles``; a missing
  role counts as ``admin``, the ingest default), the assets they merely *joined* (any other
  role, e.g. ``member``), and the union of own and administered assets by kind.
* **Followers reached.** Over the union of own and administered assets with a known follower
  count: the sum, the maximum, and how many assets had a count. Follower *lists* are not in the
  data model, so the number of *distinct* people reached is unknown: the sum over-counts anyone
  who follows two assets, the maximum is a lower bound; the truth lies between.
* **Other platforms.** Accounts of the case on a *different* ``platform`` linked to the
  network's accounts by an identical username (case-insensitive, at least
  ``min_handle_length`` characters), or by the same specific link in their bio or profile image
  (normalised: no scheme, ``www.``, query or trailing ``/``; bare domains and links held by more
  than ``max_link_accounts`` accounts of the case are generic and ignored). Linked accounts
  outside the network are listed: they are candidate assets of the same operation.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Final

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from cibscan.errors import ConfigError
from cibscan.fingerprints._assignment import (
    fetch_arrow,
    network_ids,
    registered,
    validated_assignment,
)

__all__ = ["AssetConfig", "AssetFingerprints", "NetworkAssets", "asset_fingerprints"]

_KINDS: Final = ("user", "page", "group", "channel")
#: Normalised link: lower case, no scheme, no ``www.``, no query or fragment, no trailing ``/``.
_LINK_SQL: Final = (
    "rtrim(regexp_replace(regexp_replace(lower({x}), '^https?://(www\\.)?', ''),"
    " '[?#].*$', ''), '/')"
)


@dataclass(frozen=True)
class AssetConfig:
    """Which memberships count as running an asset, and which cross-platform links count.

    Parameters
    ----------
    admin_roles
        Membership roles (lower case) meaning the account runs the asset.
    min_handle_length
        Identical usernames shorter than this are not taken as a cross-platform link.
    max_link_accounts
        A link held by more accounts of the case than this is generic (a news site, a shop).
    max_items
        Cross-platform links reported per network; accounts listed per link.

    Examples
    --------
    >>> "admin" in AssetConfig().admin_roles
    True
    """

    admin_roles: tuple[str, ...] = ("admin", "owner", "editor", "moderator", "manager", "creator")
    min_handle_length: int = 5
    max_link_accounts: int = 50
    max_items: int = 50

    def __post_init__(self) -> None:
        if not self.admin_roles:
            raise ConfigError("asset config admin_roles: give at least one role")
        for name in ("min_handle_length", "max_link_accounts", "max_items"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"asset config {name}={value!r}: must be an integer >= 1")

    def as_dict(self) -> dict[str, Any]:
        """Return the configuration as plain JSON-compatible data."""
        data = asdict(self)
        data["admin_roles"] = list(self.admin_roles)
        return data


@dataclass(frozen=True)
class NetworkAssets:
    """The assets of one network.

    Attributes
    ----------
    network_id, accounts
        The network and its number of accounts.
    accounts_by_kind
        The network's own accounts by kind.
    administered_by_kind
        Assets run by its accounts (admin roles) that are not themselves in the network.
    joined_by_kind
        Assets its accounts joined with another role (and do not run).
    assets_by_kind
        Own accounts and administered assets together, each counted once.
    followers
        Over those assets: ``sum``, ``max``, ``known`` (assets with a count), ``assets``, and
        ``distinct`` (always ``None``: follower lists are not in the data).
    platforms
        The network's own accounts by platform.
    cross_platform
        ``via`` (``handle`` or ``link``), ``value``, ``platforms``, ``accounts`` (in the
        network), ``outside`` (linked accounts outside it), as ``platform:account_id``.
    """

    network_id: str
    accounts: int
    accounts_by_kind: dict[str, int]
    administered_by_kind: dict[str, int]
    joined_by_kind: dict[str, int]
    assets_by_kind: dict[str, int]
    followers: dict[str, int | None]
    platforms: dict[str, int] = field(default_factory=dict)
    cross_platform: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """Return JSON-ready data."""
        return asdict(self)


@dataclass(frozen=True)
class AssetFingerprints:
    """Asset fingerprints of every network of an assignment."""

    networks: dict[str, NetworkAssets]
    config: AssetConfig

    def as_dict(self) -> dict[str, Any]:
        """Return JSON-ready data: the config and one entry per network."""
        return {
            "config": self.config.as_dict(),
            "networks": {k: v.as_dict() for k, v in self.networks.items()},
        }


def _by_kind(rows: pa.Table, column: str) -> dict[str, dict[str, int]]:
    """``network_id, kind, n`` rows -> {network: {kind: n}} with every standard kind present."""
    out: dict[str, dict[str, int]] = {}
    for r in rows.to_pylist():
        counts = out.setdefault(str(r["network_id"]), dict.fromkeys(_KINDS, 0))
        counts[str(r[column])] = int(r["n"])
    return out


def asset_fingerprints(
    con: duckdb.DuckDBPyConnection,
    assignment: pa.Table,
    *,
    config: AssetConfig | None = None,
) -> AssetFingerprints:
    """Assets by kind, followers reached and cross-platform links of every network.

    Parameters
    ----------
    con
        A case-store connection (``accounts`` and ``memberships`` are read).
    assignment
        ``account_id, network_id``: one row per account.
    config
        Roles and thresholds; :class:`AssetConfig` defaults when ``None``.

    Examples
    --------
    >>> from cibscan.case import open_case
    >>> fp = asset_fingerprints(open_case().con,
    ...                         pa.table({"account_id": ["a"], "network_id": ["n"]}))
    >>> fp.networks["n"].accounts_by_kind
    {'user': 0, 'page': 0, 'group': 0, 'channel': 0, 'unknown': 1}
    """
    config = config or AssetConfig()
    table = validated_assignment(assignment)
    roles = ", ".join("'" + r.lower().replace("'", "''") + "'" for r in config.admin_roles)
    with registered(con, table, "assignment") as assign:
        links_cte = f"""
            asset_links AS (
                SELECT DISTINCT a.network_id, m.asset_id,
                       coalesce(lower(m.role), 'admin') IN ({roles}) AS runs
                FROM memberships m JOIN {assign} a USING (account_id)
            )
        """
        union_cte = f"""
            {links_cte},
            owned AS (
                SELECT DISTINCT network_id, account_id AS asset_id FROM {assign}
                UNION
                SELECT network_id, asset_id FROM asset_links WHERE runs
            )
        """
        own = fetch_arrow(
            con,
            f"""
            SELECT a.network_id, coalesce(c.kind, 'unknown') AS kind, count(*) AS n
            FROM {assign} a LEFT JOIN accounts c USING (account_id) GROUP BY ALL
            """,
        )
        related = fetch_arrow(
            con,
            f"""
            WITH {links_cte},
            ranked AS (
                SELECT network_id, asset_id, bool_or(runs) AS runs
                FROM asset_links GROUP BY ALL
            )
            SELECT r.network_id, r.runs, coalesce(c.kind, 'unknown') AS kind, count(*) AS n
            FROM ranked r LEFT JOIN accounts c ON c.account_id = r.asset_id
            WHERE NOT EXISTS (SELECT 1 FROM {assign} x
                              WHERE x.account_id = r.asset_id
                                AND x.network_id = r.network_id)
            GROUP BY ALL
            """,
        )
        assets = fetch_arrow(
            con,
            f"""
            WITH {union_cte}
            SELECT u.network_id, coalesce(c.kind, 'unknown') AS kind, count(*) AS n
            FROM owned u LEFT JOIN accounts c ON c.account_id = u.asset_id GROUP BY ALL
            """,
        )
        followers = fetch_arrow(
            con,
            f"""
            WITH {union_cte}
            SELECT u.network_id, count(*) AS assets, count(c.followers) AS known,
                   sum(c.followers) AS "sum", max(c.followers) AS "max"
            FROM owned u LEFT JOIN accounts c ON c.account_id = u.asset_id GROUP BY ALL
            """,
        )
        platforms = fetch_arrow(
            con,
            f"""
            SELECT a.network_id, coalesce(c.platform, 'unknown') AS platform, count(*) AS n
            FROM {assign} a LEFT JOIN accounts c USING (account_id)
            GROUP BY ALL ORDER BY network_id, n DESC, platform
            """,
        )
        links = _cross_platform(con, assign, config)

    own_kinds = _by_kind(own, "kind")
    admin_kinds = _by_kind(related.filter(related["runs"]), "kind")
    joined_kinds = _by_kind(related.filter(pc.invert(related["runs"])), "kind")
    all_kinds = _by_kind(assets, "kind")
    reach = {str(r.pop("network_id")): r for r in followers.to_pylist()}
    plat: dict[str, dict[str, int]] = {}
    for r in platforms.to_pylist():
        plat.setdefault(str(r["network_id"]), {})[str(r["platform"])] = int(r["n"])
    out: dict[str, NetworkAssets] = {}
    for nid in network_ids(table):
        empty = dict.fromkeys(_KINDS, 0)
        f = reach[nid]
        out[nid] = NetworkAssets(
            network_id=nid,
            accounts=sum(own_kinds[nid].values()),
            accounts_by_kind=own_kinds[nid],
            administered_by_kind=admin_kinds.get(nid, empty),
            joined_by_kind=joined_kinds.get(nid, dict(empty)),
            assets_by_kind=all_kinds[nid],
            followers={
                "assets": int(f["assets"]),
                "known": int(f["known"]),
                "sum": None if f["sum"] is None else int(f["sum"]),
                "max": None if f["max"] is None else int(f["max"]),
                "distinct": None,
            },
            platforms=plat.get(nid, {}),
            cross_platform=links.get(nid, []),
        )
    return AssetFingerprints(networks=out, config=config)


def _cross_platform(
    con: duckdb.DuckDBPyConnection, assign: str, config: AssetConfig
) -> dict[str, list[dict[str, Any]]]:
    """Handles and specific links that join the network's accounts to other platforms."""
    cap = config.max_items
    rows = fetch_arrow(
        con,
        f"""
        WITH keys AS (
            SELECT account_id, coalesce(platform, 'unknown') AS platform, 'handle' AS via,
                   lower(username) AS value
            FROM accounts WHERE length(username) >= {config.min_handle_length}
            UNION
            SELECT account_id, coalesce(platform, 'unknown'), 'link',
                   {_LINK_SQL.format(x="u")}
            FROM (SELECT account_id, platform,
                         unnest(list_concat(
                             regexp_extract_all(coalesce(description, ''),
                                                'https?://[^\\s<>"'')]+'),
                             CASE WHEN regexp_matches(coalesce(profile_image, ''), '^https?://')
                                  THEN [profile_image] ELSE [] END)) AS u
                  FROM accounts)
        ),
        specific AS (
            SELECT * FROM keys
            WHERE via = 'handle' OR (contains(value, '/') AND value IN (
                SELECT value FROM keys WHERE via = 'link' GROUP BY value
                HAVING count(DISTINCT account_id) <= {config.max_link_accounts}))
        ),
        multi AS (
            SELECT via, value FROM specific GROUP BY ALL HAVING count(DISTINCT platform) >= 2
        ),
        linked AS (
            SELECT s.*, a.network_id AS own_network FROM specific s JOIN multi USING (via, value)
            LEFT JOIN {assign} a USING (account_id)
        ),
        per_network AS (
            SELECT DISTINCT own_network AS network_id, via, value FROM linked
            WHERE own_network IS NOT NULL
        )
        SELECT p.network_id, p.via, p.value,
               list(DISTINCT l.platform ORDER BY l.platform) AS platforms,
               list(l.platform || ':' || l.account_id ORDER BY l.platform, l.account_id)
                   FILTER (WHERE l.own_network IS NOT DISTINCT FROM p.network_id) AS accounts,
               list(l.platform || ':' || l.account_id ORDER BY l.platform, l.account_id)
                   FILTER (WHERE l.own_network IS DISTINCT FROM p.network_id) AS outside
        FROM per_network p JOIN linked l USING (via, value)
        GROUP BY ALL
        ORDER BY p.network_id, len(platforms) DESC, p.via, p.value
        """,
    )
    out: dict[str, list[dict[str, Any]]] = {}
    for r in rows.to_pylist():
        items = out.setdefault(str(r.pop("network_id")), [])
        if len(items) < cap:
            r["accounts"] = (r["accounts"] or [])[:cap]
            r["outside"] = (r["outside"] or [])[:cap]
            items.append(r)
    return out
