"""The Prometheus middleware in-process: real Redis, a real Worker, a real HTTP scrape.

The dramatiq CLI emits ``process_boot`` in each worker process; these tests emit
it themselves where they play that process, and show that without it (an
in-process Worker, a producer) nothing is made or served.
"""

from __future__ import annotations

import logging
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import dramatiq
import pytest
import redis
from dramatiq.brokers.redis import RedisBroker

from brokers.boot import declare_group_actors, producer_broker
from brokers.broker import build_broker
from brokers.producer import send
from devkit.redis_server import free_port
from middleware.metrics import MULTIPROC_VARIABLE, Metrics, prepare_directory
from pipeline.groups import get_group
from pipeline.settings import Settings
from tests.helpers import wait_replies
from tests.metrics_helpers import refused, value, wait_scrape

GROUP = get_group("worker2")


@pytest.fixture
def multiproc_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Undo what a booted worker process does to this (pytest) process afterwards."""
    # Recorded now, restored at teardown: the middleware sets it like in a worker.
    monkeypatch.delenv(MULTIPROC_VARIABLE, raising=False)
    yield
    from prometheus_client.values import close_all_multiprocess_files

    # The next test's metrics must open files in its own directory.
    close_all_multiprocess_files()  # type: ignore[no-untyped-call]


def settings_for(redis_url: str, tmp_path: Path, port: int) -> Settings:
    return Settings.from_env({"REDIS_URL": redis_url, "ATR_DOCLOG_ROOT": str(tmp_path / "logs"),
                              "ATR_METRICS_DIR": str(tmp_path / "metrics"),
                              "ATR_METRICS_WORKER2_PORT": str(port)})


def group_broker(settings: Settings) -> tuple[RedisBroker, Metrics]:
    broker = build_broker(settings, GROUP)
    declare_group_actors(broker, GROUP, worker=True)
    (metrics,) = [m for m in broker.middleware if isinstance(m, Metrics)]
    return broker, metrics


def boot_worker(broker: RedisBroker, queues: set[str]) -> dramatiq.Worker:
    """Start a Worker as the dramatiq CLI's worker process does (process_boot first)."""
    broker.emit_after("process_boot")
    worker = dramatiq.Worker(broker, queues=queues, worker_threads=2, worker_timeout=100)
    worker.start()
    return worker


@pytest.mark.usefixtures("multiproc_env")
def test_a_booted_worker_exports_message_counters_and_queue_gauges(
        redis_url: str, redis_client: redis.Redis, tmp_path: Path) -> None:
    port = free_port()
    settings = settings_for(redis_url, tmp_path, port)
    producer = producer_broker(settings)
    for i in range(3):
        send(producer, "ping_misc", {"token": f"ok-{i}"})
    send(producer, "ping_misc", {"token": "flaky", "fail_attempts": 1})
    send(producer, "ping_misc", {"token": "doomed", "fail_attempts": 4})
    # A backlog on a queue this worker does not consume.
    for i in range(2):
        send(producer, "ping_ga4", {"token": f"waiting-{i}"})
    broker, metrics = group_broker(settings)
    worker = boot_worker(broker, {"misc"})
    try:
        assert metrics.serving
        replies = wait_replies(redis_client, ["ok-0", "ok-1", "ok-2", "flaky"])
        assert len(replies) == 4
        labels = {"queue_name": "misc", "actor_name": "ping_misc"}
        # 3 + 2 (flaky) + 4 (doomed: max_retries 3) attempts; doomed is dead-lettered.
        samples = wait_scrape(port, lambda s: value(
            s, "dramatiq_message_rejects_total", **labels) == 1)
        assert value(samples, "dramatiq_messages_total", **labels) == 9
        assert value(samples, "dramatiq_message_errors_total", **labels) == 5
        # Counted once each, under the queue (not its .DQ): 1 (flaky) + 3 (doomed).
        assert value(samples, "dramatiq_message_retries_total", **labels) == 4
        assert value(samples, "dramatiq_message_duration_milliseconds_count", **labels) == 9
        assert value(samples, "dramatiq_messages_inprogress", **labels) == 0
        assert value(samples, "atr_queue_waiting", queue="ga4") == 2
        assert value(samples, "atr_queue_waiting", queue="misc") == 0
        assert value(samples, "atr_queue_dead", queue="misc") == 1
        assert (value(samples, "atr_queue_oldest_age_seconds", queue="ga4") or 0) > 0
        assert value(samples, "atr_queue_oldest_age_seconds", queue="misc") == 0
        # Only this group's queues.
        assert value(samples, "atr_queue_waiting", queue="seo") is None
    finally:
        worker.stop()
        broker.close()
        producer.close()
    assert refused(port)
    assert sorted(p.name for p in (tmp_path / "metrics").iterdir()) == ["worker2"]


