"""Bluesky (AT Protocol) JSON lines: Jetstream events, or post views of the Bluesky API.

The shapes of line read, in one file or apart:

- **Jetstream events** (``{"did", "time_us", "kind": "commit", "commit": {...}}``), as
  Jetstream's WebSocket delivers them and collectors write them, one per line; also the first
  releases' ``"type": "com"`` events and Jetstream v2's message frames and archive events. The
  creation of an ``app.bsky.feed.post`` record is a post, of an ``app.bsky.feed.repost``
  record a share. Profile records (``app.bsky.actor.profile``) and ``identity`` events are
  side information about accounts. Everything else (likes, follows, blocks, deletions, account
  status) is not a post: such lines are not rows of the file.
- **Post views** of the Bluesky API (``app.bsky.feed.defs#postView``: ``{"uri", "cid",
  "author", "record", "likeCount", ...}``) and **feed view posts** (``{"post": postView,
  "reason": ...}``), where a ``reasonRepost`` is the repost of the post by ``reason.by``; one
  per line, or whole pages (``{"posts": [...]}`` of ``searchPosts``, ``{"feed": [...]}`` of
  ``getAuthorFeed``).

A post's time is the earlier of its ``createdAt`` and the time the network saw it
(:func:`post_time`), as Bluesky's servers order posts.

Identifiers are the network's own: a post is its ``at://`` URI (which replies, reposts and
quotes name), an account its DID. Images and videos are named by the content id (CID) of their
blob, so the same file uploaded by two accounts is one media item. The field mapping is in
docs/formats.md.
"""

from __future__ import annotations

import datetime as dt
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
    long_first_line,
    metric_sum,
    obj_at,
    read_mapped_lines,
    text_at,
)

__all__ = ["BlueskyFormat", "map_bluesky_line", "post_time", "uri_author"]

POST: Final = "app.bsky.feed.post"
REPOST: Final = "app.bsky.feed.repost"
PROFILE: Final = "app.bsky.actor.profile"
_FACET: Final = "app.bsky.richtext.facet#"
#: The counts of a post view that make up ``engagement``.
_ENGAGEMENT: Final = ("likeCount", "repostCount", "replyCount", "quoteCount")
_JETSTREAM_START: Final = re.compile(r'\{\s*"did"\s*:\s*"did:')
#: What the server writes for a handle that did not verify.
INVALID_HANDLE: Final = "handle.invalid"
_OLD_KINDS: Final = {"com": "commit", "id": "identity", "acc": "account"}
_OLD_OPERATIONS: Final = {"c": "create", "u": "update", "d": "delete"}


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
    elif kind == "app.bsky.embed.gallery":
        # The gallery's images: "media" in the lexicon, "items" in some versions of it.
        key = "media" if "media" in embed else "items"
        for i, item in enumerate(list_at(embed.get(key), f"{column}.{key}")):
            item = obj_at(item, f"{column}.{key}[{i}]")
            cid = _blob_id(item.get("image"), f"{column}.{key}[{i}].image")
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


def _handle(value: Any, column: str) -> str | None:
    """A handle; the placeholder of a handle that did not verify is none."""
    handle = text_at(value, column)
    return None if handle == INVALID_HANDLE else handle


def _view_account(author: Any, column: str, platform: str) -> dict[str, Any]:
    """An accounts record from a profile view (``author`` of a post view, ``reason.by``)."""
    author = obj_at(author, column)
    return _account(
        ident(author.get("did"), f"{column}.did"),
        platform,
        username=_handle(author.get("handle"), f"{column}.handle"),
        display_name=text_at(author.get("displayName"), f"{column}.displayName"),
        description=text_at(author.get("description"), f"{column}.description"),
        created_at=text_at(author.get("createdAt"), f"{column}.createdAt"),
        profile_image=text_at(author.get("avatar"), f"{column}.avatar"),
        followers=text_at(author.get("followersCount"), f"{column}.followersCount"),
    )


