"""Canary actors: ``ping_<queue>`` on every queue, to prove routing end to end.

``atr ping`` and the demo send one per queue and wait for the reply that the
worker pushes to Redis; an operator can do the same after a deploy. A canary
takes ``token`` (echoed in the reply), ``sleep_ms`` (0-60000, to hold a worker
thread, e.g. when testing a graceful shutdown) and ``fail_attempts`` (0-5: the
first N attempts raise :class:`CanaryFailure`, to drill retries and the
dead-letter queue; canaries retry up to :data:`MAX_RETRIES` times, 0.1-1 s apart).
"""

from __future__ import annotations

import json
import logging
import os
import re
import socket
import time
from collections.abc import Iterable
from typing import Final, cast

import dramatiq
from dramatiq.brokers.redis import RedisBroker
from dramatiq.middleware import CurrentMessage

from actors.base import atr_actor
from middleware import outcome
from pipeline import keys
from pipeline.errors import PayloadError, TransientError
from pipeline.text import quote_value

__all__ = [
    "DOCLOG_STREAM",
    "MAX_RETRIES",
    "REPLY_BY_OPTION",
    "REPLY_TTL_S",
    "CanaryFailure",
    "canary_name",
    "declare",
]

logger = logging.getLogger(__name__)

#: The one doclog stream of every canary.
DOCLOG_STREAM: Final = "canary"
#: Message option: epoch seconds after which nobody waits for the reply, so a
#: late canary ends quietly instead of answering to nobody (or dead-lettering).
REPLY_BY_OPTION: Final = "atr_reply_by"
#: How long a canary's reply waits in Redis for its reader, in seconds.
REPLY_TTL_S: Final = 3600
#: Retries of a failing canary (so fail_attempts > 3 ends in the dead-letter queue).
MAX_RETRIES: Final = 3
_MAX_SLEEP_MS: Final = 60_000
_MAX_FAIL_ATTEMPTS: Final = 5


class CanaryFailure(TransientError):
    """Raised by a canary asked to fail (``fail_attempts``): a drill, not a fault."""
_TOKEN_RE: Final = re.compile(r"[A-Za-z0-9_.:-]{1,64}")


def canary_name(queue: str) -> str:
    """The name of the canary actor on ``queue``."""
    return f"ping_{queue}"




def declare(broker: RedisBroker, queues: Iterable[str], group: str | None) -> None:
    """Declare ``ping_<queue>`` on each queue (once per broker).

    ``group`` is the worker group of this process (None in a producer), reported
    in the reply so a reader sees which group handled the message.
    """

    def ping(token: str = "", sleep_ms: int = 0, fail_attempts: int = 0) -> None:
        _answer(group, token, sleep_ms, fail_attempts)

    for queue in queues:
        name = canary_name(queue)
        if name not in broker.actors:
            atr_actor(queue=queue, name=name, broker=broker, max_retries=MAX_RETRIES,
                      min_backoff=100, max_backoff=1000, time_limit=_MAX_SLEEP_MS + 30_000,
                      doclog_stream=DOCLOG_STREAM)(ping)


def _answer(group: str | None, token: str, sleep_ms: int, fail_attempts: int) -> None:
    """Answer a canary: push who handled it to ``atr:ping:<token>``."""
    if not isinstance(token, str) or (token and not _TOKEN_RE.fullmatch(token)):
        raise PayloadError(f"token must be 1-64 characters of A-Z a-z 0-9 _ . : -, "
                           f"got {quote_value(token, 80)}")
    if isinstance(sleep_ms, bool) or not isinstance(sleep_ms, int) \
            or not 0 <= sleep_ms <= _MAX_SLEEP_MS:
        raise PayloadError(f"sleep_ms must be a whole number from 0 to {_MAX_SLEEP_MS}, "
                           f"got {quote_value(sleep_ms, 80)}")
    if isinstance(fail_attempts, bool) or not isinstance(fail_attempts, int) \
            or not 0 <= fail_attempts <= _MAX_FAIL_ATTEMPTS:
        raise PayloadError(f"fail_attempts must be a whole number from 0 to "
                           f"{_MAX_FAIL_ATTEMPTS}, got {quote_value(fail_attempts, 80)}")
    message = CurrentMessage.get_current_message()
    attempt = outcome.attempt(message) if message else 1
    if attempt <= fail_attempts:
        raise CanaryFailure(f"attempt {attempt} fails on request "
                            f"(fail_attempts={fail_attempts})")
    reply_by = message.options.get(REPLY_BY_OPTION) if message else None
    if isinstance(reply_by, int | float) and time.time() > reply_by:
        logger.info("Canary %r arrived after its reader gave up; not answered.",
                    message.message_id if message else None)
        return
    if sleep_ms:
        time.sleep(sleep_ms / 1000)
    reply = {
        "token": token,
        "queue": message.queue_name if message else None,
        "actor": message.actor_name if message else None,
        "message_id": message.message_id if message else None,
        "group": group,
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "attempt": attempt,
        "handled_at": time.time(),
    }
    logger.info("Canary %r on queue %r answered by group %r.",
                reply["actor"], reply["queue"], reply["group"])
    if token:
        client = cast(RedisBroker, dramatiq.get_broker()).client
        with client.pipeline() as pipe:
            pipe.rpush(keys.ping_reply(token), json.dumps(reply))
            pipe.expire(keys.ping_reply(token), REPLY_TTL_S)
            pipe.execute()
