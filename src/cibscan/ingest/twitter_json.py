"""Twitter/X JSON: streaming JSON lines, and mapping API v1.1 and v2 tweets to canonical rows.

Shared by the ``cnt-json`` reader (coordination-network-toolkit's input: v1.1 tweet objects one
per line, or v2) and the ``twarc2`` reader (API v2 response pages or flattened tweets).

Side information travels as *embedded* batches (see :class:`~cibscan.ingest.readers.RawBatch`):
the authors of the tweets (accounts), and the tweets a tweet refers to (the retweeted, quoted
or replied-to tweets that the API ships alongside: ``retweeted_status``/``quoted_status`` in
v1.1, ``includes.tweets`` in v2). They are other people's posts, not rows of the file; loading
them lets ``shared_account_id`` resolve and the original of a retweet take part in the analysis,
without inflating the row accounting. A real row of the same post always wins.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from cibscan.ingest.readers import (
    LONE_SURROGATE,
    ParseReject,
    RawBatch,
    ReadItem,
    ReadOptions,
    has_surrogate_escape,
    json_scalar,
    lone_surrogate,
    records_to_batch,
)
from cibscan.ingest.source import SAMPLE_BYTES, Sample, open_input
from cibscan.schema import TABLES

__all__ = [
    "JsonLine",
    "MalformedFieldError",
    "RowCollector",
    "field_name",
    "first_json_object",
    "iter_json_lines",
    "long_first_line",
    "map_v1_tweet",
    "map_v2_item",
    "read_mapped_lines",
]

POST_COLUMNS: Final = [c for c in TABLES["posts"] if c != "source"]
ACCOUNT_COLUMNS: Final = [c for c in TABLES["accounts"] if c != "source"]
# The counts that make up ``engagement``; impressions and bookmarks are not acts on the post.
_V2_ENGAGEMENT: Final = ("retweet_count", "reply_count", "like_count", "quote_count")
_V1_ENGAGEMENT: Final = ("retweet_count", "favorite_count", "reply_count", "quote_count")


class MalformedFieldError(Exception):
    """A field of a record has the wrong shape; becomes a :class:`ParseReject` of its line."""

    def __init__(self, column: str, value: Any, reason: str) -> None:
        super().__init__(reason)
        self.column = column
        self.value = json_scalar(value)
        self.reason = reason


# -- reading JSON lines -------------------------------------------------------------------------


@dataclass(frozen=True)
class JsonLine:
    """One parsed line: its number and its JSON object."""

    number: int
    obj: dict[str, Any]


#: The key under which :func:`iter_json_lines` gives a line that is a JSON array (when asked).
ARRAY: Final = "\x00array"


def iter_json_lines(
    path: Path, options: ReadOptions, table: str = "posts", *, arrays: bool = False
) -> Iterator[JsonLine | ParseReject]:
    """Stream the JSON objects of a JSON-lines file, one per non-empty line.

    Lines that are not UTF-8, not JSON or not an object come out as :class:`ParseReject` (with
    the same reasons as the generic ``jsonl`` reader). With ``arrays``, a line that is a JSON
    array comes out as the object ``{ARRAY: [...]}``.
    """
    with open_input(
        path, max_bytes=options.max_decompressed_bytes, max_ratio=options.max_decompression_ratio
    ) as stream:
        for number, raw in enumerate(stream, start=1):
            if not raw.strip():
                continue
            try:
                line = raw.decode("utf-8").rstrip("\r\n")
            except UnicodeDecodeError:
                value = raw[:200].decode("utf-8", "backslashreplace")
                yield ParseReject(table, number, None, value, "not valid UTF-8")
                continue
            if number == 1:
                line = line.lstrip("\ufeff")  # a byte-order mark, as Windows editors write
            try:
                obj = json.loads(line)
            except ValueError as exc:
                reason = f"invalid JSON ({exc.args[0].split(':')[0]})"
                yield ParseReject(table, number, None, line[:200].rstrip(), reason)
                continue
            except RecursionError:
                yield ParseReject(table, number, None, line[:200], "JSON nested too deeply")
                continue
            if arrays and isinstance(obj, list):
                obj = {ARRAY: obj}
            elif not isinstance(obj, dict):
                yield ParseReject(table, number, None, line[:200].rstrip(), "not a JSON object")
                continue
            if has_surrogate_escape(line) and lone_surrogate(obj):
                yield ParseReject(table, number, None, line[:200].rstrip(), LONE_SURROGATE)
                continue
            yield JsonLine(number, obj)


def first_json_object(sample: Sample, *, arrays: bool = False) -> dict[str, Any] | None:
    """Return the sample's first non-empty line as a JSON object, if it is one and complete.

    With ``arrays``, a line that is a JSON array is given as ``{ARRAY: [...]}``.
    """
    text = sample.text
    whole = len(sample.head) < SAMPLE_BYTES
    for line in text.split("\n"):
        if not line.strip():
            continue
        complete = whole or len(line) < len(text)
        if not complete:
            return None
        try:
            obj = json.loads(line)
        except (ValueError, RecursionError):
            return None
        if arrays and isinstance(obj, list):
            return {ARRAY: obj}
        return obj if isinstance(obj, dict) else None
    return None


def field_name(column: str, name: str) -> str:
    """The name of field ``name`` of the object named ``column`` ("" for the line itself).

    Examples
    --------
    >>> field_name("", "id"), field_name("items[2]", "snippet.id")
    ('id', 'items[2].snippet.id')
    """
    return f"{column}.{name}" if column else name


def long_first_line(sample: Sample) -> str | None:
    """The sample's text when it is the start of one first line longer than the sample.

    A JSON-lines format is told from its first line; when that line is longer than the sample
    (a page of a hundred posts), only its start can tell. A document written with an indent
    has line ends within the sample, and is no such line.
    """
    text = sample.text.strip()
    return None if "\n" in text else text


#: Maps one JSON line into a :class:`RowCollector`; may return rejects of parts of the line.
LineMapper = Callable[[dict[str, Any], int, "RowCollector", str], Iterable[ParseReject] | None]


def read_mapped_lines(
    path: Path,
    options: ReadOptions,
    mapper: LineMapper,
    platform: str,
    rows: RowCollector,
    *,
    arrays: bool = False,
) -> Iterator[ReadItem]:
    """Stream a JSON-lines file through ``mapper``: raw batches and rejects, in file order.

    A line that is not JSON, or one whose mapping raises :class:`MalformedFieldError`, is a
    reject of its own, and nothing the mapper added for it is kept (a line of several posts
    is rejected whole); the rows read before a reject are staged first, so that strict mode
    reports the first bad line of the file. ``arrays``: as for :func:`iter_json_lines`.
    """
    for line in iter_json_lines(path, options, arrays=arrays):
        if isinstance(line, ParseReject):
            yield from rows.flush()
            yield line
            continue
        mark = rows.checkpoint()
        try:
            rejects = mapper(line.obj, line.number, rows, platform)
        except MalformedFieldError as bad:
            rows.rollback(mark)
            yield from rows.flush()
            yield ParseReject("posts", line.number, bad.column, bad.value, bad.reason)
            continue
        if rejects:
            yield from rows.flush()
            yield from rejects
        if rows.full:
            yield from rows.flush()
    yield from rows.flush()


# -- batching -----------------------------------------------------------------------------------


def _plausible(field: str, value: Any) -> bool:
    """Whether a value of an account record passes the load stage's check of its field.

    The follower count only, checked as the load stage checks it (a number, rounded to a
    64-bit integer that is not negative); other fields pass. A creation time the load stage
    cannot read still replaces an earlier one within a batch, to be emptied there.
    """
    if field != "followers":
        return True
    if isinstance(value, bool):
        return False
    try:
        number = float(value)
    except (TypeError, ValueError):
        return False
    return math.isfinite(number) and 0 <= round(number) < 2**63


@dataclass
class RowCollector:
    """Gathers post records (real and embedded) and embedded accounts into raw batches.

    Accounts are kept once per batch, each field its latest non-null value, as the load stage
    would choose.
    """

    batch_rows: int
    posts: list[dict[str, Any]] = field(default_factory=list)
    post_rows: list[int] = field(default_factory=list)
    side_posts: list[dict[str, Any]] = field(default_factory=list)
    side_post_rows: list[int] = field(default_factory=list)
    accounts: dict[str, tuple[dict[str, Any], int]] = field(default_factory=dict)
    #: Raw columns that a reader gives beside the canonical ones on its (real) posts, such as
    #: :data:`~cibscan.ingest.load.ATTACHED_URL`.
    extra_post_columns: tuple[str, ...] = ()
    #: The accounts changed since :meth:`checkpoint`, with what they were (``None``: absent).
    _undo: list[tuple[str, tuple[dict[str, Any], int] | None]] = field(
        default_factory=list, repr=False
    )

    def checkpoint(self) -> tuple[int, int]:
        """Mark the collector's state, for :meth:`rollback` (a line that turns out malformed)."""
        self._undo.clear()
        return len(self.posts), len(self.side_posts)

    def rollback(self, mark: tuple[int, int]) -> None:
        """Forget what was added since :meth:`checkpoint` returned ``mark``."""
        posts, side_posts = mark
        del self.posts[posts:], self.post_rows[posts:]
        del self.side_posts[side_posts:], self.side_post_rows[side_posts:]
        for key, before in reversed(self._undo):
            if before is None:
                del self.accounts[key]
            else:
                self.accounts[key] = before
        self._undo.clear()

    def post(self, record: dict[str, Any], row: int, *, embedded: bool = False) -> None:
        """Add a post record; ``embedded`` for side information."""
        if embedded:
            self.side_posts.append(record)
            self.side_post_rows.append(row)
        else:
            self.posts.append(record)
            self.post_rows.append(row)

    def account(self, record: dict[str, Any], row: int) -> None:
        """Add an embedded account record (records without an id are side noise: dropped)."""
        key = record.get("account_id")
        if key:
            seen = self.accounts.get(key)
            self._undo.append((key, seen))
            if seen is not None:
                # The load stage's rule for side information (latest non-null value of each
                # field that passes its checks), applied within the batch: one record per
                # account per batch bounds the memory, and as the rule is associative the stored
                # profile is the same. The load stage empties a bad count, so a count that is
                # not one must not replace a good one here.
                record = seen[0] | {
                    k: v for k, v in record.items() if v is not None and _plausible(k, v)
                }
            self.accounts[key] = (record, row)

    @property
    def full(self) -> bool:
        """Whether a batch is due."""
        return max(len(self.posts), len(self.side_posts), len(self.accounts)) >= self.batch_rows

    def flush(self) -> Iterator[RawBatch]:
        """Yield the gathered rows as raw batches and start afresh."""
        if self.posts:
            columns = [*POST_COLUMNS, *self.extra_post_columns]
            yield RawBatch("posts", records_to_batch("posts", self.posts, self.post_rows, columns))
        if self.side_posts:
            batch = records_to_batch("posts", self.side_posts, self.side_post_rows, POST_COLUMNS)
            yield RawBatch("posts", batch, embedded=True)
        if self.accounts:
            records = [r for r, _ in self.accounts.values()]
            rows = [n for _, n in self.accounts.values()]
            batch = records_to_batch("accounts", records, rows, ACCOUNT_COLUMNS)
            yield RawBatch("accounts", batch, embedded=True)
        self.posts, self.post_rows = [], []
        self.side_posts, self.side_post_rows = [], []
        self.accounts = {}
        self._undo.clear()


