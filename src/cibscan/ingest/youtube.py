"""YouTube comments as the YouTube Data API v3 gives them, as JSON lines.

Each line is a ``youtube#commentThread`` (a top-level comment on a video and the replies the
API shipped with it), a ``youtube#comment`` (as ``comments.list`` gives replies), or a whole
saved response page (``youtube#commentThreadListResponse`` / ``youtube#commentListResponse``,
its ``items``). Every comment is a row, numbered with its line.

A top-level comment replies to its video: the video's id is the replied-to post and the
video's channel the replied-to account, so accounts commenting on one video within the window
co-reply, as accounts replying to one tweet do. A reply replies to its thread's top-level
comment (``parentId``). Accounts are channel ids (``UC...``); the display name is the
``username``.
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
    first_json_object,
    ident,
    list_at,
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


def _at(column: str, name: str) -> str:
    """The name of field ``name`` of the object named ``column`` ("" for the line)."""
    return f"{column}.{name}" if column else name


def _display_text(snippet: dict[str, Any], column: str) -> str | None:
    """The comment's text: ``textOriginal``, else ``textDisplay`` without its HTML."""
    original = text_at(snippet.get("textOriginal"), _at(column, "textOriginal"))
    if original is not None:
        return original
    shown = text_at(snippet.get("textDisplay"), _at(column, "textDisplay"))
    if shown is None:
        return None
    # textDisplay is HTML: links as <a href="...">, line breaks as <br>.
    shown = re.sub(r'<a\s[^>]*href="([^"]*)"[^>]*>.*?</a>', r"\1", shown, flags=re.S)
    shown = shown.replace("<br>", "\n")
    return html.unescape(_TAG.sub("", shown))


def _comment(
    comment: Any,
    column: str,
    rows: RowCollector,
    row: int,
    platform: str,
    video: str | None,
    video_channel: str | None,
    thread_replies: int | None = None,
) -> None:
    comment = obj_at(comment, column or "comment")
    at = _at(column, "snippet")
    snippet = obj_at(comment.get("snippet"), at)
    author = obj_at(snippet.get("authorChannelId"), f"{at}.authorChannelId")
    account = ident(author.get("value"), f"{at}.authorChannelId.value")
    parent = ident(snippet.get("parentId"), f"{at}.parentId")
    video = video or ident(snippet.get("videoId"), f"{at}.videoId")
    engagement = metric_sum(snippet, ("likeCount",), at)
    if thread_replies is not None and engagement is not None:
        engagement = str(int(engagement) + thread_replies)
    rows.post(
        {
            "post_id": ident(comment.get("id"), _at(column, "id")),
            "account_id": account,
            "timestamp": text_at(snippet.get("publishedAt"), f"{at}.publishedAt"),
            "kind": "reply" if (parent or video) else "post",
            "text": _display_text(snippet, at),
            "reply_to_post_id": parent or video,
            "reply_to_account_id": None if parent else video_channel,
            "platform": platform,
            "engagement": engagement,
        },
        row,
    )
    if account:
        rows.account(
            {
                "account_id": account,
                "kind": "channel",
                "username": text_at(snippet.get("authorDisplayName"), f"{at}.authorDisplayName"),
                "profile_image": text_at(
                    snippet.get("authorProfileImageUrl"), f"{at}.authorProfileImageUrl"
                ),
                "platform": platform,
            },
            row,
        )


def _item(item: Any, column: str, rows: RowCollector, row: int, platform: str) -> None:
    item = obj_at(item, column or "item")
    kind = item.get("kind")
    if kind == THREAD:
        at = _at(column, "snippet")
        snippet = obj_at(item.get("snippet"), at)
        video = ident(snippet.get("videoId"), f"{at}.videoId")
        channel = ident(snippet.get("channelId"), f"{at}.channelId")
        count = snippet.get("totalReplyCount")
        replies = count if isinstance(count, int) and not isinstance(count, bool) else None
        top = f"{at}.topLevelComment"
        _comment(snippet.get("topLevelComment"), top, rows, row, platform, video, channel, replies)
        shipped = obj_at(item.get("replies"), _at(column, "replies")).get("comments")
        for i, reply in enumerate(list_at(shipped, _at(column, "replies.comments"))):
            name = _at(column, f"replies.comments[{i}]")
            _comment(reply, name, rows, row, platform, video, channel)
    elif kind == COMMENT:
        _comment(item, column, rows, row, platform, None, None)
    else:
        reason = "not a YouTube comment thread or comment"
        raise MalformedFieldError(_at(column, "kind"), kind, reason)


def map_youtube_line(obj: dict[str, Any], row: int, rows: RowCollector, platform: str) -> None:
    """Map one JSON line: a comment thread, a comment, or a response page of either.

    The comments of a line are gathered apart and added only when the whole line maps, so a
    malformed field rejects the line and keeps nothing of it.
    """
    line = RowCollector(rows.batch_rows)
    if obj.get("kind") in _PAGES:
        for i, item in enumerate(list_at(obj.get("items"), "items")):
            _item(item, f"items[{i}]", line, row, platform)
    else:
        _item(obj, "", line, row, platform)
    for post in line.posts:
        rows.post(post, row)
    for record, _ in line.accounts.values():
        rows.account(record, row)


class YoutubeFormat:
    """YouTube Data API v3 comment threads and comments, as JSON lines."""

    name = "youtube"
    description = "YouTube Data API v3 comment threads and comments (or their response pages)"
    row_label = "line"

    def sniff(self, sample: Sample) -> bool:
        obj = first_json_object(sample)
        if obj is None:  # a page longer than the sample: judge from its start
            return bool(_PAGE_START.match(sample.text))
        return obj.get("kind") in (THREAD, COMMENT, *_PAGES)

    def read(self, path: Path, sample: Sample, options: ReadOptions) -> Iterator[ReadItem]:
        rows = RowCollector(options.batch_rows)
        platform = options.platform or "youtube"
        return read_mapped_lines(path, options, map_youtube_line, platform, rows)
