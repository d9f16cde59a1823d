"""``semantics="cnt"`` against the real coordination-network-toolkit 1.5.2.

The peer runs from the venv on a generated CSV in a temporary folder; our networks are built
from the same rows. Edge lists and weights must be identical, leaving out self-loops and the
peer's two empty-string artefacts (posts without URLs co-link through the URL ``""``; posts
whose text is only @mentions co-tweet through the text ``""``), which cibscan does not reproduce
(see docs/networks.md). The artefacts are removed from the peer's database before it computes,
and a separate test shows they exist.
"""

from __future__ import annotations

import contextlib
import csv
import io
import random
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from cibscan.case import Case, open_case
from cibscan.ingest import ingest
from cibscan.networks import networks

cnt_compute = pytest.importorskip("coordination_network_toolkit.compute_networks")
cnt_preprocess = pytest.importorskip("coordination_network_toolkit.preprocess")
cnt_similarity = pytest.importorskip("coordination_network_toolkit.similarity")

CNT_COLUMNS = ("id", "user_id", "username", "repost_id", "reply_id", "message", "timestamp", "urls")

PEER_NETWORKS = {
    "share": "co_retweet",
    "link": "co_link",
    "reply": "co_reply",
    "text": "co_tweet",
    "near_text": "co_similar_tweet",
}


def generate_cnt_rows(n: int = 600, seed: int = 7) -> list[dict[str, str]]:
    """Rows in the peer's 8-column CSV layout, dense enough that every network has edges.

    Includes identical timestamps, half seconds, gaps equal to the window, accounts repeating
    themselves, posts with several URLs, with none, and mention-only texts.
    """
    rng = random.Random(seed)
    users = [f"u{i:02d}" for i in range(14)]
    originals = [f"orig{i}" for i in range(12)]
    urls = [f"https://news.example/{i}" for i in range(10)] + ["http://t.co/X", "HTTP://t.co/x"]
    texts = [
        "Vote for the Party today, everyone!",
        "vote for the party TODAY, everyone!",
        "vote  for the party today,   everyone! @friend",
        "The minister lied again about the budget",
        "the minister lied again about the budget!",
        "Share this before they delete it",
        "@someone @else",
        "",
        "Completely unrelated message number {k}",
        "Another one {k} with words that differ",
    ]
    rows = []
    t = 1_700_000_000.0
    for k in range(n):
        t += rng.choice([0, 0, 0.5, 1, 2, 5, 10, 30, 60])
        kind = rng.random()
        repost = reply = ""
        message = rng.choice(texts).format(k=k)
        chosen: list[str] = []
        if kind < 0.35:
            repost = rng.choice(originals)
            chosen = [rng.choice(urls)] if rng.random() < 0.3 else []  # ignored for reposts
        else:
            if kind < 0.55:
                reply = rng.choice(originals[:2])
            chosen = rng.sample(urls, rng.choice([0, 0, 1, 1, 2]))
        rows.append(
            {
                "id": f"m{k:04d}",
                "user_id": rng.choice(users),
                "username": "",
                "repost_id": repost,
                "reply_id": reply,
                "message": message,
                "timestamp": f"{t:.1f}" if t % 1 else str(int(t)),
                "urls": " ".join(chosen),
            }
        )
    return rows


def write_cnt_csv(rows: list[dict[str, str]], path: Path) -> None:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=CNT_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)


def case_from_cnt_rows(rows: list[dict[str, str]]) -> Case:
    """Our posts from the peer's rows (the cnt CSV reader of ingest will replace this)."""
    case = open_case()
    table = pa.table(
        {
            "post_id": [r["id"] for r in rows],
            "account_id": [r["user_id"] for r in rows],
            "epoch": [float(r["timestamp"]) for r in rows],
            "kind": [
                "share" if r["repost_id"] else "reply" if r["reply_id"] else "post" for r in rows
            ],
            "text": [r["message"] for r in rows],
            "shared_post_id": [r["repost_id"] or None for r in rows],
            "reply_to_post_id": [r["reply_id"] or None for r in rows],
            "urls_original": [[u for u in r["urls"].split(" ") if u] for r in rows],
        }
    )
    case.con.register("cnt_rows", table)
    case.con.execute(
        """INSERT INTO posts BY NAME
           SELECT post_id, account_id, make_timestamp(CAST(round(epoch * 1e6) AS BIGINT))
                  AS timestamp, kind, text, shared_post_id, reply_to_post_id,
                  urls_original, urls_original AS urls
           FROM cnt_rows"""
    )
    case.con.unregister("cnt_rows")
    return case


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    with contextlib.redirect_stdout(io.StringIO()):
        yield