# -- field access that reports shapes precisely -----------------------------------------------


def obj_at(value: Any, column: str) -> dict[str, Any]:
    """``value`` as a JSON object (``{}`` when absent)."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise MalformedFieldError(column, value, "not a JSON object")
    return value


def list_at(value: Any, column: str) -> list[Any]:
    """``value`` as a JSON array (``[]`` when absent)."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise MalformedFieldError(column, value, "not a JSON array")
    return value


def ident(value: Any, column: str) -> str | None:
    """An id as a string; ids may come as JSON strings or integers."""
    if value is None or type(value) is str:  # the common case first: this runs per field
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise MalformedFieldError(column, value, "not an id (a string or an integer)")


def text_at(value: Any, column: str) -> str | None:
    """A scalar as text (numbers kept as written)."""
    if value is None or type(value) is str:  # the common case first: this runs per field
        return value
    if isinstance(value, dict | list):
        raise MalformedFieldError(column, value, "not a scalar")
    return json_scalar(value)


def entity_values(entities: dict[str, Any], kind: str, keys: tuple[str, ...]) -> list[str]:
    """The first present of ``keys`` of every entity of one kind (``entities.<kind>``)."""
    out: list[str] = []
    for i, entity in enumerate(list_at(entities.get(kind), f"entities.{kind}")):
        entity = obj_at(entity, f"entities.{kind}[{i}]")
        for key in keys:
            value = entity.get(key)
            if isinstance(value, str) and value:
                out.append(value)
                break
    return out


