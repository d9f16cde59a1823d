"""TikTok videos as the TikTok Research API or the web app give them, as JSON lines.

Each line is one of:

- a response page of the Research API (``{"data": {"videos": [...], ...}, "error": {...}}``),
  also of its liked, reposted and pinned videos endpoints: every video a row, numbered with the
  line; its comments (``"comments"``) carry no author and are rejected with that reason; an
  error response (no data, ``error.code`` other than ``ok``) is rejected with its message;
- a Research API video object, or a JSON array of them (the wrappers' lists, dumped);
- a line of a Zeeschuimer export (as 4CAT imports it): an envelope whose ``data`` is the web
  app's item, a video (``tiktok.com``) or a comment (``tiktok-comments``), or such an item bare.

An account is its username (the Research API gives no other id; web items are read the same
way so that both sources of one account make one account). A video's sound (``music_id``,
``music.id``) is its media, ``music:<id>``, so accounts that post on one sound within the window
co-act on the media signal; a web item's duet (``duetInfo.duetFromId``) is a quote of its
original. Ids are kept exactly as written: the Research API writes them as JSON numbers above
2**53, which Python reads exactly.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

from cibscan.ingest.readers import ParseReject, ReadItem, ReadOptions
from cibscan.ingest.source import Sample
from cibscan.ingest.twitter_json import (
    ARRAY,
    MalformedFieldError,
    RowCollector,
    field_name,
    first_json_object,
    ident,
    list_at,
    long_first_line,
    metric_sum,
    obj_at,
    read_mapped_lines,
    text_at,
)

__all__ = ["TiktokFormat", "map_tiktok_line"]

#: The keys of ``data`` that hold videos, by endpoint: query, liked, reposted (both spellings
#: of the documentation), pinned.
_VIDEO_LISTS: Final = (
    "videos",
    "user_liked_videos",
    "reposted_videos",
    "user_reposted_videos",
    "pinned_videos_list",
)
_FOLLOW_LISTS: Final = ("user_followers", "user_following")
#: Fields only a Research API video has (one is enough, beside id and time).
_VIDEO_KEYS: Final = (
    "username",
    "video_description",
    "music_id",
    "region_code",
    "hashtag_names",
    "like_count",
    "comment_count",
    "view_count",
    "share_count",
    "voice_to_text",
    "effect_ids",
)
#: Counts that are acts on a video; views and saves (favourites) are not, as for impressions.
_RESEARCH_ENGAGEMENT: Final = ("like_count", "comment_count", "share_count")
_WEB_ENGAGEMENT: Final = ("diggCount", "commentCount", "shareCount")
_PLATFORMS: Final = ("tiktok.com", "tiktok-comments")
#: A tagged username as TikTok allows them (letters, digits, ``_`` and ``.``, no final ``.``),
#: ``@`` optional.
_HANDLE: Final = re.compile(r"@?([A-Za-z0-9_.]{1,23}[A-Za-z0-9_])")
#: An ``@username`` in a text; the generic pattern stops at the dots TikTok names may hold. A
#: name that goes on in letters TikTok does not allow (``@josé``) is no username.
_MENTION: Final = re.compile(r"(?<![\w.@])@([A-Za-z0-9_.]{0,23}[A-Za-z0-9_])(?![\w])")
_LISTS: Final = "|".join((*_VIDEO_LISTS, "comments"))
#: The start of a line longer than the sample: a response page (its ``data`` may name its
#: cursor and search id before the list, and ``error`` may come first), or Zeeschuimer's
#: envelope.
_PAGE_START: Final = re.compile(
    r'\s*\{\s*(?:"error"\s*:\s*\{[^{}]*\}\s*,\s*)?"data"\s*:\s*\{[^\[\]{}]{0,400}?"(?:'
    + _LISTS
    + r')"\s*:\s*\['
    r'|\s*\{[^{}]{0,600}?"source_platform"\s*:\s*"tiktok(?:\.com|-comments)"'
)
#: The start of a long array line: Research API videos, web items or comments.
_ARRAY_START: Final = re.compile(r"\s*\[\s*\{")
_NO_AUTHOR: Final = (
    "a Research API comment has no author (TikTok removes it), so it cannot be tied to an account"
)


#: The caption TikTok writes for a duet or stitch (``#duet with @name``; Spanish ``#dúo con``),
#: which most users keep: no text of their own.
_AUTO_CAPTION: Final = re.compile(r"\s*#(duet|stitch|dúo)(?: with| con) @\S+\s*", re.IGNORECASE)


def _own_text(description: str | None) -> tuple[str | None, str | None]:
    """The description without the caption TikTok pre-fills for a duet or stitch, and that
    caption's tag (``None`` when there is none).

    As text the caption would be the same "copy" in every duet, and its tag a trend of the
    platform's making; the account it names stays a mention.

    Examples
    --------
    >>> _own_text("#duet with @ann.ke so true #vote")
    ('so true #vote', 'duet')
    """
    if description is None or not description.lstrip().startswith("#"):
        return description, None
    found = _AUTO_CAPTION.match(description)
    if found is None:
        return description, None
    return description[found.end() :] or None, found[1].casefold()


def _username(value: Any, column: str) -> str | None:
    """A username; NUL characters (in some of the Research API's) are dropped, as 4CAT does."""
    name = text_at(value, column)
    return name.replace("\x00", "") if name and "\x00" in name else name


def _text_mentions(text: str | None) -> list[str]:
    return _MENTION.findall(text) if text and "@" in text else []


def _in_typed_order(tags: list[str], text: str | None) -> list[str]:
    """``tags`` in the order the text first gives them as ``#tag`` (glued tags too, which the
    generic pattern does not take), the tags the text lacks after them.

    Examples
    --------
    >>> _in_typed_order(["cat", "fy", "fyp"], "love #fy#cat#fyp")
    ['fy', 'cat', 'fyp']
    """
    if not text or "#" not in text:
        return tags
    folded = text.casefold()

    def position(tag: str) -> int:
        found = re.search("#" + re.escape(tag.casefold()) + r"(?!\w)", folded)
        return found.start() if found else len(folded)

    return sorted(tags, key=position)


def _media(music: str | None) -> list[str]:
    return [f"music:{music}"] if music and music != "0" else []


def _user(
    rows: RowCollector, row: int, name: str | None, platform: str, **fields: str | None
) -> None:
    """Add a TikTok account: its username is its id (none: the collector drops it)."""
    record = {"account_id": name, "kind": "user", "username": name, "platform": platform}
    rows.account(record | fields, row)


def _research_video(video: Any, column: str, rows: RowCollector, row: int, platform: str) -> None:
    """Add one Research API video and its author."""
    video = obj_at(video, column or "video")
    description = text_at(video.get("video_description"), field_name(column, "video_description"))
    text, caption_tag = _own_text(description)
    names = video.get("hashtag_names")
    hashtags: list[str] | None = None  # not asked for: the text's tags
    if names is not None:
        # Every tag, glued ones too, as a set: put in the order the description types them.
        listed = list_at(names, field_name(column, "hashtag_names"))
        tags = [t for t in listed if isinstance(t, str) and t and t.casefold() != caption_tag]
        hashtags = _in_typed_order(tags, text)
    tagged = video.get("video_mention_list")
    if tagged is not None:
        # The users tagged; the API does not document their form: values that look like a
        # username, with or without the @ (a description's @name may be a display name).
        tagged = list_at(tagged, field_name(column, "video_mention_list"))
        found = [m[1] for t in tagged if isinstance(t, str) and (m := _HANDLE.fullmatch(t))]
        mentions = list(dict.fromkeys(found))
    else:
        mentions = _text_mentions(description)
    video_id = ident(video.get("id"), field_name(column, "id"))
    if video_id is None:  # the documentation's example, and old saves, say video_id
        video_id = ident(video.get("video_id"), field_name(column, "video_id"))
    author = _username(video.get("username"), field_name(column, "username"))
    rows.post(
        {
            "post_id": video_id,
            "account_id": author,
            "timestamp": text_at(video.get("create_time"), field_name(column, "create_time")),
            "kind": "post",
            "text": text,
            "hashtags": hashtags,
            "mentions": mentions,
            "media": _media(ident(video.get("music_id"), field_name(column, "music_id"))),
            "platform": platform,
            "engagement": metric_sum(video, _RESEARCH_ENGAGEMENT, column),
        },
        row,
    )
    if author:
        region = text_at(video.get("region_code"), field_name(column, "region_code"))
        _user(rows, row, author, platform, location=region)


def _web_video(
    item: dict[str, Any], column: str, rows: RowCollector, row: int, platform: str
) -> None:
    """Add one video of the web app (``itemList`` items, as Zeeschuimer keeps them)."""
    author: Any = item.get("author")
    profile: dict[str, Any] = {}
    if isinstance(author, dict):  # the API's item: the author's profile
        profile = author
        author = _username(author.get("uniqueId"), field_name(column, "author.uniqueId"))
    else:  # the page's embedded item: the handle
        author = _username(author, field_name(column, "author"))
    description = text_at(item.get("desc"), field_name(column, "desc"))
    text, caption_tag = _own_text(description)
    tags: list[tuple[int, str]] = []
    mentions: list[str] | None = None
    extras = list_at(item.get("textExtra"), field_name(column, "textExtra"))
    if extras:  # the description's tags and tagged users, at their offsets, users as handles
        mentions = []
        for i, extra in enumerate(extras):
            at = field_name(column, f"textExtra[{i}]")
            extra = obj_at(extra, at)
            kind = extra.get("type")
            if kind == 1:
                tag = text_at(extra.get("hashtagName"), f"{at}.hashtagName")
                start = extra.get("start")
                if tag and tag.casefold() != caption_tag:
                    tags.append((start if isinstance(start, int) else len(tags), tag))
            elif kind == 0:
                user = _username(extra.get("userUniqueId"), f"{at}.userUniqueId")
                if user:
                    mentions.append(user)
    hashtags: list[str] | None = [t for _, t in sorted(tags, key=lambda t: t[0])] or None
    if hashtags is None:
        challenges = list_at(item.get("challenges"), field_name(column, "challenges"))
        titles = []
        for i, challenge in enumerate(challenges):
            at = field_name(column, f"challenges[{i}]")
            title = text_at(obj_at(challenge, at).get("title"), f"{at}.title")
            if title and title.casefold() != caption_tag:
                titles.append(title)
        # Without either list: the text's tags.
        hashtags = _in_typed_order(titles, text) if titles else None
    if mentions is None:
        mentions = _text_mentions(description)
    music = obj_at(item.get("music"), field_name(column, "music"))
    duet = obj_at(item.get("duetInfo"), field_name(column, "duetInfo"))
    original = ident(duet.get("duetFromId"), field_name(column, "duetInfo.duetFromId"))
    if original == "0":
        original = None
    rows.post(
        {
            "post_id": ident(item.get("id"), field_name(column, "id")),
            "account_id": author,
            "timestamp": text_at(item.get("createTime"), field_name(column, "createTime")),
            "kind": "quote" if original else "post",
            "text": text,
            "shared_post_id": original,
            "hashtags": hashtags,
            "mentions": mentions,
            "media": _media(ident(music.get("id"), field_name(column, "music.id"))),
            "platform": platform,
            "engagement": _web_engagement(item, column),
        },
        row,
    )
    if author:
        followers = obj_at(item.get("authorStats"), field_name(column, "authorStats"))
        name_at = "author.nickname" if "nickname" in profile else "nickname"
        name = text_at(profile.get("nickname", item.get("nickname")), field_name(column, name_at))
        _user(
            rows,
            row,
            author,
            platform,
            display_name=name,
            description=text_at(profile.get("signature"), field_name(column, "author.signature")),
            profile_image=text_at(
                profile.get("avatarThumb"), field_name(column, "author.avatarThumb")
            ),
            followers=metric_sum(followers, ("followerCount",), field_name(column, "authorStats")),
        )


def _web_engagement(item: dict[str, Any], column: str) -> str | None:
    """Likes, comments and shares of a web item: ``statsV2`` (exact counts, as strings) when
    present, else ``stats`` (rounded for large counts: 3400000)."""
    exact = item.get("statsV2")
    if isinstance(exact, dict):
        counts = {}
        for key in _WEB_ENGAGEMENT:
            value = exact.get(key)
            if isinstance(value, str) and value.isascii() and value.isdigit():
                value = int(value)
            counts[key] = value
        return metric_sum(counts, _WEB_ENGAGEMENT, field_name(column, "statsV2"))
    stats = obj_at(item.get("stats"), field_name(column, "stats"))
    return metric_sum(stats, _WEB_ENGAGEMENT, field_name(column, "stats"))


def _web_comment(
    item: dict[str, Any], column: str, rows: RowCollector, row: int, platform: str
) -> None:
    """Add one comment of the web app (Zeeschuimer's ``tiktok-comments``): it has an author."""
    user = obj_at(item.get("user"), field_name(column, "user"))
    author = _username(user.get("unique_id"), field_name(column, "user.unique_id"))
    text = text_at(item.get("text"), field_name(column, "text"))
    target = None
    for key in ("reply_to_reply_id", "reply_id", "aweme_id"):  # the closest parent first
        target = ident(item.get(key), field_name(column, key))
        if target and target != "0":
            break
        target = None
    rows.post(
        {
            "post_id": ident(item.get("cid"), field_name(column, "cid")),
            "account_id": author,
            "timestamp": text_at(item.get("create_time"), field_name(column, "create_time")),
            "kind": "reply" if target else "post",
            "text": text,
            "reply_to_post_id": target,
            "mentions": _text_mentions(text),
            "platform": platform,
            "engagement": metric_sum(item, ("digg_count",), column),
        },
        row,
    )
    if author:
        name = text_at(user.get("nickname"), field_name(column, "user.nickname"))
        _user(rows, row, author, platform, display_name=name)


def _is_research_video(obj: dict[str, Any]) -> bool:
    return (
        ("id" in obj or "video_id" in obj)
        and "create_time" in obj
        and any(k in obj for k in _VIDEO_KEYS)
    )


def _is_web_item(obj: dict[str, Any]) -> bool:
    return "createTime" in obj and "id" in obj and ("desc" in obj or "author" in obj)


def _is_web_comment(obj: dict[str, Any]) -> bool:
    return "cid" in obj and "aweme_id" in obj and "create_time" in obj


def _is_research_comment(obj: dict[str, Any]) -> bool:
    return "parent_comment_id" in obj and "video_id" in obj and "create_time" in obj


def _is_error(obj: dict[str, Any]) -> bool:
    """An error response of the API: an ``error`` object with its ``code`` and no data."""
    error = obj.get("error")
    return isinstance(error, dict) and "code" in error and obj.get("data") is None


def _comment_reject(comment: Any, column: str, row: int) -> ParseReject:
    """The reject of a Research API comment: it has no author."""
    comment = obj_at(comment, column or "comment")
    value = ident(comment.get("id"), field_name(column, "id"))
    return ParseReject("posts", row, column or "id", value, _NO_AUTHOR)


def _page(page: dict[str, Any], row: int, rows: RowCollector, platform: str) -> list[ParseReject]:
    """A Research API response page: its videos, its comments' rejects, or its error."""
    data = obj_at(page.get("data"), "data")
    rejects: list[ParseReject] = []
    found = False
    for key in _VIDEO_LISTS:
        if key in data:
            found = True
            for i, video in enumerate(list_at(data[key], f"data.{key}")):
                _research_video(video, f"data.{key}[{i}]", rows, row, platform)
    if "comments" in data:
        found = True
        for i, comment in enumerate(list_at(data["comments"], "data.comments")):
            rejects.append(_comment_reject(comment, f"data.comments[{i}]", row))
    for key in _FOLLOW_LISTS:  # usernames and display names, no time: side information
        if key in data:
            found = True
            for i, user in enumerate(list_at(data[key], f"data.{key}")):
                at = f"data.{key}[{i}]"
                user = obj_at(user, at)
                name = text_at(user.get("username"), f"{at}.username")
                display = text_at(user.get("display_name"), f"{at}.display_name")
                _user(rows, row, name, platform, display_name=display)
    if not found and "username" in data:  # user info: a profile, when it names its user
        name = text_at(data.get("username"), "data.username")
        _user(
            rows,
            row,
            name,
            platform,
            display_name=text_at(data.get("display_name"), "data.display_name"),
            description=text_at(data.get("bio_description"), "data.bio_description"),
            profile_image=text_at(data.get("avatar_url"), "data.avatar_url"),
            followers=metric_sum(data, ("follower_count",), "data"),
        )
        found = True
    if not found:
        error = obj_at(page.get("error"), "error")
        code = text_at(error.get("code"), "error.code")
        if code not in (None, "ok"):
            message = text_at(error.get("message"), "error.message")
            reason = f"an error response of the TikTok API: {message}"
            raise MalformedFieldError("error.code", code, reason)
        reason = "not a response of videos, comments or users (a user info needs its username)"
        raise MalformedFieldError("data", sorted(data), reason)
    return rejects


def _item(obj: Any, column: str, rows: RowCollector, row: int, platform: str) -> ParseReject | None:
    """Add one video or web comment; a Research API comment is a reject of its own."""
    obj = obj_at(obj, column or "item")
    if _is_research_comment(obj):  # before videos: a comment has an id, a time, likes
        return _comment_reject(obj, column, row)
    if _is_research_video(obj):
        _research_video(obj, column, rows, row, platform)
    elif _is_web_comment(obj):
        _web_comment(obj, column, rows, row, platform)
    elif _is_web_item(obj):
        _web_video(obj, column, rows, row, platform)
    else:
        raise MalformedFieldError(column or "id", obj.get("id"), "not a TikTok video or comment")
    return None


def map_tiktok_line(
    obj: dict[str, Any], row: int, rows: RowCollector, platform: str
) -> list[ParseReject]:
    """Map one JSON line: a Research API page, video or array of videos, or a web item."""
    if ARRAY in obj:
        found = [
            _item(v, f"[{i}]", rows, row, platform) for i, v in enumerate(list_at(obj[ARRAY], ""))
        ]
        return [r for r in found if r is not None]
    if "source_platform" in obj:  # Zeeschuimer's envelope
        source = text_at(obj.get("source_platform"), "source_platform")
        if source not in _PLATFORMS:
            raise MalformedFieldError("source_platform", source, "not a TikTok item")
        reject = _item(obj.get("data"), "data", rows, row, platform)
        return [reject] if reject else []
    if isinstance(obj.get("data"), dict) or _is_error(obj):
        return _page(obj, row, rows, platform)
    reject = _item(obj, "", rows, row, platform)
    return [reject] if reject else []


def _is_item(obj: Any) -> bool:
    return isinstance(obj, dict) and (
        _is_research_video(obj)
        or _is_web_item(obj)
        or _is_web_comment(obj)
        or _is_research_comment(obj)
    )


def _tiktok_object(obj: dict[str, Any]) -> bool:
    if ARRAY in obj:
        return bool(obj[ARRAY]) and _is_item(obj[ARRAY][0])
    if "source_platform" in obj:
        return obj.get("source_platform") in _PLATFORMS and isinstance(obj.get("data"), dict)
    data = obj.get("data")
    if isinstance(data, dict):
        return any(k in data for k in (*_VIDEO_LISTS, "comments"))
    if _is_error(obj):
        error = obj["error"]
        return "log_id" in error and "message" in error  # the fields of TikTok's errors
    return _is_item(obj)


def _long_line_is_tiktok(text: str) -> bool:
    """Whether the start of a line longer than the sample is TikTok's: a page or envelope, or
    an array whose first item has the keys of a video or comment (all before its end)."""
    if _PAGE_START.match(text):
        return True
    if not _ARRAY_START.match(text):
        return False
    keys = set(re.findall(r'"(\w+)"\s*:', text[: text.find("}") + 1 or None]))
    return _is_item(dict.fromkeys(keys))


class TiktokFormat:
    """TikTok Research API videos (pages, objects) and web items (Zeeschuimer), as JSON lines."""

    name = "tiktok"
    description = "TikTok Research API video pages or videos, or Zeeschuimer's TikTok items"
    row_label = "line"

    def sniff(self, sample: Sample) -> bool:
        obj = first_json_object(sample, arrays=True)
        if obj is None:  # a first line longer than the sample: judge from its start
            text = long_first_line(sample)
            return text is not None and _long_line_is_tiktok(text)
        return _tiktok_object(obj)

    def read(self, path: Path, sample: Sample, options: ReadOptions) -> Iterator[ReadItem]:
        rows = RowCollector(options.batch_rows)
        platform = options.platform or "tiktok"
        return read_mapped_lines(path, options, map_tiktok_line, platform, rows, arrays=True)
