"""Narratives: distinctive items by weighted log-odds, entity sentiment, representative posts."""

from __future__ import annotations

import importlib.util
import json
from datetime import UTC, datetime, timedelta

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from cibscan.case import open_case
from cibscan.errors import BadInputError, ConfigError
from cibscan.fingerprints.narratives import (
    NarrativeConfig,
    _unlabelled_languages,
    narratives,
    sentiment_languages,
    weighted_log_odds,
)

T0 = datetime(2021, 6, 1, tzinfo=UTC)
BACKGROUND = [
    "The weather in the city is lovely today, enjoy the park #weather",
    "Traffic on the main road again, the bus was late #commute",
    "Great match last night, the team played well #football",
    "New cafe opened near the station, coffee is good #food",
    "Election debate tonight on the news channel #news",
]
NETWORK = [
    "@resistance_org is brave and wonderful, thank you! The mullahs must go #FreeIran",
    "The corrupt mullahs lie again. @regime_official is a brutal liar #FreeIran",
    "Support @resistance_org, a great and heroic movement against the mullahs #FreeIran",
    "@regime_official is terrible and cruel, the mullahs kill protesters #FreeIran",
]


def _case(rows: list[dict[str, object]]):  # type: ignore[no-untyped-def]
    case = open_case()
    n = len(rows)
    table = pa.table(
        {
            "post_id": [f"p{i:04d}" for i in range(n)],
            "account_id": [r["account"] for r in rows],
            "timestamp": [T0 + timedelta(minutes=i) for i in range(n)],
            "kind": ["post"] * n,
            "text": [r["text"] for r in rows],
            "lang": [r.get("lang", "en") for r in rows],
            "hashtags": pa.array([r.get("tags", []) for r in rows], pa.list_(pa.string())),
            "urls": pa.array([r.get("urls", []) for r in rows], pa.list_(pa.string())),
        }
    )
    case.con.register("staged", table)
    case.con.execute("INSERT INTO posts BY NAME SELECT * FROM staged")
    case.con.unregister("staged")
    return case


def _tags(text: str) -> list[str]:
    return [w[1:].lower() for w in text.split() if w.startswith("#")]


@pytest.fixture(scope="module")
def scenario():  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(0)
    rows: list[dict[str, object]] = []
    for k in range(40):
        for _ in range(5):
            text = str(rng.choice(BACKGROUND))
            rows.append(
                {
                    "account": f"org{k:02d}",
                    "text": text,
                    "tags": _tags(text),
                    "urls": ["https://www.bbc.co.uk/news/1"] if rng.random() < 0.3 else [],
                }
            )
    # One organic post mentions the mullahs too: the planted term is rare, not absent.
    rows.append({"account": "org00", "text": "A documentary about the mullahs tonight"})
    for k in range(5):
        for j, text in enumerate(NETWORK * 2):
            rows.append(
                {
                    "account": f"op{k}",
                    "text": text,
                    "tags": _tags(text),
                    "urls": [f"https://www.iran-truth.example/a/{j}"],
                }
            )
    assignment = pa.table({"account_id": [f"op{k}" for k in range(5)], "network_id": ["N"] * 5})
    case = _case(rows)
    yield case, assignment
    case.close()


def test_log_odds_ranks_the_planted_items_first(scenario) -> None:  # type: ignore[no-untyped-def]
    case, assignment = scenario
    net = narratives(case.con, assignment).networks["N"]
    assert net.posts == 40
    assert net.terms[0].item == "mullahs"
    assert net.terms[0].count == 40 and net.terms[0].background == 1
    assert net.hashtags[0].item == "freeiran"
    assert net.domains[0].item == "iran-truth.example"
    assert all(x.z > 0 for x in net.terms)
    terms = {x.item for x in net.terms}
    assert "the" not in terms and "is" not in terms  # stop words are gone


