"""Shared pieces of the CLI benches: environment, groups under the real CLI, Redis counters."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Final

import redis

REPO: Final = Path(__file__).resolve().parents[1]


def bench_env(url: str, root: Path, **extra: str) -> dict[str, str]:
    """A worker group's environment: this Redis, a throw-away doclog, no exporter."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ATR_")}
    env.update({"REDIS_URL": url, "ATR_DOCLOG_ROOT": str(root / "logs"),
                "NO_PROXY": "127.0.0.1,localhost", "ATR_METRICS_WORKER1_PORT": "0",
                "ATR_METRICS_WORKER2_PORT": "0", **extra})
    return env


def bare_group(env: dict[str, str], queues: Sequence[str], processes: int, threads: int,
               log: Path) -> subprocess.Popen[bytes]:
    """``dramatiq bench.bare_app`` (Dramatiq's own RedisBroker) on ``queues``."""
    dramatiq = str(Path(sys.executable).with_name("dramatiq"))
    with log.open("ab") as out:
        return subprocess.Popen(
            [dramatiq, "bench.bare_app", "--processes", str(processes), "--threads",
             str(threads), "--queues", *queues],
            env={**env, "BENCH_QUEUES": ",".join(queues)}, cwd=REPO,
            stdout=out, stderr=subprocess.STDOUT)


def total_commands(client: redis.Redis) -> int:
    """Commands Redis has executed so far (INFO commandstats, Lua's inner calls included)."""
    stats = client.info("commandstats")
    return sum(int(v["calls"]) for v in stats.values())


def stop(proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    """SIGTERM a group and wait for it."""
    if proc.poll() is None:
        proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
