"""Interrupted runs: SIGKILL at random moments never corrupts the case or half-writes an output.

Each command (``ingest``, ``networks``, ``detect``, ``investigate``) runs once uninterrupted on
a small synthetic case, for the reference outputs and its duration. It is then started again
and killed (SIGKILL, nothing to clean up) at seeded random moments spread over that duration;
after every kill:

* the case store opens and holds either nothing or the whole ingest (the ingest is one
  transaction), and its ``sources`` rows add up (``read = ingested + rejected + duplicates``);
* every file under an output's name is complete: byte-identical to the reference (the
  outputs are deterministic), apart from the timings in ``run.json`` and the "generated" time of
  ``report.html``; an unfinished file may only exist under a ``.tmp-`` name.

Finally a rerun finishes and gives the reference outputs, and no temporary file is left.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from cibscan.case import open_case
from cibscan.cli import main
from cibscan.export import atomic_path
from cibscan.schema import TABLES

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL"),
]

SEED = 8_3_2026
#: Kills at random moments per command, besides one as a file is being written; with the
#: reference run and the final rerun this keeps the file near 90 s.
KILLS = 2
#: Stay within the part of a run that does work: the first part is Python importing cibscan.
EARLIEST = 0.2

# Files a killed run may leave that are not outputs: DuckDB's write-ahead log and spill folder.
_STORE_FILES = {"case.duckdb", "case.duckdb.wal", "case.duckdb.tmp", ".cibscan-cache"}
_GENERATED = re.compile(rb"Generated \d{4}-\d\d-\d\d \d\d:\d\d UTC")


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """A synthetic case (``cibscan synth``) sized so that ``investigate`` takes a few seconds."""
    folder = tmp_path_factory.mktemp("synth")
    status = main(
        ["synth", "--scenario", "office", "--seed", "5", "--out", str(folder),
         "--accounts", "300", "--posts", "8000", "--days", "5"]
    )  # fmt: skip
    assert status == 0
    names = ("posts.parquet", "accounts.csv", "memberships.csv", "infra.csv")
    return [folder / name for name in names]


def _command(args: Sequence[str | Path]) -> list[str]:
    return [sys.executable, "-m", "cibscan", *map(str, args)]


def _run(args: Sequence[str | Path], log: Path) -> float:
    """Run a command to its end; return its duration."""
    started = time.perf_counter()
    with open(log, "wb") as err:
        done = subprocess.run(_command(args), stdout=subprocess.DEVNULL, stderr=err, timeout=300)
    assert done.returncode == 0, log.read_text(errors="replace")
    return time.perf_counter() - started


def _run_and_kill(args: Sequence[str | Path], after: float, log: Path) -> bool:
    """Start a command and SIGKILL it after ``after`` seconds; ``True`` if it finished first."""
    with open(log, "wb") as err:
        proc = subprocess.Popen(_command(args), stdout=subprocess.DEVNULL, stderr=err)
        try:
            status = proc.wait(timeout=after)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            return False
    assert status == 0, log.read_text(errors="replace")
    return True


def _run_and_kill_on_write(args: Sequence[str | Path], folder: Path, name: str, log: Path) -> bool:
    """Start a command and SIGKILL it as soon as the file ``name`` is being written in ``folder``.

    Random moments rarely fall inside a write, which takes milliseconds; this kill does: it
    fires when ``name`` or a temporary file of it (``.tmp-<name>.*``) shows up, so a writer that
    is not atomic leaves a torn file under its final name. ``True`` if the command finished
    first.
    """
    prefix = f".tmp-{name}."
    with open(log, "wb") as err:
        proc = subprocess.Popen(_command(args), stdout=subprocess.DEVNULL, stderr=err)
        while proc.poll() is None:
            try:
                found = any(e.name == name or e.name.startswith(prefix) for e in os.scandir(folder))
            except FileNotFoundError:
                found = False
            if found:
                proc.send_signal(signal.SIGKILL)
                proc.wait()
                return False
            time.sleep(0.0005)
    assert proc.returncode == 0, log.read_text(errors="replace")
    return True


def _moments(rng: random.Random, duration: float) -> list[float]:
    """``KILLS`` moments, one in each equal slice of ``[EARLIEST, 1]`` of the duration."""
    width = (1.0 - EARLIEST) / KILLS
    return [duration * (EARLIEST + width * (i + rng.random())) for i in range(KILLS)]


# -- the case store -----------------------------------------------------------------------------


def _case_state(db: Path, scratch: Path) -> dict[str, Any] | None:
    """Counts and content digests of every table, and the ``sources`` rows; ``None`` if absent.

    The store is copied first (with its write-ahead log): opening it replays the log, which is
    what the next run would do, and must not disturb the folder under test.
    """
    if not db.exists():
        return None
    if scratch.exists():
        shutil.rmtree(scratch)
    scratch.mkdir(parents=True)
    copy = scratch / db.name
    shutil.copyfile(db, copy)
    wal = db.with_name(db.name + ".wal")
    if wal.exists():
        shutil.copyfile(wal, copy.with_name(copy.name + ".wal"))
    with open_case(copy, create=False) as case:
        tables = {
            name: tuple(
                case.con.execute(
                    f'SELECT count(*), coalesce(sum(hash(t)::HUGEINT), 0) FROM "{name}" t'
                ).fetchone()
                or ()
            )
            for name in (*TABLES, "rejects")
        }
        sources = case.con.execute(
            "SELECT path, table_name, rows_read, rows_ingested, rows_rejected, rows_duplicate "
            "FROM sources ORDER BY path, table_name, rows_ingested DESC"
        ).fetchall()
    shutil.rmtree(scratch)
    return {"tables": tables, "sources": sources}


def _ingested(sources: list[tuple[Any, ...]]) -> dict[str, int]:
    """Rows ingested per table, from ``sources`` rows."""
    totals: dict[str, int] = {}
    for _path, table, _read, ingested, _rejected, _duplicates in sources:
        totals[table] = totals.get(table, 0) + ingested
    return totals


def _assert_consistent(state: dict[str, Any] | None, complete: dict[str, Any]) -> None:
    """The store is absent, empty, or holds the whole ingest, and its accounting adds up."""
    if state is None:
        return
    for path, table, read, ingested, rejected, duplicates in state["sources"]:
        assert read == ingested + rejected + duplicates, (path, table)
    if not state["sources"]:
        assert all(count == 0 for count, _ in state["tables"].values()), state["tables"]
        return
    # One transaction: either nothing or every file and table of the ingest.
    assert state["tables"] == complete["tables"]
    ingested = _ingested(state["sources"])
    assert ingested == _ingested(complete["sources"])
    # The tables hold what `sources` says was ingested (accounts also those derived from posts).
    for table, n in ingested.items():
        count = state["tables"][table][0]
        assert count >= n if table == "accounts" else count == n, (table, count, n)


# -- output files -------------------------------------------------------------------------------


def _normalised(name: str, data: bytes) -> bytes:
    if name.endswith(".html"):
        return _GENERATED.sub(b"Generated <time>", data)
    return data


def _same_output(path: Path, reference: Path) -> bool:
    try:
        return _same_content(path, reference)
    except (ValueError, OSError, pa.ArrowException):  # unreadable: torn
        return False


def _same_content(path: Path, reference: Path) -> bool:
    if path.name == "run.json":
        # Timings and reuse differ from run to run; the file must still be whole JSON.
        return "cibscan" in json.loads(path.read_text(encoding="utf-8"))
    if path.suffix == ".parquet" and pq.read_table(path) != pq.read_table(reference):
        return False
    return _normalised(path.name, path.read_bytes()) == _normalised(
        reference.name, reference.read_bytes()
    )


def _assert_outputs_whole(folder: Path, reference: Path, *, final: bool = False) -> None:
    """Every output file in ``folder`` equals the reference; unfinished ones are ``.tmp-*``."""
    if not folder.exists():
        return
    outputs = {p.name for p in reference.iterdir() if p.name not in _STORE_FILES}
    for path in sorted(folder.iterdir()):
        if path.name in _STORE_FILES:
            continue
        if path.name.startswith(".tmp-"):
            assert not final, f"temporary file left after a finished run: {path.name}"
            continue
        assert path.name in outputs, f"unexpected file {path.name} in {folder}"
        assert _same_output(path, reference / path.name), f"{path.name} differs from a full run"
    if final:
        assert outputs <= {p.name for p in folder.iterdir()}


def _rng(command: str) -> random.Random:
    return random.Random(f"{SEED}-{command}")


# -- the tests ----------------------------------------------------------------------------------


def _ingest_args(inputs: list[Path], db: Path) -> list[str | Path]:
    return ["ingest", *inputs, "--db", db]


@pytest.fixture(scope="module")
def reference_case(inputs: list[Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An uninterrupted ingest, and the time it took (in ``duration.txt`` beside it)."""
    folder = tmp_path_factory.mktemp("reference-case")
    db = folder / "case.duckdb"
    seconds = _run(_ingest_args(inputs, db), folder / "log.txt")
    (folder / "duration.txt").write_text(f"{seconds}")
    return db


