"""Operator fingerprints: what the accounts of one network have in common.

Each module measures one kind of evidence for every network of an assignment (``account_id,
network_id``): :mod:`~cibscan.fingerprints.rhythm` (when and from which time zone),
:mod:`~cibscan.fingerprints.creation` (how the accounts were made),
:mod:`~cibscan.fingerprints.infra` (shared infrastructure), :mod:`~cibscan.fingerprints.assets`
(Pages, Groups, followers reached), :mod:`~cibscan.fingerprints.style` (who writes),
:mod:`~cibscan.fingerprints.hashtags` (hijacked hashtags),
:mod:`~cibscan.fingerprints.narratives` (what they say) and
:mod:`~cibscan.fingerprints.related` (networks that use the same distinctive material).
:func:`fingerprint_networks` runs them all and merges their output into the networks' records.
"""

from __future__ import annotations

from typing import Any

import duckdb
import pyarrow as pa

__all__ = ["fingerprint_networks"]


def fingerprint_networks(
    con: duckdb.DuckDBPyConnection, networks: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Run every fingerprint over the networks and merge the results into their records.

    Parameters
    ----------
    con
        The case-store connection.
    networks
        Network records with ``id`` and ``accounts`` (as in ``networks.json``). Fingerprints a
        record already holds (``rhythm``, ``creation``, ``infra`` from detection) are kept.

    Returns
    -------
    list of dict
        The records, each with ``rhythm``, ``creation``, ``infra`` (when the case has infra
        rows), ``assets``, ``style``, ``narratives``, ``hijacked_hashtags``,
        ``related_networks`` (the other networks that use its distinctive items) and
        ``related_group`` (every network joined to it that way, itself included; empty when
        none is).
    """
    from cibscan.fingerprints.assets import asset_fingerprints
    from cibscan.fingerprints.creation import creation_fingerprints
    from cibscan.fingerprints.hashtags import hashtag_hijacking
    from cibscan.fingerprints.infra import infra_fingerprints
    from cibscan.fingerprints.narratives import narratives
    from cibscan.fingerprints.related import related_networks
    from cibscan.fingerprints.rhythm import network_rhythms
    from cibscan.fingerprints.style import style_fingerprints

    assignment = pa.table(
        {
            "account_id": pa.array([a for n in networks for a in n["accounts"]], pa.string()),
            "network_id": pa.array([n["id"] for n in networks for _ in n["accounts"]], pa.string()),
        }
    )
    if assignment.num_rows == 0:
        return [dict(n) for n in networks]
    parts: dict[str, dict[str, Any]] = {
        "assets": asset_fingerprints(con, assignment).as_dict()["networks"],
        "style": style_fingerprints(con, assignment).as_dict()["networks"],
        "narratives": narratives(con, assignment).as_dict()["networks"],
    }
    if any("rhythm" not in n for n in networks):
        parts["rhythm"] = network_rhythms(con, assignment).as_dict()["networks"]
    if any("creation" not in n for n in networks):
        parts["creation"] = creation_fingerprints(con, assignment).as_dict()["networks"]
    if any("infra" not in n for n in networks):
        parts["infra"] = infra_fingerprints(con, assignment).as_dict()["networks"]
    hijacks = hashtag_hijacking(con, assignment).as_dict()["networks"]
    related = related_networks(con, assignment)
    group_of = {n: g for g in related.groups for n in g}
    merged_all = []
    for network in networks:
        merged = dict(network)
        for key, values in parts.items():
            if key not in merged and network["id"] in values:
                merged[key] = values[network["id"]]
        merged["hijacked_hashtags"] = hijacks.get(network["id"], {}).get("hijacked_hashtags", [])
        merged["related_networks"] = related.for_network(network["id"])
        merged["related_group"] = list(group_of.get(network["id"], []))
        merged_all.append(merged)
    return merged_all
