"""The demo's thumbnail step: render the sample posts' thumbnails on worker1 and say where.

The demo (:mod:`devkit.demo.run`) runs a :class:`~devkit.wordpress.WordPressStandIn`,
fills the workers' environment with :func:`demo_image_env` before booting
them, and then calls :func:`demo_thumbnails`, which enqueues ``thumbnail``
for every sample post and waits for the doclog to report each file.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Final

from dramatiq.brokers.redis import RedisBroker

from brokers.producer import send
from devkit.demo.outcomes import wait_outcomes
from devkit.wordpress.standin import WordPressStandIn
from devkit.wordpress.store import load_sample_posts
from pipeline.doclog import EVENT_THUMBNAIL_RENDERED
from pipeline.errors import AtrError, ConfigError
from pipeline.settings import Settings

__all__ = ["DEMO_FONT", "SHIPPED_BACKGROUND", "DemoThumbnailsError", "demo_image_env",
           "demo_thumbnails"]

#: The Korean font ./dev installs (Debian's fonts-nanum), used when ATR_THUMB_FONT is unset.
DEMO_FONT: Final = Path("/usr/share/fonts/truetype/nanum/NanumGothicBold.ttf")
#: The shipped default background (the env template's ATR_BG_PATH), in this checkout.
SHIPPED_BACKGROUND: Final = Path(__file__).resolve().parents[2] / "ops" / "assets" / "thumb-bg.jpg"
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
    for name, default in (("ATR_BG_PATH", SHIPPED_BACKGROUND), ("ATR_THUMB_FONT", DEMO_FONT)):
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
                          "devkit.demo.images.demo_image_env before booting them")
    sent = {send(broker, "thumbnail", {"post_id": post.id}).message_id: post.id
            for post in load_sample_posts()}
    rendered, failures = wait_outcomes(settings.doclog_root, _STREAM, sent,
                                       EVENT_THUMBNAIL_RENDERED, timeout_s=_TIMEOUT_S,
                                       missing="no thumbnail")
    if failures:
        raise DemoThumbnailsError("thumbnails failed: " + "; ".join(
            f"post {post_id}: {error}" for post_id, error in sorted(failures.items())))
    return [str(rendered[post_id].get("path")) for post_id in sorted(rendered)]
