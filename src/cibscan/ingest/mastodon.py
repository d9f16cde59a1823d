"""Mastodon statuses as the Mastodon API gives them, as JSON lines.

Each line is a ``Status`` entity (timelines, ``/api/v1/accounts/:id/statuses``), a JSON array of
them as one page of such an answer, or a status's context (``{"ancestors", "descendants"}``):
every status a row, numbered with the line. A search answer and notifications are not statuses.
A boost is a status whose ``reblog`` is the boosted status: the boost is the row, the boosted
status side information.

Identifiers are those of the server the data was fetched from: a status's ``id``, an account's
``id``, and the ``in_reply_to_id``, ``in_reply_to_account_id`` and mention ids that refer to
them. The text is the ``content`` HTML as a reader sees it (paragraphs, line breaks, mentions as
``@name``, hashtags as ``#tag``, links whole, as Mastodon writes their hidden parts).
"""

from __future__ import annotations

import functools
import html
import re
from collections.abc import Callable, Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, Final

from cibscan.ingest.readers import ReadItem, ReadOptions
from cibscan.ingest.source import Sample
from cibscan.ingest.twitter_json import (
    ARRAY,
    MalformedFieldError,
    RowCollector,
    field_name,
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
_CONTEXT: Final = frozenset({"ancestors", "descendants"})
#: Elements that start a line of their own when the HTML is read as text.
_BLOCKS: Final = frozenset({"p", "li", "blockquote", "pre", "ul", "ol", "div",
                            "h1", "h2", "h3", "h4", "h5", "h6"})  # fmt: skip
#: Elements without content or end tag: they open no depth inside a skipped element.
_VOID: Final = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link",
                          "meta", "source", "track", "wbr"})  # fmt: skip
#: The elements the fast path reads: those Mastodon's sanitiser lets through (and ``div``),
#: none with raw text content (``script``, ``style``, ``textarea``, ``title``, ...).
_PLAIN_TAGS: Final = (
    "p|br|span|a|del|s|pre|blockquote|code|b|strong|u|i|em|ul|ol|li|h[1-6]|div|sub|sup|small"
)
_SPACE: Final = "[ \t\n\r\f]"
#: One token of simple HTML: a start tag with lower-case names and double-quoted values (``/>``
#: allowed), an end tag, or text without ``<``.
_TOKEN: Final = re.compile(
    f'<(?P<start>{_PLAIN_TAGS})(?P<attrs>(?:{_SPACE}+[a-z][a-z0-9-]*="[^"<>]*")*)'
    f"{_SPACE}*(?P<close>/?)>"
    f"|</(?P<end>{_PLAIN_TAGS}){_SPACE}*>"
    "|(?P<text>[^<]+)"
)
_ATTR: Final = re.compile(f'{_SPACE}+([a-z][a-z0-9-]*)="([^"<>]*)"')
#: What Akkoma writes for the id of a parent it does not know.
_UNKNOWN_ID: Final = "_"
#: Mastodon's picture for an account without one: shared by all of them, it ties nothing.
_MISSING_AVATAR: Final = "/avatars/original/missing.png"


class _Text(HTMLParser):
    """The text of Mastodon's status HTML, and the addresses of its links.

    Blocks start lines, ``<br>`` breaks them; a link's text is kept whole (Mastodon hides parts
    of long addresses in spans); the ``href`` of every link that is no mention or hashtag is a
    URL of the post. A ``quote-inline`` paragraph (the "RE: <link>" Mastodon writes for clients
    without quotes) is left out when ``skip_quote_inline``.
    """

    def __init__(self, skip_quote_inline: bool = False) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.links: list[str] = []
        self._skip_quote = skip_quote_inline
        self._skipping = 0  # the depth inside a skipped element, 0 outside

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        classes = (dict(attrs).get("class") or "").split()
        if self._skipping:
            self._skipping += tag not in _VOID
            return
        if self._skip_quote and "quote-inline" in classes:
            self._skipping = 1
            return
        if tag == "br":
            self.parts.append("\n")
        elif tag in _BLOCKS and self.parts and not self.parts[-1].endswith("\n"):
            self.parts.append("\n\n" if tag == "p" else "\n")
        if tag == "a" and "mention" not in classes and "hashtag" not in classes:
            href = dict(attrs).get("href")
            if href and href.startswith(("http://", "https://")):
                self.links.append(href)

    def handle_endtag(self, tag: str) -> None:
        if self._skipping and tag not in _VOID:
            self._skipping -= 1

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)


def _simple_tokens(content: str) -> list[re.Match[str]] | None:
    """The tokens of ``content`` when it is simple HTML (see ``_TOKEN``); else ``None``."""
    tokens = []
    at = 0
    for token in _TOKEN.finditer(content):
        if token.start() != at:
            return None  # a ``<`` that starts no token of simple HTML (a comment, ...)
        tokens.append(token)
        at = token.end()
    return tokens if at == len(content) else None


