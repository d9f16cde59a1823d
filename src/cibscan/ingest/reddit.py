"""Reddit JSON lines: Pushshift and Arctic Shift dumps, or things of Reddit's own API.

Each line is a submission or a comment: a flat object as the Pushshift archives and Arctic
Shift write them (``{"id", "author", "created_utc", "subreddit", "title", ...}``), a *thing* of
Reddit's API (``{"kind": "t3", "data": {...}}``), or a ``Listing`` of things (every child is a
row, numbered with the line).

Identifiers are Reddit's *fullnames*: ``t3_<id>`` for a submission and ``t1_<id>`` for a
comment, the names that a comment's ``parent_id`` and ``link_id`` and a crosspost's
``crosspost_parent`` use. An account is its username, which Reddit never changes.

Reddit writes ``[deleted]`` for the author of a deleted account and ``[deleted]`` or
``[removed]`` for a body taken down. Such an author is no account: as the account id it would
tie every deleted account's posts into one, so the row is rejected (``--on-error skip`` leaves
such rows out and counts them). Such a body is no text: as text it would be the same "copy" in
thousands of posts.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

from cibscan.ingest.load import ATTACHED_URL
from cibscan.ingest.readers import ParseReject, ReadItem, ReadOptions
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

__all__ = ["RedditFormat", "map_reddit_line"]

#: What Reddit writes in place of a deleted account, or of a body taken down.
DELETED: Final = frozenset({"[deleted]", "[removed]"})
_SUBMISSION_KEYS: Final = ("title", "selftext", "is_self", "num_comments")
_COMMENT_KEYS: Final = ("body", "link_id", "parent_id")


class DeletedAuthorError(Exception):
    """A row whose author is ``[deleted]``: no account to tie it to."""


def _fullname(prefix: str, value: str | None) -> str | None:
    """``t3_<id>`` from an id with or without its prefix."""
    if not value:
        return None
    return value if value.startswith(prefix) else prefix + value


def _is_comment(thing: dict[str, Any], kind: str | None) -> bool:
    if kind in ("t1", "t3"):
        return kind == "t1"
    return "body" in thing or "parent_id" in thing


def _text(value: Any, column: str) -> str | None:
    text = text_at(value, column)
    return None if text is None or text.strip() in DELETED else text


_Mapped = tuple[dict[str, Any], dict[str, Any] | None]


def map_thing(thing: dict[str, Any], kind: str | None, platform: str) -> _Mapped:
    """The post and author of a submission or comment (``kind`` ``t3``/``t1``, or ``None``).

    Raises :class:`DeletedAuthorError` for a ``[deleted]`` author and
    :class:`~cibscan.ingest.twitter_json.MalformedFieldError` for a field of the wrong shape.
    """
    author = text_at(thing.get("author"), "author")
    if author is not None and author.strip() in DELETED:
        raise DeletedAuthorError(author)
    comment = _is_comment(thing, kind)
    post_id = _fullname("t1_" if comment else "t3_", ident(thing.get("id"), "id"))
    attached: str | None = None
    shared: str | None = None
    shared_author: str | None = None
    if comment:
        text = _text(thing.get("body"), "body")
        parent = text_at(thing.get("parent_id"), "parent_id")
        post_kind = "reply"
        engagement = metric_sum(thing, ("score",), "")
    else:
        title = _text(thing.get("title"), "title")
        body = _text(thing.get("selftext"), "selftext")
        text = "\n\n".join(t for t in (title, body) if t) or None
        parent = None
        shared = _fullname("t3_", text_at(thing.get("crosspost_parent"), "crosspost_parent"))
        if shared:
            parents = list_at(thing.get("crosspost_parent_list"), "crosspost_parent_list")
            if parents:
                original = obj_at(parents[0], "crosspost_parent_list[0]")
                shared_author = text_at(original.get("author"), "crosspost_parent_list[0].author")
                if shared_author in DELETED:
                    shared_author = None
        post_kind = "share" if shared else "post"
        # A link post's link; a self post's url is its own page.
        if thing.get("is_self") is not True and not shared:
            attached = text_at(thing.get("url"), "url")
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


def map_reddit_line(
    obj: dict[str, Any], row: int, rows: RowCollector, platform: str
) -> list[ParseReject]:
    """Map one JSON line: a flat submission or comment, a thing, or a ``Listing`` of things.

    Returns the rejects of its ``[deleted]`` authors (a listing's other children are kept); a
    malformed field raises :class:`~cibscan.ingest.twitter_json.MalformedFieldError` before
    anything of the line is kept.
    """
    kind = obj.get("kind")
    things: list[tuple[dict[str, Any], str | None]]
    if kind == "Listing":
        children = list_at(obj_at(obj.get("data"), "data").get("children"), "data.children")
        things = []
        for i, child in enumerate(children):
            child = obj_at(child, f"data.children[{i}]")
            data = obj_at(child.get("data"), f"data.children[{i}].data")
            things.append((data, text_at(child.get("kind"), f"data.children[{i}].kind")))
    elif kind in ("t1", "t3") and isinstance(obj.get("data"), dict):
        things = [(obj["data"], kind)]
    else:
        things = [(obj, None)]
    mapped: list[_Mapped] = []
    rejects: list[ParseReject] = []
    for thing, thing_kind in things:
        try:
            mapped.append(map_thing(thing, thing_kind, platform))
        except DeletedAuthorError as deleted:
            reason = "deleted account: no author to tie the post to"
            rejects.append(ParseReject("posts", row, "author", str(deleted), reason))
    for post, account in mapped:
        rows.post(post, row)
        if account is not None:
            rows.account(account, row)
    return rejects


def _reddit_object(obj: dict[str, Any]) -> bool:
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
        obj = first_json_object(sample)
        if obj is None:
            return False
        try:
            return _reddit_object(obj)
        except MalformedFieldError:
            return False

    def read(self, path: Path, sample: Sample, options: ReadOptions) -> Iterator[ReadItem]:
        rows = RowCollector(options.batch_rows, extra_post_columns=(ATTACHED_URL,))
        return read_mapped_lines(path, options, map_reddit_line, options.platform or "reddit", rows)
