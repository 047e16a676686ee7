"""Actors of the ``thumbnails`` and ``images`` queues (worker1): featured-image thumbnails.

Payloads (JSON-clean, see docs/messages.md)::

    thumbnail   {"post_id": 101}                  -> ATR_THUMB_OUT_DIR/101.jpg
    fi_pipeline {"post_id": 101, "force": false}  -> render, upload, set featured_media

Both are idempotent (see :mod:`pipeline.featured`): ``fi_pipeline`` finds an
earlier upload of the same thumbnail by its deterministic slug, and a Redis
marker, before uploading; a per-post Redis lock keeps two messages for the
same post from uploading side by side. A payload that can never succeed, a
post that does not exist, a bridge or renderer that is not configured: all
are PermanentErrors, rejected at once.
"""

from __future__ import annotations

import logging
from typing import Any, Final, cast

import redis

from actors.base import job
from actors.index import request_indexing
from actors.shared import check_flag, check_post_id, redis_lock
from middleware.runtime import current
from pipeline import keys, names
from pipeline.names import QUEUE_IMAGES, QUEUE_THUMBNAILS
from pipeline.settings import Settings
from pipeline.wordpress import Bridge, BridgeConfig, get_post

__all__ = ["IMAGE_OPTIONS", "fi_pipeline", "imagemagick_needs", "thumbnail"]

logger = logging.getLogger(__name__)

#: How long a post's fi_pipeline lock lives at most, in milliseconds: the time limit.
_LOCK_TTL_MS: Final = 10 * 60_000
#: Wait before a message whose post is locked by another one runs again, in milliseconds.
_BUSY_WAIT_MS: Final = 2_000
#: How long the slug -> media id marker is kept, in seconds (WordPress stays the truth).
_MEMO_TTL_S: Final = 90 * 24 * 3600
#: Background file suffix -> the ImageMagick coder that reads it.
_READ_CODERS: Final = {".jpg": "JPEG", ".jpeg": "JPEG", ".png": "PNG", ".webp": "WEBP"}


def imagemagick_needs(settings: Settings) -> list[tuple[str, str]]:
    """What the image actors need from ImageMagick: read the background, write the format."""
    suffix = settings.bg_path.suffix.lower() if settings.bg_path else ".jpg"
    background = _READ_CODERS.get(suffix, "JPEG")
    return [(background, "read"), (settings.thumb_format.upper(), "write")]


#: Options of both image actors (the ImageMagick middleware reads ``imagemagick_needs``).
IMAGE_OPTIONS: Final[dict[str, Any]] = {"max_retries": 5, "time_limit": _LOCK_TTL_MS,
                                        "imagemagick_needs": imagemagick_needs}


@job(queue=QUEUE_THUMBNAILS, name=names.ACTOR_THUMBNAIL, uses=("wordpress",), **IMAGE_OPTIONS)
def thumbnail(post_id: int) -> None:
    """Render post ``post_id``'s thumbnail to ``ATR_THUMB_OUT_DIR/<post_id>.<ext>``.

    Payload: ``{"post_id": 101}``. Reads the title through the bridge; the
    file is replaced atomically, so a retry rewrites the same file.
    """
    checked = check_post_id(post_id)
    settings = current().settings
    # Imported here: Wand loads ImageMagick, which producers (atr send) never need.
    from pipeline.featured import render_to_file, thumb_spec

    spec = thumb_spec(settings)
    with Bridge(BridgeConfig.from_settings(settings)) as bridge:
        title = get_post(bridge, checked).title
    path = render_to_file(checked, title, spec, settings.thumb_out_dir)
    logger.info("thumbnail: post %r rendered to %s.", checked, path)


@job(queue=QUEUE_IMAGES, name=names.ACTOR_FI_PIPELINE, uses=("wordpress",), **IMAGE_OPTIONS)
def fi_pipeline(post_id: int, force: bool = False) -> None:
    """Render, upload (once) and set post ``post_id``'s featured image.

    Payload: ``{"post_id": 101, "force": false}``. ``force`` also replaces
    a featured image that a person chose; it still reuses an earlier upload.
    """
    checked = check_post_id(post_id)
    force = check_flag("force", force)
    settings = current().settings
    # Imported here: Wand loads ImageMagick, which producers (atr send) never need.
    from pipeline.featured import attach_featured_image, thumb_spec

    spec = thumb_spec(settings)
    config = BridgeConfig.from_settings(settings)
    client = current().redis
    # Without the lock, two messages for one post (a producer's duplicate, a
    # redelivery while the first still runs) could both miss the lookup and
    # both upload.
    busy = (f"fi_pipeline for post {checked} is already running in another worker; "
            "this message waits for it")
    with redis_lock(client, keys.images_lock(checked), _LOCK_TTL_MS, busy=busy,
                    busy_wait_ms=_BUSY_WAIT_MS), Bridge(config) as bridge:
        outcome = attach_featured_image(bridge, checked, spec, force=force,
                                        memo=_RedisMemo(client))
    logger.info("fi_pipeline: post %r: %s (media %r).", checked, outcome.action,
                outcome.media_id)
    if outcome.action in ("uploaded", "reused"):
        # A new featured image changes the page search engines show: ask for a recrawl.
        with Bridge(config) as bridge:
            link = get_post(bridge, checked).link
        if link:
            request_indexing([link])


class _RedisMemo:
    """Slug -> media id markers, written right after an upload (``atr:fi_pipeline:media:*``)."""

    def __init__(self, client: redis.Redis) -> None:
        self._client = client

    def get(self, slug: str) -> int | None:
        value = self._client.get(keys.images_media(slug))
        return int(cast(bytes, value)) if value is not None else None

    def put(self, slug: str, media_id: int) -> None:
        self._client.set(keys.images_media(slug), media_id, ex=_MEMO_TTL_S)
