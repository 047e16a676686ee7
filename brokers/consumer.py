"""This project's Redis broker: weighted fetch, blocking pickup, fast recovery, envelope guard.

Dramatiq 2.2's ``RedisBroker`` gives every queue its own consumer that polls
with back-off, heartbeats only as a side effect of its Lua calls, requeues a
dead process's messages only in a random maintenance pass (0.1% of calls, on
the calling queue only) after a 60 s timeout, and decodes bodies with
``Message.decode`` (a bad body crashes the consumer thread). :class:`AtrRedisBroker`
keeps Dramatiq's Redis layout (``pipeline.keys``) and its ``ack``,
``nack`` and ``requeue`` commands, and replaces the rest through the broker's
public hooks (``consume``, ``do_enqueue``); see the README's "Consumer"
section for each override and what breaks if Dramatiq changes.

In a worker process:

- one **fetcher** thread per process fetches for all of the group's queues
  with one Lua call (:data:`_FETCH`): for each message slot it tries the
  queues in a weighted order (smooth weighted round-robin; Sidekiq's semantics: under
  load each queue gets its weight's share; an empty queue is skipped, so its
  share goes to the others) and hands the messages to the per-queue consumers
  that Dramatiq's ``ConsumerThread`` reads. It holds at most ``prefetch``
  (Dramatiq's 2 x threads) messages for the whole process, refilling when
  half are done, so the worker threads' share follows the weights;
- when the queues are empty it blocks on ``BLPOP atr:wake:<q> ...`` for at
  most ``ATR_PICKUP_POLL_MS``; :meth:`AtrRedisBroker.do_enqueue` pushes a
  wake-up with every message, so a send is picked up in about one round
  trip, and a raw producer's message is still found by the next look;
- a **keeper** thread beats ``dramatiq:__heartbeats__`` every fifth of
  ``ATR_BROKER_HEARTBEAT_TIMEOUT_S``, whether the worker threads are busy or
  not, and every ``ATR_RECOVERY_SWEEP_S`` (and at boot) requeues the
  unacknowledged messages of dead processes on every queue of the group
  (:data:`_SWEEP`): processes whose heartbeat is older than the timeout, and
  at once those of this host whose pid no longer exists;
- every fetched body goes through :func:`brokers.envelope.check`; a bad one
  is moved aside once (:mod:`pipeline.quarantine`), logged in one escaped
  line and written to the doclog, and the rest of the batch runs.

Delay queues (``q.DQ``) keep Dramatiq's polling (their messages wait in
memory for their eta and take no worker thread) but fetch through the same
script and guard.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Final

import redis
from dramatiq.broker import Consumer, MessageProxy
from dramatiq.common import current_millis, dq_name
from dramatiq.errors import ConnectionClosed
from dramatiq.middleware import Middleware

from brokers import envelope
from brokers.redis_broker import AtrRedisBroker as _EnqueueSafeRedisBroker
from pipeline import keys, quarantine

__all__ = ["AtrRedisBroker", "ConsumerGate", "MovedAside"]

logger = logging.getLogger(__name__)

#: Wake-up entries kept per queue: enough to wake every idle process, bounded when none listens.
_WAKE_KEEP: Final = 64
#: Longest a fetch (count of messages) may be: well under Lua's unpack limit.
_MAX_FETCH: Final = 500
#: How long a per-queue consumer waits for the fetcher before returning to Dramatiq's loop, in s.
_TAKE_WAIT_S: Final = 1.0
#: After a Redis error the fetcher and keeper retry after this long, in seconds.
_RETRY_S: Final = 1.0
#: Longest an idle delay-queue consumer blocks for a wake-up, in seconds. Delayed
#: messages sent through this broker wake it; a held message's eta shortens the wait.
_DELAY_POLL_S: Final = 5.0
#: Longest a body kept in the store may be when it was refused for its size, in bytes.
_TRUNCATED_BYTES: Final = 4096

# Same writes as dispatch.lua's "enqueue", plus the wake-up. No heartbeat:
# producers are not consumers.
_ENQUEUE: Final = """
redis.call('hset', KEYS[1], ARGV[1], ARGV[2])
redis.call('rpush', KEYS[2], ARGV[1])
redis.call('lpush', KEYS[3], '1')
redis.call('ltrim', KEYS[3], 0, tonumber(ARGV[3]) - 1)
return 1
"""
# ARGV: namespace, broker id, now (ms), count, n queues, the n queue names, their n
# weights, their n credits. Smooth weighted round-robin (nginx's), done here because
# only here is it known which queues are empty: every slot each queue present gets
# its weight as credit, the one with the most credit is tried first and pays the
# total weight present; an empty queue (at the start, or when it runs dry) is out
# for the call with its credit reset (no share while idle, no burst when it fills
# again), and the
# credits present are kept summing to zero. Each id popped goes into the process's
# ack set (as dispatch.lua's "fetch" does) and comes back with its queue index and
# body (false when the hash has none); the credits come back last, as strings.
_FETCH: Final = """
local ns, id, count, nq = ARGV[1], ARGV[2], tonumber(ARGV[4]), tonumber(ARGV[5])
redis.call('zadd', ns .. ':__heartbeats__', ARGV[3], id)
local w, c, empty, left, out = {}, {}, {}, nq, {}
for i = 1, nq do
  w[i] = tonumber(ARGV[5 + nq + i])
  c[i] = tonumber(ARGV[5 + 2 * nq + i])
  if redis.call('llen', ns .. ':' .. ARGV[5 + i]) == 0 then
    empty[i] = true
    c[i] = 0
    left = left - 1
  end
