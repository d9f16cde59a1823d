"""Related networks: pairs of networks that use the same distinctive items."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from scipy import stats

from cibscan.errors import ConfigError
from cibscan.fingerprints import fingerprint_networks
from cibscan.fingerprints.related import RelatedConfig, related_networks

from ._cases import assignment, new_case

T0 = dt.datetime(2024, 3, 4, 9, tzinfo=dt.UTC)

N1 = [f"a{i}" for i in range(5)]
N2 = [f"b{i}" for i in range(5)]
N3 = [f"c{i}" for i in range(5)]
ORGANIC = [f"o{i}" for i in range(100)]
FRINGE = "https://fringe.example/story"


def _posts() -> list[dict[str, Any]]:
    """Every account posts one link of its own (on a domain of its own); the fringe link is
    posted by a0-a3, b0-b3 and o0 (9 users, 1 outside the networks); #surge by every account of
    N1 and N3 and 12 organic ones (22 users, 12 outside), #life by the other 88 organic ones;
    #camp by a0, a1 and c0 only."""
    rows: list[dict[str, Any]] = []
    accounts = N1 + N2 + N3 + ORGANIC
    for i, a in enumerate(accounts):
        tags = []
        if a in N1 or a in N3 or a in ORGANIC[:12]:
            tags.append("surge")
        elif a in ORGANIC:
            tags.append("life")
        if a in ("a0", "a1", "c0"):
            tags.append("camp")
        rows.append(
            {
                "post_id": f"own-{a}",
                "account_id": a,
                "timestamp": T0 + dt.timedelta(minutes=i),
                "urls": [f"https://own-{a}.example/{i}"],
                "hashtags": tags,
            }
        )
    for i, a in enumerate(["a0", "a1", "a2", "a3", "b0", "b1", "b2", "b3", "o0"]):
        rows.append(
            {
                "post_id": f"fringe-{a}",
                "account_id": a,
                "timestamp": T0 + dt.timedelta(days=1, hours=i),
                "urls": [FRINGE],
            }
        )
    return rows


def test_two_networks_are_related_through_the_material_only_they_use() -> None:
    case = new_case(posts=_posts())
    got = related_networks(case.con, assignment({"N1": N1, "N2": N2, "N3": N3}))
    # 115 accounts post links (and domains); only the fringe link and its domain have the 4
    # users (2 x min_accounts) an item needs to qualify; among hashtags #surge and #life: 4
    # items, each for 3 pairs of networks.
    assert got.tests == 12
    assert [p.networks for p in got.pairs] == [("N1", "N2")]
    pair = got.pairs[0]
    assert pair.items == 2 and pair.by_kind == {"domain": 1, "link": 1}
    p = stats.hypergeom.sf(3, 115, 5, 9)  # 4 of 5 in each, 9 users among 115 linkers
    link = next(e for e in pair.evidence if e.kind == "link")
    assert (link.item, link.accounts_a, link.accounts_b, link.accounts_other) == (FRINGE, 4, 4, 0)
    assert link.accounts_outside == 1
    assert link.p_value == pytest.approx(p, rel=1e-9)
    assert link.p_adjusted == pytest.approx(12 * p, rel=1e-9)
    assert {e.item for e in pair.evidence} == {FRINGE, "fringe.example"}
    assert got.groups == [["N1", "N2"]]
    # Seen from N2, its own accounts come first (b4 has no fringe post: 3 here, 4 there).
    seen = got.for_network("N2")
    assert [r["network"] for r in seen] == ["N1"]
    assert {(r["kind"], r["accounts_here"], r["accounts_there"]) for r in seen[0]["evidence"]} == {
        ("link", 4, 4),
        ("domain", 4, 4),
    }
    assert got.for_network("N3") == []


def test_a_topic_that_many_others_use_relates_no_one() -> None:
    # #surge is in every account of N1 and N3, enriched in both (5 of 5 each, against 12 of
    # 100 organic), but 12 of its 22 users are in no network: the topic, not their material.
    case = new_case(posts=_posts())
    nets = assignment({"N1": N1, "N2": N2, "N3": N3})
    assert ("N1", "N3") not in {p.networks for p in related_networks(case.con, nets).pairs}
    loose = related_networks(case.con, nets, config=RelatedConfig(max_outside_share=0.9))
    assert ("N1", "N3") in {p.networks for p in loose.pairs}


