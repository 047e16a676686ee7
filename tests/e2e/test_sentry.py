"""worker1 under the real dramatiq CLI reports to a local Sentry ingest: once per final failure.

The group runs with an OpenAI key and a bridge token in its environment; a
rejected canary whose token holds both puts them in the exception message, the
doclog payload and the breadcrumbs, so the raw envelopes prove the scrubbing.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from actors.canary import DOCLOG_STREAM, canary_name
from brokers.boot import producer_broker
from brokers.producer import send
from devkit.fakes.sentry_server import SentryIngest
from devkit.supervise import GroupProcess
from pipeline.settings import Settings
from tests.helpers import Lines, wait_lines

OPENAI_KEY = "sk-test-SECRET123"
BRIDGE_TOKEN = "bot:abcd efgh ijkl"
SECRETS = (OPENAI_KEY, BRIDGE_TOKEN, "abcd efgh ijkl", "abcdefghijkl")
QUEUE = "high"
ACTOR = canary_name(QUEUE)
FINAL = {"succeeded", "dead", "rejected", "skipped"}


def finished(ids: set[str]) -> Callable[[Lines], bool]:
    return lambda lines: {ln["message_id"] for ln in lines if ln["event"] in FINAL} >= ids


def test_worker1_sends_one_scrubbed_event_per_final_failure(
        worker_env: dict[str, str], redis_url: str, tmp_path: Path) -> None:
    root = Path(worker_env["ATR_DOCLOG_ROOT"])
    broker = producer_broker(Settings.from_env({"REDIS_URL": redis_url}))
    sent = {
        "dead": send(broker, ACTOR, {"fail_attempts": 5}).message_id,
        "retried": send(broker, ACTOR, {"fail_attempts": 1}).message_id,
        "ok": send(broker, ACTOR, {"token": "ok"}).message_id,
        # Not a valid token (spaces): a PayloadError that quotes it, secrets and all.
        "rejected": send(broker, ACTOR, {"token": f"{OPENAI_KEY} {BRIDGE_TOKEN}"}).message_id,
        # Expired before the worker starts: AgeLimit fails and skips it, so it is
        # dead-lettered, but a skip is a policy decision, not an error: no event
        # (the doclog's skipped line and the dead-letter count show it).
        "expired": send(broker, ACTOR, {"token": "late"}, options={"max_age": 1}).message_id,
    }
    broker.close()

    with SentryIngest() as ingest:
        env = {**worker_env, "SENTRY_DSN": ingest.dsn, "ATR_ENV": "staging",
               "ATR_LLM_PROVIDER": "openai", "OPENAI_API_KEY": OPENAI_KEY,
               "BRIDGE_BASE": "http://127.0.0.1:9/wp-json", "BRIDGE_TOKEN": BRIDGE_TOKEN,
               "ATR_WORKER1_PROCESSES": "1", "ATR_WORKER1_THREADS": "2",
               "ATR_METRICS_WORKER1_PORT": "0"}
        with GroupProcess("worker1", env, tmp_path / "worker1.log", cwd=tmp_path) as worker:
            lines = wait_lines(root, DOCLOG_STREAM, finished(set(sent.values())), timeout=60)
            # Events are counted only after the stop: the worker flushes on shutdown.
            assert worker.stop() == 0, worker.log_text()
        events = ingest.events()
        raw = b"".join(envelope.raw for envelope in ingest.envelopes)

    outcome = {name: [ln["event"] for ln in lines if ln["message_id"] == mid][-1]
               for name, mid in sent.items()}
    assert outcome == {"dead": "dead", "retried": "succeeded", "ok": "succeeded",
                       "rejected": "rejected", "expired": "skipped"}
    by_id = {event["tags"]["message_id"]: event for event in events}
    assert len(events) == len(by_id) == 2, events
    assert set(by_id) == {sent["dead"], sent["rejected"]}
    for name in ("dead", "rejected"):
        event = by_id[sent[name]]
        assert {k: event["tags"][k] for k in ("group", "queue", "actor", "kind")} == {
            "group": "worker1", "queue": QUEUE, "actor": ACTOR, "kind": name}
        assert event["environment"] == "staging"
    assert by_id[sent["dead"]]["exception"]["values"][-1]["type"] == "CanaryFailure"
    rejection = by_id[sent["rejected"]]["exception"]["values"][-1]
    assert rejection["type"] == "PayloadError" and "[REDACTED]" in rejection["value"]
    for secret in SECRETS:
        assert secret.encode() not in raw, secret
