"""Readers: each turns one input file into a stream of raw batches in canonical column names.

A reader does no validation of values: it only maps the file's structure onto the canonical
tables (:mod:`cibscan.schema`) and numbers every input record, so that the load stage
(:mod:`cibscan.ingest.load`) can validate, reject with a precise position, and account for every
row. Records a reader cannot even parse (a ragged CSV row, a truncated JSON line, bytes that are
not UTF-8) come out as :class:`ParseReject`.

Row numbers: CSV rows count the header as row 1, as a spreadsheet does; JSON lines are line
numbers; Parquet rows are 1-based data rows.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Final, Protocol

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from cibscan.errors import BadInputError
from cibscan.ingest.source import SAMPLE_BYTES, Sample, open_input
from cibscan.schema import LIST_COLUMNS, REQUIRED_COLUMNS, TABLES

__all__ = [
    "PARQUET_ERRORS",
    "CsvFormat",
    "InputFormat",
    "JsonlFormat",
    "ParquetFormat",
    "ParseReject",
    "RawBatch",
    "ReadItem",
    "ReadOptions",
    "SqlSource",
    "guess_table",
    "has_surrogate_escape",
    "json_scalar",
    "lone_surrogate",
    "note_sources",
    "read_csv_records",
    "rejects_after_batches",
    "require_columns",
]

BATCH_ROWS: Final = 131_072
#: What reading a malformed Parquet file raises: Arrow's errors, I/O errors, and the
#: UnicodeDecodeError of column names that are not UTF-8.
PARQUET_ERRORS: Final = (pa.ArrowException, OSError, UnicodeDecodeError)
#: Arrow reads CSV in blocks; a record must fit in one, so a longer one is read again with
#: larger blocks, up to the maximum (a longer record is most likely an unclosed quote).
CSV_BLOCK_BYTES: Final = 8 << 20
MAX_CSV_BLOCK_BYTES: Final = 1 << 30


@dataclass(frozen=True)
class RawBatch:
    """Rows for one canonical table, in canonical column names, plus a ``_row`` column.

    ``embedded`` marks side information carried on another table's rows (for example the
    author's follower count on every tweet of an archive): such rows are merged into the table
    but are not input rows of their own, so they are not counted or rejected.
    """

    table: str
    data: pa.RecordBatch
    embedded: bool = False
    defaults: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ParseReject:
    """An input record that could not be parsed at all."""

    table: str
    row: int
    column: str | None
    value: str | None
    reason: str


@dataclass(frozen=True)
class SqlSource:
    """A whole file that DuckDB reads itself, as one relation in canonical column names.

    ``relation`` is a SQL ``FROM`` item with the canonical columns plus ``_row`` (the row
    number used in messages) and ``_rid`` (a unique, file-ordered row id). Reading the file in
    DuckDB skips the Arrow round trip through Python: the load stage validates and inserts
    straight from the scan (see :mod:`cibscan.ingest.load`).
    """

    table: str
    relation: str
    rows: int
    #: The one-line message prefix for a read error that DuckDB raises mid-scan.
    error_prefix: str = "cannot read"


ReadItem = RawBatch | ParseReject


@dataclass(frozen=True)
class ReadOptions:
    """What the user told the ingest about a file."""

    column_map: Mapping[str, str] = field(default_factory=dict)
    table: str | None = None
    platform: str | None = None
    batch_rows: int = BATCH_ROWS
    max_decompressed_bytes: int = 1 << 40
    max_decompression_ratio: float = 200.0
    #: The ``--tz`` of the ingest (for formats that resolve zone abbreviations with it).
    tz: str = "UTC"
    #: Filled by the reader as it starts a table: canonical column -> the file's column it
    #: comes from (where they differ), so that the load stage's errors name the file's column.
    column_sources: dict[str, dict[str, str]] = field(default_factory=dict)


class InputFormat(Protocol):
    """A file format cibscan reads."""

    name: str
    description: str
    row_label: str

    def sniff(self, sample: Sample) -> bool:
        """Return whether the sample looks like this format."""
        ...

    def read(
        self, path: Path, sample: Sample, options: ReadOptions
    ) -> Iterator[ReadItem | SqlSource]:
        """Stream the file's records as raw batches and parse rejects (or one SQL source)."""
        ...


_TABLE_HINTS: Final = {
    "posts": ("post_id",),
    "memberships": ("asset_id",),
    "infra": ("ip", "asn", "device_id", "user_agent"),
    "labels": ("label",),
    "accounts": ("username", "display_name", "followers", "created_at", "description", "kind"),
}


