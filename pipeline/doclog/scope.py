"""The message a thread is processing, and :func:`emit` for actors' domain events.

``middleware.doclog`` binds a :class:`MessageScope` when a message starts and
clears it when it ends; the binding lives in a ContextVar, so each worker
thread sees its own message. Actors and pipeline code write domain events
without importing Dramatiq or the middleware::

    from pipeline import doclog

    doclog.emit("seo.proposed", post_id=42, tags=["서울", "맛집"])

A thread that an actor starts itself does not inherit the binding; run its
work with ``contextvars.copy_context().run`` to keep it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from pipeline.doclog.events import FIXED_KEYS
from pipeline.doclog.writer import DoclogWriter

__all__ = ["MessageScope", "bind_message", "current_scope", "emit"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class MessageScope:
    """The message being processed in this thread, as the middleware bound it."""

    writer: DoclogWriter
    stream: str
    #: Fixed keys of the message: message_id, actor, queue, group, attempt.
    fields: Mapping[str, Any]
    #: ``time.monotonic()`` when the message started, in seconds.
    started: float = field(default_factory=time.monotonic)


_SCOPE: ContextVar[MessageScope | None] = ContextVar("atr_doclog_scope", default=None)


def current_scope() -> MessageScope | None:
    """The scope of the message this thread is processing, or None."""
    return _SCOPE.get()


def bind_message(scope: MessageScope | None) -> None:
    """Bind the message this thread processes (None clears it); for the middleware."""
    _SCOPE.set(scope)


def emit(event: str, **fields: Any) -> bool:
    """Write domain event ``event`` (``seo.proposed``, ...) to the current message's stream.

    The fixed keys come from the message being processed; ``fields`` follow.
    Returns True when the line was written. Never raises: outside a message
    it writes nothing and returns False; a bad event name, or a field named
    like a fixed key, is logged as an error with its traceback.
    """
    scope = _SCOPE.get()
    if scope is None:
        logger.debug("doclog.emit(%r) outside a message: nothing written.", event)
        return False
    try:
        clash = sorted(set(fields) & set(FIXED_KEYS))
        if clash:
            raise ValueError(f"doclog.emit({event!r}): {', '.join(clash)} are fixed keys, "
                             "filled from the message; rename the field")
        return scope.writer.write(scope.stream, {**scope.fields, "event": event, **fields})
    except Exception:
        # Boundary: a domain event is evidence, never a reason to fail the job.
        logger.exception("doclog.emit(%r) failed; the job goes on without this line.", event)
        return False
