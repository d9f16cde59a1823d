"""Benchmark of detection quality: cibscan's ``detect`` against three baselines, on synth cases.

For every scenario (``office``, ``botnet``, ``stealth``, ``mixed``) and seed (1, 2), with the
default :class:`cibscan.synth.SynthConfig` (about 5,000 organic accounts, 14 days, 200,000
posts): generate the case, write it, ingest it into a temporary case store, then run

1. ``cibscan.detect.detect`` with its default configuration (window 60 s),
2. the same with ``window=600``,
3. the baselines of :mod:`cibscan.baselines` with their defaults (``cnt_threshold``,
   ``coortweet_quantile``, ``osome_tfidf``),

and score each against the scenario's labels with :func:`cibscan.evaluate.evaluate_assignment`.
Prints a Markdown table and writes it, with the exact command, the machine and the code
version, to ``--out``. A measurement, not a tuning loop: nothing here feeds back into the code.

Usage::

    python benchmarks/bench_detection.py --out docs/benchmarks-detection.md

Not part of the test run.
"""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import cibscan
from cibscan.baselines import BASELINE_NAMES, BASELINES, BaselineConfig
from cibscan.case import Case, open_case
from cibscan.detect import DetectConfig, detect
from cibscan.evaluate import Evaluation, evaluate_assignment
from cibscan.ingest import ingest
from cibscan.synth import SCENARIOS, SynthConfig, generate, write_scenario

SEEDS: Final = (1, 2)

Assignment = dict[str, str | None]


@dataclass(frozen=True)
class Row:
    """One method on one case."""

    scenario: str
    seed: int
    method: str
    evaluation: Evaluation
    seconds: float


def _methods() -> dict[str, Callable[[Case], Assignment]]:
    baseline_cfg = BaselineConfig()

    def cibscan(window: float) -> Callable[[Case], Assignment]:
        return lambda case: detect(case, DetectConfig(window=window)).assignment()

    methods: dict[str, Callable[[Case], Assignment]] = {
        "cibscan (60 s)": cibscan(60.0),
        "cibscan (600 s)": cibscan(600.0),
    }

    def baseline(name: str) -> Callable[[Case], Assignment]:
        return lambda case: BASELINES[name](case, baseline_cfg)

    for name in BASELINE_NAMES:
        methods[name] = baseline(name)
    return methods


def run_case(scenario: str, seed: int, work: Path, methods: list[str]) -> list[Row]:
    """Generate, ingest and score every method on one scenario and seed."""
    folder = work / f"{scenario}-{seed}"
    generated = generate(scenario, seed=seed, config=SynthConfig())
    labels: dict[str, tuple[str, str | None]] = {
        a: (label, role)
        for a, label, role in zip(
            generated.labels["account_id"].to_pylist(),
            generated.labels["label"].to_pylist(),
            generated.labels["role"].to_pylist(),
            strict=True,
        )
    }
    files = write_scenario(generated, folder)
    db = folder / "case.duckdb"
    # Labels stay out of the case: no method may see them.
    ingest([f for f in files if f.suffix in (".parquet", ".csv") and f.stem != "labels"], db)
    rows: list[Row] = []
    available = _methods()
    case = open_case(db, create=False, read_only=True)
    try:
        for method in methods:
            started = time.perf_counter()
            assignment = available[method](case)
            seconds = time.perf_counter() - started
            ev = evaluate_assignment(assignment, labels)
            rows.append(Row(scenario, seed, method, ev, seconds))
            print(_line(rows[-1]), flush=True)
    finally:
        case.close()
    return rows


def _f(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.3f}"


def _per_op(ev: Evaluation) -> str:
    return ", ".join(f"{op} {r:.2f}" for op, r in ev.recall_by_operation.items())


HEADER: Final = (
    "| scenario | seed | method | precision | recall | F1 | recall per operation "
    "| confounders flagged | rate | ARI | NMI | seconds |\n"
    "| --- | ---: | --- | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: |"
)


def _line(row: Row) -> str:
    ev = row.evaluation
    return (
        f"| {row.scenario} | {row.seed} | {row.method} | {_f(ev.precision)} | {_f(ev.recall)} "
        f"| {_f(ev.f1)} | {_per_op(ev)} | {ev.confounders_flagged}/{ev.confounders} "
        f"| {ev.confounder_rate:.1%} | {_f(ev.adjusted_rand)} | {_f(ev.nmi)} "
        f"| {row.seconds:.1f} |"
    )


