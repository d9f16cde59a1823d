"""Typed, validated configuration of every stage, loadable from TOML and echoed into outputs.

One frozen dataclass per stage; :class:`Config` gathers them. A TOML file has one table per
stage (``[ingest]``, ``[networks]``, ...) with the field names below.
"""

from __future__ import annotations

import datetime as dt
import tomllib
import zoneinfo
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Final, Literal

from cibscan.errors import ConfigError
from cibscan.schema import TABLES

__all__ = ["Config", "DateOrder", "IngestConfig", "OnError", "load_config", "parse_column_map"]

OnError = Literal["strict", "skip"]
#: How slash dates are read: day first, month first, or told from the data (``auto``).
DateOrder = Literal["auto", "dmy", "mdy"]


def parse_column_map(pairs: list[str] | tuple[str, ...]) -> dict[str, str]:
    """Parse ``SOURCE=CANONICAL`` pairs as given to ``--map``.

    Examples
    --------
    >>> parse_column_map(["user_id=account_id", "created=timestamp"])
    {'user_id': 'account_id', 'created': 'timestamp'}
    """
    mapping: dict[str, str] = {}
    for pair in pairs:
        source, sep, target = pair.partition("=")
        if not sep or not source.strip() or not target.strip():
            raise ConfigError(f"--map takes SOURCE=CANONICAL, got {pair!r}")
        mapping[source.strip()] = target.strip()
    return mapping


@dataclass(frozen=True)
class IngestConfig:
    """How inputs are read into a case store.

    Parameters
    ----------
    format
        An input format name (``cibscan ingest --help`` lists them), or ``None`` to detect it
        from each file's content.
    column_map
        Source column name -> canonical column name.
    table
        Force the canonical table of generic files (``posts``, ``accounts``, ...).
    platform
        The platform of rows that do not say (``twitter``, ``facebook``, ``telegram``, ...).
    on_error
        ``strict``: the first bad row stops the ingest and leaves the case unchanged.
        ``skip``: bad rows go to the ``rejects`` table, with their reason, and are counted.
    tz
        IANA time zone of timestamps that carry none (default UTC).
    date_order
        How slash dates such as ``03/04/2024 10:00`` are read: ``dmy`` (day first), ``mdy``
        (month first, as US spreadsheets write them), or ``auto`` (the default): told from the
        file's own values (a day above 12), and an error naming an example when the file cannot
        tell.
    max_timestamp
        Timestamps after this instant are rejected as being in the future; ``None`` means one
        day after the ingest starts.
    max_decompressed_bytes, max_decompression_ratio
        Bounds against decompression bombs in gzip/zstd inputs.
    """

    format: str | None = None
    column_map: Mapping[str, str] = field(default_factory=dict)
    table: str | None = None
    platform: str | None = None
    on_error: OnError = "strict"
    tz: str = "UTC"
    date_order: DateOrder = "auto"
    max_timestamp: dt.datetime | None = None
    max_decompressed_bytes: int = 1 << 40
    max_decompression_ratio: float = 200.0

    def __post_init__(self) -> None:
        if self.on_error not in ("strict", "skip"):
            raise ConfigError(f"on_error must be 'strict' or 'skip', got {self.on_error!r}")
        try:
            zoneinfo.ZoneInfo(self.tz)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
            raise ConfigError(
                f"unknown time zone {self.tz!r}; use an IANA name such as 'UTC' or 'Europe/Tirane'"
            ) from exc
        if self.date_order not in ("auto", "dmy", "mdy"):
            raise ConfigError(f"date_order must be auto, dmy or mdy, got {self.date_order!r}")
        if self.table is not None and self.table not in TABLES:
            raise ConfigError(f"unknown table {self.table!r}; one of {sorted(TABLES)}")
        known = {c for cols in TABLES.values() for c in cols}
        for source, target in self.column_map.items():
            if target not in known:
                raise ConfigError(
                    f"--map {source}={target}: {target!r} is not a canonical "
                    "column (see docs/data-model.md)"
                )
        if self.max_decompressed_bytes <= 0 or self.max_decompression_ratio <= 1:
            raise ConfigError("decompression bounds must be positive (ratio above 1)")


#: Sections of a config file that other commands read (``cibscan networks``), left alone here.
OTHER_SECTIONS: Final = frozenset({"networks"})


@dataclass(frozen=True)
class Config:
    """Every stage's configuration."""

    ingest: IngestConfig = field(default_factory=IngestConfig)

    def as_dict(self) -> dict[str, Any]:
        """Return the configuration as JSON-compatible data (as echoed into outputs)."""

        def plain(value: Any) -> Any:
            if isinstance(value, dt.datetime):
                return value.isoformat()
            if isinstance(value, Mapping):
                return {str(k): plain(v) for k, v in value.items()}
            if isinstance(value, list | tuple):
                return [plain(v) for v in value]
            return value

        return {k: plain(v) for k, v in asdict(self).items()}


def _build(cls: type[Any], data: Mapping[str, Any], section: str) -> Any:
    names = {f.name for f in fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise ConfigError(f"[{section}] has unknown key {unknown[0]!r}; known: {sorted(names)}")
    try:
        return cls(**data)
    except TypeError as exc:
        raise ConfigError(f"[{section}]: {exc}") from exc


def load_config(path: str | Path | None) -> Config:
    """Load a TOML configuration file; ``None`` gives the defaults.

    Raises
    ------
    ConfigError
        When the file is missing, is not TOML, or has unknown or invalid keys.
    """
    if path is None:
        return Config()
    p = Path(path)
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"no config file at {p}") from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{p}: not valid TOML: {exc}") from exc
    sections = {f.name: f for f in fields(Config)}
    # One file may configure several commands: `cibscan networks --config` reads [networks].
    unknown = sorted(set(data) - set(sections) - OTHER_SECTIONS)
    if unknown:
        known = sorted({*sections, *OTHER_SECTIONS})
        raise ConfigError(f"{p}: unknown section [{unknown[0]}]; known: {known}")
    built: dict[str, Any] = {}
    if "ingest" in data:
        section = dict(data["ingest"])
        if "map" in section:
            section["column_map"] = section.pop("map")
        built["ingest"] = _build(IngestConfig, section, "ingest")
    return Config(**built)
