"""The demo's thumbnail step: render the sample posts' thumbnails on worker1 and say where.

``atr demo`` (:mod:`ops.demo`) runs a :class:`~ops.standins.wordpress.WordPressStandIn`,
fills the workers' environment with :func:`demo_image_env` before booting
them, and then calls :func:`demo_thumbnails`, which enqueues ``thumbnail``
for every sample post and waits for the doclog to report each file.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path
from typing import Final

from dramatiq.brokers.redis import RedisBroker

from brokers.producer import send
from ops.standins.wordpress import WordPressStandIn
from ops.standins.wordpress_store import load_sample_posts
from pipeline.doclog import EVENT_DEAD, EVENT_REJECTED, EVENT_THUMBNAIL_RENDERED, last_records
from pipeline.errors import AtrError, ConfigError
from pipeline.settings import Settings

__all__ = ["DEMO_FONT", "DemoThumbnailsError", "demo_image_env", "demo_thumbnails"]

#: The Korean font ./dev installs (Debian's fonts-nanum), used when ATR_THUMB_FONT is unset.
DEMO_FONT: Final = Path("/usr/share/fonts/truetype/nanum/NanumGothicBold.ttf")
_BACKGROUND: Final = Path(__file__).parent / "assets" / "thumb-bg.jpg"
_TIMEOUT_S: Final = 90.0
_STREAM: Final = "thumbnail"


class DemoThumbnailsError(AtrError):
    """Raised when a demo thumbnail was rejected, died or did not arrive in time."""


def demo_image_env(env: Mapping[str, str], standin: WordPressStandIn) -> dict[str, str]:
    """``env`` with the bridge pointed at ``standin`` and the thumbnail inputs filled in.

    The bridge always points at the stand-in (the demo never writes to a real
    site); the background and font are set only where the operator left them unset.
    """
    filled = {**env, "BRIDGE_BASE": standin.base_url, "BRIDGE_TOKEN": standin.token}
    for name, default in (("ATR_BG_PATH", _BACKGROUND), ("ATR_THUMB_FONT", DEMO_FONT)):
        if not filled.get(name, "").strip():
            filled[name] = str(default)
    return filled


def demo_thumbnails(broker: RedisBroker, settings: Settings, standin_url: str) -> list[str]:
    """Enqueue ``thumbnail`` for every sample post; the rendered files' paths, in post order.

    ``settings`` are the workers' settings (their ``BRIDGE_BASE`` must be
    ``standin_url``, the stand-in's REST root). Raises DemoThumbnailsError
    naming each post whose thumbnail failed or did not come within 90 s.
    """
    if (settings.bridge_base or "").rstrip("/") != standin_url.rstrip("/"):
        raise ConfigError(f"the workers' BRIDGE_BASE is {settings.bridge_base!r}, not the "
                          f"stand-in at {standin_url}: build their environment with "
                          "ops.demo_images.demo_image_env before booting them")
    sent = {send(broker, "thumbnail", {"post_id": post.id}).message_id: post.id
            for post in load_sample_posts()}
    paths: dict[int, str] = {}
    failures: dict[int, str] = {}
    deadline = time.monotonic() + _TIMEOUT_S
    while len(paths) + len(failures) < len(sent) and time.monotonic() < deadline:
        for record in last_records(settings.doclog_root, [_STREAM], 20 * len(sent)):
            fields = record.fields or {}
            post_id = sent.get(str(fields.get("message_id")))
            if post_id is None:
                continue
            if fields.get("event") == EVENT_THUMBNAIL_RENDERED:
                paths[post_id] = str(fields.get("path"))
            elif fields.get("event") in (EVENT_REJECTED, EVENT_DEAD):
                failures[post_id] = str(fields.get("error"))
        time.sleep(0.2)
    missing = sorted(set(sent.values()) - set(paths) - set(failures))
    failures.update({post_id: f"no thumbnail within {_TIMEOUT_S:.0f} s" for post_id in missing})
    if failures:
        raise DemoThumbnailsError("thumbnails failed: " + "; ".join(
            f"post {post_id}: {error}" for post_id, error in sorted(failures.items())))
    return [paths[post_id] for post_id in sorted(paths)]
