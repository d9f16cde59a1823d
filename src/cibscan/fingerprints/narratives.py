"""Narratives: what a network says, whom it praises and attacks, and its most typical posts.

Per network, against the background (every other post of the case):

* **Distinctive hashtags, domains and terms** by the weighted log-odds ratio with an informative
  Dirichlet prior (Monroe, Colaresi & Quinn 2008, "Fightin' words", section 3.5). For item ``w``
  with counts ``y_w`` in the network (total ``n``) and ``b_w`` in the background (total ``m``),
  and prior ``a_w = a0 * (y_w + b_w) / (n + m)``::

      delta_w = log((y_w + a_w) / (n + a0 - y_w - a_w)) - log((b_w + a_w) / (m + a0 - b_w - a_w))
      z_w     = delta_w / sqrt(1 / (y_w + a_w) + 1 / (b_w + a_w))

  ``a0`` defaults to the case's total count of that kind of item (the whole case is the prior).
  Terms are lower-cased Unicode word tokens (letters, marks, digits) of the texts without URLs,
  @mentions and #hashtags, with the stop words of the post's language removed (stopwordsiso,
  58 languages; for posts without a language, those of the case's languages and of the
  languages told from those posts' own stop words, :func:`_unlabelled_languages`); domains are
  the hosts of ``posts.urls`` without ``www.``.
* **Entities praised and attacked**: every @mention, #hashtag and capitalised name in a post
  is scored by the sentiment words within ``window`` words of it (a sentiment lexicon for the
  post's language; a negation up to three words before a sentiment word flips and damps it, as
  VADER does). Lexicons: English from the ``vaderSentiment`` package (VADER, MIT); Danish,
  German, French, Dutch and Portuguese vendored under ``lexicons/`` (see their licence files);
  with the optional ``asent`` package, Chen & Skiena's (2014) lexicons for some 75 more
  languages (GPL-3.0, read from that package at run time, never copied). Posts in other
  languages are not scored; :attr:`Narratives.sentiment_languages` and each network's
  ``sentiment_coverage`` say how much was.
* **Representative posts**: the network's texts with the highest mean similarity (cosine of
  TF-IDF character 3-5-grams) to all of its other posts, counting verbatim copies, with near
  duplicates of an already chosen post skipped.
"""

from __future__ import annotations

import importlib
import importlib.util
import math
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Final

import duckdb
import numpy as np
import pyarrow as pa
from numpy.typing import NDArray
from scipy import sparse

from cibscan.case import sql_literal
from cibscan.errors import ConfigError
from cibscan.fingerprints._assignment import fetch_arrow as _fetch_arrow
from cibscan.fingerprints._assignment import registered as _registered
from cibscan.fingerprints._assignment import validated_assignment as _validated_assignment
from cibscan.fingerprints.style import char_ngram_counts
from cibscan.traces import plain_text_sql

# ``regex`` (a dependency, untyped) for the Unicode classes \p{L} and \p{M} that ``re`` lacks.
_rx: Any = importlib.import_module("regex")

__all__ = [
    "DistinctiveItem",
    "EntitySentiment",
    "NarrativeConfig",
    "Narratives",
    "NetworkNarrative",
    "RepresentativePost",
    "narratives",
    "sentiment_languages",
    "weighted_log_odds",
]

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class NarrativeConfig:
    """How distinctive items, entity sentiment and representative posts are chosen.

    Parameters
    ----------
    top_items
        Distinctive hashtags, domains and terms reported per network (highest z first).
    min_count
        An item must occur at least this often in the network to be reported.
    min_z
        ... and have a z-score of at least this (1.96: two standard errors above the case; a
        z of 0.1 is an item the network uses as anyone would).
    prior_strength
        ``a0`` of the Dirichlet prior; ``None`` uses the case's total count of the item kind.
    window
        Words on each side of an entity whose sentiment counts.
    min_mentions
        Mentions with a sentiment (scored above or below zero) an entity needs in the
        network's posts to be reported; praised or attacked are those whose mean is positive
        or negative *and* most of whose signed mentions agree.
    top_entities
        Entities reported as praised and as attacked.
    representative
        Representative posts reported per network.
    max_texts
        At most this many distinct texts (the most copied) enter the centrality computation.
    near_duplicate
        A candidate representative post with this cosine or more to a chosen one is skipped.
    """

    top_items: int = 20
    min_count: int = 3
    min_z: float = 1.96
    prior_strength: float | None = None
    window: int = 5
    min_mentions: int = 3
    top_entities: int = 10
    representative: int = 5
    max_texts: int = 20000
    near_duplicate: float = 0.8

    def __post_init__(self) -> None:
        for name in (
            "top_items",
            "min_count",
            "window",
            "min_mentions",
            "top_entities",
            "representative",
            "max_texts",
        ):
            if getattr(self, name) < 1:
                raise ConfigError(f"narrative {name} must be at least 1, not {getattr(self, name)}")
        if self.prior_strength is not None and self.prior_strength <= 0:
            raise ConfigError(
                f"narrative prior_strength must be positive or None, not {self.prior_strength}"
            )
        if not 0.0 < self.near_duplicate <= 1.0:
            raise ConfigError(
                f"narrative near_duplicate must be in (0, 1], not {self.near_duplicate}"
            )

    def as_dict(self) -> dict[str, Any]:
        """Return the configuration as JSON-ready data."""
        return asdict(self)


