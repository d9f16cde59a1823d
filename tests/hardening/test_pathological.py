"""Pathological but valid data (issue 8, item 2): each input completes or fails with a clear error.

The large versions (1M posts by one account, 1M accounts with one post each, all posts in one
second) run in ``benchmarks/bench_pathological.py``, with time and peak memory in
docs/reliability.md; here the same shapes run at a size the default suite can afford, through
ingest, ``networks`` and ``detect``.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import time
from pathlib import Path

import pytest
import zstandard

from cibscan.case import Case, open_case
from cibscan.config import IngestConfig
from cibscan.detect import DetectConfig, detect
from cibscan.errors import BadInputError
from cibscan.ingest import IngestReport, ingest
from cibscan.networks import networks

MAX_TIMESTAMP = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)


def _ingest(case: Case, path: Path, **config: object) -> IngestReport:
    options = {"on_error": "skip", "max_timestamp": MAX_TIMESTAMP, **config}
    return ingest([path], case, IngestConfig(**options))  # type: ignore[arg-type]


def _posts_csv(path: Path, rows: list[tuple[str, str, int, str]]) -> Path:
    lines = ["post_id,account_id,timestamp,text,urls"]
    lines += [f"{p},{a},{t},{x}," for p, a, t, x in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# -- huge values --------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("name", ["posts.csv", "posts.jsonl"])
def test_50_mb_text_field(tmp_path: Path, name: str) -> None:
    # A record longer than Arrow's CSV block, and a JSON line longer than the detection sample,
    # used to refuse the file.
    text = "x" * (50 << 20)
    path = tmp_path / name
    if name.endswith(".csv"):
        path.write_text(f'post_id,account_id,timestamp,text\np1,a,2024-01-01,"{text}"\n'
                        "p2,a,2024-01-01,y\n")  # fmt: skip
    else:
        records = [
            {"post_id": "p1", "account_id": "a", "timestamp": "2024-01-01", "text": text},
            {"post_id": "p2", "account_id": "a", "timestamp": "2024-01-01", "text": "y"},
        ]
        path.write_text("".join(json.dumps(r) + "\n" for r in records))
    case = open_case()
    started = time.perf_counter()
    assert _ingest(case, path).summary() == "read 2 = ingested 2 + rejected 0 + duplicates 0"
    assert time.perf_counter() - started < 60
    assert case.con.execute("SELECT length(text) FROM posts ORDER BY post_id").fetchall() == [
        (50 << 20,),
        (1,),
    ]


def test_post_with_100k_hashtags(tmp_path: Path) -> None:
    tags = [f"tag{i}" for i in range(100_000)]
    records = [
        {"post_id": f"p{i}", "account_id": f"a{i}", "timestamp": 1704103200 + i,
         "text": " ".join("#" + t for t in tags)}
        for i in range(3)
    ]  # fmt: skip
    path = tmp_path / "posts.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    case = open_case()
    assert _ingest(case, path).ingested == 3
    got = case.con.execute("SELECT len(hashtags), hashtags[100000] FROM posts").fetchall()
    assert got == [(100_000, "tag99999")] * 3
    started = time.perf_counter()
    result = networks(case.con, ["hashtag_seq"], window=60.0, min_weight=1)
    assert time.perf_counter() - started < 60
    # the three posts carry the same sequence of tags within the window: three pairs
    assert result.edges.num_rows == 3


# -- one account, many accounts, one instant ----------------------------------------------------


@pytest.mark.slow
def test_many_posts_by_one_account(tmp_path: Path) -> None:
    n = 20_000
    rows = [
        (f"p{i}", "a1", 1704103200 + i // 10, "same text https://x.example/1") for i in range(n)
    ]
    case = open_case()
    assert _ingest(case, _posts_csv(tmp_path / "posts.csv", rows)).ingested == n
    started = time.perf_counter()
    result = networks(case.con, ["link", "text"], window=60.0, min_weight=1)
    # One account co-acts with nobody: no edges (self-pairs are not edges), and the item that
    # one account posted n times costs no pair enumeration (n^2/2 self-pairs) at all.
    assert result.edges.num_rows == 0
    detection = detect(case, DetectConfig(signals=("link", "text"), window=60.0))
    assert detection.networks == [] and detection.accounts.num_rows == 1
    assert time.perf_counter() - started < 120


@pytest.mark.slow
def test_many_accounts_one_post_each_in_one_second(tmp_path: Path) -> None:
    # Every post at the same instant with the same URL: the worst case of co-action
    # (n^2/2 pairs). The hot-item cap keeps the item out of pair enumeration.
    n = 20_000
    rows = [(f"p{i}", f"a{i}", 1704103200, f"look https://x.example/{i % 3}") for i in range(n)]
    case = open_case()
    assert _ingest(case, _posts_csv(tmp_path / "posts.csv", rows)).ingested == n
    started = time.perf_counter()
    result = networks(case.con, ["link"], window=60.0, min_weight=1, hot_item_cap=1000)
    assert result.edges.num_rows == 0
    hot = result.hot_items.to_pylist()
    assert sorted(h["item"] for h in hot) == [f"https://x.example/{i}" for i in range(3)]
    assert all(h["pairs"] > 20_000_000 for h in hot)  # what enumeration would have cost
    detection = detect(case, DetectConfig(signals=("link",), window=60.0))
    assert detection.networks == [] and detection.accounts.num_rows == n
    assert time.perf_counter() - started < 120


def test_identical_timestamps_with_small_items(tmp_path: Path) -> None:
    # All posts at one instant, items shared by pairs of accounts: every pair is found, once.
    rows = [(f"p{i}", f"a{i}", 1704103200, f"https://x.example/{i // 2}") for i in range(2000)]
    case = open_case()
    assert _ingest(case, _posts_csv(tmp_path / "posts.csv", rows)).ingested == 2000
    result = networks(case.con, ["link"], window=1.0, min_weight=1)
    assert result.edges.num_rows == 1000 and result.hot_items.num_rows == 0


# -- nesting, compression bombs -----------------------------------------------------------------


def test_deeply_nested_json(tmp_path: Path) -> None:
    deep = "[" * 100_000 + "]" * 100_000
    ok = {"post_id": "q", "account_id": "a", "timestamp": 1704103200}
    path = tmp_path / "posts.jsonl"
    path.write_text('{"post_id": "p", "text": ' + deep + "}\n" + json.dumps(ok) + "\n")
    case = open_case()
    assert _ingest(case, path).summary() == "read 2 = ingested 1 + rejected 1 + duplicates 0"
    assert case.con.execute("SELECT row, reason FROM rejects").fetchall() == [
        (1, "JSON nested too deeply")
    ]
    tweets = tmp_path / "tweets.jsonl"
    flat = {"id": "t1", "author_id": "a1", "created_at": "2024-01-01T00:00:00Z", "text": "x"}
    tweets.write_text(json.dumps(flat) + "\n" + '{"id": "t2", "entities": ' + deep + "}\n")
    assert _ingest(open_case(), tweets, format="twarc2").rejected == 1
    chat = tmp_path / "result.json"
    chat.write_text(
        '{"name": "C", "type": "public_channel", "id": 1, "messages": [\n'
        '{"id": 1, "type": "message", "date_unixtime": "1704103200", "text": ' + deep + "}]}"
    )
    with pytest.raises(BadInputError, match=r"result.json, line 2: JSON nested too deeply"):
        _ingest(open_case(), chat)


@pytest.mark.parametrize("compress", [gzip.compress, zstandard.compress])
def test_decompression_bomb_stops_at_the_bound(tmp_path: Path, compress) -> None:  # type: ignore[no-untyped-def]
    # 300 MB of blank lines after a header: a few kB compressed.
    bomb = compress(b"post_id,account_id,timestamp\n" + b"\n" * (300 << 20))
    assert len(bomb) < 400_000
    path = tmp_path / "posts.csv.gz"
    path.write_bytes(bomb)
    case = open_case()
    with pytest.raises(BadInputError, match="decompressed size exceeds the limit of 10485760"):
        _ingest(case, path, max_decompressed_bytes=10 << 20)
    started = time.perf_counter()
    with pytest.raises(BadInputError, match=r"ratio exceeds 200:1 \(possible decompression bomb\)"):
        _ingest(case, path)
    assert time.perf_counter() - started < 30
    assert case.count("posts") == 0 and case.count("sources") == 0


# -- characters ---------------------------------------------------------------------------------


def test_nul_bytes_are_kept_verbatim(tmp_path: Path) -> None:
    path = tmp_path / "posts.csv"
    path.write_bytes(b"post_id,account_id,timestamp,text\np\x001,a\x00b,2024-01-01,x\x00y\n")
    jsonl = tmp_path / "posts.jsonl"
    jsonl.write_text('{"post_id": "q\\u00001", "account_id": "a", "timestamp": 1704103200}\n')
    case = open_case()
    assert _ingest(case, path).ingested == 1 and _ingest(case, jsonl).ingested == 1
    rows = case.con.execute("SELECT post_id, account_id, text FROM posts ORDER BY 1").fetchall()
    assert rows == [("p\x001", "a\x00b", "x\x00y"), ("q\x001", "a", None)]


def test_invalid_surrogates(tmp_path: Path) -> None:
    # UTF-8-encoded surrogates (CESU-8) in CSV are not UTF-8; \\ud800 escapes in JSON are no
    # characters. Both are rejected rows, the good rows go in.
    csv_path = tmp_path / "posts.csv"
    csv_path.write_bytes(
        b"post_id,account_id,timestamp,text\np1,a,2024-01-01,\xed\xa0\x80\np2,a,2024-01-01,ok\n"
    )
    jsonl = tmp_path / "posts.jsonl"
    jsonl.write_text(
        '{"post_id": "q1", "account_id": "a", "timestamp": 1704103200, "text": "\\ud800"}\n'
        '{"post_id": "q2", "account_id": "a", "timestamp": 1704103200, "text": "\\ud83d\\ude00"}\n'
    )
    case = open_case()
    assert _ingest(case, csv_path).summary() == "read 2 = ingested 1 + rejected 1 + duplicates 0"
    assert _ingest(case, jsonl).summary() == "read 2 = ingested 1 + rejected 1 + duplicates 0"
    reasons = case.con.execute("SELECT reason FROM rejects ORDER BY file").fetchall()
    assert reasons == [
        ("not valid UTF-8",),
        ("a lone UTF-16 surrogate escape (\\ud800 to \\udfff), which is no character",),
    ]
    assert case.con.execute("SELECT text FROM posts WHERE post_id = 'q2'").fetchone() == ("😀",)


def test_mixed_line_endings(tmp_path: Path) -> None:
    csv_path = tmp_path / "posts.csv"
    csv_path.write_bytes(
        b'post_id,account_id,timestamp,text\r\np1,a,2024-01-01,x\np2,a,2024-01-01,"two\r\nlines"\r'
        b"p3,a,2024-01-01,z\r\n"
    )
    jsonl = tmp_path / "posts.jsonl"
    jsonl.write_bytes(
        b'{"post_id": "q1", "account_id": "a", "timestamp": 1704103200}\r\n'
        b'{"post_id": "q2", "account_id": "a", "timestamp": 1704103200, "text": "a\xe2\x80\xa8b"}\n'
    )
    case = open_case()
    assert _ingest(case, csv_path).summary() == "read 3 = ingested 3 + rejected 0 + duplicates 0"
    assert _ingest(case, jsonl).summary() == "read 2 = ingested 2 + rejected 0 + duplicates 0"
    texts = dict(case.con.execute("SELECT post_id, text FROM posts").fetchall())
    assert texts["p2"] == "two\r\nlines" and texts["q2"] == "a\u2028b"


def test_byte_order_marks(tmp_path: Path) -> None:
    # A UTF-8 BOM (Windows editors) before the first line: JSON lines and Telegram exports
    # used to reject line 1 or refuse the file.
    bom = "\ufeff"
    files = {
        "posts.csv": "post_id,account_id,timestamp\np1,a,2024-01-01\n",
        "posts.jsonl": '{"post_id": "p2", "account_id": "a", "timestamp": 1704103200}\n',
        "tweets.jsonl": json.dumps(
            {"id": "t1", "author_id": "a", "created_at": "2024-01-01T00:00:00Z", "text": "x"}
        ) + "\n",
        "result.json": json.dumps(
            {"name": "C", "type": "public_channel", "id": 1, "messages": [
                {"id": 1, "type": "message", "date_unixtime": "1704103200", "text": "x"}]}
        ),
        "cnt.csv": "id,user_id,username,repost_id,reply_id,message,timestamp,urls\n"
        "m1,u1,x,,,hi,1704103200,\n",
    }  # fmt: skip
    case = open_case()
    for name, content in files.items():
        path = tmp_path / name
        path.write_text(bom + content, encoding="utf-8")
        report = _ingest(case, path)
        assert report.summary() == "read 1 = ingested 1 + rejected 0 + duplicates 0", name
    formats = [r[0] for r in case.con.execute("SELECT format FROM sources").fetchall()]
    assert sorted(formats) == ["cnt-csv", "csv", "jsonl", "telegram", "twarc2"]


def test_right_to_left_and_zero_width_characters_in_ids(tmp_path: Path) -> None:
    # Ids are kept verbatim: look-alike ids (an RTL override, a zero-width space, NFD) are
    # distinct accounts, as the platform would have them.
    ids = ["abc", "\u202eabc", "a\u200bbc", "a\u200dbc", "\u05d0\u05d1", "e\u0301", "\u00e9"]
    rows = [(f"p{i}", account, 1704103200 + i, "x") for i, account in enumerate(ids)]
    path = tmp_path / "posts.csv"
    path.write_text(
        "post_id,account_id,timestamp,text\n"
        + "".join(f"{p},{a},{t},{x}\n" for p, a, t, x in rows),
        encoding="utf-8",
    )
    case = open_case()
    assert _ingest(case, path).ingested == len(ids)
    stored = [
        r[0] for r in case.con.execute("SELECT account_id FROM posts ORDER BY post_id").fetchall()
    ]
    assert stored == ids
    assert case.count("accounts") == len(ids)
