"""Doclog: one NDJSON line per event, per stream, per day — the workers' evidence.

Layout: ``<ATR_DOCLOG_ROOT>/<stream>/<YYYY-MM-DD>.ndjson``, the day in
``ATR_TZ``. Every line starts with :data:`FIXED_KEYS` (``ts, stream, event,
message_id, actor, queue, group, host, pid, attempt``), then ``duration_ms``
and ``error`` where they apply, then the event's own fields. The event
vocabulary is in :mod:`pipeline.doclog.events`.

This package imports no Dramatiq: ``middleware.doclog`` writes the lifecycle
events and binds the message scope that :func:`emit` reads.
"""

from pipeline.doclog.events import (
    EVENT_DEAD,
    EVENT_DEFERRED,
    EVENT_DOCLOG_ROTATED,
    EVENT_FAILED,
    EVENT_GA4_NO_INPUT,
    EVENT_GA4_PULLED,
    EVENT_GA4_REFUSED,
    EVENT_GA4_SCORED,
    EVENT_LLM_ANSWERED,
    EVENT_LLM_CALL_FAILED,
    EVENT_LLM_EXHAUSTED,
    EVENT_LLM_RATE_LIMITED,
    EVENT_REDIS_LOST,
    EVENT_REDIS_RESTORED,
    EVENT_REJECTED,
    EVENT_SEO_APPLIED,
    EVENT_SEO_APPLY_SKIPPED,
    EVENT_SEO_PROPOSED,
    EVENT_SEO_STALE,
    EVENT_SKIPPED,
    EVENT_STARTED,
    EVENT_SUCCEEDED,
    EVENT_THUMBNAIL_FEATURED_KEPT,
    EVENT_THUMBNAIL_FEATURED_SET,
    EVENT_THUMBNAIL_RENDERED,
    EVENT_THUMBNAIL_UPLOADED,
    FIXED_KEYS,
    LIFECYCLE_EVENTS,
    error_text,
    is_valid_event,
    is_valid_stream,
)
from pipeline.doclog.follow import follow
from pipeline.doclog.reader import (
    DoclogNotFoundError,
    Record,
    day_path,
    last_records,
    list_days,
    list_streams,
    merge_records,
    read_day,
)
from pipeline.doclog.render import MAX_LINE_BYTES, render_line
from pipeline.doclog.scope import MessageScope, bind_message, current_scope, emit
from pipeline.doclog.writer import WARN_INTERVAL_S, DoclogWriter

__all__ = [
    "EVENT_DEAD",
    "EVENT_DEFERRED",
    "EVENT_DOCLOG_ROTATED",
    "EVENT_FAILED",
    "EVENT_GA4_NO_INPUT",
    "EVENT_GA4_PULLED",
    "EVENT_GA4_REFUSED",
    "EVENT_GA4_SCORED",
    "EVENT_LLM_ANSWERED",
    "EVENT_LLM_CALL_FAILED",
    "EVENT_LLM_EXHAUSTED",
    "EVENT_LLM_RATE_LIMITED",
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
    "EVENT_THUMBNAIL_UPLOADED",
    "FIXED_KEYS",
    "LIFECYCLE_EVENTS",
    "MAX_LINE_BYTES",
    "WARN_INTERVAL_S",
    "DoclogNotFoundError",
    "DoclogWriter",
    "MessageScope",
    "Record",
    "bind_message",
    "current_scope",
    "day_path",
    "emit",
    "error_text",
    "follow",
    "is_valid_event",
    "is_valid_stream",
    "last_records",
    "list_days",
    "list_streams",
    "merge_records",
    "read_day",
    "render_line",
]
