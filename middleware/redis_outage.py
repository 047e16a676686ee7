"""Give back the delayed messages a consumer drops when it loses Redis, and log the outage.

Why this exists: on a connection error Dramatiq 2.2's ``ConsumerThread``
replaces its in-memory delay queue (``self.delay_queue = PriorityQueue()``).
The delayed messages it held there (retries waiting for their back-off,
deferrals waiting for LLM budget, messages sent with a delay) are forgotten
by the process but stay in Redis, in this worker's ack set. The worker keeps
its broker heartbeat, so Dramatiq's maintenance never gives them back: they
would wait until the worker restarts (and then the 60 s heartbeat timeout).

This middleware remembers each delayed message with the delay queue it went
into (``before_delay_message`` runs in the consumer thread just before the
put), forgets it once it is acked or nacked, and a watcher thread notices,
every :data:`WATCH_INTERVAL_S`, a consumer whose delay queue was replaced.
It then writes ``redis.lost`` to the ``worker`` doclog stream, waits until
Redis answers a PING, refreshes this worker's broker heartbeat at once (see
:meth:`RedisOutage._beat`), requeues the dropped messages on their delay queue
(Dramatiq's own requeue script: from this worker's ack set back to the
queue, so the consumer fetches and holds them again) and writes
``redis.restored`` with the outage's length and how many it put back: the
gap in the evidence is explicit.

Inert in producers (no group) and when Dramatiq changes: a consumer thread
without a ``delay_queue`` attribute is ignored. Nothing here may break a
worker: the watcher's loop is a guarded boundary.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any, Final

import dramatiq
import redis
from dramatiq.broker import MessageProxy
from dramatiq.brokers.redis import RedisBroker
from dramatiq.middleware import Middleware

from pipeline import doclog
from pipeline.doclog import DoclogWriter

__all__ = ["STREAM", "WATCH_INTERVAL_S", "RedisOutage"]

logger = logging.getLogger(__name__)

#: The doclog stream of worker-process events (not about one message).
STREAM: Final = "worker"
#: How often the watcher looks at the consumers and, in an outage, PINGs Redis, in seconds.
WATCH_INTERVAL_S: Final = 1.0
#: A message id no message has: acking it changes nothing but the broker heartbeat.
_NO_MESSAGE: Final = "atr-no-message-heartbeat-only"


@dataclass(frozen=True)
class _Held:
    thread: Any  # the ConsumerThread holding it (dramatiq keeps the class private-ish)
    delay_queue: Any  # the in-memory queue it was put into
    redis_message_id: str


class RedisOutage(Middleware):
    """Requeue delayed messages dropped on a Redis connection error; doclog the outage.

    ``writer`` is the process's doclog writer, ``group`` the worker group
    (None in a producer: then nothing is watched).
    """

    def __init__(self, writer: DoclogWriter, group: str | None, *,
                 interval_s: float = WATCH_INTERVAL_S) -> None:
        self.writer = writer
        self.group = group
        self.interval_s = interval_s
        self._lock = threading.Lock()
        # (consumer queue name, message id) -> where the message was held
        self._held: dict[tuple[str, str], _Held] = {}
        self._threads: dict[int, Any] = {}  # id(consumer thread) -> thread
        self._seen: dict[int, Any] = {}  # id(consumer thread) -> its delay queue last seen
        self._stop = threading.Event()
        self._watcher: threading.Thread | None = None

    def after_consumer_thread_boot(self, broker: dramatiq.Broker, thread: Any) -> None:
        if self.group is None or not hasattr(thread, "delay_queue"):
            return
        with self._lock:
            self._threads[id(thread)] = thread
            self._seen[id(thread)] = thread.delay_queue

    def before_delay_message(self, broker: dramatiq.Broker, message: MessageProxy) -> None:
        thread = threading.current_thread()
        redis_id = message.options.get("redis_message_id")
        if self.group is None or not hasattr(thread, "delay_queue") \
                or not isinstance(redis_id, str):
            return
        with self._lock:
            self._held[message.queue_name, message.message_id] = _Held(
                thread, thread.delay_queue, redis_id)

    def after_ack(self, broker: dramatiq.Broker, message: MessageProxy) -> None:
        with self._lock:
            self._held.pop((message.queue_name, message.message_id), None)

    after_nack = after_ack

    def after_worker_boot(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        if self.group is None or not isinstance(broker, RedisBroker):
            return
        self._stop.clear()
        self._watcher = threading.Thread(target=self._watch, args=(broker,),
                                         name=f"atr-redis-outage-{self.group}", daemon=True)
        self._watcher.start()

    def before_worker_shutdown(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        self._stop.set()
        if self._watcher is not None:
            self._watcher.join(timeout=5 * self.interval_s)
            self._watcher = None

    # -- the watcher thread ---------------------------------------------------
    def _watch(self, broker: RedisBroker) -> None:
        lost_at: float | None = None
        while not self._stop.wait(self.interval_s):
            # Boundary: if this thread died, dropped messages would wait for a restart.
            try:
                lost_at = self._tick(broker, lost_at)
            except Exception:
                logger.exception("The Redis outage watcher failed; it tries again in %g s.",
                                  self.interval_s)

    def _tick(self, broker: RedisBroker, lost_at: float | None) -> float | None:
        """One look: returns when the current outage began, or None when there is none."""
        replaced = self._replaced_consumers()
        dropped = self._dropped()
        if lost_at is None and not replaced and not dropped:
            return None
        if lost_at is None:
            lost_at = time.monotonic()
            queues = sorted({t.queue_name for t in replaced} | {q for q, _ in dropped})
            logger.warning("Worker consumers lost Redis (queues %s); %d delayed message(s) "
                           "they held are put back once Redis answers.",
                           ", ".join(queues), len(dropped))
            self._write(doclog.EVENT_REDIS_LOST, queues=queues, held_delayed=len(dropped))
        try:
            broker.client.ping()
            self._beat(broker)
            by_queue: dict[str, list[str]] = {}
            for (queue, _), held in dropped.items():
                by_queue.setdefault(queue, []).append(held.redis_message_id)
            for queue, ids in by_queue.items():
                broker.do_requeue(queue, *ids)
        except redis.RedisError:
            return lost_at  # still down: look again at the next tick
        with self._lock:
            for key in dropped:
                self._held.pop(key, None)
        outage_s = round(time.monotonic() - lost_at, 1)
        logger.warning("Redis answers again after about %.1f s; %d dropped delayed message(s) "
                       "put back on their queues.", outage_s, len(dropped))
        self._write(doclog.EVENT_REDIS_RESTORED, outage_s=outage_s, requeued=len(dropped))
        return None

    def _beat(self, broker: RedisBroker) -> None:
        """Refresh this worker's broker heartbeat first thing once Redis answers.

        After an outage longer than the broker's heartbeat timeout (60 s),
        another worker's maintenance pass would take this one for dead and
        requeue the messages it still runs or holds (run twice). Every broker
        command refreshes the heartbeat; an ack of an id no message has is
        the one that does nothing else and never triggers maintenance itself.
        """
        with self._lock:
            queue = next((t.queue_name for t in self._threads.values()), None)
        if queue is not None:
            broker.do_ack(queue, _NO_MESSAGE)

    def _replaced_consumers(self) -> list[Any]:
        """Consumers whose delay queue was replaced (a connection error) since the last look."""
        replaced = []
        with self._lock:
            for key, thread in self._threads.items():
                if thread.delay_queue is not self._seen[key]:
                    self._seen[key] = thread.delay_queue
                    replaced.append(thread)
        return replaced

    def _dropped(self) -> dict[tuple[str, str], _Held]:
        with self._lock:
            return {key: held for key, held in self._held.items()
                    if held.delay_queue is not held.thread.delay_queue}

    def _write(self, event: str, **fields: Any) -> None:
        self.writer.write(STREAM, {"event": event, "group": self.group, **fields})
