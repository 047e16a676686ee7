"""Both groups under the real dramatiq CLI: each queue is served by its group only."""

from __future__ import annotations

from pathlib import Path

import pytest
import redis

from actors.canary import canary_name
from brokers.boot import producer_broker
from brokers.producer import send
from devkit.supervise import GroupProcess
from pipeline import names
from pipeline.groups import GROUPS
from pipeline.settings import Settings
from tests.helpers import queued_ids, wait_replies


def small_shape(env: dict[str, str]) -> dict[str, str]:
    # One process per group keeps the suite light on 2 cores; routing does not
    # depend on the shape (the dry-run tests check the real shape).
    return {**env, "ATR_WORKER1_PROCESSES": "1", "ATR_WORKER1_THREADS": "2",
            "ATR_WORKER2_PROCESSES": "1", "ATR_WORKER2_THREADS": "2"}


@pytest.mark.parametrize("first", ["worker1", "worker2"])
def test_each_queue_is_processed_by_its_group_and_never_the_other(
        first: str, worker_env: dict[str, str], redis_url: str, redis_client: redis.Redis,
        tmp_path: Path) -> None:
    second = "worker2" if first == "worker1" else "worker1"
    broker = producer_broker(Settings.from_env({"REDIS_URL": redis_url}))
    tokens = {}
    for queue in names.ALL_QUEUES:
        tokens[queue] = f"route-{queue}"
        send(broker, canary_name(queue), {"token": tokens[queue]})
    broker.close()
    env = small_shape(worker_env)

    with GroupProcess(first, env, tmp_path / f"{first}.log", cwd=tmp_path) as only:
        own = GROUPS[first].queue_names
        replies = wait_replies(redis_client, [tokens[q] for q in own])
        assert {r["queue"]: r["group"] for r in replies.values()} == dict.fromkeys(own, first)
        # The other group's messages are still waiting, untouched.
        for queue in GROUPS[second].queue_names:
            assert len(queued_ids(redis_client, queue)) == 1, queue
        assert only.stop() == 0

    with GroupProcess(second, env, tmp_path / f"{second}.log", cwd=tmp_path) as other:
        rest = GROUPS[second].queue_names
        replies = wait_replies(redis_client, [tokens[q] for q in rest])
        assert {r["queue"]: r["group"] for r in replies.values()} == dict.fromkeys(rest, second)
        assert other.stop() == 0
    for queue in names.ALL_QUEUES:
        assert queued_ids(redis_client, queue) == []


def test_atr_ping_sees_both_groups_with_their_real_shape(
        worker_env: dict[str, str], redis_url: str, tmp_path: Path) -> None:
    from tests.helpers import run_atr

    with GroupProcess("worker1", worker_env, tmp_path / "w1.log", cwd=tmp_path) as w1, \
            GroupProcess("worker2", worker_env, tmp_path / "w2.log", cwd=tmp_path) as w2:
        result = run_atr("ping", "--timeout", "60", env=worker_env, cwd=tmp_path)
        assert result.returncode == 0, result.stdout + w1.log_text() + w2.log_text()
        lines = result.stdout.splitlines()[1:]
        assert len(lines) == 10
        assert all(line.split()[1] == line.split()[2] for line in lines), result.stdout
        assert w1.stop() == 0
        assert w2.stop() == 0
    # The real shape: 2 worker processes per group, each logged its readiness.
    assert w1.log_text().count("Worker process is ready for action.") == 2
    assert w2.log_text().count("Worker process is ready for action.") == 2
