"""Behavioural traces: which account acted on which item, when, through which post.

A *trace* maps a post to an *item*; two accounts that act on the same item within a time window
co-act (see :mod:`cibscan.coaction`). Each signal has its own trace table with the columns
``account, item, post, time``, one row per distinct ``(item, post)``:

============  =================================================================================
signal        item
============  =================================================================================
share         the shared (reposted) post, ``shared_post_id`` of ``kind = 'share'`` posts
link          a normalised URL (``urls``)
domain        the host of a normalised URL, without a leading ``www.``
reply         the post replied to (``reply_to_post_id``)
mention       a mentioned account (``mentions``)
hashtag       one hashtag (``hashtags``)
hashtag_seq   a post's ordered hashtag list, two tags or more, joined by spaces
text          the exact normalised text (lowercased, URLs and @mentions removed, spaces collapsed)
near_text     a near-duplicate cluster of normalised texts (MinHash + LSH), labelled by the post
              id of its earliest post
media         a media id or perceptual hash (``media``)
co_post       a time bin of the window's width (synchrony: no shared item at all)
============  =================================================================================

Reposts (``kind = 'share'`` with a ``shared_post_id``) carry only the ``share`` and ``co_post``
traces: a plain repost repeats its original's links, tags and text, which the ``share`` signal
already counts.

With ``semantics="cnt"`` the traces follow coordination-network-toolkit 1.5.2 instead: ``link``
uses the URLs as given (``urls_original``), ``text`` uses that tool's normalisation (lowercase,
@mentions stripped, whitespace collapsed) and ``co_post`` has one item, so that every two posts
within the window co-act. ``near_text`` under ``cnt`` is not an item but a pairwise similarity;
:func:`cnt_token_sets` gives the token sets it compares.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Iterator, Sequence
from functools import lru_cache
from typing import Any, Final, Literal, get_args

import duckdb
import numpy as np
import pyarrow as pa

from cibscan.case import Case, open_case
from cibscan.errors import ConfigError

__all__ = [
    "DEFAULT_SIGNALS",
    "SIGNALS",
    "Semantics",
    "Signal",
    "cjk_texts",
    "cnt_normalise_text",
    "cnt_token_sets",
    "cnt_tokens",
    "minhash_signatures",
    "near_duplicate_clusters",
    "normalise_text_sql",
    "plain_text_sql",
    "trace_sql",
    "traces",
]

Signal = Literal[
    "share",
    "link",
    "domain",
    "reply",
    "mention",
    "hashtag",
    "hashtag_seq",
    "text",
    "near_text",
    "media",
    "co_post",
]
Semantics = Literal["default", "cnt", "coortweet"]

SIGNALS: Final[tuple[str, ...]] = get_args(Signal)
#: Signals computed when none are named: cheap, and specific enough that a shared item means
#: something. ``domain``, ``mention``, ``hashtag``, ``near_text`` and ``co_post`` are opt-in.
DEFAULT_SIGNALS: Final[tuple[str, ...]] = ("share", "link", "reply", "hashtag_seq", "text", "media")

#: A post is a plain repost when it is a share of a known post; coordination-network-toolkit
#: calls this a message with a ``repost_id``.
IS_REPOST: Final = "(p.kind = 'share' AND coalesce(p.shared_post_id, '') <> '')"
# The authority of a URL, with or without a scheme: everything up to the first / ? or #.
_HOST: Final = "^(?:[A-Za-z][A-Za-z0-9+.-]*://)?([^/?#]+)"
_USABLE: Final = "p.account_id IS NOT NULL AND p.post_id IS NOT NULL AND p.timestamp IS NOT NULL"


# Unicode White_Space, in RE2 syntax (RE2's \s is ASCII only: [\t\n\f\r ]). A no-break or
# ideographic space between two words must not make a copy a different text.
WHITE_SPACE: Final = r"[\t-\r \x{85}\pZ]"
_NOT_SPACE: Final = r"[^\t-\r \x{85}\pZ]"
_ODD_SPACE: Final = (
    r"[\t-\r\x{85}\x{A0}\x{1680}\x{2000}-\x{200A}\x{2028}\x{2029}\x{202F}\x{205F}\x{3000}]"
)

# Characters that show as nothing: Unicode's Default_Ignorable_Code_Point (zero-width space and
# joiners, soft hyphen, direction marks, word joiner, byte order mark, variation selectors,
# Hangul fillers, tag characters), with the Arabic tatweel and harakat, which stretch or point a
# word without changing it. Sprinkling them into a post makes a copy differ byte for byte while
# it reads the same, so the text signals drop them; Persian's zero-width non-joiner, typed or
# not by habit, is dropped too.
_IGNORABLE: Final = (
    r"[\x{AD}\x{34F}\x{61C}\x{115F}\x{1160}\x{17B4}\x{17B5}\x{180B}-\x{180F}\x{200B}-\x{200F}"
    r"\x{202A}-\x{202E}\x{2060}-\x{206F}\x{3164}\x{FE00}-\x{FE0F}\x{FEFF}\x{FFA0}"
    r"\x{FFF0}-\x{FFF8}\x{1BCA0}-\x{1BCA3}\x{1D173}-\x{1D17A}\x{E0000}-\x{E0FFF}"
    r"\x{640}\x{64B}-\x{65F}\x{670}]"
)
# Styled letters and digits, as "fancy text" generators write them, folded to the ASCII
# character that NFKC gives: fullwidth forms, circled Latin letters, the mathematical
# alphanumeric letters and digits (bold, italic, script, fraktur, double-struck, sans-serif,
# monospace) and the letterlike symbols that stand in the gaps of that block. DuckDB has no
# NFKC, and a translate() over its whole table costs about 100 s per million texts; this runs
# the per-character mapping only on the few texts that hold such a character.
_LETTERLIKE: Final = ("ℂℊℋℌℍℎℐℑℒℓℕℙℚℛℜℝℤℨℬℭℯℰℱℳℴ", "CgHHHhIILlNPQRRRZZBCeEFMo")
_STYLED: Final = (
    r"[\x{FF01}-\x{FF5E}\x{24B6}-\x{24E9}\x{1D400}-\x{1D6A3}\x{1D7CE}-\x{1D7FF}"
    + _LETTERLIKE[0]
    + "]"
)
_FOLD_CHAR: Final = (
    "CASE WHEN unicode(c) < 9398 THEN c "
    "WHEN unicode(c) BETWEEN 65281 AND 65374 THEN chr(unicode(c) - 65248) "
    "WHEN unicode(c) BETWEEN 9398 AND 9423 THEN chr(unicode(c) - 9333) "
    "WHEN unicode(c) BETWEEN 9424 AND 9449 THEN chr(unicode(c) - 9327) "
    # 13 styles of A-Z then a-z from U+1D400 to U+1D6A3 (the Greek styles follow: not folded).
    "WHEN unicode(c) BETWEEN 119808 AND 120483 THEN chr((unicode(c) - 119808) % 52 "
    "+ CASE WHEN (unicode(c) - 119808) % 52 < 26 THEN 65 ELSE 71 END) "
    # 5 styles of 0-9 from U+1D7CE to U+1D7FF.
    "WHEN unicode(c) BETWEEN 120782 AND 120831 THEN chr((unicode(c) - 120782) % 10 + 48) "
    "ELSE c END"
)


def plain_text_sql(column: str) -> str:
    """Return a DuckDB expression for ``column`` without invisible characters, styles folded.

    The first two steps of :func:`normalise_text_sql`, for other readers of post texts (the
    narratives' terms): characters that show as nothing (Unicode's Default_Ignorable_Code_Point,
    Arabic tatweel and harakat) are dropped; fullwidth, circled and mathematical letters and
    digits and the letterlike symbols become the ASCII character NFKC gives. Case is kept.

    Examples
    --------
    >>> import duckdb
    >>> duckdb.sql(f"SELECT {plain_text_sql(chr(39) + '𝗩o\u200bte' + chr(39))}").fetchall()[0][0]
    'Vote'
    """
    bare = f"regexp_replace({column}, '{_IGNORABLE}', '', 'g')"
    folded = (
        f"translate(array_to_string(list_transform(string_split({bare}, ''), "
        f"lambda c: {_FOLD_CHAR}), ''), '{_LETTERLIKE[0]}', '{_LETTERLIKE[1]}')"
    )
    return f"CASE WHEN regexp_matches({bare}, '{_STYLED}') THEN {folded} ELSE {bare} END"


def normalise_text_sql(column: str) -> str:
    """Return a DuckDB expression for cibscan's text normalisation of ``column``.

    Drop characters that show as nothing (zero-width spaces and joiners, direction marks,
    variation selectors, Arabic tatweel and harakat), fold styled letters and digits (fullwidth,
    circled, mathematical bold, italic, script and the like) to the ASCII character NFKC gives,
    lowercase, drop URLs and @mentions, collapse runs of whitespace to one space, trim. Two posts
    whose normalised texts are equal are copies of one another for the ``text`` signal.

    Examples
    --------
    >>> import duckdb
    >>> sql = normalise_text_sql("'RT  Hello @Bob https://x.co/a  World'")
    >>> duckdb.sql(f"SELECT {sql}").fetchall()[0][0]
    'rt hello world'
    """
    lowered = f"lower({plain_text_sql(column)})"
    no_urls = rf"regexp_replace({lowered}, '(https?://|www\.){_NOT_SPACE}+', ' ', 'g')"
    no_mentions = rf"regexp_replace({no_urls}, '@{_NOT_SPACE}+', ' ', 'g')"
    # Replacing only runs of two or more and lone characters other than the space gives the
    # same text as replacing every run, and skips the single spaces between words, which made
    # this the costliest step of the text signal.
    runs = f"{WHITE_SPACE}{WHITE_SPACE}+|{_ODD_SPACE}"
    return rf"trim(regexp_replace({no_mentions}, '{runs}', ' ', 'g'))"


def _long_text_sql(column: str, min_chars: int) -> str:
    """The normalised ``column`` when at least ``min_chars`` long, for ``unnest`` in a SELECT.

    A filter on a computed column is pushed below the projection, so ``WHERE length(norm) >=
    n`` would run the regular expressions twice; a list of zero or one element filters while
    computing them once.
    """
    return (
        f"unnest(list_filter([{normalise_text_sql(column)}], "
        f"lambda x: length(x) >= {int(min_chars)}))"
    )


@lru_cache(maxsize=1)
def _regex_module() -> Any:
    # The peer tokenises on Unicode (UAX 29) word boundaries, which only the third-party
    # ``regex`` package implements; load it lazily so that only ``cnt`` text signals need it.
    try:
        return importlib.import_module("regex")
    except ImportError as exc:  # pragma: no cover - regex ships with the test extra
        raise ConfigError(
            "semantics 'cnt' for the text and near_text signals needs the `regex` package "
            "(pip install regex)"
        ) from exc


@lru_cache(maxsize=1)
def _cnt_patterns() -> tuple[Any, Any]:
    rx = _regex_module()
    # An @mention runs to the next whitespace character (Unicode White_Space, as the peer).
    mention = rx.compile(r"@\S*")
    # Split at every word boundary, swallowing the spaces (and one apostrophe) that follow it.
    boundary = rx.compile(r"\b\p{Word_Break=WSegSpace}*'?", flags=rx.WORD | rx.UNICODE | rx.V1)
    return mention, boundary


def cnt_normalise_text(text: str) -> str:
    """Normalise a message as coordination-network-toolkit 1.5.2 does for ``co_tweet``.

    Lowercase, remove every ``@``-word, and collapse whitespace to single spaces.

    Examples
    --------
    >>> cnt_normalise_text("Hello  @Bob\\tWORLD ")
    'hello world'
    """
    mention, _ = _cnt_patterns()
    return " ".join(mention.sub("", text.lower()).split())


def cnt_tokens(text: str) -> frozenset[str]:
    """Return the token set coordination-network-toolkit 1.5.2 compares for ``co_similar_tweet``.

    The lowercased text without @-words is split at Unicode word boundaries; punctuation runs are
    tokens too; tokens are then split on whitespace and deduplicated.

    Examples
    --------
    >>> sorted(cnt_tokens("Vote now, vote @x!"))
    [',', 'now', 'vote']
    """
    mention, boundary = _cnt_patterns()
    pieces = boundary.split(mention.sub("", text.lower()))
    return frozenset(word for piece in pieces if piece for word in piece.split())


def cnt_token_sets(texts: Sequence[str | None]) -> list[list[str] | None]:
    """Token sets (sorted lists) of many texts, ``None`` for a missing text."""
    return [None if t is None else sorted(cnt_tokens(t)) for t in texts]


def _list_items(column: str, *, predicate: str = "TRUE") -> str:
    return f"""
        SELECT DISTINCT account, item, post, time FROM (
            SELECT p.account_id AS account, unnest(p.{column}) AS item, p.post_id AS post,
                   p.timestamp AS time
            FROM posts p WHERE {_USABLE} AND NOT {IS_REPOST} AND {predicate}
        ) WHERE item IS NOT NULL AND item <> ''
    """


def trace_sql(
    signal: str,
    *,
    semantics: Semantics = "default",
    min_text_chars: int = 10,
    bin_us: int = 60_000_000,
    text_map: str | None = None,
) -> str:
    """Return the SQL that selects the traces of one signal from the ``posts`` table.

    Parameters
    ----------
    signal
        One of :data:`SIGNALS` except ``near_text``, whose items need MinHash clustering (see
        :func:`traces`).
    semantics
        ``"cnt"`` switches ``link``, ``text`` and ``co_post`` to coordination-network-toolkit's
        definitions; other values use cibscan's.
    min_text_chars
        Shortest normalised text that counts as a ``text`` item (short replies such as "thanks!"
        would otherwise link half the dataset). Ignored under ``cnt``.
    bin_us
        Width of a ``co_post`` time bin in microseconds.
    text_map
        Under ``cnt``, the name of a relation ``(text, norm)`` that maps raw texts to the peer's
        normalisation; required for the ``text`` signal.

    Returns
    -------
    str
        A query with the columns ``account, item, post, time`` (``time`` is ``TIMESTAMPTZ``).
    """
    cnt = semantics == "cnt"
    if signal == "share":
        return f"""
            SELECT DISTINCT p.account_id AS account, p.shared_post_id AS item,
                   p.post_id AS post, p.timestamp AS time
            FROM posts p WHERE {_USABLE} AND {IS_REPOST}
        """
    if signal == "link":
        return _list_items("urls_original" if cnt else "urls")
    if signal == "domain":
        return f"""
            SELECT DISTINCT account, item, post, time FROM (
                SELECT account,
                       regexp_replace(
                           lower(regexp_extract(url, '{_HOST}', 1)),
                           '^www\\.|:[0-9]+$|^[^@]*@', '', 'g'
                       ) AS item,
                       post, time
                FROM ({_list_items("urls")}) AS link(account, url, post, time)
            ) WHERE item <> ''
        """
    if signal == "reply":
        return f"""
            SELECT DISTINCT p.account_id AS account, p.reply_to_post_id AS item,
                   p.post_id AS post, p.timestamp AS time
            FROM posts p
            WHERE {_USABLE} AND NOT {IS_REPOST} AND coalesce(p.reply_to_post_id, '') <> ''
        """
    if signal in ("mention", "hashtag", "media"):
        column = {"mention": "mentions", "hashtag": "hashtags", "media": "media"}[signal]
        return _list_items(column)
    if signal == "hashtag_seq":
        tags = "list_filter(p.hashtags, lambda h: coalesce(h, '') <> '')"
        return f"""
            SELECT account, item, post, time FROM (
                SELECT p.account_id AS account,
                       array_to_string({tags}, ' ') AS item, len({tags}) AS n,
                       p.post_id AS post, p.timestamp AS time
                FROM posts p WHERE {_USABLE} AND NOT {IS_REPOST}
            ) WHERE n >= 2
        """
    if signal == "text":
        if cnt:
            if text_map is None:
                raise ValueError("trace_sql('text', semantics='cnt') needs text_map")
            return f"""
                SELECT p.account_id AS account, m.norm AS item, p.post_id AS post,
                       p.timestamp AS time
                FROM posts p JOIN {text_map} m ON m.text = p.text
                WHERE {_USABLE} AND NOT {IS_REPOST} AND m.norm <> ''
            """
        return f"""
            SELECT p.account_id AS account, {_long_text_sql("p.text", min_text_chars)} AS item,
                   p.post_id AS post, p.timestamp AS time
            FROM posts p WHERE {_USABLE} AND NOT {IS_REPOST} AND p.text IS NOT NULL
        """
    if signal == "co_post":
        if cnt:
            item = "''"
        else:
            width = max(int(bin_us), 1)
            # Floor division keeps bins aligned on the epoch for times before 1970 too.
            item = (
                f"strftime(make_timestamp(CAST(floor(epoch_us(p.timestamp) / {width}) AS BIGINT)"
                f" * {width}), '%Y-%m-%dT%H:%M:%S.%fZ')"
            )
        return f"""
            SELECT p.account_id AS account, {item} AS item, p.post_id AS post,
                   p.timestamp AS time
            FROM posts p WHERE {_USABLE}
        """
    if signal == "near_text":
        raise ValueError("near_text traces need MinHash clustering; use traces()")
    raise ConfigError(f"unknown signal {signal!r}; choose from {', '.join(SIGNALS)}")


def cnt_text_map(con: duckdb.DuckDBPyConnection) -> pa.Table:
    """Map every distinct non-repost text of ``posts`` to the peer's ``co_tweet`` normalisation."""
    texts = con.sql(
        f"SELECT DISTINCT p.text FROM posts p WHERE p.text IS NOT NULL AND NOT {IS_REPOST}"
    ).to_arrow_table()
    raw = texts.column(0).to_pylist()
    return pa.table(
        {"text": pa.array(raw, pa.string()), "norm": [cnt_normalise_text(t) for t in raw]}
    )


