"""Coordinated *and* inauthentic: markers that separate an operation from an organic campaign.

Co-action statistics find accounts that act together more than chance allows. Fans running a
hashtag campaign and news outlets syndicating one feed do that too, and openly. What a takedown
rests on is coordination *plus* signs that the accounts are not what they claim to be. Each
coordinated group found by :mod:`cibscan.clusters` is checked for such markers, each measured
against the rest of the case by the fingerprint modules:

``office_hours``
    The group's pooled posts fit a working-day template (weekdays, working hours, lunch pause)
    better than a leisure or a flat one, with the UTC offset known at the stated confidence:
    staff on a shift, not citizens posting in their evenings. It flags a group on its own only
    when the accounts themselves are *confined* to working hours: at least half of the members
    with enough events to tell (at least three of them; ``rhythm.telling_events``: 4 when the
    case covers whole weeks, more when much of what it covers is working hours, none for a case
    collected on one working afternoon) posted nothing outside 08:30-18:00 on the working days
    of the group's fitted working week (``rhythm.WORKING_WEEKS``). A persona
    run from an office exists only at work; people who post about their work (a newsroom, a
    ministry's staff, a company's employees) also use their own accounts in the evenings and at
    weekends, and their pooled rhythm fits the working day too. Without that, the marker is
    reported and supports a flag, as ``round_the_clock`` does.
``round_the_clock``
    Activity flat over the 24 hours of the day, pooled *and* for most members on their own
    (at least half of the members whose rhythm can be fitted): shifts or automation. A crowd
    of people from many time zones pools to a flat day too, but each of them sleeps.
``creation_burst``
    Several accounts created within one hour or day, far more than the case's background
    creation rate predicts (Bonferroni-bounded p-value below ``burst_alpha``), and at least a
    tenth (``share``; at least three) of the group's accounts whose creation time is known, and
    at least half (``burst_own``) of the case's accounts created in that window: a batch the
    group was made from, not a cohort of a large crowd that joined in one wave (after an
    election, at a band's debut, when an app launched), whose members created then are
    scattered over the case and outnumber those in the group. A batch the detection splits
    into several groups keeps the marker in the group that holds most of it. The marker names
    the strongest burst and counts every burst of its window (``bursts``, ``batched``): a farm
    made in three sessions is all of its accounts, not only the strongest session's.
``shared_infrastructure``
    One IP address, device or user agent (for Twitter's archives, the app the tweets were
    posted with) used by a tenth of the group (at least three accounts) and by fewer accounts
    outside it.
``handle_template``
    Handles of one shape ending in digits (name plus digits, as registration scripts and
    sign-up suggestions make them) held by a fifth of the group (at least three) and at least
    ten times rarer in the case. A shape without digits (``GlobalNewsHub``, ``MetroWire_NYC``)
    is a naming habit people and publishers share in the open, and is reported without being
    a marker.
``reused_profile``
    One display name, bio or profile image reused by a tenth of the group (at least three) and
    rare elsewhere in the case. A bio alone supports a flag but does not raise one (unless
    ``bio_alone``): a bio is where people declare what they belong to, and a fan club
    ("kelgraband stan") or a campaign (its slogan) shares one in the open. A name and a face
    are one's own; personas made from one template share them.

The last three are also tests, because with many groups and many values some group will hold
three accounts of a rare value by chance: the count of the value in the group is compared with a
hypergeometric draw of the group's size from the case (``P(X >= count)``), Bonferroni-adjusted
for the values the group could hold at that count and for the groups assessed, and must be at
most ``marker_alpha``. The creation-burst p-value gets the same adjustment for the groups.

A group with at least ``min_markers`` markers is reported as a network (flagged); the others are
reported as coordinated groups without markers, a control the investigator can inspect.

``round_the_clock`` alone does not flag a group (unless ``automation_alone``): it shows
automation or shifts, and automation is what openly automated accounts do too. A news outlet's
headline feeds, weather or alert bots post the same items around the clock under a bio that
says so, which is coordination without deceit. The marker is still reported, and it counts
towards ``min_markers`` once another marker shows that the accounts are not what they claim.
An automated network that shows nothing else is listed among the coordinated groups without
markers.

**Declared automation.** An account can say that it is automated, in its handle or display name
(the word ``bot``: ``news_bot``, ``NewsBot``, ``newsbot7``, ``Bot 3``) or in its bio (``bot``,
``automated``, ``RSS``, ``auto-posted``, ``not monitored``, and a few words in Chinese, Arabic
and Russian; :data:`DECLARED_PATTERNS`), and not after a negation ("Not a bot", "I report
bots"), as Twitter's rules for automated accounts ask.
A fleet of headline, weather or alert bots run by one operator shows the markers of one: accounts
created together, numbered handles, one bio, one server, posting day and night. What it does not
do is pretend to be people, which is the deceit a takedown rests on; an operation's personas do
not call themselves bots. So the creation, handle, profile and infrastructure markers are
measured on the group's accounts that do *not* declare automation (a declaration excuses the
accounts that make it, not their neighbours), with the group's declared accounts set aside
from its creation times and infrastructure rows (neither the others' background nor outside
them), and a group most of whose accounts declare it
(``declared_share``, four in five, and at least three) is not flagged at all. Unless
``flag_declared``: then declared accounts count like any other. The group's
``declared_automation`` says how many accounts declare it, and where; its fingerprints are still
measured on all of its accounts and reported.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
from scipy import stats

from cibscan.errors import ConfigError
from cibscan.fingerprints.creation import creation_fingerprints
from cibscan.fingerprints.infra import infra_fingerprints
from cibscan.fingerprints.rhythm import account_rhythms, network_rhythms

__all__ = [
    "DECLARED_PATTERNS",
    "AssessmentConfig",
    "GroupAssessment",
    "assess_groups",
    "declares_automation",
    "enrichment_pvalue",
]


@dataclass(frozen=True)
class AssessmentConfig:
    """Thresholds of the inauthenticity markers (see the module documentation).

    Parameters
    ----------
    min_markers
        Markers a coordinated group needs to be flagged; ``0`` flags every coordinated group.
    min_offset_confidence
        Confidence of the UTC offset for ``office_hours``.
    burst_alpha
        Level of the creation-burst test (adjusted for the groups assessed).
    marker_alpha
        Level of the enrichment tests of shared values (infrastructure, handle templates,
        reused profile fields), Bonferroni-adjusted for the values and the groups.
    share
        Share of the group a shared value must cover (infrastructure, reused profile fields),
        and a creation burst (of the accounts whose creation time is known).
    burst_own
        Share of the case's accounts created in a creation burst's window that the group must
        hold for the burst to be its own.
    template_share, template_lift
        Share of the group and rarity in the case of a handle template.
    automation_alone
        Let ``round_the_clock`` flag a group on its own. By default it needs another marker
        beside it (see the module documentation).
    office_alone
        Let ``office_hours`` flag a group on its own even when its members are not confined to
        working hours (see the module documentation).
    bio_alone
        Let a ``reused_profile`` marker whose reused values are all bios flag a group on its
        own (see the module documentation).
    declared_share
        Share of a group's accounts (at least three) that must declare automation for the group
        to be an open automated fleet, not flagged (see the module documentation).
    flag_declared
        Count accounts that declare automation like any other: their markers count, and a
        declared fleet is flagged on them.
    """

    min_markers: int = 1
    min_offset_confidence: float = 0.8
    burst_alpha: float = 0.01
    marker_alpha: float = 0.01
    share: float = 0.1
    burst_own: float = 0.5
    template_share: float = 0.2
    template_lift: float = 10.0
    automation_alone: bool = False
    office_alone: bool = False
    bio_alone: bool = False
    declared_share: float = 0.8
    flag_declared: bool = False

    def __post_init__(self) -> None:
        if self.min_markers < 0:
            raise ConfigError(f"min_markers must be >= 0, got {self.min_markers}")
        for name in (
            "min_offset_confidence",
            "burst_alpha",
            "marker_alpha",
            "share",
            "burst_own",
            "template_share",
            "declared_share",
        ):
            value = getattr(self, name)
            if not 0 <= value <= 1:
                raise ConfigError(f"{name} must be in [0, 1], got {value}")

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready configuration."""
        return asdict(self)


