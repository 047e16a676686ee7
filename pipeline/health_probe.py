"""Read what :mod:`pipeline.health`'s rules judge from Redis; keep their bookkeeping apart.

:func:`observe` only reads: a Prometheus scrape (the queue gauges) or any
other reader may call it as often as it likes without changing what
``atr health`` will answer. :func:`record` is the one write, and only the
``atr health`` check makes it, so that "a backlog has lasted 5 minutes" and
"the doclog error counter grew" mean the same thing whoever looks.

What is read, per queue ``q`` (Dramatiq's Redis layout, see
:func:`pipeline.keys.dramatiq_queue`): ``waiting`` = LLEN ``dramatiq:q``;
``in_flight`` = HLEN ``dramatiq:q.msgs`` minus waiting (the hash also holds
fetched-but-unacked messages: running or prefetched); ``delayed`` = HLEN
``dramatiq:q.DQ.msgs``; ``dead`` = ZCARD ``dramatiq:q.XQ``; the age of the head
message from its ``message_timestamp`` or, for a message that came back from
the delay queue, its ``eta``. Per group: the workers' heartbeat keys and the
doclog write-error counter; schedulers: their heartbeat keys; the pause flags
(:mod:`pipeline.pause`).

State kept between checks (so that any host's cron may run the check):
:func:`pipeline.keys.health_over` holds the epoch seconds a check first saw
the queue's backlog over its WARN threshold (SET NX, deleted when under;
expires after :data:`STREAK_TTL_S` without a check, so a streak is never
inferred across a long gap); :func:`pipeline.keys.health_doclog` holds the
last error count seen and when it last grew.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Final

import redis

from pipeline import keys
from pipeline.groups import WorkerGroup
from pipeline.health import (
    DoclogSnapshot,
    GroupObservation,
    Observations,
    QueueObservation,
    Thresholds,
    next_doclog_snapshot,
    next_over_since,
)
from pipeline.pause import PauseStore
from pipeline.settings import Settings

__all__ = ["STREAK_TTL_S", "observe", "record"]

#: A backlog streak not confirmed by a check for this long is forgotten, in seconds.
STREAK_TTL_S: Final = 3600
_SCAN_COUNT: Final = 1000
#: The id of the head message and its data, read atomically: a worker may pop it
#: between two separate commands.
_HEAD_SCRIPT: Final = """
local id = redis.call('lindex', KEYS[1], 0)
if not id then return false end
return redis.call('hget', KEYS[2], id)
"""


def observe(client: redis.Redis, settings: Settings, groups: Sequence[WorkerGroup],
            thresholds: Thresholds, now: float) -> Observations:
    """What Redis holds for ``groups`` and their queues at ``now``; writes nothing.

    ``over_since`` and the doclog snapshot are what :func:`record` would keep
    after this check. ``client`` must decode responses.
    """
    live = {g.name: _count(client, keys.heartbeat_pattern(g.name)) for g in groups}
    schedulers = _count(client, keys.SCHEDULER_PATTERN)
    queues = [(g, q) for g in groups for q in g.queue_names]
    pipe = client.pipeline(transaction=False)
    for _, q in queues:
        base = keys.dramatiq_queue(q)
        pipe.llen(base)
        pipe.eval(_HEAD_SCRIPT, 2, base, f"{base}.msgs")
        pipe.hlen(f"{base}.msgs")
        pipe.hlen(f"{base}.DQ.msgs")
        pipe.zcard(f"{base}.XQ")
        pipe.get(keys.health_over(q))
    for g in groups:
        pipe.get(keys.write_errors(g.name))
        pipe.get(keys.health_doclog(g.name))
    replies: list[Any] = pipe.execute()

    queue_obs = []
    for (group, q), (waiting, head, stored, delayed, dead, over_raw) in zip(
            queues, _chunks(replies[:6 * len(queues)], 6), strict=True):
        over_since = next_over_since(_float(over_raw), int(waiting), thresholds, now)
        queue_obs.append(QueueObservation(
            name=q, group=group.name, waiting=int(waiting), oldest_age_s=_age(head, now),
            in_flight=max(0, int(stored) - int(waiting)), delayed=int(delayed),
            dead=int(dead), over_since=over_since))
    group_obs = []
    for group, (errors_raw, snapshot_raw) in zip(
            groups, _chunks(replies[6 * len(queues):], 2), strict=True):
        snapshot = next_doclog_snapshot(_snapshot(snapshot_raw), int(errors_raw or 0), now)
        group_obs.append(GroupObservation(
            name=group.name, live=live[group.name],
            expected=settings.configured_group(group).processes, doclog_errors=snapshot.count,
            doclog_grew_at=snapshot.grew_at))
    pauses = tuple((p.peer, p.since, p.reason) for p in PauseStore(client).all())
    return Observations(now, tuple(queue_obs), tuple(group_obs), schedulers, pauses)


def record(client: redis.Redis, observations: Observations) -> None:
    """Keep the backlog streaks and doclog snapshots of ``observations`` for the next check."""
    writes = client.pipeline(transaction=False)
    for queue in observations.queues:
        key = keys.health_over(queue.name)
        if queue.over_since is None:
            writes.delete(key)
        else:
            # NX: a streak already kept stays (when two hosts' checks race, the
            # earlier start wins); EXPIRE confirms it for another STREAK_TTL_S.
            writes.set(key, repr(queue.over_since), nx=True, ex=STREAK_TTL_S)
            writes.expire(key, STREAK_TTL_S)
    for group in observations.groups:
        writes.set(keys.health_doclog(group.name),
                   json.dumps({"count": group.doclog_errors, "grew_at": group.doclog_grew_at}))
    writes.execute()


def _count(client: redis.Redis, pattern: str) -> int:
    return sum(1 for _ in client.scan_iter(match=pattern, count=_SCAN_COUNT))


def _chunks(items: Sequence[Any], size: int) -> list[Sequence[Any]]:
    return [items[i:i + size] for i in range(0, len(items), size)]


def _float(raw: str | None) -> float | None:
    try:
        return float(raw) if raw is not None else None
    except ValueError:  # a hand-edited key: start a new streak rather than fail the check
        return None


def _snapshot(raw: str | None) -> DoclogSnapshot | None:
    if raw is None:
        return None
    try:
        data = json.loads(raw)
        grew_at = data["grew_at"]
        return DoclogSnapshot(int(data["count"]),
                              float(grew_at) if grew_at is not None else None)
    except (ValueError, KeyError, TypeError):  # unreadable state: treat as a first check
        return None


def _age(head: str | None, now: float) -> float | None:
    """Seconds the head message has been due: since it was sent, or since its eta."""
    if head is None:
        return None
    try:
        message = json.loads(head)
        due_ms = max(float(message.get("message_timestamp", 0)),
                     float(message.get("options", {}).get("eta", 0)))
    except (ValueError, TypeError, AttributeError):
        return None  # not a Dramatiq message: nothing to say about its age
    return max(0.0, now - due_ms / 1000) if due_ms > 0 else None