@dataclass(frozen=True)
class DistinctiveItem:
    """A hashtag, domain or term the network uses more than the background."""

    item: str
    z: float
    count: int
    background: int

    def as_dict(self) -> dict[str, Any]:
        """Return JSON-ready data."""
        return asdict(self)


@dataclass(frozen=True)
class EntitySentiment:
    """How a network speaks of one entity.

    ``sentiment`` is the mean score of its mentions, each in [-1, 1]; ``positive`` and
    ``negative`` count mentions scored above and below zero.
    """

    entity: str
    kind: str
    mentions: int
    sentiment: float
    positive: int
    negative: int

    def as_dict(self) -> dict[str, Any]:
        """Return JSON-ready data."""
        return asdict(self)


@dataclass(frozen=True)
class RepresentativePost:
    """A typical post of the network (``copies``: posts of the network with the same text)."""

    post_id: str
    account_id: str
    text: str
    copies: int
    centrality: float

    def as_dict(self) -> dict[str, Any]:
        """Return JSON-ready data."""
        return asdict(self)


@dataclass(frozen=True)
class NetworkNarrative:
    """The narrative fingerprint of one network."""

    network_id: str
    posts: int
    hashtags: list[DistinctiveItem]
    domains: list[DistinctiveItem]
    terms: list[DistinctiveItem]
    praises: list[EntitySentiment]
    attacks: list[EntitySentiment]
    sentiment_coverage: float
    representative_posts: list[RepresentativePost]

    def as_dict(self) -> dict[str, Any]:
        """Return JSON-ready data."""
        return {
            "network_id": self.network_id,
            "posts": self.posts,
            "hashtags": [x.as_dict() for x in self.hashtags],
            "domains": [x.as_dict() for x in self.domains],
            "terms": [x.as_dict() for x in self.terms],
            "praises": [x.as_dict() for x in self.praises],
            "attacks": [x.as_dict() for x in self.attacks],
            "sentiment_coverage": self.sentiment_coverage,
            "representative_posts": [x.as_dict() for x in self.representative_posts],
        }


@dataclass(frozen=True)
class Narratives:
    """Narrative fingerprints of every network of an assignment."""

    networks: dict[str, NetworkNarrative]
    sentiment_languages: list[str]
    config: NarrativeConfig

    def as_dict(self) -> dict[str, Any]:
        """Return JSON-ready data."""
        return {
            "config": self.config.as_dict(),
            "sentiment_languages": self.sentiment_languages,
            "networks": {k: v.as_dict() for k, v in self.networks.items()},
        }


# ---------------------------------------------------------------------------------------------
# Weighted log-odds


def weighted_log_odds(
    group: FloatArray, background: FloatArray, prior_strength: float | None = None
) -> FloatArray:
    """z-scores of the weighted log-odds ratio with an informative Dirichlet prior.

    Parameters
    ----------
    group, background
        Counts of each item in the group and in the background (same length).
    prior_strength
        ``a0``; the prior of item ``w`` is ``a0`` times its share of ``group + background``.
        ``None`` uses the total count (the pooled counts themselves are the prior).

    Returns
    -------
    numpy.ndarray
        One z per item; positive where the group over-uses the item.

    Examples
    --------
    >>> z = weighted_log_odds(np.array([30.0, 5, 5]), np.array([10.0, 100, 100]))
    >>> int(z.argmax()), bool(z[0] > 1.96)
    (0, True)
    """
    y = np.asarray(group, dtype=np.float64)
    b = np.asarray(background, dtype=np.float64)
    pooled = y + b
    total = pooled.sum()
    if total <= 0:
        return np.zeros_like(y)
    a0 = total if prior_strength is None else float(prior_strength)
    a = a0 * pooled / total
    n, m = y.sum(), b.sum()
    with np.errstate(divide="ignore", invalid="ignore"):
        delta = np.log((y + a) / (n + a0 - y - a)) - np.log((b + a) / (m + a0 - b - a))
        var = 1.0 / (y + a) + 1.0 / (b + a)
        z = delta / np.sqrt(var)
    return np.asarray(np.where(np.isfinite(z), z, 0.0), dtype=np.float64)


