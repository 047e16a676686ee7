"""doclog_rotate as worker2 runs it: rotates the doclog root and reports in its own stream."""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import dramatiq
import pytest
from dramatiq.brokers.redis import RedisBroker

from brokers.boot import producer_broker
from brokers.producer import send
from pipeline.settings import Settings
from tests.helpers import ends_with, wait_lines


@pytest.fixture
def logs(tmp_path: Path) -> Path:
    return tmp_path / "logs"


@pytest.fixture
def broker(redis_url: str, logs: Path) -> Iterator[RedisBroker]:
    """Every actor declared, an in-process worker on the doclog queue."""
    broker = producer_broker(Settings.from_env({
        "REDIS_URL": redis_url, "ATR_DOCLOG_ROOT": str(logs), "ATR_DOCLOG_ROTATE_DAYS": "7",
        "ATR_TZ": "Asia/Seoul"}))
    worker = dramatiq.Worker(broker, queues={"doclog"}, worker_threads=1, worker_timeout=100)
    worker.start()
    yield broker
    worker.stop()
    broker.close()


def test_rotation_compresses_expires_and_reports(broker: RedisBroker, logs: Path) -> None:
    stream = logs / "seo_automation"
    stream.mkdir(parents=True)
    (stream / "2020-01-01.ndjson").write_text('{"old": true}\n', encoding="utf-8")
    (stream / "2021-06-01.ndjson").write_text('{"x": 1}\n', encoding="utf-8")
    send(broker, "doclog_rotate", {})
    lines = wait_lines(logs, "doclog_rotate", ends_with("succeeded"))
    (report,) = [line for line in lines if line["event"] == "doclog.rotated"]
    assert sorted(report["deleted"]) == ["seo_automation/2020-01-01.ndjson",
                                         "seo_automation/2021-06-01.ndjson"]
    assert report["keep_days"] == 7
    assert report["dry_run"] is False
    assert sorted(p.name for p in stream.iterdir()) == []


def test_yesterday_is_compressed_and_today_kept(broker: RedisBroker, logs: Path) -> None:
    today = datetime.now(ZoneInfo("Asia/Seoul")).date()
    stream = logs / "canary"
    stream.mkdir(parents=True)
    yesterday = stream / f"{today - timedelta(days=1)}.ndjson"
    yesterday.write_text('{"event": "started"}\n', encoding="utf-8")
    (stream / f"{today}.ndjson").write_text('{"event": "started"}\n', encoding="utf-8")
    send(broker, "doclog_rotate", {"dry_run": False})
    lines = wait_lines(logs, "doclog_rotate", ends_with("succeeded"))
    (report,) = [line for line in lines if line["event"] == "doclog.rotated"]
    assert report["compressed"] == [f"canary/{yesterday.name}"]
    gz = yesterday.with_name(yesterday.name + ".gz")
    assert gzip.decompress(gz.read_bytes()) == b'{"event": "started"}\n'
    assert sorted(p.name for p in stream.iterdir()) == [gz.name, f"{today}.ndjson"]


def test_bad_payload_is_rejected_with_the_reason(broker: RedisBroker, logs: Path) -> None:
    send(broker, "doclog_rotate", {"dry_run": "yes"})
    lines = wait_lines(logs, "doclog_rotate", ends_with("rejected"))
    assert lines[-1]["error"] == "PayloadError: dry_run must be true or false, got 'yes'"


def test_a_failing_rotation_is_retried_then_dead_lettered_with_its_lines(
        broker: RedisBroker, logs: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Fault injection: the disk under the doclog fails on the first attempt of
    # one message and on every attempt of another.
    import actors.doclog

    failures = {"flaky": 1, "broken": 99}

    def failing_rotate(root: Path, today: object, keep_days: int, *, dry_run: bool = False,
                       now: float | None = None, ga4_keep_days: int | None = None) -> object:
        key = "flaky" if dry_run else "broken"
        if failures[key] > 0:
            failures[key] -= 1
            raise OSError(5, "Input/output error", str(root))
        return real_rotate(root, today, keep_days, dry_run=dry_run)  # type: ignore[arg-type]

    real_rotate = actors.doclog.rotate
    monkeypatch.setattr(actors.doclog, "rotate", failing_rotate)
    for actor in broker.actors.values():
        if actor.actor_name == "doclog_rotate":
            actor.options.update(min_backoff=10, max_backoff=50)
    flaky = send(broker, "doclog_rotate", {"dry_run": True}).message_id
    broken = send(broker, "doclog_rotate", {}).message_id

    def finished(lines: list[dict[str, object]]) -> bool:
        ends = {(ln["message_id"], ln["event"]) for ln in lines}
        return (flaky, "succeeded") in ends and (broken, "dead") in ends

    lines = wait_lines(logs, "doclog_rotate", finished, timeout=60)
    steps = {mid: [(ln["event"], ln["attempt"]) for ln in lines if ln["message_id"] == mid
                   and ln["event"] != "doclog.rotated"] for mid in (flaky, broken)}
    assert steps[flaky] == [("started", 1), ("failed", 1), ("started", 2), ("succeeded", 2)]
    assert steps[broken] == [step for n in (1, 2, 3) for step in (("started", n), ("failed", n))
                             ] + [("started", 4), ("dead", 4)]
    (dead,) = [ln for ln in lines if ln["message_id"] == broken and ln["event"] == "dead"]
    assert str(dead["error"]).startswith("OSError: [Errno 5] Input/output error")
