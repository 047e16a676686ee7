"""The provider chain against the local OpenAI and Gemini fakes and the session's Redis."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from devkit.fakes import gemini_server, openai_server
from devkit.fakes.gemini_server import GeminiFake
from devkit.fakes.llm_ledger import Fault
from devkit.fakes.openai_server import OpenAIFake
from pipeline import doclog, keys
from pipeline.doclog import DoclogWriter, MessageScope
from pipeline.llm.chain import LlmChain
from pipeline.llm.config import build_chain
from pipeline.llm.errors import BudgetDeferred, LlmUnavailable
from pipeline.llm.request import SeoRequest, parse_answer
from pipeline.redact import Redactor
from pipeline.settings import Settings

POST = SeoRequest(
    "서울 강남 파스타 맛집 다섯 곳, 주차와 예약 정보까지",
    "<p>강남역 근처에서 파스타 맛집을 찾는다면 이 글을 참고하세요. 직접 다녀온 다섯 곳의 "
    "대표 메뉴와 가격, 주차 가능 여부, 예약 방법을 정리했습니다.</p><p>첫 번째 가게는 생면 "
    "파스타로 유명하고, 두 번째 가게는 트러플 크림 파스타가 인기입니다.</p>")


@pytest.fixture
def openai_fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[OpenAIFake]:
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    with OpenAIFake(hang_s=3) as fake:
        yield fake


@pytest.fixture
def gemini_fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[GeminiFake]:
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    with GeminiFake(hang_s=3) as fake:
        yield fake


def _settings(redis_url: str, openai: OpenAIFake, gemini: GeminiFake,
              **extra: str) -> Settings:
    return Settings.from_env({
        "REDIS_URL": redis_url, "ATR_LLM_PROVIDER": "openai", "ATR_LLM_FALLBACK": "gemini",
        "OPENAI_API_KEY": openai_server.API_KEY, "OPENAI_BASE_URL": openai.base_url,
        "GEMINI_API_KEY": gemini_server.API_KEY, "ATR_GEMINI_BASE_URL": gemini.base_url,
        "ATR_LLM_TIMEOUT_S": "1", **extra})


@pytest.fixture
def chain(redis_url: str, redis_client: redis.Redis, openai_fake: OpenAIFake,
          gemini_fake: GeminiFake) -> LlmChain:
    return build_chain(_settings(redis_url, openai_fake, gemini_fake), redis_client)


@pytest.fixture
def lines(tmp_path: Path) -> Iterator[list[dict[str, Any]]]:
    """Doclog lines written while the test runs, as if inside one message."""
    writer = DoclogWriter(tmp_path / "logs", Settings.from_env(
        {"REDIS_URL": "redis://127.0.0.1:1/0"}).zone, Redactor(()))
    scope = MessageScope(writer, "seo_suggest", {"message_id": "m1", "actor": "seo_suggest",
                                                 "queue": "seo", "group": "worker1",
                                                 "attempt": 1})
    doclog.bind_message(scope)
    collected: list[dict[str, Any]] = []
    yield collected
    doclog.bind_message(None)
    writer.close()


def _read(tmp_path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for path in sorted((tmp_path / "logs").rglob("*.ndjson"))
            for line in path.read_text(encoding="utf-8").splitlines()]


def _events(tmp_path: Path, prefix: str = "llm.") -> list[tuple[str, ...]]:
    return [(r["event"], r.get("provider", ""), r.get("kind", ""), r.get("next", ""))
            for r in _read(tmp_path) if r["event"].startswith(prefix)]


def test_openai_answers_with_a_checked_structured_answer(
        chain: LlmChain, openai_fake: OpenAIFake, lines: list[Any], tmp_path: Path) -> None:
    suggestion = chain.suggest(POST)
    assert suggestion.provider == "openai" and not suggestion.fallback
    answer = suggestion.completion.answer
    assert parse_answer(json.dumps(answer.to_json(), ensure_ascii=False), provider="t") == answer
    (request,) = openai_fake.requests
    assert request.body["response_format"]["json_schema"]["strict"] is True
    assert request.headers.get("x-stainless-retry-count") == "0"
    (line,) = _read(tmp_path)
    assert line["event"] == "llm.answered" and line["provider"] == "openai"
    assert line["tokens"] == suggestion.completion.usage.total  # type: ignore[union-attr]
    # The limiter was corrected from the reported usage, not left at the estimate.
    snap = chain.limiter.snapshot(chain.budget(chain.providers[0]))
    assert snap.requests == 1 and snap.tokens == openai_fake.charged_tokens


def test_gemini_answers_through_google_genai(
        redis_url: str, redis_client: redis.Redis, openai_fake: OpenAIFake,
        gemini_fake: GeminiFake) -> None:
    chain = build_chain(_settings(redis_url, openai_fake, gemini_fake), redis_client,
                        ("gemini",))
    suggestion = chain.suggest(POST)
    assert suggestion.provider == "gemini"
    assert 3 <= len(suggestion.completion.answer.tags) <= 8
    (request,) = gemini_fake.requests
    assert request.version == "v1beta"
    assert "responseJsonSchema" in request.body["generationConfig"]


@pytest.mark.parametrize("fault", ["timeout", "500", "invalid_json", "schema_violation"])
def test_transient_faults_are_retried_then_the_fallback_answers(
        fault: Fault, chain: LlmChain, openai_fake: OpenAIFake, gemini_fake: GeminiFake,
        lines: list[Any], tmp_path: Path) -> None:
    openai_fake.inject(fault, times=2)  # ATR_LLM_ATTEMPTS=2: both calls fail
    suggestion = chain.suggest(POST)
    assert suggestion.provider == "gemini" and suggestion.fallback
    assert len(openai_fake.requests) == 2 and len(gemini_fake.requests) == 1
    kind = {"timeout": "timeout", "500": "failed"}.get(fault, "invalid")
    assert _events(tmp_path) == [("llm.call_failed", "openai", kind, "retry"),
                                 ("llm.call_failed", "openai", kind, "fallback"),
                                 ("llm.answered", "gemini", "", "")]


def test_one_transient_fault_is_retried_on_the_same_provider(
        chain: LlmChain, openai_fake: OpenAIFake, gemini_fake: GeminiFake) -> None:
    openai_fake.inject("500")
    assert chain.suggest(POST).provider == "openai"
    assert len(openai_fake.requests) == 2 and not gemini_fake.requests


def test_insufficient_quota_goes_straight_to_the_fallback_for_the_day(
        chain: LlmChain, openai_fake: OpenAIFake, gemini_fake: GeminiFake,
        redis_client: redis.Redis, lines: list[Any], tmp_path: Path) -> None:
    openai_fake.quota_exhausted = True
    assert chain.suggest(POST).provider == "gemini"
    assert len(openai_fake.requests) == 1  # not retried
    mark = redis_client.get(keys.llm_exhausted("openai"))
    assert mark is not None and "insufficient_quota" in str(mark)
    assert 0 < int(redis_client.ttl(keys.llm_exhausted("openai"))) <= 86_401
    # The next message does not call openai at all.
    assert chain.suggest(POST).provider == "gemini"
    assert len(openai_fake.requests) == 1
    events = _events(tmp_path)
    assert events[:2] == [("llm.exhausted", "openai", "", ""),
                          ("llm.call_failed", "openai", "quota", "fallback")]


def test_gemini_daily_quota_marks_it_exhausted(
        redis_url: str, redis_client: redis.Redis, openai_fake: OpenAIFake,
        gemini_fake: GeminiFake) -> None:
    chain = build_chain(_settings(redis_url, openai_fake, gemini_fake), redis_client,
                        ("gemini", "openai"))
    gemini_fake.inject("insufficient_quota")
    assert chain.suggest(POST).provider == "openai"
    assert "PerDay" in str(redis_client.get(keys.llm_exhausted("gemini")))


def test_a_429_becomes_a_cooldown_that_every_worker_honours(
        redis_url: str, redis_client: redis.Redis, openai_fake: OpenAIFake,
        gemini_fake: GeminiFake, lines: list[Any], tmp_path: Path) -> None:
    # Our limit (500 RPM) is set above the fake's (1 per window): the fake refuses.
    with OpenAIFake(rpm=1, window_s=30) as strict:
        settings = _settings(redis_url, strict, gemini_fake)
        first = build_chain(settings, redis_client)
        assert first.suggest(POST).provider == "openai"
        with pytest.raises(BudgetDeferred) as deferred:
            first.suggest(POST)
        assert 28_000 < deferred.value.delay_ms <= 30_000
        assert strict.rate_limited == 1
        # Another worker (its own chain and connection) waits without calling.
        other_client = redis.Redis.from_url(redis_url)
        other = build_chain(settings, other_client)
        with pytest.raises(BudgetDeferred, match="no cooldown budget"):
            other.suggest(POST)
        other_client.close()
        assert len(strict.requests) == 2 and not gemini_fake.requests
    (limited,) = [r for r in _read(tmp_path) if r["event"] == "llm.rate_limited"]
    assert limited["provider"] == "openai" and limited["wait_ms"] == deferred.value.delay_ms


def test_a_429_without_retry_after_uses_the_ratelimit_reset_headers(
        redis_url: str, redis_client: redis.Redis, gemini_fake: GeminiFake) -> None:
    with OpenAIFake(rpm=1, window_s=20, send_retry_after=False) as strict:
        chain = build_chain(_settings(redis_url, strict, gemini_fake), redis_client)
        chain.suggest(POST)
        with pytest.raises(BudgetDeferred) as deferred:
            chain.suggest(POST)
    assert 18_000 < deferred.value.delay_ms <= 20_000


def test_our_own_limit_defers_before_the_provider_refuses(
        redis_url: str, redis_client: redis.Redis, gemini_fake: GeminiFake) -> None:
    with OpenAIFake(rpm=2, window_s=30) as fake:
        settings = _settings(redis_url, fake, gemini_fake, ATR_OPENAI_RPM="2",
                             ATR_LLM_WINDOW_S="30")
        chain = build_chain(settings, redis_client)
        chain.suggest(POST)
        chain.suggest(POST)
        with pytest.raises(BudgetDeferred, match="no rpm budget"):
            chain.suggest(POST)
        assert fake.rate_limited == 0 and len(fake.requests) == 2


def test_a_bad_key_falls_back_and_the_error_never_shows_the_key(
        redis_url: str, redis_client: redis.Redis, openai_fake: OpenAIFake,
        gemini_fake: GeminiFake, lines: list[Any], tmp_path: Path) -> None:
    wrong = "sk-wrong-key-abcdefghijklmnop9999"
    settings = _settings(redis_url, openai_fake, gemini_fake, OPENAI_API_KEY=wrong)
    chain = build_chain(settings, redis_client)
    assert chain.suggest(POST).provider == "gemini"
    assert len(openai_fake.requests) == 1
    (failed,) = [r for r in _read(tmp_path) if r["event"] == "llm.call_failed"]
    assert failed["kind"] == "rejected" and "OPENAI_API_KEY" in failed["error"]
    text = b"".join(p.read_bytes() for p in (tmp_path / "logs").rglob("*.ndjson"))
    assert b"9999" not in text and b"sk-wr" not in text


def test_every_provider_failing_raises_with_each_reason(
        chain: LlmChain, openai_fake: OpenAIFake, gemini_fake: GeminiFake) -> None:
    openai_fake.inject("500", times=2)
    gemini_fake.inject("500", times=2)
    with pytest.raises(LlmUnavailable) as failed:
        chain.suggest(POST)
    assert "openai: openai server error 500" in str(failed.value)
    assert "gemini: gemini server error 500" in str(failed.value)


def test_failed_calls_are_remembered_across_deferrals_of_the_same_job(
        redis_url: str, redis_client: redis.Redis, gemini_fake: GeminiFake,
        lines: list[Any], tmp_path: Path) -> None:
    # The fake allows 2 calls per window and fails both: the job is deferred
    # between its two openai calls, and on its next delivery goes on to call 2
    # (not call 1 again), then falls back. Without the key it would loop.
    with OpenAIFake(rpm=1, window_s=30) as fake:
        settings = _settings(redis_url, fake, gemini_fake, ATR_OPENAI_RPM="1",
                             ATR_LLM_WINDOW_S="30")
        chain = build_chain(settings, redis_client)
        fake.inject("500", times=2)
        with pytest.raises(BudgetDeferred):
            chain.suggest(POST, key="job-1")  # call 1 fails; call 2 has no budget
        redis_client.delete("atr:llm:openai:gpt-4.1-mini:log", "atr:llm:openai:gpt-4.1-mini:tok",
                            "atr:llm:openai:gpt-4.1-mini:sum", "atr:llm:openai:gpt-4.1-mini:line")
        fake.ledger.reset()
        suggestion = chain.suggest(POST, key="job-1")  # call 2 fails -> gemini
        assert suggestion.provider == "gemini"
        assert len(fake.requests) == 2
        assert not redis_client.exists("atr:llm:calls:job-1")
    calls = [(r["provider"], r["call"], r["next"]) for r in _read(tmp_path)
             if r["event"] == "llm.call_failed"]
    assert calls == [("openai", 1, "retry"), ("openai", 2, "fallback")]


def test_a_provider_that_refused_the_job_is_not_asked_again_after_a_deferral(
        redis_url: str, redis_client: redis.Redis, openai_fake: OpenAIFake) -> None:
    wrong = "sk-wrong-key-abcdefghijklmnop9999"
    with GeminiFake(rpm=1, window_s=30) as gemini:
        settings = _settings(redis_url, openai_fake, gemini, OPENAI_API_KEY=wrong,
                             ATR_GEMINI_RPM="1", ATR_LLM_WINDOW_S="30")
        chain = build_chain(settings, redis_client)
        chain.suggest(POST, key="job-0")  # openai 401, gemini answers
        with pytest.raises(BudgetDeferred):
            chain.suggest(POST, key="job-2")  # openai 401, gemini out of budget
        assert len(openai_fake.requests) == 2
        with pytest.raises(BudgetDeferred):
            chain.suggest(POST, key="job-2")  # openai is skipped now
        assert len(openai_fake.requests) == 2


def test_a_gemini_429_retry_delay_becomes_the_cooldown(
        redis_url: str, redis_client: redis.Redis, openai_fake: OpenAIFake,
        lines: list[Any], tmp_path: Path) -> None:
    # Our Gemini RPM (10) is above the fake's (1 per 20 s window): the fake refuses.
    with GeminiFake(rpm=1, window_s=20) as strict:
        chain = build_chain(_settings(redis_url, openai_fake, strict), redis_client,
                            ("gemini", "openai"))
        assert chain.suggest(POST).provider == "gemini"
        with pytest.raises(BudgetDeferred) as deferred:
            chain.suggest(POST)
        assert strict.rate_limited == 1 and not openai_fake.requests
    # RetryInfo.retryDelay is whole seconds, rounded up: 19 or 20 s here.
    assert 18_000 <= deferred.value.delay_ms <= 20_000
    (limited,) = [r for r in _read(tmp_path) if r["event"] == "llm.rate_limited"]
    assert limited["provider"] == "gemini" and "PerMinute" in limited["error"]
    snap = chain.limiter.snapshot(chain.budget(chain.providers[0]))
    assert 17_000 <= snap.cooldown_ms <= 20_000
