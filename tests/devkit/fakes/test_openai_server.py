"""The OpenAI fake answers the real ``openai`` SDK like the API; its shared logic holds.

The first tests cover :mod:`devkit.fakes.llm_ledger` (tokens, answers, ledger),
which both fakes use; the rest drive :class:`OpenAIFake` with the SDK exactly
as the project calls it.
"""

from __future__ import annotations

import json
import math
import random
import re
import time
import unicodedata
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import openai
import pytest
import requests
from openai import OpenAI
from openai.types.chat import ChatCompletion

from devkit.fakes.llm_ledger import (
    RateLedger,
    answer_text,
    clip_to_tokens,
    count_tokens,
    go_duration,
)
from devkit.fakes.openai_server import API_KEY, OpenAIFake, mask_key
from pipeline.llm.errors import InvalidAnswer
from pipeline.llm.request import ANSWER_SCHEMA, SeoRequest, build_messages, parse_answer
from pipeline.llm.tokens import estimate_request, estimate_tokens

MODEL = "gpt-4.1-mini"
POST = SeoRequest("서울 맛집 추천: 을지로 노포 탐방기",
                  "<p>을지로에서 오래된 식당을 찾아 다녔습니다. 냉면과 불고기가 유명합니다.</p>",
                  ("맛집",))
SAMPLES = [
    POST,
    SeoRequest("초보자를 위한 파이썬 비동기 프로그래밍 완벽 가이드와 실전 예제 모음, "
               "그리고 자주 하는 실수 정리까지 한 번에 살펴보기",
               "asyncio로 동시성을 다루는 법을 설명합니다. " * 40),
    SeoRequest("iPhone 16 Pro review", "Battery life and camera, tested for two weeks."),
    SeoRequest("가", "나 다 라"),
    SeoRequest(unicodedata.normalize("NFD", "제주도  여행\t코스   추천"), "제주도에서 사흘 동안 "
               "돌아본 코스입니다. 제주도의 바다와 오름을 소개합니다."),
    SeoRequest("가나다라마바사아자차카타파하가나다라마바사아자차카타파하가나다라마바사아자차카타",
               "", ("기존", "태그")),
    SeoRequest("2025년 연말정산 환급금 조회 방법", "<h2>환급금</h2><p>홈택스에서 조회합니다 &amp; "
               "신고합니다.</p>" * 100),
]


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """The SDKs would route 127.0.0.1 through an HTTP(S)_PROXY of the environment."""
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")


@pytest.fixture
def fake() -> Iterator[OpenAIFake]:
    with OpenAIFake() as server:
        yield server


def client_for(fake: OpenAIFake, *, key: str = API_KEY, timeout: float = 5.0) -> OpenAI:
    return OpenAI(api_key=key, base_url=fake.base_url, max_retries=0, timeout=timeout)


def seo_call(client: OpenAI, post: SeoRequest = POST, **overrides: Any) -> ChatCompletion:
    """The project's call: system + user messages, strict JSON schema, 600 output tokens."""
    system, user = build_messages(post)
    arguments: dict[str, Any] = {
        "model": MODEL,
        "messages": [{"role": "system", "content": system}, {"role": "user", "content": user}],
        "response_format": {"type": "json_schema", "json_schema": {
            "name": "seo_answer", "strict": True, "schema": dict(ANSWER_SCHEMA)}},
        "max_completion_tokens": 600,
    }
    arguments.update(overrides)
    completion: ChatCompletion = client.chat.completions.create(**arguments)
    return completion


def charge_of(post: SeoRequest) -> int:
    """Tokens the fake charges for the project's call about ``post``."""
    with OpenAIFake() as probe:
        usage = seo_call(client_for(probe), post).usage
    assert usage is not None
    return usage.total_tokens


def seconds(duration: str) -> float:
    """An OpenAI header duration (``1.5s``, ``6m0s``, ``120ms``) in seconds."""
    units = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}
    parts = re.findall(r"([\d.]+)(ms|h|m|s)", duration)
    assert "".join(n + u for n, u in parts) == duration, duration
    return sum(float(n) * units[u] for n, u in parts)


# -- the shared logic (devkit/fakes/llm_ledger.py) ------------------------------

def test_the_fake_count_never_exceeds_the_project_estimate() -> None:
    alphabet = "가나다한글힣abcXYZ019 .,!?\n\t-é€ㅋ漢"
    rng = random.Random(7)
    for _ in range(500):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 80)))
        assert count_tokens(text) <= estimate_tokens(text), text
    # 안녕|하세|요 GPT|-|4|.|1 mini 202|5|년
    assert count_tokens("안녕하세요 GPT-4.1 mini 2025년") == 12


