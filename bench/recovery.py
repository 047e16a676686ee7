"""Crash recovery: ``kill -9`` a worker process mid-message, restart the group, time the redelivery.

Each trial, under the real ``dramatiq`` CLI (``atr worker worker2``, the
table's 2 processes x 3 threads, default settings: heartbeat timeout 15 s,
sweep every 5 s) on a private redis-server:

1. a canary holding a thread for ``--job-ms`` is sent; once a process holds it
   and ``--kill-after-ms`` passed, that process gets SIGKILL;
2. the dramatiq master stops the other process and exits; the group is
   started again ``--restart-after`` seconds after the kill, as systemd's
   ``RestartSec=5`` would;
3. the clock stops when the canary's second run starts (its reply time minus
   the job's length): "after restart" is that minus the restart time.

A run answered before the restart (a sibling process saw the killed pid and
swept the message while the group was stopping) counts as 0 s after the
restart. Every trial checks that the canary answered exactly once (its side
effect happened once) and nothing was lost.

``--survivor`` runs a second group for the same queues throughout (another
host, or the other group on this host) and times the redelivery from the
kill instead: no restart is needed.

    .venv/bin/python bench/recovery.py [--trials 20] [--survivor]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Final

import redis

from actors.canary import canary_name
from brokers.boot import producer_broker
from brokers.producer import send
from devkit.recovery import wait_holder
from devkit.redis_server import EmbeddedRedis
from devkit.supervise import GroupProcess
from pipeline import names
from pipeline.keys import ping_reply
from pipeline.settings import Settings

_QUEUE: Final = names.QUEUE_MISC
_TARGET_S: Final = 30.0


def _env(url: str, root: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ATR_")}
    env.update({"REDIS_URL": url, "ATR_DOCLOG_ROOT": str(root / "logs"), "NO_PROXY": "127.0.0.1",
                "ATR_METRICS_WORKER1_PORT": "0", "ATR_METRICS_WORKER2_PORT": "0"})
    return env


def _wait_reply(client: redis.Redis, token: str, timeout: float) -> dict[str, object] | None:
    # Short blocking pops: redis-py 8's default socket timeout is 5 s.
    deadline = time.monotonic() + timeout
    while True:
        popped = client.blpop([ping_reply(token)], timeout=min(1.0, timeout))
        if popped:
            return dict(json.loads(popped[1]))
        if time.monotonic() >= deadline:
            return None


def _boot(group: GroupProcess, broker: object, client: redis.Redis, token: str) -> None:
    send(broker, canary_name(_QUEUE), {"token": token})  # type: ignore[arg-type]
    if _wait_reply(client, token, 120) is None:
        raise SystemExit(f"error: the group did not boot; its log:\n{group.log_text()}")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the trials and print the redelivery time of each; exit 1 if a message was lost."""
    parser = argparse.ArgumentParser(prog="bench/recovery.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--job-ms", type=int, default=4000)
    parser.add_argument("--kill-after-ms", type=int, default=1000)
    parser.add_argument("--restart-after", type=float, default=5.0)
    parser.add_argument("--survivor", action="store_true",
                        help="keep a second group running and time from the kill")
    args = parser.parse_args(argv)
    job_s = args.job_ms / 1000
    times: list[float] = []
    lost = twice = 0
    with EmbeddedRedis() as server, tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        env = _env(server.url, root)
        client = redis.Redis.from_url(server.url)
        broker = producer_broker(Settings.from_env({"REDIS_URL": server.url}))
        print(f"worker2 (2 x 3) under the dramatiq CLI, canary of {args.job_ms} ms killed "
              f"after {args.kill_after_ms} ms, "
              + ("a second group running" if args.survivor else
                 f"group restarted {args.restart_after:g} s after the kill"))
        groups = [GroupProcess("worker2", env, root / f"g-{n}.log").start()
                  for n in range(2 if args.survivor else 1)]
        for n, group in enumerate(groups):
            _boot(group, broker, client, f"boot-{n}")
        for trial in range(args.trials):
            token = f"trial-{trial}"
            message = send(broker, canary_name(_QUEUE), {"token": token,
                                                         "sleep_ms": args.job_ms})
            rid = message.options["redis_message_id"]
            pid = wait_holder(client, _QUEUE, rid)
            time.sleep(args.kill_after_ms / 1000)  # mid-message
            os.kill(pid, signal.SIGKILL)
            killed_at = time.time()
            # The dramatiq master of the killed process stops its group.
            while all(g.poll() is None for g in groups):
                time.sleep(0.05)
            dead = next(i for i, g in enumerate(groups) if g.poll() is not None)
            restarted_at = killed_at
            if not args.survivor:
                time.sleep(max(0.0, killed_at + args.restart_after - time.time()))
                restarted_at = time.time()
                groups[dead] = GroupProcess("worker2", env,
                                            root / f"g{trial}-again.log").start()
            reply = _wait_reply(client, token, 180)
            if reply is None:
                lost += 1
                print(f"trial {trial + 1:2d}: LOST (killed pid {pid})")
            else:
                rerun_at = float(str(reply["handled_at"])) - job_s
                since = max(0.0, rerun_at - restarted_at)
                times.append(since)
                extra = _wait_reply(client, token, 1.0)
                twice += extra is not None
                print(f"trial {trial + 1:2d}: redelivered {since:5.1f} s after the "
                      f"{'kill' if args.survivor else 'restart'} "
                      f"({rerun_at - killed_at:5.1f} s after the kill)"
                      + ("  RAN TWICE" if extra else ""), flush=True)
            if args.survivor:  # systemd brings the killed group back for the next trial
                groups[dead] = GroupProcess("worker2", env,
                                            root / f"g{trial}-again.log").start()
            _boot(groups[dead], broker, client, f"again-{trial}")
        for group in groups:
            group.stop()
        broker.close()
        client.close()
    if times:
        print(f"\nredelivery after the {'kill' if args.survivor else 'restart'}: "
              f"median {statistics.median(times):.1f} s, max {max(times):.1f} s "
              f"(target max <= {_TARGET_S:.0f} s); lost {lost}, ran twice {twice} "
              f"of {args.trials}")
    return 1 if lost or twice else 0


if __name__ == "__main__":
    sys.exit(main())
