"""A case read through a platform format gives the same evidence as the case itself.

The synthetic office scenario is written as Bluesky Jetstream events (posts, reposts, replies
and quotes as records; hashtags, links and mentions as facets; media as image blobs), as
Mastodon statuses (HTML content with linked URLs, boosts, replies, shallow quotes), as a Reddit
dump (self posts, crossposts, comments) and as TikTok Research API pages with Zeeschuimer
comments (sounds as media), and investigated beside its generic Parquet file. Every co-action
edge of every default signal, with its weight, gaps and significance, must be the same, account
for account (DIDs are the case's ids with ``did:plc:`` before them), and so must the networks
flagged, member for member: nothing in detection depends on the ids (a post id against its
``at://`` URI), as the group test splits the posts by blocks of time. A last test checks that
TikTok's trending sounds, as media, make no network of an organic crowd. The scenario as a
Twitter information-operations release (tweets and users files, times cut to the minute and the
day) gives the same edges and networks as the case: the ids give the times back.
"""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
import json
import random
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
import pytest

from cibscan.detect import DetectConfig
from cibscan.investigate import investigate
from cibscan.synth import SynthConfig, generate, write_scenario

pytestmark = pytest.mark.slow


def _facet(kind: str, key: str, value: str) -> dict[str, Any]:
    return {"index": {"byteStart": 0, "byteEnd": 1},
            "features": [{"$type": f"app.bsky.richtext.facet#{kind}", key: value}]}  # fmt: skip


def _jetstream(posts: list[dict[str, Any]]) -> str:
    """The posts as Jetstream events, seen by the network a second after their createdAt."""
    owner = {p["post_id"]: p["account_id"] for p in posts}

    def uri(post_id: str, account: str | None) -> str:
        return f"at://did:plc:{account or owner.get(post_id)}/app.bsky.feed.post/{post_id}"

    lines = []
    for p in posts:
        created = p["timestamp"].strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        if p["kind"] == "share":
            collection = "app.bsky.feed.repost"
            record: dict[str, Any] = {
                "createdAt": created,
                "subject": {"uri": uri(p["shared_post_id"], p["shared_account_id"]), "cid": "x"},
            }
        else:
            collection = "app.bsky.feed.post"
            record = {
                "text": p["text"] or "",
                "createdAt": created,
                "langs": [p["lang"]] if p["lang"] else [],
                "facets": [_facet("tag", "tag", t) for t in p["hashtags"] or []]
                + [_facet("link", "uri", u) for u in p["urls_original"] or []]
                + [_facet("mention", "did", f"did:plc:{m}") for m in p["mentions"] or []],
            }
            images = [
                {"alt": "", "image": {"$type": "blob", "ref": {"$link": m}, "size": 1}}
                for m in p["media"] or []
            ]
            media = {"$type": "app.bsky.embed.images", "images": images} if images else None
            if p["kind"] == "quote" and p["shared_post_id"]:
                target = uri(p["shared_post_id"], p["shared_account_id"])
                quoted = {"$type": "app.bsky.embed.record", "record": {"uri": target, "cid": "x"}}
                record["embed"] = (
                    {"$type": "app.bsky.embed.recordWithMedia", "record": quoted, "media": media}
                    if media
                    else quoted
                )
            elif media:
                record["embed"] = media
            if p["reply_to_post_id"]:
                parent = {"uri": uri(p["reply_to_post_id"], p["reply_to_account_id"]), "cid": "x"}
                record["reply"] = {"root": parent, "parent": parent}
        seen = int(p["timestamp"].timestamp() * 1_000_000) + 1_000_000
        lines.append(json.dumps({
            "did": f"did:plc:{p['account_id']}", "time_us": seen, "kind": "commit",
            "commit": {"operation": "create", "collection": collection, "rkey": p["post_id"],
                       "record": {"$type": collection} | record, "cid": "bafy"},
        }))  # fmt: skip
    return "\n".join(lines) + "\n"


def _members(folder: Path, prefix: str = "") -> set[str]:
    with (folder / "accounts.csv").open(newline="", encoding="utf-8") as fh:
        return {r["account_id"].removeprefix(prefix) for r in csv.DictReader(fh) if r["network_id"]}


def _edges(folder: Path, prefix: str = "") -> list[tuple[Any, ...]]:
    rows = pq.read_table(folder / "edges.parquet").to_pylist()
    edges = []
    for r in rows:
        ends = sorted((r["source"].removeprefix(prefix), r["target"].removeprefix(prefix)))
        stats = (r["weight"], r["events"], r["min_gap"], r["median_gap"])
        edges.append((*ends, r["signal"], *stats, round(r["expected"], 9), round(r["p_value"], 9)))
    return sorted(edges)


