"""The doclog vocabulary: lifecycle event names, fixed keys and naming rules.

Lifecycle events, written by ``middleware.doclog`` for every message:

=============  ==============================================================
``started``    a worker took the message (``args``/``kwargs`` included)
``succeeded``  the actor returned (``duration_ms``)
``failed``     the actor raised and the message will be retried (``error``)
``dead``       the last attempt failed; the message is in the dead-letter queue
``rejected``   a permanent error (bad payload, unknown post): dead-lettered at once
``skipped``    a middleware skipped the message (age limit, policy)
``deferred``   the message was re-enqueued for later without burning a retry
=============  ==============================================================

Domain events are dotted names (``seo.proposed``, ``ga4.scored``) that actors
write with :func:`pipeline.doclog.emit`; each is a constant below.

=========================== ==================================================
``doclog.rotated``          doclog_rotate's report: ``compressed``, ``deleted``
                            (counts and files), ``bytes_before``/``bytes_after``,
                            ``errors``, ``dry_run``
``thumbnail.rendered``      a thumbnail was rendered: ``post_id``, ``format``,
                            ``width``, ``height``, ``bytes``, ``path`` (thumbnail)
``thumbnail.uploaded``      fi_pipeline uploaded it to WordPress media: ``post_id``,
                            ``media_id``, ``slug``, ``source_url``, ``bytes``
``thumbnail.featured_set``  the post's ``featured_media`` now is ``media_id`` (read
                            back); ``previous``, ``reused`` (an earlier upload)
``thumbnail.featured_kept`` fi_pipeline changed nothing: ``reason`` is ``current``
                            (already featured) or ``chosen`` (an image a person
                            chose; ``force`` replaces it)
``thumbnail.retired``       an earlier upload of ours for the post (an older title,
                            or a duplicate) was deleted: ``post_id``, ``media_id``,
                            ``slug``, ``kept`` (the featured one)
``post.skipped``            the job left the post alone: ``post_id``, ``status``,
                            ``reason`` (in the trash, a draft, password-protected)
``llm.answered``            a provider's answer passed the schema: ``provider``,
                            ``model``, ``call`` (1 = first call to it),
                            ``fallback`` (not the first provider), ``tokens``
                            (reported usage), ``answer``
``llm.call_failed``         one call failed: ``provider``, ``call``, ``kind``
                            (timeout/server/invalid/rejected/quota/too_large),
                            ``error``, ``next`` (``retry``, ``fallback`` or
                            ``give_up``)
``llm.rate_limited``        a 429: ``provider``, ``wait_ms`` (now a cooldown for
                            every worker)
``llm.exhausted``           the provider is out of quota for the day and skipped
                            until ``until``; ``reason``
``seo.proposed``            seo_automation stored a proposal: ``post_id``,
                            ``provider``, ``model``, ``current``, ``proposed``,
                            ``protected`` (fields a person edited)
``ga4.scored``              ga4_score wrote a snapshot (or, ``dry_run``, would):
                            ``period``, ``tiers`` (posts per tier), ``posts``,
                            ``unmatched_paths``, ``unmatched_views``,
                            ``merged_posts``, ``input_files``, ``rows``,
                            ``snapshot``, ``previous_snapshot``, ``moved``,
                            ``duration_ms``, ``refresh_proposals``
``ga4.refused``             files that cannot be scored were moved aside:
                            ``files``, ``refused_dir``, ``reason``; nothing imported
``ga4.no_input``            the drop folder had nothing to score: ``drop_dir``
``ga4.pulled``              the live pull wrote a runReport file into the drop
                            folder: ``file``, ``property``, ``period``
``seo.applied``             the post was written: ``post_id``, ``plugin``,
                            ``written`` (meta fields), ``tags_added``, ``kept``
                            (a person's values left alone), ``values``, ``force``,
                            ``tags_owned``, ``tags_removed`` (by a person: never
                            added back unless ``force``)
``seo.stale``               seo_apply refused a proposal whose post changed since
                            it was made: ``post_id``, ``changes``, ``proposal_id``;
                            ``reproposed`` (a new seo_automation was enqueued)
``seo.apply_skipped``       seo_apply had nothing to do: ``post_id``, ``reason``
                            (``already_applied``, ``replaced``), ``proposal_id``
``redis.lost``              (stream ``worker``) a worker process's consumers lost
                            Redis: ``queues``, ``held_delayed`` (delayed messages
                            it held in memory, put back once Redis answers)
``redis.restored``          (stream ``worker``) Redis answers again: ``outage_s``,
                            ``requeued`` (the held delayed messages put back)
``index.submitted``         an endpoint accepted a batch: ``endpoint``, ``site``,
                            ``count``, ``status`` (200/202), ``urls`` (first 20)
``index.failed``            a request failed: ``endpoint``, ``count`` (URLs not
                            sent), ``status`` (None: no answer), ``retry``, ``sent``
``index.skipped``           URLs already submitted to ``endpoint`` today:
                            ``count``, ``reason``
``index.fanned_out``        one message per endpoint was enqueued: ``endpoints``,
                            ``count`` (URLs)
``index.swept``             index_sweep listed posts changed since ``since``:
                            ``count``, ``until``
``ads.proposed``            monetize's proposal for a post: ``post_id``, ``tier``,
                            ``current``, ``proposed``, ``reason``, ``snapshot``
``ads.applied``             the ad mode was written and read back: ``post_id``,
                            ``previous``, ``mode``, ``tier``, ``reason``, ``force``
``ads.kept``                a person's ad mode was left alone: ``post_id``,
                            ``current``, ``proposed``
``ads.no_snapshot``         monetize changed nothing: ``reason`` (missing or stale
                            GA4 snapshot), ``snapshot``, ``max_age_days``
=========================== ==================================================
"""

