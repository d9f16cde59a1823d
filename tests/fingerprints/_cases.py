"""Building small in-memory cases for the fingerprint tests."""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from cibscan.case import Case, open_case
from cibscan.schema import TABLES

_ARROW = {
    "VARCHAR": pa.string(),
    "TIMESTAMPTZ": pa.timestamp("us", tz="UTC"),
    "BIGINT": pa.int64(),
    "VARCHAR[]": pa.list_(pa.string()),
}


def insert(case: Case, table: str, rows: list[dict[str, Any]] | pa.Table) -> None:
    """Insert rows (dicts with any subset of the table's columns, or an Arrow table)."""
    if isinstance(rows, list):
        columns = {c for r in rows for c in r}
        rows = pa.table(
            {
                c: pa.array([r.get(c) for r in rows], _ARROW[TABLES[table][c]])
                for c in TABLES[table]
                if c in columns
            }
        )
    case.con.register("_staged", rows)
    case.con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM _staged")
    case.con.unregister("_staged")


def new_case(**tables: list[dict[str, Any]] | pa.Table) -> Case:
    """An in-memory case holding the given rows."""
    case = open_case()
    for name, rows in tables.items():
        insert(case, name, rows)
    return case


def assignment(networks: dict[str, list[str]]) -> pa.Table:
    """``{network: [accounts]}`` as an assignment table."""
    return pa.table(
        {
            "account_id": [a for accounts in networks.values() for a in accounts],
            "network_id": [n for n, accounts in networks.items() for _ in accounts],
        }
    )
