"""Coverage-guided fuzzing of every reader with atheris (libFuzzer), beside the hypothesis suite.

An input is one byte choosing the seed format (see ``tests/hardening/_fuzz.py``), one byte
choosing whether ``--format`` is forced, then the file's bytes. The oracle is the same as the
hypothesis suite's: a clean ingest with exact row accounting, or a CibscanError naming the file.

Usage (from the repository root)::

    python fuzz/atheris_readers.py --make-corpus fuzz/corpus   # the seeds, one file each
    python fuzz/atheris_readers.py fuzz/corpus -max_total_time=600 -timeout=30 -rss_limit_mb=4096
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import atheris  # type: ignore[import-untyped,import-not-found,unused-ignore]

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

with atheris.instrument_imports(include=["cibscan"]):
    from tests.hardening._fuzz import SEEDS, check_input

NAMES = sorted(SEEDS)
DIRECTORY = Path(tempfile.mkdtemp(prefix="cibscan-atheris-"))


def test_one_input(data: bytes) -> None:
    """Ingest one fuzz input; any exception other than a CibscanError is a crash."""
    if len(data) < 2:
        return
    seed = SEEDS[NAMES[data[0] % len(NAMES)]]
    path = DIRECTORY / seed.filename
    path.write_bytes(data[2:])
    check_input(path, seed.fmt if data[1] % 2 else None)


def make_corpus(directory: Path) -> None:
    """Write every seed as a corpus entry (detected and forced)."""
    directory.mkdir(parents=True, exist_ok=True)
    for index, name in enumerate(NAMES):
        for forced in (0, 1):
            (directory / f"{name}-{forced}").write_bytes(bytes([index, forced]) + SEEDS[name].data)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--make-corpus":
        make_corpus(Path(sys.argv[2]))
    else:
        atheris.Setup(sys.argv, test_one_input)
        atheris.Fuzz()
