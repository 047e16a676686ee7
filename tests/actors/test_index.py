"""index_submit and index_sweep on an in-process worker, two IndexNow fakes and the stand-in.

What a user sees: the URLs each fake accepted (exactly once), the doclog
lines of the ``index_submit`` stream, the dead letters.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dramatiq
import pytest
import redis
from dramatiq.brokers.redis import RedisBroker

from brokers.boot import producer_broker
from brokers.producer import send
from devkit.fakes.indexnow_server import IndexNowFake
from devkit.wordpress import WordPressStandIn
from pipeline.settings import Settings
from tests.helpers import Lines, dead_letters, read_stream, wait_lines

KEY = "5b1d0c6f-4e2a-4f0b"
HOST = "blog.example"
URLS = [f"https://{HOST}/a/", f"https://{HOST}/b/"]
FAST_RETRY = {"min_backoff": 50, "max_backoff": 100}


@pytest.fixture
def fakes(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[IndexNowFake, IndexNowFake]]:
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    with IndexNowFake(keys={HOST: KEY}, name="naver") as naver, \
            IndexNowFake(keys={HOST: KEY}, name="shared") as shared:
        yield naver, shared


@pytest.fixture
def logs(tmp_path: Path) -> Path:
    return tmp_path / "logs"


@pytest.fixture
def start(redis_url: str, logs: Path, fakes: tuple[IndexNowFake, IndexNowFake]) -> Iterator[Any]:
    started: list[tuple[dramatiq.Worker, RedisBroker]] = []

    def run(**extra: str) -> RedisBroker:
        env = {"REDIS_URL": redis_url, "ATR_DOCLOG_ROOT": str(logs), "ATR_INDEXNOW_KEY": KEY,
               "ATR_INDEXNOW_ENDPOINTS": ",".join(f.url for f in fakes), **extra}
        broker = producer_broker(Settings.from_env(env))
        worker = dramatiq.Worker(broker, queues={"index"}, worker_threads=2,
                                 worker_timeout=50)
        worker.start()
        started.append((worker, broker))
        return broker

    yield run
    for worker, broker in started:
        worker.stop()
        broker.close()


def settled(logs: Path, count: int) -> Lines:
    """Wait until ``count`` index_submit messages are finished (succeeded/rejected/dead)."""
    return wait_lines(logs, "index_submit", lambda lines: sum(
        ln["event"] in ("succeeded", "rejected", "dead") for ln in lines) >= count, timeout=30)


def test_each_endpoint_gets_the_urls_once(start: Any, logs: Path,
                                          fakes: tuple[IndexNowFake, IndexNowFake]) -> None:
    broker = start()
    send(broker, "index_submit", {"urls": URLS})
    lines = settled(logs, 3)   # the fan-out and one message per endpoint
    for fake in fakes:
        assert fake.accepted_urls() == URLS
        assert fake.submissions[0].content_type == "application/json; charset=utf-8"
    submitted = [ln for ln in lines if ln["event"] == "index.submitted"]
    assert sorted(ln["endpoint"] for ln in submitted) == sorted(
        f"127.0.0.1:{f.port}" for f in fakes)
    assert all(ln["count"] == 2 and ln["status"] == 200 for ln in submitted)
    (fanned,) = [ln for ln in lines if ln["event"] == "index.fanned_out"]
    assert fanned["count"] == 2


def test_a_url_submitted_today_is_not_sent_again(start: Any, logs: Path,
                                                 fakes: tuple[IndexNowFake, IndexNowFake]
                                                 ) -> None:
    broker = start()
    send(broker, "index_submit", {"urls": URLS})
    settled(logs, 3)
    send(broker, "index_submit", {"urls": [*URLS, f"https://{HOST}/c/"]})
    lines = settled(logs, 6)
    for fake in fakes:
        assert fake.accepted_urls() == [*URLS, f"https://{HOST}/c/"]
    skipped = [ln for ln in lines if ln["event"] == "index.skipped"]
    assert len(skipped) == 2 and all(ln["count"] == 2 for ln in skipped)


def test_a_redelivered_message_submits_nothing_twice(start: Any, logs: Path,
                                                     fakes: tuple[IndexNowFake, IndexNowFake]
                                                     ) -> None:
    broker = start()
    naver = fakes[0]
    message = broker.get_actor("index_submit").message_with_options(
        kwargs={"urls": URLS, "endpoint": f"127.0.0.1:{naver.port}"})
    broker.enqueue(message)
    settled(logs, 1)
    broker.enqueue(message)   # the broker delivers the same message (same id) again
    lines = settled(logs, 2)
    assert {ln["message_id"] for ln in lines} == {message.message_id}
    assert naver.accepted_urls() == URLS
    assert len(naver.submissions) == 1
    assert fakes[1].submissions == []


def test_an_endpoint_that_rejects_never_resends_to_the_other(
        start: Any, logs: Path, fakes: tuple[IndexNowFake, IndexNowFake],
        redis_url: str) -> None:
    naver, shared = fakes
    naver.fail_next(403)
    shared.fail_next(503, times=2)
    broker = start()
    send(broker, "index_submit", {"urls": URLS}, options=FAST_RETRY)
    lines = settled(logs, 3)
    assert naver.accepted_urls() == []
    assert len(naver.submissions) == 1          # 403: rejected once, not retried
    assert shared.accepted_urls() == URLS       # 503 twice, then accepted, once
    assert len(shared.submissions) == 3
    (rejected,) = [ln for ln in lines if ln["event"] == "rejected"]
    assert "does not hold this key" in rejected["error"]
    failed = [ln for ln in lines if ln["event"] == "index.failed"]
    assert [ln["retry"] for ln in failed].count(True) == 2
    client = redis.Redis.from_url(redis_url)
    assert len(dead_letters(client, "index")) == 1


def test_bad_payloads_are_rejected(start: Any, logs: Path) -> None:
    broker = start()
    for payload in ({"urls": "https://blog.example/a/"}, {"urls": ["/relative"]},
                    {"urls": URLS, "endpoint": "bing.example"}):
        send(broker, "index_submit", payload)
    lines = settled(logs, 3)
    errors = [ln["error"] for ln in lines if ln["event"] == "rejected"]
    assert len(errors) == 3
    assert "endpoints: 127.0.0.1:" in errors[2]


def test_without_a_key_the_message_says_what_to_set(redis_url: str, logs: Path) -> None:
    broker = producer_broker(Settings.from_env({"REDIS_URL": redis_url,
                                                "ATR_DOCLOG_ROOT": str(logs)}))
    worker = dramatiq.Worker(broker, queues={"index"}, worker_threads=1, worker_timeout=50)
    worker.start()
    try:
        send(broker, "index_submit", {"urls": URLS})
        (line,) = [ln for ln in settled(logs, 1) if ln["event"] == "rejected"]
    finally:
        worker.stop()
        broker.close()
    assert "set ATR_INDEXNOW_KEY" in line["error"]


def test_the_sweep_submits_posts_changed_since_the_last_sweep(
        start: Any, logs: Path, fakes: tuple[IndexNowFake, IndexNowFake],
        wordpress: WordPressStandIn) -> None:
    first, second, *_ = wordpress.post_ids
    for post_id in wordpress.post_ids:
        wordpress.edit_post(post_id, modified="2026-11-01T09:00:00")
    wordpress.edit_post(first, modified="2099-01-01T09:00:00")
    host = f"127.0.0.1:{wordpress.port}"
    with IndexNowFake(keys={host: KEY}) as fake:
        broker = start(BRIDGE_BASE=wordpress.base_url, BRIDGE_TOKEN=wordpress.token,
                       ATR_INDEXNOW_ENDPOINTS=fake.url)
        send(broker, "index_sweep", {})
        wait_lines(logs, "index_submit", lambda ls: any(
            ln["event"] == "succeeded" for ln in ls), timeout=30)
        assert fake.accepted_urls() == [f"{wordpress.site_url}/{wordpress.post(first).slug}/"]
        wordpress.edit_post(second, modified="2099-01-02T09:00:00")
        send(broker, "index_sweep", {})
        wait_lines(logs, "index_submit", lambda ls: sum(
            ln["event"] == "succeeded" for ln in ls) >= 2, timeout=30)
    swept = [ln for ln in read_stream(logs, "index_sweep") if ln["event"] == "index.swept"]
    assert [ln["count"] for ln in swept] == [1, 1]
    assert swept[1]["since"] == "2099-01-01T09:00:00"
    assert len(fake.accepted_urls()) == 2
    assert json.dumps(swept)  # JSON-clean evidence
