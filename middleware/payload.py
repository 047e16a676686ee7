"""Reject a payload that can never fit its actor before Dramatiq tries to call it.

Dramatiq calls ``actor(*message.args, **message.kwargs)``. A producer's
``kwargs`` that is a JSON array raises a TypeError in the worker, and a key
named ``self`` one inside ``Actor.__call__``: both before any code of ours,
so they used to be retried like any failure. This hook checks the payload
(:func:`pipeline.payload.check_call`: shape, keys, types, no coercion) before
the actor is looked at; a payload that fails is failed at once and skipped
with :class:`PayloadRejected`, so Retries never sees it (no retry) and the
message goes to the dead-letter queue.

Doclog records such a skip as ``rejected`` with the error (not ``skipped``)
and PermanentFailures logs the reason: both read it back with
:func:`rejection_of`. A message for an actor this worker does not know is left
to Dramatiq, which dead-letters it.
"""

from __future__ import annotations

import inspect

import dramatiq
from dramatiq.broker import MessageProxy
from dramatiq.middleware import Middleware, SkipMessage

from pipeline.errors import PayloadError
from pipeline.payload import check_call

__all__ = ["PayloadGuard", "PayloadRejected", "rejection_of"]


class PayloadRejected(SkipMessage):
    """Raised by :class:`PayloadGuard` for a payload that can never fit; ``error`` says why."""

    def __init__(self, error: PayloadError) -> None:
        super().__init__(str(error))
        self.error = error


class PayloadGuard(Middleware):
    """Fail and skip, before the actor runs, a message whose payload does not fit it."""

    def before_process_message(self, broker: dramatiq.Broker, message: MessageProxy) -> None:
        actor = broker.actors.get(message.actor_name)
        if actor is None:
            return
        try:
            check_call(inspect.unwrap(actor.fn), message.actor_name, message.args,
                       message.kwargs)
        except PayloadError as exc:
            message.fail()
            raise PayloadRejected(exc) from None


def rejection_of(message: MessageProxy) -> PayloadError | None:
    """The PayloadError :class:`PayloadGuard` rejected ``message`` with, in skip hooks."""
    # The worker stuffs the SkipMessage of a failed message into the proxy
    # (``stuff_exception``) before the after_skip_message hooks run; Dramatiq
    # has no public reader for it.
    exception = getattr(message, "_exception", None)
    return exception.error if isinstance(exception, PayloadRejected) else None
