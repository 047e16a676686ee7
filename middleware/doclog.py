"""Write a doclog line for every step of every message, and count lost lines in Redis.

Events (see :mod:`pipeline.doclog.events`): ``started``; then ``succeeded``,
``failed`` (will retry), ``dead`` (retries exhausted or failed by a
middleware), ``rejected`` (a :class:`PermanentError`, dead-lettered at once),
``deferred`` (waits for a shared budget, ``delay_ms``; no retry used) or
``skipped``. ``attempt`` is 1 for the first delivery: Dramatiq's Retries
middleware stores in ``message.options["retries"]`` how many attempts already
failed, so attempt = 1 + retries, read when the message starts.

Order matters: this middleware must come BEFORE ``Retries`` in the broker's
list. ``after_*`` hooks run in reverse order, so ours then runs after
Retries has decided — ``message.failed`` tells a final failure from one that
will be retried. ``brokers.broker`` puts it first, so it also sees messages
that a later middleware skips, and its duration covers the whole stack.

The stream of an actor is its ``doclog_stream`` option, by default its name.
Lines lost to I/O errors (:attr:`DoclogWriter.errors`) are added to the Redis
counter :func:`pipeline.keys.write_errors` (``atr:doclog:write_errors:<group>``, or
``...:producer``), which ``atr health`` reads; it is never reset.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from typing import Any, Final

import dramatiq
import redis
from dramatiq.broker import MessageProxy
from dramatiq.brokers.redis import RedisBroker
from dramatiq.common import q_name
from dramatiq.middleware import Middleware

from middleware.deferral import DEFERRALS_OPTION, RequeueAfter
from middleware.outcome import FINAL_FAILURES, Outcome, attempt, outcome
from middleware.payload import rejection_of
from pipeline import doclog, keys
from pipeline.doclog import DoclogWriter, MessageScope

__all__ = ["DOCLOG_STREAM_OPTION", "Doclog"]

logger = logging.getLogger(__name__)

#: The actor option naming the doclog stream (default: the actor's name).
DOCLOG_STREAM_OPTION: Final = "doclog_stream"
_NOT_A_STREAM_CHAR: Final = re.compile(r"[^a-z0-9_]")




class Doclog(Middleware):
    """One doclog line per lifecycle event of every message; binds :func:`doclog.emit`.

    ``group`` is the worker group of this process (None in a producer); it is
    written on every line and names the Redis error counter.
    """

    def __init__(self, writer: DoclogWriter, group: str | None) -> None:
        self.writer = writer
        self.group = group
        self._lock = threading.Lock()
        self._published = 0  # writer.errors already added to the Redis counter

    @property
    def actor_options(self) -> set[str]:
        return {DOCLOG_STREAM_OPTION}

    def before_process_message(self, broker: dramatiq.Broker, message: MessageProxy) -> None:
        # Boundary (here and in every hook): evidence must never break a job, so
        # any failure is logged with its traceback and the message goes on.
        try:
            scope = MessageScope(self.writer, self._stream(broker, message),
                                 self._fields(message))
            doclog.bind_message(scope)
            self.writer.write(scope.stream, {**scope.fields, "event": doclog.EVENT_STARTED,
                                             **_payload(message)})
        except Exception:
            logger.exception("Doclog could not record the start of message %r; "
                             "the message is processed anyway.", message.message_id)

    def after_process_message(self, broker: dramatiq.Broker, message: MessageProxy, *,
                              result: Any = None,
                              exception: BaseException | None = None) -> None:
        try:
            ended = outcome(message, exception)
            if isinstance(exception, RequeueAfter):
                self._finish(broker, message, ended,
                             extra={"delay_ms": exception.delay_ms, "reason": exception.reason,
                                    DEFERRALS_OPTION: message.options.get(DEFERRALS_OPTION)})
                return
            if exception is not None:
                error: str | None = doclog.error_text(exception)
            elif ended is Outcome.DEAD:
                # Failed without an exception: a middleware failed it before
                # the actor could run; it goes to the dead-letter queue.
                error = "failed by a middleware before the actor ran"
            else:
                error = None
            self._finish(broker, message, ended, error=error)
        except Exception:
            logger.exception("Doclog could not record the end of message %r; "
                             "the job's outcome is unaffected.", message.message_id)
        finally:
            self._end(broker)

    def after_skip_message(self, broker: dramatiq.Broker, message: MessageProxy) -> None:
        try:
            rejected = rejection_of(message)
            if rejected is not None:
                # PayloadGuard: a payload that can never fit, dead-lettered at once.
                self._finish(broker, message, Outcome.REJECTED,
                             error=doclog.error_text(rejected))
                return
            self._finish(broker, message, Outcome.SKIPPED, dead_letter=bool(message.failed))
        except Exception:
            logger.exception("Doclog could not record that message %r was skipped.",
                             message.message_id)
        finally:
            self._end(broker)

    def after_worker_shutdown(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        self.writer.close()

    def _end(self, broker: dramatiq.Broker) -> None:
        doclog.bind_message(None)
        try:
            self._publish_errors(broker)
        except Exception:
            logger.exception("Doclog could not publish its write-error count.")

    def _finish(self, broker: dramatiq.Broker, message: MessageProxy, event: str, *,
                error: str | None = None, dead_letter: bool | None = None,
                extra: dict[str, Any] | None = None) -> None:
        event = str(event)  # a plain str in the record, not the Outcome member
        scope = doclog.current_scope()
        record: dict[str, Any]
        if scope is not None and scope.fields["message_id"] == message.message_id:
            stream = scope.stream
            record = {**scope.fields, "event": event,
                      "duration_ms": round((time.monotonic() - scope.started) * 1000, 1)}
        else:  # our before hook did not run (another middleware raised first)
            stream = self._stream(broker, message)
            record = {**self._fields(message), "event": event}
        if error is not None:
            record["error"] = error
        if dead_letter is not None:
            record["dead_letter"] = dead_letter
        if extra:
            record.update(extra)
        if event in FINAL_FAILURES:
            record.update(_payload(message))  # the final line says what was given up
        self.writer.write(stream, record)

    def _fields(self, message: MessageProxy) -> dict[str, Any]:
        return {"message_id": message.message_id, "actor": message.actor_name,
                "queue": q_name(message.queue_name), "group": self.group,
                "attempt": attempt(message)}

    def _stream(self, broker: dramatiq.Broker, message: MessageProxy) -> str:
        actor = broker.actors.get(message.actor_name)
        stream = actor.options.get(DOCLOG_STREAM_OPTION) if actor is not None else None
        if isinstance(stream, str) and stream:
            return stream
        # atr_actor checks names at declaration; anything else is made a valid name.
        name = message.actor_name.lower()
        return name if doclog.is_valid_stream(name) \
            else _NOT_A_STREAM_CHAR.sub("_", name)[:64] or "unknown"

    def _publish_errors(self, broker: dramatiq.Broker) -> None:
        """Add lines lost since the last call to the group's Redis counter."""
        with self._lock:
            delta = self.writer.errors - self._published
            if delta <= 0 or not isinstance(broker, RedisBroker):
                return
            self._published += delta
        key = keys.write_errors(self.group)
        try:
            broker.client.incrby(key, delta)
        except redis.RedisError as exc:
            with self._lock:
                self._published -= delta  # try again after the next message
            logger.warning("Could not add %d lost doclog line(s) to Redis counter %s: %s",
                           delta, key, exc)


def _payload(message: MessageProxy) -> dict[str, Any]:
    # As sent, whatever its shape: a kwargs that is not an object is what the
    # rejected line must show.
    args, kwargs = message.args, message.kwargs
    return {"args": list(args) if isinstance(args, tuple) else args,
            "kwargs": dict(kwargs) if isinstance(kwargs, dict) else kwargs}
