"""Ingest of generic files: row accounting, validation, pinned error messages."""

from __future__ import annotations

import datetime as dt
import gzip
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import zstandard

from cibscan import BadInputError, ConfigError, open_case
from cibscan.config import IngestConfig
from cibscan.ingest import ingest
from cibscan.ingest.load import zone_fallbacks
from cibscan.ingest.readers import ParseReject, RawBatch, ReadItem, rejects_after_batches

HEADER = "post_id,account_id,timestamp,text\n"
UTC = dt.UTC


def posts(case) -> list[tuple]:  # type: ignore[no-untyped-def]
    return case.con.execute(
        "SELECT post_id, account_id, timestamp, kind FROM posts ORDER BY post_id"
    ).fetchall()


def test_generic_csv_rows_and_types(write) -> None:  # type: ignore[no-untyped-def]
    path = write(
        "p.csv",
        HEADER + "1,a,2024-01-01T10:00:00Z,hi\n2,b,1704103200,x\n"
        "3,c,1704103200123,y\n4,d,2024-01-01 12:00,z\n",
    )
    case = open_case()
    report = ingest([path], case)
    assert report.summary() == "read 4 = ingested 4 + rejected 0 + duplicates 0"
    rows = posts(case)
    assert [r[2] for r in rows] == [
        dt.datetime(2024, 1, 1, 10, tzinfo=UTC),
        dt.datetime(2024, 1, 1, 10, tzinfo=UTC),
        dt.datetime(2024, 1, 1, 10, 0, 0, 123000, tzinfo=UTC),
        dt.datetime(2024, 1, 1, 12, tzinfo=UTC),
    ]
    assert {r[3] for r in rows} == {"post"}
    assert case.count("accounts") == 4  # derived from the posts


def test_naive_timestamps_use_tz(write) -> None:  # type: ignore[no-untyped-def]
    path = write("p.csv", HEADER + "1,a,2024-01-01 10:00:00,hi\n2,a,2024-01-01T10:00:00+00:00,x\n")
    case = open_case()
    ingest([path], case, IngestConfig(tz="Europe/Tirane"))
    stamps = [r[2] for r in posts(case)]
    assert stamps == [
        dt.datetime(2024, 1, 1, 9, tzinfo=UTC),
        dt.datetime(2024, 1, 1, 10, tzinfo=UTC),
    ]


def test_local_times_the_clock_changes_skipped_or_repeated(write) -> None:  # type: ignore[no-untyped-def]
    # Berlin's clocks went 02:00 -> 03:00 on 2024-03-31 and 03:00 -> 02:00 on 2024-10-27.
    content = (
        "1,a,2024-03-31 03:30:00,x\n"  # after the change: 01:30 UTC
        "2,b,2024-03-31 02:30:00,x\n"  # never happened in Berlin
        "3,c,2024-10-27 02:30:00,x\n"  # happened twice: read as the second, 01:30 UTC
        "4,d,27/10/2024 02:15,x\n"  # a spreadsheet date, also twice
        "5,e,2024-10-27T02:30:00+02:00,x\n"  # an offset: one instant, no question
        "6,f,1729992600,x\n"  # epoch seconds: 2024-10-27 01:30 UTC
        "7,g,2024-06-01 12:00:00,x\n"
    )
    path = write("dst.csv", HEADER + content)
    with pytest.raises(BadInputError) as info:
        ingest([path], open_case(), IngestConfig(tz="Europe/Berlin"))
    assert str(info.value) == (
        f"{path}, row 3, column 'timestamp', value '2024-03-31 02:30:00': local time that did "
        "not exist in Europe/Berlin (the clocks skipped it): is --tz the zone the times were "
        "written in?"
    )
    case = open_case()
    report = ingest([path], case, IngestConfig(tz="Europe/Berlin", on_error="skip"))
    assert report.summary() == "read 7 = ingested 6 + rejected 1 + duplicates 0"
    assert report.ambiguous_times == 2
    assert report.as_dict()["ambiguous_times"] == 2
    assert case.con.execute('SELECT "row", "column" FROM rejects').fetchall() == [(3, "timestamp")]
    assert {r[0]: r[2] for r in posts(case)} == {
        "1": dt.datetime(2024, 3, 31, 1, 30, tzinfo=UTC),
        "3": dt.datetime(2024, 10, 27, 1, 30, tzinfo=UTC),
        "4": dt.datetime(2024, 10, 27, 1, 15, tzinfo=UTC),
        "5": dt.datetime(2024, 10, 27, 0, 30, tzinfo=UTC),
        "6": dt.datetime(2024, 10, 27, 1, 30, tzinfo=UTC),
        "7": dt.datetime(2024, 6, 1, 10, tzinfo=UTC),
    }
    # A zone without clock changes has no such times: nothing is checked or counted.
    report = ingest([path], open_case(), IngestConfig(tz="Asia/Tokyo"))
    assert (report.rejected, report.ambiguous_times) == (0, 0)
    # Naive timestamps of a typed (Parquet) column get the same check.
    table = pa.table(
        {
            "post_id": ["1", "2"],
            "account_id": ["a", "b"],
            "timestamp": pa.array(
                [dt.datetime(2024, 3, 31, 2, 30), dt.datetime(2024, 10, 27, 2, 30)],
                pa.timestamp("us"),
            ),
        }
    )
    parquet = write("dst.parquet", "")
    pq.write_table(table, parquet)
    case = open_case()
    report = ingest([parquet], case, IngestConfig(tz="Europe/Berlin", on_error="skip"))
    assert (report.rejected, report.ambiguous_times) == (1, 1)


