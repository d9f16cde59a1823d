"""Bluesky (AT Protocol) JSON lines: Jetstream events, or post views of the Bluesky API.

Two shapes of line are read, in one file or apart:

- **Jetstream events** (``{"did", "time_us", "kind": "commit", "commit": {...}}``), as
  Jetstream's WebSocket delivers them and collectors write them, one per line. The creation of
  an ``app.bsky.feed.post`` record is a post, of an ``app.bsky.feed.repost`` record a share.
  Profile records (``app.bsky.actor.profile``) and ``identity`` events are side information
  about accounts. Everything else (likes, follows, blocks, deletions, account status) is not a
  post: such lines are not rows of the file.
- **Post views** of the Bluesky API (``app.bsky.feed.defs#postView``: ``{"uri", "cid",
  "author", "record", "likeCount", ...}``), as ``searchPosts`` and ``getPosts`` return them,
  and **feed view posts** (``{"post": postView, "reason": ...}``) of ``getAuthorFeed`` and
  timelines, where a ``reasonRepost`` is the repost of the post by ``reason.by``.

Identifiers are the network's own: a post is its ``at://`` URI (which replies, reposts and
quotes name), an account its DID. Images and videos are named by the content id (CID) of their
blob, so the same file uploaded by two accounts is one media item. The field mapping is in
docs/formats.md.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

from cibscan.ingest.readers import ParseReject, ReadItem, ReadOptions
from cibscan.ingest.source import Sample
from cibscan.ingest.twitter_json import (
    MalformedFieldError,
    RowCollector,
    first_json_object,
    ident,
    iter_json_lines,
    list_at,
    metric_sum,
    obj_at,
    text_at,
)

__all__ = ["BlueskyFormat", "map_bluesky_line", "uri_author"]

POST: Final = "app.bsky.feed.post"
REPOST: Final = "app.bsky.feed.repost"
PROFILE: Final = "app.bsky.actor.profile"
_FACET: Final = "app.bsky.richtext.facet#"
#: The counts of a post view that make up ``engagement``.
_ENGAGEMENT: Final = ("likeCount", "repostCount", "replyCount", "quoteCount")
_JETSTREAM_START: Final = re.compile(r'\{\s*"did"\s*:\s*"did:')


def uri_author(uri: str | None) -> str | None:
    """The DID (or handle) that an ``at://`` URI names, or ``None`` for anything else.

    Examples
    --------
    >>> uri_author("at://did:plc:abc/app.bsky.feed.post/3k2a")
    'did:plc:abc'
    >>> uri_author("https://bsky.app/profile/x") is None
    True
    """
    if not uri or not uri.startswith("at://"):
        return None
    authority = uri[5:].split("/", 1)[0]
    return authority or None


def _is_post_uri(uri: str | None) -> bool:
    return bool(uri) and f"/{POST}/" in str(uri)


def _strong_ref(value: Any, column: str) -> str | None:
    """The ``uri`` of a strong reference (``{"uri", "cid"}``)."""
    return text_at(obj_at(value, column).get("uri"), f"{column}.uri")


def _blob_id(blob: Any, column: str) -> str | None:
    """The content id of a blob: ``ref.$link`` (or ``cid`` in the legacy form)."""
    blob = obj_at(blob, column)
    ref = blob.get("ref")
    if isinstance(ref, dict):
        return text_at(ref.get("$link"), f"{column}.ref.$link")
    return text_at(ref if ref is not None else blob.get("cid"), f"{column}.ref")


def _media(embed: dict[str, Any], column: str, out: list[str]) -> None:
    """Add the blob ids of an embed's images and video to ``out``."""
    kind = embed.get("$type")
    if kind == "app.bsky.embed.images":
        for i, image in enumerate(list_at(embed.get("images"), f"{column}.images")):
            image = obj_at(image, f"{column}.images[{i}]")
            cid = _blob_id(image.get("image"), f"{column}.images[{i}].image")
            if cid:
                out.append(cid)
    elif kind == "app.bsky.embed.video":
        cid = _blob_id(embed.get("video"), f"{column}.video")
        if cid:
            out.append(cid)


