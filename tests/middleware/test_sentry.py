"""The Sentry middleware on a real broker and in-process worker, against a local ingest.

Each test runs worker1's broker (as its entrypoint builds it) with
``SENTRY_DSN`` pointing at :class:`devkit.fakes.sentry_server.SentryIngest`,
waits for the doclog's final line of every message, stops the worker (which
flushes) and only then counts the events the ingest received.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import dramatiq
import pytest
import sentry_sdk
from dramatiq.broker import MessageProxy
from dramatiq.brokers.redis import RedisBroker
from dramatiq.middleware import Middleware, Retries, SkipMessage

from actors import canary
from actors.base import atr_actor
from brokers.broker import build_broker
from brokers.producer import send
from devkit.fakes.sentry_server import SentryIngest
from middleware.doclog import Doclog
from middleware.sentry import Sentry
from pipeline.groups import get_group
from pipeline.settings import Settings
from tests.helpers import Lines, wait_lines

OPENAI_KEY = "sk-test-SECRET123"
BRIDGE_TOKEN = "bot:abcd efgh ijkl"
#: Every form of the secrets above that must never reach Sentry.
SECRETS = (OPENAI_KEY, BRIDGE_TOKEN, "abcd efgh ijkl", "abcdefghijkl")
QUEUE = "high"
CANARY = canary.canary_name(QUEUE)
FINAL = {"succeeded", "dead", "rejected", "skipped"}


@pytest.fixture
def ingest() -> Iterator[SentryIngest]:
    with SentryIngest() as server:
        yield server


@pytest.fixture
def logs(tmp_path: Path) -> Path:
    return tmp_path / "logs"


@pytest.fixture
def environ(redis_url: str, logs: Path, ingest: SentryIngest) -> dict[str, str]:
    return {"REDIS_URL": redis_url, "ATR_DOCLOG_ROOT": str(logs), "ATR_ENV": "staging",
            "SENTRY_DSN": ingest.dsn, "ATR_LLM_PROVIDER": "openai",
            "OPENAI_API_KEY": OPENAI_KEY, "BRIDGE_BASE": "http://127.0.0.1:9/wp-json",
            "BRIDGE_TOKEN": BRIDGE_TOKEN}


@pytest.fixture
def make_broker() -> Iterator[Callable[[dict[str, str]], RedisBroker]]:
    """worker1's broker with the canary of ``high``; closed at teardown."""
    brokers: list[RedisBroker] = []

    def make(environ: dict[str, str]) -> RedisBroker:
        broker = build_broker(Settings.from_env(environ), get_group("worker1"))
        canary.declare(broker, [QUEUE], "worker1")
        brokers.append(broker)
        return broker

    yield make
    for broker in brokers:
        broker.close()


@pytest.fixture
def broker(make_broker: Callable[[dict[str, str]], RedisBroker],
           environ: dict[str, str]) -> RedisBroker:
    return make_broker(environ)


@pytest.fixture
def start_worker() -> Iterator[Callable[[RedisBroker], dramatiq.Worker]]:
    """Start an in-process worker on ``high``; a worker still running is stopped at teardown."""
    workers: list[dramatiq.Worker] = []

    def start(broker: RedisBroker) -> dramatiq.Worker:
        worker = dramatiq.Worker(broker, queues={QUEUE}, worker_threads=2, worker_timeout=100)
        worker.start()
        workers.append(worker)
        return worker

    yield start
    for worker in workers:
        if worker.workers and any(t.is_alive() for t in worker.workers):
            worker.stop()
    # No client from this test may report in the next one.
    sentry_sdk.get_client().close(timeout=0)
    sentry_sdk.get_global_scope().set_client(None)


def finished(ids: set[str]) -> Callable[[Lines], bool]:
    return lambda lines: {ln["message_id"] for ln in lines if ln["event"] in FINAL} >= ids


