"""The project's RedisBroker: Dramatiq's, with enqueue failures that its consumers understand.

Why: Dramatiq 2.2's ``RedisBroker.enqueue`` lets redis-py's own
``ConnectionError`` escape, while its ``ConsumerThread`` only handles
Dramatiq's ``BrokerConnectionError`` as a lost connection. When Redis goes
away just as a delayed message comes due, the delay-queue consumer's
``broker.enqueue`` raises the redis-py error; the thread takes it for an
unexpected one and, while cleaning up, tries to requeue its held messages
over the same dead connection, and the thread dies: that queue's delayed
messages (retries, deferrals) are no longer consumed by this process and the
ones it held stay stranded in its ack set. Raised as
:class:`RedisConnectionLost` instead, the consumer takes the
"connection error" path, restarts itself, and
:class:`middleware.redis_outage.RedisOutage` gives the dropped messages back.

:class:`RedisConnectionLost` is also a redis-py ``ConnectionError``, so a
producer that catches redis-py's errors around ``actor.send`` still does.
If Dramatiq starts wrapping the error itself, this class is a no-op.
"""

from __future__ import annotations

from typing import Any

import redis
from dramatiq import Message
from dramatiq.brokers.redis import RedisBroker
from dramatiq.errors import ConnectionClosed

__all__ = ["AtrRedisBroker", "RedisConnectionLost"]


class RedisConnectionLost(ConnectionClosed, redis.ConnectionError):
    """Raised when Redis cannot be reached to enqueue a message (both libraries' kind)."""

    def __init__(self, message: str) -> None:
        # DramatiqError.__init__ is unannotated in dramatiq 2.2.
        super().__init__(message)  # type: ignore[no-untyped-call]


class AtrRedisBroker(RedisBroker):
    """Dramatiq's RedisBroker whose :meth:`enqueue` raises :class:`RedisConnectionLost`."""

    def enqueue(self, message: Message[Any], *, delay: int | None = None) -> Message[Any]:
        """Dramatiq's enqueue; a lost connection is raised as :class:`RedisConnectionLost`."""
        try:
            enqueued: Message[Any] = super().enqueue(message, delay=delay)
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            raise RedisConnectionLost(f"Redis is unreachable, the message was not enqueued: "
                                      f"{exc}") from exc
        return enqueued
