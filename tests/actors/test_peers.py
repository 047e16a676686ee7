"""WordPress down or misconfigured, seen from the jobs: wait out outages, pause on bad config.

seo_apply runs on an in-process worker against the WordPress stand-in with a
stored proposal (no LLM needed). Faults are injected in the stand-in (5xx)
or in the settings (a wrong password, a wrong BRIDGE_BASE). What a user
sees: the doclog lines, the dead letters (none), the pause flag and what
``atr health`` and ``atr pause`` say, the post in WordPress.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dramatiq
import pytest
import redis
from dramatiq.brokers.redis import RedisBroker

from brokers.boot import producer_broker
from brokers.producer import send
from devkit.wordpress import WordPressStandIn
from ops.health import run as health_run
from pipeline.groups import GROUPS, get_group
from pipeline.pause import PauseStore
from pipeline.seo.store import Proposal, SeoFields, SeoStore, content_hash
from pipeline.settings import Settings
from pipeline.wordpress.seo_meta import SEO_META_KEYS
from tests.helpers import Lines, dead_letters, run_atr, wait_lines

FAST = {"min_backoff": 50, "max_backoff": 100}
YOAST = SEO_META_KEYS["yoast"]


@pytest.fixture
def run_worker() -> Iterator[Any]:
    started: list[tuple[dramatiq.Worker, RedisBroker]] = []

    def start(env: dict[str, str]) -> RedisBroker:
        broker = producer_broker(Settings.from_env(env))
        worker = dramatiq.Worker(broker, queues=set(get_group("worker1").queue_names),
                                 worker_threads=2, worker_timeout=100)
        worker.start()
        started.append((worker, broker))
        return broker

    yield start
    for worker, broker in started:
        worker.stop()
        broker.close()


def env_for(redis_url: str, tmp_path: Path, base: str, token: str, **extra: str) -> dict[str, str]:
    return {"REDIS_URL": redis_url, "ATR_DOCLOG_ROOT": str(tmp_path / "logs"),
            "BRIDGE_BASE": base, "BRIDGE_TOKEN": token, "ATR_LLM_PROVIDER": "offline",
            "ATR_LLM_FALLBACK": "", **extra}


def propose(client: redis.Redis, wordpress: WordPressStandIn, post_id: int) -> Proposal:
    post = wordpress.post(post_id)
    proposal = Proposal(post_id, post.title, SeoFields(),
                        SeoFields((), "성수동 카페", "성수동 카페 일곱 곳을 정리했습니다",
                                  "성수동 카페 투어"),
                        "offline", "offline-1", f"m-{post_id}", "2026-12-06T20:00:00+00:00",
                        content_hash=content_hash(post.content))
    SeoStore(client).put_proposal(proposal, 1.0)
    return proposal


def lines_of(root: Path, message_id: str) -> Lines:
    return [ln for ln in wait_lines(root, "seo_apply", lambda _: True)
            if ln["message_id"] == message_id]


def wait_for(root: Path, message_id: str, event: str, count: int = 1) -> Lines:
    wait_lines(root, "seo_apply", lambda got: sum(
        1 for ln in got if ln["message_id"] == message_id and ln["event"] == event) >= count,
        timeout=60)
    return lines_of(root, message_id)


def test_an_outage_longer_than_the_retries_is_waited_out_without_a_dead_letter(
        run_worker: Any, redis_url: str, tmp_path: Path, wordpress: WordPressStandIn,
        redis_client: redis.Redis) -> None:
    post_id = wordpress.post_ids[0]
    propose(redis_client, wordpress, post_id)
    # More failed answers than Dramatiq's 5 retries would have survived.
    wordpress.fail_next("GET", "posts.item", status=503, times=9)
    broker = run_worker(env_for(redis_url, tmp_path, wordpress.base_url, wordpress.token))
    message = send(broker, "seo_apply", {"post_id": post_id}, options=FAST)
    lines = wait_for(tmp_path / "logs", message.message_id, "succeeded")
    events = [ln["event"] for ln in lines]
    assert events.count("deferred") == 9 and "failed" not in events, events
    assert {ln["attempt"] for ln in lines} == {1}  # no retry used
    deferred = [ln for ln in lines if ln["event"] == "deferred"]
    assert deferred[0]["reason"].startswith(
        f"WordPress could not answer GET /wp/v2/posts/{post_id} now (503 ")
    assert "of the 21600 s budget, ATR_WP_OUTAGE_BUDGET_S" in deferred[0]["reason"]
    assert dead_letters(redis_client, "seo") == []
    assert wordpress.post(post_id).meta[YOAST["seo_title"]] == "성수동 카페 투어"
    assert len(wordpress.requests_to("POST", "posts.item")) == 1


def test_past_the_outage_budget_the_retries_run_out_and_the_dead_line_promises_nothing(
        run_worker: Any, redis_url: str, tmp_path: Path, wordpress: WordPressStandIn,
        redis_client: redis.Redis) -> None:
    post_id = wordpress.post_ids[1]
    propose(redis_client, wordpress, post_id)
    wordpress.fail_next("GET", "posts.item", status=500, times=20)
    broker = run_worker(env_for(redis_url, tmp_path, wordpress.base_url, wordpress.token,
                                ATR_WP_OUTAGE_BUDGET_S="0"))
    message = send(broker, "seo_apply", {"post_id": post_id}, options=FAST)
    lines = wait_for(tmp_path / "logs", message.message_id, "dead")
    assert [ln["event"] for ln in lines].count("failed") == 5
    assert "retried" not in lines[-1]["error"]
    assert len(dead_letters(redis_client, "seo")) == 1


def test_a_revoked_password_pauses_the_wordpress_jobs_instead_of_dead_letters(
        run_worker: Any, redis_url: str, tmp_path: Path, wordpress: WordPressStandIn,
        redis_client: redis.Redis, worker_env: dict[str, str]) -> None:
    first, second = wordpress.post_ids[2:4]
    for post_id in (first, second):
        propose(redis_client, wordpress, post_id)
    broker = run_worker(env_for(redis_url, tmp_path, wordpress.base_url,
                                "atr-bot:revoked pass word here"))
    one = send(broker, "seo_apply", {"post_id": first}, options=FAST)
    lines = wait_for(tmp_path / "logs", one.message_id, "deferred")
    assert "WordPress refused the credentials for GET /wp/v2/posts/" in lines[-1]["reason"]
    pause = PauseStore(redis_client).get("wordpress")
    assert pause is not None and pause.actor == "seo_apply" and "401" in pause.reason
    # A second job type's message waits before it asks WordPress anything.
    seen = len(wordpress.requests)
    two = send(broker, "seo_apply", {"post_id": second}, options=FAST)
    lines = wait_for(tmp_path / "logs", two.message_id, "deferred", count=3)
    assert "wordpress jobs are paused since" in lines[-1]["reason"]
    assert [r.path for r in wordpress.requests[seen:]
            if r.path.endswith(f"/{second}")] == []
    assert dead_letters(redis_client, "seo") == []

    _, report = health_run(Settings.from_env(worker_env), list(GROUPS.values()))
    (check,) = [c for c in report.checks if c.kind == "pause"]
    assert (check.subject, check.status.name) == ("wordpress", "CRIT")
    assert "atr pause clear wordpress" in (check.reason or "")
    listed = run_atr("pause", env=worker_env, cwd=tmp_path)
    assert listed.returncode == 1 and "wordpress" in listed.stdout
    assert "401 rest_not_logged_in" in listed.stdout
    cleared = run_atr("pause", "clear", "wordpress", env=worker_env, cwd=tmp_path)
    assert cleared.returncode == 0 and "pause cleared" in cleared.stdout


def test_a_probe_that_succeeds_clears_the_pause_and_the_message_runs(
        run_worker: Any, redis_url: str, tmp_path: Path, wordpress: WordPressStandIn,
        redis_client: redis.Redis) -> None:
    post_id = wordpress.post_ids[4]
    propose(redis_client, wordpress, post_id)
    wordpress.fail_next("GET", "posts.item", status=401)  # e.g. a password briefly revoked
    broker = run_worker(env_for(redis_url, tmp_path, wordpress.base_url, wordpress.token))
    message = send(broker, "seo_apply", {"post_id": post_id}, options=FAST)
    lines = wait_for(tmp_path / "logs", message.message_id, "succeeded")
    assert [ln["event"] for ln in lines] == ["started", "deferred", "started", "seo.applied",
                                             "succeeded"]
    assert PauseStore(redis_client).get("wordpress") is None
    probes = [r for r in wordpress.requests_to("GET", "posts.collection")
              if r.query.get("context") == "edit"]
    assert len(probes) == 1 and probes[0].status == 200


def test_a_wrong_bridge_base_pauses_too(
        run_worker: Any, redis_url: str, tmp_path: Path, wordpress: WordPressStandIn,
        redis_client: redis.Redis) -> None:
    post_id = wordpress.post_ids[5]
    propose(redis_client, wordpress, post_id)
    broker = run_worker(env_for(redis_url, tmp_path, wordpress.site_url, wordpress.token))
    message = send(broker, "seo_apply", {"post_id": post_id}, options=FAST)
    lines = wait_for(tmp_path / "logs", message.message_id, "deferred")
    assert "is the REST root of the site (…/wp-json)" in lines[-1]["reason"]
    assert PauseStore(redis_client).get("wordpress") is not None
    assert dead_letters(redis_client, "seo") == []


def test_the_outage_clock_travels_with_the_message(
        run_worker: Any, redis_url: str, tmp_path: Path, wordpress: WordPressStandIn,
        redis_client: redis.Redis) -> None:
    post_id = wordpress.post_ids[6]
    propose(redis_client, wordpress, post_id)
    wordpress.fail_next("GET", "posts.item", status=502, times=3)
    broker = run_worker(env_for(redis_url, tmp_path, wordpress.base_url, wordpress.token))
    # Waits of 1 s, 2 s, 4 s: long enough to find the message parked in the delay queue.
    message = send(broker, "seo_apply", {"post_id": post_id},
                   options={"min_backoff": 1000, "max_backoff": 60_000})

    def parked(deferrals: int) -> dict[str, Any]:
        wait_for(tmp_path / "logs", message.message_id, "deferred", count=deferrals)
        found = [json.loads(raw) for raw in redis_client.hvals("dramatiq:seo.DQ.msgs")]
        (mine,) = [m for m in found if m["message_id"] == message.message_id]
        return dict(mine["options"])

    second, third = parked(2), parked(3)
    assert (second["outages"], third["outages"]) == (2, 3)
    # The first outage's time stays: the budget counts from it, not from each wait.
    assert second["outage_since_ms"] == third["outage_since_ms"]
    assert third.get("retries", 0) == 0
    assert wait_for(tmp_path / "logs", message.message_id, "succeeded")[-1]["attempt"] == 1


def test_wordpress_refusing_connections_is_an_outage_not_a_failure(
        run_worker: Any, redis_url: str, tmp_path: Path, wordpress: WordPressStandIn,
        redis_client: redis.Redis) -> None:
    post_id = wordpress.post_ids[7]
    propose(redis_client, wordpress, post_id)
    # Nothing listens on port 9 of loopback: every connection is refused.
    broker = run_worker(env_for(redis_url, tmp_path, "http://127.0.0.1:9/wp-json",
                                wordpress.token))
    message = send(broker, "seo_apply", {"post_id": post_id}, options=FAST)
    lines = wait_for(tmp_path / "logs", message.message_id, "deferred", count=4)
    events = [ln["event"] for ln in lines]
    assert "failed" not in events and "dead" not in events
    assert lines[-1]["reason"].startswith(
        f"could not reach WordPress for GET /wp/v2/posts/{post_id} at http://127.0.0.1:9/wp-json")
    assert PauseStore(redis_client).get("wordpress") is None  # an outage pauses nothing
    assert dead_letters(redis_client, "seo") == []