def by_message(events: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for event in events:
        out.setdefault(event["tags"]["message_id"], []).append(event)
    return out


def test_sentry_comes_before_retries_so_its_after_hook_sees_the_final_decision(
        broker: RedisBroker) -> None:
    kinds = [type(m) for m in broker.middleware]
    retries = next(i for i, m in enumerate(broker.middleware) if isinstance(m, Retries))
    assert kinds.index(Doclog) < kinds.index(Sentry) < retries


def test_one_event_per_final_failure_none_for_retried_or_successful_messages(
        broker: RedisBroker, start_worker: Callable[[RedisBroker], dramatiq.Worker],
        ingest: SentryIngest, logs: Path) -> None:
    dead = send(broker, CANARY, {"fail_attempts": 5}).message_id
    retried = send(broker, CANARY, {"fail_attempts": 1}).message_id
    ok = send(broker, CANARY, {"token": "ok"}).message_id
    rejected = send(broker, CANARY, {"token": "not a token"}).message_id
    worker = start_worker(broker)
    lines = wait_lines(logs, canary.DOCLOG_STREAM, finished({dead, retried, ok, rejected}))
    worker.stop()  # flushes

    # Four failed attempts (each logged at ERROR by Dramatiq), one event.
    assert [ln["event"] for ln in lines if ln["message_id"] == dead].count("failed") == \
        canary.MAX_RETRIES
    events = by_message(ingest.events())
    assert set(events) == {dead, rejected}
    (death,) = events[dead]
    assert death["tags"] == {"group": "worker1", "queue": QUEUE, "actor": CANARY,
                             "message_id": dead, "kind": "dead"}
    assert death["fingerprint"] == ["atr", CANARY, "actors.canary.CanaryFailure"]
    assert death["level"] == "error" and death["environment"] == "staging"
    (exc,) = death["exception"]["values"]
    assert exc["type"] == "CanaryFailure"
    assert exc["value"] == "attempt 4 fails on request (fail_attempts=5)"
    assert exc["stacktrace"]["frames"][-1]["function"] == "_answer"
    assert death["contexts"]["message"]["attempt"] == canary.MAX_RETRIES + 1
    (rejection,) = events[rejected]
    assert rejection["tags"]["kind"] == "rejected" and rejection["level"] == "warning"
    assert rejection["fingerprint"] == ["atr", CANARY, "pipeline.errors.PayloadError"]
    assert rejection["exception"]["values"][-1]["value"].startswith("token must be")


def test_skipped_and_deferred_messages_send_no_event(
        broker: RedisBroker, start_worker: Callable[[RedisBroker], dramatiq.Worker],
        ingest: SentryIngest, logs: Path) -> None:
    class DeferOnce(Middleware):
        """Re-enqueue a message once with a short delay, like a rate limiter would."""

        def before_process_message(self, broker: dramatiq.Broker,
                                   message: MessageProxy) -> None:
            if message.kwargs.get("token") == "defer" and not message.options.get("deferred"):
                broker.enqueue(message.copy(options={**message.options, "deferred": True}),
                               delay=50)
                raise SkipMessage("deferred")

    broker.add_middleware(DeferOnce())
    # max_age=1 ms: expired by the time the worker starts, so AgeLimit fails the
    # message and skips it -- a dead-lettered skip, which by design sends nothing.
    expired = send(broker, CANARY, {"token": "late"}, options={"max_age": 1}).message_id
    deferred = send(broker, CANARY, {"token": "defer"}).message_id
    worker = start_worker(broker)
    lines = wait_lines(logs, canary.DOCLOG_STREAM,
                       lambda lines: finished({expired})(lines) and any(
                           ln["event"] == "succeeded" and ln["message_id"] == deferred
                           for ln in lines))
    worker.stop()

    started, skip = [ln for ln in lines if ln["message_id"] == expired]
    assert (started["event"], skip["event"], skip["dead_letter"]) == (
        "started", "skipped", True)
    assert [ln["event"] for ln in lines if ln["message_id"] == deferred] == [
        "started", "skipped", "started", "succeeded"]
    assert ingest.events() == []


def test_no_secret_reaches_sentry(
        broker: RedisBroker, start_worker: Callable[[RedisBroker], dramatiq.Worker],
        ingest: SentryIngest, logs: Path) -> None:
    leak_log = logging.getLogger("tests.leaky")

    @atr_actor(queue=QUEUE, name="leaky", broker=broker, max_retries=0)
    def leaky(post_id: int, note: str, api_key: str) -> None:
        leak_log.warning("Calling the bridge as %s with key %s", BRIDGE_TOKEN, OPENAI_KEY)
        raise RuntimeError(f"bridge said 401 for {BRIDGE_TOKEN!r}; "
                           f"Authorization: Bearer {OPENAI_KEY}")

    message = leaky.send(post_id=42, note=f"uses {OPENAI_KEY}", api_key=OPENAI_KEY)
    worker = start_worker(broker)
    wait_lines(logs, "leaky", finished({message.message_id}))
    worker.stop()

    (event,) = ingest.events()
    assert event["tags"]["post_id"] == "42"
    assert "[REDACTED]" in event["exception"]["values"][-1]["value"]
    assert event["contexts"]["message"]["kwargs"] == {
        "post_id": 42, "note": "uses [REDACTED]", "api_key": "[REDACTED]"}
    crumbs = [c.get("message") or "" for c in event["breadcrumbs"]["values"]]
    assert any("Calling the bridge as [REDACTED]" in c for c in crumbs), crumbs
    assert "request" not in event and "user" not in event
    assert all("vars" not in frame
               for frame in event["exception"]["values"][-1]["stacktrace"]["frames"])
    raw = b"".join(env.raw for env in ingest.envelopes)
    for secret in SECRETS:
        assert secret.encode() not in raw, secret


def test_without_a_dsn_sentry_is_never_initialised(
        make_broker: Callable[[dict[str, str]], RedisBroker], environ: dict[str, str],
        start_worker: Callable[[RedisBroker], dramatiq.Worker], ingest: SentryIngest,
        logs: Path) -> None:
    broker = make_broker({k: v for k, v in environ.items() if k != "SENTRY_DSN"})
    assert not sentry_sdk.get_client().is_active()
    dead = send(broker, CANARY, {"fail_attempts": 5}).message_id
    worker = start_worker(broker)
    wait_lines(logs, canary.DOCLOG_STREAM, finished({dead}))
    worker.stop()
    assert not sentry_sdk.get_client().is_active()  # sentry_sdk.init never ran
    assert ingest.envelopes == []


def test_a_failing_report_does_not_change_the_jobs_outcome(
        broker: RedisBroker, start_worker: Callable[[RedisBroker], dramatiq.Worker],
        ingest: SentryIngest, logs: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    def broken(*args: Any, **kwargs: Any) -> None:
        raise ConnectionError("injected: Sentry SDK failure")

    monkeypatch.setattr(sentry_sdk, "capture_exception", broken)
    dead = send(broker, CANARY, {"fail_attempts": 5}).message_id
    worker = start_worker(broker)
    lines = wait_lines(logs, canary.DOCLOG_STREAM, finished({dead}))
    after = send(broker, CANARY, {"token": "after"}).message_id
    lines = wait_lines(logs, canary.DOCLOG_STREAM, finished({after}))
    worker.stop()
    assert [ln["event"] for ln in lines if ln["message_id"] == dead][-1] == "dead"
    assert [ln["event"] for ln in lines if ln["message_id"] == after] == [
        "started", "succeeded"]
    assert f"Could not report message {dead!r} to Sentry" in caplog.text
    assert ingest.events() == []
