"""One command from files to a takedown report: ingest, detect, fingerprint, export, report.

:func:`investigate` runs the stages ``ingest → networks → detect → fingerprints →
[pseudonymize] → export → report`` and writes ``run.json`` beside the outputs: the cibscan
version, the configuration, every input file with its size and SHA-256, what each stage did
(computed or reused) and how long it took, and the row accounting of the ingest.

Stage reuse
-----------
Each stage has a key: the SHA-256 of the stage's name, the code (cibscan's version and the
bytes of its package files), the part of the configuration the stage reads, and the keys of
the stages it reads from (the ingest's key covers the input files' paths, sizes and SHA-256).
A finished stage leaves its key and artefacts in ``OUT/.cibscan-cache/<stage>/`` (Parquet and
JSON), written to a temporary folder and renamed into place, so an interrupted run leaves
either the old entry or the new one. A rerun whose key matches the entry (and whose output
files still hash to what the entry recorded) reuses the stage instead of computing it; a changed
option changes the keys of the stages that read it and of every stage after them. The same
inputs and configuration give byte-identical outputs whether a stage was reused or computed
(``report.html`` differs only in its "generated" time when it is rendered again).
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import hmac
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Literal

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from cibscan.case import Case, open_case
from cibscan.config import IngestConfig
from cibscan.detect import (
    EDGE_MIN_WEIGHT,
    TESTED_EDGE_COLUMNS,
    DetectConfig,
    Detection,
    coaction_networks,
    detect,
    write_detection,
)
from cibscan.errors import BadInputError
from cibscan.export import atomic_path, write_csv, write_gexf, write_graphml
from cibscan.fingerprints import fingerprint_networks
from cibscan.ingest import FileCounts, IngestReport, file_sha256, ingest
from cibscan.networks import NetworkConfig, NetworkResult
from cibscan.pseudonymize import Pseudonymizer, pseudonymize_case
from cibscan.significance import SignalNull

__all__ = ["CACHE_DIR", "STAGES", "Investigation", "investigate"]

#: The stages in order (``pseudonymize`` runs only with a salt).
STAGES: Final = (
    "ingest",
    "networks",
    "detect",
    "fingerprints",
    "pseudonymize",
    "export",
    "report",
)
#: The folder inside the output directory that holds the stage cache.
CACHE_DIR: Final = ".cibscan-cache"
#: The options of :class:`DetectConfig` that the co-action stage reads.
NETWORK_OPTIONS: Final = ("signals", "window", "hot_item_cap", "evidence_limit")
#: Files the export stage writes.
EXPORT_FILES: Final = (
    "accounts.csv",
    "networks.json",
    "edges.parquet",
    "edges.csv",
    "evidence.parquet",
    "graph.graphml",
    "graph.gexf",
)
#: Columns of the fused edges exported as the graph files.
GRAPH_EDGE_COLUMNS: Final = (
    "source",
    "target",
    "weight",
    "signals",
    "n_signals",
    "p_value",
    "q_value",
    "surprise",
)

Status = Literal["computed", "reused"]
StageCallback = Callable[[str], None]
DoneCallback = Callable[[str, Status, float], None]


@dataclass
class Investigation:
    """What :func:`investigate` produced.

    ``detection`` and ``networks`` carry the original account ids even when the outputs were
    pseudonymized (so a caller can evaluate them against labels).
    """

    out: Path
    case_path: Path
    report: Path
    ingest: IngestReport
    detection: Detection
    networks: list[dict[str, Any]]
    timings: dict[str, float] = field(default_factory=dict)
    stages: dict[str, Status] = field(default_factory=dict)


def investigate(
    sources: Sequence[str | os.PathLike[str]],
    out: str | os.PathLike[str],
    *,
    ingest_config: IngestConfig | None = None,
    detect_config: DetectConfig | None = None,
    pseudonymize: str | None = None,
    cache: bool = True,
    force: bool = False,
    on_stage: StageCallback | None = None,
    on_done: DoneCallback | None = None,
) -> Investigation:
    """Run the whole pipeline on input files and write every output into ``out``.

    Parameters
    ----------
    sources
        Input files, as :func:`cibscan.ingest.ingest` takes them.
    out
        Output directory: ``case.duckdb``, ``accounts.csv``, ``networks.json``,
        ``edges.parquet``, ``edges.csv``, ``evidence.parquet``, ``graph.graphml``,
        ``graph.gexf``, ``report.html``, ``run.json`` and the stage cache ``.cibscan-cache/``.
    ingest_config, detect_config
        Stage configurations (defaults when ``None``).
    pseudonymize
        A secret salt: every output names accounts by keyed pseudonyms instead of their ids,
        handles and display names (see :mod:`cibscan.pseudonymize`). ``OUT/case.duckdb`` is
        then a pseudonymized copy; the original case store stays in the cache folder (or in a
        temporary folder removed at the end, with ``cache=False``).
    cache
        Reuse finished stages from ``OUT/.cibscan-cache/`` and keep them there; ``False``
        computes every stage and removes the cache folder.
    force
        Compute every stage even when the cache holds it (and refresh the cache).
    on_stage
        Called with each stage's name as it starts (for progress display).
    on_done
        Called with each stage's name, ``"computed"`` or ``"reused"``, and its seconds.

    Examples
    --------
    >>> from cibscan.investigate import investigate
    >>> result = investigate(["posts.csv"], "case1")  # doctest: +SKIP
    >>> result.stages  # doctest: +SKIP
    {'ingest': 'computed', 'networks': 'computed', 'detect': 'computed', ...}
    """
    for source in map(Path, sources):  # before anything is written into ``out``
        if not source.exists():
            raise BadInputError("no such file", file=str(source))
        if source.is_dir():
            raise BadInputError("is a directory, not a file", file=str(source))
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    run = _Run(
        folder=folder,
        icfg=ingest_config or IngestConfig(),
        dcfg=detect_config or DetectConfig(),
        salt=pseudonymize,
        store=_Store(folder / CACHE_DIR if cache else None, force=force),
        on_stage=on_stage,
        on_done=on_done,
    )
    if not cache:
        shutil.rmtree(folder / CACHE_DIR, ignore_errors=True)
    with contextlib.ExitStack() as stack:
        if pseudonymize is not None and not cache:
            scratch = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="cibscan-")))
            run.original = scratch / "case.duckdb"
        elif pseudonymize is not None:
            run.original = folder / CACHE_DIR / "original.duckdb"
        else:
            run.original = folder / "case.duckdb"
        return run.execute([Path(s) for s in sources])


# The cache ------------------------------------------------------------------------------------


def _digest(data: Any) -> str:
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


_CODE: dict[str, str] = {}


def _code_digest() -> str:
    """Version and bytes of the installed package: a code change invalidates every stage."""
    if "digest" not in _CODE:
        from cibscan import __version__

        root = Path(__file__).parent
        digest = hashlib.sha256(__version__.encode())
        for path in sorted(root.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
                digest.update(str(path.relative_to(root)).encode() + b"\0")
                digest.update(path.read_bytes())
        _CODE["digest"] = digest.hexdigest()
    return _CODE["digest"]


def _stat(path: Path) -> list[int]:
    info = path.stat()
    return [info.st_size, info.st_mtime_ns]


@dataclass
class _Store:
    """Stage entries under ``root/<stage>/``: ``stage.json`` (key and facts) and artefacts."""

    root: Path | None
    force: bool = False

    def lookup(self, stage: str, key: str) -> tuple[Path, dict[str, Any]] | None:
        """The entry's folder and facts when it holds ``key``."""
        if self.root is None or self.force:
            return None
        entry = self.root / stage
        try:
            facts: dict[str, Any] = json.loads((entry / "stage.json").read_text("utf-8"))
        except (OSError, ValueError):
            return None
        if facts.get("key") != key:
            return None
        # A missing or truncated artefact makes the entry a miss, not an error.
        for name, size in facts.get("artefacts", {}).items():
            path = entry / name
            if not path.is_file() or path.stat().st_size != size:
                return None
        return entry, facts

    @contextlib.contextmanager
    def write(self, stage: str, key: str, facts: dict[str, Any]) -> Iterator[Path | None]:
        """Yield a folder for the artefacts; on success it replaces the stage's entry."""
        if self.root is None:
            yield None
            return
        self.root.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{stage}.", suffix=".tmp", dir=self.root))
        try:
            yield staging
            artefacts = {p.name: p.stat().st_size for p in sorted(staging.iterdir())}
            (staging / "stage.json").write_text(
                json.dumps({"key": key, **facts, "artefacts": artefacts}, indent=1, default=str),
                encoding="utf-8",
            )
            entry = self.root / stage
            if entry.exists():
                old = Path(tempfile.mkdtemp(prefix=f".{stage}.", suffix=".old", dir=self.root))
                os.replace(entry, old / stage)
                shutil.rmtree(old)
            os.replace(staging, entry)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise


