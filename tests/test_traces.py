"""Trace extraction from ``posts``: one table per signal of (account, item, post, time)."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cibscan.case import Case, open_case
from cibscan.errors import ConfigError
from cibscan.traces import (
    SIGNALS,
    cjk_texts,
    cnt_normalise_text,
    minhash_signatures,
    near_duplicate_clusters,
    normalise_text_sql,
    traces,
)

POST_TYPES: dict[str, pa.DataType] = {
    "post_id": pa.string(),
    "account_id": pa.string(),
    "seconds": pa.float64(),
    "kind": pa.string(),
    "text": pa.string(),
    "shared_post_id": pa.string(),
    "reply_to_post_id": pa.string(),
    "urls": pa.list_(pa.string()),
    "urls_original": pa.list_(pa.string()),
    "hashtags": pa.list_(pa.string()),
    "mentions": pa.list_(pa.string()),
    "media": pa.list_(pa.string()),
}


def make_case(*rows: dict[str, Any]) -> Case:
    """A case whose posts are ``rows``; ``seconds`` counts from 2024-01-01 (None: no time)."""
    case = open_case()
    table = pa.table(
        {
            name: pa.array([r.get(name, "post" if name == "kind" else None) for r in rows], kind)
            for name, kind in POST_TYPES.items()
        }
    )
    case.con.register("rows", table)
    columns = ", ".join(n for n in POST_TYPES if n != "seconds")
    case.con.execute(
        f"""INSERT INTO posts BY NAME SELECT {columns},
            TIMESTAMPTZ '2024-01-01 00:00:00+00'
                + to_microseconds(CAST(round(seconds * 1e6) AS BIGINT)) AS timestamp
            FROM rows"""
    )
    case.con.unregister("rows")
    return case


def rows_of(case: Case, signal: str, **options: Any) -> list[tuple[str, str, str]]:
    table = traces(case, signal, **options)
    assert table.column_names == ["account", "item", "post", "time"]
    return [(r["account"], r["item"], r["post"]) for r in table.to_pylist()]


def test_share_traces_only_reposts_with_a_target() -> None:
    case = make_case(
        {"post_id": "1", "account_id": "a", "seconds": 0, "kind": "share", "shared_post_id": "x"},
        {"post_id": "2", "account_id": "b", "seconds": 1, "kind": "share", "shared_post_id": ""},
        {"post_id": "3", "account_id": "c", "seconds": 2, "kind": "quote", "shared_post_id": "x"},
        {"post_id": "4", "account_id": None, "seconds": 3, "kind": "share", "shared_post_id": "x"},
        {
            "post_id": "5",
            "account_id": "e",
            "seconds": None,
            "kind": "share",
            "shared_post_id": "x",
        },
    )
    assert rows_of(case, "share") == [("a", "x", "1")]


def test_link_and_domain_skip_reposts_nulls_and_empty_strings() -> None:
    case = make_case(
        {"post_id": "1", "account_id": "a", "seconds": 0,
         "urls": ["https://www.News.example:443/a", None, "", "https://news.example/a"]},
        {"post_id": "2", "account_id": "b", "seconds": 1, "kind": "share",
         "shared_post_id": "9", "urls": ["https://news.example/a"]},
        {"post_id": "3", "account_id": "c", "seconds": 2, "urls": None},
        {"post_id": "4", "account_id": "d", "seconds": 3, "urls": ["user@mail.example/x",
                                                                    "plain.example"]},
    )  # fmt: skip
    assert rows_of(case, "link") == [
        ("a", "https://news.example/a", "1"),
        ("a", "https://www.News.example:443/a", "1"),
        ("d", "plain.example", "4"),
        ("d", "user@mail.example/x", "4"),
    ]
    # One trace per (post, domain), however many URLs of that domain the post has.
    assert rows_of(case, "domain") == [
        ("d", "mail.example", "4"),
        ("a", "news.example", "1"),
        ("d", "plain.example", "4"),
    ]


def test_cnt_links_are_the_urls_as_given() -> None:
    case = make_case(
        {"post_id": "1", "account_id": "a", "seconds": 0, "urls": ["x.example/a"],
         "urls_original": ["HTTP://X.example/a?utm=1"]},
    )  # fmt: skip
    assert rows_of(case, "link", semantics="cnt") == [("a", "HTTP://X.example/a?utm=1", "1")]


def test_reply_mention_hashtag_media() -> None:
    case = make_case(
        {"post_id": "1", "account_id": "a", "seconds": 0, "kind": "reply",
         "reply_to_post_id": "t", "mentions": ["bob", "bob", ""], "hashtags": ["x", None],
         "media": ["img1"]},
        {"post_id": "2", "account_id": "b", "seconds": 0, "kind": "reply",
         "reply_to_post_id": ""},
    )  # fmt: skip
    assert rows_of(case, "reply") == [("a", "t", "1")]
    assert rows_of(case, "mention") == [("a", "bob", "1")]
    assert rows_of(case, "hashtag") == [("a", "x", "1")]
    assert rows_of(case, "media") == [("a", "img1", "1")]


def test_hashtag_sequence_needs_two_tags_and_keeps_their_order() -> None:
    case = make_case(
        {"post_id": "1", "account_id": "a", "seconds": 0, "hashtags": ["b", "a"]},
        {"post_id": "2", "account_id": "b", "seconds": 0, "hashtags": ["a", "b"]},
        {"post_id": "3", "account_id": "c", "seconds": 0, "hashtags": ["a", ""]},
        {"post_id": "4", "account_id": "d", "seconds": 0, "hashtags": []},
    )
    assert rows_of(case, "hashtag_seq") == [("b", "a b", "2"), ("a", "b a", "1")]


def test_text_is_normalised_and_short_texts_are_left_out() -> None:
    case = make_case(
        {"post_id": "1", "account_id": "a", "seconds": 0,
         "text": "Vote  NOW @bob https://t.co/x for them"},
        {"post_id": "2", "account_id": "b", "seconds": 0, "text": "vote now for them"},
        {"post_id": "3", "account_id": "c", "seconds": 0, "text": "ok"},
        {"post_id": "4", "account_id": "d", "seconds": 0, "text": None},
        {"post_id": "5", "account_id": "e", "seconds": 0, "kind": "share",
         "shared_post_id": "1", "text": "vote now for them"},
    )  # fmt: skip
    assert rows_of(case, "text") == [
        ("a", "vote now for them", "1"),
        ("b", "vote now for them", "2"),
    ]
    assert rows_of(case, "text", min_text_chars=0) == [
        ("c", "ok", "3"),
        ("a", "vote now for them", "1"),
        ("b", "vote now for them", "2"),
    ]


def test_cnt_text_keeps_urls_and_drops_empty_normalisations() -> None:
    case = make_case(
        {"post_id": "1", "account_id": "a", "seconds": 0, "text": "Hi  https://t.co/x @bob"},
        {"post_id": "2", "account_id": "b", "seconds": 0, "text": "@only @mentions"},
    )
    assert rows_of(case, "text", semantics="cnt") == [("a", "hi https://t.co/x", "1")]
    assert cnt_normalise_text("@only @mentions") == ""


def test_co_post_bins_are_one_window_wide() -> None:
    case = make_case(
        {"post_id": "1", "account_id": "a", "seconds": 0},
        {"post_id": "2", "account_id": "b", "seconds": 59.9},
        {"post_id": "3", "account_id": "c", "seconds": 60},
        {"post_id": "4", "account_id": "d", "seconds": -0.5},
    )
    items = {post: item for _, item, post in rows_of(case, "co_post", window=60)}
    assert items["1"] == items["2"] == "2024-01-01T00:00:00.000000Z"
    assert items["3"] == "2024-01-01T00:01:00.000000Z"
    assert items["4"] == "2023-12-31T23:59:00.000000Z"
    assert {item for _, item, _ in rows_of(case, "co_post", semantics="cnt")} == {""}


def test_near_text_clusters_near_duplicates_under_the_earliest_post() -> None:
    base = (
        "the election was stolen, share this before they delete it, the media will not tell "
        "you what happened in the count last night"
    )
    case = make_case(
        {"post_id": "p2", "account_id": "a", "seconds": 10, "text": base},
        {"post_id": "p1", "account_id": "b", "seconds": 5, "text": base + "!!"},
        {"post_id": "p3", "account_id": "c", "seconds": 20,
         "text": base.replace("stolen", "STOLEN!") + " @someone"},
        {"post_id": "p4", "account_id": "d", "seconds": 30, "text": "a completely different "
         "message about the weather today"},
    )  # fmt: skip
    got = rows_of(case, "near_text")
    assert {post: item for _, item, post in got} == {"p1": "p1", "p2": "p1", "p3": "p1", "p4": "p4"}
    assert got == rows_of(case, "near_text")  # deterministic


def test_unknown_signal_names_the_choices() -> None:
    with pytest.raises(ConfigError, match="unknown signal 'likes'; choose from share"):
        traces(make_case(), "likes")


@pytest.mark.parametrize("signal", [s for s in SIGNALS])
def test_every_signal_on_an_empty_case(signal: str) -> None:
    table = traces(make_case(), signal)
    assert table.num_rows == 0


def test_minhash_is_deterministic_and_seeded() -> None:
    texts = ["alpha beta gamma delta", "alpha beta gamma delta!", "x"]
    one = minhash_signatures(texts, num_perm=32, seed=1)
    assert np.array_equal(one, minhash_signatures(texts, num_perm=32, seed=1))
    assert not np.array_equal(one, minhash_signatures(texts, num_perm=32, seed=2))
    assert one.shape == (3, 32) and one.dtype == np.uint32


def test_minhash_estimates_jaccard() -> None:
    a = "coordinated inauthentic behaviour is hard to see one post at a time"
    b = a.replace("hard", "easy")

    def shingles(text: str) -> set[str]:
        return {text[i : i + 5] for i in range(len(text) - 4)}

    exact = len(shingles(a) & shingles(b)) / len(shingles(a) | shingles(b))
    sig = minhash_signatures([a, b], num_perm=1024)
    assert abs(float((sig[0] == sig[1]).mean()) - exact) < 0.05


def test_a_character_appended_changes_one_shingle() -> None:
    # Every text's end used to be padded into shingles of its own: a "!" appended to a text of
    # 30 characters changed five of its shingles, and the estimate of a copy fell to 0.74.
    rng = np.random.default_rng(0)
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz "))
    estimates = []
    for _ in range(200):
        text = "".join(rng.choice(letters, 30))
        sig = minhash_signatures([text, text + "!"])
        estimates.append(float((sig[0] == sig[1]).mean()))
    assert abs(float(np.mean(estimates)) - 26 / 27) < 0.02  # 26 shared shingles of 27
    # A text shorter than a shingle is one shingle, itself.
    short = minhash_signatures(["abc", "abc", "abd"], num_perm=16)
    assert (short[0] == short[1]).all() and not (short[0] == short[2]).any()


def test_chinese_paraphrases_are_near_duplicates_on_two_character_shingles() -> None:
    # Chinese words are one to three characters: one character changed in a 38-character
    # post alters 5 of its 34 five-character shingles (Jaccard 29/39 = 0.74) but 2 of its 37
    # two-character ones (35 distinct, two repeat: 33/37 = 0.89).
    base = "大家千万不要相信他说的话这些都是假的消息请不要转发谢谢大家今天晚上八点一起看"
    changed = base[:20] + "全" + base[21:]

    def jaccard(a: str, b: str, k: int) -> float:
        sa, sb = ({t[i : i + k] for i in range(len(t) - k + 1)} for t in (a, b))
        return len(sa & sb) / len(sa | sb)

    assert len(base) == len(changed) == 38
    assert jaccard(base, changed, 5) == 29 / 39 and jaccard(base, changed, 2) == 33 / 37
    assert cjk_texts([base, "an english text"]).tolist() == [True, False]
    other = "今天天气很好我们一起去公园散步吧然后吃个饭再回家休息一下"
    texts = [base, changed, other]
    assert near_duplicate_clusters(texts).tolist() == [0, 0, 2]
    assert near_duplicate_clusters(texts, cjk_shingle=None).tolist() == [0, 1, 2]
    # Latin texts keep five-character shingles whatever cjk_shingle is.
    latin = ["vote for the party today, all of you", "vote for the party today, all of you!"]
    sig = minhash_signatures(latin)
    assert np.array_equal(sig, minhash_signatures(latin, cjk_shingle=None))


_SCRIPTS = st.sampled_from(
    ["a", "Z", " ", "\u3000", "\t", "日", "か", "한", "\U00020000", "é", "!"]
)


@settings(max_examples=60, deadline=None)
@given(texts=st.lists(st.lists(_SCRIPTS, max_size=12).map("".join), max_size=12))
def test_cjk_texts_in_chunks_is_each_text_on_its_own(texts: list[str]) -> None:
    """Whatever the chunking (here 7 characters), each text is judged by its own characters."""
    import cibscan.traces as traces_module

    def alone(text: str) -> bool:
        shown = [c for c in text if c not in " \u3000\t"]
        cjk = [c for c in shown if c in "日か한\U00020000"]
        return 2 * len(cjk) >= max(len(shown), 1)

    expected = [alone(t) for t in texts]
    assert cjk_texts(texts).tolist() == expected
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(traces_module, "_CHUNK_CHARS", 7)
        assert cjk_texts(texts).tolist() == expected


def test_near_duplicate_clusters_of_nothing_and_of_distinct_texts() -> None:
    assert near_duplicate_clusters([]).tolist() == []
    assert near_duplicate_clusters(["one text here", "another thing"]).tolist() == [0, 1]
    with pytest.raises(ConfigError, match="multiple of bands"):
        near_duplicate_clusters(["x"], num_perm=10, bands=3)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=" \t\n\r\f\v\u0085\u00a0\u2003\u2028\u3000ab@", max_size=30))
def test_whitespace_collapse_matches_every_run_rule(text: str) -> None:
    # The normalisation skips single spaces for speed; it must equal dropping @-words and
    # collapsing every run of Unicode whitespace (a no-break or ideographic space too).
    import duckdb

    got = duckdb.connect().execute(f"SELECT {normalise_text_sql('$1')}", [text]).fetchall()[0][0]
    assert got == " ".join(re.sub(r"@\S+", " ", text.lower()).split())


def test_a_no_break_space_does_not_make_a_copy_another_text() -> None:
    import duckdb

    copies = [
        "join the rally",
        "join\u00a0the rally",
        "join\u3000the\x0brally",
        "@bob\u00a0join the rally",
    ]
    got = {
        duckdb.execute(f"SELECT {normalise_text_sql('$1')}", [t]).fetchall()[0][0] for t in copies
    }
    assert got == {"join the rally"}


def _normalised(*texts: str) -> list[str]:
    import duckdb

    sql = f"SELECT {normalise_text_sql('t')} FROM unnest($1::VARCHAR[]) u(t)"
    return [row[0] for row in duckdb.connect().execute(sql, [list(texts)]).fetchall()]


# Invisible characters, one of each kind: zero-width space, non-joiner and joiner, left-to-right
# and right-to-left marks, soft hyphen, word joiner, byte order mark, variation selector 16,
# combining grapheme joiner, Arabic letter mark, Hangul filler, a tag character, an embedding.
_INVISIBLE = (
    "\u200b\u200c\u200d\u200e\u200f\u00ad\u2060\ufeff\ufe0f\u034f\u061c\u3164\U000e0041\u202b"
)


def _styled_forms() -> dict[str, list[str]]:
    """Every styled code point cibscan folds, by the ASCII character NFKC makes of it."""
    import unicodedata

    ranges = [(0xFF01, 0xFF5E), (0x24B6, 0x24E9), (0x1D400, 0x1D6A3), (0x1D7CE, 0x1D7FF)]
    chars = [chr(c) for lo, hi in ranges for c in range(lo, hi + 1)]
    chars += list("ℂℊℋℌℍℎℐℑℒℓℕℙℚℛℜℝℤℨℬℭℯℰℱℳℴ")
    forms: dict[str, list[str]] = {}
    for ch in chars:
        if unicodedata.category(ch) != "Cn":
            plain = unicodedata.normalize("NFKC", ch)
            assert len(plain) == 1 and plain.isascii(), (hex(ord(ch)), plain)
            forms.setdefault(plain, []).append(ch)
    return forms


_STYLED_FORMS = _styled_forms()


def test_invisible_characters_do_not_make_a_copy_another_text() -> None:
    plain = "vote for them now"
    copies = [plain[:4] + ch + plain[4:] for ch in _INVISIBLE]
    copies.append("".join(c + _INVISIBLE[i % len(_INVISIBLE)] for i, c in enumerate(plain)))
    assert set(_normalised(plain, *copies)) == {plain}
    # Arabic stretched with tatweel and pointed with harakat reads as the same words.
    assert set(_normalised("الحكومة كاذبة", "الـحكـومة كَاذِبَةٌ")) == {"الحكومة كاذبة"}
    # Visible differences stay differences.
    assert len(set(_normalised(plain, "vote for them n0w", "vote for thém now"))) == 3


def test_every_styled_character_normalises_as_its_nfkc_form() -> None:
    # All 870-odd assigned code points of the folded ranges, against Python's Unicode data.
    styled = [f"x{ch}y" for chars in _STYLED_FORMS.values() for ch in chars]
    assert len(styled) > 850
    plain = [f"x{plain}y" for plain, chars in _STYLED_FORMS.items() for _ in chars]
    assert _normalised(*styled) == _normalised(*plain)
    assert _normalised("𝐕𝐨𝐭𝐞 𝕱𝖔𝖗 Ｔｈｅｍ Ⓝⓞⓦ 𝟚𝟘𝟚𝟜") == ["vote for them now 2024"]
    # Letters outside the folded ranges are other letters: Cyrillic а, Greek ο, math Greek α.
    assert _normalised("vote а", "vote ο", "vote 𝛂") == ["vote а", "vote ο", "vote 𝛂"]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(sorted(_STYLED_FORMS)), st.integers(0, 40), st.sampled_from(_INVISIBLE)
        ),
        min_size=1,
        max_size=30,
    )
)
def test_styling_and_invisible_characters_never_change_a_text(
    draws: list[tuple[str, int, str]],
) -> None:
    # A copy restyled letter by letter and sprinkled with invisible characters is the same text.
    plain = "".join(c for c, _, _ in draws)
    copy = "".join(
        (_STYLED_FORMS[c][k % len(_STYLED_FORMS[c])] if k % 3 else c) + (mark if k % 2 else "")
        for c, k, mark in draws
    )
    assert _normalised(copy) == _normalised(plain)