def metric_sum(metrics: Mapping[str, Any], keys: tuple[str, ...], column: str) -> str | None:
    """The sum of the counts present among ``keys``, as text; ``None`` when none is present."""
    total: int | None = None
    for key in keys:
        value = metrics.get(key)
        if value is None:
            continue
        if not isinstance(value, int) or isinstance(value, bool):
            raise MalformedFieldError(f"{column}.{key}" if column else key, value, "not an integer")
        total = (total or 0) + value
    return None if total is None else str(total)


# -- API v2 -------------------------------------------------------------------------------------


def v2_account(user: dict[str, Any], platform: str) -> dict[str, Any]:
    """An accounts record from a v2 user object."""
    metrics = obj_at(user.get("public_metrics"), "public_metrics")
    followers = metrics.get("followers_count")
    return {
        "account_id": ident(user.get("id"), "author.id"),
        "kind": "user",
        "username": text_at(user.get("username"), "author.username"),
        "display_name": text_at(user.get("name"), "author.name"),
        "created_at": text_at(user.get("created_at"), "author.created_at"),
        "followers": text_at(followers, "author.public_metrics.followers_count"),
        "description": text_at(user.get("description"), "author.description"),
        "location": text_at(user.get("location"), "author.location"),
        "profile_image": text_at(user.get("profile_image_url"), "author.profile_image_url"),
        "platform": platform,
    }


