"""Send a canary to queues and wait for the workers' replies (``atr ping``, the demo)."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from dramatiq.brokers.redis import RedisBroker

from actors.canary import REPLY_BY_OPTION, canary_name
from brokers.producer import send
from ops.console import render_table
from pipeline import keys
from pipeline.groups import group_of_queue

__all__ = ["PingResult", "ping_queues", "render_results"]


@dataclass(frozen=True)
class PingResult:
    """What came back for one queue's canary (``group`` None: no answer in time)."""

    queue: str
    expected_group: str
    group: str | None
    host: str | None
    pid: int | None
    round_trip_ms: float | None

    @property
    def ok(self) -> bool:
        """True when the group that owns the queue answered."""
        return self.group == self.expected_group

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict, with ``ok``."""
        return {**asdict(self), "ok": self.ok}


def ping_queues(broker: RedisBroker, queues: Iterable[str], timeout_s: float) -> list[PingResult]:
    """Send ``ping_<queue>`` to each queue and wait up to ``timeout_s`` for all replies.

    Canaries carry a reply-by time (now + the timeout), so one that no worker
    picked up in time ends quietly later instead of answering to nobody.
    """
    sent: dict[str, tuple[str, float]] = {}
    for queue in queues:
        token = f"{queue}-{uuid.uuid4().hex[:12]}"
        send(broker, canary_name(queue), {"token": token},
             options={REPLY_BY_OPTION: time.time() + timeout_s})
        sent[token] = (queue, time.monotonic())
    replies: dict[str, tuple[dict[str, Any], float | None]] = {}
    deadline = time.monotonic() + timeout_s
    while len(replies) < len(sent) and time.monotonic() < deadline:
        waiting = [keys.ping_reply(t) for t in sent if t not in replies]
        wait_s = max(0.1, min(1.0, deadline - time.monotonic()))
        popped = broker.client.blpop(waiting, timeout=wait_s)
        if popped is None:
            continue
        reply = json.loads(popped[1])
        replies[reply["token"]] = (reply, time.monotonic())
    results = []
    for token, (queue, started) in sent.items():
        reply, answered = replies.get(token, ({}, None))
        results.append(PingResult(
            queue=queue,
            expected_group=group_of_queue(queue).name,
            group=reply.get("group"),
            host=reply.get("host"),
            pid=reply.get("pid"),
            round_trip_ms=round((answered - started) * 1000, 1) if answered else None,
        ))
    return results


def render_results(results: Iterable[PingResult]) -> str:
    """The results as a table, one queue a row."""
    rows = [[r.queue, r.expected_group, r.group or "-", r.pid or "-",
             f"{r.round_trip_ms:.0f} ms" if r.round_trip_ms is not None else "no answer",
             "ok" if r.ok else "FAIL"] for r in results]
    return render_table(["QUEUE", "OWNER", "ANSWERED BY", "PID", "ROUND TRIP", ""], rows)