from __future__ import annotations

import re
from typing import Final

__all__ = [
    "EVENT_ADS_APPLIED",
    "EVENT_ADS_KEPT",
    "EVENT_ADS_NO_SNAPSHOT",
    "EVENT_ADS_PROPOSED",
    "EVENT_DEAD",
    "EVENT_DEFERRED",
    "EVENT_DOCLOG_ROTATED",
    "EVENT_FAILED",
    "EVENT_GA4_NO_INPUT",
    "EVENT_GA4_PULLED",
    "EVENT_GA4_REFUSED",
    "EVENT_GA4_SCORED",
    "EVENT_INDEX_FAILED",
    "EVENT_INDEX_FANNED_OUT",
    "EVENT_INDEX_SKIPPED",
    "EVENT_INDEX_SUBMITTED",
    "EVENT_INDEX_SWEPT",
    "EVENT_LLM_ANSWERED",
    "EVENT_LLM_CALL_FAILED",
    "EVENT_LLM_EXHAUSTED",
    "EVENT_LLM_RATE_LIMITED",
    "EVENT_POST_SKIPPED",
    "EVENT_REDIS_LOST",
    "EVENT_REDIS_RESTORED",
    "EVENT_REJECTED",
    "EVENT_SEO_APPLIED",
    "EVENT_SEO_APPLY_SKIPPED",
    "EVENT_SEO_PROPOSED",
    "EVENT_SEO_STALE",
    "EVENT_SKIPPED",
    "EVENT_STARTED",
    "EVENT_SUCCEEDED",
    "EVENT_THUMBNAIL_FEATURED_KEPT",
    "EVENT_THUMBNAIL_FEATURED_SET",
    "EVENT_THUMBNAIL_RENDERED",
    "EVENT_THUMBNAIL_RETIRED",
    "EVENT_THUMBNAIL_UPLOADED",
    "FIXED_KEYS",
    "LIFECYCLE_EVENTS",
    "error_text",
    "is_valid_event",
    "is_valid_stream",
]

