"""``atr health`` on a seeded real Redis: OK, WARN and CRIT, a stuck queue, a dead worker."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import dramatiq
import pytest
import redis
from dramatiq.brokers.redis import RedisBroker

from brokers.boot import producer_broker
from brokers.producer import find_actor, send
from devkit.redis_server import EmbeddedRedis
from devkit.supervise import GroupProcess
from ops.health import run
from pipeline import keys
from pipeline.groups import get_group
from pipeline.health import Status
from pipeline.settings import Settings
from tests.helpers import assert_one_clear_line, dead_letters, run_atr

ROOT = Path(__file__).resolve().parents[2]


def seed_alive(client: redis.Redis, *, worker1: int = 2, worker2: int = 2,
               scheduler: bool = True) -> None:
    """Heartbeat keys as live workers and a scheduler leave them (TTL 60 s)."""
    for group, count in (("worker1", worker1), ("worker2", worker2)):
        for pid in range(count):
            client.set(keys.heartbeat(group, "seeded", pid), "{}", ex=60)
    if scheduler:
        client.set(keys.scheduler_heartbeat("seeded:1"), "now", ex=60)


def health(env: dict[str, str], cwd: Path, *args: str) -> tuple[int, dict[str, Any]]:
    """Run the real ``atr health --json``; its exit code and object."""
    done = run_atr("health", "--json", *args, env=env, cwd=cwd)
    assert done.stderr == "", done.stderr
    return done.returncode, json.loads(done.stdout)


def statuses(report: dict[str, Any]) -> dict[tuple[str, str], str]:
    return {(c["check"], c["subject"]): c["status"] for c in report["checks"]}


def problems(report: dict[str, Any]) -> dict[tuple[str, str], str]:
    return {k: v for k, v in statuses(report).items() if v != "OK"}


@pytest.fixture
def broker(redis_url: str, tmp_path: Path) -> Iterator[RedisBroker]:
    """A producer broker on the test Redis: enqueues, no worker runs."""
    broker = producer_broker(Settings.from_env({"REDIS_URL": redis_url,
                                                "ATR_DOCLOG_ROOT": str(tmp_path)}))
    yield broker
    broker.close()


def wait_for(condition: Callable[[], bool], timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert condition()


def test_everything_fine_is_ok_as_json_and_as_a_table(
        worker_env: dict[str, str], redis_client: redis.Redis, tmp_path: Path) -> None:
    seed_alive(redis_client)
    code, report = health(worker_env, tmp_path)
    assert (code, report["status"], report["exit_code"]) == (0, "OK", 0)
    assert datetime.fromisoformat(report["checked_at"]).tzinfo is not None
    assert set(report) == {"status", "exit_code", "checked_at", "checks", "queues", "groups",
                           "scheduler", "paused"}
    assert report["paused"] == {}
    assert set(report["queues"]) == {"seo", "thumbnails", "images", "high", "ga4", "doclog",
                                     "misc", "low", "index", "ads"}
    assert report["queues"]["seo"] == {"group": "worker1", "waiting": 0, "oldest_age_s": None,
                                       "in_flight": 0, "delayed": 0, "dead": 0,
                                       "over_since": None}
    assert report["groups"]["worker2"] == {"live": 2, "expected": 2, "doclog_write_errors": 0,
                                           "doclog_errors_grew_at": None}
    assert report["scheduler"] == {"alive": 1}
    assert all(set(c) == {"check", "subject", "status", "detail", "reason"}
               for c in report["checks"])
    table = run_atr("health", env=worker_env, cwd=tmp_path)
    assert table.returncode == 0
    assert table.stdout.startswith("atr health: OK (all OK) at ")
    assert "QUEUE" in table.stdout and "LIVE/EXPECTED" in table.stdout


def test_a_backlog_counts_once_it_lasted_the_sustain_time(
        broker: RedisBroker, worker_env: dict[str, str], redis_client: redis.Redis,
        tmp_path: Path) -> None:
    seed_alive(redis_client)
    for i in range(3):
        send(broker, "ping_seo", {"token": f"t{i}"})
    env = {**worker_env, "ATR_HEALTH_BACKLOG_WARN": "2", "ATR_HEALTH_BACKLOG_CRIT": "3"}
    code, report = health(env, tmp_path)
    # First sight of the backlog: the streak starts now, not yet an alarm.
    assert code == 0
    assert report["queues"]["seo"]["waiting"] == 3
    started = float(redis_client.get(keys.health_over("seo")) or 0)
    assert report["queues"]["seo"]["over_since"] == started
    # The streak started long ago (as if earlier checks had seen it): CRIT at 3.
    redis_client.set(keys.health_over("seo"), repr(started - 400))
    code, report = health(env, tmp_path)
    assert (code, problems(report)) == (2, {("backlog", "seo"): "CRIT"})
    (check,) = [c for c in report["checks"] if c["status"] == "CRIT"]
    assert "3 messages waiting (>= 3)" in check["reason"]
    # One message fewer: WARN; drained: OK and the streak is forgotten.
    redis_client.lpop("dramatiq:seo")
    code, report = health(env, tmp_path)
    assert (code, problems(report)) == (1, {("backlog", "seo"): "WARN"})
    redis_client.delete("dramatiq:seo")
    code, _ = health(env, tmp_path)
    assert code == 0
    assert redis_client.exists(keys.health_over("seo")) == 0


def test_a_stuck_queue_is_crit(broker: RedisBroker, worker_env: dict[str, str],
                               redis_client: redis.Redis, tmp_path: Path) -> None:
    seed_alive(redis_client)
    actor = find_actor(broker, "ping_ga4")
    old = actor.message_with_options(kwargs={"token": "old"}).copy(
        message_timestamp=int((time.time() - 120) * 1000))
    broker.enqueue(old)
    send(broker, "ping_ga4", {"token": "new"})
    send(broker, "ping_index", {"token": "later"}, delay_ms=600_000)
    env = {**worker_env, "ATR_HEALTH_LATENCY_WARN_S": "1", "ATR_HEALTH_LATENCY_CRIT_S": "60"}
    code, report = health(env, tmp_path)
    assert (code, report["status"]) == (2, "CRIT")
    assert problems(report) == {("latency", "ga4"): "CRIT"}
    ga4 = report["queues"]["ga4"]
    assert (ga4["waiting"], ga4["in_flight"]) == (2, 0)
    assert ga4["oldest_age_s"] >= 120
    assert report["queues"]["index"]["delayed"] == 1  # delayed: reported, not judged
    (check,) = [c for c in report["checks"] if c["status"] == "CRIT"]
    assert "nothing is being processed" in check["reason"]
    # The table says the same, and what to do.
    table = run_atr("health", env=env, cwd=tmp_path)
    assert table.returncode == 2
    assert "CRIT  latency ga4: the oldest message on ga4 has waited" in table.stdout


def test_dead_letters_warn(broker: RedisBroker, worker_env: dict[str, str],
                           redis_client: redis.Redis, tmp_path: Path) -> None:
    seed_alive(redis_client)
    worker = dramatiq.Worker(broker, queues={"misc"}, worker_threads=1, worker_timeout=100)
    worker.start()
    try:
        send(broker, "ping_misc", {"token": "bad token!"})
        wait_for(lambda: bool(dead_letters(redis_client, "misc")))
    finally:
        worker.stop()
    code, report = health(worker_env, tmp_path)
    assert (code, problems(report)) == (1, {("dead", "misc"): "WARN"})
    assert report["queues"]["misc"]["dead"] == 1
    code, report = health({**worker_env, "ATR_HEALTH_DEAD_CRIT": "1"}, tmp_path)
    assert (code, problems(report)) == (2, {("dead", "misc"): "CRIT"})


def test_lost_doclog_lines_and_a_missing_scheduler_warn(
        worker_env: dict[str, str], redis_client: redis.Redis, tmp_path: Path) -> None:
    seed_alive(redis_client, scheduler=False)
    redis_client.set("atr:doclog:write_errors:worker2", 3)
    code, report = health(worker_env, tmp_path)
    assert (code, problems(report)) == (1, {("doclog", "worker2"): "WARN",
                                            ("scheduler", "scheduler"): "WARN"})
    assert report["groups"]["worker2"]["doclog_write_errors"] == 3
    # Still within the hour on the next check; an hour after the last growth, OK.
    seed_alive(redis_client, worker1=0, worker2=0)
    code, report = health(worker_env, tmp_path)
    assert problems(report) == {("doclog", "worker2"): "WARN"}
    redis_client.set(keys.health_doclog("worker2"),
                     json.dumps({"count": 3, "grew_at": time.time() - 3601}))
    code, report = health(worker_env, tmp_path)
    assert (code, report["status"]) == (0, "OK")


def test_group_filter_limits_queues_and_groups(
        worker_env: dict[str, str], redis_client: redis.Redis, tmp_path: Path) -> None:
    seed_alive(redis_client, worker1=0)
    code, report = health(worker_env, tmp_path, "--group", "worker2")
    assert (code, set(report["groups"])) == (0, {"worker2"})
    assert set(report["queues"]) == set(get_group("worker2").queue_names)
    code, report = health(worker_env, tmp_path)
    assert (code, problems(report)) == (2, {("workers", "worker1"): "CRIT"})


def test_redis_unreachable_is_unknown_with_one_line(clean_env: dict[str, str],
                                                    tmp_path: Path) -> None:
    with EmbeddedRedis() as server:
        url = server.url
    done = run_atr("health", "--json", env={**clean_env, "REDIS_URL": url}, cwd=tmp_path)
    assert done.returncode == 3
    line = assert_one_clear_line(done.stderr)
    assert line.startswith("atr health: cannot reach Redis at ")
    assert done.stdout == ""


def test_a_real_worker_group_is_counted_and_a_stopped_one_is_crit(
        worker_env: dict[str, str], redis_client: redis.Redis, tmp_path: Path) -> None:
    seed_alive(redis_client, worker1=0)
    env = {**worker_env, "ATR_WORKER1_PROCESSES": "1", "ATR_WORKER1_THREADS": "1"}
    with GroupProcess("worker1", env, tmp_path / "worker1.log", cwd=ROOT) as group:
        wait_for(lambda: len(list(redis_client.scan_iter(keys.heartbeat_pattern("worker1")))) == 1,
                 timeout=60)
        code, report = health(env, tmp_path, "--group", "worker1")
        assert (code, report["groups"]["worker1"]["live"]) == (0, 1), group.log_text()
        assert report["groups"]["worker1"]["expected"] == 1
        # A graceful stop deletes the key at once: no live process, CRIT.
        assert group.stop() == 0
    assert list(redis_client.scan_iter(keys.heartbeat_pattern("worker1"))) == []
    code, report = health(env, tmp_path, "--group", "worker1")
    assert (code, problems(report)) == (2, {("workers", "worker1"): "CRIT"})


# An in-process worker of worker2 built exactly as the entrypoint builds it,
# with the heartbeat shortened to a 1 s TTL so that a killed process expires fast.
_SHORT_HEARTBEAT_WORKER = textwrap.dedent("""
    import sys, threading
    import dramatiq
    from brokers.boot import declare_group_actors
    from brokers.broker import build_broker
    from pipeline.groups import get_group
    from middleware.heartbeat import Heartbeat
    from pipeline.settings import Settings

    settings = Settings.from_env({"REDIS_URL": sys.argv[1], "ATR_DOCLOG_ROOT": sys.argv[2]})
    group = get_group("worker2")
    broker = build_broker(settings, group)
    (heartbeat,) = [m for m in broker.middleware if isinstance(m, Heartbeat)]
    heartbeat.ttl_s, heartbeat.interval_s = 1.0, 0.2
    declare_group_actors(broker, group, worker=True)
    dramatiq.Worker(broker, queues=set(group.queue_names), worker_threads=1).start()
    threading.Event().wait()
