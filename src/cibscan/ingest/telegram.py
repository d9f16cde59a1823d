"""Telegram Desktop's JSON export (``result.json``): one chat, or a full account export.

The export is one JSON document, which for a large channel runs to gigabytes. It is streamed:
:class:`JsonWalker` steps through the document's structure and decodes one message at a time
with the standard library's decoder, so memory holds one message (and a read buffer), never the
document. The chat's ``id`` must come before its ``messages``, as Telegram Desktop writes it.

Identifiers: a message is ``<chat id>/<message id>`` (message ids are per chat); authors keep
Telegram's prefixed ids (``channel123``, ``user456``). A forward names its source but not the
original message, so its shared item is synthetic (see :func:`forward_item`).
"""

from __future__ import annotations

import codecs
import hashlib
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, Final

from cibscan.errors import BadInputError
from cibscan.ingest.readers import (
    LONE_SURROGATE,
    ParseReject,
    ReadItem,
    ReadOptions,
    has_surrogate_escape,
    json_scalar,
    lone_surrogate,
)
from cibscan.ingest.source import Sample, open_input
from cibscan.ingest.twitter_json import (
    MalformedFieldError,
    RowCollector,
    ident,
    list_at,
    text_at,
)

__all__ = ["JsonWalker", "TelegramFormat", "forward_item"]

CHAT_TYPES: Final = (
    "personal_chat",
    "bot_chat",
    "saved_messages",
    "private_group",
    "private_supergroup",
    "public_supergroup",
    "private_channel",
    "public_channel",
)
_CHAT_TYPE_RE: Final = re.compile(r'"type"\s*:\s*"(' + "|".join(CHAT_TYPES) + r')"')
_MESSAGES_RE: Final = re.compile(r'"messages"\s*:\s*\[')
_FULL_EXPORT_RE: Final = re.compile(r'"(personal_information|left_chats|frequent_contacts)"\s*:')
# A file that Telegram Desktop did not download is named by a placeholder; it identifies
# nothing, and as a media id it would tie every such message together.
_NOT_INCLUDED: Final = "(File not included"
_CHUNK: Final = 1 << 20
#: Entity type -> the field that holds what is collected (hashtags, mentions, links).
_ENTITY_FIELDS: Final = {"hashtag": "text", "mention": "text", "link": "text", "text_link": "href"}
#: No single value of an export (a message, the contact list) comes near this; a value that
#: does is a sign of a malformed document, and reading on would fill memory.
MAX_VALUE_CHARS: Final = 256 << 20


