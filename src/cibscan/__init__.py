"""cibscan: expose coordinated inauthentic behaviour (CIB) in social-media data.

The pipeline: ingest -> traces -> networks -> significance -> clusters -> fingerprints -> report.
"""

from __future__ import annotations

from cibscan.case import Case, CaseInfo, open_case
from cibscan.errors import (
    BadInputError,
    CaseStoreError,
    CibscanError,
    ConfigError,
    EmptyInputError,
)

__version__ = "0.1.0"

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
