"""``atr scheduler``: enqueue the periodic jobs, each tick exactly once.

Several schedulers may run at once (one per host, by mistake or for
redundancy): before enqueueing a tick, a scheduler claims it in Redis with
``SET atr:schedule:<job>:<tick> NX``; only the winner enqueues. The tick is
the cron time in ``ATR_TZ``, so every scheduler names it the same way. A tick
missed while no scheduler ran is not replayed (as with cron); the next one is.
While Redis is unreachable the scheduler logs it once and keeps trying; a tick
that came due meanwhile is enqueued when Redis is back, up to 5 minutes late.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time
from collections.abc import Sequence
from datetime import datetime
from typing import Final
from zoneinfo import ZoneInfo

import dramatiq.errors
import redis
from dramatiq.brokers.redis import RedisBroker

from brokers.producer import send
from pipeline import keys
from pipeline.schedule import ScheduledJob, next_tick

__all__ = ["TICK_OPTION", "Scheduler"]

logger = logging.getLogger(__name__)

#: Message option carrying the tick a scheduled message was enqueued for.
TICK_OPTION: Final = "atr_tick"
#: How long a claimed tick is remembered, in seconds (longer than any clock skew).
_CLAIM_TTL_S: Final = 24 * 3600
_HEARTBEAT_EVERY_S: Final = 15.0
_MAX_SLEEP_S: Final = 1.0
#: How late a tick may still be enqueued after Redis comes back, in seconds.
_MISSED_TICK_GRACE_S: Final = 300
_REDIS_DOWN: Final = (redis.RedisError, dramatiq.errors.BrokerConnectionError)




class Scheduler:
    """The loop: sleep to the next tick, claim it, enqueue the job's actor."""

    def __init__(self, broker: RedisBroker, jobs: Sequence[ScheduledJob], zone: ZoneInfo) -> None:
        self._broker = broker
        self._jobs = tuple(jobs)
        self._zone = zone
        self.identity = f"{socket.gethostname()}:{os.getpid()}"
        self.fired = 0
        self._down_since: float | None = None

    def _redis_lost(self, exc: BaseException) -> None:
        if self._down_since is None:
            self._down_since = time.monotonic()
            logger.warning("Redis is unreachable (%s); the scheduler keeps trying and "
                           "enqueues due ticks when it is back.", " ".join(str(exc).split()))

    def _redis_back(self) -> None:
        if self._down_since is not None:
            logger.warning("Redis is reachable again after %.0f s; scheduling goes on.",
                           time.monotonic() - self._down_since)
            self._down_since = None

    def run(self, stop: threading.Event) -> None:
        """Run until ``stop`` is set."""
        now = datetime.now(self._zone)
        due = {job.name: next_tick(job.cron, now) for job in self._jobs}
        for job in self._jobs:
            logger.info("Scheduling %s (%s = %r); next tick %s.", job.actor, job.setting,
                        job.cron, due[job.name].isoformat())
        last_beat = 0.0
        while not stop.is_set():
            now = datetime.now(self._zone)
            try:
                if time.monotonic() - last_beat >= _HEARTBEAT_EVERY_S:
                    self._broker.client.set(keys.scheduler_heartbeat(self.identity),
                                            now.isoformat(), ex=60)
                    last_beat = time.monotonic()
                for job in self._jobs:
                    if due[job.name] <= now:
                        self.fire(job, due[job.name])
                        due[job.name] = next_tick(job.cron, now)
                self._redis_back()
            except _REDIS_DOWN as exc:
                self._redis_lost(exc)
                for job in self._jobs:  # a tick Redis kept us from enqueueing is retried
                    late = (now - due[job.name]).total_seconds()
                    if late > _MISSED_TICK_GRACE_S:
                        logger.error("Gave up on tick %s of %s: Redis was unreachable for "
                                     "%.0f s after it.", due[job.name].isoformat(), job.actor,
                                     late)
                        due[job.name] = next_tick(job.cron, now)
            if self._jobs:
                wait = min(due.values()) - datetime.now(self._zone)
                stop.wait(min(max(wait.total_seconds(), 0.0), _MAX_SLEEP_S))
            else:
                stop.wait(_MAX_SLEEP_S)

    def fire(self, job: ScheduledJob, tick: datetime) -> bool:
        """Claim ``tick`` for ``job`` and enqueue it; False when another scheduler had it."""
        key = keys.schedule_claim(job.name, tick)
        if not self._broker.client.set(key, self.identity, nx=True, ex=_CLAIM_TTL_S):
            logger.debug("Tick %s of %s was enqueued by another scheduler.", tick, job.name)
            return False
        try:
            message = send(self._broker, job.actor, job.kwargs,
                           options={TICK_OPTION: tick.isoformat()})
        except _REDIS_DOWN:
            # Give the claim back so that this or another scheduler retries the tick.
            with contextlib.suppress(*_REDIS_DOWN):
                self._broker.client.delete(key)
            raise
        self.fired += 1
        logger.info("Enqueued %s for tick %s (message %r).", job.actor, tick.isoformat(),
                    message.message_id)
        return True