#: The word tokens of ``text`` (one row each), lower-cased, without URLs, @mentions and
#: #hashtags: the terms, and the words whose stop words tell an untagged post's language.
#: Invisible characters are dropped and styled letters folded first (``plain_text_sql``): a
#: word stretched with tatweel, pointed with harakat or split by a zero-width space is the
#: same term.
_TEXT_WORDS: Final = (
    r"""unnest(regexp_extract_all(
    regexp_replace(regexp_replace(lower("""
    + plain_text_sql("text")
    + r"""), '(https?://|www\.)\S+', ' ', 'g'),
        '[@#\x{FF03}][\p{L}\p{M}\p{N}_]+', ' ', 'g'),
    '[\p{L}\p{M}\p{N}_]+'))"""
)
#: Words that can be terms: two characters or more, not only digits and underscores.
_TERM_FILTER: Final = "length({word}) >= 2 AND NOT regexp_full_match({word}, '[0-9_]+')"


def _item_counts_sql(kind: str, assignment: str, stopwords: str) -> str:
    """SQL of ``(network_id, item, n)`` counts; ``network_id`` NULL for the background."""
    if kind == "hashtag":
        items = """SELECT account_id, unnest(hashtags) AS item FROM posts"""
    elif kind == "domain":
        items = r"""SELECT account_id, regexp_replace(
                        lower(regexp_extract(url, '^(?:[A-Za-z][A-Za-z0-9+.-]*://)?([^/?#]+)', 1)),
                        '^www\.|:[0-9]+$|^[^@]*@', '', 'g') AS item
                    FROM (SELECT account_id, unnest(urls) AS url FROM posts)"""
    else:
        items = f"""SELECT account_id, item FROM (
                        SELECT account_id, lang, {_TEXT_WORDS} AS item
                        FROM (SELECT account_id, text,
                                     coalesce(split_part(lower(nullif(lang, '')), '-', 1), '*')
                                         AS lang
                              FROM posts WHERE text IS NOT NULL)
                    ) t
                    WHERE {_TERM_FILTER.format(word="item")}
                      AND NOT EXISTS (SELECT 1 FROM {stopwords} s
                                      WHERE s.lang = t.lang AND s.word = t.item)"""
    return f"""
        SELECT a.network_id, i.item, count(*) AS n
        FROM ({items}) i LEFT JOIN {assignment} a USING (account_id)
        WHERE coalesce(i.item, '') <> ''
        GROUP BY a.network_id, i.item
    """


def _stopword_table(con: duckdb.DuckDBPyConnection) -> pa.Table:
    """Stop words of every language of the case; posts without a language get the union."""
    import stopwordsiso

    langs = [
        str(r[0])
        for r in con.execute(
            "SELECT DISTINCT split_part(lower(lang), '-', 1) FROM posts "
            "WHERE coalesce(lang, '') <> ''"
        ).fetchall()
    ]
    known = sorted(lang for lang in set(langs) if stopwordsiso.has_lang(lang))
    # tags without stop words ("und", "zxx", "qme", ...) are posts without a language
    untagged = sorted(set(langs) - set(known))
    union_langs = sorted(set(known) | set(_unlabelled_languages(con, untagged))) or ["en"]
    rows: list[tuple[str, str]] = []
    for lang in known:
        rows += [(lang, w) for w in sorted(stopwordsiso.stopwords(lang))]
    for lang in ["*", *untagged]:
        rows += [(lang, w) for w in sorted(stopwordsiso.stopwords(union_langs))]
    return pa.table(
        {"lang": [r[0] for r in rows], "word": [r[1].lower() for r in rows]},
    )


#: Posts without a language whose words are sampled to tell the languages of such posts.
LANGUAGE_SAMPLE: Final = 20_000