# --- MinHash -------------------------------------------------------------------------------------

_MASK32: Final = np.uint64(0xFFFFFFFF)


def _splitmix64(x: np.ndarray) -> np.ndarray:
    # A fixed, well-mixing 64-bit finaliser; numpy's uint64 arithmetic wraps as the algorithm
    # expects.
    x = x + np.uint64(0x9E3779B97F4A7C15)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return np.asarray(x ^ (x >> np.uint64(31)), dtype=np.uint64)


def _shingle_hashes(texts: Sequence[str], shingle: int) -> tuple[np.ndarray, np.ndarray]:
    """Hash every character ``shingle``-gram of every text; return hashes and per-text starts.

    A text of n >= ``shingle`` characters has n - ``shingle`` + 1 shingles; a shorter one is one
    shingle, itself padded with NULs. (Padding every text's end instead gave the last
    characters extra shingles of their own: one character appended to a 30-character text then
    changed five of its shingles, not one, and the Jaccard of a copy with a "!" added fell from
    0.96 to 0.74.)
    """
    lengths = np.fromiter((len(t) for t in texts), dtype=np.int64, count=len(texts))
    # The texts joined by shingle - 1 NULs, with as many after the last.
    codes = _code_points(texts, "\0" * (shingle - 1)).astype(np.uint64)
    counts = np.maximum(lengths - (shingle - 1), 1)
    offsets = np.zeros(len(texts), dtype=np.int64)
    starts = np.zeros(len(texts), dtype=np.int64)
    if len(texts) > 1:
        offsets[1:] = np.cumsum(counts[:-1])
        # Text i starts at the characters before it plus i pads of shingle - 1 NULs.
        starts[1:] = np.cumsum(lengths[:-1] + (shingle - 1))
    total = int(counts.sum())
    positions = np.repeat(starts - offsets, counts) + np.arange(total, dtype=np.int64)
    # A polynomial over the characters (wrapping mod 2^64), then one strong mix.
    h = codes[positions].copy()
    for j in range(1, shingle):
        h *= np.uint64(0x100000001B3)
        h += codes[positions + j]
    return _splitmix64(h), offsets