def test_praise_and_attack_have_the_right_sign(scenario) -> None:  # type: ignore[no-untyped-def]
    case, assignment = scenario
    net = narratives(case.con, assignment).networks["N"]
    praised = {e.entity: e for e in net.praises}
    attacked = {e.entity: e for e in net.attacks}
    assert "@resistance_org" in praised and praised["@resistance_org"].sentiment > 0.3
    assert "@regime_official" in attacked and attacked["@regime_official"].sentiment < -0.3
    assert attacked["@regime_official"].negative == attacked["@regime_official"].mentions
    assert net.sentiment_coverage == 1.0


def test_representative_posts_are_central_and_deduplicated(scenario) -> None:  # type: ignore[no-untyped-def]
    case, assignment = scenario
    reps = narratives(case.con, assignment).networks["N"].representative_posts
    assert len(reps) == 4  # four distinct texts, each posted 10 times
    assert {r.text for r in reps} == set(NETWORK)
    assert all(r.copies == 10 for r in reps)
    assert [r.centrality for r in reps] == sorted((r.centrality for r in reps), reverse=True)


def test_as_dict_is_json_ready(scenario) -> None:  # type: ignore[no-untyped-def]
    case, assignment = scenario
    out = json.loads(json.dumps(narratives(case.con, assignment).as_dict()))
    net = out["networks"]["N"]
    assert set(net) >= {"hashtags", "domains", "terms", "praises", "attacks"}
    assert set(net["terms"][0]) == {"item", "z", "count", "background"}
    assert out["sentiment_languages"] == sentiment_languages()


def test_negation_flips_the_sign() -> None:
    rows: list[dict[str, object]] = [
        {"account": "a", "text": f"@bob is not good, really not good {i}"} for i in range(3)
    ]
    case = _case(rows)
    net = narratives(case.con, pa.table({"account_id": ["a"], "network_id": ["N"]})).networks["N"]
    assert [e.entity for e in net.attacks] == ["@bob"]


@pytest.mark.parametrize(
    ("lang", "praise", "attack"),
    [
        ("de", "@anna ist mutig und wunderbar", "@otto ist korrupt und schrecklich"),
        ("fr", "@anna est magnifique et courageux", "@otto est horrible et corrompu"),
        (None, "@anna is wonderful and brave", "@otto is a terrible liar"),
    ],
)
def test_sentiment_in_german_french_and_unlabelled_english(
    lang: str | None, praise: str, attack: str
) -> None:
    rows: list[dict[str, object]] = [
        {"account": "a", "text": t, "lang": lang} for t in [praise, attack] * 3
    ]
    case = _case(rows)
    net = narratives(case.con, pa.table({"account_id": ["a"], "network_id": ["N"]})).networks["N"]
    assert [e.entity for e in net.praises] == ["@anna"]
    assert [e.entity for e in net.attacks] == ["@otto"]


def _praised_and_attacked(rows: list[dict[str, object]]) -> tuple[list[str], list[str]]:
    case = _case(rows)
    net = narratives(case.con, pa.table({"account_id": ["a"], "network_id": ["N"]})).networks["N"]
    assert net.sentiment_coverage == 1.0
    return [e.entity for e in net.praises], [e.entity for e in net.attacks]


# Hand-made sentences, one praise and one attack per language, the entity first: in the
# right-to-left scripts (Persian, Arabic, Urdu) the mention still comes first in logical order.
VENDORED = [
    ("nl", "@anna is geweldig en dapper", "@otto is corrupt en vreselijk"),
    ("pt", "@anna é um herói corajoso", "@otto é um mentiroso"),
    ("da", "@anna er god og modig", "@otto er korrupt og elendig"),
]
CHEN_SKIENA = [
    ("fa", "@anna شجاع و عالی است", "@otto فاسد و دروغگو است"),
    ("ar", "@anna بطل عظيم", "@otto خائن و كاذب"),
    ("ur", "@anna اچھا اور عظیم ہے", "@otto برا غدار ہے"),
    ("ru", "@anna хороший герой", "@otto плохой предатель"),
    ("uk", "@anna чудовий герой", "@otto підлий зрадник"),
    ("es", "@anna es un héroe bueno", "@otto es un traidor corrupto"),
    ("tr", "@anna iyi bir kahraman", "@otto kötü bir hain"),
    ("hi", "@anna अच्छा और महान है", "@otto भ्रष्ट और झूठा है"),
]
needs_asent = pytest.mark.skipif(
    importlib.util.find_spec("asent") is None,
    reason="Chen & Skiena lexicons come with the optional asent package (cibscan[lexicons])",
)


