"""The real worker2 under the dramatiq CLI leaves doclog lines for what it ran."""

from __future__ import annotations

import os
import time
from pathlib import Path

import redis

from actors.canary import DOCLOG_STREAM, canary_name
from brokers.boot import producer_broker
from brokers.producer import send
from ops.supervise import GroupProcess
from pipeline import names
from pipeline.settings import Settings
from tests.helpers import read_stream, wait_replies


def test_worker2_writes_started_succeeded_and_rejected_lines(
        worker_env: dict[str, str], redis_url: str, redis_client: redis.Redis,
        tmp_path: Path) -> None:
    env = {**worker_env, "ATR_WORKER2_PROCESSES": "2", "ATR_WORKER2_THREADS": "2"}
    root = Path(env["ATR_DOCLOG_ROOT"])
    queue = names.QUEUE_MISC
    stream = DOCLOG_STREAM
    broker = producer_broker(Settings.from_env({"REDIS_URL": redis_url}))
    good = send(broker, canary_name(queue), {"token": "doclog-e2e"})
    bad = send(broker, canary_name(queue), {"token": "bad token!"})
    broker.close()

    with GroupProcess("worker2", env, tmp_path / "w2.log", cwd=tmp_path) as worker:
        assert wait_replies(redis_client, ["doclog-e2e"]), worker.log_text()
        deadline = time.monotonic() + 30
        while len(read_stream(root, stream)) < 4 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert worker.stop() == 0, worker.log_text()

    lines = read_stream(root, stream)
    by_message = {m.message_id: [line["event"] for line in lines
                                 if line["message_id"] == m.message_id] for m in (good, bad)}
    assert by_message == {good.message_id: ["started", "succeeded"],
                          bad.message_id: ["started", "rejected"]}
    for line in lines:
        assert (line["group"], line["queue"], line["attempt"]) == ("worker2", queue, 1)
        assert line["pid"] != os.getpid() and line["pid"] != worker.pid  # a worker process
    (rejected,) = [line for line in lines if line["event"] == "rejected"]
    assert rejected["error"].startswith("PayloadError: token must be")
