"""The Gemini fake answers the real ``google-genai`` SDK like the Gemini API does."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx2
import pytest
import requests
from google import genai
from google.genai import errors, types

from devkit.fakes.gemini_server import API_KEY, GeminiFake
from devkit.fakes.llm_ledger import count_tokens
from pipeline.llm.errors import InvalidAnswer
from pipeline.llm.request import ANSWER_SCHEMA, SeoRequest, build_messages, parse_answer
from pipeline.llm.tokens import estimate_request

MODEL = "gemini-2.5-flash"
POST = SeoRequest("제주도 여행 코스 추천",
                  "<p>제주도에서 사흘 동안 돌아본 코스입니다. 바다와 오름을 소개합니다.</p>")
_RPC = "type.googleapis.com/google.rpc."


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """The SDK would route 127.0.0.1 through an HTTP(S)_PROXY of the environment."""
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")


@pytest.fixture
def fake() -> Iterator[GeminiFake]:
    with GeminiFake() as server:
        yield server


def client_for(fake: GeminiFake, *, key: str = API_KEY, version: str = "v1beta",
               timeout_ms: int = 5000) -> genai.Client:
    return genai.Client(api_key=key, http_options=types.HttpOptions(
        base_url=fake.base_url, api_version=version, timeout=timeout_ms))


def seo_call(client: genai.Client, post: SeoRequest = POST, *, model: str = MODEL,
             **config: Any) -> types.GenerateContentResponse:
    """The project's call: system instruction, user text, JSON schema, 600 output tokens."""
    system, user = build_messages(post)
    settings: dict[str, Any] = {"system_instruction": system,
                                "response_mime_type": "application/json",
                                "response_json_schema": dict(ANSWER_SCHEMA),
                                "max_output_tokens": 600}
    settings.update(config)
    return client.models.generate_content(
        model=model, contents=user, config=types.GenerateContentConfig(**settings))


def charge_of(post: SeoRequest) -> int:
    """Tokens the fake charges for the project's call about ``post``."""
    with GeminiFake() as probe:
        usage = seo_call(client_for(probe), post).usage_metadata
    assert usage is not None and usage.total_token_count is not None
    return usage.total_token_count


def error_details(error: errors.APIError) -> dict[str, dict[str, Any]]:
    """The ``details`` of a Google error body, by short ``@type`` (``RetryInfo``...)."""
    return {d["@type"].removeprefix(_RPC): d for d in error.details["error"]["details"]}


def test_the_sdk_gets_a_structured_answer_with_usage(fake: GeminiFake) -> None:
    response = seo_call(client_for(fake))
    answer = parse_answer(response.text, provider="gemini")
    assert answer.seo_title == POST.title
    assert response.parsed == answer.to_json()  # the SDK parses JSON-schema answers too
    (candidate,) = response.candidates or []
    assert candidate.finish_reason == types.FinishReason.STOP
    assert response.model_version == MODEL

    system, user = build_messages(POST)
    schema = json.dumps(dict(ANSWER_SCHEMA), ensure_ascii=False)
    usage = response.usage_metadata
    assert usage is not None
    assert usage.prompt_token_count == count_tokens(system) + count_tokens(user) + count_tokens(
        schema)
    assert usage.candidates_token_count == count_tokens(response.text or "")
    assert usage.total_token_count is not None
    assert usage.total_token_count <= estimate_request([system, user, schema], 600)

    (request,) = fake.requests
    assert (request.path, request.version) == (f"/v1beta/models/{MODEL}:generateContent",
                                               "v1beta")
    assert request.headers["x-goog-api-key"] == API_KEY
    config = request.body["generationConfig"]
    assert config["responseJsonSchema"] == dict(ANSWER_SCHEMA)  # sent as is
    assert config["maxOutputTokens"] == 600
    assert (fake.ok, fake.charged_tokens) == (1, usage.total_token_count)


def test_v1_and_a_key_in_the_query_are_accepted(fake: GeminiFake) -> None:
    seo_call(client_for(fake, version="v1"))
    answer = requests.post(f"{fake.base_url}/v1beta/models/{MODEL}:generateContent",
                           params={"key": API_KEY}, timeout=5,
                           json={"contents": [{"role": "user", "parts": [{"text": "제목: 안녕"}]}]})
    assert answer.status_code == 200
    assert [r.version for r in fake.requests] == ["v1", "v1beta"]


