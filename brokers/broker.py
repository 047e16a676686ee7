"""Build the Redis broker and wire its middleware: the one place where that happens."""

from __future__ import annotations

from functools import partial
from typing import Final

from dramatiq.brokers.redis import RedisBroker
from dramatiq.middleware import (
    AgeLimit,
    Callbacks,
    CurrentMessage,
    Middleware,
    Pipelines,
    ShutdownNotifications,
    TimeLimit,
)

from brokers.consumer import AtrRedisBroker, ConsumerGate, MovedAside
from middleware.deferral import DeferringRetries
from middleware.doclog import Doclog
from middleware.heartbeat import Heartbeat
from middleware.imagemagick import ImageMagickPolicy
from middleware.metrics import metrics_middleware
from middleware.payload import PayloadGuard
from middleware.permanent import PermanentFailures
from middleware.redis_outage import RedisOutage
from middleware.runtime import BindRuntime, Runtime
from middleware.sentry import Sentry
from middleware.systemd_notify import SystemdNotify
from pipeline import redis_client
from pipeline.doclog import DoclogWriter
from pipeline.groups import WorkerGroup
from pipeline.redact import Redactor
from pipeline.settings import Settings, process_environ

__all__ = ["DEFAULT_MAX_RETRIES", "ENVELOPE_STREAM", "EVENT_MOVED_ASIDE", "build_broker"]

#: Retries of an actor that does not set ``max_retries`` itself.
DEFAULT_MAX_RETRIES = 5
#: Back-off between retries, in milliseconds: 15 s doubling up to 30 min.
_MIN_BACKOFF_MS = 15_000
_MAX_BACKOFF_MS = 30 * 60_000
#: The doclog stream and event of a body moved aside by the envelope guard.
ENVELOPE_STREAM: Final = "envelope"
EVENT_MOVED_ASIDE: Final = "moved_aside"


