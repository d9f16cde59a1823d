"""One command from files to a takedown report: ingest, detect, fingerprint, export, report.

:func:`investigate` runs every stage on a fresh case store in the output directory and writes
``run.json`` beside the outputs: the cibscan version, the configuration, every input file with
its size and SHA-256, the timings of the stages and the row accounting of the ingest.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute

from cibscan.case import open_case
from cibscan.config import IngestConfig
from cibscan.detect import (
    TESTED_EDGE_COLUMNS,
    DetectConfig,
    Detection,
    detect,
    write_detection,
)
from cibscan.export import atomic_path, write_csv, write_gexf, write_graphml
from cibscan.fingerprints import fingerprint_networks
from cibscan.ingest import IngestReport, ingest

__all__ = ["Investigation", "investigate"]

StageCallback = Callable[[str], None]


@dataclass
class Investigation:
    """What :func:`investigate` produced."""

    out: Path
    case_path: Path
    report: Path
    ingest: IngestReport
    detection: Detection
    networks: list[dict[str, Any]]
    timings: dict[str, float] = field(default_factory=dict)


def investigate(
    sources: Sequence[str | os.PathLike[str]],
    out: str | os.PathLike[str],
    *,
    ingest_config: IngestConfig | None = None,
    detect_config: DetectConfig | None = None,
    on_stage: StageCallback | None = None,
) -> Investigation:
    """Run the whole pipeline on input files and write every output into ``out``.

    Parameters
    ----------
    sources
        Input files, as :func:`cibscan.ingest.ingest` takes them.
    out
        Output directory: ``case.duckdb``, ``accounts.csv``, ``networks.json``,
        ``edges.parquet``, ``edges.csv``, ``evidence.parquet``, ``graph.graphml``,
        ``graph.gexf``, ``report.html`` and ``run.json``.
    ingest_config, detect_config
        Stage configurations (defaults when ``None``).
    on_stage
        Called with each stage's name as it starts (for progress display).
    """
    from cibscan import __version__
    from cibscan.report import render_report

    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    icfg = ingest_config or IngestConfig()
    dcfg = detect_config or DetectConfig()
    timings: dict[str, float] = {}

    def stage(name: str) -> float:
        if on_stage is not None:
            on_stage(name)
        return time.perf_counter()

    db = folder / "case.duckdb"
    # A fresh case each run: the same inputs and config then give the same outputs.
    for stale in (db, db.with_name(db.name + ".wal")):
        stale.unlink(missing_ok=True)
    case = open_case(db)
    try:
        started = stage("ingest")
        report = ingest(sources, case, icfg)
        timings["ingest"] = time.perf_counter() - started
        started = stage("detect")
        detection = detect(case, dcfg)
        timings["detect"] = time.perf_counter() - started
        started = stage("fingerprints")
        networks = fingerprint_networks(case.con, detection.networks)
        detection.networks = networks
        timings["fingerprints"] = time.perf_counter() - started
        started = stage("export")
        write_detection(detection, folder)
        edges = detection.edges.select(list(TESTED_EDGE_COLUMNS))
        write_csv(edges, folder / "edges.csv")
        graph = detection.fused.select(
            ["source", "target", "weight", "signals", "n_signals", "p_value", "q_value", "surprise"]
        )
        write_graphml(graph, folder / "graph.graphml")
        write_gexf(graph, folder / "graph.gexf", description="cibscan fused co-action network")
        timings["export"] = time.perf_counter() - started
        started = stage("report")
        report_path = render_report(case, folder, folder / "report.html")
        timings["report"] = time.perf_counter() - started
    finally:
        case.close()
    run = {
        "cibscan": __version__,
        "config": {"ingest": _plain(vars(icfg)), "detect": dcfg.as_dict()},
        "inputs": report.inputs,
        "rows": report.as_dict(),
        "timings_seconds": {k: round(v, 3) for k, v in timings.items()},
        "networks": len(networks),
        "coordinated_groups": len(detection.groups),
    }
    with atomic_path(folder / "run.json") as tmp:
        tmp.write_text(json.dumps(run, indent=2, default=str) + "\n", encoding="utf-8")
    return Investigation(
        out=folder,
        case_path=db,
        report=report_path,
        ingest=report,
        detection=detection,
        networks=networks,
        timings=timings,
    )


def _node_attributes(case: Any, detection: Detection) -> pa.Table:
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
