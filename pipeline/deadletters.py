"""Dramatiq's dead-letter queues in Redis: list them, and revive dead letters into their queue.

The Redis broker keeps a queue's dead letters in two keys: the sorted set
``dramatiq:<queue>.XQ`` (the message's Redis id → when it was
dead-lettered, epoch milliseconds) and the hash ``dramatiq:<queue>.XQ.msgs``
(Redis id → the encoded message). They expire after 7 days (the broker's
``dead_message_ttl``). :func:`dead_letters` reads them; :func:`requeue`
moves chosen ones back: one Lua script per message removes it from both keys
and pushes it onto ``dramatiq:<queue>`` (with ``.msgs``) only if the removal
found it, so two operators reviving at once revive each message exactly
once. The revived message keeps its ``message_id`` (the doclog follows it),
starts its retries afresh (``retries``, outage and deferral counts,
``eta`` and ``traceback`` dropped) and counts ``requeued``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

import redis

from pipeline import keys

__all__ = ["DeadLetter", "dead_letters", "requeue"]

#: Options dropped from a revived message, so that it starts like a new one.
_RESET_OPTIONS: Final = ("retries", "eta", "traceback", "outage_since_ms", "outages",
                         "deferrals")
_MOVE: Final = """
if redis.call("zrem", KEYS[1], ARGV[1]) == 1 then
    redis.call("hdel", KEYS[2], ARGV[1])
    redis.call("hset", KEYS[4], ARGV[1], ARGV[2])
    redis.call("rpush", KEYS[3], ARGV[1])
    return 1
end
return 0
"""


@dataclass(frozen=True)
class DeadLetter:
    """One dead letter: where, when (epoch seconds), and the message as the broker kept it."""

    queue: str
    redis_id: str
    dead_at: float
    message: dict[str, Any]

    @property
    def actor(self) -> str:
        """The actor the message was for."""
        return str(self.message.get("actor_name", ""))

    @property
    def message_id(self) -> str:
        """Dramatiq's message id (the doclog's ``message_id``)."""
        return str(self.message.get("message_id", ""))

    def to_json(self) -> dict[str, Any]:
        """JSON-clean values for ``atr dead list --json``."""
        return {"queue": self.queue, "message_id": self.message_id, "actor": self.actor,
                "dead_at": datetime.fromtimestamp(self.dead_at, UTC).isoformat(
                    timespec="seconds"),
                "args": self.message.get("args", []), "kwargs": self.message.get("kwargs", {}),
                "retries": self.message.get("options", {}).get("retries", 0),
                "redis_id": self.redis_id}


def dead_letters(client: redis.Redis, queues: Iterable[str], *, actors: Sequence[str] = (),
                 since: float | None = None) -> list[DeadLetter]:
    """The dead letters of ``queues``, oldest first; only ``actors``' (if given), only
    those dead-lettered at or after ``since`` (epoch seconds, if given)."""
    found: list[DeadLetter] = []
    low = "-inf" if since is None else since * 1000
    for queue in queues:
        base = f"{keys.dramatiq_queue(queue)}.XQ"
        entries: list[tuple[bytes | str, float]] = list(
            client.zrangebyscore(base, low, "+inf", withscores=True))  # type: ignore[arg-type]
        if not entries:
            continue
        ids = [_text(member) for member, _ in entries]
        raws: list[bytes | str | None] = list(client.hmget(f"{base}.msgs", ids))
        for (redis_id, score), raw in zip(zip(ids, (s for _, s in entries), strict=True),
                                         raws, strict=True):
            if raw is None:
                continue  # expired or revived between the two reads
            message = _decode(raw)
            if message is None or (actors and message.get("actor_name") not in actors):
                continue
            found.append(DeadLetter(queue, redis_id, float(score) / 1000, message))
    found.sort(key=lambda d: d.dead_at)
    return found


def requeue(client: redis.Redis, letters: Iterable[DeadLetter]) -> list[DeadLetter]:
    """Move ``letters`` back to their queues, each at most once; the ones this call moved."""
    move = client.register_script(_MOVE)
    moved = []
    for letter in letters:
        options = {k: v for k, v in letter.message.get("options", {}).items()
                   if k not in _RESET_OPTIONS}
        options["requeued"] = int(options.get("requeued", 0)) + 1
        revived = {**letter.message, "queue_name": letter.queue, "options": options}
        base = keys.dramatiq_queue(letter.queue)
        data = json.dumps(revived, separators=(",", ":"))
        if move(keys=[f"{base}.XQ", f"{base}.XQ.msgs", base, f"{base}.msgs"],
                args=[letter.redis_id, data]):
            moved.append(letter)
    return moved


def _decode(raw: bytes | str) -> dict[str, Any] | None:
    try:
        data = json.loads(raw)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
