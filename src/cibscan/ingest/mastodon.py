"""Mastodon statuses as the Mastodon API gives them, as JSON lines.

Each line is a ``Status`` entity (``/api/v1/timelines/...``, ``/api/v1/accounts/:id/statuses``,
search results), or a JSON array of them as one page of such an answer (every status a row,
numbered with the line). A boost is a status whose ``reblog`` is the boosted status: the boost
is the row, the boosted status side information.

Identifiers are those of the server the data was fetched from: a status's ``id``, an account's
``id``, and the ``in_reply_to_id``, ``in_reply_to_account_id`` and mention ids that refer to
them. The text is the ``content`` HTML as a reader sees it (paragraphs, line breaks, mentions as
``@name``, hashtags as ``#tag``, links whole, as Mastodon writes their hidden parts).
"""

from __future__ import annotations

from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, Final

from cibscan.ingest.readers import ReadItem, ReadOptions
from cibscan.ingest.source import Sample
from cibscan.ingest.twitter_json import (
    ARRAY,
    MalformedFieldError,
    RowCollector,
    first_json_object,
    ident,
    list_at,
    metric_sum,
    obj_at,
    read_mapped_lines,
    text_at,
)

__all__ = ["MastodonFormat", "html_text", "map_mastodon_line"]

_ENGAGEMENT: Final = ("reblogs_count", "favourites_count", "replies_count")
_STATUS_KEYS: Final = ("id", "created_at", "account", "content", "visibility")


