"""Redis keys of the broker: Dramatiq's layout (namespace ``dramatiq``) and this project's own.

Dramatiq 2.2 keeps, per queue ``q``: the list ``dramatiq:q`` of message ids,
the hash ``dramatiq:q.msgs`` (id -> message JSON), the delay queue ``q.DQ``
with the same two keys, the dead letters ``dramatiq:q.XQ`` (sorted set) and
``dramatiq:q.XQ.msgs``, per worker process and queue the set of fetched but
unacknowledged ids ``dramatiq:__acks__.<broker id>.<q>``, and one sorted set
of heartbeats ``dramatiq:__heartbeats__`` (broker id -> last beat, in ms).

This project adds the wake-up lists ``atr:wake:<q>`` (one entry per message
sent through our broker, so an idle consumer blocked on them starts at once),
the registry ``atr:consumers`` (broker id -> where that process runs, so a
restarted group can tell a dead process of its own host at once) and the
moved-aside store ``atr:quarantine*`` (see :mod:`pipeline.quarantine`).
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "CONSUMERS",
    "HEARTBEATS",
    "NAMESPACE",
    "QUARANTINE",
    "QUARANTINE_BODIES",
    "QUARANTINE_RECORDS",
    "QUARANTINE_TOTAL",
    "acks_key",
    "messages_key",
    "queue_key",
    "wake_key",
]

#: Dramatiq's key prefix (RedisBroker's default ``namespace``).
NAMESPACE: Final = "dramatiq"
#: Dramatiq's heartbeats: broker id -> epoch milliseconds of its last beat.
HEARTBEATS: Final = f"{NAMESPACE}:__heartbeats__"
#: Broker id -> JSON ``{"host": ..., "pid": ..., "group": ...}`` of each consuming process.
CONSUMERS: Final = "atr:consumers"
#: Moved-aside messages: sorted set id -> epoch milliseconds when moved.
QUARANTINE: Final = "atr:quarantine"
#: Moved-aside messages: hash id -> JSON record (queue, reason, when, who).
QUARANTINE_RECORDS: Final = "atr:quarantine:records"
#: Moved-aside messages: hash id -> the raw body (bounded by ATR_ENVELOPE_MAX_BYTES).
QUARANTINE_BODIES: Final = "atr:quarantine:bodies"
#: Messages ever moved aside (never reset; ``atr health`` shows the current ones).
QUARANTINE_TOTAL: Final = "atr:quarantine:total"


def queue_key(queue: str) -> str:
    """Dramatiq's list of message ids waiting on ``queue``."""
    return f"{NAMESPACE}:{queue}"


def messages_key(queue: str) -> str:
    """Dramatiq's hash of the message bodies of ``queue`` (waiting and unacknowledged)."""
    return f"{NAMESPACE}:{queue}.msgs"


def acks_key(broker_id: str, queue: str) -> str:
    """Dramatiq's set of ids of ``queue`` fetched by process ``broker_id``, not yet acked."""
    return f"{NAMESPACE}:__acks__.{broker_id}.{queue}"


def wake_key(queue: str) -> str:
    """The wake-up list of ``queue``: idle consumers block on it."""
    return f"atr:wake:{queue}"
