"""The load stage: validate raw batches in DuckDB, account for every row, insert into the case.

Raw batches from a reader are appended to a staging table; one SQL pass turns the raw values into
typed canonical values and gives each row either a rejection (column, value, reason) or a place
in the case. Duplicates (same key, same content) are counted, conflicts (same key, different
content) are rejected. Nothing here loops over rows in Python: per-row work is SQL, URL
normalisation included (Python normalises only the URLs the SQL form does not cover).

Speed (see docs/benchmarks-ingest.md): the staged rows are read once to build the validated
table ``_v``, in file order; the valid rows are then inserted straight from it, and only rows
whose key is repeated in the file or already in the case get the costlier duplicate analysis.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import itertools
import zoneinfo
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Final

import duckdb
import pyarrow as pa

from cibscan.case import first_row
from cibscan.case import sql_literal as _lit
from cibscan.config import DateOrder
from cibscan.errors import BadInputError
from cibscan.ingest.readers import COMMA_LISTS, ParseReject, RawBatch
from cibscan.ingest.urls import normalise_url, normalise_url_layers, normalise_urls_sql
from cibscan.schema import KEYS, LIST_COLUMNS, REQUIRED_COLUMNS, TABLES

__all__ = [
    "ATTACHED_URL",
    "FileCounts",
    "TableLoader",
    "derive_accounts",
    "drop_ingest_state",
    "run_rejects",
    "start_ingest_state",
    "zone_fallbacks",
]

MIN_TIMESTAMP: Final = dt.datetime(1990, 1, 1, tzinfo=dt.UTC)

# Unicode-aware hashtags (Persian and Arabic use ZWNJ/ZWJ inside words); not after a letter,
# digit, '&' or '/', so that URL fragments and HTML entities are not hashtags.
# The full-width number sign (U+FF03) of Chinese and Japanese keyboards is a hashtag's too, as
# twitter-text reads it.
HASHTAG_RE: Final = (
    r"(?:^|[^\p{L}\p{N}\p{M}_&/#\x{FF03}])[#\x{FF03}]([\p{L}\p{N}\p{M}_\x{200C}\x{200D}]+)"
)
#: Marks a hashtag is stored without: the Arabic tatweel (U+0640, a stretch of the line that
#: only fills space) and the Arabic vowel and Quranic marks (harakat), which writers add or
#: leave out at will: #الهـلال and #الهِلال are #الهلال.
TAG_FOLD_RE: Final = r"[\x{0640}\x{064B}-\x{065F}\x{0670}\x{06D6}-\x{06ED}]"
MENTION_RE: Final = r"(?:^|[^\p{L}\p{N}\p{M}_.@/])@([\p{L}\p{N}\p{M}_]+)"
URL_RE: Final = r"https?://[^\s<>\"'\x{200B}\x{2026}]+"
URL_TRAIL: Final = r"[.,;:!?)\]}'\"»›]+$"
#: A raw posts column a reader may give: the post's attached link (a link preview, which the
#: text need not contain). A post that has one gets it first, then the other URLs of its text;
#: a post without one gets its URLs as if the column were absent.
ATTACHED_URL: Final = "_attached_url"

_POST_KINDS: Final = {
    "post": ("post", "tweet", "status", "message", "original", "text"),
    "share": ("share", "retweet", "repost", "reshare", "forward", "boost"),
    "reply": ("reply", "comment", "answer"),
    "quote": ("quote", "quote_tweet", "quoted"),
}
# The kind of a post whose input gives none.
_POST_KIND_FALLBACK: Final = (
    "(CASE WHEN t_shared_post_id IS NOT NULL THEN 'share' "
    "WHEN t_reply_to_post_id IS NOT NULL THEN 'reply' ELSE 'post' END)"
)
_ACCOUNT_KINDS: Final = {
    "user": ("user", "account", "person", "profile", "individual"),
    "page": ("page",),
    "group": ("group",),
    "channel": ("channel", "supergroup", "broadcast"),
}
_ID_COLUMNS: Final = frozenset(
    {
        "post_id",
        "account_id",
        "shared_post_id",
        "shared_account_id",
        "reply_to_post_id",
        "reply_to_account_id",
        "asset_id",
    }
)
# Integer types whose values convert to DOUBLE exactly as their text form parses.
_INTEGER_TYPES: Final = frozenset(
    {"BIGINT", "INTEGER", "SMALLINT", "TINYINT", "UBIGINT", "UINTEGER", "USMALLINT", "UTINYINT"}
)
_TIME_COLUMNS: Final = frozenset({"timestamp", "created_at"})
#: The end of a time written with its zone: an offset or a name after the clock.
_ZONE_SUFFIX: Final = (
    r"[0-9]:[0-9]{2}(:[0-9]{2}([.,][0-9]+)?)?\s*"
    r"(Z|[+-][0-9]{1,2}(:?[0-9]{2}){0,2}|\(?[A-Za-z][A-Za-z0-9_/+-]*\)?)$"
)
_INT_COLUMNS: Final = frozenset({"followers", "engagement"})
# Rows that a real row of the same key replaces: accounts derived from posts, and side
# information (embedded rows, source 'embedded:<file>').
_GIVES_WAY: Final = "(starts_with({source}, 'derived:') OR starts_with({source}, 'embedded:'))"
# The key hashes of a table's real rows during one ingest (see ``drop_ingest_state``).
_KEYSET: Final = "_ingest_keys_{table}"
# The SQL name under which normalise_url is registered while a posts file is validated.
_URL_FALLBACK: Final = "_cibscan_normalise_url"


# DuckDB errors that a malformed input file cannot cause: a bug in our SQL, or the machine.
_NOT_READ_ERRORS: Final = (
    duckdb.BinderException,
    duckdb.CatalogException,
    duckdb.ParserException,
    duckdb.OutOfMemoryException,
    duckdb.InterruptException,
)


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _folded_tag(x: str) -> str:
    """SQL: the hashtag ``x`` lower-cased, without the marks of :data:`TAG_FOLD_RE` (replaced
    only in the tags that hold one)."""
    return (
        f"CASE WHEN regexp_matches({x}, {_lit(TAG_FOLD_RE)})"
        f" THEN lower(regexp_replace({x}, {_lit(TAG_FOLD_RE)}, '', 'g')) ELSE lower({x}) END"
    )


def _clean_list(
    given: list[str],
    needle: str | tuple[str, ...],
    pattern: str,
    group: int | None,
    clean: str,
    clean_matches: str,
) -> str:
    """Apply ``clean`` (SQL with ``@L`` for the list) to the first non-NULL of ``given``, else
    ``clean_matches`` to the matches.

    ``matches`` is ``regexp_extract_all`` of ``pattern`` over ``t_text``; ``clean_matches``
    must equal ``clean`` on them (it may skip steps the pattern makes needless, such as
    trimming). Texts without ``needle`` (which every match contains) give ``[]`` at once, as
    the clean-up of no matches would.
    """
    g = "" if group is None else f", {group}"
    matches = f"regexp_extract_all(t_text, {_lit(pattern)}{g})"
    whens = " ".join(f"WHEN {x} IS NOT NULL THEN {clean.replace('@L', x)}" for x in given)
    needles = (needle,) if isinstance(needle, str) else needle
    holds = " OR ".join(f"contains(t_text, {_lit(n)})" for n in needles)
    return (
        f"(CASE {whens} WHEN {holds}"
        f" THEN {clean_matches.replace('@L', matches)} ELSE []::VARCHAR[] END)"
    )


def _stripped(x: str, mark: str | None = None) -> str:
    """SQL: ``ltrim(trim(x), mark)`` (or ``trim(x)``), copying only values that need it.

    trim() (spaces only) copies every string, and most values have nothing to strip.
    """
    if mark is None:
        return f"CASE WHEN starts_with({x}, ' ') OR ends_with({x}, ' ') THEN trim({x}) ELSE {x} END"
    return (
        f"CASE WHEN starts_with({x}, ' ') OR ends_with({x}, ' ') OR starts_with({x}, {_lit(mark)})"
        f" THEN ltrim(trim({x}), {_lit(mark)}) ELSE {x} END"
    )


def _spaces_only(x: str) -> str:
    """SQL: ``trim(x) = ''`` without copying the strings that start with no space."""
    return f"({x} = '' OR (starts_with({x}, ' ') AND trim({x}) = ''))"


def _date_formats(separator: str, order: DateOrder) -> str:
    """SQL list of the ``strptime`` formats of dates written with ``separator``.

    Spreadsheets write ``31/12/2024 10:00`` (no seconds), ``12/31/24 10:00 PM`` and plain
    dates as often as ``31/12/2024 10:00:00``; all of them are read, in the given order.
    """
    day_month = "%m/%d" if order == "mdy" else "%d/%m"
    formats = [
        f"{day_month.replace('/', separator)}{separator}{year}{clock}"
        for year in ("%y", "%Y")  # %Y would read the 17 of 1/2/17 as the year 17
        for clock in (" %H:%M:%S", " %H:%M", " %I:%M:%S %p", " %I:%M %p", "")
    ]
    return "[" + ", ".join(_lit(f) for f in formats) + "]"


@functools.cache
def zone_shifts(tz: str) -> bool:
    """Whether the UTC offset of ``tz`` changed since 1990 (clock changes, or a new offset).

    In such a zone some local times never happened (the clocks skipped them) and some
    happened twice (the clocks went back): the load stage checks the times it reads in it.

    Examples
    --------
    >>> zone_shifts("Europe/Berlin"), zone_shifts("UTC"), zone_shifts("Asia/Tokyo")
    (True, False, False)
    """
    zone = zoneinfo.ZoneInfo(tz)
    offsets = {
        dt.datetime(year, month, 1, tzinfo=dt.UTC).astimezone(zone).utcoffset()
        for year in range(1990, dt.date.today().year + 2)
        for month in (1, 4, 7, 10)
    }
    return len(offsets) > 1


@functools.cache
def zone_fallbacks(tz: str) -> tuple[dt.timedelta, ...]:
    """The sizes by which the clocks of ``tz`` went back since 1990, smallest first.

    A local time within such a change after it happened twice. The offsets are read once a
    week, which finds every change except two in one week.

    Examples
    --------
    >>> zone_fallbacks("Europe/Berlin"), zone_fallbacks("UTC")
    ((datetime.timedelta(seconds=3600),), ())
    >>> zone_fallbacks("Australia/Lord_Howe")  # daylight saving time of half an hour
    (datetime.timedelta(seconds=1800),)
    """
    zone = zoneinfo.ZoneInfo(tz)
    start = dt.datetime(1990, 1, 1, tzinfo=dt.UTC)
    weeks = (dt.date(dt.date.today().year + 2, 1, 1) - start.date()).days // 7
    offsets = [
        (start + dt.timedelta(weeks=w)).astimezone(zone).utcoffset() or dt.timedelta(0)
        for w in range(weeks + 1)
    ]
    return tuple(sorted({a - b for a, b in itertools.pairwise(offsets) if a > b}))


def _scalar(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    row = first_row(con.execute(sql))
    return int(row[0]) if row else 0


@dataclass
class FileCounts:
    """Row accounting of one input file and table: ``read = ingested + rejected + duplicates``."""

    file: str
    table: str
    format: str
    read: int = 0
    ingested: int = 0
    rejected: int = 0
    duplicates: int = 0
    #: Rows whose local time (no offset, read in ``--tz``) happened twice, when the clocks
    #: went back: read as the second time, in the offset after the change (as PostgreSQL and
    #: DuckDB do). The data cannot tell; such rows may look simultaneous with others.
    ambiguous_times: int = 0

    @property
    def balanced(self) -> bool:
        """Whether every row read is accounted for."""
        return self.read == self.ingested + self.rejected + self.duplicates


class TableLoader:
    """Stages, validates and inserts the rows of one input file for one table.

    Parameters
    ----------
    con
        The case-store connection, inside the ingest's transaction.
    table
        The canonical table.
    file_label
        The input file as recorded in ``source`` and in messages.
    fmt, row_label
        The format name, and the word for a row position ("row" or "line").
    tz
        The time zone for timestamps without one.
    max_timestamp
        Later timestamps are rejected as being in the future.
    embedded
        Whether the rows are side information (merged, not counted; see ``RawBatch``).
    """

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        table: str,
        *,
        file_label: str,
        fmt: str,
        row_label: str,
        tz: str,
        max_timestamp: dt.datetime,
        embedded: bool = False,
        stage_id: int = 0,
        date_order: DateOrder = "auto",
        column_sources: Mapping[str, Mapping[str, str]] | None = None,
    ) -> None:
        self.con = con
        self.table = table
        # per table, canonical column -> the file's column; read when an error is reported,
        # as the reader fills it when it starts the table
        self._column_sources = column_sources if column_sources is not None else {}
        self.file_label = file_label
        self.row_label = row_label
        self.tz = tz
        self._shifts = zone_shifts(tz)  # whether to check local times against clock changes
        self._walls: list[str] = []  # the time columns checked so (set by _typed)
        self.max_timestamp = max_timestamp
        self.embedded = embedded
        self.stage = f"_stage_{table}_{stage_id}{'_e' if embedded else ''}"
        self.parse_rejects: list[ParseReject] = []
        self.counts = FileCounts(file_label, table, fmt)
        # The FROM item of the rows to validate: the staging table (with its rowid as ``_rid``)
        # or a relation DuckDB reads from the file itself (``add_sql``).
        self._source: str | None = None
        self._error_prefix: str | None = None
        self._direct = False  # rows counted from the relation, not from staged batches
        self._columns: dict[str, str] = {}
        # ``dmy`` or ``mdy`` once known: read from the rows at ``finish`` when ``auto``.
        self._date_order: DateOrder = date_order

    # -- staging -------------------------------------------------------------------------
    def add(self, batch: RawBatch) -> None:
        """Append a raw batch to the staging table."""
        # A relation, not a registered view: inside the ingest's transaction a dropped view
        # (and the Arrow memory it holds) lives until the commit, so memory grew with the input.
        rows = self.con.from_arrow(pa.Table.from_batches([batch.data]))
        if self._source is None:
            columns = ", ".join(
                f"{_q(c)} {t}" for c, t in zip(rows.columns, rows.types, strict=True)
            )
            self.con.execute(f"CREATE TEMP TABLE {self.stage} ({columns})")
            self._source = f"(SELECT *, rowid AS _rid FROM {self.stage})"
            self._columns = dict(zip(rows.columns, map(str, rows.types), strict=True))
            self._check_id_types()
        elif rows.columns != list(self._columns):
            # By name, as INSERT ... BY NAME: the stage's order, NULL for a missing column, and
            # a column first seen in this batch added to the stage (NULL in earlier rows).
            for c, t in zip(rows.columns, rows.types, strict=True):
                if c not in self._columns:
                    self.con.execute(f"ALTER TABLE {self.stage} ADD COLUMN {_q(c)} {t}")
                    self._columns[c] = str(t)
            self._check_id_types()
            rows = rows.project(
                ", ".join(
                    _q(c) if c in rows.columns else f"NULL::{t} AS {_q(c)}"
                    for c, t in self._columns.items()
                )
            )
        rows.insert_into(self.stage)
        if not self.embedded:
            self.counts.read += batch.data.num_rows

    def add_sql(
        self, relation: str, *, error_prefix: str, defaults: dict[str, str] | None = None
    ) -> None:
        """Validate the rows of ``relation`` (a SQL FROM item with ``_row`` and ``_rid``).

        The loader reads the relation twice (keys and checks, then the insert) and never
        stages a copy; ``defaults`` adds constant columns the relation lacks. Read errors that
        DuckDB raises mid-scan become :class:`BadInputError` with ``error_prefix``.
        """
        if self._source is not None:
            raise RuntimeError("a loader reads one source")  # pragma: no cover - misuse
        self._error_prefix = error_prefix
        with self._read_errors():
            described = self.con.execute(f"DESCRIBE SELECT * FROM {relation}").fetchall()
        self._columns = {r[0]: r[1] for r in described}
        extra = {k: v for k, v in (defaults or {}).items() if k not in self._columns}
        if extra:
            consts = ", ".join(f"{_lit(v)} AS {_q(k)}" for k, v in extra.items())
            relation = f"(SELECT *, {consts} FROM {relation})"
            self._columns.update(dict.fromkeys(extra, "VARCHAR"))
        self._source = relation
        self._direct = True
        self._check_id_types()

    def add_reject(self, reject: ParseReject) -> None:
        """Record a record the reader could not parse."""
        self.parse_rejects.append(reject)
        self.counts.read += 1

    def _check_id_types(self) -> None:
        for name, typ in self._columns.items():
            if name in _ID_COLUMNS and typ in ("FLOAT", "DOUBLE", "REAL"):
                raise BadInputError(
                    f"ids are stored as floating-point numbers ({typ}), which loses digits of "
                    "long ids; write the ids as strings or integers",
                    file=self.file_label,
                    column=self._file_column(name),
                )

    def _file_column(self, name: str | None) -> str | None:
        """The file's name of a canonical column (the reader's rename), else the name."""
        if name is None:
            return None
        return self._column_sources.get(self.table, {}).get(name, name)

    # -- SQL expressions -------------------------------------------------------------------
    def _raw(self, name: str) -> str | None:
        return _q(name) if name in self._columns else None

    def _text(self, name: str) -> str:
        raw = self._raw(name)
        return "NULL::VARCHAR" if raw is None else f"CAST({raw} AS VARCHAR)"

    def _id(self, name: str) -> str:
        raw = self._raw(name)
        if raw is None:
            return "NULL::VARCHAR"
        return f"nullif({_stripped(f'CAST({raw} AS VARCHAR)')}, '')"

    def _timestamp(self, name: str) -> str:
        raw = self._raw(name)
        if raw is None:
            return "NULL::TIMESTAMPTZ"
        typ = self._columns[name]
        epoch = (
            "(CASE WHEN abs({x}) >= 1e14 THEN make_timestamptz(TRY_CAST({x} AS BIGINT))"
            " WHEN abs({x}) >= 1e11 THEN to_timestamp({x} / 1000.0)"
            " ELSE to_timestamp({x}) END)"
        )
        if typ.startswith(("TIMESTAMP WITH TIME ZONE", "TIMESTAMPTZ")):
            return raw
        if typ.startswith(("TIMESTAMP", "DATE")):
            return f"CAST({raw} AS TIMESTAMPTZ)"
        if typ in ("BIGINT", "INTEGER", "DOUBLE", "FLOAT", "HUGEINT", "UBIGINT", "SMALLINT"):
            return epoch.format(x=f"CAST({raw} AS DOUBLE)")
        s, numeric, short, spreadsheet = self._time_text(raw)
        number = epoch.format(x=f"TRY_CAST({s} AS DOUBLE)")
        return (
            f"(CASE WHEN {numeric} THEN {number}"
            f" WHEN {short} THEN CAST({spreadsheet} AS TIMESTAMPTZ)"
            f" ELSE coalesce(TRY_CAST({s} AS TIMESTAMPTZ),"
            f" try_strptime({s}, '%a %b %d %H:%M:%S %z %Y')) END)"
        )

    def _time_text(self, raw: str) -> tuple[str, str, str, str]:
        """SQL of a text time: the trimmed text, whether it is a number, whether it is a
        spreadsheet date, and that date's (local) reading."""
        s = f"({_stripped(f'CAST({raw} AS VARCHAR)')})"
        numeric = f"regexp_full_match({s}, '[+-]?[0-9]+(\\.[0-9]+)?')"
        # A day or month first (31/12/2024, 1.2.17) takes the spreadsheet formats only: the cast
        # would read 1/2/17 as the year 1, February 17.
        short = f"(substr({s}, 2, 1) IN ('/', '.') OR substr({s}, 3, 1) IN ('/', '.'))"
        spreadsheet = (
            f"coalesce(try_strptime({s}, {_date_formats('/', self._date_order)}),"
            f" try_strptime({s}, {_date_formats('.', 'dmy')}))"
        )
        return s, numeric, short, spreadsheet

    def _wall(self, name: str) -> str | None:
        """SQL: the local wall-clock time (TIMESTAMP) of a value written without an offset,
        which is read in ``--tz``; NULL for the others (epoch numbers, offsets, zone names).
        None when the column holds no such values."""
        raw = self._raw(name)
        if raw is None:
            return None
        typ = self._columns[name]
        if typ.startswith(("TIMESTAMP WITH TIME ZONE", "TIMESTAMPTZ")):
            return None
        if typ.startswith(("TIMESTAMP", "DATE")):
            return f"CAST({raw} AS TIMESTAMP)"
        if not typ.startswith("VARCHAR"):
            return None  # numbers: epoch times
        s, numeric, short, spreadsheet = self._time_text(raw)
        # After the clock, an offset (Z, +02, -05:30, +0000) or a zone's name or abbreviation.
        zoned = f"regexp_matches({s}, {_lit(_ZONE_SUFFIX)})"
        return (
            f"(CASE WHEN {numeric} THEN NULL WHEN {short} THEN {spreadsheet}"
            f" WHEN {zoned} THEN NULL ELSE TRY_CAST({s} AS TIMESTAMP) END)"
        )

    def _integer(self, name: str) -> str:
        raw = self._raw(name)
        if raw is None:
            return "NULL::BIGINT"
        if self._columns[name] in _INTEGER_TYPES:
            # The same double as through the text form (both round to nearest), without it.
            return f"TRY_CAST(CAST({raw} AS DOUBLE) AS BIGINT)"
        return f"TRY_CAST(TRY_CAST({_stripped(f'CAST({raw} AS VARCHAR)')} AS DOUBLE) AS BIGINT)"

    def _blank(self, name: str) -> str:
        """SQL condition: the raw column ``name`` (present in the input) is NULL or blank."""
        raw = _q(name)
        typ = self._columns[name]
        if typ in _INTEGER_TYPES or typ.startswith(("TIMESTAMP", "DATE")):
            # The text form of a typed value is never blank; casting every value is costly.
            return f"({raw} IS NULL)"
        return f"({raw} IS NULL OR {_spaces_only(f'CAST({raw} AS VARCHAR)')})"

    def _kind(self, mapping: dict[str, tuple[str, ...]], fallback: str) -> str:
        raw = self._raw("kind")
        if raw is None:
            return fallback
        k = f"lower(trim(CAST({raw} AS VARCHAR)))"
        cases = " ".join(
            f"WHEN {k} IN ({', '.join(_lit(s) for s in synonyms)}) THEN {_lit(kind)}"
            for kind, synonyms in mapping.items()
        )
        return f"(CASE WHEN {k} IS NULL OR {k} = '' THEN {fallback} {cases} ELSE '!invalid' END)"

    def _list(self, name: str) -> tuple[str, str | None]:
        """Return (list expression, 'bad JSON' condition) for a list column."""
        raw = self._raw(name)
        if raw is None:
            return "NULL::VARCHAR[]", None
        typ = self._columns[name]
        if typ.endswith("[]"):
            return f"CAST({raw} AS VARCHAR[])", None
        s = f"({_stripped(f'CAST({raw} AS VARCHAR)')})"
        separators = "[\\s,]+" if name in COMMA_LISTS else "\\s+"
        expr = (
            f"(CASE WHEN {s} IS NULL THEN NULL WHEN starts_with({s}, '[') THEN "
            f"(CASE WHEN json_valid({s}) AND json_type(CAST({s} AS JSON)) = 'ARRAY' "
            f"THEN TRY_CAST(CAST({s} AS JSON) AS VARCHAR[]) END) "
            f"ELSE list_filter(string_split_regex({s}, {_lit(separators)}), lambda x: x <> '') END)"
        )
        bad = f"(starts_with({s}, '[') AND {_q('t_' + name)} IS NULL)"
        return expr, bad

    # -- the typed projection --------------------------------------------------------------
    def _typed(self) -> tuple[dict[str, str], list[tuple[str, str, str, str]]]:
        """Return typed column expressions and checks (condition, column, raw, reason)."""
        exprs: dict[str, str] = {}
        checks: list[tuple[str, str, str, str]] = []
        self._walls = []
        required = REQUIRED_COLUMNS[self.table]
        for name in TABLES[self.table]:
            if name == "source":
                continue
            raw = self._raw(name)
            typed = _q("t_" + name)
            raw_text = f"CAST({raw} AS VARCHAR)" if raw else "NULL"
            if name in _ID_COLUMNS:
                exprs[name] = self._id(name)
                if name in required:
                    checks.append((f"{typed} IS NULL", name, raw_text, "empty id"))
            elif name in _TIME_COLUMNS:
                exprs[name] = self._timestamp(name)
                missing = self._blank(name) if raw else "TRUE"
                if name in required:
                    checks.append((missing, name, raw_text, "missing timestamp"))
                checks.append(
                    (
                        f"NOT {missing} AND {typed} IS NULL",
                        name,
                        raw_text,
                        "unparseable timestamp (expected ISO-8601, epoch seconds or "
                        "milliseconds, or a "
                        f"{'month/day/year' if self._date_order == 'mdy' else 'day/month/year'}"
                        " date)",
                    )
                )
                wall = self._wall(name) if self._shifts else None
                if wall is not None:
                    # The zone's reading of a skipped time is an hour on (DuckDB, ICU): a time
                    # that reads back as another wall clock never happened in this zone.
                    exprs["wall_" + name] = wall
                    self._walls.append(name)
                    checks.append(
                        (
                            f"timezone({_lit(self.tz)}, {typed}) <> {_q('t_wall_' + name)}",
                            name,
                            raw_text,
                            f"local time that did not exist in {self.tz} (the clocks skipped "
                            "it): is --tz the zone the times were written in?",
                        )
                    )
                checks.append(
                    (
                        f"{typed} > TIMESTAMPTZ {_lit(self.max_timestamp.isoformat())}",
                        name,
                        raw_text,
                        "timestamp in the future",
                    )
                )
                checks.append(
                    (
                        f"{typed} < TIMESTAMPTZ {_lit(MIN_TIMESTAMP.isoformat())}",
                        name,
                        raw_text,
                        "timestamp before 1990-01-01",
                    )
                )
            elif name in _INT_COLUMNS:
                exprs[name] = self._integer(name)
                if raw:
                    present = f"NOT {self._blank(name)}"
                    checks.append(
                        (f"{present} AND {typed} IS NULL", name, raw_text, "not an integer")
                    )
                    checks.append((f"{typed} < 0", name, raw_text, "negative count"))
            elif name in LIST_COLUMNS:
                expr, bad = self._list(name)
                exprs[name] = expr
                if bad:
                    checks.append((bad, name, raw_text, "not a JSON array of strings"))
            elif name == "kind":
                if self.table == "posts":
                    exprs[name] = self._kind(_POST_KINDS, "NULL")
                    expected = "post, share, reply or quote"
                else:
                    exprs[name] = self._kind(_ACCOUNT_KINDS, "'user'")
                    expected = "user, page, group or channel"
                checks.append(
                    (f"{typed} = '!invalid'", name, raw_text, f"unknown kind (expected {expected})")
                )
            else:
                exprs[name] = self._text(name)
                if name in required:
                    empty = f"({typed} IS NULL OR {_spaces_only(typed)})"
                    checks.append((empty, name, raw_text, "empty value"))
        return exprs, checks

    def _final(self, name: str) -> str:
        """The value stored for a column, from the typed projection (``t_*`` columns)."""
        t = _q("t_" + name)
        if self.table == "posts":
            if name == "kind":
                return f"coalesce({t}, {_POST_KIND_FALLBACK})"
            # CASE instead of coalesce so that texts without a '#', '@' or '://' (most) skip
            # the regular expression and the clean-up lambdas alike: both map [] to [].
            # Matches hold no spaces, and no '#' or '@' (the pattern captures what follows it),
            # so only given lists need trimming.
            # A tag of digits alone (#2030, #٢٠٣٠) is a number, not a topic.
            digits = "NOT regexp_full_match(x, '\\p{Nd}+')"
            if name == "hashtags":
                stripped = f"list_transform(@L, lambda x: {_stripped('x', '#')})"
                tags = (
                    f"list_filter(list_transform({stripped}, lambda x: {_folded_tag('x')}),"
                    f" lambda x: x IS NOT NULL AND x <> '' AND {digits})"
                )
                found = (
                    f"list_filter(list_transform(@L, lambda x: {_folded_tag('x')}),"
                    f" lambda x: x <> '' AND {digits})"
                )
                return _clean_list([t], ("#", "\uff03"), HASHTAG_RE, 1, tags, found)
            if name == "mentions":
                users = (
                    f"list_filter(list_transform(@L, lambda x: lower({_stripped('x', '@')})),"
                    " lambda x: x IS NOT NULL AND x <> '')"
                )
                found = "list_transform(@L, lambda x: lower(x))"
                return _clean_list([t], "@", MENTION_RE, 1, users, found)
            if name == "urls_original":
                links = (
                    f"list_filter(list_transform(@L, lambda x: {_stripped('x')}),"
                    " lambda x: x IS NOT NULL AND x <> '')"
                )
                # A match keeps its scheme once the trailing punctuation goes: never empty.
                found = f"list_transform(@L, lambda x: regexp_replace(x, {_lit(URL_TRAIL)}, ''))"
                urls = _clean_list([t, "t_urls"], "://", URL_RE, None, links, found)
                return self._with_attached(urls, found)
            if name == "urls":
                return "NULL::VARCHAR[]"  # filled from urls_original after validation
            if name == "media":
                return (
                    f"list_filter(list_transform(coalesce({t}, []), lambda x: {_stripped('x')}), "
                    "lambda x: x IS NOT NULL AND x <> '')"
                )
        if name == "username":
            return f"nullif(ltrim(trim({t}), '@'), '')"
        if name == "role" and self.table == "memberships":
            return f"coalesce(nullif(trim({t}), ''), 'admin')"
        if name in LIST_COLUMNS:
            return f"list_filter({t}, lambda x: x IS NOT NULL AND trim(x) <> '')"
        return t

    # -- finishing -------------------------------------------------------------------------
    def _with_attached(self, urls: str, found: str) -> str:
        """SQL: the attached link (:data:`ATTACHED_URL`) and the text's other URLs, or ``urls``."""
        raw = self._raw(ATTACHED_URL)
        if raw is None:
            return urls
        link = f"nullif({_stripped(f'CAST({raw} AS VARCHAR)')}, '')"
        in_text = _clean_list([], "://", URL_RE, None, "", found)  # the text's URLs alone
        others = f"list_filter({in_text}, lambda x: x <> {link})"
        return f"(CASE WHEN {link} IS NOT NULL THEN list_prepend({link}, {others}) ELSE {urls} END)"

    def finish(self, *, strict: bool) -> FileCounts:
        """Validate, deduplicate and insert the staged rows; return the row accounting.

        Raises
        ------
        BadInputError
            In strict mode, for the first bad row (in file order).
        """
        if self._source is None:
            self._finish_rejects_only(strict)
            return self.counts
        con = self.con
        if self._date_order == "auto":
            self._date_order = self._read_date_order()
        con.execute(f"SET TimeZone = {_lit(self.tz)}")
        try:
            with self._url_fallback(), self._read_errors():
                if self.embedded:
                    con.execute(f"CREATE OR REPLACE TEMP TABLE _v AS {self._validated()}")
                    self._merge_embedded([c for c in TABLES[self.table] if c != "source"])
                else:
                    self._finish_rows(strict)
        finally:
            # After a failure the transaction is aborted; the original error is the one to report.
            with contextlib.suppress(duckdb.Error):
                con.execute("SET TimeZone = 'UTC'")
        return self.counts

    def _read_date_order(self) -> DateOrder:
        """Tell day-first from month-first slash dates (``03/04/2024``) from the rows' values.

        A value whose first number is above 12 is day-first, one whose second is above 12
        month-first. A file with only one of the two is read that way; with neither (every
        slash date could be both) or with both, the order cannot be read from the data and the
        user must choose it (``--date-order``). Without slash dates the order does not matter.
        """
        columns = [c for c, typ in self._columns.items() if c in _TIME_COLUMNS and typ == "VARCHAR"]
        if not columns:
            return "dmy"
        values = " UNION ALL ".join(
            f"SELECT {_stripped(f'CAST({_q(c)} AS VARCHAR)')} AS s, "
            f"{_lit(self._file_column(c) or c)} AS col, _row AS r FROM {self._source}"
            for c in columns
        )
        pattern = "'^([0-9]{1,2})/([0-9]{1,2})/[0-9]{2,4}([^0-9/]|$)'"
        # the first row (and its column) holding the example: the error names where it is
        where = "struct_pack(s := s, col := col, r := r)"
        with self._read_errors():
            row = first_row(
                self.con.execute(
                    f"SELECT max(a), max(b), arg_max(s, a), arg_max({where}, b),"
                    f" arg_min({where}, struct_pack(r, col)) FROM ("
                    f" SELECT s, col, r, CAST(regexp_extract(s, {pattern}, 1) AS INTEGER) AS a,"
                    f" CAST(regexp_extract(s, {pattern}, 2) AS INTEGER) AS b FROM ({values})"
                    f" WHERE contains(s, '/') AND regexp_matches(s, {pattern}))"
                )
            )
        if row is None or row[4] is None:
            return "dmy"
        first, second, day_first, month_first, example = row
        if first > 12 and second <= 12:
            return "dmy"
        if second > 12 and first <= 12:
            return "mdy"
        whole_file = (
            " (a question about every date of the file, which --on-error skip cannot settle)"
        )
        if first > 12:
            raise BadInputError(
                f"the dates mix day-first ({day_first!r}) and month-first "
                f"({month_first['s']!r}) orders; pass --date-order dmy or mdy (the rows of the "
                "other order are then rejected)",
                file=self.file_label,
                row=month_first["r"],
                column=month_first["col"],
                value=month_first["s"],
                row_label=self.row_label,
            )
        raise BadInputError(
            "cannot tell day-first from month-first dates: no day above 12, so every date "
            f"such as {example['s']!r} reads both ways; pass --date-order dmy or mdy" + whole_file,
            file=self.file_label,
            row=example["r"],
            column=example["col"],
            value=example["s"],
            row_label=self.row_label,
        )

    def _soft(self, column: str) -> bool:
        """Whether a bad value of ``column`` only empties it: side information, not a key,
        not required, not the kind. A reader's side information (the author's follower count on
        every tweet, a Page's creation date) is not an input row of its own: one bad field of it
        must not take the whole profile with it."""
        hard = (*KEYS[self.table], *REQUIRED_COLUMNS[self.table], "kind")
        return self.embedded and column not in hard

    def _checked_sql(
        self, typed: tuple[dict[str, str], list[tuple[str, str, str, str]]] | None = None
    ) -> str:
        """SQL: every source row with its typed ``t_*`` values and ``_reject`` (NULL if valid).

        In side information only the checks of keys, required columns and the kind reject a
        row; the others empty their field (:meth:`_validated`). ``typed``: :meth:`_typed`'s
        result, when the caller has it.
        """
        exprs, checks = typed or self._typed()
        checks = [c for c in checks if not self._soft(c[1])]
        typed_sql = ", ".join(f"{e} AS {_q('t_' + n)}" for n, e in exprs.items())
        reject_sql = (
            "CASE "
            + " ".join(
                f"WHEN {cond} THEN struct_pack(col := {_lit(col)}, val := {raw}, "
                f"why := {_lit(why)})"
                for cond, col, raw, why in checks
            )
            + " END"
            if checks
            else "NULL"
        )
        return (
            f"SELECT *, {reject_sql} AS _reject FROM ( SELECT {typed_sql}, * FROM {self._source})"
        )

    def _ambiguous(self) -> str:
        """SQL: whether a row's local time (of a column in ``_walls``) happened twice.

        The zone's reading is one of the two instants; the other is that instant shifted by one
        of the sizes by which the zone's clocks went back (:func:`zone_fallbacks`: an hour, or
        half an hour in a few zones), which reads as the same clock.
        """
        fallbacks = zone_fallbacks(self.tz)
        if not self._walls or not fallbacks:
            return "FALSE"
        tz = _lit(self.tz)
        terms = []
        for name in self._walls:
            t, wall = _q("t_" + name), _q("t_wall_" + name)
            for size in fallbacks:
                seconds = int(size.total_seconds())
                for sign in "-+":
                    terms.append(
                        f"coalesce(timezone({tz}, {t} {sign} INTERVAL {seconds} SECOND) = {wall},"
                        " FALSE)"
                    )
        return "(" + " OR ".join(terms) + ")"

    def _validated(self, where: str = "") -> str:
        """SQL: the stored values of the source rows (``where`` filters the checked rows)."""
        cols = [c for c in TABLES[self.table] if c != "source"]
        typed = self._typed()
        emptied: dict[str, list[str]] = {}
        for cond, col, _raw, _why in typed[1]:
            if self._soft(col):
                emptied.setdefault(col, []).append(f"({cond})")

        def stored(c: str) -> str:
            if c not in emptied:
                return self._final(c)
            return f"CASE WHEN {' OR '.join(emptied[c])} THEN NULL ELSE {self._final(c)} END"

        final_sql = ", ".join(f"{stored(c)} AS {_q(c)}" for c in cols)
        checked = self._checked_sql(typed)
        validated = f"SELECT {final_sql}, _row, _rid, _reject FROM ({checked}) {where}"
        return self._with_urls(validated)

    def _finish_rows(self, strict: bool) -> None:
        """Reject, deduplicate and insert the rows of a real (not embedded) source.

        The common case (no bad rows, no repeated keys) reads the source twice: once for the
        keys and checks, once for the insert, straight from the scan and in file order. Keys are
        compared by a 64-bit hash first; only rows whose hash repeats in the file or occurs in
        the case get the exact duplicate analysis.
        """
        con = self.con
        key = KEYS[self.table]
        cols = [c for c in TABLES[self.table] if c != "source"]
        content = ", ".join(_q(c) for c in cols)
        key_hash = f"hash({', '.join(self._final(k) for k in key)})"
        checked = self._checked_sql()
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE _keys AS SELECT _row, _rid, {key_hash} AS _kh, _reject,"
            f" {self._ambiguous()} AS _amb FROM ({checked})"
        )
        if self._walls:
            self.counts.ambiguous_times = _scalar(
                con, "SELECT count(*) FROM _keys WHERE _amb AND _reject IS NULL"
            )
        if self._direct:
            self.counts.read += _scalar(con, "SELECT count(*) FROM _keys")
        # Placeholder accounts derived from posts, and side information that another file
        # carried (embedded rows), give way to the real rows.
        # The key hashes of the rows already in the case: hashed from the table once per ingest,
        # then kept up to date with each file's new rows (cheaper than hashing the table again).
        keyset = _KEYSET.format(table=self.table)
        if not _scalar(
            con,
            f"SELECT count(*) FROM duckdb_tables() WHERE temporary AND table_name = {_lit(keyset)}",
        ):
            existing = f"t.source IS NULL OR NOT {_GIVES_WAY.format(source='t.source')}"
            con.execute(
                f"CREATE TEMP TABLE {keyset} AS SELECT hash({', '.join('t.' + _q(k) for k in key)})"
                f" AS _kh FROM {_q(self.table)} t WHERE {existing}"
            )
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _contested AS SELECT _kh FROM _keys"
            " WHERE _reject IS NULL GROUP BY _kh HAVING count(*) > 1"
            f" UNION SELECT k._kh FROM _keys k SEMI JOIN {keyset} t"
            " ON k._kh = t._kh WHERE k._reject IS NULL"
        )
        verdicts = _scalar(con, "SELECT count(*) FROM _contested") > 0
        if verdicts:
            self._verdicts(key, cols)
        else:
            con.execute(
                "CREATE OR REPLACE TEMP TABLE _verdict AS SELECT NULL::BIGINT AS _row,"
                " NULL::BIGINT AS _rid, NULL::VARCHAR AS verdict, NULL::BIGINT AS _row0,"
                " NULL::VARCHAR AS other_source, NULL::VARCHAR AS key_value LIMIT 0"
            )
        key_label = "/".join(self._file_column(k) or k for k in key)  # the file's names
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _rejects AS "
            "SELECT _row, _reject.col AS col, _reject.val AS val, _reject.why AS why"
            " FROM _keys WHERE _reject IS NOT NULL"
            " UNION ALL SELECT v._row, " + _lit(key_label) + ", v.key_value,"
            f" 'duplicate {key_label} with different content than "
            + self.row_label
            + " ' || v._row0 FROM _verdict v WHERE verdict = 'conflict_file'"
            " UNION ALL SELECT v._row, " + _lit(key_label) + ", v.key_value,"
            f" '{key_label} already in the case with different content (from ' ||"
            " coalesce(v.other_source, '?') || ')' FROM _verdict v WHERE verdict = 'conflict_case'"
        )
        all_rejects = self._collect_rejects()
        if strict and all_rejects:
            row, col, val, why = all_rejects[0]
            raise BadInputError(
                why, file=self.file_label, row=row, column=col, value=val, row_label=self.row_label
            )
        # The rows to insert: every row, less the rejected ones and those with a verdict other
        # than 'new'. A short exclusion list is a plain filter, which keeps the scan in file
        # order; a long one is an anti-join, after which the rows are put back in file order.
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _excluded AS SELECT _rid FROM _keys"
            " WHERE _reject IS NOT NULL"
            " UNION ALL SELECT _rid FROM _verdict WHERE verdict <> 'new'"
        )
        excluded = [
            int(r[0]) for r in con.execute("SELECT _rid FROM _excluded LIMIT 2001").fetchall()
        ]
        where, order = "", ""
        if len(excluded) > 2000:
            where = "WHERE _rid NOT IN (SELECT _rid FROM _excluded)"
            order = " ORDER BY _row, _rid"
        elif excluded:
            where = f"WHERE _rid NOT IN ({', '.join(map(str, sorted(excluded)))})"
        new_rows = f"FROM ({self._validated(where)})"
        if self.table in ("accounts", "posts") and _scalar(
            con,
            f"SELECT count(*) FROM {_q(self.table)} WHERE {_GIVES_WAY.format(source='source')}",
        ):
            k = _q(key[0])
            con.execute(
                f"DELETE FROM {_q(self.table)} WHERE {_GIVES_WAY.format(source='source')}"
                f" AND {k} IN (SELECT {self._final(key[0])} FROM ({self._checked_sql()}) {where})"
            )
        inserted = first_row(
            con.execute(
                f"INSERT INTO {_q(self.table)} ({content}, source) SELECT {content}, ?"
                f" {new_rows}{order}",
                [self.file_label],
            )
        )
        self.counts.ingested = int(inserted[0]) if inserted else 0
        # The new rows' keys (a superset does no harm: a key in the set is only a candidate).
        con.execute(f"INSERT INTO {keyset} SELECT _kh FROM _keys WHERE _reject IS NULL")
        self.counts.duplicates = _scalar(
            con, "SELECT count(*) FROM _verdict WHERE verdict = 'duplicate'"
        )
        self.counts.rejected = len(all_rejects)
        self._record_rejects(all_rejects)
        self._drop()

    def _verdicts(self, key: tuple[str, ...], cols: list[str]) -> None:
        """Build ``_verdict``: new, duplicate or conflicting, for the rows of contested keys."""
        con = self.con
        part = ", ".join(_q(k) for k in key)
        content = ", ".join(_q(c) for c in cols)
        existing = f"t.source IS NULL OR NOT {_GIVES_WAY.format(source='t.source')}"
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _v AS "
            + self._validated(
                "WHERE _rid IN (SELECT _rid FROM _keys WHERE _reject IS NULL"
                " AND _kh IN (SELECT _kh FROM _contested))"
            )
        )
        con.execute(
            # _rid identifies a row: a twarc2 page is one line, so its tweets share one _row.
            f"CREATE OR REPLACE TEMP TABLE _ranked AS SELECT v.*,"
            f" hash({content}) AS _h,"
            f" row_number() OVER (PARTITION BY {part} ORDER BY _row, _rid) AS _rn,"
            f" first_value(hash({content})) OVER (PARTITION BY {part} ORDER BY _row, _rid)"
            " AS _h0,"
            f" first_value(_row) OVER (PARTITION BY {part} ORDER BY _row, _rid) AS _row0"
            " FROM _v v"
        )
        on = " AND ".join(f"t.{_q(k)} IS NOT DISTINCT FROM r.{_q(k)}" for k in key)
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _verdict AS SELECT r._row, r._rid,"
            " CASE WHEN r._rn > 1 AND r._h = r._h0 THEN 'duplicate'"
            "      WHEN r._rn > 1 THEN 'conflict_file'"
            "      WHEN e._h IS NULL THEN 'new'"
            "      WHEN e._h = r._h THEN 'duplicate' ELSE 'conflict_case' END AS verdict,"
            f" r._row0, e.source AS other_source, CAST(r.{_q(key[0])} AS VARCHAR) AS key_value"
            f" FROM _ranked r LEFT JOIN (SELECT {', '.join('t.' + _q(k) for k in key)},"
            f"   hash({', '.join('t.' + _q(c) for c in cols)}) AS _h, t.source"
            f"   FROM {_q(self.table)} t SEMI JOIN _ranked r ON {on} WHERE {existing}) e"
            f" ON {' AND '.join(f'e.{_q(k)} IS NOT DISTINCT FROM r.{_q(k)}' for k in key)}"
            "  AND r._rn = 1"
        )

    @contextlib.contextmanager
    def _read_errors(self) -> Iterator[None]:
        """Report a read error DuckDB raises while scanning a file it reads itself."""
        if self._error_prefix is None:
            yield
            return
        try:
            yield
        except _NOT_READ_ERRORS:
            raise
        except duckdb.Error as exc:
            raise BadInputError(f"{self._error_prefix}: {exc}", file=self.file_label) from exc

    def _collect_rejects(self) -> list[tuple[int, str | None, str | None, str]]:
        rows = [
            (int(r), self._file_column(c), v, w)
            for r, c, v, w in self.con.execute(
                "SELECT _row, col, val, why FROM _rejects ORDER BY _row"
            ).fetchall()
        ]
        rows += [(p.row, p.column, p.value, p.reason) for p in self.parse_rejects]
        rows.sort(key=lambda r: r[0])
        return rows

    def _finish_rejects_only(self, strict: bool) -> None:
        rejects = sorted(self.parse_rejects, key=lambda p: p.row)
        if strict and rejects:
            p = rejects[0]
            raise BadInputError(
                p.reason,
                file=self.file_label,
                row=p.row,
                column=p.column,
                value=p.value,
                row_label=self.row_label,
            )
        self.counts.rejected = len(rejects)
        self._record_rejects([(p.row, p.column, p.value, p.reason) for p in rejects])

    def _record_rejects(self, rejects: list[tuple[int, str | None, str | None, str]]) -> None:
        """Add rejected rows ``(row, column, value, reason)`` to the ``rejects`` table.

        A rejection is a fact about a row of a file: ingesting the file again does not list the
        same rejection twice. Every rejection of the ingest, listed before or not, also goes to
        the temporary table that :func:`start_ingest_state` made and :func:`run_rejects` reads.
        """
        if not rejects:
            return
        rows, columns, values, reasons = zip(*rejects, strict=True)
        new = pa.table(
            {
                "i": pa.array(range(len(rows)), pa.int64()),
                "row": pa.array(rows, pa.int64()),
                "column": pa.array(columns, pa.string()),
                "value": pa.array(values, pa.string()),
                "reason": pa.array(reasons, pa.string()),
            }
        )
        con = self.con
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _new_rejects"
            ' (i BIGINT, "row" BIGINT, "column" VARCHAR, "value" VARCHAR, reason VARCHAR)'
        )
        con.from_arrow(new).insert_into("_new_rejects")
        con.execute(
            f'INSERT INTO {_RUN_REJECTS} SELECT ?, n."row", ?, n."column", n."value", n.reason'
            " FROM _new_rejects n ORDER BY n.i",
            [self.file_label, self.table],
        )
        con.execute(
            'INSERT INTO rejects SELECT ?, n."row", ?, n."column", n."value", n.reason'
            " FROM _new_rejects n WHERE NOT EXISTS (SELECT 1 FROM rejects r"
            ' WHERE r.file = ? AND r.table_name = ? AND r."row" = n."row"'
            ' AND r."column" IS NOT DISTINCT FROM n."column"'
            ' AND r."value" IS NOT DISTINCT FROM n."value" AND r.reason = n.reason)'
            " ORDER BY n.i",
            [self.file_label, self.table, self.file_label, self.table],
        )
        con.execute("DROP TABLE _new_rejects")

    def _with_urls(self, validated: str) -> str:
        """Add the normalised ``urls`` of posts to the validated rows (SQL ``validated``).

        Plain URLs are normalised in SQL (:func:`normalise_urls_sql`); a ``CASE`` evaluates the
        Python fallback only for the elements the SQL does not cover, so Python sees few URLs.
        """
        if self.table != "posts":
            return validated
        # Most posts have no URL, and most of the others one: those go through the SQL form as
        # plain columns (no lambda); lists of several URLs, and URLs the SQL does not cover,
        # through the list form with the Python fallback, which the CASE runs only for them.
        layers = normalise_url_layers("urls_original[1]", "_url_step")
        inner = validated
        for name, expr in layers:
            inner = f"SELECT *, {expr} AS {name} FROM ({inner})"
        single = layers[-1][0]
        listed = normalise_urls_sql("urls_original", _URL_FALLBACK)
        return (
            f"SELECT * EXCLUDE ({', '.join(name for name, _ in layers)}) REPLACE"
            " (CASE WHEN len(urls_original) = 0 THEN []::VARCHAR[]"
            f" WHEN len(urls_original) = 1 AND {single} IS NOT NULL THEN [{single}]"
            f" ELSE coalesce({listed}, []) END AS urls) FROM ({inner})"
        )

    @contextlib.contextmanager
    def _url_fallback(self) -> Iterator[None]:
        """Make :func:`normalise_url` callable from SQL for the duration of the block."""
        if self.table != "posts":
            yield
            return
        self.con.create_function(
            _URL_FALLBACK, normalise_url, ["VARCHAR"], "VARCHAR", side_effects=False
        )
        try:
            yield
        finally:
            with contextlib.suppress(duckdb.Error):
                self.con.remove_function(_URL_FALLBACK)

    def _merge_embedded(self, cols: list[str]) -> None:
        """Merge side-information rows, never replacing real rows.

        One row per key; each field is the latest non-NULL value the file gave for it, so a
        later mention of an account that lacks (NULL) its location keeps the earlier one, while
        an empty string, a value the platform wrote, still wins when it is the latest. Side
        information an earlier file gave for the key is updated by the same rule (the file
        ingested later is the later one).
        """
        con = self.con
        key = KEYS[self.table]
        part = ", ".join(_q(k) for k in key)
        content = ", ".join(_q(c) for c in cols)
        rest = [c for c in cols if c not in key]
        fields = [
            f"arg_max({_q(c)}, _row) FILTER (WHERE {_q(c)} IS NOT NULL) AS {_q(c)}" for c in rest
        ]
        select = ", ".join([part, *fields, "max(_row) AS _row"])
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE _latest AS SELECT {select}"
            f" FROM _v WHERE _reject IS NULL GROUP BY {part}"
        )
        on = " AND ".join(f"t.{_q(k)} IS NOT DISTINCT FROM l.{_q(k)}" for k in key)
        if self.table == "accounts":
            con.execute(
                "DELETE FROM accounts t WHERE starts_with(t.source, 'derived:') AND "
                "t.account_id IN (SELECT account_id FROM _latest)"
            )
        if rest:
            # Earlier side information of the same keys: merged into _latest, then replaced
            # (an UPDATE of 190k accounts took 40 s in DuckDB; delete and insert take one).
            earlier = f"(SELECT * FROM {_q(self.table)} WHERE starts_with(source, 'embedded:'))"
            merged = ", ".join(f"coalesce(l.{_q(c)}, t.{_q(c)}) AS {_q(c)}" for c in rest)
            keys = ", ".join("l." + _q(k) for k in key)
            con.execute(
                f"CREATE OR REPLACE TEMP TABLE _latest AS SELECT {keys}, {merged}, l._row"
                f" FROM _latest l LEFT JOIN {earlier} t ON {on}"
            )
            con.execute(
                f"DELETE FROM {_q(self.table)} t WHERE starts_with(t.source, 'embedded:')"
                f" AND EXISTS (SELECT 1 FROM _latest l WHERE {on})"
            )
        con.execute(
            f"INSERT INTO {_q(self.table)} ({content}, source) SELECT {content}, ? FROM _latest l"
            f" WHERE NOT EXISTS (SELECT 1 FROM {_q(self.table)} t WHERE {on}) ORDER BY _row",
            ["embedded:" + self.file_label],
        )
        self._drop()

    def _drop(self) -> None:
        for name in (
            self.stage,
            "_v",
            "_keys",
            "_contested",
            "_ranked",
            "_verdict",
            "_rejects",
            "_excluded",
            "_latest",
        ):
            self.con.execute(f"DROP TABLE IF EXISTS {name}")