#: Infrastructure fields whose shared values are markers: an IP address, a device, and a user
#: agent (a browser's exact string, or the app a tweet was posted with in Twitter's archives).
#: A common value is used outside the group too and is neither enriched nor a marker.
SHARED_FIELDS: tuple[str, ...] = ("ip", "device_id", "user_agent")

#: Markers of automation, which openly automated accounts show too: they support a flag but
#: do not raise one on their own.
_AUTOMATION_MARKERS: frozenset[str] = frozenset({"round_the_clock"})

#: How an account declares that it is automated, by profile field. In a handle or display name:
#: the word "bot" (``news_bot``, ``Bot 3``), "Bot" after a lowercase letter (``NewsBot``), or
#: "bot" after four letters and before final digits (``newsbot7``), but not a word ending in
#: "bot" (``jtalbot``, ``Robot2000``). In a bio: the words bot, automated, RSS, auto-posted and
#: "not monitored", and in Chinese 机器人账号 and 自动发布, in Arabic بوت, in Russian бот.
#: A word preceded by a negation or an anti-bot verb (:data:`_DENIAL`) declares nothing.
_NAME_DECLARES = (
    r"(?i:(?<![a-z])bots?(?![a-z]))|(?<=[a-z])Bots?(?![a-z])|(?i:(?<=[a-z]{4})bots?\d+$)"
)
DECLARED_PATTERNS: dict[str, re.Pattern[str]] = {
    "username": re.compile(_NAME_DECLARES),
    "display_name": re.compile(_NAME_DECLARES + r"|机器人|\b(?:ال)?بوت\b|\bбот\b"),
    "description": re.compile(
        r"(?i)\bbots?\b|\bautomated\b|\brss\b|\bauto-?post|\bnot monitored\b"
        r"|机器人账号|自动发布|\b(?:ال)?بوت\b|\bбот\b"
    ),
}
#: "Not a bot", "I report bots", "anti-bot", "Я не бот", "不是机器人", "لست بوت": the words just
#: before a match (up to 24 characters) that turn a declaration into a denial.
_DENIAL = re.compile(
    r"(?i)(?:(?<![^\W_])(?:not|no|never|anti|non|block\w*|report\w*|ban\w*|hate\w*|fight\w*|kill\w*)"
    r"|n't|\bне|不是|不|非|لست|ليس|مش|مو|ضد)[\W_]*(?:[^\W_]+[\W_]+){0,2}$"
)


