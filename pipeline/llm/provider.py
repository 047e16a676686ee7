"""The one interface every LLM provider implements, and what a call returns."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Final, Protocol

from pipeline.llm.errors import InvalidAnswer
from pipeline.llm.request import ANSWER_SCHEMA, SeoAnswer, SeoRequest, build_messages, parse_answer
from pipeline.llm.tokens import estimate_request

__all__ = ["Completion", "Provider", "Usage", "checked_answer", "estimate_call",
           "invalid_answer"]

_SCHEMA_TEXT: Final = json.dumps(ANSWER_SCHEMA, ensure_ascii=False)


@dataclass(frozen=True)
class Usage:
    """Tokens the provider reports for one call."""

    prompt_tokens: int
    completion_tokens: int

    @property
    def total(self) -> int:
        """Prompt plus completion tokens: what the shared limiter is corrected to."""
        return self.prompt_tokens + self.completion_tokens


@dataclass(frozen=True)
class Completion:
    """A checked answer, the usage reported for it (None offline) and the model that wrote it."""

    answer: SeoAnswer
    usage: Usage | None
    model: str


class Provider(Protocol):
    """An LLM that writes SEO fields for a post.

    ``complete`` raises only :mod:`pipeline.llm.errors` classes; it never
    retries and never sleeps (the chain and the shared limiter decide).
    """

    #: ``openai``, ``gemini`` or ``offline``: the name settings and doclog use.
    name: str
    #: The model asked, e.g. ``gpt-4.1-mini``; the limiter's budget is per provider and model.
    model: str
    #: False for a provider with no quota to share (offline): it skips the limiter.
    limited: bool

    def estimate(self, request: SeoRequest) -> int:
        """Tokens to reserve before calling: an upper bound of prompt plus output cap."""
        ...

    def complete(self, request: SeoRequest) -> Completion:
        """Ask for the SEO fields of ``request``; the answer is already checked."""
        ...


def estimate_call(request: SeoRequest, max_output_tokens: int) -> int:
    """Tokens to reserve for one structured call: prompts, schema and output cap."""
    return estimate_request([*build_messages(request), _SCHEMA_TEXT], max_output_tokens)


def invalid_answer(message: str, usage: Usage | None) -> InvalidAnswer:
    """An InvalidAnswer that carries the tokens the call was still charged."""
    error = InvalidAnswer(message)
    error.charged_tokens = usage.total if usage else None
    return error


def checked_answer(text: str | None, usage: Usage | None, *, provider: str) -> SeoAnswer:
    """:func:`parse_answer`, its InvalidAnswer carrying the tokens the call was charged."""
    try:
        return parse_answer(text, provider=provider)
    except InvalidAnswer as exc:
        exc.charged_tokens = usage.total if usage else None
        raise