def v2_post(
    tweet: dict[str, Any], included: Mapping[str, dict[str, Any]], platform: str
) -> dict[str, Any]:
    """A posts record from a v2 tweet.

    ``included`` maps tweet ids to the tweets of ``includes.tweets`` (for the author of a
    retweeted or quoted tweet); flattened tweets carry that author in ``referenced_tweets``.
    """
    shared: tuple[str, str] | None = None  # (kind, referenced tweet id)
    replied: str | None = None
    shared_author: str | None = None
    # A retweet wins over a quote, and both over a reply: the post's kind is the act that
    # carries someone else's post; a quote that is also a reply keeps its reply_to fields.
    for i, ref in enumerate(list_at(tweet.get("referenced_tweets"), "referenced_tweets")):
        ref = obj_at(ref, f"referenced_tweets[{i}]")
        ref_type = ref.get("type")
        ref_id = ident(ref.get("id"), f"referenced_tweets[{i}].id")
        if ref_id is None:
            continue
        if ref_type == "retweeted" or (ref_type == "quoted" and shared is None):
            shared = ("share" if ref_type == "retweeted" else "quote", ref_id)
            author = ref.get("author_id") or included.get(ref_id, {}).get("author_id")
            shared_author = ident(author, f"referenced_tweets[{i}].author_id")
        elif ref_type == "replied_to":
            replied = ref_id
    note = obj_at(tweet.get("note_tweet"), "note_tweet")
    text = note.get("text") if note.get("text") else tweet.get("text")
    # Long posts (note tweets) carry the entities of their full text in the note.
    entity_source = note if "entities" in note else tweet
    has_entities = "entities" in entity_source
    entities = obj_at(entity_source.get("entities"), "entities")
    attachments = tweet.get("attachments")
    media_keys = list_at(obj_at(attachments, "attachments").get("media_keys"), "media_keys")
    metrics = tweet.get("public_metrics")
    return {
        "post_id": ident(tweet.get("id"), "id"),
        "account_id": ident(tweet.get("author_id"), "author_id"),
        "timestamp": text_at(tweet.get("created_at"), "created_at"),
        "kind": shared[0] if shared else ("reply" if replied else "post"),
        "text": text_at(text, "text"),
        "shared_post_id": shared[1] if shared else None,
        "shared_account_id": shared_author,
        "reply_to_post_id": replied,
        "reply_to_account_id": ident(tweet.get("in_reply_to_user_id"), "in_reply_to_user_id"),
        # Absent entities mean "not requested": leave the lists to extraction from the text.
        "hashtags": entity_values(entities, "hashtags", ("tag",)) if has_entities else None,
        "mentions": entity_values(entities, "mentions", ("username",)) if has_entities else None,
        "urls_original": (
            entity_values(entities, "urls", ("unwound_url", "expanded_url", "url"))
            if has_entities
            else None
        ),
        "media": [str(k) for k in media_keys] if attachments is not None else None,
        "platform": platform,
        "lang": text_at(tweet.get("lang"), "lang"),
        "engagement": None
        if metrics is None
        else metric_sum(obj_at(metrics, "public_metrics"), _V2_ENGAGEMENT, "public_metrics"),
    }