def _unlabelled_languages(
    con: duckdb.DuckDBPyConnection, untagged: list[str] | None = None
) -> list[str]:
    """The languages of the posts without a language tag (or with one of ``untagged``, tags
    without stop words such as ``und``), told from their stop words.

    A sample of :data:`LANGUAGE_SAMPLE` such posts (the same every run) is cut into words, and
    each of stopwordsiso's languages scores the share of those words that are its stop words
    (running text is some 30-50% function words in its own language). The languages within
    half of the best share, and at 10% or more, are returned: ``["ar"]`` for Arabic posts,
    ``["es", "gl", ...]`` for Spanish ones, whose neighbours share its function words. None
    for posts in a language without stop words there, or written without spaces.
    """
    import stopwordsiso

    tags = ", ".join(["''", *(sql_literal(t) for t in untagged or [])])
    without = f"coalesce(split_part(lower(lang), '-', 1), '') IN ({tags})"
    unlabelled = con.execute(
        f"SELECT count(*) FROM posts WHERE {without} AND text IS NOT NULL"
    ).fetchall()
    if not unlabelled or not unlabelled[0][0]:
        return []
    rows = [
        (lang, w.lower())
        for lang in sorted(stopwordsiso.langs())
        for w in sorted(stopwordsiso.stopwords(lang))
    ]
    table = pa.table({"lang": [r[0] for r in rows], "word": [r[1] for r in rows]})
    with _registered(con, table, "all_stopwords") as stop:
        # the words as the terms are cut: no URLs ("https", "t", "co"), mentions or hashtags
        words = f"""SELECT w FROM (
                        SELECT {_TEXT_WORDS} AS w
                        FROM (SELECT text FROM posts WHERE {without}
                              AND text IS NOT NULL ORDER BY hash(post_id), post_id
                              LIMIT {LANGUAGE_SAMPLE}))
                     WHERE {_TERM_FILTER.format(word="w")}"""
        found = con.execute(
            f"""WITH t AS ({words}), n AS (SELECT count(*) AS total FROM t)
                SELECT s.lang, count(*) / any_value(n.total) AS share
                FROM t JOIN {stop} s ON s.word = t.w CROSS JOIN n
                GROUP BY s.lang ORDER BY share DESC, s.lang"""
        ).fetchall()
    if not found:
        return []
    best = float(found[0][1])
    return sorted(str(lang) for lang, share in found if share >= max(0.1, best / 2))


def _distinctive(
    con: duckdb.DuckDBPyConnection,
    assignment: str,
    stopwords: str,
    networks: list[str],
    config: NarrativeConfig,
) -> dict[str, dict[str, list[DistinctiveItem]]]:
    out: dict[str, dict[str, list[DistinctiveItem]]] = {n: {} for n in networks}
    net_index = {n: k for k, n in enumerate(networks)}
    for kind in ("hashtag", "domain", "term"):
        counts = _fetch_arrow(con, _item_counts_sql(kind, assignment, stopwords)).to_pydict()
        items = sorted(set(counts["item"]))
        item_index = {w: k for k, w in enumerate(items)}
        rows = np.array(
            [
                net_index.get(n, len(networks)) if n is not None else len(networks)
                for n in counts["network_id"]
            ],
            dtype=np.int64,
        )
        cols = np.array([item_index[w] for w in counts["item"]], dtype=np.int64)
        matrix = (
            sparse.csr_matrix(
                (np.asarray(counts["n"], dtype=np.float64), (rows, cols)),
                shape=(len(networks) + 1, len(items)),
            ).toarray()
            if items
            else np.zeros((len(networks) + 1, 0))
        )
        total = matrix.sum(axis=0)
        for k, network in enumerate(networks):
            y = matrix[k]
            z = weighted_log_odds(y, total - y, config.prior_strength)
            ok = np.flatnonzero((y >= config.min_count) & (z >= config.min_z) & (z > 0))
            order = ok[np.lexsort((ok, -z[ok]))][: config.top_items]
            out[network][kind] = [
                DistinctiveItem(items[i], round(float(z[i]), 4), int(y[i]), int(total[i] - y[i]))
                for i in order
            ]
    return out


# ---------------------------------------------------------------------------------------------
# Entity sentiment


def _wordset(words: str) -> frozenset[str]:
    return frozenset(words.split())


#: Negations per language (a sentiment word after one of these within three words flips).
#: Turkish and Persian also negate inside the verb (-me/-ma, na-/ne-), which a word list misses.
NEGATIONS: Final[dict[str, frozenset[str]]] = {
    "en": _wordset(
        "not no never nobody nothing neither nor none cannot without hardly isnt arent wasnt "
        "werent dont doesnt didnt cant couldnt wont wouldnt shouldnt isn't aren't wasn't "
        "weren't don't doesn't didn't can't couldn't won't wouldn't shouldn't"
    ),
    "de": _wordset("nicht kein keine keinen keinem keiner keines nie niemals ohne weder"),
    "fr": _wordset("ne pas jamais sans aucun aucune ni rien personne"),
    "nl": _wordset("niet geen nooit zonder noch niets niemand"),
    "pt": _wordset("nao nunca jamais sem nem nenhum nenhuma ninguem nada"),
    "da": _wordset("ikke ingen aldrig uden hverken intet"),
    "es": _wordset("no nunca jamás sin ni tampoco nadie nada ningún ninguna"),
    "it": _wordset("non mai senza né nessuno nessuna niente"),
    "ru": _wordset("не нет ни никогда без"),
    "uk": _wordset("не ні ніколи без"),
    "pl": _wordset("nie nigdy bez żaden żadna"),
    "tr": _wordset("değil yok asla hiç"),
    "fa": _wordset("نه نیست نبود هرگز بدون"),
    "ar": _wordset("لا لم لن ليس ليست غير بدون ما"),
    "ur": _wordset("نہیں نہ مت بغیر کبھی"),
    "hi": _wordset("नहीं न मत बिना"),
}
_NEGATION_SCALE: Final = -0.74  # VADER's N_SCALAR

