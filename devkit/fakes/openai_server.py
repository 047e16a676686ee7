"""A real OpenAI Chat Completions endpoint on 127.0.0.1, with rate limits and faults.

It answers ``POST /v1/chat/completions`` the way the API does for the
project's one kind of call (a system and a user message, a strict
``json_schema`` response format, ``max_completion_tokens``):

- the answer is :func:`devkit.fakes.llm_ledger.seo_answer` of the user
  message; ``usage`` counts tokens with
  :func:`~devkit.fakes.llm_ledger.count_tokens` (3 per request, 3 per message,
  plus the schema); an answer past the output cap is cut and ends in
  ``finish_reason: "length"``;
- RPM/TPM limits over a sliding window (:class:`~devkit.fakes.llm_ledger.RateLedger`)
  answer 429 ``rate_limit_exceeded`` with the API's message, the
  ``x-ratelimit-*`` headers and (unless ``send_retry_after=False``)
  ``retry-after-ms`` / ``retry-after``;
- 401 ``invalid_api_key`` (the key masked as the API masks it), 404
  ``model_not_found``, 400 for a body that is not JSON or a strict schema the
  API would refuse; injected faults (:data:`~devkit.fakes.llm_ledger.FAULTS`).

On a 429, ``x-ratelimit-reset-requests`` and ``x-ratelimit-reset-tokens`` say
how long until the refused call would fit under that limit (``0s`` if that
limit did not refuse it); on a 200 they say how long until the window is empty.
"""

from __future__ import annotations

import json
import math
import time
import uuid
from typing import Any, Final

from devkit.fakes.llm_http import LlmFakeServer, RecordedRequest, Reply
from devkit.fakes.llm_ledger import (
    Refusal,
    Verdict,
    clip_to_tokens,
    count_tokens,
    fault_text,
    go_duration,
)

__all__ = ["API_KEY", "OpenAIFake", "mask_key"]

#: The key the fake accepts unless told otherwise.
API_KEY: Final = "sk-test-fake-0000001234"
_ROUTE: Final = "/v1/chat/completions"
_RATE_DOCS: Final = "Visit https://platform.openai.com/account/rate-limits to learn more."
_SERVER_ERROR: Final = ("The server had an error while processing your request. "
                        "Sorry about that!")
_QUOTA: Final = ("You exceeded your current quota, please check your plan and billing details. "
                 "For more information on this error, read the docs: "
                 "https://platform.openai.com/docs/guides/error-codes/api-errors.")
_NOT_JSON: Final = ("We could not parse the JSON body of your request. (HINT: This likely means "
                    "you aren't using your HTTP library correctly. The OpenAI API expects a JSON "
                    "payload, but what was sent was not valid JSON. If you have trouble figuring "
                    "out how to fix this, please contact us through our help center at "
                    "help.openai.com.)")
_NO_KEY: Final = ("You didn't provide an API key. You need to provide your API key in an "
                  "Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY), "
                  "or as the password field (with blank username) if you're accessing the API "
                  "from your browser and are prompted for a username and password. You can "
                  "obtain an API key from https://platform.openai.com/account/api-keys.")


