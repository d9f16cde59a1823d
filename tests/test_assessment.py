"""Inauthenticity markers as tests, and what joins a flagged network after the assessment."""

from __future__ import annotations

import math
from itertools import combinations
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cibscan import open_case
from cibscan.assessment import (
    AssessmentConfig,
    assess_groups,
    declares_automation,
    enrichment_pvalue,
)
from cibscan.case import Case
from cibscan.detect import DetectConfig, _assess, _finish


def test_enrichment_pvalue_counts_draws_by_hand() -> None:
    # 3 of 10 accounts hold the value; a group of 3 holding it all is 1 draw in C(10, 3) = 120
    assert math.isclose(enrichment_pvalue(3, 3, 3, 10), 1 / 120)
    # at least 2 of the 3: C(3,2)*C(7,1) + 1 = 22 of 120
    assert math.isclose(enrichment_pvalue(2, 3, 3, 10), 22 / 120)
    assert enrichment_pvalue(0, 3, 3, 10) == 1.0


@settings(max_examples=60, deadline=None)
@given(st.integers(2, 9), st.integers(0, 9), st.integers(1, 9), st.integers(1, 9))
def test_enrichment_pvalue_is_the_exact_tail(population: int, held: int, size: int, k: int) -> None:
    held, size = min(held, population), min(size, population)
    k = min(k, held, size)
    if k == 0:
        return
    # enumerate every group of `size` accounts drawn from the case
    people = range(population)
    groups = list(combinations(people, size))
    hits = sum(1 for g in groups if sum(1 for a in g if a < held) >= k)
    assert math.isclose(enrichment_pvalue(k, held, size, population), hits / len(groups))


def _case_with_accounts(usernames: dict[str, str]) -> Case:
    case = open_case()
    case.con.executemany(
        "INSERT INTO accounts (account_id, kind, username, source) VALUES (?, 'user', ?, 'test')",
        list(usernames.items()),
    )
    return case


def _assignment(groups: dict[str, list[str]]) -> pa.Table:
    return pa.table(
        {
            "account_id": [a for members in groups.values() for a in members],
            "network_id": [g for g, members in groups.items() for _ in members],
        }
    )


def test_handle_template_marker_needs_significance_over_the_groups() -> None:
    # 400 organic handles of one shape; 4 of a group of 12 hold a shape 8 of the case have
    names = {f"o{i}": f"user_{chr(97 + i % 26)}{chr(97 + i // 26 % 26)}" for i in range(400)}
    group = [f"g{i}" for i in range(12)]
    names.update({a: f"user_{chr(97 + i)}z" for i, a in enumerate(group)})
    for i, a in enumerate(group[:4]):
        names[a] = f"AnnaMuller{1000 + i}"
    for i in range(4):
        names[f"o{i}"] = f"PeterKlein{2000 + i}"  # the same shape outside the group
    case = _case_with_accounts(names)
    one = assess_groups(case.con, _assignment({"G": group}))
    markers = [m for m in one["G"].markers if m["marker"] == "handle_template"]
    assert markers and markers[0]["count"] == 4
    assert markers[0]["p_adjusted"] <= 0.01
    # the same group among 400 assessed groups: chance now explains it
    others = {f"X{j}": [f"o{10 + 3 * j + k}" for k in range(3)] for j in range(120)}
    many = assess_groups(case.con, _assignment({"G": group, **others}))
    assert not [m for m in many["G"].markers if m["marker"] == "handle_template"]
    assert AssessmentConfig().marker_alpha == 0.01
    # a shape without digits (three capitalised words) as rare: a naming habit, no marker
    for i, a in enumerate(group[:4]):
        names[a] = ("GlobalNewsHub", "LiveUpdatesHub", "TopHeadlinesNow", "DailyWireFeed")[i]
    for i in range(4):
        names[f"o{i}"] = f"user_{i}"
    habit = assess_groups(_case_with_accounts(names).con, _assignment({"G": group}))["G"]
    assert [t for t in habit.creation["handle_templates"] if t["pattern"] == "Aa+Aa+Aa+"]
    assert not [m for m in habit.markers if m["marker"] == "handle_template"]


