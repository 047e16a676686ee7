"""Both groups under the real dramatiq CLI leave the right doclog lines, in order.

For every actor: a success, a failure retried then succeeding, a message that
finally fails, and a rejected payload. Canaries cover each queue of each group
(``fail_attempts`` makes them fail on request); doclog_rotate is worker2's job.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from actors.canary import DOCLOG_STREAM, MAX_RETRIES, canary_name
from brokers.boot import producer_broker
from brokers.producer import send
from devkit.supervise import GroupProcess
from pipeline.groups import GROUPS
from pipeline.settings import Settings
from tests.helpers import Lines, read_stream

FINAL = {"succeeded", "dead", "rejected"}


def finished(ids: set[str]) -> Callable[[Lines], bool]:
    return lambda lines: {ln["message_id"] for ln in lines if ln["event"] in FINAL} >= ids


def wait_for(root: Path, stream: str, done: Callable[[Lines], bool], worker: GroupProcess,
             timeout: float = 60) -> Lines:
    deadline = time.monotonic() + timeout
    while not done(lines := read_stream(root, stream)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert done(lines), worker.log_text()
    return lines


def steps(lines: Lines, message_id: str) -> list[tuple[str, int]]:
    return [(ln["event"], ln["attempt"]) for ln in lines if ln["message_id"] == message_id]


@pytest.mark.parametrize("group", list(GROUPS))
def test_every_queue_of_the_group_logs_success_retry_death_and_rejection(
        group: str, worker_env: dict[str, str], redis_url: str, tmp_path: Path) -> None:
    env = {**worker_env, f"ATR_{group.upper()}_PROCESSES": "2",
           f"ATR_{group.upper()}_THREADS": "2"}
    root = Path(env["ATR_DOCLOG_ROOT"])
    broker = producer_broker(Settings.from_env({"REDIS_URL": redis_url}))
    sent = {}
    for queue in GROUPS[group].queue_names:
        actor = canary_name(queue)
        sent[queue] = {
            "ok": send(broker, actor, {"token": f"{queue}-ok"}).message_id,
            "retried": send(broker, actor, {"fail_attempts": 1}).message_id,
            "dead": send(broker, actor, {"fail_attempts": 5}).message_id,
            "rejected": send(broker, actor, {"token": "not a token"}).message_id,
        }
    broker.close()
    ids = {mid for per_queue in sent.values() for mid in per_queue.values()}

    with GroupProcess(group, env, tmp_path / f"{group}.log", cwd=tmp_path) as worker:
        lines = wait_for(root, DOCLOG_STREAM, finished(ids), worker)
        assert worker.stop() == 0, worker.log_text()

    last = MAX_RETRIES + 1
    for queue, ids_of in sent.items():
        assert steps(lines, ids_of["ok"]) == [("started", 1), ("succeeded", 1)], queue
        assert steps(lines, ids_of["retried"]) == [
            ("started", 1), ("failed", 1), ("started", 2), ("succeeded", 2)], queue
        assert steps(lines, ids_of["dead"]) == [
            step for n in range(1, last) for step in (("started", n), ("failed", n))
        ] + [("started", last), ("dead", last)], queue
        assert steps(lines, ids_of["rejected"]) == [("started", 1), ("rejected", 1)], queue
    for line in lines:
        assert line["group"] == group and line["stream"] == DOCLOG_STREAM
        assert line["pid"] not in (os.getpid(), worker.pid)  # written by a worker process
        assert line["queue"] in GROUPS[group].queue_names
        if line["event"] in FINAL | {"failed"}:
            assert isinstance(line["duration_ms"], (int, float)) and line["duration_ms"] >= 0
        if line["event"] in ("failed", "dead"):
            assert line["error"].startswith("CanaryFailure: attempt")
        if line["event"] == "rejected":
            assert line["error"].startswith("PayloadError: token must be")
            assert line["kwargs"] == {"token": "not a token"}


def test_doclog_rotate_under_the_cli_succeeds_and_rejects(
        worker_env: dict[str, str], redis_url: str, tmp_path: Path) -> None:
    env = {**worker_env, "ATR_WORKER2_PROCESSES": "1", "ATR_WORKER2_THREADS": "2"}
    root = Path(env["ATR_DOCLOG_ROOT"])
    (root / "canary").mkdir(parents=True)
    (root / "canary" / "2020-01-01.ndjson").write_text("{}\n", encoding="utf-8")
    broker = producer_broker(Settings.from_env({"REDIS_URL": redis_url}))
    good = send(broker, "doclog_rotate", {}).message_id
    bad = send(broker, "doclog_rotate", {"dry_run": "no"}).message_id
    broker.close()
    with GroupProcess("worker2", env, tmp_path / "w2.log", cwd=tmp_path) as worker:
        lines = wait_for(root, "doclog_rotate", finished({good, bad}), worker)
        assert worker.stop() == 0, worker.log_text()
    assert [ln["event"] for ln in lines if ln["message_id"] == good] == [
        "started", "doclog.rotated", "succeeded"]
    assert steps(lines, bad) == [("started", 1), ("rejected", 1)]
    (report,) = [ln for ln in lines if ln["event"] == "doclog.rotated"]
    assert report["deleted"] == ["canary/2020-01-01.ndjson"]
    assert not (root / "canary" / "2020-01-01.ndjson").exists()
