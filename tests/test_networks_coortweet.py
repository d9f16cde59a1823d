"""``semantics="coortweet"``: CooRTweet's detect_groups + generate_coordinated_network."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from cibscan.case import Case, open_case
from cibscan.networks import networks

#: CooRTweet's sample data (MIT), kept in the repository: see tests/data/coortweet/README.md.
RUSSIAN = Path(__file__).parent / "data" / "coortweet" / "russian_coord_tweets.parquet"
SELF_COORDINATED = "9fa51ef17278c01d13d313741eddfc0b"


def shares_case(rows: list[tuple[str, str, str, float]]) -> Case:
    """A case of reposts: (post, account, object, seconds)."""
    case = open_case()
    posts, accounts, objects, seconds = zip(*rows, strict=True)
    case.con.register(
        "shares",
        pa.table(
            {
                "post_id": list(posts),
                "account_id": list(accounts),
                "object_id": list(objects),
                "seconds": pa.array(seconds, pa.float64()),
            }
        ),
    )
    case.con.execute(
        """INSERT INTO posts BY NAME
           SELECT post_id, account_id, 'share' AS kind, object_id AS shared_post_id,
                  make_timestamp(CAST(round(seconds * 1e6) AS BIGINT)) AS timestamp
           FROM shares"""
    )
    case.con.unregister("shares")
    return case


@pytest.fixture(scope="module")
def russian() -> Case:
    table = pq.read_table(RUSSIAN)
    case = open_case()
    case.con.register("russian", table)
    case.con.execute(
        """INSERT INTO posts BY NAME
           SELECT content_id AS post_id, account_id, 'share' AS kind,
                  object_id AS shared_post_id,
                  make_timestamp(CAST(round(timestamp_share * 1e6) AS BIGINT)) AS timestamp
           FROM russian"""
    )
    case.con.unregister("russian")
    return case


def accounts_of(case: Case, **options: object) -> set[str]:
    result = networks(
        case, ["share"], semantics="coortweet", window=10, min_participation=5, **options
    )
    edges = result.edges
    return set(edges["source"].to_pylist()) | set(edges["target"].to_pylist())


def test_russian_self_coordinated_account_absent_without_loops(russian: Case) -> None:
    accounts = accounts_of(russian)
    assert accounts, "the coordinated network should not be empty"
    assert SELF_COORDINATED not in accounts


def test_russian_self_coordinated_account_present_with_loops(russian: Case) -> None:
    accounts = accounts_of(russian, keep_loops=True)
    assert SELF_COORDINATED in accounts
    result = networks(
        russian, ["share"], semantics="coortweet", window=10, min_participation=5, keep_loops=True
    )
    loops = [r for r in result.edges.to_pylist() if r["source"] == r["target"] == SELF_COORDINATED]
    assert len(loops) == 1 and loops[0]["weight"] > 0


# A hand-countable case, window 10 s, min_participation 2:
#   x: a@0  b@5  c@30            -> (a,b) gap 5; c is too late
#   y: a@100 b@108 a@109         -> (a,b) gap 8, (b,a) gap 1, loop (a,a) gap 9
#   z: a@200 d@203               -> (a,d) gap 3
#   w: d@500 (alone)             -> d has 2 traces, 1 of them coordinated
#   v: e@300 f@302; e@900, f@950 -> (e,f) gap 2, but e and f have 1 coordinated post each
#   c has a single trace, so the pre-filter drops it before pairing.
HAND = [
    ("1", "a", "x", 0), ("2", "b", "x", 5), ("3", "c", "x", 30),
    ("4", "a", "y", 100), ("5", "b", "y", 108), ("6", "a", "y", 109),
    ("7", "a", "z", 200), ("8", "d", "z", 203), ("9", "d", "w", 500),
    ("10", "e", "v", 300), ("11", "f", "v", 302), ("12", "e", "u1", 900), ("13", "f", "u2", 950),
]  # fmt: skip


def test_hand_counted_coortweet_network() -> None:
    result = networks(shares_case(HAND), ["share"], semantics="coortweet")
    assert result.windows == {"share": 10.0}
    assert result.config.min_participation == 2 and result.config.min_weight == 1
    rows = {(r["source"], r["target"]): r for r in result.edges.to_pylist()}
    # (e,f) goes: neither has two coordinated posts. (a,d) stays: a has four.
    assert set(rows) == {("a", "b"), ("a", "d")}
    ab = rows[("a", "b")]
    assert ab["weight"] == 3  # coordinated content pairs, not items
    assert ab["avg_time_delta"] == pytest.approx((5 + 8 + 1) / 3)
    assert (ab["n_content_id"], ab["n_content_id_y"]) == (3, 3)  # older: 1,4,5; newer: 2,5,6
    assert ab["edge_symmetry_score"] == 1.0
    # Weights 3 and 1: the median is 2, so only (a,b) is above it.
    assert ab["weight_threshold"] == 1 and rows[("a", "d")]["weight_threshold"] == 0
    assert result.edges.column_names[:3] == ["source", "target", "weight"]


def test_hand_counted_with_loops_and_quantile() -> None:
    result = networks(
        shares_case(HAND), ["share"], semantics="coortweet", keep_loops=True,
        edge_weight_quantile=0.0,
    )  # fmt: skip
    rows = {(r["source"], r["target"]): r["weight"] for r in result.edges.to_pylist()}
    assert rows == {("a", "a"): 1, ("a", "b"): 3, ("a", "d"): 1}
    flags = {(r["source"], r["target"]): r["weight_threshold"] for r in result.edges.to_pylist()}
    assert flags == {("a", "a"): 0, ("a", "b"): 1, ("a", "d"): 0}


def test_min_participation_one_keeps_every_pair() -> None:
    result = networks(shares_case(HAND), ["share"], semantics="coortweet", min_participation=1)
    pairs = {(r["source"], r["target"]) for r in result.edges.to_pylist()}
    assert pairs == {("a", "b"), ("a", "d"), ("e", "f")}


def test_a_post_that_is_its_own_object_is_a_loop() -> None:
    rows = [("o", "a", "o", 0), ("2", "b", "o", 1), ("3", "a", "q", 50), ("4", "b", "q", 52)]
    case = shares_case(rows)
    kept = networks(case, ["share"], semantics="coortweet", min_participation=1, keep_loops=True)
    removed = networks(case, ["share"], semantics="coortweet", min_participation=1)
    assert kept.edges["weight"].to_pylist() == [2]
    assert removed.edges["weight"].to_pylist() == [1]