class _Text(HTMLParser):
    """The text of Mastodon's status HTML: paragraphs, line breaks and every text node."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            self.parts.append("\n")
        elif tag == "p" and self.parts:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def html_text(content: str) -> str:
    """The text a reader sees of a status's ``content`` HTML.

    Examples
    --------
    >>> html_text('<p>Hi <span class="h-card"><a href="https://m.example/@bo" class="u-url '
    ...           'mention">@<span>bo</span></a></span></p><p>see <a href="https://x.example/a/b">'
    ...           '<span class="invisible">https://</span><span class="ellipsis">x.example/a</span>'
    ...           '<span class="invisible">/b</span></a> &amp; #<span>tag</span></p>')
    'Hi @bo\\n\\nsee https://x.example/a/b & #tag'
    """
    parser = _Text()
    parser.feed(content)
    parser.close()
    return "".join(parser.parts)


def _account(account: Any, column: str, platform: str) -> dict[str, Any]:
    account = obj_at(account, column)
    group = account.get("group")
    note = text_at(account.get("note"), f"{column}.note")
    return {
        "account_id": ident(account.get("id"), f"{column}.id"),
        # A group actor is a group; an account flagged as a bot is still a user's account.
        "kind": "group" if group is True else "user",
        "username": text_at(account.get("acct"), f"{column}.acct"),
        "display_name": text_at(account.get("display_name"), f"{column}.display_name"),
        "created_at": text_at(account.get("created_at"), f"{column}.created_at"),
        "followers": text_at(account.get("followers_count"), f"{column}.followers_count"),
        "description": html_text(note) if note else note,
        "profile_image": text_at(account.get("avatar"), f"{column}.avatar"),
        "platform": platform,
    }


def _status(status: dict[str, Any], column: str, platform: str) -> dict[str, Any]:
    """A posts record from a status that is not a boost."""
    at = (lambda name: f"{column}.{name}") if column else (lambda name: name)
    content = text_at(status.get("content"), at("content"))
    spoiler = text_at(status.get("spoiler_text"), at("spoiler_text"))
    text = html_text(content) if content else None
    if spoiler:  # a content warning is shown before the text
        text = f"{spoiler}\n\n{text}" if text else spoiler
    tags = [
        text_at(obj_at(t, at(f"tags[{i}]")).get("name"), at(f"tags[{i}].name"))
        for i, t in enumerate(list_at(status.get("tags"), at("tags")))
    ]
    mentions = [
        ident(obj_at(m, at(f"mentions[{i}]")).get("id"), at(f"mentions[{i}].id"))
        for i, m in enumerate(list_at(status.get("mentions"), at("mentions")))
    ]
    media = []
    for i, attachment in enumerate(
        list_at(status.get("media_attachments"), at("media_attachments"))
    ):
        attachment = obj_at(attachment, at(f"media_attachments[{i}]"))
        blurhash = text_at(attachment.get("blurhash"), at(f"media_attachments[{i}].blurhash"))
        if blurhash:
            media.append(f"blurhash:{blurhash}")
    quote = obj_at(status.get("quote"), at("quote"))
    quoted = obj_at(quote.get("quoted_status"), at("quote.quoted_status"))
    quoted_id = ident(quoted.get("id"), at("quote.quoted_status.id"))
    quoted_by = obj_at(quoted.get("account"), at("quote.quoted_status.account"))
    replied = ident(status.get("in_reply_to_id"), at("in_reply_to_id"))
    return {
        "post_id": ident(status.get("id"), at("id")),
        "account_id": ident(
            obj_at(status.get("account"), at("account")).get("id"), at("account.id")
        ),
        "timestamp": text_at(status.get("created_at"), at("created_at")),
        "kind": "quote" if quoted_id else ("reply" if replied else "post"),
        "text": text,
        "shared_post_id": quoted_id,
        "shared_account_id": ident(quoted_by.get("id"), at("quote.quoted_status.account.id")),
        "reply_to_post_id": replied,
        "reply_to_account_id": ident(
            status.get("in_reply_to_account_id"), at("in_reply_to_account_id")
        ),
        "hashtags": [t for t in tags if t],
        "mentions": [m for m in mentions if m],
        "media": media,
        "platform": platform,
        "lang": text_at(status.get("language"), at("language")),
        "engagement": metric_sum(status, _ENGAGEMENT, column),
        # The links come from the text: Mastodon makes its link card of one of them.
        "urls_original": None,
    }


def _add_status(status: Any, column: str, rows: RowCollector, row: int, platform: str) -> None:
    status = obj_at(status, column or "status")
    account = _account(status.get("account"), f"{column}.account" if column else "account",
                       platform)  # fmt: skip
    boosted = status.get("reblog")
    if boosted is not None:
        inner = f"{column}.reblog" if column else "reblog"
        original = obj_at(boosted, inner)
        side = _status(original, inner, platform)
        post = {
            "post_id": ident(status.get("id"), f"{column}.id" if column else "id"),
            "account_id": account["account_id"],
            "timestamp": text_at(
                status.get("created_at"), f"{column}.created_at" if column else "created_at"
            ),
            "kind": "share",
            "shared_post_id": side["post_id"],
            "shared_account_id": side["account_id"],
            "hashtags": [],
            "mentions": [],
            "media": [],
            "platform": platform,
        }
        rows.post(side, row, embedded=True)
        rows.account(_account(original.get("account"), f"{inner}.account", platform), row)
    else:
        post = _status(status, column, platform)
    rows.post(post, row)
    if account["account_id"]:
        rows.account(account, row)


def map_mastodon_line(obj: dict[str, Any], row: int, rows: RowCollector, platform: str) -> None:
    """Map one JSON line: a status, or an array of statuses (one page of an API answer).

    The statuses of a line are gathered apart and added only when the whole line maps, so a
    malformed field rejects the line and keeps nothing of it.
    """
    line = RowCollector(rows.batch_rows)
    if ARRAY in obj:
        for i, status in enumerate(list_at(obj[ARRAY], "")):
            _add_status(status, f"[{i}]", line, row, platform)
    elif all(k in obj for k in ("id", "account")):
        _add_status(obj, "", line, row, platform)
    else:
        raise MalformedFieldError("id", obj.get("id"), "not a Mastodon status")
    for post in line.posts:
        rows.post(post, row)
    for post in line.side_posts:
        rows.post(post, row, embedded=True)
    for record, _ in line.accounts.values():
        rows.account(record, row)


def _is_status(obj: Any) -> bool:
    return (
        isinstance(obj, dict)
        and all(k in obj for k in _STATUS_KEYS)
        and isinstance(obj.get("account"), dict)
        and "acct" in obj["account"]
    )


class MastodonFormat:
    """Mastodon API statuses, one per line or a page (array) per line."""

    name = "mastodon"
    description = "Mastodon API statuses as JSON lines (one per line, or a page per line)"
    row_label = "line"

    def sniff(self, sample: Sample) -> bool:
        obj = first_json_object(sample, arrays=True)
        if obj is None:
            return False
        if ARRAY in obj:
            items = obj[ARRAY]
            return bool(items) and _is_status(items[0])
        return _is_status(obj)

    def read(self, path: Path, sample: Sample, options: ReadOptions) -> Iterator[ReadItem]:
        rows = RowCollector(options.batch_rows)
        platform = options.platform or "mastodon"
        return read_mapped_lines(path, options, map_mastodon_line, platform, rows, arrays=True)
