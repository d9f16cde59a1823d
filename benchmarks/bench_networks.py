"""Benchmark of ``cibscan.networks`` against coordination-network-toolkit 1.5.2.

Generates a synthetic co-retweet/co-link workload (heavy-tailed item popularity, heavy-tailed
account activity, planted synchronised groups), writes it as the peer's 8-column CSV, then, each
in a fresh subprocess so that peak RSS is the step's own:

1. the peer: ``preprocess`` of the CSV, then ``compute`` co_retweet and co_link (window 60 s,
   min edge weight 2, two worker processes on this 2-core machine);
2. cibscan: load the same CSV into a case store, then ``networks(semantics="cnt")`` for share
   and link, with evidence (10 post pairs per edge) as a user would run it;

asserts that both give identical edges (self-loops left out), and also times cibscan's default
semantics on the same case, ``near_text`` on synthetic copypasta, and the hot-item case (one
link shared by 200,000 accounts within minutes). Prints a Markdown table.

Peak RSS is sampled from /proc for the step's process tree (``_measure.run_measured``): the
largest single process, and the whole tree (the peer runs a parent plus worker processes).
``ru_maxrss`` is not used: a child inherits its parent's peak through fork and exec.

Usage::

    python benchmarks/bench_networks.py --rows 2000000 --out docs/benchmarks-networks.md

One step alone (prints JSON): ``--step near_text N CASE`` (``near_text`` on N synthetic posts
in a new case file), ``--step normalise N`` (the text normalisation on N texts).

Not part of the test run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sqlite3
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa

REPO: Final = Path(__file__).resolve().parents[1]
DEFAULT_DATA: Final = REPO / "bench-data" / "networks"  # gitignored
EPOCH: Final = 1_704_067_200  # 2024-01-01T00:00:00Z
SPAN: Final = 30 * 86_400
WINDOW: Final = 60
VOCABULARY: Final = (
    "the of and to in is that it for on was with as be at by this have from or one had not "
    "but what all were when we there can an your which their said if do will each about how "
    "election vote news government minister army peace war truth lies media freedom"
)
MIN_WEIGHT: Final = 2
#: How cibscan loads the CSV: ``ingest`` (``cibscan.ingest``, format detection, validation and
#: row accounting, what a user runs) or ``sql`` (one INSERT from DuckDB's CSV reader).
LOADER: dict[str, str] = {"name": os.environ.get("CIBSCAN_BENCH_LOADER", "ingest")}


# --- workload ------------------------------------------------------------------------------------


def _popularity(n_items: int, cap_rank: int, rng: np.random.Generator) -> np.ndarray:
    """Zipf-like weights, flat over the top ``cap_rank`` items so no item takes over the run."""
    import numpy as np

    ranks = np.arange(1, n_items + 1, dtype=np.float64)
    weights = 1.0 / np.maximum(ranks, cap_rank)
    rng.shuffle(weights)
    return weights / weights.sum()


def generate(rows: int, seed: int = 1) -> pa.Table:
    """Rows in the peer's CSV layout; 60% retweets, 40% posts with links."""
    import numpy as np
    import pyarrow as pa

    rng = np.random.default_rng(seed)
    n_accounts = max(2_000, rows // 50)
    activity = 1.0 / np.arange(1, n_accounts + 1) ** 0.8
    activity /= activity.sum()

    n_share = int(rows * 0.6)
    n_link = rows - n_share
    # Planted groups: 8-12 accounts that share the same items within 30 s, again and again.
    n_groups = max(5, rows // 20_000)
    group_rows: list[tuple[int, int, int, int]] = []  # (account, kind, item, time)
    for g in range(n_groups):
        members = rng.choice(n_accounts, size=int(rng.integers(8, 13)), replace=False)
        for k in range(40):
            kind = k % 2  # alternate retweets and links
            item = -(g * 100 + k + 1)  # items of their own, negative ids
            start = int(rng.integers(0, SPAN))
            for m in members:
                group_rows.append((int(m), kind, item, start + int(rng.integers(0, 30))))
    planted = np.array(group_rows, dtype=np.int64)

    def organic(n: int, n_items: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        items = rng.choice(n_items, size=n, p=_popularity(n_items, 50, rng))
        start = rng.integers(0, SPAN, size=n_items)
        lifetime = np.exp(rng.normal(np.log(3_600), 1.0, size=n_items))
        times = start[items] + rng.exponential(lifetime[items]).astype(np.int64)
        accounts = rng.choice(n_accounts, size=n, p=activity)
        return accounts, items, times

    s_acc, s_item, s_time = organic(n_share - int((planted[:, 1] == 0).sum()), n_share // 8)
    l_acc, l_item, l_time = organic(n_link - int((planted[:, 1] == 1).sum()), n_link // 6)
    shares = planted[planted[:, 1] == 0]
    links = planted[planted[:, 1] == 1]
    acc = np.concatenate([s_acc, shares[:, 0], l_acc, links[:, 0]])
    item = np.concatenate([s_item, shares[:, 2], l_item, links[:, 2]])
    when = np.concatenate([s_time, shares[:, 3], l_time, links[:, 3]]) + EPOCH
    is_share = np.concatenate(
        [np.ones(len(s_acc) + len(shares), bool), np.zeros(len(l_acc) + len(links), bool)]
    )
    order = np.argsort(when, kind="stable")
    acc, item, when, is_share = acc[order], item[order], when[order], is_share[order]
    n = len(acc)
    item_text = np.char.mod("%d", item)
    empty = np.full(n, "", dtype=object)
    return pa.table(
        {
            "message_id": pa.array(np.char.add("m", np.char.mod("%d", np.arange(n)))),
            "user_id": pa.array(np.char.add("u", np.char.mod("%d", acc))),
            "username": pa.array(empty, pa.string()),
            "repost_id": pa.array(np.where(is_share, np.char.add("r", item_text), "")),
            "reply_id": pa.array(empty, pa.string()),
            "message": pa.array(empty, pa.string()),
            "timestamp": pa.array(when, pa.int64()),
            "urls": pa.array(
                np.where(is_share, "", np.char.add("https://news.example/a/", item_text))
            ),
        }
    )


# --- the scale workload: all default signals on many posts --------------------------------------

SCALE_CHUNK: Final = 1_000_000
SCALE_WORDS: Final = 2_000


def _zipf_items(
    rng: np.random.Generator, n: int, n_items: int, flat: int, exponent: float = 1.0
) -> np.ndarray:
    """Draw ``n`` item indices with popularity 1/max(rank, flat)^exponent (inverse CDF)."""
    import numpy as np

    ranks = np.arange(1, n_items + 1, dtype=np.float64)
    cdf = np.cumsum(1.0 / np.maximum(ranks, flat) ** exponent)
    cdf /= cdf[-1]
    return np.minimum(np.searchsorted(cdf, rng.random(n)), n_items - 1).astype(np.int64)


def scale_chunk(first: int, n: int, total: int, seed: int) -> pa.Table:
    """Integer columns of ``n`` organic posts numbered from ``first`` (SQL makes the strings).

    Accounts: ``total // 50``, activity ∝ rank^-0.5 (the busiest posts about 0.2% of all).
    35% reposts, 10% replies, 55% posts. Shared posts, replied-to posts, links and media
    are drawn with Zipf-like popularity (1/rank, flat over the top 50); every item has a start
    within the 30 days and a log-normal lifetime around an hour, and a post on it comes an
    exponential delay after the start. Non-repost posts: 40% carry a link, 10% a picture
    (a 64-bit perceptual hash, a fifth of them with one bit flipped: a near-duplicate copy),
    0-3 hashtags from 50,000 (Zipf), 0-2 mentions, and a text of 8-30 random words from a
    vocabulary of 2,000; 2% copy one of 5,000 template texts exactly.
    """
    import numpy as np
    import pyarrow as pa

    rng = np.random.default_rng([seed, first])
    n_acc = max(2_000, total // 50)
    account = np.floor(n_acc * rng.random(n) ** 2).astype(np.int64)
    u = rng.random(n)
    kind = np.where(u < 0.35, 0, np.where(u < 0.45, 2, 1))  # 0 share, 1 post, 2 reply
    none = np.full(n, -1, dtype=np.int64)

    def lifetimes(n_items: int, salt: int) -> tuple[np.ndarray, np.ndarray]:
        # Per-item start and lifetime, the same in every chunk.
        item_rng = np.random.default_rng([seed, salt])
        start = item_rng.integers(0, SPAN, size=n_items)
        return start, np.exp(item_rng.normal(np.log(3_600), 1.0, size=n_items))

    t = rng.integers(0, SPAN * 1_000_000, size=n).astype(np.int64)
    shared, replied, link, media = none.copy(), none.copy(), none.copy(), none.copy()

    def place(mask: np.ndarray, n_items: int, salt: int) -> np.ndarray:
        items = _zipf_items(rng, int(mask.sum()), n_items, 50)
        start, life = lifetimes(n_items, salt)
        delay = rng.exponential(life[items])
        t[mask] = ((start[items] + delay) * 1_000_000).astype(np.int64)
        out = none.copy()
        out[mask] = items
        return out

    shared = place(kind == 0, max(10, total // 8), 1)
    original = kind != 0
    has_link = original & (rng.random(n) < 0.4)
    link = place(has_link & (kind == 1), max(10, total // 6), 2)
    replied = place(kind == 2, max(10, total // 20), 3)
    # A reply's link does not move its time; it is drawn like any other link.
    reply_link = has_link & (kind == 2)
    link[reply_link] = _zipf_items(rng, int(reply_link.sum()), max(10, total // 6), 50)
    has_media = original & (rng.random(n) < 0.1)
    media[has_media] = _zipf_items(rng, int(has_media.sum()), max(10, total // 40), 50)
    n_tags = np.where(original, rng.choice(4, size=n, p=[0.5, 0.25, 0.15, 0.1]), 0)
    tags = _zipf_items(rng, 3 * n, 50_000, 20).reshape(3, n)
    tags[np.arange(3)[:, None] >= n_tags[None, :]] = -1
    n_mentions = np.where(original, rng.choice(3, size=n, p=[0.6, 0.3, 0.1]), 0)
    mentions = np.floor(n_acc * rng.random((2, n)) ** 2).astype(np.int64)
    mentions[np.arange(2)[:, None] >= n_mentions[None, :]] = -1
    template = np.where(original & (rng.random(n) < 0.02), rng.integers(0, 5_000, n), -1)
    return pa.table(
        {
            "i": np.arange(first, first + n, dtype=np.int64),
            "account": account,
            "kind": kind.astype(np.int8),
            "t": t,
            "shared": shared,
            "replied": replied,
            "link": link,
            "media": media,
            "media_flip": np.where(rng.random(n) < 0.2, rng.integers(0, 64, n), -1),
            "tag1": tags[0],
            "tag2": tags[1],
            "tag3": tags[2],
            "mention1": mentions[0],
            "mention2": mentions[1],
            "words": rng.integers(8, 31, size=n).astype(np.int64),
            "template": template,
        }
    )


def scale_planted(total: int, seed: int) -> pa.Table:
    """Planted groups: ``total // 20000`` teams of 8-12 accounts acting together 40 times.

    Each action is one of: reposting one post, posting one link, posting one template text
    with one hashtag sequence, replying to one post, all members within 30 seconds.
    """
    import numpy as np
    import pyarrow as pa

    rng = np.random.default_rng([seed, 99])
    n_acc = max(2_000, total // 50)
    rows: list[tuple[int, int, int, int]] = []  # account, action, serial, time (us)
    serial = 0
    for _ in range(max(5, total // 20_000)):
        members = rng.choice(n_acc, size=int(rng.integers(8, 13)), replace=False)
        for k in range(40):
            start = int(rng.integers(0, SPAN))
            for m in members:
                rows.append((int(m), k % 4, serial, (start + int(rng.integers(0, 30))) * 10**6))
            serial += 1
    a = np.array(rows, dtype=np.int64)
    return pa.table({"account": a[:, 0], "action": a[:, 1], "serial": a[:, 2], "t": a[:, 3]})


def _scale_insert_sql(total: int) -> str:
    # Strings are built in DuckDB from the integer draws: one vectorised pass, no Python loop.
    words = f"(SELECT list('w' || i) FROM range({SCALE_WORDS}) r(i))"
    template = (
        "array_to_string(list_transform(range(18), "
        f"lambda k: w[(hash(c.template, k, 7) % {SCALE_WORDS})::BIGINT + 1]), ' ')"
    )
    text = (
        "array_to_string(list_transform(range(c.words), "
        f"lambda k: w[(hash(c.i, k) % {SCALE_WORDS})::BIGINT + 1]), ' ')"
    )
    tag = "'tag' || {x}"
    tags = (
        "list_filter(["
        + ", ".join(
            f"CASE WHEN c.tag{j} >= 0 THEN {tag.format(x=f'c.tag{j}')} END" for j in (1, 2, 3)
        )
        + "], lambda x: x IS NOT NULL)"
    )
    media_hash = (
        "printf('%016x', xor(hash(c.media, 11), CASE WHEN c.media_flip >= 0 "
        "THEN (1::UBIGINT << c.media_flip::UBIGINT) ELSE 0::UBIGINT END))"
    )
    return f"""
        INSERT INTO posts BY NAME
        SELECT 'p' || c.i AS post_id, 'u' || c.account AS account_id,
               make_timestamp({EPOCH * 1_000_000}::BIGINT + c.t) AS timestamp,
               CASE c.kind WHEN 0 THEN 'share' WHEN 2 THEN 'reply' ELSE 'post' END AS kind,
               CASE WHEN c.kind = 0 THEN NULL
                    WHEN c.template >= 0 THEN {template}
                    ELSE {text} END AS text,
               CASE WHEN c.shared >= 0 THEN 's' || c.shared END AS shared_post_id,
               CASE WHEN c.replied >= 0 THEN 'r' || c.replied END AS reply_to_post_id,
               CASE WHEN c.link >= 0 THEN ['https://news.example/a/' || c.link] ELSE [] END
                   AS urls,
               CASE WHEN c.link >= 0 THEN ['https://news.example/a/' || c.link] ELSE [] END
                   AS urls_original,
               {tags} AS hashtags,
               list_filter([CASE WHEN c.mention1 >= 0 THEN 'u' || c.mention1 END,
                            CASE WHEN c.mention2 >= 0 THEN 'u' || c.mention2 END],
                           lambda x: x IS NOT NULL) AS mentions,
               CASE WHEN c.media >= 0 THEN [{media_hash}] ELSE [] END AS media,
               'synthetic' AS platform
        FROM chunk c, (SELECT {words} AS w)
    """


def build_scale_case(total: int, db: str, seed: int = 5) -> dict[str, Any]:
    """Write ``total`` synthetic posts (organic plus planted) straight into a case store."""
    from cibscan.case import open_case

    t0 = time.perf_counter()
    planted = scale_planted(total, seed)
    organic = total - planted.num_rows
    with open_case(db) as case:
        con = case.con
        sql = _scale_insert_sql(total)
        for first in range(0, organic, SCALE_CHUNK):
            con.register(
                "chunk", scale_chunk(first, min(SCALE_CHUNK, organic - first), total, seed)
            )
            con.execute(sql)
            con.unregister("chunk")
        con.register("planted", planted)
        base = organic
        con.execute(
            f"""
            INSERT INTO posts BY NAME
            SELECT 'p' || ({base} + row_number() OVER (ORDER BY serial, account)) AS post_id,
                   'u' || account AS account_id,
                   make_timestamp({EPOCH * 1_000_000}::BIGINT + t) AS timestamp,
                   CASE action WHEN 0 THEN 'share' WHEN 3 THEN 'reply' ELSE 'post' END AS kind,
                   CASE WHEN action = 2 THEN 'planted message number ' || serial
                        || ' for everyone to read' END AS text,
                   CASE WHEN action = 0 THEN 'planted-s' || serial END AS shared_post_id,
                   CASE WHEN action = 3 THEN 'planted-r' || serial END AS reply_to_post_id,
                   CASE WHEN action = 1 THEN ['https://planted.example/' || serial] ELSE [] END
                       AS urls,
                   CASE WHEN action = 1 THEN ['https://planted.example/' || serial] ELSE [] END
                       AS urls_original,
                   CASE WHEN action = 2 THEN ['planted' || serial, 'campaign'] ELSE [] END
                       AS hashtags,
                   [] AS mentions, [] AS media, 'synthetic' AS platform
            FROM planted
            """
        )
        con.unregister("planted")
        posts = con.execute("SELECT count(*) FROM posts").fetchall()[0][0]
        con.execute("CHECKPOINT")
    return {"posts": posts, "build": time.perf_counter() - t0, "planted": planted.num_rows}


# --- steps, each run in its own process ------------------------------------------------------


def step_generate(rows: int, csv: str) -> dict[str, Any]:
    """Write the workload as the peer's CSV (a child step: the parent imports no NumPy/Arrow)."""
    import pyarrow.csv as pacsv

    table = generate(rows)
    pacsv.write_csv(table, csv)
    return {"rows": table.num_rows}


def step_compare(peer_db: str, ours: str) -> dict[str, Any]:
    """Assert that the peer's and our edges are identical; their counts per network."""
    counts: dict[str, Any] = {}
    for signal, network in (("share", "co_retweet"), ("link", "co_link")):
        expected = peer_edges(peer_db, network)
        got = our_edges(ours.replace(".parquet", f".{signal}.parquet"))
        assert got == expected, f"{network}: {len(got)} edges here, {len(expected)} in peer"
        counts[network] = len(got)
    return counts


def load_case(csv: str, db: str) -> None:
    from cibscan.case import open_case

    with open_case(db) as case:
        case.con.execute(
            f"""INSERT INTO posts BY NAME
                SELECT message_id AS post_id, user_id AS account_id,
                       make_timestamp(CAST(round(CAST(timestamp AS DOUBLE) * 1e6) AS BIGINT))
                           AS timestamp,
                       CASE WHEN coalesce(repost_id, '') <> '' THEN 'share'
                            WHEN coalesce(reply_id, '') <> '' THEN 'reply' ELSE 'post' END AS kind,
                       message AS text, nullif(repost_id, '') AS shared_post_id,
                       nullif(reply_id, '') AS reply_to_post_id,
                       list_filter(string_split(coalesce(urls, ''), ' '), lambda u: u <> '')
                           AS urls_original,
                       list_filter(string_split(coalesce(urls, ''), ' '), lambda u: u <> '')
                           AS urls
                FROM read_csv('{csv}', header = true, all_varchar = true)"""
        )


def step_ours(
    csv: str, db: str, edges: str, semantics: str, evidence: int, memory_limit: str
) -> dict[str, Any]:
    from cibscan.networks import networks

    t0 = time.perf_counter()
    if not Path(db).exists():
        if LOADER["name"] == "ingest":
            from cibscan.ingest import ingest

            if memory_limit != "none":
                # the same DuckDB budget as the networks step (the case store reads it)
                os.environ["CIBSCAN_MEMORY_LIMIT"] = memory_limit
            ingest([csv], db)
        else:
            load_case(csv, db)
    t1 = time.perf_counter()
    times = {"load": t1 - t0}
    for signal in ("share", "link"):
        start = time.perf_counter()
        result = networks(
            db,
            [signal],
            window=WINDOW,
            min_weight=MIN_WEIGHT,
            semantics=semantics,  # type: ignore[arg-type]
            evidence_limit=evidence,
            memory_limit=None if memory_limit == "none" else memory_limit,
            temp_directory=str(Path(db).parent / "spill"),
        )
        times[signal] = time.perf_counter() - start
        result.write(edges.replace(".parquet", f".{signal}.parquet"))
        times[f"{signal}_edges"] = result.edges.num_rows
        times[f"{signal}_hot"] = result.hot_items.num_rows
    return times


def step_near_text(n: int, db: str) -> dict[str, Any]:
    import numpy as np
    import pyarrow as pa

    from cibscan.case import open_case
    from cibscan.networks import networks

    rng = np.random.default_rng(3)
    words = np.array(VOCABULARY.split())
    # 2% of the posts copy one of 200 templates with one word changed, in bursts: 10 copies
    # within a minute by members of one of 20 teams of 15 accounts. The rest are random.
    n_copy = n // 50
    templates = [" ".join(rng.choice(words, 18)) for _ in range(200)]
    texts = [" ".join(rng.choice(words, int(rng.integers(8, 30)))) for _ in range(n - n_copy)]
    accounts = [f"u{i}" for i in rng.integers(0, 20_000, size=n - n_copy)]
    seconds = list(rng.integers(0, SPAN, size=n - n_copy))
    burst_start = rng.integers(0, SPAN, size=n_copy // 10 + 1)
    for i in range(n_copy):
        burst, template = divmod(i, 10)[0], (i // 10) % 200
        parts = templates[template].split()
        parts[int(rng.integers(0, len(parts)))] = str(rng.choice(words))
        texts.append(" ".join(parts))
        accounts.append(f"team{template % 20}-{int(rng.integers(0, 15))}")
        seconds.append(int(burst_start[burst] + rng.integers(0, 60)))
    table = pa.table(
        {
            "post_id": [f"t{i}" for i in range(n)],
            "account_id": accounts,
            "seconds": pa.array(seconds, pa.int64()),
            "text": texts,
        }
    )
    with open_case(db) as case:
        case.con.register("texts", table)
        case.con.execute(
            """INSERT INTO posts BY NAME SELECT post_id, account_id, text, 'post' AS kind,
                   make_timestamp(CAST(seconds AS BIGINT) * 1000000) AS timestamp FROM texts"""
        )
    t0 = time.perf_counter()
    result = networks(db, ["near_text"], window=WINDOW, min_weight=MIN_WEIGHT)
    return {"near_text": time.perf_counter() - t0, "near_text_edges": result.edges.num_rows}


def step_normalise(n: int) -> dict[str, Any]:
    """Median of three timings of the text normalisation on ``n`` texts of about 100 characters.

    Latin and Arabic texts, and the Latin ones with every hundredth text styled and sprinkled
    with zero-width spaces; for each, the whole ``normalise_text_sql`` and its first two steps
    alone (``plain_text_sql``: invisible characters dropped, styled letters folded).
    """
    import statistics

    import duckdb

    from cibscan import traces

    # Without plain_text_sql (cibscan before it existed, on PYTHONPATH) only the whole is timed.
    parts = {"whole": traces.normalise_text_sql("text")}
    if hasattr(traces, "plain_text_sql"):
        parts["plain"] = traces.plain_text_sql("text")
    con = duckdb.connect()
    latin = (
        "'Breaking: the minister said ' || (i % 5000)::VARCHAR || ' things about @user' ||"
        " (i % 77)::VARCHAR || ' https://t.co/abc' || i::VARCHAR || ' and more words here'"
    )
    arabic = (
        "'عاجل: قال الوزير ' || (i % 5000)::VARCHAR || ' أشياء عن @user' || (i % 77)::VARCHAR"
        " || ' https://t.co/abc' || i::VARCHAR || ' وكلمات أخرى هنا لجعلها طويلة'"
    )
    styled = f"CASE WHEN i % 100 = 0 THEN '𝗕𝗿𝗲𝗮𝗸𝗶𝗻𝗴\u200b ' || {latin} ELSE {latin} END"
    out: dict[str, Any] = {}
    for name, text in (("latin", latin), ("arabic", arabic), ("styled", styled)):
        con.execute(f"CREATE OR REPLACE TABLE t AS SELECT {text} AS text FROM range({n}) r(i)")
        for part, sql in parts.items():
            runs = []
            for _ in range(3):
                t0 = time.perf_counter()
                con.execute(f"SELECT count(DISTINCT {sql}) FROM t").fetchall()
                runs.append(time.perf_counter() - t0)
            out[f"{name}_{part}"] = statistics.median(runs)
    return out


def step_hot(n: int, db: str) -> dict[str, Any]:
    from cibscan.case import open_case
    from cibscan.networks import networks

    with open_case(db) as case:
        case.con.execute(
            f"""INSERT INTO posts (post_id, account_id, timestamp, kind, urls)
                SELECT 'p' || i, 'acc' || i,
                       TIMESTAMPTZ '2024-01-01 00:00:00+00' + to_microseconds(i * 1500),
                       'post', ['news.example/breaking']
                FROM range({n}) r(i)"""
        )
    t0 = time.perf_counter()
    result = networks(db, ["link"], window=WINDOW, min_weight=MIN_WEIGHT)
    (hot,) = result.hot_items.to_pylist()
    return {"hot": time.perf_counter() - t0, "hot_pairs": hot["pairs"]}


def step_scale_build(total: int, db: str) -> dict[str, Any]:
    return build_scale_case(total, db)


def step_scale_signal(db: str, signals: str, memory_limit: str, evidence: int) -> dict[str, Any]:
    from cibscan.networks import networks

    t0 = time.perf_counter()
    result = networks(
        db,
        signals.split(","),
        evidence_limit=evidence,
        memory_limit=None if memory_limit == "none" else memory_limit,
        temp_directory=str(Path(db).parent / "spill"),
    )
    return {
        "seconds": time.perf_counter() - t0,
        "edges": result.edges.num_rows,
        "evidence": result.evidence.num_rows,
        "hot": result.hot_items.num_rows,
        "stats": result.stats,
    }


def run_scale(args: argparse.Namespace) -> None:
    """All default signals on ``--scale-posts`` synthetic posts, one process per signal."""
    from cibscan.traces import DEFAULT_SIGNALS

    data = args.data / f"scale-{args.scale_posts}"
    db = data / "case.duckdb"
    if not db.exists():
        shutil.rmtree(data, ignore_errors=True)
        data.mkdir(parents=True)
        built, build_rss = run_step("scale_build", str(args.scale_posts), str(db))
        print(f"built: {built}, {build_rss:.0f} MB", flush=True)
    load_before = os.getloadavg()[0]
    rows = []
    total_s, peak = 0.0, 0.0
    signals = args.scale_signals.split(",") if args.scale_signals else list(DEFAULT_SIGNALS)
    for signal in signals:
        out, rss = run_step("scale_signal", str(db), signal, args.memory_limit, "10")
        print(f"{signal}: {json.dumps(out)}, {rss:.0f} MB", flush=True)
        total_s += out["seconds"]
        peak = max(peak, rss)
        st = out["stats"][signal]
        rows.append(
            f"| {signal} | {st['traces']:,} | {st['items']:,} | {out['edges']:,} "
            f"| {out['hot']:,} | {out['seconds']:.1f} | {rss:,.0f} MB |"
        )
    lines = [
        f"{args.scale_posts:,} posts, default semantics (window 60 s, min weight 2, hot-item cap "
        f"1000, 10 evidence rows per edge), DuckDB memory limit {args.memory_limit}, one process "
        f"per signal; load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after.",
        "",
        "| signal | traces | items | edges | hot items | seconds | peak RSS |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
        *rows,
        f"| **all** | | | | | **{total_s:.1f}** | **{peak:,.0f} MB** |",
    ]
    report = "\n".join(lines)
    print(report)
    if args.out:
        args.out.write_text(report + "\n", encoding="utf-8")


def run_step(*args: str) -> tuple[dict[str, Any], float]:
    """Run a step in a child process; return its JSON output and peak RSS in MB.

    The peak is the largest single process of the step's tree, sampled from /proc
    (``_measure.run_measured``): ``ru_maxrss`` would include this parent's own peak, which the
    child inherits through fork and exec. The whole tree's peak is in the output as
    ``tree_mb``.
    """
    from _measure import run_measured

    if args[0] == "peer":  # in a process that imports only the peer (``_peer_cnt.py``)
        cmd = [sys.executable, str(Path(__file__).with_name("_peer_cnt.py")), *args[1:]]
        cmd += [str(WINDOW), str(MIN_WEIGHT)]
    elif args[0] == "floor":  # in a process that imports only DuckDB (``_floor.py``)
        cmd = [sys.executable, str(Path(__file__).with_name("_floor.py")), *args[1:]]
    else:
        cmd = [sys.executable, __file__, "--step", *args]
    done = run_measured(cmd)
    if done.returncode:
        raise SystemExit(f"step {args[0]} failed with status {done.returncode}")
    out: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    out["tree_mb"] = round(done.peak_tree_mb)
    out["pss_mb"] = round(done.peak_tree_pss_mb)
    return out, done.peak_process_mb


# --- comparison and report -----------------------------------------------------------------------


def peer_edges(db: str, network: str) -> set[tuple[str, str, int]]:
    con = sqlite3.connect(db)
    try:
        return {
            (str(a), str(b), int(w))
            for a, b, w in con.execute(f"SELECT user_1, user_2, weight FROM {network}_network")
            if a != b
        }
    finally:
        con.close()


def our_edges(path: str) -> set[tuple[str, str, int]]:
    import pyarrow.parquet as pq

    table = pq.read_table(path, columns=["source", "target", "weight"])
    return {(r["source"], r["target"], r["weight"]) for r in table.to_pylist()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--near-text-rows", type=int, default=None)
    parser.add_argument("--hot-accounts", type=int, default=200_000)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--out", type=Path, default=None, help="also write the table here")
    parser.add_argument("--skip-peer", action="store_true")
    parser.add_argument(
        "--load",
        choices=("ingest", "sql"),
        default="ingest",
        help="cibscan's load: cibscan.ingest (default) or one SQL INSERT",
    )
    parser.add_argument(
        "--cnt-only", action="store_true", help="only the like-for-like cnt comparison"
    )
    parser.add_argument(
        "--memory-limit",
        default="512MB",
        help="DuckDB memory limit of cibscan's runs, or none; a comma-separated list runs the"
        " cnt comparison again under each further limit",
    )
    parser.add_argument(
        "--scale-posts",
        type=int,
        default=None,
        help="instead: all default signals on this many synthetic posts (e.g. 20000000)",
    )
    parser.add_argument("--scale-signals", default=None, help="with --scale-posts: a subset")
    parser.add_argument("--step", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    # Steps run in child processes, which inherit the environment.
    os.environ["CIBSCAN_BENCH_LOADER"] = LOADER["name"] = args.load

    if args.step:
        name, *rest = args.step
        if name == "generate":
            out = step_generate(int(rest[0]), rest[1])
        elif name == "compare":
            out = step_compare(rest[0], rest[1])
        elif name == "ours":
            out = step_ours(rest[0], rest[1], rest[2], rest[3], int(rest[4]), rest[5])
        elif name == "scale_build":
            out = step_scale_build(int(rest[0]), rest[1])
        elif name == "scale_signal":
            out = step_scale_signal(rest[0], rest[1], rest[2], int(rest[3]))
        elif name == "near_text":
            out = step_near_text(int(rest[0]), rest[1])
        elif name == "normalise":
            out = step_normalise(int(rest[0]))
        else:
            out = step_hot(int(rest[0]), rest[1])
        print(json.dumps(out))
        return
    if args.scale_posts:
        run_scale(args)
        return

    load_before = os.getloadavg()[0]
    data = args.data / str(args.rows)
    shutil.rmtree(data, ignore_errors=True)
    data.mkdir(parents=True)
    csv = str(data / "messages.csv")
    t0 = time.perf_counter()
    generated, _ = run_step("generate", str(args.rows), csv)
    print(f"generated {generated['rows']:,} rows in {time.perf_counter() - t0:.1f} s", flush=True)

    peer: dict[str, Any] = {}
    peer_rss = float("nan")
    if not args.skip_peer:
        peer, peer_rss = run_step("peer", csv, str(data / "cnt.db"))
        print(f"peer: {peer}, {peer_rss:.0f} MB", flush=True)
    limits = args.memory_limit.split(",")
    floors: dict[str, dict[str, Any]] = {}
    for limit in limits:
        floor_db = data / f"floor-{limit}.duckdb"
        floors[limit], _ = run_step("floor", csv, str(floor_db), limit)
        floor_db.unlink()
        print(f"floor ({limit}): {floors[limit]}", flush=True)
    case = str(data / "case.duckdb")
    # Like for like first: the peer keeps no evidence.
    ours, ours_rss = run_step("ours", csv, case, str(data / "cnt.parquet"), "cnt", "0", limits[0])
    print(f"ours (cnt): {ours}, {ours_rss:.0f} MB", flush=True)
    # The same again under tighter DuckDB limits (from scratch: a fresh case each time).
    tighter: list[tuple[str, dict[str, Any], float]] = []
    for limit in limits[1:]:
        again = str(data / f"case-{limit}.duckdb")
        out, rss = run_step(
            "ours", csv, again, str(data / f"cnt-{limit}.parquet"), "cnt", "0", limit
        )
        print(f"ours (cnt, {limit}): {out}, {rss:.0f} MB", flush=True)
        tighter.append((limit, out, rss))
    if not args.skip_peer:
        # Every run's edges, both networks, against the peer's (in a child: the parent reads
        # no Parquet, so that it maps no Arrow library the children's PSS would share).
        for path in [data / "cnt.parquet", *(data / f"cnt-{lim}.parquet" for lim in limits[1:])]:
            counts, _ = run_step("compare", str(data / "cnt.db"), str(path))
            print(f"{path.name}: identical to the peer, {counts}", flush=True)
    if not args.cnt_only:
        evidence, evidence_rss = run_step(
            "ours", csv, case, str(data / "cnt-evidence.parquet"), "cnt", "10", limits[0]
        )
        print(f"ours (cnt, evidence): {evidence}, {evidence_rss:.0f} MB", flush=True)
        ours_default, default_rss = run_step(
            "ours", csv, case, str(data / "default.parquet"), "default", "10", limits[0]
        )
        print(f"ours (default): {ours_default}, {default_rss:.0f} MB", flush=True)
        near_rows = args.near_text_rows or max(10_000, args.rows // 2)
        near, near_rss = run_step("near_text", str(near_rows), str(data / "near.duckdb"))
        print(f"near_text: {near}, {near_rss:.0f} MB", flush=True)
        hot, hot_rss = run_step("hot", str(args.hot_accounts), str(data / "hot.duckdb"))
        print(f"hot: {hot}, {hot_rss:.0f} MB", flush=True)

    def ratio(a: float, b: float) -> str:
        return f"{a / b:.1f}x" if b and a == a else "n/a"

    loader = "cibscan.ingest" if args.load == "ingest" else "one SQL INSERT"
    peer_total = sum(peer.get(k, float("nan")) for k in ("load", "share", "link"))
    peer_tree = float(peer.get("tree_mb", float("nan")))
    peer_pss = float(peer.get("pss_mb", float("nan")))
    ours_total = ours["load"] + ours["share"] + ours["link"]
    lines = [
        f"Workload: {generated['rows']:,} rows (60% retweets, 40% link posts), "
        f"{max(2_000, args.rows // 50):,} accounts, window {WINDOW} s, min weight {MIN_WEIGHT}; "
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}; load average {load_before:.1f} before, "
        f"{os.getloadavg()[0]:.1f} after (the machine is shared).",
        "",
        "| step | coordination-network-toolkit 1.5.2 | cibscan | speed-up |",
        "| --- | ---: | ---: | ---: |",
        f"| load (peer: preprocess) | {peer.get('load', float('nan')):.1f} s "
        f"| {ours['load']:.1f} s | {ratio(peer.get('load', float('nan')), ours['load'])} |",
        f"| co_retweet / share (cnt) | {peer.get('share', float('nan')):.1f} s "
        f"| {ours['share']:.1f} s | {ratio(peer.get('share', float('nan')), ours['share'])} |",
        f"| co_link / link (cnt) | {peer.get('link', float('nan')):.1f} s "
        f"| {ours['link']:.1f} s | {ratio(peer.get('link', float('nan')), ours['link'])} |",
        f"| total | {peer_total:.1f} s | {ours_total:.1f} s | {ratio(peer_total, ours_total)} |",
        f"| peak RSS (largest process) | {peer_rss:.0f} MB | {ours_rss:.0f} MB "
        f"| {ratio(peer_rss, ours_rss)} |",
        f"| peak RSS (process tree) | {peer_tree:.0f} MB | {ours['tree_mb']:.0f} MB "
        f"| {ratio(peer_tree, ours['tree_mb'])} |",
        f"| peak PSS (process tree, shared pages once) | {peer_pss:.0f} MB "
        f"| {ours['pss_mb']:.0f} MB | {ratio(peer_pss, ours['pss_mb'])} |",
        "",
        "Floor: DuckDB's CSV reader into a table of text columns in a DuckDB file, then a"
        " checkpoint, nothing else, in a process that imports only DuckDB: "
        + "; ".join(
            f"{f['floor']:.1f} s and {f['pss_mb']:.0f} MB (PSS) at a {lim} limit"
            for lim, f in floors.items()
        )
        + f". 1/30 of the peer's total is {peer_total / 30:.1f} s.",
        "",
        f"cibscan loaded the CSV with {loader}"
        f" and ran with DuckDB's memory limit at {limits[0]} (it spills beyond) and "
        "without evidence, as the peer keeps none. "
        + (
            f"Edges identical: co_retweet {ours['share_edges']:,}, co_link "
            f"{ours['link_edges']:,} directed edges (self-loops left out)."
            if not args.skip_peer
            else "Peer skipped."
        ),
    ]
    if tighter:
        lines += [
            "",
            "| cibscan, tighter DuckDB limit | load | share | link | total | speed-up "
            "| peak RSS | peak PSS |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        for limit, out, rss in tighter:
            total = out["load"] + out["share"] + out["link"]
            lines.append(
                f"| {limit} | {out['load']:.1f} s | {out['share']:.1f} s | {out['link']:.1f} s "
                f"| {total:.1f} s | {ratio(peer_total, total)} | {rss:.0f} MB "
                f"| {out['pss_mb']:.0f} MB |"
            )
    if not args.cnt_only:
        lines += [
            "",
            "| cibscan, other runs | seconds | peak RSS |",
            "| --- | ---: | ---: |",
            f"| cnt with evidence (10 post pairs per edge), share + link "
            f"| {evidence['share'] + evidence['link']:.1f} | {evidence_rss:.0f} MB |",
            f"| default semantics with evidence, share ({ours_default['share_edges']:,} edges, "
            f"{ours_default['share_hot']} hot items) | {ours_default['share']:.1f} | "
            f"{default_rss:.0f} MB |",
            f"| default semantics with evidence, link ({ours_default['link_edges']:,} edges, "
            f"{ours_default['link_hot']} hot items) | {ours_default['link']:.1f} | |",
            f"| near_text on {near_rows:,} posts ({near['near_text_edges']:,} edges) "
            f"| {near['near_text']:.1f} | {near_rss:.0f} MB |",
            f"| hot item: one link shared by {args.hot_accounts:,} accounts in "
            f"{args.hot_accounts * 1.5 / 60_000:.0f} min ({hot['hot_pairs']:,} pairs avoided) "
            f"| {hot['hot']:.1f} | {hot_rss:.0f} MB |",
        ]
    report = "\n".join(lines)
    print(report)
    if args.out:
        args.out.write_text(report + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
