"""The reader fuzzing harness: seed files of every format, mutations, and the ingest oracle.

Shared by the hypothesis suite (``test_fuzz_readers.py``), the long run (``fuzz/run_fuzz.py``)
and the atheris target (``fuzz/atheris_readers.py``).

The oracle (:func:`check_input`) ingests one input twice, ``on_error="skip"`` then ``"strict"``,
each into a fresh in-memory case, and asserts what issue 8 asks of every reader: a clean ingest
whose row accounting adds up and agrees with the case's tables, or a :class:`CibscanError` that
names the file (and the row or line, when a row is at fault). Any other exception propagates:
it is a bug.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import faulthandler
import gzip
import io
import json
import signal
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import pyarrow as pa
import pyarrow.parquet as pq
from hypothesis import strategies as st

from cibscan.case import Case, open_case
from cibscan.config import IngestConfig
from cibscan.errors import BadInputError, CibscanError
from cibscan.ingest import IngestReport, ingest

#: Fixed "now" for the future-timestamp check, so that runs are reproducible.
MAX_TIMESTAMP: Final = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
DATA: Final = Path(__file__).resolve().parents[1] / "data" / "formats"


# -- seeds --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Seed:
    """A valid input of one format, and how to mutate its structure."""

    name: str
    filename: str
    fmt: str  # the --format name of its reader
    kind: str  # csv | jsonl | json | parquet
    data: bytes
    delimiter: str = ","


def _jsonl(*objects: Any) -> bytes:
    return "".join(json.dumps(o, ensure_ascii=False) + "\n" for o in objects).encode()


def _parquet(columns: dict[str, pa.Array]) -> bytes:
    sink = io.BytesIO()
    pq.write_table(pa.table(columns), sink)
    return sink.getvalue()


_GENERIC_CSV = (
    "post_id,account_id,timestamp,kind,text,shared_post_id,urls,hashtags,engagement\n"
    "p1,a1,2024-01-01T10:00:00Z,post,Vote #Now https://news.example/a?utm_source=x,,,,3\n"
    'p2,a2,1704103260,share,"RT, with ""quotes""",p1,"[""https://news.example/a""]",,\n'
    'p3,a3,2024-01-01 10:02,,"two\nlines @a1",,,now later,0\n'
    "p4,a1,1704103400000,reply,ok,,,[],\n"
)
_ACCOUNTS_TSV = (
    "account_id\tusername\tdisplay_name\tfollowers\tcreated_at\tkind\n"
    "a1\t@alice\tAlice A\t120\t2011-01-03T10:00:00Z\tuser\n"
    "a2\tbob\t\t7\t1293962400\tpage\n"
    "a3\tcarol\tC\t\t\tchannel\n"
)
_V2_TWEET = {
    "id": "t1",
    "author_id": "a1",
    "created_at": "2024-01-01T10:00:00.000Z",
    "text": "Vote #Now @bob https://t.co/x",
    "lang": "en",
    "entities": {
        "hashtags": [{"tag": "Now"}],
        "mentions": [{"username": "bob"}],
        "urls": [{"url": "https://t.co/x", "expanded_url": "https://news.example/a"}],
    },
    "attachments": {"media_keys": ["3_1"]},
    "public_metrics": {"retweet_count": 1, "reply_count": 2, "like_count": 3, "quote_count": 4},
}
_V2_RETWEET = {
    "id": "t2",
    "author_id": "a2",
    "created_at": "2024-01-01T10:01:00.000Z",
    "text": "RT @carol: the original",
    "referenced_tweets": [{"type": "retweeted", "id": "t9"}],
}
_V2_INCLUDED = {
    "id": "t9",
    "author_id": "a9",
    "created_at": "2024-01-01T09:00:00.000Z",
    "text": "the original",
}
_V2_USER = {
    "id": "a1",
    "username": "alice",
    "name": "Alice",
    "created_at": "2011-01-03T10:00:00.000Z",
    "public_metrics": {"followers_count": 120},
}
_V2_PAGE = {
    "data": [_V2_TWEET, _V2_RETWEET],
    "includes": {"users": [_V2_USER], "tweets": [_V2_INCLUDED]},
    "meta": {"result_count": 2},
    "__twarc": {"version": "2.14.0"},
}
_V2_FLAT = dict(
    _V2_TWEET,
    id="t4",
    author=_V2_USER,
    referenced_tweets=[dict(_V2_INCLUDED, type="quoted", author={"id": "a9", "username": "d"})],
    __twarc={"url": "https://api.twitter.com/2/tweets/search/recent"},
)
_V1_USER = {"id_str": "11", "screen_name": "Alice", "name": "Alice A", "followers_count": 120}
_V1_TWEET = {
    "created_at": "Mon Jan 01 10:00:00 +0000 2024",
    "id_str": "1",
    "full_text": "Vote #Now @Bob https://t.co/x",
    "user": _V1_USER,
    "entities": {
        "hashtags": [{"text": "Now"}],
        "user_mentions": [{"screen_name": "Bob"}],
        "urls": [{"expanded_url": "https://news.example/a"}],
    },
    "lang": "en",
    "retweet_count": 2,
    "favorite_count": 3,
}
_V1_RETWEET = {
    "created_at": "Mon Jan 01 10:01:00 +0000 2024",
    "id_str": "2",
    "text": "RT @Alice: Vote",
    "user": {"id_str": "22", "screen_name": "bob"},
    "retweeted_status": _V1_TWEET,
    "in_reply_to_status_id_str": None,
}
_TELEGRAM = {
    "name": "Chan",
    "type": "public_channel",
    "id": 777,
    "messages": [
        {"id": 1, "type": "service", "date": "2024-01-01T09:00:00", "action": "create_channel"},
        {
            "id": 2,
            "type": "message",
            "date": "2024-01-01T11:00:00",
            "date_unixtime": "1704103200",
            "from": "Chan",
            "from_id": "channel777",
            "photo": "photos/photo_2.jpg",
            "text": ["Vote ", {"type": "hashtag", "text": "#Now"}],
            "text_entities": [
                {"type": "plain", "text": "Vote "},
                {"type": "hashtag", "text": "#Now"},
                {"type": "text_link", "text": "here", "href": "https://news.example/a"},
            ],
        },
        {
            "id": 3,
            "type": "message",
            "date_unixtime": "1704103260",
            "from_id": "channel777",
            "forwarded_from": "Other",
            "forwarded_from_id": "channel888",
            "text": "Breaking",
        },
        {
            "id": 4,
            "type": "message",
            "date": "2024-01-01T12:00:00",
            "from": "Zed",
            "from_id": "user5",
            "reply_to_message_id": 2,
            "text": "agreed https://x.example/b",
        },
    ],
}
_COORTWEET_CSV = (
    "object_id,account_id,content_id,timestamp_share\n"
    "o1,a1,c1,1704103200\n"
    "o1,a2,c2,1704103201.5\n"
    "o2,a2,c2,1704103202\n"
    "o2,a3,c3,1704103300\n"
)