def test_one_account_of_a_network_is_not_its_use() -> None:
    # #camp: a0, a1 of N1 and c0 of N3, nobody else; N3 has one user, min_accounts is 2.
    case = new_case(posts=_posts())
    nets = assignment({"N1": N1, "N3": N3})
    assert related_networks(case.con, nets).pairs == []
    # With min_accounts=1 it is tested (the factor counts items of two users and more), and
    # one account in five is no evidence: P(X >= 1) is 0.13.
    one = related_networks(case.con, nets, config=RelatedConfig(min_accounts=1))
    assert one.tests > related_networks(case.con, nets).tests and one.pairs == []


def test_an_item_that_others_use_as_well_is_not_evidence_enough() -> None:
    # Four accounts of each network on a link and nobody else: evidence. The same with six
    # more accounts outside them (fewer than half of its users): too likely to happen
    # somewhere among the items that could qualify (the Bonferroni factor).
    def case_with(users: list[str]) -> Any:
        rows = _posts()
        for i, a in enumerate(users):
            rows.append(
                {
                    "post_id": f"pair-{a}",
                    "account_id": a,
                    "timestamp": T0 + dt.timedelta(days=2, hours=i),
                    "urls": ["https://pair.example/x"],
                }
            )
        return new_case(posts=rows)

    four = ["a0", "a1", "a2", "a3", "b1", "b2", "b3", "b4"]
    nets = assignment({"N1": N1, "N2": N2, "N3": N3})
    alone = related_networks(case_with(four).con, nets)
    assert alone.tests == 18  # two more items of at least four users: the link and its domain
    pair = next(p for p in alone.pairs if p.networks == ("N1", "N2"))
    assert 18 * stats.hypergeom.sf(3, 115, 5, 8) <= 0.01
    assert pair.items == 4 and pair.by_kind == {"domain": 2, "link": 2}
    crowded = related_networks(case_with([*four, *(f"o{i}" for i in range(1, 7))]).con, nets)
    pair = next(p for p in crowded.pairs if p.networks == ("N1", "N2"))
    assert 18 * stats.hypergeom.sf(3, 115, 5, 14) > 0.01
    assert "https://pair.example/x" not in {e.item for e in pair.evidence}


def test_one_networks_heavy_use_does_not_carry_the_others_chance_users() -> None:
    # A link that all of a 5-account network posts, and 2 of a 60-account network: enriched in
    # the first only. Both must be (an intersection-union test).
    big = [f"f{i}" for i in range(60)]
    rows = _posts()
    for i, a in enumerate(big):
        rows.append({"post_id": f"own-{a}", "account_id": a, "timestamp": T0, "urls": [f"u{i}"]})
    for i, a in enumerate([*N3, "f0", "f1"]):
        rows.append(
            {
                "post_id": f"wire-{a}",
                "account_id": a,
                "timestamp": T0 + dt.timedelta(days=3, minutes=i),
                "urls": ["https://wire.example/story"],
            }
        )
    got = related_networks(new_case(posts=rows).con, assignment({"N3": N3, "F": big}))
    assert got.pairs == []
    assert stats.hypergeom.sf(4, 175, 5, 7) * stats.hypergeom.sf(1, 175, 60, 7) < 1e-6


def test_fingerprint_records_carry_related_networks_and_groups() -> None:
    case = new_case(posts=_posts())
    records = fingerprint_networks(
        case.con,
        [
            {"id": "N1", "accounts": N1},
            {"id": "N2", "accounts": N2},
            {"id": "N3", "accounts": N3},
        ],
    )
    by_id = {r["id"]: r for r in records}
    assert [r["network"] for r in by_id["N1"]["related_networks"]] == ["N2"]
    assert by_id["N1"]["related_group"] == by_id["N2"]["related_group"] == ["N1", "N2"]
    assert by_id["N3"]["related_networks"] == [] and by_id["N3"]["related_group"] == []


def test_the_config_is_checked() -> None:
    with pytest.raises(ConfigError, match="kinds"):
        RelatedConfig(kinds=("reply",))
    with pytest.raises(ConfigError, match="max_outside_share"):
        RelatedConfig(max_outside_share=1.0)