def _code_points(texts: Sequence[str], gap: str) -> np.ndarray:
    """The texts' code points (``uint32``), joined by ``gap``, with ``gap`` after the last."""
    return np.frombuffer((gap.join(texts) + gap).encode("utf-32-le"), dtype=np.uint32)


#: Code points of the scripts written without spaces between words, or in syllable blocks:
#: CJK ideographs (and their extensions and compatibility forms), Hiragana, Katakana, Hangul.
_CJK_RANGES: Final = (
    (0x1100, 0x11FF),
    (0x2E80, 0x2FDF),
    (0x3040, 0x30FF),
    (0x3100, 0x31FF),
    (0x3400, 0x4DBF),
    (0x4E00, 0x9FFF),
    (0xA960, 0xA97F),
    (0xAC00, 0xD7FF),
    (0xF900, 0xFAFF),
    (0xFF66, 0xFF9F),
    (0x20000, 0x3134F),
)
#: Characters (shingles) per chunk of texts read at once: bounds the temporary arrays.
_CHUNK_CHARS: Final = 4_000_000
#: Outside the Basic Multilingual Plane, the CJK ideograph extensions B to H.
_CJK_ASTRAL: Final = _CJK_RANGES[-1]
#: Whether each code point of the Basic Multilingual Plane is in a CJK range, and whether it
#: is shown (not white space).
_CJK_BMP: Final = np.zeros(0x10000, dtype=bool)
for _lo, _hi in _CJK_RANGES[:-1]:
    _CJK_BMP[_lo : _hi + 1] = True
