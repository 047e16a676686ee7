"""The WordPress stand-in's tag routes: ``GET|POST /wp/v2/tags`` and ``GET /wp/v2/tags/<id>``.

Like WordPress 6.1 (``WP_REST_Terms_Controller`` and ``wp_insert_term``):

- a name is stored sanitized and HTML-escaped (``A &amp; B``) and answered so
  in view and edit context alike; ``search`` matches names and slugs containing
  it, case-insensitively, so it must be given in the stored form;
- a create whose name exists (compared as PHP's ``strtolower`` does: ASCII
  letters only) is a 400 ``term_exists`` whose ``data.term_id`` is the
  existing tag; a slug that is taken gets ``-2``, ``-3``...;
- a subscriber may read but not create (403 ``rest_cannot_create``) nor use
  ``context=edit`` (403 ``rest_forbidden_context``);
- the check for an existing name and the insert are not atomic: with
  ``race_s`` > 0 a create sleeps that long between the two without holding
  the stand-in's lock, so two concurrent creates of one name both get 201.
  On a real site (30 racing pairs on 6.1.9) that ends one of three ways:
  201 + 400 ``term_exists``; 201 twice with the *same* id (``wp_insert_term``
  finds the twin it just made, deletes it and answers the older term); or 201
  twice with two tags, a duplicate. ``race_outcome`` picks one for the
  stand-in: ``"duplicate"`` (the second tag gets ``<slug>-2``, the case the
  worker's lock is for) or ``"same"`` (both answers carry the first tag's id).
  With ``race_s`` = 0 a create is atomic.

Each route takes the stand-in's lock itself (a create takes it twice).
"""

from __future__ import annotations

import itertools
import re
import threading
from collections.abc import Iterator
from typing import Any, Final

from devkit.wordpress.rest import (
    Answer,
    ApiError,
    body_params,
    int_param,
    paginate,
    require_edit,
)
from devkit.wordpress.store import Post, Tag, User, term_name, term_slug

__all__ = ["FIRST_TAG_ID", "RACE_OUTCOMES", "TagRoutes"]

#: What two racing creates of one name end in (see the module's docstring).
RACE_OUTCOMES: Final = ("duplicate", "same")

#: Term 1 is the default category ("Uncategorized"); tags are numbered after it.
FIRST_TAG_ID: Final = 2
_TAGS: Final = re.compile(r"^/wp/v2/tags/?$")
_TAG_ITEM: Final = re.compile(r"^/wp/v2/tags/(?P<id>\d+)/?$")
_ORDERBY: Final = ("name", "id", "include", "slug", "count")
_ASCII_UPPER: Final = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


