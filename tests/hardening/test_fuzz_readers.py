"""Fuzzing of every reader (issue 8, item 1): mutated inputs end in a clean ingest or a clear error.

Each test starts from a valid seed file of one format (see ``_fuzz.SEEDS``), mutates it
(structure: cells, columns, rows, JSON values and types, Parquet column types; bytes: flips,
truncation, inserted quotes, line ends, NUL, invalid UTF-8, lone surrogates, huge numbers;
sometimes gzip) and runs :func:`cibscan.ingest` in skip and strict mode (``_fuzz.check_input``).

The default run is short and derandomized. The long run is
``CIBSCAN_FUZZ_EXAMPLES=2000 python -m pytest tests/hardening/test_fuzz_readers.py`` (random
seeds) or ``python fuzz/run_fuzz.py``; see docs/reliability.md.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cibscan.case import open_case
from cibscan.config import IngestConfig
from cibscan.errors import BadInputError
from cibscan.ingest import IngestReport, ingest

from ._fuzz import MAX_TIMESTAMP, SEEDS, FuzzInput, check_input, mutated, write_and_check

EXAMPLES = int(os.environ.get("CIBSCAN_FUZZ_EXAMPLES", "12"))
LONG = "CIBSCAN_FUZZ_EXAMPLES" in os.environ

fuzz_settings = settings(
    max_examples=EXAMPLES,
    deadline=None,  # the harness has its own per-example time limit (hangs are failures)
    derandomize=not LONG,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@pytest.mark.parametrize("seed", sorted(SEEDS))
def test_seed_ingests_cleanly(seed: str, tmp_path: Path) -> None:
    """Every seed is a valid file of its format: detected, ingested, nothing rejected."""
    outcome = write_and_check(tmp_path, FuzzInput(seed, SEEDS[seed].data, forced=False))
    assert outcome.report is not None and outcome.report.rejected == 0
    assert outcome.report.ingested > 0
    assert outcome.report.files[0].format == SEEDS[seed].fmt


@pytest.mark.slow
@pytest.mark.parametrize("seed", sorted(SEEDS))
@fuzz_settings
@given(data=st.data())
def test_mutated_input_ingests_or_fails_clearly(seed: str, data: st.DataObject) -> None:
    """A mutated input: exact row accounting, or a CibscanError naming the file (and row)."""
    item = data.draw(mutated(seed), label="input")
    with tempfile.TemporaryDirectory() as directory:
        write_and_check(Path(directory), item)


# -- regressions: bugs the fuzzer found ---------------------------------------------------------


def _ingest(path: Path, on_error: str = "skip", fmt: str | None = None) -> IngestReport:
    config = IngestConfig(format=fmt, on_error=on_error, max_timestamp=MAX_TIMESTAMP)  # type: ignore[arg-type]
    return ingest([path], open_case(), config)


def _strict_error(path: Path, fmt: str | None = None) -> str:
    with pytest.raises(BadInputError) as info:
        _ingest(path, "strict", fmt)
    return str(info.value)


def test_ragged_row_that_is_not_utf8_is_one_reject(write) -> None:  # type: ignore[no-untyped-def]
    # Arrow decodes a ragged row's text before calling the handler; bytes that are not UTF-8
    # made that fail and the whole file was refused, even with on_error=skip.
    path = write(
        "posts.csv",
        b"post_id,account_id,timestamp\n"
        b"p1,a1,2024-01-01T10:00:00Z\n"
        b"p2,a\xff2,2024-01-01T10:00:00Z,extra\n"
        b"p3,a\xfe3,2024-01-01T10:00:00Z\n"
        b"p4,a4,2024-01-01T10:00:00Z\n",
    )
    report = _ingest(path)
    assert report.summary() == "read 4 = ingested 2 + rejected 2 + duplicates 0"
    case = open_case()
    ingest([path], case, IngestConfig(on_error="skip", max_timestamp=MAX_TIMESTAMP))
    rejects = case.con.execute("SELECT row, reason FROM rejects ORDER BY row").fetchall()
    assert rejects == [(3, "expected 3 fields, found 4"), (4, "not valid UTF-8")]
    assert _strict_error(path) == f"{path}, row 3, value 'p2,a�2,2024-01-01T10:00:00Z,extra': " + (
        "expected 3 fields, found 4"
    )
    check_input(path, None)


@pytest.mark.parametrize(
    ("name", "content", "row"),
    [
        # a bad value (row 2) before a row the reader cannot parse (row 3)
        ("posts.csv", b"post_id,account_id,timestamp\np1,a1,never\np2,a\xff,2024-01-01\n", 2),
        ("posts.jsonl", b'{"post_id":"p1","account_id":"a1","timestamp":"never"}\n\xff\n', 1),
        (
            "tweets.jsonl",
            b'{"id":"t1","author_id":"a1","text":"x","created_at":"never"}\n{"id":\n',
            1,
        ),
    ],
)
def test_strict_stops_at_the_first_bad_row_in_file_order(
    tmp_path: Path, name: str, content: bytes, row: int
) -> None:
    # Readers yielded a parse reject before the rows read ahead of it were staged, so strict
    # mode reported the later unparseable row instead of the earlier bad value.
    path = tmp_path / name
    path.write_bytes(content)
    message = _strict_error(path)
    assert message.startswith(f"{path}, ") and (
        f"row {row}," in message or f"line {row}," in message
    )
    check_input(path, None)


def test_telegram_entity_type_that_is_not_a_string(write) -> None:  # type: ignore[no-untyped-def]
    # {"type": [...]} in text_entities raised TypeError (unhashable list).
    chat = {
        "name": "C",
        "type": "public_channel",
        "id": 1,
        "messages": [
            {
                "id": 2,
                "type": "message",
                "date_unixtime": "1704103200",
                "from_id": "channel1",
                "text": "x",
                "text_entities": [{"type": ["hashtag"], "text": "#x"}],
            },
        ],
    }
    path = write("result.json", json.dumps(chat, indent=1))
    assert _ingest(path).summary() == "read 1 = ingested 1 + rejected 0 + duplicates 0"


@pytest.mark.parametrize(
    ("name", "line"),
    [
        (
            "posts.jsonl",
            '{"post_id":"p1","account_id":"a1","timestamp":"2024-01-01","text":"\\ud800"}',
        ),
        (
            "tweets.jsonl",
            '{"id":"t1","author_id":"a1","created_at":"2024-01-01","text":"\\udfff x"}',
        ),
    ],
)
def test_lone_surrogate_escape_is_a_reject(write, name: str, line: str) -> None:  # type: ignore[no-untyped-def]
    # A lone surrogate decodes to a str that Arrow cannot encode: UnicodeEncodeError.
    ok = line.replace("p1", "p0").replace("t1", "t0").replace("\\ud800", "\\ud83d\\ude00")
    ok = ok.replace("\\udfff", "fine")
    path = write(name, ok + "\n" + line + "\n")
    assert _ingest(path).summary() == "read 2 = ingested 1 + rejected 1 + duplicates 0"
    assert _strict_error(path).endswith(
        "a lone UTF-16 surrogate escape (\\ud800 to \\udfff), which is no character"
    )


def test_telegram_lone_surrogate_is_a_reject(write) -> None:  # type: ignore[no-untyped-def]
    messages = [
        {
            "id": i,
            "type": "message",
            "date_unixtime": "1704103200",
            "from_id": "channel1",
            "text": text,
        }
        for i, text in ((1, "ok \ud83d\ude00"), (2, "\ud800"))
    ]
    doc = json.dumps(
        {"name": "C", "type": "public_channel", "id": 1, "messages": messages}, indent=1
    )
    assert "\\ud800" in doc
    path = write("result.json", doc)
    assert _ingest(path).summary() == "read 2 = ingested 1 + rejected 1 + duplicates 0"
    assert ", line " in _strict_error(path)


def test_epoch_beyond_int64_is_an_unparseable_timestamp(write) -> None:  # type: ignore[no-untyped-def]
    # make_timestamptz(CAST(x AS BIGINT)) raised a DuckDB ConversionException past 9.2e18.
    path = write("posts.csv", "post_id,account_id,timestamp\np1,a1,17041032011704103201\n")
    assert _ingest(path).summary() == "read 1 = ingested 0 + rejected 1 + duplicates 0"
    assert "unparseable timestamp" in _strict_error(path)


def test_twarc2_tweets_of_one_page_are_counted_apart(write) -> None:  # type: ignore[no-untyped-def]
    # The tweets of a page share its line number; excluding a duplicate by row number alone
    # also dropped the page's new tweets, and the accounting check failed after the commit.
    page = {
        "data": [
            {"id": "t1", "author_id": "a1", "created_at": "2024-01-01T10:00:00Z", "text": "a"},
            {"id": "t2", "author_id": "a2", "created_at": "2024-01-01T10:00:00Z", "text": "b"},
        ]
    }
    first = {
        "data": [
            {"id": "t2", "author_id": "a2", "created_at": "2024-01-01T10:00:00Z", "text": "b"},
            {"author_id": "a3", "text": "no id"},
        ],
        "meta": {},
    }
    path = write("pages.jsonl", json.dumps(first) + "\n" + json.dumps(page) + "\n")
    assert _ingest(path).summary() == "read 4 = ingested 2 + rejected 1 + duplicates 1"
    check_input(path, None)


def test_deeply_nested_first_lines_and_parquet_errors_are_one_line(write) -> None:  # type: ignore[no-untyped-def]
    # json.loads in table detection raised RecursionError; Arrow's Parquet errors span lines.
    deep = '{"post_id": ' + "[" * 20_000 + "]" * 20_000 + "}"
    path = write(
        "posts.jsonl", deep + '\n{"post_id":"p","account_id":"a","timestamp":1704103200}\n'
    )
    assert _ingest(path).summary() == "read 2 = ingested 1 + rejected 1 + duplicates 0"
    seed = SEEDS["parquet"].data
    broken = write("input.parquet", seed[:200] + bytes(64) + seed[264:])
    outcome = check_input(broken, None)
    assert outcome.skip_error is not None and "\n" not in str(outcome.skip_error)


def test_twarc2_same_tweet_twice_in_one_page(write) -> None:  # type: ignore[no-untyped-def]
    # Two rows with the same line and key: one new, one duplicate; both were left out.
    tweet = {"id": "t1", "author_id": "a1", "created_at": "2024-01-01T10:00:00Z", "text": "a"}
    other = dict(tweet, id="t2")
    path = write(
        "pages.jsonl",
        json.dumps({"data": [tweet, tweet, other]}) + "\n" + json.dumps({"data": [tweet]}) + "\n",
    )
    assert _ingest(path).summary() == "read 4 = ingested 2 + rejected 0 + duplicates 2"
    check_input(path, None)


def test_parquet_column_name_not_utf8(tmp_path: Path) -> None:
    # pyarrow raises UnicodeDecodeError (not an ArrowInvalid) for such a schema.
    data = bytearray(SEEDS["parquet"].data)
    data[data.index(b"\x18\x07post_id%") + 2] = 0xF0
    path = tmp_path / "input.parquet"
    path.write_bytes(bytes(data))
    assert "cannot read as Parquet" in _strict_error(path)
    check_input(path, None)
    coortweet = bytearray(SEEDS["coortweet-parquet"].data)
    coortweet[coortweet.index(b"\x18\ncontent_id") + 2] = 0xF0
    path = tmp_path / "shares.parquet"
    path.write_bytes(bytes(coortweet))
    assert "cannot read as Parquet" in _strict_error(path, "coortweet")
    check_input(path, None)


def test_io_archive_ragged_row_before_a_bad_cell(tmp_path: Path) -> None:
    # Found by atheris: the archive reader gave out its own rejects (is_retweet) before the
    # CSV reader's (a ragged row earlier in the file), so strict mode named the later row.
    path = tmp_path / "archive.csv"
    path.write_text(
        "tweetid,userid,tweet_time,is_retweet\n"
        "1,u1,2019-01-01 12:34\n"
        "2,u1,2019-01-01 12:35,false.\n"
        "3,u1,2019-01-01 12:36,false\n"
    )
    assert _ingest(path).summary() == "read 3 = ingested 1 + rejected 2 + duplicates 0"
    assert _strict_error(path).startswith(f"{path}, row 2, value '1,u1,2019-01-01 12:34': ")
    check_input(path, None)
