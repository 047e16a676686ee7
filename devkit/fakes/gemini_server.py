"""A real Gemini API ``generateContent`` endpoint on 127.0.0.1, with quotas and faults.

It answers ``POST /{v1|v1beta}/models/<model>:generateContent`` the way the
Gemini API does for the project's call (a system instruction, one user
text, ``responseMimeType: application/json`` and a response schema):

- the answer is :func:`devkit.fakes.llm_ledger.seo_answer` of the user text;
  ``usageMetadata`` counts tokens with :func:`~devkit.fakes.llm_ledger.count_tokens`
  (every text part of ``contents`` and ``systemInstruction``, plus the schema
  under ``responseSchema`` or ``responseJsonSchema``); an answer past
  ``maxOutputTokens`` is cut and ends in ``finishReason: "MAX_TOKENS"``;
- RPM/TPM limits over a sliding window and an optional RPD answer 429
  ``RESOURCE_EXHAUSTED`` with a ``QuotaFailure`` (the quotaId names the limit)
  and a ``RetryInfo.retryDelay`` (whole seconds rounded up, or protobuf
  ``1.500s`` with ``fractional_retry_delay=True``);
- the key from ``x-goog-api-key`` or ``?key=``: a wrong one is 400
  ``API_KEY_INVALID``, none is 403; an unknown model is 404 ``NOT_FOUND``;
  injected faults (:data:`~devkit.fakes.llm_ledger.FAULTS`);
- like the API, 400 for ``additionalProperties`` inside ``responseSchema``
  (the OpenAPI-subset schema has no such field; ``responseJsonSchema`` does).
"""

from __future__ import annotations

import json
import math
import re
import uuid
from datetime import datetime, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo

from devkit.fakes.llm_http import LlmFakeServer, RecordedRequest, Reply
from devkit.fakes.llm_ledger import (
    Refusal,
    clip_to_tokens,
    count_tokens,
    fault_text,
)

__all__ = ["API_KEY", "GeminiFake"]

#: The key the fake accepts unless told otherwise.
API_KEY: Final = "AIza-test-fake-key-0000"
_PATH: Final = re.compile(r"^/(?P<version>v1|v1beta)/models/(?P<model>[^/:]+):generateContent$")
_TYPE: Final = "type.googleapis.com/google.rpc."
_METRIC: Final = "generativelanguage.googleapis.com/generate_content_free_tier_"
_QUOTA_IDS: Final = {
    "requests": "GenerateRequestsPerMinutePerProjectPerModel-FreeTier",
    "tokens": "GenerateContentInputTokensPerModelPerMinute-FreeTier",
    "day": "GenerateRequestsPerDayPerProjectPerModel-FreeTier",
}
_INTERNAL: Final = ("An internal error has occurred. Please retry or report in "
                    "https://developers.generativeai.google/guide/troubleshooting")
_BAD_KEY: Final = "API key not valid. Please pass a valid API key."
_NO_KEY: Final = ("Method doesn't allow unregistered callers (callers without established "
                  "identity). Please use API Key or other form of API consumer identity to "
                  "call this API.")
# Per-day quotas of the Gemini API reset at midnight, Pacific time.
_QUOTA_DAY: Final = ZoneInfo("America/Los_Angeles")


