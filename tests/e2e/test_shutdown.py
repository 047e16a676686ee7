"""SIGTERM while a message runs: it finishes, the process exits 0, nothing is lost."""

from __future__ import annotations

import time
from pathlib import Path

import redis

from actors.canary import canary_name
from brokers.boot import producer_broker
from brokers.producer import send
from devkit.supervise import GroupProcess
from pipeline import names
from pipeline.settings import Settings
from tests.helpers import dead_letters, queued_ids, wait_replies


def wait_until_taken(client: redis.Redis, queue: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while queued_ids(client, queue) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert queued_ids(client, queue) == [], "the worker never picked the message up"


def test_sigterm_lets_the_running_message_finish_and_keeps_the_backlog(
        worker_env: dict[str, str], redis_url: str, redis_client: redis.Redis,
        tmp_path: Path) -> None:
    env = {**worker_env, "ATR_WORKER1_PROCESSES": "1", "ATR_WORKER1_THREADS": "1"}
    broker = producer_broker(Settings.from_env({"REDIS_URL": redis_url}))
    queue = names.QUEUE_HIGH
    with GroupProcess("worker1", env, tmp_path / "w1.log", cwd=tmp_path) as worker:
        send(broker, canary_name(queue), {"token": "long", "sleep_ms": 3000})
        wait_until_taken(redis_client, queue)
        # One thread, busy for 3 s: these wait behind the running message.
        for n in range(3):
            send(broker, canary_name(queue), {"token": f"after-{n}"})
        time.sleep(0.5)
        assert worker.stop() == 0, worker.log_text()
    finished = wait_replies(redis_client, ["long"], timeout=1)
    assert list(finished) == ["long"], worker.log_text()
    # Whatever had not run is back in the queue (or ran before the stop): none lost.
    answered = wait_replies(redis_client, [f"after-{n}" for n in range(3)], timeout=1)
    assert len(answered) + len(queued_ids(redis_client, queue)) == 3
    assert dead_letters(redis_client, queue) == []

    with GroupProcess("worker1", env, tmp_path / "w1-again.log", cwd=tmp_path) as again:
        rest = wait_replies(redis_client, [f"after-{n}" for n in range(3)
                                           if f"after-{n}" not in answered])
        assert len(answered) + len(rest) == 3
        assert again.stop() == 0
    assert queued_ids(redis_client, queue) == []
    broker.close()
