"""The exception tree of cibscan.

Every error cibscan raises on purpose is a :class:`CibscanError`::

    CibscanError
    ├── BadInputError      an input file or row is malformed (names file, row, column, value)
    ├── ConfigError        a configuration value or command-line option is invalid
    ├── EmptyInputError    there is nothing to work on (no rows, no posts, no edges)
    └── CaseStoreError     the case store is missing, locked, or from an incompatible version

The command line catches :class:`CibscanError` once and prints ``Error: <message>`` with exit
status 2; any other exception is a bug.
"""

from __future__ import annotations

import re

__all__ = [
    "BadInputError",
    "CaseStoreError",
    "CibscanError",
    "ConfigError",
    "EmptyInputError",
]


class CibscanError(Exception):
    """Base class of every error raised on purpose by cibscan."""


class BadInputError(CibscanError):
    """An input file, or one row of it, cannot be read as the format it claims to be.

    Parameters
    ----------
    reason
        What is wrong, in plain words.
    file
        The input file, if known.
    row
        The 1-based line (JSON lines) or data row (CSV, Parquet) number, if known.
    column
        The column or field concerned, if known.
    value
        The offending value, if known; shortened to 80 characters in the message.
    """

    def __init__(
        self,
        reason: str,
        *,
        file: str | None = None,
        row: int | None = None,
        column: str | None = None,
        value: object = None,
        row_label: str = "row",
    ) -> None:
        # Messages are one line (the CLI prints "Error: ..."); Arrow's and the JSON decoder's
        # reasons may span lines.
        self.reason = re.sub(r"\s*[\r\n]+\s*", " ", reason).strip()
        self.file = file
        self.row = row
        self.column = column
        self.value = value
        self.row_label = row_label
        super().__init__(self._message())

    def _message(self) -> str:
        where = []
        if self.file is not None:
            where.append(str(self.file))
        if self.row is not None:
            where.append(f"{self.row_label} {self.row}")
        if self.column is not None:
            where.append(f"column {self.column!r}")
        if self.value is not None:
            text = str(self.value)
            if len(text) > 80:
                text = text[:77] + "..."
            where.append(f"value {text!r}")
        prefix = ", ".join(where)
        return f"{prefix}: {self.reason}" if prefix else self.reason


class ConfigError(CibscanError):
    """A configuration value or command-line option is invalid."""


class EmptyInputError(CibscanError):
    """There is nothing to work on: no rows, no posts, or no edges."""


class CaseStoreError(CibscanError):
    """The case store is missing, locked, or was written by an incompatible version."""