_BSKY_POST: Final = "at://did:plc:a1/app.bsky.feed.post/3kp1"
_BLUESKY: Final = (
    {"did": "did:plc:a1", "time_us": 1704103200000000, "kind": "commit",
     "commit": {"operation": "create", "collection": "app.bsky.feed.post", "rkey": "3kp1",
                "record": {"$type": "app.bsky.feed.post", "text": "hi #x news.example",
                           "createdAt": "2024-01-01T10:00:00.000Z", "langs": ["en"],
                           "facets": [{"index": {"byteStart": 3, "byteEnd": 5}, "features": [
                               {"$type": "app.bsky.richtext.facet#tag", "tag": "x"}]},
                               {"index": {"byteStart": 6, "byteEnd": 18}, "features": [
                               {"$type": "app.bsky.richtext.facet#link",
                                "uri": "https://news.example"}]}],
                           "embed": {"$type": "app.bsky.embed.images", "images": [
                               {"alt": "", "image": {"$type": "blob",
                                                     "ref": {"$link": "bafkimg"},
                                                     "mimeType": "image/png", "size": 9}}]}}}},
    {"did": "did:plc:a2", "time_us": 1704103260000000, "kind": "commit",
     "commit": {"operation": "create", "collection": "app.bsky.feed.repost", "rkey": "3kr1",
                "record": {"$type": "app.bsky.feed.repost", "createdAt": "2024-01-01T10:01:00Z",
                           "subject": {"uri": _BSKY_POST, "cid": "bafy"}}}},
    {"did": "did:plc:a2", "time_us": 1704103261000000, "kind": "commit",
     "commit": {"operation": "create", "collection": "app.bsky.feed.like", "rkey": "3kl1",
                "record": {"$type": "app.bsky.feed.like", "createdAt": "2024-01-01T10:01:01Z",
                           "subject": {"uri": _BSKY_POST, "cid": "bafy"}}}},
    {"uri": "at://did:plc:a3/app.bsky.feed.post/3kp3", "cid": "bafy",
     "author": {"did": "did:plc:a3", "handle": "a3.bsky.social"},
     "record": {"$type": "app.bsky.feed.post", "text": "reply",
                "createdAt": "2024-01-01T10:02:00Z",
                "reply": {"root": {"uri": _BSKY_POST, "cid": "bafy"},
                          "parent": {"uri": _BSKY_POST, "cid": "bafy"}}},
     "likeCount": 1, "repostCount": 0, "indexedAt": "2024-01-01T10:02:01Z"},
)  # fmt: skip