def _is_tweet(obj: Mapping[str, Any]) -> bool:
    return "id" in obj and ("text" in obj or "author_id" in obj)


_Mapped = tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]


def map_v2_item(obj: dict[str, Any], row: int, rows: RowCollector, platform: str) -> None:
    """Map one JSON line of API v2 data: a response page, or one flattened tweet.

    Raises
    ------
    MalformedFieldError
        When the line is neither, or a field has the wrong shape; nothing of the line is kept.
    """
    if "data" in obj:
        posts, side, users = _v2_page(obj, platform)
    elif _is_tweet(obj):
        posts, side, users = _v2_flattened(obj, platform)
    elif "errors" in obj:
        return  # a page of API errors only (deleted or protected tweets): no rows
    else:
        raise MalformedFieldError("data", None, "neither a twarc2 response page nor a tweet")
    for record in posts:
        rows.post(record, row)
    for record in side:
        rows.post(record, row, embedded=True)
    for user in users:
        rows.account(user, row)


def _v2_page(page: dict[str, Any], platform: str) -> _Mapped:
    data = page["data"]
    tweets = [data] if isinstance(data, dict) else list_at(data, "data")
    includes = obj_at(page.get("includes"), "includes")
    included: dict[str, dict[str, Any]] = {}
    for i, tweet in enumerate(list_at(includes.get("tweets"), "includes.tweets")):
        tweet = obj_at(tweet, f"includes.tweets[{i}]")
        tweet_id = ident(tweet.get("id"), f"includes.tweets[{i}].id")
        if tweet_id is not None:
            included[tweet_id] = tweet
    posts = [v2_post(obj_at(t, f"data[{i}]"), included, platform) for i, t in enumerate(tweets)]
    side = [v2_post(t, included, platform) for t in included.values()]
    users = [
        v2_account(obj_at(u, f"includes.users[{i}]"), platform)
        for i, u in enumerate(list_at(includes.get("users"), "includes.users"))
    ]
    return posts, side, users


def _v2_flattened(tweet: dict[str, Any], platform: str) -> _Mapped:
    # twarc2 flatten moved the includes inline: the author, and the referenced tweets whole.
    side: list[dict[str, Any]] = []
    users: list[dict[str, Any]] = []
    if tweet.get("author"):
        users.append(v2_account(obj_at(tweet["author"], "author"), platform))
    for i, ref in enumerate(list_at(tweet.get("referenced_tweets"), "referenced_tweets")):
        ref = obj_at(ref, f"referenced_tweets[{i}]")
        if _is_tweet(ref) and "author_id" in ref:
            side.append(v2_post(ref, {}, platform))
            if ref.get("author"):
                users.append(
                    v2_account(obj_at(ref["author"], f"referenced_tweets[{i}].author"), platform)
                )
    return [v2_post(tweet, {}, platform)], side, users


# -- API v1.1 -----------------------------------------------------------------------------------


def is_v1_tweet(obj: Mapping[str, Any]) -> bool:
    """Whether a JSON object is a v1.1 tweet (an ``id_str`` and a ``user`` object)."""
    return "id_str" in obj and isinstance(obj.get("user"), dict)


def v1_account(user: dict[str, Any], platform: str) -> dict[str, Any]:
    """An accounts record from a v1.1 user object."""
    image = user.get("profile_image_url_https") or user.get("profile_image_url")
    return {
        "account_id": ident(user.get("id_str") or user.get("id"), "user.id_str"),
        "kind": "user",
        "username": text_at(user.get("screen_name"), "user.screen_name"),
        "display_name": text_at(user.get("name"), "user.name"),
        "created_at": text_at(user.get("created_at"), "user.created_at"),
        "followers": text_at(user.get("followers_count"), "user.followers_count"),
        "description": text_at(user.get("description"), "user.description"),
        "location": text_at(user.get("location"), "user.location"),
        "profile_image": text_at(image, "user.profile_image_url_https"),
        "platform": platform,
    }