# Letters with their combining marks (Devanagari vowel signs, Arabic harakat) and the Persian
# zero-width non-joiner, so that a word of any script is one token.
_TOKEN: Final[Any] = _rx.compile(
    r"[@#\uff03][\p{L}\p{M}\p{N}_]+|\p{L}[\p{L}\p{M}\u200c]*(?:['’]\p{L}[\p{L}\p{M}\u200c]*)*"
)
_URL_RE = re.compile(r"(?:https?://|www\.)\S+")
#: Marks a hashtag is compared without, as ingest stores hashtags (cibscan.ingest.load):
#: the Arabic tatweel and harakat.
_TAG_MARKS: Final = re.compile("[\u0640\u064b-\u065f\u0670\u06d6-\u06ed]")
_POSSESSIVE: Final = re.compile(r"['’]s$")
_SENTENCE_BREAK = re.compile(r"[.!?…؟।۔]\s|\n")

#: Lexicons vendored under ``lexicons/`` (see the licence beside each).
VENDORED_LEXICONS: Final = ("da", "de", "fr", "nl", "pt")
#: Chen & Skiena (2014) lexicons read from the optional ``asent`` package are not used for
#: scripts written without spaces between words: a whole run of characters is one token there.
_UNSEGMENTED: Final = frozenset({"ja", "km", "th", "zh", "zhw"})
#: Chen & Skiena lexicons are polarities (+1 / -1) without strength; scaled to a typical
#: VADER valence so that one word weighs about as much in every language.
_POLARITY_ONLY_VALENCE: Final = 0.5
#: Stop words that Chen & Skiena's lexicons rightly score and that stay: some stop lists
#: include "good", "bad", "better", "worse" themselves.
_EVALUATIVE_STOPWORDS: Final[dict[str, frozenset[str]]] = {
    "fa": _wordset("خوب بد بهتر متاسفانه خوشبختانه"),
    "ru": _wordset("хороший хорошо лучше прекрасно"),
    "es": _wordset("bueno bien mal mejor peor"),
    "tr": _wordset("iyi hoş"),
}
# Harakat, superscript alef and tatweel: optional in Arabic script.
_ARABIC_MARKS: Final = re.compile("[\u064b-\u065f\u0670\u0640]")
_TO_PERSIAN: Final = str.maketrans({"ي": "ی", "ى": "ی", "ك": "ک"})
_TO_ARABIC: Final = str.maketrans({"ی": "ي", "ک": "ك"})


def _fold(lang: str, word: str) -> str:
    """Spelling variants a lexicon and a post may disagree on, reduced to one form."""
    if lang == "pt":  # LeIA matches without accents
        decomposed = unicodedata.normalize("NFKD", word)
        return "".join(c for c in decomposed if not unicodedata.combining(c))
    if lang in ("fa", "ur"):
        return _ARABIC_MARKS.sub("", word).translate(_TO_PERSIAN).replace("\u200c", "")
    if lang == "ar":
        return _ARABIC_MARKS.sub("", word).translate(_TO_ARABIC)
    return word


def _read_tsv(text: str) -> dict[str, float]:
    table: dict[str, float] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            form, value = line.split("\t")
            table[form] = float(value)
    return table


def _asent_lexicon_dir() -> Path | None:
    """Where the optional ``asent`` package keeps its lexicons, found without importing it.

    Importing ``asent`` would import spaCy; cibscan only reads its data files.
    """
    spec = importlib.util.find_spec("asent")
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / "lexicons"
    return folder if folder.is_dir() else None