def _case(tmp_path: Path, seed: int) -> tuple[pa.Schema, list[dict[str, Any]]]:
    """The office scenario's posts in time order, and the schema of its Parquet file."""
    config = SynthConfig(accounts=600, days=3, posts=15_000)
    files = write_scenario(generate("office", seed=seed, config=config), tmp_path / "case")
    table = pq.read_table(next(f for f in files if f.name == "posts.parquet"))
    posts = table.sort_by([("timestamp", "ascending"), ("post_id", "ascending")]).to_pylist()
    return table.schema, posts


def _investigate_both(
    tmp_path: Path, schema: pa.Schema, posts: list[dict[str, Any]], name: str, dump: str
) -> tuple[Path, Path]:
    """Investigate the posts as a generic Parquet file and as the platform's file ``name``."""
    parquet = tmp_path / "posts.parquet"
    pq.write_table(pa.Table.from_pylist(posts, schema=schema), parquet)
    platform = tmp_path / name
    platform.write_text(dump, encoding="utf-8")
    investigate([parquet], tmp_path / "generic", cache=False)
    investigate([platform], tmp_path / "platform", cache=False)
    return tmp_path / "generic", tmp_path / "platform"


def _assert_same_flagged(generic: Path, platform: Path, prefix: str = "") -> None:
    """The operation is found in both, member for member (see the module's note)."""
    flagged, flagged_platform = _members(generic), _members(platform, prefix)
    assert len(flagged) >= 50
    assert flagged_platform == flagged


def test_bluesky_copy_of_a_case_gives_the_same_networks(tmp_path: Path) -> None:
    schema, posts = _case(tmp_path, 2)
    # A repost of Bluesky carries no content of its own (a retweet's text repeats the
    # original's), and Jetstream no engagement counts: the generic case gets the same.
    for post in posts:
        post |= {"engagement": None, "platform": "bluesky"}
        if post["kind"] == "share":
            post |= {"text": None, "lang": None, "urls": [], "urls_original": [],
                     "hashtags": [], "mentions": [], "media": []}  # fmt: skip
    generic, bluesky = _investigate_both(
        tmp_path, schema, posts, "jetstream.jsonl", _jetstream(posts)
    )
    edges = _edges(generic)
    assert len({e[2] for e in edges}) >= 4  # share, link, text, ... : the signals take part
    assert _edges(bluesky, "did:plc:") == edges
    _assert_same_flagged(generic, bluesky, "did:plc:")


def _mastodon(posts: list[dict[str, Any]]) -> str:
    """The posts as Mastodon statuses: HTML content with linked URLs, boosts, replies, quotes."""
    by_id = {p["post_id"]: p for p in posts}

    def account(aid: str) -> dict[str, Any]:
        return {"id": aid, "acct": aid, "username": aid, "display_name": aid}

    def content(text: str | None, urls: list[str]) -> str:
        body = html.escape(text or "", quote=False)
        for url in sorted(set(urls), key=len, reverse=True):
            escaped = html.escape(url, quote=False)
            body = body.replace(escaped, f'<a href="{html.escape(url)}">{escaped}</a>')
        return f"<p>{body}</p>"

    def status(p: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": p["post_id"],
            "created_at": p["timestamp"].strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "account": account(p["account_id"]),
            "content": content(p["text"], p["urls_original"] or []),
            "visibility": "public",
            "spoiler_text": "",
            "in_reply_to_id": p["reply_to_post_id"],
            "in_reply_to_account_id": p["reply_to_account_id"],
            "language": p["lang"],
            "tags": [{"name": t} for t in p["hashtags"] or []],
            "mentions": [{"id": m, "acct": m} for m in p["mentions"] or []],
            "media_attachments": [],
            "reblogs_count": p["engagement"],
            "reblog": None,
        }

    lines = []
    for p in posts:
        record = status(p)
        if p["kind"] == "share":
            original = by_id.get(p["shared_post_id"])
            record["reblog"] = status(original) if original else None
        elif p["kind"] == "quote" and p["shared_post_id"]:
            record["quote"] = {"state": "accepted", "quoted_status_id": p["shared_post_id"]}
        lines.append(json.dumps(record))
    return "\n".join(lines) + "\n"