def test_clip_to_tokens_keeps_the_longest_prefix_that_fits() -> None:
    assert clip_to_tokens("안녕하세요 world", 2) == "안녕하세"
    assert clip_to_tokens("안녕", 5) == "안녕"
    assert clip_to_tokens("abc", 0) == ""


@pytest.mark.parametrize(("wait", "text"), [
    (0.0, "0s"), (0.12, "120ms"), (0.0001, "1ms"), (1.0, "1s"), (1.5, "1.5s"),
    (17.1421, "17.143s"), (360.0, "6m0s"), (90.5, "1m30.5s"), (3723.0, "1h2m3s"),
])
def test_go_duration_rounds_up_to_the_millisecond(wait: float, text: str) -> None:
    assert go_duration(wait) == text


@pytest.mark.parametrize("post", SAMPLES)
def test_the_generated_answer_passes_parse_answer(post: SeoRequest) -> None:
    _, user = build_messages(post)
    answer = parse_answer(answer_text(user), provider="fake")
    assert 3 <= len(answer.tags) <= 6
    assert answer.focus_keyword == answer.tags[0]
    assert answer.focus_keyword in answer.meta_description
    assert answer_text(user) == answer_text(user)  # deterministic


def test_tags_come_from_the_title_then_the_body_without_particles() -> None:
    _, user = build_messages(SeoRequest("서울의 맛집", "을지로에서 냉면을 먹었습니다."))
    answer = parse_answer(answer_text(user), provider="fake")
    assert answer.tags == ("서울", "맛집", "을지로", "냉면", "먹었습니다")
    assert answer.seo_title == "서울의 맛집"


def test_the_ledger_names_the_exact_wait() -> None:
    ledger = RateLedger(rpm=2, tpm=100, window_s=10)
    assert ledger.admit(30, at=100.0).refusal is None
    assert ledger.admit(50, at=101.0).refusal is None
    by_requests = ledger.admit(10, at=102.0).refusal
    assert by_requests is not None
    assert (by_requests.limit, by_requests.wait_s, by_requests.used) == ("requests", 8.0, 2)
    # At 110.5 the first call has left the window: 50 used, so 60 tokens do not fit
    # until the second call leaves it at 111.
    by_tokens = ledger.admit(60, at=110.5).refusal
    assert by_tokens is not None
    assert (by_tokens.limit, by_tokens.used, by_tokens.wait_s) == ("tokens", 50, 0.5)
    assert ledger.admit(60, at=111.0).refusal is None
    assert ledger.admitted == [(100.0, 30), (101.0, 50), (111.0, 60)]
    assert ledger.charged_tokens == 140


# -- the OpenAI fake, through the SDK -----------------------------------------

def test_the_sdk_gets_a_structured_answer_with_usage(fake: OpenAIFake) -> None:
    assert openai.__version__.startswith("3.")
    completion = seo_call(client_for(fake))
    choice = completion.choices[0]
    assert (completion.object, completion.model, choice.finish_reason) == (
        "chat.completion", MODEL, "stop")
    assert (choice.message.role, choice.message.refusal) == ("assistant", None)
    answer = parse_answer(choice.message.content, provider="openai")
    assert answer.seo_title == POST.title

    system, user = build_messages(POST)
    schema = json.dumps(dict(ANSWER_SCHEMA), ensure_ascii=False)
    usage = completion.usage
    assert usage is not None
    assert usage.prompt_tokens == (3 + count_tokens(system) + 3 + count_tokens(user) + 3
                                   + count_tokens(schema))
    assert usage.completion_tokens == count_tokens(choice.message.content or "")
    assert usage.total_tokens <= estimate_request([system, user, schema], 600)

    (request,) = fake.requests
    assert request.path == "/v1/chat/completions"
    assert request.headers["authorization"] == f"Bearer {API_KEY}"
    assert request.body["max_completion_tokens"] == 600
    assert request.body["response_format"]["json_schema"]["strict"] is True
    assert (fake.ok, fake.rate_limited, fake.charged_tokens) == (1, 0, usage.total_tokens)


@pytest.mark.parametrize("post", SAMPLES)
def test_every_sample_is_charged_within_the_project_reservation(
        fake: OpenAIFake, post: SeoRequest) -> None:
    usage = seo_call(client_for(fake), post).usage
    assert usage is not None
    system, user = build_messages(post)
    schema = json.dumps(dict(ANSWER_SCHEMA), ensure_ascii=False)
    assert usage.total_tokens <= estimate_request([system, user, schema], 600)