def build_broker(settings: Settings, group: WorkerGroup | None = None) -> RedisBroker:
    """A RedisBroker on ``REDIS_URL`` with this project's middleware stack, in order.

    ``group`` is the worker group the broker runs in, or None for a producer
    (``atr send``, another service) that only enqueues.
    """
    # The writer opens nothing until the first line: no directory is made here.
    writer = DoclogWriter(settings.doclog_root, settings.zone, Redactor(settings.secrets()))
    middleware: list[Middleware] = [
        # First, so that its after-hooks run last (Dramatiq runs them in
        # reverse): Retries has then decided whether a failure is final, and a
        # message skipped by any later middleware is still recorded.
        Doclog(writer, group.name if group else None),
        # Sentry (only when SENTRY_DSN is set): one event per message that
        # finally fails. Second, not appended with the others below: like
        # Doclog it must come before Retries so that its after-hook sees
        # Retries' decision (message.failed) and skips attempts that will retry.
        Sentry(settings.sentry_dsn, group=group.name if group else None,
               environment=settings.env, secrets=settings.secrets()),
        # Before anything acts on the message: a payload that can never fit its
        # actor (kwargs not an object, a key named self, a wrong type) is
        # dead-lettered at once, without a retry, and Doclog writes `rejected`.
        PayloadGuard(),
        AgeLimit(),
        TimeLimit(),
        ShutdownNotifications(),
        Callbacks(),
        Pipelines(),
        # Dramatiq's Retries, plus deferral: a message waiting for LLM budget
        # (pipeline.errors.Deferred) is re-enqueued after its delay without
        # using up a retry or sleeping in a worker thread.
        DeferringRetries(
            max_retries=DEFAULT_MAX_RETRIES,
            min_backoff=_MIN_BACKOFF_MS,
            max_backoff=_MAX_BACKOFF_MS,
        ),
        CurrentMessage(),
        PermanentFailures(),
        # Names this worker process's group in Redis while its threads live, so
        # atr health can count live processes per group; a no-op in producers.
        Heartbeat(group.name if group else None),
        # Dramatiq's consumers drop the delayed messages they hold in memory
        # when they lose Redis (those stay in this worker's ack set, never
        # given back while it lives): requeue them once Redis answers, and
        # write redis.lost / redis.restored to the doclog. A no-op in producers.
        RedisOutage(writer, group.name if group else None),
    ]
    # The project's other middleware (ImageMagick policy, systemd, Prometheus)
    # is appended here, in this order; nothing is added anywhere else. (Sentry
    # and the LLM deferral, which replaces Retries, are placed above.) The
    # shared LLM rate limit itself is pipeline.llm.ratelimit, called by the
    # provider chain around each call; its "no budget" ends up in DeferringRetries.
    # ImageMagick policy (issue 6): defines the imagemagick_needs actor option;
    # preflight at worker boot (critical lines, the group keeps running) and,
    # before an image actor's code, a denial or bad font raises a PermanentError
    # that Retries dead-letters at once and Doclog records as `rejected`.
    # Inert in producers and in groups without image actors.
    middleware.append(ImageMagickPolicy(settings, group.name if group else None,
                                        process_environ()))
    if group is not None:
        # systemd readiness/watchdog (Type=notify units in ops/systemd/): READY
        # once all the group's processes booted, WATCHDOG while their threads
        # live, STOPPING on shutdown. A no-op unless systemd set NOTIFY_SOCKET.
        # It counts the processes the dramatiq master really runs, so the
        # group's shape includes the ATR_<GROUP>_PROCESSES/_THREADS overrides.
        middleware.append(SystemdNotify(process_environ(), settings.configured_group(group)))
        # Prometheus (ATR_METRICS_*): Dramatiq's message metrics and the queue
        # gauges on the group's own port and directory (under the unit's
        # RuntimeDirectory unless ATR_METRICS_DIR is set). None when the port is
        # 0. Inert until a dramatiq CLI worker process boots: producers and
        # in-process Workers never make a directory or open a port.
        metrics = metrics_middleware(settings, group, process_environ())
        if metrics is not None:
            middleware.append(metrics)
    # First: Dramatiq runs after-hooks in reverse, so its after_worker_boot runs
    # after every other boot hook; the fetcher starts only once the worker has
    # booted (see ConsumerGate). It has no message hooks.
    middleware.insert(0, ConsumerGate())
    client = redis_client.connect(settings.redis_url, "broker",
                                  name=f"atr-{group.name if group else 'producer'}")
    # What the actors read (middleware.runtime), bound per message so that each
    # broker in a process hands its own settings and client to its messages.
    middleware.append(BindRuntime(Runtime(settings, group, client)))
    # The project's consumer (brokers.consumer): weighted fetching across the
    # group's queues, blocking pickup, a heartbeat of its own and the recovery
    # sweep, and the envelope guard that moves malformed bodies aside.
    return AtrRedisBroker(
        client=client, middleware=middleware,
        group=group.name if group else None,
        queues=group.queue_names if group else (),
        weights=settings.weights_of(group) if group else None,
        heartbeat_timeout_ms=int(settings.broker_heartbeat_timeout_s * 1000),
        sweep_s=settings.recovery_sweep_s, poll_ms=settings.pickup_poll_ms,
        max_bytes=settings.envelope_max_bytes,
        on_moved_aside=partial(_record_moved_aside, writer),
    )


def _record_moved_aside(writer: DoclogWriter, moved: MovedAside) -> None:
    """The doclog line of a body the envelope guard moved aside."""
    record = moved.record
    writer.write(ENVELOPE_STREAM, {
        "event": EVENT_MOVED_ASIDE, "message_id": record.message_id, "actor": record.actor,
        "queue": record.queue, "group": record.group, "attempt": None,
        "redis_message_id": record.id, "reason": record.reason, "error": record.detail,
        "size": record.size})