def test_mastodon_copy_of_a_case_gives_the_same_co_actions(tmp_path: Path) -> None:
    schema, posts = _case(tmp_path, 3)
    # What a status can carry: a boost no content of its own (and only of a boosted status the
    # data has), no media id (docs), mentions lower-cased as the load stage keeps them.
    known = {p["post_id"] for p in posts}
    kept = []
    for post in posts:
        post |= {"media": [], "platform": "mastodon"}
        if post["kind"] == "share":
            if post["shared_post_id"] not in known:
                continue
            post |= {"text": None, "lang": None, "urls": [], "urls_original": [],
                     "hashtags": [], "mentions": [], "engagement": post["engagement"]}  # fmt: skip
        kept.append(post)
    generic, mastodon = _investigate_both(tmp_path, schema, kept, "statuses.jsonl", _mastodon(kept))
    edges = _edges(generic)
    assert len({e[2] for e in edges}) >= 4
    assert _edges(mastodon) == edges


def _reddit(posts: list[dict[str, Any]]) -> str:
    """The posts as a Pushshift dump: self posts, crossposts, and replies as comments."""
    kinds = {p["post_id"]: p["kind"] for p in posts}

    def fullname(post_id: str) -> str:
        return ("t1_" if kinds.get(post_id) == "reply" else "t3_") + post_id

    lines = []
    for p in posts:
        common = {"id": p["post_id"], "author": p["account_id"],
                  "created_utc": p["timestamp"].timestamp(), "subreddit": "news",
                  "score": p["engagement"]}  # fmt: skip
        if p["kind"] == "reply":
            parent = fullname(p["reply_to_post_id"])
            record = common | {"body": p["text"] or "", "parent_id": parent, "link_id": "t3_x"}
        else:
            record = common | {"title": p["text"] or "", "selftext": "", "is_self": True,
                               "num_comments": 0}  # fmt: skip
            if p["kind"] == "share":
                record |= {"crosspost_parent": fullname(p["shared_post_id"]), "title": ""}
        lines.append(json.dumps(record))
    return "\n".join(lines) + "\n"


def test_reddit_copy_of_a_case_gives_the_same_co_actions(tmp_path: Path) -> None:
    schema, posts = _case(tmp_path, 4)
    # What Reddit carries: no quotes (a quote is a post), no media, no language, no lists of
    # its own (hashtags and links come from the text), mentions only as u/name.
    for post in posts:
        post |= {"media": [], "lang": None, "platform": "reddit", "mentions": [],
                 "hashtags": None, "urls": None, "urls_original": None}  # fmt: skip
        if post["kind"] == "quote":
            post |= {"kind": "post", "shared_post_id": None, "shared_account_id": None}
        if post["kind"] == "share":
            post |= {"text": None, "hashtags": [], "urls": [], "urls_original": []}
    generic, reddit = _investigate_both(tmp_path, schema, posts, "RS.jsonl", _reddit(posts))
    edges = _edges(generic)
    assert len({e[2] for e in edges}) >= 4
    assert _edges(reddit) == edges


def _tiktok(posts: list[dict[str, Any]]) -> str:
    """The posts as Research API pages of 100 videos, and replies as Zeeschuimer comments."""
    videos, lines = [], []
    for p in posts:
        when = int(p["timestamp"].timestamp())
        if p["kind"] == "reply":
            comment = {
                "cid": p["post_id"],
                "aweme_id": "v0",
                "reply_id": p["reply_to_post_id"],
                "text": p["text"] or "",
                "create_time": when,
                "digg_count": p["engagement"],
                "user": {"unique_id": p["account_id"]},
            }
            lines.append({"source_platform": "tiktok-comments", "data": comment})
            continue
        sound = p["media"][0].removeprefix("music:") if p["media"] else None
        # no hashtag_names: the tags come from the description, as the generic file's do
        videos.append({"id": p["post_id"], "create_time": when, "username": p["account_id"],
                       "video_description": p["text"], "like_count": p["engagement"],
                       "music_id": sound})  # fmt: skip
    pages = [{"data": {"videos": videos[i : i + 100], "has_more": True}, "error": {"code": "ok"}}
             for i in range(0, len(videos), 100)]  # fmt: skip
    return "".join(json.dumps(o) + "\n" for o in [*pages, *lines])


