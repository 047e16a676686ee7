"""The demo's SEO step: seo_automation proposes tags and meta for the sample posts.

:func:`demo_seo` enqueues ``seo_automation`` for every sample post of the
WordPress stand-in (the workers run in propose mode) and waits for each
proposal in the doclog (``seo.proposed``); the demo then prints them as ``atr
seo review`` does. With the embedded defaults the LLM chain is the offline
Korean provider (no key, no network); an operator whose settings name OpenAI
or Gemini gets those. Nothing is written to WordPress in propose mode.
"""

from __future__ import annotations

from typing import Final

from dramatiq.brokers.redis import RedisBroker

from brokers.producer import send
from devkit.demo.outcomes import wait_outcomes
from devkit.wordpress.store import load_sample_posts
from pipeline.doclog import EVENT_SEO_PROPOSED
from pipeline.errors import AtrError
from pipeline.settings import Settings

__all__ = ["DemoSeoError", "demo_seo"]

_TIMEOUT_S: Final = 120.0
_STREAM: Final = "seo_automation"


class DemoSeoError(AtrError):
    """Raised when a demo SEO proposal failed or did not arrive in time."""


def demo_seo(broker: RedisBroker, settings: Settings) -> list[int]:
    """Enqueue ``seo_automation`` for every sample post; the posts proposed for, in order.

    Raises DemoSeoError naming each post whose message died, was rejected or
    proposed nothing within 120 s.
    """
    sent = {send(broker, "seo_automation", {"post_id": p.id}).message_id: p.id
            for p in load_sample_posts()}
    proposed, failures = wait_outcomes(settings.doclog_root, _STREAM, sent, EVENT_SEO_PROPOSED,
                                       timeout_s=_TIMEOUT_S, missing="no proposal")
    if failures:
        raise DemoSeoError("SEO automation failed: " + "; ".join(
            f"post {post_id}: {error}" for post_id, error in sorted(failures.items())))
    return sorted(proposed)
