"""Ask the providers in order, through the shared limiter, until one answers.

For each provider of the chain (``ATR_LLM_PROVIDER`` then ``ATR_LLM_FALLBACK``):

- out of quota for the day (a Redis mark, see :meth:`LlmChain.mark_exhausted`):
  skipped;
- no budget in the shared limiter, or cooling down after a 429: the whole
  message waits (:class:`BudgetDeferred`) — a rate limit passes, so falling
  back would only spend a worse provider;
- a 429: its wait becomes the provider's cooldown, then as above;
- ``insufficient_quota`` or a daily quota: marked exhausted until the end of
  the provider's day, next provider at once;
- a rejected request (key, model) or one too large for the TPM: next provider;
- a timeout, 5xx or invalid answer: called again, up to ``attempts`` calls,
  then the next provider.

Every call and outcome leaves a doclog line (``llm.*`` events) in the
message's stream; no prompt text and no key is ever written.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Final
from zoneinfo import ZoneInfo

import redis

from pipeline import doclog, keys
from pipeline.llm.errors import (
    BudgetDeferred,
    InvalidAnswer,
    LlmError,
    LlmRefused,
    LlmUnavailable,
    ProviderFailed,
    ProviderRejected,
    ProviderTimeout,
    QuotaExhausted,
    RateLimited,
    RequestTooLarge,
)
from pipeline.llm.provider import Completion, Provider
from pipeline.llm.ratelimit import Budget, Limits, Reservation, SharedLimiter
from pipeline.llm.request import DEFAULT_BOUNDS, AnswerBounds, SeoRequest

__all__ = ["LlmChain", "Suggestion"]

logger = logging.getLogger(__name__)

#: The zone whose midnight ends a provider's quota day (Gemini: Pacific time).
_QUOTA_DAY_ZONES: Final = {"gemini": "America/Los_Angeles"}
#: How long a job's failed-call counts are kept, in seconds.
_CALLS_TTL_S: Final = 86_400
_KIND: Final[tuple[tuple[type[LlmError], str], ...]] = (
    (InvalidAnswer, "invalid"), (ProviderRejected, "rejected"), (QuotaExhausted, "quota"),
    (RequestTooLarge, "too_large"), (ProviderTimeout, "timeout"), (ProviderFailed, "failed"),
)




@dataclass(frozen=True)
class Suggestion:
    """The answer that won, who wrote it, and whether a fallback was needed."""

    completion: Completion
    provider: str
    fallback: bool


class LlmChain:
    """The providers of the chain, each with its shared budget. Thread-safe."""

    def __init__(self, providers: Sequence[Provider], limiter: SharedLimiter,
                 limits: Mapping[str, Limits], *, attempts: int, zone: ZoneInfo,
                 bounds: AnswerBounds = DEFAULT_BOUNDS) -> None:
        if not providers:
            raise ValueError("an LLM chain needs at least one provider")
        self.providers = tuple(providers)
        #: What a request naming no bounds is asked for (the configured quality guide's).
        self.bounds = bounds
        self.limiter = limiter
        self.limits = dict(limits)
        self.attempts = attempts
        self.zone = zone

    @property
    def client(self) -> redis.Redis:
        """The Redis client the budgets and marks live in."""
        return self.limiter.client

    def budget(self, provider: Provider) -> Budget:
        """The shared budget of ``provider`` (its name and model)."""
        return Budget(provider.name, provider.model,
                      self.limits.get(provider.name, Limits(None, None)))

    def suggest(self, request: SeoRequest, *, key: str | None = None) -> Suggestion:
        """The first checked answer of the chain; BudgetDeferred, LlmRefused or LlmUnavailable.

        LlmRefused (permanent) when every provider failed deterministically,
        LlmUnavailable (retried) when any failure may pass on a later try.

        ``key`` names the job (the message id) across deferrals: the failed
        calls of each provider are counted in Redis under it for a day, so a
        message deferred between two failing calls does not start its
        ``attempts`` afresh, and one whose provider refused it for good does
        not ask that provider again. A request naming no bounds is asked
        for :attr:`bounds`.
        """
        if request.bounds is None:
            request = replace(request, bounds=self.bounds)
        failures: list[str] = []
        # Providers that failed in a way this request meets on every try.
        settled: list[str] = []
        for index, provider in enumerate(self.providers):
            mark = self._exhausted(provider)
            if mark is not None:
                failures.append(f"{provider.name}: {mark}")
                continue
            completion = self._ask(provider, request, failures, settled, key=key,
                                   last=index == len(self.providers) - 1)
            if completion is not None:
                tokens = completion.usage.total if completion.usage else None
                doclog.emit(doclog.EVENT_LLM_ANSWERED, provider=provider.name,
                            model=completion.model, fallback=index > 0, tokens=tokens,
                            answer=completion.answer.to_json())
                if key is not None:
                    self.client.delete(keys.llm_calls(key))
                return Suggestion(completion, provider.name, index > 0)
        if key is not None:
            self.client.delete(keys.llm_calls(key))  # the next delivery starts afresh
        if len(settled) == len(failures) == len(self.providers):
            raise LlmRefused("no LLM provider can answer this request, on any try: "
                             + "; ".join(failures))
        raise LlmUnavailable("no LLM provider could answer: " + "; ".join(failures))

    def mark_exhausted(self, provider: str, reason: str) -> datetime:
        """Skip ``provider`` until the end of its quota day; returns when that is."""
        zone = ZoneInfo(_QUOTA_DAY_ZONES.get(provider, str(self.zone)))
        now = datetime.now(zone)
        until = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), zone)
        seconds = max(1, int((until - now).total_seconds()) + 1)
        self.client.set(keys.llm_exhausted(provider), f"{reason} (until {until.isoformat()})",
                        ex=seconds)
        return until

    def _exhausted(self, provider: Provider) -> str | None:
        if not provider.limited:
            return None
        value = self.client.get(keys.llm_exhausted(provider.name))
        if value is None:
            return None
        return value.decode() if isinstance(value, bytes) else str(value)

    def _ask(self, provider: Provider, request: SeoRequest, failures: list[str],
             settled: list[str], *, key: str | None, last: bool) -> Completion | None:
        """The provider's answer, or None with the reason in ``failures``.

        A deterministic failure (the same on every call) ends the provider's
        turn at once and is also noted in ``settled``.
        """
        done = self._failed_calls(key, provider)
        if done >= self.attempts:
            failures.append(f"{provider.name}: failed {done} calls earlier for this job")
            return None
        for call in range(done + 1, self.attempts + 1):
            try:
                return self._call(provider, request)
            except (QuotaExhausted, ProviderRejected, RequestTooLarge) as exc:
                if isinstance(exc, QuotaExhausted):
                    until = self.mark_exhausted(provider.name, str(exc))
                    doclog.emit(doclog.EVENT_LLM_EXHAUSTED, provider=provider.name,
                                reason=str(exc), until=until.isoformat())
                self._failed(provider, call, exc, "give_up" if last else "fallback")
                self._count_failed(key, provider, self.attempts)
                failures.append(f"{provider.name}: {exc}")
                if exc.deterministic:
                    settled.append(provider.name)
                return None
            except (ProviderFailed, InvalidAnswer) as exc:
                retry = call < self.attempts and not exc.deterministic
                self._failed(provider, call, exc,
                             "retry" if retry else "give_up" if last else "fallback")
                self._count_failed(key, provider, 1)
                if not retry:
                    failures.append(f"{provider.name}: {exc} (after {call} calls)")
                    if exc.deterministic:
                        settled.append(provider.name)
                        return None
        return None

    def _failed_calls(self, key: str | None, provider: Provider) -> int:
        if key is None:
            return 0
        value = self.client.hget(keys.llm_calls(key), provider.name)
        return int(value) if value is not None else 0

    def _count_failed(self, key: str | None, provider: Provider, calls: int) -> None:
        if key is None:
            return
        pipe = self.client.pipeline()
        pipe.hincrby(keys.llm_calls(key), provider.name, calls)
        pipe.expire(keys.llm_calls(key), _CALLS_TTL_S)
        pipe.execute()

    def _call(self, provider: Provider, request: SeoRequest) -> Completion:
        if not provider.limited:
            return provider.complete(request)
        budget = self.budget(provider)
        held = self.limiter.reserve(budget, provider.estimate(request))
        if not isinstance(held, Reservation):
            wait_ms, why = held
            raise BudgetDeferred(f"{provider.name} {provider.model}: no {why} budget now", wait_ms)
        try:
            completion = provider.complete(request)
        except RateLimited as exc:
            self.limiter.release(held)
            self.limiter.cool_down(budget, exc.retry_after_ms)
            doclog.emit(doclog.EVENT_LLM_RATE_LIMITED, provider=provider.name,
                        model=provider.model, wait_ms=exc.retry_after_ms, error=str(exc))
            logger.warning("%s %s answered 429; every worker waits %d ms: %s", provider.name,
                           provider.model, exc.retry_after_ms, exc)
            raise BudgetDeferred(f"{provider.name} {provider.model}: rate limited by the "
                                 f"provider", exc.retry_after_ms) from None
        except (QuotaExhausted, ProviderRejected) as exc:
            self.limiter.release(held)  # refused up front: nothing was charged
            raise exc from None
        except LlmError as exc:
            if exc.charged_tokens is not None:
                self.limiter.settle(held, exc.charged_tokens)
            else:
                self.limiter.keep(held)  # a timeout may still have been charged
            raise
        except Exception:
            self.limiter.keep(held)  # a bug in a provider must not leak the reservation
            raise
        if completion.usage is not None:
            self.limiter.settle(held, completion.usage.total)
        else:
            self.limiter.keep(held)
        return completion

    def _failed(self, provider: Provider, call: int, exc: LlmError, next_step: str) -> None:
        kind = next((k for cls, k in _KIND if isinstance(exc, cls)), "failed")
        doclog.emit(doclog.EVENT_LLM_CALL_FAILED, provider=provider.name, model=provider.model,
                    call=call, kind=kind, error=str(exc), next=next_step)
        logger.warning("%s call %d failed (%s), next: %s: %s", provider.name, call, kind,
                       next_step, exc)
