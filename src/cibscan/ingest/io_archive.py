"""Twitter's information-operations archive: the CSV files of its state-backed takedown releases.

A release has a tweets file, one row per tweet with its author's profile repeated on every row
(``user_screen_name``, ``follower_count``, ...): the tweets become posts and the profiles
embedded account rows; and a users file, one row per account of the release (those that never
tweeted too): accounts.
List cells look like Python lists, quoted or not (``[tag1, tag2]``, ``['a', 'b']``).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Final

import pyarrow as pa
import pyarrow.compute as pc

from cibscan.ingest.ira import epoch_text, id_times, within_the_minute
from cibscan.ingest.readers import (
    CsvFormat,
    RawBatch,
    ReadItem,
    ReadOptions,
    batch_then_rejects,
    read_csv_records,
    rejects_after_batches,
    require_columns,
)
from cibscan.ingest.source import Sample

__all__ = ["IoArchiveFormat", "parse_archive_list", "refined_times", "sum_counts"]

REQUIRED: Final = ("tweetid", "userid", "tweet_time")
#: The release's users file (``*_users_csv_hashed.csv``): one row per account, tweets or none.
USERS_REQUIRED: Final = ("userid", "user_screen_name", "account_creation_date")
#: Archive column -> canonical posts column; ``_``-names are read for the reader's own use.
POSTS: Final = {
    "tweetid": "post_id",
    "userid": "account_id",
    "tweet_time": "timestamp",
    "tweet_text": "text",
    "tweet_language": "lang",
    "in_reply_to_tweetid": "reply_to_post_id",
    "in_reply_to_userid": "reply_to_account_id",
    "hashtags": "hashtags",
    "urls": "urls_original",
    "user_mentions": "mentions",
    "is_retweet": "_is_retweet",
    "retweet_tweetid": "_retweet_tweetid",
    "retweet_userid": "_retweet_userid",
    "quoted_tweet_tweetid": "_quoted_tweetid",
    "quote_count": "_quote_count",
    "reply_count": "_reply_count",
    "like_count": "_like_count",
    "retweet_count": "_retweet_count",
}
ACCOUNTS: Final = {
    "userid": "account_id",
    "user_screen_name": "username",
    "user_display_name": "display_name",
    "user_reported_location": "location",
    "user_profile_description": "description",
    "follower_count": "followers",
    "account_creation_date": "created_at",
}
#: The app a tweet was posted with ("Twitter Web App", an operator's own tool), as an
#: ``infra`` row of its account: the posting software is infrastructure the platform saw.
CLIENT: Final = {"userid": "account_id", "tweet_client_name": "user_agent"}
_LIST_COLUMNS: Final = ("hashtags", "urls_original", "mentions")
_COUNTS: Final = ("_quote_count", "_reply_count", "_like_count", "_retweet_count")
_TRUE: Final = ["true", "t", "1", "yes"]
_FALSE: Final = ["false", "f", "0", "no"]


def parse_archive_list(values: pa.Array) -> pa.Array:
    """Parse list cells such as ``[a, b]`` or ``['a', 'b']`` into lists of strings.

    An empty cell stays missing (the load stage then extracts from the text); ``[]`` becomes a
    list of one empty string, which the load stage drops like every empty element. Elements are
    split on commas, so an element that contains a comma (a rare URL) is cut in two.

    Examples
    --------
    >>> import pyarrow as pa
    >>> parse_archive_list(pa.array(["[Iran, Tehran]", "['a', 'b']", "[]", None])).to_pylist()
    [['Iran', 'Tehran'], ['a', 'b'], [''], None]
    """
    inner = pc.utf8_trim(pc.utf8_trim_whitespace(values), characters="[]")
    parts = pc.split_pattern(inner, pattern=",")
    cleaned = pc.utf8_trim(pc.list_flatten(parts), characters=" \t'\"")
    return pa.ListArray.from_arrays(parts.offsets, cleaned, mask=pc.is_null(parts))


def _count_or_none(raw: str | None) -> int | None:
    """A count cell as an integer (``3`` or ``3.0``); ``None`` when empty or not a count."""
    if raw is None:
        return None
    try:
        number = float(raw)
    except ValueError:
        return None
    return int(number) if number.is_integer() else None


def sum_counts(
    batch: pa.RecordBatch, columns: Sequence[str]
) -> tuple[pa.Array | None, dict[int, tuple[str, str]]]:
    """Sum the count columns of a batch that it has; return the sums and the bad cells.

    The columns are named with a leading ``_`` (the reader's own); a bad cell is given by its
    row index, as (its column without the ``_``, its text). A missing count adds nothing; a
    row without any count has no sum.
    """
    present = [c for c in columns if c in batch.schema.names]
    if not present:
        return None, {}
    total: pa.Array | None = None
    bad: dict[int, tuple[str, str]] = {}
    for name in present:
        column = batch.column(name)
        try:
            numbers = pc.cast(pc.cast(column, pa.float64()), pa.int64())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            # Rare: find the cells that are not counts, row by row, and let the rest through.
            values: list[int | None] = []
            for index, raw in enumerate(column.to_pylist()):
                values.append(_count_or_none(raw))
                if raw is not None and values[-1] is None:
                    bad.setdefault(index, (name[1:], raw))
            numbers = pa.array(values, pa.int64())
        # A missing count adds nothing; a row without any count has no engagement.
        total = (
            numbers if total is None else pc.add(pc.fill_null(total, 0), pc.fill_null(numbers, 0))
        )
    if total is not None and len(present) > 1:
        none = None
        for name in present:
            missing = pc.is_null(batch.column(name))
            none = missing if none is None else pc.and_(none, missing)
        total = pc.if_else(none, pa.scalar(None, pa.int64()), total)
    return total, bad


#: ``tweet_time`` cut to the minute, as the releases write it.
_MINUTE_FORMATS: Final = ("%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M")


def refined_times(times: pa.Array, ids: pa.Array, tz: str = "UTC") -> pa.Array:
    """``tweet_time`` to the millisecond where the tweet id holds it.

    The releases cut ``tweet_time`` to the minute, which would make every two tweets of one
    minute co-act within any window shorter than it. Where a time is so cut and the tweet id, a
    snowflake, holds a time within that minute (the minute read in ``tz``, the ingest's
    ``--tz``; of a minute that a clock change repeats, either reading), the id's time is taken;
    any other value (seconds given, an id that is no snowflake or falls outside the minute) is
    left to the load stage as it is, which reads it in ``tz`` too.

    Examples
    --------
    >>> import pyarrow as pa
    >>> refined_times(pa.array(["2017-10-01 19:58", "2017-10-01 19:57", "2017-10-01 19:58"]),
    ...               pa.array(["914580356430536707", "914580356430536707", "101"])).to_pylist()
    ['1506887923711000', '2017-10-01 19:57', '2017-10-01 19:58']
    >>> refined_times(pa.array(["2017-10-01 21:58"]), pa.array(["914580356430536707"]),
    ...               "Europe/Berlin").to_pylist()
    ['1506887923711000']
    """
    text = pc.utf8_trim_whitespace(times)
    parsed = pa.nulls(len(text), pa.timestamp("ms"))
    for fmt in _MINUTE_FORMATS:
        parsed = pc.coalesce(parsed, pc.strptime(text, format=fmt, unit="ms", error_is_null=True))
    # the minute in UTC: under another zone both readings of a repeated minute (the id tells)
    readings = (
        [parsed]
        if tz == "UTC"
        else [
            pc.cast(
                pc.assume_timezone(parsed, timezone=tz, ambiguous=side, nonexistent=side),
                pa.timestamp("ms"),
            )
            for side in ("earliest", "latest")
        ]
    )
    exact = id_times(ids)
    within = within_the_minute(readings[0], exact)
    for reading in readings[1:]:
        within = pc.or_(within, within_the_minute(reading, exact))
    if not pc.any(within).as_py():
        return times
    return pc.if_else(within, epoch_text(exact), times)


def _posts_batch(batch: pa.RecordBatch, table: str, tz: str) -> Iterator[ReadItem]:
    """Derive kind, shared ids, lists and engagement; reject rows whose cells are malformed."""
    names = batch.schema.names
    n = batch.num_rows
    null = pa.nulls(n, pa.string())

    def column(name: str) -> pa.Array:
        return batch.column(name) if name in names else null

    rejects: dict[int, tuple[str, str]] = {}
    flag = pc.utf8_lower(pc.utf8_trim_whitespace(column("_is_retweet")))
    retweet = pc.fill_null(pc.is_in(flag, pa.array(_TRUE)), False)
    known = pc.or_(pc.or_(retweet, pc.is_in(flag, pa.array(_FALSE))), pc.is_null(flag))
    for index in pc.indices_nonzero(pc.invert(known)).to_pylist():
        rejects[index] = ("is_retweet", column("_is_retweet")[index].as_py())
    quoted = pc.is_valid(column("_quoted_tweetid"))
    replied = pc.is_valid(column("reply_to_post_id"))
    kind = pc.if_else(
        retweet,
        "share",
        pc.if_else(quoted, "quote", pc.if_else(replied, "reply", "post")),
    )
    shared_post = pc.if_else(retweet, column("_retweet_tweetid"), column("_quoted_tweetid"))
    shared_account = pc.if_else(retweet, column("_retweet_userid"), null)
    engagement, bad_counts = sum_counts(batch, _COUNTS)
    for index, cell in bad_counts.items():
        rejects.setdefault(index, cell)
    out_names = [c for c in names if not c.startswith("_")]  # the reader's own columns
    arrays = [
        parse_archive_list(batch.column(c)) if c in _LIST_COLUMNS else batch.column(c)
        for c in out_names
    ]
    if "timestamp" in out_names and "post_id" in out_names:
        at = out_names.index("timestamp")
        arrays[at] = refined_times(arrays[at], batch.column("post_id"), tz)
    arrays += [kind, shared_post, shared_account]
    out_names += ["kind", "shared_post_id", "shared_account_id"]
    if engagement is not None:
        arrays.append(engagement)
        out_names.append("engagement")
    columns = dict(zip(out_names, arrays, strict=True)) | {"_row": batch.column("_row")}
    reasons = {
        index: (
            name,
            value,
            "not true or false" if name == "is_retweet" else "not an integer count",
        )
        for index, (name, value) in rejects.items()
    }
    yield from batch_then_rejects(table, columns, reasons)


class IoArchiveFormat:
    """Twitter's information-operations archive CSV (tweetid, userid, tweet_time, ...)."""

    name = "io-archive"
    description = "Twitter information-operations archive CSV (tweetid, userid, tweet_time, ...)"
    row_label = "row"

    def sniff(self, sample: Sample) -> bool:
        names = CsvFormat.sniffed_header(sample)
        return names is not None and (
            set(REQUIRED) <= set(names) or set(USERS_REQUIRED) <= set(names)
        )

    def read(self, path: Path, sample: Sample, options: ReadOptions) -> Iterator[ReadItem]:
        delimiter = CsvFormat.delimiter(sample)
        names = CsvFormat.header(sample, delimiter, path)
        platform = options.platform or "twitter"
        if "tweetid" not in names and set(USERS_REQUIRED) <= set(names):
            # the users file: every account of the release, those without tweets too
            yield from read_csv_records(
                path,
                names,
                "accounts",
                options,
                rename=ACCOUNTS,
                delimiter=delimiter,
                header=True,
                defaults={"platform": platform},
            )
            return
        require_columns(names, REQUIRED, path, "the information-operations archive")
        items = read_csv_records(
            path,
            names,
            "posts",
            options,
            rename=POSTS,
            delimiter=delimiter,
            header=True,
            embedded=[
                ("accounts", ACCOUNTS),
                *([("infra", CLIENT)] if set(CLIENT) <= set(names) else []),
            ],
            defaults={"platform": platform},
        )
        yield from rejects_after_batches(
            items, lambda item: _posts_batch(item.data, item.table, options.tz), _side_information
        )


def _side_information(item: RawBatch) -> RawBatch:
    """The profiles as they are; the clients once per account and client named."""
    if item.table != "infra":
        return item
    batch = item.data
    agent = pc.utf8_trim_whitespace(batch.column("user_agent"))
    keep = pc.and_(
        pc.fill_null(pc.not_equal(agent, ""), False), pc.is_valid(batch.column("account_id"))
    )
    table = pa.Table.from_batches(
        [batch.set_column(batch.schema.get_field_index("user_agent"), "user_agent", agent)]
    ).filter(keep)
    # the first row of each (account, client) in the batch; the load stage merges across batches
    first = table.group_by(["account_id", "user_agent"], use_threads=False).aggregate(
        [("_row", "min")]
    )
    out = first.rename_columns(["account_id", "user_agent", "_row"]).sort_by("_row")
    arrays = [out.column(c).combine_chunks() for c in out.column_names]
    return RawBatch("infra", pa.RecordBatch.from_arrays(arrays, names=out.column_names), True)
