"""Queue names, defined once and imported everywhere else.

The worker-group table (``pipeline.groups``) decides which group consumes which
queue; these constants only name them.
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "ACTOR_INDEX_SUBMIT",
    "ACTOR_MONETIZE",
    "ALL_QUEUES",
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

#: Actors that other actors enqueue by name (the producer may not declare them).
ACTOR_INDEX_SUBMIT: Final = "index_submit"
ACTOR_MONETIZE: Final = "monetize"
