"""The pair-enumeration kernel: co-action events of a set of items.

A *co-action event* is two posts on the same item whose times differ by at most the window
(inclusive: a gap equal to the window counts). The kernel is a function from an Arrow table of
traces (``item, account, post, t``; ``t`` in integer microseconds) to an Arrow table of events.
Events never cross items, so any partition of the items can be processed on its own: the DuckDB
engine in :mod:`cibscan.networks` runs :func:`pair_events_sql` on the whole trace table (or on
item partitions), and a Spark job can run :func:`pair_events` inside ``mapInArrow`` on partitions
of items. There is one implementation of the semantics, the SQL text below.

Why buckets: the obvious plan, an equi-join on the item followed by a time filter, costs the
square of an item's shares even when few of them fall within one window. Each trace is instead
given the bucket ``t // window``; a pair within the window lies in the same or in adjacent
buckets, so each row is joined with its own and the next bucket only, and the work follows the
pairs actually inside (about) two windows.
"""

from __future__ import annotations

from typing import Final

import pyarrow as pa

from cibscan.case import connect

__all__ = [
    "EVENT_COLUMNS",
    "TRACE_COLUMNS",
    "item_load",
    "item_load_sql",
    "pair_events",
    "pair_events_sql",
]

#: Columns the kernel reads.
TRACE_COLUMNS: Final = ("item", "account", "post", "t")
#: Columns the kernel writes. Post ``a`` precedes post ``b`` in ``(t, post)`` order; ``gap`` is
#: ``t_b - t_a`` in microseconds.
EVENT_COLUMNS: Final = ("item", "account_a", "post_a", "t_a", "account_b", "post_b", "t_b", "gap")


def pair_events_sql(source: str, window_us: int, *, same_account: bool = False) -> str:
    """Return the SQL that lists every co-action event among the traces in ``source``.

    Parameters
    ----------
    source
        A relation (table, view or parenthesised subquery) with the columns ``item, account,
        post, t``: one row per distinct ``(item, post)``, ``t`` in integer microseconds.
    window_us
        The window in microseconds; a gap equal to the window counts.
    same_account
        Keep events whose two posts belong to one account (CooRTweet's "loops").

    Returns
    -------
    str
        A query with the columns of :data:`EVENT_COLUMNS`, each unordered pair of posts once.
    """
    window = int(window_us)
    if window < 0:
        raise ValueError(f"window must be >= 0 microseconds, got {window}")
    # Buckets at least one microsecond wide; a zero window pairs equal times only. DuckDB's
    # integer division truncates toward zero, which keeps buckets monotone in t and at least
    # one window wide, all the join below needs.
    width = max(window, 1)
    loops = "" if same_account else "AND b.account <> a.account"
    return f"""
        WITH bucketed AS (
            SELECT item, account, post, t, t // {width} AS bucket FROM {source}
        ),
        probe AS (
            SELECT item, account, post, t, bucket AS join_bucket FROM bucketed
            UNION ALL
            SELECT item, account, post, t, bucket + 1 AS join_bucket FROM bucketed
        )
        SELECT a.item AS item,
               a.account AS account_a, a.post AS post_a, a.t AS t_a,
               b.account AS account_b, b.post AS post_b, b.t AS t_b,
               b.t - a.t AS gap
        FROM probe a
        JOIN bucketed b ON b.item = a.item AND b.bucket = a.join_bucket
        WHERE b.t - a.t <= {window}
          AND (b.t > a.t OR (b.t = a.t AND b.post > a.post))
          {loops}
    """


def pair_events(traces: pa.Table, window_us: int, *, same_account: bool = False) -> pa.Table:
    """Enumerate the co-action events of one partition of items.

    This is the map step of a distributed run: a function from an Arrow table of traces for a
    set of items to an Arrow table of events (for Spark, call it from ``mapInArrow`` on data
    partitioned by item).

    Parameters
    ----------
    traces
        Columns ``item, account, post, t`` (``t`` integer microseconds), one row per distinct
        ``(item, post)``.
    window_us
        The window in microseconds (inclusive).
    same_account
        Keep events between two posts of one account.

    Returns
    -------
    pyarrow.Table
        The columns of :data:`EVENT_COLUMNS`, sorted by ``item, t_a, post_a, t_b, post_b``.

    Examples
    --------
    >>> import pyarrow as pa
    >>> tr = pa.table({"item": ["x", "x", "x"], "account": ["a", "b", "c"],
    ...                "post": ["1", "2", "3"], "t": [0, 60_000_000, 61_000_000]})
    >>> ev = pair_events(tr, 60_000_000)
    >>> list(zip(ev["post_a"].to_pylist(), ev["post_b"].to_pylist()))
    [('1', '2'), ('2', '3')]
    """
    missing = [c for c in TRACE_COLUMNS if c not in traces.column_names]
    if missing:
        raise ValueError(f"traces lack the column(s) {', '.join(missing)}")
    con = connect()
    try:
        con.register("traces", traces.select(list(TRACE_COLUMNS)))
        sql = pair_events_sql("traces", window_us, same_account=same_account)
        return con.sql(f"{sql} ORDER BY item, t_a, post_a, t_b, post_b").to_arrow_table()
    finally:
        con.close()


def item_load_sql(source: str, window_us: int) -> str:
    """Return the SQL that measures each item's participation, for the hot-item policy.

    Columns: ``item``, ``posts``, ``accounts`` (distinct), ``peak`` (the most posts of the item
    inside one window, counted from each post forward), ``pairs`` (post pairs within the window,
    the work the kernel would do), ``first_t``, ``last_t``. Items with one post are left out.
    Like the kernel, this is per item, so it runs on any partition of items.
    """
    window = int(window_us)
    # "later" counts the posts strictly after this one within the window; posts at the same
    # time form a group of g, which holds g(g-1)/2 pairs: each member adds (g-1)/2.
    return f"""
        SELECT item, count(*) AS posts, count(DISTINCT account) AS accounts,
               max(later + tied) AS peak,
               CAST(sum(later) + sum(tied - 1) / 2 AS BIGINT) AS pairs,
               min(t) AS first_t, max(t) AS last_t
        FROM (
            SELECT item, account, t,
                   count(*) OVER (PARTITION BY item ORDER BY t
                                  RANGE BETWEEN CURRENT ROW AND {window} FOLLOWING
                                  EXCLUDE GROUP) AS later,
                   count(*) OVER (PARTITION BY item, t) AS tied
            FROM {source}
        )
        GROUP BY item
        HAVING count(*) > 1
    """


def item_load(traces: pa.Table, window_us: int) -> pa.Table:
    """Per-item participation of one partition of items (see :func:`item_load_sql`).

    Examples
    --------
    >>> import pyarrow as pa
    >>> tr = pa.table({"item": ["x"] * 3, "account": ["a", "b", "c"],
    ...                "post": ["1", "2", "3"], "t": [0, 1, 10]})
    >>> item_load(tr, 5).select(["item", "peak", "pairs"]).to_pylist()
    [{'item': 'x', 'peak': 2, 'pairs': 1}]
    """
    con = connect()
    try:
        con.register("traces", traces.select(list(TRACE_COLUMNS)))
        return con.sql(f"{item_load_sql('traces', window_us)} ORDER BY item").to_arrow_table()
    finally:
        con.close()
