"""What several actor modules need: payload checks and a per-key lock.

The lock is how one post is handled by one message at a time (``fi_pipeline``,
``seo_automation``, ``seo_apply``) and how one tag name is created once: a
Redis ``SET NX PX`` with a token, released only by its holder. A message that
finds the key held is deferred (:class:`pipeline.errors.Deferred`: it waits,
no retry is used) unless the caller chose to wait a moment in the thread.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Final

import redis

from pipeline.errors import Deferred, PayloadError
from pipeline.text import quote_value

__all__ = ["POST_ID_MAX", "check_flag", "check_post_id", "redis_lock"]

#: Largest post id: WordPress stores ids as BIGINT UNSIGNED, but PHP's int
#: (what WordPress reads them into) is signed 64-bit.
POST_ID_MAX: Final = 2**63 - 1
_UNLOCK: Final = ("if redis.call('get', KEYS[1]) == ARGV[1] then "
                  "return redis.call('del', KEYS[1]) else return 0 end")
#: How often a waiting caller asks for the lock again, in seconds.
_POLL_S: Final = 0.05


def check_post_id(post_id: Any) -> int:
    """``post_id`` as an int from 1 to :data:`POST_ID_MAX`; PayloadError otherwise."""
    # bool is an int subclass: True must not become post 1.
    if isinstance(post_id, bool) or not isinstance(post_id, int) \
            or not 1 <= post_id <= POST_ID_MAX:
        raise PayloadError(f"post_id must be an integer from 1 to {POST_ID_MAX}, "
                           f"got {quote_value(post_id, 60)}")
    return post_id


def check_flag(name: str, value: Any) -> bool:
    """A JSON boolean payload flag; PayloadError otherwise."""
    if not isinstance(value, bool):
        raise PayloadError(f"{name} must be true or false, got {quote_value(value, 60)}")
    return value


@contextmanager
def redis_lock(client: redis.Redis, key: str, ttl_ms: int, *, busy: str, busy_wait_ms: int,
               wait_s: float = 0.0) -> Iterator[None]:
    """Hold ``key`` for at most ``ttl_ms``; if another holds it, Deferred(busy, busy_wait_ms).

    ``wait_s`` > 0 first waits that long in the thread, for a lock that is
    held only for one short request (a tag create).
    """
    token = uuid.uuid4().hex
    deadline = time.monotonic() + wait_s
    while not client.set(key, token, nx=True, px=ttl_ms):
        if time.monotonic() >= deadline:
            raise Deferred(busy, busy_wait_ms)
        time.sleep(_POLL_S)
    try:
        yield
    finally:
        # Only our own token: a lock that expired and was taken over stays.
        client.eval(_UNLOCK, 1, key, token)