def _instant(value: str | None) -> dt.datetime | None:
    """An ISO-8601 time (UTC when it names no offset), or ``None``."""
    if not value:
        return None
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def post_time(created: Any, seen: Any, column: str) -> str | None:
    """The time of a record: the earlier of its ``createdAt`` and when the network saw it.

    As Bluesky's own servers order posts (their ``sortAt``): a ``createdAt`` later than the
    time the record was seen is not believed, nor one that is no time at all; a record
    without a server time keeps its ``createdAt``. ``seen`` is ISO-8601 text or epoch
    microseconds.
    """
    created_text = text_at(created, column)
    if seen is None or seen == "":
        return created_text
    seen_text: str | None
    if isinstance(seen, int) and not isinstance(seen, bool):
        try:
            seen_at: dt.datetime | None = dt.datetime.fromtimestamp(seen / 1e6, dt.UTC)
        except (OverflowError, OSError, ValueError):
            seen_at = None
        seen_text = str(seen)
    else:
        seen_text = text_at(seen, "time")
        seen_at = _instant(seen_text)
    created_at = _instant(created_text)
    if seen_at is None:
        return created_text if created_text else seen_text
    if created_at is None or created_at > seen_at:
        return seen_text
    return created_text


def _v2_event(obj: dict[str, Any]) -> dict[str, Any]:
    """A Jetstream v2 message frame (``{"$type": "message", "payload"}``) in the v1 shape."""
    payload = obj_at(obj.get("payload"), "payload")
    kind = str(payload.get("$type", "")).rpartition("#")[2]
    event: dict[str, Any] = {"did": payload.get("did"), "time": payload.get("time"), "kind": kind}
    if kind == "commit":
        event["commit"] = payload
    elif kind == "identity":
        event["identity"] = payload
    return event


