"""The one interface every LLM provider implements, and what a call returns."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from pipeline.llm.request import SeoAnswer, SeoRequest

__all__ = ["Completion", "Provider", "Usage"]


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
