"""Keep ``atr:heartbeat:<group>:<host>:<pid>`` alive while this worker process consumes.

Dramatiq's own heartbeats (``dramatiq:__heartbeats__``) are keyed by broker
id, which names neither the group nor the process, and producers write them
too; ``atr health`` needs "how many worker processes of worker1 are alive".
So each worker process of a group, once booted, refreshes its own key
(TTL :data:`TTL_S`, every :data:`INTERVAL_S`) from a daemon thread, but only
while its consumer and worker threads are all alive: a worker whose threads
died stops beating even though the process still exists. The key is deleted
when the worker shuts down, so a stopped group counts as dead at once; a
killed one when its key expires.

Producers (a broker built without a group) never write a key. Nothing here
may break a worker: every Redis call and hook is guarded and only logged.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Final

import dramatiq
import redis
from dramatiq.brokers.redis import RedisBroker
from dramatiq.middleware import Middleware

from middleware.liveness import dead_threads
from pipeline import keys

__all__ = ["INTERVAL_S", "TTL_S", "Heartbeat"]

logger = logging.getLogger(__name__)

#: Lifetime of a heartbeat key, in seconds: a killed process counts as dead after this.
TTL_S: Final = 60.0
#: How often a live worker refreshes its key, in seconds (4 chances per TTL).
INTERVAL_S: Final = 15.0




@dataclass
class _Beat:
    key: str
    stop: threading.Event
    thread: threading.Thread


class Heartbeat(Middleware):
    """Refresh this process's heartbeat key while its worker threads live.

    ``group`` is the worker group of this process, or None for a producer
    (then the middleware does nothing). ``ttl_s`` and ``interval_s`` are in
    seconds; tests shorten them.
    """

    def __init__(self, group: str | None, *, ttl_s: float = TTL_S,
                 interval_s: float = INTERVAL_S) -> None:
        self.group = group
        self.ttl_s = ttl_s
        self.interval_s = interval_s
        # One entry per running Worker (normally one per process); keyed by
        # id() because a test may run several Workers on one broker.
        self._beats: dict[int, _Beat] = {}
        self._lock = threading.Lock()

    def after_worker_boot(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        if self.group is None or not isinstance(broker, RedisBroker):
            return
        # Boundary: a heartbeat problem must never stop a worker from booting.
        try:
            key = keys.heartbeat(self.group, socket.gethostname(), os.getpid())
            stop = threading.Event()
            thread = threading.Thread(target=self._run, args=(broker.client, key, worker, stop),
                                      name=f"atr-heartbeat-{self.group}", daemon=True)
            with self._lock:
                self._beats[id(worker)] = _Beat(key, stop, thread)
            thread.start()
        except Exception:
            logger.exception("Could not start the heartbeat of %s; the worker runs without "
                             "it and atr health will count this process as dead.", self.group)

    def before_worker_shutdown(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        with self._lock:
            beat = self._beats.pop(id(worker), None)
        if beat is None or not isinstance(broker, RedisBroker):
            return
        beat.stop.set()
        beat.thread.join(timeout=self.interval_s)
        # Delete at once: a stopping group is not consuming any more, so health
        # should not count it for another TTL.
        _guarded(partial(broker.client.delete, beat.key), beat.key, "delete")

    def _run(self, client: redis.Redis, key: str, worker: dramatiq.Worker,
             stop: threading.Event) -> None:
        ttl_ms = max(1, int(self.ttl_s * 1000))
        while not stop.is_set():
            if not dead_threads(worker):
                value = json.dumps({"pid": os.getpid(), "threads": len(worker.workers),
                                    "beat_at": time.time()})
                _guarded(partial(client.set, key, value, px=ttl_ms), key, "refresh")
            else:
                # Threads died: the process still exists but consumes nothing.
                _guarded(partial(client.delete, key), key, "delete")
            stop.wait(self.interval_s)




def _guarded(call: Callable[[], object], key: str, action: str) -> None:
    # Boundary of the heartbeat thread: if it died, the process would look dead
    # to health for good; a failed beat is retried at the next interval.
    try:
        call()
    except redis.RedisError as exc:
        logger.warning("Could not %s heartbeat key %s: %s", action, key, exc)
    except Exception:
        logger.exception("Unexpected error while trying to %s heartbeat key %s.", action, key)
