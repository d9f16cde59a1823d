"""Readers for the formats of peer tools and platform exports.

Each format here is detected before the generic readers. See docs/formats.md.
"""

from __future__ import annotations

from typing import Final

from cibscan.ingest.readers import InputFormat

__all__ = ["FORMATS"]

FORMATS: Final[list[InputFormat]] = []