def test_tiktok_copy_of_a_case_gives_the_same_co_actions(tmp_path: Path) -> None:
    schema, posts = _case(tmp_path, 5)
    # What TikTok carries: no reposts (the Research API has none), no quotes, one sound per
    # video as its media, no language, hashtags, mentions and links from the text.
    posts = [p for p in posts if p["kind"] != "share"]
    for post in posts:
        post |= {"lang": None, "platform": "tiktok", "hashtags": None, "mentions": None,
                 "urls": None, "urls_original": None}  # fmt: skip
        post["media"] = (
            [f"music:{post['media'][0]}"] if post["media"] and post["kind"] != "reply" else []
        )
        if post["kind"] == "quote":
            post |= {"kind": "post", "shared_post_id": None, "shared_account_id": None}
    generic, tiktok = _investigate_both(tmp_path, schema, posts, "tiktok.jsonl", _tiktok(posts))
    edges = _edges(generic)
    assert {"media", "reply", "text"} <= {e[2] for e in edges}
    assert _edges(tiktok) == edges
    _assert_same_flagged(generic, tiktok)


def _snowflake_time(snowflake: str) -> dt.datetime:
    """The time a Twitter id holds (the synthetic ids are snowflakes of their times)."""
    return dt.datetime.fromtimestamp(((int(snowflake) >> 22) + 1288834974657) / 1000, dt.UTC)


def _archive_list(values: list[str] | None) -> str:
    return "[" + ", ".join(values or []) + "]"


def _io_archive(posts: list[dict[str, Any]], accounts: list[dict[str, Any]]) -> tuple[str, str]:
    """The posts as a release's tweets file, times cut to the minute; the accounts as its users
    file, creation times cut to the day."""
    tweets = io.StringIO()
    out = csv.writer(tweets)
    out.writerow(["tweetid", "userid", "tweet_time", "tweet_text", "tweet_language",
                  "in_reply_to_tweetid", "in_reply_to_userid", "quoted_tweet_tweetid",
                  "is_retweet", "retweet_userid", "retweet_tweetid", "like_count", "hashtags",
                  "urls", "user_mentions"])  # fmt: skip
    for p in posts:
        share, quote = p["kind"] == "share", p["kind"] == "quote"
        out.writerow([
            p["post_id"], p["account_id"], p["timestamp"].strftime("%Y-%m-%d %H:%M"),
            p["text"], p["lang"], p["reply_to_post_id"], p["reply_to_account_id"],
            p["shared_post_id"] if quote else None, share,
            p["shared_account_id"] if share else None, p["shared_post_id"] if share else None,
            p["engagement"], _archive_list(p["hashtags"]),
            _archive_list([f"'{u}'" for u in p["urls_original"] or []]),
            _archive_list(p["mentions"]),
        ])  # fmt: skip
    users = io.StringIO()
    out = csv.writer(users)
    out.writerow(["userid", "user_display_name", "user_screen_name", "user_reported_location",
                  "user_profile_description", "follower_count",
                  "account_creation_date"])  # fmt: skip
    for a in accounts:
        day = a["created_at"].strftime("%Y-%m-%d")
        out.writerow([a["account_id"], a["display_name"], a["username"], a["location"],
                      a["description"], a["followers"], day])  # fmt: skip
    return tweets.getvalue(), users.getvalue()


