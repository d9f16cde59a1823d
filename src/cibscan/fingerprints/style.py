"""Stylometry: accounts written alike, and one persona written by several hands.

Two questions an investigator asks of writing style (see ``docs/fingerprints-b.md``):

* **Personas written alike.** One team behind several accounts leaves the same habits in all of
  them. :func:`style_edges` builds a style-similarity network between accounts: each account's
  profile holds the relative frequencies of its most frequent character 2-4-grams, function words
  and punctuation/layout habits, z-scored per feature among accounts of the same language
  ("Cosine Delta", Smith & Aldridge 2011; Evert et al. 2017). An edge is kept when the cosine of
  two profiles is among each account's ``k`` nearest and ``z`` standard deviations above the
  similarity of random account pairs of that language.
* **One persona, several hands.** :func:`estimate_authors` clusters the long posts of one account
  by style and tests the best clustering against a single-author null (feature columns permuted
  independently, which keeps each habit's spread but breaks the co-occurrence of habits that
  marks an author), then reports the number of authors and a bootstrap confidence.

Texts are hashed, not vocabularised: every character n-gram and word is hashed with a fixed,
seeded 64-bit polynomial hash (vectorised over the concatenated code points), so profiles are
deterministic, bounded in memory and identical on every machine.

:func:`synthetic_author` and :func:`synthetic_persona_posts` generate writers with known habits
from a seeded template grammar; :func:`evaluate_author_estimation` measures the estimator on them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from typing import Any, Final

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray
from scipy import sparse
from scipy.sparse.csgraph import connected_components

from cibscan.errors import BadInputError, ConfigError
from cibscan.fingerprints._assignment import fetch_arrow as _fetch_arrow
from cibscan.fingerprints._assignment import registered as _registered
from cibscan.fingerprints._assignment import validated_assignment as _validated_assignment

__all__ = [
    "AuthorEstimate",
    "AuthorshipConfig",
    "NetworkStyle",
    "PersonaAuthors",
    "StyleConfig",
    "StyleFingerprints",
    "SyntheticAuthor",
    "char_ngram_counts",
    "estimate_authors",
    "evaluate_author_estimation",
    "persona_authors",
    "style_edges",
    "style_fingerprints",
    "synthetic_author",
    "synthetic_persona_posts",
]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
U64Array = NDArray[np.uint64]

EDGE_SCHEMA: Final = pa.schema(
    [
        ("source", pa.string()),
        ("target", pa.string()),
        ("similarity", pa.float64()),
        ("z", pa.float64()),
    ]
)

# ---------------------------------------------------------------------------------------------
# Configuration


@dataclass(frozen=True)
class StyleConfig:
    """How account style profiles are built and which similarity edges are kept.

    Parameters
    ----------
    ngram_min, ngram_max
        Character n-gram lengths (inclusive).
    n_features
        Buckets of the hashed character n-gram space.
    seed
        Seed of the hash and of the random pairs of the null distribution.
    min_posts, min_chars
        An account is profiled only with at least this many own posts (reposts excluded) and
        characters of text; shorter profiles are noise.
    char_features, function_words
        Number of most frequent n-gram buckets and function words kept in a profile.
    k_neighbours
        Each account keeps at most its ``k`` most similar accounts as candidate edges.
    z_min
        Minimum z-score of an edge against random pairs of accounts of the same language.
    null_pairs
        Random pairs sampled per language for the null distribution.
    min_language_accounts
        A language with fewer profiled accounts is standardised and tested with the pooled
        statistics of all accounts.
    block_rows
        Rows of the similarity matrix computed at once (memory: ``block_rows x accounts``).
    exclude_shared_texts
        Ignore texts that more than one account posted verbatim (copypasta is the co-text
        signal's evidence, not style).
    sample_posts
        The most frequent features are chosen on an even sample of this many posts.
    chunk_posts
        Posts hashed at once (memory is proportional to this, not to the case).
    """

    ngram_min: int = 2
    ngram_max: int = 4
    n_features: int = 2**18
    seed: int = 0
    min_posts: int = 5
    min_chars: int = 1500
    char_features: int = 400
    function_words: int = 150
    k_neighbours: int = 10
    z_min: float = 4.0
    null_pairs: int = 5000
    min_language_accounts: int = 30
    block_rows: int = 512
    exclude_shared_texts: bool = True
    sample_posts: int = 50_000
    chunk_posts: int = 20_000

    def __post_init__(self) -> None:
        if not 1 <= self.ngram_min <= self.ngram_max <= 8:
            raise ConfigError(
                f"style n-gram range {self.ngram_min}..{self.ngram_max} is invalid; "
                "use 1 <= ngram_min <= ngram_max <= 8"
            )
        for name in (
            "n_features",
            "min_posts",
            "char_features",
            "function_words",
            "k_neighbours",
            "null_pairs",
            "min_language_accounts",
            "block_rows",
            "sample_posts",
            "chunk_posts",
        ):
            if getattr(self, name) < 1:
                raise ConfigError(f"style {name} must be at least 1, not {getattr(self, name)}")
        if self.min_chars < 0:
            raise ConfigError(f"style min_chars must be >= 0, not {self.min_chars}")

    def as_dict(self) -> dict[str, Any]:
        """Return the configuration as JSON-ready data."""
        return asdict(self)


@dataclass(frozen=True)
class AuthorshipConfig:
    """How the posts of one persona are clustered by style.

    Parameters
    ----------
    min_post_chars
        Posts shorter than this are ignored (too little style per post).
    min_posts
        A persona with fewer long posts is not analysed.
    max_posts
        At most this many long posts (an even sample over time) are clustered.
    max_authors
        Largest number of authors considered.
    char_features, function_words
        Most frequent character n-gram buckets and function words kept per post vector.
    components
        Principal components the clustering runs on.
    null_replicates
        Single-author null replicates (independent column permutations).
    bootstrap
        Bootstrap resamples of the posts for the confidence of the author count.
    alpha
        Level of the test against the single-author null.
    seed
        Seed of k-means, the null and the bootstrap.
    """

    min_post_chars: int = 200
    min_posts: int = 30
    max_posts: int = 400
    max_authors: int = 5
    char_features: int = 300
    function_words: int = 100
    components: int = 6
    null_replicates: int = 39
    bootstrap: int = 20
    alpha: float = 0.05
    seed: int = 0

    def __post_init__(self) -> None:
        if self.max_authors < 2:
            raise ConfigError(f"authorship max_authors must be >= 2, not {self.max_authors}")
        if self.min_posts < 2 * self.max_authors:
            raise ConfigError(
                f"authorship min_posts ({self.min_posts}) must be at least twice max_authors "
                f"({self.max_authors}) so that every cluster can hold two posts"
            )
        if self.max_posts < self.min_posts:
            raise ConfigError(
                f"authorship max_posts ({self.max_posts}) is below min_posts ({self.min_posts})"
            )
        if not 0.0 < self.alpha < 1.0:
            raise ConfigError(f"authorship alpha must be in (0, 1), not {self.alpha}")
        for name in ("char_features", "function_words", "components", "null_replicates"):
            if getattr(self, name) < 1:
                raise ConfigError(f"authorship {name} must be at least 1")
        if self.bootstrap < 0:
            raise ConfigError(f"authorship bootstrap must be >= 0, not {self.bootstrap}")

    def as_dict(self) -> dict[str, Any]:
        """Return the configuration as JSON-ready data."""
        return asdict(self)


# ---------------------------------------------------------------------------------------------
# Hashing kernel

_P: Final = 0x100000001B3  # odd, so invertible modulo 2**64
_P_INV: Final = pow(_P, -1, 2**64)
_LENGTH_SALT: Final = np.uint64(0x9E3779B97F4A7C15)


def _splitmix64(x: U64Array) -> U64Array:
    # Fixed 64-bit finaliser; numpy's uint64 arithmetic wraps as the algorithm expects.
    x = x + np.uint64(0x9E3779B97F4A7C15)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


@lru_cache(maxsize=1)
def _bmp_tables() -> tuple[NDArray[np.uint32], NDArray[np.bool_], NDArray[np.bool_]]:
    """Lower-case map, letter mask and upper-case mask of the Basic Multilingual Plane."""
    chars = [chr(i) for i in range(0x10000)]
    lower = np.fromiter(
        (ord(lc) if len(lc := c.lower()) == 1 else ord(c) for c in chars),
        dtype=np.uint32,
        count=0x10000,
    )
    alpha = np.fromiter((c.isalpha() for c in chars), dtype=np.bool_, count=0x10000)
    upper = np.fromiter((c.isupper() for c in chars), dtype=np.bool_, count=0x10000)
    return lower, alpha, upper


@dataclass(frozen=True)
class _Encoded:
    """Texts joined by NUL separators as code points; text i spans ``starts[i]:ends[i]``."""

    codes: NDArray[np.uint32]
    starts: IntArray
    ends: IntArray

    @property
    def doc_of(self) -> IntArray:
        # Position -> text; separators get the text before them (they are never used).
        lengths = np.diff(np.append(self.starts, len(self.codes) + 1))
        return np.repeat(np.arange(len(self.starts), dtype=np.int64), lengths)[: len(self.codes)]


def _encode(texts: Sequence[str]) -> _Encoded:
    lengths = np.fromiter((len(t) for t in texts), dtype=np.int64, count=len(texts))
    starts = np.zeros(len(texts), dtype=np.int64)
    if len(texts) > 1:
        starts[1:] = np.cumsum(lengths[:-1] + 1)
    codes = np.frombuffer("\0".join(texts).encode("utf-32-le"), dtype=np.uint32)
    return _Encoded(codes=codes, starts=starts, ends=starts + lengths)


class _PrefixHash:
    """Polynomial prefix hashes of a code-point array: O(1) hash of any segment."""

    def __init__(self, codes: NDArray[np.uint32], seed: int) -> None:
        n = len(codes)
        powers = np.full(n + 1, _P, dtype=np.uint64)
        powers[0] = 1
        self._pw = np.cumprod(powers)  # wraps modulo 2**64
        inverse = np.full(n + 1, _P_INV, dtype=np.uint64)
        inverse[0] = 1
        self._ipw = np.cumprod(inverse)
        self._prefix = np.zeros(n + 1, dtype=np.uint64)
        np.cumsum(codes.astype(np.uint64) * self._pw[:-1], out=self._prefix[1:])
        self._seed = np.uint64(seed & 0xFFFFFFFFFFFFFFFF)

    def segments(self, a: IntArray, b: IntArray) -> U64Array:
        """Hash of every segment ``[a, b)``; equal strings hash equal wherever they are."""
        h = (self._prefix[b] - self._prefix[a]) * self._ipw[a]
        length = (b - a).astype(np.uint64)
        return _splitmix64(h ^ (length * _LENGTH_SALT) ^ self._seed)


def _ngram_positions(enc: _Encoded, n: int) -> IntArray:
    """Start positions of the character n-grams that lie inside one text."""
    sep = np.zeros(len(enc.codes) + 1, dtype=np.int64)
    np.cumsum(enc.codes == 0, out=sep[1:])
    if len(enc.codes) < n:
        return np.zeros(0, dtype=np.int64)
    a = np.arange(len(enc.codes) - n + 1, dtype=np.int64)
    return np.asarray(a[sep[a + n] - sep[a] == 0], dtype=np.int64)


def _word_spans(enc: _Encoded) -> tuple[IntArray, IntArray]:
    """Start and end positions of every run of letters (a word)."""
    _, alpha_table, _ = _bmp_tables()
    codes = enc.codes
    alpha = np.zeros(len(codes) + 2, dtype=np.bool_)
    bmp = codes < 0x10000
    alpha[1:-1][bmp] = alpha_table[codes[bmp]]
    edges = np.diff(alpha.astype(np.int8))
    return np.flatnonzero(edges == 1).astype(np.int64), np.flatnonzero(edges == -1).astype(np.int64)


def _lowered(codes: NDArray[np.uint32]) -> NDArray[np.uint32]:
    lower_table, _, _ = _bmp_tables()
    out = codes.copy()
    bmp = codes < 0x10000
    out[bmp] = lower_table[codes[bmp]]
    return out


def char_ngram_counts(
    texts: Sequence[str],
    *,
    ngram_range: tuple[int, int] = (2, 4),
    n_features: int = 2**18,
    seed: int = 0,
    lowercase: bool = False,
) -> sparse.csr_matrix:
    """Count the hashed character n-grams of each text.

    Parameters
    ----------
    texts
        The texts; n-grams never cross from one text into the next.
    ngram_range
        Smallest and largest n-gram length, inclusive.
    n_features
        Number of hash buckets (columns).
    seed
        Hash seed; the same seed gives the same columns on every machine.
    lowercase
        Lower-case before hashing (style keeps case; content similarity may not).

    Returns
    -------
    scipy.sparse.csr_matrix
        ``len(texts) x n_features`` counts (float64).

    Examples
    --------
    >>> m = char_ngram_counts(["abab", "ab"], ngram_range=(2, 2), n_features=64)
    >>> m.sum(axis=1).A1.tolist()
    [3.0, 1.0]
    """
    lo, hi = ngram_range
    if not 1 <= lo <= hi:
        raise ConfigError(f"n-gram range {ngram_range} is invalid; use 1 <= min <= max")
    if n_features < 1:
        raise ConfigError(f"n_features must be at least 1, not {n_features}")
    if not texts:
        return sparse.csr_matrix((0, n_features), dtype=np.float64)
    blocks: list[sparse.csr_matrix] = []
    for chunk in _chunks(texts):
        enc = _encode(chunk)
        codes = _lowered(enc.codes) if lowercase else enc.codes
        hasher = _PrefixHash(codes, seed)
        doc_of = enc.doc_of
        rows: list[IntArray] = []
        cols: list[U64Array] = []
        for n in range(lo, hi + 1):
            a = _ngram_positions(enc, n)
            rows.append(doc_of[a])
            cols.append(hasher.segments(a, a + n) % np.uint64(n_features))
        r = np.concatenate(rows)
        c = np.concatenate(cols).astype(np.int64)
        blocks.append(
            sparse.csr_matrix(
                (np.ones(len(r)), (r, c)), shape=(len(chunk), n_features), dtype=np.float64
            )
        )
    out = sparse.vstack(blocks, format="csr")
    out.sum_duplicates()
    return out


def _chunks(texts: Sequence[str], max_chars: int = 2_000_000) -> Iterator[Sequence[str]]:
    # Bounded memory: the hashing kernel holds ~40 bytes per character of a chunk.
    start, size = 0, 0
    for i, text in enumerate(texts):
        size += len(text) + 1
        if size > max_chars and i > start:
            yield texts[start:i]
            start, size = i, len(text) + 1
    yield texts[start:]


# ---------------------------------------------------------------------------------------------
# Style counts: character n-grams, function words, punctuation and layout

#: Punctuation and symbols whose use is a habit; each is one feature.
PUNCTUATION: Final = ".,;:!?'\"()[]-–—…«»“”‘’/*&%$€£#@~_+=|<>"
_PUNCT_INDEX: Final = {ord(ch): i for i, ch in enumerate(PUNCTUATION)}
#: Layout features, in order: per-character rates, then per-word, then per-sentence.
LAYOUT: Final = (
    "upper",
    "digit",
    "double_space",
    "space_before_punct",
    "newline",
    "emoji",
    "lower_sentence_start",
    "word_length",
    "sentence_length",
)

_URL = re.compile(r"(?:https?://|www\.)\S+")
_MENTION = re.compile(r"@\w+")
_HASHTAG = re.compile(r"#\w+")


def style_text(text: str) -> str:
    """Reduce a post to its style: URLs, @mentions and #hashtags become placeholders.

    Those carry content (what is linked, who is addressed), not how the author writes.

    Examples
    --------
    >>> style_text("Read this @bob https://x.co/a #Vote")
    'Read this @ URL #'
    """
    return _HASHTAG.sub("#", _MENTION.sub("@", _URL.sub("URL", text)))


@lru_cache(maxsize=1)
def _function_word_hashes() -> U64Array:
    """Hashes of the stop words of every language stopwordsiso knows (function words)."""
    import stopwordsiso

    words = sorted(
        {w.lower() for lang in stopwordsiso.langs() for w in stopwordsiso.stopwords(lang)}
    )
    words = [w for w in words if w.isalpha()]
    enc = _encode(words)
    hasher = _PrefixHash(_lowered(enc.codes), 0)
    return np.unique(hasher.segments(enc.starts, enc.ends))


@dataclass(frozen=True)
class _StyleCounts:
    """Raw style counts per row (a post or an account); sums of rows are meaningful.

    ``chars`` and ``words`` may hold only selected columns; ``char_total`` and ``word_total``
    are the row totals over all columns, the denominators of the relative frequencies.
    """

    chars: sparse.csr_matrix  # character n-gram counts
    words: sparse.csr_matrix  # function-word counts (columns: hashed word buckets)
    punct: FloatArray  # rows x len(PUNCTUATION)
    layout: FloatArray  # rows x len(LAYOUT), raw counts (word_length: letters in words)
    n_chars: FloatArray
    n_words: FloatArray
    n_sentences: FloatArray
    char_total: FloatArray
    word_total: FloatArray

    def _map(self, f: Any, g: Any) -> _StyleCounts:
        return _StyleCounts(
            chars=sparse.csr_matrix(f(self.chars)),
            words=sparse.csr_matrix(f(self.words)),
            **{
                name: np.asarray(g(getattr(self, name)), dtype=np.float64)
                for name in (
                    "punct",
                    "layout",
                    "n_chars",
                    "n_words",
                    "n_sentences",
                    "char_total",
                    "word_total",
                )
            },
        )

    def aggregate(self, groups: IntArray, n_groups: int) -> _StyleCounts:
        """Sum rows into groups (``groups[i]`` is row i's group)."""
        ind = sparse.csr_matrix(
            (np.ones(len(groups)), (groups, np.arange(len(groups)))),
            shape=(n_groups, len(groups)),
        )
        return self._map(lambda m: ind @ m, lambda a: ind @ a)

    def select(self, char_cols: IntArray, word_cols: IntArray) -> _StyleCounts:
        """Keep only the given n-gram and function-word columns (totals are kept)."""
        return _StyleCounts(
            chars=sparse.csr_matrix(self.chars[:, char_cols]),
            words=sparse.csr_matrix(self.words[:, word_cols]),
            punct=self.punct,
            layout=self.layout,
            n_chars=self.n_chars,
            n_words=self.n_words,
            n_sentences=self.n_sentences,
            char_total=self.char_total,
            word_total=self.word_total,
        )

    def __add__(self, other: _StyleCounts) -> _StyleCounts:
        return _StyleCounts(
            chars=sparse.csr_matrix(self.chars + other.chars),
            words=sparse.csr_matrix(self.words + other.words),
            punct=self.punct + other.punct,
            layout=self.layout + other.layout,
            n_chars=self.n_chars + other.n_chars,
            n_words=self.n_words + other.n_words,
            n_sentences=self.n_sentences + other.n_sentences,
            char_total=self.char_total + other.char_total,
            word_total=self.word_total + other.word_total,
        )


_WORD_BUCKETS: Final = 2**16
_SENTENCE_END: Final = frozenset(map(ord, ".!?…"))


def _style_counts(
    texts: Sequence[str], *, ngram_range: tuple[int, int], n_features: int, seed: int
) -> _StyleCounts:
    texts = [style_text(t) for t in texts]
    n = len(texts)
    chars = char_ngram_counts(texts, ngram_range=ngram_range, n_features=n_features, seed=seed)
    fw = _function_word_hashes()
    word_blocks: list[sparse.csr_matrix] = []
    punct = np.zeros((n, len(PUNCTUATION)))
    layout = np.zeros((n, len(LAYOUT)))
    n_words = np.zeros(n)
    n_sentences = np.zeros(n)
    _, _, upper_table = _bmp_tables()
    offset = 0
    for chunk in _chunks(texts):
        m = len(chunk)
        rows = slice(offset, offset + m)
        enc = _encode(chunk)
        codes = enc.codes
        doc_of = enc.doc_of
        # Words, and which of them are function words.
        a, b = _word_spans(enc)
        hashes = _PrefixHash(_lowered(codes), 0).segments(a, b)
        wdoc = doc_of[a]
        n_words[rows] = np.bincount(wdoc, minlength=m)
        layout[rows, LAYOUT.index("word_length")] = np.bincount(wdoc, weights=b - a, minlength=m)
        is_fw = np.isin(hashes, fw)
        word_blocks.append(
            sparse.csr_matrix(
                (
                    np.ones(int(is_fw.sum())),
                    (wdoc[is_fw], (hashes[is_fw] % np.uint64(_WORD_BUCKETS)).astype(np.int64)),
                ),
                shape=(m, _WORD_BUCKETS),
            )
        )
        # Punctuation.
        lut = np.full(0x10000, -1, dtype=np.int64)
        for cp, i in _PUNCT_INDEX.items():
            lut[cp] = i
        bmp = codes < 0x10000
        pidx = np.full(len(codes), -1, dtype=np.int64)
        pidx[bmp] = lut[codes[bmp]]
        hit = pidx >= 0
        punct[rows] = np.bincount(
            doc_of[hit] * len(PUNCTUATION) + pidx[hit], minlength=m * len(PUNCTUATION)
        ).reshape(m, len(PUNCTUATION))
        # Layout habits.
        upper = np.zeros(len(codes), dtype=np.bool_)
        upper[bmp] = upper_table[codes[bmp]]
        digit = (codes >= 48) & (codes <= 57)
        space = codes == 32
        nxt = np.append(codes[1:], 0)
        double_space = space & (nxt == 32)
        space_before = space & np.isin(nxt, [ord(c) for c in "!?:;"])
        newline = codes == 10
        emoji = codes >= 0x1F000
        ends = np.isin(codes, list(_SENTENCE_END)) & ((nxt == 32) | (nxt == 10) | (nxt == 0))
        ends &= ~np.isin(np.append(0, codes[:-1]), list(_SENTENCE_END))  # "..." is one end
        # The first letter after a sentence end: lower case is a habit.
        first_letter = np.zeros(len(codes), dtype=np.bool_)
        if len(a):
            prev_end = np.zeros(len(codes) + 1, dtype=np.int64)
            np.cumsum(ends, out=prev_end[1:])
            word_prev = np.concatenate(([0], prev_end[a[1:]] - prev_end[a[:-1]]))
            after_end = (word_prev > 0) & (np.concatenate(([-1], wdoc[:-1])) == wdoc)
            lower_start = after_end & ~upper[a]
            first_letter[a[lower_start]] = True
        for name, mask in (
            ("upper", upper),
            ("digit", digit),
            ("double_space", double_space),
            ("space_before_punct", space_before),
            ("newline", newline),
            ("emoji", emoji),
            ("lower_sentence_start", first_letter),
        ):
            layout[rows, LAYOUT.index(name)] = np.bincount(doc_of[mask], minlength=m)
        sentence_ends = np.bincount(doc_of[ends], minlength=m)
        # A text that does not end with punctuation still has its last sentence.
        n_sentences[rows] = np.maximum(sentence_ends, (n_words[rows] > 0).astype(float))
        offset += m
    n_chars = np.fromiter((len(t) for t in texts), dtype=np.float64, count=n)
    layout[:, LAYOUT.index("sentence_length")] = n_words
    words = sparse.vstack(word_blocks, format="csr")
    return _StyleCounts(
        chars=chars,
        words=words,
        char_total=np.asarray(chars.sum(axis=1), dtype=np.float64).ravel(),
        word_total=np.asarray(words.sum(axis=1), dtype=np.float64).ravel(),
        punct=punct,
        layout=layout,
        n_chars=n_chars,
        n_words=n_words,
        n_sentences=n_sentences,
    )


def _rates(counts: _StyleCounts) -> tuple[sparse.csr_matrix, sparse.csr_matrix, FloatArray]:
    """Relative frequencies: n-grams per n-gram, function words per word, habits per unit."""

    def row_normalise(m: sparse.csr_matrix, totals: FloatArray) -> sparse.csr_matrix:
        inv = np.divide(1.0, totals, out=np.zeros_like(totals), where=totals > 0)
        return sparse.csr_matrix(sparse.diags(inv) @ m)

    chars = np.maximum(counts.n_chars, 1.0)[:, None]
    words = np.maximum(counts.n_words, 1.0)[:, None]
    sentences = np.maximum(counts.n_sentences, 1.0)[:, None]
    lay = counts.layout.copy()
    per_char = [LAYOUT.index(x) for x in ("upper", "digit", "double_space", "newline", "emoji")]
    lay[:, per_char] /= chars
    lay[:, [LAYOUT.index("space_before_punct")]] /= np.maximum(counts.punct.sum(1), 1.0)[:, None]
    lay[:, [LAYOUT.index("lower_sentence_start")]] /= sentences
    lay[:, [LAYOUT.index("word_length")]] /= words
    lay[:, [LAYOUT.index("sentence_length")]] /= sentences
    dense = np.hstack([counts.punct / chars, lay])
    return (
        row_normalise(counts.chars, counts.char_total),
        row_normalise(counts.words, counts.word_total),
        dense,
    )


def _top_columns(m: sparse.csr_matrix, k: int) -> IntArray:
    """The ``k`` columns with the largest mean (ties broken by column index)."""
    means = np.asarray(m.mean(axis=0)).ravel()
    nonzero = np.flatnonzero(means > 0)
    order = np.lexsort((nonzero, -means[nonzero]))
    return np.sort(nonzero[order[:k]])


def _feature_columns(
    counts: _StyleCounts, char_features: int, function_words: int
) -> tuple[IntArray, IntArray]:
    """The most frequent n-gram and function-word columns (by mean relative frequency)."""
    chars, words, _ = _rates(counts)
    return _top_columns(chars, char_features), _top_columns(words, function_words)


def _design(counts: _StyleCounts) -> tuple[FloatArray, list[slice]]:
    """Dense feature matrix of (already selected) counts, and the column span of each block."""
    chars, words, dense = _rates(counts)
    blocks = [np.asarray(chars.todense()), np.asarray(words.todense()), dense]
    spans: list[slice] = []
    start = 0
    for block in blocks:
        spans.append(slice(start, start + block.shape[1]))
        start += block.shape[1]
    return np.hstack(blocks).astype(np.float64), spans


def _standardise(x: FloatArray, spans: list[slice], rows: IntArray | None = None) -> FloatArray:
    """z-score columns (over ``rows``), then weight each block by 1/sqrt(width)."""
    ref = x if rows is None else x[rows]
    mean = ref.mean(axis=0)
    sd = ref.std(axis=0)
    z = np.divide(x - mean, sd, out=np.zeros_like(x), where=sd > 1e-12)
    for span in spans:
        width = span.stop - span.start
        if width:
            z[:, span] /= np.sqrt(width)
    return np.asarray(z, dtype=np.float64)


def _unit_rows(x: FloatArray) -> FloatArray:
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return np.asarray(np.divide(x, norms, out=np.zeros_like(x), where=norms > 0), np.float64)


# ---------------------------------------------------------------------------------------------
# Reading the case


def _own_texts_sql(accounts: str | None, exclude_shared: bool, min_post_chars: int = 0) -> str:
    """SQL of the posts an account wrote itself (no plain reposts), in time order."""
    restrict = f"JOIN {accounts} a USING (account_id)" if accounts else ""
    shared = (
        """QUALIFY count(DISTINCT p.account_id) OVER (
                 PARTITION BY lower(regexp_replace(trim(p.text), '\\s+', ' ', 'g'))) = 1"""
        if exclude_shared
        else ""
    )
    return f"""
        SELECT p.account_id, p.post_id, p.text, coalesce(nullif(p.lang, ''), 'und') AS lang,
               p.timestamp
        FROM posts p {restrict}
        WHERE p.text IS NOT NULL AND length(p.text) >= {int(min_post_chars)}
          AND NOT (p.kind = 'share' AND coalesce(p.shared_post_id, '') <> '')
        {shared}
    """


# ---------------------------------------------------------------------------------------------
# (a) Personas written alike


@dataclass(frozen=True)
class _Profiles:
    accounts: list[str]
    language: list[str]
    vectors: FloatArray  # unit rows
    null_mean: dict[str, float]
    null_sd: dict[str, float]


def _language_groups(language: list[str], min_accounts: int) -> tuple[IntArray, list[str]]:
    """Group index per account; small languages are pooled into ``"*"``."""
    values, counts = np.unique(np.asarray(language, dtype=object), return_counts=True)
    big = {str(v) for v, c in zip(values, counts, strict=True) if c >= min_accounts}
    names = [*sorted(big), "*"]
    index = {name: i for i, name in enumerate(names)}
    return np.array([index.get(lang, index["*"]) for lang in language], dtype=np.int64), names


def _account_profiles(
    con: duckdb.DuckDBPyConnection, assignment: pa.Table | None, config: StyleConfig
) -> _Profiles:
    if assignment is not None:
        with _registered(con, _validated_assignment(assignment), "assignment") as name:
            posts = _fetch_arrow(
                con,
                f"SELECT * FROM ({_own_texts_sql(name, config.exclude_shared_texts)}) "
                "ORDER BY account_id, timestamp, post_id",
            )
    else:
        posts = _fetch_arrow(
            con,
            f"SELECT * FROM ({_own_texts_sql(None, config.exclude_shared_texts)}) "
            "ORDER BY account_id, timestamp, post_id",
        )
    account = posts["account_id"].to_numpy(zero_copy_only=False)
    uniq, group = np.unique(account.astype(str), return_inverse=True)
    n_posts = np.bincount(group, minlength=len(uniq))
    lengths = pc.utf8_length(posts["text"]).to_numpy(zero_copy_only=False)
    n_chars = np.bincount(group, weights=lengths, minlength=len(uniq))
    keep = (n_posts >= config.min_posts) & (n_chars >= config.min_chars)
    kept = np.flatnonzero(keep)
    remap = np.full(len(uniq), -1, dtype=np.int64)
    remap[kept] = np.arange(len(kept))
    rows = np.flatnonzero(keep[group])
    accounts = [str(a) for a in uniq[kept]]
    if len(kept) < 2:
        return _Profiles(accounts, ["und"] * len(kept), np.zeros((len(kept), 0)), {}, {})
    langs: NDArray[Any] = np.array(posts["lang"].to_pylist(), dtype=object)[rows]
    groups = remap[group[rows]]
    language = _majority(groups, langs, len(kept))
    text_column = posts["text"].take(pa.array(rows))

    def counts_of(sel: IntArray) -> _StyleCounts:
        return _style_counts(
            text_column.take(pa.array(sel)).to_pylist(),
            ngram_range=(config.ngram_min, config.ngram_max),
            n_features=config.n_features,
            seed=config.seed,
        )

    # Memory stays bounded: the feature columns are chosen on an even sample of the posts,
    # then the posts are counted in chunks that keep only those columns.
    sample = np.unique(
        np.linspace(0, len(rows) - 1, min(len(rows), config.sample_posts)).round()
    ).astype(np.int64)
    columns = _feature_columns(
        counts_of(sample).aggregate(groups[sample], len(kept)),
        config.char_features,
        config.function_words,
    )
    total: _StyleCounts | None = None
    for start in range(0, len(rows), config.chunk_posts):
        chunk = np.arange(start, min(len(rows), start + config.chunk_posts), dtype=np.int64)
        part = counts_of(chunk).select(*columns).aggregate(groups[chunk], len(kept))
        total = part if total is None else total + part
    assert total is not None
    x, spans = _design(total)
    gidx, names = _language_groups(language, config.min_language_accounts)
    z = np.zeros_like(x)
    for g in range(len(names)):
        members = np.flatnonzero(gidx == g)
        if len(members):
            z[members] = _standardise(x, spans, members)[members]
    vectors = _unit_rows(z)
    rng = np.random.default_rng(config.seed)
    null_mean: dict[str, float] = {}
    null_sd: dict[str, float] = {}
    for g, lang_name in enumerate(names):
        members = np.flatnonzero(gidx == g) if lang_name != "*" else np.arange(len(accounts))
        if len(members) < 3:
            continue
        i = rng.choice(members, size=config.null_pairs)
        j = rng.choice(members, size=config.null_pairs)
        ok = i != j
        sims = np.einsum("ij,ij->i", vectors[i[ok]], vectors[j[ok]])
        null_mean[lang_name] = float(sims.mean())
        null_sd[lang_name] = float(max(sims.std(), 1e-6))
    group_name = [names[g] for g in gidx]
    return _Profiles(accounts, group_name, vectors, null_mean, null_sd)


def _majority(groups: IntArray, values: NDArray[Any], n_groups: int) -> list[str]:
    """The most frequent value per group (ties: the smallest value)."""
    out = ["und"] * n_groups
    if len(groups) == 0:
        return out
    vals, inv = np.unique(values.astype(str), return_inverse=True)
    table = np.zeros((n_groups, len(vals)), dtype=np.int64)
    np.add.at(table, (groups, inv), 1)
    best = table.argmax(axis=1)
    return [str(vals[b]) for b in best]


def _pair_z(profiles: _Profiles, i: IntArray, j: IntArray, sims: FloatArray) -> FloatArray:
    lang = np.asarray(profiles.language, dtype=object)
    same = lang[i] == lang[j]
    key = np.where(same, lang[i], "*")
    mean = np.array([profiles.null_mean.get(k, profiles.null_mean.get("*", 0.0)) for k in key])
    sd = np.array([profiles.null_sd.get(k, profiles.null_sd.get("*", 1.0)) for k in key])
    return np.asarray((sims - mean) / sd, dtype=np.float64)


def style_edges(
    con: duckdb.DuckDBPyConnection,
    assignment: pa.Table | None = None,
    *,
    candidates: pa.Table | None = None,
    config: StyleConfig | None = None,
) -> pa.Table:
    """Build the style-similarity network: accounts whose writing is unusually alike.

    Parameters
    ----------
    con
        The case's DuckDB connection (reads ``posts``).
    assignment
        Optional ``account_id``, ``network_id`` table; when given, only its accounts are
        profiled. Without it every account with enough text is.
    candidates
        Optional ``source``, ``target`` table of account pairs to score (for example the edges
        of the fused network); without it each account's ``k_neighbours`` nearest are searched
        in blocks of rows, which is exact and needs ``block_rows x accounts`` floats of memory.
    config
        A :class:`StyleConfig`.

    Returns
    -------
    pyarrow.Table
        ``source``, ``target`` (``source < target``), ``similarity`` (cosine of the standardised
        profiles) and ``z`` (``(similarity - mean) / sd`` of random pairs of the same language;
        pairs across languages use the pooled null); only edges with ``z >= z_min``. Sorted by
        ``source``, ``target``.

    Examples
    --------
    >>> from cibscan.case import open_case
    >>> style_edges(open_case().con).num_rows
    0
    """
    config = config or StyleConfig()
    return _edges_from_profiles(_account_profiles(con, assignment, config), candidates, config)


def _edges_from_profiles(
    profiles: _Profiles, candidates: pa.Table | None, config: StyleConfig
) -> pa.Table:
    n = len(profiles.accounts)
    if n < 2 or not profiles.null_mean:
        return EDGE_SCHEMA.empty_table()
    vec = profiles.vectors.astype(np.float32)
    if candidates is not None:
        i, j = _candidate_pairs(profiles.accounts, candidates)
        sims = np.einsum("ij,ij->i", vec[i], vec[j]).astype(np.float64)
    else:
        i, j, sims = _nearest_pairs(vec, config.k_neighbours, config.block_rows)
    z = _pair_z(profiles, i, j, sims)
    keep = z >= config.z_min
    i, j, sims, z = i[keep], j[keep], sims[keep], z[keep]
    lo, hi = np.minimum(i, j), np.maximum(i, j)
    key = lo * n + hi
    _, first = np.unique(key, return_index=True)  # accounts are sorted: lo's name < hi's
    names = np.asarray(profiles.accounts, dtype=object)
    return pa.table(
        {
            "source": pa.array(names[lo[first]].tolist(), pa.string()),
            "target": pa.array(names[hi[first]].tolist(), pa.string()),
            "similarity": pa.array(np.round(sims[first], 6), pa.float64()),
            "z": pa.array(np.round(z[first], 4), pa.float64()),
        },
        schema=EDGE_SCHEMA,
    )


def _candidate_pairs(accounts: list[str], candidates: pa.Table) -> tuple[IntArray, IntArray]:
    for col in ("source", "target"):
        if col not in candidates.column_names:
            raise BadInputError(
                f"the candidate pairs table has no {col!r} column; it needs source and target",
                column=col,
            )
    index = {a: k for k, a in enumerate(accounts)}
    src = candidates["source"].to_pylist()
    dst = candidates["target"].to_pylist()
    pairs = [
        (index[s], index[t])
        for s, t in zip(src, dst, strict=True)
        if s in index and t in index and s != t
    ]
    if not pairs:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    arr = np.asarray(pairs, dtype=np.int64)
    return arr[:, 0], arr[:, 1]


def _nearest_pairs(
    vec: NDArray[np.float32], k: int, block_rows: int
) -> tuple[IntArray, IntArray, FloatArray]:
    """Each row's ``k`` most similar other rows, by blocked dense products."""
    n = len(vec)
    k = min(k, n - 1)
    out_i: list[IntArray] = []
    out_j: list[IntArray] = []
    out_s: list[FloatArray] = []
    for start in range(0, n, block_rows):
        stop = min(n, start + block_rows)
        sims = vec[start:stop] @ vec.T
        rows = np.arange(stop - start)
        sims[rows, rows + start] = -np.inf
        top = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        out_i.append(np.repeat(np.arange(start, stop, dtype=np.int64), k))
        out_j.append(top.ravel().astype(np.int64))
        out_s.append(sims[rows[:, None], top].ravel().astype(np.float64))
    return np.concatenate(out_i), np.concatenate(out_j), np.concatenate(out_s)


# ---------------------------------------------------------------------------------------------
# (b) One persona, several hands


@dataclass(frozen=True)
class AuthorEstimate:
    """The estimated number of authors behind one persona's posts.

    Attributes
    ----------
    authors
        Estimated number of authors (1 when the single-author null is not rejected).
    p_value
        Probability, under the single-author null, of style clusters at least this distinct.
    confidence
        Fraction of 80% subsamples of the posts that reach the same count (the same decision
        for one author); ``None`` when ``bootstrap`` is 0.
    posts
        Posts analysed (long enough, at most ``max_posts``).
    gap
        Per candidate count k (2, 3, ...): silhouette of the k-means clustering, standardised
        against the null replicates (``(s_k - mean) / sd``).
    labels
        Cluster of each analysed post, in input order (all 0 when ``authors == 1``).
    """

    authors: int
    p_value: float
    confidence: float | None
    posts: int
    gap: dict[int, float]
    labels: list[int]

    def as_dict(self) -> dict[str, Any]:
        """Return the estimate as JSON-ready data (``gap`` keys become strings)."""
        return {
            "authors": self.authors,
            "p_value": self.p_value,
            "confidence": self.confidence,
            "posts": self.posts,
            "gap": {str(k): v for k, v in self.gap.items()},
            "labels": self.labels,
        }


def _kmeans(x: FloatArray, k: int, rng: np.random.Generator, n_init: int = 4) -> IntArray:
    """Lloyd's k-means with k-means++ seeding; the best of ``n_init`` runs by inertia."""
    best_labels = np.zeros(len(x), dtype=np.int64)
    best_inertia = np.inf
    sq = (x * x).sum(axis=1)
    for _ in range(n_init):
        centres = np.empty((k, x.shape[1]))
        centres[0] = x[rng.integers(len(x))]
        d2 = ((x - centres[0]) ** 2).sum(axis=1)
        for c in range(1, k):
            total = d2.sum()
            pick = rng.integers(len(x)) if total <= 0 else rng.choice(len(x), p=d2 / total)
            centres[c] = x[pick]
            d2 = np.minimum(d2, ((x - centres[c]) ** 2).sum(axis=1))
        labels = np.zeros(len(x), dtype=np.int64)
        for _ in range(50):
            dist = sq[:, None] - 2 * x @ centres.T + (centres * centres).sum(axis=1)[None, :]
            new = dist.argmin(axis=1)
            if np.array_equal(new, labels) and _ > 0:
                break
            labels = new
            for c in range(k):
                members = labels == c
                if members.any():
                    centres[c] = x[members].mean(axis=0)
        inertia = float(dist[np.arange(len(x)), labels].sum())
        if inertia < best_inertia:
            best_inertia, best_labels = inertia, labels
    return best_labels


def _silhouette(dist: FloatArray, labels: IntArray, k: int) -> float:
    """Mean silhouette width (points in singleton clusters count 0)."""
    onehot = np.zeros((len(labels), k))
    onehot[np.arange(len(labels)), labels] = 1.0
    sizes = onehot.sum(axis=0)
    sums = dist @ onehot
    own_size = sizes[labels]
    a = np.divide(
        sums[np.arange(len(labels)), labels],
        own_size - 1,
        out=np.zeros(len(labels)),
        where=own_size > 1,
    )
    other = np.divide(sums, sizes, out=np.full_like(sums, np.inf), where=sizes > 0)
    other[np.arange(len(labels)), labels] = np.inf
    b = other.min(axis=1)
    denom = np.maximum(a, b)
    s = np.divide(b - a, denom, out=np.zeros(len(labels)), where=(own_size > 1) & (denom > 0))
    return float(s.mean())


def _principal_scores(z: FloatArray, components: int) -> FloatArray:
    """Scores of the rows on the leading principal components."""
    centred = z - z.mean(axis=0)
    # Eigenvectors of the (posts x posts) Gram matrix: cheaper than an SVD when there are more
    # features than posts, as there are here.
    values, vectors = np.linalg.eigh(centred @ centred.T)
    order = np.argsort(values)[::-1]
    d = max(1, min(components, len(values) - 1))
    top = order[:d]
    return np.asarray(vectors[:, top] * np.sqrt(np.maximum(values[top], 0.0)), dtype=np.float64)


def _cluster_quality(
    scores: FloatArray, max_k: int, rng: np.random.Generator
) -> tuple[FloatArray, list[IntArray]]:
    """Silhouette of k-means for k = 2..max_k."""
    sq = (scores * scores).sum(axis=1)
    dist = np.sqrt(np.maximum(sq[:, None] + sq[None, :] - 2 * scores @ scores.T, 0.0))
    sil = np.zeros(max_k - 1)
    labels: list[IntArray] = []
    for k in range(2, max_k + 1):
        lab = _kmeans(scores, k, rng)
        labels.append(lab)
        sil[k - 2] = _silhouette(dist, lab, k)
    return sil, labels


def estimate_authors(
    texts: Sequence[str], *, config: AuthorshipConfig | None = None
) -> AuthorEstimate:
    """Estimate how many people wrote a persona's posts.

    The long posts are described by their style (relative frequencies of the persona's most
    frequent character 2-4-grams and function words, punctuation and layout habits), each
    feature z-scored, and clustered by k-means on the leading principal components for
    k = 2..``max_authors``. The silhouette of each k is compared with the same statistic on
    ``null_replicates`` single-author replicates, in which every feature column is permuted on
    its own: the spread of each habit is kept, but not the co-occurrence of habits that marks
    one writer. The persona is multi-author when the best standardised silhouette gap beats
    the null (``p_value <= alpha``); the count is the k with the highest silhouette.

    Parameters
    ----------
    texts
        The persona's posts (short ones are dropped, see :class:`AuthorshipConfig`).
    config
        An :class:`AuthorshipConfig`.

    Returns
    -------
    AuthorEstimate

    Raises
    ------
    EmptyInputError
        Fewer than ``min_posts`` posts are long enough.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(1)
    >>> posts, _ = synthetic_persona_posts([synthetic_author(3)], 40, rng)
    >>> estimate_authors(posts, config=AuthorshipConfig(null_replicates=9, bootstrap=0)).authors
    1
    """
    from cibscan.errors import EmptyInputError

    config = config or AuthorshipConfig()
    long_posts = [t for t in texts if len(t) >= config.min_post_chars]
    if len(long_posts) < config.min_posts:
        raise EmptyInputError(
            f"estimating authors needs at least {config.min_posts} posts of "
            f"{config.min_post_chars} characters or more; this persona has {len(long_posts)}"
        )
    if len(long_posts) > config.max_posts:
        pick = np.linspace(0, len(long_posts) - 1, config.max_posts).round().astype(np.int64)
        long_posts = [long_posts[i] for i in pick]
    counts = _style_counts(long_posts, ngram_range=(2, 4), n_features=2**16, seed=config.seed)
    columns = _feature_columns(counts, config.char_features, config.function_words)
    x, spans = _design(counts.select(*columns))
    z = _standardise(x, spans)
    rng = np.random.default_rng(config.seed)
    max_k = min(config.max_authors, len(long_posts) // 2)
    scores = _principal_scores(z, config.components)
    observed, labels = _cluster_quality(scores, max_k, rng)
    # The single-author null (as in SigClust, Liu et al. 2008): one Gaussian cloud with the
    # same variance along every principal axis. Several writers make the cloud lumpy, which
    # k-means separates better than it separates a Gaussian of equal spread.
    spread = scores.std(axis=0)
    null = np.array(
        [
            _cluster_quality(rng.standard_normal(scores.shape) * spread, max_k, rng)[0]
            for _ in range(config.null_replicates)
        ]
    )
    mean = null.mean(axis=0)
    sd = np.maximum(null.std(axis=0, ddof=1) if len(null) > 1 else np.ones(max_k - 1), 1e-6)
    gap = (observed - mean) / sd
    null_stat = ((null - mean) / sd).max(axis=1)
    stat = float(gap.max())
    p_value = float((1 + np.sum(null_stat >= stat)) / (1 + len(null_stat)))
    critical = float(np.quantile(null_stat, 1 - config.alpha)) if len(null_stat) else np.inf
    # The test uses the standardised gap; the count uses the plain silhouette, which picked the
    # right count more often on synthetic personas (docs/fingerprints-b.md).
    best = int(observed.argmax())
    authors = best + 2 if p_value <= config.alpha else 1

    agree = 0
    for _ in range(config.bootstrap):
        rows = np.sort(rng.choice(len(long_posts), size=int(0.8 * len(long_posts)), replace=False))
        sil, _ = _cluster_quality(scores[rows], max_k, rng)
        g = (sil - mean) / sd
        k_b = int(sil.argmax()) + 2 if g.max() > critical else 1
        agree += k_b == authors
    return AuthorEstimate(
        authors=authors,
        p_value=round(p_value, 6),
        confidence=round(agree / config.bootstrap, 4) if config.bootstrap else None,
        posts=len(long_posts),
        gap={k + 2: round(float(g), 4) for k, g in enumerate(gap)},
        labels=labels[best].tolist() if authors > 1 else [0] * len(long_posts),
    )


@dataclass(frozen=True)
class PersonaAuthors:
    """The author estimate of one account of a network."""

    account_id: str
    network_id: str
    estimate: AuthorEstimate

    def as_dict(self) -> dict[str, Any]:
        """Return JSON-ready data (the per-post labels are left out)."""
        out = self.estimate.as_dict()
        del out["labels"]
        return {"account_id": self.account_id, "network_id": self.network_id, **out}


def persona_authors(
    con: duckdb.DuckDBPyConnection,
    assignment: pa.Table,
    *,
    config: AuthorshipConfig | None = None,
) -> list[PersonaAuthors]:
    """Estimate the number of authors of every assigned account with enough long posts.

    Parameters
    ----------
    con
        The case's DuckDB connection (reads ``posts``; plain reposts are ignored).
    assignment
        ``account_id``, ``network_id`` strings.
    config
        An :class:`AuthorshipConfig`.

    Returns
    -------
    list of PersonaAuthors
        One per account with at least ``min_posts`` posts of ``min_post_chars`` characters,
        sorted by network then account.

    Examples
    --------
    >>> import pyarrow as pa
    >>> from cibscan.case import open_case
    >>> persona_authors(open_case().con, pa.table({"account_id": ["a"], "network_id": ["n"]}))
    []
    """
    config = config or AuthorshipConfig()
    table = _validated_assignment(assignment)
    with _registered(con, table, "assignment") as name:
        posts = con.execute(
            f"""SELECT o.account_id, a.network_id, o.text
                FROM ({_own_texts_sql(name, False, config.min_post_chars)}) o
                JOIN {name} a USING (account_id)
                QUALIFY count(*) OVER (PARTITION BY o.account_id) >= {int(config.min_posts)}
                ORDER BY a.network_id, o.account_id, o.timestamp, o.post_id"""
        ).fetchall()
    out: list[PersonaAuthors] = []
    start = 0
    while start < len(posts):
        account, network = posts[start][0], posts[start][1]
        stop = start
        while stop < len(posts) and posts[stop][0] == account:
            stop += 1
        texts = [row[2] for row in posts[start:stop]]
        out.append(PersonaAuthors(account, network, estimate_authors(texts, config=config)))
        start = stop
    return out


@dataclass(frozen=True)
class NetworkStyle:
    """Style evidence for one network.

    Attributes
    ----------
    accounts
        Accounts assigned to the network.
    profiled
        Of those, accounts with enough text for a style profile.
    style_edges
        Style-similarity edges (``z >= z_min``) with both ends in the network.
    mean_similarity
        Mean cosine over all pairs of profiled members (``None`` below two).
    cohesion_z
        ``mean_similarity`` against random pairs of all profiled accounts of the case.
    personas
        Author estimates of its accounts with enough long posts, most authors first.
    writer_groups
        Connected groups (two accounts or more) of the style links inside the network, largest
        first: accounts that write alike, as the personas of one member of staff do. Style
        links are pairs far beyond chance on their own, so a group is evidence of one hand
        only as far as the links are (posts other accounts copied word for word are left out
        of the profiles, ``StyleConfig.exclude_shared_texts``; a campaign sentence inserted in
        posts of one's own is not).
    multi_author_expected
        Personas expected to be called multi-author by chance: the test's level times the
        personas tested (each is tested on its own, without correction for their number).
    """

    network_id: str
    accounts: int
    profiled: int
    style_edges: int
    mean_similarity: float | None
    cohesion_z: float | None
    personas: list[PersonaAuthors]
    writer_groups: list[list[str]] = field(default_factory=list)
    multi_author_expected: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        """Return JSON-ready data."""
        return {
            "network_id": self.network_id,
            "accounts": self.accounts,
            "profiled": self.profiled,
            "style_edges": self.style_edges,
            "mean_similarity": self.mean_similarity,
            "cohesion_z": self.cohesion_z,
            "multi_author_personas": sum(p.estimate.authors > 1 for p in self.personas),
            "personas_tested": len(self.personas),
            "multi_author_expected": self.multi_author_expected,
            "personas": [p.as_dict() for p in self.personas],
            "writer_groups": [len(g) for g in self.writer_groups],
            "writer_group_members": self.writer_groups,
        }


@dataclass(frozen=True)
class StyleFingerprints:
    """Style fingerprints of every network of an assignment."""

    networks: dict[str, NetworkStyle]
    config: StyleConfig
    authorship: AuthorshipConfig

    def as_dict(self) -> dict[str, Any]:
        """Return JSON-ready data: the configs and one entry per network."""
        return {
            "config": self.config.as_dict(),
            "authorship": self.authorship.as_dict(),
            "networks": {k: v.as_dict() for k, v in self.networks.items()},
        }


def style_fingerprints(
    con: duckdb.DuckDBPyConnection,
    assignment: pa.Table,
    *,
    config: StyleConfig | None = None,
    authorship: AuthorshipConfig | None = None,
    edges: pa.Table | None = None,
) -> StyleFingerprints:
    """Summarise, per network, how alike its accounts write and which personas have many hands.

    Profiles are built for every account of the case (so that the null is the case's
    accounts, not only the suspects'); ``edges`` from an earlier :func:`style_edges` call on
    the whole case may be passed to avoid computing them again.

    Examples
    --------
    >>> import pyarrow as pa
    >>> from cibscan.case import open_case
    >>> fp = style_fingerprints(open_case().con,
    ...                         pa.table({"account_id": ["a"], "network_id": ["n"]}))
    >>> fp.as_dict()["networks"]["n"]["profiled"]
    0
    """
    config = config or StyleConfig()
    authorship = authorship or AuthorshipConfig()
    table = _validated_assignment(assignment)
    profiles = _account_profiles(con, None, config)
    if edges is None:
        edges = _edges_from_profiles(profiles, None, config)
    network_of = dict(
        zip(table["account_id"].to_pylist(), table["network_id"].to_pylist(), strict=True)
    )
    internal: dict[str, list[tuple[str, str]]] = {}
    for s, t in zip(edges["source"].to_pylist(), edges["target"].to_pylist(), strict=True):
        ns, nt = network_of.get(s), network_of.get(t)
        if ns is not None and ns == nt:
            internal.setdefault(ns, []).append((s, t))
    index = {a: k for k, a in enumerate(profiles.accounts)}
    members: dict[str, list[str]] = {}
    for account, network in network_of.items():
        members.setdefault(network, []).append(account)
    personas: dict[str, list[PersonaAuthors]] = {}
    for p in persona_authors(con, table, config=authorship):
        personas.setdefault(p.network_id, []).append(p)
    out: dict[str, NetworkStyle] = {}
    for network in sorted(members):
        rows = np.array(sorted(index[a] for a in members[network] if a in index), dtype=np.int64)
        mean_sim: float | None = None
        cohesion: float | None = None
        if len(rows) >= 2 and profiles.null_mean:
            v = profiles.vectors[rows]
            total = v.sum(axis=0)
            m = len(rows)
            mean_sim = float((total @ total - np.einsum("ij,ij->", v, v)) / (m * (m - 1)))
            cohesion = round((mean_sim - profiles.null_mean["*"]) / profiles.null_sd["*"], 4)
            mean_sim = round(mean_sim, 6)
        found = sorted(personas.get(network, []), key=lambda p: (-p.estimate.authors, p.account_id))
        out[network] = NetworkStyle(
            network_id=network,
            accounts=len(members[network]),
            profiled=len(rows),
            style_edges=len(internal.get(network, [])),
            mean_similarity=mean_sim,
            cohesion_z=cohesion,
            personas=found,
            writer_groups=_linked_groups(internal.get(network, [])),
            multi_author_expected=round(authorship.alpha * len(found), 2),
        )
    return StyleFingerprints(networks=out, config=config, authorship=authorship)


def _linked_groups(pairs: list[tuple[str, str]]) -> list[list[str]]:
    """Connected groups of the accounts of ``pairs``, largest first, each sorted.

    Examples
    --------
    >>> _linked_groups([("b", "a"), ("c", "d"), ("a", "e")])
    [['a', 'b', 'e'], ['c', 'd']]
    """
    if not pairs:
        return []
    names = sorted({a for pair in pairs for a in pair})
    index = {a: k for k, a in enumerate(names)}
    rows = np.array([index[a] for a, _ in pairs], dtype=np.int64)
    cols = np.array([index[b] for _, b in pairs], dtype=np.int64)
    graph = sparse.coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(names), len(names)))
    _, labels = connected_components(graph, directed=False)
    groups: dict[int, list[str]] = {}
    for name, label in zip(names, labels.tolist(), strict=True):
        groups.setdefault(label, []).append(name)
    return sorted(groups.values(), key=lambda g: (-len(g), g))


# ---------------------------------------------------------------------------------------------
# Synthetic writers with known habits (for tests and the accuracy benchmark)

_SLOTS: Final[dict[str, tuple[str, ...]]] = {
    "but": ("but", "however,", "yet", "though", "still"),
    "because": ("because", "since", "as", "given that"),
    "very": ("very", "really", "so", "extremely", "truly"),
    "opinion": ("I think", "I believe", "in my view", "honestly", "frankly", "clearly"),
    "many": ("many", "a lot of", "lots of", "plenty of", "countless"),
    "also": ("also", "too", "as well", "in addition"),
    "must": ("must", "have to", "need to", "should"),
    "people": ("people", "folks", "citizens", "ordinary people"),
    "about": ("about", "regarding", "concerning", "on"),
    "so": ("so", "therefore", "thus", "that is why"),
    "we": ("we", "all of us", "we all"),
    "the": ("the", "this", "that"),
}
_SPELLINGS: Final = (
    ("colour", "color"),
    ("organise", "organize"),
    ("centre", "center"),
    ("defence", "defense"),
    ("realise", "realize"),
    ("favourite", "favorite"),
    ("labour", "labor"),
    ("programme", "program"),
)
_NOUNS: Final = (
    "government",
    "regime",
    "election",
    "freedom",
    "economy",
    "corruption",
    "protest",
    "border",
    "media",
    "future",
    "country",
    "justice",
    "truth",
    "crisis",
    "policy",
    "leaders",
    "opposition",
    "parliament",
    "prices",
    "workers",
    "labour",
    "defence",
    "centre",
    "programme",
)
_ADJECTIVES: Final = (
    "corrupt",
    "free",
    "honest",
    "dangerous",
    "brave",
    "weak",
    "strong",
    "new",
    "real",
    "favourite",
    "true",
    "broken",
)
_VERBS: Final = ("destroys", "supports", "ignores", "fears", "protects", "betrays", "needs")
_BASE_VERBS: Final = ("organise", "defend", "realise", "change", "stop", "expose", "remember")
_DASHES: Final = (" - ", " — ", " -- ", "–")
_ELLIPSES: Final = ("...", "…", " ...", "..")
_EMOJI: Final = ("🙂", "🔥", "👍", "😡", "🙏")


@dataclass(frozen=True)
class SyntheticAuthor:
    """The habits of one synthetic writer.

    Attributes
    ----------
    preferences
        Per grammar slot, the probability of each of its variants.
    british
        Probability of the British spelling of a word with two spellings.
    double_space, space_before_punct, comma_before_clause, lower_start
        Probabilities of those habits (after a sentence, before ``!?:;``, before a joined
        clause, at a sentence start).
    exclaim, question, ellipsis, dash, emoji
        Rates per sentence.
    ellipsis_form, dash_form
        How the writer types an ellipsis and a dash.
    sentence_length
        Mean words per sentence.
    """

    preferences: dict[str, tuple[float, ...]] = field(default_factory=dict)
    british: float = 0.5
    double_space: float = 0.0
    space_before_punct: float = 0.0
    comma_before_clause: float = 0.5
    lower_start: float = 0.0
    exclaim: float = 0.1
    question: float = 0.05
    ellipsis: float = 0.05
    dash: float = 0.1
    emoji: float = 0.0
    ellipsis_form: str = "..."
    dash_form: str = " - "
    sentence_length: float = 12.0


def synthetic_author(seed: int) -> SyntheticAuthor:
    """Draw a synthetic writer's habits from a seeded random generator.

    Habits are drawn independently, so two writers may share some by chance, as real
    colleagues do.

    Examples
    --------
    >>> synthetic_author(1) == synthetic_author(1)
    True
    """
    rng = np.random.default_rng([seed, 0x5711E])
    prefs = {
        slot: tuple(float(p) for p in rng.dirichlet(np.full(len(options), 0.4)))
        for slot, options in _SLOTS.items()
    }
    return SyntheticAuthor(
        preferences=prefs,
        british=float(rng.choice([0.05, 0.5, 0.95])),
        double_space=float(rng.choice([0.0, 0.0, 0.7])),
        space_before_punct=float(rng.choice([0.0, 0.0, 0.0, 0.8])),
        comma_before_clause=float(rng.uniform(0, 1)),
        lower_start=float(rng.choice([0.0, 0.0, 0.0, 0.5])),
        exclaim=float(rng.uniform(0, 0.35)),
        question=float(rng.uniform(0, 0.15)),
        ellipsis=float(rng.uniform(0, 0.2)),
        dash=float(rng.uniform(0, 0.25)),
        emoji=float(rng.choice([0.0, 0.0, 0.15])),
        ellipsis_form=str(rng.choice(_ELLIPSES)),
        dash_form=str(rng.choice(_DASHES)),
        sentence_length=float(rng.uniform(7, 20)),
    )


def _synthetic_sentence(author: SyntheticAuthor, rng: np.random.Generator) -> str:
    def slot(name: str) -> str:
        options = _SLOTS[name]
        return options[rng.choice(len(options), p=author.preferences[name])]

    def spell(word: str) -> str:
        for british, american in _SPELLINGS:
            if word.startswith(british):
                return word if rng.random() < author.british else american + word[len(british) :]
        return word

    def noun_phrase() -> list[str]:
        words = [slot("the")]
        if rng.random() < 0.5:
            if rng.random() < 0.3:
                words.append(slot("very"))
            words.append(spell(str(rng.choice(_ADJECTIVES))))
        words.append(spell(str(rng.choice(_NOUNS))))
        return words

    def clause() -> list[str]:
        kind = rng.integers(4)
        if kind == 0:
            return [*noun_phrase(), str(rng.choice(_VERBS)), *noun_phrase()]
        if kind == 1:
            return [slot("we"), slot("must"), spell(str(rng.choice(_BASE_VERBS))), *noun_phrase()]
        if kind == 2:
            return [slot("many"), slot("people"), "talk", slot("about"), *noun_phrase()]
        return [slot("people"), slot("also"), "see", *noun_phrase()]

    target = max(4, rng.poisson(author.sentence_length))
    words: list[str] = []
    if rng.random() < 0.3:
        words += [slot("opinion") + ","]
    words += clause()
    while len(words) < target:
        comma = "," if rng.random() < author.comma_before_clause else ""
        if rng.random() < author.dash:
            words[-1] += author.dash_form.rstrip(" ") if author.dash_form == "–" else ""
            joiner = [] if author.dash_form == "–" else [author.dash_form.strip()]
        else:
            joiner = [str(rng.choice([slot("but"), slot("because"), slot("so"), "and"]))]
            words[-1] += comma
        words += joiner + clause()
    text = " ".join(words)
    if rng.random() >= author.lower_start:
        text = text[0].upper() + text[1:]
    space = " " if rng.random() < author.space_before_punct else ""
    r = rng.random()
    if r < author.exclaim:
        text += space + "!"
    elif r < author.exclaim + author.question:
        text += space + "?"
    elif r < author.exclaim + author.question + author.ellipsis:
        text += author.ellipsis_form
    else:
        text += "."
    if rng.random() < author.emoji:
        text += " " + str(rng.choice(_EMOJI))
    return text


def synthetic_persona_posts(
    authors: Sequence[SyntheticAuthor],
    n_posts: int,
    rng: np.random.Generator,
    *,
    min_chars: int = 250,
    max_chars: int = 600,
) -> tuple[list[str], list[int]]:
    """Write ``n_posts`` posts of one persona, shared among ``authors``.

    Every author writes at least ``n_posts // (2 * len(authors))`` posts; the rest are
    assigned at random. Returns the posts and the index of the author of each.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> posts, who = synthetic_persona_posts([synthetic_author(1), synthetic_author(2)], 10, rng)
    >>> len(posts), sorted(set(who))
    (10, [0, 1])
    """
    floor = n_posts // (2 * len(authors))
    who = np.concatenate(
        [
            np.repeat(np.arange(len(authors)), floor),
            rng.integers(len(authors), size=n_posts - floor * len(authors)),
        ]
    )
    rng.shuffle(who)
    posts: list[str] = []
    for w in who:
        author = authors[int(w)]
        target = rng.integers(min_chars, max_chars + 1)
        sentences: list[str] = []
        length = 0
        while length < target:
            sentence = _synthetic_sentence(author, rng)
            sentences.append(sentence)
            length += len(sentence) + 1
        gaps = np.where(rng.random(len(sentences)) < author.double_space, "  ", " ")
        posts.append("".join(g + t for g, t in zip(gaps, sentences, strict=True))[1:].lstrip(" "))
    return posts, [int(w) for w in who]


def evaluate_author_estimation(
    *,
    personas_per_count: int = 25,
    author_counts: Sequence[int] = (1, 2, 3, 4),
    posts_per_persona: int = 80,
    seed: int = 0,
    config: AuthorshipConfig | None = None,
) -> dict[str, Any]:
    """Measure :func:`estimate_authors` on synthetic personas with known numbers of authors.

    Each persona's writers are fresh :func:`synthetic_author` draws. Returns the single-vs-multi
    decision accuracy, precision, recall and F1 (multi-author is the positive class), the exact
    count accuracy overall and per true count, and the confusion table.

    Examples
    --------
    >>> cfg = AuthorshipConfig(null_replicates=9, bootstrap=0)
    >>> r = evaluate_author_estimation(personas_per_count=1, author_counts=(1,),
    ...                                posts_per_persona=40, config=cfg)
    >>> r["personas"]
    1
    """
    config = config or AuthorshipConfig()
    truth: list[int] = []
    estimate: list[int] = []
    author_seed = 0
    for count in author_counts:
        for p in range(personas_per_count):
            rng = np.random.default_rng([seed, count, p])
            authors = [synthetic_author(seed * 1_000_003 + author_seed + a) for a in range(count)]
            author_seed += count
            posts, _ = synthetic_persona_posts(authors, posts_per_persona, rng)
            truth.append(count)
            estimate.append(estimate_authors(posts, config=config).authors)
    t = np.asarray(truth)
    e = np.asarray(estimate)
    tp = int(np.sum((t > 1) & (e > 1)))
    fp = int(np.sum((t == 1) & (e > 1)))
    fn = int(np.sum((t > 1) & (e == 1)))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    confusion = {
        str(c): {str(k): int(np.sum((t == c) & (e == k))) for k in sorted(set(e.tolist()))}
        for c in author_counts
    }
    return {
        "personas": len(t),
        "posts_per_persona": posts_per_persona,
        "config": config.as_dict(),
        "decision_accuracy": round(float(np.mean((t > 1) == (e > 1))), 4),
        "multi_precision": round(precision, 4),
        "multi_recall": round(recall, 4),
        "multi_f1": round(f1, 4),
        "count_accuracy": round(float(np.mean(t == e)), 4),
        "count_accuracy_by_truth": {
            str(c): round(float(np.mean(e[t == c] == c)), 4) for c in author_counts
        },
        "confusion": confusion,
    }