_REDDIT: Final = (
    {"id": "a1", "author": "alice", "created_utc": 1704103200, "subreddit": "news",
     "title": "Big news", "selftext": "", "is_self": False, "score": 10, "num_comments": 2,
     "url": "https://news.example/a"},
    {"id": "c1", "author": "bob", "created_utc": 1704103300.0, "subreddit": "news",
     "body": "Agreed #x", "link_id": "t3_a1", "parent_id": "t3_a1", "score": 3},
    {"kind": "Listing", "data": {"children": [
        {"kind": "t1", "data": {"id": "c2", "author": "carol", "created_utc": "1704103400",
                                "subreddit": "news", "body": "[removed]",
                                "link_id": "t3_a1", "parent_id": "t1_c1"}}]}},
)  # fmt: skip


def _yt(cid: str, channel: str, when: str, text: str, **extra: Any) -> dict[str, Any]:
    snippet = {"authorDisplayName": "@" + channel, "authorChannelId": {"value": channel},
               "textDisplay": text, "textOriginal": text, "likeCount": 1,
               "publishedAt": when}  # fmt: skip
    return {"kind": "youtube#comment", "id": cid, "snippet": snippet | extra}


_YOUTUBE: Final = (
    {"kind": "youtube#commentThread", "id": "Ug1",
     "snippet": {"videoId": "v1", "channelId": "UCo", "totalReplyCount": 1,
                 "topLevelComment": _yt("Ug1", "UCa", "2024-01-01T10:00:00Z", "hi #x")},
     "replies": {"comments": [_yt("Ug1.r", "UCb", "2024-01-01T10:01:00Z", "yo",
                                  parentId="Ug1")]}},
    {"kind": "youtube#commentThreadListResponse", "items": [
        {"kind": "youtube#commentThread", "id": "Ug2",
         "snippet": {"videoId": "v1", "channelId": "UCo", "totalReplyCount": 0,
                     "topLevelComment": _yt("Ug2", "UCc", "2024-01-01T10:02:00Z", "",
                                            textOriginal=None,
                                            textDisplay='<a href="https://a.example/">x</a>')}}]},
)  # fmt: skip


_TOOTER: Final = {"id": "10", "acct": "a", "username": "a", "display_name": "A",
                  "created_at": "2022-11-01T00:00:00.000Z", "note": "<p>x</p>",
                  "followers_count": 1, "group": False}  # fmt: skip
_TOOT: Final = {
    "id": "1", "created_at": "2024-01-01T10:00:00.000Z", "account": _TOOTER,
    "content": '<p>hi <a href="https://m.example/tags/x" class="mention hashtag">#<span>x</span>'
               '</a> <a href="https://a.example/p"><span class="invisible">https://</span>'
               "<span>a.example/p</span></a></p>",
    "visibility": "public", "spoiler_text": "", "in_reply_to_id": None, "reblog": None,
    "tags": [{"name": "x"}], "mentions": [], "language": "en", "reblogs_count": 1,
    "media_attachments": [{"id": "m", "type": "image", "blurhash": "LEHV6nWB2yk8pyo0adR*.7kCMdnj"}],
}  # fmt: skip
_MASTODON: Final = (
    _TOOT,
    [dict(_TOOT, id="2", reblog=_TOOT, content="", tags=[], media_attachments=[]),
     dict(_TOOT, id="3", in_reply_to_id="1", in_reply_to_account_id="10",
          content="<p>yes<br>no</p>", spoiler_text="cw")],
)  # fmt: skip

_TIKTOK: Final = (
    {"data": {"videos": [
        {"id": 7320768151782853934, "create_time": 1704499182, "username": "ann.ke",
         "region_code": "KE", "video_description": "vote #x @bob.ke", "music_id": 7159460238,
         "like_count": 3, "hashtag_names": ["x"], "video_mention_list": ["@cy"]}],
        "has_more": False}, "error": {"code": "ok", "message": ""}},
    {"source_platform": "tiktok.com", "data": {
        "id": "7320768151782853940", "createTime": "1704499210", "desc": "#x",
        "author": {"uniqueId": "dee", "nickname": "Dee"}, "music": {"id": "7159460238"},
        "textExtra": [{"type": 1, "hashtagName": "x"}], "stats": {"diggCount": 1},
        "duetInfo": {"duetFromId": "7320768151782853934"}}},
    {"source_platform": "tiktok-comments", "data": {
        "cid": "73208", "aweme_id": "7320768151782853934", "reply_id": "0", "text": "ok",
        "create_time": 1704499300, "user": {"unique_id": "eve"}}},
)  # fmt: skip

