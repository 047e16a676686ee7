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

``--cli`` runs the same comparison where it is CPU-bound: under the real
``dramatiq`` CLI, ``--processes`` x ``--threads`` (default 2 x 8, saturating
two cores), a bare Dramatiq app (``bench.bare_app``: Dramatiq's RedisBroker
and default middleware, a no-op actor) against the project's group (``atr
worker``: this project's broker, consumer and whole middleware stack, the
``ping_<queue>`` canary without a token as the no-op), alternating per round.
Both groups are started and idle first; the clock runs from the first raw push
of N messages (one pipelined batch, docs/messages.md §5.1) until the queue's
hash is empty (every message acknowledged). Beside msg/s it prints the CPU
time the group's process tree (the dramatiq master and its workers, read from
``/proc``) spent per message over the same span: on a shared machine msg/s
moves with the neighbours' load, CPU per message much less.

Exit status: 0 with the figures, 1 when a variant did not process every message
within ``--timeout`` seconds or the embedded Redis could not start.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
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
    parser.add_argument("--cli", action="store_true",
                        help="bare Dramatiq app vs the project's group under the real "
                             "dramatiq CLI (see the module docstring)")
    parser.add_argument("--processes", type=_positive_int, default=2,
                        help="worker processes in --cli mode (default: 2)")
    return parser


def _tree_cpu_s(root_pid: int) -> float:
    """CPU seconds (user + system) used so far by ``root_pid`` and its live descendants."""
    tick = os.sysconf("SC_CLK_TCK")
    parents: dict[int, int] = {}
    used: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            # The command name may hold spaces: fields start after its ")".
            fields = (entry / "stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue  # exited meanwhile
        parents[int(entry.name)] = int(fields[1])
        used[int(entry.name)] = (int(fields[11]) + int(fields[12])) / tick
    tree, todo = set(), [root_pid]
    while todo:
        pid = todo.pop()
        tree.add(pid)
        todo.extend(child for child, parent in parents.items() if parent == pid)
    return sum(used.get(pid, 0.0) for pid in tree)


def _cli_round(variant: str, url: str, group: WorkerGroup, queue: str, messages: int,
               processes: int, threads: int, timeout_s: float,
               root: Path) -> tuple[float, float] | None:
    """Seconds and group CPU seconds to drain ``messages`` raw-pushed no-ops; None on timeout.

    The CPU is the group's process tree (master and workers) from the push to
    the drain: unlike msg/s, it barely moves when other work shares the cores.
    """
    from actors.canary import canary_name
    from bench.cli_common import bare_group, bench_env, stop
    from devkit.supervise import GroupProcess
    from pipeline.keys import ping_reply

    client = redis.Redis.from_url(url)
    client.flushall()
    env = bench_env(url, root, **{f"ATR_{group.name.upper()}_PROCESSES": str(processes),
                                  f"ATR_{group.name.upper()}_THREADS": str(threads)})
    actor = f"bare_ping_{queue}" if variant == "bare" else canary_name(queue)
    boot_token = f"boot-{variant}"
    if variant == "bare":
        proc: Any = bare_group(env, group.queue_names, processes, threads,
                               root / "bare.log")
        ready = f"bench:bare:{boot_token}"
    else:
        proc = GroupProcess(group.name, env, root / "project.log").start()
        ready = ping_reply(boot_token)
    try:
        _raw_push(client, queue, actor, [{"token": boot_token}])
        if client.blpop([ready], timeout=4) is None:
            for _ in range(30):
                if client.blpop([ready], timeout=4) is not None:
                    break
            else:
                return None
        cpu_started = _tree_cpu_s(proc.pid)
        started = time.perf_counter()
        _raw_push(client, queue, actor, [{}] * messages)
        deadline = started + timeout_s
        while client.hlen(f"dramatiq:{queue}.msgs") and time.perf_counter() < deadline:
            time.sleep(0.005)
        elapsed = time.perf_counter() - started
        cpu = _tree_cpu_s(proc.pid) - cpu_started
        return None if client.hlen(f"dramatiq:{queue}.msgs") else (elapsed, cpu)
    finally:
        if variant == "bare":
            stop(proc)
        else:
            proc.stop()
        client.close()


def _raw_push(client: redis.Redis, queue: str, actor: str,
              payloads: Sequence[dict[str, Any]]) -> None:
    import json
    import uuid
    now = int(time.time() * 1000)
    with client.pipeline(transaction=False) as pipe:
        for n, kwargs in enumerate(payloads):
            rid = str(uuid.uuid4())
            pipe.hset(f"dramatiq:{queue}.msgs", rid, json.dumps({
                "queue_name": queue, "actor_name": actor, "args": [], "kwargs": kwargs,
                "options": {"redis_message_id": rid}, "message_id": str(uuid.uuid4()),
                "message_timestamp": now}))
            pipe.rpush(f"dramatiq:{queue}", rid)
            if n % 1000 == 999:
                # What this project's producers add: a wake-up (a no-op for bare).
                pipe.lpush(f"atr:wake:{queue}", "1")
                pipe.execute()
        pipe.lpush(f"atr:wake:{queue}", "1")
        pipe.execute()


def _main_cli(args: argparse.Namespace) -> int:
    group = get_group(args.group)
    queue = group.queue_names[0]
    threads: int = args.threads or 8
    rates: dict[str, list[float]] = {"bare": [], "project": []}
    cpus: dict[str, list[float]] = {"bare": [], "project": []}
    with EmbeddedRedis() as server, tempfile.TemporaryDirectory() as tmp:
        print(f"real dramatiq CLI, {args.processes} processes x {threads} threads, "
              f"{args.messages} no-ops on {queue!r} x {args.rounds} rounds, alternating")
        for _ in range(args.rounds):
            for variant in ("bare", "project"):
                measured = _cli_round(variant, server.url, group, queue, args.messages,
                                      args.processes, threads, args.timeout, Path(tmp))
                if measured is None:
                    print(f"error: {variant} did not drain {args.messages} messages in "
                          f"{args.timeout} s", file=sys.stderr)
                    return 1
                seconds, cpu = measured
                rates[variant].append(args.messages / seconds)
                cpus[variant].append(cpu / args.messages * 1e6)
                print(f"  {variant:<8} {rates[variant][-1]:8.0f} msg/s  "
                      f"{cpus[variant][-1]:5.0f} us group CPU per message")
    bare, project = (statistics.median(rates[v]) for v in ("bare", "project"))
    bare_cpu, project_cpu = (statistics.median(cpus[v]) for v in ("bare", "project"))
    print(f"median group CPU per message: bare {bare_cpu:.0f} us, project {project_cpu:.0f} us; "
          f"ratio bare/project = {bare_cpu / project_cpu:.2f}")
    print(f"median: bare {bare:.0f} msg/s, project {project:.0f} msg/s; "
          f"ratio project/bare = {project / bare:.2f} (target >= 0.95)")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print its figures; the exit status is 1 only on a failed run."""
    args = _parser().parse_args(argv)
    if args.cli:
        return _main_cli(args)
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
