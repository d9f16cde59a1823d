"""The assignment table (account -> network) as the fingerprint modules read it.

Private to the rhythm, creation, infrastructure and asset fingerprints: it checks an assignment
once, registers Arrow tables with DuckDB for one query, and fetches results as Arrow.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from cibscan.errors import BadInputError

__all__ = ["fetch_arrow", "network_ids", "registered", "validated_assignment"]


def validated_assignment(assignment: pa.Table) -> pa.Table:
    """Check an assignment table and return it as ``account_id, network_id`` strings.

    Raises
    ------
    BadInputError
        When a column is missing, a value is null, or an account has two rows.
    """
    missing = [c for c in ("account_id", "network_id") if c not in assignment.column_names]
    if missing:
        raise BadInputError(
            f"the assignment table has no {' or '.join(repr(c) for c in missing)} column; it "
            f"needs account_id and network_id (it has {assignment.column_names})",
            column=missing[0],
        )
    table = pa.table(
        {
            "account_id": pc.cast(assignment["account_id"], pa.string()),
            "network_id": pc.cast(assignment["network_id"], pa.string()),
        }
    )
    for name in ("account_id", "network_id"):
        nulls = table[name].null_count
        if nulls:
            row = int(pc.index(pc.is_null(table[name]), True).as_py()) + 1
            raise BadInputError(
                f"the assignment table has {nulls} null {name}(s); give every row a value",
                row=row,
                column=name,
            )
    if pc.count_distinct(table["account_id"]).as_py() != table.num_rows:
        counts = pc.value_counts(table["account_id"])
        dup = next(v["values"] for v in counts.to_pylist() if v["counts"] > 1)
        raise BadInputError(
            "an account appears more than once in the assignment table; give each account "
            "one network",
            column="account_id",
            value=dup,
        )
    return table


def network_ids(assignment: pa.Table) -> list[str]:
    """The distinct network ids of a validated assignment, sorted."""
    return sorted({str(v) for v in assignment["network_id"].to_pylist()})


def fetch_arrow(
    con: duckdb.DuckDBPyConnection, sql: str, params: list[object] | None = None
) -> pa.Table:
    """Run a query and return its result as an Arrow table."""
    table = con.sql(sql, params=params).to_arrow_table()
    assert isinstance(table, pa.Table)
    return table


@contextmanager
def registered(con: duckdb.DuckDBPyConnection, table: pa.Table, stem: str) -> Iterator[str]:
    """Register an Arrow table under a fresh name for the duration of a query."""
    name = f"_cibscan_{stem}_{uuid.uuid4().hex[:12]}"
    con.register(name, table)
    try:
        yield name
    finally:
        con.unregister(name)