def test_repeated_local_times_by_the_size_of_the_zones_change(write) -> None:  # type: ignore[no-untyped-def]
    # Lord Howe Island's clocks go back half an hour (2024-04-07 02:00 -> 01:30), the Troll
    # station's two hours (2024-10-27 03:00 -> 01:00): a time within the change happened twice.
    def counted(tz: str, times: list[str]) -> int:
        rows = "".join(f"{i},a,{t},x\n" for i, t in enumerate(times))
        report = ingest([write(f"{tz.replace('/', '_')}.csv", HEADER + rows)], open_case(),
                        IngestConfig(tz=tz))  # fmt: skip
        assert report.rejected == 0
        return report.ambiguous_times

    lord_howe = ["2024-04-07 01:45:00", "2024-04-07 01:15:00", "2024-04-07 02:15:00"]
    assert counted("Australia/Lord_Howe", lord_howe) == 1
    troll = ["2024-10-27 01:30:00", "2024-10-27 02:45:00", "2024-10-27 03:15:00",
             "2024-10-27 00:45:00"]  # fmt: skip
    assert counted("Antarctica/Troll", troll) == 2
    assert zone_fallbacks("Antarctica/Troll") == (dt.timedelta(hours=2),)
    assert zone_fallbacks("Asia/Tokyo") == ()


def test_spreadsheet_dates_day_or_month_first_told_from_the_file(write) -> None:  # type: ignore[no-untyped-def]
    def stamps(content: str, **config: object) -> list[dt.datetime]:
        case = open_case()
        ingest([write("p.csv", HEADER + content)], case, IngestConfig(**config))  # type: ignore[arg-type]
        return [r[2] for r in posts(case)]

    # US spreadsheets: month first, no seconds, 12-hour clock, two-digit years
    us = "1,a,10/1/2017 19:58,x\n2,a,10/13/2017 7:58 PM,x\n3,a,1/2/17 00:01,x\n4,a,3/4/2017,x\n"
    assert stamps(us) == [
        dt.datetime(2017, 10, 1, 19, 58, tzinfo=UTC),
        dt.datetime(2017, 10, 13, 19, 58, tzinfo=UTC),
        dt.datetime(2017, 1, 2, 0, 1, tzinfo=UTC),  # not the year 1, as a plain cast reads it
        dt.datetime(2017, 3, 4, tzinfo=UTC),
    ]
    # day first, as in most of the world, in the zone of --tz
    eu = "1,a,31/12/2024 10:00,x\n2,a,01/02/2024 10:00:30,x\n3,a,1.2.2024 10:00,x\n"
    assert stamps(eu, tz="Europe/Berlin") == [
        dt.datetime(2024, 12, 31, 9, tzinfo=UTC),
        dt.datetime(2024, 2, 1, 9, 0, 30, tzinfo=UTC),
        dt.datetime(2024, 2, 1, 9, tzinfo=UTC),
    ]
    ambiguous = "1,a,01/02/2024 10:00,x\n2,a,03/04/2024 10:00,x\n"
    assert stamps(ambiguous, date_order="mdy")[0] == dt.datetime(2024, 1, 2, 10, tzinfo=UTC)
    assert stamps(ambiguous, date_order="dmy")[0] == dt.datetime(2024, 2, 1, 10, tzinfo=UTC)
    path = write("a.csv", HEADER + ambiguous)
    with pytest.raises(BadInputError) as info:
        ingest([path], open_case())
    assert str(info.value) == (
        f"{path}, row 2, column 'timestamp', value '01/02/2024 10:00': cannot tell day-first "
        "from month-first dates: no day above 12, so every date such as '01/02/2024 10:00' "
        "reads both ways; pass --date-order dmy or mdy (a question about every date of the "
        "file, which --on-error skip cannot settle)"
    )
    with pytest.raises(BadInputError, match="row 2, column 'timestamp'"):
        ingest([path], open_case(), IngestConfig(on_error="skip"))
    mixed = write("m.csv", HEADER + "1,a,13/02/2024 10:00,x\n2,a,02/13/2024 10:00,x\n")
    with pytest.raises(
        BadInputError,
        match=r"row 3, column 'timestamp', value '02/13/2024 10:00': the dates "
        r"mix day-first \('13/02/2024 10:00'\) and month-first",
    ):
        ingest([mixed], open_case())
    case = open_case()
    report = ingest([mixed], case, IngestConfig(date_order="dmy", on_error="skip"))
    assert report.summary() == "read 2 = ingested 1 + rejected 1 + duplicates 0"
    assert case.con.execute("SELECT row, reason FROM rejects").fetchall() == [
        (
            3,
            "unparseable timestamp (expected ISO-8601, epoch seconds or milliseconds, or a "
            "day/month/year date)",
        )
    ]
    with pytest.raises(ConfigError, match="date_order must be auto, dmy or mdy"):
        IngestConfig(date_order="ymd")  # type: ignore[arg-type]


