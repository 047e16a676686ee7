"""Re-enqueue a message that must wait for a shared budget, without using up a retry.

An LLM actor whose call finds no budget in the shared limiter (or a provider
cooling down after a 429) raises :class:`pipeline.errors.Deferred`; the actor
wrapper (``actors.base``) turns it into :class:`RequeueAfter`. Dramatiq's own
``Retries`` would count that as a failed attempt and, after ``max_retries``,
dead-letter a message that never failed; its ``RateLimitExceeded`` does the
same. :class:`DeferringRetries` replaces ``Retries`` in the stack: a RequeueAfter
is re-enqueued on the delay queue after ``delay_ms`` (plus a little jitter so
deferred messages do not come back as one herd) with its retry count
untouched, and ``options["deferrals"]`` counting the waits. No worker thread
sleeps. Everything else is Dramatiq's Retries, unchanged.

``RequeueAfter`` subclasses ``dramatiq.Retry``, so the worker does not log it as
an unhandled error; Doclog writes it as ``deferred`` with ``delay_ms``.
"""

from __future__ import annotations

import logging
import random
from typing import Any, Final

import dramatiq
from dramatiq.broker import MessageProxy
from dramatiq.middleware import Retries

from pipeline.errors import Deferred

__all__ = ["DEFERRALS_OPTION", "DeferringRetries", "RequeueAfter"]

logger = logging.getLogger(__name__)

#: Message option counting how many times the message was deferred.
DEFERRALS_OPTION: Final = "deferrals"
#: Jitter added to a deferral: up to this fraction of the delay, at most 1 s.
_JITTER: Final = 0.1
_JITTER_MAX_MS: Final = 1000


class RequeueAfter(dramatiq.Retry):
    """Raised (by the actor wrapper) for a message that must wait ``delay_ms``; not a failure.

    The domain's :class:`pipeline.errors.Deferred` says what happened to the
    job; this is the Dramatiq signal that carries it out: re-enqueue after the delay.
    """

    def __init__(self, reason: str, delay_ms: int) -> None:
        super().__init__(f"{reason}; waiting {delay_ms} ms", delay=delay_ms)
        self.reason = reason
        self.delay_ms = delay_ms

    @classmethod
    def of(cls, deferred: Deferred) -> RequeueAfter:
        """The re-enqueue a pipeline :class:`Deferred` asks for, jitter added to its delay."""
        jitter = min(_JITTER_MAX_MS, int(deferred.delay_ms * _JITTER))
        return cls(deferred.reason, deferred.delay_ms + random.randint(0, max(0, jitter)))


class DeferringRetries(Retries):
    """Dramatiq's Retries, except that a :class:`RequeueAfter` waits without counting a retry."""

    def after_process_message(self, broker: dramatiq.Broker, message: MessageProxy, *,
                              result: Any = None,
                              exception: BaseException | None = None) -> None:
        if not isinstance(exception, RequeueAfter):
            # Retries.after_process_message is unannotated in dramatiq 2.2.
            super().after_process_message(  # type: ignore[no-untyped-call]
                broker, message, result=result, exception=exception)
            return
        message.options[DEFERRALS_OPTION] = int(message.options.get(DEFERRALS_OPTION, 0)) + 1
        logger.info("Message %r of %s waits %d ms: %s.", message.message_id,
                    message.actor_name, exception.delay_ms, exception.reason)
        # As Retries does: the proxy carries the updated options to the copy enqueued.
        broker.enqueue(message, delay=exception.delay_ms)  # type: ignore[arg-type]