def _hashes(folder: Path, names: Sequence[str]) -> dict[str, str]:
    return {name: file_sha256(folder / name) for name in names}


def _files_intact(folder: Path, recorded: dict[str, str]) -> bool:
    try:
        return all(file_sha256(folder / n) == h for n, h in recorded.items())
    except OSError:
        return False


def _write_tables(folder: Path | None, tables: dict[str, pa.Table]) -> None:
    if folder is not None:
        for name, table in tables.items():
            pq.write_table(table, folder / f"{name}.parquet", compression="zstd")


def _read_tables(folder: Path, names: Sequence[str]) -> dict[str, pa.Table]:
    return {name: pq.read_table(folder / f"{name}.parquet") for name in names}


def _remove_case(path: Path) -> None:
    for stale in (path, path.with_name(path.name + ".wal")):
        stale.unlink(missing_ok=True)


# The run --------------------------------------------------------------------------------------


@dataclass
class _Run:
    folder: Path
    icfg: IngestConfig
    dcfg: DetectConfig
    salt: str | None
    store: _Store
    on_stage: StageCallback | None
    on_done: DoneCallback | None
    original: Path = Path()
    keys: dict[str, str] = field(default_factory=dict)
    statuses: dict[str, Status] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    _started: float = 0.0

    def begin(self, stage: str, key: str) -> tuple[Path, dict[str, Any]] | None:
        self.keys[stage] = key
        if self.on_stage is not None:
            self.on_stage(stage)
        self._started = time.perf_counter()
        return self.store.lookup(stage, key)

    def end(self, stage: str, status: Status) -> None:
        seconds = time.perf_counter() - self._started
        self.timings[stage] = seconds
        self.statuses[stage] = status
        if self.on_done is not None:
            self.on_done(stage, status, seconds)

    def key(self, stage: str, **parts: Any) -> str:
        return _digest({"stage": stage, "code": _code_digest(), **parts})

    def execute(self, sources: list[Path]) -> Investigation:
        report = self.ingest(sources)
        case = open_case(self.original, create=False, read_only=True)
        try:
            coaction = self.networks(case)
            detection = self.detect(case, coaction)
            detection.networks = self.fingerprints(case, detection)
            shown = self.pseudonymize(case)
            self.export(case, detection)
        finally:
            case.close()
        report_path = self.report(shown)
        self.write_run(report, detection)
        return Investigation(
            out=self.folder,
            case_path=self.folder / "case.duckdb",
            report=report_path,
            ingest=report,
            detection=detection,
            networks=detection.networks,
            timings=self.timings,
            stages=dict(self.statuses),
        )

    # -- ingest: the case store, at self.original
    def ingest(self, sources: list[Path]) -> IngestReport:
        inputs = [
            {"path": str(p.resolve()), "size": p.stat().st_size, "sha256": file_sha256(p)}
            for p in sources
        ]
        config = _plain(vars(self.icfg))
        found = self.begin("ingest", self.key("ingest", inputs=inputs, config=config))
        if found is not None:
            facts = found[1]
            at = Path(facts["case"])
            if at.exists() and _stat(at) == facts["stat"]:
                if at != self.original:
                    # Switching between pseudonymized and plain runs moves the case store.
                    _remove_case(self.original)
                    self.original.parent.mkdir(parents=True, exist_ok=True)
                    os.replace(at, self.original)
                    self._record_ingest(facts["report"])
                self.end("ingest", "reused")
                return _ingest_report(facts["report"])
        _remove_case(self.original)
        self.original.parent.mkdir(parents=True, exist_ok=True)
        case = open_case(self.original)
        try:
            report = ingest(sources, case, self.icfg)
        finally:
            case.close()
        self._record_ingest(report.as_dict())
        self.end("ingest", "computed")
        return report

    def _record_ingest(self, report: dict[str, Any]) -> None:
        facts = {"case": str(self.original), "stat": _stat(self.original), "report": report}
        with self.store.write("ingest", self.keys["ingest"], facts):
            pass

    # -- networks: co-action edges, evidence and hot items
    def networks(self, case: Case) -> NetworkResult:
        options = {k: v for k, v in self.dcfg.as_dict().items() if k in NETWORK_OPTIONS}
        found = self.begin("networks", self.key("networks", up=self.keys["ingest"], **options))
        names = ("edges", "evidence", "hot_items")
        if found is not None:
            entry, facts = found
            tables = _read_tables(entry, names)
            result = NetworkResult(
                edges=tables["edges"],
                evidence=tables["evidence"],
                hot_items=tables["hot_items"],
                windows=facts["windows"],
                config=NetworkConfig(
                    signals=tuple(self.dcfg.signals),
                    window=self.dcfg.window,
                    min_weight=EDGE_MIN_WEIGHT,
                    hot_item_cap=self.dcfg.hot_item_cap,
                    evidence_limit=self.dcfg.evidence_limit,
                ),
                stats=facts["stats"],
            )
            self.end("networks", "reused")
            return result
        result = coaction_networks(case, self.dcfg)
        facts = {"windows": result.windows, "stats": result.stats}
        with self.store.write("networks", self.keys["networks"], facts) as staging:
            _write_tables(
                staging,
                {"edges": result.edges, "evidence": result.evidence, "hot_items": result.hot_items},
            )
        self.end("networks", "computed")
        return result

    # -- detect: significance, fusion, clusters, assessment
    def detect(self, case: Case, coaction: NetworkResult) -> Detection:
        found = self.begin(
            "detect", self.key("detect", up=self.keys["networks"], config=self.dcfg.as_dict())
        )
        names = ("accounts", "edges", "fused", "evidence", "hot_items")
        if found is not None:
            entry, facts = found
            tables = _read_tables(entry, names)
            nulls = {
                signal: SignalNull(
                    signal=signal,
                    incidences=null["incidences"],
                    pair_mass=null["pair_mass"],
                    rate=null["rate"],
                    degrees=pq.read_table(entry / f"null-{i}.parquet"),
                )
                for i, (signal, null) in enumerate(facts["nulls"].items())
            }
            detection = Detection(
                networks=facts["networks"],
                groups=facts["groups"],
                nulls=nulls,
                config=self.dcfg,
                timings=facts["timings"],
                attributed=bool(facts.get("attributed", False)),
                **tables,
            )
            self.end("detect", "reused")
            return detection
        detection = detect(case, self.dcfg, coaction=coaction)
        facts = {
            "networks": detection.networks,
            "groups": detection.groups,
            "nulls": {s: n.as_dict() for s, n in detection.nulls.items()},
            "timings": detection.timings,
            "attributed": detection.attributed,
        }
        with self.store.write("detect", self.keys["detect"], facts) as staging:
            _write_tables(staging, {name: getattr(detection, name) for name in names})
            _write_tables(
                staging,
                {f"null-{i}": n.degrees for i, n in enumerate(detection.nulls.values())},
            )
        self.end("detect", "computed")
        return detection

    # -- fingerprints: merged into each network's record
    def fingerprints(self, case: Case, detection: Detection) -> list[dict[str, Any]]:
        found = self.begin("fingerprints", self.key("fingerprints", up=self.keys["detect"]))
        if found is not None:
            networks: list[dict[str, Any]] = found[1]["networks"]
            self.end("fingerprints", "reused")
            return networks
        networks = fingerprint_networks(case.con, detection.networks)
        # Through JSON once, so a computed run hands the export exactly what a reused one does.
        networks = json.loads(json.dumps(networks))
        with self.store.write("fingerprints", self.keys["fingerprints"], {"networks": networks}):
            pass
        self.end("fingerprints", "computed")
        return networks

    # -- pseudonymize: OUT/case.duckdb, a renamed copy of the case (for the report and explain)
    def pseudonymize(self, case: Case) -> Path:
        shown = self.folder / "case.duckdb"
        if self.salt is None:
            return self.original
        check = hmac.new(self.salt.encode(), b"cibscan pseudonyms", hashlib.sha256).hexdigest()
        self.keys["salt"] = check
        found = self.begin(
            "pseudonymize", self.key("pseudonymize", up=self.keys["ingest"], salt=check)
        )
        if found is not None and shown.exists() and _stat(shown) == found[1]["stat"]:
            self.end("pseudonymize", "reused")
            return shown
        _remove_case(shown)
        target = open_case(shown)
        try:
            pseudonymize_case(case.con, target.con, Pseudonymizer.from_case(case.con, self.salt))
        finally:
            target.close()
        with self.store.write("pseudonymize", self.keys["pseudonymize"], {"stat": _stat(shown)}):
            pass
        self.end("pseudonymize", "computed")
        return shown

    # -- export: accounts.csv, networks.json, edges, evidence, graph files
    def export(self, case: Case, detection: Detection) -> None:
        key = self.key(
            "export", up=self.keys["fingerprints"], salt=self.keys.get("salt"), files=EXPORT_FILES
        )
        found = self.begin("export", key)
        if found is not None and _files_intact(self.folder, found[1]["files"]):
            self.end("export", "reused")
            return
        nodes = _node_attributes(case, detection)
        shown = detection
        if self.salt is not None:
            names = Pseudonymizer.from_case(case.con, self.salt)
            shown = _pseudonymized(detection, names)
            nodes = names.table(nodes, accounts=("id",)).sort_by("id")
        write_detection(shown, self.folder)
        write_csv(shown.edges.select(list(TESTED_EDGE_COLUMNS)), self.folder / "edges.csv")
        graph = shown.fused.select(list(GRAPH_EDGE_COLUMNS))
        # DuckDB sums integers to a 128-bit decimal, which GraphML would type as a string;
        # Gephi reads a numeric weight.
        weight = graph.column_names.index("weight")
        graph = graph.set_column(weight, "weight", pc.cast(graph["weight"], pa.int64()))
        write_graphml(graph, self.folder / "graph.graphml", nodes=nodes)
        write_gexf(
            graph,
            self.folder / "graph.gexf",
            description="cibscan fused co-action network",
            nodes=nodes,
        )
        facts = {"files": _hashes(self.folder, EXPORT_FILES)}
        with self.store.write("export", key, facts):
            pass
        self.end("export", "computed")

    # -- report: report.html from the exports and the (possibly pseudonymized) case
    def report(self, shown: Path) -> Path:
        from cibscan.report import render_report

        target = self.folder / "report.html"
        key = self.key("report", up=self.keys["export"], seed=0, max_background_nodes=5000)
        found = self.begin("report", key)
        if found is not None and _files_intact(self.folder, found[1]["files"]):
            self.end("report", "reused")
            return target
        case = open_case(shown, create=False, read_only=True)
        try:
            render_report(case, self.folder, target)
        finally:
            case.close()
        with self.store.write("report", key, {"files": _hashes(self.folder, ["report.html"])}):
            pass
        self.end("report", "computed")
        return target

    def write_run(self, report: IngestReport, detection: Detection) -> None:
        from cibscan import __version__

        run = {
            "cibscan": __version__,
            "config": {"ingest": _plain(vars(self.icfg)), "detect": self.dcfg.as_dict()},
            "pseudonymized": self.salt is not None,
            "inputs": report.inputs,
            "rows": report.as_dict(),
            "stages": {
                name: {
                    "status": self.statuses[name],
                    "seconds": round(self.timings[name], 3),
                    "key": self.keys[name],
                }
                for name in STAGES
                if name in self.statuses
            },
            "reused": [name for name in STAGES if self.statuses.get(name) == "reused"],
            "timings_seconds": {k: round(v, 3) for k, v in self.timings.items()},
            "networks": len(detection.networks),
            "coordinated_groups": len(detection.groups),
        }
        with atomic_path(self.folder / "run.json") as tmp:
            tmp.write_text(json.dumps(run, indent=2, default=str) + "\n", encoding="utf-8")


