"""CrowdTangle's CSV exports of Facebook Pages, Facebook Groups and Instagram accounts.

The historical-data exports of CrowdTangle's dashboard (and the CSVs researchers kept after it
closed in 2024): one row per post, with the posting Page, Group or account repeated on every row
(``Page Name``, ``Followers at Posting``, ...). The posts become posts, the Pages, Groups and
accounts embedded account rows of kind ``page``, ``group`` or ``user``.

Times are written in the dashboard's time zone with its abbreviation (``2021-03-01 12:34:56
EST``). The abbreviation is resolved first in ``--tz`` (an abbreviation of that zone, with the
offset it has there), else in the whole time-zone database when it names one offset everywhere
(``EDT``, ``CEST``, ``+03``); an abbreviation that is ambiguous (``IST``, ``CST``) or unknown
rejects the row and asks for ``--tz``. docs/formats.md has the field mapping.
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
import re
import zoneinfo
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import pyarrow as pa
import pyarrow.compute as pc

from cibscan.ingest.io_archive import sum_counts
from cibscan.ingest.load import ATTACHED_URL
from cibscan.ingest.readers import (
    CsvFormat,
    RawBatch,
    ReadItem,
    ReadOptions,
    batch_then_rejects,
    read_csv_records,
    rejects_after_batches,
    require_columns,
)
from cibscan.ingest.source import Sample

__all__ = ["CrowdtangleFormat", "zone_offsets"]

#: The export's time column: ``Post Created`` since 2021, ``Created`` before.
TIME_COLUMNS: Final = ("Post Created", "Created")
#: Facebook exports (Pages or Groups) carry the numeric id; Instagram exports the display name.
FACEBOOK_MARK: Final = "Facebook Id"
INSTAGRAM_MARK: Final = "Account"
#: Every export has these besides a time column and one of the marks above.
REQUIRED: Final = ("User Name", "URL")

FACEBOOK_POSTS: Final = {
    "URL": "post_id",
    "Facebook Id": "account_id",
    "Message": "text",
    "Link": "_link",
    "Final Link": "_final_link",
    "Total Interactions": "_Total Interactions",
}
INSTAGRAM_POSTS: Final = {
    "URL": "post_id",
    "User Name": "account_id",
    "Description": "text",
    "Title": "_title",
    "Total Interactions": "_Total Interactions",
    "Likes": "_Likes",
    "Comments": "_Comments",
}
FACEBOOK_ACCOUNTS: Final = {
    "Facebook Id": "account_id",
    "User Name": "username",
    "Page Name": "display_name",
    "Group Name": "display_name",
    "Followers at Posting": "followers",
    "Likes at Posting": "_likes",
    "Page Description": "description",
    "Page Created": "created_at",
    "Page Admin Top Country": "location",
}
INSTAGRAM_ACCOUNTS: Final = {
    "User Name": "account_id",
    "Account": "display_name",
    "Followers at Posting": "followers",
}

#: A time as the dashboard writes it: the wall-clock time, white space, a zone abbreviation
#: (letters, or tzdata's numeric ``+03`` / ``-0530`` form).
_ZONED: Final = (
    r"^\s*(?P<wall>[0-9]{4}-[0-9]{2}-[0-9]{2}[ T][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]+)?)?)"
    r"\s+(?P<abbr>[A-Za-z]{2,6}|[+-][0-9]{2}(?::?[0-9]{2})?)\s*$"
)
_NUMERIC: Final = re.compile(r"([+-])([0-9]{2}):?([0-9]{2})?")
#: URLs in a message, as the load stage finds them in a text (its ``URL_RE`` in RE2 syntax,
#: where ``\s`` is ASCII white space) and without their trailing punctuation.
#: The years whose abbreviations are searched in the time-zone database.
_YEARS: Final = range(2000, 2036)


def _offset_text(seconds: int) -> str:
    sign = "-" if seconds < 0 else "+"
    hours, rest = divmod(abs(seconds), 3600)
    return f"{sign}{hours:02d}:{rest // 60:02d}"


def _samples(days: tuple[int, ...]) -> Iterator[dt.datetime]:
    for year in _YEARS:
        for month in range(1, 13):
            for day in days:
                yield dt.datetime(year, month, day, 12, tzinfo=dt.UTC)


def _offsets(zone: str, days: tuple[int, ...] = (1, 16)) -> Mapping[str, frozenset[int]]:
    tz = zoneinfo.ZoneInfo(zone)
    found: dict[str, set[int]] = {}
    for instant in _samples(days):
        local = instant.astimezone(tz)
        name, offset = local.tzname(), local.utcoffset()
        if name and offset is not None:
            found.setdefault(name.upper(), set()).add(int(offset.total_seconds()))
    return {name: frozenset(seconds) for name, seconds in found.items()}


@functools.lru_cache(maxsize=64)
def zone_offsets(zone: str) -> Mapping[str, frozenset[int]]:
    """Return each abbreviation a time zone uses (2000-2035) with its UTC offsets in seconds.

    Examples
    --------
    >>> offsets = zone_offsets("America/New_York")
    >>> sorted(offsets["EST"]), sorted(offsets["EDT"])
    ([-18000], [-14400])
    """
    return _offsets(zone)


@functools.lru_cache(maxsize=1)
def _database_offsets() -> Mapping[str, frozenset[int]]:
    """Every abbreviation of the time-zone database with all its offsets (2000-2035)."""
    found: dict[str, set[int]] = {}
    for zone in sorted(zoneinfo.available_timezones()):
        try:
            offsets = _offsets(zone, (15,))  # monthly: every zone of the database
        except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
            continue
        for name, seconds in offsets.items():
            found.setdefault(name, set()).update(seconds)
    return {name: frozenset(seconds) for name, seconds in found.items()}


@dataclass(frozen=True)
class _Unresolved:
    """An abbreviation that :func:`_resolve` cannot turn into an offset, and why."""

    reason: str


class _PerRow(enum.Enum):
    """An abbreviation that stood for more than one offset in ``tz`` over the years: each row
    is resolved in ``tz`` itself."""

    PER_ROW = "per row"


def _resolve(abbr: str, tz: str) -> str | _PerRow | _Unresolved:
    """The offset text of an abbreviation, :attr:`_PerRow.PER_ROW`, or why it cannot be told."""
    numeric = _NUMERIC.fullmatch(abbr)
    if numeric:
        sign, hours, minutes = numeric.groups()
        return f"{sign}{hours}:{minutes or '00'}"
    upper = abbr.upper()
    local = zone_offsets(tz).get(upper)
    if local is not None:
        return _offset_text(next(iter(local))) if len(local) == 1 else _PerRow.PER_ROW
    everywhere = _database_offsets().get(upper)
    if everywhere is not None and len(everywhere) == 1:
        return _offset_text(next(iter(everywhere)))
    if everywhere:
        offsets = ", ".join(_offset_text(s) for s in sorted(everywhere))
        return _Unresolved(
            f"the time-zone abbreviation {abbr!r} stands for several offsets ({offsets}); pass "
            "--tz with the dashboard's time zone (an IANA name such as 'Asia/Kolkata')"
        )
    return _Unresolved(
        f"unknown time-zone abbreviation {abbr!r}; pass --tz with the dashboard's time zone "
        "(an IANA name such as 'America/Chicago')"
    )


def _in_zone(wall: str, abbr: str, tz: str) -> str | None:
    """The wall-clock time in ``tz`` with the offset that ``abbr`` had there, if any."""
    try:
        naive = dt.datetime.fromisoformat(wall.replace(" ", "T"))
    except ValueError:
        return None
    zone = zoneinfo.ZoneInfo(tz)
    for fold in (0, 1):
        local = naive.replace(tzinfo=zone, fold=fold)
        offset = local.utcoffset()
        if (local.tzname() or "").upper() == abbr.upper() and offset is not None:
            return f"{wall}{_offset_text(int(offset.total_seconds()))}"
    return None


def zoned_times(values: pa.Array, tz: str) -> tuple[pa.Array, dict[int, str]]:
    """Rewrite ``2021-03-01 12:34:56 EST`` as ``2021-03-01 12:34:56-05:00``.

    Values without an abbreviation pass unchanged (the load stage reads them, in ``--tz`` when
    they have no offset). Returns the times and, by index, the reason of each value whose
    abbreviation cannot be resolved (its time is then missing).

    Examples
    --------
    >>> times, bad = zoned_times(pa.array(["2021-03-01 12:34:56 EST", "2021-07-01 09:00 EDT",
    ...                                    "2021-07-01 09:00:00", None]), "UTC")
    >>> times.to_pylist(), bad
    (['2021-03-01 12:34:56-05:00', '2021-07-01 09:00-04:00', '2021-07-01 09:00:00', None], {})
    """
    parts = pc.extract_regex(values, _ZONED)
    matched = pc.fill_null(pc.is_valid(parts), False)
    if not pc.any(matched).as_py():
        return values, {}
    wall = pc.struct_field(parts, "wall")
    abbr = pc.struct_field(parts, "abbr")
    bad: dict[int, str] = {}
    offsets: dict[str, str | None] = {}
    row_wise: set[str] = set()
    for name in pc.unique(pc.drop_null(abbr)).to_pylist():
        resolved = _resolve(name, tz)
        offsets[name] = resolved if isinstance(resolved, str) else None
        if resolved is _PerRow.PER_ROW:
            row_wise.add(name)
        elif isinstance(resolved, _Unresolved):
            for index in pc.indices_nonzero(pc.equal(abbr, name)).to_pylist():
                bad[int(index)] = resolved.reason
    keys = pa.array(list(offsets), pa.string())
    mapped = pc.take(pa.array(list(offsets.values()), pa.string()), pc.index_in(abbr, keys))
    out = pc.if_else(matched, pc.binary_join_element_wise(wall, mapped, ""), values)
    if row_wise:
        cells = out.to_pylist()
        walls, abbrs = wall.to_pylist(), abbr.to_pylist()
        for index, name in enumerate(abbrs):
            if name in row_wise:
                cells[index] = _in_zone(walls[index], name, tz)
                if cells[index] is None:
                    bad[index] = (
                        f"{walls[index]} is not a time of {tz} with the abbreviation {name!r}"
                    )
        out = pa.array(cells, pa.string())
    return out, bad


def _without_commas(column: pa.Array) -> pa.Array:
    """Counts as the dashboard writes them (``1,234``) without the thousands separators."""
    return pc.replace_substring(column, ",", "")


class CrowdtangleFormat:
    """CrowdTangle's CSV export of Facebook Pages or Groups, or of Instagram accounts."""

    name = "crowdtangle"
    description = "CrowdTangle CSV export (Facebook Pages or Groups, Instagram accounts)"
    row_label = "row"

    @staticmethod
    def _time_column(names: list[str]) -> str | None:
        return next((c for c in TIME_COLUMNS if c in names), None)

    def sniff(self, sample: Sample) -> bool:
        names = CsvFormat.sniffed_header(sample)
        if names is None or (FACEBOOK_MARK not in names and INSTAGRAM_MARK not in names):
            return False
        return set(REQUIRED) <= set(names) and self._time_column(names) is not None

    def read(self, path: Path, sample: Sample, options: ReadOptions) -> Iterator[ReadItem]:
        delimiter = CsvFormat.delimiter(sample)
        names = CsvFormat.header(sample, delimiter, path)
        time_column = self._time_column(names)
        facebook = FACEBOOK_MARK in names
        mark = FACEBOOK_MARK if facebook or INSTAGRAM_MARK not in names else INSTAGRAM_MARK
        time_column = time_column or TIME_COLUMNS[0]
        require_columns(names, [*REQUIRED, time_column, mark], path, "a CrowdTangle export")
        posts_map = dict(FACEBOOK_POSTS if facebook else INSTAGRAM_POSTS)
        accounts_map = dict(FACEBOOK_ACCOUNTS if facebook else INSTAGRAM_ACCOUNTS)
        posts_map[time_column] = "_time"
        if "Group Name" in names:
            del accounts_map["Page Name"]
        platform = options.platform or ("facebook" if facebook else "instagram")
        kind = "user" if not facebook else ("group" if "Group Name" in names else "page")
        items = read_csv_records(
            path,
            names,
            "posts",
            options,
            rename=posts_map,
            delimiter=delimiter,
            header=True,
            embedded=[("accounts", accounts_map)],
            defaults={"platform": platform},
        )
        yield from rejects_after_batches(
            items,
            lambda item: _posts_batch(item, time_column, facebook, options.tz),
            lambda item: _accounts_batch(item, kind, facebook, options.tz),
        )


