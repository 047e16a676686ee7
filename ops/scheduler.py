"""``atr scheduler``: enqueue the periodic jobs, each tick exactly once.

Several schedulers may run at once (one per host, by mistake or for
redundancy): before enqueueing a tick, a scheduler claims it in Redis with
``SET atr:schedule:<job>:<tick> NX``; only the winner enqueues. The tick is
the cron time in ``ATR_TZ``, so every scheduler names it the same way. A tick
missed while no scheduler ran is not replayed (as with cron); the next one is.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Sequence
from datetime import datetime
from typing import Final
from zoneinfo import ZoneInfo

from dramatiq.brokers.redis import RedisBroker

from brokers.producer import send
from pipeline.schedule import ScheduledJob, next_tick

__all__ = ["TICK_OPTION", "Scheduler", "claim_key", "heartbeat_key"]

logger = logging.getLogger(__name__)

#: Message option carrying the tick a scheduled message was enqueued for.
TICK_OPTION: Final = "atr_tick"
#: How long a claimed tick is remembered, in seconds (longer than any clock skew).
_CLAIM_TTL_S: Final = 24 * 3600
_HEARTBEAT_EVERY_S: Final = 15.0
_MAX_SLEEP_S: Final = 1.0


def claim_key(job: str, tick: datetime) -> str:
    """The Redis key that the scheduler enqueueing ``job`` for ``tick`` holds."""
    return f"atr:schedule:{job}:{tick.isoformat()}"


def heartbeat_key(identity: str) -> str:
    """The key a running scheduler refreshes (TTL 60 s), for health checks."""
    return f"atr:scheduler:{identity}"


class Scheduler:
    """The loop: sleep to the next tick, claim it, enqueue the job's actor."""

    def __init__(self, broker: RedisBroker, jobs: Sequence[ScheduledJob], zone: ZoneInfo) -> None:
        self._broker = broker
        self._jobs = tuple(jobs)
        self._zone = zone
        self.identity = f"{socket.gethostname()}:{os.getpid()}"
        self.fired = 0

    def run(self, stop: threading.Event) -> None:
        """Run until ``stop`` is set."""
        now = datetime.now(self._zone)
        due = {job.name: next_tick(job.cron, now) for job in self._jobs}
        for job in self._jobs:
            logger.info("Scheduling %s (%s = %r); next tick %s.", job.actor, job.setting,
                        job.cron, due[job.name].isoformat())
        last_beat = 0.0
        while not stop.is_set():
            if time.monotonic() - last_beat >= _HEARTBEAT_EVERY_S:
                self._broker.client.set(heartbeat_key(self.identity), now.isoformat(), ex=60)
                last_beat = time.monotonic()
            now = datetime.now(self._zone)
            for job in self._jobs:
                if due[job.name] <= now:
                    self.fire(job, due[job.name])
                    due[job.name] = next_tick(job.cron, now)
            if self._jobs:
                wait = min(due.values()) - datetime.now(self._zone)
                stop.wait(min(max(wait.total_seconds(), 0.0), _MAX_SLEEP_S))
            else:
                stop.wait(_MAX_SLEEP_S)

    def fire(self, job: ScheduledJob, tick: datetime) -> bool:
        """Claim ``tick`` for ``job`` and enqueue it; False when another scheduler had it."""
        key = claim_key(job.name, tick)
        if not self._broker.client.set(key, self.identity, nx=True, ex=_CLAIM_TTL_S):
            logger.debug("Tick %s of %s was enqueued by another scheduler.", tick, job.name)
            return False
        message = send(self._broker, job.actor, job.kwargs,
                       options={TICK_OPTION: tick.isoformat()})
        self.fired += 1
        logger.info("Enqueued %s for tick %s (message %r).", job.actor, tick.isoformat(),
                    message.message_id)
        return True