def test_the_third_call_over_an_rpm_of_two_is_refused_until_the_window_frees() -> None:
    with OpenAIFake(rpm=2, window_s=1.5) as fake:
        client = client_for(fake)
        seo_call(client)
        raw = client.chat.completions.with_raw_response.create(
            model=MODEL, messages=[{"role": "user", "content": "제목: 둘째"}])
        assert raw.headers["x-ratelimit-limit-requests"] == "2"
        assert raw.headers["x-ratelimit-remaining-requests"] == "0"
        with pytest.raises(openai.RateLimitError) as refused:
            seo_call(client)
        error = refused.value
        assert (error.status_code, error.code, error.type) == (429, "rate_limit_exceeded",
                                                                "requests")
        assert isinstance(error.body, dict)
        assert error.body["param"] is None
        assert error.body["message"].startswith(
            f"Rate limit reached for {MODEL} in organization org-fake on requests per min "
            "(RPM): Limit 2, Used 2, Requested 1. Please try again in ")
        headers = error.response.headers
        wait_ms = int(headers["retry-after-ms"])
        assert 0 < wait_ms <= 1500
        assert headers["retry-after"] == str(math.ceil(wait_ms / 1000))
        assert seconds(headers["x-ratelimit-reset-requests"]) == wait_ms / 1000
        assert f"try again in {headers['x-ratelimit-reset-requests']}." in error.body["message"]
        assert (fake.ok, fake.rate_limited, len(fake.admitted)) == (2, 1, 2)

        time.sleep(wait_ms / 1000)
        seo_call(client)
        assert (fake.ok, fake.rate_limited, len(fake.admitted)) == (3, 1, 3)


def test_a_tpm_refusal_names_the_wait_only_in_the_ratelimit_headers_when_told() -> None:
    charge = charge_of(POST)
    tpm = 2 * charge + charge // 2
    with OpenAIFake(tpm=tpm, window_s=1.5, send_retry_after=False) as fake:
        client = client_for(fake)
        seo_call(client)
        seo_call(client)
        with pytest.raises(openai.RateLimitError) as refused:
            seo_call(client)
        error = refused.value
        assert (error.code, error.type) == ("rate_limit_exceeded", "tokens")
        assert isinstance(error.body, dict)
        assert (f"on tokens per min (TPM): Limit {tpm}, Used {2 * charge}, Requested {charge}."
                in error.body["message"])
        headers = error.response.headers
        assert "retry-after" not in headers and "retry-after-ms" not in headers
        assert headers["x-ratelimit-limit-tokens"] == str(tpm)
        assert headers["x-ratelimit-remaining-tokens"] == str(tpm - 2 * charge)
        wait = seconds(headers["x-ratelimit-reset-tokens"])
        assert 0 < wait <= 1.5
        assert fake.charged_tokens == 2 * charge

        time.sleep(wait)
        seo_call(client)
        assert (fake.ok, fake.rate_limited, fake.charged_tokens) == (3, 1, 3 * charge)


def test_a_call_larger_than_the_whole_tpm_is_too_large() -> None:
    with OpenAIFake(tpm=50) as fake:
        with pytest.raises(openai.RateLimitError) as refused:
            seo_call(client_for(fake))
        assert "Request too large for gpt-4.1-mini" in refused.value.message
        assert "retry-after" not in refused.value.response.headers
        assert fake.charged_tokens == 0


def test_concurrent_calls_are_admitted_atomically() -> None:
    with OpenAIFake(rpm=3, latency_s=0.2) as fake:
        client = client_for(fake)

        def attempt(_: int) -> str:
            try:
                seo_call(client)
            except openai.RateLimitError:
                return "429"
            return "200"

        with ThreadPoolExecutor(max_workers=8) as pool:
            outcomes = sorted(pool.map(attempt, range(8)))
        assert outcomes == ["200"] * 3 + ["429"] * 5
        assert (fake.ok, fake.rate_limited, len(fake.admitted)) == (3, 5, 3)


def test_an_answer_past_the_output_cap_is_cut_with_finish_reason_length(
        fake: OpenAIFake) -> None:
    completion = seo_call(client_for(fake), max_completion_tokens=20)
    assert completion.choices[0].finish_reason == "length"
    assert completion.usage is not None and completion.usage.completion_tokens == 20
    with pytest.raises(InvalidAnswer, match="not JSON"):
        parse_answer(completion.choices[0].message.content, provider="openai")
    legacy = seo_call(client_for(fake), max_completion_tokens=openai.omit, max_tokens=10)
    assert legacy.choices[0].finish_reason == "length"


