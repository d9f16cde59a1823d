"""The long fuzz run of every reader (issue 8): many mutated inputs per format, with a tally.

Usage (from the repository root)::

    python fuzz/run_fuzz.py --examples 2000            # every format
    python fuzz/run_fuzz.py --examples 500 --seed csv  # one format

For each seed format, hypothesis draws ``--examples`` mutated inputs (see
``tests/hardening/_fuzz.py``) and checks each with the ingest oracle. Prints one Markdown row per
format: inputs tried, clean ingests, ingests with rejected rows, inputs refused with a
CibscanError, and the failure (shrunk by hypothesis) if one was found.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import traceback
from collections import Counter
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.hardening._fuzz import SEEDS, mutated, write_and_check


def fuzz_seed(name: str, examples: int, timeout: float) -> tuple[Counter[str], str | None]:
    """Run ``examples`` mutated inputs of one seed; return the tally and a failure, if any."""
    tally: Counter[str] = Counter()

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(data=st.data())
    def run(data: st.DataObject) -> None:
        item = data.draw(mutated(name))
        with tempfile.TemporaryDirectory() as directory:
            outcome = write_and_check(Path(directory), item, timeout)
        if outcome.report is None:
            tally["refused"] += 1
        elif outcome.report.rejected:
            tally["with rejects"] += 1
        else:
            tally["clean"] += 1
        tally["tried"] += 1

    try:
        run()
    except Exception:  # the report is the point: show what failed
        return tally, traceback.format_exc(limit=-6)
    return tally, None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=2000)
    parser.add_argument("--seed", action="append", choices=sorted(SEEDS))
    parser.add_argument("--timeout", type=float, default=20.0, help="seconds per input")
    args = parser.parse_args()
    failures = 0
    print("| format | inputs | clean | with rejects | refused (CibscanError) | seconds | failure |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | --- |")
    for name in args.seed or sorted(SEEDS):
        started = time.perf_counter()
        tally, failure = fuzz_seed(name, args.examples, args.timeout)
        seconds = time.perf_counter() - started
        failures += failure is not None
        short = "none" if failure is None else failure.strip().splitlines()[-1][:120]
        print(
            f"| {name} | {tally['tried']} | {tally['clean']} | {tally['with rejects']} | "
            f"{tally['refused']} | {seconds:.0f} | {short} |",
            flush=True,
        )
        if failure:
            print(failure, file=sys.stderr, flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
