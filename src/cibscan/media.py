"""Near-duplicate media: perceptual hashes within a small Hamming distance are one item.

``posts.media`` holds media ids or 64-bit perceptual hashes (pHash, dHash, aHash) written as 16
hex digits. An image that was re-encoded, resized or lightly cropped keeps most bits of its
perceptual hash, so two hashes within ``max_distance`` bits of each other (6 of 64 by default)
are taken as the same picture, the way ``near_text`` takes near-duplicate texts as one text.

**Clustering.** Multi-index hashing (Norouzi, Punjani & Fleet 2012): the 64 bits are cut into
``max_distance + 1`` contiguous bands. Two hashes that differ in at most ``max_distance`` bits
cannot differ in every band (pigeonhole), so every such pair agrees exactly on at least one band
and is found among the hashes that share a band's value. Candidates are verified by the popcount
of their XOR, and the pairs within the distance are joined into clusters (connected components:
single linkage, so a chain of near-duplicates is one cluster even when its ends are further
apart). A cluster is named by its smallest hash (lower-case hex), so the labels depend neither on
the order of the input nor on duplicates in it.

**Cost.** Candidate pairs are the pairs of hashes that share a band value: about
``bands * n^2 / 2 / 2^(64 / bands)`` for uniform hashes, quadratic in ``n``. At the default
(7 bands of 9-10 bits) that is about 60 million candidates for 100,000 distinct hashes (2.3 s
on a 2-core machine) and 560 million for 300,000 (20 s); a million distinct hashes are better
clustered with ``max_distance=3`` (4 bands of 16 bits: 5.6 s). Real perceptual hashes are
skewed (plain images share many bits), which makes buckets larger. Candidates are generated and
checked rank by rank inside the sorted buckets, so memory stays linear in the number of hashes.

Items that are not 16 hex digits (platform media ids, URLs) are left alone: they are exact items.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import duckdb
import numpy as np
import pyarrow as pa
from numpy.typing import NDArray

from cibscan.errors import ConfigError
from cibscan.traces import trace_sql

__all__ = [
    "DEFAULT_MEDIA_HASH_DISTANCE",
    "HASH_PATTERN",
    "hash_clusters",
    "is_perceptual_hash",
    "media_hash_map",
    "media_trace_sql",
    "parse_hashes",
]

#: Hamming distance (bits of 64) within which two perceptual hashes are one picture. pHash
#: of a re-encoded JPEG typically moves 0-4 bits, a light crop or resize a few more; unrelated
#: pictures are about 32 bits apart.
DEFAULT_MEDIA_HASH_DISTANCE: Final = 6
#: Largest distance accepted: beyond it the bands are too narrow to index anything.
MAX_MEDIA_HASH_DISTANCE: Final = 31
#: A perceptual hash as DuckDB's ``regexp_full_match`` and Python's ``re.fullmatch`` read it.
HASH_PATTERN: Final = "[0-9A-Fa-f]{16}"
_HEX: Final = frozenset("0123456789abcdefABCDEF")

UInt64Array = NDArray[np.uint64]


def is_perceptual_hash(item: str) -> bool:
    """Whether ``item`` is a 64-bit hash written as 16 hex digits.

    Examples
    --------
    >>> is_perceptual_hash("f0e1d2c3b4a59687"), is_perceptual_hash("media_12345")
    (True, False)
    """
    return len(item) == 16 and all(c in _HEX for c in item)


def parse_hashes(hashes: Sequence[str]) -> UInt64Array:
    """Parse 16-hex-digit hashes into ``uint64`` values (vectorised).

    Raises
    ------
    ValueError
        If an item is not 16 hex digits (test with :func:`is_perceptual_hash` first).

    Examples
    --------
    >>> parse_hashes(["0000000000000001", "FFFFFFFFFFFFFFFF"]).tolist()
    [1, 18446744073709551615]
    """
    if not hashes:
        return np.empty(0, dtype=np.uint64)
    for k, h in enumerate(hashes):
        if not is_perceptual_hash(h):
            raise ValueError(f"item {k} ({h!r}) is not a 64-bit hash of 16 hex digits")
    raw = bytes.fromhex("".join(hashes))
    return np.frombuffer(raw, dtype=">u8").astype(np.uint64)


def _band_masks(max_distance: int) -> list[tuple[np.uint64, np.uint64]]:
    """``(shift, mask)`` of ``max_distance + 1`` contiguous bands covering the 64 bits."""
    bands = max_distance + 1
    widths = [64 // bands + (1 if b < 64 % bands else 0) for b in range(bands)]
    out = []
    start = 0
    for width in widths:
        out.append((np.uint64(start), np.uint64((1 << width) - 1)))
        start += width
    return out


def _close_pairs(values: UInt64Array, max_distance: int) -> tuple[NDArray[np.int64], ...]:
    """Index pairs of ``values`` (distinct) within ``max_distance`` bits, found by band."""
    n = values.size
    src: list[NDArray[np.int64]] = []
    dst: list[NDArray[np.int64]] = []
    limit = np.uint64(max_distance)
    for shift, mask in _band_masks(max_distance):
        key = (values >> shift) & mask
        order = np.argsort(key, kind="stable")
        sorted_key = key[order]
        # End of each element's bucket in sorted order: compare each element with the ones
        # 1, 2, ... places after it while they are still in its bucket.
        boundary = np.flatnonzero(sorted_key[1:] != sorted_key[:-1]) + 1
        ends = np.append(boundary, n)
        bucket_end = np.repeat(ends, np.diff(np.concatenate(([0], ends))))
        active = np.flatnonzero(bucket_end - np.arange(n) > 1)
        rank = 1
        while active.size:
            i = order[active]
            j = order[active + rank]
            distance = np.bitwise_count(values[i] ^ values[j])
            close = distance <= limit
            src.append(i[close].astype(np.int64))
            dst.append(j[close].astype(np.int64))
            rank += 1
            active = active[bucket_end[active] - active > rank]
    if not src:
        empty = np.empty(0, dtype=np.int64)
        return empty, empty
    return np.concatenate(src), np.concatenate(dst)


def hash_clusters(
    hashes: Sequence[str], *, max_distance: int = DEFAULT_MEDIA_HASH_DISTANCE
) -> list[str]:
    """Cluster 64-bit perceptual hashes whose Hamming distance is at most ``max_distance``.

    Parameters
    ----------
    hashes
        Hashes of 16 hex digits, in any case and order, duplicates allowed.
    max_distance
        Largest Hamming distance (bits) of two hashes of one picture, 0 to 31; 0 joins only
        equal hashes (in any letter case).

    Returns
    -------
    list of str
        For each input hash, its cluster's name: the smallest hash of the cluster (lower-case).

    Raises
    ------
    ConfigError
        If ``max_distance`` is out of range.
    ValueError
        If an item is not 16 hex digits.

    Examples
    --------
    >>> hash_clusters(["ffffffffffffffff", "fffffffffffffff0", "0000000000000000"],
    ...               max_distance=4)
    ['fffffffffffffff0', 'fffffffffffffff0', '0000000000000000']
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    if not 0 <= max_distance <= MAX_MEDIA_HASH_DISTANCE:
        raise ConfigError(
            f"media hash distance must be between 0 and {MAX_MEDIA_HASH_DISTANCE} bits, "
            f"not {max_distance}"
        )
    values = parse_hashes(hashes)
    if values.size == 0:
        return []
    distinct, inverse = np.unique(values, return_inverse=True)
    n = distinct.size
    if max_distance == 0:
        representative = distinct
    else:
        i, j = _close_pairs(distinct, max_distance)
        graph = coo_matrix((np.ones(i.size, dtype=np.int8), (i, j)), shape=(n, n)).tocsr()
        _, labels = connected_components(graph, directed=False)
        # ``distinct`` is sorted, so a component's first member is its smallest hash.
        first = np.full(int(labels.max()) + 1, n, dtype=np.int64)
        np.minimum.at(first, labels, np.arange(n, dtype=np.int64))
        representative = distinct[first[labels]]
    names = [f"{int(v):016x}" for v in representative]
    return [names[k] for k in inverse.ravel()]