_MCL: Final = (
    "id,creation_time,text,post_owner.type,post_owner.id,post_owner.name,shared_post_id,"
    "link_attachment.link,statistics.reaction_count,statistics.comment_count,"
    "statistics.share_count,surface.type,surface.id,surface.name,mcl_url\n"
    "71234,2024-03-05T14:02:11+0000,Vote #x,page,10987,Smith,,https://a.example/p,5,1,0,"
    "group,555,Fans,https://m.example/1\n"
    "71235,2024-03-05T14:02:40+0000,,profile,10988,Ann,7000,,1,0,0,,,,https://m.example/2\n"
)


def _seeds() -> dict[str, Seed]:
    seeds = [
        Seed("csv", "input.csv", "csv", "csv", _GENERIC_CSV.encode()),
        Seed("tsv", "accounts.tsv", "csv", "csv", _ACCOUNTS_TSV.encode(), "\t"),
        Seed(
            "jsonl",
            "input.jsonl",
            "jsonl",
            "jsonl",
            _jsonl(
                {
                    "post_id": "p1",
                    "account_id": "a1",
                    "timestamp": "2024-01-01T10:00:00Z",
                    "text": "hi #x",
                    "hashtags": ["x"],
                    "engagement": 5,
                },
                {
                    "post_id": 2,
                    "account_id": "a2",
                    "timestamp": 1704103260,
                    "kind": "retweet",
                    "shared_post_id": "p1",
                    "urls": "https://a.example/1 https://b.example/2",
                    "media": '["m1"]',
                },
            ),
        ),
        Seed(
            "parquet",
            "input.parquet",
            "parquet",
            "parquet",
            _parquet(
                {
                    "post_id": pa.array(["p1", "p2", "p3"]),
                    "account_id": pa.array(["a1", "a2", "a1"]),
                    "timestamp": pa.array(
                        [dt.datetime(2024, 1, 1, 10, i, tzinfo=dt.UTC) for i in range(3)],
                        pa.timestamp("us", tz="UTC"),
                    ),
                    "text": pa.array(["one #a", None, "three https://x.example/"]),
                    "shared_post_id": pa.array([None, "p1", None]),
                    "hashtags": pa.array([["a"], None, []], pa.list_(pa.string())),
                    "engagement": pa.array([1, None, 3], pa.int64()),
                }
            ),
        ),
        Seed("twarc2-pages", "pages.jsonl", "twarc2", "jsonl", _jsonl(_V2_PAGE, _V2_PAGE)),
        Seed("twarc2-flat", "flat.jsonl", "twarc2", "jsonl", _jsonl(_V2_FLAT, _V2_TWEET)),
        Seed(
            "io-archive", "archive.csv", "io-archive", "csv", (DATA / "io_archive.csv").read_bytes()
        ),
        Seed(
            "io-archive-users",
            "users.csv",
            "io-archive",
            "csv",
            (DATA / "io_archive_users.csv").read_bytes(),
        ),
        Seed("ira-tweets", "ira.csv", "ira-tweets", "csv", (DATA / "ira_tweets.csv").read_bytes()),
        Seed(
            "telegram",
            "result.json",
            "telegram",
            "json",
            json.dumps(_TELEGRAM, indent=1, ensure_ascii=False).encode(),
        ),
        Seed(
            "crowdtangle",
            "pages.csv",
            "crowdtangle",
            "csv",
            (DATA / "crowdtangle_pages.csv").read_bytes(),
        ),
        Seed("cnt-csv", "cnt.csv", "cnt-csv", "csv", (DATA / "cnt.csv").read_bytes()),
        Seed("mcl", "mcl.csv", "mcl", "csv", _MCL.encode()),
        Seed("bluesky", "jetstream.jsonl", "bluesky", "jsonl", _jsonl(*_BLUESKY)),
        Seed("reddit", "RC_2024-01.jsonl", "reddit", "jsonl", _jsonl(*_REDDIT)),
        Seed("youtube", "comments.jsonl", "youtube", "jsonl", _jsonl(*_YOUTUBE)),
        Seed("mastodon", "statuses.jsonl", "mastodon", "jsonl", _jsonl(*_MASTODON)),
        Seed("tiktok", "videos.jsonl", "tiktok", "jsonl", _jsonl(*_TIKTOK)),
        Seed(
            "reddit-thread",
            "thread.json",
            "reddit",
            "jsonl",
            (
                json.dumps(
                    [
                        {
                            "kind": "Listing",
                            "data": {"children": [{"kind": "t3", "data": _REDDIT[0]}]},
                        },
                        _REDDIT[2],
                    ]
                )
                + "\n"
            ).encode(),
        ),
        Seed("cnt-json", "tweets.jsonl", "cnt-json", "jsonl", _jsonl(_V1_TWEET, _V1_RETWEET)),
        Seed("coortweet-csv", "shares.csv", "coortweet", "csv", _COORTWEET_CSV.encode()),
        Seed(
            "coortweet-parquet",
            "shares.parquet",
            "coortweet",
            "parquet",
            _parquet(
                {
                    "object_id": pa.array(["o1", "o1", "o2"]).dictionary_encode(),
                    "account_id": pa.array(["a1", "a2", "a2"]),
                    "content_id": pa.array(["c1", "c2", "c2"]),
                    "timestamp_share": pa.array([1704103200.0, 1704103201.5, 1704103202.0]),
                }
            ),
        ),
    ]
    return {s.name: s for s in seeds}