def map_v1_tweet(tweet: dict[str, Any], row: int, rows: RowCollector, platform: str) -> None:
    """Map a v1.1 tweet (and, embedded, the tweets and users it carries).

    Raises
    ------
    MalformedFieldError
        When a field has the wrong shape; nothing of the line is kept then.
    """
    posts: list[tuple[dict[str, Any], bool]] = []
    accounts: list[dict[str, Any]] = []
    _v1_records(tweet, platform, posts, accounts, embedded=False)
    for record, embedded in posts:
        rows.post(record, row, embedded=embedded)
    for account in accounts:
        rows.account(account, row)


def _v1_records(
    tweet: dict[str, Any],
    platform: str,
    posts: list[tuple[dict[str, Any], bool]],
    accounts: list[dict[str, Any]],
    *,
    embedded: bool,
) -> None:
    user = obj_at(tweet.get("user"), "user")
    retweeted = obj_at(tweet.get("retweeted_status"), "retweeted_status")
    quoted = obj_at(tweet.get("quoted_status"), "quoted_status")
    extended = obj_at(tweet.get("extended_tweet"), "extended_tweet")
    if "full_text" in tweet:
        text = tweet["full_text"]
    elif "full_text" in extended:
        text = extended["full_text"]
    else:
        text = tweet.get("text")
    # A retweet's own entities cover only its truncated "RT @x: ..." text; the original's
    # (extended) entities are complete, so a retweet takes those.
    carrier = retweeted or tweet
    carrier_ext = obj_at(carrier.get("extended_tweet"), "extended_tweet") or carrier
    has_entities = "entities" in carrier_ext
    entities = obj_at(carrier_ext.get("entities"), "entities")
    media_entities = obj_at(carrier_ext.get("extended_entities"), "extended_entities") or entities
    quoted_id = ident(tweet.get("quoted_status_id_str"), "quoted_status_id_str") or ident(
        quoted.get("id_str"), "quoted_status.id_str"
    )
    quote_user = obj_at(quoted.get("user"), "quoted_status.user")
    if retweeted:
        kind = "share"
        shared_id = ident(retweeted.get("id_str"), "retweeted_status.id_str")
        retweet_user = obj_at(retweeted.get("user"), "retweeted_status.user")
        shared_author = ident(retweet_user.get("id_str"), "retweeted_status.user.id_str")
    elif quoted_id:
        kind, shared_id = "quote", quoted_id
        shared_author = ident(quote_user.get("id_str"), "quoted_status.user.id_str")
    else:
        kind, shared_id, shared_author = "post", None, None
    replied = ident(tweet.get("in_reply_to_status_id_str"), "in_reply_to_status_id_str")
    if kind == "post" and replied:
        kind = "reply"
    record = {
        "post_id": ident(tweet.get("id_str") or tweet.get("id"), "id_str"),
        "account_id": ident(user.get("id_str") or user.get("id"), "user.id_str"),
        "timestamp": text_at(tweet.get("created_at"), "created_at"),
        "kind": kind,
        "text": text_at(text, "text"),
        "shared_post_id": shared_id,
        "shared_account_id": shared_author,
        "reply_to_post_id": replied,
        "reply_to_account_id": ident(
            tweet.get("in_reply_to_user_id_str"), "in_reply_to_user_id_str"
        ),
        "hashtags": entity_values(entities, "hashtags", ("text",)) if has_entities else None,
        "mentions": entity_values(entities, "user_mentions", ("screen_name",))
        if has_entities
        else None,
        "urls_original": entity_values(entities, "urls", ("expanded_url", "url"))
        if has_entities
        else None,
        "media": entity_values(media_entities, "media", ("id_str",)) if has_entities else None,
        "platform": platform,
        "lang": text_at(tweet.get("lang"), "lang"),
        "engagement": metric_sum(tweet, _V1_ENGAGEMENT, ""),
    }
    posts.append((record, embedded))
    if user:
        accounts.append(v1_account(user, platform))
    for inner in (retweeted, quoted):
        if inner and is_v1_tweet(inner):
            _v1_records(inner, platform, posts, accounts, embedded=True)
