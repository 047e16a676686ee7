"""Posts through the bridge: read one (edit context), write several fields in one request and
verify them; list every published post (for GA4 scoring).

Every ``POST /wp/v2/posts/<id>`` is one ``save_post``: it bumps ``modified``
and runs every hook of the site (cache purges, pings, revisions). So a job
writes all it has for a post in ONE request (:func:`write_post`: tags, meta
and ``featured_media`` together) and reads it back once.
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from pipeline.wordpress.bridge import Bridge
from pipeline.wordpress.errors import BridgeRequestError, WriteNotAppliedError

__all__ = ["LIST_PAGE_SIZE", "Post", "PostSummary", "check_access", "get_post", "list_posts",
           "post_route",
           "set_featured_media", "set_post_tags", "write_post"]

#: Posts per page of the listing: WordPress's maximum.
LIST_PAGE_SIZE: Final = 100
#: A site with more pages than this is refused rather than listed for an hour.
_MAX_PAGES: Final = 1000
_LIST_FIELDS: Final = "id,slug,link,date,modified,title"


@dataclass(frozen=True)
class Post:
    """A post's raw values as ``context=edit`` gives them (``title`` is the raw title)."""

    id: int
    title: str
    content: str
    slug: str
    status: str
    featured_media: int
    tags: tuple[int, ...]
    #: Registered meta; WordPress answers ``[]`` when none is registered: kept as ``{}``.
    meta: dict[str, Any]
    #: The post's password ("" when it is not password-protected).
    password: str = ""
    #: When the post last changed, in UTC (``2026-11-20T00:00:00``); every REST write bumps it.
    modified_gmt: str = ""
    #: The post's public address (``link``), what search engines are told about.
    link: str = ""

    @classmethod
    def from_json(cls, data: Any) -> Post:
        """Parse a ``/wp/v2/posts/<id>?context=edit`` answer."""
        try:
            meta = data.get("meta") or {}
            return cls(id=int(data["id"]), title=str(data["title"]["raw"]),
                       content=str(data["content"]["raw"]), slug=str(data.get("slug", "")),
                       status=str(data.get("status", "")),
                       featured_media=int(data.get("featured_media") or 0),
                       tags=tuple(int(t) for t in data.get("tags") or ()),
                       meta=dict(meta) if isinstance(meta, dict) else {},
                       password=str(data.get("password") or ""),
                       modified_gmt=str(data.get("modified_gmt") or ""),
                       link=str(data.get("link") or ""))
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            raise BridgeRequestError(
                f"WordPress answered a post without the edit-context fields ({exc!r}); the "
                "BRIDGE_TOKEN user must be able to edit posts (context=edit)") from None


def post_route(post_id: int) -> str:
    """``/wp/v2/posts/<id>``."""
    return f"/wp/v2/posts/{post_id}"


def get_post(bridge: Bridge, post_id: int) -> Post:
    """Read post ``post_id`` with its raw values (``context=edit``)."""
    return Post.from_json(bridge.request("GET", post_route(post_id),
                                         params={"context": "edit"}))


def check_access(bridge: Bridge) -> None:
    """Raise the bridge's error unless the credentials may read posts for editing.

    ``GET /wp/v2/posts?context=edit``: 401 for a wrong or revoked Application
    Password, 403 for a user who may not edit posts, 404 (no route) for a
    ``BRIDGE_BASE`` that is not the REST root; the probe of a paused WordPress.
    """
    answer = bridge.request("GET", "/wp/v2/posts",
                            params={"context": "edit", "per_page": 1, "_fields": "id"})
    if not isinstance(answer, list):
        raise BridgeRequestError("WordPress answered GET /wp/v2/posts with something other "
                                 "than a list; check BRIDGE_BASE is the REST root (…/wp-json)")


def write_post(bridge: Bridge, post_id: int, *, tags: Iterable[int] | None = None,
               featured_media: int | None = None,
               meta: Mapping[str, str] | None = None) -> Post:
    """Write the given fields of ``post_id`` in ONE request and read the post back.

    ``tags`` replaces the whole tag list; ``meta`` sets those keys (the caller
    checks them, see :func:`pipeline.wordpress.seo_meta.write_seo_post`).
    WordPress answers 200 and changes nothing for a tag id that is no tag, a
    missing attachment or a body not sent as JSON, so the tags (as a set:
    WordPress orders them by name) and ``featured_media`` are compared with a
    fresh ``context=edit`` read: WriteNotAppliedError when they did not stick.
    Nothing given: no request is sent, the post is only read.
    """
    body: dict[str, Any] = {}
    ids: list[int] | None = None
    if tags is not None:
        ids = _tag_ids(post_id, tags)
        body["tags"] = ids
    if featured_media is not None:
        body["featured_media"] = featured_media
    if meta:
        body["meta"] = dict(meta)
    if not body:
        return get_post(bridge, post_id)
    # json= sends Content-Type: application/json; without it WordPress ignores the body.
    bridge.request("POST", post_route(post_id), json=body)
    post = get_post(bridge, post_id)
    if featured_media is not None and post.featured_media != featured_media:
        raise WriteNotAppliedError(
            f"WordPress accepted featured_media={featured_media} for post {post_id} but the "
            f"post still has featured_media={post.featured_media}: attachment {featured_media} "
            "may not exist (deleted from the media library?) or a plugin blocks the change")
    if ids is not None and set(post.tags) != set(ids):
        missing = sorted(set(ids) - set(post.tags))
        kept = sorted(set(post.tags) - set(ids))
        why = [f"tag ids {missing} may not exist (deleted in Posts > Tags?)"] if missing else []
        why += [f"tag ids {kept} were not removed"] if kept else []
        raise WriteNotAppliedError(
            f"WordPress accepted tags={ids} for post {post_id} but the post has "
            f"tags={list(post.tags)}: {'; '.join(why)}, or a plugin blocks the change")
    return post