class TagRoutes:
    """The tag routes over the stand-in's tags (and its posts, for ``count``)."""

    def __init__(self, tags: dict[int, Tag], posts: dict[int, Post], *, race_s: float,
                 stopping: threading.Event, race_outcome: str = "duplicate") -> None:
        if race_outcome not in RACE_OUTCOMES:
            raise ValueError(f"race_outcome={race_outcome!r} must be one of "
                             f"{', '.join(RACE_OUTCOMES)}")
        self._tags = tags
        self._posts = posts
        self._ids: Iterator[int] = itertools.count(FIRST_TAG_ID)
        self._race_s = race_s
        self._race_outcome = race_outcome
        self._stopping = stopping

    @staticmethod
    def route_name(path: str) -> str | None:
        """``tags.collection``, ``tags.item``, or None for any other path."""
        if _TAGS.match(path):
            return "tags.collection"
        if _TAG_ITEM.match(path):
            return "tags.item"
        return None

    def dispatch(self, method: str, path: str, query: dict[str, str], headers: dict[str, str],
                 body: bytes, user: User | None, site: str, lock: threading.Lock) -> Answer:
        """Answer a tag request or raise :class:`ApiError`; takes ``lock`` as needed."""
        if m := _TAG_ITEM.match(path):
            if method == "GET":
                with lock:
                    tag = self._tags.get(int(m["id"]))
                    if tag is None:
                        raise ApiError(404, "rest_term_invalid", "Term does not exist.")
                    if query.get("context") == "edit":
                        require_edit(user, "rest_forbidden_context",
                                     "Sorry, you are not allowed to edit this term.")
                    return 200, {}, tag.as_json(site, self._count(tag.id))
        elif _TAGS.match(path):
            if method == "GET":
                with lock:
                    return self._list(query, user, site)
            if method == "POST":
                return self._create({**query, **body_params(headers, body)}, user, site, lock)
        raise ApiError(404, "rest_no_route",
                       "No route was found matching the URL and request method.")

    def add(self, raw_name: str) -> Tag:
        """Store a tag called ``raw_name`` (with the lock held); ValueError if it exists."""
        name = term_name(raw_name)
        existing = self._existing(name)
        if not name or existing is not None:
            raise ValueError(f"tag name {raw_name!r} is empty or exists (tag "
                             f"{existing.id if existing else None})")
        return self._insert(name)

    # -- create -------------------------------------------------------------
    def _create(self, params: dict[str, Any], user: User | None, site: str,
                lock: threading.Lock) -> Answer:
        # WordPress validates the arguments before it checks permissions.
        if "name" not in params:
            raise ApiError(400, "rest_missing_callback_param", "Missing parameter(s): name",
                           {"params": ["name"]})
        if not isinstance(params["name"], str):
            raise ApiError(400, "rest_invalid_param", "Invalid parameter(s): name",
                           {"params": {"name": "name is not of type string."}})
        require_edit(user, "rest_cannot_create",
                     "Sorry, you are not allowed to create terms in this taxonomy.")
        if not params["name"].strip():
            # wp_insert_term's WP_Error carries no status: REST answers it with 500.
            raise ApiError(500, "empty_term_name", "A name is required for this term.")
        name = term_name(params["name"])
        with lock:
            self._refuse_existing(name)
            if not self._race_s:
                tag = self._insert(name)
                return 201, _location(site, tag), tag.as_json(site, 0)
        # WordPress: the check above and the insert below are separate queries, unlocked.
        self._stopping.wait(self._race_s)
        with lock:
            twin = self._existing(name)
            # wp_insert_term's own check after the insert: the older term wins.
            tag = twin if twin is not None and self._race_outcome == "same" \
                else self._insert(name)
            return 201, _location(site, tag), tag.as_json(site, 0)

    def _refuse_existing(self, name: str) -> None:
        existing = self._existing(name)
        if existing is not None:
            raise ApiError(400, "term_exists",
                           "A term with the name provided already exists in this taxonomy.",
                           {"term_id": existing.id})

    def _existing(self, name: str) -> Tag | None:
        folded = name.translate(_ASCII_UPPER)
        matches = [t for t in self._tags.values() if t.name.translate(_ASCII_UPPER) == folded]
        return min(matches, key=lambda t: t.id) if matches else None

    def _insert(self, name: str) -> Tag:
        base = term_slug(name) or str(len(self._tags) + 1)
        taken = {t.slug for t in self._tags.values()}
        slug, n = base, 2
        while slug in taken:
            slug, n = f"{base}-{n}", n + 1
        tag = Tag(next(self._ids), name, slug)
        self._tags[tag.id] = tag
        return tag

    # -- read ---------------------------------------------------------------
    def _list(self, query: dict[str, str], user: User | None, site: str) -> Answer:
        if query.get("context") == "edit":
            require_edit(user, "rest_forbidden_context",
                         "Sorry, you are not allowed to edit terms in this taxonomy.")
        found = list(self._tags.values())
        include = _id_list(query.get("include"), "include")
        if include:
            found = [t for t in found if t.id in include]
        if query.get("slug"):
            slugs = {s.strip() for s in query["slug"].split(",")}
            found = [t for t in found if t.slug in slugs]
        if query.get("search"):
            needle = query["search"].casefold()
            found = [t for t in found
                     if needle in t.name.casefold() or needle in t.slug.casefold()]
        if query.get("hide_empty") in ("1", "true"):
            found = [t for t in found if self._count(t.id)]
        found = self._ordered(found, query, include)
        shown, headers = paginate(found, query)
        return 200, headers, [t.as_json(site, self._count(t.id)) for t in shown]

    def _ordered(self, found: list[Tag], query: dict[str, str], include: list[int]) -> list[Tag]:
        orderby, order = query.get("orderby", "name"), query.get("order", "asc")
        if orderby not in _ORDERBY or order not in ("asc", "desc"):
            raise ApiError(400, "rest_invalid_param", "Invalid parameter(s): "
                           f"{'orderby' if orderby not in _ORDERBY else 'order'}")
        keys: dict[str, Any] = {
            "name": lambda t: (t.name.casefold(), t.id), "id": lambda t: t.id,
            "slug": lambda t: (t.slug, t.id), "count": lambda t: (self._count(t.id), t.id),
            "include": lambda t: include.index(t.id) if t.id in include else t.id}
        return sorted(found, key=keys[orderby], reverse=order == "desc")

    def _count(self, tag_id: int) -> int:
        return sum(1 for p in self._posts.values() if p.status == "publish" and tag_id in p.tags)


def _id_list(value: str | None, name: str) -> list[int]:
    if not value:
        return []
    return [int_param(part.strip(), name) for part in value.split(",") if part.strip()]


def _location(site: str, tag: Tag) -> dict[str, str]:
    return {"Location": f"{site}/wp-json/wp/v2/tags/{tag.id}"}