_SHOWN_BMP: Final = np.ones(0x10000, dtype=bool)
_SHOWN_BMP[[9, 10, 11, 12, 13, 32, 0x85, 0xA0, 0x3000]] = False


def cjk_texts(texts: Sequence[str]) -> np.ndarray:
    """Whether each text is written mostly in a CJK script (Han, Kana, Hangul).

    A text is when at least half of its characters other than white space are in one of
    those scripts. Texts are read in chunks of about four million characters, as
    :func:`minhash_signatures` hashes them.

    >>> cjk_texts(["大家千万不要相信他 #日常", "vote today", "東京 is big"]).tolist()
    [True, False, False]
    """
    n = len(texts)
    out = np.zeros(n, dtype=bool)
    lengths = np.fromiter((len(t) for t in texts), dtype=np.int64, count=n)
    for first, last in _chunks(lengths, _CHUNK_CHARS):
        codes = _code_points(texts[first:last], "")
        bmp = np.minimum(codes, 0xFFFF)
        astral = codes > 0xFFFF
        cjk = _CJK_BMP[bmp] & ~astral | ((codes >= _CJK_ASTRAL[0]) & (codes <= _CJK_ASTRAL[1]))
        shown = _SHOWN_BMP[bmp] | astral
        # Per-text counts: cumulative sums (from 0) read at the texts' bounds.
        bounds = np.concatenate([[0], np.cumsum(lengths[first:last])])
        cjk_count = np.diff(np.concatenate([[0], np.cumsum(cjk, dtype=np.int64)])[bounds])
        shown_count = np.diff(np.concatenate([[0], np.cumsum(shown, dtype=np.int64)])[bounds])
        out[first:last] = cjk_count * 2 >= np.maximum(shown_count, 1)
    return out