def _mean(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return sum(known) / len(known) if known else None


def _summary(rows: list[Row]) -> str:
    lines = [
        "| scenario | method | precision | recall | F1 | confounder rate | ARI | seconds |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    keys = list(dict.fromkeys((r.scenario, r.method) for r in rows))
    for scenario, method in keys:
        group = [r for r in rows if r.scenario == scenario and r.method == method]
        ev = [r.evaluation for r in group]
        rate = _mean([e.confounder_rate for e in ev])
        lines.append(
            f"| {scenario} | {method} | {_f(_mean([e.precision for e in ev]))} "
            f"| {_f(_mean([e.recall for e in ev]))} | {_f(_mean([e.f1 for e in ev]))} "
            f"| {'n/a' if rate is None else f'{rate:.1%}'} "
            f"| {_f(_mean([e.adjusted_rand for e in ev]))} "
            f"| {_mean([r.seconds for r in group]) or 0.0:.1f} |"
        )
    return "\n".join(lines)


def _roles(rows: list[Row]) -> str:
    roles = sorted({role for r in rows for role in r.evaluation.flagged_by_role})
    lines = [
        "| scenario | seed | method | " + " | ".join(roles) + " |",
        "| --- | ---: | --- | " + " | ".join("---:" for _ in roles) + " |",
    ]
    for r in rows:
        by_role = r.evaluation.flagged_by_role
        cells = [
            f"{by_role[role][0]}/{by_role[role][1]}" if role in by_role else "" for role in roles
        ]
        lines.append(f"| {r.scenario} | {r.seed} | {r.method} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _code_version() -> str:
    repo = Path(cibscan.__file__).resolve().parents[2]
    try:
        commit = subprocess.run(
            ["git", "-C", str(repo), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(repo), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"
    return f"commit {commit}" + (" with uncommitted changes" if dirty else "")


PREAMBLE: Final = """# Detection benchmark: cibscan against the peers' recipes

Generated by `benchmarks/bench_detection.py`; do not edit by hand, run it again.

Each synthetic case (`cibscan.synth`, default `SynthConfig`: about 5,000 organic accounts,
14 days, 200,000 posts, plus the planted operations) is ingested without its labels, every method
assigns accounts to networks, and `cibscan.evaluate.evaluate_assignment` scores the assignment.
An account is *flagged* when it is in a network. *Confounders* are the organic accounts with a
confounding role (viral sharers, fans, news bots, ...); ordinary organic accounts count only in
precision. ARI and NMI compare the networks with the operations over the accounts that are
positive or flagged.

- **cibscan (60 s)**: `cibscan.detect.detect` with `window=60`.
- **cibscan (600 s)**: the same with `window=600` (the default).
- **cnt_threshold**: coordination-network-toolkit 1.5.2: co_retweet and co_link
  (`semantics="cnt"`) with the defaults of its `compute` command (`--time_window 1` second,
  `--min_edge_weight 2`), the union of the kept edges, connected components.
- **coortweet_quantile**: CooRTweet: shares, `time_window` 10 s, `min_participation` 2, edges
  above the median edge weight (`weight_threshold == 1`), connected components.
- **osome_tfidf**: OSoMe (Pacheco et al., ICWSM 2021): account x item TF-IDF (items of `share`,
  `link`, `hashtag_seq` and `text`; accounts with at least 10 traces), cosine similarity, the
  top 0.5% of the pairs with a positive similarity, connected components.

ARI and NMI (from `evaluate_assignment`) compare two partitions of the accounts that are
positive or flagged: in the truth each flagged organic account is a group of its own, in the
detection each missed operation account is, and neither looks at group names. When the accounts
compared are all of one operation (no organic account flagged in a single-operation scenario),
every split of it scores 0, near-perfect or not, so the scores are `n/a` there; one network
that is exactly the operation scores 1. Read them next to recall.

The baselines' networks are connected components, as the peers report them; none of them has a
minimum network size or a significance test. `seconds` is the method's own time on an ingested
case (generation and ingest excluded), on a shared 2-core machine, so timings are indicative.
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", nargs="+", default=list(SCENARIOS), choices=SCENARIOS)
    parser.add_argument("--seed", nargs="+", type=int, default=list(SEEDS))
    parser.add_argument("--method", nargs="+", default=list(_methods()), choices=list(_methods()))
    parser.add_argument("--out", type=Path, help="Markdown file to write.")
    parser.add_argument("--work", type=Path, help="Folder for the generated cases (kept).")
    parser.add_argument("--note", default="", help="Added to the environment line.")
    args = parser.parse_args()
    command = "python benchmarks/bench_detection.py " + shlex.join(sys.argv[1:])

    started = time.perf_counter()
    load_before = os.getloadavg()[0]
    rows: list[Row] = []
    print(HEADER, flush=True)
    with tempfile.TemporaryDirectory(prefix="cibscan-bench-") as tmp:
        work = args.work or Path(tmp)
        for scenario in args.scenario:
            for seed in args.seed:
                rows.extend(run_case(scenario, seed, work, args.method))
    table = "\n".join([HEADER, *(_line(r) for r in rows)])
    elapsed = time.perf_counter() - started
    environment = (
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}; load average {load_before:.1f} at the start; "
        f"cibscan {_code_version()}; {elapsed / 60:.0f} minutes in all."
        + (f" {args.note}" if args.note else "")
    )
    document = (
        f"{PREAMBLE}\n## Command\n\n```\n{command}\n```\n\n{environment}\n\n"
        f"## Results\n\n{table}\n\n## Mean over seeds\n\n{_summary(rows)}\n\n"
        "## Organic accounts flagged, by role\n\n"
        "Flagged / accounts of the role; `ordinary` accounts are not counted as confounders.\n\n"
        f"{_roles(rows)}\n"
    )
    print()
    print(_summary(rows))
    if args.out:
        args.out.write_text(document, encoding="utf-8")
        print(f"\nwritten to {args.out}")


if __name__ == "__main__":
    main()
