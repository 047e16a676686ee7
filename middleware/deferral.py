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
sleeps. Everything else is Dramatiq's Retries, except one thing: the
re-enqueue (of a retry or a deferral) waits out a lost Redis connection.
Dramatiq's Retries lets the connection error escape its hook, the broker logs
it, and the worker then acks the original once Redis is back: the message
would be gone without a retry. Waiting instead, as Dramatiq itself waits to
ack, keeps it; if the process stops before Redis returns, the original is
still unacked and comes back after the broker's heartbeat timeout. The
actor has returned by then, so its time limit is lifted for the wait:
TimeLimit's after-hook runs later than ours and its ``TimeLimitExceeded``
(a BaseException) would otherwise kill the worker thread mid-wait.

``RequeueAfter`` subclasses ``dramatiq.Retry``, so the worker does not log it as
an unhandled error; Doclog writes it as ``deferred`` with ``delay_ms``.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from typing import Any, Final

import dramatiq
import redis
from dramatiq.broker import MessageProxy
from dramatiq.errors import BrokerConnectionError
from dramatiq.middleware import Retries, TimeLimit
from dramatiq.middleware.time_limit import TimeLimitExceeded

from pipeline.errors import Deferred

__all__ = ["DEFERRALS_OPTION", "DeferringRetries", "RequeueAfter"]

logger = logging.getLogger(__name__)

#: Message option counting how many times the message was deferred.
DEFERRALS_OPTION: Final = "deferrals"
#: Jitter added to a deferral: up to this fraction of the delay, at most 1 s.
_JITTER: Final = 0.1
_JITTER_MAX_MS: Final = 1000
#: Waits between re-enqueue attempts while Redis is unreachable, in seconds.
_REENQUEUE_WAIT_S: Final = (0.5, 1.0, 2.0, 5.0)
_LOST_REDIS: Final = (redis.ConnectionError, redis.TimeoutError, BrokerConnectionError)


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
                _PatientBroker(broker), message, result=result, exception=exception)
            return
        message.options[DEFERRALS_OPTION] = int(message.options.get(DEFERRALS_OPTION, 0)) + 1
        logger.info("Message %r of %s waits %d ms: %s.", message.message_id,
                    message.actor_name, exception.delay_ms, exception.reason)
        # As Retries does: the proxy carries the updated options to the copy enqueued.
        _enqueue_patiently(broker, message, exception.delay_ms)


def _enqueue_patiently(broker: dramatiq.Broker, message: Any, delay: int | None) -> None:
    """``broker.enqueue(message, delay=delay)``, tried again until Redis answers."""
    attempt = 0
    while True:
        try:
            broker.enqueue(message, delay=delay)
            if attempt:
                logger.info("Message %r re-enqueued after %d attempt(s): Redis is back.",
                            message.message_id, attempt + 1)
            return
        except _LOST_REDIS as exc:
            if attempt == 0:
                _lift_time_limit(broker)
            wait = _REENQUEUE_WAIT_S[min(attempt, len(_REENQUEUE_WAIT_S) - 1)]
            if attempt % 12 == 0:  # at once, then about once a minute
                logger.warning("Could not re-enqueue message %r for its retry (%s); trying "
                               "again every %g s until Redis answers. The message is kept.",
                               message.message_id, exc, wait)
            attempt += 1
            try:
                time.sleep(wait)
            except TimeLimitExceeded:
                # Raised (once) just before the limit was lifted: the actor is done.
                logger.info("Message %r passed its time limit while waiting for Redis; "
                            "still waiting to re-enqueue it.", message.message_id)


def _lift_time_limit(broker: dramatiq.Broker) -> None:
    """Remove this worker thread's TimeLimit deadline (the actor has already returned)."""
    for middleware in broker.middleware:
        if isinstance(middleware, TimeLimit):
            middleware.manager.remove_timeout(  # type: ignore[no-untyped-call]
                threading.get_ident())


class _PatientBroker:
    """The broker as Dramatiq's Retries sees it, with a patient enqueue."""

    def __init__(self, broker: dramatiq.Broker) -> None:
        self._broker = broker

    def __getattr__(self, name: str) -> Any:
        return getattr(self._broker, name)

    def enqueue(self, message: Any, *, delay: int | None = None) -> None:
        _enqueue_patiently(self._broker, message, delay)
