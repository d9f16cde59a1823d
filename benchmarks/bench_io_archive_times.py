"""Benchmark of the io-archive reader's time refinement: ``tweet_time`` back to the millisecond.

Reads the ``tweet_time`` and ``tweetid`` columns of the ``--formats io-archive`` files of
``bench_ingest.py`` (generated when missing: snowflake ids of the posts' times, times cut to the
minute) and times ``cibscan.ingest.io_archive.refined_times`` on them in batches of the reader's
size, under UTC and under a zone with clock changes (the files' times are UTC, so there none
is refined: the cost of looking); the median of ``--repeat`` runs, in seconds per million rows,
and the share of rows refined.

Usage::

    python benchmarks/bench_io_archive_times.py --rows 1000000

Not part of the test run.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
from bench_ingest import generate

from cibscan.ingest.io_archive import refined_times
from cibscan.ingest.readers import BATCH_ROWS


def main() -> None:
    """Time the refinement and print a Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--data", type=Path, default=Path("bench-data"))
    args = parser.parse_args()
    files = generate(args.data, args.rows, "io-archive", max(args.rows // 20, 100))
    strings = {"tweet_time": pa.string(), "tweetid": pa.string()}
    tables = [
        pa_csv.read_csv(
            f,
            convert_options=pa_csv.ConvertOptions(
                include_columns=list(strings), column_types=strings
            ),
        )
        for f in files
    ]
    table = pa.concat_tables(tables).combine_chunks()
    batches = table.to_batches(max_chunksize=BATCH_ROWS)
    print("| zone | seconds per million rows | rows refined |")
    print("| --- | ---: | ---: |")
    for tz in ("UTC", "Europe/Berlin"):
        runs = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            out = [refined_times(b.column("tweet_time"), b.column("tweetid"), tz) for b in batches]
            runs.append(time.perf_counter() - start)
        changed = sum(
            int(pc.sum(pc.not_equal(o, b.column("tweet_time"))).as_py() or 0)
            for o, b in zip(out, batches, strict=True)
        )
        per_million = statistics.median(runs) / table.num_rows * 1e6
        print(f"| {tz} | {per_million:.3f} | {changed / table.num_rows:.1%} |")


if __name__ == "__main__":
    main()