def _platform_case() -> Case:
    """A network on one device and IP, an outsider on the device, a NAT address everyone uses."""
    net = [f"n{i}" for i in range(4)]
    organic = [f"o{i}" for i in range(200)]
    everyone = [*net, "x", "p1", "p2", *organic]
    case = open_case()
    con = case.con
    con.executemany(
        "INSERT INTO accounts (account_id, kind, source) VALUES (?, ?, 'test')",
        [(a, "page" if a.startswith("p") else "user") for a in everyone],
    )
    rows: list[tuple[Any, ...]] = []
    for a in [*net, "x"]:
        rows.append((a, "2024-01-01 10:00:00+00", "10.0.0.1", "D1"))
    for i, a in enumerate(organic):
        rows.append((a, "2024-01-01 10:00:00+00", "100.64.0.1", f"O{i}"))  # carrier NAT
    rows.append(("n0", "2024-01-02 10:00:00+00", "100.64.0.1", "D1"))
    con.executemany(
        "INSERT INTO infra (account_id, timestamp, ip, device_id, source) VALUES (?, ?, ?, ?, 't')",
        rows,
    )
    memberships = [("n0", "p1"), ("n1", "p1"), ("n0", "p2"), ("o1", "p2"), ("o2", "p2")]
    con.executemany(
        "INSERT INTO memberships (account_id, asset_id, role, source) VALUES (?, ?, 'admin', 't')",
        memberships,
    )
    return case


def _group(gid: str, accounts: list[str]) -> dict[str, Any]:
    return {"id": gid, "rank": 1, "accounts": sorted(accounts), "size": len(accounts)}


def test_assets_and_infrastructure_follow_a_flagged_network() -> None:
    case = _platform_case()
    groups = [_group("A", ["n0", "n1", "n2", "n3"]), _group("B", ["p1", "o5", "o6"])]
    cfg = DetectConfig()
    flagged, unflagged = _finish(case, *_assess(case, groups, cfg), cfg)
    assert [g["id"] for g in flagged] == ["N1"]
    network = flagged[0]
    assert [m["marker"] for m in network["markers"]] == ["shared_infrastructure"]
    # p1 is run by two of the network (all its admins); p2 by one of three: it stays out
    assert network["administered_assets"] == ["p1"]
    # x logs in from the network's own device; the NAT address (200 others) links nobody
    assert network["linked_by_infrastructure"] == ["x"]
    assert network["accounts"] == ["n0", "n1", "n2", "n3", "p1", "x"]
    assert unflagged == []  # group B lost p1 and fell below three accounts


def test_no_links_without_the_option() -> None:
    case = _platform_case()
    groups = [_group("A", ["n0", "n1", "n2", "n3"])]
    cfg = DetectConfig(attach_infra_links=False)
    flagged, _ = _finish(case, *_assess(case, groups, cfg), cfg)
    assert "linked_by_infrastructure" not in flagged[0]
    assert "x" not in flagged[0]["accounts"]


def test_round_the_clock_alone_does_not_flag_a_group() -> None:
    """Three feeds posting every 20 minutes, day and night: automation, shown but not flagged.
    (Their bio does not declare automation, which would keep them unflagged whatever their
    markers.)"""
    case = open_case()
    feeds = ["feed1", "feed2", "feed3"]
    case.con.executemany(
        "INSERT INTO accounts (account_id, kind, description, source)"
        " VALUES (?, 'user', 'Headlines, day and night.', 'test')",
        [(a,) for a in feeds],
    )
    rows = [
        (f"{a}-{k}", a, k * 1200 + 7 * i)  # every 20 minutes for two weeks
        for i, a in enumerate(feeds)
        for k in range(14 * 72)
    ]
    case.con.executemany(
        "INSERT INTO posts (post_id, account_id, timestamp, kind, source) VALUES"
        " (?, ?, TIMESTAMPTZ '2024-01-01 00:00:00+00' + to_seconds(?), 'post', 'test')",
        rows,
    )
    group = assess_groups(case.con, _assignment({"G": feeds}))["G"]
    assert [m["marker"] for m in group.markers] == ["round_the_clock"]
    assert not group.flagged(AssessmentConfig())
    assert group.flagged(AssessmentConfig(automation_alone=True))
    # with a marker of deceit beside it, the automation counts towards the flag
    group.markers.append({"marker": "creation_burst"})
    assert group.flagged(AssessmentConfig())
    assert not group.flagged(AssessmentConfig(min_markers=3))
    assert DetectConfig(automation_alone=True).assessment_config().automation_alone


