"""The Spark engine: traces, co-action edges, evidence, hot items and significance on a cluster.

Every step that decides a semantic question runs the DuckDB code the single-machine engine runs,
inside a Spark task, on a partition where the question can be answered locally:

========================  ===============================  =========================================
step                      partitioned by                   code run in each partition
========================  ===============================  =========================================
traces                    posts (one trace, one post)      ``cibscan.traces.trace_sql``
hot items                 item (hash)                      ``cibscan.coaction.item_load_sql``
co-action events, units   item (hash)                      ``cibscan.coaction.pair_events_sql``
edges                     account pair (hash)              the networks aggregation (``_pairs_sql``)
null model                item (hash), summed by account   ``cibscan.significance.signal_null``
p-values                  any split of the edges           ``conditional_poisson_pvalues``
========================  ===============================  =========================================

Spark itself only moves rows (``repartition`` by item or pair, joins, distinct counts, sums) and
ranks evidence rows. Two steps run on the driver: ``near_text`` clustering (MinHash + LSH over
the distinct normalised texts, :func:`cibscan.traces.near_duplicate_clusters`; memory grows with
the distinct texts), and Benjamini-Hochberg, fusion and clustering over the edges.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import sys
import tempfile
import time as _time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from cibscan.case import Case
from cibscan.errors import ConfigError, EmptyInputError
from cibscan.networks import (
    COORTWEET_SCHEMA,
    EDGE_SCHEMA,
    EVIDENCE_SCHEMA,
    HOT_ITEM_SCHEMA,
    NetworkConfig,
    NetworkResult,
)
from cibscan.schema import TABLES
from cibscan.significance import EDGE_MIN_WEIGHT, SignalNull, benjamini_hochberg, fuse_signals
from cibscan.traces import IS_REPOST, normalise_text_sql, trace_sql

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

__all__ = [
    "SparkDetection",
    "spark_detect_edges",
    "spark_networks",
    "spark_session",
    "write_spark_outputs",
]

PostsInput = Case | duckdb.DuckDBPyConnection | str | os.PathLike[str] | Any

_USABLE: Final = "p.account_id IS NOT NULL AND p.post_id IS NOT NULL AND p.timestamp IS NOT NULL"
_SPARK_TYPES: Final = {
    "VARCHAR": "string",
    "TIMESTAMPTZ": "timestamp",
    "VARCHAR[]": "array<string>",
    "BIGINT": "bigint",
}
_TRACE_SCHEMA: Final = "account string, item string, post string, time timestamp, t bigint"
_UNIT_SCHEMA: Final = "src string, dst string, unit string, n bigint, g bigint"
_PAIR_SCHEMA: Final = (
    "source string, target string, weight bigint, events bigint, min_gap double, median_gap double"
)
_EVENT_SCHEMA: Final = (
    "item string, src string, dst string, src_post string, src_t bigint, dst_post string, "
    "dst_t bigint, gap bigint"
)
_LOAD_SCHEMA: Final = (
    "item string, posts bigint, accounts bigint, peak bigint, pairs bigint, first_t bigint, "
    "last_t bigint"
)
_NULL_SCHEMA: Final = "account string, degree bigint, exposure double"
_COORT_SCHEMA: Final = (
    "source string, target string, weight bigint, events bigint, min_gap double, "
    "median_gap double, avg_time_delta double, n_content_id bigint, n_content_id_y bigint"
)


# --- session and input ---------------------------------------------------------------------------


def spark_session(master: str | None = None, conf: Mapping[str, str] | None = None) -> SparkSession:
    """Return a Spark session for cibscan: the active one, or a new one.

    Parameters
    ----------
    master
        ``local[2]``, ``spark://host:7077``, ``yarn``, ... ``None`` reuses the active session,
        else starts ``local[*]``.
    conf
        Spark settings (``spark.executor.memory``, ``spark.sql.shuffle.partitions``, ...).

    Notes
    -----
    The session time zone is set to UTC (timestamps are compared as UTC microseconds),
    ``spark.driver.maxResultSize`` defaults to unlimited (the edges are collected), and
    Python workers default to this interpreter (``PYSPARK_PYTHON``), which is what local mode
    needs; on a cluster, cibscan[spark] must be installed in the executors' Python.
    """
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:  # pragma: no cover - exercised only without the extra
        raise ConfigError(
            "engine 'spark' needs pyspark: pip install 'cibscan[spark]' (and a Java 17 runtime)"
        ) from exc
    active = SparkSession.getActiveSession()
    if active is not None and master is None:
        for key, value in (conf or {}).items():
            active.conf.set(key, value)
        active.conf.set("spark.sql.session.timeZone", "UTC")
        return active
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = SparkSession.builder.appName("cibscan").master(master or "local[*]")
    settings = {
        "spark.sql.session.timeZone": "UTC",
        "spark.ui.showConsoleProgress": "false",
        # The edges come back to the driver (clustering and the result tables live there);
        # Spark's 1 GB default stopped a 20M-post run's 24M share edges. The driver's memory
        # (spark.driver.memory) is the bound; a cap of one's own still wins.
        "spark.driver.maxResultSize": "0",
    }
    settings.update(conf or {})
    for key, value in settings.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.conf.set("spark.sql.session.timeZone", "UTC")
    return session


@contextlib.contextmanager
def _staged_posts(
    spark: SparkSession, posts: PostsInput, staging: str | None
) -> Iterator[DataFrame]:
    """:func:`_posts_frame` for the length of a run: without a ``staging`` folder, a case
    store's posts are exported to a temporary folder that is removed when the run ends (its
    results are collected to the driver by then) or fails. A ``staging`` folder the caller gave
    is left as it is."""
    folder = None if staging is not None else tempfile.mkdtemp(prefix="cibscan-spark-")
    try:
        yield _posts_frame(spark, posts, staging or folder)
    finally:
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)


def _posts_frame(spark: SparkSession, posts: PostsInput, staging: str | None) -> DataFrame:
    """The ``posts`` of a case store, a Parquet path/URI or a DataFrame, in canonical columns."""
    from pyspark.sql import DataFrame
    from pyspark.sql import functions as sf

    if isinstance(posts, DataFrame):
        frame = posts
    elif isinstance(posts, (Case, duckdb.DuckDBPyConnection)) or (
        isinstance(posts, (str, os.PathLike)) and str(posts).endswith((".duckdb", ".db"))
    ):
        frame = spark.read.parquet(_export_posts(posts, staging))
    elif isinstance(posts, (str, os.PathLike)):
        frame = spark.read.parquet(str(posts))
    else:
        raise ConfigError(
            f"engine 'spark' reads a case store, a Parquet path or URI, or a Spark DataFrame; "
            f"got {type(posts).__name__}"
        )
    present = set(frame.columns)
    for required in ("post_id", "account_id", "timestamp"):
        if required not in present:
            raise ConfigError(f"posts input lacks the column {required!r}; see docs/data-model.md")
    columns = []
    for name, kind in TABLES["posts"].items():
        spark_type = _SPARK_TYPES[kind]
        if name in present:
            columns.append(sf.col(name).cast(spark_type).alias(name))
        else:
            columns.append(sf.lit(None).cast(spark_type).alias(name))
    return frame.select(*columns)


def _export_posts(posts: Any, staging: str | None) -> str:
    """Copy a case store's posts to Parquet (a path Spark's executors can read)."""
    from cibscan.case import open_case

    folder = staging or tempfile.mkdtemp(prefix="cibscan-spark-")
    target = str(Path(folder) / f"posts-{os.getpid()}-{_time.time_ns()}.parquet")
    opened: Case | None = None
    if isinstance(posts, Case):
        con = posts.con
    elif isinstance(posts, duckdb.DuckDBPyConnection):
        con = posts
    else:
        opened = open_case(posts, create=False, read_only=True)
        con = opened.con
    try:
        escaped = target.replace("'", "''")
        con.execute(f"COPY (SELECT * FROM posts) TO '{escaped}' (FORMAT PARQUET, COMPRESSION ZSTD)")
    finally:
        if opened is not None:
            opened.close()
    return target


# --- per-partition functions (run in Spark's Python workers) --------------------------------------


def _gather(batches: Iterator[pa.RecordBatch]) -> pa.Table | None:
    """All the batches of one Spark partition as one table (None when the partition is empty)."""
    collected = [b for b in batches if b.num_rows]
    return pa.Table.from_batches(collected) if collected else None


def _per_batch_sql(
    sql: str, tables: Mapping[str, pa.Table] | None = None
) -> Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]:
    """A ``mapInArrow`` function that runs ``sql`` over each batch registered as ``posts``."""

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        con = duckdb.connect()
        con.execute("SET TimeZone = 'UTC'")
        for name, table in (tables or {}).items():
            con.register(name, table)
        try:
            for batch in batches:
                if not batch.num_rows:
                    continue
                con.register("posts", pa.Table.from_batches([batch]))
                yield from con.sql(sql).to_arrow_table().to_batches()
                con.unregister("posts")
        finally:
            con.close()

    return run


def _per_partition_sql(
    sql: str, name: str = "src", prepare: Callable[[pa.Table], pa.Table] | None = None
) -> Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]:
    """A ``mapInArrow`` function that runs ``sql`` over the whole partition registered as
    ``name`` (the partition holds every row of its items or pairs)."""

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        table = _gather(batches)
        if table is None:
            return
        if prepare is not None:
            table = prepare(table)
        con = duckdb.connect()
        try:
            con.execute("SET TimeZone = 'UTC'")
            con.register(name, table)
            yield from con.sql(sql).to_arrow_table().to_batches()
        finally:
            con.close()

    return run


def _null_partition(
    window_us: int,
) -> Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]:
    """signal_null on one partition of items: per-account partial sums, plus the pair mass."""

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        from cibscan.significance import signal_null

        table = _gather(batches)
        if table is None:
            return
        null = signal_null(table, "", window_us)
        degrees = null.degrees
        out = pa.table(
            {
                "account": pa.concat_arrays(
                    [
                        degrees.column("account").combine_chunks().cast(pa.string()),
                        pa.array([None], pa.string()),
                    ]
                ),
                "degree": pa.concat_arrays(
                    [
                        degrees.column("degree").combine_chunks().cast(pa.int64()),
                        pa.array([0], pa.int64()),
                    ]
                ),
                "exposure": pa.concat_arrays(
                    [
                        degrees.column("exposure").combine_chunks().cast(pa.float64()),
                        pa.array([null.pair_mass], pa.float64()),
                    ]
                ),
            }
        )
        yield from out.to_batches()

    return run


def _pvalue_partition(
    batches: Iterator[pa.RecordBatch],
) -> Iterator[pa.RecordBatch]:
    from cibscan.significance import conditional_poisson_pvalues

    for batch in batches:
        if not batch.num_rows:
            continue
        weight = batch.column("weight").to_numpy(zero_copy_only=False)
        expected = batch.column("expected").to_numpy(zero_copy_only=False)
        p = conditional_poisson_pvalues(weight, expected)
        yield pa.RecordBatch.from_arrays(
            [*batch.columns, pa.array(p, pa.float64())],
            names=[*batch.schema.names, "p_value"],
        )


# --- SQL run inside the partitions ----------------------------------------------------------------


def _units_sql(window_us: int, directed: bool) -> str:
    """Kernel events of a partition of items, reduced to the units the weight counts."""
    from cibscan.coaction import pair_events_sql

    events = pair_events_sql("tr", window_us, same_account=False)
    if directed:
        # cnt: each event counts for both directions; the unit is the source's post.
        return f"""
            SELECT src, dst, unit, count(*) AS n, min(g) AS g FROM (
                SELECT CASE WHEN d.x = 0 THEN e.account_a ELSE e.account_b END AS src,
                       CASE WHEN d.x = 0 THEN e.account_b ELSE e.account_a END AS dst,
                       CASE WHEN d.x = 0 THEN e.post_a ELSE e.post_b END AS unit,
                       e.gap AS g
                FROM ({events}) e CROSS JOIN (VALUES (0), (1)) d(x)
            ) GROUP BY src, dst, unit
        """
    return f"""
        SELECT least(e.account_a, e.account_b) AS src, greatest(e.account_a, e.account_b) AS dst,
               e.item AS unit, count(*) AS n, min(e.gap) AS g
        FROM ({events}) e GROUP BY 1, 2, 3
    """


def _pairs_sql(min_weight: int, count_pairs: bool = False) -> str:
    """Units of a partition of account pairs -> edges (the networks engine's aggregation).

    With ``count_pairs``, one more row, its source and target NULL, carries in ``weight`` the
    number of pairs of the partition that co-acted at all, edges below ``min_weight``
    included: the count the significance stage needs, without those pairs' medians computed
    or their rows leaving the partition.
    """
    # A unit can arrive from several item partitions under cnt (a post with two URLs):
    # merge first, then count units per pair.
    sql = f"""
        WITH merged AS (SELECT src, dst, unit, sum(n) AS n, min(g) AS g FROM units GROUP BY ALL),
             weights AS (SELECT src, dst, count(*) AS weight FROM merged GROUP BY ALL)
        SELECT m.src AS source, m.dst AS target, count(*) AS weight, sum(m.n)::BIGINT AS events,
               min(m.g) / 1e6 AS min_gap, median(m.g) / 1e6 AS median_gap
        FROM merged m SEMI JOIN weights w
            ON m.src = w.src AND m.dst = w.dst AND w.weight >= {int(min_weight)}
        GROUP BY m.src, m.dst"""
    if count_pairs:
        sql += " UNION ALL SELECT NULL, NULL, count(*), NULL, NULL, NULL FROM weights"
    return sql


def _oriented_sql(window_us: int, directed: bool, same_account: bool = False) -> str:
    """Kernel events of a partition of items, oriented as the evidence reports them."""
    from cibscan.coaction import pair_events_sql

    events = pair_events_sql("tr", window_us, same_account=same_account)
    if directed:
        return f"""
            SELECT e.item,
                   CASE WHEN d.x = 0 THEN e.account_a ELSE e.account_b END AS src,
                   CASE WHEN d.x = 0 THEN e.account_b ELSE e.account_a END AS dst,
                   CASE WHEN d.x = 0 THEN e.post_a ELSE e.post_b END AS src_post,
                   CASE WHEN d.x = 0 THEN e.t_a ELSE e.t_b END AS src_t,
                   CASE WHEN d.x = 0 THEN e.post_b ELSE e.post_a END AS dst_post,
                   CASE WHEN d.x = 0 THEN e.t_b ELSE e.t_a END AS dst_t,
                   e.gap
            FROM ({events}) e CROSS JOIN (VALUES (0), (1)) d(x)
        """
    cmp = "<=" if same_account else "<"
    return f"""
        SELECT e.item,
               least(e.account_a, e.account_b) AS src, greatest(e.account_a, e.account_b) AS dst,
               CASE WHEN e.account_a {cmp} e.account_b THEN e.post_a ELSE e.post_b END AS src_post,
               CASE WHEN e.account_a {cmp} e.account_b THEN e.t_a ELSE e.t_b END AS src_t,
               CASE WHEN e.account_a {cmp} e.account_b THEN e.post_b ELSE e.post_a END AS dst_post,
               CASE WHEN e.account_a {cmp} e.account_b THEN e.t_b ELSE e.t_a END AS dst_t,
               e.gap
        FROM ({events}) e
    """


_COORT_PAIRS_SQL: Final = """
    SELECT least(account_a, account_b) AS source, greatest(account_a, account_b) AS target,
           count(*) AS weight, count(*) AS events,
           min(gap) / 1e6 AS min_gap, median(gap) / 1e6 AS median_gap,
           avg(gap) / 1e6 AS avg_time_delta,
           count(DISTINCT post_a) AS n_content_id, count(DISTINCT post_b) AS n_content_id_y
    FROM ev GROUP BY 1, 2
"""


# --- traces ---------------------------------------------------------------------------------------


def _wrap_trace(sql: str) -> str:
    return f"SELECT account, item, post, time, epoch_us(time) AS t FROM ({sql})"


def _signal_traces(posts: DataFrame, signal: str, cfg: NetworkConfig) -> DataFrame:
    """One signal's traces (``account, item, post, time, t``) from the posts, per partition."""
    window = cfg.window if isinstance(cfg.window, float) else 60.0
    if signal == "near_text":
        if cfg.semantics == "cnt":
            raise ConfigError(
                "near_text under semantics 'cnt' (pairwise token similarity) is not available "
                "with engine 'spark' yet; use engine 'duckdb'"
            )
        return _near_text_traces(posts, cfg)
    if signal == "text" and cfg.semantics == "cnt":
        from cibscan.traces import cnt_text_map

        # The peer's normalisation is a Python function of one text: map each batch's texts.
        sql = _wrap_trace(trace_sql("text", semantics="cnt", text_map="_cib_map"))

        def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
            con = duckdb.connect()
            con.execute("SET TimeZone = 'UTC'")
            try:
                for batch in batches:
                    if not batch.num_rows:
                        continue
                    con.register("posts", pa.Table.from_batches([batch]))
                    con.register("_cib_map", cnt_text_map(con))
                    yield from con.sql(sql).to_arrow_table().to_batches()
                    con.unregister("_cib_map")
                    con.unregister("posts")
            finally:
                con.close()

        return _distinct_if(_needed(posts, sql).mapInArrow(run, _TRACE_SCHEMA), sql)
    sql = _wrap_trace(
        trace_sql(
            signal,
            semantics=cfg.semantics,
            min_text_chars=cfg.min_text_chars,
            bin_us=round(window * 1_000_000),
        )
    )
    return _distinct_if(_needed(posts, sql).mapInArrow(_per_batch_sql(sql), _TRACE_SCHEMA), sql)


def _needed(posts: DataFrame, sql: str) -> DataFrame:
    """Only the posts columns that ``sql`` reads: Spark's conversion of rows to Arrow for the
    Python workers costs far more than the SQL itself, list columns above all (measured: 2M
    posts take 7 s with the five scalar columns a share trace reads, 140 s with all 18)."""
    return posts.select(*[c for c in posts.columns if re.search(rf"\b{c}\b", sql)])


def _distinct_if(frame: DataFrame, sql: str) -> DataFrame:
    # The trace SQL's DISTINCT acts within one batch; repeated post rows in different batches
    # need the same DISTINCT across the whole input.
    return frame.distinct() if "SELECT DISTINCT" in sql else frame


def _near_text_traces(posts: DataFrame, cfg: NetworkConfig) -> DataFrame:
    """near_text: normalise per partition, cluster the distinct texts on the driver."""
    from pyspark.sql import functions as sf

    from cibscan.traces import near_duplicate_clusters

    norm = normalise_text_sql("p.text")
    sql = f"""
        SELECT account, norm, post, time, epoch_us(time) AS t FROM (
            SELECT p.account_id AS account, {norm} AS norm, p.post_id AS post,
                   p.timestamp AS time
            FROM posts p WHERE {_USABLE} AND NOT {IS_REPOST} AND p.text IS NOT NULL
        ) WHERE length(norm) >= {int(cfg.min_text_chars)}
    """
    normed = (
        _needed(posts, sql)
        .mapInArrow(
            _per_batch_sql(sql),
            "account string, norm string, post string, time timestamp, t bigint",
        )
        .persist()
    )
    firsts = (
        normed.groupBy("norm")
        .agg(sf.min(sf.struct("t", "post")).alias("first"))
        .select(
            "norm", sf.col("first.t").alias("first_t"), sf.col("first.post").alias("first_post")
        )
        .toArrow()
    )
    # The same order as cibscan.traces.near_text_map: by first time, then first post.
    firsts = firsts.sort_by([("first_t", "ascending"), ("first_post", "ascending")])
    texts = firsts.column("norm").to_pylist()
    labels = near_duplicate_clusters(
        texts,
        threshold=cfg.near_text_threshold,
        num_perm=cfg.num_perm,
        bands=cfg.bands,
        shingle=cfg.shingle,
        seed=cfg.seed,
        cjk_shingle=cfg.cjk_shingle,
    )
    first_post = np.asarray(firsts.column("first_post").to_pylist(), dtype=object)
    clusters = pa.table(
        {
            "norm": pa.array(texts, pa.string()),
            "cluster": pa.array(first_post[labels].tolist() if len(texts) else [], pa.string()),
        }
    )
    spark = posts.sparkSession
    mapping = spark.createDataFrame(clusters)
    return normed.join(sf.broadcast(mapping), "norm").select(
        "account", sf.col("cluster").alias("item"), "post", "time", "t"
    )


# --- the networks run -----------------------------------------------------------------------------


@dataclass
class _SignalRun:
    signal: str
    traces: Any  # DataFrame of the traces kept (hot items removed)
    edges: pa.Table
    evidence: pa.Table
    hot_items: pa.Table
    window_us: int
    stats: dict[str, Any] = field(default_factory=dict)


def _partitions(spark: SparkSession) -> int:
    return int(spark.conf.get("spark.sql.shuffle.partitions") or 200)


def _signal_network(
    spark: SparkSession, posts: DataFrame, signal: str, cfg: NetworkConfig, *, keep: bool = False
) -> _SignalRun:
    from pyspark import StorageLevel
    from pyspark.sql import functions as sf

    assert cfg.min_weight is not None and cfg.min_participation is not None
    started = _time.perf_counter()
    if cfg.window == "auto":
        raise ConfigError("window 'auto' is not available with engine 'spark'; give seconds")
    window_us = round(float(cfg.window or 0.0) * 1_000_000)
    n_parts = _partitions(spark)
    raw = _signal_traces(posts, signal, cfg).persist(StorageLevel.MEMORY_AND_DISK)
    stats: dict[str, Any] = {}
    tr = raw
    filtered = cfg.min_participation > 1 or (cfg.semantics == "coortweet" and not cfg.keep_loops)
    if filtered:
        stats["traces"] = raw.count()
    if cfg.min_participation > 1:
        active = (
            tr.groupBy("account").count().where(sf.col("count") >= cfg.min_participation)
        ).select("account")
        tr = tr.join(active, "account", "left_semi")
    if cfg.semantics == "coortweet" and not cfg.keep_loops:
        tr = tr.where(sf.col("item") != sf.col("post"))
    tr = tr.persist(StorageLevel.MEMORY_AND_DISK)
    # One job for the counts (each Spark action costs a scheduling round trip).
    counts = tr.agg(
        sf.count(sf.lit(1)).alias("traces"),
        sf.countDistinct("account").alias("accounts"),
        sf.countDistinct("item").alias("items"),
    ).first()
    if not filtered:
        stats["traces"] = int(counts["traces"]) if counts else 0
    stats["accounts"] = int(counts["accounts"]) if counts else 0
    stats["items"] = int(counts["items"]) if counts else 0

    hot_items = HOT_ITEM_SCHEMA.empty_table()
    if cfg.hot_item_cap is not None and cfg.semantics != "cnt":
        cap = int(cfg.hot_item_cap)
        big = tr.groupBy("item").count().where(sf.col("count") > cap).select("item")
        loaded = (
            tr.join(big, "item", "left_semi")
            .select("item", "account", "post", "t")
            .repartition(n_parts, "item")
            .mapInArrow(_per_partition_sql(_item_load(window_us), "traces"), _LOAD_SCHEMA)
            .where(sf.col("peak") > cap)
        ).toArrow()
        if loaded.num_rows:
            hot_items = _hot_table(loaded, signal)
            hot_names = spark.createDataFrame(pa.table({"item": loaded.column("item")}))
            tr = tr.join(sf.broadcast(hot_names), "item", "left_anti").persist(
                StorageLevel.MEMORY_AND_DISK
            )
    stats["hot_items"] = hot_items.num_rows

    by_item = tr.select("item", "account", "post", "t").repartition(n_parts, "item")
    if cfg.semantics == "coortweet":
        edges, evidence = _coortweet(spark, tr, by_item, signal, window_us, cfg)
    else:
        edges, evidence = _default_or_cnt(spark, tr, by_item, signal, window_us, cfg, stats)
    stats["edges"] = edges.num_rows
    stats["seconds"] = round(_time.perf_counter() - started, 3)
    raw.unpersist()
    if not keep:
        tr.unpersist()
    return _SignalRun(signal, tr, edges, evidence, hot_items, window_us, stats)


def _item_load(window_us: int) -> str:
    from cibscan.coaction import item_load_sql

    return item_load_sql("traces", window_us)


def _hot_table(loaded: pa.Table, signal: str) -> pa.Table:
    table = pa.table(
        {
            "signal": pa.array([signal] * loaded.num_rows, pa.string()),
            "item": loaded.column("item").cast(pa.string()),
            "posts": loaded.column("posts"),
            "accounts": loaded.column("accounts"),
            "peak": loaded.column("peak"),
            "pairs": loaded.column("pairs"),
            "first_time": _timestamps(loaded.column("first_t")),
            "last_time": _timestamps(loaded.column("last_t")),
        }
    )
    return table.sort_by([("peak", "descending"), ("item", "ascending")]).cast(HOT_ITEM_SCHEMA)


def _timestamps(micros: pa.ChunkedArray | pa.Array) -> pa.Array:
    values = micros.combine_chunks() if isinstance(micros, pa.ChunkedArray) else micros
    return values.cast(pa.int64()).cast(pa.timestamp("us", tz="UTC"))


def _default_or_cnt(
    spark: SparkSession,
    tr: DataFrame,
    by_item: DataFrame,
    signal: str,
    window_us: int,
    cfg: NetworkConfig,
    stats: dict[str, Any] | None = None,
) -> tuple[pa.Table, pa.Table]:
    from pyspark.sql import functions as sf

    assert cfg.min_weight is not None
    directed = cfg.semantics == "cnt"
    n_parts = _partitions(spark)
    units = by_item.mapInArrow(
        _per_partition_sql(_units_sql(window_us, directed), "tr"), _UNIT_SCHEMA
    )
    # The significance stage corrects for every pair that co-acted (stats "co_acting_pairs",
    # as on DuckDB): each partition of pairs counts them in one row whose source is NULL, so
    # that only the edges and those counts leave the executors.
    counted = stats is not None and not directed
    pairs = units.repartition(n_parts, "src", "dst").mapInArrow(
        _per_partition_sql(_pairs_sql(cfg.min_weight, count_pairs=counted), "units"),
        _PAIR_SCHEMA,
    )
    # kept for the evidence's edge keys, which would otherwise run the kernel again
    every = pairs.persist() if cfg.evidence_limit != 0 else pairs
    collected = every.toArrow()
    is_count = pc.is_null(collected.column("source"))
    if counted:
        total = pc.sum(collected.filter(is_count).column("weight")).as_py()
        stats["co_acting_pairs"] = int(total or 0)  # type: ignore[index]
    edges = _sorted_edges(collected.filter(pc.invert(is_count)), signal, EDGE_SCHEMA)
    evidence = EVIDENCE_SCHEMA.empty_table()
    if cfg.evidence_limit != 0 and edges.num_rows:
        keys = every.where(sf.col("source").isNotNull()).select(
            sf.col("source").alias("src"), sf.col("target").alias("dst")
        )
        evidence = _evidence(spark, tr, keys, signal, window_us, cfg, directed=directed)
    if cfg.evidence_limit != 0:
        every.unpersist()
    return edges, evidence


def _sorted_edges(table: pa.Table, signal: str, schema: pa.Schema) -> pa.Table:
    table = table.append_column("signal", pa.array([signal] * table.num_rows, pa.string()))
    table = table.sort_by(
        [("weight", "descending"), ("source", "ascending"), ("target", "ascending")]
    )
    return table.select(schema.names).cast(schema)


def _evidence(
    spark: SparkSession,
    tr: DataFrame,
    keys: DataFrame,
    signal: str,
    window_us: int,
    cfg: NetworkConfig,
    *,
    directed: bool,
    same_account: bool = False,
    events: DataFrame | None = None,
) -> pa.Table:
    """The closest post pairs behind each kept edge, ranked as the DuckDB engine ranks them."""
    from pyspark.sql import Window
    from pyspark.sql import functions as sf

    if events is None:
        # Re-run the kernel on the traces of accounts that have an edge.
        accounts = (
            keys.select(sf.col("src").alias("account"))
            .union(keys.select(sf.col("dst").alias("account")))
            .distinct()
        )
        sub = tr.join(accounts, "account", "left_semi").select("item", "account", "post", "t")
        events = sub.repartition(_partitions(spark), "item").mapInArrow(
            _per_partition_sql(_oriented_sql(window_us, directed, same_account), "tr"),
            _EVENT_SCHEMA,
        )
    kept = events.join(keys, ["src", "dst"], "left_semi")
    order = Window.partitionBy("src", "dst").orderBy("gap", "src_post", "dst_post", "item")
    ranked = kept.withColumn("rank", sf.row_number().over(order))
    if cfg.evidence_limit is not None:
        ranked = ranked.where(sf.col("rank") <= cfg.evidence_limit)
    table = ranked.toArrow()
    table = table.sort_by([("src", "ascending"), ("dst", "ascending"), ("rank", "ascending")])
    n = table.num_rows
    return pa.table(
        {
            "signal": pa.array([signal] * n, pa.string()),
            "source": table.column("src").cast(pa.string()),
            "target": table.column("dst").cast(pa.string()),
            "item": table.column("item").cast(pa.string()),
            "source_post": table.column("src_post").cast(pa.string()),
            "source_time": _timestamps(table.column("src_t")),
            "target_post": table.column("dst_post").cast(pa.string()),
            "target_time": _timestamps(table.column("dst_t")),
            "gap": pa.compute.divide(table.column("gap").cast(pa.float64()), 1e6),
        }
    ).cast(EVIDENCE_SCHEMA)


def _coortweet(
    spark: SparkSession,
    tr: DataFrame,
    by_item: DataFrame,
    signal: str,
    window_us: int,
    cfg: NetworkConfig,
) -> tuple[pa.Table, pa.Table]:
    from pyspark.sql import functions as sf

    from cibscan.coaction import pair_events_sql

    assert cfg.min_weight is not None and cfg.min_participation is not None
    n_parts = _partitions(spark)
    ev_schema = (
        "item string, account_a string, post_a string, t_a bigint, account_b string, "
        "post_b string, t_b bigint, gap bigint"
    )
    ev = by_item.mapInArrow(
        _per_partition_sql(pair_events_sql("tr", window_us, same_account=cfg.keep_loops), "tr"),
        ev_schema,
    ).persist()
    if cfg.min_participation >= 1:
        # CooRTweet keeps a pair when either account has at least min_participation traces
        # among the posts that take part in some pair.
        in_pairs = (
            ev.select(sf.col("post_a").alias("post"))
            .union(ev.select(sf.col("post_b").alias("post")))
            .distinct()
        )
        active = (
            tr.join(in_pairs, "post", "left_semi")
            .groupBy("account")
            .count()
            .where(sf.col("count") >= cfg.min_participation)
            .select("account")
        )
        act_a = active.select(sf.col("account").alias("account_a"), sf.lit(True).alias("_a"))
        act_b = active.select(sf.col("account").alias("account_b"), sf.lit(True).alias("_b"))
        ev = (
            ev.join(act_a, "account_a", "left")
            .join(act_b, "account_b", "left")
            .where(sf.col("_a").isNotNull() | sf.col("_b").isNotNull())
            .drop("_a", "_b")
            .persist()
        )
    pair_cols = [sf.least("account_a", "account_b"), sf.greatest("account_a", "account_b")]
    agg = (
        ev.repartition(n_parts, *pair_cols)
        .mapInArrow(_per_partition_sql(_COORT_PAIRS_SQL, "ev"), _COORT_SCHEMA)
        .persist()
    )
    quantile = agg.agg(
        sf.percentile(sf.col("weight").cast("double"), cfg.edge_weight_quantile).alias("q")
    ).first()
    q = float(quantile["q"]) if quantile and quantile["q"] is not None else 0.0
    table = agg.where(sf.col("weight") >= cfg.min_weight).toArrow()
    agg.unpersist()
    n_ids = table.column("n_content_id").to_numpy(zero_copy_only=False).astype(np.float64)
    n_ids_y = table.column("n_content_id_y").to_numpy(zero_copy_only=False).astype(np.float64)
    weight = table.column("weight").to_numpy(zero_copy_only=False)
    table = table.append_column(
        "edge_symmetry_score", pa.array(np.minimum(n_ids, n_ids_y) / np.maximum(n_ids, n_ids_y))
    ).append_column("weight_threshold", pa.array((weight > q).astype(np.int8)))
    schema = pa.schema(list(EDGE_SCHEMA) + list(COORTWEET_SCHEMA))
    edges = _sorted_edges(table, signal, schema)
    evidence = EVIDENCE_SCHEMA.empty_table()
    if cfg.evidence_limit != 0 and edges.num_rows:
        oriented = ev.select(
            "item",
            sf.least("account_a", "account_b").alias("src"),
            sf.greatest("account_a", "account_b").alias("dst"),
            *[
                sf.when(sf.col("account_a") <= sf.col("account_b"), sf.col(a))
                .otherwise(sf.col(b))
                .alias(name)
                for name, a, b in (
                    ("src_post", "post_a", "post_b"),
                    ("src_t", "t_a", "t_b"),
                    ("dst_post", "post_b", "post_a"),
                    ("dst_t", "t_b", "t_a"),
                )
            ],
            "gap",
        )
        keys = spark.createDataFrame(
            pa.table({"src": edges.column("source"), "dst": edges.column("target")})
        )
        evidence = _evidence(
            spark, tr, keys, signal, window_us, cfg, directed=False, events=oriented
        )
    ev.unpersist()
    return edges, evidence


def _concat(tables: list[pa.Table], schema: pa.Schema) -> pa.Table:
    if not tables:
        return schema.empty_table()
    return pa.concat_tables([t.select(schema.names).cast(schema) for t in tables])


def spark_networks(
    posts: PostsInput,
    config: NetworkConfig,
    *,
    master: str | None = None,
    conf: Mapping[str, str] | None = None,
    staging: str | None = None,
) -> NetworkResult:
    """Build co-action networks on Spark; the same result as :func:`cibscan.networks.networks`.

    Parameters
    ----------
    posts
        A case store (:class:`~cibscan.case.Case`, DuckDB connection or ``.duckdb`` path: its
        posts are exported to Parquet under ``staging`` first), Parquet posts in the canonical
        ``posts`` columns (a local path or any URI Spark reads: ``s3a://``, ``hdfs://``), or a
        Spark DataFrame of posts.
    config
        The run's options (``window="auto"`` and ``near_text`` under ``cnt`` are not available
        on Spark).
    master, conf
        See :func:`spark_session`.
    staging
        Where a case store's posts are exported for Spark (must be readable by the executors);
        default a local temporary directory, which suits local mode.

    Returns
    -------
    NetworkResult
        Edges, evidence and hot items collected to the driver, sorted as the DuckDB engine
        sorts them.
    """
    cfg = config.resolved()
    spark = spark_session(master, conf)
    with _staged_posts(spark, posts, staging) as frame:
        if frame.limit(1).count() == 0:
            raise EmptyInputError("the posts input has no rows")
        runs = [_signal_network(spark, frame, signal, cfg) for signal in cfg.signals]
    return _result(runs, cfg)


def _result(runs: Sequence[_SignalRun], cfg: NetworkConfig) -> NetworkResult:
    schema = (
        pa.schema(list(EDGE_SCHEMA) + list(COORTWEET_SCHEMA))
        if cfg.semantics == "coortweet"
        else EDGE_SCHEMA
    )
    stats = {r.signal: r.stats for r in runs}
    for r in runs:
        r.stats["engine"] = "spark"
    return NetworkResult(
        edges=_concat([r.edges for r in runs], schema),
        evidence=_concat([r.evidence for r in runs], EVIDENCE_SCHEMA),
        hot_items=_concat([r.hot_items for r in runs], HOT_ITEM_SCHEMA),
        windows={r.signal: r.window_us / 1_000_000 for r in runs},
        config=cfg,
        stats=stats,
    )


# --- significance ---------------------------------------------------------------------------------


@dataclass
class SparkDetection:
    """Per-signal tested edges, fused edges and the network run behind them.

    Attributes
    ----------
    edges
        The network's edges (weight-1 edges included) with ``expected``, ``p_value`` and
        ``q_value``, as :func:`cibscan.significance.edge_pvalues` adds them.
    fused
        :func:`cibscan.significance.fuse_signals` over ``edges``.
    nulls
        The null model of each signal.
    network
        The network result (evidence, hot items, windows, stats).
    """

    edges: pa.Table
    fused: pa.Table
    nulls: dict[str, SignalNull]
    network: NetworkResult


def spark_detect_edges(
    posts: PostsInput,
    signals: Sequence[str],
    *,
    window: float = 600.0,
    hot_item_cap: int | None = 1000,
    evidence_limit: int | None = 10,
    master: str | None = None,
    conf: Mapping[str, str] | None = None,
    staging: str | None = None,
) -> SparkDetection:
    """The networks and significance stages of ``cibscan detect`` on Spark.

    Same answer as the DuckDB path of :func:`cibscan.detect.detect`: edges of weight 2 and more,
    the null model of each signal estimated per item partition (its sums add up over
    partitions), p-values per edge in the executors, Benjamini-Hochberg and fusion on the
    driver.
    """
    from pyspark.sql import functions as sf

    cfg = NetworkConfig(
        signals=tuple(signals),
        window=window,
        min_weight=EDGE_MIN_WEIGHT,
        hot_item_cap=hot_item_cap,
        evidence_limit=evidence_limit,
    ).resolved()
    spark = spark_session(master, conf)
    with _staged_posts(spark, posts, staging) as frame:
        if frame.limit(1).count() == 0:
            raise EmptyInputError("the posts input has no rows")
        runs: list[_SignalRun] = []
        tested: list[pa.Table] = []
        nulls: dict[str, SignalNull] = {}
        n_parts = _partitions(spark)
        for signal in cfg.signals:
            run = _signal_network(spark, frame, signal, cfg, keep=True)
            runs.append(run)
            parts = (
                run.traces.select("account", "item", "post", "time")
                .repartition(n_parts, "item")
                .mapInArrow(_null_partition(run.window_us), _NULL_SCHEMA)
            )
            # Exposures are float sums; adding the partitions' partial sums as decimals makes the
            # total independent of the order in which Spark delivers them (deterministic output).
            sums = parts.groupBy("account").agg(
                sf.sum("degree").alias("degree"),
                sf.sum(sf.col("exposure").cast("decimal(38,12)")).cast("double").alias("exposure"),
            )
            # The per-account sums are as many rows as accounts: the driver holds them once, as
            # the DuckDB path's SignalNull does, and the edges' join reads them from Spark.
            collected = sums.toArrow()
            is_mass = pa.compute.is_null(collected.column("account"))
            pair_mass = float(
                pa.compute.sum(collected.filter(is_mass).column("exposure")).as_py() or 0
            )
            degree_table = (
                collected.filter(pa.compute.invert(is_mass))
                .sort_by([("account", "ascending")])
                .select(["account", "degree", "exposure"])
            )
            degree_table = degree_table.cast(
                pa.schema(
                    [("account", pa.string()), ("degree", pa.int64()), ("exposure", pa.float64())]
                )
            )
            incidences = int(pa.compute.sum(degree_table.column("degree")).as_py() or 0)
            degrees = spark.createDataFrame(degree_table)
            rate = 2.0 * pair_mass / float(incidences) ** 2 if incidences else 0.0
            null = SignalNull(signal, incidences, pair_mass, rate, degree_table)
            nulls[signal] = null
            if run.edges.num_rows:
                pairs = run.stats.get("co_acting_pairs")
                tested.append(_edge_pvalues(spark, run.edges, degrees, incidences, pairs))
            run.traces.unpersist()
    network = _result(runs, cfg)
    columns = [*network.edges.schema.names, "expected", "p_value", "q_value"]
    if tested:
        edges = pa.concat_tables(tested).select(columns)
    else:
        edges = (
            network.edges.append_column("expected", pa.array([], pa.float64()))
            .append_column("p_value", pa.array([], pa.float64()))
            .append_column("q_value", pa.array([], pa.float64()))
        )
    fused = fuse_signals(
        edges,
        signals=len(cfg.signals),
        tests=sum(int(r.stats.get("co_acting_pairs", 0)) for r in runs),
    )
    return SparkDetection(edges=edges, fused=fused, nulls=nulls, network=network)


def _edge_pvalues(
    spark: SparkSession,
    edges: pa.Table,
    degrees: DataFrame,
    incidences: int,
    tests: int | None = None,
) -> pa.Table:
    """edge_pvalues with the expectation joined and the p-values computed in the executors."""
    from pyspark.sql import functions as sf

    # Keep the driver's edge order; the executors return rows in any order.
    indexed = edges.append_column("_row", pa.array(np.arange(edges.num_rows), pa.int64()))
    frame = spark.createDataFrame(indexed.select(["_row", "source", "target", "weight"]))
    ds = degrees.select(
        sf.col("account").alias("source"),
        sf.col("degree").alias("ds_degree"),
        sf.col("exposure").alias("ds_exposure"),
    )
    dt = degrees.select(
        sf.col("account").alias("target"),
        sf.col("degree").alias("dt_degree"),
        sf.col("exposure").alias("dt_exposure"),
    )
    expected = (
        sf.coalesce(sf.col("dt_degree"), sf.lit(1))
        * sf.coalesce(sf.col("ds_exposure"), sf.lit(0.0))
        + sf.coalesce(sf.col("ds_degree"), sf.lit(1))
        * sf.coalesce(sf.col("dt_exposure"), sf.lit(0.0))
    ) / sf.lit(2.0 * max(incidences, 1))
    joined = (
        frame.join(ds, "source", "left")
        .join(dt, "target", "left")
        .select("_row", "weight", expected.alias("expected"))
    )
    scored = joined.mapInArrow(
        _pvalue_partition, "_row bigint, weight bigint, expected double, p_value double"
    ).toArrow()
    scored = scored.sort_by([("_row", "ascending")])
    p = scored.column("p_value").to_numpy(zero_copy_only=False)
    q = benjamini_hochberg(p, tests)
    return (
        edges.append_column("expected", scored.column("expected"))
        .append_column("p_value", pa.array(p, pa.float64()))
        .append_column("q_value", pa.array(q, pa.float64()))
    )


def write_spark_outputs(
    result: NetworkResult,
    edges: str,
    *,
    evidence: str | None = None,
    hot_items: str | None = None,
    spark: SparkSession | None = None,
) -> None:
    """Write a result's tables as Parquet datasets at any URI Spark writes (``s3a://``, ...)."""
    session = spark or spark_session()
    for table, target in ((result.edges, edges), (result.evidence, evidence),
                          (result.hot_items, hot_items)):  # fmt: skip
        if target is not None:
            session.createDataFrame(table).coalesce(1).write.mode("overwrite").parquet(target)
