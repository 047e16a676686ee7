"""Featured images: render a post's thumbnail, upload it once, make it the featured image.

Idempotency is the point of this module. Every upload is keyed by the post
and a hash of everything that decides the pixels (title, background and font
file contents, size, format, quality): ``atr-thumb-<post_id>-<key8>``. The
upload is attached to its post, titled and described by the post's title
(what an editor sees in the Media Library, and the image's alt text), and
carries the key three ways: as its slug (set explicitly), in its file name,
and in its description. WordPress may rename the file (``...-1.jpg``) or
suffix the slug when either is taken, so an earlier upload is looked up by
searching the key (which matches the description whatever was renamed), after
an optional memo (a Redis marker written right after the upload). A retry
after the upload, a redelivery after a crash, or a second message for the
same post therefore finds the first upload and never makes a second media
item, even when the marker is gone. The same title and inputs give the same
key, so the image is rendered only when an upload is really needed. A changed
title gives a new key and a new image; once it is featured, the post's older
uploads of ours are deleted, so a retitle leaves no orphan behind.

Trashed, draft and password-protected posts are skipped with a reason
(:mod:`pipeline.wordpress.eligibility`).

This module imports no Dramatiq; the actors are in :mod:`actors.images`.
"""

from __future__ import annotations

import functools
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Protocol

from pipeline import doclog
from pipeline.errors import RenderError
from pipeline.settings import Settings
from pipeline.text import post_title
from pipeline.thumbnails import ThumbSpec, render_thumbnail, write_atomic
from pipeline.wordpress import (
    Bridge,
    Media,
    delete_media,
    find_media_by_slug,
    get_media,
    get_post,
    search_media,
    set_featured_media,
    upload_media,
)
from pipeline.wordpress.eligibility import skip_reason

__all__ = [
    "MIME_TYPES",
    "SLUG_PREFIX",
    "FeaturedOutcome",
    "UploadMemo",
    "attach_featured_image",
    "content_key",
    "render_to_file",
    "thumb_slug",
    "thumb_spec",
]

#: Start of every slug and file name we upload; ``<prefix>-<post_id>-`` marks a post's own.
SLUG_PREFIX: Final = "atr-thumb"
#: Format -> (mime type, file extension).
MIME_TYPES: Final = {"jpeg": ("image/jpeg", "jpg"), "webp": ("image/webp", "webp")}
#: Bump when the layout changes, so that every post gets a new image (a new key).
_LAYOUT_VERSION: Final = "1"


class UploadMemo(Protocol):
    """Where an upload's media id is remembered by slug (a Redis marker in the actor)."""

    def get(self, slug: str) -> int | None:
        """The media id remembered for ``slug``, or None."""

    def put(self, slug: str, media_id: int) -> None:
        """Remember that ``slug`` was uploaded as ``media_id``."""


@dataclass(frozen=True)
class FeaturedOutcome:
    """What :func:`attach_featured_image` did (``action``).

    ``uploaded``, ``reused`` (an earlier upload), ``current`` (already
    featured), ``chosen`` (a person's image kept) or ``skipped`` (the post is
    trashed, a draft or password-protected; ``media_id`` None).
    """

    post_id: int
    action: str
    media_id: int | None
    slug: str


def thumb_spec(settings: Settings) -> ThumbSpec:
    """The thumbnail spec of ``settings``; RenderError names the variable that is unset."""
    missing = [name for name, value in (("ATR_BG_PATH", settings.bg_path),
                                        ("ATR_THUMB_FONT", settings.thumb_font)) if not value]
    if missing or settings.bg_path is None or settings.thumb_font is None:
        raise RenderError(f"{' and '.join(missing)} unset: set ATR_BG_PATH to the thumbnail "
                          "background (e.g. ops/assets/thumb-bg.jpg) and ATR_THUMB_FONT to a "
                          "single-face Korean font (e.g. /usr/share/fonts/truetype/nanum/"
                          "NanumGothicBold.ttf)")
    width, height = settings.thumb_size
    return ThumbSpec(background=settings.bg_path, font=settings.thumb_font, width=width,
                     height=height, fmt=settings.thumb_format)


def content_key(title: str, spec: ThumbSpec) -> str:
    """8 hex digits that change whenever the rendered pixels could change."""
    digest = hashlib.sha256()
    for part in (_LAYOUT_VERSION, title, _file_digest(spec.background), _file_digest(spec.font),
                 str(spec.width), str(spec.height), spec.fmt, str(spec.quality)):
        digest.update(part.encode())
        digest.update(b"\0")
    return digest.hexdigest()[:8]


def thumb_slug(post_id: int, key: str) -> str:
    """``atr-thumb-<post_id>-<key>``: the upload's file name stem and its WordPress slug."""
    return f"{SLUG_PREFIX}-{post_id}-{key}"


def render_to_file(post_id: int, title: str, spec: ThumbSpec, out_dir: Path) -> Path:
    """Render ``title``, write it atomically to ``out_dir/<post_id>.<ext>``, emit ``rendered``."""
    data = render_thumbnail(title, spec)
    path = out_dir / f"{post_id}.{MIME_TYPES[spec.fmt][1]}"
    out_dir.mkdir(parents=True, exist_ok=True)
    write_atomic(path, data)
    doclog.emit(doclog.EVENT_THUMBNAIL_RENDERED, post_id=post_id, format=spec.fmt,
                width=spec.width, height=spec.height, bytes=len(data), path=str(path))
    return path


