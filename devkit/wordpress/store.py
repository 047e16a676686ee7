"""The data behind the WordPress stand-in: posts, attachments, tags, users, their JSON shapes.

Kept apart from the HTTP layer (:mod:`devkit.wordpress.standin`) so the rules
that make the stand-in fail like WordPress 6.1 are easy to read: posts and
attachments share one id sequence (one ``wp_posts`` table), slugs come back
percent-encoded in lowercase hex, ``title.rendered`` is reformatted, ``meta``
is ``[]`` while no key is registered for REST, and unregistered keys are
dropped silently. A tag's name is stored as WordPress stores a term name
(``sanitize_text_field``, then ``&``, ``<``, ``>`` HTML-escaped) and answered
so in every context.

As WordPress does, every registered meta key of a post is listed (``""``
while unset), so a reader can tell a key that is not registered (absent)
from one that is empty. A post carries ``modified``/``modified_gmt`` (bumped by every REST
write, to the second), ``password``, ``excerpt`` and ``author``, as WordPress
6.1.9 answers them.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import re
import struct
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final
from urllib.parse import quote

# WordPress 6.1 escapes a lone "<" to "&lt;" and strips only whole tags; the port is
# pipeline.wordpress.sanitize (the real-WordPress acceptance suite checks both agree).
from pipeline.wordpress.sanitize import sanitize_text_field

__all__ = [
    "SAMPLE_POSTS_PATH",
    "SEO_META_KEYS",
    "Attachment",
    "Post",
    "Tag",
    "User",
    "encode_slug",
    "image_size",
    "load_sample_posts",
    "render_title",
    "sanitize_text_field",
    "term_name",
    "term_slug",
]

#: The sample Korean posts the stand-in is seeded with.
SAMPLE_POSTS_PATH: Final = Path(__file__).with_name("sample_posts.json")
_SLUG_UNSAFE: Final = re.compile(r"[^%a-z0-9 _-]")
#: The meta keys ops/wordpress/atr-seo-meta.php registers for REST (Yoast SEO and Rank Math,
#: and the ad mode at its default key, ``ATR_ADS_META_KEY=atr_ad_mode``).
SEO_META_KEYS: Final = frozenset({
    "_yoast_wpseo_focuskw", "_yoast_wpseo_metadesc", "_yoast_wpseo_title",
    "rank_math_focus_keyword", "rank_math_description", "rank_math_title",
    "atr_ad_mode",
})
_HTML_TAG: Final = re.compile(r"<[^>]*>?")
_BARE_AMP: Final = re.compile(r"&(?!#?[A-Za-z0-9]+;)")
_ENTITY: Final = re.compile(r"&.+?;")


@dataclass(frozen=True)
class User:
    """A WordPress user with an Application Password; ``can_edit`` is False for a subscriber."""

    login: str
    app_password: str
    can_edit: bool = True
    id: int = 1


@dataclass
class Post:
    """A post as stored (raw values); :meth:`as_json` gives the REST shape."""

    id: int
    title: str
    content: str
    slug: str
    status: str = "publish"
    featured_media: int = 0
    tags: list[int] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)
    #: Site-local publish and last-change times, as WordPress answers them.
    date: str = "2026-11-20T09:00:00"
    modified: str = ""
    #: The last change in UTC; WordPress bumps both on every REST write (:meth:`touch`).
    modified_gmt: str = ""

    def touch(self) -> None:
        """Record a change now (second resolution, as WordPress keeps it; the site is KST)."""
        now = dt.datetime.now(dt.UTC).replace(microsecond=0, tzinfo=None)
        self.modified_gmt = now.isoformat()
        self.modified = (now + dt.timedelta(hours=9)).isoformat()
    password: str = ""
    excerpt: str = ""
    author: int = 1

    def as_json(self, site: str, *, edit: bool,
                registered_meta: frozenset[str] | None = None) -> dict[str, Any]:
        """The post as ``GET /wp/v2/posts/<id>`` answers, in edit or view context.

        ``meta`` shows every ``registered_meta`` key, ``""`` while unset (all
        stored keys when None).
        """
        meta = {k: v for k, v in self.meta.items()
                if registered_meta is None or k in registered_meta}
        if registered_meta is not None:
            meta = {**dict.fromkeys(sorted(registered_meta), ""), **meta}
        protected = bool(self.password)
        title: dict[str, Any] = {"rendered": render_title(self.title)}
        content: dict[str, Any] = {"rendered": _autop(self.content), "protected": protected}
        excerpt: dict[str, Any] = {"rendered": _autop(self.excerpt), "protected": protected}
        if edit:
            title["raw"] = self.title
            content["raw"] = self.content
            excerpt["raw"] = self.excerpt
        answer: dict[str, Any] = {
            "id": self.id, "date": self.date, "modified": self.modified or self.date,
            "modified_gmt": self.modified_gmt or _gmt(self.modified or self.date),
            "slug": self.slug, "status": self.status, "type": "post",
            "link": f"{site}/{self.slug}/", "author": self.author,
            "title": title, "content": content, "excerpt": excerpt,
            "featured_media": self.featured_media,
            "tags": list(self.tags), "categories": [1],
            # WordPress answers [] (not {}) while no meta key is registered for REST.
            "meta": meta if meta else [],
        }
        if edit:
            answer["password"] = self.password
        return answer


@dataclass
class Tag:
    """A ``post_tag`` term as stored: ``name`` is escaped as WordPress stores it (``&amp;``)."""

    id: int
    name: str
    slug: str
    description: str = ""

    def as_json(self, site: str, count: int) -> dict[str, Any]:
        """The tag as ``/wp/v2/tags`` answers (the stored name in every context)."""
        return {"id": self.id, "count": count, "description": self.description,
                "link": f"{site}/tag/{self.slug}/", "name": self.name, "slug": self.slug,
                "taxonomy": "post_tag", "meta": []}


@dataclass
class Attachment:
    """An uploaded media item; ``data`` keeps the bytes so tests can inspect them."""

    id: int
    slug: str
    title: str
    filename: str
    mime_type: str
    data: bytes
    width: int | None
    height: int | None
    alt_text: str = ""
    post: int | None = None
    description: str = ""

    def source_url(self, site: str) -> str:
        """Where WordPress would serve the file."""
        return f"{site}/wp-content/uploads/2026/11/{self.filename}"

    def as_json(self, site: str) -> dict[str, Any]:
        """The attachment as ``/wp/v2/media`` answers."""
        details: dict[str, Any] = {}
        if self.width is not None:
            details = {"width": self.width, "height": self.height,
                       "file": f"2026/11/{self.filename}", "filesize": len(self.data),
                       "sizes": {}}
        return {
            "id": self.id, "date": "2026-11-20T09:00:00", "slug": self.slug,
            "status": "inherit", "type": "attachment", "link": f"{site}/{self.slug}/",
            "title": {"rendered": render_title(self.title)}, "alt_text": self.alt_text,
            "description": {"rendered": _autop(self.description)},
            "media_type": "image", "mime_type": self.mime_type, "post": self.post,
            "source_url": self.source_url(site), "media_details": details,
        }


def load_sample_posts(path: Path = SAMPLE_POSTS_PATH, first_id: int = 101) -> list[Post]:
    """The sample posts, numbered from ``first_id``, their slugs encoded as WordPress does."""
    raw: list[dict[str, str]] = json.loads(path.read_text(encoding="utf-8"))
    return [Post(id=first_id + i, title=p["title"], content=p["content"],
                 slug=encode_slug(p["slug"])) for i, p in enumerate(raw)]


def encode_slug(text: str) -> str:
    """A slug as ``sanitize_title`` makes it (``remove_accents``, then ``..._with_dashes``).

    Accents go (``Café`` -> ``cafe``), HTML tags and entities go, non-ASCII is
    UTF-8 percent-encoded in lowercase, every other character outside
    ``a-z 0-9 _ -`` is dropped (``C++ 입문`` -> ``c-%ec%9e%85%eb%ac%b8``), and
    runs of spaces and dashes become one dash.
    """
    text = _remove_accents(_HTML_TAG.sub("", text)).strip().lower()
    text = _ENTITY.sub("", text).replace(".", "-")
    encoded = "".join(c if c.isascii() else quote(c, safe="").lower() for c in text)
    dashed = re.sub(r"[\s-]+", "-", _SLUG_UNSAFE.sub("", encoded))
    return dashed.strip("-")


def _remove_accents(text: str) -> str:
    """Latin letters without their accents, as ``remove_accents`` (Hangul is left alone)."""
    if text.isascii():
        return text
    out = []
    for char in text:
        if "LATIN" in unicodedata.name(char, ""):
            char = "".join(c for c in unicodedata.normalize("NFD", char)
                           if not unicodedata.combining(c))
        out.append(char)
    return "".join(out)


def term_name(raw: str) -> str:
    """A term name as WordPress stores it: sanitized, then ``&``, ``<``, ``>`` escaped."""
    text = _BARE_AMP.sub("&amp;", sanitize_text_field(raw))
    return text.replace("<", "&lt;").replace(">", "&gt;")


def term_slug(stored_name: str) -> str:
    """The slug WordPress derives from a stored term name (entities dropped, then encoded)."""
    return encode_slug(_ENTITY.sub("", stored_name))


def _gmt(local: str) -> str:
    """A site-local (KST) time as UTC."""
    return (dt.datetime.fromisoformat(local) - dt.timedelta(hours=9)).isoformat()


def render_title(raw: str) -> str:
    """``title.rendered``: escaped and texturized, so it differs from ``raw``."""
    text = html.escape(raw, quote=False).replace("&amp;", "&#038;")
    return text.replace("'", "&#8217;").replace('"', "&#8221;")


def _autop(raw: str) -> str:
    return "".join(f"<p>{html.escape(p.strip(), quote=False)}</p>\n"
                   for p in raw.split("\n\n") if p.strip())


def image_size(data: bytes, mime: str) -> tuple[int, int] | None:
    """(width, height) of a JPEG or WebP image, or None when the bytes are not one."""
    if mime == "image/jpeg":
        return _jpeg_size(data)
    if mime == "image/webp":
        return _webp_size(data)
    return None


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    if not data.startswith(b"\xff\xd8"):
        return None
    i = 2
    while i + 9 < len(data):
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        (length,) = struct.unpack(">H", data[i + 2:i + 4])
        # SOF0..SOF15 carry the size, except DHT (C4), JPG (C8) and DAC (CC).
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">HH", data[i + 5:i + 9])
            return int(width), int(height)
        i += 2 + length
    return None


def _webp_size(data: bytes) -> tuple[int, int] | None:
    if len(data) < 30 or data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        return None
    chunk = data[12:16]
    if chunk == b"VP8X":
        width = int.from_bytes(data[24:27], "little") + 1
        height = int.from_bytes(data[27:30], "little") + 1
        return width, height
    if chunk == b"VP8 ":
        width, height = struct.unpack("<HH", data[26:30])
        return int(width) & 0x3FFF, int(height) & 0x3FFF
    if chunk == b"VP8L":
        bits = int.from_bytes(data[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    return None