@pytest.mark.usefixtures("multiproc_env")
def test_a_port_already_taken_costs_one_error_line_and_the_worker_runs_on(
        redis_url: str, redis_client: redis.Redis, tmp_path: Path,
        caplog: pytest.LogCaptureFixture) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        settings = settings_for(redis_url, tmp_path, port)
        broker, metrics = group_broker(settings)
        with caplog.at_level(logging.WARNING):
            worker = boot_worker(broker, {"misc"})
        try:
            producer = producer_broker(settings)
            send(producer, "ping_misc", {"token": "still-working"})
            assert "still-working" in wait_replies(redis_client, ["still-working"])
            producer.close()
        finally:
            worker.stop()
            broker.close()
    assert not metrics.serving
    (record,) = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert record.levelno == logging.ERROR and record.exc_info is None
    assert f"127.0.0.1:{port}" in record.getMessage()
    assert "set ATR_METRICS_WORKER2_PORT to a free port" in record.getMessage()


@pytest.mark.usefixtures("multiproc_env")
def test_a_failing_metric_never_fails_the_message(
        redis_url: str, redis_client: redis.Redis, tmp_path: Path,
        caplog: pytest.LogCaptureFixture) -> None:
    settings = settings_for(redis_url, tmp_path, free_port())
    broker, metrics = group_broker(settings)
    worker = boot_worker(broker, {"misc"})
    try:
        assert metrics._metrics is not None

        class Broken:
            def labels(self, *values: str) -> None:
                raise OSError("No space left on device")

        # Fault injection: the metric file cannot grow.
        metrics._metrics.total = Broken()  # type: ignore[assignment]
        producer = producer_broker(settings)
        for token in ("first", "second"):
            send(producer, "ping_misc", {"token": token})
        assert len(wait_replies(redis_client, ["first", "second"])) == 2
        producer.close()
    finally:
        worker.stop()
        broker.close()
    (record,) = [r for r in caplog.records if "recording a Prometheus metric" in r.message]
    assert record.exc_info is not None  # once, with the traceback


def test_an_in_process_worker_or_a_producer_makes_and_serves_nothing(
        redis_url: str, tmp_path: Path) -> None:
    port = free_port()
    settings = settings_for(redis_url, tmp_path, port)
    producer = producer_broker(settings)
    assert not [m for m in producer.middleware if isinstance(m, Metrics)]
    producer.close()
    broker, metrics = group_broker(settings)
    # No process_boot: a Worker inside another program (tests, benches).
    worker = dramatiq.Worker(broker, queues={"misc"}, worker_threads=1, worker_timeout=100)
    worker.start()
    try:
        assert not metrics.serving
        assert refused(port)
    finally:
        worker.stop()
        broker.close()
    assert not (tmp_path / "metrics").exists()


def test_port_zero_means_no_middleware(redis_url: str, tmp_path: Path) -> None:
    broker = build_broker(settings_for(redis_url, tmp_path, 0), GROUP)
    assert not [m for m in broker.middleware if isinstance(m, Metrics)]
    broker.close()