def peer_db(rows: list[dict[str, str]], folder: Path) -> Path:
    """Preprocess the rows with the peer, then remove its two empty-string artefacts."""
    csv_path = folder / "messages.csv"
    db = folder / "cnt.db"
    write_cnt_csv(rows, csv_path)
    with quiet():
        cnt_preprocess.preprocess_csv_files(str(db), [str(csv_path)])
    con = sqlite3.connect(db)
    with con:
        con.execute("DELETE FROM message_url WHERE url = ''")
        # A text that normalises to "" gets a marker unique to its message, so it matches no
        # other message; the peer only fills transformed_message where it is null.
        for message_id, message in con.execute(
            "SELECT message_id, message FROM edge WHERE repost_id IS NULL"
        ).fetchall():
            if cnt_similarity.message_preprocessor(message) == "":
                marker = f"\0empty:{message_id}"
                con.execute(
                    """UPDATE edge SET transformed_message = ?, transformed_message_length = ?,
                       transformed_message_hash = ? WHERE message_id = ?""",
                    (marker, len(marker), 0, message_id),
                )
    con.close()
    return db


def run_peer(db: Path, network: str, window: float, min_weight: int) -> set[tuple[str, str, int]]:
    args: dict[str, Any] = {"n_threads": 1, "min_edge_weight": min_weight}
    with quiet():
        if network == "co_retweet":
            cnt_compute.compute_co_retweet_parallel(str(db), window, **args)
        elif network == "co_link":
            cnt_compute.compute_co_link_network(str(db), window, **args)
        elif network == "co_reply":
            cnt_compute.compute_co_reply_network(str(db), window, **args)
        elif network == "co_tweet":
            cnt_compute.compute_co_tweet_network(str(db), window, **args)
        elif network == "co_similar_tweet":
            # The peer's CLI defaults: threshold 0.8, documents of at least one token.
            cnt_compute.compute_co_similar_tweet(
                str(db),
                window,
                similarity_threshold=0.8,
                similarity_function=cnt_similarity.get_similarity_fn_from_min_size(1),
                **args,
            )
        else:  # pragma: no cover
            raise ValueError(network)
    con = sqlite3.connect(db)
    try:
        return {
            (str(u1), str(u2), int(w))
            for u1, u2, w in con.execute(f"SELECT user_1, user_2, weight FROM {network}_network")
            if u1 != u2
        }
    finally:
        con.close()


def ours(case: Case, signal: str, window: float, min_weight: int) -> set[tuple[str, str, int]]:
    result = networks(
        case, [signal], window=window, min_weight=min_weight, semantics="cnt", evidence_limit=0
    )
    return {
        (r["source"], r["target"], r["weight"])
        for r in result.edges.select(["source", "target", "weight"]).to_pylist()
    }


@pytest.fixture(scope="module")
def cnt_setup(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Case, Case]:
    """The peer's database, our case built from the rows, and our case ingested from the CSV."""
    rows = generate_cnt_rows()
    folder = tmp_path_factory.mktemp("cnt")
    db = peer_db(rows, folder)
    ingested = open_case()
    report = ingest([folder / "messages.csv"], ingested)
    assert [f.format for f in report.files] == ["cnt-csv"]
    assert report.files[0].ingested == len(rows)
    return db, case_from_cnt_rows(rows), ingested


@pytest.mark.slow
@pytest.mark.parametrize("signal", sorted(PEER_NETWORKS))
@pytest.mark.parametrize(("window", "min_weight"), [(60, 1), (10, 2)])
@pytest.mark.parametrize("load", ["built", "ingested"])
def test_cnt_matches_peer(
    cnt_setup: tuple[Path, Case, Case], signal: str, window: int, min_weight: int, load: str
) -> None:
    """Identical edges, from posts built from the rows and from the CSV through the ingest."""
    db, built, ingested = cnt_setup
    expected = run_peer(db, PEER_NETWORKS[signal], window, min_weight)
    got = ours(built if load == "built" else ingested, signal, window, min_weight)
    assert expected, f"the generated data gives the peer no {signal} edges; make it denser"
    assert got == expected