def guess_table(columns: Sequence[str], path: Path, forced: str | None = None) -> str:
    """Decide which canonical table a generic file holds, from its (mapped) column names.

    Raises
    ------
    BadInputError
        When no table fits, or a required column is missing.
    """
    cols = set(columns)
    table = forced
    if table is None:
        stem = path.name.split(".")[0].lower()
        if stem in TABLES:
            table = stem
        else:
            for name, hints in _TABLE_HINTS.items():
                if cols.intersection(hints):
                    table = name
                    break
    if table is None:
        raise BadInputError(
            f"cannot tell which table the columns {sorted(cols)} belong to; name the columns as "
            "in docs/data-model.md, map them with --map SOURCE=CANONICAL, or pass --table",
            file=str(path),
        )
    if table not in TABLES:
        raise BadInputError(f"unknown table {table!r}; one of {sorted(TABLES)}", file=str(path))
    missing = [c for c in REQUIRED_COLUMNS[table] if c not in cols]
    if missing:
        raise BadInputError(
            f"missing required column for table {table!r} (columns found: "
            f"{', '.join(sorted(cols)) or 'none'}); map a column to it with "
            f"--map SOURCE={missing[0]}",
            file=str(path),
            column=missing[0],
        )
    return table


def _mapped(name: str, column_map: Mapping[str, str]) -> str:
    return column_map.get(name, name)


