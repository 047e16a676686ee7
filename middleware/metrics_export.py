"""The prometheus_client side of :mod:`middleware.metrics`: message metrics, queue gauges, HTTP.

Import this module only in a worker process, and only after
``PROMETHEUS_MULTIPROC_DIR`` names the group's directory: prometheus_client
decides between in-memory and multiprocess (one mmap file per process) values
from that variable when it is first imported. :class:`middleware.metrics.Metrics`
does exactly that, so producers, ``atr`` commands and in-process tests never
load prometheus_client through us.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Final
from wsgiref.simple_server import WSGIServer

import redis
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server
from prometheus_client import values as prometheus_values
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead

from pipeline import redis_client
from pipeline.groups import WorkerGroup
from pipeline.health import Thresholds
from pipeline.health_probe import observe
from pipeline.settings import Settings

__all__ = ["Exporter", "MessageMetrics", "QueueGauges", "ensure_multiprocess",
           "mark_process_dead"]

logger = logging.getLogger(__name__)

_LABELS: Final = ("queue_name", "actor_name")
#: Dramatiq's own buckets (``dramatiq.middleware.prometheus``), in milliseconds,
#: so that dashboards built for its metrics read ours unchanged.
_DURATION_BUCKETS_MS: Final = (5, 10, 25, 50, 75, 100, 250, 500, 750, 1000, 2500, 5000, 7500,
                               10000, 30000, 60000, 600000, 900000, float("inf"))


def ensure_multiprocess() -> None:
    """Make prometheus_client write this process's values to the multiprocess directory.

    When something imported prometheus_client before ``PROMETHEUS_MULTIPROC_DIR``
    was set, it chose in-memory values that the exporter of another process
    could never read; asking its own chooser again fixes that for every
    metric made from now on.
    """
    if not getattr(prometheus_values.ValueClass, "_multiprocess", False):
        # get_value_class is unannotated in prometheus_client 0.26.
        prometheus_values.ValueClass = prometheus_values.get_value_class()  # type: ignore[no-untyped-call]


class MessageMetrics:
    """Dramatiq's message metrics, under Dramatiq's names, labelled by queue and actor.

    Multiprocess mode: counters and the histogram add up over the group's
    processes; the in-progress gauges are ``livesum`` (a dead process's share is
    dropped by :func:`mark_process_dead`).
    """

    def __init__(self) -> None:
        # Not in the global registry: the exporter reads the files, not these objects.
        self.total = Counter("dramatiq_messages_total", "The total number of messages processed.",
                             _LABELS, registry=None)
        self.errored = Counter("dramatiq_message_errors_total",
                               "The total number of errored messages.", _LABELS, registry=None)
        self.retried = Counter("dramatiq_message_retries_total",
                               "The total number of retried messages.", _LABELS, registry=None)
        self.rejected = Counter("dramatiq_message_rejects_total",
                                "The total number of dead-lettered messages.", _LABELS,
                                registry=None)
        self.in_progress = Gauge("dramatiq_messages_inprogress",
                                 "The number of messages in progress.", _LABELS,
                                 registry=None, multiprocess_mode="livesum")
        self.delayed = Gauge("dramatiq_delayed_messages_inprogress",
                             "The number of delayed messages in memory.", _LABELS,
                             registry=None, multiprocess_mode="livesum")
        self.durations = Histogram("dramatiq_message_duration_milliseconds",
                                   "The time spent processing messages.", _LABELS,
                                   buckets=_DURATION_BUCKETS_MS, registry=None)


class QueueGauges:
    """``atr_queue_*`` gauges of one group's queues, read from Redis on every scrape.

    The reads are :func:`pipeline.health_probe.observe`'s (the same keys and
    head-message script as ``atr health``), and only reads: a scrape never
    touches ``atr health``'s bookkeeping (backlog streak start, doclog error
    snapshot), so how often Prometheus scrapes cannot change its answer.
    """

    def __init__(self, settings: Settings, group: WorkerGroup) -> None:
        self.settings = settings
        self.group = group
        self._thresholds = Thresholds.from_settings(settings)
        self._client = redis_client.connect(settings.redis_url, "probe", decode=True,
                                            name=f"atr-{group.name}-metrics")
        self._failing = False
        self._lock = threading.Lock()

    def collect(self) -> Iterable[Metric]:
        """The gauges now; none when Redis cannot be read (the scrape still succeeds)."""
        try:
            observations = observe(self._client, self.settings, [self.group],
                                   self._thresholds, time.time())
        except redis.RedisError as exc:
            self._note_failure(exc)
            return []
        self._note_failure(None)
        waiting = GaugeMetricFamily("atr_queue_waiting", "Messages waiting in the queue.",
                                    labels=["queue"])
        oldest = GaugeMetricFamily("atr_queue_oldest_age_seconds",
                                   "How long the next message to fetch has been due, in "
                                   "seconds (0 when the queue is empty).", labels=["queue"])
        dead = GaugeMetricFamily("atr_queue_dead", "Messages in the queue's dead-letter set.",
                                 labels=["queue"])
        for queue in observations.queues:
            waiting.add_metric([queue.name], queue.waiting)
            oldest.add_metric([queue.name], queue.oldest_age_s or 0.0)
            dead.add_metric([queue.name], queue.dead)
        return [waiting, oldest, dead]

    def close(self) -> None:
        """Close the Redis connections."""
        self._client.close()

    def _note_failure(self, exc: redis.RedisError | None) -> None:
        # Scrapes come every few seconds: one line when reading starts and stops failing.
        with self._lock:
            if exc is not None and not self._failing:
                logger.warning("%s: cannot read the queue backlog from Redis for Prometheus "
                               "(%s); atr_queue_* are left out of scrapes until it answers.",
                               self.group.name, exc)
            elif exc is None and self._failing:
                logger.info("%s: Redis answers again; atr_queue_* are back.", self.group.name)
            self._failing = exc is not None


class Exporter:
    """The group's ``/metrics`` over HTTP: every process's files plus the queue gauges."""

    def __init__(self, directory: Path, queue_gauges: QueueGauges) -> None:
        self.registry = CollectorRegistry()
        MultiProcessCollector(self.registry, path=str(directory))  # type: ignore[no-untyped-call]
        self.registry.register(queue_gauges)
        self._queue_gauges = queue_gauges
        self._server: WSGIServer | None = None

    def start(self, bind: str, port: int) -> None:
        """Listen on ``bind``:``port`` from a daemon thread; OSError when it cannot bind."""
        self._server, _ = start_http_server(port, addr=bind, registry=self.registry)

    def stop(self) -> None:
        """Stop listening and close the Redis connections."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        self._queue_gauges.close()
