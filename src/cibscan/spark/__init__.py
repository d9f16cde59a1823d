"""Distributed runs on Apache Spark: the same networks and significance as the DuckDB engine.

``pip install cibscan[spark]`` (pyspark and a Java 17+ runtime). The per-partition work is the
DuckDB kernel of :mod:`cibscan.coaction` and the trace SQL of :mod:`cibscan.traces`, called
inside ``mapInArrow`` on data partitioned by item (or by account pair), so the semantics have one
implementation. See ``docs/scaling.md``.

Examples
--------
From Python (``engine="spark"`` on :func:`cibscan.networks.networks` dispatches here)::

    from cibscan.networks import networks
    result = networks("posts.parquet", ["share", "link"], engine="spark",
                      spark_master="local[2]")
"""

from __future__ import annotations

from cibscan.spark.engine import (
    SparkDetection,
    spark_detect_edges,
    spark_networks,
    spark_session,
    write_spark_outputs,
)

__all__ = [
    "SparkDetection",
    "spark_detect_edges",
    "spark_networks",
    "spark_session",
    "write_spark_outputs",
]
