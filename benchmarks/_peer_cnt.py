"""coordination-network-toolkit's step of ``bench_networks.py``, in a process of its own.

Run as ``python _peer_cnt.py CSV DB WINDOW MIN_WEIGHT``: ``preprocess`` of the CSV, then
``compute`` co_retweet and co_link with two worker processes; prints the three times as JSON.
It imports nothing but the peer and the standard library, so that the memory measured is the
peer's own (the benchmark's workload generator would add NumPy and Arrow to it).
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
import time


def main() -> None:
    """Run the peer's preprocess and compute; print their times as JSON."""
    from coordination_network_toolkit.compute_networks import (
        compute_co_link_network,
        compute_co_retweet_parallel,
    )
    from coordination_network_toolkit.preprocess import preprocess_csv_files

    csv, db, window, min_weight = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    with contextlib.redirect_stdout(io.StringIO()):
        t0 = time.perf_counter()
        preprocess_csv_files(db, [csv])
        t1 = time.perf_counter()
        compute_co_retweet_parallel(db, window, n_threads=2, min_edge_weight=min_weight)
        t2 = time.perf_counter()
        compute_co_link_network(db, window, n_threads=2, min_edge_weight=min_weight)
        t3 = time.perf_counter()
    print(json.dumps({"load": t1 - t0, "share": t2 - t1, "link": t3 - t2}))


if __name__ == "__main__":
    main()
