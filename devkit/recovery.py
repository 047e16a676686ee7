"""Find and kill the worker process holding a message: the crash drills of tests and benches."""

from __future__ import annotations

import json
import os
import signal
import time

import redis

from pipeline import keys

__all__ = ["holder_pid", "kill_holder", "wait_holder"]


def holder_pid(client: redis.Redis, queue: str, redis_id: str) -> int | None:
    """The pid of the worker process that fetched ``redis_id`` of ``queue``, if one has."""
    for broker_id, raw in client.hgetall(keys.CONSUMERS).items():
        bid = broker_id.decode() if isinstance(broker_id, bytes) else str(broker_id)
        if client.sismember(keys.dramatiq_acks(bid, queue), redis_id):
            return int(json.loads(raw)["pid"])
    return None


def wait_holder(client: redis.Redis, queue: str, redis_id: str, timeout: float = 30) -> int:
    """Block until a worker process holds the message; its pid."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pid = holder_pid(client, queue, redis_id)
        if pid is not None:
            return pid
        time.sleep(0.02)
    raise TimeoutError(f"no worker process took message {redis_id} of {queue} in {timeout} s")


def kill_holder(client: redis.Redis, queue: str, redis_id: str, timeout: float = 30) -> int:
    """``kill -9`` the worker process holding the message (once it holds it); its pid."""
    pid = wait_holder(client, queue, redis_id, timeout)
    os.kill(pid, signal.SIGKILL)
    return pid