def _ingest_report(data: dict[str, Any]) -> IngestReport:
    return IngestReport(
        files=[FileCounts(**f) for f in data["files"]],
        accounts_derived=data["accounts_derived"],
        inputs=data["inputs"],
    )


def _pseudonymized(detection: Detection, names: Pseudonymizer) -> Detection:
    """The detection's tables and records with every account reference renamed."""
    return dataclasses.replace(
        detection,
        # Re-sorted by pseudonym within equal scores: the original order would hint at the ids.
        accounts=names.table(detection.accounts, accounts=("account_id",)).sort_by(
            [("score", "descending"), ("account_id", "ascending")]
        ),
        edges=names.table(detection.edges, accounts=("source", "target")),
        fused=names.table(detection.fused, accounts=("source", "target")),
        evidence=names.evidence(detection.evidence),
        networks=[_sorted_members(n) for n in names.document(detection.networks)],
        groups=[_sorted_members(g) for g in names.document(detection.groups)],
    )


def _sorted_members(record: dict[str, Any]) -> dict[str, Any]:
    # Member lists are sorted by id; sorted again by pseudonym, they no longer hint at the ids.
    for key in ("accounts", "administered_assets"):
        if isinstance(record.get(key), list):
            record[key] = sorted(record[key])
    return record


def _node_attributes(case: Case, detection: Detection) -> pa.Table:
    """``id, network, group, score, kind`` for every account in a network or group."""
    con = case.con
    con.register("_acc", detection.accounts)
    try:
        return con.sql(
            """
            SELECT a.account_id AS id, coalesce(a.network_id, '') AS network,
                   coalesce(a.coordinated_group, '') AS "group", a.score,
                   coalesce(c.kind, 'user') AS kind
            FROM _acc a LEFT JOIN accounts c USING (account_id)
            WHERE a.network_id IS NOT NULL OR a.coordinated_group IS NOT NULL OR a.score > 0
            ORDER BY id
            """
        ).to_arrow_table()
    finally:
        con.unregister("_acc")


def _plain(data: dict[str, Any]) -> dict[str, Any]:
    return {k: (dict(v) if hasattr(v, "items") else v) for k, v in data.items()}
