"""The WordPress stand-in's REST routes: permissions, validation and effects.

Called with the stand-in's lock held; the HTTP layer is :mod:`ops.standins.wordpress`.
Error bodies have WordPress's shape: ``{"code", "message", "data": {"status"}}``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any, Final
from urllib.parse import parse_qs

from ops.standins.wordpress_store import Attachment, Post, User, encode_slug, image_size

__all__ = ["ApiError", "RestRoutes"]

_POST_ITEM: Final = re.compile(r"^/wp/v2/posts/(?P<id>\d+)/?$")
_MEDIA_ITEM: Final = re.compile(r"^/wp/v2/media/(?P<id>\d+)/?$")
_MEDIA: Final = re.compile(r"^/wp/v2/media/?$")
_FILENAME: Final = re.compile(r'filename\s*=\s*"?(?P<name>[^";]+)"?', re.IGNORECASE)
_EXTENSIONS: Final = {"image/jpeg": (".jpg", ".jpeg"), "image/webp": (".webp",),
                      "image/png": (".png",)}

Answer = tuple[int, dict[str, str], Any]


class ApiError(Exception):
    """A WordPress REST error: HTTP status, ``code`` and ``message``."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message

    def body(self) -> dict[str, Any]:
        """The JSON body WordPress answers with."""
        return {"code": self.code, "message": self.message, "data": {"status": self.status}}


