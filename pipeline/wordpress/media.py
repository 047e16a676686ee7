"""Media through the bridge: upload an image with an ASCII filename, find one by slug."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Final

from pipeline.wordpress.bridge import Bridge
from pipeline.wordpress.errors import BridgeNotFoundError, BridgeRequestError

__all__ = ["MEDIA_ROUTE", "Media", "find_media_by_slug", "get_media", "upload_media"]

MEDIA_ROUTE: Final = "/wp/v2/media"
#: What WordPress keeps of a file name in a slug, and what we allow in a Content-Disposition.
_ASCII_FILENAME: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,180}\.[A-Za-z0-9]{2,5}")


@dataclass(frozen=True)
class Media:
    """An attachment: id, slug, where it is served from, its mime type and pixel size."""

    id: int
    slug: str
    source_url: str
    mime_type: str
    width: int | None
    height: int | None

    @classmethod
    def from_json(cls, data: Any) -> Media:
        """Parse a ``/wp/v2/media`` item."""
        try:
            details = data.get("media_details") or {}
            return cls(id=int(data["id"]), slug=str(data["slug"]),
                       source_url=str(data.get("source_url", "")),
                       mime_type=str(data.get("mime_type", "")),
                       width=_optional_int(details.get("width")),
                       height=_optional_int(details.get("height")))
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            raise BridgeRequestError(
                f"WordPress answered a media item in an unexpected shape ({exc!r})") from None


def upload_media(bridge: Bridge, data: bytes, filename: str, mime: str,
                 alt_text: str | None = None) -> Media:
    """Upload ``data`` as a new attachment called ``filename`` (ASCII only).

    WordPress answers a non-ASCII ``filename*=UTF-8''...`` disposition with
    400, so a non-ASCII name is refused here, before any request.
    """
    if not _ASCII_FILENAME.fullmatch(filename):
        raise BridgeRequestError(
            f"upload filename {filename!r} must be ASCII letters, digits, '.', '-' or '_' "
            "with an extension: WordPress rejects non-ASCII Content-Disposition filenames")
    params = {"alt_text": alt_text} if alt_text else None
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


def get_media(bridge: Bridge, media_id: int) -> Media | None:
    """Attachment ``media_id``, or None when WordPress has no such attachment (404)."""
    try:
        return Media.from_json(bridge.request("GET", f"{MEDIA_ROUTE}/{media_id}"))
    except BridgeNotFoundError:
        return None


def _optional_int(value: Any) -> int | None:
    return int(value) if value is not None else None
