"""Benchmark of the Spark engine (local mode, 2 cores) beside the DuckDB engine on one Parquet file.

The posts come from the co-retweet/co-link generator of ``bench_networks.py`` (60% reposts of
heavy-tailed popular posts, 40% posts with one link, planted synchronised groups), converted to
the canonical ``posts`` columns and written once as Parquet. Each engine then runs in a fresh
process on that same file: ``networks(["share", "link"], window=60, min_weight=2)``, default
semantics, hot-item cap 1000, no evidence, edges written to Parquet; DuckDB with a 6 GB memory
limit (it spills beyond), Spark with a 6 GB driver. The parent samples the
resident memory of the whole process tree (for Spark: the Python driver, the JVM and the Python
workers) every 0.2 s and reports the peak, then checks that both engines wrote the same edges.

Usage (heavy sizes under the shared lock)::

    flock /tmp/cibscan-bench.lock python benchmarks/bench_spark.py --rows 2000000 20000000 \\
        --out docs/benchmarks-spark.md

Not part of the test run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any, Final

REPO: Final = Path(__file__).resolve().parents[1]
DEFAULT_DATA: Final = REPO / "bench-data" / "spark"
SIGNALS: Final = ("share", "link")
DUCKDB_MEMORY: Final = "6GB"


def prepare(rows: int, path: Path) -> None:
    """Write ``rows`` canonical posts to ``path`` (Parquet), unless it is there already."""
    if path.exists():
        return
    import duckdb

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from bench_networks import generate  # the networks benchmark's workload

    table = generate(rows)
    path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    con.register("raw", table)
    tmp = path.with_suffix(".tmp.parquet")
    con.execute(
        f"""COPY (
            SELECT message_id AS post_id, user_id AS account_id,
                   to_timestamp(timestamp) AS timestamp,
                   CASE WHEN repost_id <> '' THEN 'share' ELSE 'post' END AS kind,
                   CAST(NULL AS VARCHAR) AS text,
                   nullif(repost_id, '') AS shared_post_id,
                   CASE WHEN urls <> '' THEN [urls] ELSE CAST([] AS VARCHAR[]) END AS urls,
                   CASE WHEN urls <> '' THEN [urls] ELSE CAST([] AS VARCHAR[]) END
                       AS urls_original
            FROM raw
        ) TO '{tmp}' (FORMAT PARQUET, COMPRESSION ZSTD, ROW_GROUP_SIZE 500000)"""
    )
    con.close()
    tmp.rename(path)


def step(engine: str, posts: str, edges: str, partitions: int) -> dict[str, Any]:
    """One engine's run (called in a fresh process)."""
    import duckdb

    from cibscan.networks import networks

    started = time.perf_counter()
    if engine == "duckdb":
        con = duckdb.connect()
        con.execute(f"CREATE VIEW posts AS SELECT * FROM read_parquet('{posts}')")
        # The same memory budget as a case store gets (CIBSCAN_MEMORY_LIMIT): without one DuckDB
        # takes 80 % of the machine, 15 GB at 20M posts.
        result = networks(
            con,
            list(SIGNALS),
            window=60,
            min_weight=2,
            evidence_limit=0,
            memory_limit=DUCKDB_MEMORY,
            temp_directory=str(Path(edges).parent / "duckdb-tmp"),
        )
    else:
        conf = {
            "spark.driver.memory": "6g",
            "spark.sql.shuffle.partitions": str(partitions),
            "spark.local.dir": str(Path(edges).parent / "spark-tmp"),
        }
        result = networks(
            posts,
            list(SIGNALS),
            window=60,
            min_weight=2,
            evidence_limit=0,
            engine="spark",
            spark_master="local[2]",
            spark_conf=conf,
        )
    result.write(edges)
    return {
        "seconds": round(time.perf_counter() - started, 1),
        "edges": result.edges.num_rows,
        "stats": result.stats,
    }


def measure(*args: str) -> tuple[dict[str, Any], float]:
    """Run a step in a fresh process; return its report and the tree's peak RSS in MB."""
    from _measure import run_measured

    done = run_measured([sys.executable, __file__, "--step", *args], interval=0.2)
    if done.returncode:
        raise SystemExit(f"step {args} failed with exit code {done.returncode}")
    return json.loads(done.stdout.strip().splitlines()[-1]), done.peak_tree_mb


def same_edges(a: str, b: str) -> bool:
    import pyarrow.parquet as pq

    keys = [("signal", "ascending"), ("source", "ascending"), ("target", "ascending")]
    left = pq.read_table(a).sort_by(keys)
    right = pq.read_table(b).sort_by(keys)
    return bool(left.select(right.column_names).equals(right))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[2_000_000])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--partitions", type=int, default=16)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--step", nargs=4)
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="reuse an engine's measurement saved by an earlier run on the same data",
    )
    args = parser.parse_args()
    if args.step:
        engine, posts, edges, partitions = args.step
        print(json.dumps(step(engine, posts, edges, int(partitions))))
        return
    rows_out: list[str] = []
    for rows in args.rows:
        posts = args.data / f"posts-{rows}.parquet"
        t0 = time.perf_counter()
        prepare(rows, posts)
        print(f"{rows:,} posts ready in {time.perf_counter() - t0:.0f} s", flush=True)
        load = os.getloadavg()[0]
        report: dict[str, tuple[dict[str, Any], float]] = {}
        for engine in ("duckdb", "spark"):
            edges = str(args.data / f"edges-{engine}-{rows}.parquet")
            saved = args.data / f"report-{engine}-{rows}-{args.partitions}.json"
            if args.reuse and saved.exists():
                found, peak = json.loads(saved.read_text(encoding="utf-8"))
                report[engine] = (found, float(peak))
            else:
                report[engine] = measure(engine, str(posts), edges, str(args.partitions))
                saved.write_text(json.dumps(report[engine]), encoding="utf-8")
            print(engine, report[engine], flush=True)
        same = same_edges(
            str(args.data / f"edges-duckdb-{rows}.parquet"),
            str(args.data / f"edges-spark-{rows}.parquet"),
        )
        (d, d_mb), (s, s_mb) = report["duckdb"], report["spark"]
        rows_out.append(
            f"| {rows:,} | {d['seconds']:.1f} | {d_mb:,.0f} | {s['seconds']:.1f} | {s_mb:,.0f} "
            f"| {s['seconds'] / d['seconds']:.1f}x | {d['edges']:,} | {'yes' if same else 'NO'} "
            f"| {load:.1f} / {os.getloadavg()[0]:.1f} |"
        )
        print(rows_out[-1], flush=True)
    table = "\n".join(
        [
            "| posts | DuckDB s | DuckDB peak MB | Spark s | Spark peak MB | Spark/DuckDB time "
            "| edges | same edges | load before / after |",
            "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | :---: | ---: |",
            *rows_out,
        ]
    )
    print(table)
    if args.out:
        import duckdb
        import pyspark

        args.out.write_text(
            f"<!-- generated by benchmarks/bench_spark.py on {platform.machine()}, Python "
            f"{platform.python_version()}, DuckDB {duckdb.__version__}, pyspark "
            f"{pyspark.__version__} -->\n\n{table}\n",
            encoding="utf-8",
        )


if __name__ == "__main__":
    main()
