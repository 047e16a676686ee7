"""The worker heartbeat: present while the threads live, gone on shutdown, never in producers."""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import dramatiq
import pytest
import redis
from dramatiq.brokers.redis import RedisBroker

from brokers.boot import declare_group_actors, producer_broker
from brokers.broker import build_broker
from middleware.heartbeat import Heartbeat
from pipeline import keys
from pipeline.groups import get_group
from pipeline.settings import Settings

KEY = keys.heartbeat("worker2", socket.gethostname(), os.getpid())


def wait_for(condition: Callable[[], bool], timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert condition()


@pytest.fixture
def settings(redis_url: str, tmp_path: Path) -> Settings:
    return Settings.from_env({"REDIS_URL": redis_url, "ATR_DOCLOG_ROOT": str(tmp_path)})


@pytest.fixture
def group_broker(settings: Settings) -> Iterator[RedisBroker]:
    """worker2's broker as its entrypoint builds it, heartbeat every 50 ms, TTL 5 s."""
    broker = build_broker(settings, get_group("worker2"))
    (heartbeat,) = [m for m in broker.middleware if isinstance(m, Heartbeat)]
    heartbeat.ttl_s, heartbeat.interval_s = 5.0, 0.05
    declare_group_actors(broker, get_group("worker2"), worker=True)
    yield broker
    broker.close()


def test_a_booted_worker_beats_and_deletes_its_key_on_shutdown(
        group_broker: RedisBroker, redis_client: redis.Redis) -> None:
    worker = dramatiq.Worker(group_broker, queues={"misc"}, worker_threads=2,
                             worker_timeout=100)
    worker.start()
    try:
        wait_for(lambda: redis_client.exists(KEY) == 1)
        assert 0 < redis_client.pttl(KEY) <= 5000
        beat = json.loads(redis_client.get(KEY) or "{}")
        assert (beat["pid"], beat["threads"]) == (os.getpid(), 2)
    finally:
        worker.stop()
    assert redis_client.exists(KEY) == 0


def test_a_worker_whose_consumer_died_stops_beating(
        group_broker: RedisBroker, redis_client: redis.Redis) -> None:
    worker = dramatiq.Worker(group_broker, queues={"misc"}, worker_threads=1,
                             worker_timeout=100)
    worker.start()
    try:
        wait_for(lambda: redis_client.exists(KEY) == 1)
        consumer = worker.consumers["misc"]
        consumer.stop()
        consumer.join()
        wait_for(lambda: redis_client.exists(KEY) == 0)
    finally:
        worker.stop()


def test_a_redis_error_never_stops_the_heartbeat(
        group_broker: RedisBroker, redis_client: redis.Redis,
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    real_set = group_broker.client.set
    failures: list[tuple[object, ...]] = []

    def flaky_set(*args: object, **kwargs: object) -> object:
        if len(failures) < 3:  # inject a fault: the first beats fail
            failures.append(args)
            raise redis.ConnectionError("injected")
        return real_set(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(group_broker.client, "set", flaky_set)
    worker = dramatiq.Worker(group_broker, queues={"misc"}, worker_threads=1,
                             worker_timeout=100)
    worker.start()
    try:
        wait_for(lambda: redis_client.exists(KEY) == 1)
    finally:
        worker.stop()
    assert len(failures) == 3
    assert any("Could not refresh heartbeat key" in r.getMessage() for r in caplog.records)


def test_a_producer_never_beats(settings: Settings, redis_client: redis.Redis) -> None:
    broker = producer_broker(settings)
    worker = dramatiq.Worker(broker, queues={"misc"}, worker_threads=1, worker_timeout=100)
    worker.start()
    try:
        time.sleep(0.2)  # a beat would be written at once; give it a chance to appear
        assert list(redis_client.scan_iter("atr:heartbeat:*")) == []
    finally:
        worker.stop()
        broker.close()
