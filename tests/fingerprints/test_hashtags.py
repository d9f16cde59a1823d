"""Hashtag hijacking: a farm that owns a tag's top results is flagged, a crowd is not."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import numpy as np
import pyarrow as pa
import pytest

from cibscan.case import open_case
from cibscan.errors import BadInputError, ConfigError
from cibscan.fingerprints.hashtags import HashtagConfig, benjamini_hochberg, hashtag_hijacking

T0 = datetime(2021, 6, 1, tzinfo=UTC)


def _case(posts: list[tuple[str, datetime, list[str], int | None]]):  # type: ignore[no-untyped-def]
    """An in-memory case of ``(account, time, hashtags, engagement)`` posts."""
    case = open_case()
    table = pa.table(
        {
            "post_id": [f"p{i:05d}" for i in range(len(posts))],
            "account_id": [p[0] for p in posts],
            "timestamp": [p[1] for p in posts],
            "kind": ["post"] * len(posts),
            "hashtags": pa.array([p[2] for p in posts], pa.list_(pa.string())),
            "engagement": pa.array([p[3] for p in posts], pa.int64()),
        }
    )
    case.con.register("staged", table)
    case.con.execute("INSERT INTO posts BY NAME SELECT * FROM staged")
    case.con.unregister("staged")
    return case


def _scenario(*, engagement: bool, seed: int = 0):  # type: ignore[no-untyped-def]
    """24 hours of #vote: 100 organic accounts, 20 of them a 'fans' network, and a 5-account
    farm whose posts are the most engaged (or, without engagement, the most recent)."""
    rng = np.random.default_rng(seed)
    posts: list[tuple[str, datetime, list[str], int | None]] = []
    for hour in range(24):
        start = T0 + timedelta(hours=hour)
        for k in range(100):
            if rng.random() < 0.5:
                t = start + timedelta(minutes=int(rng.integers(0, 50)))
                posts.append((f"org{k:03d}", t, ["vote"], int(rng.integers(0, 50))))
        for k in range(5):
            for j in range(2):
                t = start + timedelta(minutes=50 + 4 * j + k % 4)
                posts.append((f"farm{k}", t, ["vote", "news"], int(rng.integers(100, 200))))
        for k in range(30):
            t = start + timedelta(minutes=int(rng.integers(0, 60)))
            posts.append((f"org{k:03d}", t, ["news"], int(rng.integers(0, 300))))
    if not engagement:
        posts = [(a, t, tags, None) for a, t, tags, _ in posts]
    assignment = pa.table(
        {
            "account_id": [f"farm{k}" for k in range(5)] + [f"org{k:03d}" for k in range(20)],
            "network_id": ["farm"] * 5 + ["fans"] * 20,
        }
    )
    return _case(posts), assignment


@pytest.mark.parametrize("engagement", [True, False])
def test_farm_owning_top_results_is_flagged_crowd_is_not(engagement: bool) -> None:
    case, assignment = _scenario(engagement=engagement)
    result = hashtag_hijacking(case.con, assignment)
    farm = result.networks["farm"]
    # Without engagement the top results are the latest posts, and the farm posts last in
    # every hour on #news too: it owns that tag's "latest" tab as well.
    assert [h.hashtag for h in farm] == (["vote"] if engagement else ["vote", "news"])
    vote = farm[0]
    assert vote.account_share < 0.06
    assert vote.top_share >= 0.8
    assert vote.q_value < 1e-6
    assert vote.accounts == 5 and vote.posts == 240
    assert len(vote.series) == 24
    assert all(pt.top_share >= 0.8 for pt in vote.series)
    assert result.networks["fans"] == []
    assert result.popular_hashtags == ["vote", "news"]


def test_farm_with_little_engagement_on_a_busy_tag_is_not_flagged() -> None:
    # On #news the farm's posts are outranked by organic posts with more engagement: it is
    # present, but it does not own the top results.
    case, assignment = _scenario(engagement=True)
    result = hashtag_hijacking(case.con, assignment, config=HashtagConfig(top_k=3))
    assert "news" not in [h.hashtag for h in result.networks["farm"]]


def test_result_is_json_ready_with_the_promised_keys() -> None:
    case, assignment = _scenario(engagement=True)
    out = json.loads(json.dumps(hashtag_hijacking(case.con, assignment).as_dict()))
    hijack = out["networks"]["farm"]["hijacked_hashtags"][0]
    assert set(hijack) == {
        "hashtag",
        "volume_share",
        "top_share",
        "account_share",
        "posts",
        "accounts",
        "top_posts",
        "p_value",
        "q_value",
        "series",
        "volume_p_value",
        "volume_q_value",
        "flagged_by",
    }
    assert set(hijack["series"][0]) == {"time", "volume_share", "top_share"}
    assert hijack["series"][0]["time"] == "2021-06-01T00:00:00Z"


def test_daily_bins_and_volume_threshold() -> None:
    case, assignment = _scenario(engagement=True)
    result = hashtag_hijacking(
        case.con, assignment, config=HashtagConfig(time_bin="day", top_k=50, min_volume=1500)
    )
    assert result.popular_hashtags == []  # #vote has about 1,440 posts
    result = hashtag_hijacking(case.con, assignment, config=HashtagConfig(time_bin="day"))
    assert len(result.networks["farm"][0].series) == 1


def test_a_lone_account_is_not_a_network() -> None:
    case, _ = _scenario(engagement=True)
    lone = pa.table({"account_id": ["farm0"], "network_id": ["x"]})
    assert hashtag_hijacking(case.con, lone).networks["x"] == []


def test_benjamini_hochberg_matches_hand_computation() -> None:
    q = benjamini_hochberg(np.array([0.01, 0.04, 0.03, 0.5]))
    assert q.round(4).tolist() == [0.04, 0.0533, 0.0533, 0.5]
    assert benjamini_hochberg(np.zeros(0)).tolist() == []


def test_bad_config_and_assignment() -> None:
    with pytest.raises(ConfigError, match="time_bin"):
        HashtagConfig(time_bin="week")  # type: ignore[arg-type]
    with pytest.raises(BadInputError, match="account_id"):
        hashtag_hijacking(open_case().con, pa.table({"network_id": ["n"]}))


def test_flooding_with_low_engagement_is_flagged_by_volume() -> None:
    """A farm of 10 accounts posting a tag 20 times each, with no engagement, floods its
    volume without reaching its top results; 200 organic users post it once or twice."""
    rng = np.random.default_rng(7)
    posts: list[tuple[str, datetime, list[str], int | None]] = []
    for k in range(200):
        for _ in range(int(rng.integers(1, 3))):
            t = T0 + timedelta(minutes=int(rng.integers(0, 24 * 60)))
            posts.append((f"org{k:03d}", t, ["valoria"], int(rng.integers(5, 50))))
    for k in range(10):
        for j in range(20):
            t = T0 + timedelta(minutes=int(rng.integers(9 * 60, 17 * 60)) + j)
            posts.append((f"farm{k}", t, ["valoria"], 0))
    members = [f"farm{k}" for k in range(10)] + [f"org{k:03d}" for k in range(10)]
    nets = ["farm"] * 10 + ["crowd"] * 10
    result = hashtag_hijacking(
        _case(posts).con, pa.table({"account_id": members, "network_id": nets})
    ).as_dict()["networks"]
    (hijack,) = result["farm"]["hijacked_hashtags"]
    assert hijack["hashtag"] == "valoria" and hijack["flagged_by"] == ["volume"]
    assert hijack["volume_share"] > 3 * hijack["account_share"]
    assert hijack["volume_q_value"] < 1e-6
    assert result["crowd"]["hijacked_hashtags"] == []
