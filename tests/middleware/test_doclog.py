"""The doclog middleware on a real broker and in-process worker: every step, in order."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import dramatiq
import pytest
import redis
from dramatiq.brokers.redis import RedisBroker
from dramatiq.middleware import Retries

from actors.base import atr_actor
from brokers.boot import producer_broker
from brokers.broker import build_broker
from brokers.consumer import ConsumerGate
from brokers.producer import send
from middleware.doclog import Doclog
from pipeline import doclog, keys
from pipeline.groups import get_group
from pipeline.settings import Settings
from tests.helpers import Lines, ends_with, wait_lines

GEMINI_KEY = "gemini-plain-secret-4711"


@pytest.fixture
def logs(tmp_path: Path) -> Path:
    return tmp_path / "logs"


@pytest.fixture
def settings_env(redis_url: str, logs: Path) -> dict[str, str]:
    return {"REDIS_URL": redis_url, "ATR_DOCLOG_ROOT": str(logs), "GEMINI_API_KEY": GEMINI_KEY}


@pytest.fixture
def broker(settings_env: dict[str, str]) -> Iterator[RedisBroker]:
    """worker2's broker, as the group's entrypoint builds it (actors are declared per test)."""
    broker = build_broker(Settings.from_env(settings_env), get_group("worker2"))
    yield broker
    broker.close()


@pytest.fixture
def start_worker() -> Iterator[Callable[[RedisBroker, str], None]]:
    """Start an in-process worker on one queue; every worker is stopped at teardown."""
    workers: list[dramatiq.Worker] = []

    def start(broker: RedisBroker, queue: str) -> None:
        worker = dramatiq.Worker(broker, queues={queue}, worker_threads=2, worker_timeout=100)
        worker.start()
        workers.append(worker)

    yield start
    for worker in workers:
        worker.stop()


def doclog_middleware(broker: RedisBroker) -> Doclog:
    (middleware,) = [m for m in broker.middleware if isinstance(m, Doclog)]
    return middleware


def steps(lines: Lines) -> list[tuple[str, int]]:
    return [(line["event"], line["attempt"]) for line in lines]


def test_doclog_runs_before_retries_so_its_after_hook_sees_the_final_decision(
        broker: RedisBroker) -> None:
    retries = next(i for i, m in enumerate(broker.middleware) if isinstance(m, Retries))
    doclog = [type(m) for m in broker.middleware].index(Doclog)
    # Only the consumer's gate (boot hooks, no message hooks) may come first.
    assert all(isinstance(m, ConsumerGate) for m in broker.middleware[:doclog])
    assert doclog < retries


def test_building_the_broker_creates_no_directory(broker: RedisBroker, logs: Path) -> None:
    assert not logs.exists()


def test_a_success_leaves_started_domain_event_and_succeeded(
        broker: RedisBroker, start_worker: Callable[[RedisBroker, str], None],
        logs: Path) -> None:
    @atr_actor(queue="misc", name="doclog_ok", broker=broker, doclog_stream="upkeep")
    def doclog_ok(post_id: int) -> None:
        doclog.emit("upkeep.done", post_id=post_id, title="서울 맛집 정리")

    message = doclog_ok.send(post_id=42)
    start_worker(broker, "misc")
    lines = wait_lines(logs, "upkeep", ends_with(doclog.EVENT_SUCCEEDED))
    started, done, succeeded = lines
    assert [line["event"] for line in lines] == ["started", "upkeep.done", "succeeded"]
    for line in lines:
        assert line["message_id"] == message.message_id
        assert (line["stream"], line["actor"], line["queue"], line["group"], line["attempt"]) \
            == ("upkeep", "doclog_ok", "misc", "worker2", 1)
        assert list(line)[:len(doclog.FIXED_KEYS)] == list(doclog.FIXED_KEYS)
    assert started["kwargs"] == {"post_id": 42}
    assert done["post_id"] == 42 and done["title"] == "서울 맛집 정리"
    assert isinstance(succeeded["duration_ms"], float) and succeeded["duration_ms"] >= 0
    assert "error" not in succeeded


def test_a_failure_retried_then_succeeding_counts_its_attempts(
        broker: RedisBroker, start_worker: Callable[[RedisBroker, str], None],
        logs: Path, redis_client: redis.Redis) -> None:
    @atr_actor(queue="misc", name="doclog_flaky", broker=broker, max_retries=2,
               min_backoff=10, max_backoff=10)
    def doclog_flaky() -> None:
        if redis_client.incr("doclog_flaky:calls") == 1:
            raise RuntimeError("first call fails")

    doclog_flaky.send()
    start_worker(broker, "misc")
    lines = wait_lines(logs, "doclog_flaky", ends_with(doclog.EVENT_SUCCEEDED))
    assert steps(lines) == [("started", 1), ("failed", 1), ("started", 2), ("succeeded", 2)]
    assert lines[1]["error"] == "RuntimeError: first call fails"
    assert "duration_ms" in lines[1] and "duration_ms" in lines[3]
    assert len({line["message_id"] for line in lines}) == 1


def test_a_message_that_finally_fails_ends_dead_after_its_last_attempt(
        broker: RedisBroker, start_worker: Callable[[RedisBroker, str], None],
        logs: Path) -> None:
    @atr_actor(queue="misc", name="doclog_broken", broker=broker, max_retries=2,
               min_backoff=10, max_backoff=10)
    def doclog_broken(post_id: int) -> None:
        raise ConnectionError(f"bridge down for post {post_id}")

    doclog_broken.send(post_id=7)
    start_worker(broker, "misc")
    lines = wait_lines(logs, "doclog_broken", ends_with(doclog.EVENT_DEAD))
    assert steps(lines) == [("started", 1), ("failed", 1), ("started", 2), ("failed", 2),
                            ("started", 3), ("dead", 3)]
    dead = lines[-1]
    assert dead["error"] == "ConnectionError: bridge down for post 7"
    assert dead["kwargs"] == {"post_id": 7}


def test_a_bad_canary_payload_is_rejected_with_the_reason(
        settings_env: dict[str, str], start_worker: Callable[[RedisBroker, str], None],
        logs: Path) -> None:
    broker = producer_broker(Settings.from_env(settings_env))
    try:
        message = send(broker, "ping_seo", {"token": "bad token!"})
        start_worker(broker, "seo")
        started, rejected = wait_lines(logs, "canary", ends_with(doclog.EVENT_REJECTED))
    finally:
        broker.close()
    assert (started["event"], started["attempt"]) == ("started", 1)
    assert rejected["message_id"] == message.message_id
    assert (rejected["event"], rejected["attempt"], rejected["group"]) == ("rejected", 1, None)
    assert rejected["error"] == ("PayloadError: token must be 1-64 characters of "
                                 "A-Z a-z 0-9 _ . : -, got 'bad token!'")
    assert rejected["kwargs"] == {"token": "bad token!"}


def test_a_message_skipped_by_the_age_limit_is_recorded(
        broker: RedisBroker, start_worker: Callable[[RedisBroker, str], None],
        logs: Path) -> None:
    @atr_actor(queue="misc", name="doclog_stale", broker=broker, max_age=1)
    def doclog_stale() -> None:
        raise AssertionError("a stale message must not run")

    doclog_stale.send()
    time.sleep(0.05)  # older than max_age (1 ms) before any worker sees it
    start_worker(broker, "misc")
    started, skipped = wait_lines(logs, "doclog_stale", ends_with(doclog.EVENT_SKIPPED))
    assert started["event"] == "started"
    assert (skipped["event"], skipped["dead_letter"]) == ("skipped", True)


def test_secrets_in_payload_and_exception_are_written_redacted(
        broker: RedisBroker, start_worker: Callable[[RedisBroker, str], None],
        logs: Path) -> None:
    api_key = "sk-proj-Z9y8X7w6V5u4T3s2R1q0ponm"
    google_key = "AIzaSyD-1234567890abcdefghijklmnopqrst"
    bearer = "tok_live_0123456789abcdef"
    password = "hunter2-correct-horse"

    @atr_actor(queue="misc", name="doclog_leaky", broker=broker, max_retries=0)
    def doclog_leaky(note: str, api_key: str) -> None:
        raise PermissionError(f"401 from https://editor:{password}@example.com/wp-json: "
                              f"sent Authorization: Bearer {bearer} with key {note}; "
                              f"gemini key {GEMINI_KEY}; password={password}")

    doclog_leaky.send(note=f"use {api_key}", api_key=google_key)
    start_worker(broker, "misc")
    lines = wait_lines(logs, "doclog_leaky", ends_with(doclog.EVENT_DEAD))
    data = b"".join(path.read_bytes() for path in (logs / "doclog_leaky").glob("*.ndjson"))
    for secret in (api_key, google_key, bearer, password, GEMINI_KEY):
        assert secret.encode() not in data, secret
    dead = lines[-1]
    assert dead["error"].startswith("PermissionError: 401 from https://editor:[REDACTED]@")
    assert dead["kwargs"] == {"note": "use [REDACTED]", "api_key": "[REDACTED]"}


def test_an_unwritable_doclog_never_fails_a_job_and_is_counted_in_redis(
        tmp_path: Path, redis_url: str, redis_client: redis.Redis,
        start_worker: Callable[[RedisBroker, str], None],
        caplog: pytest.LogCaptureFixture) -> None:
    # Tests run as root, where chmod does not stop writes: a regular file in
    # the path makes every mkdir fail with NotADirectoryError.
    (tmp_path / "afile").write_text("not a directory")
    settings = Settings.from_env({"REDIS_URL": redis_url,
                                  "ATR_DOCLOG_ROOT": str(tmp_path / "afile" / "logs")})
    broker = build_broker(settings, get_group("worker2"))
    try:
        @atr_actor(queue="misc", name="doclog_blind", broker=broker)
        def doclog_blind(n: int) -> None:
            doclog.emit("upkeep.done", n=n)
            redis_client.rpush("doclog_blind:done", n)

        for n in range(3):
            doclog_blind.send(n=n)
        start_worker(broker, "misc")
        key = keys.write_errors("worker2")
        deadline = time.monotonic() + 15
        while int(redis_client.get(key) or 0) < 9 and time.monotonic() < deadline:
            time.sleep(0.05)
        writer = doclog_middleware(broker).writer
    finally:
        broker.close()
    assert sorted(redis_client.lrange("doclog_blind:done", 0, -1)) == ["0", "1", "2"]
    # started + upkeep.done + succeeded for each of the 3 messages, all lost, all counted.
    assert writer.errors == 9
    assert redis_client.get(key) == "9"
    (warning,) = [r for r in caplog.records if r.name == "pipeline.doclog.writer"]
    assert warning.levelno == logging.WARNING
    assert "Not a directory" in warning.getMessage()


def test_a_doclog_bug_never_breaks_a_job(
        broker: RedisBroker, start_worker: Callable[[RedisBroker, str], None],
        redis_client: redis.Redis, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    def broken_write(stream: str, record: dict[str, Any]) -> bool:
        raise RuntimeError("injected doclog bug")

    monkeypatch.setattr(doclog_middleware(broker).writer, "write", broken_write)

    @atr_actor(queue="misc", name="doclog_survivor", broker=broker)
    def doclog_survivor() -> None:
        redis_client.rpush("doclog_survivor:done", "1")

    doclog_survivor.send()
    start_worker(broker, "misc")
    assert redis_client.blpop(["doclog_survivor:done"], timeout=10) is not None
    def logged() -> list[logging.LogRecord]:
        return [r for r in caplog.records if r.name == "middleware.doclog"]

    deadline = time.monotonic() + 10
    while len(logged()) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [r.getMessage().split(" message ")[0] for r in logged()] == [
        "Doclog could not record the start of", "Doclog could not record the end of"]
    assert all(r.exc_info for r in logged())
