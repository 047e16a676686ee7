"""Throughput of one worker group: this project's middleware stack vs a bare RedisBroker.

N no-op messages go through an in-process ``dramatiq.Worker`` twice per round,
once on a bare ``RedisBroker(url=...)`` (Dramatiq's default middleware) and
once on ``build_broker()`` (the project's full stack), alternating
bare, full, bare, full... so both see the same machine state. Every run starts
on a flushed, private ``redis-server`` (:class:`devkit.redis_server.EmbeddedRedis`);
nothing talks to 127.0.0.1:6379.

Enqueueing and processing are timed separately: the N messages are sent first,
then the worker starts and the clock runs until the no-op actor has been
called N times. The last line is the processing ratio full/bare.

    .venv/bin/python bench/throughput.py [--messages N] [--threads T]
                                         [--rounds R] [--group worker1|worker2]

Exit status: 0 with the figures, 1 when a variant did not process every message
within ``--timeout`` seconds or the embedded Redis could not start.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final

import dramatiq
import redis
from dramatiq import Actor
from dramatiq.brokers.redis import RedisBroker

from actors.base import atr_actor
from brokers.broker import build_broker
from devkit.redis_server import EmbeddedRedis, RedisServerError
from pipeline.groups import GROUPS, WorkerGroup, get_group
from pipeline.settings import Settings

_ACTOR_NAME: Final = "bench_noop"
_TARGET_RATIO: Final = 0.90
#: How long ``worker.stop()`` may take to drain, in milliseconds.
_STOP_TIMEOUT_MS: Final = 30_000
_DOCLOG_DIR: Final = tempfile.TemporaryDirectory(prefix="atr-bench-doclog-")


class _Counter:
    """Counts no-op calls from every worker thread and fires ``done`` at the N-th."""

    def __init__(self, expected: int) -> None:
        self.expected = expected
        self.count = 0
        self.done = threading.Event()
        self._lock = threading.Lock()

    def hit(self) -> None:
        with self._lock:
            self.count += 1
            if self.count >= self.expected:
                self.done.set()


@dataclass(frozen=True)
class _Round:
    """One variant's figures for one round; times in seconds."""

    variant: str
    enqueue_s: float
    process_s: float
    #: CPU seconds this Python process spent while the worker drained the queue.
    process_cpu_s: float
    processed: int
    middleware: tuple[str, ...]


@dataclass(frozen=True)
class _Variant:
    """How to build a broker and declare the no-op actor on it."""

    name: str
    build: Callable[[str, WorkerGroup], RedisBroker]
    declare: Callable[[RedisBroker, str, Callable[[], None]], Actor[Any, Any]]


def _bare_broker(url: str, group: WorkerGroup) -> RedisBroker:
    # Dramatiq 2.2 leaves RedisBroker.__init__ unannotated.
    return RedisBroker(url=url)  # type: ignore[no-untyped-call]


def _full_broker(url: str, group: WorkerGroup) -> RedisBroker:
    # The doclog lines go to a throw-away directory, never into the checkout.
    return build_broker(Settings.from_env({"REDIS_URL": url,
                                           "ATR_DOCLOG_ROOT": _DOCLOG_DIR.name}), group)


def _bare_actor(broker: RedisBroker, queue: str, fn: Callable[[], None]) -> Actor[Any, Any]:
    actor: Actor[Any, Any] = dramatiq.actor(
        actor_name=_ACTOR_NAME, queue_name=queue, broker=broker)(fn)
    return actor


def _full_actor(broker: RedisBroker, queue: str, fn: Callable[[], None]) -> Actor[Any, Any]:
    # atr_actor applies the project's actor defaults (throws, time_limit).
    return atr_actor(queue=queue, name=_ACTOR_NAME, broker=broker)(fn)


_VARIANTS: Final = (
    _Variant("bare", _bare_broker, _bare_actor),
    _Variant("full", _full_broker, _full_actor),
)


def _flush(url: str) -> None:
    client = redis.Redis.from_url(url)
    try:
        client.flushall()
    finally:
        client.close()


def _run_once(variant: _Variant, url: str, group: WorkerGroup, queue: str,
              messages: int, threads: int, timeout_s: float) -> _Round:
    """Enqueue ``messages`` no-ops on a flushed Redis, then time a worker through them."""
    _flush(url)
    broker = variant.build(url, group)
    # Actors get the broker explicitly; the global one is set too so that
    # nothing can fall back to Dramatiq's implicit localhost:6379 broker.
    dramatiq.set_broker(broker)
    counter = _Counter(messages)

    def noop() -> None:
        counter.hit()

    actor = variant.declare(broker, queue, noop)
    middleware = tuple(type(m).__name__ for m in broker.middleware)
    worker: dramatiq.Worker | None = None
    try:
        started = time.perf_counter()
        for _ in range(messages):
            actor.send()
        enqueue_s = time.perf_counter() - started

        worker = dramatiq.Worker(broker, worker_threads=threads)
        started, cpu_started = time.perf_counter(), time.process_time()
        worker.start()
        counter.done.wait(timeout_s)
        process_s = time.perf_counter() - started
        process_cpu_s = time.process_time() - cpu_started
    finally:
        if worker is not None:
            worker.stop(timeout=_STOP_TIMEOUT_MS)
        broker.close()
    return _Round(variant.name, enqueue_s, process_s, process_cpu_s, counter.count,
                  middleware)


