"""YouTube comments as the YouTube Data API v3 gives them, as JSON lines.

Each line is a ``youtube#commentThread`` (a top-level comment on a video and the replies the
API shipped with it), a ``youtube#comment`` (as ``comments.list`` gives replies), or a whole
saved response page (``youtube#commentThreadListResponse`` / ``youtube#commentListResponse``,
its ``items``). Every comment is a row, numbered with its line.

A top-level comment replies to its video (or community post): the video's id is the
replied-to post, so channels commenting on one video within the window co-reply, as accounts
replying to one tweet do. A reply replies to its thread's top-level comment (``parentId``).
Accounts are channel ids (``UC...``); an ``@handle`` display name is the ``username``.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

from cibscan.ingest.readers import ReadItem, ReadOptions
from cibscan.ingest.source import Sample
from cibscan.ingest.twitter_json import (
    MalformedFieldError,
    RowCollector,
    field_name,
    first_json_object,
    ident,
    list_at,
    long_first_line,
    metric_sum,
    obj_at,
    read_mapped_lines,
    text_at,
)

__all__ = ["YoutubeFormat", "map_youtube_line"]

THREAD: Final = "youtube#commentThread"
COMMENT: Final = "youtube#comment"
_PAGES: Final = ("youtube#commentThreadListResponse", "youtube#commentListResponse")
_TAG: Final = re.compile(r"<[^>]*>")
_PAGE_START: Final = re.compile(r'\s*\{\s*"kind"\s*:\s*"youtube#comment')


def _display_text(snippet: dict[str, Any], column: str) -> str | None:
    """The comment's text: ``textOriginal``, else ``textDisplay`` without its HTML."""
    original = text_at(snippet.get("textOriginal"), field_name(column, "textOriginal"))
    if original is not None:
        return original
    shown = text_at(snippet.get("textDisplay"), field_name(column, "textDisplay"))
    if shown is None:
        return None
    # textDisplay is HTML: links as <a href="...">, line breaks as <br>.
    shown = re.sub(r'<a\s[^>]*href="([^"]*)"[^>]*>.*?</a>', r"\1", shown, flags=re.S)
    shown = re.sub(r"<br\s*/?>", "\n", shown)
    return html.unescape(_TAG.sub("", shown))


def _comment(
    comment: Any, column: str, rows: RowCollector, row: int, platform: str, target: str | None
) -> None:
    """Add one comment; ``target`` is what a top-level comment replies to (its video or post)."""
    comment = obj_at(comment, column or "comment")
    at = field_name(column, "snippet")
    snippet = obj_at(comment.get("snippet"), at)
    author = obj_at(snippet.get("authorChannelId"), f"{at}.authorChannelId")
    account = ident(author.get("value"), f"{at}.authorChannelId.value")
    parent = ident(snippet.get("parentId"), f"{at}.parentId")
    replied = parent or target or _target(snippet, at)
    name = text_at(snippet.get("authorDisplayName"), f"{at}.authorDisplayName")
    # Since 2023 the display name is the channel's @handle; before, a free name.
    handle = name if name and name.startswith("@") else None
    rows.post(
        {
            "post_id": ident(comment.get("id"), field_name(column, "id")),
            "account_id": account,
            "timestamp": text_at(snippet.get("publishedAt"), f"{at}.publishedAt"),
            "kind": "reply" if replied else "post",
            "text": _display_text(snippet, at),
            "reply_to_post_id": replied,
            "platform": platform,
            # Only the comment's own count: the same comment fetched in a thread and alone
            # is the same row.
            "engagement": metric_sum(snippet, ("likeCount",), at),
        },
        row,
    )
    if account:
        rows.account(
            {
                "account_id": account,
                "kind": "channel",
                "username": handle,
                "display_name": None if handle else name,
                "profile_image": text_at(
                    snippet.get("authorProfileImageUrl"), f"{at}.authorProfileImageUrl"
                ),
                "platform": platform,
            },
            row,
        )


def _target(snippet: dict[str, Any], at: str) -> str | None:
    """What a top-level comment replies to: its video, else its community post."""
    video = ident(snippet.get("videoId"), f"{at}.videoId")
    return video or ident(snippet.get("postId"), f"{at}.postId")


def _item(item: Any, column: str, rows: RowCollector, row: int, platform: str) -> None:
    item = obj_at(item, column or "item")
    kind = item.get("kind")
    if kind == THREAD:
        at = field_name(column, "snippet")
        snippet = obj_at(item.get("snippet"), at)
        target = _target(snippet, at)
        top = f"{at}.topLevelComment"
        _comment(snippet.get("topLevelComment"), top, rows, row, platform, target)
        shipped = obj_at(item.get("replies"), field_name(column, "replies")).get("comments")
        for i, reply in enumerate(list_at(shipped, field_name(column, "replies.comments"))):
            _comment(reply, field_name(column, f"replies.comments[{i}]"), rows, row, platform, None)
    elif kind == COMMENT:
        _comment(item, column, rows, row, platform, None)
    else:
        reason = "not a YouTube comment thread or comment"
        raise MalformedFieldError(field_name(column, "kind"), kind, reason)


def map_youtube_line(obj: dict[str, Any], row: int, rows: RowCollector, platform: str) -> None:
    """Map one JSON line: a comment thread, a comment, or a response page of either."""
    if obj.get("kind") in _PAGES:
        for i, item in enumerate(list_at(obj.get("items"), "items")):
            _item(item, f"items[{i}]", rows, row, platform)
    else:
        _item(obj, "", rows, row, platform)


class YoutubeFormat:
    """YouTube Data API v3 comment threads and comments, as JSON lines."""

    name = "youtube"
    description = "YouTube Data API v3 comment threads and comments (or their response pages)"
    row_label = "line"

    def sniff(self, sample: Sample) -> bool:
        obj = first_json_object(sample)
        if obj is None:  # a first line longer than the sample: judge from its start
            text = long_first_line(sample)
            return text is not None and bool(_PAGE_START.match(text))
        return obj.get("kind") in (THREAD, COMMENT, *_PAGES)

    def read(self, path: Path, sample: Sample, options: ReadOptions) -> Iterator[ReadItem]:
        rows = RowCollector(options.batch_rows)
        platform = options.platform or "youtube"
        return read_mapped_lines(path, options, map_youtube_line, platform, rows)
