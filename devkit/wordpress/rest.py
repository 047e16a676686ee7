"""The WordPress stand-in's REST routes for posts and media: permissions, validation, effects.

Called with the stand-in's lock held; the HTTP layer is :mod:`devkit.wordpress.standin`,
the tag routes are :mod:`devkit.wordpress.tags`. Error bodies have
WordPress's shape: ``{"code", "message", "data": {"status", ...}}``.

A post's ``tags`` are replaced as a whole; an id that is no tag is skipped
without a word (WordPress 6.1's ``wp_set_object_terms`` skips a term id it
cannot find) and the list is answered in tag-name order, as ``get_the_terms``
gives it. Registered meta is sanitized with ``sanitize_text_field``, as
``ops/wordpress/atr-seo-meta.php`` registers it; ``null`` deletes a key, a
value that is no string is 400 ``rest_invalid_type``. ``featured_media`` set
to a post that is not an attachment removes the featured image (0); set to
an id that does not exist it is ignored. Every update bumps ``modified``, and
``DELETE`` moves a post to the trash (``force=true`` deletes it).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from typing import Any, Final, TypeVar
from urllib.parse import parse_qs

from devkit.wordpress.store import (
    Attachment,
    Post,
    Tag,
    User,
    encode_slug,
    image_size,
    sanitize_text_field,
)

__all__ = ["Answer", "ApiError", "RestRoutes", "body_params", "filter_fields", "int_param",
           "paginate", "require_edit", "sorted_tag_ids"]

_POST_ITEM: Final = re.compile(r"^/wp/v2/posts/(?P<id>\d+)/?$")
_POSTS: Final = re.compile(r"^/wp/v2/posts/?$")
_MEDIA_ITEM: Final = re.compile(r"^/wp/v2/media/(?P<id>\d+)/?$")
_MEDIA: Final = re.compile(r"^/wp/v2/media/?$")
_USERS_ME: Final = re.compile(r"^/wp/v2/users/me/?$")
_FILENAME: Final = re.compile(r'filename\s*=\s*"?(?P<name>[^";]+)"?', re.IGNORECASE)
_EXTENSIONS: Final = {"image/jpeg": (".jpg", ".jpeg"), "image/webp": (".webp",),
                      "image/png": (".png",)}

Answer = tuple[int, dict[str, str], Any]
T = TypeVar("T")


class ApiError(Exception):
    """A WordPress REST error: HTTP status, ``code``, ``message`` and more ``data``."""

    def __init__(self, status: int, code: str, message: str,
                 data: Mapping[str, Any] | None = None, *,
                 additional_data: list[dict[str, Any]] | None = None) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.data = dict(data or {})
        self.additional_data = additional_data

    def body(self) -> dict[str, Any]:
        """The JSON body WordPress answers with (``additional_data`` when there is some)."""
        body: dict[str, Any] = {"code": self.code, "message": self.message,
                                "data": {"status": self.status, **self.data}}
        if self.additional_data is not None:
            body["additional_data"] = self.additional_data
        return body


class RestRoutes:
    """The routes over the stand-in's posts and attachments (tags are only read here)."""

    def __init__(self, posts: dict[int, Post], media: dict[int, Attachment],
                 tags: dict[int, Tag], ids: Iterator[int],
                 registered_meta: frozenset[str]) -> None:
        self._posts = posts
        self._media = media
        self._tags = tags
        self._ids = ids
        self._registered_meta = registered_meta

    @staticmethod
    def route_name(method: str, path: str) -> str:
        """The route name (``posts.item``, ``posts.collection``, ``media.item``...)."""
        if _POST_ITEM.match(path):
            return "posts.item"
        if _POSTS.match(path):
            return "posts.collection"
        if _MEDIA_ITEM.match(path):
            return "media.item"
        if _MEDIA.match(path):
            return "media.collection"
        if _USERS_ME.match(path):
            return "users.me"
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
                    require_edit(user, "rest_forbidden_context",
                                 "Sorry, you are not allowed to edit this post.")
                return 200, {}, post.as_json(site, edit=edit,
                                             registered_meta=self._registered_meta)
            if method == "POST":
                require_edit(user, "rest_cannot_edit",
                             "Sorry, you are not allowed to edit this post.")
                self._update_post(post, {**query, **body_params(headers, body)})
                post.touch()  # every REST write bumps modified, even one that changed nothing
                return 200, {}, post.as_json(site, edit=True,
                                             registered_meta=self._registered_meta)
            if method == "DELETE":
                require_edit(user, "rest_cannot_delete",
                             "Sorry, you are not allowed to delete this post.")
                if query.get("force") in ("1", "true"):
                    previous = post.as_json(site, edit=True,
                                            registered_meta=self._registered_meta)
                    del self._posts[post.id]
                    return 200, {}, {"deleted": True, "previous": previous}
                if post.status == "trash":
                    raise ApiError(410, "rest_already_trashed",
                                   "The post has already been deleted.")
                post.status = "trash"
                post.touch()
                return 200, {}, post.as_json(site, edit=True,
                                             registered_meta=self._registered_meta)
        elif _POSTS.match(path) and method == "GET":
            if query.get("context") == "edit":
                require_edit(user, "rest_forbidden_context",
                             "Sorry, you are not allowed to edit posts in this post type.")
            return self._list_posts(query, site)
        elif _USERS_ME.match(path) and method == "GET":
            if user is None:
                raise ApiError(401, "rest_not_logged_in", "You are not currently logged in.")
            return 200, {}, {"id": user.id, "name": user.login, "slug": user.login}
        elif m := _MEDIA_ITEM.match(path):
            item = self._media.get(int(m["id"]))
            if item is None:
                raise ApiError(404, "rest_post_invalid_id", "Invalid post ID.")
            if method == "GET":
                return 200, {}, item.as_json(site)
            if method == "POST":
                require_edit(user, "rest_cannot_edit",
                             "Sorry, you are not allowed to edit this post.")
                _update_media(item, {**query, **body_params(headers, body)})
                return 200, {}, item.as_json(site)
            if method == "DELETE":
                require_edit(user, "rest_cannot_delete",
                             "Sorry, you are not allowed to delete this post.")
                if query.get("force") not in ("1", "true"):
                    # No MEDIA_TRASH: WordPress deletes media for good or not at all.
                    raise ApiError(501, "rest_trash_not_supported",
                                   "The post does not support trashing. Set 'force=true' "
                                   "to delete.")
                previous = item.as_json(site)
                del self._media[item.id]
                for post in self._posts.values():
                    if post.featured_media == item.id:
                        post.featured_media = 0
                return 200, {}, {"deleted": True, "previous": previous}
        elif _MEDIA.match(path):
            if method == "GET":
                return self._list_media(query, site)
            if method == "POST":
                require_edit(user, "rest_cannot_create",
                             "Sorry, you are not allowed to create posts as this user.")
                return 201, {}, self._upload(query, headers, body).as_json(site)
        raise ApiError(404, "rest_no_route",
                       "No route was found matching the URL and request method.")

    def _update_post(self, post: Post, params: dict[str, Any]) -> None:
        if isinstance(params.get("meta"), dict):
            # Types are checked (400) before anything is written.
            for key, value in params["meta"].items():
                if key in self._registered_meta and value is not None \
                        and not isinstance(value, str):
                    raise ApiError(400, "rest_invalid_type",
                                   f"meta.{key} is not of type string.",
                                   additional_data=[{"param": f"meta.{key}"}])
        if "featured_media" in params:
            media_id = int_param(params["featured_media"], "featured_media")
            # WordPress 6.1 answers 200 and keeps the old value for a missing
            # attachment, but a post that is no attachment removes the image.
            if media_id == 0 or media_id in self._media:
                post.featured_media = media_id
            elif media_id in self._posts:
                post.featured_media = 0
        for name in ("password", "status"):
            if name in params:
                setattr(post, name, str(params[name]))
        if "excerpt" in params:
            excerpt = params["excerpt"]
            post.excerpt = str(excerpt.get("raw", "") if isinstance(excerpt, dict) else excerpt)
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
            post.tags = sorted_tag_ids([int_param(t, "tags") for t in tags], self._tags)
        if isinstance(params.get("meta"), dict):
            # Keys not registered with show_in_rest are dropped without a word.
            meta = {k: v for k, v in params["meta"].items() if k in self._registered_meta}
            for key, value in meta.items():
                if value is None:
                    post.meta.pop(key, None)
                else:
                    post.meta[key] = sanitize_text_field(value)

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
        title = query.get("title") or filename.rsplit(".", 1)[0]
        # Without a slug WordPress derives it from the title (a Korean title
        # gives a percent-encoded one); a slug that is taken gets -2, -3...
        slug = encode_slug(query.get("slug") or title)
        item = Attachment(id=next(self._ids), slug=self._unique_slug(slug),
                          title=title, filename=filename,
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
            # WordPress searches the title, the caption and the description.
            needle = query["search"].lower()
            found = [m for m in found
                     if needle in m.title.lower() or needle in m.description.lower()]
        if query.get("parent"):
            parents = {int_param(p, "parent") for p in query["parent"].split(",")}
            found = [m for m in found if (m.post or 0) in parents]
        if query.get("orderby", "date") == "id":
            found.sort(key=lambda m: m.id, reverse=query.get("order", "desc") == "desc")
        shown, headers = paginate(found, query)
        return 200, headers, [m.as_json(site) for m in shown]

    def _list_posts(self, query: dict[str, str], site: str) -> Answer:
        """Published posts, newest first (or ``orderby=id``), paged as WordPress 6.1 pages.

        A page past the last is 400 ``rest_post_invalid_page_number``, except
        when there is no post at all (then ``[]`` and ``X-WP-TotalPages: 0``).
        """
        orderby, order = query.get("orderby", "date"), query.get("order", "desc")
        if orderby not in ("date", "id") or order not in ("asc", "desc"):
            raise ApiError(400, "rest_invalid_param", "Invalid parameter(s): orderby, order")
        found = [p for p in self._posts.values() if p.status == "publish"]
        if query.get("modified_after"):
            # WordPress compares the site-local post_modified, strictly after.
            found = [p for p in found if (p.modified or p.date) > query["modified_after"]]
        found.sort(key=lambda p: (p.date, p.id) if orderby == "date" else (p.id,),
                   reverse=order == "desc")
        shown, headers = paginate(found, query)
        if not found:
            headers["X-WP-TotalPages"] = "0"
        elif int(query.get("page", "1")) > int(headers["X-WP-TotalPages"]):
            raise ApiError(400, "rest_post_invalid_page_number",
                           "The page number requested is larger than the number of pages "
                           "available.")
        return 200, headers, [p.as_json(site, edit=False) for p in shown]

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


def sorted_tag_ids(ids: list[int], tags: dict[int, Tag]) -> list[int]:
    """``ids`` as a post keeps them: unknown ids skipped, no repeats, in tag-name order."""
    known = {i for i in ids if i in tags}
    return sorted(known, key=lambda i: (tags[i].name.casefold(), i))


def paginate(found: list[T], query: dict[str, str]) -> tuple[list[T], dict[str, str]]:
    """The ``page`` of ``per_page`` items (10 by default, at most 100) and the X-WP-* headers."""
    per_page = int_param(query.get("per_page", "10"), "per_page")
    page = int_param(query.get("page", "1"), "page")
    if not 1 <= per_page <= 100:
        raise ApiError(400, "rest_invalid_param", "Invalid parameter(s): per_page")
    if page < 1:
        raise ApiError(400, "rest_invalid_param", "Invalid parameter(s): page")
    pages = max(1, -(-len(found) // per_page))
    return found[(page - 1) * per_page:page * per_page], \
        {"X-WP-Total": str(len(found)), "X-WP-TotalPages": str(pages)}


def filter_fields(data: Any, fields: str) -> Any:
    """An answer cut to ``_fields`` (``id,title.rendered``), as ``rest_filter_response_fields``."""
    wanted = [f.strip() for f in fields.split(",") if f.strip()]
    if isinstance(data, list):
        return [filter_fields(item, fields) for item in data]
    if not isinstance(data, dict):
        return data
    out: dict[str, Any] = {}
    for key, value in data.items():
        nested = [w.split(".", 1)[1] for w in wanted if w.startswith(key + ".")]
        if key in wanted:
            out[key] = value
        elif nested and isinstance(value, dict):
            out[key] = filter_fields(value, ",".join(nested))
    return out


def require_edit(user: User | None, code: str, message: str) -> None:
    """401 ``code`` for an anonymous request, 403 for a user who may not edit."""
    if user is None:
        raise ApiError(401, code, message)
    if not user.can_edit:
        raise ApiError(403, code, message)


def body_params(headers: dict[str, str], body: bytes) -> dict[str, Any]:
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
        item.post = int_param(params["post"], "post") or None
    if "description" in params:
        description = params["description"]
        item.description = str(description.get("raw", "") if isinstance(description, dict)
                               else description)


def int_param(value: Any, name: str) -> int:
    """A non-negative integer parameter; 400 ``rest_invalid_param`` naming ``name`` otherwise."""
    if isinstance(value, bool):
        raise ApiError(400, "rest_invalid_param", f"Invalid parameter(s): {name}")
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ApiError(400, "rest_invalid_param", f"Invalid parameter(s): {name}") from None
    if number < 0:
        raise ApiError(400, "rest_invalid_param", f"Invalid parameter(s): {name}")
    return number