def _chunks(lengths: np.ndarray, size: int) -> Iterator[tuple[int, int]]:
    """Consecutive ``[first, last)`` ranges of texts holding about ``size`` characters each."""
    first = 0
    while first < len(lengths):
        cum = np.cumsum(lengths[first:])
        last = first + max(1, int(np.searchsorted(cum, size, side="right")))
        yield first, last
        first = last


def minhash_signatures(
    texts: Sequence[str],
    *,
    num_perm: int = 64,
    shingle: int = 5,
    seed: int = 0,
    cjk_shingle: int | None = 2,
) -> np.ndarray:
    """Compute MinHash signatures of character shingles, vectorised and deterministic.

    One-permutation hashing (Li, Owen & Zhang 2012): each shingle is hashed once, the hash
    picks one of ``num_perm`` bins and the signature keeps each bin's minimum; empty bins borrow
    from the next non-empty bin to the right (densification by rotation, Shrivastava & Li
    2014). The work is linear in the number of shingles, whatever ``num_perm``.

    Parameters
    ----------
    texts
        Non-empty strings (normalise them first).
    num_perm
        Signature length (bins).
    shingle
        Characters per shingle.
    seed
        Seed of the hash; the same seed gives the same signatures on every machine.
    cjk_shingle
        Characters per shingle of texts written mostly in Han, Kana or Hangul
        (:func:`cjk_texts`), whose words are one to three characters: five characters are two
        or three Chinese words, where they are one English word. ``None`` uses ``shingle``.

    Returns
    -------
    numpy.ndarray
        ``uint32`` array of shape ``(len(texts), num_perm)``. The fraction of equal columns of
        two rows estimates the Jaccard similarity of their shingle sets.

    Examples
    --------
    >>> sig = minhash_signatures(["the same words", "the same words", "other"], num_perm=16)
    >>> bool((sig[0] == sig[1]).all()), bool((sig[0] == sig[2]).all())
    (True, False)
    """
    if num_perm < 1 or shingle < 1 or (cjk_shingle is not None and cjk_shingle < 1):
        raise ConfigError("minhash needs num_perm >= 1 and shingle >= 1")
    n = len(texts)
    out = np.empty((n, num_perm), dtype=np.uint32)
    salt = _splitmix64(np.array([seed], dtype=np.uint64))[0]
    groups: list[tuple[np.ndarray, int]] = [(np.arange(n), shingle)]
    if cjk_shingle is not None and cjk_shingle != shingle and n:
        cjk = cjk_texts(texts)
        groups = [(np.flatnonzero(~cjk), shingle), (np.flatnonzero(cjk), cjk_shingle)]
    for index, size in groups:
        if index.size == 0:
            continue
        part = [texts[i] for i in index] if index.size < n else list(texts)
        lengths = np.fromiter((len(t) for t in part), dtype=np.int64, count=len(part))
        # Chunks of about four million shingles bound the temporary arrays.
        for first, last in _chunks(lengths, _CHUNK_CHARS):
            out[index[first:last]] = _one_permutation(part[first:last], num_perm, size, salt)
    return out