def media_hash_map(
    con: duckdb.DuckDBPyConnection, *, max_distance: int = DEFAULT_MEDIA_HASH_DISTANCE
) -> pa.Table:
    """Map every perceptual hash in ``posts.media`` to its near-duplicate cluster.

    Returns
    -------
    pyarrow.Table
        ``item`` (the hash as written in ``posts.media``), ``cluster`` (the cluster's smallest
        hash, lower-case), one row per distinct item; media ids that are not 16 hex digits are
        not in it.
    """
    items = con.sql(
        f"""
        SELECT DISTINCT item FROM (SELECT unnest(media) AS item FROM posts)
        WHERE item IS NOT NULL AND regexp_full_match(item, '{HASH_PATTERN}')
        ORDER BY item
        """
    ).to_arrow_table()
    hashes = items.column("item").to_pylist()
    return pa.table(
        {
            "item": pa.array(hashes, pa.string()),
            "cluster": pa.array(hash_clusters(hashes, max_distance=max_distance), pa.string()),
        }
    )


def media_trace_sql(cluster_map: str) -> str:
    """SQL for ``media`` traces whose hashes are replaced by their cluster.

    ``cluster_map`` names a registered ``(item, cluster)`` relation (:func:`media_hash_map`).
    Columns ``account, item, post, time`` as every trace; a post with two near-identical
    pictures acts on their cluster once.
    """
    return f"""
        SELECT DISTINCT t.account, coalesce(m.cluster, t.item) AS item, t.post, t.time
        FROM ({trace_sql("media")}) t LEFT JOIN {cluster_map} m ON m.item = t.item
    """