class JsonWalker:
    """Step through a JSON document from a byte stream without holding it in memory.

    Containers to descend are walked with :meth:`object_keys` and :meth:`array_items`; any
    other value is decoded whole with :meth:`value`. Line numbers are counted as the document
    is consumed, for error positions.
    """

    def __init__(self, stream: IO[bytes], path: Path) -> None:
        self._stream = stream
        self._path = path
        self._decoder = codecs.getincrementaldecoder("utf-8")()
        self._json = json.JSONDecoder()
        self._buf = ""
        self._pos = 0
        self._eof = False
        self._line = 1  # the line number at _counted
        self._counted = 0
        #: Whether the last value decoded has a surrogate escape (see ``lone_surrogate``).
        self.surrogate_escape = False

    # -- buffer ---------------------------------------------------------------------------------
    def _fill(self, want: int = _CHUNK) -> bool:
        """Read at least ``want`` more bytes (when there are); return whether any came."""
        if self._eof:
            return False
        self.line()  # count the lines of the part dropped below
        self._buf = self._buf[self._pos :]
        self._counted -= self._pos
        self._pos = 0
        data = self._stream.read(max(want, _CHUNK))
        try:
            text = self._decoder.decode(data, final=not data)
        except UnicodeDecodeError as exc:
            raise BadInputError(
                "not valid UTF-8", file=str(self._path), row=self.line(), row_label="line"
            ) from exc
        if not data:
            self._eof = True
        self._buf += text
        return bool(data)

    def line(self) -> int:
        """The line number of the current position."""
        self._line += self._buf.count("\n", self._counted, self._pos)
        self._counted = self._pos
        return self._line

    def error(self, reason: str) -> BadInputError:
        """An error at the current position."""
        return BadInputError(reason, file=str(self._path), row=self.line(), row_label="line")

    def peek(self) -> str:
        """The next non-blank character, or ``""`` at the end."""
        while True:
            while self._pos < len(self._buf) and self._buf[self._pos] in " \t\r\n":
                self._pos += 1
            if self._pos < len(self._buf):
                return self._buf[self._pos]
            if not self._fill():
                return ""

    def skip(self) -> None:
        """Consume the next non-blank character."""
        self.peek()
        self._pos += 1

    def expect(self, char: str) -> None:
        """Consume ``char`` (after blanks)."""
        found = self.peek()
        if found != char:
            shown = repr(found) if found else "the end of the file"
            raise self.error(f"invalid JSON (expected {char!r}, found {shown})")
        self._pos += 1

    def value(self) -> Any:
        """Decode the next value whole."""
        self.peek()
        while True:
            try:
                obj, end = self._json.raw_decode(self._buf, self._pos)
            except json.JSONDecodeError as exc:
                # An error far from the end of the buffer is in the document, not a value
                # cut off by the buffer: report it rather than read on.
                cut_off = exc.pos + _CHUNK >= len(self._buf)
                if not cut_off or not self._grow():
                    raise self.error(f"invalid JSON ({exc.msg})") from exc
                continue
            except RecursionError as exc:
                raise self.error("JSON nested too deeply") from exc
            if end == len(self._buf) and not self._eof and self._grow():
                continue  # a number may go on in the next chunk
            self.surrogate_escape = has_surrogate_escape(self._buf, self._pos, end)
            self._pos = end
            return obj

    def _grow(self) -> bool:
        if len(self._buf) - self._pos > MAX_VALUE_CHARS:
            raise self.error(
                f"a JSON value longer than {MAX_VALUE_CHARS} characters; the document is "
                "probably malformed"
            )
        return self._fill(len(self._buf) - self._pos)

    # -- containers -----------------------------------------------------------------------------
    def object_keys(self) -> Iterator[str]:
        """Walk an object: yield each key; the caller consumes its value before the next."""
        self.expect("{")
        if self.peek() == "}":
            self._pos += 1
            return
        while True:
            if self.peek() != '"':
                raise self.error("invalid JSON (expected a key)")
            key = self.value()
            self.expect(":")
            yield key
            char = self.peek()
            self._pos += 1
            if char == "}":
                return
            if char != ",":
                raise self.error(f"invalid JSON (expected ',' or '}}', found {char!r})")

    def array_items(self) -> Iterator[int]:
        """Walk an array: yield the line of each item; the caller consumes the item."""
        self.expect("[")
        if self.peek() == "]":
            self._pos += 1
            return
        while True:
            self.peek()
            yield self.line()
            char = self.peek()
            self._pos += 1
            if char == "]":
                return
            if char != ",":
                raise self.error(f"invalid JSON (expected ',' or ']', found {char!r})")


def forward_item(source: str | None, source_id: str | None, text: str) -> str:
    """The synthetic id of the post a forward carries: its source and a digest of its text.

    The export names the source of a forward (``forwarded_from``, and in recent versions
    ``forwarded_from_id``) but not the original message. Forwards of one source with the
    same text are taken to carry the same post: that is what co-forwarding needs, and it
    holds unless a source posts the same text twice.

    Examples
    --------
    >>> forward_item("News", "channel42", "Breaking")
    'fwd:channel42:d4af3c32590c2d98'
    """
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
    return f"fwd:{source_id or source or '?'}:{digest}"


