"""Infrastructure: the IPs, networks, devices and places a network's accounts were run from.

Only platforms see this (the ``infra`` table: one row per login or session, with ``ip``,
``asn``, ``country``, ``device_id``, ``user_agent``). Per network this module reports (see
``docs/fingerprints-a.md``):

* **Shared values.** For each field (``ip``, ``ip_prefix``, ``asn``, ``device_id``,
  ``user_agent``), every value used by at least two of the network's accounts: how many of its
  accounts used it, in how many rows, and how many accounts *outside* the network used it too.
  ``ip_prefix`` is the IPv4 /24 (``81.2.69.0/24``) or the first three groups of an IPv6 address
  as written (``2001:db8:1::/48``; compressed addresses are not expanded). A value many outside
  accounts share (a mobile carrier's ASN, a common user agent) is weak evidence; one that only
  the network uses (a device, an office IP) is strong.
* **Where from.** Rows per country and per ASN, and a location summary: the top country's share
  of rows with a country, and the fewest ASNs that cover 95% of rows with an ASN. A network is
  ``single_location`` when the top country holds at least ``location_share`` of its rows and at
  most ``max_location_asns`` ASNs cover 95% ("operated from one location": 95% of its rows from
  one country over two ASNs).

A case without infra rows gives an empty result (``available`` false, no networks). VPNs and
proxies defeat all of this: a shared exit IP is evidence, a varied one is not counter-evidence.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Final

import duckdb
import pyarrow as pa

from cibscan.errors import ConfigError
from cibscan.fingerprints._assignment import (
    fetch_arrow,
    network_ids,
    registered,
    validated_assignment,
)

__all__ = [
    "INFRA_FIELDS",
    "InfraConfig",
    "InfraFingerprints",
    "NetworkInfra",
    "infra_fingerprints",
]

#: Fields whose shared values are reported, with their SQL over an ``infra`` row.
INFRA_FIELDS: Final = {
    "ip": "ip",
    "ip_prefix": (
        "CASE WHEN regexp_full_match(ip, '\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}')"
        " THEN regexp_extract(ip, '^(\\d+\\.\\d+\\.\\d+)\\.', 1) || '.0/24'"
        " WHEN contains(ip, ':')"
        " THEN lower(regexp_extract(ip, '^([0-9A-Fa-f]*:[0-9A-Fa-f]*:[0-9A-Fa-f]*)', 1))"
        " || '::/48' END"
    ),
    "asn": "upper(asn)",
    "device_id": "device_id",
    "user_agent": "user_agent",
}


@dataclass(frozen=True)
class InfraConfig:
    """Thresholds of the infrastructure fingerprint.

    Parameters
    ----------
    min_shared
        A value is reported when at least this many of the network's accounts used it.
    max_items
        Values reported per field (most accounts first), countries and ASNs per network.
    location_share
        Minimum share of rows from the top country for ``single_location``.
    max_location_asns
        Maximum number of ASNs covering 95% of rows for ``single_location``.

    Examples
    --------
    >>> InfraConfig().location_share
    0.9
    """

    min_shared: int = 2
    max_items: int = 20
    location_share: float = 0.9
    max_location_asns: int = 2

    def __post_init__(self) -> None:
        for name in ("min_shared", "max_items", "max_location_asns"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"infra config {name}={value!r}: must be an integer >= 1")
        if not 0.0 < self.location_share <= 1.0:
            raise ConfigError(
                f"infra config location_share={self.location_share}: must be in (0, 1]"
            )

    def as_dict(self) -> dict[str, Any]:
        """Return the configuration as plain JSON-compatible data."""
        return asdict(self)


@dataclass(frozen=True)
class NetworkInfra:
    """Infrastructure evidence for one network.

    Attributes
    ----------
    network_id, accounts
        The network and its number of accounts.
    accounts_with_infra, rows
        Accounts with at least one infra row, and the rows.
    shared
        Field -> values used by at least ``min_shared`` accounts of the network:
        ``value, accounts, rows, outside_accounts`` (accounts not in this network with the
        same value), most accounts first.
    countries, asns
        ``country``/``asn``, ``rows``, ``share`` (of rows with the field), ``accounts``,
        ``outside_accounts``; most rows first.
    location
        ``country`` (top), ``country_share``, ``asns_for_95pct`` (fewest ASNs covering 95% of
        rows with an ASN), ``single_location`` (bool).
    """

    network_id: str
    accounts: int
    accounts_with_infra: int
    rows: int
    shared: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    countries: list[dict[str, Any]] = field(default_factory=list)
    asns: list[dict[str, Any]] = field(default_factory=list)
    location: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """Return JSON-ready data."""
        return asdict(self)


@dataclass(frozen=True)
class InfraFingerprints:
    """Infrastructure fingerprints of every network of an assignment.

    ``available`` is false, and ``networks`` empty, when the case has no infra rows.
    """

    available: bool
    networks: dict[str, NetworkInfra]
    config: InfraConfig

    def as_dict(self) -> dict[str, Any]:
        """Return JSON-ready data: the config, availability and one entry per network."""
        return {
            "config": self.config.as_dict(),
            "available": self.available,
            "networks": {k: v.as_dict() for k, v in self.networks.items()},
        }


def _value_rows(
    con: duckdb.DuckDBPyConnection, assign: str, fields: dict[str, str], aside: str
) -> pa.Table:
    """Per network, field and value: accounts, rows and outside accounts (``aside``: a table
    of ``account_id, network_id`` that count neither in the network nor outside it)."""
    parts = [
        f"SELECT account_id, '{name}' AS field, {expr} AS value FROM infra"
        for name, expr in fields.items()
    ]
    return fetch_arrow(
        con,
        f"""
        WITH vals AS (
            SELECT * FROM ({" UNION ALL ".join(parts)}) WHERE coalesce(value, '') <> ''
        ),
        case_counts AS (
            SELECT field, value, count(DISTINCT account_id) AS case_accounts
            FROM vals GROUP BY ALL
        ),
        net AS (
            SELECT a.network_id, v.field, v.value, count(DISTINCT v.account_id) AS accounts,
                   count(*) AS rows
            FROM vals v JOIN {assign} a USING (account_id) GROUP BY ALL
        ),
        set_aside AS (
            SELECT x.network_id, v.field, v.value, count(DISTINCT v.account_id) AS aside
            FROM vals v JOIN {aside} x USING (account_id) GROUP BY ALL
        )
        SELECT net.*, c.case_accounts - net.accounts - coalesce(x.aside, 0) AS outside_accounts,
               rows / sum(rows) OVER (PARTITION BY network_id, field) AS share
        FROM net JOIN case_counts c USING (field, value)
        LEFT JOIN set_aside x USING (network_id, field, value)
        ORDER BY network_id, field, accounts DESC, rows DESC, value
        """,
    )


def infra_fingerprints(
    con: duckdb.DuckDBPyConnection,
    assignment: pa.Table,
    *,
    config: InfraConfig | None = None,
    exclude: pa.Table | None = None,
) -> InfraFingerprints:
    """Shared IPs, ASNs, devices and user agents, and the countries, of every network.

    Parameters
    ----------
    con
        A case-store connection (its ``infra`` table is read).
    assignment
        ``account_id, network_id``: one row per account.
    config
        Thresholds; :class:`InfraConfig` defaults when ``None``.
    exclude
        ``account_id, network_id``: accounts set aside for a network, counted neither in it nor
        among its ``outside_accounts`` (the assessment sets aside a group's accounts that
        declare automation when it measures the others). Other networks count them as usual.

    Examples
    --------
    >>> from cibscan.case import open_case
    >>> fp = infra_fingerprints(open_case().con,
    ...                         pa.table({"account_id": ["a"], "network_id": ["n"]}))
    >>> fp.available, fp.networks
    (False, {})
    """
    config = config or InfraConfig()
    table = validated_assignment(assignment)
    row = con.sql("SELECT count(*) FROM infra").fetchall()[0]
    if not row or not row[0]:
        return InfraFingerprints(available=False, networks={}, config=config)
    aside = (
        validated_assignment(exclude)
        if exclude is not None
        else pa.table(
            {"account_id": pa.array([], pa.string()), "network_id": pa.array([], pa.string())}
        )
    )
    with (
        registered(con, table, "assignment") as assign,
        registered(con, aside, "aside") as aside_name,
    ):
        values = _value_rows(con, assign, {**INFRA_FIELDS, "country": "upper(country)"}, aside_name)
        totals = fetch_arrow(
            con,
            f"""
            SELECT a.network_id, count(DISTINCT i.account_id) AS accounts_with_infra,
                   count(i.account_id) AS rows
            FROM {assign} a LEFT JOIN infra i USING (account_id)
            GROUP BY ALL
            """,
        )
        members = fetch_arrow(con, f"SELECT network_id, count(*) AS n FROM {assign} GROUP BY ALL")
    size = dict(zip(members["network_id"].to_pylist(), members["n"].to_pylist(), strict=True))
    total = {r["network_id"]: r for r in totals.to_pylist()}
    shared: dict[str, dict[str, list[dict[str, Any]]]] = {}
    places: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for r in values.to_pylist():
        nid, name = str(r.pop("network_id")), str(r.pop("field"))
        r["share"] = round(float(r["share"]), 4)
        if name in ("country", "asn"):
            places.setdefault(nid, {}).setdefault(name, []).append(r)
        if name != "country" and r["accounts"] >= config.min_shared:
            items = shared.setdefault(nid, {}).setdefault(name, [])
            if len(items) < config.max_items:
                items.append({k: r[k] for k in ("value", "accounts", "rows", "outside_accounts")})
    out: dict[str, NetworkInfra] = {}
    for nid in network_ids(table):
        countries, asns = (
            sorted(places.get(nid, {}).get(name, []), key=lambda r: (-r["rows"], r["value"]))
            for name in ("country", "asn")
        )
        out[nid] = NetworkInfra(
            network_id=nid,
            accounts=int(size[nid]),
            accounts_with_infra=int(total[nid]["accounts_with_infra"]),
            rows=int(total[nid]["rows"]),
            shared=shared.get(nid, {}),
            countries=[_place(r, "country") for r in countries[: config.max_items]],
            asns=[_place(r, "asn") for r in asns[: config.max_items]],
            location=_location(countries, asns, config),
        )
    return InfraFingerprints(available=True, networks=out, config=config)


def _place(row: dict[str, Any], name: str) -> dict[str, Any]:
    return {
        name: row["value"],
        "rows": row["rows"],
        "share": row["share"],
        "accounts": row["accounts"],
        "outside_accounts": row["outside_accounts"],
    }


def _location(
    countries: list[dict[str, Any]], asns: list[dict[str, Any]], config: InfraConfig
) -> dict[str, Any]:
    """Top country, its share, and the fewest ASNs covering 95% of rows (both sorted by rows)."""
    top = countries[0] if countries else None
    asn_rows = sorted((r["rows"] for r in asns), reverse=True)
    covered, needed = 0, 0
    for n in asn_rows:
        if covered >= 0.95 * sum(asn_rows):
            break
        covered += n
        needed += 1
    country_share = (
        None if top is None else round(top["rows"] / sum(r["rows"] for r in countries), 4)
    )
    return {
        "country": None if top is None else top["value"],
        "country_share": country_share,
        "asns_for_95pct": needed if asn_rows else None,
        "single_location": bool(
            country_share is not None
            and country_share >= config.location_share
            and asn_rows
            and needed <= config.max_location_asns
        ),
    }