def json_scalar(value: Any) -> str | None:
    """Render a JSON value as the string a canonical scalar column holds."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value) if isinstance(value, float) else str(value)
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


#: A JSON escape of a UTF-16 surrogate; a lone one decodes to no character.
_SURROGATE_ESCAPE: Final = re.compile(r"\\u[dD][89a-fA-F]")
LONE_SURROGATE: Final = "a lone UTF-16 surrogate escape (\\ud800 to \\udfff), which is no character"


def has_surrogate_escape(text: str, start: int = 0, end: int | None = None) -> bool:
    """Whether JSON text (``text[start:end]``) has an escape of a UTF-16 surrogate."""
    return _SURROGATE_ESCAPE.search(text, start, len(text) if end is None else end) is not None


def lone_surrogate(obj: Any) -> bool:
    """Whether a decoded JSON value holds a lone surrogate.

    JSON may escape half of a UTF-16 pair (``"\\ud800"``); the decoder gives a string that
    cannot be encoded as UTF-8, so Arrow and DuckDB cannot store it. Callers check the text with
    :func:`has_surrogate_escape` first (cheap) and the value only when that finds one.
    """
    try:
        json.dumps(obj, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _row_range(start: int, count: int) -> pa.Array:
    """Row numbers ``start .. start + count - 1`` (numpy: no Python int per row)."""
    return pa.array(np.arange(start, start + count, dtype=np.int64))


def _number_rows(start: int, count: int, skipped: set[int]) -> tuple[pa.Array, int]:
    """Assign record numbers to ``count`` rows from ``start`` on, skipping rejected records."""
    if not any(s >= start for s in skipped):
        return _row_range(start, count), start + count
    numbers: list[int] = []
    n = start
    while len(numbers) < count:
        if n not in skipped:
            numbers.append(n)
        n += 1
    return pa.array(numbers, pa.int64()), n


class CsvFormat:
    """Canonical or mapped columns in a CSV or TSV file with a header row."""

    name = "csv"
    description = "generic CSV/TSV with a header row (canonical or mapped column names)"
    row_label = "row"

    def sniff(self, sample: Sample) -> bool:
        line = sample.first_line()
        return (
            bool(line)
            and not line.lstrip().startswith(("{", "["))
            and not sample.head.startswith(b"PAR1")
        )

    @staticmethod
    def delimiter(sample: Sample) -> str:
        """The header's most frequent of comma, tab and semicolon (comma on a tie).

        Spreadsheets set to a language that writes decimal commas save CSV with semicolons.
        """
        line = sample.first_line()
        counts = {d: line.count(d) for d in (",", "\t", ";")}
        return max(counts, key=lambda d: (counts[d], d == ","))

    @staticmethod
    def sniffed_header(sample: Sample) -> list[str] | None:
        """The column names of a sample that looks like a CSV file with a header, else None.

        For the sniffing of CSV-based formats: a first line that opens JSON, or a header that
        cannot be read, is not theirs.
        """
        line = sample.first_line()
        if not line or line.lstrip().startswith(("{", "[")):
            return None
        try:
            return CsvFormat.header(sample, CsvFormat.delimiter(sample), sample.path)
        except BadInputError:
            return None

    @staticmethod
    def header(sample: Sample, delimiter: str, path: Path) -> list[str]:
        try:
            row = next(csv.reader(io.StringIO(sample.first_line()), delimiter=delimiter))
        except (StopIteration, csv.Error) as exc:
            raise BadInputError("cannot read the header row", file=str(path), row=1) from exc
        names = [c.strip() for c in row]
        seen: set[str] = set()
        for name in names:
            if name in seen:
                raise BadInputError(
                    "duplicate column name in the header", file=str(path), row=1, column=name
                )
            seen.add(name)
        return names

    def read(self, path: Path, sample: Sample, options: ReadOptions) -> Iterator[ReadItem]:
        delimiter = self.delimiter(sample)
        names = self.header(sample, delimiter, path)
        mapped = [_mapped(n, options.column_map) for n in names]
        table = guess_table(mapped, path, options.table)
        yield from read_csv_records(
            path,
            names,
            table,
            options,
            rename={n: m for n, m in zip(names, mapped, strict=True) if m in TABLES[table]},
            delimiter=delimiter,
            header=True,
        )


def _decode_column(array: pa.Array, name: str) -> tuple[pa.Array, list[tuple[int, str]]]:
    """Decode a binary column as UTF-8; return the strings and the indices that failed."""
    try:
        return array.cast(pa.string()), []
    except pa.ArrowInvalid:
        bad: list[tuple[int, str]] = []
        values: list[str | None] = []
        for i, raw in enumerate(array.to_pylist()):
            if raw is None:
                values.append(None)
                continue
            try:
                values.append(raw.decode("utf-8"))
            except UnicodeDecodeError:
                bad.append((i, raw.decode("utf-8", errors="backslashreplace")))
                values.append(None)
        return pa.array(values, pa.string()), bad


#: Stands for a byte that is not UTF-8 in the fallback pass of :func:`read_csv_records` (a
#: noncharacter: Unicode promises never to assign it, and text interchange has no use for it).
_NOT_UTF8: Final = "\ufdd0"


def _mark_not_utf8(error: UnicodeError) -> tuple[str | bytes, int]:
    assert isinstance(error, UnicodeDecodeError)
    return _NOT_UTF8, error.start + 1


codecs.register_error("cibscan-mark-not-utf8", _mark_not_utf8)


class _Wrapped(io.RawIOBase):
    """A readable byte stream over another, which it closes with itself."""

    def __init__(self, inner: IO[bytes]) -> None:
        super().__init__()
        self._inner = inner

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        try:
            self._inner.close()
        finally:
            super().close()


class _MarkedUtf8(_Wrapped):
    """A byte stream with every byte that is not UTF-8 replaced by :data:`_NOT_UTF8`.

    Arrow's CSV reader decodes the text of a row with the wrong number of fields before handing
    it to the invalid-row handler; when that text is not UTF-8 the handler cannot run and the
    whole file fails. The fallback pass reads through this stream instead, so that every row
    reaches the handler, and cells holding the marker are rejected as not UTF-8.
    """

    def __init__(self, inner: IO[bytes]) -> None:
        super().__init__(inner)
        self._decoder = codecs.getincrementaldecoder("utf-8")("cibscan-mark-not-utf8")
        self._pending = b""

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        while not self._pending:
            data = self._inner.read(1 << 20)
            self._pending = self._decoder.decode(data, final=not data).encode("utf-8")
            if not data:
                break
        n = min(len(buffer), len(self._pending))
        buffer[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n


class _TailRecorder(_Wrapped):
    """A byte stream that remembers the last bytes read through it (see ``_unclosed_quote``)."""

    def __init__(self, inner: IO[bytes]) -> None:
        super().__init__(inner)
        self.tail = b""

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self._inner.read(len(buffer))
        n = len(data)
        buffer[:n] = data
        if n:
            self.tail = (self.tail + data[-16:])[-16:]
        return n


def require_columns(
    names: Sequence[str], required: Iterable[str], path: Path, what: str, hint: str = ""
) -> None:
    """Refuse a file of format ``what`` that lacks a column it needs, naming the first missing.

    Raises
    ------
    BadInputError
        Naming the file, the missing column and the columns found (and ``hint`` after them).
    """
    missing = [c for c in required if c not in names]
    if missing:
        raise BadInputError(
            f"missing column of {what} (columns found: {', '.join(sorted(names)) or 'none'})"
            + (f"; {hint}" if hint else ""),
            file=str(path),
            column=missing[0],
        )


def rejects_after_batches(
    items: Iterable[ReadItem],
    on_rows: Callable[[RawBatch], Iterable[ReadItem]],
    on_embedded: Callable[[RawBatch], ReadItem] | None = None,
) -> Iterator[ReadItem]:
    """Pass a CSV reader's items through a format's own checks, rejects after their batch.

    ``on_rows`` turns each batch of the main table into a batch and its rejects;
    ``on_embedded`` (default: unchanged) reshapes each batch of side information. The side
    information of a row that ``on_rows`` rejected is dropped before ``on_embedded`` sees it:
    a rejected row is accounted for as a reject, and nothing of it reaches the case store. The
    rejects of a batch, the CSV reader's and the format's, are given out after the batch in row
    order: strict mode stops at the first reject it sees, and a bad value in an earlier row of
    the batch must be the one reported.
    """
    pending: list[ParseReject] = []
    rejected: set[int] = set()
    for item in items:
        if isinstance(item, ParseReject):
            pending.append(item)
        elif item.embedded:
            if rejected:
                kept = pc.invert(pc.is_in(item.data.column("_row"), pa.array(sorted(rejected))))
                item = RawBatch(item.table, item.data.filter(kept), True, item.defaults)
            yield item if on_embedded is None else on_embedded(item)
        else:
            yield from sorted(pending, key=lambda r: r.row)
            pending, rejected = [], set()
            for out in on_rows(item):
                if isinstance(out, ParseReject):
                    pending.append(out)
                    rejected.add(out.row)
                else:
                    yield out
    yield from sorted(pending, key=lambda r: r.row)


def batch_then_rejects(
    table: str, arrays: Mapping[str, pa.Array], rejects: Mapping[int, tuple[str, str | None, str]]
) -> Iterator[ReadItem]:
    """A format's batch without its rejected rows, then their rejects in row order.

    ``arrays`` are the batch's columns, ``_row`` among them; ``rejects`` maps a row's index in
    the batch to (column, value, reason). The batch comes before its rejects: strict mode stops
    at the first reject, and a bad value in an earlier row of the batch must be the one
    reported.
    """
    out = pa.RecordBatch.from_arrays(list(arrays.values()), names=list(arrays))
    if rejects:
        out = out.filter(pa.array([i not in rejects for i in range(out.num_rows)]))
    yield RawBatch(table, out)
    rows = arrays["_row"]
    for index, (name, value, reason) in sorted(rejects.items()):
        yield ParseReject(table, rows[index].as_py(), name, value, reason)


def note_sources(options: ReadOptions, table: str, rename: Mapping[str, str]) -> None:
    """Record which file column each canonical column of ``table`` comes from (``rename``)."""
    sources = options.column_sources.setdefault(table, {})
    for source, canonical in rename.items():
        if source != canonical and not canonical.startswith("_"):
            sources.setdefault(canonical, source)


def read_csv_records(
    path: Path,
    names: list[str],
    table: str,
    options: ReadOptions,
    *,
    rename: Mapping[str, str],
    delimiter: str = ",",
    header: bool = True,
    embedded: Sequence[tuple[str, Mapping[str, str]]] = (),
    defaults: Mapping[str, str] | None = None,
) -> Iterator[ReadItem]:
    """Stream a delimited file as raw batches of ``table``.

    Parameters
    ----------
    names
        The file's column names, in order.
    rename
        File column -> canonical column, for the columns to keep; columns the file lacks are
        left out (so a format passes its whole map).
    header
        Whether the first record is a header (then data rows are numbered from 2).
    embedded
        Extra (table, rename) pairs: side information carried on the same rows.
    defaults
        Constant values for canonical columns the file lacks (for example the platform).
    """
    present = set(names)
    rename = {k: v for k, v in rename.items() if k in present}
    note_sources(options, table, rename)
    embedded = [(t, {k: v for k, v in r.items() if k in present}) for t, r in embedded]
    done = _CsvProgress(2 if header else 1)
    marked = False
    block = CSV_BLOCK_BYTES
    while True:
        try:
            yield from _csv_pass(
                path, names, table, options, rename, delimiter, header, embedded, defaults,
                done, marked, block,
            )  # fmt: skip
            return
        except _RowTextNotUtf8Error:
            # Arrow could not hand a ragged row that is not UTF-8 to the handler. Read again
            # with the bytes that are not UTF-8 marked, skipping what was already given out.
            marked = True
        except _BlockTooSmallError as exc:
            # A record longer than the block (a huge text cell): read again with blocks large
            # enough, skipping what was already given out. Memory grows with the longest record.
            if block >= MAX_CSV_BLOCK_BYTES:
                raise BadInputError(
                    f"a record longer than {MAX_CSV_BLOCK_BYTES} bytes (an unclosed quote?)",
                    file=str(path),
                    row=done.next_record,
                ) from exc
            block = min(block * 8, MAX_CSV_BLOCK_BYTES)


class _BlockTooSmallError(Exception):
    """Arrow met a record longer than its block size."""


class _RowTextNotUtf8Error(Exception):
    """Arrow failed on a row with the wrong number of fields whose text is not UTF-8."""


@dataclass
class _CsvProgress:
    """What a pass of :func:`read_csv_records` has given out (for a fallback pass to skip)."""

    next_record: int
    rejects: set[int] = field(default_factory=set)


def _csv_pass(
    path: Path,
    names: list[str],
    table: str,
    options: ReadOptions,
    rename: Mapping[str, str],
    delimiter: str,
    header: bool,
    embedded: Sequence[tuple[str, Mapping[str, str]]],
    defaults: Mapping[str, str] | None,
    done: _CsvProgress,
    marked: bool,
    block_size: int,
) -> Iterator[ReadItem]:
    skipped: dict[int, ParseReject] = {}

    def on_invalid(row: Any) -> str:
        number = int(row.number) if row.number is not None and row.number >= 0 else -1
        skipped[number] = ParseReject(
            table,
            number,
            None,
            (row.text or "")[:200].replace(_NOT_UTF8, "\ufffd"),
            f"expected {row.expected_columns} fields, found {row.actual_columns}",
        )
        return "skip"

    def failed(exc: pa.ArrowInvalid, row: int | None) -> Exception:
        # The handler is not called for a row whose text is not UTF-8; Arrow then reports
        # the row as a parse error (the callback's UnicodeDecodeError is swallowed).
        if not marked and "Expected" in str(exc) and "columns" in str(exc):
            return _RowTextNotUtf8Error()
        if "straddl" in str(exc):
            return _BlockTooSmallError()
        return BadInputError(f"cannot read as CSV: {exc}", file=str(path), row=row)

    stream: IO[bytes] = open_input(
        path, max_bytes=options.max_decompressed_bytes, max_ratio=options.max_decompression_ratio
    )
    if marked:
        stream = io.BufferedReader(_MarkedUtf8(stream), buffer_size=1 << 20)
    tail = _TailRecorder(stream)  # closes the stream with itself
    last: tuple[int, str] | None = None  # the last record's number and last field
    try:
        reader = pa_csv.open_csv(
            tail,
            read_options=pa_csv.ReadOptions(
                column_names=names,
                skip_rows=1 if header else 0,
                use_threads=False,
                block_size=block_size,
            ),
            parse_options=pa_csv.ParseOptions(
                delimiter=delimiter,
                newlines_in_values=True,
                invalid_row_handler=on_invalid,
            ),
            convert_options=pa_csv.ConvertOptions(
                column_types={n: pa.binary() for n in names},
                null_values=[""],
                strings_can_be_null=True,
                quoted_strings_can_be_null=True,
                include_columns=list(
                    dict.fromkeys([*rename, *(c for _, r in embedded for c in r)])
                ),
            ),
        )
    except pa.ArrowInvalid as exc:
        tail.close()
        raise failed(exc, None) from exc
    next_record = 2 if header else 1
    try:
        while True:
            try:
                batch = reader.read_next_batch()
            except StopIteration:
                break
            except pa.ArrowInvalid as exc:
                raise failed(exc, next_record) from exc
            first = next_record
            numbers, next_record = _number_rows(next_record, batch.num_rows, set(skipped))
            if batch.num_rows and names[-1] in batch.schema.names:
                cell = batch.column(names[-1])[batch.num_rows - 1].as_py()
                last = (numbers[-1].as_py(), cell.decode("utf-8", "replace") if cell else "")
            rejects = [skipped[n] for n in sorted(skipped) if n < next_record]
            for number in [n for n in skipped if n < next_record]:
                del skipped[number]
            columns: dict[str, pa.Array] = {}
            bad_rows: dict[int, tuple[str, str]] = {}
            for name in batch.schema.names:
                decoded, bad = _decode_column(batch.column(name), name)
                if marked:
                    decoded, bad = _unmark(decoded, bad)
                columns[name] = decoded
                for index, value in bad:
                    bad_rows.setdefault(index, (name, value))
            keep = np.ones(batch.num_rows, dtype=bool)
            for index in bad_rows:
                keep[index] = False
            if first < done.next_record:  # given out by the first pass
                keep &= numbers.to_numpy() >= done.next_record
            for index, (column, value) in sorted(bad_rows.items()):
                rejects.append(
                    ParseReject(table, numbers[index].as_py(), column, value, "not valid UTF-8")
                )
            for target, ren, is_embedded in (
                (table, rename, False),
                *((t, r, True) for t, r in embedded),
            ):
                arrays = [columns[src] for src in ren]
                fields = [ren[src] for src in ren]
                for key, value in (defaults or {}).items():
                    if key not in fields and key in TABLES[target]:
                        arrays.append(pa.array([value] * batch.num_rows, pa.string()))
                        fields.append(key)
                out = pa.RecordBatch.from_arrays([*arrays, numbers], names=[*fields, "_row"])
                if not keep.all():
                    out = out.filter(pa.array(keep))
                if out.num_rows:
                    yield RawBatch(target, out, embedded=is_embedded)
            # The rows before the rejects are staged first: in strict mode the ingest stops at
            # the first reject, and a bad value in an earlier row must still be the one reported.
            for reject in sorted(rejects, key=lambda r: r.row):
                if reject.row not in done.rejects:
                    done.rejects.add(reject.row)
                    yield reject
            done.next_record = max(done.next_record, next_record)
        for number in sorted(skipped):
            if number not in done.rejects:
                done.rejects.add(number)
                yield skipped[number]
        _unclosed_quote(path, last, tail.tail, rename.get(names[-1], names[-1]))
    finally:
        tail.close()


def _unclosed_quote(path: Path, last: tuple[int, str] | None, tail: bytes, column: str) -> None:
    """Fail when the file ends inside a quoted field, which then holds every later line.

    Only a quoted field holds a line break, and a closed one ends with a quote: a last field
    with a line break in a file that does not end with a quote was never closed, and the rows
    after its opening quote were read as its text (Arrow does not report it).
    """
    if last is None or ("\n" not in last[1] and "\r" not in last[1]):
        return
    if tail.rstrip(b"\r\n").endswith(b'"'):
        return
    text = last[1].rstrip("\r\n")
    raise BadInputError(
        f"a quoted field opened in this record is never closed: it holds the rest of the file "
        f"({text.count(chr(10)) + 1} lines) as its text; close the quote",
        file=str(path),
        row=last[0],
        column=column,
        value=text,
    )


def _unmark(
    decoded: pa.Array, bad: list[tuple[int, str]]
) -> tuple[pa.Array, list[tuple[int, str]]]:
    """Treat cells holding the not-UTF-8 marker of the fallback pass as not UTF-8."""
    hits = pc.fill_null(pc.match_substring(decoded, _NOT_UTF8), False)
    if not pc.any(hits).as_py():
        return decoded, bad
    values = decoded.to_pylist()
    found = dict(bad)
    for index in pc.indices_nonzero(hits).to_pylist():
        found.setdefault(index, values[index].replace(_NOT_UTF8, "\ufffd"))
        values[index] = None
    return pa.array(values, pa.string()), sorted(found.items())


#: List columns whose values never hold a comma, so that commas separate them as spaces do
#: (4CAT and other tools join hashtags with commas).
COMMA_LISTS: Final = frozenset({"hashtags", "mentions"})


def _list_value(value: Any, name: str = "") -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, list):
        return [v if isinstance(v, str) else (json_scalar(v) or "") for v in value]
    text = json_scalar(value) or ""
    stripped = text.strip()
    if stripped.startswith("["):
        parsed = json.loads(stripped)
        if not isinstance(parsed, list):
            raise ValueError("not a JSON array")
        return [v if isinstance(v, str) else (json_scalar(v) or "") for v in parsed]
    if name in COMMA_LISTS and "," in stripped:
        return [v for v in re.split(r"[\s,]+", stripped) if v]
    return stripped.split()


def records_to_batch(
    table: str,
    records: Sequence[Mapping[str, Any]],
    rows: Sequence[int],
    columns: Sequence[str] | None = None,
) -> pa.RecordBatch:
    """Build a raw batch of ``table`` from dicts keyed by canonical column names."""
    cols = list(columns) if columns is not None else list(TABLES[table])
    arrays = []
    for name in cols:
        if name in LIST_COLUMNS:
            arrays.append(pa.array([r.get(name) for r in records], pa.list_(pa.string())))
        else:
            arrays.append(pa.array([r.get(name) for r in records], pa.string()))
    arrays.append(pa.array(rows, pa.int64()))
    return pa.RecordBatch.from_arrays(arrays, names=[*cols, "_row"])


class JsonlFormat:
    """One JSON object per line with canonical or mapped keys."""

    name = "jsonl"
    description = "generic JSON lines (one object per line, canonical or mapped keys)"
    row_label = "line"

    def sniff(self, sample: Sample) -> bool:
        return sample.text.lstrip().startswith("{")

    def _table(self, sample: Sample, path: Path, options: ReadOptions) -> str:
        keys: set[str] = set()
        # Records end at '\n' only: str.splitlines() would also break at U+2028, U+0085 and
        # other separators that JSON strings may hold raw, losing every key of such a line.
        lines: Iterable[str] = sample.text.split("\n")[:50]
        for attempt in range(2):
            for line in lines:
                try:
                    obj = json.loads(line)
                except (ValueError, RecursionError):
                    continue
                if isinstance(obj, dict):
                    keys.update(_mapped(k, options.column_map) for k in obj)
            if keys or attempt or len(sample.head) < SAMPLE_BYTES:
                break
            # No whole record in the sample (a huge text, deep nesting): read the first lines.
            lines = self._first_lines(path, options)
        if not keys:
            # No record of the sample parses (an empty file, or only malformed lines): its keys
            # cannot be known, so no required column is missing from any row (CSV and Parquet
            # carry their columns). The table named or in the file name holds, and each
            # malformed line becomes a reject.
            table = options.table or path.name.split(".")[0].lower()
            if table in TABLES:
                return table
        return guess_table(sorted(keys), path, options.table)

    @staticmethod
    def _first_lines(path: Path, options: ReadOptions, count: int = 50) -> Iterator[str]:
        with open_input(
            path,
            max_bytes=options.max_decompressed_bytes,
            max_ratio=options.max_decompression_ratio,
        ) as stream:
            for _ in range(count):
                # Bounded: a file that is one endless line is not read whole.
                raw = stream.readline(MAX_CSV_BLOCK_BYTES)
                if not raw:
                    return
                yield raw.decode("utf-8", "replace").lstrip("\ufeff")

    def read(self, path: Path, sample: Sample, options: ReadOptions) -> Iterator[ReadItem]:
        table = self._table(sample, path, options)
        columns = [c for c in TABLES[table] if c != "source"]
        records: list[dict[str, Any]] = []
        rows: list[int] = []
        with open_input(
            path,
            max_bytes=options.max_decompressed_bytes,
            max_ratio=options.max_decompression_ratio,
        ) as stream:
            for number, raw in enumerate(stream, start=1):
                if not raw.strip():
                    continue
                item = self._record(raw, number, table, options)
                if isinstance(item, ParseReject):
                    # The rows before a reject are staged first: in strict mode the ingest
                    # stops at the first reject, and a bad value in an earlier row must still
                    # be the one reported.
                    if records:
                        yield RawBatch(table, records_to_batch(table, records, rows, columns))
                        records, rows = [], []
                    yield item
                    continue
                records.append(item)
                rows.append(number)
                if len(records) >= options.batch_rows:
                    yield RawBatch(table, records_to_batch(table, records, rows, columns))
                    records, rows = [], []
        if records:
            yield RawBatch(table, records_to_batch(table, records, rows, columns))

    @staticmethod
    def _record(
        raw: bytes, number: int, table: str, options: ReadOptions
    ) -> dict[str, Any] | ParseReject:
        """One line as a record in canonical names, or the reason it is rejected."""
        try:
            line = raw.decode("utf-8").rstrip("\r\n")
        except UnicodeDecodeError:
            value = raw[:200].decode("utf-8", "backslashreplace")
            return ParseReject(table, number, None, value, "not valid UTF-8")
        if number == 1:
            line = line.lstrip("\ufeff")  # a byte-order mark, as Windows editors write
        try:
            obj = json.loads(line)
        except ValueError as exc:
            reason = f"invalid JSON ({exc.args[0].split(':')[0]})"
            return ParseReject(table, number, None, line[:200].rstrip(), reason)
        except RecursionError:
            return ParseReject(table, number, None, line[:200].rstrip(), "JSON nested too deeply")
        if not isinstance(obj, dict):
            return ParseReject(table, number, None, line[:200].rstrip(), "not a JSON object")
        if has_surrogate_escape(line) and lone_surrogate(obj):
            return ParseReject(table, number, None, line[:200].rstrip(), LONE_SURROGATE)
        record: dict[str, Any] = {}
        for key, value in obj.items():
            name = _mapped(key, options.column_map)
            if name not in TABLES[table]:
                continue
            if name in LIST_COLUMNS:
                try:
                    record[name] = _list_value(value, name)
                except (ValueError, RecursionError):
                    reason = "not a list, a JSON array or space-separated text"
                    return ParseReject(table, number, name, json_scalar(value), reason)
            else:
                record[name] = json_scalar(value)
        return record


class ParquetFormat:
    """A Parquet file with canonical or mapped column names (native types are kept)."""

    name = "parquet"
    description = "generic Parquet (canonical or mapped column names)"
    row_label = "row"

    def sniff(self, sample: Sample) -> bool:
        return sample.head.startswith(b"PAR1")

    def read(
        self, path: Path, sample: Sample, options: ReadOptions
    ) -> Iterator[ReadItem | SqlSource]:
        if sample.compression is not None:
            raise BadInputError(
                f"a {sample.compression}-compressed Parquet file cannot be streamed; Parquet "
                "compresses internally, so decompress the file first",
                file=str(path),
            )
        try:
            parquet = pq.ParquetFile(path)
        except PARQUET_ERRORS as exc:
            raise BadInputError(f"cannot read as Parquet: {exc}", file=str(path)) from exc
        names = parquet.schema_arrow.names
        mapped = {n: _mapped(n, options.column_map) for n in names}
        table = guess_table(list(mapped.values()), path, options.table)
        keep = [n for n in names if mapped[n] in TABLES[table] and mapped[n] != "source"]
        note_sources(options, table, {n: mapped[n] for n in keep})
        direct = _parquet_relation(path, parquet, keep, mapped)
        if direct is not None:
            yield SqlSource(
                table, direct, parquet.metadata.num_rows, error_prefix="cannot read as Parquet"
            )
            return
        start = 1
        try:
            for batch in parquet.iter_batches(
                batch_size=options.batch_rows, columns=keep, use_threads=True
            ):
                rows = _row_range(start, batch.num_rows)
                start += batch.num_rows
                yield RawBatch(
                    table,
                    pa.RecordBatch.from_arrays(
                        [*batch.columns, rows], names=[*(mapped[n] for n in keep), "_row"]
                    ),
                )
        except PARQUET_ERRORS as exc:
            raise BadInputError(
                f"cannot read as Parquet: {exc}", file=str(path), row=start
            ) from exc


def _plain_parquet_type(typ: pa.DataType) -> bool:
    """Whether DuckDB's Parquet reader gives the same values for ``typ`` as the Arrow path."""
    if pa.types.is_dictionary(typ):
        return _plain_parquet_type(typ.value_type)
    if pa.types.is_list(typ) or pa.types.is_large_list(typ):
        return bool(pa.types.is_string(typ.value_type) or pa.types.is_large_string(typ.value_type))
    return bool(
        pa.types.is_string(typ)
        or pa.types.is_large_string(typ)
        or pa.types.is_integer(typ)
        or pa.types.is_boolean(typ)
        or pa.types.is_timestamp(typ)
        or pa.types.is_date(typ)
    )