def test_response_schema_with_additional_properties_is_refused_like_the_api(
        fake: GeminiFake) -> None:
    """``response_schema`` turns the dict into Gemini's Schema: additional_properties breaks."""
    with pytest.raises(errors.ClientError) as refused:
        seo_call(client_for(fake), response_json_schema=None,
                 response_schema=dict(ANSWER_SCHEMA))
    assert (refused.value.code, refused.value.status) == (400, "INVALID_ARGUMENT")
    assert 'Unknown name "additional_properties"' in (refused.value.message or "")
    sent = fake.requests[0].body["generationConfig"]["responseSchema"]
    assert sent["type"] == "OBJECT" and sent["additional_properties"] is False

    loose = {k: v for k, v in ANSWER_SCHEMA.items() if k != "additionalProperties"}
    response = seo_call(client_for(fake), response_json_schema=None, response_schema=loose)
    parse_answer(response.text, provider="gemini")


def test_the_third_call_over_an_rpm_of_two_waits_the_retry_delay() -> None:
    with GeminiFake(rpm=2, window_s=1.5) as fake:
        client = client_for(fake)
        seo_call(client)
        seo_call(client)
        with pytest.raises(errors.ClientError) as refused:
            seo_call(client)
        error = refused.value
        assert (error.code, error.status) == (429, "RESOURCE_EXHAUSTED")
        assert (error.message or "").startswith("You exceeded your current quota, please check "
                                                "your plan and billing details.")
        details = error_details(error)
        (violation,) = details["QuotaFailure"]["violations"]
        assert violation == {
            "quotaMetric": "generativelanguage.googleapis.com/"
                           "generate_content_free_tier_requests",
            "quotaId": "GenerateRequestsPerMinutePerProjectPerModel-FreeTier",
            "quotaDimensions": {"location": "global", "model": MODEL}, "quotaValue": "2"}
        assert details["Help"]["links"][0]["url"] == (
            "https://ai.google.dev/gemini-api/docs/rate-limits")
        delay = details["RetryInfo"]["retryDelay"]
        assert delay in ("1s", "2s")  # under 1.5 s, rounded up to whole seconds
        assert len(fake.requests) == 3  # the SDK did not retry
        assert (fake.ok, fake.rate_limited) == (2, 1)

        time.sleep(int(delay.removesuffix("s")))
        seo_call(client)
        assert (fake.ok, fake.rate_limited, len(fake.admitted)) == (3, 1, 3)