""")


def test_a_killed_worker_goes_crit_once_its_heartbeat_expires(
        worker_env: dict[str, str], redis_url: str, redis_client: redis.Redis,
        tmp_path: Path) -> None:
    seed_alive(redis_client, worker2=0)
    env = {**worker_env, "ATR_WORKER2_PROCESSES": "1"}
    proc = subprocess.Popen([sys.executable, "-c", _SHORT_HEARTBEAT_WORKER, redis_url,
                             str(tmp_path / "logs")], cwd=ROOT, env=worker_env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        key = keys.heartbeat("worker2", os.uname().nodename, proc.pid)
        wait_for(lambda: redis_client.exists(key) == 1, timeout=60)
        code, report = health(env, tmp_path, "--group", "worker2")
        assert (code, report["groups"]["worker2"]["live"]) == (0, 1)
        proc.send_signal(signal.SIGKILL)  # no shutdown hook runs: the key stays until its TTL
        proc.wait(timeout=10)
        wait_for(lambda: redis_client.exists(key) == 0, timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    code, report = health(env, tmp_path, "--group", "worker2")
    assert (code, problems(report)) == (2, {("workers", "worker2"): "CRIT"})
    (check,) = [c for c in report["checks"] if c["status"] == "CRIT"]
    assert "atr worker worker2" in check["reason"]


def test_collecting_in_process_matches_the_cli(
        broker: RedisBroker, redis_url: str, redis_client: redis.Redis,
        tmp_path: Path) -> None:
    seed_alive(redis_client)
    send(broker, "ping_high", {"token": "x"})
    settings = Settings.from_env({"REDIS_URL": redis_url, "ATR_DOCLOG_ROOT": str(tmp_path)})
    observations, report = run(settings, [get_group("worker1")])
    (high,) = [q for q in observations.queues if q.name == "high"]
    assert (high.waiting, high.in_flight, high.delayed, high.dead) == (1, 0, 0, 0)
    assert high.oldest_age_s is not None
    assert report.status is Status.OK
