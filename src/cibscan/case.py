"""The case store: one DuckDB file holding the canonical tables of an investigation."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Final

import duckdb

from cibscan.errors import CaseStoreError, ConfigError
from cibscan.schema import META_TABLES, SCHEMA_VERSION, TABLES, create_tables_sql

__all__ = [
    "Case",
    "CaseInfo",
    "TimeResolution",
    "connect",
    "first_row",
    "open_case",
    "sql_literal",
    "time_resolution",
]


def sql_literal(text: str) -> str:
    """``text`` as a SQL string literal (single quotes doubled).

    Examples
    --------
    >>> sql_literal("it's")
    "'it''s'"
    """
    return "'" + text.replace("'", "''") + "'"


def first_row(result: duckdb.DuckDBPyConnection) -> tuple[Any, ...] | None:
    """The first row of an executed statement (``None`` when it has none), read to the end.

    DuckDB 2 keeps a result open until a fetch returns no rows: after ``fetchone()`` on a
    one-row result the connection refuses ``register``, ``sql`` and ``from_arrow``
    (``ResourceInUseException``). Read single-row results with this instead.

    Examples
    --------
    >>> con = duckdb.connect()
    >>> first_row(con.execute("SELECT 1, 'a'"))
    (1, 'a')
    """
    rows = result.fetchall()
    return rows[0] if rows else None


def connect(
    path: str | os.PathLike[str] | None = None,
    *,
    read_only: bool = False,
    memory_limit: str | None = None,
    threads: int | None = None,
) -> duckdb.DuckDBPyConnection:
    """Open a DuckDB connection with the settings every cibscan stage relies on.

    The session time zone is UTC so that timestamps print and cast identically on every machine.
    ``threads`` defaults to the environment variable ``CIBSCAN_THREADS`` when set (DuckDB's
    default, one per core, otherwise); results do not depend on it. ``memory_limit`` (DuckDB
    syntax, e.g. ``"2GB"``) defaults to ``CIBSCAN_MEMORY_LIMIT`` when set, so that every command
    keeps within one budget, spilling to disk beyond it (DuckDB's default otherwise: 80 % of RAM).
    """
    if threads is None:
        threads = _env_threads()
    if memory_limit is None:
        memory_limit = os.environ.get("CIBSCAN_MEMORY_LIMIT", "").strip() or None
    try:
        con = duckdb.connect(":memory:" if path is None else str(path), read_only=read_only)
    except duckdb.IOException as exc:
        raise CaseStoreError(f"cannot open case store {path}: {exc}") from exc
    con.execute("SET TimeZone = 'UTC'")
    if memory_limit:
        if not _MEMORY.fullmatch(memory_limit):
            con.close()
            raise ConfigError(
                f"memory limit must be a size such as 512MB or 4GB, got {memory_limit!r}"
            )
        con.execute(f"SET memory_limit = '{memory_limit}'")
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    return con


_MEMORY: Final = re.compile(r"\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB|%)", re.IGNORECASE)


def _env_threads() -> int | None:
    value = os.environ.get("CIBSCAN_THREADS", "").strip()
    if not value:
        return None
    if not value.isdigit() or int(value) < 1:
        raise ConfigError(f"CIBSCAN_THREADS must be a whole number >= 1, got {value!r}")
    return int(value)


#: The share of minute-cut post times worth a note, and the significance it must reach.
_MINUTE_CUT_SHARE: Final = 0.1
_MINUTE_CUT_EVIDENCE: Final = 1e-6


@dataclass(frozen=True)
class TimeResolution:
    """How finely the case's post times are given: how many fall on whole minutes.

    Exports cut times to the minute (Twitter's archives, social-listening tools): two posts of
    one minute then read as simultaneous, and a window shorter than two minutes cannot tell a
    burst within seconds from posts a minute apart. Times to the second fall on a whole minute
    one time in 60 (to the millisecond, fewer), so ``minute_cut``, the share of posts beyond
    that chance, estimates the share of times cut to the minute.

    Attributes
    ----------
    posts
        Posts with a time.
    whole_minutes, whole_seconds
        Of those, the times on a whole minute, and on a whole second.
    """

    posts: int
    whole_minutes: int
    whole_seconds: int

    @property
    def minute_cut(self) -> float:
        """The estimated share of times cut to the minute (0 when no excess over chance)."""
        if not self.posts:
            return 0.0
        chance = 1 / 60
        return max(0.0, (self.whole_minutes / self.posts - chance) / (1 - chance))

    @property
    def cut_to_minutes(self) -> bool:
        """Whether a notable share of the times is cut to the minute, beyond chance.

        The share must be at least a tenth, and the count of whole minutes above what times to
        the second give by chance (binomial, 1 in 60) at ``1e-6``.
        """
        if self.minute_cut < _MINUTE_CUT_SHARE:
            return False
        from scipy import stats  # here, not above: SciPy's stats take a second to import

        tail = float(stats.binom.sf(self.whole_minutes - 1, self.posts, 1 / 60))
        return tail < _MINUTE_CUT_EVIDENCE

    def note(self, window: float | None = None) -> str | None:
        """A warning for windows (seconds) shorter than two minutes on minute-cut times."""
        if not self.cut_to_minutes or (window is not None and window >= 120):
            return None
        share = self.whole_minutes / self.posts
        return (
            f"{share:.0%} of post times fall on whole minutes (1.7% would by chance): about "
            f"{self.minute_cut:.0%} of the times are cut to the minute, so posts of one minute "
            "read as simultaneous and a window under 120 s cannot tell seconds from a minute"
        )

    def as_dict(self) -> dict[str, Any]:
        """Return JSON-ready data (with the estimate and the verdict)."""
        return {
            "posts": self.posts,
            "whole_minutes": self.whole_minutes,
            "whole_seconds": self.whole_seconds,
            "minute_cut": round(self.minute_cut, 4),
            "cut_to_minutes": self.cut_to_minutes,
        }


def time_resolution(con: duckdb.DuckDBPyConnection) -> TimeResolution:
    """Count the case's post times on whole minutes and seconds (one scan of ``posts``).

    Examples
    --------
    >>> case = open_case()
    >>> _ = case.con.execute("INSERT INTO posts (post_id, account_id, timestamp) VALUES "
    ...     "('1', 'a', '2024-05-01 10:00:00+00'), ('2', 'b', '2024-05-01 10:00:20.5+00')")
    >>> time_resolution(case.con)
    TimeResolution(posts=2, whole_minutes=1, whole_seconds=1)
    """
    # fetchall, not fetchone: DuckDB 2 keeps a result open until it is read to its end
    rows = con.execute(
        "SELECT count(timestamp),"
        " count(*) FILTER (WHERE epoch_us(timestamp) % 60000000 = 0),"
        " count(*) FILTER (WHERE epoch_us(timestamp) % 1000000 = 0) FROM posts"
    ).fetchall()
    posts, minutes, seconds = rows[0] if rows else (0, 0, 0)
    return TimeResolution(int(posts), int(minutes), int(seconds))


@dataclass
class CaseInfo:
    """Counts and spans of a case store, as ``cibscan info`` shows them."""

    path: str
    counts: dict[str, int]
    first_post: str | None
    last_post: str | None
    platforms: dict[str, int]
    post_kinds: dict[str, int]
    account_kinds: dict[str, int]
    rejects: int
    sources: list[dict[str, Any]] = field(default_factory=list)
    time_resolution: TimeResolution | None = None

    def as_dict(self) -> dict[str, Any]:
        """Return the information as plain JSON-compatible data."""
        return {
            "path": self.path,
            "counts": self.counts,
            "first_post": self.first_post,
            "last_post": self.last_post,
            "platforms": self.platforms,
            "post_kinds": self.post_kinds,
            "account_kinds": self.account_kinds,
            "rejects": self.rejects,
            "sources": self.sources,
            "time_resolution": self.time_resolution.as_dict() if self.time_resolution else None,
        }


class Case:
    """An open case store.

    Use :func:`open_case` to get one. The DuckDB connection is :attr:`con`; the canonical tables
    are ``posts``, ``accounts``, ``infra``, ``memberships``, ``labels`` and ``rejects``.
    """

    def __init__(self, path: str | os.PathLike[str] | None, con: duckdb.DuckDBPyConnection) -> None:
        self.path = None if path is None else Path(path)
        self.con = con

    def __enter__(self) -> Case:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection."""
        self.con.close()

    def table(self, name: str) -> duckdb.DuckDBPyRelation:
        """Return a canonical table as a DuckDB relation."""
        if name not in TABLES and name not in META_TABLES:
            raise CaseStoreError(f"no table {name!r} in a case store")
        return self.con.table(name)

    def count(self, name: str) -> int:
        """Return the number of rows of a table."""
        row = first_row(self.con.execute(f'SELECT count(*) FROM "{name}"'))
        return int(row[0]) if row else 0

    def info(self) -> CaseInfo:
        """Summarise the case: counts per table, time span, platforms, kinds and rejects."""
        con = self.con
        counts = {name: self.count(name) for name in TABLES}
        span = first_row(
            con.execute(
                "SELECT strftime(min(timestamp), '%Y-%m-%dT%H:%M:%SZ'),"
                " strftime(max(timestamp), '%Y-%m-%dT%H:%M:%SZ') FROM posts"
            )
        )

        def tally(sql: str) -> dict[str, int]:
            return {str(k): int(v) for k, v in con.execute(sql).fetchall()}

        sources = [
            dict(
                zip(
                    ("path", "format", "table", "read", "ingested", "rejected", "duplicates"),
                    row,
                    strict=True,
                )
            )
            for row in con.execute(
                "SELECT path, format, table_name, rows_read, rows_ingested, rows_rejected,"
                " rows_duplicate FROM sources ORDER BY ingested_at, path"
            ).fetchall()
        ]
        return CaseInfo(
            path=str(self.path) if self.path else ":memory:",
            counts=counts,
            first_post=span[0] if span else None,
            last_post=span[1] if span else None,
            platforms=tally(
                "SELECT coalesce(platform, '?'), count(*) FROM posts GROUP BY 1 ORDER BY 2 DESC, 1"
            ),
            post_kinds=tally("SELECT kind, count(*) FROM posts GROUP BY 1 ORDER BY 2 DESC, 1"),
            account_kinds=tally(
                "SELECT coalesce(kind, '?'), count(*) FROM accounts GROUP BY 1 ORDER BY 2 DESC, 1"
            ),
            rejects=self.count("rejects"),
            sources=sources,
            time_resolution=time_resolution(con),
        )


def _check_version(con: duckdb.DuckDBPyConnection, path: object) -> None:
    row = first_row(con.execute("SELECT value FROM meta WHERE key = 'schema_version'"))
    if row is None:
        con.execute("INSERT INTO meta VALUES ('schema_version', ?)", [str(SCHEMA_VERSION)])
    elif row[0] != str(SCHEMA_VERSION):
        raise CaseStoreError(
            f"{path} was written with case-store schema {row[0]}; this cibscan reads schema "
            f"{SCHEMA_VERSION}. Re-ingest the inputs into a new case store."
        )


def open_case(
    path: str | os.PathLike[str] | None = None,
    *,
    create: bool = True,
    read_only: bool = False,
    memory_limit: str | None = None,
    threads: int | None = None,
) -> Case:
    """Open (and by default create) a case store.

    Parameters
    ----------
    path
        The DuckDB file, conventionally ``case.duckdb``; ``None`` for an in-memory case.
    create
        Create the file and its tables when missing. With ``False`` a missing file is an error.
    read_only
        Open without write access (several readers may then share the file).
    memory_limit, threads
        DuckDB settings; DuckDB spills to disk beyond the memory limit.

    Examples
    --------
    >>> case = open_case()
    >>> case.count("posts")
    0
    """
    if path is not None and not create and not Path(path).exists():
        raise CaseStoreError(f"no case store at {path}; create one with `cibscan ingest`")
    if path is not None and read_only and not Path(path).exists():
        raise CaseStoreError(f"no case store at {path}; create one with `cibscan ingest`")
    con = connect(path, read_only=read_only, memory_limit=memory_limit, threads=threads)
    if not read_only:
        con.execute(create_tables_sql())
        _check_version(con, path)
    return Case(path, con)
