"""Readers of peer-tool and platform formats: mapping, detection, compression, pinned errors.

Every fixture is a few hand-written records (``tests/data/formats/`` for the CSV layouts,
inline dicts for the JSON ones) whose canonical rows can be checked field by field.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
import pytest
import zstandard
from hypothesis import given, settings
from hypothesis import strategies as st

from cibscan import BadInputError, open_case
from cibscan.case import Case
from cibscan.config import IngestConfig
from cibscan.ingest import cnt as cnt_module
from cibscan.ingest import ingest
from cibscan.ingest import mastodon as mastodon_module
from cibscan.ingest import telegram as telegram_module
from cibscan.ingest.formats import detect_format
from cibscan.ingest.io_archive import parse_archive_list
from cibscan.ingest.source import sample_input
from cibscan.ingest.telegram import forward_item
from cibscan.networks import networks

DATA = Path(__file__).parent / "data" / "formats"
RUSSIAN = Path(__file__).parent / "data" / "coortweet" / "russian_coord_tweets.parquet"
UTC = dt.UTC

POST_FIELDS = (
    "post_id, account_id, timestamp, kind, text, shared_post_id, shared_account_id, "
    "reply_to_post_id, reply_to_account_id, urls, urls_original, hashtags, mentions, media, "
    "platform, lang, engagement"
)
ACCOUNT_FIELDS = (
    "account_id, kind, username, display_name, created_at, followers, description, location, "
    "profile_image, platform"
)


def posts(case: Case) -> dict[str, dict[str, Any]]:
    cur = case.con.execute(f"SELECT {POST_FIELDS} FROM posts ORDER BY post_id")
    names = [d[0] for d in cur.description]
    return {row[0]: dict(zip(names, row, strict=True)) for row in cur.fetchall()}


def accounts(case: Case) -> dict[str, dict[str, Any]]:
    cur = case.con.execute(f"SELECT {ACCOUNT_FIELDS} FROM accounts ORDER BY account_id")
    names = [d[0] for d in cur.description]
    return {row[0]: dict(zip(names, row, strict=True)) for row in cur.fetchall()}


def detected(path: Path) -> str:
    return detect_format(sample_input(path)).name


def lines(*objects: Any) -> str:
    return "".join(json.dumps(o) + "\n" for o in objects)


def strict_error(path: Path, **config: Any) -> str:
    with pytest.raises(BadInputError) as info:
        ingest([path], open_case(), IngestConfig(**config))
    return str(info.value)


# -- detection: every format from content, no generic file taken for a specific one ---------


def test_generic_files_stay_generic(write) -> None:  # type: ignore[no-untyped-def]
    csv_path = write("p.csv", "post_id,account_id,timestamp,text\n1,a,2024-01-01T10:00:00Z,hi\n")
    jsonl = write(
        "p.jsonl", '{"post_id": "1", "account_id": "a", "timestamp": "2024-01-01T10:00:00Z"}\n'
    )
    mapped = write("m.jsonl", '{"id": "1", "user": "a", "created_at": "2024-01-01"}\n')
    assert [detected(p) for p in (csv_path, jsonl, mapped)] == ["csv", "jsonl", "jsonl"]


# -- cnt-csv -------------------------------------------------------------------------------------


def test_cnt_csv_fields() -> None:
    path = DATA / "cnt.csv"
    assert detected(path) == "cnt-csv"
    case = open_case()
    report = ingest([path], case)
    assert report.summary() == "read 3 = ingested 3 + rejected 0 + duplicates 0"
    got = posts(case)
    assert got["m1"] == {
        "post_id": "m1",
        "account_id": "u1",
        "timestamp": dt.datetime(2024, 1, 1, 10, tzinfo=UTC),
        "kind": "post",
        "text": "Hello #World https://t.co/x",
        "shared_post_id": None,
        "shared_account_id": None,
        "reply_to_post_id": None,
        "reply_to_account_id": None,
        # the urls column only, as the toolkit does (not the t.co link of the text)
        "urls": ["https://a.example/x", "https://b.example/y"],
        "urls_original": ["https://a.example/x?utm_source=tw", "https://b.example/y"],
        "hashtags": ["world"],
        "mentions": [],
        "media": [],
        "platform": "twitter",
        "lang": None,
        "engagement": None,
    }
    assert got["m2"]["kind"] == "share" and got["m2"]["shared_post_id"] == "m1"
    assert got["m2"]["timestamp"] == dt.datetime(2024, 1, 1, 10, 0, 1, 500000, tzinfo=UTC)
    assert got["m2"]["urls_original"] == []  # an empty cell is no URL, not "extract from text"
    assert got["m3"]["kind"] == "reply" and got["m3"]["reply_to_post_id"] == "m1"
    assert got["m3"]["text"] == "thanks, @bob" and got["m3"]["mentions"] == ["bob"]
    assert {k: v["username"] for k, v in accounts(case).items()} == {"u1": "alice", "u2": "bob"}


def test_cnt_csv_any_header_with_format_and_platform(write) -> None:  # type: ignore[no-untyped-def]
    # The toolkit skips the header whatever it says; detection needs --format then.
    body = (DATA / "cnt.csv").read_text().split("\n", 1)[1]
    path = write("messages.csv", "a,b,c,d,e,f,g,h\n" + body)
    assert detected(path) == "csv"
    case = open_case()
    ingest([path], case, IngestConfig(format="cnt-csv", platform="mastodon"))
    assert case.con.execute("SELECT DISTINCT platform FROM posts").fetchall() == [("mastodon",)]
    assert case.count("posts") == 3


def test_cnt_csv_gzip(write) -> None:  # type: ignore[no-untyped-def]
    path = write("cnt.gz", gzip.compress((DATA / "cnt.csv").read_bytes()))
    assert detected(path) == "cnt-csv"
    assert ingest([path], open_case()).ingested == 3


def test_cnt_csv_bad_rows(write) -> None:  # type: ignore[no-untyped-def]
    header = (DATA / "cnt.csv").read_text().split("\n", 1)[0] + "\n"
    path = write("cnt.csv", header + "m1,u1,a,,,hi,1704103200,\nm2,u1,a,,,hi,soon,\n")
    assert strict_error(path) == (
        f"{path}, row 3, column 'timestamp', value 'soon': unparseable timestamp (expected "
        "ISO-8601, epoch seconds or milliseconds, or a day/month/year date)"
    )
    # read by position: the error names the file's header at that position ("id")
    empty = write("empty.csv", header + ",u1,a,,,hi,1704103200,\n")
    assert strict_error(empty) == f"{empty}, row 2, column 'id': empty id"
    # a repeated key with other content: the file's name of the key column ("id") again
    twice = write("twice.csv", header + "m1,u1,a,,,hi,1704103200,\nm1,u1,a,,,bye,1704103200,\n")
    assert strict_error(twice) == (
        f"{twice}, row 3, column 'id', value 'm1': duplicate id with different content than row 2"
    )
    ragged = write("ragged.csv", header + "m1,u1,a,,,hi,1704103200\n")
    assert strict_error(ragged) == (
        f"{ragged}, row 2, value 'm1,u1,a,,,hi,1704103200': expected 8 fields, found 7"
    )


# -- cnt-json (Twitter API v1.1) --------------------------------------------------------------

V1_USER = {
    "id_str": "11",
    "screen_name": "Alice",
    "name": "Alice A",
    "created_at": "Mon Jan 03 10:00:00 +0000 2011",
    "followers_count": 120,
    "description": "about me",
    "location": "Tirana",
    "profile_image_url_https": "https://img.example/a.jpg",
}
V1_ORIGINAL = {
    "created_at": "Mon Jan 01 10:00:00 +0000 2024",
    "id": 1,
    "id_str": "1",
    "full_text": "Vote #Now @Bob https://t.co/x",
    "user": V1_USER,
    "entities": {
        "hashtags": [{"text": "Now"}],
        "user_mentions": [{"screen_name": "Bob"}],
        "urls": [{"url": "https://t.co/x", "expanded_url": "https://news.example/a"}],
    },
    "extended_entities": {"media": [{"id_str": "m9"}]},
    "lang": "en",
    "retweet_count": 2,
    "favorite_count": 3,
}
V1_RETWEET = {
    "created_at": "Mon Jan 01 10:00:05 +0000 2024",
    "id_str": "2",
    "text": "RT @Alice: Vote #Now @Bob https://t.co/x",
    "user": {"id_str": "22", "screen_name": "bob"},
    "retweeted_status": V1_ORIGINAL,
    "entities": {"hashtags": [], "user_mentions": [{"screen_name": "Alice"}], "urls": []},
}
V1_QUOTE = {
    "created_at": "Mon Jan 01 10:01:00 +0000 2024",
    "id_str": "3",
    "text": "short",
    "extended_tweet": {"full_text": "look at this, a long text", "entities": {"hashtags": []}},
    "user": {"id_str": "33", "screen_name": "carol"},
    "quoted_status_id_str": "100",
    "quoted_status": {
        "created_at": "Sun Dec 31 09:00:00 +0000 2023",
        "id_str": "100",
        "text": "the quoted one",
        "user": {"id_str": "99", "screen_name": "dan"},
    },
    "in_reply_to_status_id_str": "1",
    "in_reply_to_user_id_str": "11",
}
V1_REPLY = {
    "created_at": "Mon Jan 01 10:02:00 +0000 2024",
    "id_str": "4",
    "text": "@Alice agreed #Now",
    "user": {"id_str": "22", "screen_name": "bob"},
    "in_reply_to_status_id_str": "1",
    "in_reply_to_user_id_str": "11",
}


def test_a_bad_count_of_a_repeated_profile_keeps_the_good_one(write, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # The author's profile comes with every tweet; the later tweet's follower count is no count.
    # The earlier, good one is kept, whether both tweets fall in one batch or in two.
    later = dict(V1_REPLY, id_str="5", user=dict(V1_USER, followers_count=-5, name="Alice B"))
    path = write("tweets.jsonl", lines(V1_ORIGINAL, later))
    collector = cnt_module.RowCollector
    for one_per_batch in (False, True):
        if one_per_batch:  # a batch per tweet: the load stage merges the two profiles
            monkeypatch.setattr(cnt_module, "RowCollector", lambda _n, **kw: collector(1, **kw))
        case = open_case()
        ingest([path], case)
        alice = accounts(case)["11"]
        assert (alice["followers"], alice["display_name"]) == (120, "Alice B"), one_per_batch


def test_cnt_json_v1_fields(write) -> None:  # type: ignore[no-untyped-def]
    path = write("tweets.jsonl", lines(V1_ORIGINAL, V1_RETWEET, V1_QUOTE, V1_REPLY))
    assert detected(path) == "cnt-json"
    case = open_case()
    report = ingest([path], case)
    # four lines, four posts; the quoted tweet 100 comes along as side information
    assert report.summary() == "read 4 = ingested 4 + rejected 0 + duplicates 0"
    got = posts(case)
    assert sorted(got) == ["1", "100", "2", "3", "4"]
    assert got["1"] == {
        "post_id": "1",
        "account_id": "11",
        "timestamp": dt.datetime(2024, 1, 1, 10, tzinfo=UTC),
        "kind": "post",
        "text": "Vote #Now @Bob https://t.co/x",
        "shared_post_id": None,
        "shared_account_id": None,
        "reply_to_post_id": None,
        "reply_to_account_id": None,
        "urls": ["https://news.example/a"],
        "urls_original": ["https://news.example/a"],
        "hashtags": ["now"],
        "mentions": ["bob"],
        "media": ["m9"],
        "platform": "twitter",
        "lang": "en",
        "engagement": 5,
    }
    share = got["2"]
    assert (share["kind"], share["shared_post_id"], share["shared_account_id"]) == (
        "share",
        "1",
        "11",
    )
    # a retweet takes the original's complete entities, not those of its truncated text
    assert share["hashtags"] == ["now"] and share["urls_original"] == ["https://news.example/a"]
    quote = got["3"]
    assert (quote["kind"], quote["shared_post_id"], quote["shared_account_id"]) == (
        "quote",
        "100",
        "99",
    )
    assert (quote["reply_to_post_id"], quote["reply_to_account_id"]) == ("1", "11")
    assert quote["text"] == "look at this, a long text"
    assert got["4"]["kind"] == "reply" and got["4"]["hashtags"] == ["now"]
    assert got["100"]["account_id"] == "99"
    alice = accounts(case)["11"]
    assert alice == {
        "account_id": "11",
        "kind": "user",
        "username": "Alice",
        "display_name": "Alice A",
        "created_at": dt.datetime(2011, 1, 3, 10, tzinfo=UTC),
        "followers": 120,
        "description": "about me",
        "location": "Tirana",
        "profile_image": "https://img.example/a.jpg",
        "platform": "twitter",
    }
    assert sorted(accounts(case)) == ["11", "22", "33", "99"]


def test_embedded_profile_is_the_latest_known_value_of_each_field(write) -> None:  # type: ignore[no-untyped-def]
    # Alice's profile rides along three tweets: the later ones lack (null) her location, the
    # last one has a cleared ("") description and more followers.
    user2 = {k: v for k, v in V1_USER.items() if k != "location"}
    user3 = dict(user2, description="", followers_count=150)
    tweets = [
        dict(V1_ORIGINAL, id_str=str(i), user=user)
        for i, user in ((1, V1_USER), (2, user2), (3, user3))
    ]
    case = open_case()
    ingest([write("tweets.jsonl", lines(*tweets))], case)
    got = accounts(case)["11"]
    assert (got["location"], got["description"], got["followers"]) == ("Tirana", "", 150)
    assert got["username"] == "Alice"
    # a later file: the profile it gives updates the one before by the same rule
    user4 = dict(user2, location=None, description="new", followers_count=200)
    later = write("later.jsonl", lines(dict(V1_ORIGINAL, id_str="4", user=user4)))
    ingest([later], case)
    got = accounts(case)["11"]
    assert (got["location"], got["description"], got["followers"]) == ("Tirana", "new", 200)
    source = case.con.execute("SELECT source FROM accounts WHERE account_id = '11'").fetchall()
    assert source == [(f"embedded:{later}",)]


def test_cnt_json_bad_lines(write) -> None:  # type: ignore[no-untyped-def]
    bad = dict(V1_REPLY, entities={"hashtags": "oops"})
    path = write("tweets.jsonl", lines(V1_ORIGINAL, bad))
    assert strict_error(path) == (
        f"{path}, line 2, column 'entities.hashtags', value 'oops': not a JSON array"
    )
    late = write("late.jsonl", lines(V1_ORIGINAL, dict(V1_REPLY, created_at="Tue Jan 01 2999")))
    assert strict_error(late) == (
        f"{late}, line 2, column 'timestamp', value 'Tue Jan 01 2999': unparseable timestamp "
        "(expected ISO-8601, epoch seconds or milliseconds, or a day/month/year date)"
    )
    case = open_case()
    skipped = ingest([path], case, IngestConfig(on_error="skip"))
    assert skipped.summary() == "read 2 = ingested 1 + rejected 1 + duplicates 0"


# -- twarc2 (Twitter API v2) -----------------------------------------------------------------

V2_USERS = [
    {
        "id": "a1",
        "username": "Alice",
        "name": "Alice A",
        "created_at": "2011-01-03T10:00:00.000Z",
        "public_metrics": {"followers_count": 120, "following_count": 5},
        "description": "about me",
        "location": "Tirana",
        "profile_image_url": "https://img.example/a.jpg",
    },
    {"id": "a2", "username": "bob", "name": "Bob"},
    {"id": "a3", "username": "carol", "name": "Carol"},
    {"id": "a9", "username": "dan", "name": "Dan"},
]
V2_ORIGINAL = {
    "id": "t1",
    "author_id": "a1",
    "created_at": "2024-01-01T10:00:00.000Z",
    "text": "Vote #Now @bob https://t.co/x",
    "lang": "en",
    "entities": {
        "hashtags": [{"start": 5, "end": 9, "tag": "Now"}],
        "mentions": [{"start": 10, "end": 14, "username": "bob", "id": "a2"}],
        "urls": [
            {
                "url": "https://t.co/x",
                "expanded_url": "https://bit.ly/x",
                "unwound_url": "https://news.example/a?utm_source=tw",
            }
        ],
    },
    "attachments": {"media_keys": ["3_1", "3_2"]},
    "public_metrics": {
        "retweet_count": 1,
        "reply_count": 2,
        "like_count": 3,
        "quote_count": 4,
        "impression_count": 1000,
    },
}
V2_RETWEET = {
    "id": "t2",
    "author_id": "a2",
    "created_at": "2024-01-01T10:00:05.000Z",
    "text": "RT @dan: the original",
    "referenced_tweets": [{"type": "retweeted", "id": "t9"}],
}
V2_QUOTE_REPLY = {
    "id": "t3",
    "author_id": "a3",
    "created_at": "2024-01-01T10:01:00.000Z",
    "text": "@Alice see this",
    "in_reply_to_user_id": "a1",
    "referenced_tweets": [{"type": "replied_to", "id": "t1"}, {"type": "quoted", "id": "t9"}],
}
V2_INCLUDED = {
    "id": "t9",
    "author_id": "a9",
    "created_at": "2023-12-31T09:00:00.000Z",
    "text": "the original",
}
V2_PAGE = {
    "data": [V2_ORIGINAL, V2_RETWEET, V2_QUOTE_REPLY],
    "includes": {"users": V2_USERS, "tweets": [V2_INCLUDED]},
    "meta": {"result_count": 3},
    "__twarc": {"url": "https://api.twitter.com/2/tweets/search/recent", "version": "2.14.0"},
}
V2_FLAT = {
    "id": "t4",
    "author_id": "a4",
    "created_at": "2024-01-01T10:02:00.000Z",
    "text": "long one",
    "note_tweet": {
        "text": "long one, the whole #Note",
        "entities": {"hashtags": [{"tag": "Note"}]},
    },
    "author": {"id": "a4", "username": "erin", "name": "Erin"},
    "referenced_tweets": [
        dict(V2_INCLUDED, type="quoted", author={"id": "a9", "username": "dan", "name": "Dan"})
    ],
    "__twarc": {"url": "https://api.twitter.com/2/tweets/search/recent"},
}


def test_twarc2_pages_and_flattened(write) -> None:  # type: ignore[no-untyped-def]
    errors = {"errors": [{"resource_id": "t5", "title": "Not Found Error"}]}
    path = write("tweets.jsonl", lines(V2_PAGE, V2_FLAT, errors))
    assert detected(path) == "twarc2"
    case = open_case()
    report = ingest([path], case)
    assert report.summary() == "read 4 = ingested 4 + rejected 0 + duplicates 0"
    got = posts(case)
    assert sorted(got) == ["t1", "t2", "t3", "t4", "t9"]
    assert got["t1"] == {
        "post_id": "t1",
        "account_id": "a1",
        "timestamp": dt.datetime(2024, 1, 1, 10, tzinfo=UTC),
        "kind": "post",
        "text": "Vote #Now @bob https://t.co/x",
        "shared_post_id": None,
        "shared_account_id": None,
        "reply_to_post_id": None,
        "reply_to_account_id": None,
        "urls": ["https://news.example/a"],
        "urls_original": ["https://news.example/a?utm_source=tw"],
        "hashtags": ["now"],
        "mentions": ["bob"],
        "media": ["3_1", "3_2"],
        "platform": "twitter",
        "lang": "en",
        "engagement": 10,  # retweets + replies + likes + quotes; impressions are no act
    }
    assert (got["t2"]["kind"], got["t2"]["shared_post_id"], got["t2"]["shared_account_id"]) == (
        "share",
        "t9",
        "a9",  # resolved through includes.tweets
    )
    t3 = got["t3"]
    assert (t3["kind"], t3["shared_post_id"], t3["reply_to_post_id"]) == ("quote", "t9", "t1")
    assert t3["reply_to_account_id"] == "a1"
    # no entities requested: left to extraction from the text
    assert t3["mentions"] == ["alice"] and t3["media"] == []
    t4 = got["t4"]
    assert (t4["text"], t4["hashtags"], t4["shared_account_id"]) == (
        "long one, the whole #Note",
        ["note"],
        "a9",
    )
    assert got["t9"]["text"] == "the original"
    users = accounts(case)
    assert sorted(users) == ["a1", "a2", "a3", "a4", "a9"]
    assert users["a1"] == {
        "account_id": "a1",
        "kind": "user",
        "username": "Alice",
        "display_name": "Alice A",
        "created_at": dt.datetime(2011, 1, 3, 10, tzinfo=UTC),
        "followers": 120,
        "description": "about me",
        "location": "Tirana",
        "profile_image": "https://img.example/a.jpg",
        "platform": "twitter",
    }
    rows = case.con.execute("SELECT count(*) FROM accounts WHERE source = ?", [f"embedded:{path}"])
    assert rows.fetchone() == (5,)


def test_twarc2_long_page_zstd_and_real_rows_win(write) -> None:  # type: ignore[no-untyped-def]
    # A page longer than the detection sample, and t9 both included and a row of the file.
    filler = [dict(V2_ORIGINAL, id=f"f{i}", text="x" * 900) for i in range(80)]
    page = dict(V2_PAGE, data=[*V2_PAGE["data"], *filler])
    real = {"data": [dict(V2_INCLUDED, text="the original, as collected")], "meta": {}}
    path = write("tweets.zst", zstandard.compress(lines(page, real).encode()))
    assert len(lines(page)) > 64 * 1024
    assert detected(path) == "twarc2"
    case = open_case()
    assert ingest([path], case).summary() == "read 84 = ingested 84 + rejected 0 + duplicates 0"
    assert posts(case)["t9"]["text"] == "the original, as collected"


def test_twarc2_bad_lines(write) -> None:  # type: ignore[no-untyped-def]
    path = write("tweets.jsonl", lines(V2_FLAT, {"data": "x", "includes": {}}))
    assert strict_error(path, format="twarc2") == (
        f"{path}, line 2, column 'data', value 'x': not a JSON array"
    )
    typo = write("typo.jsonl", lines(V2_FLAT, {"tweet": 1}))
    assert strict_error(typo, format="twarc2") == (
        f"{typo}, line 2, column 'data': neither a twarc2 response page nor a tweet"
    )
    metrics = dict(V2_ORIGINAL, public_metrics={"like_count": "3"})
    typed = write("typed.jsonl", lines({"data": [V2_RETWEET, metrics], "meta": {}}))
    assert strict_error(typed) == (
        f"{typed}, line 1, column 'public_metrics.like_count', value '3': not an integer"
    )
    late = write("late.jsonl", lines({"data": [V2_ORIGINAL, dict(V2_RETWEET, author_id="")]}))
    assert strict_error(late, format="twarc2") == (
        f"{late}, line 1, column 'account_id', value '': empty id"
    )


def test_side_rows_give_way_to_real_rows_of_later_files(write) -> None:  # type: ignore[no-untyped-def]
    # t9 and its author a9 are side information of the first file; the second file has them
    # as rows of their own, with other content: they replace the side rows, no conflict.
    first = write("first.jsonl", lines(V2_PAGE))
    second = write("second.jsonl", lines({"data": [dict(V2_INCLUDED, text="as collected")]}))
    users = write("accounts.csv", "account_id,username,followers\na9,dan,77\n")
    case = open_case()
    ingest([first], case)
    assert detected(second) == "twarc2"
    assert ingest([second, users], case).summary() == (
        "read 2 = ingested 2 + rejected 0 + duplicates 0"
    )
    row = case.con.execute("SELECT text, source FROM posts WHERE post_id = 't9'").fetchone()
    assert row == ("as collected", str(second))
    assert accounts(case)["a9"]["followers"] == 77
    # and a side row never replaces a real one
    ingest([write("again.jsonl", lines(dict(V2_PAGE, data=[V2_RETWEET])))], case)
    assert posts(case)["t9"]["text"] == "as collected"


def test_cnt_json_reads_v2_lines(write) -> None:  # type: ignore[no-untyped-def]
    path = write("v2.jsonl", lines(V2_PAGE))
    case = open_case()
    report = ingest([path], case, IngestConfig(format="cnt-json"))
    assert report.files[0].format == "cnt-json" and report.ingested == 3


# -- coortweet ---------------------------------------------------------------------------------

COORTWEET_CSV = (
    "object_id,account_id,content_id,timestamp_share,extra\n"
    "o1,a,c1,1623881091.5,x\n"
    "o1,b,c2,1623881095,y\n"
    "o2,b,c2,1623881095,z\n"
)


def test_coortweet_csv(write) -> None:  # type: ignore[no-untyped-def]
    path = write("shares.csv", COORTWEET_CSV)
    assert detected(path) == "coortweet"
    case = open_case()
    assert ingest([path], case).summary() == "read 3 = ingested 3 + rejected 0 + duplicates 0"
    got = posts(case)
    assert got["c1"] == {
        "post_id": "c1",
        "account_id": "a",
        "timestamp": dt.datetime(2021, 6, 16, 22, 4, 51, 500000, tzinfo=UTC),
        "kind": "share",
        "text": None,
        "shared_post_id": "o1",
        "shared_account_id": None,
        "reply_to_post_id": None,
        "reply_to_account_id": None,
        "urls": [],
        "urls_original": [],
        "hashtags": [],
        "mentions": [],
        "media": [],
        "platform": None,
        "lang": None,
        "engagement": None,
    }
    # the content's second object is a post of its own
    assert got["c2#o2"]["shared_post_id"] == "o2" and got["c2"]["shared_post_id"] == "o1"


def test_coortweet_parquet_gzip_csv_and_errors(write, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    table = pa_csv.read_csv(pa.py_buffer(COORTWEET_CSV.encode()))
    table = table.set_column(2, "content_id", table.column("content_id").dictionary_encode())
    pq.write_table(table, tmp_path / "shares.parquet")
    assert detected(tmp_path / "shares.parquet") == "coortweet"
    case = open_case()
    assert ingest([tmp_path / "shares.parquet"], case).ingested == 3
    gz = write("shares.csv.gz", gzip.compress(COORTWEET_CSV.encode()))
    assert ingest([gz], open_case()).ingested == 3
    future = table.set_column(3, "timestamp_share", pa.array([4_000_000_000] * 3, pa.int64()))
    pq.write_table(future, tmp_path / "future.parquet")
    assert strict_error(tmp_path / "future.parquet").startswith(
        f"{tmp_path / 'future.parquet'}, row 1, column 'timestamp_share', value '4000000000'"
    )
    bad = write("bad.csv", COORTWEET_CSV.replace("1623881095,y", "noon,y"))
    assert strict_error(bad) == (
        f"{bad}, row 3, column 'timestamp_share', value 'noon': unparseable timestamp (expected "
        "ISO-8601, epoch seconds or milliseconds, or a day/month/year date)"
    )
    lacking = write("lacking.csv", "object_id,account_id,content_id\no1,a,c1\n")
    assert strict_error(lacking, format="coortweet") == (
        f"{lacking}, column 'timestamp_share': missing column of a CooRTweet table (columns found: "
        "account_id, content_id, object_id); CooRTweet tables have object_id, account_id, "
        "content_id and timestamp_share"
    )


def test_coortweet_russian_sample(tmp_path: Path) -> None:
    source = pq.read_table(RUSSIAN).slice(0, 3000)
    pq.write_table(source, tmp_path / "russian.parquet")
    case = open_case()
    report = ingest([tmp_path / "russian.parquet"], case)
    assert report.summary() == "read 3000 = ingested 3000 + rejected 0 + duplicates 0"
    # every row is a share, with the same account, object and time as in the source
    case.con.register("source", source)
    differ = case.con.execute(
        """SELECT count(*) FROM (
             SELECT account_id, CAST(object_id AS VARCHAR), timestamp_share FROM source
             EXCEPT ALL
             SELECT account_id, shared_post_id, epoch(timestamp) FROM posts WHERE kind = 'share')"""
    ).fetchone()
    assert differ == (0,)
    assert case.count("posts") == 3000


# -- io-archive --------------------------------------------------------------------------------


def test_io_archive_fields() -> None:
    path = DATA / "io_archive.csv"
    assert detected(path) == "io-archive"
    case = open_case()
    assert ingest([path], case).summary() == "read 4 = ingested 4 + rejected 0 + duplicates 0"
    got = posts(case)
    assert got["101"] == {
        "post_id": "101",
        "account_id": "u1",
        "timestamp": dt.datetime(2019, 1, 1, 12, 34, tzinfo=UTC),
        "kind": "post",
        "text": "Vote #Iran #Tehran https://t.co/a @bb",
        "shared_post_id": None,
        "shared_account_id": None,
        "reply_to_post_id": None,
        "reply_to_account_id": None,
        "urls": ["https://a.example/x"],
        "urls_original": ["https://a.example/x?utm_source=t"],
        "hashtags": ["iran", "tehran"],
        "mentions": ["456"],  # the archive lists mentioned user ids
        "media": [],
        "platform": "twitter",
        "lang": "en",
        "engagement": 10,
    }
    assert (got["102"]["kind"], got["102"]["shared_post_id"], got["102"]["shared_account_id"]) == (
        "share",
        "101",
        "u1",
    )
    assert got["102"]["hashtags"] == [] and got["102"]["engagement"] == 0
    assert (got["103"]["kind"], got["103"]["shared_post_id"]) == ("quote", "99")
    assert (got["104"]["kind"], got["104"]["reply_to_post_id"]) == ("reply", "103")
    assert got["104"]["reply_to_account_id"] == "u2" and got["104"]["engagement"] is None
    users = accounts(case)
    assert users["u1"] == {
        "account_id": "u1",
        "kind": "user",
        "username": "anna_k",
        "display_name": "Anna K",
        "created_at": dt.datetime(2011, 4, 14, tzinfo=UTC),
        "followers": 1201,  # the latest row of the account
        "description": "News, daily",
        "location": "Tirana",
        "profile_image": None,
        "platform": "twitter",
    }
    assert users["u2"]["followers"] == 16
    # the posting app, once per account and app, as the account's infrastructure
    clients = case.con.execute(
        "SELECT account_id, user_agent, timestamp FROM infra ORDER BY account_id"
    ).fetchall()
    assert clients == [("u1", "Twitter Web Client", None), ("u2", "Twitter for Android", None)]


def test_io_archive_client_and_profile_of_a_rejected_row_are_not_kept(write) -> None:  # type: ignore[no-untyped-def]
    text = (DATA / "io_archive.csv").read_text()
    old = "@bb indeed,2019-01-01 12:40,Twitter Web Client,u2,103,,False,"
    assert old in text
    path = write("a.csv", text.replace(old, "@bb indeed,2019-01-01 12:40,OpsTool,u2,103,,maybe,"))
    case = open_case()
    assert ingest([path], case, IngestConfig(on_error="skip")).rejected == 1
    clients = case.con.execute("SELECT account_id, user_agent FROM infra ORDER BY 1").fetchall()
    assert clients == [("u1", "Twitter Web Client"), ("u2", "Twitter for Android")]
    # the profile on the rejected row (u1, 1201 followers) is not the account's latest either
    assert accounts(case)["u1"]["followers"] == 1200


def test_io_archive_lists() -> None:
    cells = ["[Iran, Tehran]", "['a', 'b']", '["x"]', "[]", None]
    assert parse_archive_list(pa.array(cells)).to_pylist() == [
        ["Iran", "Tehran"],
        ["a", "b"],
        ["x"],
        [""],  # dropped by the load stage, like every empty element
        None,
    ]


def test_io_archive_bad_cells(write) -> None:  # type: ignore[no-untyped-def]
    text = (DATA / "io_archive.csv").read_text()
    path = write("archive.csv", text.replace(",0,0,1,0,[]", ",0,0,many,0,[]"))
    assert strict_error(path) == (
        f"{path}, row 4, column 'like_count', value 'many': not an integer count"
    )
    flag = write("flag.csv", text.replace(",True,u1,", ",maybe,u1,"))
    assert (
        strict_error(flag)
        == f"{flag}, row 3, column 'is_retweet', value 'maybe': not true or false"
    )
    case = open_case()
    report = ingest([path], case, IngestConfig(on_error="skip"))
    assert report.summary() == "read 4 = ingested 3 + rejected 1 + duplicates 0"
    gz = write("archive.gz", gzip.compress(text.encode()))
    assert ingest([gz], open_case()).ingested == 4


def test_a_bad_field_of_side_information_empties_only_that_field(write) -> None:  # type: ignore[no-untyped-def]
    # The author's profile on every tweet is side information: a follower count that is no
    # number and a creation date that is no date must not take the handle and name with them.
    text = (DATA / "io_archive.csv").read_text()
    old = ",1200,30,2011-04-14,"
    assert text.count(old) == 1
    path = write("archive.csv", text.replace(old, ",many,30,soon,"))
    case = open_case()
    assert ingest([path], case).summary() == "read 4 = ingested 4 + rejected 0 + duplicates 0"
    u1 = accounts(case)["u1"]
    assert (u1["username"], u1["display_name"], u1["location"]) == ("anna_k", "Anna K", "Tirana")
    # the later tweet's profile gives both fields: the latest good value of each is kept
    assert (u1["followers"], u1["created_at"]) == (1201, dt.datetime(2011, 4, 14, tzinfo=UTC))
    alone = write(
        "alone.csv",
        text.split("\n")[0] + "\n" + text.split("\n")[1].replace(old, ",many,30,soon,") + "\n",
    )
    case = open_case()
    ingest([alone], case)
    u1 = accounts(case)["u1"]
    assert (u1["username"], u1["followers"], u1["created_at"]) == ("anna_k", None, None)


def test_io_archive_users_file_gives_every_account_of_the_release(write) -> None:  # type: ignore[no-untyped-def]
    users = DATA / "io_archive_users.csv"
    assert detected(users) == "io-archive"
    case = open_case()
    report = ingest([DATA / "io_archive.csv", users], case)
    assert report.summary() == "read 6 = ingested 6 + rejected 0 + duplicates 0"
    got = accounts(case)
    # u3 never tweeted: only the users file names it
    assert got["u3"] == {
        "account_id": "u3",
        "kind": "user",
        "username": "cc",
        "display_name": "C C",
        "created_at": dt.datetime(2019, 2, 1, tzinfo=UTC),
        "followers": 0,
        "description": None,
        "location": None,
        "profile_image": None,
        "platform": "twitter",
    }
    # the users file's row is the account's own row: it wins over the tweets' side information
    assert got["u1"]["followers"] == 1200 and got["u1"]["username"] == "anna_k"
    bad = write("users.csv", users.read_text().replace(",0,0,2019-02-01", ",many,0,2019-02-01"))
    assert (
        strict_error(bad) == f"{bad}, row 3, column 'follower_count', value 'many': not an integer"
    )


def _snowflake(when: dt.datetime, sequence: int = 0) -> str:
    """A tweet id created at ``when`` (Twitter's snowflake: milliseconds since its epoch)."""
    return str((round(when.timestamp() * 1000) - 1288834974657) << 22 | sequence)


def test_io_archive_times_cut_to_the_minute_are_taken_from_the_ids(write) -> None:  # type: ignore[no-untyped-def]
    # Two retweets of one tweet, 45.65 s apart within the minute the release gives both: to the
    # minute they are 0 s apart and co-act within a 10 s window; to the id's millisecond not.
    minute = dt.datetime(2019, 1, 1, 12, 34, tzinfo=UTC)
    first, second = minute + dt.timedelta(seconds=7.25), minute + dt.timedelta(seconds=52.9)
    late = minute + dt.timedelta(seconds=59.5)  # published as 12:37: outside its minute
    ids = [_snowflake(first), _snowflake(second), _snowflake(late), _snowflake(first, 1)]
    head = "tweetid,userid,tweet_time,is_retweet,retweet_userid,retweet_tweetid\n"
    path = write(
        "archive.csv",
        head
        + f"{ids[0]},u1,2019-01-01 12:34,True,u9,900\n"
        + f"{ids[1]},u2,2019-01-01 12:34,True,u9,900\n"
        + f"{ids[2]},u3,2019-01-01 12:37,True,u9,900\n"
        + f"{ids[3]},u4,2019-01-01 12:34:30,True,u9,901\n"  # given to the second: kept
        + "77,u5,2019-01-01 12:34,True,u9,901\n",  # no snowflake: kept
    )
    case = open_case()
    assert ingest([path], case).ingested == 5
    got = {k: v["timestamp"] for k, v in posts(case).items()}
    assert got == {
        ids[0]: first,
        ids[1]: second,
        ids[2]: dt.datetime(2019, 1, 1, 12, 37, tzinfo=UTC),
        ids[3]: dt.datetime(2019, 1, 1, 12, 34, 30, tzinfo=UTC),
        "77": minute,
    }
    edges = networks(case, ["share"], window=10, min_weight=1).edges.to_pylist()
    assert {(e["source"], e["target"]) for e in edges} == set()
    wide = networks(case, ["share"], window=60, min_weight=1).edges.to_pylist()
    assert {(e["source"], e["target"]) for e in wide} == {("u1", "u2"), ("u4", "u5")}


def test_io_archive_minutes_are_read_in_the_ingests_zone(write) -> None:  # type: ignore[no-untyped-def]
    # Under --tz Europe/Moscow (UTC+3) "15:34" is 12:34 UTC: the id's time is taken where it
    # falls in that minute, and a row without a snowflake is read in the same zone.
    first = dt.datetime(2019, 1, 1, 12, 34, 7, 250000, tzinfo=UTC)
    path = write(
        "archive.csv",
        "tweetid,userid,tweet_time\n"
        f"{_snowflake(first)},u1,2019-01-01 15:34\n"
        "77,u2,2019-01-01 15:34\n"
        f"{_snowflake(first, 1)},u3,2019-01-01 12:34\n",  # a UTC minute: not this one's
    )
    case = open_case()
    ingest([path], case, IngestConfig(tz="Europe/Moscow"))
    got = {v["account_id"]: v["timestamp"] for v in posts(case).values()}
    assert got == {
        "u1": first,
        "u2": dt.datetime(2019, 1, 1, 12, 34, tzinfo=UTC),
        "u3": dt.datetime(2019, 1, 1, 9, 34, tzinfo=UTC),
    }


# -- ira-tweets (FiveThirtyEight) ------------------------------------------------------------

IRA = DATA / "ira_tweets.csv"


def test_ira_tweets_fields() -> None:
    assert detected(IRA) == "ira-tweets"
    case = open_case()
    assert ingest([IRA], case).summary() == "read 6 = ingested 6 + rejected 0 + duplicates 0"
    got = posts(case)
    assert got["914580356429111872"] == {
        "post_id": "914580356429111872",
        "account_id": "TEN_GOP",  # the handle: external_author_id lost digits (9.06E+17)
        # the id's time, inside the published minute 10/1/2017 19:58
        "timestamp": dt.datetime(2017, 10, 1, 19, 58, 43, 711000, tzinfo=UTC),
        "kind": "post",
        "text": "Vote early, vote proud #MAGA https://t.co/aaaa https://t.co/bbbb",
        "shared_post_id": None,
        "shared_account_id": None,
        "reply_to_post_id": None,
        "reply_to_account_id": None,
        "urls": ["https://a.example/story", "https://b.example/x"],  # tco*_step1, not t.co
        "urls_original": ["https://a.example/story?utm_source=tw", "https://b.example/x"],
        "hashtags": ["maga"],
        "mentions": [],
        "media": [],
        "platform": "twitter",
        "lang": "en",
        "engagement": None,
    }
    # no tweet_id: the id of article_url, and its time
    retweet = got["918747685974966349"]
    assert (retweet["kind"], retweet["shared_post_id"], retweet["lang"]) == ("share", None, None)
    assert retweet["timestamp"] == dt.datetime(2017, 10, 13, 7, 58, 12, 500000, tzinfo=UTC)
    assert (retweet["hashtags"], retweet["urls"]) == (["buildthewall"], [])
    assert got["918747801737760914"]["lang"] == "ru"
    # an id that is no snowflake, and one whose time is a day off: the published minute
    assert (got["12345"]["kind"], got["12345"]["lang"]) == ("quote", "Klingon")
    assert got["12345"]["timestamp"] == dt.datetime(2017, 10, 13, 8, 5, tzinfo=UTC)
    late = got["919488012088246277"]["timestamp"]
    assert late == dt.datetime(2017, 10, 14, 9, 0, tzinfo=UTC)
    # nothing published: the id's time
    unpublished = got["919868318565793801"]["timestamp"]
    assert unpublished == dt.datetime(2017, 10, 16, 10, 11, 12, 130000, tzinfo=UTC)
    users = accounts(case)
    assert sorted(users) == ["Pamela_Moore13", "TEN_GOP"]
    assert users["Pamela_Moore13"] == {
        "account_id": "Pamela_Moore13",
        "kind": "user",
        "username": "Pamela_Moore13",
        "display_name": None,
        "created_at": None,
        "followers": 2003,  # the latest row of the account
        "description": None,
        "location": "United States",  # Social Studio's region
        "profile_image": None,
        "platform": "twitter",
    }
    # its latest row says "Unknown" (no value): the latest known region stays
    assert users["TEN_GOP"]["location"] == "United States"


def test_ira_tweets_retweets_of_one_tweet_co_act_on_its_text() -> None:
    case = open_case()
    ingest([IRA], case)
    edges = networks(case, ["text"], window=60, min_weight=1).edges.to_pylist()
    assert [(e["source"], e["target"], e["weight"]) for e in edges] == [
        ("Pamela_Moore13", "TEN_GOP", 1)
    ]
    assert edges[0]["min_gap"] == pytest.approx(27.6)


def test_ira_tweets_bad_rows_and_columns(write) -> None:  # type: ignore[no-untyped-def]
    text = IRA.read_text()
    bad_type = write("t.csv", text.replace(",QUOTE_TWEET,", ",LIKE,"))
    assert strict_error(bad_type) == (
        f"{bad_type}, row 5, column 'post_type', value 'LIKE': not RETWEET or QUOTE_TWEET"
    )
    bad_date = write("d.csv", text.replace("10/14/2017 9:00,", "yesterday,"))
    assert strict_error(bad_date) == (
        f"{bad_date}, row 6, column 'publish_date', value 'yesterday': not a date "
        "(month/day/year hh:mm)"
    )
    no_time = write("n.csv", text.replace(",919868318565793801,", ",,"))
    assert strict_error(no_time) == (f"{no_time}, row 7, column 'publish_date': missing timestamp")
    case = open_case()
    report = ingest([bad_type, bad_date], case, IngestConfig(on_error="skip"))
    assert report.summary() == "read 12 = ingested 6 + rejected 2 + duplicates 4"
    header, body = text.split("\n", 1)
    for name in ("tweet_id", "article_url"):
        header = header.replace(f",{name}", f",x_{name}")
    no_ids = write("i.csv", header + "\n" + body)
    assert detected(no_ids) == "ira-tweets"
    assert strict_error(no_ids) == (
        f"{no_ids}, column 'tweet_id': no tweet ids: the release's tweet_id or article_url "
        "column is needed (the first release of July 2018 had neither; use a later one)"
    )


#: NBC News's IRA tweets (tweets.csv and users.csv), read as generic CSV (docs/formats.md).
NBC_MAP = {
    "tweet_id": "post_id",
    "user_key": "account_id",
    "created_str": "timestamp",
    "retweeted_status_id": "shared_post_id",
    "in_reply_to_status_id": "reply_to_post_id",
    "expanded_urls": "urls_original",
    "screen_name": "account_id",
    "name": "display_name",
    "followers_count": "followers",
}


def test_nbc_tweets_and_users_by_the_documented_map() -> None:
    files = [DATA / "nbc_tweets.csv", DATA / "nbc_users.csv"]
    case = open_case()
    report = ingest(files, case, IngestConfig(column_map=NBC_MAP, platform="twitter"))
    assert [(f.format, f.table, f.ingested) for f in report.files] == [
        ("csv", "posts", 2),
        ("csv", "accounts", 1),
    ]
    got = posts(case)
    original, retweet = got["712320281486393344"], got["785606883838693376"]
    assert (original["account_id"], original["kind"], original["urls"]) == (
        "ryanmaxwell_1",
        "post",
        ["https://a.example/s"],
    )
    assert original["timestamp"] == dt.datetime(2016, 3, 22, 18, 51, 42, tzinfo=UTC)
    assert (retweet["kind"], retweet["shared_post_id"], retweet["mentions"]) == (
        "share",
        "712320281486393344",
        ["ryanmaxwell_1"],
    )
    assert (retweet["hashtags"], retweet["platform"]) == (["islamkills"], "twitter")
    user = accounts(case)["detroitdailynew"]
    assert (user["display_name"], user["followers"], user["location"]) == (
        "Detroit Daily News",
        5000,
        "Detroit",
    )
    assert user["created_at"] == dt.datetime(2013, 8, 14, 21, 26, 11, tzinfo=UTC)


# -- crowdtangle -------------------------------------------------------------------------------

CT_PAGES = DATA / "crowdtangle_pages.csv"
#: The header of a minimal Facebook export, and a row of it with the time and count given.
CT_HEADER = "Page Name,User Name,Facebook Id,Post Created,Total Interactions,URL,Message\n"


def ct_rows(*cells: tuple[str, ...]) -> str:
    """A minimal Facebook export: one post per (time, total interactions[, Page id])."""
    lines = [CT_HEADER]
    for i, (when, total, *page) in enumerate(cells):
        page_id = page[0] if page else "1"
        lines.append(f'P{page_id},p,{page_id},{when},"{total}",https://fb.example/{i},hi\n')
    return "".join(lines)


def test_crowdtangle_pages_fields() -> None:
    assert detected(CT_PAGES) == "crowdtangle"
    case = open_case()
    assert ingest([CT_PAGES], case).summary() == "read 4 = ingested 4 + rejected 0 + duplicates 0"
    got = posts(case)
    first = got["https://www.facebook.com/freevoice/posts/11"]
    assert first == {
        "post_id": "https://www.facebook.com/freevoice/posts/11",
        "account_id": "1001",
        "timestamp": dt.datetime(2021, 3, 1, 17, 34, 56, tzinfo=UTC),  # 12:34:56 EST
        "kind": "post",
        "text": "Read this #Truth https://news.example/a?utm_source=fb and https://other.example/b.",
        "shared_post_id": None,
        "shared_account_id": None,
        "reply_to_post_id": None,
        "reply_to_account_id": None,
        # the attached link, then the message's other URLs
        "urls": ["https://news.example/a", "https://other.example/b"],
        "urls_original": ["https://news.example/a?utm_source=fb", "https://other.example/b"],
        "hashtags": ["truth"],
        "mentions": [],
        "media": [],
        "platform": "facebook",
        "lang": None,
        "engagement": 1234,  # "1,234"
    }
    status = got["https://www.facebook.com/freevoice/posts/12"]
    assert status["timestamp"] == dt.datetime(2021, 7, 1, 13, tzinfo=UTC)  # 09:00 EDT
    assert (status["urls"], status["mentions"], status["engagement"]) == ([], ["friend"], 7)
    other = got["https://www.facebook.com/patriots/posts/21"]
    assert other["timestamp"] == dt.datetime(2021, 7, 1, 13, tzinfo=UTC)  # 15:00 CEST
    assert other["urls_original"][0] == "https://news.example/a"  # Final Link before Link
    video = got["https://www.facebook.com/freevoice/videos/99"]
    assert video["timestamp"] == dt.datetime(2021, 7, 1, 13, tzinfo=UTC)  # 16:00 +03
    assert video["text"] is None
    pages = accounts(case)
    assert pages["1001"] == {
        "account_id": "1001",
        "kind": "page",
        "username": "freevoice",
        "display_name": "Free Voice",
        "created_at": dt.datetime(2015, 6, 1, 14, tzinfo=UTC),  # 10:00 EDT
        "followers": 1600,  # the latest row of the Page, "1,600"
        "description": "Daily news",
        "location": "AL",
        "profile_image": None,
        "platform": "facebook",
    }
    assert (pages["1002"]["kind"], pages["1002"]["followers"]) == ("page", 350)


def test_crowdtangle_groups_and_instagram() -> None:
    case = open_case()
    report = ingest([DATA / "crowdtangle_groups.csv", DATA / "crowdtangle_instagram.csv"], case)
    assert [f.format for f in report.files] == ["crowdtangle", "crowdtangle"]
    assert report.summary() == "read 4 = ingested 4 + rejected 0 + duplicates 0"
    got = posts(case)
    group_post = got["https://www.facebook.com/groups/2001/permalink/31/"]
    assert (group_post["account_id"], group_post["timestamp"]) == (
        "2001",
        dt.datetime(2021, 5, 5, 8, tzinfo=UTC),
    )
    assert group_post["urls"] == ["https://cause.example/join"]
    photo = got["https://www.instagram.com/p/AAA/"]
    assert (photo["account_id"], photo["platform"], photo["text"]) == (
        "anna.k",
        "instagram",
        "Sunset #Tirana @bob",  # the caption
    )
    assert photo["timestamp"] == dt.datetime(2021, 3, 1, 11, tzinfo=UTC)  # 12:00 CET
    assert (photo["hashtags"], photo["mentions"], photo["engagement"]) == (
        ["tirana"],
        ["bob"],
        1120,
    )
    assert photo["urls"] == []  # the post's own link is not a shared URL
    video = got["https://www.instagram.com/p/BBB/"]
    assert (video["text"], video["engagement"]) == ("My video", 5)  # the title; likes only
    found = accounts(case)
    assert (found["2001"]["kind"], found["2001"]["display_name"], found["2001"]["followers"]) == (
        "group",
        "Friends of the Cause",
        4400,  # no follower count: the likes (members) at posting
    )
    assert found["anna.k"] == {
        "account_id": "anna.k",
        "kind": "user",
        "username": "anna.k",
        "display_name": "Anna K",
        "created_at": None,
        "followers": 12100,
        "description": None,
        "location": None,
        "profile_image": None,
        "platform": "instagram",
    }


def test_crowdtangle_time_zones(write) -> None:  # type: ignore[no-untyped-def]
    ist = write("ist.csv", ct_rows(("2021-03-01 12:00:00 IST", "1")))
    assert strict_error(ist) == (
        f"{ist}, row 2, column 'Post Created', value '2021-03-01 12:00:00 IST': the time-zone "
        "abbreviation 'IST' stands for several offsets (+01:00, +02:00, +05:30); pass --tz with "
        "the dashboard's time zone (an IANA name such as 'Asia/Kolkata')"
    )
    for zone, hour, minute in (("Asia/Kolkata", 6, 30), ("Europe/Dublin", 11, 0)):
        case = open_case()
        ingest([ist], case, IngestConfig(tz=zone))
        assert next(iter(posts(case).values()))["timestamp"] == dt.datetime(
            2021, 3, 1, hour, minute, tzinfo=UTC
        )
    unknown = write("xyz.csv", ct_rows(("2021-03-01 12:00:00 XYZ", "1")))
    assert "unknown time-zone abbreviation 'XYZ'; pass --tz" in strict_error(unknown)
    # MSK was +04:00 from 2011 to 2014 and +03:00 since: resolved row by row in Europe/Moscow.
    msk = write(
        "msk.csv",
        ct_rows(
            ("2012-06-01 12:00:00 MSK", "1"),
            ("2020-06-01 12:00 MSK", "2"),
            ("2020-06-01 12:00", "3"),
        ),
    )
    assert "stands for several offsets (+03:00, +04:00)" in strict_error(msk)
    case = open_case()
    ingest([msk], case, IngestConfig(tz="Europe/Moscow"))
    assert sorted(p["timestamp"] for p in posts(case).values()) == [
        dt.datetime(2012, 6, 1, 8, tzinfo=UTC),
        dt.datetime(2020, 6, 1, 9, tzinfo=UTC),
        dt.datetime(2020, 6, 1, 9, tzinfo=UTC),  # no abbreviation: read in --tz
    ]
    # An abbreviation that --tz does not use is read from the database when it has one offset.
    est = write("est.csv", ct_rows(("2021-03-01 12:00:00 EST", "1")))
    case = open_case()
    ingest([est], case, IngestConfig(tz="Europe/Moscow"))
    assert next(iter(posts(case).values()))["timestamp"] == dt.datetime(2021, 3, 1, 17, tzinfo=UTC)


def test_crowdtangle_bad_rows_are_rejected_with_the_export_column(write) -> None:  # type: ignore[no-untyped-def]
    path = write(
        "bad.csv",
        ct_rows(
            ("2021-03-01 12:00:00 EST", "1,000"),
            ("2021-03-01 12:00:00 EST", "many", "2"),
            ("2021-03-01 12:00:00 IST", "3", "3"),
            ("2021-03-01 13:00:00 EST", "4"),
        ),
    )
    assert strict_error(path) == (
        f"{path}, row 3, column 'Total Interactions', value 'many': not an integer count"
    )
    case = open_case()
    report = ingest([path], case, IngestConfig(on_error="skip"))
    assert report.summary() == "read 4 = ingested 2 + rejected 2 + duplicates 0"
    rejects = case.con.execute('SELECT "row", "column" FROM rejects ORDER BY "row"').fetchall()
    assert rejects == [(3, "Total Interactions"), (4, "Post Created")]
    assert sorted(p["engagement"] for p in posts(case).values()) == [4, 1000]
    # The Pages of rejected rows are not taken from them: only ingested rows describe a Page.
    assert list(accounts(case)) == ["1"]


def test_crowdtangle_pages_co_link_across_the_change_to_summer_time(write) -> None:  # type: ignore[no-untyped-def]
    # New York's clocks went from 01:59:59 EST to 03:00:00 EDT: the wall clocks are an hour and
    # 40 s apart, the posts 40 s. Read with their abbreviations, the Pages co-link in 60 s.
    path = write(
        "dst.csv",
        CT_HEADER.replace("Message", "Link")
        + "A,a,1,2021-03-14 01:59:30 EST,1,https://fb.example/1,https://n.example/x\n"
        + "B,b,2,2021-03-14 03:00:10 EDT,1,https://fb.example/2,https://n.example/x\n"
        + "C,c,3,2021-03-14 03:02:00 EDT,1,https://fb.example/3,https://n.example/x\n",
    )
    case = open_case()
    ingest([path], case)
    edges = networks(case, ["link"], window=60, min_weight=1).edges.to_pylist()
    assert [(e["source"], e["target"], e["weight"], e["min_gap"]) for e in edges] == [
        ("1", "2", 1, 40.0)
    ]


def test_crowdtangle_attached_link_and_the_message_urls(write) -> None:  # type: ignore[no-untyped-def]
    # The attached link comes first, once; a blank one leaves the message's URLs as they are.
    head = CT_HEADER.replace("Message", "Message,Link")
    path = write(
        "links.csv",
        head
        + 'A,a,1,2021-03-01 10:00:00 EST,1,https://fb.example/1,"https://n.example/x, '
        + 'https://m.example/y; https://n.example/x",https://n.example/x\n'
        + "A,a,1,2021-03-01 10:01:00 EST,1,https://fb.example/2,no link here,https://n.example/z\n"
        + "A,a,1,2021-03-01 10:02:00 EST,1,https://fb.example/3,see https://m.example/y!,  \n",
    )
    case = open_case()
    ingest([path], case)
    got = {k: v["urls_original"] for k, v in posts(case).items()}
    assert got == {
        "https://fb.example/1": ["https://n.example/x", "https://m.example/y"],
        "https://fb.example/2": ["https://n.example/z"],
        "https://fb.example/3": ["https://m.example/y"],
    }


def test_crowdtangle_detection(write) -> None:  # type: ignore[no-untyped-def]
    bom = write("bom.csv", b"\xef\xbb\xbf" + CT_PAGES.read_bytes())
    assert detected(bom) == "crowdtangle"
    assert ingest([bom], open_case()).ingested == 4
    old = write("old.csv", CT_PAGES.read_text().replace("Post Created,", "Created,", 1))
    assert detected(old) == "crowdtangle"  # the column's name before 2021
    assert ingest([old], open_case()).ingested == 4
    generic = write("g.csv", "post_id,account_id,timestamp,URL\n1,a,2024-01-01T10:00:00Z,x\n")
    assert detected(generic) == "csv"
    missing = write("m.csv", CT_HEADER.replace("URL,", "Link,") + "P,p,1,2021-03-01 12:00,1,x,hi\n")
    assert detected(missing) == "csv"
    assert strict_error(missing, format="crowdtangle").endswith(
        "column 'URL': missing column of a CrowdTangle export (columns found: Facebook Id, Link, "
        "Message, Page Name, Post Created, Total Interactions, User Name)"
    )


# -- telegram ----------------------------------------------------------------------------------


def telegram_chat(chat_id: int = 777, chat_type: str = "public_channel") -> dict[str, Any]:
    return {
        "name": "Chan",
        "type": chat_type,
        "id": chat_id,
        "messages": [
            {
                "id": 1,
                "type": "service",
                "date": "2024-01-01T09:00:00",
                "actor": "Chan",
                "action": "create_channel",
                "text": "",
            },
            {
                "id": 2,
                "type": "message",
                "date": "2024-01-01T11:00:00",
                "date_unixtime": "1704103200",
                "from": "Chan",
                "from_id": f"channel{chat_id}",
                "photo": "photos/photo_2@01-01-2024_11-00-00.jpg",
                "text": [
                    "Vote ",
                    {"type": "hashtag", "text": "#Now"},
                    " ",
                    {"type": "text_link", "text": "here", "href": "https://news.example/a"},
                    " ",
                    {"type": "mention", "text": "@other"},
                ],
                "text_entities": [
                    {"type": "plain", "text": "Vote "},
                    {"type": "hashtag", "text": "#Now"},
                    {"type": "plain", "text": " "},
                    {"type": "text_link", "text": "here", "href": "https://news.example/a"},
                    {"type": "plain", "text": " "},
                    {"type": "mention", "text": "@other"},
                ],
            },
            {
                "id": 3,
                "type": "message",
                "date_unixtime": "1704103260",
                "from": "Chan",
                "from_id": f"channel{chat_id}",
                "forwarded_from": "Other News",
                "forwarded_from_id": "channel888",
                "file": "(File not included. Change data exporting settings to download.)",
                "text": "Breaking",
                "text_entities": [{"type": "plain", "text": "Breaking"}],
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


@pytest.mark.parametrize(
    "fmt", ["twarc2", "cnt-json", "bluesky", "reddit", "youtube", "mastodon", "tiktok"]
)
def test_pretty_printed_json_is_not_taken_for_json_lines(write, fmt: str) -> None:  # type: ignore[no-untyped-def]
    # A format of JSON lines is told from its first line; a document written with an indent
    # has no such line, and detection must not read it as one (every line would be rejected).
    first = {
        "twarc2": V2_PAGE,
        "cnt-json": V1_ORIGINAL,
        "bluesky": JETSTREAM[0],
        "reddit": REDDIT[0],
        "youtube": YOUTUBE[3],
        "mastodon": TOOT,
        "tiktok": TIKTOK[0],
    }[fmt]
    assert detected(write("one.jsonl", lines(first))) == fmt
    assert detected(write("pretty.json", json.dumps(first, indent=2))) not in (
        "twarc2", "cnt-json", "bluesky", "reddit", "youtube", "mastodon", "tiktok"
    )  # fmt: skip


def test_telegram_chat_fields(write) -> None:  # type: ignore[no-untyped-def]
    path = write("result.json", json.dumps(telegram_chat(), indent=1, ensure_ascii=False))
    assert detected(path) == "telegram"
    case = open_case()
    report = ingest([path], case, IngestConfig(tz="Europe/Tirane"))
    # three messages; the service message (channel created) is no post
    assert report.summary() == "read 3 = ingested 3 + rejected 0 + duplicates 0"
    got = posts(case)
    assert got["777/2"] == {
        "post_id": "777/2",
        "account_id": "channel777",
        "timestamp": dt.datetime(2024, 1, 1, 10, tzinfo=UTC),  # date_unixtime, UTC
        "kind": "post",
        "text": "Vote #Now here @other",
        "shared_post_id": None,
        "shared_account_id": None,
        "reply_to_post_id": None,
        "reply_to_account_id": None,
        "urls": ["https://news.example/a"],
        "urls_original": ["https://news.example/a"],
        "hashtags": ["now"],
        "mentions": ["other"],
        "media": ["photos/photo_2@01-01-2024_11-00-00.jpg"],
        "platform": "telegram",
        "lang": None,
        "engagement": None,
    }
    forward = got["777/3"]
    assert (forward["kind"], forward["shared_account_id"]) == ("share", "channel888")
    assert forward["shared_post_id"] == forward_item("Other News", "channel888", "Breaking")
    assert forward["media"] == []  # a file the export did not include identifies nothing
    reply = got["777/4"]
    assert (reply["kind"], reply["reply_to_post_id"], reply["account_id"]) == (
        "reply",
        "777/2",
        "user5",
    )
    # no date_unixtime: the local time of the exporting computer, read in --tz
    assert reply["timestamp"] == dt.datetime(2024, 1, 1, 11, tzinfo=UTC)
    assert reply["urls_original"] == ["https://x.example/b"]  # extracted from the plain text
    assert {k: (v["kind"], v["display_name"]) for k, v in accounts(case).items()} == {
        "channel777": ("channel", "Chan"),
        "user5": ("user", "Zed"),
    }


def test_telegram_full_export_small_buffer_gzip(write, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    export = {
        "about": "Here is the data you requested.",
        "personal_information": {"user_id": 1, "first_name": "Me"},
        "contacts": {"about": "...", "list": [{"first_name": "X", "phone_number": "+1"}]},
        "chats": {
            "about": "...",
            "list": [telegram_chat(777), telegram_chat(42, "private_group")],
        },
        "left_chats": {"about": "...", "list": []},
    }
    text = json.dumps(export, indent=1, ensure_ascii=False)
    path = write("result.json.gz", gzip.compress(text.encode()))
    assert detected(path) == "telegram"
    # A buffer of a few bytes puts every value across reads: the walker must not care.
    monkeypatch.setattr(telegram_module, "_CHUNK", 5)
    case = open_case()
    assert ingest([path], case).summary() == "read 6 = ingested 6 + rejected 0 + duplicates 0"
    assert sorted(posts(case)) == ["42/2", "42/3", "42/4", "777/2", "777/3", "777/4"]
    kinds = {k: v["kind"] for k, v in accounts(case).items()}
    assert kinds["chat42"] == "group" and kinds["channel777"] == "channel"


def test_telegram_bad_input(write) -> None:  # type: ignore[no-untyped-def]
    chat = telegram_chat()
    chat["messages"][3]["text"] = 5
    path = write("result.json", json.dumps(chat, indent=1))
    assert strict_error(path) == f"{path}, line 85, column 'text', value '5': not a JSON array"
    assert json.dumps(chat, indent=1).split("\n")[84] == "  {"  # line 85 opens the message
    cut = json.dumps(telegram_chat(), indent=1)[:-40]
    truncated = write("cut.json", cut)
    message = strict_error(truncated)
    assert message.startswith(f"{truncated}, line ") and "invalid JSON" in message
    late_id = write("late.json", '{"name": "C", "type": "public_channel", "messages": [], "id": 1}')
    assert strict_error(late_id) == (
        f'{late_id}, line 1: the chat\'s "id" must come before its "messages" (as Telegram '
        "Desktop writes it)"
    )


# -- bluesky: Jetstream events and API post views -----------------------------------------------

ALICE, BOB, CAROL, DAVE = (f"did:plc:{n}" for n in ("alice", "bob", "carol", "dave"))
ALICE_POST = f"at://{ALICE}/app.bsky.feed.post/3kpost1"
IMAGE_CID = "bafkreiimage"


def _blob(cid: str) -> dict[str, Any]:
    return {"$type": "blob", "ref": {"$link": cid}, "mimeType": "image/jpeg", "size": 1000}


def _commit(
    did: str,
    collection: str,
    rkey: str,
    record: dict[str, Any] | None,
    operation: str = "create",
    time_us: int = 1_717_236_300_000_000,  # 2024-06-01 10:05 UTC, after every createdAt
) -> dict[str, Any]:
    commit: dict[str, Any] = {"rev": "3kr", "operation": operation, "collection": collection,
                              "rkey": rkey}  # fmt: skip
    if record is not None:
        commit |= {"record": {"$type": collection} | record, "cid": "bafyrecord"}
    return {"did": did, "time_us": time_us, "kind": "commit", "commit": commit}


def _facet(feature: str, **value: str) -> dict[str, Any]:
    return {"index": {"byteStart": 0, "byteEnd": 3},
            "features": [{"$type": f"app.bsky.richtext.facet#{feature}"} | value]}  # fmt: skip


JETSTREAM = [
    _commit(ALICE, "app.bsky.feed.post", "3kpost1", {
        "text": "Vote #Now @carol.bsky.social news.example/a #notafacet",
        "createdAt": "2024-06-01T10:00:00.000Z", "langs": ["sq", "en"],
        "facets": [_facet("tag", tag="Now"), _facet("mention", did=CAROL),
                   _facet("link", uri="https://news.example/a")],
        "tags": ["Extra"],
        "embed": {"$type": "app.bsky.embed.images",
                  "images": [{"alt": "", "image": _blob(IMAGE_CID)}]},
    }),
    _commit(BOB, "app.bsky.feed.repost", "3krepost", {
        "createdAt": "2024-06-01T10:00:20.000Z",
        "subject": {"uri": ALICE_POST, "cid": "bafyrecord"},
    }),
    _commit(CAROL, "app.bsky.feed.like", "3klike", {
        "createdAt": "2024-06-01T10:00:30.000Z",
        "subject": {"uri": ALICE_POST, "cid": "bafyrecord"},
    }),
    _commit(CAROL, "app.bsky.feed.post", "3kreply", {
        "text": "Agreed", "createdAt": "2024-06-01T10:01:00.000Z",
        "reply": {"root": {"uri": ALICE_POST, "cid": "x"},
                  "parent": {"uri": ALICE_POST, "cid": "x"}},
    }),
    _commit(DAVE, "app.bsky.feed.post", "3kquote", {
        "text": "Look", "createdAt": "2024-06-01T10:00:40.000Z",
        "reply": {"root": {"uri": ALICE_POST, "cid": "x"},
                  "parent": {"uri": ALICE_POST, "cid": "x"}},
        "embed": {"$type": "app.bsky.embed.recordWithMedia",
                  "record": {"$type": "app.bsky.embed.record",
                             "record": {"uri": ALICE_POST, "cid": "x"}},
                  "media": {"$type": "app.bsky.embed.images",
                            "images": [{"alt": "", "image": _blob(IMAGE_CID)}]}},
    }),
    {"did": ALICE, "time_us": 1_717_236_000_000_001, "kind": "identity",
     "identity": {"did": ALICE, "handle": "alice.bsky.social", "seq": 1}},
    _commit(BOB, "app.bsky.actor.profile", "self",
            {"displayName": "Bob B", "description": "news"}, operation="update"),
    _commit(CAROL, "app.bsky.feed.post", "3kgone", None, operation="delete"),
    {"did": DAVE, "time_us": 1_717_236_000_000_002, "kind": "account",
     "account": {"active": True, "did": DAVE, "seq": 2}},
    # no createdAt: the time Jetstream saw it (2024-06-01 10:02:00 UTC)
    _commit(DAVE, "app.bsky.feed.post", "3knotime", {"text": "x"}, time_us=1_717_236_120_000_000),
    # a quoted feed generator is no post
    _commit(DAVE, "app.bsky.feed.post", "3kfeed", {
        "text": "my feed", "createdAt": "2024-06-01T10:03:00Z",
        "embed": {"$type": "app.bsky.embed.record", "record": {
            "uri": f"at://{DAVE}/app.bsky.feed.generator/news", "cid": "y"}},
    }),
]  # fmt: skip


def test_bluesky_jetstream_fields(write) -> None:  # type: ignore[no-untyped-def]
    path = write("jetstream.jsonl", lines(*JETSTREAM))
    assert detected(path) == "bluesky"
    case = open_case()
    report = ingest([path], case)
    # posts, the repost and the reply; likes, deletions, identity, profile and account events
    # are not rows
    assert report.summary() == "read 6 = ingested 6 + rejected 0 + duplicates 0"
    got = posts(case)
    assert got[ALICE_POST] == {
        "post_id": ALICE_POST,
        "account_id": ALICE,
        "timestamp": dt.datetime(2024, 6, 1, 10, tzinfo=UTC),
        "kind": "post",
        "text": "Vote #Now @carol.bsky.social news.example/a #notafacet",
        "shared_post_id": None,
        "shared_account_id": None,
        "reply_to_post_id": None,
        "reply_to_account_id": None,
        "urls": ["https://news.example/a"],
        "urls_original": ["https://news.example/a"],
        "hashtags": ["now", "extra"],  # facets and tags only: #notafacet is plain text
        "mentions": [CAROL],
        "media": [IMAGE_CID],
        "platform": "bluesky",
        "lang": "sq",
        "engagement": None,
    }
    repost = got[f"at://{BOB}/app.bsky.feed.repost/3krepost"]
    assert (repost["kind"], repost["shared_post_id"], repost["shared_account_id"]) == (
        "share", ALICE_POST, ALICE
    )  # fmt: skip
    assert repost["text"] is None and repost["hashtags"] == []
    reply = got[f"at://{CAROL}/app.bsky.feed.post/3kreply"]
    assert (reply["kind"], reply["reply_to_post_id"], reply["reply_to_account_id"]) == (
        "reply", ALICE_POST, ALICE
    )  # fmt: skip
    quote = got[f"at://{DAVE}/app.bsky.feed.post/3kquote"]
    assert (quote["kind"], quote["shared_post_id"], quote["media"]) == (
        "quote", ALICE_POST, [IMAGE_CID]
    )  # fmt: skip
    # a quote that is also a reply is a quote, with its reply fields (as for tweets)
    assert (quote["shared_account_id"], quote["reply_to_post_id"]) == (ALICE, ALICE_POST)
    untimed = got[f"at://{DAVE}/app.bsky.feed.post/3knotime"]
    assert untimed["timestamp"] == dt.datetime(2024, 6, 1, 10, 2, tzinfo=UTC)
    feed = got[f"at://{DAVE}/app.bsky.feed.post/3kfeed"]
    assert (feed["kind"], feed["shared_post_id"]) == ("post", None)
    assert {k: (v["username"], v["display_name"], v["platform"])
            for k, v in accounts(case).items()} == {
        ALICE: ("alice.bsky.social", None, "bluesky"),
        BOB: (None, "Bob B", "bluesky"),
        CAROL: (None, None, "bluesky"),
        DAVE: (None, None, "bluesky"),
    }  # fmt: skip
    # The same image (one blob CID) ties its two posters on the media signal.
    edges = networks(case, ["media"], window=60, min_weight=1).edges.to_pylist()
    assert [(e["source"], e["target"], e["weight"]) for e in edges] == [(ALICE, DAVE, 1)]


def _post_view(
    did: str, handle: str, rkey: str, text: str, created: str, **extra: Any
) -> dict[str, Any]:
    return {
        "uri": f"at://{did}/app.bsky.feed.post/{rkey}", "cid": "bafy",
        "author": {"did": did, "handle": handle, "displayName": handle.split(".")[0].title(),
                   "avatar": f"https://cdn.example/{handle}.jpg",
                   "createdAt": "2023-05-01T00:00:00.000Z"},
        "record": {"$type": "app.bsky.feed.post", "text": text, "createdAt": created},
        "likeCount": 3, "repostCount": 2, "replyCount": 1, "quoteCount": 0,
        "indexedAt": created,
    } | extra  # fmt: skip


def test_bluesky_post_views_and_feed_reposts(write) -> None:  # type: ignore[no-untyped-def]
    alice = _post_view(ALICE, "alice.bsky.social", "3kpost1", "Hello", "2024-06-01T10:00:00Z")
    repost = {
        "post": alice,
        "reason": {"$type": "app.bsky.feed.defs#reasonRepost",
                   "by": {"did": BOB, "handle": "bob.bsky.social"},
                   "uri": f"at://{BOB}/app.bsky.feed.repost/3kr",
                   "indexedAt": "2024-06-01T10:00:30Z"},
    }  # fmt: skip
    old_repost = {
        "post": alice,
        "reason": {"$type": "app.bsky.feed.defs#reasonRepost",
                   "by": {"did": CAROL, "handle": "carol.bsky.social"},
                   "indexedAt": "2024-06-01T10:00:50Z"},
    }  # fmt: skip
    own = {"post": _post_view(DAVE, "dave.bsky.social", "3kd", "Mine", "2024-06-01T11:00:00Z")}
    path = write("feed.jsonl", lines(repost, old_repost, own))
    assert detected(path) == "bluesky"
    case = open_case()
    # three rows: two reposts and dave's post; alice's post is side information
    assert ingest([path], case).summary() == "read 3 = ingested 3 + rejected 0 + duplicates 0"
    got = posts(case)
    assert sorted(got) == [
        ALICE_POST,
        f"at://{BOB}/app.bsky.feed.repost/3kr",
        f"at://{CAROL}/app.bsky.feed.repost/of:{ALICE_POST}",
        f"at://{DAVE}/app.bsky.feed.post/3kd",
    ]
    assert got[ALICE_POST]["engagement"] == 6
    shares = {p["account_id"]: (p["timestamp"], p["shared_post_id"]) for p in got.values()
              if p["kind"] == "share"}  # fmt: skip
    assert shares == {
        BOB: (dt.datetime(2024, 6, 1, 10, 0, 30, tzinfo=UTC), ALICE_POST),
        CAROL: (dt.datetime(2024, 6, 1, 10, 0, 50, tzinfo=UTC), ALICE_POST),
    }
    profile = accounts(case)[ALICE]
    assert (profile["username"], profile["display_name"], profile["created_at"]) == (
        "alice.bsky.social", "Alice", dt.datetime(2023, 5, 1, tzinfo=UTC)
    )  # fmt: skip
    edges = networks(case, ["share"], window=60, min_weight=1).edges.to_pylist()
    assert [(e["source"], e["target"], e["weight"]) for e in edges] == [(BOB, CAROL, 1)]
    # A plain post view (searchPosts) is a row of its own.
    single = write("search.jsonl", lines(alice))
    case = open_case()
    assert ingest([single], case).summary() == "read 1 = ingested 1 + rejected 0 + duplicates 0"
    assert posts(case)[ALICE_POST]["text"] == "Hello"


def test_bluesky_bad_lines(write) -> None:  # type: ignore[no-untyped-def]
    bad_facets = _commit(ALICE, "app.bsky.feed.post", "3kb", {"text": "x", "facets": "tags"})
    path = write("bad.jsonl", lines(JETSTREAM[0], bad_facets))
    assert strict_error(path) == (
        f"{path}, line 2, column 'facets', value 'tags': not a JSON array"
    )
    # A page whose second post is malformed is rejected whole: its first post is not kept.
    good = _post_view(ALICE, "alice.bsky.social", "3kg", "fine", "2024-06-01T10:00:00Z")
    broken = _post_view(BOB, "bob.bsky.social", "3kx", "bad", "2024-06-01T10:00:00Z")
    broken["record"]["facets"] = "tags"
    case = open_case()
    page = write("page.jsonl", lines(JETSTREAM[0], {"posts": [good, broken]}))
    report = ingest([page], case, IngestConfig(on_error="skip"))
    assert report.summary() == "read 2 = ingested 1 + rejected 1 + duplicates 0"
    assert sorted(posts(case)) == [ALICE_POST]
    assert sorted(accounts(case)) == [ALICE]  # nor the page's authors
    stranger = write("stranger.jsonl", lines(JETSTREAM[0], {"uri": "at://x/y/z", "text": "?"}))
    assert strict_error(stranger) == (
        f"{stranger}, line 2, column 'uri', value 'at://x/y/z': neither a Jetstream event nor a"
        " Bluesky post view"
    )
    # A createdAt that is no time gives way to the time the network saw the record; without
    # one (a post view without indexedAt) the row is rejected.
    bad_time = _commit(ALICE, "app.bsky.feed.post", "3kt", {"text": "x", "createdAt": "soon"})
    no_server_time = _post_view(BOB, "bob.bsky.social", "3kv", "y", "soon")
    del no_server_time["indexedAt"]
    case = open_case()
    report = ingest([write("t.jsonl", lines(JETSTREAM[0], bad_time, no_server_time))], case,
                    IngestConfig(on_error="skip"))  # fmt: skip
    assert report.summary() == "read 3 = ingested 2 + rejected 1 + duplicates 0"
    assert case.con.execute('SELECT "row", "column", value FROM rejects').fetchall() == [
        (3, "timestamp", "soon")
    ]
    stamp = posts(case)[f"at://{ALICE}/app.bsky.feed.post/3kt"]["timestamp"]
    assert stamp == dt.datetime(2024, 6, 1, 10, 5, tzinfo=UTC)


def test_bluesky_time_is_the_earlier_of_created_and_seen(write) -> None:  # type: ignore[no-untyped-def]
    def post(did: str, rkey: str, created: str) -> dict[str, Any]:
        record = {"text": rkey, "createdAt": created}
        return _commit(did, "app.bsky.feed.post", rkey, record, time_us=1_717_236_300_000_000)

    future = post(ALICE, "3kf", "2030-01-01T00:00:00Z")  # seen at 10:05
    backdated = post(BOB, "3kb", "2020-01-01T00:00:00Z")
    naive = post(CAROL, "3kn", "2024-06-01T10:04:00")
    view = _post_view(DAVE, "dave.bsky.social", "3kd", "d", "2024-06-01T12:00:00Z")
    view["indexedAt"] = "2024-06-01T11:00:00.000Z"
    case = open_case()
    ingest([write("times.jsonl", lines(future, backdated, naive, view))], case)
    assert {p["account_id"]: p["timestamp"] for p in posts(case).values()} == {
        ALICE: dt.datetime(2024, 6, 1, 10, 5, tzinfo=UTC),  # a future createdAt is not believed
        BOB: dt.datetime(2020, 1, 1, tzinfo=UTC),  # a backdated one cannot be told (docs)
        CAROL: dt.datetime(2024, 6, 1, 10, 4, tzinfo=UTC),
        DAVE: dt.datetime(2024, 6, 1, 11, tzinfo=UTC),
    }


def test_bluesky_other_shapes_of_jetstream_and_api_pages(write) -> None:  # type: ignore[no-untyped-def]
    gallery = {
        "$type": "app.bsky.embed.gallery",
        "media": [{"image": _blob("bafkg1"), "alt": ""}, {"image": _blob("bafkg2"), "alt": ""}],
    }
    events = [
        # Jetstream's first releases: "type": "com", a commit "type": "c"
        {"did": ALICE, "time_us": 1_717_236_000_000_000, "type": "com",
         "commit": {"rev": "3k", "type": "c", "collection": "app.bsky.feed.post", "rkey": "3k1",
                    "record": {"$type": "app.bsky.feed.post", "text": "old",
                               "createdAt": "2024-06-01T09:59:00Z", "embed": gallery}}},
        {"did": ALICE, "time_us": 1_717_236_000_000_001, "type": "id",
         "identity": {"did": ALICE, "handle": "handle.invalid"}},
        # Jetstream v2: message frames with flat commits and an ISO time
        {"$type": "message", "payload": {
            "$type": "network.bsky.jetstream.subscribeEvents#commit", "seq": 7, "did": BOB,
            "time": "2024-06-01T10:00:10.000000Z", "operation": "create",
            "collection": "app.bsky.feed.repost", "rkey": "3kr", "rev": "3k", "cid": "bafy",
            "record": {"$type": "app.bsky.feed.repost", "createdAt": "2024-06-01T10:00:09Z",
                       "subject": {"uri": f"at://{ALICE}/app.bsky.feed.post/3k1", "cid": "x"}}}},
        {"$type": "message", "payload": {
            "$type": "network.bsky.jetstream.subscribeEvents#identity", "seq": 8, "did": BOB,
            "time": "2024-06-01T10:00:11Z", "handle": "bob.bsky.social"}},
        # a v2 archive event: the v1 shape with "seq" and "time"
        {"did": CAROL, "seq": 9, "time": "2024-06-01T10:00:20Z", "kind": "commit",
         "commit": {"operation": "create", "collection": "app.bsky.feed.post", "rkey": "3kc",
                    "record": {"$type": "app.bsky.feed.post", "text": "v2",
                               "createdAt": "2024-06-01T10:00:19Z"}}},
        # a v2 error frame, as a collector may have written it, is no event
        {"$type": "error", "error": "ConsumerTooSlow", "message": "slow down"},
        # a create without its record is nothing to read
        {"did": CAROL, "time_us": 1_717_236_030_000_000, "kind": "commit",
         "commit": {"operation": "create", "collection": "app.bsky.feed.post", "rkey": "3kz"}},
    ]  # fmt: skip
    path = write("mixed.jsonl", lines(*events))
    assert detected(path) == "bluesky"
    case = open_case()
    assert ingest([path], case).summary() == "read 3 = ingested 3 + rejected 0 + duplicates 0"
    got = posts(case)
    old = got[f"at://{ALICE}/app.bsky.feed.post/3k1"]
    assert (old["text"], old["media"]) == ("old", ["bafkg1", "bafkg2"])
    repost = got[f"at://{BOB}/app.bsky.feed.repost/3kr"]
    assert (repost["kind"], repost["timestamp"]) == (
        "share",
        dt.datetime(2024, 6, 1, 10, 0, 9, tzinfo=UTC),
    )
    assert got[f"at://{CAROL}/app.bsky.feed.post/3kc"]["timestamp"] == dt.datetime(
        2024, 6, 1, 10, 0, 19, tzinfo=UTC
    )
    names = {k: v["username"] for k, v in accounts(case).items()}
    assert names == {ALICE: None, BOB: "bob.bsky.social", CAROL: None}  # handle.invalid: none
    # Saved API pages: searchPosts' {"posts": [...]}, getAuthorFeed's {"feed": [...]}
    first = _post_view(ALICE, "alice.bsky.social", "3kp1", "one", "2024-06-01T10:00:00Z")
    second = _post_view(BOB, "bob.bsky.social", "3kp2", "two", "2024-06-01T10:01:00Z")
    reason = {"$type": "app.bsky.feed.defs#reasonRepost", "by": {"did": CAROL, "handle": "c.b"},
              "uri": f"at://{CAROL}/app.bsky.feed.repost/3kr",
              "indexedAt": "2024-06-01T10:02:00Z"}  # fmt: skip
    pages = [
        {"posts": [first, second], "cursor": "2"},
        {"feed": [{"post": second}, {"post": first, "reason": reason}]},
    ]
    for page in pages:
        assert detected(write("page.jsonl", lines(page))) == "bluesky"
    case = open_case()
    report = ingest([write("pages.jsonl", lines(*pages))], case)
    # four items; the feed's own post of bob and alice's reposted post repeat the first page's
    assert report.summary() == "read 4 = ingested 3 + rejected 0 + duplicates 1"
    assert sorted(posts(case)) == [
        f"at://{ALICE}/app.bsky.feed.post/3kp1",
        f"at://{BOB}/app.bsky.feed.post/3kp2",
        f"at://{CAROL}/app.bsky.feed.repost/3kr",
    ]


# -- reddit: Pushshift / Arctic Shift dumps and API things ----------------------------------------

REDDIT = [
    {"id": "a1", "author": "alice", "created_utc": 1704103200, "subreddit": "politics",
     "title": "Big news", "selftext": "", "is_self": False, "score": 10, "num_comments": 2,
     "url": "https://news.example/a?utm_source=reddit", "author_created_utc": 1600000000},
    {"id": "b1", "author": "bob", "created_utc": "1704103260", "subreddit": "politics",
     "title": "Hello", "selftext": "[removed]", "is_self": True, "score": 1,
     "num_comments": 0, "url": "https://www.reddit.com/r/politics/comments/b1/hello/"},
    {"id": "c1", "author": "carol", "created_utc": 1704103300.0, "subreddit": "politics",
     "body": "Agreed https://x.example/b", "link_id": "t3_a1", "parent_id": "t3_a1",
     "score": 3},
    {"id": "c2", "author": "[deleted]", "created_utc": 1704103310, "subreddit": "politics",
     "body": "[deleted]", "link_id": "t3_a1", "parent_id": "t1_c1", "score": 1},
    {"id": "c3", "author": "dave", "created_utc": 1704103320, "subreddit": "politics",
     "body": "[removed]", "link_id": "t3_a1", "parent_id": "t1_c1", "score": 0},
    {"id": "e1", "author": "erin", "created_utc": 1704103330, "subreddit": "news",
     "title": "Big news", "selftext": "", "is_self": False, "score": 5, "num_comments": 0,
     "url": "/r/politics/comments/a1/big_news/", "crosspost_parent": "t3_a1",
     "crosspost_parent_list": [{"id": "a1", "author": "alice"}]},
    {"kind": "t1", "data": {"id": "f1", "name": "t1_f1", "author": "frank",
                            "created_utc": 1704103340.0, "subreddit": "politics",
                            "body": "Same here", "link_id": "t3_a1", "parent_id": "t3_a1",
                            "score": 2}},
    {"kind": "Listing", "data": {"after": None, "children": [
        {"kind": "t3", "data": {"id": "g1", "author": "gina", "created_utc": 1704103350.0,
                                "subreddit": "news", "title": "Look",
                                "selftext": "see https://news.example/a", "is_self": True,
                                "url": "https://www.reddit.com/r/news/comments/g1/look/",
                                "score": 4, "num_comments": 1}},
        {"kind": "t1", "data": {"id": "h1", "author": "[deleted]", "created_utc": 1704103360,
                                "subreddit": "news", "body": "gone", "link_id": "t3_g1",
                                "parent_id": "t3_g1", "score": 1}},
    ]}},
]  # fmt: skip


def test_reddit_dump_things_and_listings(write) -> None:  # type: ignore[no-untyped-def]
    path = write("RS_2024-01.jsonl", lines(*REDDIT))
    assert detected(path) == "reddit"
    assert strict_error(path) == (
        f"{path}, line 4, column 'author', value '[deleted]': deleted author: the account or the"
        " post was deleted, no author to tie it to"
    )
    case = open_case()
    report = ingest([path], case, IngestConfig(on_error="skip"))
    # eight lines, nine submissions and comments (the listing has two); two deleted authors
    assert report.summary() == "read 9 = ingested 7 + rejected 2 + duplicates 0"
    assert case.con.execute('SELECT "row", "column", value FROM rejects').fetchall() == [
        (4, "author", "[deleted]"),
        (8, "author", "[deleted]"),
    ]
    got = posts(case)
    assert got["t3_a1"] == {
        "post_id": "t3_a1",
        "account_id": "alice",
        "timestamp": dt.datetime(2024, 1, 1, 10, tzinfo=UTC),
        "kind": "post",
        "text": "Big news",
        "shared_post_id": None,
        "shared_account_id": None,
        "reply_to_post_id": None,
        "reply_to_account_id": None,
        "urls": ["https://news.example/a"],
        "urls_original": ["https://news.example/a?utm_source=reddit"],
        "hashtags": [],
        "mentions": [],
        "media": [],
        "platform": "reddit",
        "lang": None,
        "engagement": 12,
    }
    # a self post's url is its own page; "[removed]" is no text
    assert (got["t3_b1"]["text"], got["t3_b1"]["urls"]) == ("Hello", [])
    assert got["t3_b1"]["timestamp"] == dt.datetime(2024, 1, 1, 10, 1, tzinfo=UTC)
    reply = got["t1_c1"]
    assert (reply["kind"], reply["reply_to_post_id"], reply["urls"], reply["engagement"]) == (
        "reply", "t3_a1", ["https://x.example/b"], 3
    )  # fmt: skip
    assert got["t1_c3"]["text"] is None and got["t1_c3"]["reply_to_post_id"] == "t1_c1"
    crosspost = got["t3_e1"]
    assert (crosspost["kind"], crosspost["shared_post_id"], crosspost["shared_account_id"]) == (
        "share", "t3_a1", "alice"
    )  # fmt: skip
    assert crosspost["urls"] == []
    assert got["t1_f1"]["account_id"] == "frank"
    assert got["t3_g1"]["urls"] == ["https://news.example/a"]
    assert sorted(got) == ["t1_c1", "t1_c3", "t1_f1", "t3_a1", "t3_b1", "t3_e1", "t3_g1"]
    assert accounts(case)["alice"]["created_at"] == dt.datetime(2020, 9, 13, 12, 26, 40,
                                                                tzinfo=UTC)  # fmt: skip
    # alice's link post and gina's self post share one link within 150 s
    edges = networks(case, ["link"], window=300, min_weight=1).edges.to_pylist()
    assert [(e["source"], e["target"], e["weight"]) for e in edges] == [("alice", "gina", 1)]


def test_reddit_placeholders_api_ids_nested_replies_and_markup(write) -> None:  # type: ignore[no-untyped-def]
    base = {"subreddit": "news", "score": 1, "link_id": "t3_a1"}
    comments = [
        base
        | {
            "id": "k1",
            "author": "kim",
            "created_utc": 1704103200,
            "parent_id": "t3_a1",
            "body": "[ Removed by Reddit ]",
        },
        # Pushshift's API of 2022-2023: a parent comment's id as a number, none for the top
        base
        | {
            "id": "k2",
            "author": "lee",
            "created_utc": 1704103210,
            "parent_id": 46656,
            "body": "Read [the report](https://news.example/r?a=1&amp;b=2)"
            " &amp; ask u/kim or /u/Lee_2",
        },
        base
        | {
            "id": "k3",
            "author": "max",
            "created_utc": 1704103220,
            "parent_id": None,
            "body": "top &lt;3",
        },
    ]
    tree = {"kind": "Listing", "data": {"children": [
        {"kind": "t1", "data": base | {
            "id": "n1", "author": "ned", "created_utc": 1704103230, "parent_id": "t3_a1",
            "body": "first", "replies": {"kind": "Listing", "data": {"children": [
                {"kind": "t1", "data": base | {"id": "n2", "author": "ola",
                                               "created_utc": 1704103240, "parent_id": "t1_n1",
                                               "body": "second", "replies": ""}},
                {"kind": "more", "data": {"count": 3, "children": ["n3", "n4", "n5"]}},
            ]}}}},
        {"kind": "more", "data": {"count": 9, "children": ["n6"]}},
    ]}}  # fmt: skip
    link = {"id": "s1", "author": "pia", "created_utc": 1704103250, "subreddit": "news",
            "title": "[deleted by user]", "selftext": "", "is_self": False,
            "url": "https://news.example/r?a=1&amp;b=2"}  # fmt: skip
    case = open_case()
    path = write("RC.jsonl", lines(*comments, tree, link))
    assert ingest([path], case).summary() == "read 6 = ingested 6 + rejected 0 + duplicates 0"
    got = posts(case)
    assert got["t1_k1"]["text"] is None  # a placeholder is no text
    lee = got["t1_k2"]
    assert lee["reply_to_post_id"] == "t1_1000"  # 46656 = 36**3
    assert lee["text"] == "Read the report https://news.example/r?a=1&b=2 & ask u/kim or /u/Lee_2"
    assert lee["urls"] == ["https://news.example/r?a=1&b=2"]
    assert lee["mentions"] == ["kim", "lee_2"]
    assert (got["t1_k3"]["reply_to_post_id"], got["t1_k3"]["text"]) == ("t3_a1", "top <3")
    assert got["t1_n2"]["reply_to_post_id"] == "t1_n1"  # a reply within the listing's tree
    assert (got["t3_s1"]["text"], got["t3_s1"]["urls"]) == (
        None,
        ["https://news.example/r?a=1&b=2"],
    )


def test_reddit_saved_comments_page(write) -> None:  # type: ignore[no-untyped-def]
    # https://www.reddit.com/r/news/comments/s2/.json: the submission's listing, the comments'
    submission = {
        "id": "s2",
        "author": "ann",
        "created_utc": 1704103200,
        "subreddit": "news",
        "title": "T",
        "selftext": "x" * 300_000,
        "is_self": True,
    }  # longer than a sample
    comment = {
        "id": "c9",
        "author": "ben",
        "created_utc": 1704103260,
        "subreddit": "news",
        "body": "B",
        "link_id": "t3_s2",
        "parent_id": "t3_s2",
        "replies": {
            "kind": "Listing",
            "data": {
                "children": [
                    {
                        "kind": "t1",
                        "data": {
                            "id": "c10",
                            "author": "cy",
                            "created_utc": 1704103270,
                            "subreddit": "news",
                            "body": "C",
                            "link_id": "t3_s2",
                            "parent_id": "t1_c9",
                            "replies": "",
                        },
                    }
                ]
            },
        },
    }
    page = [
        {"kind": "Listing", "data": {"children": [{"kind": "t3", "data": submission}]}},
        {"kind": "Listing", "data": {"children": [{"kind": "t1", "data": comment}]}},
    ]
    path = write("thread.json", json.dumps(page) + "\n")
    assert detected(path) == "reddit"
    case = open_case()
    assert ingest([path], case).summary() == "read 3 = ingested 3 + rejected 0 + duplicates 0"
    assert {k: v["reply_to_post_id"] for k, v in posts(case).items()} == {
        "t3_s2": None, "t1_c9": "t3_s2", "t1_c10": "t1_c9"
    }  # fmt: skip
    bad = write("bad.json", json.dumps([page[0], {"kind": "t1"}]) + "\n")
    assert strict_error(bad, format="reddit") == (
        f"{bad}, line 1, column '[1].kind', value 't1': not a Listing"
    )


def test_reddit_bad_lines(write) -> None:  # type: ignore[no-untyped-def]
    bad = dict(REDDIT[2], score="many")
    path = write("bad.jsonl", lines(REDDIT[0], bad))
    assert strict_error(path) == f"{path}, line 2, column 'score', value 'many': not an integer"
    listing = {"kind": "Listing", "data": {"children": [REDDIT[0] | {"id": "z"}, "t3_x"]}}
    path = write("listing.jsonl", lines(REDDIT[0], listing))
    assert strict_error(path) == (
        f"{path}, line 2, column 'data.children[1]', value 't3_x': not a JSON object"
    )


# -- youtube: YouTube Data API comment threads -----------------------------------------------


def _yt_comment(
    cid: str, channel: str, name: str, when: str, text: str, **extra: Any
) -> dict[str, Any]:
    snippet = {"authorDisplayName": name, "authorProfileImageUrl": f"https://yt3.example/{name}",
               "authorChannelUrl": f"http://www.youtube.com/{name}",
               "authorChannelId": {"value": channel}, "channelId": "UCvideoowner",
               "textDisplay": text, "textOriginal": text, "canRate": True,
               "viewerRating": "none", "likeCount": 2, "publishedAt": when,
               "updatedAt": when}  # fmt: skip
    return {"kind": "youtube#comment", "etag": "e", "id": cid, "snippet": snippet | extra}


def _yt_thread(
    cid: str, video: str, top: dict[str, Any], *replies: dict[str, Any]
) -> dict[str, Any]:
    thread: dict[str, Any] = {
        "kind": "youtube#commentThread", "etag": "e", "id": cid,
        "snippet": {"channelId": "UCvideoowner", "videoId": video, "topLevelComment": top,
                    "canReply": True, "totalReplyCount": len(replies), "isPublic": True},
    }  # fmt: skip
    if replies:
        thread["replies"] = {"comments": list(replies)}
    return thread


YOUTUBE = [
    _yt_thread("Ug1", "vid1",
               _yt_comment("Ug1", "UCa", "@ann", "2024-05-01T10:00:00Z", "Great #vote"),
               _yt_comment("Ug1.r1", "UCb", "@bob", "2024-05-01T10:05:00Z", "yes",
                           parentId="Ug1")),
    _yt_thread("Ug2", "vid1", _yt_comment("Ug2", "UCb", "@bob", "2024-05-01T10:00:30Z", "Same")),
    _yt_comment("Ug1.r2", "UCc", "@cy", "2024-05-01T10:06:00Z", "ok", parentId="Ug1"),
    {"kind": "youtube#commentThreadListResponse", "etag": "e", "nextPageToken": "x",
     "pageInfo": {"totalResults": 1, "resultsPerPage": 20},
     "items": [_yt_thread("Ug3", "vid2", _yt_comment(
         "Ug3", "UCd", "@dee", "2024-05-01T11:00:00Z", "",
         textDisplay='Read <a href="https://news.example/a">news.example/a</a><br/>&quot;now&quot;',
         textOriginal=None))]},
]  # fmt: skip


def test_youtube_comment_threads(write) -> None:  # type: ignore[no-untyped-def]
    path = write("comments.jsonl", lines(*YOUTUBE))
    assert detected(path) == "youtube"
    case = open_case()
    assert ingest([path], case).summary() == "read 5 = ingested 5 + rejected 0 + duplicates 0"
    got = posts(case)
    assert got["Ug1"] | {"timestamp": None} == {
        "post_id": "Ug1",
        "account_id": "UCa",
        "timestamp": None,
        "kind": "reply",
        "text": "Great #vote",
        "shared_post_id": None,
        "shared_account_id": None,
        "reply_to_post_id": "vid1",  # a top-level comment replies to its video
        "reply_to_account_id": None,
        "urls": [],
        "urls_original": [],
        "hashtags": ["vote"],
        "mentions": [],
        "media": [],
        "platform": "youtube",
        "lang": None,
        "engagement": 2,  # the comment's likes
    }
    assert got["Ug1"]["timestamp"] == dt.datetime(2024, 5, 1, 10, tzinfo=UTC)
    reply = got["Ug1.r1"]
    assert (reply["kind"], reply["reply_to_post_id"], reply["engagement"]) == ("reply", "Ug1", 2)
    assert got["Ug1.r2"]["reply_to_post_id"] == "Ug1"
    html_only = got["Ug3"]
    assert (html_only["text"], html_only["urls"]) == (
        'Read https://news.example/a\n"now"', ["https://news.example/a"]
    )  # fmt: skip
    assert {k: (v["kind"], v["username"]) for k, v in accounts(case).items()} == {
        "UCa": ("channel", "ann"), "UCb": ("channel", "bob"), "UCc": ("channel", "cy"),
        "UCd": ("channel", "dee"),  # the handle without its @, as for every format
    }  # fmt: skip
    # ann and bob comment on one video 30 s apart; bob and cy reply to ann's comment 60 s apart
    edges = networks(case, ["reply"], window=60, min_weight=1).edges.to_pylist()
    assert [(e["source"], e["target"], e["weight"]) for e in edges] == [
        ("UCa", "UCb", 1),
        ("UCb", "UCc", 1),
    ]


def test_youtube_refetches_names_community_posts_and_detection(write) -> None:  # type: ignore[no-untyped-def]
    # The shipped reply fetched again alone (comments.list) is the same row: a duplicate.
    again = write("again.jsonl", lines(YOUTUBE[0], YOUTUBE[0]["replies"]["comments"][0]))
    case = open_case()
    assert ingest([again], case).summary() == "read 3 = ingested 2 + rejected 0 + duplicates 1"
    # A display name from before handles (2023) is no username; a comment on a community post
    # replies to the post.
    old = _yt_comment("Ugo", "UCe", "Amit Sharma", "2021-01-01T00:00:00Z", "hello", postId="Ugp")
    path = write("old.jsonl", lines(old))
    case = open_case()
    ingest([path], case)
    assert (accounts(case)["UCe"]["username"], accounts(case)["UCe"]["display_name"]) == (
        None, "Amit Sharma"
    )  # fmt: skip
    assert (posts(case)["Ugo"]["kind"], posts(case)["Ugo"]["reply_to_post_id"]) == ("reply", "Ugp")
    # A page written with indent=2 is not JSON lines: not taken for this format.
    pretty = write("pretty.json", json.dumps(YOUTUBE[3], indent=2))
    assert detected(pretty) != "youtube"


def test_youtube_bad_lines(write) -> None:  # type: ignore[no-untyped-def]
    bad = _yt_thread("Ug9", "vid1", _yt_comment("Ug9", "UCa", "@ann", "2024-05-01T10:00:00Z", "x",
                                                 likeCount="many"))  # fmt: skip
    path = write("bad.jsonl", lines(YOUTUBE[1], bad))
    assert strict_error(path) == (
        f"{path}, line 2, column 'snippet.topLevelComment.snippet.likeCount', value 'many':"
        " not an integer"
    )
    page = dict(YOUTUBE[3], items=[YOUTUBE[1], {"kind": "youtube#video", "id": "v"}])
    path = write("page.jsonl", lines(YOUTUBE[1], page))
    assert strict_error(path) == (
        f"{path}, line 2, column 'items[1].kind', value 'youtube#video': not a YouTube comment"
        " thread or comment"
    )


# -- mastodon: Mastodon API statuses ------------------------------------------------------------


def _toot_account(aid: str, acct: str, **extra: Any) -> dict[str, Any]:
    return {"id": aid, "username": acct.split("@")[0], "acct": acct,
            "display_name": acct.title(), "locked": False, "bot": False, "group": False,
            "created_at": "2022-11-01T00:00:00.000Z", "note": "<p>bio &amp; more</p>",
            "url": f"https://m.example/@{acct}", "avatar": f"https://m.example/{acct}.png",
            "followers_count": 5, "following_count": 1, "statuses_count": 9} | extra  # fmt: skip


def _toot(
    sid: str, account: dict[str, Any], when: str, content: str = "", **extra: Any
) -> dict[str, Any]:
    return {"id": sid, "uri": f"https://m.example/users/x/statuses/{sid}", "created_at": when,
            "account": account, "content": content, "visibility": "public", "sensitive": False,
            "spoiler_text": "", "media_attachments": [], "mentions": [], "tags": [],
            "emojis": [], "reblogs_count": 0, "favourites_count": 0, "replies_count": 0,
            "url": f"https://m.example/@x/{sid}", "in_reply_to_id": None,
            "in_reply_to_account_id": None, "reblog": None, "card": None, "language": "en",
            "poll": None} | extra  # fmt: skip


ALICE_T, BOB_T, CAROL_T = (_toot_account("10", "alice"), _toot_account("11", "bob@other.example"),
                           _toot_account("12", "carol"))  # fmt: skip
IMAGE = {"id": "m1", "type": "image", "url": "https://files.example/1.png",
         "blurhash": "LEHV6nWB2yk8pyo0adR*.7kCMdnj"}  # fmt: skip
TOOT = _toot(
    "1", ALICE_T, "2024-06-01T10:00:00.000Z",
    '<p>Vote <span class="h-card"><a href="https://other.example/@bob" class="u-url mention">'
    '@<span>bob</span></a></span> <a href="https://m.example/tags/vote" class="mention hashtag"'
    ' rel="tag">#<span>Vote</span></a></p><p><a href="https://news.example/a?utm_source=m">'
    '<span class="invisible">https://</span><span class="ellipsis">news.example/a?utm_sou</span>'
    '<span class="invisible">rce=m</span></a></p>',
    tags=[{"name": "vote", "url": "https://m.example/tags/vote"}],
    mentions=[{"id": "11", "username": "bob", "acct": "bob@other.example", "url": "u"}],
    media_attachments=[IMAGE], card={"url": "https://news.example/a", "title": "A"},
    reblogs_count=2, favourites_count=3, replies_count=1,
)  # fmt: skip
MASTODON = [
    TOOT,
    _toot("2", BOB_T, "2024-06-01T10:00:20.000Z", reblog=TOOT, language=None),
    _toot("3", CAROL_T, "2024-06-01T10:00:50.000Z", reblog=TOOT, language=None),
    _toot("4", CAROL_T, "2024-06-01T10:01:00.000Z", "<p>Agreed</p>", in_reply_to_id="1",
          in_reply_to_account_id="10", spoiler_text="politics"),
    _toot("5", _toot_account("13", "dave", group=True), "2024-06-01T10:02:00.000Z",
          "<p>Look</p>", quote={"state": "accepted", "quoted_status": TOOT}),
    [_toot("6", _toot_account("14", "erin"), "2024-06-01T10:00:30.000Z", "<p>pic</p>",
           media_attachments=[dict(IMAGE, id="m2")]),
     _toot("7", _toot_account("15", "finn"), "2024-06-01T11:00:00.000Z", "<p>late</p>")],
]  # fmt: skip


def _parsed(content: str, skip: bool) -> tuple[list[str], list[str]]:
    """What :class:`html.parser.HTMLParser` itself gives the status reader."""
    reader = mastodon_module._Text(skip)
    reader.feed(content)
    reader.close()
    return reader.parts, reader.links


_HTML_TEXT = st.text(alphabet="ab #@:/.>&;'\"\n\u00e9\u200b", min_size=1, max_size=8).map(
    lambda t: t.replace("&", "&amp;") if t.count("&") % 2 else t
) | st.sampled_from(["&amp;", "&lt;", "&#39;", "&quot;", "&nbsp;", "AT&T", "&#x1F600;", "&bogus;"])
_HTML_CLASS = st.sampled_from(
    ["", "mention", "hashtag", "u-url mention", "invisible", "ellipsis", "quote-inline", "h-card"]
)
#: Only the parser reads these: a comment, capitals, single quotes, bare values, a lone "<".
_ODD_HTML = st.sampled_from(
    [
        "<!-- c -->",
        "<P>x</P>",
        "<a href='q'>q</a>",
        "<span class=x>y</span>",
        "a < b",
        "<x-y>z</x-y>",
    ]
)


@st.composite
def _status_html(draw: st.DrawFn, depth: int = 0) -> str:
    """Status HTML of the kind servers write, with now and then something only the parser reads."""
    parts = []
    for _ in range(draw(st.integers(0, 4))):
        kind = draw(
            st.sampled_from(
                ["text", "element", "br", "void", "odd"] if depth < 3 else ["text", "br"]
            )
        )
        if kind == "text":
            parts.append(draw(_HTML_TEXT))
        elif kind == "br":
            parts.append(draw(st.sampled_from(["<br>", "<br />", "<br/>"])))
        elif kind == "void":
            parts.append(draw(st.sampled_from(['<img src="x.png">', "<hr>", "<hr />"])))
        elif kind == "odd":
            parts.append(draw(_ODD_HTML))
        else:
            tag = draw(st.sampled_from(["p", "span", "a", "li", "ul", "blockquote", "pre", "b"]))
            cls = draw(_HTML_CLASS)
            attrs = f' class="{cls}"' if cls else ""
            if tag == "a":
                url = draw(st.sampled_from(["https://x.example/a?b=1&amp;c=2", "http://y.example/",
                                            "mailto:a@b", "https://m.example/@bo"]))  # fmt: skip
                attrs = f' href="{url}"' + attrs + ' rel="nofollow noopener"'
            parts.append(f"<{tag}{attrs}>{draw(_status_html(depth + 1))}</{tag}>")
    return "".join(parts)


@settings(max_examples=400, deadline=None)
@given(content=_status_html(), skip=st.booleans())
def test_mastodon_fast_html_reads_as_the_parser_does(content: str, skip: bool) -> None:
    fast = mastodon_module._read_html(content, skip_quote_inline=skip)
    assert (fast.parts, fast.links) == _parsed(content, skip)


def test_mastodon_fast_html_is_taken_for_what_servers_write() -> None:
    assert mastodon_module._simple_tokens(TOOT["content"]) is not None
    assert mastodon_module._simple_tokens('<p class="quote-inline">RE: <br /></p>') is not None
    for odd in ("<!-- c -->", "<P>x</P>", "<a href='q'>", "a < b", "<script>x</script>"):
        assert mastodon_module._simple_tokens(f"<p>{odd}</p>") is None


def test_mastodon_void_elements_do_not_end_a_skipped_quote_line() -> None:
    # "RE: <link>" with a line break or a picture inside: the whole paragraph is left out
    content = (
        '<p class="quote-inline">RE: <a href="https://q.example/1">q</a><br />of <img src="i"> '
        "it</p><p>mine</p>"
    )
    assert mastodon_module._read_html(content, skip_quote_inline=True).parts == ["mine"]
    assert _parsed(content, True)[0] == ["mine"]
    # a self-closed element that is not void (<span/>) opens and closes: the skip ends too
    closed = '<p class="quote-inline">RE: <span/>x</p><p>mine</p>'
    assert mastodon_module._read_html(closed, skip_quote_inline=True).parts == ["mine"]


def test_mastodon_statuses_boosts_and_pages(write) -> None:  # type: ignore[no-untyped-def]
    path = write("statuses.jsonl", lines(*MASTODON))
    assert detected(path) == "mastodon"
    case = open_case()
    # seven statuses; the boosted status each boost carries is side information
    assert ingest([path], case).summary() == "read 7 = ingested 7 + rejected 0 + duplicates 0"
    got = posts(case)
    assert got["1"] == {
        "post_id": "1",
        "account_id": "10",
        "timestamp": dt.datetime(2024, 6, 1, 10, tzinfo=UTC),
        "kind": "post",
        "text": "Vote @bob #Vote\n\nhttps://news.example/a?utm_source=m",
        "shared_post_id": None,
        "shared_account_id": None,
        "reply_to_post_id": None,
        "reply_to_account_id": None,
        "urls": ["https://news.example/a"],
        "urls_original": ["https://news.example/a?utm_source=m"],  # whole, hidden parts too
        "hashtags": ["vote"],
        "mentions": ["11"],
        "media": [],  # no id of an attachment ties two servers' copies (docs)
        "platform": "mastodon",
        "lang": "en",
        "engagement": 6,
    }
    boost = got["2"]
    assert (boost["kind"], boost["shared_post_id"], boost["shared_account_id"], boost["text"]) == (
        "share", "1", "10", None
    )  # fmt: skip
    reply = got["4"]
    assert (reply["kind"], reply["reply_to_post_id"], reply["reply_to_account_id"]) == (
        "reply", "1", "10"
    )  # fmt: skip
    assert reply["text"] == "politics\n\nAgreed"  # the content warning first
    quote = got["5"]
    assert (quote["kind"], quote["shared_post_id"], quote["shared_account_id"]) == (
        "quote", "1", "10"
    )  # fmt: skip
    profiles = accounts(case)
    assert (profiles["11"]["username"], profiles["13"]["kind"], profiles["10"]["description"]) == (
        "bob@other.example", "group", "bio & more"
    )  # fmt: skip
    assert profiles["10"]["created_at"] is None  # a day only, since Mastodon 3.4 (docs)
    shares = networks(case, ["share"], window=60, min_weight=1).edges.to_pylist()
    assert [(e["source"], e["target"]) for e in shares] == [("11", "12")]


def test_mastodon_quotes_links_and_what_servers_write(write) -> None:  # type: ignore[no-untyped-def]
    quoting = '<p class="quote-inline">RE: <a href="https://m.example/@alice/1">m.example/@alice/1</a></p>'
    statuses = [
        # Akkoma's "_" for a parent it does not know
        _toot("21", ALICE_T, "2024-06-01T10:00:00Z", "<p>a</p>", in_reply_to_id="_",
              in_reply_to_account_id="_"),
        # a shallow quote (Mastodon 4.4) with its fallback paragraph, and a labelled link
        _toot("22", BOB_T, "2024-06-01T10:00:10Z",
              quoting + '<p>read <a href="https://news.example/story">this story</a></p>',
              quote={"state": "pending", "quoted_status_id": "1"}),
        # Fedibird: the quoted status itself, beside quote_id; a list in the HTML
        _toot("23", CAROL_T, "2024-06-01T10:00:20Z",
              "<ul><li>https://x.example/a</li><li>next</li></ul>", quote=TOOT, quote_id="1"),
        _toot("24", _toot_account("16", "gus", avatar="https://m.example/avatars/original/missing.png"),
              "2024-06-01T10:00:30Z", "<p>x</p>"),
    ]  # fmt: skip
    case = open_case()
    path = write("more.jsonl", lines(*statuses))
    assert ingest([path], case).summary() == "read 4 = ingested 4 + rejected 0 + duplicates 0"
    got = posts(case)
    assert (got["21"]["kind"], got["21"]["reply_to_post_id"]) == ("post", None)
    bob = got["22"]
    assert (bob["kind"], bob["shared_post_id"], bob["text"]) == ("quote", "1", "read this story")
    assert bob["urls"] == ["https://news.example/story"]  # not the quoted status's address
    carol = got["23"]
    assert (carol["kind"], carol["shared_post_id"], carol["shared_account_id"]) == (
        "quote", "1", "10"
    )  # fmt: skip
    assert carol["text"] == "https://x.example/a\nnext"
    assert got["1"]["text"].startswith("Vote @bob")  # the quoted status, side information
    assert accounts(case)["16"]["profile_image"] is None  # Mastodon's picture for none
    context = {"ancestors": [TOOT], "descendants": [statuses[0]]}
    path = write("context.jsonl", lines(context))
    assert detected(path) == "mastodon"
    case = open_case()
    assert ingest([path], case).summary() == "read 2 = ingested 2 + rejected 0 + duplicates 0"
    notification = {"id": "99", "type": "mention", "created_at": "2024-06-01T10:00:00Z",
                    "account": ALICE_T, "status": TOOT}  # fmt: skip
    path = write("notes.jsonl", lines(TOOT, notification))
    assert strict_error(path) == (f"{path}, line 2, column 'content': a notification: no content")


def test_mastodon_bad_lines(write) -> None:  # type: ignore[no-untyped-def]
    bad = dict(TOOT, id="9", tags="vote")
    path = write("bad.jsonl", lines(TOOT, bad))
    assert strict_error(path) == f"{path}, line 2, column 'tags', value 'vote': not a JSON array"
    page = [TOOT, dict(TOOT, id="8", account="alice")]
    path = write("page.jsonl", lines(TOOT, page))
    assert strict_error(path, format="mastodon") == (
        f"{path}, line 2, column '[1].account', value 'alice': not a JSON object"
    )


# -- tiktok: TikTok Research API videos, Zeeschuimer items -------------------------------------


def _tt_video(vid: int, user: str, when: int, text: str, **extra: Any) -> dict[str, Any]:
    return {"id": vid, "create_time": when, "username": user, "region_code": "KE",
            "video_description": text, "music_id": 7159460238003800066, "like_count": 3,
            "comment_count": 1, "share_count": 1, "view_count": 500, "favorites_count": 9,
            "hashtag_names": ["vote", "kenya"], "effect_ids": ["0"]} | extra  # fmt: skip


def _tt_page(*videos: dict[str, Any], key: str = "videos") -> dict[str, Any]:
    return {"data": {key: list(videos), "cursor": 100, "has_more": True,
                     "search_id": "7201388525814961198"},
            "error": {"code": "ok", "message": "", "log_id": "2023011302"}}  # fmt: skip


def _tt_web(vid: str, user: str, when: Any, text: str, **extra: Any) -> dict[str, Any]:
    item = {"id": vid, "createTime": when, "desc": text,
            "author": {"id": "68", "uniqueId": user, "nickname": user.title(),
                       "signature": "news daily", "avatarThumb": f"https://p16.example/{user}"},
            "authorStats": {"followerCount": 120},
            "music": {"id": "7320768240639134510", "title": "original sound", "original": True},
            "challenges": [{"id": "1", "title": "vote"}],
            "textExtra": [{"start": 0, "end": 5, "type": 1, "hashtagName": "vote"},
                          {"start": 6, "end": 10, "type": 0, "userUniqueId": "bob.ke"}],
            "stats": {"diggCount": 4, "shareCount": 2, "commentCount": 1, "playCount": 900},
            "duetInfo": {"duetFromId": "0"}, "locationCreated": "KE"}  # fmt: skip
    return item | extra


def _zeeschuimer(item: dict[str, Any], platform: str = "tiktok.com") -> dict[str, Any]:
    return {"nav_index": "1:1", "item_id": item.get("id", item.get("cid")),
            "timestamp_collected": 1704500000000, "source_platform": platform,
            "source_platform_url": "https://www.tiktok.com/", "source_url": "https://x.example",
            "user_agent": "Mozilla/5.0", "data": item}  # fmt: skip


TIKTOK = [
    _tt_page(
        _tt_video(7320768151782853934, "ann.ke", 1704499182, "Vote now #Vote #kenya @bob.ke"),
        _tt_video(7320768151782853935, "bob.ke", 1704499200, "same message",
                  video_mention_list=["@cy_ke", "Prime Time"]),
    ),
    _tt_video(7320768151782853936, "cy_ke", 1704499230, "again", music_id=0),
    [_tt_video(7320768151782853937, "ann.ke", 1704503000, "", hashtag_names=[])],
    _zeeschuimer(_tt_web("7320768151782853940", "dee", "1704499210", "#vote @bob.ke")),
    _zeeschuimer(
        {"cid": "7320800000000000001", "aweme_id": "7320768151782853934", "reply_id": "0",
         "text": "agreed", "create_time": 1704499300, "digg_count": 2,
         "user": {"unique_id": "eve", "nickname": "Eve"}},
        "tiktok-comments",
    ),
    _tt_web("7320768151782853941", "dee", 1704499260, "duet this",
            duetInfo={"duetFromId": "7320768151782853934"}, textExtra=[]),
]  # fmt: skip


def test_tiktok_research_pages_videos_and_web_items(write) -> None:  # type: ignore[no-untyped-def]
    path = write("videos.jsonl", lines(*TIKTOK))
    assert detected(path) == "tiktok"
    case = open_case()
    assert ingest([path], case).summary() == "read 7 = ingested 7 + rejected 0 + duplicates 0"
    got = posts(case)
    first = got["7320768151782853934"]  # an id above 2**53, kept exactly
    assert first | {"timestamp": None} == {
        "post_id": "7320768151782853934",
        "account_id": "ann.ke",
        "timestamp": None,
        "kind": "post",
        "text": "Vote now #Vote #kenya @bob.ke",
        "shared_post_id": None,
        "shared_account_id": None,
        "reply_to_post_id": None,
        "reply_to_account_id": None,
        "urls": [],
        "urls_original": [],
        "hashtags": ["vote", "kenya"],  # from the description, in the order typed
        "mentions": ["bob.ke"],
        "media": ["music:7159460238003800066"],  # the sound
        "platform": "tiktok",
        "lang": None,
        "engagement": 5,  # likes, comments and shares; not views or saves
    }
    assert first["timestamp"] == dt.datetime(2024, 1, 5, 23, 59, 42, tzinfo=UTC)
    second = got["7320768151782853935"]
    # no tags in the text: the API's hashtag_names; tagged users that look like handles
    assert (second["hashtags"], second["mentions"]) == (["vote", "kenya"], ["cy_ke"])
    assert got["7320768151782853936"]["media"] == []  # music id 0: no sound
    assert got["7320768151782853937"]["hashtags"] == []  # a video in an array line
    web = got["7320768151782853940"]
    assert (web["account_id"], web["hashtags"], web["mentions"], web["engagement"]) == (
        "dee", ["vote"], ["bob.ke"], 7
    )  # fmt: skip
    assert web["media"] == ["music:7320768240639134510"]
    assert web["timestamp"] == dt.datetime(2024, 1, 6, 0, 0, 10, tzinfo=UTC)  # a string time
    comment = got["7320800000000000001"]
    assert (comment["kind"], comment["reply_to_post_id"], comment["account_id"]) == (
        "reply", "7320768151782853934", "eve"
    )  # fmt: skip
    duet = got["7320768151782853941"]
    assert (duet["kind"], duet["shared_post_id"], duet["hashtags"]) == (
        "quote", "7320768151782853934", ["vote"]  # no textExtra: the challenges
    )  # fmt: skip
    people = accounts(case)
    assert {k: (v["kind"], v["username"], v["location"]) for k, v in people.items()} == {
        "ann.ke": ("user", "ann.ke", "KE"), "bob.ke": ("user", "bob.ke", "KE"),
        "cy_ke": ("user", "cy_ke", "KE"), "dee": ("user", "dee", None),
        "eve": ("user", "eve", None),
    }  # fmt: skip
    assert (people["dee"]["display_name"], people["dee"]["followers"]) == ("Dee", 120)
    # ann, bob and dee post on one sound within 30 s; cy's video has none
    edges = networks(case, ["media"], window=30, min_weight=1).edges.to_pylist()
    assert [(e["source"], e["target"]) for e in edges] == [("ann.ke", "bob.ke")]


def test_tiktok_comments_errors_and_other_responses(write) -> None:  # type: ignore[no-untyped-def]
    comments = {"data": {"comments": [
        {"id": 7385291383449439520, "video_id": 7385291383449439519, "text": "wow",
         "like_count": 1, "parent_comment_id": 7385291383449439519, "create_time": 1719500000},
        {"id": 7385291383449439521, "video_id": 7385291383449439519, "text": "",
         "like_count": 0, "parent_comment_id": 7385291383449439519, "create_time": 1719500001},
    ], "cursor": 2, "has_more": False}, "error": {"code": "ok", "message": ""}}  # fmt: skip
    error = {"error": {"code": "rate_limit_exceeded", "message": "daily quota used",
                       "log_id": "1"}}  # fmt: skip
    followers = {"data": {"user_followers": [{"display_name": "Fay", "username": "fay"}],
                          "cursor": 1, "has_more": False}, "error": {"code": "ok"}}  # fmt: skip
    liked = _tt_page(_tt_video(7320768151782853999, "gus", 1704499182, "x"),
                     key="user_liked_videos")  # fmt: skip
    path = write("mixed.jsonl", lines(TIKTOK[1], comments, error, followers, liked))
    case = open_case()
    report = ingest([path], case, IngestConfig(on_error="skip"))
    # two videos (the liked one is its creator's post); two comments and an error rejected
    assert report.summary() == "read 5 = ingested 2 + rejected 3 + duplicates 0"
    got = case.con.execute('SELECT "row", "column", reason FROM rejects ORDER BY ALL').fetchall()
    assert [g[:2] for g in got] == [
        (2, "data.comments[0]"),
        (2, "data.comments[1]"),
        (3, "error.code"),
    ]
    assert "no author" in got[0][2]
    assert got[2][2] == "an error response of the TikTok API: daily quota used"
    assert accounts(case)["fay"]["display_name"] == "Fay"  # a followers page: side information
    assert strict_error(path) == (
        f"{path}, line 2, column 'data.comments[0]', value '7385291383449439520': a Research API"
        " comment has no author (TikTok removes it), so it cannot be tied to an account"
    )
    # other platforms of a Zeeschuimer export, and unknown responses, are named
    insta = dict(_zeeschuimer(_tt_web("1", "x", 1, "y")), source_platform="instagram.com")
    path = write("insta.jsonl", lines(TIKTOK[1], insta))
    assert strict_error(path) == (
        f"{path}, line 2, column 'source_platform', value 'instagram.com': not a TikTok item"
    )
    playlist = {"data": {"playlist_id": 1, "playlist_name": "p"}, "error": {"code": "ok"}}
    path = write("playlist.jsonl", lines(TIKTOK[1], playlist))
    assert strict_error(path).startswith(
        f"{path}, line 2, column 'data', value '[\"playlist_id\", \"playlist_name\"]': not a"
        " response of videos, comments or users"
    )
    bad = _tt_video(7320768151782853938, "ann.ke", 1704499182, "x", like_count=1.5)
    path = write("bad.jsonl", lines(TIKTOK[1], _tt_page(TIKTOK[1], bad)))
    assert strict_error(path) == (
        f"{path}, line 2, column 'data.videos[1].like_count', value '1.5': not an integer"
    )


def test_tiktok_tags_mentions_captions_and_counts(write) -> None:  # type: ignore[no-untyped-def]
    glued = _tt_video(1, "ann", 1704499182, "i love #fy#cat#fyp  #b ##dogs",
                      hashtag_names=["dogs", "fyp", "b", "cat", "fy"])  # fmt: skip
    unasked = _tt_video(2, "bob\u0000", 1704499182, "thanks @josé and @cy.ke.", music_id=None)
    del unasked["hashtag_names"]
    tagged = _tt_video(3, "cy", 1704499182, "with @Maria Lopez", video_mention_list=["dee.k"])
    duet = _tt_video(4, "dee", 1704499182, "#duet with @ann #cats",
                     hashtag_names=["duet", "cats"])  # fmt: skip
    web = _tt_web("5", "eve", 1704499182, "go #fy#cat", statsV2={
        "diggCount": "3412345", "shareCount": "53211", "commentCount": "44301"},
        textExtra=[{"start": 6, "type": 1, "hashtagName": "cat"},
                   {"start": 3, "type": 1, "hashtagName": "fy"}])  # fmt: skip
    stitch = _tt_web("6", "fay", 1704499182, "#stitch with @bob", textExtra=[], challenges=[
        {"title": "stitch"}])  # fmt: skip
    comment = {"cid": "7", "aweme_id": "5", "reply_id": "0", "text": "@ann.ke yes",
               "create_time": 1704499300, "user": {"unique_id": "gus"}}  # fmt: skip
    path = write("v.jsonl", lines(_tt_page(glued, unasked, tagged, duet), web, stitch,
                                  _zeeschuimer(comment, "tiktok-comments")))  # fmt: skip
    case = open_case()
    ingest([path], case)
    got = {k: (v["text"], v["hashtags"], v["mentions"]) for k, v in posts(case).items()}
    assert got == {
        # the API's set of tags, glued ones too, in the order typed
        "1": ("i love #fy#cat#fyp  #b ##dogs", ["fy", "cat", "fyp", "b", "dogs"], []),
        # no hashtag_names asked for: the text's; a name going on in other letters is none
        "2": ("thanks @josé and @cy.ke.", [], ["cy.ke"]),
        # tagged users, when asked for, rather than the description's display names
        "3": ("with @Maria Lopez", ["vote", "kenya"], ["dee.k"]),
        # TikTok's duet caption is no text of the author's, nor its tag; the account stays
        "4": ("#cats", ["cats"], ["ann"]),
        "5": ("go #fy#cat", ["fy", "cat"], []),  # textExtra, in offset order
        "6": (None, [], ["bob"]),
        "7": ("@ann.ke yes", [], ["ann.ke"]),  # a comment's name keeps its dots
    }
    assert posts(case)["5"]["engagement"] == 3412345 + 53211 + 44301  # statsV2: exact
    assert posts(case)["2"]["account_id"] == "bob"  # NUL characters dropped, as 4CAT does


def test_tiktok_detection_of_every_line_shape(write) -> None:  # type: ignore[no-untyped-def]
    video = _tt_video(7320768151782853934, "ann.ke", 1704499182, "x " * 400)
    # A page longer than the sample, with the keys in the order TikTok writes them
    page = {"data": {"search_id": "7354367454467855403", "has_more": True, "cursor": 200,
                     "videos": [video] * 100}, "error": {"code": "ok"}}  # fmt: skip
    assert detected(write("page.jsonl", lines(page))) == "tiktok"
    error_first = {"error": {"code": "ok", "message": "", "log_id": "1"}, "data": page["data"]}
    assert detected(write("page2.jsonl", lines(error_first))) == "tiktok"
    assert detected(write("list.jsonl", json.dumps([video] * 100) + "\n")) == "tiktok"
    web = _tt_web("1", "dee", 1, "y " * 400)
    assert detected(write("web.jsonl", json.dumps([web] * 100) + "\n")) == "tiktok"
    # Short lines of every shape
    quota = {"error": {"code": "rate_limit_exceeded", "message": "quota", "log_id": "2"}}
    comment = {"id": 73861113, "video_id": 7386, "text": "hi", "like_count": 0,
               "parent_comment_id": 7386, "create_time": 1719500000}  # fmt: skip
    for first in ({"data": {"videos": [video]}}, quota, [web], comment,
                  {"cid": "7", "aweme_id": "5", "reply_id": "0", "create_time": 1}):  # fmt: skip
        assert detected(write("one.jsonl", lines(first, video))) == "tiktok", first
    # A bare comment is rejected for its missing author, in arrays one by one
    path = write("comments.jsonl", lines(video, [comment, dict(comment, id=73861114)]))
    case = open_case()
    report = ingest([path], case, IngestConfig(on_error="skip"))
    assert report.summary() == "read 3 = ingested 1 + rejected 2 + duplicates 0"
    assert case.con.execute('SELECT "column", value FROM rejects ORDER BY 2').fetchall() == [
        ("[0]", "73861113"), ("[1]", "73861114")
    ]  # fmt: skip
    # A page whose error is not an object keeps its videos; data null is an error response
    odd = {"data": {"videos": [video]}, "error": "Unauthorized"}
    null = {"data": None, "error": {"code": "access_token_invalid", "message": "bad token"}}
    path = write("odd.jsonl", lines(odd, null))
    assert strict_error(path) == (
        f"{path}, line 2, column 'error.code', value 'access_token_invalid': an error response"
        " of the TikTok API: bad token"
    )


def test_mcl_as_pandas_and_r_write_it(write) -> None:  # type: ignore[no-untyped-def]
    # pandas writes lists with Python's quotes and ids of a column with a gap as floats; R and
    # pandas write NA / nan for empty cells. A file of both platforms is told row by row.
    header = ("id,creation_time,text,post_owner.type,post_owner.id,shared_post_id,"
              "link_attachment.link,hashtags,statistics.reaction_count,statistics.like_count,"
              "statistics.comment_count,surface.id\n")  # fmt: skip
    rows = (
        "71,2024-03-05T14:02:11+0000,hi #a,page,10,NA,NA,NA,5,NA,1,NA\n"
        "72,2024-03-05T14:02:12+0000,yo,page,11,nan,nan,nan,5,,1,nan\n"
        "73,2024-03-05T14:02:13+0000,ig,business,12,,,\"['vote', 'smith']\",,7,2,\n"
        "74,2024-03-05T14:02:14+0000,x,page,1098765432109876.0,,,,1,,0,\n"
    )
    path = write("pandas.csv", header + rows)
    assert detected(path) == "mcl"
    case = open_case()
    report = ingest([path], case, IngestConfig(on_error="skip"))
    assert report.summary() == "read 4 = ingested 3 + rejected 1 + duplicates 0"
    got = {k: (v["kind"], v["shared_post_id"], v["urls"], v["hashtags"], v["platform"],
               v["engagement"]) for k, v in posts(case).items()}  # fmt: skip
    assert got == {
        "71": ("post", None, [], ["a"], "facebook", 6),  # NA is no reshare and no link
        "72": ("post", None, [], [], "facebook", 6),
        "73": ("post", None, [], ["vote", "smith"], "instagram", 9),  # likes and comments
    }
    assert "NA" not in accounts(case) and "nan" not in accounts(case)
    assert case.con.execute('SELECT "column", value, reason FROM rejects').fetchall() == [
        ("post_owner.id", "1098765432109876.0",
         "an id written as a number (a spreadsheet's or pandas'): its digits may be lost")
    ]  # fmt: skip


def test_tiktok_4cat_csv_reads_as_a_mapped_generic_csv(write) -> None:  # type: ignore[no-untyped-def]
    # 4CAT's CSV export of TikTok videos is no format of its own (docs/formats.md): the
    # generic CSV reader with a column map reads it.
    path = write("4cat.csv", (
        "id,thread_id,author,author_full,body,timestamp,unix_timestamp,music_id,likes,hashtags\n"
        "7320768151782853934,7320768151782853934,ann.ke,Ann,Vote #vote,2024-01-05 23:59:42,"
        '1704499182,7159460238003800066,3,"vote,kenya"\n'
    ))  # fmt: skip
    case = open_case()
    columns = {"id": "post_id", "author": "account_id", "unix_timestamp": "timestamp",
               "body": "text", "likes": "engagement"}  # fmt: skip
    report = ingest([path], case, IngestConfig(column_map=columns))
    assert report.summary() == "read 1 = ingested 1 + rejected 0 + duplicates 0"
    got = posts(case)["7320768151782853934"]
    # 4CAT joins tags with commas: commas separate hashtags (and mentions) as spaces do
    assert (got["account_id"], got["hashtags"], got["engagement"]) == (
        "ann.ke", ["vote", "kenya"], 3
    )  # fmt: skip
    assert got["timestamp"] == dt.datetime(2024, 1, 5, 23, 59, 42, tzinfo=UTC)


# -- mcl: Meta Content Library CSV -------------------------------------------------------------

MCL_FACEBOOK_HEADER = (
    "activities,content_type,creation_time,id,is_branded_content,lang,link_attachment.caption,"
    "link_attachment.description,link_attachment.link,link_attachment.name,match_type,mcl_url,"
    "modified_time,multimedia,post_owner.type,post_owner.id,post_owner.name,post_owner.username,"
    "shared_post_id,statistics.angry_count,statistics.care_count,statistics.comment_count,"
    "statistics.haha_count,statistics.like_count,statistics.love_count,"
    "statistics.reaction_count,statistics.sad_count,statistics.share_count,statistics.views,"
    "statistics.views_date_last_refreshed,statistics.wow_count,surface.type,surface.id,"
    "surface.name,surface.username,text"
)


def _mcl_fb(pid: str, owner: str, when: str, text: str, *, shared: str = "", link: str = "",
            surface: tuple[str, str, str] = ("", "", ""), reactions: str = "10",
            kind: str = "page") -> str:  # fmt: skip
    cells = ["[]", "reshares" if shared else "status", when, pid, "false", "en", "", "", link,
             "", "[]", f"https://www.facebook.com/transparency/mcl/{pid}", when, "[]", kind,
             owner, owner.title(), owner.lower(), shared, "0", "0", "2", "0", "8", "2",
             reactions, "0", "1", "", "", "0", *surface, "", text]  # fmt: skip
    return ",".join(f'"{c}"' for c in cells) + "\n"


MCL_FACEBOOK = (
    MCL_FACEBOOK_HEADER + "\n"
    + _mcl_fb("7123456789012345", "1098765432109876", "2024-03-05T14:02:11+0000",
              "Vote #Smith https://x.example/a", link="https://news.example/story")
    + _mcl_fb("7123456789012346", "1098765432109877", "2024-03-05T14:02:40+0000", "",
              shared="7000000000000001", surface=("GROUP", "555000111", "Smith fans"),
              kind="profile")
    + _mcl_fb("7123456789012347", "1098765432109878", "2024-03-05T14:02:50+0000", "",
              shared="7000000000000001", kind="Pages")
)  # fmt: skip
MCL_INSTAGRAM = (
    "content_type,creation_time,hashtags,id,is_branded_content,lang,match_type,mcl_url,"
    "modified_time,multimedia,post_owner.type,post_owner.id,post_owner.name,post_owner.username,"
    "statistics.comment_count,statistics.like_count,statistics.views,"
    "statistics.views_date_last_refreshed,text\n"
    'photos,2024-03-05T14:02:11+0000,"[""vote"", ""smith""]",17900000000000001,false,en,[],'
    "https://www.instagram.com/mcl/1,2024-03-05T14:02:11+0000,[],business,17841400000000001,"
    'Smith News,smith.news,3,40,,,"Vote today #vote #smith"\n'
)


def test_mcl_facebook_posts(write) -> None:  # type: ignore[no-untyped-def]
    path = write("mcl.csv", MCL_FACEBOOK)
    assert detected(path) == "mcl"
    case = open_case()
    assert ingest([path], case).summary() == "read 3 = ingested 3 + rejected 0 + duplicates 0"
    got = posts(case)
    first = got["7123456789012345"]
    assert first | {"timestamp": None} == {
        "post_id": "7123456789012345",
        "account_id": "1098765432109876",  # the owner
        "timestamp": None,
        "kind": "post",
        "text": "Vote #Smith https://x.example/a",
        "shared_post_id": None,
        "shared_account_id": None,
        "reply_to_post_id": None,
        "reply_to_account_id": None,
        "urls": ["https://news.example/story", "https://x.example/a"],  # the link first
        "urls_original": ["https://news.example/story", "https://x.example/a"],
        "hashtags": ["smith"],
        "mentions": [],
        "media": [],
        "platform": "facebook",
        "lang": "en",
        "engagement": 13,  # reactions, comments and shares
    }
    assert first["timestamp"] == dt.datetime(2024, 3, 5, 14, 2, 11, tzinfo=UTC)
    reshare = got["7123456789012346"]
    assert (reshare["kind"], reshare["shared_post_id"], reshare["text"]) == (
        "share", "7000000000000001", None
    )  # fmt: skip
    people = accounts(case)
    assert {k: (v["kind"], v["username"], v["display_name"]) for k, v in people.items()} == {
        "1098765432109876": ("page", "1098765432109876", "1098765432109876"),
        "1098765432109877": ("user", "1098765432109877", "1098765432109877"),
        "1098765432109878": ("page", "1098765432109878", "1098765432109878"),
        "555000111": ("group", None, "Smith fans"),  # the surface, as side information
    }
    # two owners reshare one post 10 s apart
    edges = networks(case, ["share"], window=60, min_weight=1).edges.to_pylist()
    assert [(e["source"], e["target"]) for e in edges] == [("1098765432109877", "1098765432109878")]


def test_mcl_instagram_and_bad_rows(write) -> None:  # type: ignore[no-untyped-def]
    path = write("ig.csv", MCL_INSTAGRAM)
    assert detected(path) == "mcl"
    case = open_case()
    ingest([path], case)
    post = posts(case)["17900000000000001"]
    assert (post["platform"], post["hashtags"], post["engagement"], post["account_id"]) == (
        "instagram", ["vote", "smith"], 43, "17841400000000001"
    )  # fmt: skip
    assert accounts(case)["17841400000000001"]["kind"] == "user"  # a business account
    # A spreadsheet rounded an id: the row is rejected, naming it
    rounded = MCL_INSTAGRAM.replace(",17900000000000001,", ",1.79E+16,")
    path = write("rounded.csv", rounded)
    assert strict_error(path) == (
        f"{path}, row 2, column 'id', value '1.79E+16': an id written as a number (a"
        " spreadsheet's or pandas'): its digits may be lost"
    )
    # The data dictionary's spelling of the owner's fields is read too
    dictionary = MCL_INSTAGRAM.replace("post_owner.", "post_owner.data.")
    case = open_case()
    ingest([write("dd.csv", dictionary)], case)
    assert posts(case)["17900000000000001"]["account_id"] == "17841400000000001"


@pytest.mark.parametrize(
    ("fmt", "name", "content", "rows"),
    [
        ("io-archive", "a.txt", (DATA / "io_archive.csv").read_text(), 4),
        ("ira-tweets", "a.txt", (DATA / "ira_tweets.csv").read_text(), 6),
        ("crowdtangle", "a.txt", CT_PAGES.read_text(), 4),
        ("telegram", "a.txt", json.dumps(telegram_chat()), 3),
        ("cnt-json", "a.txt", lines(V1_ORIGINAL), 1),
        ("twarc2", "a.txt", lines(V2_FLAT), 1),
        ("coortweet", "a.txt", COORTWEET_CSV, 3),
        ("cnt-csv", "a.txt", (DATA / "cnt.csv").read_text(), 3),
        ("bluesky", "a.txt", lines(*JETSTREAM), 6),
        ("reddit", "a.txt", lines(*REDDIT[:3]), 3),
        ("youtube", "a.txt", lines(*YOUTUBE), 5),
        ("mastodon", "a.txt", lines(*MASTODON), 7),
        ("tiktok", "a.txt", lines(*TIKTOK), 7),
        ("mcl", "a.txt", MCL_FACEBOOK, 3),
    ],
)
def test_format_option_names_every_reader(
    write, fmt: str, name: str, content: str, rows: int
) -> None:  # type: ignore[no-untyped-def]
    report = ingest([write(name, content)], open_case(), IngestConfig(format=fmt))
    assert (report.files[0].format, report.ingested) == (fmt, rows)


@pytest.mark.parametrize(
    ("fmt", "source", "old", "new", "message"),
    [
        (
            "ira-tweets",
            IRA,
            ",publish_date,",
            ",published,",
            "column 'publish_date': missing column of FiveThirtyEight's IRA tweets",
        ),
        (
            "io-archive",
            DATA / "io_archive.csv",
            ",tweet_time,",
            ",time,",
            "column 'tweet_time': missing column of the information-operations archive",
        ),
        (
            "crowdtangle",
            None,
            "Post Created,",
            "Posted,",
            "column 'Post Created': missing column of a CrowdTangle export",
        ),
        (
            "crowdtangle",
            None,
            "Facebook Id,",
            "Id,",
            "column 'Facebook Id': missing column of a CrowdTangle export",
        ),
    ],
)
def test_a_forced_format_names_the_column_its_file_lacks(  # type: ignore[no-untyped-def]
    write, fmt: str, source: Path | None, old: str, new: str, message: str
) -> None:
    text = source.read_text() if source else CT_HEADER + "P,p,1,2021-03-01 12:00,1,x,hi\n"
    header, body = text.split("\n", 1)
    assert old in header + ","
    path = write("f.csv", (header + ",").replace(old, new, 1)[:-1] + "\n" + body)
    error = strict_error(path, format=fmt)
    assert error.startswith(f"{path}, {message} (columns found: ")
    assert new.strip(",") in error
