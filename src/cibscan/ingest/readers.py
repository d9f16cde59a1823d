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

import csv
import io
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Protocol

import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from cibscan.errors import BadInputError
from cibscan.ingest.source import Sample, open_input
from cibscan.schema import LIST_COLUMNS, REQUIRED_COLUMNS, TABLES

__all__ = [
    "CsvFormat",
    "InputFormat",
    "JsonlFormat",
    "ParquetFormat",
    "ParseReject",
    "RawBatch",
    "ReadItem",
    "ReadOptions",
    "guess_table",
    "json_scalar",
]

BATCH_ROWS: Final = 131_072


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


class InputFormat(Protocol):
    """A file format cibscan reads."""

    name: str
    description: str
    row_label: str

    def sniff(self, sample: Sample) -> bool:
        """Return whether the sample looks like this format."""
        ...

    def read(self, path: Path, sample: Sample, options: ReadOptions) -> Iterator[ReadItem]:
        """Stream the file's records as raw batches and parse rejects."""
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
        line = sample.first_line()
        return "\t" if line.count("\t") > line.count(",") else ","

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
        File column -> canonical column, for the columns to keep.
    header
        Whether the first record is a header (then data rows are numbered from 2).
    embedded
        Extra (table, rename) pairs: side information carried on the same rows.
    defaults
        Constant values for canonical columns the file lacks (for example the platform).
    """
    skipped: dict[int, ParseReject] = {}

    def on_invalid(row: Any) -> str:
        number = int(row.number) if row.number is not None and row.number >= 0 else -1
        skipped[number] = ParseReject(
            table,
            number,
            None,
            (row.text or "")[:200],
            f"expected {row.expected_columns} fields, found {row.actual_columns}",
        )
        return "skip"

    stream = open_input(
        path, max_bytes=options.max_decompressed_bytes, max_ratio=options.max_decompression_ratio
    )
    try:
        reader = pa_csv.open_csv(
            stream,
            read_options=pa_csv.ReadOptions(
                column_names=names,
                skip_rows=1 if header else 0,
                use_threads=False,
                block_size=8 << 20,
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
        stream.close()
        raise BadInputError(f"cannot read as CSV: {exc}", file=str(path)) from exc
    next_record = 2 if header else 1
    emitted_rejects: set[int] = set()
    try:
        while True:
            try:
                batch = reader.read_next_batch()
            except StopIteration:
                break
            except pa.ArrowInvalid as exc:
                raise BadInputError(
                    f"cannot read as CSV: {exc}", file=str(path), row=next_record
                ) from exc
            numbers, next_record = _number_rows(next_record, batch.num_rows, set(skipped))
            for number in sorted(set(skipped) - emitted_rejects):
                if number < next_record:
                    emitted_rejects.add(number)
                    yield skipped[number]
            columns: dict[str, pa.Array] = {}
            bad_rows: dict[int, tuple[str, str]] = {}
            for name in batch.schema.names:
                decoded, bad = _decode_column(batch.column(name), name)
                columns[name] = decoded
                for index, value in bad:
                    bad_rows.setdefault(index, (name, value))
            row_array = numbers
            for index, (column, value) in sorted(bad_rows.items()):
                yield ParseReject(table, numbers[index].as_py(), column, value, "not valid UTF-8")
            keep = None
            if bad_rows:
                keep = pa.array([i not in bad_rows for i in range(batch.num_rows)])
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
                out = pa.RecordBatch.from_arrays([*arrays, row_array], names=[*fields, "_row"])
                if keep is not None:
                    out = out.filter(keep)
                yield RawBatch(target, out, embedded=is_embedded)
        for number in sorted(set(skipped) - emitted_rejects):
            yield skipped[number]
    finally:
        stream.close()


def _list_value(value: Any) -> list[str] | None:
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
        for line in sample.text.split("\n")[:50]:
            try:
                obj = json.loads(line)
            except ValueError:
                continue
            if isinstance(obj, dict):
                keys.update(_mapped(k, options.column_map) for k in obj)
        if not sample.text.strip():
            # An empty file is a table with no rows, whose keys cannot be known: the required
            # columns are not missing from any row (CSV and Parquet carry their columns).
            table = options.table or path.name.split(".")[0].lower()
            if table in TABLES:
                return table
        return guess_table(sorted(keys), path, options.table)

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
                try:
                    line = raw.decode("utf-8").rstrip("\r\n")
                except UnicodeDecodeError:
                    yield ParseReject(
                        table,
                        number,
                        None,
                        raw[:200].decode("utf-8", "backslashreplace"),
                        "not valid UTF-8",
                    )
                    continue
                try:
                    obj = json.loads(line)
                except ValueError as exc:
                    yield ParseReject(
                        table,
                        number,
                        None,
                        line[:200].rstrip(),
                        f"invalid JSON ({exc.args[0].split(':')[0]})",
                    )
                    continue
                except RecursionError:
                    yield ParseReject(
                        table, number, None, line[:200].rstrip(), "JSON nested too deeply"
                    )
                    continue
                if not isinstance(obj, dict):
                    yield ParseReject(table, number, None, line[:200].rstrip(), "not a JSON object")
                    continue
                record: dict[str, Any] = {}
                failed = False
                for key, value in obj.items():
                    name = _mapped(key, options.column_map)
                    if name not in TABLES[table]:
                        continue
                    if name in LIST_COLUMNS:
                        try:
                            record[name] = _list_value(value)
                        except ValueError:
                            yield ParseReject(
                                table,
                                number,
                                name,
                                json_scalar(value),
                                "not a list, a JSON array or space-separated text",
                            )
                            failed = True
                            break
                    else:
                        record[name] = json_scalar(value)
                if failed:
                    continue
                records.append(record)
                rows.append(number)
                if len(records) >= options.batch_rows:
                    yield RawBatch(table, records_to_batch(table, records, rows, columns))
                    records, rows = [], []
        if records:
            yield RawBatch(table, records_to_batch(table, records, rows, columns))


class ParquetFormat:
    """A Parquet file with canonical or mapped column names (native types are kept)."""

    name = "parquet"
    description = "generic Parquet (canonical or mapped column names)"
    row_label = "row"

    def sniff(self, sample: Sample) -> bool:
        return sample.head.startswith(b"PAR1")

    def read(self, path: Path, sample: Sample, options: ReadOptions) -> Iterator[ReadItem]:
        if sample.compression is not None:
            raise BadInputError(
                f"a {sample.compression}-compressed Parquet file cannot be streamed; Parquet "
                "compresses internally, so decompress the file first",
                file=str(path),
            )
        try:
            parquet = pq.ParquetFile(path)
        except (pa.ArrowInvalid, OSError) as exc:
            raise BadInputError(f"cannot read as Parquet: {exc}", file=str(path)) from exc
        names = parquet.schema_arrow.names
        mapped = {n: _mapped(n, options.column_map) for n in names}
        table = guess_table(list(mapped.values()), path, options.table)
        keep = [n for n in names if mapped[n] in TABLES[table] and mapped[n] != "source"]
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
        except (pa.ArrowInvalid, OSError) as exc:
            raise BadInputError(
                f"cannot read as Parquet: {exc}", file=str(path), row=start
            ) from exc
