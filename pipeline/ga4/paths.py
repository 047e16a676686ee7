"""GA4 page paths to WordPress posts: normalise, merge variants, map, and set aside the rest.

One post shows up in GA4 under many paths: with tracking queries
(``?utm_source=...``, ``?fbclid=...``), fragments (``#comments``), its Korean
slug raw, percent-encoded in upper- or lower-case hex, decomposed (NFD, as
macOS writes it), with or without the trailing ``/``, and by its short link
``/?p=123``. :func:`normalise_paths` turns each into one canonical path:

1. trim spaces; an empty value and ``(not set)`` become ``(not set)``,
   ``(other)`` (rows GA4 grouped) stays ``(other)``: both are kept apart,
   never merged into a post;
2. a full URL (``Page location``) keeps only its path;
3. ``?p=<id>`` / ``?page_id=<id>`` becomes ``/?p=<id>`` (the post of that id);
   any other ``?query`` and every ``#fragment`` is dropped;
4. percent-escapes are decoded as UTF-8 (``%ED%95%9C`` = ``%ed%95%9c`` = ``한``;
   an escape that is not UTF-8 is left as it is), then NFC-normalised;
5. lower-cased (WordPress slugs are lower-case and its lookup ignores case),
   ``//`` collapsed, a leading ``/`` ensured, and a trailing ``/`` added unless
   the last segment is a file name (``/ads.txt``).

Normalisation runs once per distinct raw path, not per row.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Final, Protocol
from urllib.parse import unquote, urlsplit

import numpy as np
import pandas as pd

__all__ = [
    "NOT_SET",
    "OTHER",
    "PostIndex",
    "PostLike",
    "PostsPort",
    "SitePost",
    "classify_path",
    "normalise_codes",
    "normalise_path",
    "normalise_paths",
]

NOT_SET: Final = "(not set)"
OTHER: Final = "(other)"
_POST_ID: Final = re.compile(r"[?&](?:p|page_id)=(\d+)(?:&|#|$)")
_SLASHES: Final = re.compile(r"/{2,}")
_FILE_NAME: Final = re.compile(r"\.[A-Za-z0-9]{1,5}\Z")
_DATE_ARCHIVE: Final = re.compile(r"^/\d{4}/(?:\d{2}/){0,2}$")
#: Paths of WordPress listings and system pages, never a post.
_ARCHIVE_PREFIXES: Final = ("/category/", "/tag/", "/author/", "/page/", "/search/", "/feed/",
                            "/comments/", "/wp-admin/", "/wp-content/", "/wp-json/",
                            "/wp-login.php")
#: Suffixes a post's own path takes (AMP view, comment pages, its feed).
_POST_SUFFIX: Final = re.compile(r"(?:amp/|feed/|comment-page-\d+/|page/\d+/|\d+/)\Z")


class PostLike(Protocol):
    """What the scoring needs of a post; ``date``/``modified`` in the site's time zone."""

    @property
    def id(self) -> int:
        """The post id."""

    @property
    def slug(self) -> str:
        """The slug as WordPress answers it (Korean slugs percent-encoded)."""

    @property
    def link(self) -> str:
        """The permalink (a full URL)."""

    @property
    def date(self) -> dt.datetime:
        """When it was published."""

    @property
    def modified(self) -> dt.datetime:
        """When it was last changed."""

    @property
    def title(self) -> str:
        """The title as plain text."""


#: Where posts come from: a list, or a function called once per run (e.g. the bridge's listing).
PostsPort = Iterable[PostLike] | Callable[[], Iterable[PostLike]]


@dataclass(frozen=True)
class SitePost:
    """A post as scoring reads it; satisfies :class:`PostLike` (tests, the demo, fixtures)."""

    id: int
    slug: str
    link: str
    date: dt.datetime
    modified: dt.datetime
    title: str


def normalise_path(raw: object) -> str:
    """The canonical form of one GA4 path (see the module docstring)."""
    return str(normalise_paths(np.array([raw], dtype=object))[0])


def normalise_paths(raw: np.ndarray) -> np.ndarray:
    """Canonical forms of ``raw`` paths (object array), element by element.

    The query and fragment are cut first; the rest of the work is done once
    per distinct remaining path (a million tracking-query variants of five
    thousand posts are five thousand decodings, not a million).
    """
    codes, canonical = normalise_codes(raw)
    return canonical[codes] if len(raw) else canonical


