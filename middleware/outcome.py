"""How a processed message ended, and which attempt it was: decided once for every observer.

Doclog, Sentry, the Prometheus metrics and the permanent-failure log each
react to the end of a message; they read the answer here so that a message
Doclog calls ``dead`` is the one Sentry reports as dead, never a second guess.

Called from an after-hook of a middleware placed *before* Retries (Dramatiq
runs after-hooks in reverse), so Retries has decided: ``message.failed`` tells
a final failure from an attempt that will be retried.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

import dramatiq
from dramatiq.broker import MessageProxy

from middleware.deferral import RequeueAfter
from pipeline.errors import PermanentError

__all__ = ["FINAL_FAILURES", "Outcome", "attempt", "outcome", "rejects"]


class Outcome(StrEnum):
    """The end of one delivery; the values are the doclog event names."""

    #: The actor returned.
    SUCCEEDED = "succeeded"
    #: The actor raised and Retries will try again.
    FAILED = "failed"
    #: Retries exhausted, or failed by a middleware before the actor ran: dead-lettered.
    DEAD = "dead"
    #: A :class:`PermanentError` (bad input): dead-lettered at once, no retry.
    REJECTED = "rejected"
    #: Waits for a shared budget or a lock (:class:`RequeueAfter`); no retry used.
    DEFERRED = "deferred"
    #: A middleware skipped it (AgeLimit, ...); ``message.failed`` says if dead-lettered.
    SKIPPED = "skipped"


#: Outcomes after which the message is in the dead-letter queue for a failure.
FINAL_FAILURES = frozenset({Outcome.DEAD, Outcome.REJECTED})


def attempt(message: dramatiq.Message[Any] | MessageProxy) -> int:
    """1 for the first delivery: Retries counts in ``retries`` the attempts already failed."""
    return 1 + int(message.options.get("retries", 0))


def outcome(message: MessageProxy, exception: BaseException | None) -> Outcome:
    """How the processing of ``message`` ended (``after_process_message``'s arguments)."""
    if isinstance(exception, RequeueAfter):
        return Outcome.DEFERRED
    if exception is None:
        return Outcome.DEAD if message.failed else Outcome.SUCCEEDED
    if not message.failed:
        return Outcome.FAILED
    return Outcome.REJECTED if rejects(exception) else Outcome.DEAD


def rejects(exception: BaseException | None) -> bool:
    """True when ``exception`` dead-letters its message at once (every actor ``throws`` it).

    For a hook that runs before Retries decides (``message.failed`` not yet set).
    """
    return isinstance(exception, PermanentError)
