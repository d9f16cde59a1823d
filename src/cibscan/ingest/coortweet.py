"""CooRTweet's input table: one row per share of an object, as CSV or Parquet.

CooRTweet (R) detects coordination on a table with the columns ``object_id`` (the shared
object: a retweeted post in its sample data), ``account_id``, ``content_id`` (the share itself)
and ``timestamp_share`` (POSIX seconds, possibly fractional). Every row is a share.

A content may carry several objects (CooRTweet counts it once per object; its sample data has
40 such contents). A post has one shared post, so the second and later objects of a content
become posts of their own, ``<content_id>#<object_id>``; the reader remembers the first object
of every content to do so (memory grows with the distinct contents, as CooRTweet's own does).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Final

import pyarrow as pa
import pyarrow.parquet as pq

from cibscan.errors import BadInputError
from cibscan.ingest.readers import (
    PARQUET_ERRORS,
    CsvFormat,
    RawBatch,
    ReadItem,
    ReadOptions,
    note_sources,
    read_csv_records,
    require_columns,
)
from cibscan.ingest.source import Sample

__all__ = ["CoortweetFormat"]

#: CooRTweet column -> canonical posts column.
COLUMNS: Final = {
    "content_id": "post_id",
    "account_id": "account_id",
    "object_id": "shared_post_id",
    "timestamp_share": "timestamp",
}


class _ContentIds:
    """Makes ``post_id`` unique per (content, object): later objects get their own post."""

    def __init__(self) -> None:
        self._first_object: dict[str, str | None] = {}

    def apply(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        """Rename the rows of a batch whose content was seen before with another object."""
        names = batch.schema.names
        posts = batch.column(names.index("post_id")).to_pylist()
        objects = batch.column(names.index("shared_post_id")).to_pylist()
        changed = False
        for i, (content, obj) in enumerate(zip(posts, objects, strict=True)):
            if content is None:
                continue
            key = str(content)
            first = self._first_object.setdefault(key, obj)
            if first != obj:
                posts[i] = f"{key}#{obj}"
                changed = True
        if not changed:
            return batch
        index = names.index("post_id")
        return batch.set_column(index, "post_id", pa.array(posts, pa.string()))


def _missing(names: list[str], path: Path) -> None:
    require_columns(
        names,
        COLUMNS,
        path,
        "a CooRTweet table",
        "CooRTweet tables have object_id, account_id, content_id and timestamp_share",
    )


def _parquet_names(path: Path) -> list[str]:
    return list(pq.ParquetFile(path).schema_arrow.names)


class CoortweetFormat:
    """CooRTweet's share table (CSV/TSV with a header row, or Parquet)."""

    name = "coortweet"
    description = (
        "CooRTweet table (object_id, account_id, content_id, timestamp_share; CSV or Parquet)"
    )
    row_label = "row"

    def sniff(self, sample: Sample) -> bool:
        if sample.head.startswith(b"PAR1"):
            if sample.compression is not None:
                return False
            try:
                names = _parquet_names(sample.path)
            except PARQUET_ERRORS:
                return False
        else:
            header = CsvFormat.sniffed_header(sample)
            if header is None:
                return False
            names = header
        return set(COLUMNS) <= set(names)

    def read(self, path: Path, sample: Sample, options: ReadOptions) -> Iterator[ReadItem]:
        if sample.head.startswith(b"PAR1"):
            yield from self._read_parquet(path, sample, options)
            return
        delimiter = CsvFormat.delimiter(sample)
        names = CsvFormat.header(sample, delimiter, path)
        _missing(names, path)
        contents = _ContentIds()
        for item in read_csv_records(
            path,
            names,
            "posts",
            options,
            rename=COLUMNS,
            delimiter=delimiter,
            header=True,
            defaults={"kind": "share"},
        ):
            if isinstance(item, RawBatch):
                item = RawBatch(item.table, contents.apply(item.data))
            yield item

    def _read_parquet(self, path: Path, sample: Sample, options: ReadOptions) -> Iterator[ReadItem]:
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
        _missing(list(parquet.schema_arrow.names), path)
        note_sources(options, "posts", COLUMNS)
        start = 1
        contents = _ContentIds()
        try:
            for batch in parquet.iter_batches(batch_size=options.batch_rows, columns=list(COLUMNS)):
                columns = []
                for array in batch.columns:
                    # R's factors arrive as dictionaries; their dictionaries differ per batch,
                    # which the staging table cannot append, so keep the plain values.
                    if pa.types.is_dictionary(array.type):
                        array = array.dictionary_decode()
                    columns.append(array)
                n = batch.num_rows
                columns.append(pa.array(["share"] * n, pa.string()))
                columns.append(pa.array(range(start, start + n), pa.int64()))
                start += n
                names = [*COLUMNS.values(), "kind", "_row"]
                batch = pa.RecordBatch.from_arrays(columns, names=names)
                yield RawBatch("posts", contents.apply(batch))
        except PARQUET_ERRORS as exc:
            raise BadInputError(
                f"cannot read as Parquet: {exc}", file=str(path), row=start
            ) from exc