def _joined_text(value: Any) -> str:
    """The text of a message: a string, or a list of strings and entity objects."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    parts: list[str] = []
    for i, part in enumerate(list_at(value, "text")):
        if type(part) is str:
            parts.append(part)
            continue
        piece = part.get("text") if type(part) is dict else part
        if type(piece) is not str:
            raise MalformedFieldError(f"text[{i}]", part, "not a string or an entity with a text")
        parts.append(piece)
    return "".join(parts)


def _media(message: dict[str, Any]) -> list[str]:
    out = []
    for key in ("photo", "file"):
        value = text_at(message.get(key), key)
        if value and not value.startswith(_NOT_INCLUDED):
            out.append(value)
    return out


class _Chat:
    """What is known of the chat whose messages are being read."""

    def __init__(self) -> None:
        self.id: str | None = None
        self.name: str | None = None
        self.type: str | None = None

    @property
    def account_id(self) -> str | None:
        """The chat as an account, in the form of Telegram's author ids."""
        if self.id is None or self.type is None:
            return None
        if self.type.endswith(("channel", "supergroup")):
            return f"channel{self.id}"
        if self.type == "private_group":
            return f"chat{self.id}"
        return None  # a personal chat is no asset of its own

    @property
    def kind(self) -> str:
        return "channel" if (self.type or "").endswith("channel") else "group"


def map_message(
    message: Any, chat: _Chat, row: int, rows: RowCollector, platform: str
) -> ParseReject | None:
    """Map one message of a chat; service messages (joins, pins) are not posts."""
    if not isinstance(message, dict):
        return ParseReject("posts", row, None, json_scalar(message), "not a JSON object")
    if message.get("type", "message") != "message":
        return None
    try:
        message_id = ident(message.get("id"), "id")
        text = _joined_text(message.get("text"))
        has_entities = "text_entities" in message or isinstance(message.get("text"), list)
        if "text_entities" in message:
            entities = list_at(message["text_entities"], "text_entities")
        else:
            raw = message.get("text")
            entities = [p for p in raw if isinstance(p, dict)] if isinstance(raw, list) else []
        found: dict[str, list[str]] = {"hashtag": [], "mention": [], "link": []}
        for i, entity in enumerate(entities):
            if type(entity) is not dict:
                raise MalformedFieldError(f"text_entities[{i}]", entity, "not a JSON object")
            kind = entity.get("type")
            if type(kind) is not str or kind not in _ENTITY_FIELDS:
                continue  # plain text, bold, code, ...: nothing to collect
            field = _ENTITY_FIELDS[kind]
            value = entity.get(field)
            if value is None:
                continue
            if type(value) is not str:
                raise MalformedFieldError(f"text_entities[{i}].{field}", value, "not a string")
            found["link" if kind == "text_link" else kind].append(value)
        hashtags, mentions, links = found["hashtag"], found["mention"], found["link"]
        source = text_at(message.get("forwarded_from"), "forwarded_from")
        source_id = ident(message.get("forwarded_from_id"), "forwarded_from_id")
        forwarded = "forwarded_from" in message or source_id is not None
        reply_to = ident(message.get("reply_to_message_id"), "reply_to_message_id")
        author = ident(message.get("from_id"), "from_id") or chat.account_id
        stamp = message.get("date_unixtime")
        record = {
            "post_id": f"{chat.id}/{message_id}" if message_id else None,
            "account_id": author,
            # date_unixtime is UTC; date is the exporting computer's local time (--tz).
            "timestamp": text_at(stamp if stamp else message.get("date"), "date"),
            "kind": "share" if forwarded else ("reply" if reply_to else "post"),
            "text": text,
            "shared_post_id": forward_item(source, source_id, text) if forwarded else None,
            "shared_account_id": source_id if forwarded else None,
            "reply_to_post_id": f"{chat.id}/{reply_to}" if reply_to else None,
            "hashtags": hashtags if has_entities else None,
            "mentions": mentions if has_entities else None,
            "urls_original": links if has_entities else None,
            "media": _media(message),
            "platform": platform,
        }
        sender = text_at(message.get("from"), "from")
    except MalformedFieldError as bad:
        return ParseReject("posts", row, bad.column, bad.value, bad.reason)
    rows.post(record, row)
    if author and author != chat.account_id:
        rows.account(
            {
                "account_id": author,
                "kind": "channel" if author.startswith("channel") else "user",
                "display_name": sender,
                "platform": platform,
            },
            row,
        )
    return None


