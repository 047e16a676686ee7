"""Errors of the LLM layer, and what the provider chain does with each.

- :class:`RateLimited` (a 429 that names a wait): the wait becomes a
  provider-wide cooldown in Redis; the message is deferred, not failed.
- :class:`QuotaExhausted` (``insufficient_quota``, a daily quota): the
  provider is skipped until the end of the day; the chain falls back.
- :class:`ProviderRejected` (401/403/404/400: a bad key, model or request):
  no retry; the chain falls back.
- :class:`ProviderFailed` (timeout, 5xx, connection) and
  :class:`InvalidAnswer` (not JSON, schema broken): retried a bounded number
  of times, then the chain falls back.
- :class:`LlmUnavailable`: every provider of the chain failed; the message
  fails and Dramatiq retries it later.
- :class:`LlmRefused`: every provider failed in a way that the same request
  meets again on every try (``deterministic``: the offline provider finds
  too little text, a request bigger than a whole TPM budget); the message is
  rejected at once, without retry.
- :class:`BudgetDeferred`: the shared limiter has no budget now; the message
  is re-enqueued after ``delay_ms`` without using a retry.
"""

from __future__ import annotations

from pipeline.errors import AtrError, Deferred, PermanentError, TransientError

__all__ = [
    "BudgetDeferred",
    "InvalidAnswer",
    "LlmError",
    "LlmRefused",
    "LlmUnavailable",
    "ProviderFailed",
    "ProviderRejected",
    "ProviderTimeout",
    "QuotaExhausted",
    "RateLimited",
    "RequestTooLarge",
    "TooLittleText",
]


class LlmError(AtrError):
    """Base class of the errors one provider call can end in.

    ``charged_tokens`` is the usage the provider reported for the failed call
    (an invalid answer still costs tokens), or None when unknown.
    """

    charged_tokens: int | None = None
    #: The same request to the same provider fails the same way on every try.
    deterministic: bool = False


class RateLimited(LlmError):
    """Raised on a 429 rate limit; ``retry_after_ms`` is the wait the provider named."""

    def __init__(self, message: str, retry_after_ms: int) -> None:
        super().__init__(message)
        self.retry_after_ms = retry_after_ms


class QuotaExhausted(LlmError):
    """Raised when the provider's money or daily quota is spent (``insufficient_quota``)."""


class ProviderRejected(LlmError):
    """Raised when the provider refuses the request itself (bad key, model, request)."""


class ProviderFailed(LlmError):
    """Raised on a timeout, a 5xx or a broken connection: a later call may succeed."""


class ProviderTimeout(ProviderFailed):
    """Raised when the provider did not answer within ``ATR_LLM_TIMEOUT_S``."""


class InvalidAnswer(LlmError):
    """Raised when an answer is not JSON, is cut off, or breaks the answer schema."""


class TooLittleText(InvalidAnswer):
    """Raised by the offline provider when a post has too little text for an answer."""

    deterministic = True


class RequestTooLarge(LlmError):
    """Raised when one request needs more tokens than the provider's whole TPM budget."""

    deterministic = True


class LlmUnavailable(TransientError):
    """Raised when every provider of the chain failed for this message; it is retried."""


class LlmRefused(PermanentError):
    """Raised when every provider failed deterministically: no retry can get an answer."""


class BudgetDeferred(Deferred):
    """Raised when the shared rate limit has no budget now; the message waits ``delay_ms``."""