@pytest.mark.parametrize(("lang", "praise", "attack"), VENDORED)
def test_sentiment_in_vendored_languages(lang: str, praise: str, attack: str) -> None:
    assert lang in sentiment_languages()
    rows: list[dict[str, object]] = [
        {"account": "a", "text": t, "lang": lang} for t in [praise, attack] * 3
    ]
    assert _praised_and_attacked(rows) == (["@anna"], ["@otto"])


@needs_asent
@pytest.mark.parametrize(("lang", "praise", "attack"), CHEN_SKIENA)
def test_sentiment_with_chen_skiena_lexicons(lang: str, praise: str, attack: str) -> None:
    assert lang in sentiment_languages()
    rows: list[dict[str, object]] = [
        {"account": "a", "text": t, "lang": lang} for t in [praise, attack] * 3
    ]
    assert _praised_and_attacked(rows) == (["@anna"], ["@otto"])


@needs_asent
def test_persian_spelled_with_arabic_letters_and_without_a_language_tag() -> None:
    # "عالي" with Arabic yeh is the lexicon's Persian "عالی"; the posts carry no lang, so the
    # language comes from their Persian stop words ("و", "است").
    rows: list[dict[str, object]] = [
        {"account": "a", "text": t, "lang": None}
        for t in ["@anna شجاع و عالي است", "@otto فاسد و دروغگو است"] * 3
    ]
    assert _praised_and_attacked(rows) == (["@anna"], ["@otto"])


@needs_asent
@pytest.mark.parametrize(
    ("lang", "text"),
    [("ru", "@otto не хороший и не герой"), ("es", "@otto no es bueno, no es un héroe")],
)
def test_negation_beyond_english(lang: str, text: str) -> None:
    rows: list[dict[str, object]] = [{"account": "a", "text": text, "lang": lang}] * 3
    assert _praised_and_attacked(rows) == ([], ["@otto"])


@needs_asent
def test_stop_words_carry_no_sentiment() -> None:
    # Chen & Skiena tag Russian "как" and "так" positive; as stop words they are dropped.
    rows: list[dict[str, object]] = [
        {"account": "a", "text": "@anna как так и вот", "lang": "ru"}
    ] * 3
    case = _case(rows)
    net = narratives(case.con, pa.table({"account_id": ["a"], "network_id": ["N"]})).networks["N"]
    assert net.praises == [] and net.attacks == [] and net.sentiment_coverage == 1.0


def test_uncovered_language_is_not_scored() -> None:
    # Chinese is written without spaces between words: no word lexicon applies.
    rows: list[dict[str, object]] = [
        {"account": "a", "text": "@anna 非常好和勇敢", "lang": "zh"} for _ in range(3)
    ]
    case = _case(rows)
    net = narratives(case.con, pa.table({"account_id": ["a"], "network_id": ["N"]})).networks["N"]
    assert net.sentiment_coverage == 0.0 and net.praises == [] and net.attacks == []
    assert "zh" not in sentiment_languages()


counts = st.lists(st.integers(min_value=0, max_value=50), min_size=1, max_size=8)


@settings(max_examples=50, deadline=None)
@given(counts, counts)
@example([0], [0])
def test_log_odds_is_antisymmetric(group: list[int], background: list[int]) -> None:
    n = min(len(group), len(background))
    y = np.array(group[:n], dtype=float)
    b = np.array(background[:n], dtype=float)
    assert np.allclose(weighted_log_odds(y, b), -weighted_log_odds(b, y))