@lru_cache(maxsize=1)
def _lexicons() -> dict[str, dict[str, float]]:
    """Sentiment lexicons by language, valences in [-1, 1], keys folded (:func:`_fold`)."""
    import stopwordsiso

    out: dict[str, dict[str, float]] = {}
    try:
        vader = resources.files("vaderSentiment").joinpath("vader_lexicon.txt")
        english: dict[str, float] = {}
        for line in vader.read_text(encoding="utf-8").splitlines():
            parts = line.split("\t")
            if len(parts) >= 2 and parts[0] and not parts[0][0].isdigit():
                english[parts[0].lower()] = max(-1.0, min(1.0, float(parts[1]) / 4.0))
        out["en"] = english
    except (ModuleNotFoundError, FileNotFoundError):  # pragma: no cover - optional dependency
        pass
    for lang in VENDORED_LEXICONS:
        path = resources.files("cibscan.fingerprints").joinpath(f"lexicons/{lang}-polarity.tsv")
        out[lang] = {_fold(lang, w): v for w, v in _read_tsv(path.read_text("utf-8")).items()}
    folder = _asent_lexicon_dir()
    if folder is not None:
        known = set(stopwordsiso.langs())
        for path in sorted(folder.glob("*_lexicon_chen_skiena_2014_v1.txt")):
            lang = path.name.split("_", 1)[0]
            if lang in out or lang in _UNSEGMENTED:
                continue
            # The lexicon was propagated over a translation graph and tags some function
            # words (Persian "به", Russian "как"); stop words carry no sentiment.
            stop = frozenset(stopwordsiso.stopwords(lang)) if lang in known else frozenset()
            stop -= _EVALUATIVE_STOPWORDS.get(lang, frozenset())
            table: dict[str, float] = {}
            for line in path.read_text(encoding="utf-8").splitlines():
                word, _, polarity = line.partition("\t")
                word = word.strip().lower()
                if word and " " not in word and word not in stop and polarity.strip():
                    table[_fold(lang, word)] = _POLARITY_ONLY_VALENCE * float(polarity)
            if table:
                out[lang] = table
    return out


def sentiment_languages() -> list[str]:
    """The languages (ISO 639-1) whose posts are scored for sentiment.

    English, Danish, German, French, Dutch and Portuguese always; with the optional ``asent``
    package installed (``pip install cibscan[lexicons]``) also the languages of its Chen &
    Skiena (2014) lexicons, among them Arabic, Persian, Russian, Spanish, Turkish, Hindi and
    Urdu (see ``docs/fingerprints-b.md``).

    Examples
    --------
    >>> {"da", "de", "en", "fr", "nl", "pt"} <= set(sentiment_languages())
    True
    """
    return sorted(_lexicons())


@lru_cache(maxsize=1)
def _covered_stopwords() -> dict[str, frozenset[str]]:
    import stopwordsiso

    known = set(stopwordsiso.langs())
    return {
        lang: frozenset(_fold(lang, w) for w in stopwordsiso.stopwords(lang))
        if lang in known
        else frozenset()
        for lang in _lexicons()
    }


@lru_cache(maxsize=1)
def _stopword_languages() -> tuple[tuple[str, ...], dict[str, tuple[int, ...]]]:
    """Covered languages in guessing order, and for each stop word the languages it is one of.

    Languages with a dedicated lexicon come first, so that a tie goes to them.
    """
    languages = tuple(sorted(_covered_stopwords(), key=lambda lang: (lang not in NEGATIONS, lang)))
    index: dict[str, list[int]] = defaultdict(list)
    for k, lang in enumerate(languages):
        for word in _covered_stopwords()[lang]:
            index[word].append(k)
    return languages, {w: tuple(ks) for w, ks in index.items()}


def _guess_language(words: list[str]) -> str | None:
    """The covered language whose stop words the post uses most (two at least)."""
    languages, index = _stopword_languages()
    hits = np.zeros(len(languages), dtype=np.int64)
    for w in words:
        for k in index.get(w, ()):
            hits[k] += 1
    best = int(np.argmax(hits)) if len(languages) else 0
    return languages[best] if len(languages) and hits[best] >= 2 else None