def _rate(messages: int, seconds: float) -> float:
    return messages / seconds if seconds > 0 else float("inf")


def _report(rounds: Sequence[_Round], messages: int) -> float:
    """Print the table and return the median processing ratio full/bare."""
    medians: dict[str, tuple[float, float]] = {}
    header = f"{'variant':<8} {'process msg/s':>13}  {'per round':<26} " \
             f"{'enqueue msg/s':>13}  per round"
    print(header)
    print("-" * len(header))
    for variant in _VARIANTS:
        mine = [r for r in rounds if r.variant == variant.name]
        process = [_rate(messages, r.process_s) for r in mine]
        enqueue = [_rate(messages, r.enqueue_s) for r in mine]
        medians[variant.name] = (statistics.median(process), statistics.median(enqueue))
        print(f"{variant.name:<8} {medians[variant.name][0]:>13.0f}  "
              f"{' '.join(f'{v:.0f}' for v in process):<26} "
              f"{medians[variant.name][1]:>13.0f}  {' '.join(f'{v:.0f}' for v in enqueue)}")
    print()
    for variant in _VARIANTS:
        stack = next(r.middleware for r in rounds if r.variant == variant.name)
        print(f"{variant.name} middleware: {', '.join(stack)}")
    cpu = {v.name: statistics.median(r.process_cpu_s / messages * 1e6 for r in rounds
                                     if r.variant == v.name) for v in _VARIANTS}
    print(f"worker CPU per message: bare {cpu['bare']:.0f} us, full {cpu['full']:.0f} us "
          f"(bare/full = {cpu['bare'] / cpu['full']:.2f})")
    enqueue_ratio = medians["full"][1] / medians["bare"][1]
    print(f"enqueue ratio full/bare = {enqueue_ratio:.2f}")
    ratio = medians["full"][0] / medians["bare"][0]
    print(f"ratio full/bare = {ratio:.2f} (target >= {_TARGET_RATIO:.2f})")
    return ratio


def _positive_int(raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {raw!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a number >= 1, got {value}")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bench/throughput.py",
        description="No-op message throughput of one worker group: the project's full "
                    "middleware stack (build_broker) vs a bare Dramatiq RedisBroker, "
                    "alternating per round on a private, flushed redis-server.")
    parser.add_argument("--group", choices=sorted(GROUPS), default="worker1",
                        help="worker group whose first queue and thread count are used "
                             "(default: worker1)")
    parser.add_argument("--messages", type=_positive_int, default=2000, metavar="N",
                        help="no-op messages per variant per round (default: 2000)")
    parser.add_argument("--threads", type=_positive_int, default=None, metavar="T",
                        help="worker threads (default: the group's threads per process)")
    parser.add_argument("--rounds", type=_positive_int, default=3, metavar="R",
                        help="rounds; each runs bare then full (default: 3)")
    parser.add_argument("--timeout", type=_positive_int, default=120, metavar="SECONDS",
                        help="give up on a variant that has not processed every message "
                             "after this many seconds (default: 120)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print its figures; the exit status is 1 only on a failed run."""
    args = _parser().parse_args(argv)
    group = get_group(args.group)
    queue = group.queue_names[0]
    threads: int = args.threads or group.threads
    messages: int = args.messages
    rounds: list[_Round] = []
    try:
        with EmbeddedRedis() as server:
            print(f"group {group.name}, queue {queue!r}, {messages} no-op messages x "
                  f"{args.rounds} rounds, 1 process x {threads} threads, "
                  f"redis-server on 127.0.0.1:{server.port}")
            print()
            for _ in range(args.rounds):
                for variant in _VARIANTS:
                    result = _run_once(variant, server.url, group, queue, messages,
                                       threads, args.timeout)
                    if result.processed < messages:
                        print(f"error: the {variant.name} variant processed only "
                              f"{result.processed} of {messages} messages in "
                              f"{args.timeout} s on queue {queue!r}; raise --timeout or "
                              f"lower --messages if the machine is just slow",
                              file=sys.stderr)
                        return 1
                    rounds.append(result)
    except RedisServerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    _report(rounds, messages)
    return 0


if __name__ == "__main__":
    sys.exit(main())
