"""The demo's SEO step: the LLM chain on worker1 writes SEO fields for the sample posts.

:func:`demo_seo` enqueues ``seo_suggest`` for every sample post of the
WordPress stand-in and waits for each answer in the doclog (``llm.answered``).
With the embedded defaults the chain is the offline Korean provider (no key,
no network); an operator whose settings name OpenAI or Gemini gets those.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Final

from dramatiq.brokers.redis import RedisBroker

from brokers.producer import send
from ops.standins.wordpress_store import load_sample_posts
from pipeline.doclog import EVENT_DEAD, EVENT_LLM_ANSWERED, EVENT_REJECTED, last_records
from pipeline.errors import AtrError
from pipeline.settings import Settings

__all__ = ["DemoSeoError", "SeoRow", "demo_seo"]

_TIMEOUT_S: Final = 120.0
_STREAM: Final = "seo_suggest"


class DemoSeoError(AtrError):
    """Raised when a demo SEO request failed or its answer did not arrive in time."""


@dataclass(frozen=True)
class SeoRow:
    """One sample post's answer: who wrote it and the fields."""

    post_id: int
    title: str
    provider: str
    answer: dict[str, Any]


def demo_seo(broker: RedisBroker, settings: Settings) -> list[SeoRow]:
    """Enqueue ``seo_suggest`` for every sample post; the answers, in post order.

    Raises DemoSeoError naming each post whose request died, was rejected or
    got no answer within 120 s.
    """
    posts = {p.id: p for p in load_sample_posts()}
    sent = {send(broker, "seo_suggest", {"title": p.title, "content": p.content,
                                         "ref": f"post-{p.id}"}).message_id: p.id
            for p in posts.values()}
    rows: dict[int, SeoRow] = {}
    failures: dict[int, str] = {}
    deadline = time.monotonic() + _TIMEOUT_S
    while len(rows) + len(failures) < len(sent) and time.monotonic() < deadline:
        for record in last_records(settings.doclog_root, [_STREAM], 20 * len(sent)):
            fields = record.fields or {}
            post_id = sent.get(str(fields.get("message_id")))
            if post_id is None:
                continue
            if fields.get("event") == EVENT_LLM_ANSWERED:
                rows[post_id] = SeoRow(post_id, posts[post_id].title,
                                       str(fields.get("provider")), dict(fields["answer"]))
            elif fields.get("event") in (EVENT_REJECTED, EVENT_DEAD):
                failures[post_id] = str(fields.get("error"))
        time.sleep(0.2)
    missing = sorted(set(sent.values()) - set(rows) - set(failures))
    failures.update({post_id: f"no answer within {_TIMEOUT_S:.0f} s" for post_id in missing})
    if failures:
        raise DemoSeoError("SEO requests failed: " + "; ".join(
            f"post {post_id}: {error}" for post_id, error in sorted(failures.items())))
    return [rows[post_id] for post_id in sorted(rows)]
