"""Crash recovery: a killed process's message comes back in seconds; a busy one's never does.

Real ``dramatiq`` CLI groups of worker2 with a short broker heartbeat timeout
(``ATR_BROKER_HEARTBEAT_TIMEOUT_S=3``) and a fast sweep. No wall-clock
assertion: the waits are generous bounds, the outcome is what is checked
(answered, exactly once, never back in the queue).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import redis

from actors.canary import canary_name
from brokers.boot import producer_broker
from brokers.producer import send
from devkit.recovery import holder_pid, kill_holder, wait_holder
from devkit.supervise import GroupProcess
from pipeline import keys, names
from pipeline.keys import ping_reply
from pipeline.settings import Settings
from tests.helpers import wait_replies

QUEUE = names.QUEUE_MISC
FAST = {"ATR_BROKER_HEARTBEAT_TIMEOUT_S": "3", "ATR_RECOVERY_SWEEP_S": "0.5"}


def replies(client: redis.Redis, token: str) -> list[dict[str, object]]:
    return [json.loads(r) for r in client.lrange(ping_reply(token), 0, -1)]


def wait_exit(group: GroupProcess, timeout: float = 60) -> int:
    deadline = time.monotonic() + timeout
    while group.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    code = group.poll()
    assert code is not None, "the group did not exit after one of its processes was killed"
    return code


def test_a_killed_process_message_is_redelivered_after_the_restart_once(
        worker_env: dict[str, str], redis_url: str, redis_client: redis.Redis,
        tmp_path: Path) -> None:
    env = {**worker_env, **FAST, "ATR_WORKER2_PROCESSES": "2", "ATR_WORKER2_THREADS": "2"}
    broker = producer_broker(Settings.from_env({"REDIS_URL": redis_url}))
    for trial in range(2):
        token = f"crash-{trial}"
        with GroupProcess("worker2", env, tmp_path / f"w2-{trial}.log", cwd=tmp_path) as group:
            message = send(broker, canary_name(QUEUE), {"token": token, "sleep_ms": 2000})
            rid = message.options["redis_message_id"]
            killed = kill_holder(redis_client, QUEUE, rid)
            wait_exit(group)
        # A sibling may already have swept and answered it while the group
        # stopped (the dead pid is seen at once on the same host); else the
        # restarted group does. Either way: exactly once.
        with GroupProcess("worker2", env, tmp_path / f"w2-{trial}-again.log",
                          cwd=tmp_path) as again:
            deadline = time.monotonic() + 60
            while not replies(redis_client, token) and time.monotonic() < deadline:
                time.sleep(0.1)
            time.sleep(1.0)  # a second run, if any, would answer too
            found = replies(redis_client, token)
            assert len(found) == 1, again.log_text()
            assert found[0]["pid"] != killed
            send(broker, canary_name(QUEUE), {"token": f"booted-{trial}"})
            assert wait_replies(redis_client, [f"booted-{trial}"]), again.log_text()
            assert again.stop() == 0
        assert not redis_client.hexists(keys.dramatiq_messages(QUEUE), rid)
    broker.close()


def test_another_group_sweeps_a_killed_process_message(
        worker_env: dict[str, str], redis_url: str, redis_client: redis.Redis,
        tmp_path: Path) -> None:
    # Two groups consuming the same queues, as two hosts do.
    env = {**worker_env, **FAST, "ATR_WORKER2_PROCESSES": "1", "ATR_WORKER2_THREADS": "2"}
    broker = producer_broker(Settings.from_env({"REDIS_URL": redis_url}))
    with GroupProcess("worker2", env, tmp_path / "a.log", cwd=tmp_path) as first, \
            GroupProcess("worker2", env, tmp_path / "b.log", cwd=tmp_path) as second:
        warm = [f"warm-{n}" for n in range(4)]
        for token in warm:
            send(broker, canary_name(QUEUE), {"token": token})
        assert len(wait_replies(redis_client, warm)) == 4
        message = send(broker, canary_name(QUEUE), {"token": "swept", "sleep_ms": 2000})
        killed = kill_holder(redis_client, QUEUE, message.options["redis_message_id"])
        answered = wait_replies(redis_client, ["swept"], timeout=60)
        assert "swept" in answered, first.log_text() + second.log_text()
        assert answered["swept"]["pid"] != killed
    assert replies(redis_client, "swept") == []
    broker.close()


def test_a_live_busy_process_message_is_never_redelivered(
        worker_env: dict[str, str], redis_url: str, redis_client: redis.Redis,
        tmp_path: Path) -> None:
    # One thread per process, so the holder is fully busy; the other process
    # sweeps every 0.5 s while the job runs for more than five heartbeat timeouts.
    env = {**worker_env, **FAST, "ATR_WORKER2_PROCESSES": "2", "ATR_WORKER2_THREADS": "1"}
    broker = producer_broker(Settings.from_env({"REDIS_URL": redis_url}))
    with GroupProcess("worker2", env, tmp_path / "w2.log", cwd=tmp_path) as group:
        message = send(broker, canary_name(QUEUE), {"token": "long", "sleep_ms": 16_000})
        rid = message.options["redis_message_id"]
        holder = wait_holder(redis_client, QUEUE, rid)
        deadline = time.monotonic() + 60
        while not redis_client.exists(ping_reply("long")) and time.monotonic() < deadline:
            # Never back in the queue, never held by another process.
            assert rid.encode() not in redis_client.lrange(keys.dramatiq_queue(QUEUE), 0, -1)
            assert holder_pid(redis_client, QUEUE, rid) in (holder, None)
            time.sleep(0.2)
        time.sleep(1.0)  # a second run, if any, would answer too
        found = replies(redis_client, "long")
        assert len(found) == 1, group.log_text()
        assert found[0]["pid"] == holder
        assert "Requeued" not in group.log_text()
        assert group.stop() == 0
    broker.close()


def test_a_silent_process_of_another_host_is_swept_after_the_heartbeat_timeout(
        worker_env: dict[str, str], redis_client: redis.Redis, tmp_path: Path) -> None:
    # What a host that died leaves behind: its last heartbeat, and a message in
    # its unacknowledged set (nothing in atr:consumers says it ran here).
    from tests.envelope_corpus import good_body

    rid, body = good_body(QUEUE, "remote")
    last_beat_ms = int(redis_client.time()[0]) * 1000 - 60_000
    redis_client.zadd(keys.DRAMATIQ_HEARTBEATS, {"dead-remote": last_beat_ms})
    redis_client.hset(keys.dramatiq_messages(QUEUE), rid, body)
    redis_client.sadd(keys.dramatiq_acks("dead-remote", QUEUE), rid)
    env = {**worker_env, **FAST, "ATR_WORKER2_PROCESSES": "1", "ATR_WORKER2_THREADS": "1"}
    with GroupProcess("worker2", env, tmp_path / "w2.log", cwd=tmp_path) as group:
        assert wait_replies(redis_client, ["remote"], timeout=60), group.log_text()
        assert group.stop() == 0
    assert "Requeued 1 message(s) held by dead worker processes." in group.log_text()
    assert redis_client.zscore(keys.DRAMATIQ_HEARTBEATS, "dead-remote") is None
    assert not redis_client.exists(keys.dramatiq_acks("dead-remote", QUEUE))
