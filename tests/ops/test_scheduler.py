"""Periodic jobs: each tick is enqueued exactly once, however many schedulers run."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import redis

from brokers.boot import producer_broker
from devkit.redis_server import free_port
from devkit.supervise import atr_executable
from ops.scheduler import TICK_OPTION, Scheduler
from pipeline import keys
from pipeline.schedule import ScheduledJob, next_tick, scheduled_jobs
from pipeline.settings import Settings
from tests.helpers import run_atr

SEOUL = ZoneInfo("Asia/Seoul")


def queued_ticks(client: redis.Redis, queue: str) -> Counter[str]:
    messages = [json.loads(raw) for raw in client.hvals(f"dramatiq:{queue}.msgs")]
    return Counter(m["options"][TICK_OPTION] for m in messages)


#: The other periodic jobs turned off, so these tests see the rotation alone.
ROTATION_ONLY = {"ATR_SCHEDULE_INDEX_SWEEP": "off", "ATR_SCHEDULE_MONETIZE": "off",
                 "ATR_SCHEDULE_GA4_SCORE": "off"}


def test_rotation_is_scheduled_daily_on_each_host_by_default_and_can_be_turned_off() -> None:
    jobs = scheduled_jobs(Settings.from_env({"REDIS_URL": "redis://h:1/0", **ROTATION_ONLY}))
    assert [(j.actor, j.cron) for j in jobs] == [("doclog_rotate", "30 3 * * *"),
                                                  ("doclog_rotate_worker1", "30 3 * * *")]
    (job, _) = jobs
    assert next_tick(job.cron, datetime(2026, 11, 26, 4, 0, tzinfo=SEOUL)) == \
        datetime(2026, 11, 27, 3, 30, tzinfo=SEOUL)
    assert scheduled_jobs(Settings.from_env({"REDIS_URL": "redis://h:1/0", **ROTATION_ONLY,
                                             "ATR_SCHEDULE_DOCLOG_ROTATE": "off"})) == ()


def test_ga4_scoring_is_scheduled_daily_without_a_payload() -> None:
    jobs = scheduled_jobs(Settings.from_env({"REDIS_URL": "redis://h:1/0"}))
    (ga4,) = [j for j in jobs if j.actor == "ga4_score"]
    assert (ga4.cron, ga4.setting, dict(ga4.kwargs)) == ("0 7 * * *",
                                                         "ATR_SCHEDULE_GA4_SCORE", {})


def test_index_sweep_and_monetize_are_scheduled_by_default() -> None:
    jobs = {j.actor: j for j in scheduled_jobs(Settings.from_env({"REDIS_URL": "redis://h:1/0"}))}
    assert (jobs["index_sweep"].cron, jobs["index_sweep"].setting) == \
        ("20 * * * *", "ATR_SCHEDULE_INDEX_SWEEP")
    assert (jobs["monetize"].cron, jobs["monetize"].kwargs) == ("30 6 * * *", {})


def test_a_tick_claimed_by_one_scheduler_is_not_enqueued_by_another(
        redis_url: str, redis_client: redis.Redis, tmp_path: Path) -> None:
    broker = producer_broker(Settings.from_env({"REDIS_URL": redis_url,
                                                "ATR_DOCLOG_ROOT": str(tmp_path)}))
    job = ScheduledJob("doclog_rotate", "doclog_rotate", "30 3 * * *",
                       "ATR_SCHEDULE_DOCLOG_ROTATE")
    tick = datetime(2026, 11, 27, 3, 30, tzinfo=SEOUL)
    first, second = Scheduler(broker, [job], SEOUL), Scheduler(broker, [job], SEOUL)
    second.identity = "other-host:1"
    assert first.fire(job, tick) is True
    assert second.fire(job, tick) is False
    assert queued_ticks(redis_client, "doclog") == {tick.isoformat(): 1}
    assert redis_client.get(keys.schedule_claim("doclog_rotate", tick)) == first.identity
    broker.close()


def test_two_scheduler_processes_enqueue_each_tick_once(
        worker_env: dict[str, str], redis_client: redis.Redis, tmp_path: Path) -> None:
    env = {**worker_env, **ROTATION_ONLY,
           "ATR_SCHEDULE_DOCLOG_ROTATE": "* * * * * *"}  # every second
    procs = [subprocess.Popen([atr_executable(), "scheduler"], env=env, cwd=tmp_path,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
             for _ in range(2)]
    deadline = time.monotonic() + 60
    while sum(queued_ticks(redis_client, "doclog").values()) < 6 \
            and time.monotonic() < deadline:
        time.sleep(0.2)
    for proc in procs:
        proc.send_signal(signal.SIGTERM)
    outputs = [proc.communicate(timeout=30)[0] for proc in procs]
    assert [proc.returncode for proc in procs] == [0, 0], outputs
    ticks = queued_ticks(redis_client, "doclog")
    assert len(ticks) >= 6, outputs
    assert set(ticks.values()) == {1}, ticks  # never twice
    claims = redis_client.keys("atr:schedule:doclog_rotate:*")
    assert len(claims) == len(ticks)
    # Both processes were really running and competing for the ticks.
    assert all("started with 2 job(s)" in out for out in outputs), outputs
    assert queued_ticks(redis_client, "high") == ticks  # worker1's rotation, same ticks


def test_schedule_lists_next_ticks(worker_env: dict[str, str], tmp_path: Path) -> None:
    result = run_atr("schedule", "--json", env={**worker_env, "ATR_SCHEDULE_INDEX_SWEEP": "off",
                                                 "ATR_SCHEDULE_MONETIZE": "off"}, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    listing = json.loads(result.stdout)
    assert listing["tz"] == "Asia/Seoul"
    assert [job["job"] for job in listing["jobs"]] == ["doclog_rotate", "doclog_rotate_worker1",
                                                       "ga4_score"]
    assert all(t.endswith("T03:30:00+09:00") for job in listing["jobs"][:2]
               for t in job["next"])
    assert all(t.endswith("T07:00:00+09:00") for t in listing["jobs"][2]["next"])


def test_invalid_schedule_is_one_line(worker_env: dict[str, str], tmp_path: Path) -> None:
    env = {**worker_env, "ATR_SCHEDULE_DOCLOG_ROTATE": "every day"}
    result = run_atr("scheduler", env=env, cwd=tmp_path)
    assert result.returncode == 2
    assert "ATR_SCHEDULE_DOCLOG_ROTATE='every day' is invalid: expected a cron expression" \
        in result.stderr
    assert "Traceback" not in result.stderr


def test_scheduler_rides_out_a_redis_outage(clean_env: dict[str, str], tmp_path: Path) -> None:
    port = free_port()
    argv = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
            "--appendonly", "no", "--dir", str(tmp_path)]
    server = subprocess.Popen(argv, stdout=subprocess.DEVNULL)
    client = redis.Redis(port=port, decode_responses=True)
    env = {**clean_env, "REDIS_URL": f"redis://127.0.0.1:{port}/0",
           "ATR_SCHEDULE_DOCLOG_ROTATE": "* * * * * *"}
    scheduler = subprocess.Popen([atr_executable(), "scheduler"], env=env, cwd=tmp_path,
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_for(lambda: sum(queued_ticks(client, "doclog").values()) >= 2)
        server.terminate()
        server.wait(timeout=10)
        time.sleep(3)  # several ticks come due while Redis is down
        assert scheduler.poll() is None, "the scheduler died with Redis"
        server = subprocess.Popen(argv, stdout=subprocess.DEVNULL)  # empty again: no --save
        wait_for(lambda: sum(queued_ticks(client, "doclog").values()) >= 2)
    finally:
        scheduler.send_signal(signal.SIGTERM)
        output = scheduler.communicate(timeout=30)[0]
        server.terminate()
        server.wait(timeout=10)
    assert scheduler.returncode == 0, output
    assert output.count("Redis is unreachable") == 1, output
    assert "Redis is reachable again" in output
    assert "Traceback" not in output


def wait_for(done: Callable[[], bool], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if done():
                return
        except redis.ConnectionError:
            pass
        time.sleep(0.2)
    raise AssertionError("condition not reached")
