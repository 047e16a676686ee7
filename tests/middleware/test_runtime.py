"""The runtime actors read: the broker's own while a message runs, else the process's."""

from __future__ import annotations

import json
from pathlib import Path

import dramatiq
import pytest
import redis

from brokers.broker import build_broker
from middleware import runtime
from pipeline import keys
from pipeline.errors import ConfigError
from pipeline.settings import Settings
from tests.helpers import wait_replies


def _settings(redis_url: str, root: Path) -> Settings:
    return Settings.from_env({"REDIS_URL": redis_url, "ATR_DOCLOG_ROOT": str(root)})


def test_each_broker_hands_its_own_runtime_to_its_messages(
        redis_url: str, redis_client: redis.Redis, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    process = build_broker(_settings(redis_url, tmp_path / "process"))
    other = build_broker(_settings(redis_url, tmp_path / "other"))
    monkeypatch.setattr(runtime, "_process", runtime.of_broker(process))
    assert runtime.current().settings.doclog_root == tmp_path / "process"

    @dramatiq.actor(broker=other, queue_name="misc", actor_name="runtime_probe")
    def runtime_probe() -> None:
        seen = runtime.current()
        seen.redis.rpush(keys.ping_reply("runtime"), json.dumps(
            {"token": "runtime", "root": str(seen.settings.doclog_root)}))

    worker = dramatiq.Worker(other, queues={"misc"}, worker_threads=1, worker_timeout=100)
    worker.start()
    try:
        runtime_probe.send()
        replies = wait_replies(redis_client, ["runtime"])
        assert replies["runtime"]["root"] == str(tmp_path / "other")
    finally:
        worker.stop()
        other.close()
        process.close()
    # Outside a message the process's runtime answers again.
    assert runtime.current().settings.doclog_root == tmp_path / "process"


def test_an_unbooted_process_says_how_to_boot(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runtime, "_process", None)
    with pytest.raises(ConfigError, match=r"not booted through brokers\.boot"):
        runtime.current()
