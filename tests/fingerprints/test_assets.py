"""Assets of several kinds: Pages and Groups run, followers reached, other platforms."""

from __future__ import annotations

import json

import pytest

from cibscan.errors import ConfigError
from cibscan.fingerprints.assets import AssetConfig, asset_fingerprints

from ._cases import assignment, new_case


def _case():  # type: ignore[no-untyped-def]
    return new_case(
        accounts=[
            {
                "account_id": "u1",
                "kind": "user",
                "username": "valoria_voice",
                "followers": 10,
                "platform": "facebook",
            },
            {
                "account_id": "u2",
                "kind": "user",
                "username": "abc",
                "followers": 20,
                "platform": "facebook",
                "description": "Join us: https://www.valoria.example/join?utm_source=x and "
                "https://news.example",
            },
            {"account_id": "p1", "kind": "page", "followers": 1000, "platform": "facebook"},
            {"account_id": "p2", "kind": "page", "followers": 500, "platform": "facebook"},
            {"account_id": "g1", "kind": "group", "platform": "facebook"},
            {"account_id": "g2", "kind": "group", "followers": 9000, "platform": "facebook"},
            {
                "account_id": "x1",
                "kind": "user",
                "username": "Valoria_Voice",
                "platform": "twitter",
            },
            {
                "account_id": "t1",
                "kind": "channel",
                "username": "abc",
                "platform": "telegram",
                "description": "https://valoria.example/join/",
            },
            {
                "account_id": "y1",
                "kind": "user",
                "username": "valoria_voice",
                "platform": "facebook",
            },
            {
                "account_id": "n1",
                "kind": "user",
                "description": "https://news.example/",
                "platform": "twitter",
            },
        ],
        memberships=[
            {"account_id": "u1", "asset_id": "p1", "role": "admin"},
            {"account_id": "u2", "asset_id": "p1", "role": "editor"},
            {"account_id": "u2", "asset_id": "g1", "role": "Admin"},
            {"account_id": "u1", "asset_id": "g2", "role": "member"},
            {"account_id": "u1", "asset_id": "p2", "role": "admin"},  # p2 is in the network
            {"account_id": "u1", "asset_id": "c9"},  # no role: admin; no account row
            {"account_id": "y1", "asset_id": "g2", "role": "admin"},  # outside the network
        ],
    )


def test_assets_by_kind_and_followers() -> None:
    fp = asset_fingerprints(_case().con, assignment({"n": ["u1", "u2", "p2"]}))
    net = fp.networks["n"]
    assert net.accounts == 3
    assert net.accounts_by_kind == {"user": 2, "page": 1, "group": 0, "channel": 0}
    assert net.administered_by_kind == {
        "user": 0,
        "page": 1,
        "group": 1,
        "channel": 0,
        "unknown": 1,
    }
    assert net.joined_by_kind == {"user": 0, "page": 0, "group": 1, "channel": 0}
    assert net.assets_by_kind == {"user": 2, "page": 2, "group": 1, "channel": 0, "unknown": 1}
    # u1 10 + u2 20 + p2 500 + p1 1000; g1 and c9 have no count; g2 is only joined
    assert net.followers == {"assets": 6, "known": 4, "sum": 1530, "max": 1000, "distinct": None}
    assert net.platforms == {"facebook": 3}


def test_cross_platform_links_by_handle_and_by_specific_link() -> None:
    net = asset_fingerprints(_case().con, assignment({"n": ["u1", "u2", "p2"]})).networks["n"]
    links = {(c["via"], c["value"]): c for c in net.cross_platform}
    # "abc" is shorter than min_handle_length; news.example is a bare domain
    assert set(links) == {("handle", "valoria_voice"), ("link", "valoria.example/join")}
    handle = links[("handle", "valoria_voice")]
    assert handle["platforms"] == ["facebook", "twitter"]
    assert handle["accounts"] == ["facebook:u1"]
    assert handle["outside"] == ["facebook:y1", "twitter:x1"]
    link = links[("link", "valoria.example/join")]
    assert link["platforms"] == ["facebook", "telegram"]
    assert (link["accounts"], link["outside"]) == (["facebook:u2"], ["telegram:t1"])


def test_same_platform_only_is_no_cross_platform_link() -> None:
    net = asset_fingerprints(_case().con, assignment({"n": ["y1"]})).networks["n"]
    assert [c["value"] for c in net.cross_platform] == ["valoria_voice"]  # via x1 on twitter
    alone = asset_fingerprints(
        _case().con, assignment({"n": ["p1"]}), config=AssetConfig(min_handle_length=50)
    ).networks["n"]
    assert alone.cross_platform == []


def test_links_held_by_many_accounts_are_generic() -> None:
    net = asset_fingerprints(
        _case().con, assignment({"n": ["u2"]}), config=AssetConfig(max_link_accounts=1)
    ).networks["n"]
    assert net.cross_platform == []


def test_no_memberships_and_unknown_accounts() -> None:
    fp = asset_fingerprints(new_case().con, assignment({"n": ["ghost"]}))
    d = json.loads(json.dumps(fp.as_dict()))["networks"]["n"]
    assert d["accounts_by_kind"] == {"user": 0, "page": 0, "group": 0, "channel": 0, "unknown": 1}
    assert d["administered_by_kind"] == {"user": 0, "page": 0, "group": 0, "channel": 0}
    assert d["followers"] == {"assets": 1, "known": 0, "sum": None, "max": None, "distinct": None}
    assert d["cross_platform"] == []


def test_bad_config_is_refused() -> None:
    with pytest.raises(ConfigError, match="admin_roles"):
        AssetConfig(admin_roles=())