class OpenAIFake(LlmFakeServer):
    """The fake Chat Completions API; use as a context manager, point ``base_url`` at it.

    Limits are per ``window_s`` seconds (60 like the real per-minute limits;
    tests shrink it). ``latency_s`` delays every successful answer; a
    ``timeout`` fault holds the request ``hang_s`` seconds, then closes it.
    """

    def __init__(self, *, api_key: str = API_KEY,
                 models: frozenset[str] | set[str] = frozenset({"gpt-4.1-mini"}),
                 rpm: int | None = None, tpm: int | None = None, rpd: int | None = None,
                 window_s: float = 60.0, latency_s: float = 0.0, hang_s: float = 10.0,
                 send_retry_after: bool = True) -> None:
        super().__init__(api_key=api_key, models=models, rpm=rpm, tpm=tpm, rpd=rpd,
                         window_s=window_s, latency_s=latency_s, hang_s=hang_s)
        self.send_retry_after = send_retry_after

    @property
    def base_url(self) -> str:
        """The ``base_url`` for ``openai.OpenAI``: ``http://127.0.0.1:<port>/v1``."""
        return f"{self.url}/v1"

    def _handle(self, request: RecordedRequest, raw: bytes) -> Reply:
        if request.path.rstrip("/") != _ROUTE:
            return _error(404, f"Invalid URL (POST {request.path})", "invalid_request_error")
        key = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        if not key:
            return _error(401, _NO_KEY, "invalid_request_error")
        if key != self.api_key:
            return _error(401, f"Incorrect API key provided: {mask_key(key)}. You can find "
                          "your API key at https://platform.openai.com/account/api-keys.",
                          "invalid_request_error", code="invalid_api_key")
        body = request.body
        if not isinstance(body, dict):
            return _error(400, _NOT_JSON, "invalid_request_error")
        model = body.get("model")
        if model not in self.models:
            return _error(404, f"The model `{model}` does not exist or you do not have access "
                          "to it.", "invalid_request_error", code="model_not_found")
        problem = _invalid_request(body)
        if problem is not None:
            param, message = problem
            return _error(400, message, "invalid_request_error", param=param)
        if self.quota_exhausted:
            self._tally("quota")
            return _error(429, _QUOTA, "insufficient_quota", code="insufficient_quota")
        return self._complete(request, body, str(model))

    def _complete(self, request: RecordedRequest, body: dict[str, Any], model: str) -> Reply:
        fault = self._next_fault()
        if fault == "timeout":
            return Reply(hang=True)
        if fault == "500":
            return _error(500, _SERVER_ERROR, "server_error")
        if fault == "insufficient_quota":
            self._tally("quota")
            return _error(429, _QUOTA, "insufficient_quota", code="insufficient_quota")
        messages: list[dict[str, Any]] = body["messages"]
        user = next((_text(m.get("content")) for m in reversed(messages)
                     if m.get("role") == "user"), "")
        text = fault_text(fault, user) if fault else self._answer_for(user)
        prompt_tokens = 3 + sum(count_tokens(_text(m.get("content"))) + 3 for m in messages)
        schema = _schema(body)
        if schema is not None:
            prompt_tokens += count_tokens(json.dumps(schema, ensure_ascii=False))
        cap = body.get("max_completion_tokens", body.get("max_tokens"))
        finish = "stop"
        if isinstance(cap, int) and count_tokens(text) > cap:
            text, finish = clip_to_tokens(text, cap), "length"
        completion_tokens = count_tokens(text)
        verdict = self.ledger.admit(prompt_tokens + completion_tokens, request.at)
        if verdict.refusal is not None:
            self._tally("rate_limited")
            return self._rate_limited(model, verdict, verdict.refusal)
        self._pause(self.latency_s)
        self._tally("ok")
        return Reply(200, {
            "id": f"chatcmpl-{uuid.uuid4().hex[:29]}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "choices": [{"index": 0, "logprobs": None, "finish_reason": finish,
                         "message": {"role": "assistant", "content": text, "refusal": None,
                                     "annotations": []}}],
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                      "total_tokens": prompt_tokens + completion_tokens,
                      "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
                      "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0,
                                                    "accepted_prediction_tokens": 0,
                                                    "rejected_prediction_tokens": 0}},
            "service_tier": "default",
            "system_fingerprint": None,
        }, self._limit_headers(verdict, verdict.reset_s, verdict.reset_s))

    def _rate_limited(self, model: str, verdict: Verdict, refusal: Refusal) -> Reply:
        if refusal.too_large:
            message = (f"Request too large for {model} in organization org-fake on tokens per "
                       f"min (TPM): Limit {refusal.cap}, Requested {refusal.requested}. The "
                       "input or output tokens must be reduced in order to run successfully. "
                       + _RATE_DOCS)
        else:
            what = {"requests": "requests per min (RPM)", "tokens": "tokens per min (TPM)",
                    "day": "requests per day (RPD)"}[refusal.limit]
            message = (f"Rate limit reached for {model} in organization org-fake on {what}: "
                       f"Limit {refusal.cap}, Used {refusal.used}, Requested "
                       f"{refusal.requested}. Please try again in {go_duration(refusal.wait_s)}. "
                       + _RATE_DOCS)
        headers = self._limit_headers(verdict, refusal.requests_wait_s, refusal.tokens_wait_s)
        if self.send_retry_after and not refusal.too_large:
            headers["retry-after-ms"] = str(math.ceil(refusal.wait_s * 1000 - 1e-6))
            headers["retry-after"] = str(math.ceil(refusal.wait_s - 1e-9))
        kind = "tokens" if refusal.limit == "tokens" else "requests"
        return _error(429, message, kind, code="rate_limit_exceeded", headers=headers)

    def _limit_headers(self, verdict: Verdict, requests_reset_s: float,
                       tokens_reset_s: float) -> dict[str, str]:
        headers = {"x-request-id": f"req_{uuid.uuid4().hex}"}
        rpm, tpm = self.ledger.rpm, self.ledger.tpm
        if rpm is not None:
            headers["x-ratelimit-limit-requests"] = str(rpm)
            headers["x-ratelimit-remaining-requests"] = str(max(0, rpm - verdict.requests_used))
            headers["x-ratelimit-reset-requests"] = go_duration(requests_reset_s)
        if tpm is not None:
            headers["x-ratelimit-limit-tokens"] = str(tpm)
            headers["x-ratelimit-remaining-tokens"] = str(max(0, tpm - verdict.tokens_used))
            headers["x-ratelimit-reset-tokens"] = go_duration(tokens_reset_s)
        return headers