def _entity_mentions(
    text: str, lang: str | None, window: int
) -> tuple[list[tuple[str, str, float]], bool]:
    """``(entity, kind, score)`` for every entity of a post, and whether it was scored."""
    text = _URL_RE.sub(" ", text)
    matches = list(_TOKEN.finditer(text))
    if not matches:
        return [], False
    tokens = [m.group() for m in matches]
    lower = [t.lower().replace("’", "'") for t in tokens]
    if lang is None or lang not in _lexicons():
        lang = _guess_language(lower)
        if lang is None:
            return [], False
    lexicon = _lexicons()[lang]
    negations = NEGATIONS.get(lang, frozenset())
    stop = _covered_stopwords()[lang]
    lower = [_fold(lang, w) for w in lower]
    # Sentence of each token: sentiment counts only within the entity's sentence, and a
    # capitalised word opening a sentence is not evidence of a name.
    breaks = np.array([m.end() for m in _SENTENCE_BREAK.finditer(text)], dtype=np.int64)
    sentence = np.searchsorted(breaks, [m.start() for m in matches], side="right")
    sentence_start = np.concatenate(([True], sentence[1:] != sentence[:-1]))
    valence = np.zeros(len(tokens))
    for k, w in enumerate(lower):
        v = lexicon.get(w.lstrip("#\uff03"), 0.0) if not w.startswith("@") else 0.0
        if v and any(x in negations for x in lower[max(0, k - 3) : k]):
            v *= _NEGATION_SCALE
        valence[k] = v
    # Entities: @mentions, #hashtags, and runs of capitalised words that are not stop words.
    # Hashtags of the block that ends a post are its labels, not what it speaks of: "Shameful
    # lies! #Riyadh #Breaking" does not attack Riyadh (a flood appends its trending tags so).
    labels = len(tokens)
    while labels > 0 and tokens[labels - 1][0] in "@#\uff03":
        labels -= 1
    spans: list[tuple[int, int, str, str]] = []
    k = 0
    while k < len(tokens):
        t = tokens[k]
        if t[0] in "@#\uff03":
            if t[0] == "@":
                spans.append((k, k + 1, t.lower(), "mention"))
            elif k < labels:
                spans.append((k, k + 1, "#" + _TAG_MARKS.sub("", t[1:].lower()), "hashtag"))
            k += 1
            continue
        if t[0].isupper() and lower[k] not in stop:
            j = k + 1
            while (
                j < len(tokens)
                and tokens[j][0].isupper()
                and tokens[j][0] not in "@#\uff03"
                and sentence[j] == sentence[k]  # a name does not run on into the next sentence
                # nor across punctuation: "Oil: Bus strike" is a headline's topic and a clause
                # (a hyphen joins: "Jean-Pierre Dupont")
                and text[matches[j - 1].end() : matches[j].start()].strip() in ("", "-")
            ):
                j += 1
            single_at_start = j == k + 1 and sentence_start[k]
            if not single_at_start and lexicon.get(lower[k], 0.0) == 0.0:
                # a possessive is the name: "Governor Lind's plan" speaks of Governor Lind
                name = _POSSESSIVE.sub("", " ".join(tokens[k:j]))
                spans.append((k, j, name, "name"))
            k = j
            continue
        k += 1
    out = []
    position = np.arange(len(tokens))
    for a, b, entity, kind in spans:
        near = ((position >= a - window) & (position < a)) | (
            (position >= b) & (position < b + window)
        )
        s = float(valence[near & (sentence == sentence[a])].sum())
        out.append((entity, kind, s / math.sqrt(s * s + 1.0)))
    return out, True


def _entity_sentiment(
    texts: Iterable[tuple[str, str | None]], config: NarrativeConfig
) -> tuple[list[EntitySentiment], list[EntitySentiment], float]:
    """Praised and attacked entities of one network, and the share of posts scored."""
    scores: dict[tuple[str, str], list[float]] = defaultdict(list)
    scored = total = 0
    # words the network writes in lower case: "GOVERNMENT" or "NORMAL" in capitals is a word
    # shouted, not a name (an acronym, NATO, is not written "nato" in running text)
    lowercase: set[str] = set()
    for text, lang in texts:
        total += 1
        mentions, ok = _entity_mentions(text, lang, config.window)
        scored += ok
        for entity, kind, s in mentions:
            scores[(entity, kind)].append(s)
        if ok:
            lowercase.update(m.group() for m in _TOKEN.finditer(text) if m.group().islower())
    summary = []
    for (entity, kind), values in scores.items():
        signed = sum(1 for v in values if v != 0)
        if signed < config.min_mentions:
            continue
        if (
            kind == "name"
            and " " not in entity
            and entity.isupper()
            and entity.lower() in lowercase
        ):
            continue
        arr = np.asarray(values)
        summary.append(
            EntitySentiment(
                entity=entity,
                kind=kind,
                mentions=len(values),
                sentiment=round(float(arr.mean()), 4),
                positive=int((arr > 0).sum()),
                negative=int((arr < 0).sum()),
            )
        )
    # "Most" praised or attacked: the net sentiment summed over mentions.
    praises = sorted(
        (e for e in summary if e.sentiment > 0 and e.positive > e.negative),
        key=lambda e: (-e.sentiment * e.mentions, e.entity),
    )[: config.top_entities]
    attacks = sorted(
        (e for e in summary if e.sentiment < 0 and e.negative > e.positive),
        key=lambda e: (e.sentiment * e.mentions, e.entity),
    )[: config.top_entities]
    return praises, attacks, round(scored / total, 4) if total else 0.0


# ---------------------------------------------------------------------------------------------
# Representative posts