def test_config_and_assignment_errors() -> None:
    with pytest.raises(ConfigError, match="window"):
        NarrativeConfig(window=0)
    with pytest.raises(BadInputError, match="null"):
        narratives(open_case().con, pa.table({"account_id": [None], "network_id": ["n"]}))


def test_a_name_does_not_run_on_into_the_next_sentence() -> None:
    # "Council. Freedom" and "Kessel. The" are sentence ends, not longer names.
    rows: list[dict[str, object]] = [
        {"account": "a", "text": t, "lang": "en"}
        for t in [
            "We love the great Valorian Freedom Council. Freedom is coming!",
            "Shame on the corrupt liar Kessel. The truth will win.",
        ]
        * 3
    ]
    assert _praised_and_attacked(rows) == (["Valorian Freedom Council"], ["Kessel"])


def test_a_name_stops_at_punctuation_and_drops_its_possessive() -> None:
    # "Oil: Bus" is a headline's topic and its clause; "Governor Lind's" is Governor Lind;
    # a hyphen joins a name ("Jean-Pierre Dupont").
    rows: list[dict[str, object]] = [
        {"account": "a", "text": t, "lang": "en"}
        for t in [
            "Markets and Oil: Bus drivers are wonderful and great heroes.",
            "Governor Lind's corrupt lies are a disgrace. We love the great Jean-Pierre Dupont.",
        ]
        * 3
    ]
    praised, attacked = _praised_and_attacked(rows)
    assert "Oil Bus" not in praised and "Markets and Oil Bus" not in praised
    assert "Jean Pierre Dupont" in praised and attacked == ["Governor Lind"]


def test_a_word_shouted_in_capitals_is_no_name() -> None:
    # "GOVERNMENT" is the word the network also writes in lower case; NATO is never "nato"
    rows: list[dict[str, object]] = [
        {"account": "a", "text": t, "lang": "en"}
        for t in [
            "The GOVERNMENT is wonderful and great, and NATO is wonderful and great.",
            "Our government works hard for the people.",
        ]
        * 3
    ]
    praised, _ = _praised_and_attacked(rows)
    assert "NATO" in praised and "GOVERNMENT" not in praised


def test_the_tags_that_end_a_post_are_its_labels_not_its_targets() -> None:
    # A flood appends its trending tags to every post: "lies ... #Riyadh #Breaking" attacks
    # neither. A tag inside the sentence is spoken of ("#Reyes is wonderful"), and the
    # Arabic tatweel and vowel marks do not make another tag.
    rows: list[dict[str, object]] = [
        {"account": "a", "text": t, "lang": "en"}
        for t in [
            "Shameful corrupt lies from the council, a disgrace #Riyadh #Breaking",
            "#Reyes is wonderful and great, thank you",
            "We love #الهـلال, wonderful and great",
            "We love #الهلال, wonderful and great",
            "We love #الهِلال, wonderful and great",
        ]
        * 3
    ]
    praised, attacked = _praised_and_attacked(rows)
    assert "#riyadh" not in attacked and "#breaking" not in attacked
    assert "#reyes" in praised
    assert "#الهلال" in praised and not any("ـ" in p or "ِ" in p for p in praised)


def test_one_angry_post_among_many_is_no_attack() -> None:
    # An entity mentioned in 24 posts, one of them negative, is not attacked (its mean is
    # below zero); three negative mentions, most of those with a sentiment, are an attack.
    neutral = ["@delis posted the schedule for the meeting"] * 23
    rows: list[dict[str, object]] = [
        {"account": "a", "text": t, "lang": "en"}
        for t in [*neutral, "@delis is a terrible liar", "@kent is wonderful and great"]
    ]
    praised, attacked = _praised_and_attacked(rows)
    assert attacked == [] and praised == []
    rows += [{"account": "a", "text": "@delis is a terrible liar", "lang": "en"}] * 2
    rows.append({"account": "a", "text": "@delis is wonderful", "lang": "en"})
    praised, attacked = _praised_and_attacked(rows)
    assert attacked == ["@delis"]  # 3 negative, 1 positive signed mentions


