"""The demo's SEO step: seo_automation proposes tags and meta for the sample posts.

:func:`demo_seo` enqueues ``seo_automation`` for every sample post of the
WordPress stand-in (the workers run in propose mode) and waits for each
proposal in the doclog (``seo.proposed``); the demo then prints them as ``atr
seo review`` does. With the embedded defaults the LLM chain is the offline
Korean provider (no key, no network); an operator whose settings name OpenAI
or Gemini gets those. Nothing is written to WordPress in propose mode.
"""

from __future__ import annotations

import time
from typing import Final

from dramatiq.brokers.redis import RedisBroker

from brokers.producer import send
from ops.standins.wordpress_store import load_sample_posts
from pipeline.doclog import EVENT_DEAD, EVENT_REJECTED, EVENT_SEO_PROPOSED, last_records
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
    proposed: set[int] = set()
    failures: dict[int, str] = {}
    deadline = time.monotonic() + _TIMEOUT_S
    while len(proposed) + len(failures) < len(sent) and time.monotonic() < deadline:
        for record in last_records(settings.doclog_root, [_STREAM], 20 * len(sent)):
            fields = record.fields or {}
            post_id = sent.get(str(fields.get("message_id")))
            if post_id is None:
                continue
            if fields.get("event") == EVENT_SEO_PROPOSED:
                proposed.add(post_id)
            elif fields.get("event") in (EVENT_REJECTED, EVENT_DEAD):
                failures[post_id] = str(fields.get("error"))
        time.sleep(0.2)
    missing = sorted(set(sent.values()) - proposed - set(failures))
    failures.update({post_id: f"no proposal within {_TIMEOUT_S:.0f} s" for post_id in missing})
    if failures:
        raise DemoSeoError("SEO automation failed: " + "; ".join(
            f"post {post_id}: {error}" for post_id, error in sorted(failures.items())))
    return sorted(proposed)
