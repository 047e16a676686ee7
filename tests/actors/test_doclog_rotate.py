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