class RestRoutes:
    """The routes over the stand-in's posts and attachments."""

    def __init__(self, posts: dict[int, Post], media: dict[int, Attachment],
                 ids: Iterator[int], registered_meta: frozenset[str]) -> None:
        self._posts = posts
        self._media = media
        self._ids = ids
        self._registered_meta = registered_meta

    @staticmethod
    def route_name(method: str, path: str) -> str:
        """``posts.item``, ``media.item``, ``media.collection`` or ``unknown``."""
        if _POST_ITEM.match(path):
            return "posts.item"
        if _MEDIA_ITEM.match(path):
            return "media.item"
        if _MEDIA.match(path):
            return "media.collection"
        return "unknown"

    def dispatch(self, method: str, path: str, query: dict[str, str], headers: dict[str, str],
                 body: bytes, user: User | None, site: str) -> Answer:
        """Answer a REST request or raise :class:`ApiError`."""
        if m := _POST_ITEM.match(path):
            post = self._posts.get(int(m["id"]))
            if post is None:
                raise ApiError(404, "rest_post_invalid_id", "Invalid post ID.")
            if method == "GET":
                edit = query.get("context") == "edit"
                if edit:
                    _require_edit(user, "rest_forbidden_context",
                                  "Sorry, you are not allowed to edit this post.")
                return 200, {}, post.as_json(site, edit=edit)
            if method == "POST":
                _require_edit(user, "rest_cannot_edit",
                              "Sorry, you are not allowed to edit this post.")
                self._update_post(post, {**query, **_params(headers, body)})
                return 200, {}, post.as_json(site, edit=True)
        elif m := _MEDIA_ITEM.match(path):
            item = self._media.get(int(m["id"]))
            if item is None:
                raise ApiError(404, "rest_post_invalid_id", "Invalid post ID.")
            if method == "GET":
                return 200, {}, item.as_json(site)
            if method == "POST":
                _require_edit(user, "rest_cannot_edit",
                              "Sorry, you are not allowed to edit this post.")
                _update_media(item, {**query, **_params(headers, body)})
                return 200, {}, item.as_json(site)
        elif _MEDIA.match(path):
            if method == "GET":
                return self._list_media(query, site)
            if method == "POST":
                _require_edit(user, "rest_cannot_create",
                              "Sorry, you are not allowed to create posts as this user.")
                return 201, {}, self._upload(query, headers, body).as_json(site)
        raise ApiError(404, "rest_no_route",
                       "No route was found matching the URL and request method.")

    def _update_post(self, post: Post, params: dict[str, Any]) -> None:
        if "featured_media" in params:
            media_id = _int_param(params["featured_media"], "featured_media")
            # WordPress 6.1 answers 200 and keeps the old value for a missing attachment.
            if media_id == 0 or media_id in self._media:
                post.featured_media = media_id
        if "title" in params:
            title = params["title"]
            post.title = str(title.get("raw", "") if isinstance(title, dict) else title)
        if "content" in params:
            content = params["content"]
            post.content = str(content.get("raw", "") if isinstance(content, dict) else content)
        if "tags" in params:
            tags = params["tags"]
            if not isinstance(tags, list):
                raise ApiError(400, "rest_invalid_param", "Invalid parameter(s): tags")
            post.tags = [_int_param(t, "tags") for t in tags]
        if isinstance(params.get("meta"), dict):
            # Keys not registered with show_in_rest are dropped without a word.
            post.meta.update({k: v for k, v in params["meta"].items()
                              if k in self._registered_meta})

    def _upload(self, query: dict[str, str], headers: dict[str, str], body: bytes) -> Attachment:
        mime = (headers.get("content-type") or "").split(";")[0].strip().lower()
        disposition = headers.get("content-disposition")
        if not mime:
            raise ApiError(400, "rest_upload_no_content_type", "No Content-Type supplied.")
        if not disposition:
            raise ApiError(400, "rest_upload_no_content_disposition",
                           "No Content-Disposition supplied.")
        if not body:
            raise ApiError(400, "rest_upload_no_data", "No data supplied.")
        match = _FILENAME.search(disposition)
        if "filename*" in disposition.lower() or match is None or not match["name"].isascii():
            raise ApiError(400, "rest_upload_invalid_disposition",
                           "Invalid Content-Disposition supplied. Content-Disposition needs "
                           "to be formatted as `attachment; filename=\"image.png\"` or similar.")
        name = match["name"].strip().rsplit("/", 1)[-1]
        stem, dot, ext = name.rpartition(".")
        size = image_size(body, mime)
        if not dot or f".{ext.lower()}" not in _EXTENSIONS.get(mime, ()) or size is None:
            raise ApiError(500, "rest_upload_sideload_error",
                           "Sorry, you are not allowed to upload this file type.")
        filename = self._unique_filename(stem, ext.lower())
        title = filename.rsplit(".", 1)[0]
        item = Attachment(id=next(self._ids), slug=self._unique_slug(encode_slug(title)),
                          title=query.get("title") or title, filename=filename,
                          mime_type=mime, data=body, width=size[0], height=size[1])
        _update_media(item, query)
        self._media[item.id] = item
        return item

    def _list_media(self, query: dict[str, str], site: str) -> Answer:
        found = sorted(self._media.values(), key=lambda m: m.id, reverse=True)
        if query.get("slug"):
            slugs = {s.strip() for s in query["slug"].split(",")}
            found = [m for m in found if m.slug in slugs]
        if query.get("search"):
            needle = query["search"].lower()
            found = [m for m in found if needle in m.title.lower()]
        per_page = _int_param(query.get("per_page", "10"), "per_page")
        page = _int_param(query.get("page", "1"), "page")
        if not 1 <= per_page <= 100:
            raise ApiError(400, "rest_invalid_param", "Invalid parameter(s): per_page")
        shown = found[(page - 1) * per_page:page * per_page]
        pages = max(1, -(-len(found) // per_page))
        return 200, {"X-WP-Total": str(len(found)), "X-WP-TotalPages": str(pages)}, \
            [m.as_json(site) for m in shown]

    def _unique_filename(self, stem: str, ext: str) -> str:
        taken = {m.filename for m in self._media.values()}
        candidate, n = f"{stem}.{ext}", 1
        while candidate in taken:
            candidate, n = f"{stem}-{n}.{ext}", n + 1
        return candidate

    def _unique_slug(self, slug: str) -> str:
        taken = {m.slug for m in self._media.values()} | {p.slug for p in self._posts.values()}
        candidate, n = slug, 2
        while candidate in taken:
            candidate, n = f"{slug}-{n}", n + 1
        return candidate


def _require_edit(user: User | None, code: str, message: str) -> None:
    if user is None:
        raise ApiError(401, code, message)
    if not user.can_edit:
        raise ApiError(403, code, message)


def _params(headers: dict[str, str], body: bytes) -> dict[str, Any]:
    """The body's parameters, read only for the content types WordPress parses."""
    content_type = (headers.get("content-type") or "").split(";")[0].strip().lower()
    if content_type == "application/json" and body:
        try:
            data = json.loads(body)
        except ValueError:
            raise ApiError(400, "rest_invalid_json", "Invalid JSON body passed.") from None
        return data if isinstance(data, dict) else {}
    if content_type == "application/x-www-form-urlencoded":
        return {k: v[-1] for k, v in parse_qs(body.decode(errors="replace")).items()}
    # Anything else (no Content-Type, text/plain): the body is ignored, as WordPress does.
    return {}


def _update_media(item: Attachment, params: dict[str, Any]) -> None:
    if "alt_text" in params:
        item.alt_text = str(params["alt_text"])
    if "title" in params:
        title = params["title"]
        item.title = str(title.get("raw", "") if isinstance(title, dict) else title)
    if "post" in params:
        item.post = _int_param(params["post"], "post") or None


def _int_param(value: Any, name: str) -> int:
    if isinstance(value, bool):
        raise ApiError(400, "rest_invalid_param", f"Invalid parameter(s): {name}")
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ApiError(400, "rest_invalid_param", f"Invalid parameter(s): {name}") from None
    if number < 0:
        raise ApiError(400, "rest_invalid_param", f"Invalid parameter(s): {name}")
    return number
