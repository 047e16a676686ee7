"""worker1 (real dramatiq CLI, 2 processes x 6 threads) drains SEO calls through the shared limit.

The OpenAI fake enforces R requests and T tokens per (scaled) window. With our
settings equal to its limits, the backlog completes with zero 429s: the
limiter in Redis holds back all 12 threads of both processes, and a message
without budget is deferred (re-enqueued with a delay), never failed. With our
limits set too high, the fake answers 429s; each one's wait becomes a
cooldown that the other workers honour, and everything still completes.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import redis

from brokers.boot import producer_broker
from brokers.producer import send
from devkit.fakes import openai_server
from devkit.fakes.openai_server import OpenAIFake
from devkit.supervise import GroupProcess
from pipeline.settings import Settings
from tests.helpers import Lines, dead_letters, read_stream

POSTS = json.loads((Path(__file__).parents[1] / "data" / "korean_posts.json")
                   .read_text(encoding="utf-8"))
#: The fake's limits per window, and the window (scaled from 60 s).
RPM, TPM, WINDOW_S = 12, 6000, 4
MESSAGES = 30


def _env(worker_env: dict[str, str], fake: OpenAIFake, rpm: int, tpm: int) -> dict[str, str]:
    return {**worker_env, "NO_PROXY": "127.0.0.1,localhost",
            "ATR_LLM_PROVIDER": "openai", "ATR_LLM_FALLBACK": "",
            "OPENAI_API_KEY": openai_server.API_KEY, "OPENAI_BASE_URL": fake.base_url,
            "ATR_OPENAI_RPM": str(rpm), "ATR_OPENAI_TPM": str(tpm),
            "ATR_LLM_WINDOW_S": str(WINDOW_S)}


def _drain(env: dict[str, str], tmp_path: Path) -> tuple[Lines, set[str], str]:
    broker = producer_broker(Settings.from_env(env))
    posts = [p for p in POSTS if len(p["content"]) > 400]
    ids = {send(broker, "seo_suggest", {"title": p["title"], "content": p["content"],
                                        "ref": f"post-{p['id']}"}).message_id
           for p in (posts[i % len(posts)] for i in range(MESSAGES))}
    broker.close()
    root = Path(env["ATR_DOCLOG_ROOT"])
    with GroupProcess("worker1", env, tmp_path / "worker1.log", cwd=tmp_path) as worker:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            lines = read_stream(root, "seo_suggest")
            if {ln["message_id"] for ln in lines if ln["event"] == "succeeded"} >= ids:
                break
            time.sleep(0.5)
        assert worker.stop() == 0, worker.log_text()
        log = worker.log_text()
    return read_stream(root, "seo_suggest"), ids, log


def _by_event(lines: Lines, event: str) -> list[dict[str, Any]]:
    return [ln for ln in lines if ln["event"] == event]


def test_matching_limits_drain_the_backlog_with_zero_429s(
        worker_env: dict[str, str], redis_client: redis.Redis, tmp_path: Path) -> None:
    with OpenAIFake(rpm=RPM, tpm=TPM, window_s=WINDOW_S, latency_s=0.05) as fake:
        env = _env(worker_env, fake, RPM, TPM)
        lines, ids, log = _drain(env, tmp_path)
        assert fake.rate_limited == 0, log
        assert fake.ok == MESSAGES  # one call per message: none repeated, none lost
    succeeded = _by_event(lines, "succeeded")
    assert {ln["message_id"] for ln in succeeded} == ids, log
    assert len(succeeded) == MESSAGES  # exactly once each
    assert all(ln["attempt"] == 1 for ln in succeeded)  # deferrals used no retry
    assert not _by_event(lines, "failed") and not _by_event(lines, "dead")
    assert not dead_letters(redis_client, "seo")
    answered = _by_event(lines, "llm.answered")
    assert len(answered) == MESSAGES and {a["provider"] for a in answered} == {"openai"}
    # The backlog needed several windows: messages waited, deferred with the wait.
    deferred = _by_event(lines, "deferred")
    assert deferred and all(d["delay_ms"] > 0 and "budget" in d["reason"] for d in deferred)
    # Both processes did the work (one shared budget across processes).
    assert len({ln["pid"] for ln in succeeded}) == 2
    _assert_no_secret(tmp_path, log)


def test_limits_set_too_high_meet_429s_whose_cooldown_every_worker_honours(
        worker_env: dict[str, str], redis_client: redis.Redis, tmp_path: Path) -> None:
    with OpenAIFake(rpm=RPM, tpm=TPM, window_s=WINDOW_S, latency_s=0.05) as fake:
        env = _env(worker_env, fake, rpm=1000, tpm=1_000_000)  # the fake allows 12 / 6000
        lines, ids, log = _drain(env, tmp_path)
        assert fake.rate_limited > 0, log
        assert fake.ok == MESSAGES, log
    succeeded = _by_event(lines, "succeeded")
    assert {ln["message_id"] for ln in succeeded} == ids and len(succeeded) == MESSAGES
    assert not _by_event(lines, "dead") and not dead_letters(redis_client, "seo")
    limited = _by_event(lines, "llm.rate_limited")
    assert len(limited) == fake.rate_limited
    # Workers that never got the 429 waited on the cooldown it started.
    cooled = [d for d in _by_event(lines, "deferred") if "cooldown" in d["reason"]
              or "rate limited" in d["reason"]]
    assert len({d["pid"] for d in cooled}) == 2
    assert any("cooldown" in d["reason"] for d in cooled)
    assert "answered 429; every worker waits" in log
    _assert_no_secret(tmp_path, log)


def _assert_no_secret(tmp_path: Path, log: str) -> None:
    """The key is in neither the workers' log nor any doclog line."""
    doclog = b"".join(p.read_bytes() for p in tmp_path.rglob("*.ndjson"))
    assert doclog and openai_server.API_KEY.encode() not in doclog
    assert openai_server.API_KEY not in log and "Bearer" not in log
