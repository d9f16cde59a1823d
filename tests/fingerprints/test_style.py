"""Stylometry: hashed profiles, the style-similarity network and author-count estimation."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from cibscan.case import open_case
from cibscan.errors import BadInputError, ConfigError, EmptyInputError
from cibscan.fingerprints.style import (
    AuthorshipConfig,
    StyleConfig,
    char_ngram_counts,
    estimate_authors,
    evaluate_author_estimation,
    persona_authors,
    style_edges,
    style_fingerprints,
    style_text,
    synthetic_author,
    synthetic_persona_posts,
)

FAST = AuthorshipConfig(null_replicates=19, bootstrap=5, min_posts=30)


def _case_with_posts(rows: list[tuple[str, str]]):  # type: ignore[no-untyped-def]
    """An in-memory case whose posts are ``(account_id, text)`` rows."""
    case = open_case()
    t0 = datetime(2021, 6, 1, tzinfo=UTC)
    table = pa.table(
        {
            "post_id": [f"p{i}" for i in range(len(rows))],
            "account_id": [a for a, _ in rows],
            "timestamp": [t0 + timedelta(minutes=i) for i in range(len(rows))],
            "kind": ["post"] * len(rows),
            "text": [t for _, t in rows],
            "lang": ["en"] * len(rows),
        }
    )
    case.con.register("staged", table)
    case.con.execute("INSERT INTO posts BY NAME SELECT * FROM staged")
    case.con.unregister("staged")
    return case


@pytest.fixture(scope="module")
def persona_case():  # type: ignore[no-untyped-def]
    """40 organic writers, and 3 personas ("op1".."op3") written by one synthetic author."""
    rng = np.random.default_rng(42)
    rows: list[tuple[str, str]] = []
    for k in range(40):
        posts, _ = synthetic_persona_posts([synthetic_author(1000 + k)], 12, rng, min_chars=150)
        rows += [(f"user{k:02d}", p) for p in posts]
    team = synthetic_author(7)
    for k in range(1, 4):
        posts, _ = synthetic_persona_posts([team], 12, rng, min_chars=150)
        rows += [(f"op{k}", p) for p in posts]
    case = _case_with_posts(rows)
    yield case
    case.close()


# --- hashing ---------------------------------------------------------------------------------


def test_char_ngram_counts_counts_every_ngram_once() -> None:
    m = char_ngram_counts(["abab", "ab"], ngram_range=(2, 2), n_features=1024)
    assert m.shape == (2, 1024)
    assert m.sum(axis=1).A1.tolist() == [3.0, 1.0]
    # "ab" occurs twice in the first text and once in the second: same column.
    col = int(m[1].indices[0])
    assert m[0, col] == 2.0


def test_char_ngram_counts_is_deterministic_and_seeded() -> None:
    texts = ["Hello, world!", "Grüße aus Köln 🙂"]
    a = char_ngram_counts(texts, seed=3)
    b = char_ngram_counts(texts, seed=3)
    c = char_ngram_counts(texts, seed=4)
    assert (a != b).nnz == 0
    assert (a != c).nnz > 0


@settings(max_examples=40, deadline=None)
@given(st.lists(st.text(max_size=30), max_size=6))
@example([])
@example([""])
def test_ngrams_never_cross_texts(texts: list[str]) -> None:
    texts = [t.replace("\0", "") for t in texts]
    m = char_ngram_counts(texts, ngram_range=(2, 4), n_features=257)
    expected = [sum(max(0, len(t) - n + 1) for n in (2, 3, 4)) for t in texts]
    assert m.sum(axis=1).A1.tolist() == expected


def test_style_text_removes_content() -> None:
    assert style_text("Look @bob: https://x.co/a #Vote now") == "Look @: URL # now"


def test_config_validation_names_the_setting() -> None:
    with pytest.raises(ConfigError, match="n-gram range"):
        StyleConfig(ngram_min=3, ngram_max=2)
    with pytest.raises(ConfigError, match="min_posts"):
        AuthorshipConfig(min_posts=4, max_authors=5)


# --- (a) personas written alike --------------------------------------------------------------


def test_style_edges_link_the_personas_of_one_team(persona_case) -> None:  # type: ignore[no-untyped-def]
    edges = style_edges(persona_case.con, config=StyleConfig(min_chars=1000, z_min=3.0))
    assert edges.schema.names == ["source", "target", "similarity", "z"]
    z = {
        (s, t): v
        for s, t, v in zip(
            edges["source"].to_pylist(),
            edges["target"].to_pylist(),
            edges["z"].to_pylist(),
            strict=True,
        )
    }
    pairs = set(z)
    team = {("op1", "op2"), ("op1", "op3"), ("op2", "op3")}
    assert team <= pairs
    # Organic writers may resemble each other now and then, but never as much as the team.
    organic = [v for p, v in z.items() if p not in team]
    assert min(z[p] for p in team) > max(organic, default=0.0)
    assert all(s < t for s, t in pairs)


def test_style_edges_score_only_the_candidate_pairs(persona_case) -> None:  # type: ignore[no-untyped-def]
    candidates = pa.table({"source": ["op2", "op1", "missing"], "target": ["op1", "user01", "x"]})
    edges = style_edges(
        persona_case.con, candidates=candidates, config=StyleConfig(min_chars=1000, z_min=3.0)
    )
    assert edges["source"].to_pylist() == ["op1"]
    assert edges["target"].to_pylist() == ["op2"]


def test_style_edges_skip_accounts_with_too_little_text() -> None:
    case = _case_with_posts([("a", "short"), ("b", "also short")])
    assert style_edges(case.con).num_rows == 0


def test_copypasta_is_not_style() -> None:
    # Verbatim texts posted by several accounts are the co-text signal's evidence; an account
    # that only posts such texts has no style profile of its own.
    rng = np.random.default_rng(3)
    posts, _ = synthetic_persona_posts([synthetic_author(9)], 10, rng, min_chars=200)
    case = _case_with_posts([(a, p) for p in posts for a in ("a", "b")])
    assignment = pa.table({"account_id": ["a", "b"], "network_id": ["N", "N"]})
    cfg = StyleConfig(min_chars=1000)
    assert style_fingerprints(case.con, assignment, config=cfg).networks["N"].profiled == 0
    kept = StyleConfig(min_chars=1000, exclude_shared_texts=False)
    assert style_fingerprints(case.con, assignment, config=kept).networks["N"].profiled == 2


# --- (b) one persona, several hands ----------------------------------------------------------


def test_single_author_persona_is_single() -> None:
    rng = np.random.default_rng(5)
    posts, _ = synthetic_persona_posts([synthetic_author(11)], 60, rng)
    est = estimate_authors(posts, config=FAST)
    assert est.authors == 1
    assert est.p_value > FAST.alpha
    assert len(est.labels) == 60


def test_three_author_persona_is_split_in_three() -> None:
    rng = np.random.default_rng(6)
    authors = [synthetic_author(s) for s in (21, 22, 23)]
    posts, who = synthetic_persona_posts(authors, 90, rng)
    est = estimate_authors(posts, config=FAST)
    assert est.authors == 3
    assert est.p_value <= FAST.alpha
    # The clusters are the authors (up to relabelling): every cluster is one author.
    pairs = {(w, lab) for w, lab in zip(who, est.labels, strict=True)}
    assert len(pairs) == 3
    assert est.confidence is not None and est.confidence >= 0.6


def test_estimate_authors_needs_enough_long_posts() -> None:
    with pytest.raises(EmptyInputError, match="at least 30 posts"):
        estimate_authors(["too short"] * 50, config=FAST)


def test_evaluation_reports_accuracy() -> None:
    report = evaluate_author_estimation(
        personas_per_count=1,
        author_counts=(1, 2),
        posts_per_persona=40,
        config=AuthorshipConfig(null_replicates=9, bootstrap=0),
    )
    assert report["personas"] == 2
    assert 0.0 <= report["multi_f1"] <= 1.0
    json.dumps(report)


def test_persona_authors_and_fingerprints_from_the_case() -> None:
    rng = np.random.default_rng(8)
    two, _ = synthetic_persona_posts([synthetic_author(31), synthetic_author(32)], 40, rng)
    one, _ = synthetic_persona_posts([synthetic_author(33)], 40, rng)
    rows = [("persona", p) for p in two] + [("solo", p) for p in one]
    for k in range(6):
        posts, _ = synthetic_persona_posts([synthetic_author(40 + k)], 8, rng, min_chars=150)
        rows += [(f"u{k}", p) for p in posts]
    case = _case_with_posts(rows)
    assignment = pa.table({"account_id": ["persona", "solo"], "network_id": ["N1", "N1"]})
    found = {p.account_id: p.estimate.authors for p in persona_authors(case.con, assignment)}
    assert found == {"persona": 2, "solo": 1}
    fp = style_fingerprints(
        case.con,
        assignment,
        config=StyleConfig(min_chars=1000, min_language_accounts=3),
        authorship=AuthorshipConfig(null_replicates=19, bootstrap=0),
    )
    out = json.loads(json.dumps(fp.as_dict()))
    net = out["networks"]["N1"]
    assert net["accounts"] == 2 and net["profiled"] == 2
    assert net["multi_author_personas"] == 1
    assert net["personas"][0]["account_id"] == "persona"
    assert (net["personas_tested"], net["multi_author_expected"]) == (2, 0.1)


def test_writer_groups_are_the_personas_of_each_writer() -> None:
    """Two writers with three personas each in one network: the style links inside the
    network join two groups of three, one per writer, and no organic writer."""
    rng = np.random.default_rng(5)
    rows: list[tuple[str, str]] = []
    for k in range(30):
        posts, _ = synthetic_persona_posts([synthetic_author(500 + k)], 12, rng, min_chars=150)
        rows += [(f"user{k:02d}", p) for p in posts]
    for writer, seed in (("a", 71), ("b", 72)):
        author = synthetic_author(seed)
        for k in range(3):
            posts, _ = synthetic_persona_posts([author], 12, rng, min_chars=150)
            rows += [(f"{writer}{k}", p) for p in posts]
    case = _case_with_posts(rows)
    members = ["a0", "a1", "a2", "b0", "b1", "b2", "user00", "user01"]
    assignment = pa.table({"account_id": members, "network_id": ["N"] * len(members)})
    fp = style_fingerprints(
        case.con, assignment, config=StyleConfig(min_chars=1000, z_min=3.0), authorship=FAST
    )
    net = fp.as_dict()["networks"]["N"]
    assert net["writer_group_members"] == [["a0", "a1", "a2"], ["b0", "b1", "b2"]]
    assert net["writer_groups"] == [3, 3]
    case.close()


def test_bad_assignment_names_the_column() -> None:
    case = open_case()
    with pytest.raises(BadInputError, match="network_id"):
        persona_authors(case.con, pa.table({"account_id": ["a"]}))
    with pytest.raises(BadInputError, match="more than once"):
        persona_authors(case.con, pa.table({"account_id": ["a", "a"], "network_id": ["1", "2"]}))
