"""Idle pickup: how long a message sent to an idle group waits to start, and Redis commands idle.

Same run, on a private redis-server, two variants under the real
``dramatiq`` CLI with worker1's shape (2 processes x 6 threads, queues seo,
thumbnails, images, high):

- **bare**: ``dramatiq bench.bare_app`` — Dramatiq 2.2's own RedisBroker and
  consumers (polling with back-off up to the 1 s worker timeout);
- **project**: ``atr worker worker1`` — this project's broker (blocking on
  wake-up lists) and its whole middleware stack.

For each: after boot and a warm-up, the Redis commands executed during
``--idle-s`` seconds with nothing to do (``INFO commandstats``, Lua's inner
calls included) give commands per second; then ``--sends`` canaries are
sent on ``high`` one at a time, ``--gap-s`` apart (with jitter), each timed
from just before the send to the start of the actor (bare: its first line;
project: the canary's reply time, after the whole middleware stack's
before-hooks, so ours is measured pessimistically).

    .venv/bin/python bench/pickup.py [--sends 200] [--gap-s 0.6] [--idle-s 15]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import redis

from actors.canary import canary_name
from bench.cli_common import bare_group, bench_env, stop, total_commands
from brokers.boot import producer_broker
from brokers.producer import send
from devkit.redis_server import EmbeddedRedis
from devkit.supervise import GroupProcess
from pipeline.groups import get_group
from pipeline.keys import ping_reply
from pipeline.settings import Settings


def _pop(client: redis.Redis, key: str, timeout: float = 30) -> dict[str, float]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        popped = client.blpop([key], timeout=1)
        if popped:
            return dict(json.loads(popped[1]))
    raise SystemExit(f"error: no answer on {key} within {timeout:.0f} s")


def _measure(name: str, client: redis.Redis, sender: Callable[[str], None],
             reply: Callable[[str], str], started_key: str, args: argparse.Namespace
             ) -> tuple[list[float], float]:
    for n in range(5):
        sender(f"{name}-warm-{n}")
        _pop(client, reply(f"{name}-warm-{n}"), 120)
    time.sleep(3)  # let a polling consumer reach its longest back-off
    before = total_commands(client)
    time.sleep(args.idle_s)
    idle = (total_commands(client) - before - 1) / args.idle_s
    latencies = []
    for n in range(args.sends):
        time.sleep(args.gap_s * random.uniform(0.5, 1.5))
        token = f"{name}-{n}"
        sent = time.time()
        sender(token)
        latencies.append((_pop(client, reply(token))[started_key] - sent) * 1000)
    return latencies, idle


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main(argv: Sequence[str] | None = None) -> int:
    """Run both variants and print latency percentiles and idle commands per second."""
    parser = argparse.ArgumentParser(prog="bench/pickup.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sends", type=int, default=200)
    parser.add_argument("--gap-s", type=float, default=0.6)
    parser.add_argument("--idle-s", type=float, default=15.0)
    args = parser.parse_args(argv)
    group = get_group("worker1")
    queue = "high"
    results: dict[str, tuple[list[float], float]] = {}
    with EmbeddedRedis() as server, tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        env = bench_env(server.url, root)
        client = redis.Redis.from_url(server.url)

        import dramatiq
        from dramatiq.brokers.redis import RedisBroker
        bare = RedisBroker(url=server.url)  # type: ignore[no-untyped-call]
        proc = bare_group(env, group.queue_names, group.processes, group.threads,
                          root / "bare.log")
        bare_actor = dramatiq.actor(actor_name=f"bare_ping_{queue}", queue_name=queue,
                                    broker=bare)(lambda token="", sleep_ms=0: None)
        try:
            results["bare"] = _measure(
                "bare", client, lambda t: bare_actor.send(token=t) and None,
                lambda t: f"bench:bare:{t}", "started", args)
        finally:
            stop(proc)
            bare.close()
        client.flushall()

        broker = producer_broker(Settings.from_env({"REDIS_URL": server.url}))
        with GroupProcess("worker1", env, root / "project.log") as project:
            try:
                results["project"] = _measure(
                    "project", client,
                    lambda t: send(broker, canary_name(queue), {"token": t}) and None,
                    ping_reply, "handled_at", args)
            finally:
                project.stop()
                broker.close()
        client.close()
    print(f"idle pickup on {queue!r}, {args.sends} sends ~{args.gap_s:g} s apart, "
          f"worker1 shape {group.processes} x {group.threads}, real dramatiq CLI")
    print(f"{'variant':<8} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} {'max ms':>8} "
          f"{'idle cmds/s':>12}")
    for name, (lat, idle) in results.items():
        print(f"{name:<8} {statistics.median(lat):8.1f} {_pct(lat, 0.9):8.1f} "
              f"{_pct(lat, 0.99):8.1f} {max(lat):8.1f} {idle:12.1f}")
    (pl, pi), (bl, bi) = results["project"], results["bare"]
    print(f"p50 project/bare = {statistics.median(pl) / statistics.median(bl):.3f}; idle "
          f"commands project/bare = {pi / bi:.2f} (targets: p50 <= 5 ms, p99 <= 50 ms, "
          f"idle <= bare)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