def post_record(
    record: dict[str, Any], uri: str | None, did: str | None, platform: str
) -> dict[str, Any]:
    """A posts record from an ``app.bsky.feed.post`` record created by ``did`` at ``uri``."""
    hashtags: list[str] = []
    mentions: list[str] = []
    links: list[str] = []
    for i, facet in enumerate(list_at(record.get("facets"), "facets")):
        facet = obj_at(facet, f"facets[{i}]")
        for j, feature in enumerate(list_at(facet.get("features"), f"facets[{i}].features")):
            feature = obj_at(feature, f"facets[{i}].features[{j}]")
            kind = feature.get("$type")
            column = f"facets[{i}].features[{j}]"
            if kind == _FACET + "tag":
                value = text_at(feature.get("tag"), column + ".tag")
                target = hashtags
            elif kind == _FACET + "mention":
                value = text_at(feature.get("did"), column + ".did")
                target = mentions
            elif kind == _FACET + "link":
                value = text_at(feature.get("uri"), column + ".uri")
                target = links
            else:
                continue
            if value:
                target.append(value)
    # Tags a client attaches without writing them in the text (at most eight).
    for i, tag in enumerate(list_at(record.get("tags"), "tags")):
        value = text_at(tag, f"tags[{i}]")
        if value:
            hashtags.append(value)
    embed = obj_at(record.get("embed"), "embed")
    media: list[str] = []
    quoted: str | None = None
    kind = embed.get("$type")
    if kind == "app.bsky.embed.external":
        external = obj_at(embed.get("external"), "embed.external")
        link = text_at(external.get("uri"), "embed.external.uri")
        if link and link not in links:
            links.append(link)
    elif kind == "app.bsky.embed.record":
        quoted = _strong_ref(embed.get("record"), "embed.record")
    elif kind == "app.bsky.embed.recordWithMedia":
        inner = obj_at(embed.get("record"), "embed.record")
        quoted = _strong_ref(inner.get("record"), "embed.record.record")
        media_embed = obj_at(embed.get("media"), "embed.media")
        _media(media_embed, "embed.media", media)
        if media_embed.get("$type") == "app.bsky.embed.external":
            external = obj_at(media_embed.get("external"), "embed.media.external")
            link = text_at(external.get("uri"), "embed.media.external.uri")
            if link and link not in links:
                links.append(link)
    _media(embed, "embed", media)
    if not _is_post_uri(quoted):
        quoted = None  # a quoted list, feed or starter pack is no post
    reply = obj_at(record.get("reply"), "reply")
    parent = _strong_ref(reply.get("parent"), "reply.parent") if reply else None
    langs = list_at(record.get("langs"), "langs")
    return {
        "post_id": uri,
        "account_id": did,
        "timestamp": text_at(record.get("createdAt"), "createdAt"),
        # As for tweets: a quote that is also a reply is a quote, with its reply_to fields.
        "kind": "quote" if quoted else ("reply" if parent else "post"),
        "text": text_at(record.get("text"), "text"),
        "shared_post_id": quoted,
        "shared_account_id": uri_author(quoted),
        "reply_to_post_id": parent,
        "reply_to_account_id": uri_author(parent),
        # A tag, mention or link of Bluesky is a facet: text that looks like one and has no
        # facet is not one (so the lists are given, never extracted from the text).
        "hashtags": hashtags,
        "mentions": mentions,
        "urls_original": links,
        "media": media,
        "platform": platform,
        "lang": text_at(langs[0], "langs[0]") if langs else None,
    }


def _account(did: str | None, platform: str, **fields: str | None) -> dict[str, Any]:
    return {"account_id": did, "kind": "user", "platform": platform} | fields


def _view_account(author: Any, column: str, platform: str) -> dict[str, Any]:
    """An accounts record from a profile view (``author`` of a post view, ``reason.by``)."""
    author = obj_at(author, column)
    return _account(
        ident(author.get("did"), f"{column}.did"),
        platform,
        username=text_at(author.get("handle"), f"{column}.handle"),
        display_name=text_at(author.get("displayName"), f"{column}.displayName"),
        description=text_at(author.get("description"), f"{column}.description"),
        created_at=text_at(author.get("createdAt"), f"{column}.createdAt"),
        profile_image=text_at(author.get("avatar"), f"{column}.avatar"),
        followers=text_at(author.get("followersCount"), f"{column}.followersCount"),
    )


def _jetstream(obj: dict[str, Any], row: int, rows: RowCollector, platform: str) -> None:
    did = ident(obj.get("did"), "did")
    event = obj.get("kind")
    if event == "identity":
        identity = obj_at(obj.get("identity"), "identity")
        handle = text_at(identity.get("handle"), "identity.handle")
        if handle:
            rows.account(_account(did, platform, username=handle), row)
        return
    if event != "commit":
        return  # account status and other events: no post
    commit = obj_at(obj.get("commit"), "commit")
    if commit.get("operation") not in ("create", "update"):
        return  # a deletion names the record, not its content
    collection = commit.get("collection")
    rkey = text_at(commit.get("rkey"), "commit.rkey")
    record = obj_at(commit.get("record"), "commit.record")
    if collection == PROFILE:
        rows.account(
            _account(
                did,
                platform,
                display_name=text_at(record.get("displayName"), "commit.record.displayName"),
                description=text_at(record.get("description"), "commit.record.description"),
            ),
            row,
        )
        return
    if commit.get("operation") != "create" or collection not in (POST, REPOST):
        return  # likes, follows, blocks, lists: acts that are not posts
    uri = f"at://{did}/{collection}/{rkey}" if did and rkey else None
    # createdAt is the time the client gave the record; time_us (microseconds) the time
    # Jetstream saw it, for a record without one.
    stamp = record.get("createdAt") or obj.get("time_us")
    if collection == POST:
        post = post_record(record, uri, did, platform)
        post["timestamp"] = text_at(stamp, "createdAt")
    else:
        subject = _strong_ref(record.get("subject"), "commit.record.subject")
        post = {
            "post_id": uri,
            "account_id": did,
            "timestamp": text_at(stamp, "createdAt"),
            "kind": "share",
            "shared_post_id": subject,
            "shared_account_id": uri_author(subject),
            "hashtags": [],
            "mentions": [],
            "urls_original": [],
            "media": [],
            "platform": platform,
        }
    rows.post(post, row)
    if did:
        rows.account(_account(did, platform), row)