@pytest.mark.parametrize("tag", [None, "und"])
def test_stop_words_of_unlabelled_posts_come_from_their_own_language(tag: str | None) -> None:
    """Arabic posts with no language tag: their function words (كل, في, على) were kept as
    terms when the stop words of unlabelled posts were English ones."""
    background = [
        "الطقس جميل في المدينة اليوم",
        "مباراة رائعة على الملعب أمس",
        "افتتاح مقهى جديد في الحي",
    ]
    network = [
        "كل الشكر للقائد على جهوده في خدمة الوطن https://t.co/XyZ12 @bob",
        "كل التحية للقائد العظيم في كل مكان https://t.co/AbC34",
    ]  # the links' "https", "t" and "co" are no words of any language
    rows: list[dict[str, object]] = [
        {"account": f"o{k}", "text": background[k % 3], "lang": tag} for k in range(60)
    ]
    rows += [{"account": f"n{k % 4}", "text": network[k % 2], "lang": tag} for k in range(40)]
    case = _case(rows)
    try:
        assert _unlabelled_languages(case.con, ["und"] if tag else []) == ["ar"]
        assignment = pa.table({"account_id": [f"n{k}" for k in range(4)], "network_id": ["N"] * 4})
        terms = [t.item for t in narratives(case.con, assignment).networks["N"].terms]
        assert "للقائد" in terms
        assert not {"كل", "في", "على"} & set(terms)
    finally:
        case.close()


def test_languages_of_unlabelled_posts() -> None:
    spanish = "el gobierno de la ciudad dijo que no hay nada que hacer por ahora con el tráfico"
    english = "the government of the city said that there is nothing to do for now with it"
    for text, expected in ((spanish, "es"), (english, "en")):
        case = _case([{"account": "a", "text": text, "lang": None}] * 5)
        try:
            assert expected in _unlabelled_languages(case.con)
        finally:
            case.close()
    # Twitter's "und" (undetermined) is no language: told like an untagged post
    case = _case([{"account": "a", "text": spanish, "lang": "und"}] * 5)
    try:
        assert "es" in _unlabelled_languages(case.con, ["und"])
        assert _unlabelled_languages(case.con) == []
    finally:
        case.close()
    # every post labelled: nothing to tell
    case = _case([{"account": "a", "text": spanish, "lang": "es"}] * 5)
    try:
        assert _unlabelled_languages(case.con) == []
    finally:
        case.close()


def test_stretched_pointed_and_styled_words_are_one_term() -> None:
    # The same slogan plain, stretched with tatweel, pointed with harakat, split by a zero-width
    # space and (its Latin word) in mathematical bold: one set of terms, counted together.
    variants = [
        "الشكر للقائد العظيم Leader",
        "الشـكر للقـائد العظـيم Leader",
        "الشُّكْر لِلقائد العَظيم Leader",
        "الش\u200bكر للقائد\u200c العظيم "
        "\U0001d5df\U0001d5f2\U0001d5ee\U0001d5f1\U0001d5f2\U0001d5ff",
    ]
    background = ["الطقس جميل في المدينة اليوم", "مباراة رائعة على الملعب أمس"]
    rows: list[dict[str, object]] = [
        {"account": f"o{k}", "text": background[k % 2], "lang": "ar"} for k in range(40)
    ]
    rows += [{"account": f"n{k % 4}", "text": variants[k % 4], "lang": "ar"} for k in range(40)]
    case = _case(rows)
    try:
        assignment = pa.table({"account_id": [f"n{k}" for k in range(4)], "network_id": ["N"] * 4})
        terms = {t.item: t for t in narratives(case.con, assignment).networks["N"].terms}
        assert {"الشكر", "للقائد", "العظيم", "leader"} <= set(terms)
        assert all(not set(term) & set("\u0640\u064e\u064f\u0650\u0651\u0652") for term in terms)
        assert terms["للقائد"].count == terms["leader"].count == 40
    finally:
        case.close()