SEEDS: Final = _seeds()


# -- mutations ----------------------------------------------------------------------------------

#: Byte strings that break parsers: quotes, line ends, NUL, invalid UTF-8, a UTF-8-encoded
#: surrogate, a BOM, JSON escapes of lone surrogates, huge and odd numbers, brackets.
TOKENS: Final = [
    b'"',
    b"'",
    b"\n",
    b"\r",
    b"\r\n",
    b"\x00",
    b"\xff",
    b"\xc3",
    b"\xed\xa0\x80",
    b"\xef\xbb\xbf",
    b"\\ud800",
    b'"\\udfff"',
    b"\\",
    b",",
    b"\t",
    b"{",
    b"}",
    b"[",
    b"]",
    b":",
    b"99999999999999999999999999999",
    b"-9223372036854775809",
    b"1e309",
    b"NaN",
    b"-0.0",
    b"null",
    b"\xe2\x80\x8f",  # right-to-left mark
    b"\xe2\x80\x8b",  # zero-width space
    b"\xe2\x80\xa8",  # line separator (a line break to str.splitlines, not to JSON)
    b"\x85",
]

_SPECIAL_TEXT: Final = [
    "",
    " ",
    "[",
    "[1, 2",
    '["a", 1, null, {"b": 2}]',
    "{}",
    "null",
    "NaN",
    "inf",
    "-1",
    "1e400",
    "99999999999999999999999999999",
    "9223372036854775808",
    "0",
    "1.5",
    "2024-02-30T25:61:00Z",
    "9999-12-31T23:59:59Z",
    "1970-01-01",
    "Wed Oct 10 20:19:24 +0000 2018",
    "31/12/2024 10:00:00",
    "true",
    "retweet",
    "\u202eevil\u202c",
    "a\u200bb",
    "\ufeffid",
    "x\x00y",
    '=HYPERLINK("x")',
    "#tag #другой #ایران\u200cما",
]

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=20)
    | st.sampled_from(_SPECIAL_TEXT),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)
cell_text = st.sampled_from(_SPECIAL_TEXT) | st.text(max_size=30)


@st.composite
def byte_mutation(draw: st.DrawFn, data: bytes) -> bytes:
    """One byte-level edit of ``data``."""
    n = len(data)
    op = draw(st.sampled_from(["flip", "truncate", "insert", "delete", "duplicate", "random"]))
    pos = draw(st.integers(0, n))
    if op == "flip" and n:
        pos = min(pos, n - 1)
        bit = draw(st.integers(0, 7))
        return data[:pos] + bytes([data[pos] ^ (1 << bit)]) + data[pos + 1 :]
    if op == "truncate":
        return data[:pos]
    if op == "insert":
        token = draw(st.sampled_from(TOKENS) | st.binary(min_size=1, max_size=8))
        return data[:pos] + token * draw(st.integers(1, 3)) + data[pos:]
    if op == "delete":
        end = draw(st.integers(pos, min(n, pos + 64)))
        return data[:pos] + data[end:]
    if op == "duplicate":
        end = draw(st.integers(pos, min(n, pos + 200)))
        at = draw(st.integers(0, n))
        return data[:at] + data[pos:end] + data[at:]
    end = draw(st.integers(pos, min(n, pos + 16)))
    return data[:pos] + draw(st.binary(min_size=1, max_size=16)) + data[end:]


def _csv_mutation(draw: st.DrawFn, rows: list[list[str]]) -> None:
    width = max(len(r) for r in rows)
    op = draw(
        st.sampled_from(
            ["cell", "cell", "drop_col", "dup_col", "swap_cols", "dup_row", "ragged", "no_header"]
        )
    )
    if op == "cell":
        i = draw(st.integers(0, len(rows) - 1))
        if rows[i]:
            j = draw(st.integers(0, len(rows[i]) - 1))
            rows[i][j] = draw(cell_text)
    elif op == "drop_col":
        j = draw(st.integers(0, width - 1))
        for r in rows:
            if j < len(r):
                del r[j]
    elif op == "dup_col":
        j = draw(st.integers(0, width - 1))
        for r in rows:
            if j < len(r):
                r.append(r[j])
    elif op == "swap_cols":
        a, b = draw(st.integers(0, width - 1)), draw(st.integers(0, width - 1))
        for r in rows:
            if a < len(r) and b < len(r):
                r[a], r[b] = r[b], r[a]
    elif op == "dup_row" and len(rows) > 1:
        i = draw(st.integers(1, len(rows) - 1))
        rows.insert(draw(st.integers(1, len(rows))), list(rows[i]))
    elif op == "ragged":
        i = draw(st.integers(0, len(rows) - 1))
        if draw(st.booleans()) and rows[i]:
            rows[i].pop()
        else:
            rows[i].append(draw(cell_text))
    elif op == "no_header" and len(rows) > 1:
        del rows[0]