def _post_view(view: Any, row: int, rows: RowCollector, platform: str, column: str) -> str | None:
    """Add the post of a post view (field names prefixed ``column`` in messages); its URI."""
    view = obj_at(view, column.rstrip(".") or "post")
    author = _view_account(view.get("author"), f"{column}author", platform)
    uri = text_at(view.get("uri"), f"{column}uri")
    record = obj_at(view.get("record"), f"{column}record")
    post = post_record(record, uri, author["account_id"], platform)
    post["engagement"] = metric_sum(view, _ENGAGEMENT, column.rstrip("."))
    if not post["timestamp"]:
        post["timestamp"] = text_at(view.get("indexedAt"), f"{column}indexedAt")
    rows.post(post, row)
    if author["account_id"]:
        rows.account(author, row)
    return uri


def map_bluesky_line(obj: dict[str, Any], row: int, rows: RowCollector, platform: str) -> None:
    """Map one JSON line: a Jetstream event, a post view or a feed view post.

    A line of none of these shapes raises :class:`MalformedFieldError` (its line is rejected).
    """
    if "kind" in obj and "did" in obj:
        _jetstream(obj, row, rows, platform)
        return
    if "post" in obj and isinstance(obj["post"], dict):
        reason = obj_at(obj.get("reason"), "reason")
        if reason.get("$type") == "app.bsky.feed.defs#reasonRepost":
            # The feed shows the repost of a post: the row is the repost; the post itself is
            # someone else's, side information.
            side = RowCollector(rows.batch_rows)
            uri = _post_view(obj["post"], row, side, platform, "post.")
            by = _view_account(reason.get("by"), "reason.by", platform)
            repost_uri = text_at(reason.get("uri"), "reason.uri")
            stamp = text_at(reason.get("indexedAt"), "reason.indexedAt")
            for post in side.posts:
                rows.post(post, row, embedded=True)
            for record, _ in side.accounts.values():
                rows.account(record, row)
            rows.post(
                {
                    # Without the repost's own URI (older API versions), one repost of a post
                    # per account is the most there can be.
                    "post_id": repost_uri or f"at://{by['account_id']}/{REPOST}/of:{uri}",
                    "account_id": by["account_id"],
                    "timestamp": stamp,
                    "kind": "share",
                    "shared_post_id": uri,
                    "shared_account_id": uri_author(uri),
                    "hashtags": [],
                    "mentions": [],
                    "urls_original": [],
                    "media": [],
                    "platform": platform,
                },
                row,
            )
            if by["account_id"]:
                rows.account(by, row)
            return
        _post_view(obj["post"], row, rows, platform, "post.")
        return
    if "uri" in obj and "record" in obj:
        _post_view(obj, row, rows, platform, "")
        return
    raise MalformedFieldError(
        "uri", obj.get("uri"), "neither a Jetstream event nor a Bluesky post view"
    )


def _bluesky_object(obj: dict[str, Any]) -> bool:
    if "did" in obj and "time_us" in obj and "kind" in obj:
        return True
    view = obj.get("post") if isinstance(obj.get("post"), dict) else obj
    return (
        isinstance(view, dict)
        and str(view.get("uri", "")).startswith("at://")
        and isinstance(view.get("record"), dict)
        and "author" in view
    )


class BlueskyFormat:
    """Bluesky JSON lines: Jetstream events, API post views or feed view posts."""

    name = "bluesky"
    description = "Bluesky JSON lines: Jetstream events, or the API's post views and feed posts"
    row_label = "line"

    def sniff(self, sample: Sample) -> bool:
        obj = first_json_object(sample)
        if obj is not None:
            return _bluesky_object(obj)
        text = sample.text.lstrip()
        return bool(_JETSTREAM_START.match(text)) and '"time_us"' in text[:300]

    def read(self, path: Path, sample: Sample, options: ReadOptions) -> Iterator[ReadItem]:
        platform = options.platform or "bluesky"
        rows = RowCollector(options.batch_rows)
        for line in iter_json_lines(path, options):
            if isinstance(line, ParseReject):
                yield from rows.flush()
                yield line
                continue
            try:
                map_bluesky_line(line.obj, line.number, rows, platform)
            except MalformedFieldError as bad:
                yield from rows.flush()
                yield ParseReject("posts", line.number, bad.column, bad.value, bad.reason)
                continue
            if rows.full:
                yield from rows.flush()
        yield from rows.flush()
