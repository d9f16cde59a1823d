"""From detect outputs, case facts and the graph to what the template and the script show.

Everything here is plain data; fingerprints are optional and each section says so when its
fingerprint did not run. Shapes follow the fingerprint modules' ``as_dict()``.
"""

from __future__ import annotations

import colorsys
import datetime as dt
import math
from typing import Any, Final

from cibscan.explain import group_test_summary, split_test_sentence
from cibscan.fingerprints.rhythm import (
    format_offset,
    utc_working_day,
    working_days,
    working_week_words,
)
from cibscan.report import _charts
from cibscan.report._casedata import CaseFacts
from cibscan.report._graph import GraphView
from cibscan.report._inputs import DetectionOutputs

__all__ = ["graph_payload", "network_views", "summary_view"]

#: Colour-blind-safe categorical palette (Okabe-Ito, then Tableau) for the first networks.
PALETTE: Final = (
    "#d55e00",
    "#0072b2",
    "#009e73",
    "#cc79a7",
    "#e69f00",
    "#56b4e9",
    "#8c564b",
    "#9467bd",
    "#bcbd22",
    "#17becf",
    "#e15759",
    "#4e79a7",
)
SIGNAL_PALETTE: Final = (
    "#1b9e77",
    "#d95f02",
    "#7570b3",
    "#e7298a",
    "#66a61e",
    "#e6ab02",
    "#a6761d",
    "#666666",
    "#1f78b4",
    "#b2df8a",
)
BACKGROUND: Final = "#c3ccd6"
BACKGROUND_LINKED: Final = "#8d99a6"
KIND_WORDS: Final = {"user": "users", "page": "Pages", "group": "Groups", "channel": "channels"}
#: Account rows listed per network table (the graph and the JSON hold them all).
ACCOUNTS_PER_TABLE: Final = 300


def network_colour(index: int) -> str:
    """Colour of the network at ``index``; beyond the palette, hues spaced by the golden angle."""
    if index < len(PALETTE):
        return PALETTE[index]
    hue = (index * 0.618033988749895) % 1.0
    r, g, b = colorsys.hls_to_rgb(hue, 0.45, 0.65)
    return f"#{round(r * 255):02x}{round(g * 255):02x}{round(b * 255):02x}"


def signal_colour(index: int) -> str:
    """Colour of the signal at ``index``."""
    return SIGNAL_PALETTE[index % len(SIGNAL_PALETTE)]


