"""Twitter/X API v2 JSON lines as twarc2 writes them: response pages, or flattened tweets."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

from cibscan.ingest.readers import ReadItem, ReadOptions
from cibscan.ingest.source import Sample
from cibscan.ingest.twitter_json import (
    RowCollector,
    first_json_object,
    long_first_line,
    map_v2_item,
    read_mapped_lines,
)

__all__ = ["Twarc2Format"]

_PAGE_START: Final = re.compile(r'\{\s*"data"\s*:\s*[\[{]')


def _v2_tweet(obj: dict[str, Any]) -> bool:
    """Whether an object has the fields of a v2 tweet (``author_id``), not of v1.1 (``id_str``)."""
    return "id" in obj and "author_id" in obj and "text" in obj and "id_str" not in obj


class Twarc2Format:
    """Twitter API v2 JSON lines (twarc2 response pages, or ``twarc2 flatten`` output).

    Every tweet of a page line is a post numbered with the page's line number. The page's
    ``includes.tweets`` (retweeted, quoted, replied-to tweets) and ``includes.users`` are side
    information (embedded batches): they fill in posts and accounts without being rows of
    the file.
    """

    name = "twarc2"
    description = "Twitter API v2 JSON lines as twarc2 writes them (pages or flattened tweets)"
    row_label = "line"

    def sniff(self, sample: Sample) -> bool:
        obj = first_json_object(sample)
        if obj is not None:
            if "data" in obj:
                data = obj["data"]
                first = data[0] if isinstance(data, list) and data else data
                return isinstance(first, dict) and (
                    any(k in obj for k in ("includes", "meta", "__twarc")) or _v2_tweet(first)
                )
            # A flattened tweet: v2 field names (author_id), no v1.1 ones (id_str).
            return _v2_tweet(obj) and any(k in obj for k in ("created_at", "author", "__twarc"))
        # Pages of 100 tweets are longer than the sample: judge from the start of the line.
        text = long_first_line(sample)
        return text is not None and bool(_PAGE_START.match(text)) and '"author_id"' in text

    def read(self, path: Path, sample: Sample, options: ReadOptions) -> Iterator[ReadItem]:
        rows = RowCollector(options.batch_rows)
        return read_mapped_lines(path, options, map_v2_item, options.platform or "twitter", rows)