def test_a_tpm_refusal_names_the_input_token_quota_and_a_fractional_delay() -> None:
    charge = charge_of(POST)
    with GeminiFake(tpm=charge + charge // 2, window_s=1.5,
                    fractional_retry_delay=True) as fake:
        client = client_for(fake)
        seo_call(client)
        with pytest.raises(errors.ClientError) as refused:
            seo_call(client)
        details = error_details(refused.value)
        (violation,) = details["QuotaFailure"]["violations"]
        assert violation["quotaId"] == "GenerateContentInputTokensPerModelPerMinute-FreeTier"
        assert violation["quotaValue"] == str(charge + charge // 2)
        delay = details["RetryInfo"]["retryDelay"]
        assert delay.endswith("s") and len(delay.split(".")[1]) == 4  # "1.234s"
        assert 0 < float(delay[:-1]) <= 1.5
        assert fake.charged_tokens == charge

        time.sleep(float(delay[:-1]))
        seo_call(client)
        assert fake.charged_tokens == 2 * charge


def test_a_requests_per_day_limit_names_a_long_delay() -> None:
    with GeminiFake(rpd=2) as fake:
        client = client_for(fake)
        seo_call(client)
        seo_call(client)
        with pytest.raises(errors.ClientError) as refused:
            seo_call(client)
        details = error_details(refused.value)
        (violation,) = details["QuotaFailure"]["violations"]
        assert violation["quotaId"] == "GenerateRequestsPerDayPerProjectPerModel-FreeTier"
        assert int(details["RetryInfo"]["retryDelay"].removesuffix("s")) > 86_000
        assert fake.rate_limited == 1


def test_an_answer_past_max_output_tokens_is_cut_with_max_tokens(fake: GeminiFake) -> None:
    response = seo_call(client_for(fake), max_output_tokens=15)
    (candidate,) = response.candidates or []
    assert candidate.finish_reason == types.FinishReason.MAX_TOKENS
    assert response.usage_metadata is not None
    assert response.usage_metadata.candidates_token_count == 15
    with pytest.raises(InvalidAnswer, match="not JSON"):
        parse_answer(response.text, provider="gemini")


def test_a_server_error_is_not_retried_by_the_sdk(fake: GeminiFake) -> None:
    fake.inject("500")
    client = client_for(fake)
    with pytest.raises(errors.ServerError) as failed:
        seo_call(client)
    assert (failed.value.code, failed.value.status) == (500, "INTERNAL")
    assert (failed.value.message or "").startswith("An internal error has occurred.")
    assert len(fake.requests) == 1
    seo_call(client)
    assert (fake.ok, len(fake.admitted), fake.faults_served) == (1, 1, ["500"])


def test_a_timeout_surfaces_as_an_httpx2_read_timeout(fake: GeminiFake) -> None:
    fake.hang_s = 2.0
    fake.inject("timeout")
    with pytest.raises(httpx2.TimeoutException):
        seo_call(client_for(fake, timeout_ms=300))
    seo_call(client_for(fake))
    assert (fake.ok, fake.faults_served) == (1, ["timeout"])


@pytest.mark.parametrize(("fault", "problem"), [
    ("invalid_json", "not JSON"),
    ("schema_violation", "breaks the schema: missing meta_description"),
])
def test_a_bad_answer_is_a_charged_200(fake: GeminiFake, fault: str, problem: str) -> None:
    fake.inject(fault)  # type: ignore[arg-type]
    client = client_for(fake)
    with pytest.raises(InvalidAnswer, match=problem):
        parse_answer(seo_call(client).text, provider="gemini")
    parse_answer(seo_call(client).text, provider="gemini")
    assert (fake.ok, len(fake.admitted)) == (2, 2)


def test_quota_exhaustion_by_fault_and_by_switch(fake: GeminiFake) -> None:
    client = client_for(fake)
    fake.inject("insufficient_quota")
    with pytest.raises(errors.ClientError) as spent:
        seo_call(client)
    assert spent.value.code == 429
    (violation,) = error_details(spent.value)["QuotaFailure"]["violations"]
    assert violation["quotaId"] == "GenerateRequestsPerDayPerProjectPerModel-FreeTier"
    seo_call(client)

    fake.quota_exhausted = True
    with pytest.raises(errors.ClientError, match="RESOURCE_EXHAUSTED"):
        seo_call(client)
    assert (fake.ok, fake.quota_errors, fake.rate_limited, len(fake.admitted)) == (1, 2, 0, 1)
    fake.reset()
    seo_call(client)
    assert (fake.ok, fake.quota_errors, len(fake.requests)) == (1, 0, 1)


def test_a_wrong_key_is_400_api_key_invalid(fake: GeminiFake) -> None:
    with pytest.raises(errors.ClientError) as refused:
        seo_call(client_for(fake, key="AIza-wrong"))
    assert (refused.value.code, refused.value.status) == (400, "INVALID_ARGUMENT")
    assert error_details(refused.value)["ErrorInfo"]["reason"] == "API_KEY_INVALID"
    missing = requests.post(f"{fake.base_url}/v1beta/models/{MODEL}:generateContent",
                            json={"contents": []}, timeout=5)
    assert missing.status_code == 403
    assert missing.json()["error"]["status"] == "PERMISSION_DENIED"
    assert fake.admitted == []


def test_an_unknown_model_is_404_not_found(fake: GeminiFake) -> None:
    with pytest.raises(errors.ClientError) as missing:
        seo_call(client_for(fake), model="gemini-9-ultra")
    assert (missing.value.code, missing.value.status) == (404, "NOT_FOUND")
    assert "models/gemini-9-ultra is not found for API version v1beta" in (
        missing.value.message or "")
