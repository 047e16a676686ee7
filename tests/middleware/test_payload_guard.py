"""Payloads that can never succeed are rejected once, before any external call.

A real in-process worker on worker1's queues, the WordPress stand-in, the
offline LLM provider. Messages are written the raw way (docs/messages.md
§5.1) so every shape a producer could send arrives as written. What a
producer or an operator sees: one doclog ``rejected`` line with the reason,
the message in the dead-letter set without a retry, no request to WordPress.
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

from actors.shared import POST_ID_MAX
from brokers.boot import producer_broker
from devkit.wordpress import WordPressStandIn
from pipeline.groups import get_group
from pipeline.settings import Settings
from tests.helpers import Lines, dead_letters, read_stream, wait_lines, wait_replies
from tests.raw_producer import raw_send, worker_log_filter

ROOT = Path(__file__).parents[2]
FONT = Path("/usr/share/fonts/truetype/nanum/NanumGothicBold.ttf")
FINAL = ("succeeded", "rejected", "dead")


@pytest.fixture(autouse=True)
def _log_filter() -> Iterator[None]:
    with worker_log_filter():
        yield


@pytest.fixture
def worker1(redis_url: str, tmp_path: Path,
            wordpress: WordPressStandIn) -> Iterator[RedisBroker]:
    env = {"REDIS_URL": redis_url, "ATR_DOCLOG_ROOT": str(tmp_path / "logs"),
           "BRIDGE_BASE": wordpress.base_url, "BRIDGE_TOKEN": wordpress.token,
           "ATR_BG_PATH": str(ROOT / "ops" / "assets" / "thumb-bg.jpg"),
           "ATR_THUMB_FONT": str(FONT), "ATR_THUMB_OUT_DIR": str(tmp_path / "thumbs")}
    broker = producer_broker(Settings.from_env(env))
    worker = dramatiq.Worker(broker, queues=set(get_group("worker1").queue_names),
                             worker_threads=2, worker_timeout=100)
    worker.start()
    yield broker
    worker.stop()
    broker.close()


def final_line(root: Path, stream: str, message_id: str) -> dict[str, Any]:
    def done(lines: Lines) -> bool:
        return any(ln["message_id"] == message_id and ln["event"] in FINAL for ln in lines)
    lines = wait_lines(root, stream, done, timeout=30)
    (line,) = [ln for ln in lines if ln["message_id"] == message_id and ln["event"] in FINAL]
    return line


def assert_rejected_once(client: redis.Redis, root: Path, queue: str, stream: str,
                         message_id: str) -> dict[str, Any]:
    line = final_line(root, stream, message_id)
    assert line["event"] == "rejected", line
    assert line["attempt"] == 1
    lifecycle = [ln["event"] for ln in read_stream(root, stream)
                 if ln["message_id"] == message_id and "." not in ln["event"]]
    assert lifecycle == ["started", "rejected"]
    stored = [json.loads(client.hget(f"dramatiq:{queue}.XQ.msgs", i) or "{}")
              for i in dead_letters(client, queue)]
    (dead,) = [m for m in stored if m["message_id"] == message_id]
    assert "retries" not in dead["options"]  # Retries never saw it
    assert client.hlen(f"dramatiq:{queue}.DQ.msgs") == 0  # no retry waiting
    return line


BAD = [
    # (actor, queue, kwargs, args, what the error says)
    ("seo_automation", "seo", [101], (), "kwargs must be a JSON object"),
    ("seo_automation", "seo", "post_id=101", (), "kwargs must be a JSON object"),
    ("seo_automation", "seo", None, (), "kwargs must be a JSON object"),
    ("seo_automation", "seo", {"self": 1, "post_id": 101}, (),
     "unexpected keyword argument 'self'"),
    ("seo_automation", "seo", {"post_id": 101, "forse": True}, (),
     "unexpected keyword argument 'forse'"),
    ("seo_automation", "seo", {}, (), "missing a required argument: 'post_id'"),
    ("seo_automation", "seo", {}, (101,), "1 positional argument(s), args must be empty"),
    ("seo_automation", "seo", {"post_id": "101"}, (), "post_id must be an integer, got '101'"),
    ("seo_automation", "seo", {"post_id": True}, (), "post_id must be an integer, got True"),
    ("seo_automation", "seo", {"post_id": 101.0}, (), "post_id must be an integer, got 101.0"),
    ("seo_automation", "seo", {"post_id": 101, "force": 1}, (),
     "force must be true or false, got 1"),
    ("seo_automation", "seo", {"post_id": 0}, (), "post_id must be an integer from 1 to"),
    ("seo_automation", "seo", {"post_id": -5}, (), "post_id must be an integer from 1 to"),
    ("seo_automation", "seo", {"post_id": 2**64}, (), "post_id must be an integer from 1 to"),
    ("fi_pipeline", "images", {"post_id": 2**70}, (), "post_id must be an integer from 1 to"),
    ("thumbnail", "thumbnails", {"post_id": 2**63}, (), "post_id must be an integer from 1 to"),
    ("seo_apply", "seo", {"post_id": 2**64}, (), "post_id must be an integer from 1 to"),
    ("seo_suggest", "seo", {"title": 7, "content": "x"}, (), "title must be a string, got 7"),
    ("seo_suggest", "seo", {"title": "t", "content": "c", "tags": ["a", 2]}, (),
     "tags must be a list of strings or null"),
    ("ping_seo", "seo", {"sleep_ms": "5"}, (), "sleep_ms must be an integer, got '5'"),
]


@pytest.mark.parametrize(("actor", "queue", "kwargs", "args", "says"), BAD)
def test_a_payload_that_can_never_fit_is_rejected_once_without_any_request(
        actor: str, queue: str, kwargs: Any, args: tuple[Any, ...], says: str,
        worker1: RedisBroker, redis_client: redis.Redis, tmp_path: Path,
        wordpress: WordPressStandIn, caplog: pytest.LogCaptureFixture) -> None:
    root = tmp_path / "logs"
    message_id = raw_send(redis_client, queue, actor, kwargs, args=args)
    # A good message fetched beside it still runs.
    raw_send(redis_client, queue, f"ping_{queue}", {"token": f"canary-{queue}"})
    stream = "canary" if actor.startswith("ping_") else actor
    line = assert_rejected_once(redis_client, root, queue, stream, message_id)
    assert line["error"].startswith("PayloadError: ") and says in line["error"], line["error"]
    assert line["kwargs"] == kwargs  # the final line shows what was sent, as sent
    assert wait_replies(redis_client, [f"canary-{queue}"], timeout=10)
    assert wordpress.requests == []
    warnings = [r.getMessage() for r in caplog.records if r.name == "middleware.permanent"]
    assert any(message_id in w and says in w for w in warnings), warnings


def test_the_largest_post_id_is_valid_and_reaches_wordpress(
        worker1: RedisBroker, redis_client: redis.Redis, tmp_path: Path,
        wordpress: WordPressStandIn) -> None:
    message_id = raw_send(redis_client, "thumbnails", "thumbnail", {"post_id": POST_ID_MAX})
    line = final_line(tmp_path / "logs", "thumbnail", message_id)
    # Valid, so WordPress was asked, and it has no such post.
    assert line["event"] == "rejected" and "PayloadError" not in line["error"], line
    assert [r.path for r in wordpress.requests] == [f"/wp/v2/posts/{POST_ID_MAX}"]


def test_seo_suggest_text_too_short_for_every_provider_is_rejected_not_retried(
        worker1: RedisBroker, redis_client: redis.Redis, tmp_path: Path) -> None:
    # The offline provider is the whole chain here: the same text fails the same
    # way on every try, so retrying five times would only delay the verdict.
    message_id = raw_send(redis_client, "seo", "seo_suggest",
                          {"title": "짧은 글", "content": "<p>짧다.</p>"})
    line = assert_rejected_once(redis_client, tmp_path / "logs", "seo", "seo_suggest",
                                message_id)
    assert line["error"].startswith("LlmRefused: no LLM provider can answer this request")
    assert "too short for offline SEO" in line["error"]
    calls = [ln for ln in read_stream(tmp_path / "logs", "seo_suggest")
             if ln["event"] == "llm.call_failed"]
    assert len(calls) == 1  # asked once: asking again cannot change the answer


def test_invalid_seo_suggest_payloads_never_reach_the_llm(
        redis_url: str, redis_client: redis.Redis, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    from devkit.fakes import openai_server
    from devkit.fakes.openai_server import OpenAIFake

    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    root = tmp_path / "logs"
    bad: list[Any] = [[{"title": "t", "content": "c"}], {"title": "강남역 맛집", "content": "x",
                                                           "self": 1},
                      {"title": 7, "content": "x"}, {"title": "t", "content": ["x"]},
                      {"title": "t", "content": "c", "tags": "맛집"},
                      {"title": "t", "content": "c", "ref": 101}, {"content": "only"}]
    with OpenAIFake() as openai:
        broker = producer_broker(Settings.from_env({
            "REDIS_URL": redis_url, "ATR_DOCLOG_ROOT": str(root),
            "ATR_LLM_PROVIDER": "openai", "ATR_LLM_FALLBACK": "",
            "OPENAI_API_KEY": openai_server.API_KEY, "OPENAI_BASE_URL": openai.base_url}))
        worker = dramatiq.Worker(broker, queues={"seo"}, worker_threads=2, worker_timeout=100)
        worker.start()
        try:
            ids = [raw_send(redis_client, "seo", "seo_suggest", kwargs) for kwargs in bad]
            ids += [broker.get_actor("seo_suggest").send_with_options(kwargs=kwargs).message_id
                    for kwargs in bad]
            good = raw_send(redis_client, "seo", "seo_suggest",
                            {"title": "강남역 파스타 맛집 추천",
                             "content": "<p>강남역 근처 파스타 맛집 세 곳을 소개합니다.</p>"})
            lines = [final_line(root, "seo_suggest", i) for i in [*ids, good]]
        finally:
            worker.stop()
            broker.close()
        asked = openai.requests
    assert [ln["event"] for ln in lines[:-1]] == ["rejected"] * len(ids)
    assert all(ln["error"].startswith("PayloadError: ") for ln in lines[:-1])
    assert lines[-1]["event"] == "succeeded"
    assert len(asked) == 1  # the good one only