def _representative(
    post_ids: list[str],
    accounts: list[str],
    texts: list[str],
    config: NarrativeConfig,
) -> list[RepresentativePost]:
    """The most central distinct texts of a network (posts given in time order)."""
    first: dict[str, int] = {}
    copies: dict[str, int] = defaultdict(int)
    for k, text in enumerate(texts):
        key = " ".join(_URL_RE.sub(" ", text).lower().split())
        if not key:
            continue
        first.setdefault(key, k)
        copies[key] += 1
    keys = sorted(first, key=lambda t: (-copies[t], first[t]))[: config.max_texts]
    if not keys:
        return []
    weights = np.array([copies[t] for t in keys], dtype=np.float64)
    counts = char_ngram_counts(keys, ngram_range=(3, 5), n_features=2**18, lowercase=True)
    df = np.asarray((counts > 0).sum(axis=0)).ravel()
    idf = np.log((1.0 + len(keys)) / (1.0 + df)) + 1.0
    tfidf = sparse.csr_matrix(counts @ sparse.diags(idf))
    norms = np.sqrt(np.asarray(tfidf.multiply(tfidf).sum(axis=1)).ravel())
    unit = sparse.csr_matrix(
        sparse.diags(np.divide(1.0, norms, out=np.zeros_like(norms), where=norms > 0)) @ tfidf
    )
    total = np.asarray(unit.T @ weights).ravel()
    self_sim = (norms > 0).astype(np.float64)
    others = weights.sum() - 1.0
    centrality = (unit @ total - self_sim) / others if others > 0 else np.zeros(len(keys))
    order = np.lexsort((np.arange(len(keys)), -centrality))
    chosen: list[int] = []
    for i in order:
        if len(chosen) == config.representative:
            break
        if chosen:
            sims = (unit[chosen] @ unit[i].T).toarray().ravel()
            if sims.max() >= config.near_duplicate:
                continue
        chosen.append(int(i))
    return [
        RepresentativePost(
            post_id=post_ids[first[keys[i]]],
            account_id=accounts[first[keys[i]]],
            text=texts[first[keys[i]]],
            copies=int(weights[i]),
            centrality=round(float(centrality[i]), 6),
        )
        for i in chosen
    ]


# ---------------------------------------------------------------------------------------------
# Entry point


def narratives(
    con: duckdb.DuckDBPyConnection,
    assignment: pa.Table,
    *,
    config: NarrativeConfig | None = None,
) -> Narratives:
    """Describe what each network says, against the rest of the case.

    Parameters
    ----------
    con
        The case's DuckDB connection (reads ``posts``: ``text``, ``lang``, ``hashtags``,
        ``urls``).
    assignment
        ``account_id``, ``network_id`` strings; unassigned accounts are background only.
    config
        A :class:`NarrativeConfig`.

    Returns
    -------
    Narratives
        Per network: distinctive ``hashtags``, ``domains`` and ``terms`` (``item``, ``z``,
        ``count``, ``background``), ``praises`` and ``attacks`` (``entity``, ``kind``,
        ``mentions``, ``sentiment``, ``positive``, ``negative``), ``sentiment_coverage`` and
        ``representative_posts`` (``post_id``, ``account_id``, ``text``, ``copies``,
        ``centrality``).

    Examples
    --------
    >>> import pyarrow as pa
    >>> from cibscan.case import open_case
    >>> out = narratives(open_case().con, pa.table({"account_id": ["a"], "network_id": ["n"]}))
    >>> out.as_dict()["networks"]["n"]["posts"]
    0
    """
    config = config or NarrativeConfig()
    table = _validated_assignment(assignment)
    networks = sorted(set(table["network_id"].to_pylist()))
    with (
        _registered(con, table, "assignment") as name,
        _registered(con, _stopword_table(con), "stopwords") as stopwords,
    ):
        distinctive = _distinctive(con, name, stopwords, networks, config)
        posts = _fetch_arrow(
            con,
            f"""SELECT a.network_id, p.post_id, p.account_id, p.text,
                       split_part(lower(nullif(p.lang, '')), '-', 1) AS lang
                FROM posts p JOIN {name} a USING (account_id)
                WHERE p.text IS NOT NULL
                ORDER BY a.network_id, p.timestamp, p.post_id""",
        ).to_pydict()
    by_network: dict[str, list[int]] = defaultdict(list)
    for k, network in enumerate(posts["network_id"]):
        by_network[network].append(k)
    out: dict[str, NetworkNarrative] = {}
    for network in networks:
        rows = by_network.get(network, [])
        texts = [posts["text"][k] for k in rows]
        praises, attacks, coverage = _entity_sentiment(
            ((posts["text"][k], posts["lang"][k]) for k in rows), config
        )
        out[network] = NetworkNarrative(
            network_id=network,
            posts=len(rows),
            hashtags=distinctive[network]["hashtag"],
            domains=distinctive[network]["domain"],
            terms=distinctive[network]["term"],
            praises=praises,
            attacks=attacks,
            sentiment_coverage=coverage,
            representative_posts=_representative(
                [posts["post_id"][k] for k in rows],
                [posts["account_id"][k] for k in rows],
                texts,
                config,
            ),
        )
    return Narratives(networks=out, sentiment_languages=sentiment_languages(), config=config)