def test_same_file_twice_adds_nothing(write) -> None:  # type: ignore[no-untyped-def]
    path = write("p.csv", HEADER + "1,a,2024-01-01T10:00:00Z,hi\n2,b,2024-01-01T10:00:00Z,x\n")
    case = open_case()
    ingest([path], case)
    again = ingest([path], case)
    assert again.summary() == "read 2 = ingested 0 + rejected 0 + duplicates 2"
    assert case.count("posts") == 2


def test_same_rejection_twice_is_listed_once(write) -> None:  # type: ignore[no-untyped-def]
    body = "1,a,2024-01-01T10:00:00Z,hi\n2,b,notatime,x\n"
    path = write("p.csv", HEADER + body)
    case = open_case()
    skip = IngestConfig(on_error="skip")
    for _ in range(2):  # each run accounts for the row, the table keeps the one fact
        assert ingest([path], case, skip).rejected == 1
    assert case.count("rejects") == 1
    # the file grew a bad row: only the new rejection is added, in row order
    path.write_text(HEADER + body + "3,c,,y\n4,d,soon,z\n")
    assert ingest([path], case, skip).rejected == 3
    got = case.con.execute('SELECT "row", "value" FROM rejects ORDER BY rowid').fetchall()
    assert got == [(3, "notatime"), (4, None), (5, "soon")]


def test_entities_extracted_unicode(write) -> None:  # type: ignore[no-untyped-def]
    text = (
        "Freedom #Iran #ایران‌ما #Россия #مصر @Some_One mail a@b.com "
        "https://WWW.Example.com/a/?utm_source=x&id=1#frag, page#anchor #123"
    )
    path = write("p.csv", HEADER + f'1,a,2024-01-01T10:00:00Z,"{text}"\n')
    case = open_case()
    ingest([path], case)
    tags, mentions, urls, original = case.con.execute(
        "SELECT hashtags, mentions, urls, urls_original FROM posts"
    ).fetchone()
    assert tags == ["iran", "ایران\u200cما", "россия", "مصر"]
    assert mentions == ["some_one"]
    assert original == ["https://WWW.Example.com/a/?utm_source=x&id=1#frag"]
    assert urls == ["https://example.com/a?id=1"]


def test_full_width_signs_folded_arabic_tags_and_numbers(write) -> None:  # type: ignore[no-untyped-def]
    # The full-width number sign of Chinese keyboards opens a tag; the Arabic tatweel and
    # vowel marks are dropped (#الهـلال and #الهِلال are #الهلال); a tag of digits in any
    # script is a number.
    text = "大家好 ＃日常 #الهـلال #الهِلال #الهلال #رؤية_٢٠٣٠ #٢٠٣٠ #۱۴۰۳ #2030"
    path = write("p.csv", HEADER + f'1,a,2024-01-01T10:00:00Z,"{text}"\n')
    given = write(
        "g.csv",
        "post_id,account_id,timestamp,hashtags\n"
        '1,a,2024-01-01T10:00:00Z,"[""#الهـلال"", ""٢٠٣٠"", ""Riyadh""]"\n',
    )
    case = open_case()
    ingest([path], case)
    (tags,) = case.con.execute("SELECT hashtags FROM posts").fetchone()
    assert tags == ["日常", "الهلال", "الهلال", "الهلال", "رؤية_٢٠٣٠"]
    other = open_case()
    ingest([given], other)
    assert other.con.execute("SELECT hashtags FROM posts").fetchone() == (["الهلال", "riyadh"],)


def test_list_columns_json_or_space_separated(write) -> None:  # type: ignore[no-untyped-def]
    path = write(
        "p.csv",
        "post_id,account_id,timestamp,hashtags,mentions,media\n"
        '1,a,2024-01-01T10:00:00Z,"[""#Iran"", ""Tehran""]",@x @Y,h1 h2\n',
    )
    case = open_case()
    ingest([path], case)
    assert case.con.execute("SELECT hashtags, mentions, media FROM posts").fetchone() == (
        ["iran", "tehran"],
        ["x", "y"],
        ["h1", "h2"],
    )