def _posts_batch(item: RawBatch, time_column: str, facebook: bool, tz: str) -> Iterator[ReadItem]:
    """Times with offsets, the link and the message's URLs, engagement; reject what is bad."""
    batch = item.data
    names = batch.schema.names
    n = batch.num_rows
    null = pa.nulls(n, pa.string())

    def column(name: str) -> pa.Array:
        return batch.column(name) if name in names else null

    rejects: dict[int, tuple[str, str, str]] = {}
    times, bad_times = zoned_times(column("_time"), tz)
    for index, reason in bad_times.items():
        rejects[index] = (time_column, column("_time")[index].as_py(), reason)
    arrays: dict[str, pa.Array] = {
        c: batch.column(c) for c in names if not c.startswith("_") or c == "_row"
    }
    arrays["timestamp"] = times
    if facebook:
        link = pc.coalesce(column("_final_link"), column("_link"))
        arrays[ATTACHED_URL] = link  # the load stage adds the message's URLs after it
    elif "text" in names or "_title" in names:  # the caption, else the title
        arrays["text"] = pc.coalesce(column("text"), column("_title"))
    # The dashboard's total when the export has it, else (Instagram) likes and comments.
    total = "_Total Interactions"
    count_columns = (
        [total] if total in names else [c for c in ("_Likes", "_Comments") if c in names]
    )
    if count_columns:
        summed = pa.RecordBatch.from_arrays(
            [_without_commas(column(c)) for c in count_columns], names=count_columns
        )
        engagement, bad_counts = sum_counts(summed, count_columns)
        if engagement is not None:
            arrays["engagement"] = engagement
        for index, (name, _stripped) in bad_counts.items():
            original = column("_" + name)[index].as_py()  # as written, separators and all
            rejects.setdefault(index, (name, original, "not an integer count"))
    yield from batch_then_rejects(item.table, arrays, rejects)


def _accounts_batch(item: RawBatch, kind: str, facebook: bool, tz: str) -> RawBatch:
    """The posting Page, Group or account: its kind, its creation time, its reach."""
    batch = item.data
    names = batch.schema.names
    arrays: dict[str, pa.Array] = {c: batch.column(c) for c in names if not c.startswith("_")}
    arrays["_row"] = batch.column("_row")
    arrays["kind"] = pa.array([kind] * batch.num_rows, pa.string())
    if not facebook:
        arrays["username"] = batch.column("account_id")
    if "followers" in names:
        followers = _without_commas(batch.column("followers"))
        if "_likes" in names:  # a Group's members, a Page's likes when no follower count
            followers = pc.coalesce(followers, _without_commas(batch.column("_likes")))
        arrays["followers"] = followers
    if "created_at" in names:
        created, bad = zoned_times(batch.column("created_at"), tz)
        if bad:  # side information: a creation time that cannot be told is left out
            created = pc.if_else(
                pa.array([i in bad for i in range(batch.num_rows)]),
                pa.scalar(None, pa.string()),
                created,
            )
        arrays["created_at"] = created
    out = pa.RecordBatch.from_arrays(list(arrays.values()), names=list(arrays))
    return RawBatch(item.table, out, embedded=True)
