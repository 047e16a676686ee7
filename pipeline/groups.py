"""The worker-group table: the one place that says which group runs which queues, how.

The two entrypoints (``brokers.worker1`` / ``brokers.worker2``), ``atr worker``,
``atr workers``, the systemd units and the docs are derived from this table or
checked against it by tests. It sits on the domain floor, beside the queue
names, because every floor needs it: the settings check their per-group
variables (``ATR_<GROUP>_PROCESSES``, ``ATR_METRICS_<GROUP>_PORT``, ...)
against it, the middleware labels metrics and heartbeats with it, and the
brokers and the CLI boot and print it. It imports nothing but the names and
the errors, so the CLI can print the table without Dramatiq.

Queue weights are the runbook's Sidekiq weights, and they are in force: the
project's consumer (``brokers.consumer``) fetches for all of a group's queues
in one weighted round-robin, so under saturation each queue's share of the
messages processed follows its weight, the smallest weight still gets its
share, and an empty queue's share goes to the others. ``ATR_<GROUP>_WEIGHTS``
overrides a group's weights on one host. No queue has strict precedence
(``high`` is an ordinary weight): strict priority starves the other queues
once the urgent one is saturated.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Final

from pipeline import names
from pipeline.errors import UnknownGroupError

__all__ = ["GROUPS", "QueueWeight", "WorkerGroup", "get_group", "group_of_queue"]


@dataclass(frozen=True)
class QueueWeight:
    """A queue consumed by a group, with its Sidekiq-style weight."""

    name: str
    weight: int


@dataclass(frozen=True)
class WorkerGroup:
    """One worker group: its queues, its process x thread shape and its actor modules."""

    name: str
    role: str
    instance_type: str
    queues: tuple[QueueWeight, ...]
    processes: int
    threads: int
    #: How long a stopping worker waits for running messages, in seconds.
    shutdown_timeout_s: int
    #: Modules declaring this group's actors, imported by ``brokers.boot`` only.
    actor_modules: tuple[str, ...]
    #: Default Prometheus port of the group (``ATR_METRICS_<GROUP>_PORT`` overrides it);
    #: two groups on one host need different ports.
    metrics_port: int

    @property
    def concurrency(self) -> int:
        """Messages processed at once: processes x threads."""
        return self.processes * self.threads

    @property
    def queue_names(self) -> tuple[str, ...]:
        """The group's queues, heaviest weight first."""
        return tuple(q.name for q in self.queues)

    @property
    def entrypoint(self) -> str:
        """The ``module:attribute`` that the dramatiq CLI boots."""
        return f"brokers.{self.name}:broker"

    def with_shape(self, processes: int | None, threads: int | None) -> WorkerGroup:
        """The same group with processes and/or threads overridden (None keeps the table)."""
        return replace(self, processes=processes or self.processes,
                       threads=threads or self.threads)

    def dramatiq_argv(self, dramatiq: str = "dramatiq") -> list[str]:
        """The exact command line that runs this group under the dramatiq CLI."""
        return [
            dramatiq,
            self.entrypoint,
            "--processes", str(self.processes),
            "--threads", str(self.threads),
            "--worker-shutdown-timeout", str(self.shutdown_timeout_s * 1000),
            "--queues", *self.queue_names,
        ]


GROUPS: Final[Mapping[str, WorkerGroup]] = {
    "worker1": WorkerGroup(
        name="worker1",
        role="heavy: LLM (SEO) and images (was sidekiq1)",
        instance_type="c5.large (2 vCPU, 4 GiB)",
        queues=(
            QueueWeight(names.QUEUE_SEO, 5),
            QueueWeight(names.QUEUE_THUMBNAILS, 4),
            QueueWeight(names.QUEUE_IMAGES, 3),
            QueueWeight(names.QUEUE_HIGH, 2),
        ),
        # 2 processes, one per vCPU, so CPU-bound rendering uses both cores;
        # 6 threads each because LLM calls wait on the network and Wand
        # releases the GIL: 12 = the runbook's Sidekiq concurrency.
        processes=2,
        threads=6,
        shutdown_timeout_s=120,
        actor_modules=("actors.doclog_worker1", "actors.images", "actors.llm", "actors.seo"),
        metrics_port=9191,
    ),
    "worker2": WorkerGroup(
        name="worker2",
        role="light: GA4 scoring, doclog, indexing, ads, upkeep (was sidekiq2)",
        instance_type="m5.large (2 vCPU, 8 GiB) or t3.medium",
        queues=(
            QueueWeight(names.QUEUE_GA4, 5),
            QueueWeight(names.QUEUE_DOCLOG, 3),
            QueueWeight(names.QUEUE_MISC, 2),
            QueueWeight(names.QUEUE_LOW, 1),
            QueueWeight(names.QUEUE_INDEX, 2),
            QueueWeight(names.QUEUE_ADS, 1),
        ),
        # GA4 scoring (pandas) is CPU-bound: 2 processes for 2 vCPUs; 3 threads
        # each for the I/O-bound index/ads calls: 6 = the runbook's concurrency.
        processes=2,
        threads=3,
        shutdown_timeout_s=60,
        actor_modules=("actors.ads", "actors.doclog", "actors.ga4", "actors.index"),
        metrics_port=9192,
    ),
}


def get_group(name: str) -> WorkerGroup:
    """The group called ``name``; UnknownGroupError lists the groups that exist."""
    try:
        return GROUPS[name]
    except KeyError:
        close = difflib.get_close_matches(name, list(GROUPS), n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        raise UnknownGroupError(
            f"unknown worker group {name!r}{hint}; groups: {', '.join(GROUPS)}"
        ) from None


def group_of_queue(queue: str) -> WorkerGroup:
    """The group that consumes ``queue``."""
    for group in GROUPS.values():
        if queue in group.queue_names:
            return group
    raise UnknownGroupError(f"no worker group consumes queue {queue!r}; "
                            f"queues: {', '.join(names.ALL_QUEUES)}")

