"""The floor of ``bench_networks.py``: the CSV into a DuckDB file as text, nothing else.

Run as ``python _floor.py CSV DB [MEMORY_LIMIT]``: DuckDB's CSV reader into a table of text
columns, then a checkpoint; prints the time as JSON. No validation, no types, no derived
columns, no row accounting: a lower bound for any loader that stores the rows in a DuckDB file.
It imports nothing but DuckDB, so that its memory is DuckDB's own.
"""

from __future__ import annotations

import json
import sys
import time


def main() -> None:
    """Load the CSV as text into a fresh DuckDB file; print the seconds as JSON."""
    import duckdb

    csv, db = sys.argv[1], sys.argv[2]
    limit = sys.argv[3] if len(sys.argv) > 3 and sys.argv[3] != "none" else None
    t0 = time.perf_counter()
    con = duckdb.connect(db)
    if limit:
        con.execute(f"SET memory_limit = '{limit}'")
    con.execute(
        f"CREATE TABLE posts AS SELECT * FROM read_csv('{csv}', header = true, all_varchar = true)"
    )
    con.execute("CHECKPOINT")
    con.close()
    print(json.dumps({"floor": time.perf_counter() - t0}))


if __name__ == "__main__":
    main()
