"""Reddit JSON lines: Pushshift and Arctic Shift dumps, or things of Reddit's API.

Each line is a submission or a comment: a flat object as the Pushshift archives and Arctic
Shift write them (``{"id", "author", "created_utc", "subreddit", "title", ...}``), a *thing* of
Reddit's API (``{"kind": "t3", "data": {...}}``), or a ``Listing`` of things (its submissions
and comments, and the comments in their ``replies``, are rows numbered with the line).

Identifiers are Reddit's *fullnames*: ``t3_<id>`` for a submission and ``t1_<id>`` for a
comment, the names that a comment's ``parent_id`` and ``link_id`` and a crosspost's
``crosspost_parent`` use. An account is its username, which Reddit never changes.

Reddit writes placeholders for what is gone (:func:`is_placeholder`): ``[deleted]`` for the
author of a deleted account or post, ``[removed]``, ``[ Removed by Reddit ]`` and the like for
a text. Such an author is no account: as the account id it would tie every deleted post into
one network, so the row is rejected (``--on-error skip`` leaves such rows out and counts
them). Such a text is no text: as text it would be the same "copy" in thousands of posts.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

from cibscan.ingest.load import ATTACHED_URL
from cibscan.ingest.readers import ParseReject, ReadItem, ReadOptions
from cibscan.ingest.source import Sample
from cibscan.ingest.twitter_json import (
    ARRAY,
    MalformedFieldError,
    RowCollector,
    first_json_object,
    ident,
    list_at,
    long_first_line,
    metric_sum,
    obj_at,
    read_mapped_lines,
    text_at,
)

__all__ = ["RedditFormat", "is_placeholder", "map_reddit_line"]

#: What Reddit writes in place of an author or a text that is gone: ``[deleted]``,
#: ``[removed]``, ``[ Removed by Reddit ]``, ``[deleted by user]``, ``[unavailable]``, ...
PLACEHOLDER: Final = re.compile(r"\[\s*(?:deleted|removed|unavailable)\b[^\]]*\]", re.IGNORECASE)
_SUBMISSION_KEYS: Final = ("title", "selftext", "is_self", "num_comments")
_COMMENT_KEYS: Final = ("body", "link_id", "parent_id")
#: A Markdown link, ``[label](https://...)``: its label and its address, for the text.
_MARKDOWN_LINK: Final = re.compile(r"\[([^\]\n]*)\]\((https?://[^)\s]+)\)")
#: A username mentioned as ``u/name`` or ``/u/name``.
_USER_MENTION: Final = re.compile(r"(?<![\w/])/?u/([A-Za-z0-9_-]{3,20})\b")
_DIGITS36: Final = "0123456789abcdefghijklmnopqrstuvwxyz"
_PAGE_START: Final = re.compile(r'\s*\[?\s*\{\s*"kind"\s*:\s*"Listing"')


class DeletedAuthorError(Exception):
    """A row whose author is a placeholder (``[deleted]``): no account to tie it to."""


def is_placeholder(value: str | None) -> bool:
    """Whether ``value`` is what Reddit writes for something gone.

    Examples
    --------
    >>> [is_placeholder(v) for v in ("[deleted]", "[ Removed by Reddit ]", "[x]", "hi")]
    [True, True, False, False]
    """
    if value is None or "[" not in value[:3]:  # the common case first: this runs per text
        return False
    return PLACEHOLDER.fullmatch(value.strip()) is not None


def _base36(number: int) -> str:
    digits = ""
    while True:
        number, digit = divmod(number, 36)
        digits = _DIGITS36[digit] + digits
        if not number:
            return digits


def _fullname(prefix: str, value: Any, column: str) -> str | None:
    """``t3_<id>`` from an id with or without its prefix, or (Pushshift's API of 2022-2023)
    the id as a base-10 integer."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return prefix + _base36(value)
    text = ident(value, column)
    if not text:
        return None
    return text if text[:3] in ("t1_", "t3_") else prefix + text


def _is_comment(thing: dict[str, Any], kind: str | None) -> bool:
    if kind in ("t1", "t3"):
        return kind == "t1"
    return "body" in thing or "parent_id" in thing


def _text(value: Any, column: str) -> str | None:
    """A text as the reader shows it: entities decoded, Markdown links as label and address."""
    text = text_at(value, column)
    if text is None or is_placeholder(text):
        return None
    if "&" in text:
        text = html.unescape(text)
    if "](" in text:
        text = _MARKDOWN_LINK.sub(lambda m: f"{m[1]} {m[2]}" if m[1] != m[2] else m[2], text)
    return text


_Mapped = tuple[dict[str, Any], dict[str, Any] | None]


def map_thing(thing: dict[str, Any], kind: str | None, platform: str) -> _Mapped:
    """The post and author of a submission or comment (``kind`` ``t3``/``t1``, or ``None``).

    Raises :class:`DeletedAuthorError` for a ``[deleted]`` author and
    :class:`~cibscan.ingest.twitter_json.MalformedFieldError` for a field of the wrong shape.
    """
    author = text_at(thing.get("author"), "author")
    if is_placeholder(author):
        raise DeletedAuthorError(author)
    comment = _is_comment(thing, kind)
    post_id = _fullname("t1_" if comment else "t3_", thing.get("id"), "id")
    attached: str | None = None
    shared: str | None = None
    shared_author: str | None = None
    if comment:
        text = _text(thing.get("body"), "body")
        # A bare number is a comment's id (Pushshift's API of 2022-2023, which gives no
        # parent for a comment on the submission itself: then the submission is the parent).
        parent = _fullname("t1_", thing.get("parent_id"), "parent_id") or _fullname(
            "t3_", thing.get("link_id"), "link_id"
        )
        post_kind = "reply"
        engagement = metric_sum(thing, ("score",), "")
    else:
        title = _text(thing.get("title"), "title")
        body = _text(thing.get("selftext"), "selftext")
        text = "\n\n".join(t for t in (title, body) if t) or None
        parent = None
        shared = _fullname("t3_", thing.get("crosspost_parent"), "crosspost_parent")
        if shared:
            parents = list_at(thing.get("crosspost_parent_list"), "crosspost_parent_list")
            if parents:
                original = obj_at(parents[0], "crosspost_parent_list[0]")
                shared_author = text_at(original.get("author"), "crosspost_parent_list[0].author")
                if is_placeholder(shared_author):
                    shared_author = None
        post_kind = "share" if shared else "post"
        # A link post's link; a self post's url is its own page.
        if thing.get("is_self") is not True and not shared:
            attached = text_at(thing.get("url"), "url")
            if attached and "&" in attached:
                attached = html.unescape(attached)  # the API writes & as &amp;
        engagement = metric_sum(thing, ("score", "num_comments"), "")
    post = {
        "post_id": post_id,
        "account_id": author,
        "timestamp": text_at(thing.get("created_utc"), "created_utc"),
        "kind": post_kind,
        "text": text,
        "shared_post_id": shared,
        "shared_account_id": shared_author,
        "reply_to_post_id": parent,
        "platform": platform,
        "engagement": engagement,
        # u/name: the text's @mentions do not find them (hashtags still come from the text).
        "mentions": _USER_MENTION.findall(text) if text and "u/" in text else [],
        ATTACHED_URL: attached,
    }
    account = None
    if author:
        account = {
            "account_id": author,
            "kind": "user",
            "username": author,
            "created_at": text_at(thing.get("author_created_utc"), "author_created_utc"),
            "platform": platform,
        }
    return post, account


def _listing(
    listing: dict[str, Any], column: str, out: list[tuple[dict[str, Any], str | None]]
) -> None:
    """Add the submissions and comments of a ``Listing`` (and of their replies) to ``out``.

    Other children (``more``: the ids of comments not loaded; ``t2``, ``t5``: accounts and
    communities) are no posts.
    """
    data = obj_at(listing.get("data"), f"{column}data")
    for i, child in enumerate(list_at(data.get("children"), f"{column}data.children")):
        _thing(obj_at(child, f"{column}data.children[{i}]"), f"{column}data.children[{i}].", out)


def _thing(
    thing: dict[str, Any], column: str, out: list[tuple[dict[str, Any], str | None]]
) -> None:
    kind = text_at(thing.get("kind"), f"{column}kind")
    if kind not in ("t1", "t3"):
        return
    data = obj_at(thing.get("data"), f"{column}data")
    out.append((data, kind))
    replies = data.get("replies")
    if isinstance(replies, dict):  # a comment's replies: a Listing ("" when there are none)
        _listing(replies, f"{column}data.replies.", out)


def map_reddit_line(
    obj: dict[str, Any], row: int, rows: RowCollector, platform: str
) -> list[ParseReject]:
    """Map one JSON line: a flat submission or comment, a thing, or a ``Listing`` of things.

    Returns the rejects of its ``[deleted]`` authors (a listing's other children are kept); a
    malformed field raises :class:`~cibscan.ingest.twitter_json.MalformedFieldError` (and
    :func:`~cibscan.ingest.twitter_json.read_mapped_lines` keeps nothing of the line).
    """
    kind = obj.get("kind")
    things: list[tuple[dict[str, Any], str | None]] = []
    if ARRAY in obj:  # a saved /comments/ page: the submission's listing, the comments'
        for i, listing in enumerate(list_at(obj[ARRAY], "")):
            listing = obj_at(listing, f"[{i}]")
            if listing.get("kind") != "Listing":
                raise MalformedFieldError(f"[{i}].kind", listing.get("kind"), "not a Listing")
            _listing(listing, f"[{i}].", things)
    elif kind == "Listing":
        _listing(obj, "", things)
    elif kind in ("t1", "t3") and isinstance(obj.get("data"), dict):
        _thing(obj, "", things)
    else:
        things.append((obj, None))
    rejects: list[ParseReject] = []
    for thing, thing_kind in things:
        try:
            post, account = map_thing(thing, thing_kind, platform)
        except DeletedAuthorError as deleted:
            reason = "deleted author: the account or the post was deleted, no author to tie it to"
            rejects.append(ParseReject("posts", row, "author", str(deleted), reason))
            continue
        rows.post(post, row)
        if account is not None:
            rows.account(account, row)
    return rejects


def _reddit_object(obj: dict[str, Any]) -> bool:
    if ARRAY in obj:  # a /comments/ page: judge by its first listing
        items = obj[ARRAY]
        if not items or not isinstance(items[0], dict):
            return False
        obj = items[0]
    if obj.get("kind") == "Listing":
        children = obj_at(obj.get("data"), "data").get("children")
        if not isinstance(children, list) or not children or not isinstance(children[0], dict):
            return False
        obj = children[0]
    if obj.get("kind") in ("t1", "t3") and isinstance(obj.get("data"), dict):
        obj = obj["data"]
    return (
        "subreddit" in obj
        and "author" in obj
        and "created_utc" in obj
        and any(k in obj for k in _SUBMISSION_KEYS + _COMMENT_KEYS)
    )


class RedditFormat:
    """Reddit JSON lines: Pushshift / Arctic Shift dumps, or things of Reddit's API."""

    name = "reddit"
    description = "Reddit JSON lines: Pushshift or Arctic Shift dumps, or API things and listings"
    row_label = "line"

    def sniff(self, sample: Sample) -> bool:
        obj = first_json_object(sample, arrays=True)
        if obj is None:
            # A page longer than the sample: judge from its start.
            text = long_first_line(sample)
            return text is not None and bool(_PAGE_START.match(text)) and '"subreddit"' in text
        try:
            return _reddit_object(obj)
        except MalformedFieldError:
            return False

    def read(self, path: Path, sample: Sample, options: ReadOptions) -> Iterator[ReadItem]:
        rows = RowCollector(options.batch_rows, extra_post_columns=(ATTACHED_URL,))
        platform = options.platform or "reddit"
        return read_mapped_lines(path, options, map_reddit_line, platform, rows, arrays=True)