def _paths(obj: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every path to a value inside a JSON document (the root excluded)."""
    items: Any = (
        obj.items() if isinstance(obj, dict) else enumerate(obj) if isinstance(obj, list) else ()
    )
    for key, value in items:
        yield (*prefix, key)
        yield from _paths(value, (*prefix, key))


def _json_mutation(draw: st.DrawFn, doc: Any) -> Any:
    paths = list(_paths(doc))
    op = draw(st.sampled_from(["replace", "replace", "delete", "dup", "wrap", "nest", "root"]))
    if op == "root" or not paths:
        return draw(json_values)
    path = draw(st.sampled_from(paths))
    parent = doc
    for key in path[:-1]:
        parent = parent[key]
    key = path[-1]
    if op == "replace":
        parent[key] = draw(json_values)
    elif op == "delete":
        del parent[key]
    elif op == "dup":
        if isinstance(parent, list):
            parent.insert(key, json.loads(json.dumps(parent[key])))
        else:
            parent[draw(st.text(max_size=6))] = parent[key]
    elif op == "wrap":
        parent[key] = draw(st.sampled_from([[parent[key]], {"x": parent[key]}]))
    else:
        depth = draw(st.integers(10, 5000))
        parent[key] = json.loads("[" * depth + "1" + "]" * depth) if depth < 900 else None
        if depth >= 900:
            # Too deep for the standard library to build; inserted as text below.
            parent[key] = _DeepNest(depth)
    return doc


@dataclass(frozen=True)
class _DeepNest:
    depth: int


def _dump_json(doc: Any, *, indent: int | None, ascii_only: bool) -> str:
    marker = "\x00DEEP{}\x00"
    deep: list[int] = []

    def default(o: Any) -> Any:
        if isinstance(o, _DeepNest):
            deep.append(o.depth)
            return marker.format(len(deep) - 1)
        raise TypeError(type(o).__name__)

    text = json.dumps(doc, indent=indent, ensure_ascii=ascii_only, default=default)
    for i, depth in enumerate(deep):
        quoted = json.dumps(marker.format(i), ensure_ascii=ascii_only)
        text = text.replace(quoted, "[" * depth + "1" + "]" * depth)
    return text


_PARQUET_TYPES: Final = [
    "int64",
    "float64",
    "bool",
    "binary",
    "list_string",
    "list_int",
    "timestamp",
    "dictionary",
    "struct",
    "null",
    "large_string",
    "date",
]


def _random_array(draw: st.DrawFn, kind: str, n: int) -> pa.Array:
    int64 = st.integers(-(2**63), 2**63 - 1)
    maybe: Callable[[Any], Any] = lambda s: st.none() | s  # noqa: E731
    if kind == "int64":
        return pa.array(draw(st.lists(maybe(int64), min_size=n, max_size=n)), pa.int64())
    if kind == "float64":
        return pa.array(draw(st.lists(maybe(st.floats()), min_size=n, max_size=n)), pa.float64())
    if kind == "bool":
        return pa.array(draw(st.lists(maybe(st.booleans()), min_size=n, max_size=n)), pa.bool_())
    if kind == "binary":
        values = draw(st.lists(maybe(st.binary(max_size=8)), min_size=n, max_size=n))
        return pa.array(values, pa.binary())
    if kind == "list_string":
        values = draw(
            st.lists(maybe(st.lists(maybe(cell_text), max_size=3)), min_size=n, max_size=n)
        )
        return pa.array(values, pa.list_(pa.string()))
    if kind == "list_int":
        values = draw(st.lists(maybe(st.lists(maybe(int64), max_size=3)), min_size=n, max_size=n))
        return pa.array(values, pa.list_(pa.int64()))
    if kind == "timestamp":
        values = draw(st.lists(maybe(int64), min_size=n, max_size=n))
        unit = draw(st.sampled_from(["s", "ms", "us", "ns"]))
        if unit == "s":  # Parquet stores seconds as milliseconds: keep them in range
            values = [None if v is None else v // 1000 for v in values]
        tz = draw(st.sampled_from([None, "UTC", "Asia/Tehran"]))
        return pa.array(values, pa.int64()).cast(pa.timestamp(unit, tz=tz))
    if kind == "dictionary":
        values = draw(st.lists(maybe(cell_text), min_size=n, max_size=n))
        return pa.array(values, pa.string()).dictionary_encode()
    if kind == "struct":
        values = draw(
            st.lists(maybe(st.fixed_dictionaries({"a": maybe(int64)})), min_size=n, max_size=n)
        )
        return pa.array(values, pa.struct([("a", pa.int64())]))
    if kind == "null":
        return pa.nulls(n)
    if kind == "large_string":
        values = draw(st.lists(maybe(cell_text), min_size=n, max_size=n))
        return pa.array(values, pa.large_string())
    values = draw(st.lists(maybe(st.integers(-(2**31), 2**31 - 1)), min_size=n, max_size=n))
    return pa.array(values, pa.int32()).cast(pa.date32())


def _parquet_mutation(draw: st.DrawFn, table: pa.Table) -> pa.Table:
    names = table.column_names
    op = draw(st.sampled_from(["retype", "retype", "drop", "rename", "dup_rows", "empty"]))
    if op == "empty":
        return table.slice(0, 0)
    if op == "dup_rows" and table.num_rows:
        return pa.concat_tables([table, table.slice(draw(st.integers(0, table.num_rows - 1)))])
    if not names:
        return table
    j = draw(st.integers(0, len(names) - 1))
    if op == "drop":
        return table.remove_column(j)
    if op == "rename":
        new = draw(st.sampled_from([*names, "post_id", "timestamp", "kind", "x"]))
        return table.rename_columns([new if i == j else n for i, n in enumerate(names)])
    kind = draw(st.sampled_from(_PARQUET_TYPES))
    return table.set_column(j, names[j], _random_array(draw, kind, table.num_rows))


@dataclass(frozen=True)
class FuzzInput:
    """One mutated input: the seed it came from, its bytes, and how to read it."""

    seed: str
    data: bytes
    forced: bool  # pass --format (else detect from content)

    def __repr__(self) -> str:  # hypothesis prints this on failure
        return f"FuzzInput(seed={self.seed!r}, forced={self.forced}, data={self.data!r})"


@st.composite
def mutated(draw: st.DrawFn, seed_name: str) -> FuzzInput:
    """A mutated input of one seed: structural edits, then byte edits, maybe gzip."""
    seed = SEEDS[seed_name]
    data = seed.data
    structural = draw(st.integers(0, 3))
    if structural:
        if seed.kind == "csv":
            rows = list(csv.reader(io.StringIO(data.decode()), delimiter=seed.delimiter))
            for _ in range(structural):
                _csv_mutation(draw, rows)
            out = io.StringIO()
            ending = draw(st.sampled_from(["\n", "\r\n", "\r"]))
            writer = csv.writer(out, delimiter=seed.delimiter, lineterminator=ending)
            writer.writerows(rows)
            data = out.getvalue().encode("utf-8", "surrogatepass")
        elif seed.kind == "jsonl":
            docs = [json.loads(line) for line in data.decode().splitlines()]
            for _ in range(structural):
                i = draw(st.integers(0, len(docs) - 1))
                docs[i] = _json_mutation(draw, docs[i])
            ascii_only = draw(st.booleans())
            data = "".join(
                _dump_json(d, indent=None, ascii_only=ascii_only) + "\n" for d in docs
            ).encode("utf-8", "surrogatepass")
        elif seed.kind == "json":
            doc = json.loads(data)
            for _ in range(structural):
                doc = _json_mutation(draw, doc)
            text = _dump_json(doc, indent=1, ascii_only=draw(st.booleans()))
            data = text.encode("utf-8", "surrogatepass")
        else:
            table = pq.read_table(io.BytesIO(data))
            for _ in range(structural):
                table = _parquet_mutation(draw, table)
            sink = io.BytesIO()
            pq.write_table(table, sink, row_group_size=draw(st.sampled_from([1, 2, 1000])))
            data = sink.getvalue()
    for _ in range(draw(st.integers(0 if structural else 1, 3))):
        data = draw(byte_mutation(data))
    if draw(st.integers(0, 9)) == 0:
        data = gzip.compress(data, mtime=0)
    return FuzzInput(seed_name, data, draw(st.booleans()))


# -- the oracle ---------------------------------------------------------------------------------


class FuzzTimeoutError(Exception):
    """An ingest ran past its time limit (a hang, for the fuzz suite)."""


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise :class:`FuzzTimeoutError` after ``seconds``; kill the process at four times that.

    The alarm interrupts Python code; a hang inside native code (DuckDB, Arrow) cannot be
    interrupted, so faulthandler dumps every thread's stack and exits instead of hanging.
    """

    def on_alarm(signum: int, frame: object) -> None:
        raise FuzzTimeoutError(f"no result within {seconds} s")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    faulthandler.dump_traceback_later(seconds * 4, exit=True)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        faulthandler.cancel_dump_traceback_later()


@dataclass
class Outcome:
    """What one input did: the report of the skip run, or the errors of both runs."""

    report: IngestReport | None
    skip_error: CibscanError | None
    strict_error: CibscanError | None


def _assert_names_file(exc: CibscanError, path: Path) -> None:
    assert str(path) in str(exc), f"error does not name the file: {exc!r}"
    assert "\n" not in str(exc), f"an error message of several lines: {exc!r}"


def _table_counts(case: Case) -> dict[str, int]:
    return {
        t: case.count(t) for t in ("posts", "accounts", "infra", "memberships", "labels", "rejects")
    }


def _run(path: Path, fmt: str | None, on_error: str) -> tuple[Case, IngestReport | CibscanError]:
    case = open_case()
    config = IngestConfig(format=fmt, on_error=on_error, max_timestamp=MAX_TIMESTAMP)  # type: ignore[arg-type]
    try:
        return case, ingest([path], case, config)
    except CibscanError as exc:
        return case, exc


def check_input(path: Path, fmt: str | None) -> Outcome:
    """Ingest ``path`` in skip then strict mode and assert the contract of issue 8.

    Raises
    ------
    AssertionError
        When the row accounting does not add up or disagrees with the case, when strict and
        skip disagree, or when an error does not name the file (or the row at fault).
    Exception
        Any exception other than a :class:`CibscanError` escapes: that is a bug.
    """
    case, skip = _run(path, fmt, "skip")
    try:
        if isinstance(skip, CibscanError):
            _assert_names_file(skip, path)
            assert _table_counts(case) == dict.fromkeys(_table_counts(case), 0), "case changed"
            report = None
        else:
            report = skip
            _check_accounting(case, path, report)
            first_reject = case.con.execute(
                "SELECT min(row) FROM rejects WHERE file = ?", [str(path)]
            ).fetchone()
    finally:
        case.close()
    case, strict = _run(path, fmt, "strict")
    try:
        if isinstance(strict, CibscanError):
            _assert_names_file(strict, path)
            assert _table_counts(case) == dict.fromkeys(_table_counts(case), 0), "case changed"
            if report is not None:
                assert report.rejected > 0, f"strict failed where skip rejected nothing: {strict}"
                assert isinstance(strict, BadInputError) and strict.row is not None, (
                    f"a row was rejected but the strict error names no row: {strict!r}"
                )
                assert first_reject is not None and strict.row == first_reject[0], (
                    f"strict stopped at {strict.row}, the first reject is {first_reject}: {strict}"
                )
        else:
            assert report is not None, f"strict ingested what skip refused: {skip}"
            assert report.rejected == 0, "strict ingested a file that has bad rows"
            assert strict.as_dict()["files"] == report.as_dict()["files"], "strict != skip"
    finally:
        case.close()
    return Outcome(
        report,
        skip if isinstance(skip, CibscanError) else None,
        strict if isinstance(strict, CibscanError) else None,
    )


def _check_accounting(case: Case, path: Path, report: IngestReport) -> None:
    con = case.con
    name = str(path)
    for f in report.files:
        assert f.balanced, f"read != ingested + rejected + duplicates: {f}"
        assert min(f.read, f.ingested, f.rejected, f.duplicates) >= 0, f
        stored = con.execute(
            f'SELECT count(*) FROM "{f.table}" WHERE source = ?', [name]
        ).fetchone()
        assert stored is not None and stored[0] == f.ingested, (
            f"{f.table}: {stored} rows from the file in the case, the report says {f.ingested}"
        )
        rejects = con.execute(
            "SELECT count(*) FROM rejects WHERE file = ? AND table_name = ?", [name, f.table]
        ).fetchone()
        assert rejects is not None and rejects[0] == f.rejected, (f, rejects)
        source = con.execute(
            "SELECT rows_read, rows_ingested, rows_rejected, rows_duplicate FROM sources"
            " WHERE path = ? AND table_name = ?",
            [name, f.table],
        ).fetchall()
        assert source == [(f.read, f.ingested, f.rejected, f.duplicates)], (f, source)
    total = con.execute("SELECT count(*) FROM rejects WHERE file = ?", [name]).fetchone()
    assert total is not None and total[0] == report.rejected
    bad = con.execute("SELECT count(*) FROM rejects WHERE row IS NULL OR reason IS NULL").fetchone()
    assert bad == (0,), "a reject without a row or a reason"


def write_and_check(directory: Path, item: FuzzInput, timeout: float = 10.0) -> Outcome:
    """Write a fuzz input under ``directory`` and run the oracle on it within ``timeout``."""
    seed = SEEDS[item.seed]
    path = directory / seed.filename
    path.write_bytes(item.data)
    with time_limit(timeout):
        return check_input(path, seed.fmt if item.forced else None)
