"""coordination-network-toolkit's inputs: its 8-column CSV, and the Twitter JSON it reads.

The toolkit (``compute_networks preprocess --format csv|twitter_json``) takes:

- a CSV with a header row (which it skips, whatever it says) and eight columns by position:
  message id, user id, username, repost id, reply id, message, timestamp (epoch seconds) and
  URLs (space-separated);
- Twitter JSON lines: API v1.1 tweet objects, or API v2 data (response pages or flattened
  tweets, as twarc2 writes them).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from cibscan.ingest.readers import RawBatch, ReadItem, ReadOptions, note_sources, read_csv_records
from cibscan.ingest.source import Sample
from cibscan.ingest.twitter_json import (
    RowCollector,
    first_json_object,
    is_v1_tweet,
    long_first_line,
    map_v1_tweet,
    map_v2_item,
    read_mapped_lines,
)

__all__ = ["CntCsvFormat", "CntJsonFormat"]

#: The toolkit's columns, in their order (its docstring's names; the header is not read).
CNT_COLUMNS: Final = (
    "message_id",
    "user_id",
    "username",
    "repost_id",
    "reply_id",
    "message",
    "timestamp",
    "urls",
)
_POSTS: Final = {
    "message_id": "post_id",
    "user_id": "account_id",
    "repost_id": "shared_post_id",
    "reply_id": "reply_to_post_id",
    "message": "text",
    "timestamp": "timestamp",
    "urls": "urls_original",
}
_ACCOUNTS: Final = {"user_id": "account_id", "username": "username"}


def _header_fields(sample: Sample, *, as_written: bool = False) -> list[str]:
    """The header's fields, stripped and lower-cased (``as_written``: as the file has them)."""
    try:
        row = next(csv.reader(io.StringIO(sample.first_line())))
    except (StopIteration, csv.Error):
        return []
    return row if as_written else [c.strip().lower() for c in row]


class CntCsvFormat:
    """coordination-network-toolkit's CSV (8 columns by position, a header row)."""

    name = "cnt-csv"
    description = (
        "coordination-network-toolkit CSV (8 columns: id, user_id, username, repost_id, "
        "reply_id, message, timestamp, urls)"
    )
    row_label = "row"

    def sniff(self, sample: Sample) -> bool:
        # The toolkit ignores the header, but the ones people write name its columns; the
        # repost_id/reply_id pair in the 4th and 5th place is specific to it.
        fields = _header_fields(sample)
        return (
            len(fields) == len(CNT_COLUMNS)
            and fields[1] == "user_id"
            and fields[3] == "repost_id"
            and fields[4] == "reply_id"
        )

    def read(self, path: Path, sample: Sample, options: ReadOptions) -> Iterator[ReadItem]:
        platform = options.platform or "twitter"
        # columns are read by position: errors name the file's own header at that position
        header = _header_fields(sample, as_written=True)
        if len(header) == len(CNT_COLUMNS):
            by_position = dict(zip(CNT_COLUMNS, header, strict=True))
            note_sources(options, "posts", {by_position[c]: v for c, v in _POSTS.items()})
        for item in read_csv_records(
            path,
            list(CNT_COLUMNS),
            "posts",
            options,
            rename=_POSTS,
            header=True,
            embedded=[("accounts", _ACCOUNTS)],
            defaults={"platform": platform},
        ):
            if isinstance(item, RawBatch) and not item.embedded:
                item = RawBatch(item.table, _urls_as_list(item.data))
            yield item


def _urls_as_list(batch: pa.RecordBatch) -> pa.RecordBatch:
    """Split the toolkit's space-separated URLs; an empty cell is no URL.

    On the space character only, as the toolkit does (``urls.split(" ")``): a tab or a no-break
    space is part of a URL there. The empty strings of consecutive spaces are dropped by the
    load stage (the toolkit co-links posts on them; see docs/networks.md). The toolkit takes
    its URLs from this column only; an empty list (rather than a missing value) keeps the load
    stage from extracting URLs out of the message text.
    """
    index = batch.schema.get_field_index("urls_original")
    split = pc.split_pattern(batch.column(index), " ")
    if split.null_count:
        # A missing cell splits to a null list that spans no values: without its validity it
        # is the empty list. Much faster than fill_null, which rebuilds the lists one by one.
        extent = np.diff(split.offsets.to_numpy())
        null = ~split.is_valid().to_numpy(zero_copy_only=False)
        if extent[null].any():  # pragma: no cover - not what Arrow's kernel produces
            split = pc.fill_null(split, pa.scalar([], pa.list_(pa.string())))
        else:
            split = pa.ListArray.from_arrays(split.offsets, split.values)
    return batch.set_column(index, "urls_original", split)


def _map_line(obj: dict[str, Any], row: int, rows: RowCollector, platform: str) -> None:
    """A v1.1 tweet, or (as twarc2 reads them) v2 data."""
    if is_v1_tweet(obj):
        map_v1_tweet(obj, row, rows, platform)
    else:
        map_v2_item(obj, row, rows, platform)


class CntJsonFormat:
    """Twitter API v1.1 tweet objects, one per line (coordination-network-toolkit's JSON)."""

    name = "cnt-json"
    description = (
        "Twitter API v1.1 JSON lines, as coordination-network-toolkit reads them "
        "(v2 lines are read as by twarc2)"
    )
    row_label = "line"

    def sniff(self, sample: Sample) -> bool:
        obj = first_json_object(sample)
        if obj is not None:
            return is_v1_tweet(obj) and "created_at" in obj
        # A first line longer than the sample: look for the v1.1 keys in what we have.
        text = long_first_line(sample)
        return (
            text is not None
            and text.startswith("{")
            and all(key in text for key in ('"id_str"', '"screen_name"', '"created_at"'))
        )

    def read(self, path: Path, sample: Sample, options: ReadOptions) -> Iterator[ReadItem]:
        rows = RowCollector(options.batch_rows)
        return read_mapped_lines(path, options, _map_line, options.platform or "twitter", rows)
