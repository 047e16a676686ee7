"""Queue, actor and doclog stream names, defined once and imported everywhere else.

The worker-group table (``pipeline.groups``) decides which group consumes which
queue; these constants only name them.
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "ACTOR_DOCLOG_ROTATE",
    "ACTOR_DOCLOG_ROTATE_WORKER1",
    "ACTOR_FI_PIPELINE",
    "ACTOR_GA4_SCORE",
    "ACTOR_INDEX_SUBMIT",
    "ACTOR_INDEX_SWEEP",
    "ACTOR_MONETIZE",
    "ACTOR_SEO_APPLY",
    "ACTOR_SEO_AUTOMATION",
    "ACTOR_SEO_SUGGEST",
    "ACTOR_THUMBNAIL",
    "ALL_QUEUES",
    "LLM_PROVIDERS",
    "QUEUE_ADS",
    "QUEUE_DOCLOG",
    "QUEUE_GA4",
    "QUEUE_HIGH",
    "QUEUE_IMAGES",
    "QUEUE_INDEX",
    "QUEUE_LOW",
    "QUEUE_MISC",
    "QUEUE_SEO",
    "QUEUE_THUMBNAILS",
]

# worker1 (heavy: LLM and images)
QUEUE_SEO: Final = "seo"
QUEUE_THUMBNAILS: Final = "thumbnails"
QUEUE_IMAGES: Final = "images"
QUEUE_HIGH: Final = "high"

# worker2 (light: GA4, doclog, maintenance)
QUEUE_GA4: Final = "ga4"
QUEUE_DOCLOG: Final = "doclog"
QUEUE_MISC: Final = "misc"
QUEUE_LOW: Final = "low"
QUEUE_INDEX: Final = "index"
QUEUE_ADS: Final = "ads"

ALL_QUEUES: Final = (
    QUEUE_SEO,
    QUEUE_THUMBNAILS,
    QUEUE_IMAGES,
    QUEUE_HIGH,
    QUEUE_GA4,
    QUEUE_DOCLOG,
    QUEUE_MISC,
    QUEUE_LOW,
    QUEUE_INDEX,
    QUEUE_ADS,
)

#: Every LLM provider name settings accept, in the default fallback order.
LLM_PROVIDERS: Final = ("openai", "gemini", "offline")

# Actors (producers send to these names; docs/messages.md is their contract).
# An actor's doclog stream is its name unless it sets the doclog_stream option,
# so these are also the streams `atr doclog today STREAM` reads.
ACTOR_THUMBNAIL: Final = "thumbnail"
ACTOR_FI_PIPELINE: Final = "fi_pipeline"
ACTOR_SEO_SUGGEST: Final = "seo_suggest"
ACTOR_SEO_AUTOMATION: Final = "seo_automation"
ACTOR_SEO_APPLY: Final = "seo_apply"
ACTOR_DOCLOG_ROTATE: Final = "doclog_rotate"
ACTOR_DOCLOG_ROTATE_WORKER1: Final = "doclog_rotate_worker1"
ACTOR_INDEX_SUBMIT: Final = "index_submit"
ACTOR_INDEX_SWEEP: Final = "index_sweep"
ACTOR_MONETIZE: Final = "monetize"
ACTOR_GA4_SCORE: Final = "ga4_score"