def _office_rows(accounts: list[str], *, evenings: bool) -> list[tuple[str, str, int]]:
    """Two weeks from Monday 2024-01-01 (UTC): each account posts at 09:xx-16:xx on weekdays;
    with ``evenings``, also at 20:xx on two weekday evenings a week and at a weekend noon."""
    rows = []
    for i, a in enumerate(accounts):
        for day in range(14):
            hours = list(range(9, 17)) if day % 7 < 5 else []
            if evenings and (day % 7 in (1, 3)):
                hours.append(20)
            if evenings and day % 7 == 5:
                hours.append(12)
            for h in hours:
                second = day * 86_400 + h * 3_600 + 60 * ((7 * i + 3 * h + day) % 50)
                rows.append((f"{a}-{day}-{h}", a, second))
    return rows


def test_office_hours_flags_alone_only_members_confined_to_work() -> None:
    """An office of personas and a newsroom both fit the working day; only the office's
    accounts post nothing outside it, so only the office is flagged on that marker alone."""
    case = open_case()
    office = [f"op{i}" for i in range(6)]
    newsroom = [f"rep{i}" for i in range(6)]
    case.con.executemany(
        "INSERT INTO accounts (account_id, kind, source) VALUES (?, 'user', 'test')",
        [(a,) for a in office + newsroom],
    )
    rows = _office_rows(office, evenings=False) + _office_rows(newsroom, evenings=True)
    case.con.executemany(
        "INSERT INTO posts (post_id, account_id, timestamp, kind, source) VALUES"
        " (?, ?, TIMESTAMPTZ '2024-01-01 00:00:00+00' + to_seconds(?), 'post', 'test')",
        rows,
    )
    groups = assess_groups(case.con, _assignment({"O": office, "R": newsroom}))
    for gid, confined in (("O", 6), ("R", 0)):
        (marker,) = groups[gid].markers
        assert marker["marker"] == "office_hours"
        assert marker["utc_offset"] in ("UTC+00:00", "UTC+00:15")  # 09:00-16:59 posts
        assert (marker["accounts_telling"], marker["accounts_confined"]) == (6, confined)
        assert marker["members_confined_to_work"] is (confined == 6)
    assert groups["O"].flagged(AssessmentConfig())
    assert not groups["R"].flagged(AssessmentConfig())
    assert groups["R"].flagged(AssessmentConfig(office_alone=True))
    assert DetectConfig(office_alone=True).assessment_config().office_alone
    # with another marker beside it, the newsroom's rhythm counts towards the flag
    groups["R"].markers.append({"marker": "reused_profile"})
    assert groups["R"].flagged(AssessmentConfig())


def test_an_app_only_the_group_posts_with_is_shared_infrastructure() -> None:
    """Twitter's archives name the app of each tweet: an operator's own tool, used by four of
    a group of six and nobody else, is a marker; the common app everyone uses is not."""
    group = [f"g{i}" for i in range(6)]
    organic = [f"o{i}" for i in range(300)]
    case = open_case()
    case.con.executemany(
        "INSERT INTO accounts (account_id, kind, source) VALUES (?, 'user', 'test')",
        [(a,) for a in group + organic],
    )
    rows = [(a, "Twitter for Android") for a in group + organic]
    rows += [(a, "ValoriaPoster 2.1") for a in group[:4]]
    case.con.executemany(
        "INSERT INTO infra (account_id, user_agent, source) VALUES (?, ?, 'test')", rows
    )
    (marker,) = assess_groups(case.con, _assignment({"G": group}))["G"].markers
    assert marker["marker"] == "shared_infrastructure"
    assert (marker["field"], marker["value"], marker["accounts"]) == (
        "user_agent",
        "ValoriaPoster 2.1",
        4,
    )
    assert marker["outside_accounts"] == 0 and marker["p_adjusted"] <= 0.01


