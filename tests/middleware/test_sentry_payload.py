"""A payload PayloadGuard refuses is one Sentry rejection event, like any permanent error."""

from __future__ import annotations

from pathlib import Path

import dramatiq
import redis
import sentry_sdk

from actors import canary
from brokers.broker import build_broker
from devkit.fakes.sentry_server import SentryIngest
from pipeline.groups import get_group
from pipeline.settings import Settings
from tests.helpers import wait_lines
from tests.raw_producer import raw_send, worker_log_filter


def test_a_refused_payload_is_one_warning_event_with_the_payload_as_sent(
        redis_url: str, redis_client: redis.Redis, tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    with SentryIngest() as ingest, worker_log_filter():
        broker = build_broker(Settings.from_env({
            "REDIS_URL": redis_url, "ATR_DOCLOG_ROOT": str(logs), "SENTRY_DSN": ingest.dsn}),
            get_group("worker1"))
        canary.declare(broker, ["high"], "worker1")
        worker = dramatiq.Worker(broker, queues={"high"}, worker_threads=1, worker_timeout=100)
        worker.start()
        try:
            refused = raw_send(redis_client, "high", "ping_high", ["not", "an", "object"])
            typed = raw_send(redis_client, "high", "ping_high", {"sleep_ms": "5"})
            wait_lines(logs, canary.DOCLOG_STREAM, lambda ls: {
                ln["message_id"] for ln in ls if ln["event"] == "rejected"} >= {refused, typed})
        finally:
            worker.stop()  # flushes
            broker.close()
            sentry_sdk.get_client().close(timeout=0)
            sentry_sdk.get_global_scope().set_client(None)
        events = {e["tags"]["message_id"]: e for e in ingest.events()}
    assert set(events) == {refused, typed}
    for event in events.values():
        assert event["tags"]["kind"] == "rejected" and event["level"] == "warning"
        assert event["fingerprint"] == ["atr", "ping_high", "pipeline.errors.PayloadError"]
    assert events[refused]["contexts"]["message"]["kwargs"] == ["not", "an", "object"]
    assert events[typed]["exception"]["values"][-1]["value"] == \
        "sleep_ms must be an integer, got '5'"