#: The temporary table of the rejections of the connection's latest ingest.
_RUN_REJECTS: Final = "_run_rejects"


def start_ingest_state(con: duckdb.DuckDBPyConnection) -> None:
    """Start the list of this ingest's rejections (see :func:`run_rejects`), empty.

    Loaders run after this: a loader that rejects a row records it in that list too.
    """
    con.execute(f"CREATE OR REPLACE TEMP TABLE {_RUN_REJECTS} AS SELECT * FROM rejects LIMIT 0")


def run_rejects(con: duckdb.DuckDBPyConnection) -> list[tuple[object, ...]]:
    """The rejections of the latest ingest on ``con``, in the order they were found.

    Rows of ``(file, row, table_name, column, value, reason)``; unlike the ``rejects`` table,
    they include the rejections that an earlier ingest of the same file had listed already.
    """
    try:
        return con.execute(
            f'SELECT file, "row", table_name, "column", value, reason FROM {_RUN_REJECTS}'
            " ORDER BY rowid"
        ).fetchall()
    except duckdb.CatalogException:  # no ingest on this connection yet
        return []


def drop_ingest_state(con: duckdb.DuckDBPyConnection) -> None:
    """Drop what the loaders of one ingest share (the key hashes of each table)."""
    for table in KEYS:
        con.execute(f"DROP TABLE IF EXISTS {_KEYSET.format(table=table)}")


def derive_accounts(con: duckdb.DuckDBPyConnection) -> int:
    """Add an account row (kind ``user``) for every post author the case has no account for.

    Returns the number of accounts added. Such rows carry ``source = 'derived:posts'`` and give
    way to real account rows ingested later.
    """
    return _scalar(
        con,
        "INSERT INTO accounts (account_id, kind, platform, source)"
        " SELECT account_id, 'user', min(platform), 'derived:posts' FROM posts p"
        " WHERE NOT EXISTS (SELECT 1 FROM accounts a WHERE a.account_id = p.account_id)"
        " GROUP BY account_id ORDER BY account_id",
    )