def test_declared_bots_beside_personas_are_set_aside_not_counted_against_them() -> None:
    """Nine declared headline bots and eight personas, all made in one hour and logging in from
    one server that nobody else in the case uses (an outside reviewer's case). The markers are
    measured on the eight personas, and the bots are set aside from the case: they are neither
    the personas' background nor the accounts outside them, so the batch and the server still
    show (counted as the background, nine bots outnumbered eight personas and hid both)."""
    bots = [f"b{i}" for i in range(9)]
    personas = [f"p{i}" for i in range(8)]
    organic = [f"o{i}" for i in range(300)]
    case = open_case()
    case.con.executemany(
        "INSERT INTO accounts (account_id, kind, username, created_at, source)"
        " VALUES (?, 'user', ?, ?::TIMESTAMPTZ, 'test')",
        # the bots' and the personas' creations interleave within one hour
        [(a, f"headlinebot{i}", f"2023-06-01 10:{2 * i + 1:02d}:00+00") for i, a in enumerate(bots)]
        + [(a, f"citizen_{a}", f"2023-06-01 10:{2 * i:02d}:00+00") for i, a in enumerate(personas)]
        + [
            (a, f"citizen_{a}", f"2020-01-{1 + i % 28:02d} {i % 24:02d}:00:00+00")
            for i, a in enumerate(organic)
        ],
    )
    rows = [(a, "198.51.100.7") for a in bots + personas]
    rows += [(a, f"203.0.113.{i % 250}") for i, a in enumerate(organic)]
    case.con.executemany("INSERT INTO infra (account_id, ip, source) VALUES (?, ?, 'test')", rows)
    group = assess_groups(case.con, _assignment({"G": bots + personas}))["G"]
    assert group.declared is not None
    assert (group.declared["accounts"], group.declared["whole_group"]) == (9, False)
    (infra,) = [m for m in group.markers if m["marker"] == "shared_infrastructure"]
    assert (infra["value"], infra["accounts"], infra["outside_accounts"]) == ("198.51.100.7", 8, 0)
    # 8 of the 8 judged accounts with infrastructure; the value held by those 8 of the 308
    # accounts left once the bots are set aside
    p = enrichment_pvalue(8, 8, 8, 308)
    assert math.isclose(infra["p_value"], p)
    assert math.isclose(infra["p_adjusted"], min(1.0, p * (8 // 3)))  # at most 2 values of 3
    (burst,) = [m for m in group.markers if m["marker"] == "creation_burst"]
    assert (burst["count"], burst["known"], burst["case_count"]) == (8, 8, 8)
    assert group.flagged(AssessmentConfig())
    # the whole group's fingerprints are what the report shows
    assert group.infra is not None and group.infra["accounts"] == 17
    assert group.creation["accounts"] == 17
    # counting the bots as declared accounts like any other (flag_declared), the hour holds 17
    loud = assess_groups(
        case.con, _assignment({"G": bots + personas}), AssessmentConfig(flag_declared=True)
    )
    (burst,) = [m for m in loud["G"].markers if m["marker"] == "creation_burst"]
    assert burst["count"] == 17
    # only a group's own declared accounts are set aside: the eight personas as a group of
    # their own, beside the bots as another group, are measured against the bots like anyone
    # (the same markers as when the bots are in no group: nine of the hour's seventeen and of
    # the server's seventeen are outside them)
    alone = assess_groups(case.con, _assignment({"P": personas}))["P"]
    beside = assess_groups(case.con, _assignment({"P": personas, "B": bots}))["P"]
    kinds = {m["marker"] for m in alone.markers}
    assert {m["marker"] for m in beside.markers} == kinds
    assert not {"creation_burst", "shared_infrastructure"} & kinds


def test_a_sunday_to_thursday_office_working_to_six_is_confined_to_work() -> None:
    """An office keeping the Middle East's week (Sunday-Thursday) and a 09:00-18:00 day: its
    Sunday and its 17:xx posts are at work, so its personas are confined; staff who also post
    on their Friday or Saturday evenings are not."""
    case = open_case()
    office = [f"op{i}" for i in range(6)]
    crowd = [f"c{i}" for i in range(6)]
    case.con.executemany(
        "INSERT INTO accounts (account_id, kind, source) VALUES (?, 'user', 'test')",
        [(a,) for a in office + crowd],
    )
    rows = []
    for i, a in enumerate([*office, *crowd]):
        for day in range(14):  # from Monday 2024-01-01: day % 7 == 6 is a Sunday
            hours = list(range(9, 18)) if day % 7 in (6, 0, 1, 2, 3) else []
            if a in crowd and day % 7 == 4 + i % 2:
                hours.append(20)
            for h in hours:
                second = day * 86_400 + h * 3_600 + 60 * ((7 * i + 3 * h + day) % 55)
                rows.append((f"{a}-{day}-{h}", a, second))
    case.con.executemany(
        "INSERT INTO posts (post_id, account_id, timestamp, kind, source) VALUES"
        " (?, ?, TIMESTAMPTZ '2024-01-01 00:00:00+00' + to_seconds(?), 'post', 'test')",
        rows,
    )
    groups = assess_groups(case.con, _assignment({"O": office}))
    (marker,) = groups["O"].markers
    assert marker["marker"] == "office_hours" and marker["working_week"] == "Sun-Thu"
    assert marker["utc_offset"] in ("UTC+00:00", "UTC+00:15")
    assert (marker["accounts_telling"], marker["accounts_confined"]) == (6, 6)
    assert groups["O"].flagged(AssessmentConfig())
    mixed = assess_groups(case.con, _assignment({"C": crowd}))["C"].markers
    assert all(m.get("accounts_confined") == 0 for m in mixed if m["marker"] == "office_hours")


def _creation_case(burst: int, group_size: int) -> tuple[Case, list[str]]:
    """2,000 accounts created one every 4.38 hours over a year; ``burst`` of a group of
    ``group_size`` created within one hour, the rest of the group spread like everyone."""
    case = open_case()
    rows = [(f"o{i}", 0.0 + i * 15_768) for i in range(2000)]
    group = [f"g{i}" for i in range(group_size)]
    rows += [(a, 100 * 86_400.0 + 36_000 + 60 * i) for i, a in enumerate(group[:burst])]
    rows += [(a, 7 * 86_400.0 * (i + 1) + 999) for i, a in enumerate(group[burst:])]
    case.con.executemany(
        "INSERT INTO accounts (account_id, kind, created_at, source) VALUES"
        " (?, 'user', TIMESTAMPTZ '2023-01-01 00:00:00+00' + to_seconds(?), 'test')",
        rows,
    )
    return case, group


def test_a_creation_burst_must_hold_a_tenth_of_the_group() -> None:
    """Ten accounts made within an hour are a batch for a group of 60 and a cohort for one of
    150: both bursts are far beyond chance, only the first is a marker."""
    case, group = _creation_case(10, 60)
    (marker,) = assess_groups(case.con, _assignment({"G": group}))["G"].markers
    assert marker["marker"] == "creation_burst"
    assert (marker["count"], marker["known"]) == (10, 60) and marker["p_adjusted"] <= 1e-6
    case, group = _creation_case(10, 150)
    big = assess_groups(case.con, _assignment({"G": group}))["G"]
    assert [b for b in big.creation["bursts"] if b["count"] == 10 and b["p_value"] <= 1e-6]
    assert not [m for m in big.markers if m["marker"] == "creation_burst"]
    assert not big.flagged(AssessmentConfig())
    # 15 of the 150: a tenth, a marker again
    case, group = _creation_case(15, 150)
    (marker,) = assess_groups(case.con, _assignment({"G": group}))["G"].markers
    assert (marker["marker"], marker["count"]) == ("creation_burst", 15)


def test_a_creation_burst_must_be_the_groups_own() -> None:
    """Twenty of a group of 60 made within an hour are a batch when the case's other accounts
    created that hour are fewer; when 30 more accounts outside the group joined in the same
    hour (a wave: a debut, an app launch), the group holds 20 of 50 and the burst, as
    significant as before, is no marker."""
    case, group = _creation_case(20, 60)
    (marker,) = assess_groups(case.con, _assignment({"G": group}))["G"].markers
    assert (marker["marker"], marker["count"], marker["case_count"]) == ("creation_burst", 20, 20)
    case.con.executemany(
        "INSERT INTO accounts (account_id, kind, created_at, source) VALUES"
        " (?, 'user', TIMESTAMPTZ '2023-01-01 00:00:00+00' + to_seconds(?), 'test')",
        [(f"w{i}", 100 * 86_400.0 + 36_000 + 30 + 60 * i) for i in range(30)],
    )
    wave = assess_groups(case.con, _assignment({"G": group}))["G"]
    (burst,) = [b for b in wave.creation["bursts"] if b["window"] == "hour"][:1]
    assert (burst["count"], burst["background"]) == (20, 30) and burst["p_value"] <= 1e-6
    assert not [m for m in wave.markers if m["marker"] == "creation_burst"]
    assert not wave.flagged(AssessmentConfig())
    # 20 of 39: 19 outside the group, still the group's own
    case.con.executemany(
        "DELETE FROM accounts WHERE account_id = ?", [(f"w{i}",) for i in range(19, 30)]
    )
    (marker,) = assess_groups(case.con, _assignment({"G": group}))["G"].markers
    assert (marker["marker"], marker["case_count"]) == ("creation_burst", 39)


def test_a_creation_marker_counts_every_burst_of_its_window() -> None:
    """A group of 40 made in two sessions of 15, a week apart: the marker names the strongest
    and counts both (30 accounts in 2 bursts of an hour)."""
    case, group = _creation_case(15, 40)
    case.con.executemany(
        "UPDATE accounts SET created_at = TIMESTAMPTZ '2023-01-01 00:00:00+00' + to_seconds(?)"
        " WHERE account_id = ?",
        [(107 * 86_400.0 + 50_000 + 60 * i, a) for i, a in enumerate(group[15:30])],
    )
    (marker,) = assess_groups(case.con, _assignment({"G": group}))["G"].markers
    assert marker["marker"] == "creation_burst" and marker["count"] == 15
    assert (marker["window"], marker["bursts"], marker["batched"]) == ("hour", 2, 30)


def test_a_shared_bio_supports_a_flag_and_a_shared_name_raises_one() -> None:
    """Thirty fans of a band write "kelgraband stan" in their bios, and nobody else does: a
    community declaring itself (an outside reviewer's fan club was flagged on it alone). A
    display name that a tenth of the group shares is a persona template, and flags."""
    fans = [f"fan{i}" for i in range(30)]
    organic = [f"o{i}" for i in range(600)]
    case = open_case()
    case.con.executemany(
        "INSERT INTO accounts (account_id, kind, display_name, description, source)"
        " VALUES (?, 'user', ?, ?, 'test')",
        [(a, f"Fan {i}", "kelgraband stan") for i, a in enumerate(fans)]
        + [(a, f"Person {i}", f"my own words {i}") for i, a in enumerate(organic)],
    )
    group = assess_groups(case.con, _assignment({"F": fans}))["F"]
    (marker,) = group.markers
    assert marker["marker"] == "reused_profile" and marker["fields"] == ["description"]
    assert (marker["count"], marker["case_count"]) == (30, 30)
    assert not group.flagged(AssessmentConfig())
    assert group.flagged(AssessmentConfig(bio_alone=True))
    assert DetectConfig(bio_alone=True).assessment_config().bio_alone
    # the personas of one template share a name too
    case.con.execute(
        "UPDATE accounts SET display_name = 'Proud Patriot' WHERE account_id LIKE 'fan%'"
    )
    group = assess_groups(case.con, _assignment({"F": fans}))["F"]
    (marker,) = group.markers
    assert marker["fields"] == ["description", "display_name"]
    assert group.flagged(AssessmentConfig())


def test_a_fleet_that_declares_it_is_automated_is_not_flagged() -> None:
    """Eight headline bots of one operator (an outside reviewer's news bots): numbered handles,
    one creation day, one bio. They show the markers of a batch, but they say what they are."""
    bots = [f"b{i}" for i in range(8)]
    organic = [f"o{i}" for i in range(600)]
    rows = [
        (a, f"newsbot{i}", f"新闻{i}", "news", "2015-05-05 00:00:00") for i, a in enumerate(bots)
    ]
    rows += [
        (a, f"person_{i:03d}x", f"Person {i}", f"my own words {i}", f"2012-01-{1 + i % 28:02d}")
        for i, a in enumerate(organic)
    ]
    case = open_case()
    case.con.executemany(
        "INSERT INTO accounts (account_id, kind, username, display_name, description, created_at,"
        " source) VALUES (?, 'user', ?, ?, ?, ?::TIMESTAMPTZ, 'test')",
        rows,
    )
    group = assess_groups(case.con, _assignment({"B": bots}))["B"]
    # the fingerprint shows the batch; the markers, measured on the accounts that do not
    # declare automation, do not
    assert group.creation["bursts"] and group.creation["handle_templates"]
    assert group.markers == []
    assert group.declared == {
        "accounts": 8,
        "members": 8,
        "fields": {"username": 8},
        "examples": bots[:5],
        "whole_group": True,
    }
    assert not group.flagged(AssessmentConfig())
    assert group.flagged(AssessmentConfig(min_markers=0))  # a takedown archive: every group
    # a declared fleet stays unflagged even beside a marker that flags on its own
    group.markers.append({"marker": "creation_burst"})
    assert not group.flagged(AssessmentConfig())
    group.markers.clear()
    # flag_declared: the bots' markers count like anyone's
    loud = assess_groups(case.con, _assignment({"B": bots}), AssessmentConfig(flag_declared=True))
    assert {"handle_template", "creation_burst"} <= {m["marker"] for m in loud["B"].markers}
    assert loud["B"].flagged(AssessmentConfig(flag_declared=True))
    assert DetectConfig(flag_declared=True).assessment_config().flag_declared
    # two of the eight stop declaring: the group is no longer a declared fleet, but its markers
    # are measured on those two, which are no batch of their own
    case.con.execute(
        "UPDATE accounts SET username = 'newsdesk_' || account_id WHERE account_id IN ('b6', 'b7')"
    )
    group = assess_groups(case.con, _assignment({"B": bots}))["B"]
    assert group.declared is not None
    assert (group.declared["accounts"], group.declared["whole_group"]) == (6, False)
    assert not {"handle_template", "creation_burst"} & {m["marker"] for m in group.markers}
    assert not group.flagged(AssessmentConfig())
    # eight undeclared accounts of one batch beside the six bots: flagged on their own markers,
    # counted over them
    batch = [f"p{i}" for i in range(8)]
    case.con.executemany(
        "INSERT INTO accounts (account_id, kind, username, display_name, description, created_at,"
        " source) VALUES (?, 'user', ?, ?, '', TIMESTAMPTZ '2023-06-01 10:00:00+00', 'test')",
        [(a, f"patriot{1000 + i}", f"Patriot {i}") for i, a in enumerate(batch)],
    )
    group = assess_groups(case.con, _assignment({"B": bots + batch}))["B"]
    assert group.declared is not None and not group.declared["whole_group"]
    burst = next(m for m in group.markers if m["marker"] == "creation_burst")
    assert (burst["count"], burst["known"]) == (8, 10)  # b6, b7 and the batch
    template = next(m for m in group.markers if m["marker"] == "handle_template")
    assert template["count"] == 8
    assert group.flagged(AssessmentConfig())
    # the fingerprints shown are the whole group's
    assert group.creation["accounts"] == 16


@pytest.mark.parametrize(
    ("username", "name", "bio", "fields"),
    [
        ("newsbot7", "", "", ["username"]),
        ("NewsBot", "", "", ["username"]),
        ("quake_bot", "", "", ["username"]),
        ("x", "Weather Bot 3", "", ["display_name"]),
        ("x", "", "Automated headlines.", ["description"]),
        ("x", "", "RSS feed of the Daily Times", ["description"]),
        ("x", "", "Curated world news, auto-posted", ["description"]),
        ("x", "", "Headlines for NYC. Not monitored.", ["description"]),
        ("x", "", "自动发布新闻", ["description"]),
        ("x", "", "هذا البوت ينشر الأخبار", ["description"]),
        ("x", "", "Новостной бот", ["description"]),
        # denials are no declaration
        ("not_a_bot", "Not A Bot", "Proud patriot. Not a bot!", []),
        ("x", "", "I report bots and trolls", []),
        ("x", "", "Я не бот, я патриот", []),
        ("x", "", "不是机器人", []),
        ("x", "", "Semi-automatic rifle collector", []),
        # words that end in or begin with "bot" are not a declaration
        ("talbot99", "", "", []),
        ("jtalbot", "Jo Talbot", "robotics, abbots and botany", []),
        ("Robot", "BOTANY", "", []),
        (None, None, None, []),
    ],
)
def test_declares_automation_reads_the_word_bot_not_words_with_it(
    username: str | None, name: str | None, bio: str | None, fields: list[str]
) -> None:
    assert declares_automation(username, name, bio) == fields