def _one_permutation(texts: Sequence[str], bins: int, shingle: int, salt: np.uint64) -> np.ndarray:
    n = len(texts)
    h, offsets = _shingle_hashes(texts, shingle)
    h = _splitmix64(h ^ salt)
    counts = np.diff(np.append(offsets, len(h)))
    key = np.repeat(np.arange(n, dtype=np.int64) * bins, counts)
    key += (h % np.uint64(bins)).astype(np.int64)
    empty_value = np.uint64(0xFFFFFFFF)
    value = h >> np.uint64(32)
    # A value equal to the empty marker would read as an empty bin: nudge it down by one.
    value[value == empty_value] -= np.uint64(1)
    flat = np.full(n * bins, empty_value, dtype=np.uint64)
    np.minimum.at(flat, key, value)
    sig = flat.reshape(n, bins)
    empty = sig == empty_value
    column = np.arange(bins, dtype=np.int64)
    never = 4 * bins
    # Index of the next non-empty bin at or after each bin, circularly: scan the row twice.
    ahead = np.concatenate(
        [np.where(empty, never, column), np.where(empty, never, column + bins)], axis=1
    )
    nearest = np.minimum.accumulate(ahead[:, ::-1], axis=1)[:, ::-1][:, :bins]
    shift = (nearest - column).astype(np.uint64)
    borrowed = sig[np.arange(n)[:, None], nearest % bins]
    # The rotation distance is part of the value, so two texts agree on a borrowed bin only when
    # they borrow from the same distance (what keeps the estimate unbiased).
    return (_splitmix64(borrowed + (shift << np.uint64(32))) >> np.uint64(32)).astype(np.uint32)