def _float(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _int(value: Any) -> int | None:
    number = _float(value)
    return None if number is None else int(number)


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _kinds_phrase(kinds: dict[str, int]) -> str:
    order = list(KIND_WORDS)
    parts = [
        f"{count:,} {KIND_WORDS.get(kind, kind)}"
        for kind, count in sorted(
            kinds.items(), key=lambda kv: (order.index(kv[0]) if kv[0] in order else 99, kv[0])
        )
        if count
    ]
    return ", ".join(parts) if parts else "no assets"


def _day(iso: str | None) -> str | None:
    return iso[:10] if iso else None


def _span_days(first: str | None, last: str | None) -> float | None:
    if not first or not last:
        return None
    a = dt.datetime.fromisoformat(first.replace("Z", "+00:00"))
    b = dt.datetime.fromisoformat(last.replace("Z", "+00:00"))
    return (b - a).total_seconds() / 86400


def _signals_of(graph: GraphView, outputs: DetectionOutputs) -> list[str]:
    configured = [str(s) for s in _list(_dict(outputs.document.get("config")).get("signals"))]
    seen = list(dict.fromkeys(configured))
    for _, _, _, top, signals in graph.edges:
        for s in [top, *signals.split(",")]:
            if s and s not in seen:
                seen.append(s)
    return seen


def graph_payload(outputs: DetectionOutputs, graph: GraphView, facts: CaseFacts) -> dict[str, Any]:
    """The data the page's script needs: nodes, links, networks, signals and account cards."""
    signals = _signals_of(graph, outputs)
    signal_index = {s: i for i, s in enumerate(signals)}
    rows = outputs.accounts.select(["account_id", "score", "degree", "top_signals"]).to_pylist()
    scored = {r["account_id"]: r for r in rows}
    index = graph.index()
    top_score = (
        max((_float(scored.get(a, {}).get("score")) or 0.0 for a in graph.ids), default=0.0) or 1.0
    )
    sizes: list[float] = []
    node_signal: list[int] = []
    labels: list[str] = []
    accounts: list[dict[str, Any]] = []
    for i, account in enumerate(graph.ids):
        row = scored.get(account, {})
        score = _float(row.get("score")) or 0.0
        tier = graph.tier[i]
        if tier == 0:
            sizes.append(round(3.5 + 8.0 * math.sqrt(max(score, 0.0) / top_score), 2))
        else:
            sizes.append(2.6 if tier <= 2 else 1.8)
        top_signals = str(row.get("top_signals") or "")
        first = top_signals.split(",")[0] if top_signals else ""
        node_signal.append(signal_index.get(first, -1))
        profile = facts.profiles.get(account, {})
        handle = profile.get("username") or profile.get("display_name") or account
        labels.append(str(handle))
        accounts.append(
            {
                "id": account,
                "handle": profile.get("username"),
                "name": profile.get("display_name"),
                "bio": profile.get("description"),
                "kind": profile.get("kind"),
                "platform": profile.get("platform"),
                "created": profile.get("created"),
                "followers": profile.get("followers"),
                "posts": profile.get("posts", 0),
                "score": round(score, 3),
                "degree": _int(row.get("degree")),
                "signals": top_signals,
                "network": graph.network[i],
                "sample": facts.samples.get(account, []),
                "partners": [
                    {"node": index.get(p, -1), "id": p, "signals": s, "weight": w}
                    for p, s, w in graph.partners.get(account, [])
                ],
            }
        )
    return {
        "nodes": {
            "x": graph.x,
            "y": graph.y,
            "size": sizes,
            "net": graph.network,
            "tier": graph.tier,
            "sig": node_signal,
            "label": labels,
        },
        "edges": {
            "s": [e[0] for e in graph.edges],
            "t": [e[1] for e in graph.edges],
            "sig": [signal_index.get(e[3], -1) for e in graph.edges],
        },
        "signals": [{"name": s, "colour": signal_colour(i)} for i, s in enumerate(signals)],
        "networks": [
            {
                "id": str(n.get("id")),
                "anchor": f"net-{i}",
                "colour": network_colour(i),
                "size": len(_list(n.get("accounts"))),
            }
            for i, n in enumerate(outputs.networks)
        ],
        "background": {"colour": BACKGROUND, "linked": BACKGROUND_LINKED},
        "accounts": accounts,
    }


def _where_when(network: dict[str, Any], facts_net: dict[str, Any]) -> dict[str, Any]:
    rhythm = _dict(network.get("rhythm"))
    offset = _float(rhythm.get("utc_offset_hours"))
    infra = _dict(network.get("infra"))
    location = _dict(infra.get("location"))
    first, last = facts_net.get("first"), facts_net.get("last")
    return {
        "has_rhythm": bool(rhythm),
        "offset": format_offset(offset) if offset is not None else None,
        "offset_confidence": _float(rhythm.get("utc_offset_confidence")),
        "utc_day": utc_working_day(offset)
        if offset is not None and rhythm.get("rhythm") == "office"
        else None,
        "rhythm": rhythm.get("rhythm"),
        "active_window": _dict(rhythm.get("active_window")) or None,
        "working_days": working_week_words(rhythm.get("working_week")),
        "weekday_share": _float(rhythm.get("weekday_share")),
        "working_hours_share": _float(rhythm.get("working_hours_share")),
        "lunch_share": _float(rhythm.get("lunch_share")),
        "night_share": _float(rhythm.get("night_share")),
        "accounts_in_working_hours": _int(rhythm.get("accounts_in_working_hours")),
        "accounts_telling": _int(rhythm.get("accounts_telling")),
        "accounts_confined": _int(rhythm.get("accounts_confined")),
        "accounts_active": _int(rhythm.get("accounts_active")),
        "country": location.get("country"),
        "country_share": _float(location.get("country_share")),
        "single_location": location.get("single_location"),
        "first": first,
        "last": last,
        "first_day": _day(first),
        "last_day": _day(last),
        "days": _span_days(first, last),
    }


def _assets(network: dict[str, Any], facts_net: dict[str, Any]) -> dict[str, Any]:
    assets = _dict(network.get("assets"))
    if assets:
        by_kind = {str(k): _int(v) or 0 for k, v in _dict(assets.get("assets_by_kind")).items()}
        own = {str(k): _int(v) or 0 for k, v in _dict(assets.get("accounts_by_kind")).items()}
        run = {str(k): _int(v) or 0 for k, v in _dict(assets.get("administered_by_kind")).items()}
        followers = _dict(assets.get("followers"))
        return {
            "from_fingerprint": True,
            "by_kind": by_kind,
            "phrase": _kinds_phrase(by_kind),
            "total": sum(by_kind.values()),
            "own_phrase": _kinds_phrase(own),
            "administered_phrase": _kinds_phrase(run) if any(run.values()) else None,
            "followers": _int(followers.get("sum")),
            "followers_max": _int(followers.get("max")),
            "followers_known": _int(followers.get("known")),
            "followers_assets": _int(followers.get("assets")),
            "platforms": _dict(assets.get("platforms")),
            "cross_platform": _list(assets.get("cross_platform")),
        }
    kinds = {str(k): int(v) for k, v in facts_net.get("account_kinds", {}).items()}
    return {
        "from_fingerprint": False,
        "by_kind": kinds,
        "phrase": _kinds_phrase(kinds),
        "total": sum(kinds.values()),
        "own_phrase": _kinds_phrase(kinds),
        "administered_phrase": None,
        "followers": facts_net.get("followers"),
        "followers_max": None,
        "followers_known": None,
        "followers_assets": None,
        "platforms": {},
        "cross_platform": [],
    }


def _items(values: Any, limit: int) -> list[dict[str, Any]]:
    return [v for v in _list(values) if isinstance(v, dict)][:limit]


def _what(network: dict[str, Any]) -> dict[str, Any]:
    narratives = _dict(network.get("narratives"))
    hijacked = _items(network.get("hijacked_hashtags"), 10)
    return {
        "has_narratives": bool(narratives),
        "hashtags": _items(narratives.get("hashtags"), 10),
        "domains": _items(narratives.get("domains"), 10),
        "terms": _items(narratives.get("terms"), 15),
        "praises": _items(narratives.get("praises"), 8),
        "attacks": _items(narratives.get("attacks"), 8),
        "representative": _items(narratives.get("representative_posts"), 5),
        "sentiment_coverage": _float(narratives.get("sentiment_coverage")),
        "has_hijacks": "hijacked_hashtags" in network,
        "hijacked": hijacked,
    }


def _charts_for(
    i: int,
    network: dict[str, Any],
    facts_net: dict[str, Any],
    facts: CaseFacts,
    what: dict[str, Any],
) -> dict[str, Any]:
    colour = network_colour(i)
    rhythm = _dict(network.get("rhythm"))
    local = rhythm.get("profile_local")
    offset = _float(rhythm.get("utc_offset_hours"))
    if isinstance(local, list) and len(local) == 168 and offset is not None:
        week = [_float(v) or 0.0 for v in local]
        basis = f"local time at the inferred offset {format_offset(offset)}"
    else:
        week = [float(v) for v in facts_net.get("week_utc", [])]
        basis = "UTC (no offset inferred)"
    hijack_chart = None
    series_chart = None
    if what["hijacked"]:
        hijack_chart = _charts.bar_chart(
            [
                (
                    "#" + str(h.get("hashtag", "")),
                    100 * (_float(h.get("top_share")) or 0.0),
                    100 * (_float(h.get("account_share")) or 0.0),
                )
                for h in what["hijacked"]
            ],
            label="share of each hashtag's top results held by the network",
            colour=colour,
            unit="%",
            max_value=100.0,
        )
        first = what["hijacked"][0]
        points = [
            (str(p.get("time", "")), _float(p.get("top_share")) or 0.0)
            for p in _list(first.get("series"))
            if isinstance(p, dict)
        ]
        series_chart = _charts.series_chart(
            points,
            label="top-result share over time",
            colour=colour,
            baseline=_float(first.get("account_share")),
        )
    hashtag_chart = None
    if what["hashtags"]:
        hashtag_chart = _charts.bar_chart(
            [
                ("#" + str(h.get("item", "")), _float(h.get("z")) or 0.0, None)
                for h in what["hashtags"]
            ],
            label="distinctive hashtags (log-odds z)",
            colour=colour,
        )
    return {
        "timeline": _charts.timeline(
            facts_net.get("timeline", []),
            facts.timeline.get("start"),
            str(facts.timeline.get("unit", "hour")),
            colour=colour,
            label="posts over time",
        ),
        "heatmap": _charts.heatmap(
            week,
            label=f"posts by hour of week, {basis}",
            colour=colour,
            working_days=working_days(_dict(network.get("rhythm")).get("working_week")),
        ),
        "heatmap_basis": basis,
        "timeline_unit": str(facts.timeline.get("unit", "hour")),
        "hijack": hijack_chart,
        "hijack_series": series_chart,
        "hashtags": hashtag_chart,
    }


def network_views(
    outputs: DetectionOutputs, graph: GraphView, facts: CaseFacts
) -> list[dict[str, Any]]:
    """One view per flagged network for the template, in rank order."""
    index = graph.index()
    scored = {
        r["account_id"]: r
        for r in outputs.accounts.select(["account_id", "score", "top_signals"]).to_pylist()
    }
    views: list[dict[str, Any]] = []
    anchors = {str(n.get("id")): f"net-{i}" for i, n in enumerate(outputs.networks)}
    for i, network in enumerate(outputs.networks):
        facts_net = facts.networks[i] if i < len(facts.networks) else {}
        members = [str(a) for a in _list(network.get("accounts"))]
        rows = []
        for account in members:
            profile = facts.profiles.get(account, {})
            row = scored.get(account, {})
            rows.append(
                {
                    "node": index.get(account, -1),
                    "id": account,
                    "handle": profile.get("username") or profile.get("display_name") or account,
                    "kind": profile.get("kind"),
                    "created": _day(profile.get("created")),
                    "followers": profile.get("followers"),
                    "posts": profile.get("posts"),
                    "score": _float(row.get("score")),
                    "signals": row.get("top_signals"),
                }
            )
        rows.sort(key=lambda r: (-(r["score"] or 0.0), r["id"]))
        evidence = []
        for e in facts_net.get("evidence", []):
            evidence.append(
                {
                    **e,
                    "source_node": index.get(e["source"], -1),
                    "target_node": index.get(e["target"], -1),
                    "source_handle": _handle(facts, e["source"]),
                    "target_handle": _handle(facts, e["target"]),
                }
            )
        what = _what(network)
        edges_by_signal = sorted(
            ((str(k), _int(v) or 0) for k, v in _dict(network.get("edges_by_signal")).items()),
            key=lambda kv: (-kv[1], kv[0]),
        )
        style = _dict(network.get("style"))
        creation = _dict(network.get("creation"))
        infra = _dict(network.get("infra"))
        views.append(
            {
                "index": i,
                "anchor": f"net-{i}",
                "id": str(network.get("id")),
                "rank": _int(network.get("rank")) or i + 1,
                "colour": network_colour(i),
                "size": len(members),
                "score": _float(network.get("score")),
                "cohesion": _float(network.get("cohesion")),
                "estimated_fdr": _float(network.get("estimated_fdr")),
                "group_test": group_test_summary(network),
                "attributed": outputs.document.get("attributed") is True,
                "split_note": split_test_sentence(network),
                "internal_edges": _int(network.get("internal_edges")),
                "edges_by_signal": edges_by_signal,
                "markers": [m for m in _list(network.get("markers")) if isinstance(m, dict)],
                "assets": _assets(network, facts_net),
                "where": _where_when(network, facts_net),
                "what": what,
                "posts": facts_net.get("posts", 0),
                "post_kinds": facts_net.get("kinds", {}),
                "evidence_total": facts_net.get("evidence_total", 0),
                "evidence": evidence,
                "accounts": rows[:ACCOUNTS_PER_TABLE],
                "accounts_hidden": max(0, len(rows) - ACCOUNTS_PER_TABLE),
                "style": style,
                "personas": [
                    {
                        **p,
                        "node": index.get(str(p.get("account_id")), -1),
                        "handle": _handle(facts, str(p.get("account_id"))),
                    }
                    for p in _items(style.get("personas"), 20)
                ],
                "creation": creation,
                "bursts": _items(creation.get("bursts"), 10),
                "infra": infra,
                "has_related": "related_networks" in network,
                "related": _related(network, anchors),
                "charts": _charts_for(i, network, facts_net, facts, what),
            }
        )
    return views


def _related(network: dict[str, Any], anchors: dict[str, str]) -> list[dict[str, Any]]:
    """The networks related to this one (``related_networks``), each with its anchor in the
    report (``None`` when it is not in it) and its strongest items."""
    out = []
    for r in _items(network.get("related_networks"), 20):
        other = str(r.get("network"))
        out.append(
            {
                "network": other,
                "anchor": anchors.get(other),
                "count": _int(r.get("items")) or 0,
                "by_kind": sorted(
                    ((str(k), _int(v) or 0) for k, v in _dict(r.get("by_kind")).items()),
                    key=lambda kv: (-kv[1], kv[0]),
                ),
                "p_adjusted": _float(r.get("p_adjusted")),
                "evidence": _items(r.get("evidence"), 10),
            }
        )
    return out


def _handle(facts: CaseFacts, account: str) -> str:
    profile = facts.profiles.get(account, {})
    return str(profile.get("username") or profile.get("display_name") or account)


#: Coordinated groups without a marker listed in the report (all are in networks.json).
UNFLAGGED_SHOWN: Final = 20


def _unflagged_view(groups: list[Any], flag_declared: bool = False) -> list[dict[str, Any]]:
    """The strongest coordinated groups not flagged: id, size, score, FDR, signals, markers,
    and the declaration of automation that kept a group with markers from being flagged."""
    rows = []
    for group in groups[:UNFLAGGED_SHOWN]:
        g = _dict(group)
        by_signal = _dict(g.get("edges_by_signal"))
        declared = _dict(g.get("declared_automation"))
        rows.append(
            {
                "id": str(g.get("id", "")),
                "size": _int(g.get("size")) or 0,
                "score": _float(g.get("score")),
                "estimated_fdr": _float(g.get("estimated_fdr")),
                "group_test": group_test_summary(g),
                "markers": [str(_dict(m).get("marker", "")) for m in _list(g.get("markers"))],
                "declared": _declared_text(declared, flag_declared),
                "signals": ", ".join(
                    f"{name} ({_int(n) or 0})"
                    for name, n in sorted(
                        by_signal.items(), key=lambda kv: (-(_int(kv[1]) or 0), kv[0])
                    )
                ),
            }
        )
    return rows


def _declared_text(declared: dict[str, Any], flag_declared: bool = False) -> str:
    """What a group's declared automation did: kept a fleet unflagged, or set some accounts
    aside from its creation, handle, profile and infrastructure markers; nothing under
    ``flag_declared``."""
    if not declared:
        return ""
    accounts = _int(declared.get("accounts")) or 0
    members = _int(declared.get("members")) or 0
    text = (
        f"{accounts} of {members} accounts declare automation ("
        + ", ".join(str(f) for f in _dict(declared.get("fields")))
        + ")"
    )
    if flag_declared:
        return text + "; counted like any other (flag_declared)"
    if declared.get("whole_group"):
        return text + ": an open automated fleet, not flagged"
    return (
        text + "; its creation, handle, profile and infrastructure markers are measured on the"
        f" other {members - accounts}"
    )


def summary_view(
    outputs: DetectionOutputs, views: list[dict[str, Any]], graph: GraphView, facts: CaseFacts
) -> dict[str, Any]:
    """Totals over all networks, for the opening paragraph of the report."""
    kinds: dict[str, int] = {}
    followers = 0
    followers_known = False
    for view in views:
        for kind, count in view["assets"]["by_kind"].items():
            kinds[kind] = kinds.get(kind, 0) + count
        if view["assets"]["followers"] is not None:
            followers += int(view["assets"]["followers"])
            followers_known = True
    groups = outputs.document.get("coordinated_groups")
    config = _dict(outputs.document.get("config"))
    return {
        "networks": len(views),
        "accounts": sum(v["size"] for v in views),
        "kinds_phrase": _kinds_phrase(kinds),
        "assets": sum(kinds.values()),
        "followers": followers if followers_known else None,
        "unflagged_groups": len(groups) if isinstance(groups, list) else None,
        "unflagged": _unflagged_view(_list(groups), bool(config.get("flag_declared"))),
        "window": _float(config.get("window")),
        "alpha": _float(config.get("alpha")),
        "signals": [str(s) for s in _list(config.get("signals"))],
        "min_markers": _int(config.get("min_markers")),
        "attributed": outputs.document.get("attributed") is True,
        "graph_nodes": len(graph.ids),
        "graph_edges": len(graph.edges),
        "graph_edges_total": graph.edges_total,
        "background_drawn": sum(1 for n in graph.network if n < 0),
        "background_total": graph.background_total,
        "case": facts.case,
    }