def attach_featured_image(bridge: Bridge, post_id: int, spec: ThumbSpec, *, force: bool = False,
                          memo: UploadMemo | None = None) -> FeaturedOutcome:
    """Make this post's thumbnail its featured image, uploading it at most once.

    Without ``force``, a post already showing this thumbnail is left alone
    (``current``), and so is a featured image a person chose, i.e. one that
    is not an ``atr-thumb-<post_id>-*`` upload (``chosen``). ``force``
    replaces either, still reusing an upload of the same thumbnail. A post
    in the trash, a draft or a password-protected one is ``skipped``.
    """
    post = get_post(bridge, post_id)
    slug = thumb_slug(post_id, content_key(post.title, spec))
    reason = skip_reason(post)
    if reason is not None:
        doclog.emit(doclog.EVENT_POST_SKIPPED, post_id=post_id, status=post.status,
                    reason=reason)
        return FeaturedOutcome(post_id, "skipped", None, slug)
    existing = _find_upload(bridge, post_id, slug, memo)
    if not force and post.featured_media:
        if existing is not None and existing.id == post.featured_media:
            _retire_older(bridge, post_id, keep=existing.id)
            return _kept(post_id, "current", existing.id, slug)
        if not _is_ours(bridge, post_id, post.featured_media):
            return _kept(post_id, "chosen", post.featured_media, slug)
    media = existing
    if media is None:
        mime, ext = MIME_TYPES[spec.fmt]
        data = render_thumbnail(post.title, spec)
        doclog.emit(doclog.EVENT_THUMBNAIL_RENDERED, post_id=post_id, format=spec.fmt,
                    width=spec.width, height=spec.height, bytes=len(data))
        title = post_title(post.title)
        media = upload_media(bridge, data, f"{slug}.{ext}", mime, alt_text=title,
                             post=post_id, title=title, slug=slug,
                             description=_description(slug))
        if memo is not None:
            memo.put(slug, media.id)
        doclog.emit(doclog.EVENT_THUMBNAIL_UPLOADED, post_id=post_id, media_id=media.id,
                    slug=media.slug, source_url=media.source_url, bytes=len(data))
    if post.featured_media == media.id:
        # Already featured (force on an unchanged thumbnail): a POST would only
        # bump `modified` and run the site's save_post hooks again.
        return _kept(post_id, "current", media.id, slug)
    set_featured_media(bridge, post_id, media.id)
    doclog.emit(doclog.EVENT_THUMBNAIL_FEATURED_SET, post_id=post_id, media_id=media.id,
                previous=post.featured_media, reused=existing is not None)
    _retire_older(bridge, post_id, keep=media.id)
    return FeaturedOutcome(post_id, "reused" if existing else "uploaded", media.id, slug)


def _description(slug: str) -> str:
    # The key in the description is what finds the upload again: WordPress
    # searches descriptions, and never renames them.
    return f"글 제목으로 만든 대표 이미지 (atr-workers, {slug})"


def _upload_key(media: Media, post_id: int) -> str | None:
    """The ``atr-thumb-<post_id>-<key>`` an upload of ours carries, or None if it is not ours."""
    pattern = re.compile(rf"({re.escape(SLUG_PREFIX)}-{post_id}-[0-9a-f]{{8}})(?:-\d+)?")
    for name in (media.slug, media.file_stem):
        found = pattern.fullmatch(name)
        if found:
            return found[1]
    return None


def _find_upload(bridge: Bridge, post_id: int, slug: str,
                 memo: UploadMemo | None) -> Media | None:
    """An earlier upload of ``slug``: by the memo first, then by searching WordPress for it.

    The search matches the key in the description (and the title of uploads
    made before uploads were titled after their post); the slug lookup finds
    an upload whose description a person cleared.
    """
    if memo is not None:
        remembered = memo.get(slug)
        # The memo can outlive the attachment (deleted in wp-admin): confirm it exists.
        found = get_media(bridge, remembered) if remembered is not None else None
        if found is not None:
            return found
    ours = [m for m in search_media(bridge, slug) if _upload_key(m, post_id) == slug]
    if ours:
        # Oldest first: if a race ever made two, every caller settles on the same one.
        return ours[0]
    return find_media_by_slug(bridge, slug)


def _retire_older(bridge: Bridge, post_id: int, *, keep: int) -> None:
    """Delete the post's other uploads of ours (older titles, duplicates); ``keep`` stays."""
    for media in search_media(bridge, f"{SLUG_PREFIX}-{post_id}-"):
        if media.id != keep and _upload_key(media, post_id) is not None \
                and delete_media(bridge, media.id):
            doclog.emit(doclog.EVENT_THUMBNAIL_RETIRED, post_id=post_id, media_id=media.id,
                        slug=media.slug, kept=keep)


def _is_ours(bridge: Bridge, post_id: int, media_id: int) -> bool:
    """Whether the post's current featured image is one of our uploads (or gone)."""
    current = get_media(bridge, media_id)
    return current is None or _upload_key(current, post_id) is not None


def _kept(post_id: int, reason: str, media_id: int, slug: str) -> FeaturedOutcome:
    doclog.emit(doclog.EVENT_THUMBNAIL_FEATURED_KEPT, post_id=post_id, media_id=media_id,
                reason=reason)
    return FeaturedOutcome(post_id, reason, media_id, slug)


@functools.lru_cache(maxsize=16)
def _digest_of(path: str, mtime_ns: int, size: int) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _file_digest(path: Path) -> str:
    """SHA-256 of a file, cached while its mtime and size stay the same."""
    try:
        stat = path.stat()
    except OSError as exc:
        raise RenderError(f"cannot read {path}: {exc.strerror}; check ATR_BG_PATH and "
                          "ATR_THUMB_FONT") from None
    return _digest_of(str(path), stat.st_mtime_ns, stat.st_size)