def test_killed_ingest_leaves_all_or_nothing(
    inputs: list[Path], reference_case: Path, tmp_path: Path
) -> None:
    complete = _case_state(reference_case, tmp_path / "scratch")
    assert complete is not None and complete["tables"]["posts"][0] > 0
    duration = float((reference_case.parent / "duration.txt").read_text())
    moments: list[float | None] = [*_moments(_rng("ingest"), duration), None]
    for i, moment in enumerate(moments):
        db = tmp_path / f"kill{i}" / "case.duckdb"
        db.parent.mkdir()
        args = _ingest_args(inputs, db)
        if moment is None:  # as soon as the store's write-ahead log appears
            _run_and_kill_on_write(args, db.parent, db.name + ".wal", tmp_path / "log.txt")
        else:
            _run_and_kill(args, moment, tmp_path / "log.txt")
        _assert_consistent(_case_state(db, tmp_path / "scratch"), complete)
        # The rerun completes the case (or, after a finished ingest, adds only duplicates).
        _run(args, tmp_path / "log.txt")
        state = _case_state(db, tmp_path / "scratch")
        assert state is not None
        assert state["tables"] == complete["tables"]
        _assert_consistent(state, complete)


def _killed_then_rerun(
    command: str,
    args: Callable[[Path], list[str | Path]],
    tmp_path: Path,
    check_case: tuple[dict[str, Any], Path] | None = None,
) -> Path:
    """Run a command once into a reference folder, then into ``tmp_path/out`` killed at
    ``KILLS`` moments (checking the folder after each), then to its end; return the folder."""
    out, reference, log = tmp_path / "out", tmp_path / "reference", tmp_path / "log.txt"
    duration = _run(args(reference), log)
    outputs = [p for p in reference.iterdir() if p.name not in _STORE_FILES]
    # The largest output takes longest to write: the likeliest to be torn by a kill.
    largest = max(outputs, key=lambda p: (p.stat().st_size, p.name)).name
    # That kill comes first: a rerun may reuse finished stages and write nothing again.
    kills: list[float | str] = [largest, *_moments(_rng(command), duration)]
    for kill in kills:
        if isinstance(kill, str):
            finished = _run_and_kill_on_write(args(out), out, kill, log)
        else:
            finished = _run_and_kill(args(out), kill, log)
        _assert_outputs_whole(out, reference, final=finished)
        if check_case is not None:
            complete, db = check_case
            _assert_consistent(_case_state(db, tmp_path / "scratch"), complete)
    _run(args(out), log)
    _assert_outputs_whole(out, reference, final=True)
    return out