def test_peer_artefacts_exist_and_are_not_reproduced(tmp_path: Path) -> None:
    # Two URL-less posts and two mention-only posts, one second apart.
    rows = [
        {"id": "1", "user_id": "a", "username": "", "repost_id": "", "reply_id": "",
         "message": "@x", "timestamp": "100", "urls": ""},
        {"id": "2", "user_id": "b", "username": "", "repost_id": "", "reply_id": "",
         "message": "@y @z", "timestamp": "101", "urls": ""},
    ]  # fmt: skip
    csv_path, db = tmp_path / "m.csv", tmp_path / "cnt.db"
    write_cnt_csv(rows, csv_path)
    with quiet():
        cnt_preprocess.preprocess_csv_files(str(db), [str(csv_path)])
    assert run_peer(db, "co_link", 5, 1) == {("a", "b", 1), ("b", "a", 1)}
    assert run_peer(db, "co_tweet", 5, 1) == {("a", "b", 1), ("b", "a", 1)}
    case = case_from_cnt_rows(rows)
    assert ours(case, "link", 5, 1) == set()
    assert ours(case, "text", 5, 1) == set()


def test_url_cells_split_on_the_space_only_as_the_peer(tmp_path: Path) -> None:
    # The peer splits the URL cell with split(" "): a tab or a no-break space is inside a URL.
    def row(i: int, user: str, urls: str) -> dict[str, str]:
        return {"id": str(i), "user_id": user, "username": "", "repost_id": "", "reply_id": "",
                "message": "hi", "timestamp": "1600000000", "urls": urls}  # fmt: skip

    rows = [
        row(1, "a", "http://x.com/1\thttp://x.com/2"),
        row(2, "b", "http://x.com/2"),
        row(3, "c", "http://x.com/3\u00a0http://x.com/4"),
        row(4, "d", "http://x.com/4"),
        row(5, "e", "http://x.com/5  http://x.com/6"),
        row(6, "f", "http://x.com/6"),
    ]
    csv_path, db = tmp_path / "m.csv", tmp_path / "cnt.db"
    write_cnt_csv(rows, csv_path)
    with quiet():
        cnt_preprocess.preprocess_csv_files(str(db), [str(csv_path)])
    case = open_case()
    ingest([csv_path], case)
    # only e and f share a URL (the double space adds an empty one, which no other post has)
    assert (
        ours(case, "link", 1, 1) == run_peer(db, "co_link", 1, 1) == {("e", "f", 1), ("f", "e", 1)}
    )


def test_cnt_edges_are_directed_and_weights_count_source_posts() -> None:
    # a posts twice on item x, b once, all within the window: a->b counts a's two posts,
    # b->a counts b's one.
    rows = [
        {"id": "1", "user_id": "a", "username": "", "repost_id": "x", "reply_id": "",
         "message": "", "timestamp": "0", "urls": ""},
        {"id": "2", "user_id": "a", "username": "", "repost_id": "x", "reply_id": "",
         "message": "", "timestamp": "5", "urls": ""},
        {"id": "3", "user_id": "b", "username": "", "repost_id": "x", "reply_id": "",
         "message": "", "timestamp": "10", "urls": ""},
    ]  # fmt: skip
    case = case_from_cnt_rows(rows)
    result = networks(case, ["share"], window=10, min_weight=1, semantics="cnt")
    assert result.directed
    assert {
        (r["source"], r["target"], r["weight"], r["events"]) for r in result.edges.to_pylist()
    } == {
        ("a", "b", 2, 2),
        ("b", "a", 1, 2),
    }
    # Evidence rows carry the source's post first.
    evidence = result.evidence.to_pylist()
    assert {(e["source"], e["source_post"], e["target_post"]) for e in evidence} == {
        ("a", "1", "3"),
        ("a", "2", "3"),
        ("b", "3", "1"),
        ("b", "3", "2"),
    }


def test_cnt_text_normalisation_matches_peer() -> None:
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from cibscan.traces import cnt_normalise_text, cnt_tokens

    alphabet = st.sampled_from([*"aAbB @#'.,!\t\n\u00a0\u2003éÉ-_1", "ß", "İ"])

    @settings(max_examples=300, deadline=None)
    @given(st.text(alphabet=alphabet, max_size=30))
    def check(text: str) -> None:
        assert cnt_normalise_text(text) == cnt_similarity.message_preprocessor(text)
        assert cnt_tokens(text) == set(cnt_similarity.tokenize(text).split())

    check()
