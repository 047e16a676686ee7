"""A canary with a payload that can never succeed is dead-lettered at once, not retried."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import dramatiq
import pytest
import redis
from dramatiq.brokers.redis import RedisBroker

from actors.canary import REPLY_BY_OPTION
from brokers.boot import producer_broker
from brokers.producer import send
from pipeline.groups import get_group
from pipeline.settings import Settings
from tests.helpers import dead_letters, queued_ids, wait_replies


@pytest.fixture
def worker1_broker(redis_url: str, tmp_path: Path) -> Iterator[RedisBroker]:
    """A broker with every actor declared, and an in-process worker on worker1's queues."""
    broker = producer_broker(Settings.from_env({"REDIS_URL": redis_url,
                                                "ATR_DOCLOG_ROOT": str(tmp_path)}))
    worker = dramatiq.Worker(broker, queues=set(get_group("worker1").queue_names),
                             worker_threads=2, worker_timeout=100)
    worker.start()
    yield broker
    worker.stop()
    broker.close()


def wait_dead(client: redis.Redis, queue: str, timeout: float = 10) -> list[str]:
    deadline = time.monotonic() + timeout
    while not dead_letters(client, queue) and time.monotonic() < deadline:
        time.sleep(0.05)
    return dead_letters(client, queue)


@pytest.mark.parametrize("payload", [{"token": "bad token!"}, {"sleep_ms": -5},
                                     {"sleep_ms": True}, {"token": 7}])
def test_bad_canary_payload_goes_to_the_dead_letters_at_once(
        payload: dict[str, object], worker1_broker: RedisBroker,
        redis_client: redis.Redis, caplog: pytest.LogCaptureFixture) -> None:
    message = send(worker1_broker, "ping_seo", payload)
    (dead,) = wait_dead(redis_client, "seo")
    stored = json.loads(redis_client.hget("dramatiq:seo.XQ.msgs", dead) or "{}")
    assert stored["message_id"] == message.message_id
    assert "retries" not in stored["options"]
    (reason,) = [r.getMessage() for r in caplog.records if r.name == "middleware.permanent"]
    assert reason.startswith(f"Message {message.message_id!r} of ping_seo goes to the "
                             "dead-letter queue without retry: PayloadError: ")
    assert queued_ids(redis_client, "seo") == []
    assert redis_client.zcard("dramatiq:seo.DQ") == 0  # no retry scheduled


def test_good_canary_answers_with_its_queue(worker1_broker: RedisBroker,
                                            redis_client: redis.Redis) -> None:
    message = send(worker1_broker, "ping_images", {"token": "ok-1"})
    (reply,) = wait_replies(redis_client, ["ok-1"], timeout=10).values()
    assert reply["queue"] == "images"
    assert reply["message_id"] == message.message_id
    assert reply["group"] is None  # a producer-declared canary does not claim a group


def test_misspelled_keyword_from_a_raw_producer_is_rejected_not_retried(
        worker1_broker: RedisBroker, redis_client: redis.Redis) -> None:
    # A producer that does not go through atr send: no signature check before sending.
    message = worker1_broker.get_actor("ping_seo").send_with_options(kwargs={"tokn": "x"})
    (dead,) = wait_dead(redis_client, "seo")
    stored = json.loads(redis_client.hget("dramatiq:seo.XQ.msgs", dead) or "{}")
    assert stored["message_id"] == message.message_id
    assert "retries" not in stored["options"]


def test_canary_that_arrives_after_its_reader_gave_up_stays_silent(
        worker1_broker: RedisBroker, redis_client: redis.Redis) -> None:
    send(worker1_broker, "ping_high", {"token": "late"},
         options={REPLY_BY_OPTION: time.time() - 1})
    send(worker1_broker, "ping_high", {"token": "in-time"})
    assert list(wait_replies(redis_client, ["in-time"], timeout=10)) == ["in-time"]
    assert wait_replies(redis_client, ["late"], timeout=1) == {}
    assert dead_letters(redis_client, "high") == []
