"""SEO answers from Gemini's ``generateContent`` through ``google-genai``, JSON schema enforced.

``google-genai`` is the maintained successor of the retired
``google-generativeai`` (end of support 2025-11-30). It retries nothing
unless told to; the API version is explicit (``ATR_GEMINI_API_VERSION``).
A 429 ``RESOURCE_EXHAUSTED`` is a rate limit (its ``RetryInfo.retryDelay``
becomes the cooldown) unless the violated quota is a per-day one: then the
provider is out of quota until its day ends.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any, Final

import httpx2
from google import genai
from google.genai import errors as genai_errors
from google.genai import types

from pipeline.llm.errors import (
    ProviderFailed,
    ProviderRejected,
    ProviderTimeout,
    QuotaExhausted,
    RateLimited,
)
from pipeline.llm.provider import Completion, Usage, checked_answer, estimate_call, invalid_answer
from pipeline.llm.request import ANSWER_SCHEMA, SeoRequest, build_messages
from pipeline.llm.waits import gemini_retry_delay_ms

__all__ = ["GeminiProvider"]

_DEFAULT_WAIT_MS: Final = 2000


class GeminiProvider:
    """Gemini ``generateContent`` with a JSON response schema and an explicit timeout."""

    name = "gemini"
    limited = True

    def __init__(self, *, api_key: str, base_url: str, api_version: str, model: str,
                 timeout_s: float, max_output_tokens: int) -> None:
        self.model = model
        self.base_url = base_url
        self.timeout_s = timeout_s
        self.max_output_tokens = max_output_tokens
        self._client = genai.Client(api_key=api_key, http_options=types.HttpOptions(
            base_url=base_url, api_version=api_version, timeout=int(timeout_s * 1000)))

    def estimate(self, request: SeoRequest) -> int:
        """Prompt, schema and output cap, estimated offline (an upper bound)."""
        return estimate_call(request, self.max_output_tokens)

    def complete(self, request: SeoRequest) -> Completion:
        """One call; the answer is checked against the schema and length rules."""
        system, user = build_messages(request)
        try:
            response = self._client.models.generate_content(
                model=self.model, contents=user,
                config=types.GenerateContentConfig(
                    system_instruction=system,
                    response_mime_type="application/json",
                    response_json_schema=dict(ANSWER_SCHEMA),
                    max_output_tokens=self.max_output_tokens,
                ))
        except genai_errors.APIError as exc:
            raise self._api_error(exc) from None
        except httpx2.TimeoutException:
            raise ProviderTimeout(f"gemini did not answer within {self.timeout_s:g} s "
                                 f"(ATR_LLM_TIMEOUT_S)") from None
        except httpx2.TransportError as exc:
            raise ProviderFailed(f"could not reach gemini at {self.base_url}: {exc}") from None
        meta = response.usage_metadata
        usage = Usage(int(meta.prompt_token_count or 0), int(meta.candidates_token_count or 0)) \
            if meta is not None else None
        candidate = response.candidates[0] if response.candidates else None
        reason = candidate.finish_reason if candidate is not None else None
        if reason == types.FinishReason.MAX_TOKENS:
            raise invalid_answer(f"gemini's answer was cut at the output cap of "
                           f"{self.max_output_tokens} tokens (ATR_LLM_MAX_OUTPUT_TOKENS)", usage)
        if candidate is None or reason not in (None, types.FinishReason.STOP):
            raise invalid_answer(f"gemini returned no usable answer (finish reason {reason})",
                                 usage)
        answer = checked_answer(response.text, usage, provider="gemini")
        return Completion(answer, usage, response.model_version or self.model)

    def _api_error(self, exc: genai_errors.APIError) -> Exception:
        code, status = int(exc.code or 0), exc.status or ""
        message = str(exc.message or "")[:300]
        details = _details(exc.details)
        if code == 429:
            quota = _quota_ids(details)
            if any("PerDay" in q for q in quota):
                return QuotaExhausted(f"gemini's daily quota is used up ({', '.join(quota)}); "
                                      "it is skipped until the quota's day ends "
                                      "(`atr llm reset gemini` after raising it)")
            wait = gemini_retry_delay_ms(details) or _DEFAULT_WAIT_MS
            return RateLimited(f"gemini rate limit ({', '.join(quota) or status})", wait)
        if code == 400 and "API_KEY_INVALID" in json.dumps(details):
            return ProviderRejected("gemini rejected GEMINI_API_KEY (400 API_KEY_INVALID): "
                                    "set a valid key")
        if code in (401, 403):
            return ProviderRejected(f"gemini refused access ({code} {status}): check "
                                    "GEMINI_API_KEY")
        if code == 404:
            return ProviderRejected(f"gemini has no model {self.model!r} ({code} {status}): "
                                    "check ATR_GEMINI_MODEL and ATR_GEMINI_API_VERSION")
        if code >= 500:
            return ProviderFailed(f"gemini server error {code} {status}: {message}")
        return ProviderRejected(f"gemini refused the request ({code} {status}): {message}")


def _details(body: Any) -> list[Any]:
    error = body.get("error", body) if isinstance(body, Mapping) else {}
    details = error.get("details") if isinstance(error, Mapping) else None
    return list(details) if isinstance(details, list) else []


def _quota_ids(details: Iterable[Any]) -> list[str]:
    found: list[str] = []
    for detail in details:
        if isinstance(detail, Mapping) and str(detail.get("@type", "")).endswith("QuotaFailure"):
            for violation in detail.get("violations") or []:
                if isinstance(violation, Mapping) and violation.get("quotaId"):
                    found.append(str(violation["quotaId"]))
    return found