def normalise_codes(raw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(code of each raw path, the distinct canonical paths): ``uniques[codes]`` is
    :func:`normalise_paths`, without hashing a million canonical strings again."""
    cut_codes, cut_uniques = pd.factorize(_cut_all(raw))
    finished = np.fromiter((_finish(u) for u in cut_uniques), dtype=object,
                           count=len(cut_uniques))
    finished_codes, canonical = pd.factorize(finished)
    return finished_codes[cut_codes], np.asarray(canonical, dtype=object)


def _cut_all(raw: np.ndarray) -> np.ndarray:
    """:func:`_cut` of every value, the common case in one list comprehension.

    Most raw paths are ``/slug/?tracking`` or ``/slug/#fragment``: cutting at
    the first ``#`` then ``?`` is :func:`_cut`. The values where it may not be
    (full URLs, ``/?p=<id>`` links, which cut to ``/`` or nothing, and
    anything that is not a string) are redone by :func:`_cut`.
    """
    try:
        quick = [v.strip().partition("#")[0].partition("?")[0] for v in raw]
    except AttributeError:
        return np.fromiter((_cut(x) for x in raw), dtype=object, count=len(raw))
    out = np.empty(len(quick), dtype=object)
    out[:] = quick
    post_id = _POST_ID.search
    for k in [k for k, text in enumerate(quick) if len(text) < 2 or "://" in text]:
        text = raw[k].strip()
        if "://" in text:
            out[k] = _cut(text)
            continue
        # The path is "" or "/": a query right after it may be a /?p=<id> link.
        query, fragment = text.find("?"), text.find("#")
        if query >= 0 and (fragment < 0 or query < fragment):
            match = post_id(text)
            if match is not None:
                out[k] = f"/?p={int(match[1])}"
    return out


def _cut(value: object) -> str:
    """Steps 1-3 of the module docstring: trimmed, path only, ``?p=`` kept, query cut."""
    # Written for speed: it runs once per raw row of the export.
    if not isinstance(value, str):
        return "" if value is None or value != value else str(value).strip()
    text = value.strip()
    if "://" in text:
        parts = urlsplit(text)
        text = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    query = text.find("?")
    fragment = text.find("#")
    if query < 0:
        return text if fragment < 0 else text[:fragment]
    if 0 <= fragment < query:
        return text[:fragment]
    if query <= 1 and text[:query] in ("", "/"):
        match = _POST_ID.search(text)
        if match is not None:
            return f"/?p={int(match[1])}"
    return text[:query]


def _finish(text: str) -> str:
    """Steps 4-5 of the module docstring on a path without query or fragment."""
    lowered = text.lower()
    if lowered in ("", NOT_SET):
        return NOT_SET
    if lowered == OTHER:
        return OTHER
    if text.startswith("/?p="):
        return text
    if "%" in text:
        try:
            lowered = unquote(text, errors="strict").lower()
        except UnicodeDecodeError:
            pass
    if not lowered.isascii():
        lowered = unicodedata.normalize("NFC", lowered)
    if "//" in lowered:
        lowered = _SLASHES.sub("/", lowered)
    if not lowered.startswith("/"):
        lowered = "/" + lowered
    if not lowered.endswith("/") and not _FILE_NAME.search(lowered):
        lowered += "/"
    return lowered


def classify_path(path: str, page_paths: frozenset[str]) -> str:
    """Why a canonical path that matched no post is not a post.

    ``not_set`` / ``other`` (GA4's own rows), ``home``, ``archive`` (category,
    tag, author, date and search listings, feeds, wp-admin), ``page`` (one of
    ``page_paths``: the site's static pages) or ``no_post`` (nothing on the
    site has this path: a deleted post, a typo, an old permalink).
    """
    if path == NOT_SET:
        return "not_set"
    if path == OTHER:
        return "other"
    if path == "/":
        return "home"
    if path.startswith(_ARCHIVE_PREFIXES) or _DATE_ARCHIVE.match(path) or path.startswith("/?s="):
        return "archive"
    if path in page_paths:
        return "page"
    return "no_post"


class PostIndex:
    """Looks canonical paths up among the site's posts (built once per run)."""

    def __init__(self, posts: Iterable[PostLike]) -> None:
        self.posts: dict[int, PostLike] = {}
        #: Each post's canonical permalink path.
        self.paths: dict[int, str] = {}
        self._by_path: dict[str, int] = {}
        self._by_slug: dict[str, int] = {}
        listed = list(posts)
        links = normalise_paths(np.array([p.link for p in listed], dtype=object))
        slugs = normalise_paths(np.array([p.slug for p in listed], dtype=object))
        for post, link, slug in zip(listed, links, slugs, strict=True):
            self.posts[post.id] = post
            self.paths.setdefault(post.id, str(link))
            self._by_path.setdefault(str(link), post.id)
            self._by_slug.setdefault(str(slug).strip("/"), post.id)

    def find(self, path: str) -> int | None:
        """The post id of a canonical path, or None.

        Tried in order: the permalink's path; ``/?p=<id>``; the same without
        a post's own suffix (``amp/``, ``feed/``, ``comment-page-2/``, ``2/``);
        the last segment as a slug (a post whose permalink structure changed).
        """
        found = self._by_path.get(path)
        if found is not None:
            return found
        if path.startswith("/?p="):
            post_id = int(path[4:].rstrip("/"))
            return post_id if post_id in self.posts else None
        if path in ("/", NOT_SET, OTHER) or path.startswith(_ARCHIVE_PREFIXES):
            return None
        trimmed = _POST_SUFFIX.sub("", path)
        if trimmed != path and trimmed != "/":
            found = self._by_path.get(trimmed)
            if found is not None:
                return found
        segments = [s for s in trimmed.split("/") if s]
        return self._by_slug.get(segments[-1]) if segments else None
