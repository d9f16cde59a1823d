"""Pathological but valid inputs at full size (issue 8): time and peak memory of each.

Every case runs in a child process of its own, so that its peak resident memory is its own:
ingest into a fresh case store with a DuckDB memory limit, then (for the post-shaped cases)
``networks`` for two signals and ``detect``. Prints a Markdown table.

Usage (heavy: run under the shared lock)::

    flock /tmp/cibscan-bench.lock python benchmarks/bench_pathological.py --memory-limit 2GB
    python benchmarks/bench_pathological.py --case one_second --posts 100000   # one case, smaller

Cases: ``one_account`` (N posts by one account, one URL and one text), ``many_accounts`` (N
accounts with one post each, over a day, URLs shared by ~10 accounts), ``one_second`` (N posts
by N accounts in one second, 3 URLs: every pair co-acts), ``same_instant_pairs`` (N posts with
one timestamp, URLs shared by pairs), ``text_50mb`` (a 50 MB text cell), ``hashtags_100k`` (a post
with 100,000 hashtags), ``gzip_bomb`` (300 MB of CSV lines in 300 kB of gzip).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv

CASES = (
    "one_account",
    "many_accounts",
    "one_second",
    "same_instant_pairs",
    "text_50mb",
    "hashtags_100k",
    "gzip_bomb",
)
START = 1704103200
SIGNALS = ("link", "text")


def _write_posts(path: Path, accounts: np.ndarray, times: np.ndarray, urls: np.ndarray) -> None:
    n = len(accounts)
    table = pa.table(
        {
            "post_id": pa.array([f"p{i}" for i in range(n)]),
            "account_id": pa.array(accounts),
            "timestamp": pa.array(times, pa.int64()),
            "text": pa.array(np.char.add("shared message about ", urls)),
            "urls": pa.array(np.char.add("https://news.example/", urls)),
        }
    )
    pa_csv.write_csv(table, path)


def make_input(case: str, n: int, directory: Path) -> Path:
    """Write the input file of a case."""
    rng = np.random.default_rng(0)
    path = directory / "posts.csv"
    if case == "one_account":
        _write_posts(
            path,
            np.full(n, "a1"),
            START + np.arange(n) // 10,
            np.full(n, "1"),
        )
    elif case == "many_accounts":
        _write_posts(
            path,
            np.char.add("a", np.arange(n).astype(str)),
            START + rng.integers(0, 86_400, n),
            rng.integers(0, max(n // 10, 1), n).astype(str),
        )
    elif case == "one_second":
        _write_posts(
            path,
            np.char.add("a", np.arange(n).astype(str)),
            np.full(n, START),
            (np.arange(n) % 3).astype(str),
        )
    elif case == "same_instant_pairs":
        _write_posts(
            path,
            np.char.add("a", np.arange(n).astype(str)),
            np.full(n, START),
            (np.arange(n) // 2).astype(str),
        )
    elif case == "text_50mb":
        text = "x" * (50 << 20)
        path.write_text(f'post_id,account_id,timestamp,text\np1,a,{START},"{text}"\n')
    elif case == "hashtags_100k":
        path = directory / "posts.jsonl"
        text = " ".join(f"#tag{i}" for i in range(100_000))
        path.write_text(
            "".join(
                json.dumps({"post_id": f"p{i}", "account_id": f"a{i}", "timestamp": START + i,
                            "text": text}) + "\n"
                for i in range(3)
            )
        )  # fmt: skip
    elif case == "gzip_bomb":
        path = directory / "posts.csv.gz"
        line = f"p,a,{START},x\n".encode()
        with gzip.open(path, "wb", compresslevel=9) as fh:
            fh.write(b"post_id,account_id,timestamp,text\n")
            block = line * (1 << 16)
            for _ in range((300 << 20) // len(block)):
                fh.write(block)
    else:
        raise SystemExit(f"unknown case {case}")
    return path


def run_case(case: str, n: int, memory_limit: str) -> dict[str, Any]:
    """Run one case in this process; return its figures."""
    from cibscan.case import open_case
    from cibscan.config import IngestConfig
    from cibscan.detect import DetectConfig, detect
    from cibscan.errors import CibscanError
    from cibscan.ingest import ingest
    from cibscan.networks import networks

    out: dict[str, Any] = {"case": case, "n": n}
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        path = make_input(case, n, directory)
        out["input_mb"] = round(path.stat().st_size / 2**20, 1)
        case_store = open_case(directory / "case.duckdb", memory_limit=memory_limit)
        started = time.perf_counter()
        try:
            report = ingest([path], case_store, IngestConfig(on_error="skip"))
            out["ingest"] = report.summary()
        except CibscanError as exc:
            out["ingest"] = f"CibscanError: {exc}"
        out["ingest_s"] = round(time.perf_counter() - started, 1)
        if case_store.count("posts") and case not in ("text_50mb", "gzip_bomb"):
            signals = ["hashtag_seq", "hashtag"] if case == "hashtags_100k" else list(SIGNALS)
            started = time.perf_counter()
            result = networks(case_store.con, signals, window=60.0, min_weight=1)
            out["networks_s"] = round(time.perf_counter() - started, 1)
            out["edges"] = result.edges.num_rows
            out["hot_items"] = result.hot_items.num_rows
            started = time.perf_counter()
            detection = detect(case_store, DetectConfig(signals=tuple(signals), window=60.0))
            out["detect_s"] = round(time.perf_counter() - started, 1)
            out["networks"] = len(detection.networks)
        out["rows"] = case_store.count("posts")
        case_store.close()
    # VmHWM, not ru_maxrss: a child inherits its parent's peak through fork and exec.
    from _measure import own_peak_mb

    out["peak_rss_mb"] = round(own_peak_mb())
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--case", action="append", choices=CASES)
    parser.add_argument("--posts", type=int, default=1_000_000)
    parser.add_argument("--memory-limit", default="2GB")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        (case,) = args.case
        print(json.dumps(run_case(case, args.posts, args.memory_limit)))
        return 0
    print(f"load average {os.getloadavg()[0]:.1f}; DuckDB memory_limit {args.memory_limit}")
    print("| case | rows | input MB | ingest | ingest s | networks s | edges | hot items |"
          " detect s | peak RSS MB |")  # fmt: skip
    print("| --- | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for case in args.case or CASES:
        command = [sys.executable, __file__, "--child", "--case", case, "--posts",
                   str(args.posts), "--memory-limit", args.memory_limit]  # fmt: skip
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode:
            print(f"| {case} | failed: {done.stderr.strip().splitlines()[-1][:150]} |")
            continue
        r = json.loads(done.stdout.strip().splitlines()[-1])
        print(
            f"| {case} | {r['rows']} | {r['input_mb']} | {r['ingest']} |"
            f" {r['ingest_s']} | {r.get('networks_s', '-')} | {r.get('edges', '-')} |"
            f" {r.get('hot_items', '-')} | {r.get('detect_s', '-')} | {r['peak_rss_mb']} |",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