def set_featured_media(bridge: Bridge, post_id: int, media_id: int) -> Post:
    """Make ``media_id`` the featured image of ``post_id`` and read it back (:func:`write_post`)."""
    return write_post(bridge, post_id, featured_media=media_id)


def set_post_tags(bridge: Bridge, post_id: int, tag_ids: Iterable[int]) -> Post:
    """Make ``tag_ids`` the whole tag list of ``post_id`` and read it back (:func:`write_post`)."""
    return write_post(bridge, post_id, tags=tag_ids)


def _tag_ids(post_id: int, tag_ids: Iterable[int]) -> list[int]:
    ids: list[int] = []
    for tag_id in tag_ids:
        if isinstance(tag_id, bool) or not isinstance(tag_id, int) or tag_id <= 0:
            raise BridgeRequestError(f"tag id {tag_id!r} for post {post_id} is not a positive "
                                     "integer: WordPress takes tags as integer term ids")
        ids.append(tag_id)
    return list(dict.fromkeys(ids))


@dataclass(frozen=True)
class PostSummary:
    """A published post as the listing gives it; ``title`` is plain text (entities decoded).

    ``date`` and ``modified`` are in the site's time zone, as WordPress answers them.
    Satisfies :class:`pipeline.ga4.paths.PostLike`.
    """

    id: int
    slug: str
    link: str
    date: dt.datetime
    modified: dt.datetime
    title: str

    @classmethod
    def from_json(cls, data: Any) -> PostSummary:
        """Parse one item of ``/wp/v2/posts?_fields=id,slug,link,date,modified,title``."""
        try:
            title = data.get("title")
            rendered = title.get("rendered", "") if isinstance(title, dict) else str(title or "")
            return cls(id=int(data["id"]), slug=str(data.get("slug", "")),
                       link=str(data["link"]), date=dt.datetime.fromisoformat(data["date"]),
                       modified=dt.datetime.fromisoformat(data.get("modified") or data["date"]),
                       title=html.unescape(str(rendered)))
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            raise BridgeRequestError(
                f"WordPress listed a post without id/link/date ({exc!r}); check that BRIDGE_BASE "
                "is the REST root of a WordPress site") from None


def list_posts(bridge: Bridge, *, modified_after: dt.datetime | None = None
               ) -> list[PostSummary]:
    """Every published post, paging through ``GET /wp/v2/posts`` by ``X-WP-TotalPages``.

    ``modified_after`` (site-local time, as WordPress answers ``modified``)
    keeps only the posts changed after it (WordPress 5.7+'s ``modified_after``).

    Pages are asked in id order so that a post published while we page
    lands on the last page instead of shifting the others; a post seen twice
    is kept once.
    """
    found: dict[int, PostSummary] = {}
    page, pages = 1, 1
    since = {"modified_after": modified_after.replace(tzinfo=None).isoformat(
        timespec="seconds")} if modified_after is not None else {}
    while page <= pages:
        items, headers = bridge.request_with_headers(
            "GET", "/wp/v2/posts",
            params={"_fields": _LIST_FIELDS, "per_page": LIST_PAGE_SIZE, "page": page,
                    "orderby": "id", "order": "asc", **since})
        if page == 1:
            pages = _total_pages(headers)
        if not isinstance(items, list):
            raise BridgeRequestError(f"WordPress answered GET /wp/v2/posts page {page} with "
                                     f"{type(items).__name__}, not a list of posts")
        for item in items:
            post = PostSummary.from_json(item)
            found.setdefault(post.id, post)
        page += 1
    return sorted(found.values(), key=lambda p: p.id)


def _total_pages(headers: Any) -> int:
    raw = headers.get("X-WP-TotalPages") if headers is not None else None
    try:
        pages = int(str(raw))
    except (TypeError, ValueError):
        raise BridgeRequestError(
            f"WordPress answered GET /wp/v2/posts without a valid X-WP-TotalPages header "
            f"({raw!r}); a proxy or plugin may strip it: let X-WP-* headers through") from None
    if not 0 <= pages <= _MAX_PAGES:
        raise BridgeRequestError(f"WordPress says X-WP-TotalPages={pages}: more than "
                                 f"{_MAX_PAGES} pages of {LIST_PAGE_SIZE} posts is not supported")
    return pages