def _read_html(content: str, *, skip_quote_inline: bool = False) -> _Text:
    """Read status HTML into a :class:`_Text`.

    Simple HTML (what servers write: the elements Mastodon lets through, lower-case names,
    double-quoted attribute values, no comments) is cut into tokens with one regular expression
    and handed to the reader's handlers as :class:`~html.parser.HTMLParser` would hand them, its
    text and attribute values unescaped alike; anything else goes to the parser itself. Both
    give the same text and links (``tests/test_formats.py`` checks it on generated HTML); the
    first takes a third of the time.
    """
    reader = _Text(skip_quote_inline)
    tokens = _simple_tokens(content)
    if tokens is None:
        reader.feed(content)
        reader.close()
        return reader
    for token in tokens:
        text = token["text"]
        if text is not None:
            reader.handle_data(html.unescape(text) if "&" in text else text)
        elif token["end"] is not None:
            reader.handle_endtag(token["end"])
        else:
            raw = token["attrs"]
            attrs: list[tuple[str, str | None]] = [
                (name, html.unescape(value) if "&" in value else value)
                for name, value in (_ATTR.findall(raw) if raw else ())
            ]
            if token["close"]:
                reader.handle_startendtag(token["start"], attrs)
            else:
                reader.handle_starttag(token["start"], attrs)
    return reader


def html_text(content: str) -> str:
    """The text a reader sees of a status's ``content`` HTML.

    Examples
    --------
    >>> html_text('<p>Hi <span class="h-card"><a href="https://m.example/@bo" class="u-url '
    ...           'mention">@<span>bo</span></a></span></p><p>see <a href="https://x.example/a/b">'
    ...           '<span class="invisible">https://</span><span class="ellipsis">x.example/a</span>'
    ...           '<span class="invisible">/b</span></a> &amp; #<span>tag</span></p>')
    'Hi @bo\\n\\nsee https://x.example/a/b & #tag'
    >>> html_text("<ul><li>one</li><li>two</li></ul>")
    'one\\ntwo'
    """
    return "".join(_read_html(content).parts).strip("\n")


def _id(value: Any, column: str) -> str | None:
    """An id; Akkoma's ``"_"`` for an unknown one is none."""
    found = ident(value, column)
    return None if found == _UNKNOWN_ID else found


def _account(account: Any, column: str, platform: str) -> dict[str, Any]:
    account = obj_at(account, column)
    note = text_at(account.get("note"), f"{column}.note")
    avatar = text_at(account.get("avatar"), f"{column}.avatar")
    return {
        "account_id": ident(account.get("id"), f"{column}.id"),
        # A group actor is a group; an account flagged as a bot is still a user's account.
        "kind": "group" if account.get("group") is True else "user",
        # name for the fetching server's own accounts, name@server for the others
        "username": text_at(account.get("acct"), f"{column}.acct"),
        "display_name": text_at(account.get("display_name"), f"{column}.display_name"),
        # Not created_at: Mastodon gives it as a day (midnight) since 3.4, and for remote
        # accounts often the day the fetching server first saw them.
        "followers": text_at(account.get("followers_count"), f"{column}.followers_count"),
        "description": html_text(note) if note else note,
        "profile_image": None if avatar and avatar.endswith(_MISSING_AVATAR) else avatar,
        "platform": platform,
    }


def _quote(
    status: dict[str, Any], at: Callable[[str], str]
) -> tuple[str | None, dict[str, Any] | None]:
    """The id of the status quoted, and the quoted status when the data carries it.

    Mastodon 4.4: ``quote`` is ``{"state", "quoted_status"}``, or ``{"state",
    "quoted_status_id"}`` (a shallow quote); Fedibird and Akkoma: ``quote`` is the quoted
    status itself, beside ``quote_id``.
    """
    quote = status.get("quote")
    if quote is None:
        return _id(status.get("quote_id"), at("quote_id")), None
    quote = obj_at(quote, at("quote"))
    if "quoted_status" in quote or "state" in quote:
        quoted = quote.get("quoted_status")
        if quoted is None:
            return _id(quote.get("quoted_status_id"), at("quote.quoted_status_id")), None
        quoted = obj_at(quoted, at("quote.quoted_status"))
        return _id(quoted.get("id"), at("quote.quoted_status.id")), quoted
    return _id(quote.get("id"), at("quote.id")) or _id(
        status.get("quote_id"), at("quote_id")
    ), quote