def _jetstream(obj: dict[str, Any], row: int, rows: RowCollector, platform: str) -> None:
    did = ident(obj.get("did"), "did")
    # Jetstream's first releases (2024) wrote "type": "com"/"id"/"acc" and a commit "type".
    event = obj.get("kind") or _OLD_KINDS.get(str(obj.get("type")))
    if event == "identity":
        identity = obj_at(obj.get("identity"), "identity")
        handle = _handle(identity.get("handle"), "identity.handle")
        if handle:
            rows.account(_account(did, platform, username=handle), row)
        return
    if event != "commit":
        return  # account status and other events: no post
    commit = obj_at(obj.get("commit"), "commit")
    operation = commit.get("operation") or _OLD_OPERATIONS.get(str(commit.get("type")))
    if operation not in ("create", "update") or commit.get("record") is None:
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
    if operation != "create" or collection not in (POST, REPOST):
        return  # likes, follows, blocks, lists: acts that are not posts
    uri = f"at://{did}/{collection}/{rkey}" if did and rkey else None
    seen = obj.get("time_us") if obj.get("time_us") is not None else obj.get("time")
    stamp = post_time(record.get("createdAt"), seen, "commit.record.createdAt")
    if collection == POST:
        post = post_record(record, uri, did, platform)
        post["timestamp"] = stamp
    else:
        subject = _strong_ref(record.get("subject"), "commit.record.subject")
        post = {
            "post_id": uri,
            "account_id": did,
            "timestamp": stamp,
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


def _post_view(
    view: Any, row: int, rows: RowCollector, platform: str, column: str, *, embedded: bool = False
) -> str | None:
    """Add the post of a post view (field names prefixed ``column`` in messages); its URI.

    ``embedded``: the post is side information (the post of a repost in a feed).
    """
    view = obj_at(view, column.rstrip(".") or "post")
    author = _view_account(view.get("author"), f"{column}author", platform)
    uri = text_at(view.get("uri"), f"{column}uri")
    record = obj_at(view.get("record"), f"{column}record")
    post = post_record(record, uri, author["account_id"], platform)
    post["engagement"] = metric_sum(view, _ENGAGEMENT, column.rstrip("."))
    post["timestamp"] = post_time(
        record.get("createdAt"), view.get("indexedAt"), f"{column}record.createdAt"
    )
    rows.post(post, row, embedded=embedded)
    if author["account_id"]:
        rows.account(author, row)
    return uri


def _feed_post(item: Any, row: int, rows: RowCollector, platform: str, column: str) -> None:
    """Add a feed view post (``{"post", "reason"}``): the post, or the repost of it."""
    item = obj_at(item, column.rstrip(".") or "feed")
    reason = obj_at(item.get("reason"), f"{column}reason")
    if reason.get("$type") != "app.bsky.feed.defs#reasonRepost":
        _post_view(item.get("post"), row, rows, platform, f"{column}post.")
        return
    # The feed shows the repost of a post: the row is the repost; the post itself is someone
    # else's, side information.
    uri = _post_view(item.get("post"), row, rows, platform, f"{column}post.", embedded=True)
    by = _view_account(reason.get("by"), f"{column}reason.by", platform)
    repost_uri = text_at(reason.get("uri"), f"{column}reason.uri")
    stamp = text_at(reason.get("indexedAt"), f"{column}reason.indexedAt")
    rows.post(
        {
            # Without the repost's own URI (older API versions), one repost of a post per
            # account is the most there can be.
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


def map_bluesky_line(obj: dict[str, Any], row: int, rows: RowCollector, platform: str) -> None:
    """Map one JSON line: a Jetstream event, a post view, a feed view post, or a page of them.

    A line of none of these shapes raises :class:`MalformedFieldError` (its line is rejected).
    A page (``{"posts": [...]}`` of ``searchPosts``, ``{"feed": [...]}`` of ``getAuthorFeed``)
    gives one row per item, all numbered with the line.
    """
    if obj.get("$type") in ("info", "error") and "payload" not in obj:
        return  # Jetstream v2's advisories and error frames: no event
    if obj.get("$type") == "message" and "payload" in obj:
        obj = _v2_event(obj)
    if "did" in obj and ("kind" in obj or "type" in obj):
        _jetstream(obj, row, rows, platform)
        return
    if isinstance(obj.get("feed"), list):
        for i, item in enumerate(obj["feed"]):
            _feed_post(item, row, rows, platform, f"feed[{i}].")
        return
    if isinstance(obj.get("posts"), list):
        for i, view in enumerate(obj["posts"]):
            _post_view(view, row, rows, platform, f"posts[{i}].")
        return
    if isinstance(obj.get("post"), dict):
        _feed_post(obj, row, rows, platform, "")
        return
    if "uri" in obj and "record" in obj:
        _post_view(obj, row, rows, platform, "")
        return
    raise MalformedFieldError(
        "uri", obj.get("uri"), "neither a Jetstream event nor a Bluesky post view"
    )


def _is_post_view(view: Any) -> bool:
    return (
        isinstance(view, dict)
        and str(view.get("uri", "")).startswith("at://")
        and isinstance(view.get("record"), dict)
        and "author" in view
    )


def _bluesky_object(obj: dict[str, Any]) -> bool:
    if obj.get("$type") == "message" and isinstance(obj.get("payload"), dict):
        return str(obj["payload"].get("$type", "")).startswith("network.bsky.jetstream.")
    if str(obj.get("did", "")).startswith("did:") and ("kind" in obj or "type" in obj):
        return "time_us" in obj or "time" in obj
    for key in ("feed", "posts"):  # a page: judge by its first item
        items = obj.get(key)
        if isinstance(items, list) and items:
            obj = items[0] if isinstance(items[0], dict) else {}
            break
    view = obj.get("post") if isinstance(obj.get("post"), dict) else obj
    return _is_post_view(view)


class BlueskyFormat:
    """Bluesky JSON lines: Jetstream events, API post views or feed view posts."""

    name = "bluesky"
    description = "Bluesky JSON lines: Jetstream events, or the API's post views and feed posts"
    row_label = "line"

    def sniff(self, sample: Sample) -> bool:
        obj = first_json_object(sample)
        if obj is not None:
            return _bluesky_object(obj)
        text = long_first_line(sample)
        return text is not None and bool(_JETSTREAM_START.match(text)) and '"time_us"' in text[:300]

    def read(self, path: Path, sample: Sample, options: ReadOptions) -> Iterator[ReadItem]:
        rows = RowCollector(options.batch_rows)
        return read_mapped_lines(
            path, options, map_bluesky_line, options.platform or "bluesky", rows
        )
