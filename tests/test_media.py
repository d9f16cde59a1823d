"""Near-duplicate perceptual hashes: multi-index hashing, verified by brute force."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from cibscan.case import open_case
from cibscan.errors import ConfigError
from cibscan.media import (
    _band_masks,
    hash_clusters,
    is_perceptual_hash,
    media_hash_map,
    media_trace_sql,
    parse_hashes,
)


def _hex(value: int) -> str:
    return f"{value:016x}"


def _brute_force(hashes: list[str], d: int) -> list[str]:
    """Connected components of the all-pairs distance graph, named by their smallest hash."""
    values = sorted({int(h, 16) for h in hashes})
    parent = {v: v for v in values}

    def find(v: int) -> int:
        while parent[v] != v:
            v = parent[v]
        return v

    for a_index, a in enumerate(values):
        for b in values[a_index + 1 :]:
            if (a ^ b).bit_count() <= d:
                ra, rb = find(a), find(b)
                parent[max(ra, rb)] = min(ra, rb)
    return [_hex(find(int(h, 16))) for h in hashes]


def test_hand_counted_clusters() -> None:
    base = 0x0123456789ABCDEF
    hashes = [
        _hex(base),
        _hex(base ^ 0b111111),  # 6 bits from base: same picture
        _hex(base ^ (0b1111111 << 40)),  # 7 bits from base, 13 from the second: apart
        "0123456789ABCDEF",  # base in upper case: the same hash
        _hex(~base & (2**64 - 1)),  # 64 bits from base
    ]
    labels = hash_clusters(hashes, max_distance=6)
    smallest = min(base, base ^ 0b111111)
    assert labels == [_hex(smallest), _hex(smallest), hashes[2], _hex(smallest), hashes[4]]
    # Distance 0 joins equal hashes only (in any case).
    assert hash_clusters(hashes, max_distance=0) == [
        hashes[0],
        hashes[1],
        hashes[2],
        hashes[0],
        hashes[4],
    ]


def test_chains_are_one_cluster() -> None:
    # a - b - c, each step 4 bits, a to c 8 bits: single linkage joins all three.
    a = 0
    b = 0b1111
    c = 0b11111111
    assert hash_clusters([_hex(c), _hex(a), _hex(b)], max_distance=4) == [_hex(a)] * 3


def test_bands_cover_the_64_bits_once() -> None:
    for d in range(0, 32):
        covered = 0
        masks = _band_masks(d)
        assert len(masks) == d + 1
        for shift, mask in masks:
            bits = int(mask) << int(shift)
            assert covered & bits == 0
            covered |= bits
        assert covered == 2**64 - 1


def test_parse_and_recognise() -> None:
    assert parse_hashes([]).size == 0
    assert parse_hashes(["8000000000000000"]).tolist() == [2**63]
    assert is_perceptual_hash("DeadBeef00000000")
    assert not is_perceptual_hash("deadbeef")  # 32 bits
    assert not is_perceptual_hash("deadbeef0000000g")
    with pytest.raises(ValueError, match="item 1"):
        parse_hashes(["0000000000000000", "img_1"])
    with pytest.raises(ConfigError, match="between 0 and 31"):
        hash_clusters(["0000000000000000"], max_distance=32)
    assert hash_clusters([]) == []


@st.composite
def near_duplicate_families(draw: st.DrawFn) -> tuple[list[str], int]:
    """A few random pictures, each with copies a few bits away, shuffled."""
    d = draw(st.integers(min_value=0, max_value=12))
    seed = draw(st.integers(min_value=0, max_value=2**32 - 1))
    rng = np.random.default_rng(seed)
    hashes = []
    for _ in range(draw(st.integers(min_value=0, max_value=8))):
        base = int(rng.integers(0, 2**63)) * 2 + int(rng.integers(0, 2))
        for _ in range(int(rng.integers(1, 6))):
            flips = rng.choice(64, size=int(rng.integers(0, d + 3)), replace=False)
            value = base
            for bit in flips:
                value ^= 1 << int(bit)
            hashes.append(_hex(value))
    rng.shuffle(hashes)
    return hashes, d


@settings(max_examples=150, deadline=None)
@given(near_duplicate_families())
@example(([], 6))
@example((["0000000000000000", "000000000000003f", "0000000000000fc0"], 6))
def test_clusters_match_brute_force(case: tuple[list[str], int]) -> None:
    hashes, d = case
    labels = hash_clusters(hashes, max_distance=d)
    assert labels == _brute_force(hashes, d)
    # Every pair within the distance lands in one cluster (pigeonhole recall).
    for a, la in zip(hashes, labels, strict=True):
        for b, lb in zip(hashes, labels, strict=True):
            if (int(a, 16) ^ int(b, 16)).bit_count() <= d:
                assert la == lb


@settings(max_examples=60, deadline=None)
@given(near_duplicate_families(), st.randoms(use_true_random=False))
def test_labels_do_not_depend_on_input_order(
    case: tuple[list[str], int], rnd: random.Random
) -> None:
    hashes, d = case
    shuffled = list(hashes)
    rnd.shuffle(shuffled)
    first = dict(zip(hashes, hash_clusters(hashes, max_distance=d), strict=True))
    second = dict(zip(shuffled, hash_clusters(shuffled, max_distance=d), strict=True))
    assert first == second
    assert hash_clusters(hashes, max_distance=d) == hash_clusters(hashes, max_distance=d)


def test_one_large_bucket() -> None:
    # 3,000 hashes that agree on their low 40 bits share a bucket in most bands; the rank-by-
    # rank scan must still compare every pair of the bucket.
    rng = np.random.default_rng(1)
    high = rng.integers(0, 2**24, size=3000)
    hashes = [_hex((int(h) << 40) | 0xABCDE12345) for h in high]
    labels = hash_clusters(hashes, max_distance=3)
    assert labels == _brute_force(hashes, 3)


T0 = datetime(2024, 1, 1, tzinfo=UTC)


def test_media_traces_use_cluster_ids() -> None:
    case = open_case()
    rows = [
        ("p1", "a", ["0123456789abcdef"]),
        ("p2", "b", ["0123456789ABCDEE"]),  # one bit away, upper case
        ("p3", "c", ["fedcba9876543210", "img_77"]),  # far away, and a platform id
        ("p4", "d", ["img_77"]),
        ("p5", "e", ["0123456789abcdef", "0123456789abcdee"]),  # both copies in one post
    ]
    table = pa.table(
        {
            "post_id": [r[0] for r in rows],
            "account_id": [r[1] for r in rows],
            "timestamp": [T0 + timedelta(seconds=k) for k in range(len(rows))],
            "kind": ["post"] * len(rows),
            "media": pa.array([r[2] for r in rows], pa.list_(pa.string())),
        }
    )
    case.con.register("staged", table)
    case.con.execute("INSERT INTO posts BY NAME SELECT * FROM staged")
    case.con.unregister("staged")
    mapping = media_hash_map(case.con, max_distance=6)
    assert dict(zip(*mapping.to_pydict().values(), strict=True)) == {
        "0123456789ABCDEE": "0123456789abcdee",
        "0123456789abcdee": "0123456789abcdee",
        "0123456789abcdef": "0123456789abcdee",
        "fedcba9876543210": "fedcba9876543210",
    }
    case.con.register("media_map", mapping)
    got = sorted(
        case.con.sql(f"SELECT post, item FROM ({media_trace_sql('media_map')})").fetchall()
    )
    assert got == [
        ("p1", "0123456789abcdee"),
        ("p2", "0123456789abcdee"),
        ("p3", "fedcba9876543210"),
        ("p3", "img_77"),
        ("p4", "img_77"),
        ("p5", "0123456789abcdee"),  # once, not twice
    ]
    case.close()


def test_networks_join_accounts_posting_near_identical_images() -> None:
    from cibscan.networks import NetworkConfig, networks

    # a and b post the same two pictures within a minute, each re-encoded (hashes 2-5 bits
    # apart); c posts an unrelated picture. Exact items would link nobody.
    rows = [
        ("p1", "a", "8f3c0a5e91b2d467", 0),
        ("p2", "b", "8f3c0a5e91b2d464", 20),  # 2 bits from p1
        ("p3", "a", "1234abcd5678ef90", 3600),
        ("p4", "b", "1234abcd5679ef9f", 3630),  # 5 bits from p3
        ("p5", "c", "ffff0000ffff0000", 3640),
    ]
    case = open_case()
    table = pa.table(
        {
            "post_id": [r[0] for r in rows],
            "account_id": [r[1] for r in rows],
            "timestamp": [T0 + timedelta(seconds=r[3]) for r in rows],
            "kind": ["post"] * len(rows),
            "media": pa.array([[r[2]] for r in rows], pa.list_(pa.string())),
        }
    )
    case.con.register("staged", table)
    case.con.execute("INSERT INTO posts BY NAME SELECT * FROM staged")
    case.con.unregister("staged")
    near = networks(case, ["media"], window=60, min_weight=2)
    assert near.edges.select(["source", "target", "weight"]).to_pylist() == [
        {"source": "a", "target": "b", "weight": 2}
    ]
    assert near.config.media_hash_distance == 6
    exact = networks(case, ["media"], window=60, min_weight=1, media_hash_distance=0)
    assert exact.edges.num_rows == 0
    tight = networks(case, ["media"], window=60, min_weight=1, media_hash_distance=3)
    assert tight.edges.select(["source", "target", "weight"]).to_pylist() == [
        {"source": "a", "target": "b", "weight": 1}
    ]
    with pytest.raises(ConfigError, match="media_hash_distance"):
        NetworkConfig(media_hash_distance=40)
    case.close()