EVENT_STARTED: Final = "started"
EVENT_SUCCEEDED: Final = "succeeded"
EVENT_FAILED: Final = "failed"
EVENT_DEAD: Final = "dead"
EVENT_REJECTED: Final = "rejected"
EVENT_SKIPPED: Final = "skipped"
EVENT_DEFERRED: Final = "deferred"
EVENT_DOCLOG_ROTATED: Final = "doclog.rotated"
EVENT_THUMBNAIL_RENDERED: Final = "thumbnail.rendered"
EVENT_THUMBNAIL_UPLOADED: Final = "thumbnail.uploaded"
EVENT_THUMBNAIL_FEATURED_SET: Final = "thumbnail.featured_set"
EVENT_THUMBNAIL_FEATURED_KEPT: Final = "thumbnail.featured_kept"
EVENT_THUMBNAIL_RETIRED: Final = "thumbnail.retired"
EVENT_POST_SKIPPED: Final = "post.skipped"
EVENT_GA4_SCORED: Final = "ga4.scored"
EVENT_GA4_REFUSED: Final = "ga4.refused"
EVENT_GA4_NO_INPUT: Final = "ga4.no_input"
EVENT_GA4_PULLED: Final = "ga4.pulled"
EVENT_LLM_ANSWERED: Final = "llm.answered"
EVENT_LLM_CALL_FAILED: Final = "llm.call_failed"
EVENT_LLM_RATE_LIMITED: Final = "llm.rate_limited"
EVENT_LLM_EXHAUSTED: Final = "llm.exhausted"
EVENT_SEO_PROPOSED: Final = "seo.proposed"
EVENT_SEO_APPLIED: Final = "seo.applied"
EVENT_INDEX_SUBMITTED: Final = "index.submitted"
EVENT_INDEX_FAILED: Final = "index.failed"
EVENT_INDEX_SKIPPED: Final = "index.skipped"
EVENT_INDEX_FANNED_OUT: Final = "index.fanned_out"
EVENT_INDEX_SWEPT: Final = "index.swept"
EVENT_ADS_PROPOSED: Final = "ads.proposed"
EVENT_ADS_APPLIED: Final = "ads.applied"
EVENT_ADS_KEPT: Final = "ads.kept"
EVENT_ADS_NO_SNAPSHOT: Final = "ads.no_snapshot"
EVENT_SEO_STALE: Final = "seo.stale"
EVENT_SEO_APPLY_SKIPPED: Final = "seo.apply_skipped"
EVENT_REDIS_LOST: Final = "redis.lost"
EVENT_REDIS_RESTORED: Final = "redis.restored"
LIFECYCLE_EVENTS: Final = (EVENT_STARTED, EVENT_SUCCEEDED, EVENT_FAILED, EVENT_DEAD,
                           EVENT_REJECTED, EVENT_SKIPPED, EVENT_DEFERRED)

#: Keys present, in this order, at the start of every line (None where unknown).
FIXED_KEYS: Final = ("ts", "stream", "event", "message_id", "actor", "queue", "group",
                     "host", "pid", "attempt")

#: Longest ``error`` text kept, in characters (the line bound applies on top).
_ERROR_CHARS: Final = 2000
_STREAM_RE: Final = re.compile(r"[a-z0-9_]{1,64}")
_EVENT_RE: Final = re.compile(r"[a-z0-9_]{1,64}(?:\.[a-z0-9_]{1,64}){0,3}")


def is_valid_stream(name: str) -> bool:
    """Whether ``name`` can be a stream (a directory name): 1-64 of ``a-z 0-9 _``."""
    return bool(_STREAM_RE.fullmatch(name))


def is_valid_event(name: str) -> bool:
    """Whether ``name`` is a lifecycle or dotted domain event name (``seo.proposed``)."""
    return bool(_EVENT_RE.fullmatch(name))


def error_text(exc: BaseException) -> str:
    """``"ExcClass: message"`` for an ``error`` field, cut to a couple of thousand characters."""
    try:
        message = str(exc)
    except Exception:  # noqa: BLE001 -- boundary: a broken __str__ must not lose the event
        message = "(the exception's text could not be read)"
    text = f"{type(exc).__name__}: {message}" if message else type(exc).__name__
    return text if len(text) <= _ERROR_CHARS else text[:_ERROR_CHARS] + "…"
