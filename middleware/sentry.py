"""Report each message that finally fails to Sentry, once, with secrets scrubbed.

Enabled when ``SENTRY_DSN`` is set; without it no hook touches ``sentry_sdk``
(it is never initialised). One event per message whose failure is final:

- ``dead``: retries exhausted, or failed by a middleware before the actor ran;
- ``rejected``: a :class:`PermanentError` (bad payload), dead-lettered at once,
  also when :class:`middleware.payload.PayloadGuard` refused it before the actor.

No event for an attempt that Retries will retry (nor, so, for a message that
later succeeds), nor for a skipped message other than a refused payload. A
skip is a middleware's policy decision, not an error: a deferral re-enqueues
the message, and even a skip that dead-letters (``AgeLimit`` expiry) has no
exception to group and is already visible as a doclog ``skipped`` line with
``dead_letter: true``, in the dead-letter count and in ``atr health``.

The decision is the one :class:`middleware.doclog.Doclog` makes, from
``message.failed`` after Retries has run: this middleware must therefore come
BEFORE ``Retries`` in the broker's list (after-hooks run in reverse order).

Why not Sentry's own integrations: ``DramatiqIntegration`` reports every failed
attempt, and the default ``LoggingIntegration`` turns Dramatiq's "Failed to
process message ... with unhandled exception" error log into a second event
per attempt. So the Dramatiq integration stays off, logging keeps only
breadcrumbs (``event_level=None``: no log record anywhere becomes an event;
ignoring Dramatiq's loggers by name would still let the SDK clients' and our
own error logs through, once per attempt), and the auto-enabling integrations
are off too (the OpenAI one captures every failed API call).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final, cast

import dramatiq
import sentry_sdk
from dramatiq.broker import MessageProxy
from dramatiq.common import q_name
from dramatiq.middleware import Middleware
from sentry_sdk.integrations.dramatiq import DramatiqIntegration
from sentry_sdk.integrations.logging import LoggingIntegration

from middleware.outcome import FINAL_FAILURES, Outcome, attempt, outcome
from middleware.payload import rejection_of
from pipeline.redact import Redactor

if TYPE_CHECKING:
    from sentry_sdk._types import Event, Hint

__all__ = ["FLUSH_TIMEOUT_S", "KIND_DEAD", "KIND_REJECTED", "Sentry"]

logger = logging.getLogger(__name__)

#: Tag ``kind`` of a message that died (retries exhausted, or failed by a middleware).
KIND_DEAD: Final = Outcome.DEAD.value
#: Tag ``kind`` of a message rejected at once by a :class:`PermanentError`.
KIND_REJECTED: Final = Outcome.REJECTED.value
#: How long a stopping worker waits for queued events to reach Sentry, in seconds.
#: Shorter than the worker shutdown timeout, so a dead Sentry never delays a stop much.
FLUSH_TIMEOUT_S: Final = 2.0
#: Top-level event keys that describe a user or an HTTP request: never sent.
_DROPPED_KEYS: Final = ("request", "user")


class Sentry(Middleware):
    """One scrubbed Sentry event per finally failed message of worker ``group``.

    ``dsn`` is ``SENTRY_DSN`` (None: the middleware does nothing),
    ``environment`` is ``ATR_ENV``, ``secrets`` are the values in force
    (:meth:`pipeline.settings.Settings.secrets`) that must never leave the host.
    """

    def __init__(self, dsn: str | None, *, group: str | None, environment: str,
                 secrets: tuple[str, ...] = ()) -> None:
        self.dsn = dsn
        self.group = group
        self.environment = environment
        self.redactor = Redactor(secrets)
        self._lock = threading.Lock()
        # The pid that initialised the SDK: one init per worker process, and a
        # forked child never trusts a client (and transport thread) it inherited.
        self._init_pid: int | None = None
        # Attempt number of each message in progress, by message id, read when it
        # starts: Retries has already counted the failure when our after-hook runs.
        self._attempts: dict[str, int] = {}

    @property
    def enabled(self) -> bool:
        """Whether this process initialised Sentry and reports to it."""
        return self._init_pid == os.getpid()

    def before_worker_boot(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        # Before the worker threads start, so the first message is covered; it
        # runs in each forked worker process of the CLI and in in-process
        # workers alike (after_process_boot exists only under the CLI).
        if self.dsn is None:
            return
        # Boundary: monitoring must never stop a worker from booting.
        try:
            self._init()
        except Exception:
            logger.exception("Could not initialise Sentry; the worker runs without it.")

    def before_process_message(self, broker: dramatiq.Broker, message: MessageProxy) -> None:
        if not self.enabled:
            return
        with self._lock:
            self._attempts[message.message_id] = attempt(message)
        # Breadcrumbs live in the worker thread's isolation scope; without this
        # an event would carry the log lines of the thread's previous messages.
        try:
            sentry_sdk.get_isolation_scope().clear_breadcrumbs()
        except Exception:
            logger.exception("Could not reset Sentry breadcrumbs for message %r; "
                             "the message is processed anyway.", message.message_id)

    def after_process_message(self, broker: dramatiq.Broker, message: MessageProxy, *,
                              result: Any = None,
                              exception: BaseException | None = None) -> None:
        if not self.enabled:
            return
        with self._lock:
            tried = self._attempts.pop(message.message_id, None)
        ended = outcome(message, exception)
        if ended not in FINAL_FAILURES:
            return
        # Boundary: a monitoring failure must never change a job's outcome.
        try:
            self._capture(message, exception, ended, tried)
        except Exception:
            logger.exception("Could not report message %r to Sentry; its outcome is "
                             "unaffected.", message.message_id)

    def after_skip_message(self, broker: dramatiq.Broker, message: MessageProxy) -> None:
        # No event for a skip, dead-lettered or not (see the module docstring),
        # except a payload PayloadGuard rejected: a rejection like any other.
        with self._lock:
            tried = self._attempts.pop(message.message_id, None)
        rejected = rejection_of(message)
        if rejected is None or not self.enabled:
            return
        try:
            self._capture(message, rejected, Outcome.REJECTED, tried)
        except Exception:
            logger.exception("Could not report message %r to Sentry; its outcome is "
                             "unaffected.", message.message_id)

    def after_worker_shutdown(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        if not self.enabled:
            return
        # close() flushes first: the events of the last failures go out before exit.
        try:
            sentry_sdk.get_client().close(timeout=FLUSH_TIMEOUT_S)
        except Exception:
            logger.exception("Could not flush Sentry events on shutdown; some may be lost.")
        finally:
            with self._lock:
                self._init_pid = None

    def _init(self) -> None:
        with self._lock:
            if self.enabled:
                return
            sentry_sdk.init(
                dsn=self.dsn,
                environment=self.environment,
                # No PII: send_default_pii is left at its default (off); passing it
                # is deprecated in sentry-sdk 2.7x, and _before_send drops user
                # and request data whatever an integration adds.
                include_local_variables=False,
                before_send=self._before_send,
                default_integrations=True,
                auto_enabling_integrations=False,
                integrations=[LoggingIntegration(level=logging.INFO, event_level=None)],
                disabled_integrations=[DramatiqIntegration],
                shutdown_timeout=FLUSH_TIMEOUT_S,
            )
            self._init_pid = os.getpid()
        logger.info("Sentry reporting is on for %s (environment %s).", self.group,
                    self.environment)

    def _capture(self, message: MessageProxy, exception: BaseException | None, ended: Outcome,
                 tried: int | None) -> None:
        kind = KIND_REJECTED if ended is Outcome.REJECTED else KIND_DEAD
        queue = q_name(message.queue_name)
        # As sent: a rejected payload's kwargs may not even be an object.
        kwargs = message.kwargs
        with sentry_sdk.new_scope() as scope:
            scope.set_tag("group", self.group or "producer")
            scope.set_tag("queue", queue)
            scope.set_tag("actor", message.actor_name)
            scope.set_tag("message_id", message.message_id)
            scope.set_tag("kind", kind)
            post_id = kwargs.get("post_id") if isinstance(kwargs, dict) else None
            if post_id is not None:
                scope.set_tag("post_id", str(post_id))
            scope.set_context("message", {
                "message_id": message.message_id, "actor": message.actor_name,
                "queue": queue, "attempt": tried, "kwargs": kwargs,
            })
            # Rejections are bad input from a producer, deaths are our failures.
            scope.level = "warning" if kind == KIND_REJECTED else "error"
            if exception is None:
                scope.fingerprint = ["atr", message.actor_name, "failed-by-middleware"]
                sentry_sdk.capture_message(
                    f"Message {message.message_id} of {message.actor_name} was failed by "
                    f"a middleware before the actor ran")
            else:
                scope.fingerprint = ["atr", message.actor_name, _type_name(exception)]
                sentry_sdk.capture_exception(exception)

    def _before_send(self, event: Event, hint: Hint) -> Event | None:
        """The event with request/user data dropped and every string scrubbed."""
        # An exception here would make the SDK drop the event (logged by the SDK
        # only), which is the safe side: better no event than a leaked secret.
        kept = {k: v for k, v in cast(Mapping[str, Any], event).items()
                if k not in _DROPPED_KEYS}
        return cast("Event", self.redactor.redact(kept))


def _type_name(exception: BaseException) -> str:
    cls = type(exception)
    return cls.__name__ if cls.__module__ == "builtins" else f"{cls.__module__}.{cls.__qualname__}"
