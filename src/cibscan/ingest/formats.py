"""The registry of input formats, and detection of a file's format from its content."""

from __future__ import annotations

from typing import Final

from cibscan.errors import BadInputError, ConfigError
from cibscan.ingest.readers import CsvFormat, InputFormat, JsonlFormat, ParquetFormat
from cibscan.ingest.source import Sample

__all__ = ["FORMATS", "detect_format", "get_format"]

# Specific formats come first: detection takes the first whose sniff accepts the sample, and the
# generic readers accept almost anything of their syntax.
FORMATS: Final[list[InputFormat]] = []


def _register_defaults() -> None:
    from cibscan.ingest import platforms  # specific formats (peer tools, platform exports)

    FORMATS.extend(platforms.FORMATS)
    FORMATS.extend([ParquetFormat(), JsonlFormat(), CsvFormat()])


def get_format(name: str) -> InputFormat:
    """Return the format called ``name`` (as ``--format`` takes it)."""
    for fmt in FORMATS:
        if fmt.name == name:
            return fmt
    names = ", ".join(f.name for f in FORMATS)
    raise ConfigError(f"unknown format {name!r}; one of: {names}")


def detect_format(sample: Sample) -> InputFormat:
    """Return the first registered format whose sniffing accepts the sample."""
    if not sample.head.strip():
        raise BadInputError("the file is empty", file=str(sample.path))
    for fmt in FORMATS:
        if fmt.sniff(sample):
            return fmt
    raise BadInputError("cannot tell the file's format; pass --format", file=str(sample.path))


_register_defaults()
