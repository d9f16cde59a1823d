"""FiveThirtyEight's IRA tweets: the Clemson researchers' archive of the Internet Research Agency.

About three million tweets of the handles Twitter tied to the IRA and listed to the US Congress
(``IRAhandle_tweets_N.csv``), one row per tweet with its author's handle, follower count and the
researchers' coding (``account_category``). The release has shortcomings this reader works
around:

- ``publish_date`` is month first and cut to the minute (``10/1/2017 19:58``, UTC). A tweet's
  id is a Twitter *snowflake* that holds its creation time to the millisecond, so the time is
  taken from ``tweet_id`` when the two agree (the id's time falls in the published minute),
  and from ``publish_date`` otherwise. Within a minute, a one-minute window would otherwise
  join every two tweets of the same minute and miss the order of a burst.
- ``external_author_id`` lost digits in part of the release (``9.06E+17``): the account is the
  handle (``author``), which the congressional lists name.
- A retweet (``post_type`` ``RETWEET``) does not say which tweet it repeats, only its text: it
  is a ``share`` without ``shared_post_id``, and carries the text, links and hashtags of the
  tweet it repeats, so accounts that retweet the same tweets co-act on the ``text`` signal.
- The links are the expanded ``tco1_step1`` to ``tco3_step1``; the ``t.co`` short links in
  the text are not links of their own.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Final

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from cibscan.errors import BadInputError
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

__all__ = [
    "IraTweetsFormat",
    "epoch_text",
    "id_times",
    "snowflake_time",
    "utc_iso",
    "within_the_minute",
]

#: The header columns that tell the format apart (all releases have them).
SIGNATURE: Final = ("external_author_id", "author", "content", "publish_date")
#: Release column -> canonical posts column; ``_``-names are read for the reader's own use.
POSTS: Final = {
    "tweet_id": "_tweet_id",
    "article_url": "_article_url",
    "author": "account_id",
    "publish_date": "_publish_date",
    "content": "text",
    "language": "_language",
    "post_type": "_post_type",
    "retweet": "_retweet",
    "tco1_step1": "_url1",
    "tco2_step1": "_url2",
    "tco3_step1": "_url3",
}
ACCOUNTS: Final = {"author": "account_id", "followers": "followers", "region": "location"}
_URLS: Final = ("_url1", "_url2", "_url3")
#: Twitter's snowflake epoch (2010-11-04T01:42:54.657Z), in milliseconds.
SNOWFLAKE_EPOCH_MS: Final = 1288834974657
#: The release's language names (Social Studio's), as the ISO 639-1 codes posts carry.
LANGUAGES: Final = {
    "Albanian": "sq", "Arabic": "ar", "Bengali": "bn", "Bulgarian": "bg", "Catalan": "ca",
    "Croatian": "hr", "Czech": "cs", "Danish": "da", "Dutch": "nl", "English": "en",
    "Estonian": "et", "Farsi (Persian)": "fa", "Finnish": "fi", "French": "fr", "German": "de",
    "Greek": "el", "Gujarati": "gu", "Hebrew": "he", "Hindi": "hi", "Hungarian": "hu",
    "Icelandic": "is", "Indonesian": "id", "Italian": "it", "Japanese": "ja", "Kannada": "kn",
    "Korean": "ko", "Kurdish": "ku", "Latvian": "lv", "Lithuanian": "lt", "Macedonian": "mk",
    "Malay": "ms", "Malayalam": "ml", "Norwegian": "no", "Polish": "pl", "Portuguese": "pt",
    "Pushto": "ps", "Romanian": "ro", "Russian": "ru", "Serbian": "sr",
    "Simplified Chinese": "zh", "Slovak": "sk", "Slovenian": "sl", "Somali": "so",
    "Spanish": "es", "Swedish": "sv", "Tagalog (Filipino)": "tl", "Tamil": "ta", "Telugu": "te",
    "Thai": "th", "Traditional Chinese": "zh", "Turkish": "tr", "Ukrainian": "uk", "Urdu": "ur",
    "Uzbek": "uz", "Vietnamese": "vi", "LANGUAGE UNDEFINED": "",
}  # fmt: skip
_KINDS: Final = {"": "post", "RETWEET": "share", "QUOTE_TWEET": "quote"}


def snowflake_time(ids: pa.Array) -> pa.Array:
    """The creation time a Twitter id holds (milliseconds, UTC); null for other values.

    Examples
    --------
    >>> import pyarrow as pa
    >>> times = snowflake_time(pa.array(["914580356430536707", "9.1458E+17", None]))
    >>> [t and t.isoformat() for t in times.to_pylist()]
    ['2017-10-01T19:58:43.711000+00:00', None, None]
    """
    text = pc.utf8_trim_whitespace(ids.cast(pa.string()))
    digits = pc.fill_null(pc.match_substring_regex(text, r"^[0-9]{15,19}$"), False)
    numbers = pc.cast(pc.if_else(digits, text, pa.scalar(None, pa.string())), pa.uint64())
    ms = pc.add(pc.cast(pc.shift_right(numbers, 22), pa.int64()), SNOWFLAKE_EPOCH_MS)
    return pc.cast(ms, pa.timestamp("ms", tz="UTC"))


def id_times(ids: pa.Array) -> pa.Array:
    """The times tweet ids hold, naive UTC (``timestamp("ms")``); null for other values."""
    return pc.cast(snowflake_time(ids), pa.timestamp("ms"))


def within_the_minute(minutes: pa.Array, exact: pa.Array) -> pa.Array:
    """Whether each id's time falls within the minute given for it.

    Releases cut times to the minute; a genuine id holds the millisecond. ``minutes`` are the
    published times and ``exact`` the ids' times (:func:`id_times`), both naive UTC. Returns
    the mask of the rows whose id's time is in ``[minute, minute + 60 s)`` (false where either
    is missing).
    """
    minute = pc.floor_temporal(minutes, unit="minute")
    offset = pc.subtract(pc.cast(exact, pa.int64()), pc.cast(minute, pa.int64()))
    within = pc.and_(pc.greater_equal(offset, 0), pc.less(offset, 60_000))
    return pc.fill_null(within, False)


def utc_iso(times: pa.Array) -> pa.Array:
    """Naive UTC times as ISO text with ``+00:00`` (milliseconds kept), for the load stage.

    Slower than :func:`epoch_text` (Arrow's ``strftime``), but an error about the time (one in
    the future) shows a time a reader can read.
    """
    text = pc.strftime(times, format="%Y-%m-%dT%H:%M:%S", locale="C")
    return pc.binary_join_element_wise(text, "+00:00", "")


def epoch_text(times: pa.Array) -> pa.Array:
    """Naive UTC times as epoch microseconds in text, for the load stage.

    The load stage reads such a number exactly (an integer of 15 digits or more is
    microseconds), and a number needs no zone: it is the same instant under any ``--tz``.
    Formatting ISO text (:func:`utc_iso`) takes five times as long.

    Examples
    --------
    >>> import datetime as dt
    >>> times = pa.array([dt.datetime(2017, 10, 1, 19, 58, 43, 711000)], pa.timestamp("ms"))
    >>> epoch_text(times).to_pylist()
    ['1506887923711000']
    """
    micros = pc.cast(pc.cast(times, pa.timestamp("us")), pa.int64())
    return pc.cast(micros, pa.string())


#: The ways releases write ``publish_date`` (FiveThirtyEight's: month first, to the minute).
_PUBLISHED: Final = ("%m/%d/%Y %H:%M", "%m/%d/%Y %H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M")


def _timestamps(published: pa.Array, ids: pa.Array) -> tuple[pa.Array, pa.Array, pa.Array]:
    """ISO times: the id's where it falls in the published minute (or nothing is published).

    Returns the times (text for the load stage, UTC), and the masks of the rows whose
    ``publish_date`` is not a date and of those without any time.
    """
    text = pc.utf8_trim_whitespace(published)
    parsed = pa.nulls(len(text), pa.timestamp("ms"))
    for fmt in _PUBLISHED:
        parsed = pc.coalesce(parsed, pc.strptime(text, format=fmt, unit="ms", error_is_null=True))
    exact = id_times(ids)
    within = within_the_minute(parsed, exact)
    blank = pc.fill_null(pc.equal(text, ""), True)
    use_id = pc.fill_null(pc.or_(within, pc.and_(blank, pc.is_valid(exact))), False)
    iso = utc_iso(pc.if_else(use_id, exact, parsed))
    not_a_date = pc.and_(pc.invert(blank), pc.is_null(parsed))
    missing = pc.and_(blank, pc.is_null(exact))
    return iso, pc.fill_null(not_a_date, False), pc.fill_null(missing, False)


def _url_lists(batch: pa.RecordBatch) -> pa.Array | None:
    """The expanded links of each row, in column order, without blanks; None without columns."""
    present = [c for c in _URLS if c in batch.schema.names]
    if not present:
        return None
    n = batch.num_rows
    columns = [pc.utf8_trim_whitespace(batch.column(c)) for c in present]
    keep = np.stack(
        [pc.fill_null(pc.not_equal(c, ""), False).to_numpy(zero_copy_only=False) for c in columns],
        axis=1,
    )
    rows, which = np.nonzero(keep)  # row-major: each row's links in column order
    values = pa.concat_arrays(columns).take(pa.array(which * n + rows, pa.int64()))
    offsets = np.concatenate([[0], np.cumsum(keep.sum(axis=1))]).astype(np.int32)
    return pa.ListArray.from_arrays(pa.array(offsets), values)


def _posts_batch(batch: pa.RecordBatch, table: str) -> Iterator[ReadItem]:
    """Derive id, time, kind, links and language; reject rows whose cells are malformed."""
    names = batch.schema.names
    n = batch.num_rows
    null = pa.nulls(n, pa.string())

    def column(name: str) -> pa.Array:
        return batch.column(name) if name in names else null

    rejects: dict[int, tuple[str, str | None, str]] = {}
    tweet_id = pc.utf8_trim_whitespace(column("_tweet_id"))
    from_url = pc.extract_regex(column("_article_url"), r"/status(?:es)?/(?P<id>[0-9]+)")
    post_id = pc.coalesce(
        pc.if_else(pc.equal(tweet_id, ""), pa.scalar(None, pa.string()), tweet_id),
        pc.struct_field(from_url, "id"),
    )
    if "_post_type" in names:
        post_type = pc.fill_null(pc.utf8_upper(pc.utf8_trim_whitespace(column("_post_type"))), "")
    else:  # early releases: only the 0/1 retweet flag
        flag = pc.utf8_trim_whitespace(column("_retweet"))
        post_type = pc.if_else(pc.fill_null(pc.equal(flag, "1"), False), "RETWEET", "")
    known = pc.is_in(post_type, pa.array(list(_KINDS)))
    for index in pc.indices_nonzero(pc.invert(known)).to_pylist():
        value = column("_post_type")[index].as_py()
        rejects[index] = ("post_type", value, "not RETWEET or QUOTE_TWEET")
    kind = pc.if_else(
        pc.equal(post_type, "RETWEET"),
        "share",
        pc.if_else(pc.equal(post_type, "QUOTE_TWEET"), "quote", "post"),
    )
    language = pc.utf8_trim_whitespace(column("_language"))
    position = pc.index_in(language, pa.array(list(LANGUAGES)))
    code = pc.if_else(
        pc.is_valid(position), pc.take(pa.array(list(LANGUAGES.values())), position), language
    )
    code = pc.if_else(pc.equal(code, ""), pa.scalar(None, pa.string()), code)
    timestamp, not_a_date, missing = _timestamps(column("_publish_date"), post_id)
    for index in pc.indices_nonzero(not_a_date).to_pylist():
        value = column("_publish_date")[index].as_py()
        rejects.setdefault(index, ("publish_date", value, "not a date (month/day/year hh:mm)"))
    for index in pc.indices_nonzero(missing).to_pylist():
        value = column("_publish_date")[index].as_py()
        rejects.setdefault(index, ("publish_date", value, "missing timestamp"))
    out = {
        "post_id": post_id,
        "account_id": column("account_id"),
        "timestamp": timestamp,
        "text": column("text"),
        "kind": kind,
        "lang": code,
    }
    urls = _url_lists(batch)
    if urls is not None:
        out["urls_original"] = urls  # [] when the row has none: the t.co links are not links
    if "platform" in names:
        out["platform"] = batch.column("platform")
    yield from batch_then_rejects(table, {**out, "_row": batch.column("_row")}, rejects)


def _profiles(item: RawBatch) -> RawBatch:
    """The author rows: the handle is also the username; Social Studio's ``Unknown`` region
    is no location."""
    batch = item.data
    names = batch.schema.names
    arrays = dict(zip(names, batch.columns, strict=True))
    arrays["username"] = batch.column("account_id")
    if "location" in arrays:
        region = pc.utf8_trim_whitespace(arrays["location"])
        arrays["location"] = pc.if_else(
            pc.fill_null(pc.is_in(region, pa.array(["Unknown", ""])), False),
            pa.scalar(None, pa.string()),
            region,
        )
    data = pa.RecordBatch.from_arrays(list(arrays.values()), names=list(arrays))
    return RawBatch(item.table, data, True, item.defaults)


class IraTweetsFormat:
    """FiveThirtyEight's IRA tweets CSV (external_author_id, author, content, publish_date, ...)."""

    name = "ira-tweets"
    description = (
        "FiveThirtyEight/Clemson IRA tweets CSV (external_author_id, author, content, "
        "publish_date, ...)"
    )
    row_label = "row"

    def sniff(self, sample: Sample) -> bool:
        names = CsvFormat.sniffed_header(sample)
        return names is not None and set(SIGNATURE) <= set(names)

    def read(self, path: Path, sample: Sample, options: ReadOptions) -> Iterator[ReadItem]:
        delimiter = CsvFormat.delimiter(sample)
        names = CsvFormat.header(sample, delimiter, path)
        require_columns(
            names, ("author", "content", "publish_date"), path, "FiveThirtyEight's IRA tweets"
        )
        if "tweet_id" not in names and "article_url" not in names:
            raise BadInputError(
                "no tweet ids: the release's tweet_id or article_url column is needed (the "
                "first release of July 2018 had neither; use a later one)",
                file=str(path),
                column="tweet_id",
            )
        items = read_csv_records(
            path,
            names,
            "posts",
            options,
            rename=POSTS,
            delimiter=delimiter,
            header=True,
            embedded=[("accounts", ACCOUNTS)],
            defaults={"platform": options.platform or "twitter"},
        )
        yield from rejects_after_batches(
            items, lambda item: _posts_batch(item.data, item.table), _profiles
        )
