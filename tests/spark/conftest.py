"""Spark fixtures: one local[2] session for the whole directory.

The tests skip, with the reason, when pyspark or a Java runtime is missing
(``pip install 'cibscan[spark]'``; ``apt-get install openjdk-17-jre-headless``).
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from typing import Any

import pytest

try:
    import pyspark  # noqa: F401
except ImportError:  # pragma: no cover - depends on the environment
    pytest.skip("pyspark is not installed (pip install 'cibscan[spark]')", allow_module_level=True)

if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):  # pragma: no cover
    pytest.skip(
        "no Java runtime for Spark (apt-get install openjdk-17-jre-headless)",
        allow_module_level=True,
    )


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    """A small local session: two cores, two shuffle partitions, no UI, no adaptive plans
    (on tiny data each adaptive re-plan costs more than it saves)."""
    from cibscan.spark import spark_session

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    session = spark_session(
        "local[2]",
        {
            "spark.sql.shuffle.partitions": "2",
            "spark.default.parallelism": "2",
            "spark.sql.adaptive.enabled": "false",
            "spark.ui.enabled": "false",
            "spark.driver.memory": "1g",
        },
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()