def _status(status: dict[str, Any], column: str, platform: str) -> dict[str, Any]:
    """A posts record from a status that is not a boost (the quoted status as ``_quoted``)."""
    at = functools.partial(field_name, column)
    quoted_id, quoted = _quote(status, at)
    content = text_at(status.get("content"), at("content"))
    # A status deleted by its author comes back with its source "text" instead.
    plain = text_at(status.get("text"), at("text")) if content is None else None
    html = _read_html(content, skip_quote_inline=quoted_id is not None) if content else None
    text = "".join(html.parts).strip("\n") if html else plain
    spoiler = text_at(status.get("spoiler_text"), at("spoiler_text"))
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
    quoted_by = obj_at((quoted or {}).get("account"), at("quote.quoted_status.account"))
    replied = _id(status.get("in_reply_to_id"), at("in_reply_to_id"))
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
        "reply_to_account_id": _id(
            status.get("in_reply_to_account_id"), at("in_reply_to_account_id")
        ),
        "hashtags": [t for t in tags if t],
        "mentions": [m for m in mentions if m],
        # The links of the HTML, a labelled one too; none given: the text's own.
        "urls_original": html.links if html else None,
        # An attachment's id and address are the server's own, and its blurhash (a few
        # blocks of colour, recomputed by each server with its own tools) ties pictures that
        # merely look alike (any two videos that start on a black frame): no media id.
        "media": None,
        "platform": platform,
        "lang": text_at(status.get("language"), at("language")),
        "engagement": metric_sum(status, _ENGAGEMENT, column),
        "_quoted": quoted,
    }


def _add_status(status: Any, column: str, rows: RowCollector, row: int, platform: str) -> None:
    status = obj_at(status, column or "status")
    if "content" not in status and "reblog" not in status and "text" not in status:
        kind = "a notification" if "type" in status and "status" in status else "no status"
        raise MalformedFieldError(field_name(column, "content"), None, f"{kind}: no content")
    account = _account(status.get("account"), field_name(column, "account"),
                       platform)  # fmt: skip
    boosted = status.get("reblog")
    if boosted is not None:
        inner = field_name(column, "reblog")
        original = obj_at(boosted, inner)
        post = {
            "post_id": ident(status.get("id"), field_name(column, "id")),
            "account_id": account["account_id"],
            "timestamp": text_at(status.get("created_at"), field_name(column, "created_at")),
            "kind": "share",
            "hashtags": [],
            "mentions": [],
            "urls_original": [],
            "platform": platform,
        }
        _side(original, inner, post, rows, row, platform)
    else:
        post = _status(status, column, platform)
        quoted = post.pop("_quoted")
        if quoted is not None:
            inner = field_name(column, "quote.quoted_status")
            _side(quoted, inner, None, rows, row, platform)
    rows.post(post, row)
    if account["account_id"]:
        rows.account(account, row)


def _side(
    status: dict[str, Any],
    column: str,
    sharing: dict[str, Any] | None,
    rows: RowCollector,
    row: int,
    platform: str,
) -> None:
    """Add a boosted or quoted status as side information (and fill the boost that shares it)."""
    side = _status(status, column, platform)
    side.pop("_quoted")
    if sharing is not None:
        sharing["shared_post_id"] = side["post_id"]
        sharing["shared_account_id"] = side["account_id"]
    if side["post_id"]:
        rows.post(side, row, embedded=True)
        rows.account(_account(status.get("account"), f"{column}.account", platform), row)


def map_mastodon_line(obj: dict[str, Any], row: int, rows: RowCollector, platform: str) -> None:
    """Map one JSON line: a status, an array of statuses (one page of an API answer), or a
    status's context (``{"ancestors": [...], "descendants": [...]}``).
    """
    if ARRAY in obj:
        for i, status in enumerate(list_at(obj[ARRAY], "")):
            _add_status(status, f"[{i}]", rows, row, platform)
    elif _CONTEXT.intersection(obj) and "id" not in obj:  # a status's context
        for key in ("ancestors", "descendants"):
            for i, status in enumerate(list_at(obj.get(key), key)):
                _add_status(status, f"{key}[{i}]", rows, row, platform)
    elif all(k in obj for k in ("id", "account")):
        _add_status(obj, "", rows, row, platform)
    else:
        raise MalformedFieldError("id", obj.get("id"), "not a Mastodon status")


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
        if _CONTEXT.intersection(obj) and "id" not in obj:
            items = [*(obj.get("ancestors") or []), *(obj.get("descendants") or [])]
            return bool(items) and isinstance(items, list) and _is_status(items[0])
        return _is_status(obj)

    def read(self, path: Path, sample: Sample, options: ReadOptions) -> Iterator[ReadItem]:
        rows = RowCollector(options.batch_rows)
        platform = options.platform or "mastodon"
        return read_mapped_lines(path, options, map_mastodon_line, platform, rows, arrays=True)
