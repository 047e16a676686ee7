"""Tags through the bridge: find one by name, read some by id, get-or-create under a lock.

Names are compared in their normalised form (:func:`pipeline.text.normalise_tag`:
NFC, trimmed, inner spaces collapsed, lower case) and unescaped: WordPress
stores a term name HTML-escaped (``A &amp; B``) and answers it so in every context.

WordPress's ``term_exists`` answer (400 with ``data.term_id``) is used, but it
does not prevent duplicates: two concurrent creates of the same name can both
get 201, the second tag getting the slug ``<slug>-2``. So :func:`ensure_tag`
creates under a lock per normalised name that the caller supplies (the actor
passes a short Redis lock) and looks the name up again inside it.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Final

from pipeline.text import normalise_tag
from pipeline.wordpress.bridge import Bridge
from pipeline.wordpress.errors import (
    BridgeNotFoundError,
    BridgeRequestError,
    BridgeUnavailableError,
)

__all__ = ["TAGS_ROUTE", "Tag", "TagLock", "ensure_tag", "ensure_tags", "find_tag", "get_tag",
           "get_tags", "tag_lock_key"]

TAGS_ROUTE: Final = "/wp/v2/tags"
#: A lock per key: ``lock(key)`` is held while a tag of that normalised name is created.
TagLock = Callable[[str], AbstractContextManager[None]]

#: WordPress's largest page; more matches than this are read page by page.
_PER_PAGE: Final = 100
#: Pages of search results read at most (10 000 tags containing the name).
_MAX_PAGES: Final = 100
_SPACE: Final = re.compile(r"\s+")


@dataclass(frozen=True)
class Tag:
    """A ``post_tag`` term: its id, its name (unescaped) and its slug (percent-encoded)."""

    id: int
    name: str
    slug: str

    @classmethod
    def from_json(cls, data: Any) -> Tag:
        """Parse a ``/wp/v2/tags`` item."""
        try:
            return cls(id=int(data["id"]), name=html.unescape(str(data["name"])),
                       slug=str(data["slug"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise BridgeRequestError(
                f"WordPress answered a tag in an unexpected shape ({exc!r})") from None


def tag_lock_key(name: str) -> str:
    """The key :func:`ensure_tag` locks for ``name``: its normalised form."""
    return normalise_tag(name)


def find_tag(bridge: Bridge, name: str) -> Tag | None:
    """The tag whose normalised, unescaped name is ``name``'s, or None.

    Searches by name (WordPress matches names and slugs containing it), then
    by the escaped name when escaping changes it (a name with ``&``, ``<``, ``>``
    is stored as ``&amp;``...). The oldest tag wins if several match.
    """
    wanted = normalise_tag(name)
    if not wanted:
        return None
    needles = dict.fromkeys([_clean(name), html.escape(_clean(name), quote=False)])
    for needle in needles:
        found = [tag for tag in _search(bridge, needle, wanted)
                 if normalise_tag(tag.name) == wanted]
        if found:
            return min(found, key=lambda t: t.id)
    return None


def get_tag(bridge: Bridge, tag_id: int) -> Tag | None:
    """Tag ``tag_id``, or None when WordPress has no such tag (404)."""
    try:
        return Tag.from_json(bridge.request("GET", f"{TAGS_ROUTE}/{int(tag_id)}"))
    except BridgeNotFoundError:
        return None


def get_tags(bridge: Bridge, ids: Iterable[int]) -> list[Tag]:
    """The tags of ``ids``, in that order; ids WordPress does not have are left out."""
    wanted = list(dict.fromkeys(int(i) for i in ids))
    by_id: dict[int, Tag] = {}
    for start in range(0, len(wanted), _PER_PAGE):
        chunk = wanted[start:start + _PER_PAGE]
        answer = _list(bridge, {"include": ",".join(map(str, chunk)), "per_page": _PER_PAGE})
        by_id.update((tag.id, tag) for tag in answer)
    return [by_id[i] for i in wanted if i in by_id]


def ensure_tag(bridge: Bridge, name: str, lock: TagLock) -> Tag:
    """The tag called ``name``, created if missing (get-or-create, safe to race).

    Looks it up; if missing, takes ``lock(tag_lock_key(name))``, looks it up
    again and only then creates it. A ``term_exists`` answer is not an error:
    the existing tag it names is returned.
    """
    clean = _clean(name)
    if not clean:
        raise BridgeRequestError(f"tag name {name!r} is empty: WordPress needs a name to "
                                 "create a tag; drop empty names before calling ensure_tag")
    found = find_tag(bridge, clean)
    if found is not None:
        return found
    with lock(tag_lock_key(clean)):
        found = find_tag(bridge, clean)
        if found is not None:
            return found
        return _create(bridge, clean)


def ensure_tags(bridge: Bridge, names: Sequence[str], lock: TagLock) -> list[Tag]:
    """:func:`ensure_tag` for each name, in order; a name (or tag) seen before is skipped."""
    tags: dict[int, Tag] = {}
    seen: set[str] = set()
    for name in names:
        key = tag_lock_key(name)
        if key in seen:
            continue
        seen.add(key)
        tag = ensure_tag(bridge, name, lock)
        tags.setdefault(tag.id, tag)
    return list(tags.values())


def _create(bridge: Bridge, name: str) -> Tag:
    try:
        # json= sends Content-Type: application/json; without it WordPress ignores the body.
        return Tag.from_json(bridge.request("POST", TAGS_ROUTE, json={"name": name},
                                            expect=(201,)))
    except BridgeRequestError as exc:
        term_id = _existing_term_id(exc)
        if term_id is None:
            raise
    existing = get_tag(bridge, term_id)
    if existing is None:
        raise BridgeUnavailableError(
            f"WordPress answered POST {TAGS_ROUTE} for tag {name!r} with term_exists "
            f"(term {term_id}) but GET {TAGS_ROUTE}/{term_id} finds no such tag: it was "
            "deleted in between")
    return existing


def _existing_term_id(error: BridgeRequestError) -> int | None:
    """The ``data.term_id`` of a ``term_exists`` answer; None for any other error."""
    term_id = error.data.get("term_id")
    if error.code != "term_exists" or not isinstance(term_id, (int, str)) \
            or isinstance(term_id, bool) or not str(term_id).isdigit():
        return None
    return int(term_id)


def _search(bridge: Bridge, needle: str, wanted: str) -> list[Tag]:
    """Tags whose name or slug contains ``needle``; stops at the page holding ``wanted``."""
    tags: list[Tag] = []
    for page in range(1, _MAX_PAGES + 1):
        answer = _list(bridge, {"search": needle, "per_page": _PER_PAGE, "page": page,
                                "context": "edit"})
        tags.extend(answer)
        if len(answer) < _PER_PAGE or any(normalise_tag(t.name) == wanted for t in answer):
            break
    return tags


def _list(bridge: Bridge, params: dict[str, Any]) -> list[Tag]:
    answer = bridge.request("GET", TAGS_ROUTE, params=params)
    if not isinstance(answer, list):
        raise BridgeRequestError(f"WordPress answered GET {TAGS_ROUTE} with something other "
                                 "than a list; check BRIDGE_BASE is the REST root (…/wp-json)")
    return [Tag.from_json(item) for item in answer]


def _clean(name: str) -> str:
    """``name`` as sent to WordPress: NFC, trimmed, inner spaces collapsed (case kept)."""
    return _SPACE.sub(" ", unicodedata.normalize("NFC", name)).strip()
