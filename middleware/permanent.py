"""Log why a message was dead-lettered without a retry.

For an exception listed in the actor's ``throws`` (our :class:`PermanentError`),
Dramatiq logs only the exception's class name at INFO and dead-letters the
message. The reason ("post 42 does not exist") is what an operator needs, so
this hook logs it once, as a warning, with the message id and actor; also
for a payload :class:`~middleware.payload.PayloadGuard` rejected before the
actor ran.
"""

from __future__ import annotations

import logging
from typing import Any

import dramatiq
from dramatiq.broker import MessageProxy
from dramatiq.middleware import Middleware

from middleware.outcome import rejects
from middleware.payload import rejection_of

__all__ = ["PermanentFailures"]

logger = logging.getLogger(__name__)


class PermanentFailures(Middleware):
    """Log the reason of each permanent failure once, at WARNING."""

    def after_process_message(self, broker: dramatiq.Broker, message: MessageProxy, *,
                              result: Any = None, exception: BaseException | None = None) -> None:
        if rejects(exception):
            logger.warning("Message %r of %s goes to the dead-letter queue without retry: "
                           "%s: %s", message.message_id, message.actor_name,
                           type(exception).__name__, exception)

    def after_skip_message(self, broker: dramatiq.Broker, message: MessageProxy) -> None:
        rejected = rejection_of(message)
        if rejected is not None:
            logger.warning("Message %r of %s goes to the dead-letter queue without retry: "
                           "%s: %s", message.message_id, message.actor_name,
                           type(rejected).__name__, rejected)