def test_importing_and_building_brokers_does_no_prometheus_work(tmp_path: Path) -> None:
    # A fresh interpreter: pytest may already hold prometheus_client.
    code = (
        "import sys\n"
        "from brokers.broker import build_broker\n"
        "from pipeline.groups import get_group\n"
        "from pipeline.settings import Settings\n"
        f"s = Settings.from_env({{'REDIS_URL': 'redis://127.0.0.1:1/0', "
        f"'ATR_METRICS_DIR': {str(tmp_path / 'm')!r}}})\n"
        "build_broker(s, get_group('worker1')); build_broker(s)\n"
        "print('prometheus_client' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True, cwd=Path(__file__).parents[2])
    assert result.stdout.strip() == "False"
    assert not (tmp_path / "m").exists()


def test_the_first_process_of_a_new_master_empties_the_directory(tmp_path: Path) -> None:
    directory = tmp_path / "worker1"
    assert prepare_directory(directory, master_pid=100)
    (directory / "counter_11.db").write_bytes(b"old run")
    # A sibling of the same master keeps the files being written.
    assert not prepare_directory(directory, master_pid=100)
    assert (directory / "counter_11.db").exists()
    # A restarted group (a new master) starts from zero.
    assert prepare_directory(directory, master_pid=200)
    assert list(directory.glob("*.db")) == []


def _health_state(client: redis.Redis) -> dict[str, tuple[str | None, bool]]:
    """Every health bookkeeping key: its value and whether its TTL is still the one we set."""
    found = sorted(client.scan_iter(match="atr:health:*"))
    return {k: (client.get(k), 0 < client.ttl(k) <= _PLANTED_TTL_S or client.ttl(k) == -1)
            for k in found}


#: Below the streak TTL a check sets (3600 s): a refreshed key would show more.
_PLANTED_TTL_S = 1000


@pytest.mark.usefixtures("multiproc_env")
def test_a_scrape_leaves_every_health_bookkeeping_key_unchanged(
        redis_url: str, redis_client: redis.Redis, tmp_path: Path) -> None:
    port = free_port()
    settings = Settings.from_env({
        "REDIS_URL": redis_url, "ATR_DOCLOG_ROOT": str(tmp_path / "logs"),
        "ATR_METRICS_DIR": str(tmp_path / "metrics"), "ATR_METRICS_WORKER2_PORT": str(port),
        "ATR_HEALTH_BACKLOG_WARN": "1", "ATR_HEALTH_BACKLOG_CRIT": "2"})
    producer = producer_broker(settings)
    # Backlogs over WARN on two queues this group owns but the worker does not consume:
    # ga4 with a streak already kept, index with none yet (a check would start one).
    for i in range(3):
        send(producer, "ping_ga4", {"token": f"waiting-{i}"})
        send(producer, "ping_index", {"token": f"waiting-{i}"})
    redis_client.set("atr:health:over:ga4", "1000.0", ex=_PLANTED_TTL_S)
    redis_client.set("atr:health:doclog:worker2", '{"count": 1, "grew_at": 1000.0}')
    # Lost doclog lines grew since the snapshot: a check would rewrite it.
    redis_client.set("atr:doclog:write_errors:worker2", 5)
    before = _health_state(redis_client)
    broker, metrics = group_broker(settings)
    worker = boot_worker(broker, {"misc"})
    try:
        assert metrics.serving
        for _ in range(3):
            samples = wait_scrape(port, lambda s: value(s, "atr_queue_waiting", queue="index")
                                  == 3)
            assert value(samples, "atr_queue_waiting", queue="ga4") == 3
        assert _health_state(redis_client) == before
    finally:
        worker.stop()
        broker.close()
        producer.close()
    # The same reads through atr health's own check do write: the test can fail.
    from ops.health import run
    run(settings, [GROUP])
    after_check = _health_state(redis_client)
    assert after_check != before
    assert "atr:health:over:index" in after_check
