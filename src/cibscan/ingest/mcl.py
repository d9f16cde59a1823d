"""Meta Content Library CSV files of Facebook and Instagram posts.

The successor of CrowdTangle: the Content Library's downloads (and API results flattened with
``pandas.json_normalize`` or ``jsonlite``) have one row per post and the API's field names as
columns, nested fields with dots (``post_owner.id``, ``statistics.reaction_count``,
``link_attachment.link``); a download also has ``mcl_url``, the post's page in the Content
Library. The data dictionary spells some nested fields otherwise (``post_owner.data.id``,
``link_attachment_fields.link``): both spellings are read.

An account is the post's owner (``post_owner.id``: the Page or profile that posted, an Instagram
account); a Facebook post's surface (the Group, Page or event it was posted to) is side
information on that asset. A reshare (``shared_post_id``) is a share. Ids are the Content
Library's own (15 to 19 digits, not Facebook's), kept as text; an id a spreadsheet turned into
a rounded number (``7.12346E+15``) rejects its row. docs/formats.md has the field mapping.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Iterator
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

__all__ = ["MclFormat"]

#: The owner's fields as downloads write them, and as the data dictionary does.
_OWNER: Final = ("post_owner.", "post_owner.data.")
_LINK: Final = ("link_attachment.", "link_attachment_fields.")
#: Columns that only Facebook posts have (Instagram posts have no surface, link or reshare).
_FACEBOOK_MARKS: Final = ("statistics.reaction_count", "shared_post_id")
_FACEBOOK_PREFIXES: Final = ("surface.", *_LINK)
#: Acts on a post: Facebook's reactions (likes among them), comments and shares; Instagram's
#: likes and comments. Views are not acts, as for impressions.
_COUNTS: Final = ("reaction_count", "like_count", "comment_count", "share_count")
#: ``post_owner.type`` / ``surface.type`` -> account kind (compared in lower case, plurals too).
_KINDS: Final = {
    "page": "page",
    "profile": "user",
    "group": "group",
    "event": "page",
    "business": "user",
    "creator": "user",
    "personal": "user",
}
#: An id written as a number (a spreadsheet's ``7.12346E+15``, pandas' ``1098765432109876.0``):
#: its digits may be gone.
_ROUNDED_ID: Final = r"^\s*[0-9]+(?:[.,][0-9]*)?(?:[eE][+]?[0-9]+)?\s*$"
_DIGITS: Final = r"^\s*[0-9]+\s*$"
#: What R (``NA``) and pandas (``nan``, ``None``, ``<NA>``) write for an empty cell.
_MISSING: Final = ("NA", "nan", "NaN", "None", "null", "<NA>")
#: Owner types of Instagram accounts: their rows are Instagram's in a mixed file.
_INSTAGRAM_TYPES: Final = ("business", "creator", "personal")
_ID_COLUMNS: Final = ("post_id", "account_id", "shared_post_id")


def _owner_column(names: list[str], field: str) -> str | None:
    return next((p + field for p in _OWNER if p + field in names), None)


def _is_facebook(names: list[str]) -> bool:
    return any(m in names for m in _FACEBOOK_MARKS) or any(
        n.startswith(_FACEBOOK_PREFIXES) for n in names
    )


class MclFormat:
    """Meta Content Library CSV of Facebook or Instagram posts (dotted API field names)."""

    name = "mcl"
    description = "Meta Content Library CSV of Facebook or Instagram posts"
    row_label = "row"

    def sniff(self, sample: Sample) -> bool:
        names = CsvFormat.sniffed_header(sample)
        if names is None:
            return False
        return "id" in names and "creation_time" in names and _owner_column(names, "id") is not None

    def read(self, path: Path, sample: Sample, options: ReadOptions) -> Iterator[ReadItem]:
        delimiter = CsvFormat.delimiter(sample)
        names = CsvFormat.header(sample, delimiter, path)
        owner_id = _owner_column(names, "id") or "post_owner.id"
        require_columns(
            names, ["id", "creation_time", owner_id], path, "a Meta Content Library file"
        )
        facebook = _is_facebook(names)
        posts: dict[str, str] = {
            "id": "post_id",
            owner_id: "account_id",
            "creation_time": "timestamp",
            "text": "text",
            "lang": "lang",
            "shared_post_id": "shared_post_id",
            "hashtags": "hashtags",
            **{f"statistics.{c}": f"_{c}" for c in _COUNTS},
        }
        owner_type = _owner_column(names, "type")
        if owner_type and not options.platform:
            posts[owner_type] = "_owner_type"
        link = next((p + "link" for p in _LINK if p + "link" in names), None)
        if link:
            posts[link] = "_link"
        owner: dict[str, str] = {owner_id: "account_id"}
        for field, canonical in (("name", "display_name"), ("username", "username"),
                                 ("type", "_type")):  # fmt: skip
            column = _owner_column(names, field)
            if column:
                owner[column] = canonical
        surface = {"surface.id": "account_id", "surface.name": "display_name",
                   "surface.username": "username", "surface.type": "_type"}  # fmt: skip
        platform = options.platform or ("facebook" if facebook else "instagram")
        items = read_csv_records(
            path,
            names,
            "posts",
            options,
            rename=posts,
            delimiter=delimiter,
            header=True,
            embedded=[("accounts", owner)]
            + ([("accounts", surface)] if "surface.id" in names else []),
            defaults={"platform": platform},
        )
        names_by_canonical = {v: k for k, v in posts.items()}
        yield from rejects_after_batches(
            items,
            lambda item: _posts_batch(item, names_by_canonical),
            _accounts_batch,
        )


def _missing_as_null(column: pa.Array) -> pa.Array:
    """``NA``, ``nan`` and the like (R's and pandas' empty cells) as nulls."""
    trimmed = pc.utf8_trim_whitespace(column)
    return pc.if_else(pc.is_in(trimmed, pa.array(_MISSING)), pa.scalar(None, pa.string()), column)


def _python_lists(column: pa.Array) -> pa.Array:
    """Lists pandas wrote with Python's quotes (``['vote', 'smith']``) as JSON arrays.

    Only the cells that start with ``[`` and hold a ``'`` are parsed, one by one; the others
    (JSON arrays, plain lists, empty cells) are left as they are without leaving Arrow.
    """
    trimmed = pc.utf8_ltrim_whitespace(column)
    quoted = pc.and_(pc.starts_with(trimmed, "["), pc.match_substring(trimmed, "'"))
    indices = pc.indices_nonzero(pc.fill_null(quoted, False)).to_pylist()
    if not indices:
        return column
    values = column.to_pylist()
    for i in indices:
        try:
            parsed = ast.literal_eval(values[i].strip())
        except (ValueError, SyntaxError, RecursionError, MemoryError):
            continue  # left as it is: the load stage rejects it, naming it
        if isinstance(parsed, list) and all(isinstance(v, str) for v in parsed):
            values[i] = json.dumps(parsed, ensure_ascii=False)
    return pa.array(values, pa.string())


def _posts_batch(item: RawBatch, source: dict[str, str]) -> Iterator[ReadItem]:
    """Kind, platform, engagement, and the rows whose ids were written as numbers (rejected)."""
    batch = item.data
    names = batch.schema.names
    columns = {
        c: batch.column(c) if c in ("text", "_row") else _missing_as_null(batch.column(c))
        for c in names
    }
    rejects: dict[int, tuple[str, str | None, str]] = {}
    for column in _ID_COLUMNS:
        if column not in names:
            continue
        values = columns[column]
        rounded = pc.fill_null(pc.match_substring_regex(values, _ROUNDED_ID), False)
        digits = pc.fill_null(pc.match_substring_regex(values, _DIGITS), True)
        for index in pc.indices_nonzero(pc.invert(digits)).to_pylist():
            reason = (
                "an id written as a number (a spreadsheet's or pandas'): its digits may be lost"
                if rounded[index].as_py()
                else "not a Content Library id (digits)"
            )
            rejects.setdefault(index, (source[column], values[index].as_py(), reason))
    arrays: dict[str, pa.Array] = {
        c: columns[c] for c in names if not c.startswith("_") or c == "_row"
    }
    if "hashtags" in names:
        arrays["hashtags"] = _python_lists(columns["hashtags"])
    if "_link" in names:  # the load stage adds the text's URLs after it
        arrays[ATTACHED_URL] = columns["_link"]
    if "shared_post_id" in names:
        shared = pc.fill_null(
            pc.not_equal(pc.utf8_trim_whitespace(columns["shared_post_id"]), ""), False
        )
        arrays["kind"] = pc.if_else(shared, pa.scalar("share"), pa.scalar("post"))
    if "_owner_type" in names:  # a mixed file: Instagram's accounts make Instagram's rows
        typed = pc.utf8_lower(pc.utf8_trim_whitespace(columns["_owner_type"]))
        instagram = pc.fill_null(pc.is_in(typed, pa.array(_INSTAGRAM_TYPES)), False)
        arrays["platform"] = pc.if_else(instagram, pa.scalar("instagram"), arrays["platform"])
    # Facebook's reactions (likes among them), else Instagram's likes; comments; shares.
    counted = (
        {
            "_reaction_count": pc.coalesce(
                *(columns[c] for c in ("_reaction_count", "_like_count") if c in names)
            )
        }
        if "_reaction_count" in names or "_like_count" in names
        else {}
    )
    counted |= {c: columns[c] for c in ("_comment_count", "_share_count") if c in names}
    if counted:
        summed = pa.RecordBatch.from_arrays(list(counted.values()), names=list(counted))
        engagement, bad_counts = sum_counts(summed, list(counted))
        if engagement is not None:
            arrays["engagement"] = engagement
        for index, (name, value) in bad_counts.items():
            if name == "reaction_count" and "_reaction_count" not in names:
                name = "like_count"
            rejects.setdefault(index, (f"statistics.{name}", value, "not an integer count"))
    yield from batch_then_rejects(item.table, arrays, rejects)


def _kind(value: str | None) -> str | None:
    """The account kind of a type, singular or plural (``pages``); ``None`` when unknown."""
    if value is None:
        return None
    return _KINDS.get(value) or (_KINDS.get(value[:-1]) if value.endswith("s") else None)


def _accounts_batch(item: RawBatch) -> RawBatch:
    """An owner or surface: its kind from its type (``page``, ``profile``, ``group``, ...)."""
    batch = item.data
    names = batch.schema.names
    arrays: dict[str, pa.Array] = {
        c: _missing_as_null(batch.column(c)) for c in names if not c.startswith("_")
    }
    arrays["_row"] = batch.column("_row")
    if "_type" in names:
        typed = pc.utf8_lower(pc.utf8_trim_whitespace(batch.column("_type"))).to_pylist()
        kinds = [_kind(t) for t in typed]
        arrays["kind"] = pa.array(kinds, pa.string())
    out = pa.RecordBatch.from_arrays(list(arrays.values()), names=list(arrays))
    return RawBatch(item.table, out, embedded=True)