def test_io_archive_copy_of_a_case_gives_the_same_networks(tmp_path: Path) -> None:
    # A release cuts tweet times to the minute and creation times to the day; the ids, genuine
    # snowflakes, give both back to the millisecond: the same edges and the same networks as
    # the case with its exact times.
    config = SynthConfig(accounts=600, days=3, posts=15_000, platform="twitter")
    files = write_scenario(generate("office", seed=6, config=config), tmp_path / "case")
    table = pq.read_table(next(f for f in files if f.name == "posts.parquet"))
    posts = table.sort_by([("timestamp", "ascending"), ("post_id", "ascending")]).to_pylist()
    # What an archive carries: no media, no author of a quoted tweet, only users.
    for post in posts:
        post |= {"timestamp": _snowflake_time(post["post_id"]), "media": []}
        if post["kind"] == "quote":
            post["shared_account_id"] = None
    read = pa_csv.read_csv(next(f for f in files if f.name == "accounts.csv"),
                           convert_options=pa_csv.ConvertOptions(
                               column_types={"account_id": pa.string()}))  # fmt: skip
    accounts = read.to_pylist()
    for account in accounts:
        account |= {"kind": "user", "profile_image": None,
                    "created_at": _snowflake_time(account["account_id"])}  # fmt: skip
        account |= {k: account[k] or None for k in ("description", "location")}
    generic = tmp_path / "generic-in"
    generic.mkdir()
    pq.write_table(pa.Table.from_pylist(posts, schema=table.schema), generic / "posts.parquet")
    pq.write_table(pa.Table.from_pylist(accounts), generic / "accounts.parquet")
    tweets, users = _io_archive(posts, accounts)
    archive = tmp_path / "archive-in"
    archive.mkdir()
    (archive / "op_tweets_csv_hashed.csv").write_text(tweets, encoding="utf-8")
    (archive / "op_users_csv_hashed.csv").write_text(users, encoding="utf-8")
    investigate(sorted(generic.iterdir()), tmp_path / "generic", cache=False)
    # This release holds the organic background too, which a real one does not: tested as the
    # generic case is, it must give the same networks.
    tested = DetectConfig(attributed="no")
    investigate(sorted(archive.iterdir()), tmp_path / "archive", detect_config=tested, cache=False)
    edges = _edges(tmp_path / "generic")
    assert {"share", "link", "text", "hashtag_seq"} <= {e[2] for e in edges}
    assert _edges(tmp_path / "archive") == edges
    flagged = _members(tmp_path / "generic")
    assert len(flagged) >= 50
    assert _members(tmp_path / "archive") == flagged
    # By default a case made only of takedown archives is read as attributed (every account
    # the platform's): the same edges, and its structure reported without the test.
    investigate(sorted(archive.iterdir()), tmp_path / "auto", cache=False)
    document = json.loads((tmp_path / "auto" / "networks.json").read_text(encoding="utf-8"))
    assert document["attributed"] is True and document["networks"]
    assert _edges(tmp_path / "auto") == edges
    generic_document = json.loads((tmp_path / "generic" / "networks.json").read_text("utf-8"))
    assert generic_document["attributed"] is False


def test_tiktok_trending_sounds_do_not_make_a_network(tmp_path: Path) -> None:
    # Sounds are the media of TikTok videos (docs/formats.md). An organic crowd posts on a few
    # hundred sounds of heavy-tailed popularity (the top sound on a fifth of all videos, about
    # one a minute), with the same few trending hashtags: thousands of accounts co-use a sound
    # within the window by chance. Twelve operators post in 15 bursts, each burst within 30 s
    # on a sound of its own. The operators, and only they, must be flagged.
    rng = random.Random(3)
    start = 1704067200
    words = ["the", "a", "to", "of", "and", "in", "is", "it", "you", "that", "he", "was"]
    tags = ["fyp", "foryou", "viral", "funny", "love", "dance", "food", "music", "trend", "cat"]
    sounds = range(7000000000000000000, 7000000000000000100)
    weights = [1 / (i + 1) for i in range(len(sounds))]
    hours = [1, 1, 1, 1, 1, 2, 3, 4, 5, 5, 5, 6, 6, 6, 6, 6, 7, 8, 9, 9, 8, 6, 4, 2]
    videos = []
    for account in range(10_000):
        for _ in range(min(int(rng.paretovariate(1.2)), 200)):
            when = start + rng.randrange(7) * 86400 + rng.choices(range(24), hours)[0] * 3600
            text = " ".join(rng.choices(words, k=8) + ["#" + t for t in rng.sample(tags, 3)])
            sound = rng.choices(sounds, weights)[0]
            videos.append({"username": f"user{account}", "create_time": when + rng.randrange(3600),
                           "video_description": text, "music_id": sound})  # fmt: skip
    for burst in range(15):
        when = start + rng.randrange(7 * 86400)
        for op in range(12):
            text = " ".join(rng.choices(words, k=8)) + " #vote #candidatex"
            sound = 7100000000000000000 + burst
            videos.append({"username": f"op{op}", "create_time": when + rng.randrange(30),
                           "video_description": text, "music_id": sound})  # fmt: skip
    rng.shuffle(videos)
    for i, video in enumerate(videos):
        video |= {"id": 7300000000000000000 + i, "like_count": 1, "region_code": "US"}
    pages = tmp_path / "videos.jsonl"
    with pages.open("w", encoding="utf-8") as out:
        for i in range(0, len(videos), 100):
            page = {"data": {"videos": videos[i : i + 100]}, "error": {"code": "ok"}}
            out.write(json.dumps(page) + "\n")
    investigate([pages], tmp_path / "out", cache=False)
    edges = _edges(tmp_path / "out")
    organic = [e for e in edges if e[2] == "media" and not e[0].startswith("op")]
    assert len(organic) >= 1_000  # chance co-uses of trending sounds are there
    assert _members(tmp_path / "out") == {f"op{op}" for op in range(12)}