def test_a_server_error_then_a_normal_answer(fake: OpenAIFake) -> None:
    fake.inject("500")
    client = client_for(fake)
    with pytest.raises(openai.InternalServerError) as failed:
        seo_call(client)
    assert failed.value.status_code == 500
    assert failed.value.body == {
        "message": "The server had an error while processing your request. Sorry about that!",
        "type": "server_error", "param": None, "code": None}
    seo_call(client)
    assert fake.faults_served == ["500"]
    assert (fake.ok, len(fake.requests), len(fake.admitted)) == (1, 2, 1)


def test_a_timeout_holds_the_request_past_the_client_timeout(fake: OpenAIFake) -> None:
    fake.hang_s = 2.0
    fake.inject("timeout")
    with pytest.raises(openai.APITimeoutError):
        seo_call(client_for(fake, timeout=0.3))
    seo_call(client_for(fake))
    assert fake.faults_served == ["timeout"]
    assert fake.charged_tokens == fake.admitted[0][1]


@pytest.mark.parametrize(("fault", "problem"), [
    ("invalid_json", "not JSON"),
    ("schema_violation", "breaks the schema: missing meta_description"),
])
def test_a_bad_answer_is_a_charged_200(fake: OpenAIFake, fault: str, problem: str) -> None:
    fake.inject(fault, times=2)  # type: ignore[arg-type]
    client = client_for(fake)
    for _ in range(2):
        completion = seo_call(client)
        assert completion.choices[0].finish_reason == "stop"
        with pytest.raises(InvalidAnswer, match=problem):
            parse_answer(completion.choices[0].message.content, provider="openai")
    parse_answer(seo_call(client).choices[0].message.content, provider="openai")
    assert (fake.ok, len(fake.admitted), fake.faults_served) == (3, 3, [fault, fault])


def test_insufficient_quota_by_fault_and_by_switch(fake: OpenAIFake) -> None:
    client = client_for(fake)
    fake.inject("insufficient_quota")
    with pytest.raises(openai.RateLimitError) as spent:
        seo_call(client)
    assert (spent.value.code, spent.value.type) == ("insufficient_quota", "insufficient_quota")
    assert spent.value.message.endswith(
        "You exceeded your current quota, please check your plan and billing details. For "
        "more information on this error, read the docs: "
        "https://platform.openai.com/docs/guides/error-codes/api-errors.")
    assert "retry-after" not in spent.value.response.headers
    seo_call(client)

    fake.quota_exhausted = True
    for _ in range(2):
        with pytest.raises(openai.RateLimitError, match="exceeded your current quota"):
            seo_call(client)
    assert (fake.ok, fake.quota_errors, fake.rate_limited, len(fake.admitted)) == (1, 3, 0, 1)

    fake.reset()
    seo_call(client)
    assert (fake.ok, fake.quota_errors, len(fake.requests)) == (1, 0, 1)


def test_a_wrong_key_is_401_with_the_key_masked(fake: OpenAIFake) -> None:
    with pytest.raises(openai.AuthenticationError) as refused:
        seo_call(client_for(fake, key="sk-test00001234"))
    assert refused.value.code == "invalid_api_key"
    assert refused.value.type == "invalid_request_error"
    assert ("Incorrect API key provided: sk-te******1234. You can find your API key at "
            "https://platform.openai.com/account/api-keys.") in refused.value.message
    assert mask_key("sk-proj-abcdefgh1234") == "sk-proj-********1234"
    missing = requests.post(f"{fake.base_url}/chat/completions", json={}, timeout=5)
    assert missing.status_code == 401
    assert "You didn't provide an API key" in missing.json()["error"]["message"]
    assert fake.ok == 0 and fake.admitted == []


def test_an_unknown_model_is_404_model_not_found(fake: OpenAIFake) -> None:
    with pytest.raises(openai.NotFoundError) as missing:
        seo_call(client_for(fake), model="gpt-9")
    assert missing.value.code == "model_not_found"
    assert "The model `gpt-9` does not exist" in missing.value.message


def test_a_body_that_is_not_json_is_400(fake: OpenAIFake) -> None:
    answer = requests.post(f"{fake.base_url}/chat/completions", data=b"{not json",
                           headers={"Authorization": f"Bearer {API_KEY}"}, timeout=5)
    assert answer.status_code == 400
    assert answer.json()["error"]["type"] == "invalid_request_error"
    assert "could not parse the JSON body" in answer.json()["error"]["message"]
    (request,) = fake.requests
    assert request.body is None


def test_a_strict_schema_without_additional_properties_false_is_400(fake: OpenAIFake) -> None:
    loose = {k: v for k, v in ANSWER_SCHEMA.items() if k != "additionalProperties"}
    with pytest.raises(openai.BadRequestError, match="'additionalProperties' is required"):
        seo_call(client_for(fake), response_format={"type": "json_schema", "json_schema": {
            "name": "seo_answer", "strict": True, "schema": loose}})
