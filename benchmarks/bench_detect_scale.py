"""Benchmark of ``cibscan detect`` at scale: time and memory on a large synth case.

Generates a ``cibscan synth`` case (default: scenario ``mixed``, seed 1, 100,000 accounts,
10,000,000 posts), ingests it into a case store once, then runs ``detect`` with its default
configuration in a fresh process whose process tree is sampled for memory, and scores the
result against the scenario's labels. Prints a Markdown table (stage times, peak memory,
precision, recall, F1, recall per operation) and writes it to ``--out``.

Usage (under the shared lock; about 20 minutes at 10M posts on 2 cores)::

    flock /tmp/cibscan-bench.lock python benchmarks/bench_detect_scale.py \\
        --data /tmp/s10m --memory-limit 8GB --out /tmp/s10m/table.md

Not part of the test run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from _measure import own_peak_mb, run_measured


def prepare(folder: Path, scenario: str, seed: int, accounts: int, posts: int) -> float:
    """Write the synth case and ingest it (both skipped when present); seconds spent."""
    started = time.perf_counter()
    if not (folder / "labels.csv").exists():
        subprocess.run(
            [
                sys.executable, "-m", "cibscan", "synth", "--scenario", scenario,
                "--seed", str(seed), "--accounts", str(accounts), "--posts", str(posts),
                "--out", str(folder),
            ],
            check=True,
        )  # fmt: skip
    db = folder / "case.duckdb"
    if not db.exists():
        from cibscan.ingest import ingest

        names = ("posts.parquet", "accounts.csv", "memberships.csv", "infra.csv")
        ingest([folder / n for n in names if (folder / n).exists()], db)
    return time.perf_counter() - started


def step(folder: str) -> dict[str, Any]:
    """Detect with the defaults on the case in ``folder`` and score it (in a fresh process)."""
    import pyarrow.csv as pc

    from cibscan.case import open_case
    from cibscan.detect import DetectConfig, detect
    from cibscan.evaluate import evaluate_assignment

    case = open_case(Path(folder) / "case.duckdb", create=False, read_only=True)
    started = time.perf_counter()
    found = detect(case, DetectConfig())
    seconds = time.perf_counter() - started
    labels_table = pc.read_csv(
        Path(folder) / "labels.csv",
        convert_options=pc.ConvertOptions(column_types={"account_id": "string"}),
    )
    labels = {row["account_id"]: (row["label"], row["role"]) for row in labels_table.to_pylist()}
    ev = evaluate_assignment(found.assignment(), labels)
    return {
        "seconds": round(seconds, 1),
        "timings": {k: round(v, 1) for k, v in found.timings.items()},
        "precision": ev.precision,
        "recall": ev.recall,
        "f1": ev.f1,
        "by_operation": ev.recall_by_operation,
        "networks": len(found.networks),
        "own_peak_mb": round(own_peak_mb()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=Path("/tmp/cibscan-detect-scale"))
    parser.add_argument("--scenario", default="mixed")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--posts", type=int, default=10_000_000)
    parser.add_argument(
        "--memory-limit", default="8GB", help="DuckDB memory limit (CIBSCAN_MEMORY_LIMIT)"
    )
    parser.add_argument("--out", type=Path)
    parser.add_argument("--step")
    args = parser.parse_args()
    if args.step:
        print(json.dumps(step(args.step)))
        return
    prep = prepare(args.data, args.scenario, args.seed, args.accounts, args.posts)
    print(f"case ready in {prep:.0f} s", flush=True)
    os.environ["CIBSCAN_MEMORY_LIMIT"] = args.memory_limit
    load = os.getloadavg()[0]
    done = run_measured([sys.executable, __file__, "--step", str(args.data)], interval=0.5)
    if done.returncode:
        raise SystemExit(f"detect failed with exit code {done.returncode}")
    rep = json.loads(done.stdout.strip().splitlines()[-1])
    stages = ", ".join(f"{k} {v:.0f} s" for k, v in rep["timings"].items())
    by_op = ", ".join(f"{k} {v:.2f}" for k, v in sorted(rep["by_operation"].items()))
    table = "\n".join(
        [
            "| posts | accounts | detect s | stages | peak MB | precision | recall | F1 "
            "| recall per operation | load before / after |",
            "| ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | --- | ---: |",
            f"| {args.posts:,} | {args.accounts:,} | {rep['seconds']:.0f} | {stages} "
            f"| {done.peak_tree_mb:,.0f} | {rep['precision']:.3f} | {rep['recall']:.3f} "
            f"| {rep['f1']:.3f} | {by_op} | {load:.1f} / {os.getloadavg()[0]:.1f} |",
        ]
    )
    print(table)
    if args.out:
        import duckdb

        args.out.write_text(
            f"<!-- generated by benchmarks/bench_detect_scale.py on {platform.machine()}, "
            f"Python {platform.python_version()}, DuckDB {duckdb.__version__}, scenario "
            f"{args.scenario}, seed {args.seed}, DuckDB memory limit {args.memory_limit} -->"
            f"\n\n{table}\n",
            encoding="utf-8",
        )


if __name__ == "__main__":
    main()
