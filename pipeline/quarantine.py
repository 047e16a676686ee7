"""Moved-aside messages: bodies a worker refused to decode, kept for an operator.

A worker that fetches a body which is not a well-formed Dramatiq message
(see ``brokers.envelope``) moves it here in one Lua call: out of the
queue's hash and the process's unacknowledged set, into

- ``atr:quarantine`` (sorted set: id -> epoch ms when moved),
- ``atr:quarantine:records`` (id -> JSON :class:`Record`),
- ``atr:quarantine:bodies`` (id -> the raw body, cut to the size limit),

and ``atr:quarantine:total`` counts it. The id is the Redis message id the
body was queued under (``dramatiq:<q>.msgs`` field), so the same body is
moved aside once: it is no longer in the queue, and a second move of the
same id changes nothing. ``atr quarantine list|show|replay|drop`` reads and
acts on the store; nothing expires on its own.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any, Final, cast

import redis

from pipeline import keys

__all__ = ["Record", "count", "drop", "get", "list_records", "move", "replay"]

_MOVE: Final = """
local id, acks, msgs = ARGV[1], ARGV[2], ARGV[3]
redis.call('srem', acks, id)
redis.call('hdel', msgs, id)
if redis.call('zscore', KEYS[1], id) then return 0 end
redis.call('zadd', KEYS[1], ARGV[4], id)
redis.call('hset', KEYS[2], id, ARGV[5])
redis.call('hset', KEYS[3], id, ARGV[6])
redis.call('incr', KEYS[4])
return 1
"""
# Back into the queue under its own id, then out of the store: one atomic step.
_REPLAY: Final = """
local id = ARGV[1]
local body = redis.call('hget', KEYS[3], id)
if not body then return 0 end
redis.call('hset', ARGV[2], id, body)
redis.call('rpush', ARGV[3], id)
redis.call('lpush', ARGV[4], '1')
redis.call('ltrim', ARGV[4], 0, 63)
redis.call('zrem', KEYS[1], id)
redis.call('hdel', KEYS[2], id)
redis.call('hdel', KEYS[3], id)
return 1
"""
_STORE: Final = (keys.QUARANTINE, keys.QUARANTINE_RECORDS, keys.QUARANTINE_BODIES,
                 keys.QUARANTINE_TOTAL)


@dataclass(frozen=True)
class Record:
    """Why and when one body was moved aside, and by whom (times in epoch seconds)."""

    id: str
    queue: str
    reason: str
    detail: str
    moved_at: float
    group: str | None
    host: str
    pid: int
    size: int
    #: Whether the stored body was cut (an oversized one): it cannot be replayed.
    truncated: bool
    #: ``message_id`` and ``actor_name`` of the body when it had them (escaped, bounded).
    message_id: str | None = None
    actor: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """The record as JSON-ready values."""
        return asdict(self)


def move(client: redis.Redis, record: Record, body: bytes, broker_id: str) -> bool:
    """Move ``record.id`` of ``record.queue`` aside with ``body``; False if already there."""
    moved = client.eval(_MOVE, len(_STORE), *_STORE, record.id,
                        keys.dramatiq_acks(broker_id, record.queue),
                        keys.dramatiq_messages(record.queue),
                        int(record.moved_at * 1000), json.dumps(record.as_dict()), body)
    return bool(moved)


def count(client: redis.Redis) -> int:
    """Messages currently moved aside."""
    return int(client.zcard(keys.QUARANTINE))


def list_records(client: redis.Redis, limit: int = 50) -> list[Record]:
    """The newest ``limit`` records, newest first."""
    found = client.zrevrange(keys.QUARANTINE, 0, max(0, limit - 1))
    ids = [_text(cast(bytes | str, i)) for i in found]
    if not ids:
        return []
    raw = client.hmget(keys.QUARANTINE_RECORDS, ids)
    return [_record(r) for r in raw if r is not None]


def get(client: redis.Redis, record_id: str) -> tuple[Record, bytes] | None:
    """The record and stored body of ``record_id``, or None."""
    raw, body = client.hmget(keys.QUARANTINE_RECORDS, [record_id]), \
        client.hget(keys.QUARANTINE_BODIES, record_id)
    if raw[0] is None or body is None:
        return None
    return _record(raw[0]), body if isinstance(body, bytes) else str(body).encode()


def replay(client: redis.Redis, record: Record) -> bool:
    """Put ``record``'s body back at the end of its queue under its id; False if gone."""
    done = client.eval(_REPLAY, 3, *_STORE[:3], record.id, keys.dramatiq_messages(record.queue),
                       keys.dramatiq_queue(record.queue), keys.wake(record.queue))
    return bool(done)


def drop(client: redis.Redis, record_id: str) -> bool:
    """Delete ``record_id`` from the store for good; False if it was not there."""
    with client.pipeline() as pipe:
        pipe.zrem(keys.QUARANTINE, record_id)
        pipe.hdel(keys.QUARANTINE_RECORDS, record_id)
        pipe.hdel(keys.QUARANTINE_BODIES, record_id)
        removed, _, _ = pipe.execute()
    return bool(removed)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _record(raw: bytes | str) -> Record:
    return Record(**json.loads(raw))