@pytest.mark.parametrize("ext", ["csv", "jsonl"])
def test_hashtags_and_mentions_split_on_commas_too(write, ext: str) -> None:  # type: ignore[no-untyped-def]
    # Neither ever holds a comma (4CAT joins them with commas); a URL or media id may.
    record = {"post_id": "1", "account_id": "a", "timestamp": "2024-01-01T10:00:00Z",
              "hashtags": "vote,Kenya #x", "mentions": "ann, bob",
              "urls_original": "https://a.example/p?q=1,2", "media": "m,1"}  # fmt: skip
    if ext == "csv":
        text = ",".join(record) + "\n" + ",".join(f'"{v}"' for v in record.values()) + "\n"
    else:
        text = json.dumps(record) + "\n"
    case = open_case()
    ingest([write(f"p.{ext}", text)], case)
    got = case.con.execute("SELECT hashtags, mentions, urls_original, media FROM posts")
    assert got.fetchone() == (
        ["vote", "kenya", "x"], ["ann", "bob"], ["https://a.example/p?q=1,2"], ["m,1"]
    )  # fmt: skip


def test_column_map_and_jsonl(write) -> None:  # type: ignore[no-untyped-def]
    path = write(
        "p.jsonl",
        '{"id": "1", "user_id": 7, "created": 1704103200, "hashtags": ["A"]}\n'
        '\n{"id": "2", "user_id": 8, "created": "2024-01-01T10:00:00Z"}\n',
    )
    case = open_case()
    cfg = IngestConfig(
        column_map={"id": "post_id", "user_id": "account_id", "created": "timestamp"}
    )
    report = ingest([path], case, cfg)
    assert report.summary() == "read 2 = ingested 2 + rejected 0 + duplicates 0"
    assert posts(case)[0][:2] == ("1", "7")