end
for k = 1, count do
  if left == 0 then break end
  local present = 0
  for i = 1, nq do
    if not empty[i] then c[i] = c[i] + w[i]; present = present + w[i] end
  end
  while left > 0 do
    local best = nil
    for i = 1, nq do
      if not empty[i] and (best == nil or c[i] > c[best]) then best = i end
    end
    local q = ARGV[5 + best]
    local mid = redis.call('lpop', ns .. ':' .. q)
    if mid then
      redis.call('sadd', ns .. ':__acks__.' .. id .. '.' .. q, mid)
      out[#out + 1] = best
      out[#out + 1] = mid
      out[#out + 1] = redis.call('hget', ns .. ':' .. q .. '.msgs', mid)
      c[best] = c[best] - present
      break
    end
    empty[best] = true
    present = present - w[best]
    c[best] = 0
    left = left - 1
  end
  if left > 0 then
    local sum = 0
    for i = 1, nq do if not empty[i] then sum = sum + c[i] end end
    for i = 1, nq do if not empty[i] then c[i] = c[i] - sum / left end end
  end
end
for i = 1, nq do out[#out + 1] = tostring(empty[i] and 0 or c[i]) end
return out
"""
# ARGV: namespace, now (ms), heartbeat timeout (ms), dead-letter ttl (ms), n known
# dead ids, those ids, then the queues to sweep (the group's, with their .DQ).
# Requeues what dead processes held, forgets a dead process once it holds nothing
# anywhere, and expires old dead letters (Dramatiq's maintenance did that too).
_SWEEP: Final = """
local ns, now, timeout, ttl, nd = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]),
  tonumber(ARGV[4]), tonumber(ARGV[5])
local hb = ns .. ':__heartbeats__'
local dead = redis.call('zrangebyscore', hb, 0, now - timeout)
for i = 1, nd do dead[#dead + 1] = ARGV[5 + i] end
local moved = 0
for _, w in ipairs(dead) do
  for i = 6 + nd, #ARGV do
    local q = ARGV[i]
    local acks = ns .. ':__acks__.' .. w .. '.' .. q
    for _, mid in ipairs(redis.call('smembers', acks)) do
      if redis.call('hexists', ns .. ':' .. q .. '.msgs', mid) == 1 then
        redis.call('rpush', ns .. ':' .. q, mid)
        moved = moved + 1
      end
    end
    redis.call('del', acks)
  end
  if #redis.call('keys', ns .. ':__acks__.' .. w .. '.*') == 0 then
    redis.call('zrem', hb, w)
    redis.call('hdel', KEYS[1], w)
  end
end
for i = 6 + nd, #ARGV do
  local q = ARGV[i]
  if string.sub(q, -3) ~= '.DQ' then
    local xq = ns .. ':' .. q .. '.XQ'
    local old = redis.call('zrangebyscore', xq, 0, now - ttl, 'limit', 0, 1000)
    for _, mid in ipairs(old) do
      redis.call('zrem', xq, mid)
      redis.call('hdel', xq .. '.msgs', mid)
    end
  end
end
return moved
"""


class MovedAside:
    """What the broker reports for a body it moved aside: the record and the raw body."""

    __slots__ = ("body", "record")

    def __init__(self, record: quarantine.Record, body: bytes) -> None:
        self.record = record
        self.body = body


class AtrRedisBroker(_EnqueueSafeRedisBroker):
    """A RedisBroker with this project's consumer (see the module docstring).

    It extends :class:`brokers.redis_broker.AtrRedisBroker` (enqueue raises
    ``RedisConnectionLost`` when Redis is gone), so both behaviours hold.

    ``group`` names the worker group (None in a producer), ``queues`` every
    queue of the group (swept for dead processes' messages), ``weights`` the
    weight of each queue (1 for one not listed). Times: ``heartbeat_timeout_ms``
    and ``poll_ms`` in milliseconds, ``sweep_s`` in seconds. ``on_moved_aside``
    is called (in the fetching thread) after a body was moved aside.
    """

    def __init__(self, *, client: redis.Redis, middleware: list[Middleware],
                 group: str | None = None, queues: Sequence[str] = (),
                 weights: Mapping[str, int] | None = None, heartbeat_timeout_ms: int = 15_000,
                 sweep_s: float = 5.0, poll_ms: int = 1000, max_bytes: int = 256 * 1024,
                 on_moved_aside: Callable[[MovedAside], None] | None = None) -> None:
        # RedisBroker.__init__ is unannotated in dramatiq 2.2.
        super().__init__(client=client, middleware=middleware,  # type: ignore[no-untyped-call]
                         heartbeat_timeout=heartbeat_timeout_ms)
        self.group = group
        self.group_queues = tuple(queues)
        self.weights = dict(weights or {})
        self.sweep_s = sweep_s
        self.poll_s = poll_ms / 1000
        self.max_bytes = max_bytes
        self.on_moved_aside = on_moved_aside
        self._enqueue_script = client.register_script(_ENQUEUE)
        self._fetch_script = client.register_script(_FETCH)
        self._sweep_script = client.register_script(_SWEEP)
        self._lock = threading.Lock()
        self._fetcher: _Fetcher | None = None
        self._keeper: _Keeper | None = None
        #: Queues fetched together -> their round-robin credits, kept between fetches.
        self._credits: dict[tuple[str, ...], list[str]] = {}
        #: Set while the fetcher may fetch; ConsumerGate closes it during a worker's boot.
        self.gate = threading.Event()
        self.gate.set()
        self._open = 0

    def consume(self, queue_name: str, prefetch: int = 1, timeout: int = 5000) -> Consumer:
        """A consumer of ``queue_name``; starts this process's fetcher and keeper on first use."""
        with self._lock:
            if self._keeper is None:
                self._keeper = _Keeper(self)
                self._keeper.start()
            self._open += 1
            if queue_name.endswith(".DQ"):
                return _DelayConsumer(self, queue_name, prefetch, timeout)
            if self._fetcher is None:
                self._fetcher = _Fetcher(self, prefetch)
                self._fetcher.start()
            return _QueueConsumer(self, self._fetcher, queue_name)

    def do_enqueue(self, queue_name: str, message_id: str, data: bytes) -> None:
        """Dramatiq's enqueue writes plus a wake-up for idle consumers of the queue."""
        self._enqueue_script(keys=[keys.dramatiq_messages(queue_name),
                                   keys.dramatiq_queue(queue_name), keys.wake(queue_name)],
                             args=[message_id, data, _WAKE_KEEP])

    def fetch(self, queues: Sequence[str], count: int,
              held: Callable[[str, MessageProxy], None]) -> int:
        """Fetch up to ``count`` messages from ``queues`` in weighted order; ``held`` gets each.

        Bodies that are not well-formed messages are moved aside here and not
        passed on. Returns how many ids were popped (passed on or moved aside).
        """
        count = min(count, _MAX_FETCH)
        key = tuple(queues)
        credits = self._credits.get(key) or ["0"] * len(queues)
        weights = [max(1, self.weights.get(q, 1)) for q in queues]
        reply = self._fetch_script(args=[self.namespace, self.broker_id, current_millis(),
                                         count, len(queues), *queues, *weights, *credits])
        self._credits[key] = [_text(c) for c in reply[len(reply) - len(queues):]]
        reply = reply[:len(reply) - len(queues)]
        for i in range(0, len(reply), 3):
            queue = queues[int(reply[i]) - 1]
            redis_id = _text(reply[i + 1])
            body = reply[i + 2] if isinstance(reply[i + 2], bytes) else None
            checked = envelope.check(body, queue, redis_id, self.max_bytes, self.actors)
            if isinstance(checked, envelope.Refusal):
                self._move_aside(queue, redis_id, body, checked)
            else:
                held(queue, MessageProxy(checked))
        return len(reply) // 3

    def stop_consuming(self) -> None:
        """Called by each consumer's close: the last one stops the fetcher and keeper."""
        with self._lock:
            self._open -= 1
            if self._open > 0:
                return
            fetcher, keeper = self._fetcher, self._keeper
            self._fetcher = self._keeper = None
        for thread in (fetcher, keeper):
            if thread is not None:
                thread.stop()

    def _move_aside(self, queue: str, redis_id: str, body: bytes | None,
                    refusal: envelope.Refusal) -> None:
        size = len(body) if body is not None else 0
        truncated = size > self.max_bytes
        stored = (body or b"")[:_TRUNCATED_BYTES] if truncated else (body or b"")
        record = quarantine.Record(
            id=redis_id, queue=queue, reason=refusal.reason, detail=refusal.detail,
            moved_at=time.time(), group=self.group, host=socket.gethostname(),
            pid=os.getpid(), size=size, truncated=truncated,
            message_id=refusal.message_id, actor=refusal.actor)
        try:
            first = quarantine.move(self.client, record, stored, self.broker_id)
        except redis.RedisError as exc:
            # Left in the ack set: the sweep requeues it when this process is gone,
            # and the next worker moves it aside then.
            logger.warning("Could not move refused message %s of queue %s aside: %s",
                           envelope.shown(redis_id), queue, exc)
            return
        if not first:
            return
        logger.warning("Moved message %s of queue %s aside (%s: %s); see atr quarantine show %s",
                       envelope.shown(redis_id), queue, refusal.reason, refusal.detail,
                       envelope.shown(redis_id))
        if self.on_moved_aside is not None:
            # Boundary: the report (doclog) must not stop the fetcher.
            try:
                self.on_moved_aside(MovedAside(record, stored))
            except Exception:
                logger.exception("Could not report moved-aside message %s.",
                                 envelope.shown(redis_id))


class ConsumerGate(Middleware):
    """Hold the fetcher until the worker has booted: add it first to the broker's middleware.

    The dramatiq CLI's master reads its worker processes' log pipes only once
    every process has booted (or ``--worker-fork-timeout``, 30 s, passed). A
    process that fetches while its own boot hooks still run and logs a line
    per message fills its pipe and blocks on logging: with a backlog at a
    restart the whole group stood still for 30 s. Dramatiq starts consumer
    threads before the ``worker_boot`` hooks; this gate opens after the
    last of them (after-hooks run in reverse order, hence first in the list).
    """

    def before_worker_boot(self, broker: Any, worker: Any) -> None:
        if isinstance(broker, AtrRedisBroker):
            broker.gate.clear()

    def after_worker_boot(self, broker: Any, worker: Any) -> None:
        if isinstance(broker, AtrRedisBroker):
            broker.gate.set()


class _Fetcher(threading.Thread):
    """Fetches for every queue consumer of the process and holds the per-queue hand-over."""

    def __init__(self, broker: AtrRedisBroker, capacity: int) -> None:
        super().__init__(name="atr-fetcher", daemon=True)
        self.broker = broker
        self.capacity = max(1, capacity)
        self.refill_at = self.capacity // 2
        self.lock = threading.Lock()
        self.room = threading.Condition(self.lock)
        self.ready: dict[str, deque[MessageProxy]] = {}
        self.arrived: dict[str, threading.Condition] = {}
        self.held: set[str] = set()
        self.running = True
        self._failing = False

    def register(self, queue: str) -> None:
        with self.lock:
            if queue not in self.ready:
                self.ready[queue] = deque()
                self.arrived[queue] = threading.Condition(self.lock)
            self.room.notify()

    def take(self, queue: str) -> MessageProxy | None:
        with self.lock:
            ready = self.ready.get(queue)
            if ready is None:
                return None
            if not ready:
                self.arrived[queue].wait(_TAKE_WAIT_S)
            return ready.popleft() if ready else None

    def done(self, redis_ids: Iterable[str]) -> None:
        with self.lock:
            self.held.difference_update(redis_ids)
            if len(self.held) <= self.refill_at:
                self.room.notify()

    def unregister(self, queue: str) -> list[MessageProxy]:
        """Stop fetching for ``queue``; the messages not yet taken, to requeue."""
        with self.lock:
            left = list(self.ready.pop(queue, ()))
            self.arrived.pop(queue, None)
        return left

    def stop(self) -> None:
        self.running = False
        with self.lock:
            self.room.notify()

    def run(self) -> None:
        client = self.broker.client
        while self.running and not self.broker.gate.wait(_TAKE_WAIT_S):
            pass
        while self.running:
            with self.lock:
                while self.running and (len(self.held) > self.refill_at or not self.ready):
                    self.room.wait(_TAKE_WAIT_S)
                queues = list(self.ready)
                room = self.capacity - len(self.held)
            if not self.running:
                break
            try:
                if self._fetch(queues, room):
                    self._recovered()
                    continue
                client.blpop([keys.wake(q) for q in queues], timeout=self.broker.poll_s)
                self._recovered()
            except redis.RedisError as exc:
                self._failed(exc)
            except Exception:
                # Boundary of the fetching thread: if it died the process would
                # hold its queues and never fetch again.
                logger.exception("The fetcher hit an unexpected error; it retries in %.0f s.",
                                 _RETRY_S)
                time.sleep(_RETRY_S)

    def _fetch(self, queues: list[str], room: int) -> int:
        """One fetch, its messages handed over together once it returns (or raises)."""
        fetched: list[tuple[str, MessageProxy]] = []
        try:
            return self.broker.fetch(queues, room, lambda q, m: fetched.append((q, m)))
        finally:
            if fetched:
                self._hand_over(fetched)

    def _hand_over(self, fetched: list[tuple[str, MessageProxy]]) -> None:
        # One lock and one wake-up per queue for the whole batch: a wake-up
        # per message made the consumer threads fight the fetcher for the lock.
        woken: set[str] = set()
        with self.lock:
            for queue, message in fetched:
                ready = self.ready.get(queue)
                redis_id = message.options["redis_message_id"]
                if ready is None:  # the queue was closed meanwhile: give it back
                    self.broker.do_requeue(queue, redis_id)
                    continue
                self.held.add(redis_id)
                ready.append(message)
                woken.add(queue)
            for queue in woken:
                self.arrived[queue].notify()

    def _failed(self, exc: redis.RedisError) -> None:
        if not self._failing:
            logger.warning("The fetcher cannot reach Redis (%s); it retries every %.0f s.",
                           exc, _RETRY_S)
            self._failing = True
        time.sleep(_RETRY_S)

    def _recovered(self) -> None:
        if self._failing:
            logger.info("The fetcher reaches Redis again.")
            self._failing = False


class _QueueConsumer(Consumer):
    """What Dramatiq's ConsumerThread of one queue reads: messages the fetcher handed over."""

    def __init__(self, broker: AtrRedisBroker, fetcher: _Fetcher, queue_name: str) -> None:
        self.broker = broker
        self.fetcher = fetcher
        self.queue_name = queue_name
        self.closed = False
        fetcher.register(queue_name)

    def __next__(self) -> MessageProxy | None:
        return self.fetcher.take(self.queue_name)

    def ack(self, message: MessageProxy) -> None:
        self._settle(message, self.broker.do_ack)

    def nack(self, message: MessageProxy) -> None:
        self._settle(message, self.broker.do_nack)

    def _settle(self, message: MessageProxy, command: Callable[[str, str], Any]) -> None:
        """Ack or nack in Redis, then let the fetcher forget the message."""
        redis_id = message.options["redis_message_id"]
        try:
            command(self.queue_name, redis_id)
        except redis.ConnectionError as exc:
            raise _closed(exc) from None
        self.fetcher.done([redis_id])

    def requeue(self, messages: Iterable[MessageProxy]) -> None:
        ids = [m.options["redis_message_id"] for m in messages]
        if ids:
            self.broker.do_requeue(self.queue_name, *ids)
            self.fetcher.done(ids)

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        try:
            self.requeue(self.fetcher.unregister(self.queue_name))
        finally:
            self.broker.stop_consuming()


class _DelayConsumer(Consumer):
    """A delay queue's consumer: Dramatiq's polling with back-off, through the guarded fetch."""

    def __init__(self, broker: AtrRedisBroker, queue_name: str, prefetch: int,
                 timeout: int) -> None:
        self.broker = broker
        self.queue_name = queue_name
        self.prefetch = prefetch
        self.timeout = timeout
        self.cache: deque[MessageProxy] = deque()
        #: Redis id -> eta (epoch ms) of each message handed out and not yet acked.
        self.held: dict[str, float] = {}
        self.closed = False

    def __next__(self) -> MessageProxy | None:
        if self.cache:
            return self.cache.popleft()
        try:
            room = self.prefetch - len(self.held)
            if room > 0 and self.broker.fetch([self.queue_name], room, self._hold):
                return self.cache.popleft() if self.cache else None
            # Nothing new: block until a delayed message is sent, or until the
            # earliest held one is due (Dramatiq's ConsumerThread moves it then).
            wait = _DELAY_POLL_S
            if self.held:
                wait = min(wait, min(self.held.values()) / 1000 - time.time())
            if wait > 0.005:
                self.broker.client.blpop([keys.wake(self.queue_name)], timeout=wait)
        except redis.ConnectionError as exc:
            raise _closed(exc) from None
        return None

    def _hold(self, queue: str, message: MessageProxy) -> None:
        eta = message.options.get("eta")
        self.held[message.options["redis_message_id"]] = float(eta) if eta is not None \
            else 0.0
        self.cache.append(message)

    def ack(self, message: MessageProxy) -> None:
        redis_id = message.options["redis_message_id"]
        try:
            self.broker.do_ack(self.queue_name, redis_id)
        except redis.ConnectionError as exc:
            raise _closed(exc) from None
        self.held.pop(redis_id, None)

    def nack(self, message: MessageProxy) -> None:
        redis_id = message.options["redis_message_id"]
        try:
            self.broker.do_nack(self.queue_name, redis_id)
        except redis.ConnectionError as exc:
            raise _closed(exc) from None
        self.held.pop(redis_id, None)

    def requeue(self, messages: Iterable[MessageProxy]) -> None:
        ids = [m.options["redis_message_id"] for m in messages]
        if ids:
            self.broker.do_requeue(self.queue_name, *ids)
            for redis_id in ids:
                self.held.pop(redis_id, None)

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        try:
            self.requeue(list(self.cache))
            self.cache.clear()
        finally:
            self.broker.stop_consuming()


class _Keeper(threading.Thread):
    """Beats this process's heartbeat and sweeps dead processes' messages back into their queues."""

    def __init__(self, broker: AtrRedisBroker) -> None:
        super().__init__(name="atr-keeper", daemon=True)
        self.broker = broker
        self.stopped = threading.Event()
        self.interval_s = broker.heartbeat_timeout / 5000
        self.place = _place()
        self._failing = False
        #: Until then (monotonic s) the sweep trusts only the dead-pid test: set when this
        #: keeper reaches Redis again after losing it, since every other process lost it
        #: too and has not beaten yet; a heartbeat timeout then would requeue messages
        #: that live processes still hold, and they would run twice.
        self._trust_silence_at = 0.0

    def stop(self) -> None:
        self.stopped.set()
        self.join(timeout=5)
        try:
            with self.broker.client.pipeline(transaction=False) as pipe:
                pipe.hdel(keys.CONSUMERS, self.broker.broker_id)
                pipe.zrem(keys.DRAMATIQ_HEARTBEATS, self.broker.broker_id)
                pipe.execute()
        except redis.RedisError as exc:
            logger.warning("Could not remove this process's heartbeat: %s", exc)

    def run(self) -> None:
        next_sweep = 0.0
        while not self.stopped.is_set():
            try:
                self.beat()
                if self._failing:
                    logger.info("The heartbeat reaches Redis again.")
                    self._failing = False
                    self._trust_silence_at = (time.monotonic()
                                              + 2 * self.broker.heartbeat_timeout / 1000)
                if time.monotonic() >= next_sweep:
                    moved = self.sweep()
                    next_sweep = time.monotonic() + self.broker.sweep_s
                    if moved:
                        logger.warning("Requeued %d message(s) held by dead worker processes.",
                                       moved)
            except redis.RedisError as exc:
                if not self._failing:
                    logger.warning("The heartbeat cannot reach Redis (%s); other processes may "
                                   "requeue this one's messages if it lasts over %.0f s.",
                                   exc, self.broker.heartbeat_timeout / 1000)
                    self._failing = True
            except Exception:
                # Boundary of the keeper: without it the process would look dead.
                logger.exception("The heartbeat hit an unexpected error; it goes on.")
            self.stopped.wait(min(self.interval_s, self.broker.sweep_s))

    def beat(self) -> None:
        broker = self.broker
        with broker.client.pipeline(transaction=False) as pipe:
            pipe.zadd(keys.DRAMATIQ_HEARTBEATS, {broker.broker_id: current_millis()})
            pipe.hset(keys.CONSUMERS, broker.broker_id,
                      json.dumps({**self.place, "group": broker.group}))
            pipe.execute()

    def sweep(self) -> int:
        broker = self.broker
        queues = [name for q in broker.group_queues for name in (q, dq_name(q))]
        if not queues:
            return 0
        dead_here = self._dead_here(broker.client.hgetall(keys.CONSUMERS))
        now = current_millis()
        # Right after an outage nobody's silence means death (see _trust_silence_at):
        # a timeout of ``now`` finds no heartbeat old enough.
        timeout = (broker.heartbeat_timeout if time.monotonic() >= self._trust_silence_at
                   else now)
        return int(broker._sweep_script(
            keys=[keys.CONSUMERS],
            args=[broker.namespace, now, timeout,
                  broker.dead_message_ttl, len(dead_here), *dead_here, *queues]))

    def _dead_here(self, registry: Mapping[Any, Any]) -> list[str]:
        """Broker ids registered on this very host whose process no longer exists."""
        dead = []
        for raw_id, raw in registry.items():
            broker_id = _text(raw_id)
            if broker_id == self.broker.broker_id:
                continue
            try:
                place = json.loads(raw)
                same = place["host"] == self.place["host"] and place["boot"] == self.place["boot"]
                pid = int(place["pid"])
            except (ValueError, KeyError, TypeError):
                continue
            if same and self.place["boot"] and not _alive(pid):
                dead.append(broker_id)
        return dead


def _place() -> dict[str, Any]:
    """Where this process runs: host, boot and pid namespace (so a pid means one process), pid."""
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
        boot += ":" + str(os.stat("/proc/self/ns/pid").st_ino)
    except OSError:
        boot = ""  # not Linux: only the heartbeat timeout tells a dead process
    return {"host": socket.gethostname(), "boot": boot, "pid": os.getpid()}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _closed(exc: redis.ConnectionError) -> ConnectionClosed:
    # ConnectionClosed is unannotated in dramatiq 2.2.
    return ConnectionClosed(exc)  # type: ignore[no-untyped-call]
