"""cibscan: expose coordinated inauthentic behaviour (CIB) in social-media data.

The pipeline: ingest -> traces -> networks -> significance -> clusters -> fingerprints -> report.
"""

from __future__ import annotations

from typing import Any

from cibscan.case import Case, CaseInfo, open_case
from cibscan.errors import (
    BadInputError,
    CaseStoreError,
    CibscanError,
    ConfigError,
    EmptyInputError,
)

__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    """``cibscan.networks``: the networks stage, callable (``cibscan.networks(case, ...)``).

    Imported on first use, so that ``import cibscan`` stays light.
    """
    if name == "networks":
        import cibscan.networks as module

        return module
    raise AttributeError(f"module 'cibscan' has no attribute {name!r}")


__all__ = [
    "BadInputError",
    "Case",
    "CaseInfo",
    "CaseStoreError",
    "CibscanError",
    "ConfigError",
    "EmptyInputError",
    "__version__",
    "open_case",
]