def near_duplicate_clusters(
    texts: Sequence[str],
    *,
    threshold: float = 0.8,
    num_perm: int = 64,
    bands: int = 16,
    shingle: int = 5,
    seed: int = 0,
    cjk_shingle: int | None = 2,
) -> np.ndarray:
    """Group texts into near-duplicate clusters with MinHash and LSH banding.

    Two texts are near-duplicates when the MinHash estimate of the Jaccard similarity of their
    character-shingle sets is at least ``threshold``; clusters are the connected components of
    that relation. Within an LSH bucket each member is compared with the bucket's first text
    only, so the work stays linear in the number of texts (a popular template does not make it
    quadratic).

    Returns
    -------
    numpy.ndarray
        ``int64`` cluster label per text: the index of the cluster's first text.

    Examples
    --------
    >>> near_duplicate_clusters(["vote for the party today, all of you!",
    ...                          "vote for the party today, all of you!!",
    ...                          "nothing alike here"], threshold=0.7).tolist()
    [0, 0, 2]
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    if not 0 < threshold <= 1:
        raise ConfigError(f"near_text threshold must be in (0, 1], got {threshold}")
    if bands < 1 or num_perm % bands:
        raise ConfigError(f"num_perm ({num_perm}) must be a multiple of bands ({bands})")
    n = len(texts)
    if n == 0:
        return np.empty(0, dtype=np.int64)
    sig = minhash_signatures(
        texts, num_perm=num_perm, shingle=shingle, seed=seed, cjk_shingle=cjk_shingle
    )
    rows = num_perm // bands
    mix = _splitmix64(np.arange(1, rows + 1, dtype=np.uint64))
    src: list[np.ndarray] = []
    dst: list[np.ndarray] = []
    need = int(np.ceil(threshold * num_perm - 1e-9))
    for band in range(bands):
        block = sig[:, band * rows : (band + 1) * rows].astype(np.uint64)
        key = _splitmix64((block * mix[None, :]).sum(axis=1, dtype=np.uint64))
        order = np.argsort(key, kind="stable")
        sorted_key = key[order]
        new_group = np.ones(n, dtype=bool)
        new_group[1:] = sorted_key[1:] != sorted_key[:-1]
        group_start = np.maximum.accumulate(np.where(new_group, np.arange(n), 0))
        rep = order[group_start]
        member = order
        keep = rep != member
        rep, member = rep[keep], member[keep]
        if rep.size == 0:
            continue
        agree = np.zeros(rep.size, dtype=np.int64)
        # Chunks bound the two gathered signature blocks to about 64 MB each.
        for lo in range(0, rep.size, 250_000):
            hi = lo + 250_000
            agree[lo:hi] = (sig[rep[lo:hi]] == sig[member[lo:hi]]).sum(axis=1)
        ok = agree >= need
        src.append(rep[ok])
        dst.append(member[ok])
    if src:
        i = np.concatenate(src)
        j = np.concatenate(dst)
    else:
        i = j = np.empty(0, dtype=np.int64)
    graph = coo_matrix((np.ones(i.size, dtype=np.int8), (i, j)), shape=(n, n)).tocsr()
    _, labels = connected_components(graph, directed=False)
    # Label each cluster by its first member so labels do not depend on scipy's numbering.
    first_of = np.full(labels.max() + 1, n, dtype=np.int64)
    np.minimum.at(first_of, labels, np.arange(n, dtype=np.int64))
    return np.asarray(first_of[labels], dtype=np.int64)


def near_text_map(
    con: duckdb.DuckDBPyConnection,
    *,
    threshold: float = 0.8,
    num_perm: int = 64,
    bands: int = 16,
    shingle: int = 5,
    seed: int = 0,
    min_text_chars: int = 10,
    cjk_shingle: int | None = 2,
) -> pa.Table:
    """Map each normalised text of ``posts`` to its near-duplicate cluster label.

    The label is the post id of the cluster's earliest post (ties by post id).
    """
    norm = _long_text_sql("p.text", min_text_chars)
    firsts = con.sql(
        f"""
        SELECT norm, arg_min(post, (time, post)) AS first_post, min(time) AS first_time
        FROM (
            SELECT {norm} AS norm, p.post_id AS post, p.timestamp AS time FROM posts p
            WHERE {_USABLE} AND NOT {IS_REPOST} AND p.text IS NOT NULL
        )
        GROUP BY norm ORDER BY first_time, first_post
        """
    ).to_arrow_table()
    texts = firsts.column("norm").to_pylist()
    labels = near_duplicate_clusters(
        texts,
        threshold=threshold,
        num_perm=num_perm,
        bands=bands,
        shingle=shingle,
        seed=seed,
        cjk_shingle=cjk_shingle,
    )
    # Texts are ordered by their first post, so a cluster's first member holds its earliest post.
    first_post = np.asarray(firsts.column("first_post").to_pylist(), dtype=object)
    return pa.table(
        {
            "norm": pa.array(texts, pa.string()),
            "cluster": pa.array(first_post[labels].tolist(), pa.string()),
        }
    )


def near_text_trace_sql(cluster_map: str, *, min_text_chars: int = 10) -> str:
    """SQL for ``near_text`` traces given a registered ``(norm, cluster)`` relation."""
    norm = _long_text_sql("p.text", min_text_chars)
    return f"""
        SELECT t.account, m.cluster AS item, t.post, t.time FROM (
            SELECT p.account_id AS account, {norm} AS norm, p.post_id AS post,
                   p.timestamp AS time
            FROM posts p WHERE {_USABLE} AND NOT {IS_REPOST} AND p.text IS NOT NULL
        ) t JOIN {cluster_map} m ON m.norm = t.norm
    """


def traces(
    case: Case | duckdb.DuckDBPyConnection | str | os.PathLike[str],
    signal: str,
    *,
    semantics: Semantics = "default",
    window: float = 60.0,
    min_text_chars: int = 10,
    near_text_threshold: float = 0.8,
    num_perm: int = 64,
    bands: int = 16,
    shingle: int = 5,
    seed: int = 0,
    cjk_shingle: int | None = 2,
) -> pa.Table:
    """Extract the traces of one signal from a case's ``posts``.

    Parameters
    ----------
    case
        A :class:`~cibscan.case.Case`, a DuckDB connection holding ``posts``, or a case file.
    signal
        One of :data:`SIGNALS`. ``near_text`` under ``cnt`` has no items (it is pairwise); ask
        :func:`cnt_token_sets` for its token sets instead.
    semantics
        ``"cnt"`` uses coordination-network-toolkit's definitions for ``link``, ``text`` and
        ``co_post``.
    window
        Seconds; the width of a ``co_post`` time bin.
    min_text_chars, near_text_threshold, num_perm, bands, shingle, seed, cjk_shingle
        Text options, see :func:`trace_sql`, :func:`near_duplicate_clusters` and
        :func:`minhash_signatures`.

    Returns
    -------
    pyarrow.Table
        Columns ``account, item, post, time``, sorted by ``item, time, post``.

    Examples
    --------
    >>> from cibscan.case import open_case
    >>> case = open_case()
    >>> _ = case.con.execute(
    ...     "INSERT INTO posts (post_id, account_id, timestamp, kind, shared_post_id) VALUES "
    ...     "('p1', 'a', '2024-01-01 00:00:00+00', 'share', 'orig'),"
    ...     "('p2', 'b', '2024-01-01 00:00:30+00', 'share', 'orig')")
    >>> traces(case, "share").column("account").to_pylist()
    ['a', 'b']
    """
    opened: Case | None = None
    if isinstance(case, Case):
        con = case.con
    elif isinstance(case, duckdb.DuckDBPyConnection):
        con = case
    else:
        opened = open_case(case, create=False, read_only=True)
        con = opened.con
    try:
        if signal not in SIGNALS:
            raise ConfigError(f"unknown signal {signal!r}; choose from {', '.join(SIGNALS)}")
        if signal == "near_text":
            if semantics == "cnt":
                raise ConfigError(
                    "near_text under semantics 'cnt' is pairwise similarity, not an item"
                )
            cluster_map = near_text_map(
                con,
                threshold=near_text_threshold,
                num_perm=num_perm,
                bands=bands,
                shingle=shingle,
                seed=seed,
                min_text_chars=min_text_chars,
                cjk_shingle=cjk_shingle,
            )
            con.register("_cib_near_text_map", cluster_map)
            try:
                sql = near_text_trace_sql("_cib_near_text_map", min_text_chars=min_text_chars)
                return _sorted(con.sql(sql).to_arrow_table())
            finally:
                con.unregister("_cib_near_text_map")
        if signal == "text" and semantics == "cnt":
            con.register("_cib_cnt_text_map", cnt_text_map(con))
            try:
                sql = trace_sql("text", semantics="cnt", text_map="_cib_cnt_text_map")
                return _sorted(con.sql(sql).to_arrow_table())
            finally:
                con.unregister("_cib_cnt_text_map")
        sql = trace_sql(
            signal,
            semantics=semantics,
            min_text_chars=min_text_chars,
            bin_us=round(window * 1_000_000),
        )
        return _sorted(con.sql(sql).to_arrow_table())
    finally:
        if opened is not None:
            opened.close()


def _sorted(table: pa.Table) -> pa.Table:
    return table.sort_by([("item", "ascending"), ("time", "ascending"), ("post", "ascending")])