def test_parquet_native_types(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table(
        {
            "post_id": pa.array([1, 2], pa.int64()),
            "account_id": ["a", "b"],
            "timestamp": pa.array(
                [dt.datetime(2024, 1, 1, 10), dt.datetime(2024, 1, 2, 10)],
                pa.timestamp("us", tz="UTC"),
            ),
            "hashtags": pa.array([["X"], []], pa.list_(pa.string())),
        }
    )
    pq.write_table(table, tmp_path / "p.parquet")
    case = open_case()
    report = ingest([tmp_path / "p.parquet"], case)
    assert report.ingested == 2
    assert case.con.execute("SELECT hashtags FROM posts ORDER BY post_id").fetchall() == [
        (["x"],),
        ([],),
    ]


@pytest.mark.parametrize("compress", [gzip.compress, zstandard.compress])
def test_compressed_inputs(write, compress) -> None:  # type: ignore[no-untyped-def]
    path = write("p.csv.x", compress((HEADER + "1,a,2024-01-01T10:00:00Z,hi\n").encode()))
    case = open_case()
    assert ingest([path], case).ingested == 1


def _zstd_long(data: bytes) -> bytes:
    """zstd with a 2 GiB window (``zstd --long=31``), as the Reddit dumps are compressed."""
    params = zstandard.ZstdCompressionParameters.from_level(3, window_log=31)
    writer = zstandard.ZstdCompressor(compression_params=params).compressobj()
    return writer.compress(data) + writer.flush()


def test_zstd_with_a_long_window(write) -> None:  # type: ignore[no-untyped-def]
    data = _zstd_long((HEADER + "1,a,2024-01-01T10:00:00Z,hi\n").encode())
    with pytest.raises(zstandard.ZstdError):  # beyond the library's default window limit
        zstandard.ZstdDecompressor().stream_reader(data).read()
    assert ingest([write("p.csv.zst", data)], open_case()).ingested == 1


def test_accounts_file_replaces_derived(write) -> None:  # type: ignore[no-untyped-def]
    p = write("p.csv", HEADER + "1,a,2024-01-01T10:00:00Z,hi\n")
    a = write(
        "accounts.csv",
        "account_id,kind,username,followers,created_at\na,page,@Anna,12,2020-05-01\n",
    )
    case = open_case()
    ingest([p], case)
    report = ingest([a], case)
    assert report.ingested == 1
    assert case.con.execute(
        "SELECT account_id, kind, username, followers FROM accounts"
    ).fetchall() == [("a", "page", "Anna", 12)]


# -- bad input: strict by default, pinned messages -------------------------------------------

BAD_CASES = [
    (
        "missing required column",
        "post_id,account_id,text\n1,a,hi\n",
        "{f}, column 'timestamp': missing required column for table 'posts' (columns found: "
        "account_id, post_id, text); map a column to it with --map SOURCE=timestamp",
    ),
    (
        "empty id",
        HEADER + "1,a,2024-01-01T10:00:00Z,ok\n2,,2024-01-01T10:00:00Z,hi\n",
        "{f}, row 3, column 'account_id': empty id",
    ),
    (
        "unparseable timestamp",
        HEADER + "1,a,yesterday,hi\n",
        "{f}, row 2, column 'timestamp', value 'yesterday': unparseable timestamp (expected "
        "ISO-8601, epoch seconds or milliseconds, or a day/month/year date)",
    ),
    (
        "future timestamp",
        HEADER + "1,a,2999-01-01T00:00:00Z,hi\n",
        "{f}, row 2, column 'timestamp', value '2999-01-01T00:00:00Z': timestamp in the future",
    ),
    (
        "ragged row",
        HEADER + "1,a,2024-01-01T10:00:00Z,hi\n2,b,2024-01-01T10:00:00Z\n",
        "{f}, row 3, value '2,b,2024-01-01T10:00:00Z': expected 4 fields, found 3",
    ),
    (
        "duplicate id, different content",
        HEADER + "1,a,2024-01-01T10:00:00Z,hi\n1,a,2024-01-01T10:00:00Z,changed\n",
        "{f}, row 3, column 'post_id', value '1': duplicate post_id with different content than "
        "row 2",
    ),
]


@pytest.mark.parametrize(("name", "content", "message"), BAD_CASES, ids=[c[0] for c in BAD_CASES])
def test_bad_input_strict(write, name: str, content: str, message: str) -> None:  # type: ignore[no-untyped-def]
    path = write("p.csv", content)
    case = open_case()
    with pytest.raises(BadInputError) as info:
        ingest([path], case)
    assert str(info.value) == message.format(f=path)
    assert case.count("posts") == 0 and case.count("sources") == 0  # the case is unchanged


def test_errors_name_the_files_column_not_the_canonical_one(write, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # With --map, the user's file says "created" and "tweet": the error must say so too, in
    # strict mode and in the rejects table, for CSV and Parquet alike.
    mapping = {"id": "post_id", "user": "account_id", "created": "timestamp", "tweet": "text"}
    path = write("p.csv", "id,user,created,tweet\n1,a,2024-01-01T10:00:00Z,hi\n2,b,soon,yo\n")
    with pytest.raises(BadInputError) as info:
        ingest([path], open_case(), IngestConfig(column_map=mapping))
    assert str(info.value).startswith(f"{path}, row 3, column 'created', value 'soon': ")
    case = open_case()
    ingest([path], case, IngestConfig(column_map=mapping, on_error="skip"))
    assert case.con.execute('SELECT "row", "column", "value" FROM rejects').fetchall() == [
        (3, "created", "soon")
    ]
    parquet = tmp_path / "p.parquet"
    pq.write_table(
        pa.table({"id": ["1", "1"], "user": ["a", "a"], "created": ["2024-01-01T10:00:00Z"] * 2,
                  "tweet": ["hi", "changed"]}),
        parquet,
    )  # fmt: skip
    with pytest.raises(BadInputError) as info:
        ingest([parquet], open_case(), IngestConfig(column_map=mapping))
    assert str(info.value).startswith(f"{parquet}, row 2, column 'id', value '1': duplicate")
    # without a map the canonical name is the file's
    plain = write("q.csv", HEADER + "1,a,soon,hi\n")
    with pytest.raises(BadInputError, match="column 'timestamp', value 'soon'"):
        ingest([plain], open_case())


def test_non_utf8_strict_and_skip(write) -> None:  # type: ignore[no-untyped-def]
    path = write(
        "p.csv",
        HEADER.encode() + b"1,a,2024-01-01T10:00:00Z,caf\xe9\n2,b,2024-01-01T10:00:00Z,fine\n",
    )
    with pytest.raises(
        BadInputError, match=r"row 2, column 'text', value 'caf\\\\xe9': not valid UTF-8"
    ):
        ingest([path], open_case())
    case = open_case()
    report = ingest([path], case, IngestConfig(on_error="skip"))
    assert report.summary() == "read 2 = ingested 1 + rejected 1 + duplicates 0"


def test_truncated_json_line(write) -> None:  # type: ignore[no-untyped-def]
    path = write(
        "p.jsonl",
        '{"post_id": "1", "account_id": "a", "timestamp": "2024-01-01T10:00:00Z"}\n'
        '{"post_id": "2", "account_id": "b", "timest\n',
    )
    with pytest.raises(BadInputError) as info:
        ingest([path], open_case())
    assert str(info.value).startswith(f"{path}, line 2, value ")
    assert str(info.value).endswith(": invalid JSON (Unterminated string starting at)")


def test_case_unchanged_when_later_file_fails(write) -> None:  # type: ignore[no-untyped-def]
    good = write("good.csv", HEADER + "1,a,2024-01-01T10:00:00Z,hi\n")
    bad = write("bad.csv", HEADER + "2,a,never,hi\n")
    case = open_case()
    with pytest.raises(BadInputError):
        ingest([good, bad], case)
    assert case.count("posts") == 0 and case.count("accounts") == 0


def test_skip_mode_accounts_for_every_row(write) -> None:  # type: ignore[no-untyped-def]
    content = HEADER + "".join(
        [
            "1,a,2024-01-01T10:00:00Z,ok\n",
            ",a,2024-01-01T10:00:00Z,empty id\n",
            "3,a,nope,bad time\n",
            "4,a,2024-01-01T10:00:00Z\n",  # ragged
            "1,a,2024-01-01T10:00:00Z,ok\n",  # duplicate, same content
            "1,a,2024-01-01T10:00:00Z,other\n",  # conflict
            "7,b,2999-01-01T00:00:00Z,future\n",
            "8,b,2024-01-01T11:00:00Z,ok\n",
        ]
    )
    path = write("p.csv", content)
    case = open_case()
    report = ingest([path], case, IngestConfig(on_error="skip"))
    assert report.summary() == "read 8 = ingested 2 + rejected 5 + duplicates 1"
    reasons = case.con.execute("SELECT row, reason FROM rejects ORDER BY row").fetchall()
    assert [r[0] for r in reasons] == [3, 4, 5, 7, 8]
    assert reasons[0][1] == "empty id"


def test_conflict_with_existing_case(write) -> None:  # type: ignore[no-untyped-def]
    first = write("a.csv", HEADER + "1,a,2024-01-01T10:00:00Z,hi\n")
    second = write("b.csv", HEADER + "1,a,2024-01-01T10:00:00Z,edited\n")
    case = open_case()
    ingest([first], case)
    with pytest.raises(
        BadInputError, match=r"post_id already in the case with different content \(from .*a.csv\)"
    ):
        ingest([second], case)


def test_bad_config() -> None:
    with pytest.raises(ConfigError, match="unknown time zone 'Mars/Olympus'"):
        IngestConfig(tz="Mars/Olympus")
    with pytest.raises(ConfigError, match="'nope' is not a canonical column"):
        IngestConfig(column_map={"x": "nope"})


def test_gzip_bomb_bounded(write) -> None:  # type: ignore[no-untyped-def]
    payload = HEADER.encode() + b"1,a,2024-01-01T10:00:00Z," + b"x" * (4 << 20) + b"\n"
    path = write("bomb.csv.gz", gzip.compress(payload))
    cfg = IngestConfig(max_decompressed_bytes=1 << 20)
    with pytest.raises(BadInputError, match="decompressed size exceeds the limit"):
        ingest([path], open_case(), cfg)


# -- Parquet read by DuckDB itself, and the load stage's two passes -----------------------------


def _parquet_posts(path: Path, n: int, **extra: object) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    base = dt.datetime(2024, 1, 1, tzinfo=UTC)
    columns: dict[str, object] = {
        "post_id": [f"p{i}" for i in range(n)],
        "account_id": [f"a{i % 7}" for i in range(n)],
        "timestamp": pa.array(
            [base + dt.timedelta(seconds=i) for i in range(n)], pa.timestamp("us", tz="UTC")
        ),
        "text": [f"post {i} #Tag{i % 3} https://www.e.com/{i}?utm_source=x" for i in range(n)],
    }
    columns.update(extra)
    pq.write_table(pa.table(columns), path, row_group_size=max(n // 3, 1))
    return path


def _stored(case) -> list[tuple]:  # type: ignore[no-untyped-def]
    return case.con.execute("SELECT * EXCLUDE (source) FROM posts ORDER BY post_id").fetchall()


def test_plain_parquet_is_read_by_duckdb_and_equals_the_arrow_path(tmp_path: Path) -> None:
    from cibscan.ingest.readers import ParquetFormat, ReadOptions, SqlSource
    from cibscan.ingest.source import sample_input

    path = _parquet_posts(tmp_path / "p.parquet", 50)
    items = list(ParquetFormat().read(path, sample_input(path), ReadOptions()))
    assert len(items) == 1 and isinstance(items[0], SqlSource)
    # The same rows through Arrow batches: a float column the direct path does not take.
    import pyarrow as pa
    import pyarrow.parquet as pq

    arrow = tmp_path / "q.parquet"
    pq.write_table(pq.read_table(path).append_column("engagement", pa.array([1.0] * 50)), arrow)
    items = list(ParquetFormat().read(arrow, sample_input(arrow), ReadOptions()))
    assert not any(isinstance(i, SqlSource) for i in items)
    direct, batched = open_case(), open_case()
    assert ingest([path], direct).summary() == "read 50 = ingested 50 + rejected 0 + duplicates 0"
    assert ingest([arrow], batched).ingested == 50
    assert [r[:-1] for r in _stored(direct)] == [r[:-1] for r in _stored(batched)]
    assert _stored(direct)[0][9:12] == (
        ["https://e.com/0"],
        ["https://www.e.com/0?utm_source=x"],
        ["tag0"],
    )


def test_parquet_rejects_keep_file_order_and_row_numbers(tmp_path: Path) -> None:
    # 2,500 bad rows: more than the plain-filter list holds, so the anti-join path runs.
    n = 6000
    bad = [f"a{i}" if i % 2 else None for i in range(n)]
    bad[1] = None
    path = _parquet_posts(tmp_path / "p.parquet", n, account_id=bad[:n])
    with pytest.raises(BadInputError) as err:
        ingest([path], open_case())
    assert str(err.value) == f"{path}, row 1, column 'account_id': empty id"
    case = open_case()
    report = ingest([path], case, IngestConfig(on_error="skip"))
    assert report.summary() == f"read {n} = ingested 2999 + rejected 3001 + duplicates 0"
    rows = case.con.execute("SELECT row FROM rejects ORDER BY row").fetchall()
    assert [r[0] for r in rows[:3]] == [1, 2, 3]
    # Inserted in file order (the anti-join puts rows back in order).
    order = [r[0] for r in case.con.execute("SELECT post_id FROM posts").fetchall()]
    assert order == [f"p{i}" for i in range(n) if bad[i] is not None]


def test_parquet_duplicates_and_conflicts(tmp_path: Path) -> None:
    path = _parquet_posts(tmp_path / "p.parquet", 10)
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    repeated = pa.concat_tables([table, table.slice(0, 2)])  # rows 11, 12 repeat rows 1, 2
    texts = repeated.column("text").to_pylist()
    texts[11] = "changed"
    pq.write_table(repeated.set_column(3, "text", pa.array(texts)), tmp_path / "d.parquet")
    case = open_case()
    report = ingest([tmp_path / "d.parquet"], case, IngestConfig(on_error="skip"))
    assert report.summary() == "read 12 = ingested 10 + rejected 1 + duplicates 1"
    why = case.con.execute("SELECT row, reason FROM rejects").fetchall()
    assert why == [(12, "duplicate post_id with different content than row 2")]
    again = ingest([path], case)
    assert again.summary() == "read 10 = ingested 0 + rejected 0 + duplicates 10"


def test_corrupt_parquet_names_the_file(tmp_path: Path) -> None:
    path = _parquet_posts(tmp_path / "p.parquet", 3000)
    data = bytearray(path.read_bytes())
    data[2000:2400] = bytes(400)  # inside the first row group's pages
    path.write_bytes(bytes(data))
    case = open_case()
    with pytest.raises(BadInputError) as err:
        ingest([path], case)
    assert str(err.value).startswith(f"{path}: cannot read as Parquet: ")
    assert "\n" not in str(err.value)
    assert case.count("posts") == 0


def test_staged_batches_with_different_columns_are_aligned_by_name() -> None:
    import pyarrow as pa

    from cibscan.ingest.load import TableLoader
    from cibscan.ingest.readers import RawBatch

    case = open_case()
    loader = TableLoader(
        case.con,
        "posts",
        file_label="f.jsonl",
        fmt="jsonl",
        row_label="line",
        tz="UTC",
        max_timestamp=dt.datetime(2100, 1, 1, tzinfo=UTC),
    )
    first = pa.record_batch(
        {"post_id": ["1"], "account_id": ["a"], "timestamp": ["2024-01-01T00:00:00Z"], "_row": [1]}
    )
    second = pa.record_batch(
        {"_row": [2], "text": ["#Late"], "timestamp": ["2024-01-02T00:00:00Z"], "post_id": ["2"],
         "account_id": ["b"]}
    )  # fmt: skip
    case.con.execute("BEGIN")
    loader.add(RawBatch("posts", first))
    loader.add(RawBatch("posts", second))
    counts = loader.finish(strict=True)
    case.con.execute("COMMIT")
    assert (counts.read, counts.ingested) == (2, 2)
    assert case.con.execute(
        "SELECT post_id, account_id, text, hashtags FROM posts ORDER BY post_id"
    ).fetchall() == [("1", "a", None, []), ("2", "b", "#Late", ["late"])]


def test_csv_staging_does_not_hold_arrow_memory_until_commit(write) -> None:  # type: ignore[no-untyped-def]
    # A registered view dropped inside the transaction kept its Arrow batch until COMMIT, so
    # memory grew with the input; the staging uses relations now.
    import pyarrow as pa

    from cibscan.ingest import readers

    rows = "".join(f"{i},a{i % 9},2024-01-01T00:00:00Z,{'x' * 200} {i}\n" for i in range(250_000))
    path = write("p.csv", HEADER + rows)
    case = open_case()
    peaks: list[int] = []
    original = readers._csv_pass

    def watching(*args, **kwargs):  # type: ignore[no-untyped-def]
        for item in original(*args, **kwargs):
            peaks.append(pa.total_allocated_bytes())
            yield item

    readers._csv_pass = watching  # type: ignore[assignment]
    try:
        ingest([path], case, IngestConfig())
    finally:
        readers._csv_pass = original  # type: ignore[assignment]
    assert case.count("posts") == 250_000
    # Batches of about 8 MB; holding all eight until the commit would pass 32 MB.
    assert max(peaks) < 32 << 20, [p >> 20 for p in peaks]


def test_jsonl_of_only_malformed_lines_is_rejected_line_by_line(tmp_path: Path) -> None:
    """Found by test_skip_mode_accounts_for_every_row: no line parses, so no keys are known."""
    path = tmp_path / "posts.jsonl"
    path.write_text('{"post_id": "broken\n')
    case = open_case()
    report = ingest([path], case, IngestConfig(on_error="skip", format="jsonl"))
    assert (report.read, report.ingested, report.rejected) == (1, 0, 1)
    assert case.count("rejects") == 1
    with pytest.raises(BadInputError, match=r"line 1.*invalid JSON"):
        ingest([path], open_case(), IngestConfig(format="jsonl"))


def test_a_quote_never_closed_is_an_error_not_rows_swallowed(write) -> None:  # type: ignore[no-untyped-def]
    # Arrow reads the rest of the file into the open field: row 3 would vanish into row 2.
    bad = write(
        "u.csv", HEADER + '5,e,2021-01-01T00:00:00Z,"unterminated\n6,f,2021-01-01T00:00:00Z,ok\n'
    )
    for mode in ("strict", "skip"):
        with pytest.raises(BadInputError) as info:
            ingest([bad], open_case(), IngestConfig(on_error=mode))
        assert str(info.value).startswith(
            f"{bad}, row 2, column 'text', value 'unterminated\\n6,f,2021-01-01T00:00:00Z,ok': "
            "a quoted field opened in this record is never closed"
        )
    # closed multi-line fields, the last one at the very end of the file without a newline
    good = write(
        "g.csv", HEADER + '1,a,2021-01-01T00:00:00Z,"two\nlines"\n2,b,2021-01-01T00:00:00Z,"a\nb"'
    )
    report = ingest([good], open_case())
    assert report.summary() == "read 2 = ingested 2 + rejected 0 + duplicates 0"


def test_one_config_file_serves_ingest_and_networks(tmp_path: Path) -> None:
    from cibscan.config import load_config
    from cibscan.networks import NetworkConfig

    path = tmp_path / "case.toml"
    path.write_text('[ingest]\ntz = "Asia/Tehran"\n[networks]\nwindow = 30\n', encoding="utf-8")
    assert load_config(path).ingest.tz == "Asia/Tehran"
    assert NetworkConfig.from_toml(path).window == 30
    path.write_text('[ingest]\ntz = "UTC"\n[netwroks]\nwindow = 30\n', encoding="utf-8")
    with pytest.raises(
        ConfigError, match=r"unknown section \[netwroks\]; known: \['ingest', 'networks'\]"
    ):
        load_config(path)


def test_semicolon_csv_and_a_utf16_file(write) -> None:  # type: ignore[no-untyped-def]
    rows = '1;a;2021-01-01T00:00:00Z;hallo, welt\n2;b;2021-01-01T00:00:10Z;"x;y"\n'
    semi = write("s.csv", HEADER.replace(",", ";") + rows)
    case = open_case()
    assert ingest([semi], case).summary() == "read 2 = ingested 2 + rejected 0 + duplicates 0"
    texts = case.con.execute("SELECT text FROM posts ORDER BY post_id").fetchall()
    assert texts == [("hallo, welt",), ("x;y",)]
    utf16 = write("u.csv", (HEADER + "1,a,2021-01-01T00:00:00Z,hi\n").encode("utf-16"))
    with pytest.raises(BadInputError, match=r"u\.csv: the file is UTF-16 .*iconv -f UTF-16"):
        ingest([utf16], open_case())


def test_side_information_of_a_row_the_format_rejects_is_dropped_for_every_reader() -> None:
    """The shared mechanism: nothing of a rejected row reaches the case store, whatever the
    format's callbacks do, and the batch's rejects come after it in row order."""

    def batch(table: str, rows: list[int], embedded: bool = False) -> RawBatch:
        ids = pa.array([f"a{r}" for r in rows], pa.string())
        data = pa.RecordBatch.from_arrays([ids, pa.array(rows, pa.int64())], ["account_id", "_row"])
        return RawBatch(table, data, embedded)

    def on_rows(item: RawBatch) -> list[ReadItem]:  # the format rejects row 3
        rows = item.data.column("_row").to_pylist()
        kept: list[ReadItem] = [RawBatch(item.table, item.data.filter([r != 3 for r in rows]))]
        return kept + [ParseReject("posts", 3, "c", "x", "bad")] * (3 in rows)

    items: list[ReadItem] = [
        batch("posts", [2, 3, 4]),
        batch("accounts", [2, 3, 4], embedded=True),
        ParseReject("posts", 5, None, "1,2,3", "expected 8 fields, found 3"),  # the CSV reader's
        batch("posts", [6, 7]),
        batch("accounts", [6, 7], embedded=True),
    ]
    for on_embedded in (None, lambda item: item):
        out = list(rejects_after_batches(items, on_rows, on_embedded))
        shape = [
            (o.row,) if isinstance(o, ParseReject) else (o.table, o.data.column("_row").to_pylist())
            for o in out
        ]
        assert shape == [
            ("posts", [2, 4]),
            ("accounts", [2, 4]),
            (3,),
            (5,),
            ("posts", [6, 7]),
            ("accounts", [6, 7]),  # row 3 of the first batch does not reach into the next
        ]
