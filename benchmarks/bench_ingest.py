"""Benchmark of ``cibscan.ingest`` on generic posts: rows per second and peak memory.

Generates realistic generic post files (CSV and Parquet) of several sizes under a scratch
directory, then ingests each into a fresh case store in a fresh subprocess per measurement, so
that peak RSS (``resource.getrusage`` in the child) is the ingest's own and no warm cache is
shared between runs. Writes a Markdown table of medians.

Each data set of N rows is two files of N/2 rows: in the first the list columns (``hashtags``,
``mentions``, ``urls``) are given, in the second they are absent, so that extraction from the
text runs for half the rows, as it does for most real exports.

Usage::

    python benchmarks/bench_ingest.py --rows 10000000 --out docs/benchmarks-ingest.md

Not part of the test run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Final

import duckdb

REPO: Final = Path(__file__).resolve().parents[1]
DEFAULT_DATA: Final = REPO / "bench-data"  # gitignored
SEED_EPOCH: Final = 1_704_067_200  # 2024-01-01T00:00:00Z
SPAN_SECONDS: Final = 6 * 7 * 86_400  # six weeks of posts

_WORDS_TEXT: Final = (
    "the of and to in is that it for on was with as be at by this have from or one had not but "
    "what all were when we there can an your which their said if do will each about how up out "
    "them then she many some so these would other into has more her two like him see time could "
    "no make than first been its who now people my made over did down only way find use may "
    "water long little very after words called just where most know election vote news people "
    "government minister army peace war truth lies media freedom protest support today"
)
_TAGS_TEXT: Final = (
    "news politics election vote breaking iran russia ukraine gaza usa eu nato covid vaccine "
    "freedom truth fakenews protest economy climate ایران россия مصر 中国 türkiye"
)
_WORDS: Final = tuple(_WORDS_TEXT.split())
_TAGS: Final = tuple(_TAGS_TEXT.split())


def _sql_list(values: tuple[str, ...] | list[str]) -> str:
    return "[" + ", ".join("'" + v.replace("'", "''") + "'" for v in values) + "]"


def _posts_sql(start: int, rows: int, accounts: int, with_lists: bool, fmt: str) -> str:
    """A SELECT producing ``rows`` deterministic posts (ids from ``start``).

    Everything derives from ``hash(i, salt)`` so that the files are identical on every run,
    whatever the thread scheduling (``random()`` is not reproducible across threads).
    """
    words, tags = _sql_list(list(_WORDS)), _sql_list(list(_TAGS))
    u = "(hash(i, {s}) % 1000000) / 1000000.0"
    # A power law of activity: a few accounts post a lot, most post rarely.
    account = f"'u' || CAST(floor({accounts} * pow({u.format(s=1)}, 2.5)) AS BIGINT)"
    ts = f"to_timestamp({SEED_EPOCH} + CAST(hash(i, 2) % {SPAN_SECONDS} AS BIGINT))"
    body = (
        f"array_to_string(list_transform(range(CAST(12 + hash(i, 3) % 8 AS BIGINT)),"
        f" lambda x: {words}[1 + CAST(hash(i, x, 4) % {len(_WORDS)} AS BIGINT)]), ' ')"
    )
    tag = f"{tags}[1 + CAST(hash(i, 5) % {len(_TAGS)} AS BIGINT)]"
    tag2 = f"{tags}[1 + CAST(hash(i, 6) % {len(_TAGS)} AS BIGINT)]"
    mention = f"'u' || CAST(floor({accounts} * pow({u.format(s=7)}, 2.5)) AS BIGINT)"
    # Shared links: ~5% of posts' worth of distinct URLs, with tracking parameters and www.
    link = (
        "'https://www.site' || CAST(hash(i, 8) % 500 AS BIGINT) || '.com/article/'"
        f" || CAST(hash(i, 9) % {max(rows // 20, 1)} AS BIGINT)"
        " || CASE WHEN hash(i, 10) % 2 = 0 THEN '?utm_source=tw&id=' ||"
        " CAST(hash(i, 11) % 3 AS BIGINT) ELSE '/' END"
    )
    has_tag, has_mention, has_link = (
        "hash(i, 12) % 10 < 3",
        "hash(i, 13) % 10 < 2",
        ("hash(i, 14) % 100 < 15"),
    )
    text = (
        f"{body} || CASE WHEN {has_tag} THEN ' #' || {tag} || ' #' || {tag2} ELSE '' END"
        f" || CASE WHEN {has_mention} THEN ' @' || {mention} ELSE '' END"
        f" || CASE WHEN {has_link} THEN ' ' || {link} ELSE '' END"
    )
    share = "hash(i, 15) % 10 = 0"
    columns = [
        "CAST(1700000000000000000 + i AS VARCHAR) AS post_id",
        f"{account} AS account_id",
        (
            f"{ts} AS timestamp"
            if fmt == "parquet"
            else f"strftime({ts}, '%Y-%m-%dT%H:%M:%SZ') AS timestamp"
        ),
        f"CASE WHEN {share} THEN 'share' ELSE 'post' END AS kind",
        f"{text} AS text",
        f"CASE WHEN {share} THEN CAST(1700000000000000000 + hash(i, 16) % {start + rows} AS"
        " VARCHAR) END AS shared_post_id",
        "CASE WHEN hash(i, 17) % 3 = 0 THEN 'en' ELSE 'fa' END AS lang",
        "CAST(hash(i, 18) % 1000 AS BIGINT) AS engagement",
    ]
    if with_lists:
        tag_list = f"CASE WHEN {has_tag} THEN [lower({tag}), lower({tag2})] ELSE []::VARCHAR[] END"
        mention_list = f"CASE WHEN {has_mention} THEN [{mention}] ELSE []::VARCHAR[] END"
        url_list = f"CASE WHEN {has_link} THEN [{link}] ELSE []::VARCHAR[] END"
        if fmt == "parquet":
            columns += [
                f"{tag_list} AS hashtags",
                f"{mention_list} AS mentions",
                f"{url_list} AS urls",
            ]
        else:
            # CSV list cells: space-separated words, and a JSON array for the URLs.
            columns += [
                f"array_to_string({tag_list}, ' ') AS hashtags",
                f"array_to_string({mention_list}, ' ') AS mentions",
                f"CAST(to_json({url_list}) AS VARCHAR) AS urls",
            ]
    return f"SELECT {', '.join(columns)} FROM range({start}, {start + rows}) t(i) ORDER BY i"


def _crowdtangle_sql(start: int, rows: int, accounts: int, with_links: bool) -> str:
    """The same posts as a CrowdTangle Facebook Pages export (format ``crowdtangle``).

    Times in the dashboard's zone with its abbreviation (EST: the six weeks are in winter),
    counts with thousands separators, and (``with_links``) the message's URL also given as the
    attached link, which the reader puts first.
    """
    posts = _posts_sql(start, rows, accounts, False, "csv")
    link = "regexp_extract(text, 'https?://[^ ]+')" if with_links else "NULL"
    return f"""
        SELECT 'Page ' || account_id AS "Page Name", account_id AS "User Name",
               substr(account_id, 2) AS "Facebook Id",
               strftime(CAST(timestamp AS TIMESTAMP) - INTERVAL 5 HOUR, '%Y-%m-%d %H:%M:%S')
                   || ' EST' AS "Post Created",
               CASE WHEN kind = 'share' THEN 'Link' ELSE 'Status' END AS "Type",
               format('{{:,}}', engagement * 37) AS "Total Interactions",
               'https://www.facebook.com/' || account_id || '/posts/' || post_id AS "URL",
               text AS "Message", nullif({link}, '') AS "Link", NULL AS "Final Link"
        FROM ({posts})
    """


def _mcl_sql(start: int, rows: int, accounts: int) -> str:
    """The same posts as a Meta Content Library CSV of Facebook posts (format ``mcl``).

    Shares are reshares (``shared_post_id``); every post has its owner and a surface (the
    owner's own Page), its reaction, comment and share counts.
    """
    posts = _posts_sql(start, rows, accounts, False, "csv")
    return f"""
        SELECT 'status' AS content_type,
               strftime(CAST(timestamp AS TIMESTAMP), '%Y-%m-%dT%H:%M:%S+0000') AS creation_time,
               post_id AS id, 'en' AS lang, NULL AS "link_attachment.link",
               'https://mcl.example/' || post_id AS mcl_url, 'page' AS "post_owner.type",
               substr(account_id, 2) AS "post_owner.id", 'Page ' || account_id AS "post_owner.name",
               account_id AS "post_owner.username", shared_post_id,
               engagement AS "statistics.reaction_count", 0 AS "statistics.comment_count",
               0 AS "statistics.share_count", 'page' AS "surface.type",
               substr(account_id, 2) AS "surface.id", 'Page ' || account_id AS "surface.name",
               CASE WHEN kind = 'share' THEN NULL ELSE text END AS text
        FROM ({posts})
    """


def _io_archive_sql(start: int, rows: int, accounts: int) -> str:
    """The same posts as a Twitter information-operations release (format ``io-archive``).

    Tweet ids are snowflakes of the posts' times; ``tweet_time`` is cut to the minute, as the
    releases cut it, so that the reader takes every time back from its id. The author's profile
    (screen name, display name, follower count, creation date) is on every row; lists are the
    release's Python-like cells; shares are retweets of the shared post.
    """
    posts = _posts_sql(start, rows, accounts, True, "parquet")
    # unique ids from the post's number n: its milliseconds within the second (the posts' times
    # are whole seconds) and the sequence bits; n below 4,096,000 never repeats
    n = "(CAST(post_id AS BIGINT) - 1700000000000000000)"
    snowflake = f"((epoch_ms(timestamp) + {n} % 1000 - 1288834974657) << 22) + ({n} // 1000) % 4096"
    return f"""
        SELECT CAST({snowflake} AS VARCHAR) AS tweetid, account_id AS userid,
               'Name ' || account_id AS user_display_name, account_id AS user_screen_name,
               '' AS user_reported_location, '' AS user_profile_description,
               CAST(hash(account_id) % 5000 AS BIGINT) AS follower_count,
               '2019-06-01' AS account_creation_date, lang AS tweet_language,
               text AS tweet_text, strftime(timestamp, '%Y-%m-%d %H:%M') AS tweet_time,
               'Twitter Web App' AS tweet_client_name, NULL AS in_reply_to_userid,
               NULL AS in_reply_to_tweetid, NULL AS quoted_tweet_tweetid,
               kind = 'share' AS is_retweet,
               CASE WHEN kind = 'share' THEN 'u0' END AS retweet_userid,
               shared_post_id AS retweet_tweetid, 0 AS quote_count, 0 AS reply_count,
               engagement AS like_count, 0 AS retweet_count,
               '[' || array_to_string(hashtags, ', ') || ']' AS hashtags,
               '[' || array_to_string(list_transform(urls, lambda u: chr(39) || u || chr(39)), ', ')
                   || ']' AS urls,
               '[' || array_to_string(mentions, ', ') || ']' AS user_mentions
        FROM ({posts})
    """


def _bluesky_sql(start: int, rows: int, accounts: int) -> str:
    """The same posts as Jetstream events (format ``bluesky``), one JSON text per line.

    Shares are reposts; the hashtags, mentions and links of the text are facets, as Bluesky's
    clients write them. Every post is followed by a like of it, which is not a row: half of the
    lines are read and skipped, as in a Jetstream dump with likes (most of the firehose).
    """
    posts = _posts_sql(start, rows, accounts, True, "parquet")
    stamp = "strftime(timestamp, '%Y-%m-%dT%H:%M:%S.000Z')"
    uri = "'at://did:plc:' || account_id || '/app.bsky.feed.post/' || post_id"

    def facet(kind: str, key: str, value: str) -> str:
        return (
            "{'index': {'byteStart': 0, 'byteEnd': 1}, 'features': [{'$type':"
            f" 'app.bsky.richtext.facet#{kind}', '{key}': {value}}}]}}"
        )

    def event(collection: str, rkey: str, record: str) -> str:
        return (
            "{'did': 'did:plc:' || account_id, 'time_us': epoch_us(timestamp), 'kind': 'commit',"
            f" 'commit': {{'rev': '3kaaa', 'operation': 'create', 'collection': '{collection}',"
            f" 'rkey': {rkey}, 'record': {record}, 'cid': 'bafyreirecord'}}}}"
        )

    mention_did = "'did:plc:' || m"
    facets = (
        f"list_transform(hashtags, lambda t: {facet('tag', 'tag', 't')})"
        f" || list_transform(mentions, lambda m: {facet('mention', 'did', mention_did)})"
        f" || list_transform(urls, lambda u: {facet('link', 'uri', 'u')})"
    )
    post = event(
        "app.bsky.feed.post",
        "post_id",
        f"{{'$type': 'app.bsky.feed.post', 'text': text, 'createdAt': {stamp},"
        f" 'langs': [lang], 'facets': {facets}}}",
    )
    repost = event(
        "app.bsky.feed.repost",
        "post_id",
        f"{{'$type': 'app.bsky.feed.repost', 'createdAt': {stamp}, 'subject': {{'uri':"
        " 'at://did:plc:u0/app.bsky.feed.post/' || shared_post_id, 'cid': 'bafyrei'}}",
    )
    like = event(
        "app.bsky.feed.like",
        "'l' || post_id",
        f"{{'$type': 'app.bsky.feed.like', 'createdAt': {stamp}, 'subject': {{'uri': {uri},"
        " 'cid': 'bafyrei'}}",
    )
    return f"""
        SELECT line FROM (
            SELECT post_id, 0 AS k, CAST(to_json({post}) AS VARCHAR) AS line
                FROM ({posts}) WHERE kind <> 'share'
            UNION ALL SELECT post_id, 0, CAST(to_json({repost}) AS VARCHAR) FROM ({posts})
                WHERE kind = 'share'
            UNION ALL SELECT post_id, 1, CAST(to_json({like}) AS VARCHAR) FROM ({posts})
        ) ORDER BY post_id, k
    """


def _reddit_sql(start: int, rows: int, accounts: int) -> str:
    """The same posts as a Pushshift dump (format ``reddit``), one JSON text per line.

    Shares are comments on the shared post; the other posts are submissions, link posts when
    the text has a link.
    """
    posts = _posts_sql(start, rows, accounts, True, "parquet")
    submission = (
        "{'id': post_id, 'author': account_id, 'created_utc': epoch(timestamp),"
        " 'subreddit': 'news', 'title': text, 'selftext': '', 'is_self': len(urls) = 0,"
        " 'url': coalesce(urls[1], 'https://www.reddit.com/r/news/comments/' || post_id),"
        " 'score': engagement, 'num_comments': 0}"
    )
    comment = (
        "{'id': post_id, 'author': account_id, 'created_utc': epoch(timestamp),"
        " 'subreddit': 'news', 'body': text, 'link_id': 't3_' || shared_post_id,"
        " 'parent_id': 't3_' || shared_post_id, 'score': engagement}"
    )
    return f"""
        SELECT line FROM (
            SELECT post_id, CAST(to_json({submission}) AS VARCHAR) AS line
                FROM ({posts}) WHERE kind <> 'share'
            UNION ALL SELECT post_id, CAST(to_json({comment}) AS VARCHAR) FROM ({posts})
                WHERE kind = 'share'
        ) ORDER BY post_id
    """


def _youtube_sql(start: int, rows: int, accounts: int) -> str:
    """The same posts as YouTube comment threads (format ``youtube``), one JSON text per line.

    Each post is a top-level comment on one of ``rows / 50`` videos (a share: on the video of
    the shared post's number).
    """
    posts = _posts_sql(start, rows, accounts, False, "parquet")
    videos = max(rows // 50, 1)
    video = f"'v' || CAST(hash(coalesce(shared_post_id, post_id)) % {videos} AS VARCHAR)"
    comment = (
        "{'kind': 'youtube#comment', 'id': post_id, 'snippet': {'authorDisplayName': '@' ||"
        " account_id, 'authorChannelId': {'value': 'UC' || account_id}, 'textDisplay': text,"
        " 'textOriginal': text, 'likeCount': engagement,"
        " 'publishedAt': strftime(timestamp, '%Y-%m-%dT%H:%M:%SZ')}}"
    )
    thread = (
        f"{{'kind': 'youtube#commentThread', 'id': post_id, 'snippet': {{'videoId': {video},"
        f" 'channelId': 'UCowner', 'totalReplyCount': 0, 'topLevelComment': {comment}}}}}"
    )
    return f"SELECT CAST(to_json({thread}) AS VARCHAR) AS line FROM ({posts}) ORDER BY post_id"


def _tiktok_sql(start: int, rows: int, accounts: int) -> str:
    """The same posts as TikTok Research API videos (format ``tiktok``), one per line.

    Each video has one of ``rows / 20`` sounds and the counts of the Research API.
    """
    posts = _posts_sql(start, rows, accounts, False, "parquet")
    sounds = max(rows // 20, 1)
    video = (
        "{'id': CAST(post_id AS VARCHAR), 'create_time': epoch(timestamp)::BIGINT,"
        " 'username': 'u' || account_id, 'region_code': 'KE', 'video_description': text,"
        f" 'music_id': 7000000000000000000 + hash(post_id) % {sounds},"
        " 'like_count': engagement, 'comment_count': 0, 'share_count': 0, 'view_count': 100,"
        " 'hashtag_names': []::VARCHAR[], 'effect_ids': ['0']}"
    )
    return f"SELECT CAST(to_json({video}) AS VARCHAR) AS line FROM ({posts}) ORDER BY post_id"


def generate(data_dir: Path, rows: int, fmt: str, accounts: int) -> list[Path]:
    """Write the two files of a data set (if missing) and return their paths."""
    data_dir.mkdir(parents=True, exist_ok=True)
    half = rows // 2
    paths = []
    for part, (start, count, lists) in enumerate(((0, half, True), (half, rows - half, False))):
        ext = {"parquet": "parquet", **dict.fromkeys(_LINES, "jsonl")}
        prefix = {
            "crowdtangle": "ct-posts",
            "mcl": "mcl-posts",
            "io-archive": "io-archive",
            "bluesky": "bsky-events",
            "reddit": "reddit",
            "youtube": "youtube",
            "mastodon": "mastodon",
            "tiktok": "tiktok",
        }.get(fmt, "posts")
        path = data_dir / f"{prefix}-{rows}-{'ab'[part]}.{ext.get(fmt, 'csv')}"
        if not path.exists():
            tmp = path.with_suffix(".tmp")
            options = (
                "FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 122880"
                if fmt == "parquet"
                else "FORMAT csv, HEADER true"
            )
            con = duckdb.connect()
            con.execute("SET preserve_insertion_order = true")
            if fmt in _LINES:
                lines_sql = _LINES[fmt](start, count, accounts)
                reader = con.sql(lines_sql).to_arrow_reader()
                with tmp.open("w", encoding="utf-8") as out:
                    for batch in reader:
                        out.writelines(line + "\n" for line in batch.column(0).to_pylist())
                con.close()
                tmp.rename(path)
                paths.append(path)
                continue
            select = (
                _crowdtangle_sql(start, count, accounts, lists)
                if fmt == "crowdtangle"
                else _mcl_sql(start, count, accounts)
                if fmt == "mcl"
                else _io_archive_sql(start, count, accounts)
                if fmt == "io-archive"
                else _posts_sql(start, count, accounts, lists, fmt)
            )
            con.execute(f"COPY ({select}) TO '{tmp}' ({options})")
            con.close()
            tmp.rename(path)
        paths.append(path)
    return paths


def _mastodon_sql(start: int, rows: int, accounts: int) -> str:
    """The same posts as Mastodon statuses (format ``mastodon``), one JSON text per line.

    Shares are boosts, each carrying a short boosted status; hashtags are ``tags``, mentions
    ``mentions``, the text is HTML paragraphs.
    """
    posts = _posts_sql(start, rows, accounts, True, "parquet")
    account = (
        "{'id': account_id, 'username': account_id, 'acct': account_id, 'display_name':"
        " account_id, 'created_at': '2022-11-01T00:00:00.000Z', 'followers_count': 1}"
    )
    status = (
        "{'id': post_id, 'created_at': strftime(timestamp, '%Y-%m-%dT%H:%M:%S.000Z'),"
        f" 'account': {account}, 'content': '<p>' || text || '</p>', 'visibility': 'public',"
        " 'spoiler_text': '', 'in_reply_to_id': NULL, 'in_reply_to_account_id': NULL,"
        " 'language': lang, 'reblogs_count': engagement, 'favourites_count': 0,"
        " 'replies_count': 0,"
        " 'tags': list_transform(hashtags, lambda t: {'name': t}),"
        " 'mentions': list_transform(mentions, lambda m: {'id': m, 'acct': m}),"
        " 'media_attachments': [], 'reblog': @REBLOG}"
    )
    boosted = (
        "{'id': shared_post_id, 'created_at': '2024-01-01T00:00:00.000Z', 'account': {'id':"
        " 'u0', 'acct': 'u0'}, 'content': '<p>original</p>', 'visibility': 'public'}"
    )
    line = (
        f"CASE WHEN kind = 'share' THEN CAST(to_json({status.replace('@REBLOG', boosted)})"
        f" AS VARCHAR) ELSE CAST(to_json({status.replace('@REBLOG', 'NULL')}) AS VARCHAR) END"
    )
    return f"SELECT {line} AS line FROM ({posts}) ORDER BY post_id"


#: The formats written as JSON lines, and the SQL of their lines.
_LINES: Final = {
    "bluesky": _bluesky_sql,
    "reddit": _reddit_sql,
    "youtube": _youtube_sql,
    "mastodon": _mastodon_sql,
    "tiktok": _tiktok_sql,
}


def child(
    paths: list[str], case_path: str, memory_limit: str | None, threads: int | None, tz: str
) -> None:
    """Run one ingest in this (fresh) process and print its figures as JSON."""
    import cibscan
    from cibscan.config import IngestConfig
    from cibscan.ingest import ingest

    before = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    case = cibscan.open_case(case_path, memory_limit=memory_limit, threads=threads)
    with case:
        report = ingest(paths, case, IngestConfig(tz=tz))
    seconds = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_SELF)
    # Not ru_maxrss: a child inherits its parent's peak through fork and exec (the parent
    # generated the data). VmHWM is this process's own.
    from _measure import own_peak_mb

    # CPU seconds (all threads) are far less sensitive than wall time to other processes
    # sharing the machine.
    cpu = usage.ru_utime + usage.ru_stime - before.ru_utime - before.ru_stime
    print(
        json.dumps(
            {
                "rows": report.read,
                "ingested": report.ingested,
                "seconds": seconds,
                "cpu": cpu,
                "peak_mb": own_peak_mb(),
            }
        )
    )


def measure(
    paths: list[Path], work: Path, memory_limit: str | None, threads: int | None, tz: str = "UTC"
) -> dict[str, Any]:
    case_path = work / "bench-case.duckdb"
    for leftover in (case_path, case_path.with_suffix(".duckdb.wal")):
        leftover.unlink(missing_ok=True)
    cmd = [sys.executable, __file__, "--child", "--case", str(case_path), "--tz", tz]
    if memory_limit:
        cmd += ["--memory-limit", memory_limit]
    if threads:
        cmd += ["--threads", str(threads)]
    cmd += ["--paths", *map(str, paths)]
    done = subprocess.run(cmd, check=True, capture_output=True, text=True)
    case_path.unlink(missing_ok=True)
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


BEGIN: Final = "<!-- bench-ingest:begin -->"
END: Final = "<!-- bench-ingest:end -->"


def write_results(out: Path, block: str) -> None:
    """Put ``block`` between the markers of ``out`` (kept prose around them), or create it."""
    text = out.read_text(encoding="utf-8") if out.exists() else ""
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        tail = rest.split(END, 1)[1]
        text = f"{head}{BEGIN}\n{block}{END}{tail}"
    else:
        text = f"{text}{BEGIN}\n{block}{END}\n"
    out.write_text(text, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rows", type=int, default=10_000_000, help="largest data set")
    parser.add_argument(
        "--sizes", type=str, default=None, help="comma-separated sizes (default: 1M, 3M and --rows)"
    )
    parser.add_argument(
        "--formats",
        default="parquet,csv",
        help=(
            "comma-separated: parquet, csv, crowdtangle, bluesky, reddit, youtube, mastodon, "
            "tiktok, mcl, io-archive"
        ),
    )
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--accounts", type=int, default=200_000)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument(
        "--memory-limit",
        default="2GB",
        help="DuckDB memory_limit of the case store ('' for DuckDB's default)",
    )
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument(
        "--tz",
        default="UTC",
        help="--tz of the ingest (a zone with clock changes checks skipped and repeated times)",
    )
    parser.add_argument("--clean", action="store_true", help="delete the data afterwards")
    parser.add_argument("--out", type=Path, default=None, help="Markdown file for the table")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--case", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--paths", nargs="*", default=[], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.paths, args.case, args.memory_limit or None, args.threads, args.tz)
        return

    sizes = (
        [int(float(s)) for s in args.sizes.split(",")]
        if args.sizes
        else sorted({s for s in (1_000_000, 3_000_000, args.rows) if s <= args.rows})
    )
    results: list[dict[str, Any]] = []
    for fmt in args.formats.split(","):
        for rows in sizes:
            t0 = time.perf_counter()
            paths = generate(args.data, rows, fmt, args.accounts)
            print(f"# {fmt} {rows:,} rows ready ({time.perf_counter() - t0:.0f} s)", flush=True)
            runs = [
                measure(paths, args.data, args.memory_limit, args.threads, args.tz)
                for _ in range(args.runs)
            ]
            for run in runs:
                if run["rows"] != rows or run["ingested"] != rows:
                    raise SystemExit(f"accounting mismatch: {run}")
            seconds = statistics.median(r["seconds"] for r in runs)
            peak = statistics.median(r["peak_mb"] for r in runs)
            cpu = statistics.median(r["cpu"] for r in runs)
            row = {
                "format": fmt,
                "rows": rows,
                "bytes": sum(p.stat().st_size for p in paths),
                "seconds": seconds,
                "rows_per_s": rows / seconds,
                "cpu": cpu,
                "rows_per_cpu_s": rows / cpu,
                "peak_mb": peak,
                "runs": [round(r["seconds"], 2) for r in runs],
            }
            results.append(row)
            print(json.dumps(row), flush=True)

    table = [
        "| format | rows | input MB | seconds | rows/s | CPU seconds | rows per CPU second"
        " | peak RSS MB | runs (s) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for r in results:
        table.append(
            f"| {r['format']} | {r['rows']:,} | {r['bytes'] / 1e6:,.0f} | {r['seconds']:.1f} |"
            f" {r['rows_per_s']:,.0f} | {r['cpu']:.1f} | {r['rows_per_cpu_s']:,.0f} |"
            f" {r['peak_mb']:,.0f} |"
            f" {', '.join(str(s) for s in r['runs'])} |"
        )
    text = "\n".join(table)
    print(text)
    if args.out:
        machine = (
            f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()},"
            f" DuckDB {duckdb.__version__}, memory_limit={args.memory_limit or 'default'},"
            f" {args.runs} runs per row, {time.strftime('%Y-%m-%d')}"
        )
        write_results(args.out, f"<!-- {machine} -->\n{text}\n")
    if args.clean:
        shutil.rmtree(args.data)


if __name__ == "__main__":
    main()