def mask_key(key: str) -> str:
    """A key as the API's 401 message shows it: ``sk-te******1234`` (prefix, stars, last 4)."""
    prefix = "sk-proj-" if key.startswith("sk-proj-") else key[:5]
    if len(key) <= len(prefix) + 4:
        return "*" * max(0, len(key) - 4) + key[-4:]
    return prefix + "*" * (len(key) - len(prefix) - 4) + key[-4:]


def _error(status: int, message: str, kind: str, *, code: str | None = None,
           param: str | None = None, headers: dict[str, str] | None = None) -> Reply:
    return Reply(status, {"error": {"message": message, "type": kind, "param": param,
                                    "code": code}}, headers or {})


def _text(content: Any) -> str:
    """A message's text: a string, or the text parts of a list of content parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return ""


def _schema(body: dict[str, Any]) -> Any:
    response_format = body.get("response_format")
    if isinstance(response_format, dict) and response_format.get("type") == "json_schema":
        json_schema = response_format.get("json_schema")
        if isinstance(json_schema, dict):
            return json_schema.get("schema")
    return None


def _invalid_request(body: dict[str, Any]) -> tuple[str, str] | None:
    """(param, message) of a request the API refuses with 400, or None."""
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages or not all(
            isinstance(m, dict) and "role" in m for m in messages):
        return "messages", "Invalid value for 'messages': expected a non-empty array of messages."
    for name in ("max_completion_tokens", "max_tokens"):
        cap = body.get(name)
        if cap is not None and (not isinstance(cap, int) or cap < 1):
            return name, f"Invalid '{name}': integer below minimum value. Expected a value >= 1."
    response_format = body.get("response_format")
    if not isinstance(response_format, dict) or response_format.get("type") != "json_schema":
        return None
    json_schema = response_format.get("json_schema")
    if not isinstance(json_schema, dict) or not isinstance(json_schema.get("schema"), dict):
        return ("response_format", "Missing required parameter: "
                "'response_format.json_schema.schema'.")
    if not json_schema.get("strict"):
        return None
    schema, format_name = json_schema["schema"], json_schema.get("name")
    if schema.get("additionalProperties") is not False:
        return ("response_format", f"Invalid schema for response_format '{format_name}': In "
                "context=(), 'additionalProperties' is required to be supplied and to be false.")
    missing = sorted(set(schema.get("properties", {})) - set(schema.get("required", [])))
    if missing:
        return ("response_format", f"Invalid schema for response_format '{format_name}': In "
                "context=(), 'required' is required to be supplied and to be an array "
                f"including every key in properties. Missing '{missing[0]}'.")
    return None
