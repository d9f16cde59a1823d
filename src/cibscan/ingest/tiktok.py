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
#: Fields only a Research API video has (one is enough, beside id, time and author).
_VIDEO_KEYS: Final = (
    "video_description",
    "music_id",
    "region_code",
    "hashtag_names",
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
#: An ``@username`` in a text; the generic pattern stops at the dots TikTok names may hold.
_MENTION: Final = re.compile(r"(?<![\w.@])@([A-Za-z0-9_.]{0,23}[A-Za-z0-9_])")
_PAGE_START: Final = re.compile(
    r'\s*[\[{]\s*(?:"data"\s*:\s*\{\s*"(?:' + "|".join(_VIDEO_LISTS) + r'|comments)"\s*:'
    r'|"nav_index"[^{]{0,300}"source_platform"\s*:\s*"tiktok)'
)
_NO_AUTHOR: Final = (
    "a Research API comment has no author (TikTok removes it), so it cannot be tied to an account"
)


def _text_mentions(text: str | None) -> list[str]:
    return _MENTION.findall(text) if text and "@" in text else []


def _media(music: str | None) -> list[str]:
    return [f"music:{music}"] if music and music != "0" else []


def _research_video(video: Any, column: str, rows: RowCollector, row: int, platform: str) -> None:
    """Add one Research API video and its author."""
    video = obj_at(video, column or "video")
    description = text_at(video.get("video_description"), field_name(column, "video_description"))
    hashtags: list[Any] | None = None
    if description is None or "#" not in description:
        # The description's tags are in the order typed; hashtag_names is a set.
        names = video.get("hashtag_names")
        hashtags = (
            list_at(names, field_name(column, "hashtag_names")) if names is not None else None
        )
    # The description's @names, then the users tagged in the video (whose form the API does
    # not document: values that look like a username, with or without the @).
    tagged = list_at(video.get("video_mention_list"), field_name(column, "video_mention_list"))
    mentions = _text_mentions(description)
    mentions += [m[1] for t in tagged if isinstance(t, str) and (m := _HANDLE.fullmatch(t))]
    mentions = list(dict.fromkeys(mentions))
    video_id = ident(video.get("id"), field_name(column, "id"))
    if video_id is None:  # the documentation's example, and old saves, say video_id
        video_id = ident(video.get("video_id"), field_name(column, "video_id"))
    author = text_at(video.get("username"), field_name(column, "username"))
    rows.post(
        {
            "post_id": video_id,
            "account_id": author,
            "timestamp": text_at(video.get("create_time"), field_name(column, "create_time")),
            "kind": "post",
            "text": description,
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
        rows.account(
            {"account_id": author, "kind": "user", "username": author, "location": region,
             "platform": platform},
            row,
        )  # fmt: skip


def _web_video(
    item: dict[str, Any], column: str, rows: RowCollector, row: int, platform: str
) -> None:
    """Add one video of the web app (``itemList`` items, as Zeeschuimer keeps them)."""
    author: Any = item.get("author")
    profile: dict[str, Any] = {}
    if isinstance(author, dict):  # the API's item: the author's profile
        profile = author
        author = text_at(author.get("uniqueId"), field_name(column, "author.uniqueId"))
    else:  # the page's embedded item: the handle
        author = text_at(author, field_name(column, "author"))
    description = text_at(item.get("desc"), field_name(column, "desc"))
    tags: list[str] = []
    mentions: list[str] = []
    extras = list_at(item.get("textExtra"), field_name(column, "textExtra"))
    if extras:  # the description's tags and tagged users, with the users' handles
        for i, extra in enumerate(extras):
            at = field_name(column, f"textExtra[{i}]")
            extra = obj_at(extra, at)
            kind = extra.get("type")
            value = text_at(
                extra.get("hashtagName" if kind == 1 else "userUniqueId"),
                f"{at}.hashtagName" if kind == 1 else f"{at}.userUniqueId",
            )
            if value and kind in (0, 1):
                (tags if kind == 1 else mentions).append(value)
    else:
        for i, challenge in enumerate(
            list_at(item.get("challenges"), field_name(column, "challenges"))
        ):
            at = field_name(column, f"challenges[{i}]")
            title = text_at(obj_at(challenge, at).get("title"), f"{at}.title")
            if title:
                tags.append(title)
    # The description's tags are in the order typed; these are the fallback.
    hashtags = None if description and "#" in description else tags
    if not extras:
        mentions = _text_mentions(description)
    music = obj_at(item.get("music"), field_name(column, "music"))
    duet = obj_at(item.get("duetInfo"), field_name(column, "duetInfo"))
    original = ident(duet.get("duetFromId"), field_name(column, "duetInfo.duetFromId"))
    if original == "0":
        original = None
    stats = obj_at(item.get("stats"), field_name(column, "stats"))
    rows.post(
        {
            "post_id": ident(item.get("id"), field_name(column, "id")),
            "account_id": author,
            "timestamp": text_at(item.get("createTime"), field_name(column, "createTime")),
            "kind": "quote" if original else "post",
            "text": description,
            "shared_post_id": original,
            "hashtags": hashtags,
            "mentions": mentions,
            "media": _media(ident(music.get("id"), field_name(column, "music.id"))),
            "platform": platform,
            "engagement": metric_sum(stats, _WEB_ENGAGEMENT, field_name(column, "stats")),
        },
        row,
    )
    if author:
        followers = obj_at(item.get("authorStats"), field_name(column, "authorStats"))
        name = profile.get("nickname", item.get("nickname"))
        rows.account(
            {
                "account_id": author,
                "kind": "user",
                "username": author,
                "display_name": text_at(name, field_name(column, "author.nickname")),
                "description": text_at(
                    profile.get("signature"), field_name(column, "author.signature")
                ),
                "profile_image": text_at(
                    profile.get("avatarThumb"), field_name(column, "author.avatarThumb")
                ),
                "followers": metric_sum(
                    followers, ("followerCount",), field_name(column, "authorStats")
                ),
                "platform": platform,
            },
            row,
        )


def _web_comment(
    item: dict[str, Any], column: str, rows: RowCollector, row: int, platform: str
) -> None:
    """Add one comment of the web app (Zeeschuimer's ``tiktok-comments``): it has an author."""
    user = obj_at(item.get("user"), field_name(column, "user"))
    author = text_at(user.get("unique_id"), field_name(column, "user.unique_id"))
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
            "text": text_at(item.get("text"), field_name(column, "text")),
            "reply_to_post_id": target,
            "platform": platform,
            "engagement": metric_sum(item, ("digg_count",), column),
        },
        row,
    )
    if author:
        name = text_at(user.get("nickname"), field_name(column, "user.nickname"))
        rows.account(
            {"account_id": author, "kind": "user", "username": author, "display_name": name,
             "platform": platform},
            row,
        )  # fmt: skip


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
            comment = obj_at(comment, f"data.comments[{i}]")
            value = ident(comment.get("id"), f"data.comments[{i}].id")
            rejects.append(ParseReject("posts", row, f"data.comments[{i}]", value, _NO_AUTHOR))
    for key in _FOLLOW_LISTS:  # usernames and display names, no time: side information
        if key in data:
            found = True
            for i, user in enumerate(list_at(data[key], f"data.{key}")):
                at = f"data.{key}[{i}]"
                user = obj_at(user, at)
                name = text_at(user.get("username"), f"{at}.username")
                rows.account(
                    {"account_id": name, "kind": "user", "username": name, "platform": platform,
                     "display_name": text_at(user.get("display_name"), f"{at}.display_name")},
                    row,
                )  # fmt: skip
    if not found and "username" in data:  # user info: a profile, when it names its user
        name = text_at(data.get("username"), "data.username")
        rows.account(
            {
                "account_id": name,
                "kind": "user",
                "username": name,
                "display_name": text_at(data.get("display_name"), "data.display_name"),
                "description": text_at(data.get("bio_description"), "data.bio_description"),
                "profile_image": text_at(data.get("avatar_url"), "data.avatar_url"),
                "followers": metric_sum(data, ("follower_count",), "data"),
                "platform": platform,
            },
            row,
        )
        found = True
    error = obj_at(page.get("error"), "error")
    code = text_at(error.get("code"), "error.code")
    if not found:
        if code not in (None, "ok"):
            message = text_at(error.get("message"), "error.message")
            reason = f"an error response of the TikTok API: {message}"
            raise MalformedFieldError("error.code", code, reason)
        reason = "not a response of videos, comments or users (a user info needs its username)"
        raise MalformedFieldError("data", sorted(data), reason)
    return rejects


def _item(obj: Any, column: str, rows: RowCollector, row: int, platform: str) -> None:
    obj = obj_at(obj, column or "item")
    if _is_research_video(obj):
        _research_video(obj, column, rows, row, platform)
    elif _is_web_comment(obj):
        _web_comment(obj, column, rows, row, platform)
    elif _is_web_item(obj):
        _web_video(obj, column, rows, row, platform)
    else:
        raise MalformedFieldError(column or "id", obj.get("id"), "not a TikTok video or comment")


def map_tiktok_line(
    obj: dict[str, Any], row: int, rows: RowCollector, platform: str
) -> list[ParseReject]:
    """Map one JSON line: a Research API page, video or array of videos, or a web item."""
    if ARRAY in obj:
        for i, video in enumerate(list_at(obj[ARRAY], "")):
            _item(video, f"[{i}]", rows, row, platform)
        return []
    if "source_platform" in obj:  # Zeeschuimer's envelope
        source = text_at(obj.get("source_platform"), "source_platform")
        if source not in _PLATFORMS:
            raise MalformedFieldError("source_platform", source, "not a TikTok item")
        _item(obj.get("data"), "data", rows, row, platform)
        return []
    if isinstance(obj.get("data"), dict) or (
        "error" in obj and "data" not in obj and isinstance(obj.get("error"), dict)
    ):
        return _page(obj, row, rows, platform)
    _item(obj, "", rows, row, platform)
    return []


def _tiktok_object(obj: dict[str, Any]) -> bool:
    if ARRAY in obj:
        items = obj[ARRAY]
        return bool(items) and isinstance(items[0], dict) and _is_research_video(items[0])
    if "source_platform" in obj:
        return obj.get("source_platform") in _PLATFORMS and isinstance(obj.get("data"), dict)
    data = obj.get("data")
    if isinstance(data, dict) and isinstance(obj.get("error"), dict):
        return any(k in data for k in (*_VIDEO_LISTS, "comments"))
    return _is_research_video(obj) or _is_web_item(obj) or _is_web_comment(obj)


class TiktokFormat:
    """TikTok Research API videos (pages, objects) and web items (Zeeschuimer), as JSON lines."""

    name = "tiktok"
    description = "TikTok Research API video pages or videos, or Zeeschuimer's TikTok items"
    row_label = "line"

    def sniff(self, sample: Sample) -> bool:
        obj = first_json_object(sample, arrays=True)
        if obj is None:  # a first line longer than the sample: judge from its start
            text = long_first_line(sample)
            return text is not None and bool(_PAGE_START.match(text))
        return _tiktok_object(obj)

    def read(self, path: Path, sample: Sample, options: ReadOptions) -> Iterator[ReadItem]:
        rows = RowCollector(options.batch_rows)
        platform = options.platform or "tiktok"
        return read_mapped_lines(path, options, map_tiktok_line, platform, rows, arrays=True)
