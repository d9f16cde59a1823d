"""The pair-enumeration kernel on hand-countable traces and against brute force."""

from __future__ import annotations

import itertools

import pyarrow as pa
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from cibscan.coaction import EVENT_COLUMNS, item_load, pair_events

S = 1_000_000  # microseconds per second


def traces(*rows: tuple[str, str, str, int]) -> pa.Table:
    items, accounts, posts, times = zip(*rows, strict=True) if rows else ((), (), (), ())
    return pa.table(
        {
            "item": pa.array(items, pa.string()),
            "account": pa.array(accounts, pa.string()),
            "post": pa.array(posts, pa.string()),
            "t": pa.array(times, pa.int64()),
        }
    )


def pairs(table: pa.Table) -> list[tuple[str, str]]:
    return list(zip(table["post_a"].to_pylist(), table["post_b"].to_pylist(), strict=True))


def test_gap_equal_to_window_counts_and_one_microsecond_more_does_not() -> None:
    tr = traces(("x", "a", "1", 0), ("x", "b", "2", 60 * S), ("x", "c", "3", 120 * S + 1))
    ev = pair_events(tr, 60 * S)
    assert pairs(ev) == [("1", "2")]
    assert ev.column_names == list(EVENT_COLUMNS)
    assert ev["gap"].to_pylist() == [60 * S]


def test_identical_timestamps_pair_once_ordered_by_post() -> None:
    tr = traces(("x", "b", "2", 5 * S), ("x", "a", "1", 5 * S))
    ev = pair_events(tr, 0)
    assert pairs(ev) == [("1", "2")]
    assert ev["gap"].to_pylist() == [0]


def test_zero_window_pairs_only_equal_times() -> None:
    tr = traces(("x", "a", "1", 0), ("x", "b", "2", 0), ("x", "c", "3", 1))
    assert pairs(pair_events(tr, 0)) == [("1", "2")]


def test_same_account_is_left_out_unless_asked() -> None:
    tr = traces(("x", "a", "1", 0), ("x", "a", "2", S), ("x", "b", "3", 2 * S))
    assert pairs(pair_events(tr, 10 * S)) == [("1", "3"), ("2", "3")]
    assert pairs(pair_events(tr, 10 * S, same_account=True)) == [
        ("1", "2"),
        ("1", "3"),
        ("2", "3"),
    ]


def test_items_never_mix() -> None:
    tr = traces(("x", "a", "1", 0), ("y", "b", "2", 0))
    assert pair_events(tr, 10 * S).num_rows == 0


def test_empty_traces() -> None:
    ev = pair_events(traces(), 10 * S)
    assert ev.num_rows == 0
    assert ev.column_names == list(EVENT_COLUMNS)


def test_missing_column_is_an_error() -> None:
    with pytest.raises(ValueError, match="lack the column"):
        pair_events(pa.table({"item": ["x"]}), 1)


def test_negative_times_across_zero() -> None:
    # Buckets truncate toward zero around the epoch; pairs within the window still meet.
    tr = traces(("x", "a", "1", -15), ("x", "b", "2", -6), ("x", "c", "3", 4), ("x", "d", "4", 5))
    got = set(pairs(pair_events(tr, 10)))
    assert got == {("1", "2"), ("2", "3"), ("3", "4")}


def brute_force(rows: list[tuple[str, str, str, int]], window: int, loops: bool) -> set[tuple]:
    out = set()
    for r, s in itertools.combinations(rows, 2):
        a, b = sorted([r, s], key=lambda x: (x[3], x[2]))
        if a[0] == b[0] and b[3] - a[3] <= window and (loops or a[1] != b[1]):
            out.add((a[0], a[1], a[2], a[3], b[1], b[2], b[3], b[3] - a[3]))
    return out


trace_rows = st.lists(
    st.tuples(
        st.sampled_from(["x", "y", "z"]),
        st.sampled_from(["a", "b", "c", "d"]),
        st.integers(-50, 50),
    ),
    max_size=40,
).map(lambda rows: [(i, a, f"p{n:03d}", t) for n, (i, a, t) in enumerate(rows)])


@settings(max_examples=60, deadline=None)
@given(rows=trace_rows, window=st.integers(0, 30), loops=st.booleans())
@example(rows=[], window=0, loops=False)
def test_kernel_equals_brute_force(rows: list, window: int, loops: bool) -> None:
    ev = pair_events(traces(*rows), window, same_account=loops)
    got = set(map(tuple, (r.values() for r in ev.to_pylist())))
    assert ev.num_rows == len(got)  # no duplicates
    assert got == brute_force(rows, window, loops)


@settings(max_examples=20, deadline=None)
@given(rows=trace_rows, window=st.integers(0, 30))
def test_any_partition_of_items_gives_the_same_events(rows: list, window: int) -> None:
    # What a Spark mapInArrow over item partitions relies on.
    whole = set(map(tuple, (r.values() for r in pair_events(traces(*rows), window).to_pylist())))
    parts: set[tuple] = set()
    for item in ("x", "y", "z"):
        part = traces(*[r for r in rows if r[0] == item])
        parts |= set(map(tuple, (r.values() for r in pair_events(part, window).to_pylist())))
    assert parts == whole


def test_item_load_counts_peak_and_pairs() -> None:
    tr = traces(
        ("x", "a", "1", 0),
        ("x", "b", "2", 5),
        ("x", "c", "3", 10),
        ("x", "a", "4", 30),
        ("y", "a", "5", 0),
    )
    load = item_load(tr, 10).to_pylist()
    assert load == [
        {"item": "x", "posts": 4, "accounts": 3, "peak": 3, "pairs": 3, "first_t": 0, "last_t": 30}
    ]


@settings(max_examples=30, deadline=None)
@given(rows=trace_rows, window=st.integers(0, 30))
def test_item_load_pairs_is_the_kernel_work(rows: list, window: int) -> None:
    load = {r["item"]: r["pairs"] for r in item_load(traces(*rows), window).to_pylist()}
    expected: dict[str, int] = {}
    for row in brute_force(rows, window, loops=True):
        expected[row[0]] = expected.get(row[0], 0) + 1
    assert {k: v for k, v in load.items() if v} == expected
