"""A message that must wait for budget is re-enqueued with its delay, without using a retry."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import dramatiq
import pytest
import redis
from dramatiq.brokers.redis import RedisBroker

from actors.base import atr_actor
from brokers.broker import build_broker
from brokers.producer import send
from pipeline.errors import Deferred
from pipeline.groups import get_group
from pipeline.settings import Settings
from tests.helpers import dead_letters, wait_lines


@pytest.fixture
def broker(redis_url: str, tmp_path: Path) -> Iterator[RedisBroker]:
    broker = build_broker(Settings.from_env({"REDIS_URL": redis_url,
                                             "ATR_DOCLOG_ROOT": str(tmp_path / "logs")}),
                          get_group("worker1"))
    yield broker
    broker.close()


def test_a_deferred_message_waits_and_then_succeeds_without_using_a_retry(
        broker: RedisBroker, redis_client: redis.Redis, tmp_path: Path) -> None:
    calls: list[int] = []
    lock = threading.Lock()

    # max_retries=0: one ordinary failure would dead-letter it, three deferrals do not.
    @atr_actor(queue="seo", broker=broker, max_retries=0)
    def waits_for_budget(post_id: int) -> None:
        with lock:
            calls.append(post_id)
            if len(calls) <= 3:
                raise Deferred("openai gpt-test: no tpm budget now", 150)

    message = send(broker, "waits_for_budget", {"post_id": 7})
    worker = dramatiq.Worker(broker, queues={"seo"}, worker_threads=2, worker_timeout=100)
    worker.start()
    try:
        lines = wait_lines(tmp_path / "logs", "waits_for_budget",
                           lambda ls: any(ln["event"] == "succeeded" for ln in ls), timeout=30)
    finally:
        worker.stop()
    events = [ln["event"] for ln in lines]
    assert events == ["started", "deferred"] * 3 + ["started", "succeeded"]
    deferred = [ln for ln in lines if ln["event"] == "deferred"]
    assert [d["deferrals"] for d in deferred] == [1, 2, 3]
    assert all(150 <= d["delay_ms"] <= 165 and "no tpm budget" in d["reason"]
               and "error" not in d for d in deferred)
    assert {ln["message_id"] for ln in lines} == {message.message_id}
    assert all(ln["attempt"] == 1 for ln in lines)  # the retry count never moved
    assert calls == [7, 7, 7, 7]
    assert not dead_letters(redis_client, "seo")


def test_an_ordinary_failure_still_uses_retries(
        broker: RedisBroker, redis_client: redis.Redis, tmp_path: Path) -> None:
    @atr_actor(queue="seo", broker=broker, max_retries=0)
    def breaks(post_id: int) -> None:
        raise RuntimeError("boom")

    message = send(broker, "breaks", {"post_id": 7})
    worker = dramatiq.Worker(broker, queues={"seo"}, worker_threads=1, worker_timeout=100)
    worker.start()
    try:
        lines = wait_lines(tmp_path / "logs", "breaks",
                           lambda ls: any(ln["event"] == "dead" for ln in ls), timeout=30)
    finally:
        worker.stop()
    assert [ln["event"] for ln in lines] == ["started", "dead"]
    assert {ln["message_id"] for ln in lines} == {message.message_id}
    assert len(dead_letters(redis_client, "seo")) == 1  # keyed by the broker's own id
