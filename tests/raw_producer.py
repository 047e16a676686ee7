"""Enqueue like a producer that writes Redis itself (docs/messages.md §5.1).

No Dramatiq on this side: the envelope is built as plain JSON and stored with
the two writes of §5.1 (``HSET dramatiq:<q>.msgs`` then ``RPUSH dramatiq:<q>``)
in one ``EVAL``, so any payload a hostile or buggy producer could send arrives
exactly as written.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import redis

from pipeline import log_redaction
from pipeline.redact import Redactor

_ENQUEUE = ("redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]); "
            "return redis.call('RPUSH', KEYS[2], ARGV[1])")


def envelope(queue: str, actor: str, kwargs: Any, *, args: Any = (),
             message_id: str | None = None) -> tuple[str, dict[str, Any]]:
    """A well-formed envelope for ``kwargs`` (any JSON value): (redis_message_id, body)."""
    redis_id = str(uuid.uuid4())
    return redis_id, {"queue_name": queue, "actor_name": actor, "args": list(args),
                      "kwargs": kwargs, "options": {"redis_message_id": redis_id},
                      "message_id": message_id or str(uuid.uuid4()),
                      "message_timestamp": int(time.time() * 1000)}


def raw_send(client: redis.Redis, queue: str, actor: str, kwargs: Any, *,
             args: Any = (), message_id: str | None = None) -> str:
    """Enqueue ``kwargs`` for ``actor`` on ``queue`` the raw way; returns the message_id."""
    redis_id, body = envelope(queue, actor, kwargs, args=args, message_id=message_id)
    client.eval(_ENQUEUE, 2, f"dramatiq:{queue}.msgs", f"dramatiq:{queue}", redis_id,
                json.dumps(body, ensure_ascii=False))
    return str(body["message_id"])


@contextmanager
def worker_log_filter() -> Iterator[None]:
    """The worker's log filter on this process's handlers, as boot puts it on the journal's.

    An in-process worker logs through pytest's handlers, which fail the thread
    on a record that cannot be formatted, such as Dramatiq's "Message ... was
    skipped." for a kwargs that is not an object; the filter formats it.
    """
    log_redaction.install(Redactor())
    try:
        yield
    finally:
        for handler in logging.getLogger().handlers:
            for found in [f for f in handler.filters
                          if isinstance(f, log_redaction.RedactingFilter)]:
                handler.removeFilter(found)
