"""Posts through the bridge: read one (edit context), set its featured image or tags, verify."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from pipeline.wordpress.bridge import Bridge
from pipeline.wordpress.errors import BridgeRequestError, WriteNotAppliedError

__all__ = ["Post", "get_post", "post_route", "set_featured_media", "set_post_tags"]


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
                       meta=dict(meta) if isinstance(meta, dict) else {})
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


def set_featured_media(bridge: Bridge, post_id: int, media_id: int) -> Post:
    """Make ``media_id`` the featured image of ``post_id`` and read it back.

    WordPress answers 200 and changes nothing when the attachment does not
    exist (or the body was not sent as JSON), so the write is verified with a
    fresh ``context=edit`` read; WriteNotAppliedError when it did not stick.
    """
    # json= sends Content-Type: application/json; without it WordPress ignores the body.
    bridge.request("POST", post_route(post_id), json={"featured_media": media_id})
    post = get_post(bridge, post_id)
    if post.featured_media != media_id:
        raise WriteNotAppliedError(
            f"WordPress accepted featured_media={media_id} for post {post_id} but the post "
            f"still has featured_media={post.featured_media}: attachment {media_id} may not "
            "exist (deleted from the media library?) or a plugin blocks the change")
    return post


def set_post_tags(bridge: Bridge, post_id: int, tag_ids: Iterable[int]) -> Post:
    """Make ``tag_ids`` the whole tag list of ``post_id`` and read it back.

    WordPress replaces the list and silently skips an id that is not a tag
    (answering 200), and orders the list by tag name, so the read-back
    (``context=edit``) is compared as a set; WriteNotAppliedError when it differs.
    """
    ids: list[int] = []
    for tag_id in tag_ids:
        if isinstance(tag_id, bool) or not isinstance(tag_id, int) or tag_id <= 0:
            raise BridgeRequestError(f"tag id {tag_id!r} for post {post_id} is not a positive "
                                     "integer: WordPress takes tags as integer term ids")
        ids.append(tag_id)
    ids = list(dict.fromkeys(ids))
    bridge.request("POST", post_route(post_id), json={"tags": ids})
    post = get_post(bridge, post_id)
    if set(post.tags) != set(ids):
        missing = sorted(set(ids) - set(post.tags))
        kept = sorted(set(post.tags) - set(ids))
        why = [f"tag ids {missing} may not exist (deleted in Posts > Tags?)"] if missing else []
        why += [f"tag ids {kept} were not removed"] if kept else []
        raise WriteNotAppliedError(
            f"WordPress accepted tags={ids} for post {post_id} but the post has "
            f"tags={list(post.tags)}: {'; '.join(why)}, or a plugin blocks the change")
    return post