def test_killed_networks_leaves_no_partial_output(reference_case: Path, tmp_path: Path) -> None:
    def args(out: Path) -> list[str | Path]:
        return ["networks", "--db", reference_case, "--out", out / "edges.parquet",
                "--evidence", out / "evidence.csv", "--hot-items", out / "hot.csv"]  # fmt: skip

    before = _case_state(reference_case, tmp_path / "scratch")
    _killed_then_rerun("networks", args, tmp_path)
    assert _case_state(reference_case, tmp_path / "scratch") == before  # read only


def test_killed_detect_leaves_no_partial_output(reference_case: Path, tmp_path: Path) -> None:
    def args(out: Path) -> list[str | Path]:
        return ["detect", "--db", reference_case, "--out", out]

    before = _case_state(reference_case, tmp_path / "scratch")
    _killed_then_rerun("detect", args, tmp_path)
    assert _case_state(reference_case, tmp_path / "scratch") == before  # read only


def test_killed_investigate_reruns_to_the_same_outputs(
    inputs: list[Path], reference_case: Path, tmp_path: Path
) -> None:
    complete = _case_state(reference_case, tmp_path / "scratch")
    assert complete is not None

    def args(out: Path) -> list[str | Path]:
        return ["investigate", *inputs, "--out", out]

    db = tmp_path / "out" / "case.duckdb"
    out = _killed_then_rerun("investigate", args, tmp_path, check_case=(complete, db))
    assert _case_state(out / "case.duckdb", tmp_path / "scratch") == complete


def test_atomic_writer_leaves_old_file_or_new_one(tmp_path: Path) -> None:
    """A writer killed mid-write leaves the previous file whole and a ``.tmp-`` orphan, which the
    next write of the same file removes."""
    target = tmp_path / "accounts.csv"
    target.write_text("old\n")
    code = (
        "import os, signal, sys\n"
        "from cibscan.export import atomic_path\n"
        "with atomic_path(sys.argv[1]) as tmp:\n"
        "    tmp.write_text('half')\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    killed = subprocess.run([sys.executable, "-c", code, str(target)], check=False)
    assert killed.returncode == -signal.SIGKILL
    orphans = [p.name for p in tmp_path.iterdir() if p.name != "accounts.csv"]
    assert target.read_text() == "old\n"
    assert len(orphans) == 1 and orphans[0].startswith(".tmp-accounts.csv.")

    with atomic_path(target) as tmp:
        tmp.write_text("new\n")
    assert target.read_text() == "new\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["accounts.csv"]
    assert (target.stat().st_mode & 0o777) == 0o666 & ~_umask()


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
