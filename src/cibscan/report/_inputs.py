"""Reading what ``cibscan detect`` wrote: networks.json, accounts.csv, edges and evidence."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from cibscan.errors import BadInputError, EmptyInputError
from cibscan.export import restore_formula

__all__ = ["DetectionOutputs", "load_detection"]

_ACCOUNT_TYPES: Final = {
    "account_id": pa.string(),
    "network_id": pa.string(),
    "score": pa.float64(),
    "pagerank": pa.float64(),
    "degree": pa.int64(),
    "top_signals": pa.string(),
}
_EDGE_COLUMNS: Final = ("source", "target", "signal", "weight", "q_value")
_EVIDENCE_COLUMNS: Final = (
    "signal",
    "source",
    "target",
    "item",
    "source_post",
    "source_time",
    "target_post",
    "target_time",
    "gap",
)


@dataclass(frozen=True)
class DetectionOutputs:
    """The detect outputs of one run.

    Attributes
    ----------
    networks
        The flagged networks, ranked (``networks.json``).
    document
        The whole ``networks.json`` (config, coordinated groups, null models...).
    accounts
        ``account_id, network_id, score, top_signals`` (and ``degree``, ``pagerank``) of every
        account, with the CSV's formula neutralisation undone.
    edges
        Per-signal edges (``source, target, signal, weight, q_value`` and the rest).
    evidence
        Post pairs behind the edges.
    """

    networks: list[dict[str, Any]]
    document: dict[str, Any]
    accounts: pa.Table
    edges: pa.Table
    evidence: pa.Table

    @property
    def alpha(self) -> float:
        """The false-discovery level the detection used (edges with ``q <= alpha`` are shown)."""
        value = (self.document.get("config") or {}).get("alpha", 0.05)
        return float(value) if isinstance(value, int | float) else 0.05


def _undo_formula_guard(column: pa.ChunkedArray) -> pa.Array:
    # write_csv prefixed text cells that a spreadsheet would run with "'"; the report shows the
    # real value (escaped for HTML), so the guard is taken off again.
    values = column.to_pylist()
    return pa.array([restore_formula(v) if isinstance(v, str) else v for v in values], pa.string())


def _read_accounts(path: Path) -> pa.Table:
    if not path.exists():
        raise BadInputError("missing; rerun `cibscan detect` to write it", file=str(path))
    try:
        table = pacsv.read_csv(
            path,
            convert_options=pacsv.ConvertOptions(
                column_types=_ACCOUNT_TYPES,
                strings_can_be_null=True,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, OSError) as exc:
        raise BadInputError(f"cannot read as CSV: {exc}", file=str(path)) from exc
    if "account_id" not in table.column_names:
        raise BadInputError("no account_id column", file=str(path), column="account_id")
    for name in ("account_id", "network_id", "top_signals"):
        if name in table.column_names:
            table = table.set_column(
                table.column_names.index(name), name, _undo_formula_guard(table[name])
            )
    for name, kind in _ACCOUNT_TYPES.items():
        if name not in table.column_names:
            table = table.append_column(name, pa.nulls(table.num_rows, kind))
    return table


def _read_parquet(path: Path, columns: tuple[str, ...]) -> pa.Table:
    if not path.exists():
        raise BadInputError("missing; rerun `cibscan detect` to write it", file=str(path))
    try:
        table = pq.read_table(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise BadInputError(f"cannot read as Parquet: {exc}", file=str(path)) from exc
    missing = [c for c in columns if c not in table.column_names]
    if missing:
        raise BadInputError(
            f"columns {', '.join(missing)} missing; rerun `cibscan detect`",
            file=str(path),
            column=missing[0],
        )
    return table


def load_detection(folder: Path) -> DetectionOutputs:
    """Read the outputs of ``cibscan detect`` in ``folder``.

    Raises
    ------
    BadInputError
        If a file is missing or unreadable, or ``networks.json`` lacks its ``networks`` list.
    """
    if not folder.is_dir():
        raise EmptyInputError(f"{folder} is not a folder of detect outputs")
    path = folder / "networks.json"
    if not path.exists():
        raise BadInputError("missing; rerun `cibscan detect` to write it", file=str(path))
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BadInputError(f"not valid JSON: {exc}", file=str(path)) from exc
    networks = document.get("networks") if isinstance(document, dict) else None
    if not isinstance(networks, list) or not all(isinstance(n, dict) for n in networks):
        raise BadInputError(
            "no list of networks under the key 'networks'", file=str(path), column="networks"
        )
    for i, network in enumerate(networks, start=1):
        if "id" not in network or not isinstance(network.get("accounts"), list):
            raise BadInputError(
                "a network needs an 'id' and an 'accounts' list",
                file=str(path),
                row=i,
                column="networks",
                row_label="network",
            )
    return DetectionOutputs(
        networks=networks,
        document=document,
        accounts=_read_accounts(folder / "accounts.csv"),
        edges=_read_parquet(folder / "edges.parquet", _EDGE_COLUMNS),
        evidence=_read_parquet(folder / "evidence.parquet", _EVIDENCE_COLUMNS),
    )