class TelegramFormat:
    """Telegram Desktop's JSON export: one chat, or a full export with ``chats.list``."""

    name = "telegram"
    description = "Telegram Desktop JSON export (result.json of a chat or a full export)"
    row_label = "line"

    def sniff(self, sample: Sample) -> bool:
        text = sample.text.lstrip()
        if not text.startswith("{"):
            return False
        single = _CHAT_TYPE_RE.search(text) and _MESSAGES_RE.search(text)
        return bool(single or _FULL_EXPORT_RE.search(text))

    def read(self, path: Path, sample: Sample, options: ReadOptions) -> Iterator[ReadItem]:
        platform = options.platform or "telegram"
        rows = RowCollector(options.batch_rows)
        with open_input(
            path,
            max_bytes=options.max_decompressed_bytes,
            max_ratio=options.max_decompression_ratio,
        ) as stream:
            walker = JsonWalker(stream, path)
            if walker.peek() == "\ufeff":
                walker.skip()  # a byte-order mark
            if walker.peek() != "{":
                raise walker.error("not a Telegram export (expected a JSON object)")
            yield from self._chat_or_export(walker, rows, platform)
            if walker.peek():
                raise walker.error("invalid JSON (text after the document)")
        yield from rows.flush()

    def _chat_or_export(
        self, walker: JsonWalker, rows: RowCollector, platform: str
    ) -> Iterator[ReadItem]:
        """Walk a chat object, or the top of a full export (whose chats are in lists)."""
        chat = _Chat()
        for key in walker.object_keys():
            if key in ("chats", "left_chats") and walker.peek() == "{":
                for inner in walker.object_keys():
                    if inner == "list" and walker.peek() == "[":
                        for _ in walker.array_items():
                            yield from self._chat_or_export(walker, rows, platform)
                    else:
                        walker.value()
            elif key == "messages" and walker.peek() == "[":
                if chat.id is None:
                    raise walker.error(
                        'the chat\'s "id" must come before its "messages" (as Telegram '
                        "Desktop writes it)"
                    )
                self._chat_account(chat, walker.line(), rows, platform)
                for line in walker.array_items():
                    message = walker.value()
                    if walker.surrogate_escape and lone_surrogate(message):
                        reject: ParseReject | None = ParseReject(
                            "posts", line, None, None, LONE_SURROGATE
                        )
                    else:
                        reject = map_message(message, chat, line, rows, platform)
                    if reject is not None:
                        # Earlier rows are staged before a reject (strict mode reports the
                        # first in file order).
                        yield from rows.flush()
                        yield reject
                    if rows.full:
                        yield from rows.flush()
            elif key in ("id", "name", "type"):
                value = walker.value()
                if key == "id":
                    try:
                        chat.id = ident(value, "id")
                    except MalformedFieldError as bad:
                        raise walker.error(f"the chat id {bad.value} is {bad.reason}") from bad
                elif key == "name":
                    chat.name = value if isinstance(value, str) else None
                else:
                    chat.type = value if isinstance(value, str) else None
            else:
                walker.value()

    @staticmethod
    def _chat_account(chat: _Chat, row: int, rows: RowCollector, platform: str) -> None:
        account = chat.account_id
        if account is not None:
            rows.account(
                {
                    "account_id": account,
                    "kind": chat.kind,
                    "display_name": chat.name,
                    "platform": platform,
                },
                row,
            )
