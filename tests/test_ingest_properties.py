"""Property tests of ingest: what goes in comes back, in every generic format.

Decisions the tests pin:

- An empty table ingests as zero rows with a balanced report (``read 0 = ...``): an empty export
  is legitimate, and the stages that need rows raise :class:`~cibscan.EmptyInputError`. CSV, TSV
  and Parquet files carry their columns even when empty; an empty JSON-lines file is a zero-byte
  file, whose format cannot be detected ("the file is empty") but which reads as zero rows when
  the format is given.
- Text may hold any Unicode, except lone surrogates, which no UTF-8 file can hold; CSV and TSV
  cells additionally cannot hold NUL (the csv module refuses to write it, and spreadsheet tools
  truncate at it), so those are filtered from CSV/TSV text. An empty CSV cell is NULL, so text
  values are generated non-empty or NULL.
- List values are already normalised (lower-case hashtags without '#', ...), as a canonical
  file holds them; the normalised ``urls`` are compared with :func:`normalise_url`.
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import itertools
import json
import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import zstandard
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from cibscan import BadInputError, open_case
from cibscan.case import Case
from cibscan.config import IngestConfig
from cibscan.ingest import IngestReport, ingest
from cibscan.ingest.urls import normalise_url
from cibscan.schema import KEYS, TABLES

Row = dict[str, Any]
UTC = dt.UTC

# -- values --------------------------------------------------------------------------------------

# Letters of several scripts, digits, punctuation; no whitespace (ids are trimmed).
_ID_CHARS = st.characters(
    codec="utf-8", categories=["L", "N", "Pd", "Pc", "So"], exclude_characters="\x00"
)
ids = st.text(_ID_CHARS, min_size=1, max_size=12)
# Any text: RTL, zero-width joiners, emoji, quotes, commas, newlines; lone surrogates excluded
# (not encodable in UTF-8).
_ANY = st.characters(codec="utf-8")
_SPECIAL = st.sampled_from(
    [
        '"',
        "'",
        ",",
        "\t",
        "\n",
        "\r\n",
        "\u200c",
        "\u200d",
        "\u200b",
        "\u202e",
        "\ufeff",
        "ایران",
        "עברית",
        "😀",
        "👩‍👩‍👧",
        "#tag",
        "@who",
        "\\",
        "\x00",
        "",
        " ",
    ]
)
texts = (
    st.lists(st.one_of(st.text(_ANY, max_size=8), _SPECIAL), min_size=1, max_size=6)
    .map("".join)
    .filter(bool)
)
optional_text = st.one_of(st.none(), texts)
timestamps = st.datetimes(
    min_value=dt.datetime(1990, 1, 2), max_value=dt.datetime(2024, 12, 31), timezones=st.just(UTC)
)
counts = st.one_of(st.none(), st.integers(0, 2**53))
_TAG_CHARS = st.sampled_from(list("abcdefghijklmnopqrstuvwxyz0123456789_éжایرانשל"))
tags = st.text(_TAG_CHARS, min_size=1, max_size=10).filter(lambda t: not t.isdigit())
urls = st.builds(
    lambda host, path, q: f"https://{host}/{path}{q}",
    st.sampled_from(["example.com", "www.Example.org", "m.site.co.uk", "x.com"]),
    st.text(st.sampled_from(list("abcXYZ019-_/.~")), max_size=12),
    st.sampled_from(["", "?id=1", "?utm_source=a&b=2", "?s=20&t=x"]),
)

posts_row = st.fixed_dictionaries(
    {
        "post_id": ids,
        "account_id": ids,
        "timestamp": timestamps,
        "kind": st.sampled_from(["post", "share", "reply", "quote"]),
        "text": optional_text,
        "shared_post_id": st.one_of(st.none(), ids),
        "reply_to_account_id": st.one_of(st.none(), ids),
        "urls": st.lists(urls, max_size=3),
        "hashtags": st.lists(tags, max_size=3),
        "mentions": st.lists(tags, max_size=3),
        "media": st.lists(ids, max_size=2),
        "platform": st.one_of(st.none(), st.sampled_from(["twitter", "telegram"])),
        "lang": optional_text,
        "engagement": counts,
    }
)
accounts_row = st.fixed_dictionaries(
    {
        "account_id": ids,
        "kind": st.sampled_from(["user", "page", "group", "channel"]),
        "username": st.one_of(st.none(), tags),
        "display_name": optional_text,
        "created_at": st.one_of(st.none(), timestamps),
        "followers": counts,
        "description": optional_text,
        "location": optional_text,
        "platform": st.one_of(st.none(), st.sampled_from(["twitter", "facebook"])),
    }
)
infra_row = st.fixed_dictionaries(
    {
        "account_id": ids,
        "timestamp": st.one_of(st.none(), timestamps),
        "ip": st.one_of(st.none(), st.ip_addresses().map(str)),
        "asn": st.one_of(st.none(), st.sampled_from(["AS13335", "AS15169"])),
        "country": st.one_of(st.none(), st.sampled_from(["AL", "IR", "RU"])),
        "device_id": st.one_of(st.none(), ids),
        "user_agent": optional_text,
    }
)
memberships_row = st.fixed_dictionaries(
    {"account_id": ids, "asset_id": ids, "role": st.sampled_from(["admin", "editor", "owner"])}
)
labels_row = st.fixed_dictionaries(
    {
        "account_id": ids,
        "label": st.one_of(st.sampled_from(["troll", "state media", "bot"]), ids),
        "role": optional_text,
    }
)
ROW_STRATEGIES: dict[str, st.SearchStrategy[Row]] = {
    "posts": posts_row,
    "accounts": accounts_row,
    "infra": infra_row,
    "memberships": memberships_row,
    "labels": labels_row,
}


def unique_rows(table: str, max_size: int = 12) -> st.SearchStrategy[list[Row]]:
    """Rows with distinct keys (the key decides duplicates; see the duplicate tests)."""
    key = KEYS[table]
    return st.lists(
        ROW_STRATEGIES[table],
        max_size=max_size,
        unique_by=lambda r: tuple(r.get(k) for k in key),
    )


# -- writing files ---------------------------------------------------------------------------

VARIANTS = [(fmt, comp) for fmt in ("csv", "tsv", "jsonl") for comp in (None, "gzip", "zstd")] + [
    ("parquet", None)
]  # compressed Parquet is refused by design: it compresses internally


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return str(value)


def _json(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.datetime) else value


def _arrow_type(table: str, column: str) -> pa.DataType:
    typ = TABLES[table][column]
    if typ.endswith("[]"):
        return pa.list_(pa.string())
    if typ == "TIMESTAMPTZ":
        return pa.timestamp("us", tz="UTC")
    if typ == "BIGINT":
        return pa.int64()
    return pa.string()


def write_table(
    directory: Path, table: str, rows: Sequence[Row], fmt: str, comp: str | None
) -> Path:
    """Write rows (all with the same keys) in a generic format; the file name names the table."""
    columns = list(ROW_STRATEGIES_COLUMNS[table])
    if fmt in ("csv", "tsv"):
        lines: list[str] = []

        class _Sink:
            def write(self, text: str) -> int:
                lines.append(text)
                return len(text)

        # The csv module quotes a field holding a character of the line terminator only: with
        # "\n" alone, a bare "\r" in a text would be written unquoted, which no reader can
        # tell from a line break.
        writer = csv.writer(_Sink(), delimiter="," if fmt == "csv" else "\t", lineterminator="\r\n")
        writer.writerow(columns)
        writer.writerows([_cell(r[c]) for c in columns] for r in rows)
        data = "".join(lines).encode()
    elif fmt == "jsonl":
        data = "".join(
            json.dumps({c: _json(r[c]) for c in columns}, ensure_ascii=False) + "\n" for r in rows
        ).encode()
    else:
        path = directory / f"{table}.parquet"
        arrays = [pa.array([r[c] for r in rows], _arrow_type(table, c)) for c in columns]
        pq.write_table(pa.table(arrays, names=columns), path)
        return path
    if comp == "gzip":
        data = gzip.compress(data)
    elif comp == "zstd":
        data = zstandard.compress(data)
    path = directory / f"{table}.{fmt}{'.gz' if comp == 'gzip' else '.zst' if comp else ''}"
    path.write_bytes(data)
    return path


ROW_STRATEGIES_COLUMNS: dict[str, tuple[str, ...]] = {
    "posts": (
        "post_id",
        "account_id",
        "timestamp",
        "kind",
        "text",
        "shared_post_id",
        "reply_to_account_id",
        "urls",
        "hashtags",
        "mentions",
        "media",
        "platform",
        "lang",
        "engagement",
    ),
    "accounts": (
        "account_id",
        "kind",
        "username",
        "display_name",
        "created_at",
        "followers",
        "description",
        "location",
        "platform",
    ),
    "infra": ("account_id", "timestamp", "ip", "asn", "country", "device_id", "user_agent"),
    "memberships": ("account_id", "asset_id", "role"),
    "labels": ("account_id", "label", "role"),
}


def csv_safe(rows: list[Row]) -> list[Row]:
    """Drop NUL from text (see the module docstring)."""
    return [
        {k: v.replace("\x00", "") if isinstance(v, str) else v for k, v in r.items()} for r in rows
    ]


def prepare(rows: list[Row], fmt: str) -> list[Row]:
    rows = csv_safe(rows) if fmt in ("csv", "tsv") else rows
    # Removing NUL can empty a text, and an empty CSV cell is NULL.
    return [{k: (None if v == "" else v) for k, v in r.items()} for r in rows]


# -- reading back ----------------------------------------------------------------------------


def expected(table: str, row: Row) -> tuple[Any, ...]:
    """The stored form of an input row, in the order of :func:`stored`."""
    out = dict(row)
    if table == "posts":
        out["urls_original"] = row["urls"]
        out["urls"] = [normalise_url(u) for u in row["urls"]]
    return tuple(_comparable(out.get(c)) for c in _stored_columns(table))


def _stored_columns(table: str) -> list[str]:
    columns = list(ROW_STRATEGIES_COLUMNS[table])
    return [*columns, "urls_original"] if table == "posts" else columns


def _comparable(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.astimezone(UTC)
    if isinstance(value, list):
        return tuple(value)
    return value


def stored(case: Case, table: str) -> list[tuple[Any, ...]]:
    columns = ", ".join(f'"{c}"' for c in _stored_columns(table))
    rows = case.con.execute(f'SELECT {columns} FROM "{table}"').fetchall()
    return sorted((tuple(_comparable(v) for v in r) for r in rows), key=repr)


def run(paths: Sequence[Path], case: Case, **config: Any) -> IngestReport:
    return ingest(paths, case, IngestConfig(**config))


# -- properties ------------------------------------------------------------------------------

_SETTINGS = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


_DIRECTORIES = itertools.count()


def _round_trip(tmp: Path, table: str, rows: list[Row], variant: tuple[str, str | None]) -> None:
    fmt, comp = variant
    rows = prepare(rows, fmt)
    directory = tmp / f"{table}-{fmt}-{comp}-{next(_DIRECTORIES)}"
    directory.mkdir()
    path = write_table(directory, table, rows, fmt, comp)
    case = open_case()
    options = {"format": "jsonl"} if not rows and fmt == "jsonl" else {}
    report = run([path], case, **options)
    assert (report.read, report.ingested, report.rejected, report.duplicates) == (
        len(rows),
        len(rows),
        0,
        0,
    )
    assert stored(case, table) == sorted((expected(table, r) for r in rows), key=repr)


@pytest.mark.parametrize("table", list(ROW_STRATEGIES))
@given(data=st.data(), variant=st.sampled_from(VARIANTS))
@_SETTINGS
def test_round_trip(tmp_path: Path, table: str, data: st.DataObject, variant: Any) -> None:
    _round_trip(tmp_path, table, data.draw(unique_rows(table)), variant)


@pytest.mark.parametrize("variant", VARIANTS, ids=[f"{f}-{c}" for f, c in VARIANTS])
@pytest.mark.parametrize("table", list(ROW_STRATEGIES))
def test_empty_table_is_zero_rows(tmp_path: Path, table: str, variant: Any) -> None:
    _round_trip(tmp_path, table, [], variant)


def test_zero_byte_file_needs_its_format(tmp_path: Path) -> None:
    path = tmp_path / "posts.jsonl"
    path.write_bytes(b"")
    with pytest.raises(BadInputError, match="the file is empty"):
        run([path], open_case())


@given(rows=unique_rows("posts"), variant=st.sampled_from(VARIANTS))
@example(rows=[], variant=("csv", None))
@_SETTINGS
def test_ingesting_twice_adds_only_duplicates(
    tmp_path_factory: pytest.TempPathFactory, rows: list[Row], variant: Any
) -> None:
    fmt, comp = variant
    rows = prepare(rows, fmt)
    path = write_table(tmp_path_factory.mktemp("twice"), "posts", rows, fmt, comp)
    case = open_case()
    options = {"format": "jsonl"} if not rows and fmt == "jsonl" else {}
    run([path], case, **options)
    before = stored(case, "posts")
    again = run([path], case, **options)
    assert (again.read, again.ingested, again.rejected, again.duplicates) == (
        len(rows),
        0,
        0,
        len(rows),
    )
    assert stored(case, "posts") == before


@given(rows=unique_rows("posts"), seed=st.integers(0, 2**32), variant=st.sampled_from(VARIANTS))
@_SETTINGS
def test_row_order_does_not_matter(
    tmp_path_factory: pytest.TempPathFactory, rows: list[Row], seed: int, variant: Any
) -> None:
    fmt, comp = variant
    rows = prepare(rows, fmt)
    # Exact duplicates may sit anywhere: whichever copy comes first, the content is the same.
    rows = rows + rows[: len(rows) // 3]
    shuffled = list(rows)
    random.Random(seed).shuffle(shuffled)
    contents = []
    for order in (rows, shuffled):
        path = write_table(tmp_path_factory.mktemp("order"), "posts", order, fmt, comp)
        case = open_case()
        run([path], case, format="jsonl" if fmt == "jsonl" else None)
        contents.append((stored(case, "posts"), stored(case, "accounts")))
    assert contents[0] == contents[1]


# Kinds of rows in a mixed file, and where skip mode must count them.
_GOOD, _DUPLICATE, _CONFLICT, _BAD_ID, _BAD_TIME, _FUTURE, _BAD_COUNT, _RAGGED = range(8)


@given(
    base=unique_rows("posts", max_size=8),
    kinds=st.lists(st.integers(_GOOD, _RAGGED), max_size=25),
    fmt=st.sampled_from(["csv", "tsv", "jsonl"]),
)
@example(base=[], kinds=[], fmt="csv")
@_SETTINGS
def test_skip_mode_accounts_for_every_row(
    tmp_path_factory: pytest.TempPathFactory, base: list[Row], kinds: list[int], fmt: str
) -> None:
    """read = ingested + rejected + duplicates, with each kind of bad row where it belongs."""
    base = prepare(base, fmt)
    columns = ROW_STRATEGIES_COLUMNS["posts"]
    good: list[Row] = []
    lines: list[str] = []  # rendered records, so that a ragged or broken one can be mixed in
    want = {"ingested": 0, "rejected": 0, "duplicates": 0}
    delimiter = "\t" if fmt == "tsv" else ","

    def render(row: Row) -> str:
        if fmt == "jsonl":
            return json.dumps({c: _json(row[c]) for c in columns}, ensure_ascii=False)
        out: list[str] = []

        class _Sink:
            def write(self, text: str) -> int:
                out.append(text)
                return len(text)

        csv.writer(_Sink(), delimiter=delimiter, lineterminator="\r\n").writerow(
            [_cell(row[c]) for c in columns]
        )
        return "".join(out).removesuffix("\r\n")

    fresh = iter(range(10**6))
    for i, kind in enumerate(kinds):
        template = dict(base[i % len(base)]) if base else None
        if template is None or (kind in (_DUPLICATE, _CONFLICT) and not good):
            kind = _BAD_ID  # nothing to repeat yet
            template = {c: None for c in columns} | {
                "urls": [],
                "hashtags": [],
                "mentions": [],
                "media": [],
            }
        row = dict(template)
        if kind == _GOOD:
            row["post_id"] = f"good-{next(fresh)}"
            good.append(row)
            want["ingested"] += 1
        elif kind == _DUPLICATE:
            row = good[i % len(good)]
            want["duplicates"] += 1
        elif kind == _CONFLICT:
            row = dict(good[i % len(good)]) | {"text": f"changed {i}"}
            want["rejected"] += 1
        else:
            row |= {
                "post_id": f"bad-{next(fresh)}",
                "account_id": "a",
                "timestamp": dt.datetime(2024, 1, 1, tzinfo=UTC),
            }
            want["rejected"] += 1
            if kind == _BAD_ID:
                row["account_id"] = None
            elif kind == _BAD_TIME:
                row["timestamp"] = "yesterday"
            elif kind == _FUTURE:
                row["timestamp"] = "2999-01-01T00:00:00Z"
            elif kind == _BAD_COUNT:
                row["engagement"] = "many"
            elif kind == _RAGGED:
                lines.append('{"post_id": "broken' if fmt == "jsonl" else f"bad{delimiter}ragged")
                continue
        lines.append(render(row))
    directory = tmp_path_factory.mktemp("mixed")
    header = "" if fmt == "jsonl" else delimiter.join(columns) + "\n"
    path = directory / f"posts.{fmt}"
    path.write_text(header + "".join(line + "\n" for line in lines), encoding="utf-8")
    case = open_case()
    options: dict[str, Any] = {"on_error": "skip"}
    if fmt == "jsonl":
        options["format"] = "jsonl"
    report = run([path], case, **options)
    assert report.read == len(kinds)
    assert report.read == report.ingested + report.rejected + report.duplicates
    got = {
        "ingested": report.ingested,
        "rejected": report.rejected,
        "duplicates": report.duplicates,
    }
    assert got == want
    assert case.count("rejects") == want["rejected"]
    assert case.count("posts") == want["ingested"]


def test_jsonl_unicode_line_separators_in_strings(tmp_path: Path) -> None:
    """Found by test_ingesting_twice: U+2028/U+0085 inside a string once hid a line's keys."""
    path = tmp_path / "posts.jsonl"
    record = {"post_id": "1", "account_id": "a", "timestamp": "2024-01-01T00:00:00Z"}
    path.write_text(json.dumps(record | {"text": "a\u2028b\x85c"}, ensure_ascii=False) + "\n")
    case = open_case()
    assert run([path], case).ingested == 1
    assert case.con.execute("SELECT text FROM posts").fetchall() == [("a\u2028b\x85c",)]
