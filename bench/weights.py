"""Queue weights under saturation: each queue's share of processed messages beside its weight's.

Same run, on a private redis-server, both groups under the real ``dramatiq``
CLI with the table's shapes (worker1 2 x 6, worker2 2 x 3) and weights. Every
queue of both groups gets a backlog of ``--backlog`` canaries of equal cost
(each sleeps ``--job-ms``); the groups start together; processed messages per
queue are counted (the canaries' reply lists) between the moment
``--skip`` messages of a group were done and the moment ``--window`` more
were, while every queue still has a backlog. Then the same with one queue of
each group empty (``--idle worker1:images,worker2:misc``): its share must go to
the others in proportion to their weights. Finally, for reference, bare
Dramatiq (``bench.bare_app``) on worker1's queues: no weights at all.

    .venv/bin/python bench/weights.py [--backlog 600] [--job-ms 40] [--window 900]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import redis

from actors.canary import canary_name
from bench.cli_common import bare_group, bench_env, stop
from brokers.boot import producer_broker
from brokers.producer import send
from devkit.redis_server import EmbeddedRedis
from devkit.supervise import GroupProcess
from pipeline.groups import GROUPS
from pipeline.keys import ping_reply
from pipeline.settings import Settings

_TOLERANCE = 0.10


def _counts(client: redis.Redis, keys: Mapping[str, str]) -> dict[str, int]:
    with client.pipeline(transaction=False) as pipe:
        for key in keys.values():
            pipe.llen(key)
        return dict(zip(keys, (int(n) for n in pipe.execute()), strict=True))


def _windows(client: redis.Redis, groups: Mapping[str, Mapping[str, str]], skip: int,
             window: int, alive: Callable[[], bool] = lambda: True,
             timeout: float = 600) -> dict[str, dict[str, int]]:
    """Per group, per queue: processed from ``skip`` to ``skip + window`` done, sampled together."""
    deadline = time.monotonic() + timeout
    starts: dict[str, dict[str, int]] = {}
    done: dict[str, dict[str, int]] = {}
    while len(done) < len(groups) and time.monotonic() < deadline:
        if not alive():
            raise SystemExit("error: a worker group exited during the run (see its log)")
        for name, keys in groups.items():
            if name in done:
                continue
            now = _counts(client, keys)
            start = starts.get(name)
            if start is None and sum(now.values()) >= skip:
                starts[name] = now
            elif start is not None and sum(now.values()) >= sum(start.values()) + window:
                done[name] = {q: now[q] - start[q] for q in keys}
        time.sleep(0.01)
    if len(done) < len(groups):
        raise SystemExit("error: the groups did not process the window in time")
    return done


def _print(title: str, done: Mapping[str, int], weights: Mapping[str, int],
           idle: Sequence[str]) -> list[float]:
    busy = {q: w for q, w in weights.items() if q not in idle}
    total_w = sum(busy.values())
    total = sum(done.values()) or 1
    print(f"\n{title}")
    print(f"  {'queue':<11} {'weight':>6} {'weight share':>12} {'processed':>9} "
          f"{'share':>7} {'share/weight':>12}")
    errors = []
    for q, w in weights.items():
        expected = w / total_w if q in busy else 0.0
        share = done[q] / total
        ratio = share / expected if expected else float("nan")
        if expected:
            errors.append(abs(ratio - 1))
        print(f"  {q:<11} {w:>6} {expected:>12.3f} {done[q]:>9} {share:>7.3f} "
              f"{ratio:>12.2f}" + ("  (idle)" if q in idle else ""))
    print(f"  worst relative error {max(errors):.1%} (target <= {_TOLERANCE:.0%})")
    return errors


def _fill(sender: Callable[[str, str], None], queues: Sequence[str], backlog: int,
          idle: Sequence[str]) -> None:
    for _ in range(backlog):
        for q in queues:
            if q not in idle:
                sender(q, f"w-{q}")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the saturated, one-idle and bare rounds and print the shares."""
    parser = argparse.ArgumentParser(prog="bench/weights.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backlog", type=int, default=600)
    parser.add_argument("--job-ms", type=int, default=40)
    parser.add_argument("--skip", type=int, default=100)
    parser.add_argument("--window", type=int, default=900)
    parser.add_argument("--idle", default="worker1:images,worker2:misc")
    args = parser.parse_args(argv)
    idle_of = dict(part.split(":") for part in args.idle.split(","))
    worst: list[float] = []
    with EmbeddedRedis() as server, tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        env = bench_env(server.url, root)
        client = redis.Redis.from_url(server.url)
        broker = producer_broker(Settings.from_env({"REDIS_URL": server.url}))

        def sender(queue: str, token: str) -> None:
            send(broker, canary_name(queue), {"token": token, "sleep_ms": args.job_ms})

        for round_name, use_idle in (("saturated", False), ("one queue idle", True)):
            client.flushall()
            for group in GROUPS.values():
                _fill(sender, group.queue_names, args.backlog,
                      [idle_of[group.name]] if use_idle and group.name in idle_of else [])
            procs = [GroupProcess(g.name, env, root / f"{g.name}-{round_name}.log").start()
                     for g in GROUPS.values()]
            try:
                replies = {g.name: {q: ping_reply(f"w-{q}") for q in g.queue_names}
                           for g in GROUPS.values()}
                done_of = _windows(client, replies, args.skip, args.window,
                                   lambda procs=procs: all(p.poll() is None for p in procs))
                for group in GROUPS.values():
                    idle = [idle_of[group.name]] if use_idle and group.name in idle_of else []
                    done = done_of[group.name]
                    worst += _print(f"{group.name} ({round_name}), {args.job_ms} ms jobs, "
                                    f"{group.processes} x {group.threads}",
                                    done, {q.name: q.weight for q in group.queues}, idle)
            finally:
                for proc in procs:
                    proc.stop()

        client.flushall()
        w1 = GROUPS["worker1"]
        import dramatiq
        from dramatiq.brokers.redis import RedisBroker
        bare = RedisBroker(url=server.url)  # type: ignore[no-untyped-call]
        actors = {q: dramatiq.actor(actor_name=f"bare_ping_{q}", queue_name=q, broker=bare)(
            lambda token="", sleep_ms=0: None) for q in w1.queue_names}
        for _ in range(args.backlog):
            for q in w1.queue_names:
                actors[q].send(token=f"w-{q}", sleep_ms=args.job_ms)
        proc = bare_group(env, w1.queue_names, w1.processes, w1.threads, root / "bare.log")
        try:
            keys = {q: f"bench:bare:w-{q}" for q in w1.queue_names}
            done = _windows(client, {"bare": keys}, args.skip, args.window,
                            lambda: proc.poll() is None)["bare"]
            _print("bare Dramatiq on worker1's queues (reference: it has no weights)", done,
                   {q.name: q.weight for q in w1.queues}, [])
        finally:
            stop(proc)
            bare.close()
        broker.close()
        client.close()
    print(f"\nproject: worst relative share error over both rounds {max(worst):.1%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