class GeminiFake(LlmFakeServer):
    """The fake Gemini API; use as a context manager, point ``HttpOptions.base_url`` at it.

    Limits are per ``window_s`` seconds (60 like the real per-minute quotas;
    tests shrink it); ``rpd`` counts over a real day. ``latency_s`` delays
    every successful answer; a ``timeout`` fault holds the request ``hang_s``
    seconds, then closes it.
    """

    def __init__(self, *, api_key: str = API_KEY,
                 models: frozenset[str] | set[str] = frozenset({"gemini-2.5-flash"}),
                 rpm: int | None = None, tpm: int | None = None, rpd: int | None = None,
                 window_s: float = 60.0, latency_s: float = 0.0, hang_s: float = 10.0,
                 fractional_retry_delay: bool = False) -> None:
        super().__init__(api_key=api_key, models=models, rpm=rpm, tpm=tpm, rpd=rpd,
                         window_s=window_s, latency_s=latency_s, hang_s=hang_s)
        self.fractional_retry_delay = fractional_retry_delay

    @property
    def base_url(self) -> str:
        """The ``base_url`` for ``HttpOptions``: ``http://127.0.0.1:<port>`` (no version)."""
        return self.url

    def _handle(self, request: RecordedRequest, raw: bytes) -> Reply:
        match = _PATH.match(request.path)
        if match is None:
            return _error(404, f"The requested URL {request.path} was not found on this "
                          "server.", "NOT_FOUND")
        key = request.headers.get("x-goog-api-key") or request.query.get("key", "")
        if not key:
            return _error(403, _NO_KEY, "PERMISSION_DENIED")
        if key != self.api_key:
            return _error(400, _BAD_KEY, "INVALID_ARGUMENT", [
                {"@type": _TYPE + "ErrorInfo", "reason": "API_KEY_INVALID",
                 "domain": "googleapis.com",
                 "metadata": {"service": "generativelanguage.googleapis.com"}},
                {"@type": _TYPE + "LocalizedMessage", "locale": "en-US", "message": _BAD_KEY}])
        body = request.body
        if not isinstance(body, dict) or not isinstance(body.get("contents"), list):
            return _error(400, "Invalid JSON payload received. Expected an object with "
                          "\"contents\".", "INVALID_ARGUMENT")
        unknown = _unknown_schema_field(body.get("generationConfig"))
        if unknown is not None:
            return _error(400, f"Invalid JSON payload received. Unknown name "
                          f"\"additional_properties\" at '{unknown}': Cannot find field.",
                          "INVALID_ARGUMENT")
        model = match["model"]
        if model not in self.models:
            return _error(404, f"models/{model} is not found for API version "
                          f"{match['version']}, or is not supported for generateContent. Call "
                          "ListModels to see the list of available models and their supported "
                          "methods.", "NOT_FOUND")
        if self.quota_exhausted:
            self._tally("quota")
            return self._quota_error(model)
        return self._generate(request, body, model)

    def _generate(self, request: RecordedRequest, body: dict[str, Any], model: str) -> Reply:
        fault = self._next_fault()
        if fault == "timeout":
            return Reply(hang=True)
        if fault == "500":
            return _error(500, _INTERNAL, "INTERNAL")
        if fault == "insufficient_quota":
            self._tally("quota")
            return self._quota_error(model)
        contents: list[Any] = body["contents"]
        users = [c for c in contents if isinstance(c, dict) and c.get("role", "user") == "user"]
        user = _parts_text(users[-1]) if users else ""
        text = fault_text(fault, user) if fault else self._answer_for(user)
        config = body.get("generationConfig") or {}
        system = body.get("systemInstruction")
        prompt_tokens = sum(count_tokens(_parts_text(c)) for c in contents)
        prompt_tokens += count_tokens(_parts_text(system))
        schema = config.get("responseJsonSchema", config.get("responseSchema"))
        if schema is not None:
            prompt_tokens += count_tokens(json.dumps(schema, ensure_ascii=False))
        cap = config.get("maxOutputTokens")
        finish = "STOP"
        if isinstance(cap, int) and count_tokens(text) > cap:
            text, finish = clip_to_tokens(text, cap), "MAX_TOKENS"
        output_tokens = count_tokens(text)
        verdict = self.ledger.admit(prompt_tokens + output_tokens, request.at)
        if verdict.refusal is not None:
            self._tally("rate_limited")
            return self._rate_limited(model, verdict.refusal)
        self._pause(self.latency_s)
        self._tally("ok")
        return Reply(200, {
            "candidates": [{"content": {"parts": [{"text": text}], "role": "model"},
                            "finishReason": finish, "index": 0}],
            "usageMetadata": {"promptTokenCount": prompt_tokens,
                              "candidatesTokenCount": output_tokens,
                              "totalTokenCount": prompt_tokens + output_tokens,
                              "promptTokensDetails": [{"modality": "TEXT",
                                                       "tokenCount": prompt_tokens}]},
            "modelVersion": model,
            "responseId": uuid.uuid4().hex[:22],
        })

    def _rate_limited(self, model: str, refusal: Refusal) -> Reply:
        metric = "requests" if refusal.limit in ("requests", "day") else "input_token_count"
        return self._resource_exhausted(model, metric, _QUOTA_IDS[refusal.limit],
                                        refusal.cap, refusal.wait_s)

    def _quota_error(self, model: str) -> Reply:
        """The per-day quota error, with the wait until the quota day ends."""
        now = datetime.now(_QUOTA_DAY)
        midnight = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
        return self._resource_exhausted(model, "requests", _QUOTA_IDS["day"],
                                        self.ledger.rpd or 250,
                                        (midnight - now).total_seconds())

    def _resource_exhausted(self, model: str, metric: str, quota_id: str, value: int,
                            wait_s: float) -> Reply:
        delay = self._retry_delay(wait_s)
        message = ("You exceeded your current quota, please check your plan and billing "
                   "details. For more information on this error, head to: "
                   "https://ai.google.dev/gemini-api/docs/rate-limits. To monitor your current "
                   "usage, head to: https://ai.dev/usage?tab=rate-limit. \n* Quota exceeded for "
                   f"metric: {_METRIC}{metric}, limit: {value}, model: {model}\n"
                   f"Please retry in {delay}.")
        return _error(429, message, "RESOURCE_EXHAUSTED", [
            {"@type": _TYPE + "QuotaFailure", "violations": [{
                "quotaMetric": _METRIC + metric, "quotaId": quota_id,
                "quotaDimensions": {"location": "global", "model": model},
                "quotaValue": str(value)}]},
            {"@type": _TYPE + "Help", "links": [{
                "description": "Learn more about Gemini API quotas",
                "url": "https://ai.google.dev/gemini-api/docs/rate-limits"}]},
            {"@type": _TYPE + "RetryInfo", "retryDelay": delay},
        ])

    def _retry_delay(self, wait_s: float) -> str:
        """A wait as ``RetryInfo.retryDelay``: ``2s``, or ``1.500s`` when fractional."""
        if self.fractional_retry_delay:
            ms = math.ceil(wait_s * 1000 - 1e-6)
            return f"{ms // 1000}.{ms % 1000:03d}s"
        return f"{math.ceil(wait_s - 1e-9)}s"