def _parquet_relation(
    path: Path, parquet: pq.ParquetFile, keep: list[str], mapped: Mapping[str, str]
) -> str | None:
    """The DuckDB relation over a Parquet file in canonical names, or None for the Arrow path.

    DuckDB reads the file itself (in parallel, never through Python objects) when that cannot
    change a value: plain column types only (strings, integers, booleans, timestamps, dates,
    lists of strings), one source column per canonical name, and a path DuckDB will not treat as
    a glob pattern. Everything else goes through Arrow batches as before.
    """
    schema = parquet.schema_arrow
    targets = [mapped[n] for n in keep]
    if len(set(targets)) != len(targets) or not keep:
        return None
    if {"_row", "_rid", "file_row_number"} & {*schema.names, *targets}:
        return None
    text = str(path.resolve())
    if any(c in text for c in "*?[]{}"):
        return None
    if not all(_plain_parquet_type(schema.field(n).type) for n in keep):
        return None

    def q(name: str) -> str:
        return '"' + name.replace('"', '""') + '"'

    cols = ", ".join(f"{q(n)} AS {q(mapped[n])}" for n in keep)
    source = "'" + text.replace("'", "''") + "'"
    return (
        f"(SELECT {cols}, CAST(file_row_number AS BIGINT) + 1 AS _row,"
        f" CAST(file_row_number AS BIGINT) AS _rid"
        f" FROM read_parquet({source}, file_row_number = true))"
    )
