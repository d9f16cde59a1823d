"""Determinism: the same inputs, configuration and seed give byte-identical outputs.

``investigate`` runs four times on a synthetic case whose posts are split over two files: a
reference run, the same again, the inputs in the reverse order, and DuckDB on one thread instead
of two (``CIBSCAN_THREADS``). Every output must be identical byte for byte; the only fields
left out are timings (``networks.json`` keys named ``timings``/``seconds``, none today) and the
"generated" time printed in ``report.html``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from cibscan.case import connect
from cibscan.cli import main
from cibscan.errors import ConfigError
from cibscan.investigate import investigate
from cibscan.synth import SynthConfig, generate, write_scenario

pytestmark = pytest.mark.slow

#: Outputs compared byte for byte (after the normalisations below).
OUTPUTS = (
    "accounts.csv",
    "networks.json",
    "edges.csv",
    "edges.parquet",
    "evidence.parquet",
    "graph.graphml",
    "graph.gexf",
    "report.html",
)
_TIMING_KEYS = frozenset({"timings", "timings_seconds", "seconds"})
_GENERATED = re.compile(rb"Generated \d{4}-\d\d-\d\d \d\d:\d\d UTC")


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """The ``office`` scenario with its posts in two files (every other row)."""
    folder = tmp_path_factory.mktemp("synth")
    scenario = generate("office", seed=7, config=SynthConfig(accounts=300, posts=8000, days=5))
    write_scenario(scenario, folder)
    posts = pq.read_table(folder / "posts.parquet")
    even = pa.array([i % 2 == 0 for i in range(posts.num_rows)])
    pq.write_table(posts.filter(even), folder / "posts_a.parquet")
    pq.write_table(posts.filter(pc.invert(even)), folder / "posts_b.parquet")
    names = ("posts_a.parquet", "posts_b.parquet", "accounts.csv", "memberships.csv", "infra.csv")
    return [folder / name for name in names]


def _investigate(
    sources: list[Path], out: Path, threads: int, monkeypatch: pytest.MonkeyPatch
) -> Path:
    with monkeypatch.context() as patch:
        patch.setenv("CIBSCAN_THREADS", str(threads))
        investigate(sources, out)
    return out


@pytest.fixture(scope="module")
def runs(inputs: list[Path], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Output folders: reference, again, reversed input order, one DuckDB thread."""
    root = tmp_path_factory.mktemp("runs")
    patch = pytest.MonkeyPatch()
    try:
        return {
            "reference": _investigate(inputs, root / "reference", 2, patch),
            "again": _investigate(inputs, root / "again", 2, patch),
            "reversed": _investigate(inputs[::-1], root / "reversed", 2, patch),
            "one thread": _investigate(inputs, root / "one-thread", 1, patch),
        }
    finally:
        patch.undo()


def _without_timings(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_timings(v) for k, v in value.items() if k not in _TIMING_KEYS}
    if isinstance(value, list):
        return [_without_timings(v) for v in value]
    return value


def _comparable(path: Path) -> bytes:
    """The file's bytes, with only the fields that may differ between runs taken out."""
    data = path.read_bytes()
    if path.name == "report.html":
        stamped = _GENERATED.subn(b"Generated <time>", data)
        assert stamped[1] == 1, "report.html should print its generation time exactly once"
        return stamped[0]
    if path.name == "networks.json":
        document = json.loads(data)
        plain = _without_timings(document)
        if plain != document:
            return json.dumps(plain, indent=1, sort_keys=True).encode()
    return data


@pytest.mark.parametrize("variant", ["again", "reversed", "one thread"])
@pytest.mark.parametrize("name", OUTPUTS)
def test_outputs_are_byte_identical(runs: dict[str, Path], variant: str, name: str) -> None:
    reference, other = runs["reference"] / name, runs[variant] / name
    if name.endswith(".parquet"):
        # Content first, for a readable failure; then the bytes.
        assert pq.read_table(other).equals(pq.read_table(reference))
    assert _comparable(other) == _comparable(reference), f"{name} differs ({variant})"


def test_networks_command_writes_the_same_bytes(
    runs: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``cibscan networks`` (edges with the run's configuration in the Parquet metadata)."""
    db = runs["reference"] / "case.duckdb"
    written = []
    for threads in (2, 1):
        monkeypatch.setenv("CIBSCAN_THREADS", str(threads))
        out = tmp_path / f"threads{threads}"
        args = ["networks", "--db", str(db), "--out", str(out / "edges.parquet"),
                "--evidence", str(out / "evidence.parquet"), "--hot-items", str(out / "hot.csv"),
                "--signal", "share,link,hashtag_seq,near_text", "--min-weight", "1"]  # fmt: skip
        assert main(args) == 0
        written.append({p.name: p.read_bytes() for p in sorted(out.iterdir())})
    assert list(written[0]) == ["edges.parquet", "evidence.parquet", "hot.csv"]
    assert written[0] == written[1]


def test_the_case_is_not_trivial(runs: dict[str, Path]) -> None:
    """The comparison means something: networks, edges and evidence were found."""
    document = json.loads((runs["reference"] / "networks.json").read_text(encoding="utf-8"))
    assert document["networks"]
    assert pq.read_metadata(runs["reference"] / "edges.parquet").num_rows > 1000
    assert pq.read_metadata(runs["reference"] / "evidence.parquet").num_rows > 1000


def test_threads_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CIBSCAN_THREADS", "1")
    con = connect()
    assert con.execute("SELECT current_setting('threads')").fetchone() == (1,)
    con.close()
    monkeypatch.setenv("CIBSCAN_THREADS", "two")
    with pytest.raises(ConfigError, match="CIBSCAN_THREADS must be a whole number"):
        connect()
