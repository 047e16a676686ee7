"""SEO answers from OpenAI's chat completions API with a strict JSON schema.

The SDK's own retries are off (``max_retries=0``): every attempt must pass the
shared limiter, and a 429's wait belongs to all workers, not to one thread's
sleep. Errors are classified by status (see :mod:`pipeline.llm.errors`); an
error message never quotes the key (OpenAI's 401 echoes part of it).
"""

from __future__ import annotations

from typing import Any, Final

import openai

from pipeline.llm.errors import (
    ProviderFailed,
    ProviderRejected,
    ProviderTimeout,
    QuotaExhausted,
    RateLimited,
)
from pipeline.llm.provider import Completion, Usage, checked_answer, estimate_call, invalid_answer
from pipeline.llm.request import ANSWER_SCHEMA, SeoRequest, build_messages
from pipeline.llm.waits import openai_wait_ms

__all__ = ["OpenAIProvider"]

#: Wait after a 429 that names none, in milliseconds.
_DEFAULT_WAIT_MS: Final = 2000


class OpenAIProvider:
    """OpenAI chat completions, structured output, no SDK retries, explicit timeout."""

    name = "openai"
    limited = True

    def __init__(self, *, api_key: str, base_url: str, model: str, timeout_s: float,
                 max_output_tokens: int) -> None:
        self.model = model
        self.base_url = base_url
        self.timeout_s = timeout_s
        self.max_output_tokens = max_output_tokens
        self._client = openai.OpenAI(api_key=api_key, base_url=base_url, max_retries=0,
                                     timeout=timeout_s)

    def estimate(self, request: SeoRequest) -> int:
        """Prompt, schema and output cap, estimated offline (an upper bound)."""
        return estimate_call(request, self.max_output_tokens)

    def complete(self, request: SeoRequest) -> Completion:
        """One call; the answer is checked against the schema and length rules."""
        system, user = build_messages(request)
        try:
            response = self._client.chat.completions.create(
                model=self.model,
                messages=[{"role": "system", "content": system},
                          {"role": "user", "content": user}],
                response_format={"type": "json_schema", "json_schema": {
                    "name": "seo_answer", "strict": True, "schema": dict(ANSWER_SCHEMA)}},
                max_completion_tokens=self.max_output_tokens,
            )
        except openai.APIStatusError as exc:
            raise self._status_error(exc) from None
        except openai.APITimeoutError:
            raise ProviderTimeout(f"openai did not answer within {self.timeout_s:g} s "
                                 f"(ATR_LLM_TIMEOUT_S)") from None
        except openai.APIConnectionError as exc:
            raise ProviderFailed(f"could not reach openai at {self.base_url}: "
                                 f"{exc.__cause__ or exc}") from None
        usage = _usage(response.usage)
        choice = response.choices[0] if response.choices else None
        if choice is None:
            raise invalid_answer("openai returned no choices", usage)
        if choice.finish_reason == "length":
            raise invalid_answer(f"openai's answer was cut at the output cap of "
                           f"{self.max_output_tokens} tokens (ATR_LLM_MAX_OUTPUT_TOKENS)", usage)
        if choice.message.refusal:
            raise invalid_answer(f"openai refused to answer: {choice.message.refusal}", usage)
        answer = checked_answer(choice.message.content, usage, provider="openai")
        return Completion(answer, usage, response.model or self.model)

    def _status_error(self, exc: openai.APIStatusError) -> Exception:
        status, code, message = exc.status_code, _code(exc.body), _message(exc.body)
        if status == 429:
            if code == "insufficient_quota":
                return QuotaExhausted("openai says the account is out of quota "
                                      "(insufficient_quota): check the plan and billing, "
                                      "then run `atr llm reset openai`")
            wait = openai_wait_ms(exc.response.headers) or _DEFAULT_WAIT_MS
            return RateLimited(f"openai rate limit ({code or 'rate_limit_exceeded'}): "
                               f"{message}", wait)
        if status == 401:
            return ProviderRejected("openai rejected OPENAI_API_KEY (401 "
                                    f"{code or 'unauthorized'}): set a valid key")
        if status == 403:
            return ProviderRejected(f"openai refused access (403 {code or ''}): {message}")
        if status == 404:
            return ProviderRejected(f"openai has no model {self.model!r} for this key (404 "
                                    f"{code or 'not_found'}): check ATR_OPENAI_MODEL")
        if status >= 500:
            return ProviderFailed(f"openai server error {status}: {message}")
        return ProviderRejected(f"openai refused the request ({status} {code or ''}): {message}")


def _usage(usage: Any) -> Usage | None:
    if usage is None:
        return None
    return Usage(int(usage.prompt_tokens or 0), int(usage.completion_tokens or 0))



def _error_body(body: object) -> dict[str, Any]:
    if isinstance(body, dict):
        inner = body.get("error", body)
        return inner if isinstance(inner, dict) else {}
    return {}


def _code(body: object) -> str | None:
    code = _error_body(body).get("code")
    return str(code) if code else None


def _message(body: object) -> str:
    message = _error_body(body).get("message")
    return str(message)[:300] if message else "(no message)"