def _declares(pattern: re.Pattern[str], value: str) -> bool:
    return any(
        not _DENIAL.search(value[max(0, m.start() - 24) : m.start()])
        for m in pattern.finditer(value)
    )


def declares_automation(
    username: str | None, display_name: str | None, bio: str | None
) -> list[str]:
    """The profile fields in which an account says it is automated (:data:`DECLARED_PATTERNS`).

    Examples
    --------
    >>> declares_automation("newsbot7", "新闻7", "news")
    ['username']
    >>> declares_automation("CityAlerts", "City Alerts", "Automated alerts from the city.")
    ['description']
    >>> declares_automation("jtalbot", "Jo Talbot", "robotics, abbots and botany")
    []
    >>> declares_automation("patriot1776", "Not A Bot", "Proud patriot. Not a bot!")
    []
    """
    values = {"username": username, "display_name": display_name, "description": bio}
    return [f for f, pattern in DECLARED_PATTERNS.items() if _declares(pattern, values[f] or "")]


@dataclass
class GroupAssessment:
    """The markers found for one coordinated group, with the fingerprints behind them."""

    group_id: str
    markers: list[dict[str, Any]]
    rhythm: dict[str, Any]
    creation: dict[str, Any]
    infra: dict[str, Any] | None
    declared: dict[str, Any] | None = None

    def flagged(self, config: AssessmentConfig) -> bool:
        """Whether the group has enough markers to be reported as a network.

        Examples
        --------
        >>> group = GroupAssessment("G1", [{"marker": "round_the_clock"}], {}, {}, None)
        >>> group.flagged(AssessmentConfig())
        False
        >>> group.flagged(AssessmentConfig(automation_alone=True))
        True
        >>> group.markers.append({"marker": "creation_burst"})
        >>> group.flagged(AssessmentConfig())
        True
        >>> group.declared = {"accounts": 8, "members": 8, "whole_group": True}
        >>> group.flagged(AssessmentConfig())
        False
        """
        if len(self.markers) < config.min_markers:
            return False
        if config.min_markers == 0:
            return True
        if self.declared and self.declared.get("whole_group") and not config.flag_declared:
            return False
        return any(_raises_flag(m, config) for m in self.markers)


