"""``atr health`` reports moved-aside messages and queues no group consumes."""

from __future__ import annotations

import json
import time
from pathlib import Path

import redis

from pipeline import keys, quarantine
from tests.envelope_corpus import good_body
from tests.helpers import run_atr


def test_health_warns_about_moved_aside_and_unconsumed_queues(
        worker_env: dict[str, str], redis_client: redis.Redis, tmp_path: Path) -> None:
    rid, body = good_body("default", "lost")
    redis_client.hset(keys.dramatiq_messages("default"), rid, body)
    redis_client.rpush(keys.dramatiq_queue("default"), rid)
    record = quarantine.Record(id="r1", queue="misc", reason="not_json", detail="x",
                               moved_at=time.time(), group="worker2", host="h", pid=1, size=3,
                               truncated=False)
    quarantine.move(redis_client, record, b"bad", "b1")

    result = run_atr("health", "--json", env=worker_env, cwd=tmp_path)
    report = json.loads(result.stdout)
    checks = {(c["check"], c["subject"]): c for c in report["checks"]}
    assert checks[("unconsumed", "default")]["status"] == "WARN"
    assert "no worker group consumes" in checks[("unconsumed", "default")]["reason"]
    assert checks[("moved_aside", "moved_aside")]["status"] == "WARN"
    assert report["moved_aside"] == 1 and report["unconsumed"] == {"default": 1}
    text = run_atr("health", env=worker_env, cwd=tmp_path).stdout
    assert "unconsumed queue default: 1 waiting" in text and "atr quarantine list" in text
