"""Delayed messages a consumer held when Redis went away run once it is back; the doclog says so.

An in-process Worker of worker2's broker on a private, restartable
redis-server: a delayed message and a retry waiting for its back-off are
held in the consumer's memory when Redis stops. Dramatiq's consumer drops
them; RedisOutage puts them back, and the retry's re-enqueue of a message
that failed during the outage waits for Redis instead of being lost.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import dramatiq
import pytest
import redis
from dramatiq.brokers.redis import RedisBroker

from actors.base import atr_actor
from brokers.broker import build_broker
from brokers.redis_broker import RedisConnectionLost
from devkit.redis_server import EmbeddedRedis
from middleware.redis_outage import STREAM
from pipeline.groups import get_group
from pipeline.settings import Settings
from tests.helpers import read_stream


@pytest.fixture
def server(tmp_path: Path) -> Iterator[EmbeddedRedis]:
    with EmbeddedRedis(tmp_path / "redis", appendonly=True) as running:
        yield running


@pytest.fixture
def broker(server: EmbeddedRedis, tmp_path: Path) -> Iterator[RedisBroker]:
    broker = build_broker(Settings.from_env({"REDIS_URL": server.url,
                                             "ATR_DOCLOG_ROOT": str(tmp_path / "logs")}),
                          get_group("worker2"))
    yield broker
    broker.close()


def test_held_delayed_messages_and_retries_survive_a_redis_restart(
        server: EmbeddedRedis, broker: RedisBroker, tmp_path: Path) -> None:
    calls: list[str] = []
    lock = threading.Lock()

    @atr_actor(queue="misc", broker=broker, max_retries=3, min_backoff=2500, max_backoff=2600)
    def note(name: str, fail_first: bool = False) -> None:
        with lock:
            calls.append(name)
            if fail_first and calls.count(name) == 1:
                raise RuntimeError("first attempt fails")

    client = redis.Redis.from_url(server.url)
    note.send_with_options(kwargs={"name": "delayed"}, delay=2000)
    note.send_with_options(kwargs={"name": "retried", "fail_first": True})
    worker = dramatiq.Worker(broker, queues={"misc"}, worker_threads=2, worker_timeout=100)
    worker.start()
    try:
        # Both wait in the consumer's memory: fetched from the delay queue, not yet due.
        deadline = time.monotonic() + 10
        while not (client.llen("dramatiq:misc.DQ") == 0
                   and client.hlen("dramatiq:misc.DQ.msgs") == 2) \
                and time.monotonic() < deadline:
            time.sleep(0.02)
        assert client.hlen("dramatiq:misc.DQ.msgs") == 2 and calls == ["retried"]
        server.halt()
        time.sleep(2.5)  # both come due while Redis is down
        server.start()
        deadline = time.monotonic() + 20
        while sorted(calls) != ["delayed", "retried", "retried"] \
                and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        worker.stop()
    assert sorted(calls) == ["delayed", "retried", "retried"]
    assert client.hlen("dramatiq:misc.DQ.msgs") == 0 and client.hlen("dramatiq:misc.msgs") == 0
    lines = read_stream(tmp_path / "logs", STREAM)
    assert [ln["event"] for ln in lines] == ["redis.lost", "redis.restored"]
    assert lines[0]["held_delayed"] == 2 and lines[1]["requeued"] == 2
    assert lines[1]["group"] == "worker2"
    client.close()


def test_enqueue_without_redis_raises_an_error_both_libraries_understand(
        server: EmbeddedRedis, broker: RedisBroker) -> None:
    @atr_actor(queue="misc", broker=broker)
    def noop() -> None:
        pass

    server.halt()
    with pytest.raises(RedisConnectionLost) as caught:
        noop.send()
    assert isinstance(caught.value, redis.ConnectionError)
    assert isinstance(caught.value, dramatiq.errors.BrokerConnectionError)
    assert "Redis is unreachable, the message was not enqueued" in str(caught.value)