def _raises_flag(marker: dict[str, Any], config: AssessmentConfig) -> bool:
    """Whether a marker flags a group on its own (the others only support a flag)."""
    if marker["marker"] in _AUTOMATION_MARKERS:
        return config.automation_alone
    if marker["marker"] == "office_hours":
        return config.office_alone or bool(marker.get("members_confined_to_work", True))
    if marker["marker"] == "reused_profile":
        fields = marker.get("fields") or [marker.get("field")]
        return config.bio_alone or any(f != "description" for f in fields)
    return True


def _at_least(size: int, share: float) -> int:
    return max(3, int(-(-size * share // 1)))


def enrichment_pvalue(count: int, case_count: int, size: int, population: int) -> float:
    """``P(X >= count)`` for ``X`` hypergeometric: ``size`` accounts drawn from ``population``,
    of which ``case_count`` hold the value.

    Examples
    --------
    >>> round(enrichment_pvalue(3, 50, 14, 5000), 6)  # 3 of 14 hold a value 1 % of the case holds
    0.000317
    >>> enrichment_pvalue(0, 50, 14, 5000)
    1.0
    """
    if count <= 0:
        return 1.0
    population = max(population, size, case_count, 1)
    case_count = max(case_count, count)
    size = max(size, count)
    return float(min(1.0, stats.hypergeom.sf(count - 1, population, case_count, size)))


def _enrichment(
    drawn: dict[str, Any],
    nid: str,
    size: int,
    groups: int,
    count: int,
    case_count: int,
    attribute: str,
    need: int,
) -> tuple[float, float]:
    """(p, Bonferroni-adjusted p) of a value held by ``count`` accounts of group ``nid``."""
    if attribute == "infra":
        n = drawn["infra_groups"].get(nid, size)
        population = drawn["case"]["infra"] - drawn.get("infra_aside", {}).get(nid, 0)
    else:
        n, population = drawn["groups"].get(nid, {}).get(attribute, size), drawn["case"][attribute]
    p = enrichment_pvalue(count, case_count, n, population)
    # at most n // need values can each be held by `need` accounts of the group
    return p, min(1.0, p * max(1, n // need) * groups)


def _declarations(con: duckdb.DuckDBPyConnection, assignment: pa.Table) -> dict[str, list[str]]:
    """Account -> the profile fields in which it declares automation, for the assigned ones."""
    con.register("_cib_declared", assignment.select(["account_id"]))
    try:
        rows = con.execute(
            "SELECT account_id, username, display_name, description FROM accounts"
            " WHERE account_id IN (SELECT account_id FROM _cib_declared)"
        ).fetchall()
    finally:
        con.unregister("_cib_declared")
    found = {str(r[0]): declares_automation(r[1], r[2], r[3]) for r in rows}
    return {a: fields for a, fields in found.items() if fields}


def _declared(
    accounts: list[str], declarations: dict[str, list[str]], cfg: AssessmentConfig
) -> dict[str, Any] | None:
    """How many of the group's accounts declare automation, and whether enough do for the
    group to be an open automated fleet (``whole_group``); ``None`` when none does."""
    declaring = sorted(a for a in accounts if a in declarations)
    if not declaring:
        return None
    fields: dict[str, int] = {}
    for a in declaring:
        for f in declarations[a]:
            fields[f] = fields.get(f, 0) + 1
    return {
        "accounts": len(declaring),
        "members": len(accounts),
        "fields": dict(sorted(fields.items())),
        "examples": declaring[:5],
        "whole_group": len(declaring) >= _at_least(len(accounts), cfg.declared_share),
    }


def _denominators(
    con: duckdb.DuckDBPyConnection, assignment: pa.Table, aside: pa.Table | None = None
) -> dict[str, Any]:
    """Accounts with a value, in the case and per group: the draws of the enrichment tests
    (``aside``: ``account_id, network_id`` left out of their group's infrastructure
    population, as the infrastructure fingerprint leaves them out)."""
    con.register("_cib_assess", assignment.select(["account_id", "network_id"]))
    con.register(
        "_cib_aside",
        aside.select(["account_id", "network_id"])
        if aside is not None
        else pa.table(
            {"account_id": pa.array([], pa.string()), "network_id": pa.array([], pa.string())}
        ),
    )
    try:
        fields = {
            "username": "coalesce(username, '') <> ''",
            "display_name": "coalesce(display_name, '') <> ''",
            "description": "coalesce(description, '') <> ''",
            "profile_image": "coalesce(profile_image, '') <> ''",
        }
        has = ", ".join(
            f"count(*) FILTER (WHERE {cond}) AS {name}" for name, cond in fields.items()
        )
        case_row = (con.execute(f"SELECT {has} FROM accounts").fetchall() or [(0,) * len(fields)])[
            0
        ]
        group_rows = con.execute(
            f"SELECT a.network_id, {has} FROM accounts JOIN _cib_assess a USING (account_id)"
            " GROUP BY a.network_id"
        ).fetchall()
        infra_case = con.execute("SELECT count(DISTINCT account_id) FROM infra").fetchall()[0]
        infra_aside = con.execute(
            "SELECT x.network_id, count(DISTINCT i.account_id) FROM infra i"
            " JOIN _cib_aside x USING (account_id) GROUP BY x.network_id"
        ).fetchall()
        infra_groups = con.execute(
            "SELECT a.network_id, count(DISTINCT i.account_id) FROM infra i"
            " JOIN _cib_assess a USING (account_id) GROUP BY a.network_id"
        ).fetchall()
    finally:
        con.unregister("_cib_assess")
        con.unregister("_cib_aside")
    names = list(fields)
    return {
        "case": {
            **dict(zip(names, case_row, strict=True)),
            "infra": infra_case[0] if infra_case else 0,
        },
        "groups": {str(r[0]): dict(zip(names, r[1:], strict=True)) for r in group_rows},
        "infra_groups": {str(r[0]): int(r[1]) for r in infra_groups},
        "infra_aside": {str(r[0]): int(r[1]) for r in infra_aside},
    }


def assess_groups(
    con: duckdb.DuckDBPyConnection,
    assignment: pa.Table,
    config: AssessmentConfig | None = None,
    *,
    tested_groups: int | None = None,
) -> dict[str, GroupAssessment]:
    """Look for inauthenticity markers in every group of an assignment.

    Parameters
    ----------
    con
        The case-store connection (posts, accounts and infra are read).
    assignment
        ``account_id, network_id`` of the coordinated groups.
    config
        Marker thresholds.
    tested_groups
        Groups whose markers are tested in all, for the multiplicity of the marker tests (by
        default the groups of ``assignment``; more when groups were assessed before).

    Returns
    -------
    dict
        Group id -> :class:`GroupAssessment`.
    """
    cfg = config or AssessmentConfig()
    if assignment.num_rows == 0:
        return {}
    rhythms = network_rhythms(con, assignment).networks
    creations = creation_fingerprints(con, assignment).networks
    infra = infra_fingerprints(con, assignment)
    members: dict[str, list[str]] = {}
    for account, nid in zip(
        assignment.column("account_id").to_pylist(),
        assignment.column("network_id").to_pylist(),
        strict=True,
    ):
        members.setdefault(nid, []).append(account)
    flat = [n for n, r in rhythms.items() if r.fit.rhythm == "round-the-clock"]
    single = (
        account_rhythms(con, [a for n in flat for a in members.get(n, [])]).accounts if flat else {}
    )
    sizes: dict[str, int] = {}
    for nid in assignment.column("network_id").to_pylist():
        sizes[nid] = sizes.get(nid, 0) + 1
    # the profile and infrastructure markers are measured on the accounts that do not declare
    # automation: a declaration excuses the accounts that make it, not their neighbours
    declarations = _declarations(con, assignment)
    judged, judged_creations, judged_infra = assignment, creations, infra.networks
    aside: pa.Table | None = None
    if declarations and not cfg.flag_declared:
        undeclared = pc.invert(
            pc.is_in(assignment.column("account_id"), value_set=pa.array(sorted(declarations)))
        )
        judged = assignment.filter(undeclared)
        # and a group's declared accounts are set aside from its measurement, not moved into
        # its background: nine bots made in the personas' hour, on their server, would
        # otherwise count as the others created then and using it, and hide the personas'
        # batch. Only the group's own: another group's bots are the case like anyone else.
        aside = assignment.filter(pc.invert(undeclared))
        # a group's fingerprints do not depend on the other groups assigned: only the groups
        # with declared accounts are measured again (one whose accounts all declare it has
        # nothing left to measure)
        touched = set(aside.column("network_id").to_pylist())
        again = judged.filter(
            pc.is_in(
                judged.column("network_id"),
                value_set=pa.array(sorted(touched), judged.column("network_id").type),
            )
        )
        fresh = creation_fingerprints(con, again, exclude=aside).networks if again.num_rows else {}
        judged_creations = {n: c for n, c in creations.items() if n not in touched} | fresh
        fresh_infra = (
            infra_fingerprints(con, again, exclude=aside).networks if again.num_rows else {}
        )
        judged_infra = {n: v for n, v in infra.networks.items() if n not in touched} | fresh_infra
    judged_sizes: dict[str, int] = {}
    for nid in judged.column("network_id").to_pylist():
        judged_sizes[nid] = judged_sizes.get(nid, 0) + 1
    drawn = _denominators(con, judged, aside=aside)
    # the groups assessed: the enrichment tests' multiplicity
    groups = max(len(sizes), tested_groups or 0)
    result: dict[str, GroupAssessment] = {}
    for nid in sorted(sizes):
        markers: list[dict[str, Any]] = []
        rhythm = rhythms[nid].as_dict() if nid in rhythms else {}
        fit_label = rhythm.get("rhythm")
        if (
            fit_label == "office"
            and (rhythm.get("utc_offset_confidence") or 0) >= cfg.min_offset_confidence
        ):
            telling = int(rhythm.get("accounts_telling") or 0)
            confined = int(rhythm.get("accounts_confined") or 0)
            markers.append(
                {
                    "marker": "office_hours",
                    "utc_offset": rhythm.get("utc_offset"),
                    "confidence": rhythm.get("utc_offset_confidence"),
                    "working_week": rhythm.get("working_week"),
                    "weekday_share": rhythm.get("weekday_share"),
                    "working_hours_share": rhythm.get("working_hours_share"),
                    "accounts_in_working_hours": rhythm.get("accounts_in_working_hours"),
                    "accounts_telling": telling,
                    "accounts_confined": confined,
                    "telling_events": rhythm.get("telling_events"),
                    "covered_work_share": rhythm.get("covered_work_share"),
                    "members_confined_to_work": telling >= 3 and 2 * confined >= telling,
                }
            )
        if fit_label == "round-the-clock":
            labels = [single[a].rhythm for a in members.get(nid, []) if a in single]
            known = [x for x in labels if x != "unknown"]
            flat_members = sum(1 for x in known if x == "round-the-clock")
            if len(known) >= 3 and flat_members * 2 >= len(known):
                markers.append(
                    {
                        "marker": "round_the_clock",
                        "quiet_share": rhythm.get("quiet_share"),
                        "members_round_the_clock": flat_members,
                        "members_fitted": len(known),
                    }
                )
        creation = creations[nid].as_dict() if nid in creations else {}
        judged_size = judged_sizes.get(nid, 0)
        judged_creation = judged_creations[nid].as_dict() if nid in judged_creations else {}
        # a burst must be significant and hold a share of the group's accounts of known
        # creation time: eleven partisans of 842 who joined in one post-election wave are a
        # cohort, not a batch the group was made from; and the group must hold at least half
        # of the case's accounts created in the window: 52 fans of a band created on its debut
        # day, among 300 of the case, are part of a wave, not its whole
        bursts = [
            {**b, "p_adjusted": min(1.0, b["p_value"] * groups)}
            for b in judged_creation.get("bursts", [])
            if b.get("p_value") is not None
            and b["p_value"] * groups <= cfg.burst_alpha
            and int(b.get("count") or 0) >= _at_least(int(b.get("known") or 0), cfg.share)
            and int(b.get("count") or 0)
            >= cfg.burst_own * (int(b.get("count") or 0) + int(b.get("background") or 0))
        ]
        if bursts:
            best = min(bursts, key=lambda b: b["p_value"])
            # the bursts of the best one's window are disjoint (taken greedily): a farm made
            # in three sessions is 200 of 200, not only its strongest 65
            same = [b for b in bursts if b.get("window") == best.get("window")]
            markers.append(
                {
                    "marker": "creation_burst",
                    "window": best.get("window"),
                    "bursts": len(same),
                    "batched": sum(int(b.get("count") or 0) for b in same),
                    "count": best.get("count"),
                    "known": best.get("known"),
                    "case_count": int(best.get("count") or 0) + int(best.get("background") or 0),
                    "start": best.get("start"),
                    "end": best.get("end"),
                    "p_value": best["p_value"],
                    "p_adjusted": best["p_adjusted"],
                }
            )

        need = _at_least(judged_size, cfg.template_share)
        templates = []
        for t in judged_creation.get("handle_templates", []):
            if (
                t.get("count", 0) >= need
                and (t.get("lift") or 0) >= cfg.template_lift
                and (t.get("digits") or 0) >= 1  # name plus digits, not a naming habit
            ):
                pv, adjusted = _enrichment(
                    drawn,
                    nid,
                    judged_size,
                    groups,
                    t["count"],
                    t.get("case_count", 0),
                    "username",
                    need,
                )
                if adjusted <= cfg.marker_alpha:
                    templates.append({**t, "p_value": pv, "p_adjusted": adjusted})
        if templates:
            markers.append(
                {
                    "marker": "handle_template",
                    **{
                        k: templates[0].get(k)
                        for k in ("pattern", "count", "lift", "examples", "p_value", "p_adjusted")
                    },
                }
            )
        need = _at_least(judged_size, cfg.share)
        reused = []
        for r in judged_creation.get("reused_fields", []):
            if r.get("count", 0) >= need and r.get("case_count", 0) <= 2 * r["count"]:
                pv, adjusted = _enrichment(
                    drawn,
                    nid,
                    judged_size,
                    groups,
                    r["count"],
                    r.get("case_count", 0),
                    r["field"],
                    need,
                )
                if adjusted <= cfg.marker_alpha:
                    reused.append({**r, "p_value": pv, "p_adjusted": adjusted})
        if reused:
            markers.append(
                {
                    "marker": "reused_profile",
                    **{
                        k: reused[0].get(k)
                        for k in ("field", "value", "count", "case_count", "p_value", "p_adjusted")
                    },
                    "fields": sorted({r["field"] for r in reused}),
                }
            )
        net_infra = infra.networks[nid].as_dict() if nid in infra.networks else None
        judged_net_infra = judged_infra[nid].as_dict() if nid in judged_infra else None
        if judged_net_infra:
            shared = []
            for field in SHARED_FIELDS:
                for value in judged_net_infra.get("shared", {}).get(field, []):
                    accounts, outside = value.get("accounts", 0), value.get("outside_accounts", 0)
                    if accounts >= need and outside < accounts:
                        pv, adjusted = _enrichment(
                            drawn,
                            nid,
                            judged_size,
                            groups,
                            accounts,
                            accounts + outside,
                            "infra",
                            need,
                        )
                        if adjusted <= cfg.marker_alpha:
                            shared.append(
                                {"field": field, **value, "p_value": pv, "p_adjusted": adjusted}
                            )
            if shared:
                top = max(shared, key=lambda v: v["accounts"])
                markers.append(
                    {
                        "marker": "shared_infrastructure",
                        "field": top["field"],
                        "value": top.get("value"),
                        "accounts": top["accounts"],
                        "outside_accounts": top.get("outside_accounts"),
                        "p_value": top["p_value"],
                        "p_adjusted": top["p_adjusted"],
                    }
                )
        result[nid] = GroupAssessment(
            group_id=nid,
            markers=markers,
            rhythm=rhythm,
            creation=creation,
            infra=net_infra,
            declared=_declared(members.get(nid, []), declarations, cfg),
        )
    return result