def _error(status: int, message: str, code_name: str,
           details: list[dict[str, Any]] | None = None) -> Reply:
    error: dict[str, Any] = {"code": status, "message": message, "status": code_name}
    if details is not None:
        error["details"] = details
    return Reply(status, {"error": error})


def _unknown_schema_field(config: Any) -> str | None:
    """Where ``responseSchema`` has ``additional_properties``, which its proto lacks.

    The SDK turns a JSON schema's ``additionalProperties`` given as
    ``response_schema`` into that snake-case field, and the API refuses it
    (googleapis/python-genai#1815); ``responseJsonSchema`` takes it as is.
    """
    if not isinstance(config, dict):
        return None

    def walk(schema: Any, path: str) -> str | None:
        if not isinstance(schema, dict):
            return None
        if "additional_properties" in schema or "additionalProperties" in schema:
            return path
        properties = schema.get("properties")
        for index, value in enumerate((properties or {}).values()):
            found = walk(value, f"{path}.properties[{index}].value")
            if found is not None:
                return found
        return walk(schema.get("items"), f"{path}.items")

    return walk(config.get("responseSchema"), "generation_config.response_schema")


def _parts_text(content: Any) -> str:
    """The text of a ``Content`` (its ``parts``' ``text``), or "" for anything else."""
    if not isinstance(content, dict) or not isinstance(content.get("parts"), list):
        return ""
    return "".join(str(p.get("text", "")) for p in content["parts"] if isinstance(p, dict))
