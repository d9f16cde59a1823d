"""Plain-words explanations of a network or an account, with the numbers behind them.

Reads the outputs of ``cibscan detect`` / ``cibscan investigate`` (``networks.json``,
``accounts.csv``, ``edges.parquet``) and the case store, and states the evidence as an
investigator would write it in a takedown report.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from cibscan.case import Case
from cibscan.errors import BadInputError
from cibscan.export import restore_formula
from cibscan.fingerprints.rhythm import utc_working_day, working_week_words

__all__ = ["explain", "group_test_summary", "split_test_sentence"]


def _pct(x: float | None) -> str:
    """A share in whole percent; a share that rounds to 0% or 100% without being it says so.

    Examples
    --------
    >>> _pct(0.004), _pct(0.0), _pct(0.9996), _pct(0.41)
    ('<1%', '0%', '>99%', '41%')
    """
    if x is None:
        return "?"
    if 0 < x < 0.005:
        return "<1%"
    if 0.995 <= x < 1:
        return ">99%"
    return f"{100 * x:.0f}%"


def _load(out: Path) -> dict[str, Any]:
    path = out / "networks.json"
    try:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise BadInputError(
            "no networks.json; run `cibscan detect --out` first", file=str(path)
        ) from exc
    except ValueError as exc:
        raise BadInputError(f"not valid JSON: {exc}", file=str(path)) from exc
    return data


def _utc_day(hours: Any) -> str:
    return utc_working_day(float(hours)) if isinstance(hours, int | float) else "?"


def _related_line(r: dict[str, Any]) -> str:
    """One related network, in words.

    >>> import textwrap
    >>> print(textwrap.fill(_related_line({"network": "N3", "items": 2,
    ...     "by_kind": {"hashtag": 1, "domain": 1}, "p_adjusted": 1e-60,
    ...     "evidence": [{"kind": "domain", "item": "x.example", "accounts_here": 40,
    ...     "accounts_there": 38, "accounts_other": 0, "accounts_outside": 1}]}), 90))
    Related to N3 through 2 items that few accounts outside the networks use (1 hashtag, 1
    domain; adjusted p 1e-60): domain x.example, 40 of its accounts, 38 of N3's and 1 in no
    network.
    """
    kinds = ", ".join(f"{c} {k}" for k, c in (r.get("by_kind") or {}).items())
    shown = []
    for e in (r.get("evidence") or [])[:3]:
        item = str(e.get("item", ""))
        item = item if len(item) <= 60 else item[:59] + "…"
        item = "#" + item if e.get("kind") == "hashtag" else item
        shown.append(
            f"{e.get('kind')} {item}, {e.get('accounts_here', 0)} of its accounts, "
            f"{e.get('accounts_there', 0)} of {r.get('network')}'s"
            + (f", {e['accounts_other']} of other networks" if e.get("accounts_other") else "")
            + f" and {e.get('accounts_outside', 0)} in no network"
        )
    items = int(r.get("items") or 0)
    return (
        f"Related to {r.get('network')} through {items} item{'s' if items != 1 else ''} that "
        f"few accounts outside the networks use ({kinds}; adjusted p "
        f"{float(r.get('p_adjusted') or 1.0):.2g}): " + "; ".join(shown) + "."
    )


def _hijack_line(h: dict[str, Any]) -> str:
    """A hijacked hashtag in words, the evidence that flagged it first.

    Examples
    --------
    >>> line = _hijack_line({"hashtag": "valoria", "volume_share": 0.41, "top_share": 0.056,
    ...                      "account_share": 0.065, "flagged_by": ["volume"],
    ...                      "volume_q_value": 1e-9})
    >>> line.split(": ")[0]
    'Hashtag #valoria flooded'
    >>> line.split("using it, ")[1]
    'wrote 41% of its posts (q = 1e-09); it held 6% of its top results.'
    """
    flagged = h.get("flagged_by") or ["top"]
    volume = f"wrote {_pct(h.get('volume_share'))} of its posts"
    top = f"held {_pct(h.get('top_share'))} of its top results"
    if "volume" in flagged:
        volume += f" (q = {h.get('volume_q_value', 1.0):.2g})"
    if "top" in flagged:
        top += f" (q = {h.get('q_value', 1.0):.2g})"
    what = {("top",): "taken over", ("volume",): "flooded"}.get(
        tuple(flagged), "flooded and taken over"
    )
    first, second = (volume, top) if "volume" in flagged else (top, volume)
    return (
        f"Hashtag #{h['hashtag']} {what}: this network, {_pct(h.get('account_share'))} of the "
        f"accounts using it, {first}; it {second}."
    )


def split_test_sentence(network: dict[str, Any]) -> str | None:
    """What the held-out split test said of an attributed network's component, or ``None``.

    Examples
    --------
    >>> split_test_sentence({"split_test": {"component_size": 261, "p_value": 0.01,
    ...     "split": True, "communities_proposed": 3, "communities_kept": 2, "boundary_p": 0.01}})
    ... # doctest: +NORMALIZE_WHITESPACE
    'Its connected component of 261 accounts was cut by modularity into 3 communities; the
    split held on held-out posts (p = 0.01), and 2 stand once the boundaries that did not
    hold were merged (its weakest boundary: p = 0.01).'
    """
    test = network.get("split_test")
    if not isinstance(test, dict):
        return None
    size, proposed = test.get("component_size"), test.get("communities_proposed")
    head = (
        f"Its connected component of {size:,} accounts was cut by modularity into "
        f"{proposed} communities; the split"
    )
    if not test.get("split"):
        return (
            f"{head} did not hold on held-out posts (p = {test.get('p_value', 1):.2g}), so the "
            "component is one network."
        )
    boundary = test.get("boundary_p")
    weakest = "" if boundary is None else f" (its weakest boundary: p = {boundary:.2g})"
    return (
        f"{head} held on held-out posts (p = {test.get('p_value', 1):.2g}), and "
        f"{test.get('communities_kept')} stand once the boundaries that did not hold were "
        f"merged{weakest}."
    )


def group_test_summary(group: dict[str, Any]) -> dict[str, Any] | None:
    """The strongest signal of a group's held-out test (its ``group_test`` record), or ``None``.

    A group found by the group test (many weak ties, few or no pairs significant on their own)
    is judged on posts held out from its choice: its co-actions ``observed`` on a signal against
    the null's ``expected``, with the test's ``p_value`` and ``q_value`` (the group's estimated
    false-discovery rate). The signal reported is the one with the smallest p-value.

    Examples
    --------
    >>> group_test_summary({"group_test": [{"p_value": 1e-9, "q_value": 2e-8, "by_signal": {
    ...     "link": {"observed": 30.0, "expected": 2.5, "p_value": 1e-12},
    ...     "text": {"observed": 0.0, "expected": 1.0, "p_value": 1.0}}}]})
    {'signal': 'link', 'observed': 30.0, 'expected': 2.5, 'p_value': 1e-09, 'q_value': 2e-08}
    >>> group_test_summary({"internal_edges": 12}) is None
    True
    """
    tests = [t for t in group.get("group_test") or [] if isinstance(t, dict)]
    if not tests:
        return None
    first = tests[0]
    signals = [
        (str(name), v)
        for name, v in sorted((first.get("by_signal") or {}).items())
        if isinstance(v, dict) and (v.get("observed") or 0) > 0
    ]
    if not signals:
        return None
    name, best = min(signals, key=lambda kv: (float(kv[1].get("p_value", 1.0)), kv[0]))
    return {
        "signal": name,
        "observed": float(best.get("observed") or 0.0),
        "expected": float(best.get("expected") or 0.0),
        "p_value": first.get("p_value"),
        "q_value": first.get("q_value"),
    }


def _p(value: float | None) -> str:
    """``= 0.003``; ``< 1e-300`` for a p-value that underflowed to 0; ``n/a`` when missing."""
    if value is None:
        return "n/a"
    return "< 1e-300" if value <= 0 else f"= {value:.2g}"


def _network_lines(
    n: dict[str, Any], title: str = "Network", *, attributed: bool = False
) -> list[str]:
    size = n.get("size", len(n.get("accounts", [])))
    lines = [f"{title} {n['id']} (rank {n.get('rank')}): {size} assets."]
    assets = n.get("assets") or {}
    kinds = assets.get("assets_by_kind") or assets.get("accounts_by_kind") or {}
    if kinds:
        listed = ", ".join(f"{v} {k}s" for k, v in kinds.items() if v)
        followers = (assets.get("followers") or {}).get("sum")
        lines.append(
            f"Assets by kind: {listed}"
            + (f"; {followers:,} followers summed over them." if followers else ".")
        )
    by_signal = n.get("edges_by_signal") or {}
    # a link counts for every signal its pair co-acted on (the fused test is over signals)
    parts = [f"{v:,} on {k}" for k, v in by_signal.items()]
    signals = f"; {parts[0].replace(' on ', ' co-acted on ', 1)}" if parts else ""
    signals += "".join(f", {p}" for p in parts[1:])
    tested = group_test_summary(n)
    if attributed:
        lines.append(
            "Attributed case: every account of this case was attributed to an operation by the "
            "platform (a takedown archive), so its co-action is not tested against the case; "
            f"the network is a community of its co-action graph: {n.get('internal_edges', 0):,} "
            f"pairs that co-acted on at least two items ({_pct(n.get('cohesion'))} of all "
            f"pairs{signals}), {n.get('score', 0):,.0f} co-actions in all."
        )
        split = split_test_sentence(n)
        if split:
            lines.append(split)
    elif tested is not None:
        lines.append(
            f"Coordination as a group: proposed on one half of the case's time and tested on "
            f"posts held out from that choice, its accounts co-acted {tested['observed']:,.0f} "
            f"times on {tested['signal']} where a null model that keeps every account's "
            f"activity and every item's popularity and timing predicts "
            f"{tested['expected']:,.1f} (group test p {_p(tested.get('p_value'))}, "
            f"q {_p(tested.get('q_value'))}: the group's estimated false-discovery rate"
            + (
                f"; the strongest of {len(n['group_test'])} held-out tests that confirmed "
                "parts of it"
                if len(n.get("group_test") or []) > 1
                else ""
            )
            + "); "
            f"{n.get('internal_edges', 0):,} of its pairs are significant links on their own"
            f"{signals}."
        )
    else:
        lines.append(
            f"Coordination: {n.get('internal_edges', 0):,} significant links between its "
            f"accounts ({_pct(n.get('cohesion'))} of all pairs{signals}), each tested against "
            "a null model that keeps every account's activity and every item's popularity and "
            f"timing; estimated false-discovery rate {n.get('estimated_fdr', 1):.3g}."
        )
    rhythm = n.get("rhythm") or {}
    if rhythm.get("utc_offset") and rhythm.get("rhythm") == "office":
        active = rhythm.get("accounts_active")
        inside = rhythm.get("accounts_in_working_hours")
        days = working_week_words(rhythm.get("working_week"))
        lines.append(
            f"When: {inside} of {active} active accounts posted only between 09:00 and 17:30 "
            f"{rhythm['utc_offset']} on working days ({days}); "
            f"{_pct(rhythm.get('weekday_share'))} of its posts fell on those days and "
            f"{_pct(rhythm.get('working_hours_share'))} in working hours (offset confidence "
            f"{_pct(rhythm.get('utc_offset_confidence'))} if the day starts at 09:00: the "
            f"posts fix the working day at {_utc_day(rhythm.get('utc_offset_hours'))}, and a "
            "shift keeps other local hours)"
            + (
                f"; {rhythm['accounts_confined']} of {rhythm['accounts_telling']} accounts with "
                "enough posts to tell posted nothing outside 08:30-18:00 of those days."
                if rhythm.get("accounts_telling")
                else "."
            )
        )
    elif rhythm.get("rhythm"):
        lines.append(
            f"When: {rhythm['rhythm']} rhythm"
            + (f" at {rhythm['utc_offset']}" if rhythm.get("utc_offset") else "")
            + "."
        )
    for marker in n.get("markers") or []:
        kind = marker.get("marker")
        if kind == "creation_burst":
            start, end = str(marker.get("start")), str(marker.get("end"))
            when = (
                f"between {start} and {end}"
                if start != end
                else f"on {start[:10]}"  # date-only creation times: one day, not one instant
                if start.endswith("T00:00:00Z")
                else f"at {start}"
            )
            known = (
                f" of the {marker['known']} with a known creation time"
                if marker.get("known")
                else ""
            )
            case_count = marker.get("case_count")
            of_case = (
                f", {case_count} in the whole case"
                if isinstance(case_count, int) and case_count > int(marker["count"])
                else ", none outside it in the case"
                if case_count is not None
                else ""
            )
            bursts = marker.get("bursts")
            more = (
                f" In all, {marker.get('batched')} of its accounts were made in {bursts} such "
                f"bursts of one {marker.get('window')} each."
                if isinstance(bursts, int) and bursts > 1
                else ""
            )
            lines.append(
                f"Made in a batch: {marker['count']} accounts{known} created {when}{of_case} "
                f"(p {_p(marker.get('p_value'))} against the case's creation rate).{more}"
            )
        elif kind == "shared_infrastructure":
            lines.append(
                f"Shared infrastructure: one {marker['field']} used by {marker['accounts']} of "
                f"its accounts and {marker.get('outside_accounts', 0)} outside it."
            )
        elif kind == "handle_template":
            lines.append(
                f"Handle template {marker['pattern']!r} held by {marker['count']} "
                f"accounts ({marker['lift']:.0f} times its share in the case)."
            )
        elif kind == "reused_profile":
            fields = marker.get("fields") or [marker.get("field")]
            lines.append(
                f"Reused profile {marker['field']} {marker['value']!r} on "
                f"{marker['count']} of its accounts ({marker['case_count']} in the case)."
                + (
                    " A shared bio alone supports a flag but does not raise one: communities "
                    "declare what they belong to in their bios."
                    if all(f == "description" for f in fields)
                    else ""
                )
            )
        elif kind == "office_hours" and not marker.get("members_confined_to_work", True):
            lines.append(
                "Office hours are reported but do not flag the group on their own: "
                f"{marker.get('accounts_confined', 0)} of {marker.get('accounts_telling', 0)} "
                "accounts with enough posts to tell posted nothing outside 08:30-18:00 of the "
                "working days (a flag on office hours alone needs at least three, and half)."
            )
        elif kind == "round_the_clock":
            lines.append(
                f"Round-the-clock activity: {marker['members_round_the_clock']} of "
                f"{marker['members_fitted']} fitted accounts active over the whole day."
            )
    location = (n.get("infra") or {}).get("location") or {}
    if location.get("country"):
        lines.append(
            f"Where: {_pct(location.get('country_share'))} of its infrastructure "
            f"records from {location['country']}."
        )
    style = n.get("style") or {}
    groups = [g for g in style.get("writer_groups") or [] if isinstance(g, int)]
    if groups:
        sizes = ", ".join(str(g) for g in groups[:12]) + (", ..." if len(groups) > 12 else "")
        lines.append(
            f"Writing: {style.get('style_edges', 0):,} style links inside the network join "
            f"{len(groups)} group{'s' if len(groups) != 1 else ''} of accounts that write "
            f"alike ({sizes} accounts): the personas of one writer write alike, and so do "
            "accounts that post one template's sentences."
        )
    if style.get("multi_author_personas"):
        lines.append(
            f"Personas written by more than one author: {style['multi_author_personas']} of "
            f"{style.get('personas_tested', '?')} tested "
            f"({style.get('multi_author_expected', 0):.1f} expected by chance)."
        )
    for h in (n.get("hijacked_hashtags") or [])[:3]:
        lines.append(_hijack_line(h))
    for r in (n.get("related_networks") or [])[:5]:
        lines.append(_related_line(r))
    narr = n.get("narratives") or {}
    tags = ", ".join("#" + t["item"] for t in (narr.get("hashtags") or [])[:5])
    terms = ", ".join(t["item"] for t in (narr.get("terms") or [])[:8])
    domains = ", ".join(t["item"] for t in (narr.get("domains") or [])[:5])
    if tags or terms or domains:
        lines.append(
            f"What it says: distinctive hashtags {tags or 'none'}; domains {domains or 'none'}; "
            f"terms {terms or 'none'}."
        )
    praises = ", ".join(e["entity"] for e in (narr.get("praises") or [])[:3])
    attacks = ", ".join(e["entity"] for e in (narr.get("attacks") or [])[:3])
    if praises or attacks:
        lines.append(f"Praises {praises or 'nobody'}; attacks {attacks or 'nobody'}.")
    return lines


def _when(value: Any) -> str:
    """A time to the second, in UTC.

    >>> import datetime as dt
    >>> _when(dt.datetime(2025, 3, 23, 21, 58, 17, 659000, tzinfo=dt.UTC))
    '2025-03-23 21:58:17 UTC'
    >>> _when(None)
    'unknown'
    """
    if value is None:
        return "unknown"
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC)
        return str(value.strftime("%Y-%m-%d %H:%M:%S UTC"))
    return str(value)


def _account_lines(case: Case, out: Path, account: str, data: dict[str, Any]) -> list[str]:
    row: dict[str, str] | None = None
    path = out / "accounts.csv"
    if path.exists():
        with open(path, newline="", encoding="utf-8") as fh:
            for r in csv.DictReader(fh):
                if restore_formula(r["account_id"]) == account:
                    row = r
                    break
    found = case.con.execute(
        "SELECT kind, username, created_at, followers FROM accounts WHERE account_id = ?", [account]
    ).fetchall()
    info = found[0] if found else None
    posts = case.con.execute(
        "SELECT count(*), min(timestamp), max(timestamp) FROM posts WHERE account_id = ?", [account]
    ).fetchall()[0]
    if info is None and (posts is None or posts[0] == 0):
        raise BadInputError(
            f"no network or account {account!r} in the case or its outputs",
            file=str(out / "networks.json"),
        )
    lines = [f"Account {account}" + (f" (@{info[1]}, {info[0]})" if info and info[1] else "") + "."]
    if info is not None:
        lines.append(
            f"Created {_when(info[2]) if info[2] else 'unknown'}; "
            f"{info[3] if info[3] is not None else '?'} followers."
        )
    if posts is not None:
        lines.append(f"{posts[0]} posts from {_when(posts[1])} to {_when(posts[2])}.")
    row = row or {}
    network = row.get("network_id") or ""
    if network:
        lines.append(
            f"Member of network {network}; score {float(row['score']):.1f} "
            f"(summed evidence of its significant links); strongest signals "
            f"{row.get('top_signals') or 'none'}."
        )
    elif row.get("coordinated_group"):
        lines.append(
            f"In coordinated group {row['coordinated_group']}, which showed no "
            "inauthenticity marker that flags a group on its own, or whose accounts declare "
            "that they are automated, and is not flagged."
        )
    else:
        lines.append("In no network.")
    edges_path = out / "edges.parquet"
    if edges_path.exists():
        edges = pq.read_table(edges_path)
        case.con.register("_edges", edges)
        try:
            rows = case.con.execute(
                "SELECT CASE WHEN source = ? THEN target ELSE source END AS partner, signal, "
                "weight, q_value FROM _edges WHERE (source = ? OR target = ?) AND q_value <= 0.05 "
                "ORDER BY q_value, weight DESC LIMIT 5",
                [account, account, account],
            ).fetchall()
        finally:
            case.con.unregister("_edges")
        for partner, signal, weight, q in rows:
            lines.append(
                f"Co-acted with {partner} on {weight} distinct items ({signal}, q = {q:.2g})."
            )
    return lines


def explain(case: Case, out: str | Path, subject: str) -> list[str]:
    """Explain a network (``N1``) or an account in plain sentences.

    Parameters
    ----------
    case
        The case store the outputs were made from.
    out
        The output directory of ``cibscan detect`` or ``cibscan investigate``.
    subject
        A network id from ``networks.json`` or an account id.
    """
    folder = Path(out)
    data = _load(folder)
    attributed = bool(data.get("attributed"))
    for n in data.get("networks", []):
        if n.get("id") == subject:
            return _network_lines(n, attributed=attributed)
    for n in data.get("coordinated_groups", []):
        if n.get("id") == subject:
            lines = _network_lines(n, "Group")
            lines.insert(
                1,
                (
                    "A coordinated group whose accounts declare that they are automated: not "
                    "flagged as a network (ranked among the coordinated groups); "
                    "`--flag-declared` counts them like any other."
                    if (n.get("declared_automation") or {}).get("whole_group")
                    else "A coordinated group without an inauthenticity marker that flags a "
                    "group on its own: not flagged as a network (ranked among such groups); "
                    "`--min-markers 0` reports it as one."
                ),
            )
            return lines
    return _account_lines(case, folder, subject, data)
