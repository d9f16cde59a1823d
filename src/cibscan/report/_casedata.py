"""What the report reads from the case store: profiles, posts, activity and evidence texts.

Every query is one SQL statement over the drawn accounts or the flagged networks, registered as
Arrow tables, so the cost grows with the networks, not with the case.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Final

import duckdb
import pyarrow as pa

from cibscan.case import Case, time_resolution
from cibscan.report._graph import GraphView
from cibscan.report._inputs import DetectionOutputs

__all__ = ["CaseFacts", "read_case_facts"]

#: Posts shown per flagged account in the account view.
POSTS_PER_ACCOUNT: Final = 6
#: Evidence rows (post pairs) listed per network.
EVIDENCE_PER_NETWORK: Final = 150
#: Characters of a post text kept in the report.
TEXT_CHARS: Final = 400
#: Above this many days the timeline counts days instead of hours.
HOURLY_UP_TO_DAYS: Final = 14


@dataclass
class CaseFacts:
    """Everything the report takes from the case store.

    Attributes
    ----------
    profiles
        Account id -> ``kind, username, display_name, description, created, followers,
        platform, posts`` for every drawn account.
    samples
        Account id -> its first posts (``time, kind, text``), for flagged accounts.
    networks
        Per network (by index): ``posts``, ``first``, ``last``, ``kinds`` (posts by kind),
        ``account_kinds``, ``followers``, ``timeline`` (counts per bin), ``week_utc`` (168
        hourly counts, Monday 00:00 UTC first), ``evidence`` (rows) and ``evidence_total``.
    timeline
        ``unit`` (``hour`` or ``day``), ``start`` (ISO), ``bins`` (number of bins).
    case
        ``accounts``, ``posts``, ``first``, ``last`` of the whole case.
    """

    profiles: dict[str, dict[str, Any]] = field(default_factory=dict)
    samples: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    networks: list[dict[str, Any]] = field(default_factory=list)
    timeline: dict[str, Any] = field(default_factory=dict)
    case: dict[str, Any] = field(default_factory=dict)


@contextmanager
def _registered(con: duckdb.DuckDBPyConnection, name: str, table: pa.Table) -> Iterator[str]:
    con.register(name, table)
    try:
        yield name
    finally:
        con.unregister(name)


def _iso(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        moment = value.astimezone(dt.UTC) if value.tzinfo is not None else value
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    return str(value)


def _short(text: Any, limit: int = TEXT_CHARS) -> str | None:
    if text is None:
        return None
    shown = str(text)
    return shown if len(shown) <= limit else shown[: limit - 1] + "…"


def _one(con: duckdb.DuckDBPyConnection, sql: str) -> tuple[Any, ...] | None:
    rows = con.execute(sql).fetchall()
    return tuple(rows[0]) if rows else None


def _rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[dict[str, Any]]:
    table = con.sql(sql).to_arrow_table()
    rows: list[dict[str, Any]] = table.to_pylist()
    return rows


def read_case_facts(case: Case, outputs: DetectionOutputs, graph: GraphView) -> CaseFacts:
    """Read profiles, post samples, activity and evidence texts for the report."""
    con = case.con
    facts = CaseFacts()
    nodes = pa.table(
        {
            "account_id": pa.array(graph.ids, pa.string()),
            "network": pa.array(graph.network, pa.int64()),
        }
    )
    n_networks = len(outputs.networks)
    span = _one(
        con, "SELECT count(*) AS posts, min(timestamp) AS first, max(timestamp) AS last FROM posts"
    )
    accounts_total = _one(
        con,
        "SELECT count(*) FROM (SELECT account_id FROM accounts UNION SELECT account_id FROM posts)",
    )
    facts.case = {
        "posts": int(span[0]) if span else 0,
        "first": _iso(span[1]) if span else None,
        "last": _iso(span[2]) if span else None,
        "accounts": int(accounts_total[0]) if accounts_total else 0,
        # times cut to the minute blur the co-action windows: said beside the case's span
        "time_note": time_resolution(con).note(),
    }
    with _registered(con, "_report_nodes", nodes):
        _profiles(con, facts)
        _samples(con, facts)
        facts.networks = [
            {
                "posts": 0,
                "first": None,
                "last": None,
                "kinds": {},
                "account_kinds": {},
                "followers": None,
                "timeline": [],
                "week_utc": [0] * 168,
                "evidence": [],
                "evidence_total": 0,
            }
            for _ in range(n_networks)
        ]
        if n_networks:
            _activity(con, facts, span[1] if span else None, span[2] if span else None)
            _account_kinds(con, facts)
            _evidence(con, facts, outputs)
    return facts


def _profiles(con: duckdb.DuckDBPyConnection, facts: CaseFacts) -> None:
    for row in _rows(
        con,
        """
        SELECT n.account_id, a.kind, a.username, a.display_name, a.description, a.created_at,
               a.followers, a.platform, coalesce(p.posts, 0) AS posts
        FROM _report_nodes n
        LEFT JOIN (SELECT account_id, min(kind) AS kind, min(username) AS username,
                          min(display_name) AS display_name, min(description) AS description,
                          min(created_at) AS created_at, max(followers) AS followers,
                          min(platform) AS platform
                   FROM accounts GROUP BY account_id) a USING (account_id)
        LEFT JOIN (SELECT account_id, count(*) AS posts FROM posts
                   WHERE account_id IN (SELECT account_id FROM _report_nodes)
                   GROUP BY account_id) p USING (account_id)
        """,
    ):
        facts.profiles[row["account_id"]] = {
            "kind": row["kind"],
            "username": _short(row["username"], 120),
            "display_name": _short(row["display_name"], 120),
            "description": _short(row["description"], 280),
            "created": _iso(row["created_at"]),
            "followers": row["followers"],
            "platform": row["platform"],
            "posts": int(row["posts"]),
        }


def _samples(con: duckdb.DuckDBPyConnection, facts: CaseFacts) -> None:
    for row in _rows(
        con,
        f"""
        SELECT p.account_id, p.timestamp, p.kind, p.text, p.hashtags
        FROM posts p JOIN _report_nodes n USING (account_id)
        WHERE n.network >= 0
        QUALIFY row_number() OVER (PARTITION BY p.account_id ORDER BY p.timestamp, p.post_id)
                <= {POSTS_PER_ACCOUNT}
        ORDER BY p.account_id, p.timestamp, p.post_id
        """,
    ):
        facts.samples.setdefault(row["account_id"], []).append(
            {"time": _iso(row["timestamp"]), "kind": row["kind"], "text": _short(row["text"])}
        )


def _activity(con: duckdb.DuckDBPyConnection, facts: CaseFacts, first: Any, last: Any) -> None:
    if first is None or last is None:
        return
    days = (last - first).total_seconds() / 86400
    unit = "hour" if days <= HOURLY_UP_TO_DAYS else "day"
    start = _one(con, f"SELECT date_trunc('{unit}', min(timestamp)) FROM posts")
    end = _one(con, f"SELECT date_trunc('{unit}', max(timestamp)) FROM posts")
    assert start is not None and end is not None
    step = 3600 if unit == "hour" else 86400
    bins = int((end[0] - start[0]).total_seconds() // step) + 1
    facts.timeline = {"unit": unit, "start": _iso(start[0]), "bins": bins}
    for net in facts.networks:
        net["timeline"] = [0] * bins
    flagged = "SELECT account_id, network FROM _report_nodes WHERE network >= 0"
    for row in _rows(
        con,
        f"""
        SELECT n.network, count(*) AS posts, min(p.timestamp) AS first,
               max(p.timestamp) AS last
        FROM posts p JOIN ({flagged}) n USING (account_id) GROUP BY 1
        """,
    ):
        net = facts.networks[row["network"]]
        net.update(posts=int(row["posts"]), first=_iso(row["first"]), last=_iso(row["last"]))
    for row in _rows(
        con,
        f"""
        SELECT n.network, coalesce(p.kind, '?') AS kind, count(*) AS posts
        FROM posts p JOIN ({flagged}) n USING (account_id) GROUP BY 1, 2 ORDER BY 1, 3 DESC, 2
        """,
    ):
        facts.networks[row["network"]]["kinds"][row["kind"]] = int(row["posts"])
    start_literal = _iso(start[0])
    for row in _rows(
        con,
        f"""
        SELECT n.network,
               (epoch(date_trunc('{unit}', p.timestamp))
                - epoch(TIMESTAMPTZ '{start_literal}'))::BIGINT // {step} AS bin,
               count(*) AS posts
        FROM posts p JOIN ({flagged}) n USING (account_id) GROUP BY 1, 2
        """,
    ):
        series = facts.networks[row["network"]]["timeline"]
        if 0 <= row["bin"] < bins:
            series[row["bin"]] = int(row["posts"])
    for row in _rows(
        con,
        f"""
        SELECT n.network, (isodow(p.timestamp) - 1) * 24 + hour(p.timestamp) AS slot,
               count(*) AS posts
        FROM posts p JOIN ({flagged}) n USING (account_id) GROUP BY 1, 2
        """,
    ):
        facts.networks[row["network"]]["week_utc"][row["slot"]] = int(row["posts"])


def _account_kinds(con: duckdb.DuckDBPyConnection, facts: CaseFacts) -> None:
    for row in _rows(
        con,
        """
        SELECT n.network, coalesce(a.kind, 'user') AS kind, count(*) AS accounts,
               sum(a.followers) AS followers
        FROM _report_nodes n LEFT JOIN (SELECT account_id, min(kind) AS kind,
                                               max(followers) AS followers
                                        FROM accounts GROUP BY account_id) a USING (account_id)
        WHERE n.network >= 0 GROUP BY 1, 2 ORDER BY 1, 2
        """,
    ):
        net = facts.networks[row["network"]]
        net["account_kinds"][row["kind"]] = int(row["accounts"])
        if row["followers"] is not None:
            net["followers"] = (net["followers"] or 0) + int(row["followers"])


def _evidence(con: duckdb.DuckDBPyConnection, facts: CaseFacts, outputs: DetectionOutputs) -> None:
    evidence = outputs.evidence.select(
        [
            "signal",
            "source",
            "target",
            "item",
            "source_post",
            "source_time",
            "target_post",
            "target_time",
            "gap",
        ]
    )
    with _registered(con, "_report_evidence", evidence):
        inside = """
            SELECT a.network, e.*
            FROM _report_evidence e
            JOIN _report_nodes a ON a.account_id = e.source
            JOIN _report_nodes b ON b.account_id = e.target
            WHERE a.network >= 0 AND a.network = b.network
        """
        for row in _rows(con, f"SELECT network, count(*) AS n FROM ({inside}) GROUP BY 1"):
            facts.networks[row["network"]]["evidence_total"] = int(row["n"])
        rows = _rows(
            con,
            f"""
            SELECT * FROM (
                SELECT *, row_number() OVER (PARTITION BY network, signal
                                             ORDER BY source_time, source, target, target_time,
                                                      source_post, target_post, item) AS turn
                FROM ({inside}))
            -- Signals take turns, so a network linked by five signals shows all five.
            QUALIFY row_number() OVER (PARTITION BY network ORDER BY turn, signal)
                    <= {EVIDENCE_PER_NETWORK}
            ORDER BY network, signal, turn
            """,
        )
        wanted = sorted(
            {r[k] for r in rows for k in ("source_post", "target_post", "item") if r[k]}
        )
        texts: dict[str, str | None] = {}
        if wanted:
            with _registered(con, "_report_posts", pa.table({"post_id": pa.array(wanted)})):
                for row in _rows(
                    con,
                    "SELECT post_id, min(text) AS text FROM posts "
                    "WHERE post_id IN (SELECT post_id FROM _report_posts) GROUP BY 1",
                ):
                    texts[row["post_id"]] = _short(row["text"], 240)
    for row in rows:
        facts.networks[row["network"]]["evidence"].append(
            {
                "signal": row["signal"],
                "source": row["source"],
                "target": row["target"],
                "item": _short(row["item"], 240),
                # Shares and replies co-act on a post: show what that post said.
                "item_text": texts.get(row["item"]) if row["item"] else None,
                "source_time": _iso(row["source_time"]),
                "source_text": texts.get(row["source_post"]) if row["source_post"] else None,
                "target_time": _iso(row["target_time"]),
                "target_text": texts.get(row["target_post"]) if row["target_post"] else None,
                "gap": row["gap"],
            }
        )
