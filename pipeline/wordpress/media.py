"""Media through the bridge: upload an image attached to a post, find it again, delete it.

WordPress renames an upload whose file name is taken (``name-1.jpg``) and
derives the slug from the title when none is given, so neither the file name
nor a derived slug is a stable key. Uploads made here therefore name their
slug explicitly and carry their key in the description, which
``GET /wp/v2/media?search=`` matches (with the title and caption).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Final

from pipeline.wordpress.bridge import Bridge
from pipeline.wordpress.errors import BridgeNotFoundError, BridgeRequestError

__all__ = ["MEDIA_ROUTE", "Media", "delete_media", "find_media_by_slug", "get_media",
           "search_media", "upload_media"]

MEDIA_ROUTE: Final = "/wp/v2/media"
#: What WordPress keeps of a file name in a slug, and what we allow in a Content-Disposition.
_ASCII_FILENAME: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,180}\.[A-Za-z0-9]{2,5}")


@dataclass(frozen=True)
class Media:
    """An attachment: id, slug, where it is served from, its mime type and pixel size.

    ``post`` is the post it is attached to (None: unattached), ``title`` its
    title as rendered, ``alt_text`` its alternative text.
    """

    id: int
    slug: str
    source_url: str
    mime_type: str
    width: int | None
    height: int | None
    post: int | None = None
    title: str = ""
    alt_text: str = ""

    @property
    def file_stem(self) -> str:
        """The served file's name without its extension (``atr-thumb-5-ab12cd34-1``)."""
        name = self.source_url.rsplit("/", 1)[-1]
        return name.rsplit(".", 1)[0] if "." in name else name

    @classmethod
    def from_json(cls, data: Any) -> Media:
        """Parse a ``/wp/v2/media`` item."""
        try:
            details = data.get("media_details") or {}
            title = data.get("title")
            if isinstance(title, dict):
                title = title.get("raw", title.get("rendered", ""))
            return cls(id=int(data["id"]), slug=str(data["slug"]),
                       source_url=str(data.get("source_url", "")),
                       mime_type=str(data.get("mime_type", "")),
                       width=_optional_int(details.get("width")),
                       height=_optional_int(details.get("height")),
                       post=_optional_int(data.get("post")) or None,
                       title=str(title or ""), alt_text=str(data.get("alt_text") or ""))
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            raise BridgeRequestError(
                f"WordPress answered a media item in an unexpected shape ({exc!r})") from None


def upload_media(bridge: Bridge, data: bytes, filename: str, mime: str,
                 alt_text: str | None = None, *, post: int | None = None,
                 title: str | None = None, slug: str | None = None,
                 description: str | None = None) -> Media:
    """Upload ``data`` as a new attachment called ``filename`` (ASCII only).

    ``post`` attaches it to that post (the Media Library's "Uploaded to"),
    ``title``, ``alt_text``, ``slug`` and ``description`` set those fields in
    the same request. WordPress answers a non-ASCII ``filename*=UTF-8''...``
    disposition with 400, so a non-ASCII name is refused here, before any request.
    """
    if not _ASCII_FILENAME.fullmatch(filename):
        raise BridgeRequestError(
            f"upload filename {filename!r} must be ASCII letters, digits, '.', '-' or '_' "
            "with an extension: WordPress rejects non-ASCII Content-Disposition filenames")
    fields = {"alt_text": alt_text, "post": post, "title": title, "slug": slug,
              "description": description}
    params = {k: v for k, v in fields.items() if v} or None
    answer = bridge.request(
        "POST", MEDIA_ROUTE, params=params, data=data, expect=(201,),
        headers={"Content-Type": mime,
                 "Content-Disposition": f'attachment; filename="{filename}"'})
    return Media.from_json(answer)


def find_media_by_slug(bridge: Bridge, slug: str) -> Media | None:
    """The attachment whose slug is exactly ``slug``, or None."""
    answer = bridge.request("GET", MEDIA_ROUTE, params={"slug": slug, "per_page": 10})
    if not isinstance(answer, list):
        raise BridgeRequestError(f"WordPress answered GET {MEDIA_ROUTE}?slug={slug} with "
                                 "something other than a list")
    found = [Media.from_json(item) for item in answer]
    exact = [m for m in found if m.slug == slug]
    # Oldest first: if a race ever made two, every caller settles on the same one.
    return min(exact, key=lambda m: m.id) if exact else None


def search_media(bridge: Bridge, text: str) -> list[Media]:
    """Attachments whose title, caption or description contains ``text``, oldest first."""
    answer = bridge.request("GET", MEDIA_ROUTE, params={"search": text, "per_page": 100,
                                                        "orderby": "id", "order": "asc"})
    if not isinstance(answer, list):
        raise BridgeRequestError(f"WordPress answered GET {MEDIA_ROUTE}?search={text} with "
                                 "something other than a list")
    return sorted((Media.from_json(item) for item in answer), key=lambda m: m.id)


def delete_media(bridge: Bridge, media_id: int) -> bool:
    """Delete attachment ``media_id`` and its files; False when it was already gone (404).

    ``force=true``: WordPress keeps no trash for media unless MEDIA_TRASH is
    on, and answers 501 without it.
    """
    try:
        bridge.request("DELETE", f"{MEDIA_ROUTE}/{media_id}", params={"force": "true"})
    except BridgeNotFoundError:
        return False
    return True


def get_media(bridge: Bridge, media_id: int) -> Media | None:
    """Attachment ``media_id``, or None when WordPress has no such attachment (404)."""
    try:
        return Media.from_json(bridge.request("GET", f"{MEDIA_ROUTE}/{media_id}"))
    except BridgeNotFoundError:
        return None


def _optional_int(value: Any) -> int | None:
    return int(value) if value is not None else None
