"""Prometheus metrics of a worker group, on the group's own port and directory.

What is exported, from ``ATR_METRICS_BIND``:``ATR_METRICS_<GROUP>_PORT``:

- Dramatiq's message metrics under Dramatiq's own names (``dramatiq_messages_total``,
  ``dramatiq_message_errors_total``, ``_retries_total``, ``_rejects_total``,
  ``dramatiq_messages_inprogress``, ``dramatiq_delayed_messages_inprogress``,
  ``dramatiq_message_duration_milliseconds``), labelled ``queue_name`` and
  ``actor_name``, summed over the group's processes;
- ``atr_queue_waiting``, ``atr_queue_oldest_age_seconds`` and ``atr_queue_dead``
  per queue of the group, read from Redis at each scrape (see
  :class:`middleware.metrics_export.QueueGauges`).

Why not ``dramatiq.middleware.prometheus``: it reads its environment and makes
its directory when imported, and serves from a fork function that the master
starts in a process which never imports our broker, so both groups on one host
would share its port and directory. It also counts a retry twice (once when the
retry is delayed, again when the delay ends) and labels it with the delay
queue. This middleware does nothing until a dramatiq worker process boots:

- ``after_process_boot`` (emitted by the dramatiq CLI only, never by an
  in-process ``Worker``): make ``<dir>/<group>/``, empty it if the files are
  from a previous master (under a lock, so the sibling processes booting at
  the same time empty it once), set ``PROMETHEUS_MULTIPROC_DIR`` and only then
  import prometheus_client;
- ``after_worker_boot``: the one process that wins ``exporter.lock`` serves
  HTTP from a daemon thread. The master stops the whole group when any
  process dies, so the exporter never needs to move to another process.

``<dir>`` is ``ATR_METRICS_DIR``, else the unit's ``$RUNTIME_DIRECTORY``
(``/run/atr-<group>``), else the temp dir. Port 0 turns a group's metrics off:
no middleware, no directory. Nothing here may break a worker: every hook is
guarded, and a port already taken costs one error line, not the worker.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import tempfile
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import dramatiq
from dramatiq.broker import MessageProxy
from dramatiq.common import q_name
from dramatiq.middleware import Middleware
from dramatiq.worker import Worker

from middleware.outcome import Outcome, outcome
from middleware.payload import rejection_of
from pipeline.groups import WorkerGroup
from pipeline.settings import Settings, variable_name

if TYPE_CHECKING:
    from middleware.metrics_export import Exporter, MessageMetrics

__all__ = ["MULTIPROC_VARIABLE", "Metrics", "metrics_directory", "metrics_middleware",
           "prepare_directory"]

logger = logging.getLogger(__name__)

#: The variable prometheus_client reads (the only way to give it the directory).
MULTIPROC_VARIABLE: Final = "PROMETHEUS_MULTIPROC_DIR"
_MASTER_MARK: Final = "master.pid"
_PREPARE_LOCK: Final = "prepare.lock"
_EXPORTER_LOCK: Final = "exporter.lock"


def metrics_middleware(settings: Settings, group: WorkerGroup,
                       environ: Mapping[str, str]) -> Metrics | None:
    """The group's metrics middleware, or None when its port is 0 (metrics off)."""
    port = settings.metrics_ports[group.name]
    if port is None:
        return None
    return Metrics(settings, group, port, metrics_directory(settings, group, environ))


def metrics_directory(settings: Settings, group: WorkerGroup,
                      environ: Mapping[str, str]) -> Path:
    """Where the group's processes keep their metric files (not created here)."""
    if settings.metrics_dir is not None:
        root = settings.metrics_dir
    else:
        runtime = environ.get("RUNTIME_DIRECTORY", "").split(":")[0]
        # Per user: a shared temp dir must not mix two users' groups.
        root = (Path(runtime) / "metrics" if runtime
                else Path(tempfile.gettempdir()) / f"atr-metrics-{os.getuid()}")
    return root / group.name


def prepare_directory(directory: Path, master_pid: int) -> bool:
    """Make ``directory`` and empty it unless ``master_pid``'s processes already use it.

    True when this call emptied it. The first process of a new master removes
    the files of the previous run (their counters would otherwise be added to
    the new ones); its siblings, booting at the same time, see the master's
    mark and keep the files already being written.
    """
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    with _locked(directory / _PREPARE_LOCK, blocking=True):
        mark = directory / _MASTER_MARK
        with contextlib.suppress(FileNotFoundError):
            if mark.read_text().strip() == str(master_pid):
                return False
        for stale in directory.glob("*.db"):
            stale.unlink(missing_ok=True)
        mark.write_text(f"{master_pid}\n")
        return True


@contextlib.contextmanager
def _locked(path: Path, *, blocking: bool) -> Iterator[int]:
    """Hold an flock on ``path``; BlockingIOError when not ``blocking`` and taken."""
    fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
        yield fd
    finally:
        os.close(fd)  # closing releases the lock


class Metrics(Middleware):
    """Count the group's messages into Prometheus files and serve them from one process."""

    def __init__(self, settings: Settings, group: WorkerGroup, port: int,
                 directory: Path) -> None:
        """Only values: the directory, metrics and server belong to the worker process."""
        self.settings = settings
        self.group = group
        self.port = port
        self.directory = directory
        self.serving = False
        self._metrics: MessageMetrics | None = None
        self._exporter: Exporter | None = None
        self._exporter_lock: int | None = None
        # Message id -> monotonic start, in seconds: one instance serves every thread.
        self._started: dict[str, float] = {}
        self._delayed: set[str] = set()
        self._warned: set[str] = set()

    @property
    def port_variable(self) -> str:
        """The setting that chooses this group's port (named in errors)."""
        return variable_name("metrics_ports", self.group.name)

    # Boot and shutdown ------------------------------------------------------

    def after_process_boot(self, broker: dramatiq.Broker) -> None:
        # Boundary: without metrics the worker must still run its messages.
        try:
            prepare_directory(self.directory, os.getppid())
            # prometheus_client reads the directory from the environment only,
            # and must see it before its first import in this process.
            os.environ[MULTIPROC_VARIABLE] = str(self.directory)
            from middleware import metrics_export

            metrics_export.ensure_multiprocess()
            self._metrics = metrics_export.MessageMetrics()
        except Exception:
            logger.exception("%s: Prometheus metrics are off in process %d (metric directory "
                             "%s); the worker runs on.", self.group.name, os.getpid(),
                             self.directory)
            self._metrics = None

    def after_worker_boot(self, broker: dramatiq.Broker, worker: Worker) -> None:
        if self._metrics is None:
            return
        # Boundary: serving metrics is reporting; a failure must not stop the worker.
        try:
            self._serve_if_first()
        except Exception:
            logger.exception("%s: the Prometheus exporter failed to start; the worker runs "
                             "on.", self.group.name)

    def after_worker_shutdown(self, broker: dramatiq.Broker, worker: Worker) -> None:
        if self._metrics is None:
            return
        # Boundary: the worker is stopping whatever happens here.
        try:
            if self._exporter is not None:
                self._exporter.stop()
                self._exporter = None
            from middleware.metrics_export import mark_process_dead

            # Drops this process's in-progress share; its counters stay summed.
            mark_process_dead(os.getpid(), str(self.directory))  # type: ignore[no-untyped-call]
        except Exception:
            logger.exception("%s: stopping the Prometheus exporter failed.", self.group.name)
        finally:
            self.serving = False
            if self._exporter_lock is not None:
                os.close(self._exporter_lock)
                self._exporter_lock = None

    def _serve_if_first(self) -> None:
        fd = os.open(self.directory / _EXPORTER_LOCK, os.O_CREAT | os.O_RDWR, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)  # a sibling serves the group
            return
        # Held (fd open) for the life of the process: a sibling never takes over.
        self._exporter_lock = fd
        from middleware.metrics_export import Exporter, QueueGauges

        exporter = Exporter(self.directory, QueueGauges(self.settings, self.group))
        bind = self.settings.metrics_bind
        try:
            exporter.start(bind, self.port)
        except OSError as exc:
            exporter.stop()
            logger.error("%s: cannot serve Prometheus metrics on %s:%d (%s); set %s to a free "
                         "port (0 turns the exporter off). The worker runs on without it.",
                         self.group.name, bind, self.port, exc.strerror or exc,
                         self.port_variable)
            return
        self._exporter = exporter
        self.serving = True
        logger.info("%s: Prometheus metrics on http://%s:%d/metrics (files in %s).",
                    self.group.name, bind, self.port, self.directory)

    # Messages ---------------------------------------------------------------

    def after_enqueue(self, broker: dramatiq.Broker, message: dramatiq.Message[Any],
                      delay: int | None) -> None:
        # Retries re-enqueues a failed message with a delay; the same message
        # enqueued again when its delay ends (delay None) is not another retry.
        if delay is None or "retries" not in message.options:
            return
        with self._guard("retry"):
            self._count("retried", message)

    def after_nack(self, broker: dramatiq.Broker, message: MessageProxy) -> None:
        with self._guard("nack"):
            self._count("rejected", message)

    def before_delay_message(self, broker: dramatiq.Broker, message: MessageProxy) -> None:
        if self._metrics is None:
            return
        with self._guard("delay"):
            self._delayed.add(message.message_id)
            self._metrics.delayed.labels(*_labels(message)).inc()

    def before_process_message(self, broker: dramatiq.Broker, message: MessageProxy) -> None:
        if self._metrics is None:
            return
        with self._guard("start"):
            labels = _labels(message)
            if message.message_id in self._delayed:
                self._delayed.discard(message.message_id)
                self._metrics.delayed.labels(*labels).dec()
            self._metrics.in_progress.labels(*labels).inc()
            self._started[message.message_id] = time.monotonic()

    def after_process_message(self, broker: dramatiq.Broker, message: MessageProxy,
                              *, result: Any = None,
                              exception: BaseException | None = None) -> None:
        self._finish(message, exception)

    def after_skip_message(self, broker: dramatiq.Broker, message: MessageProxy) -> None:
        # A skipped message (AgeLimit, PermanentFailures) was handled all the same;
        # a payload PayloadGuard refused counts as an error, as a rejection does.
        self._finish(message, rejection_of(message))

    def _finish(self, message: MessageProxy, exception: BaseException | None) -> None:
        if self._metrics is None:
            return
        with self._guard("finish"):
            labels = _labels(message)
            started = self._started.pop(message.message_id, None)
            if started is not None:
                self._metrics.in_progress.labels(*labels).dec()
                self._metrics.durations.labels(*labels).observe(
                    (time.monotonic() - started) * 1000)
            self._metrics.total.labels(*labels).inc()
            # A deferral (waiting for LLM budget) is not an error.
            if exception is not None and outcome(message, exception) is not Outcome.DEFERRED:
                self._metrics.errored.labels(*labels).inc()

    def _count(self, which: str, message: dramatiq.Message[Any] | MessageProxy) -> None:
        if self._metrics is not None:
            counter = getattr(self._metrics, which)
            counter.labels(*_labels(message)).inc()

    @contextlib.contextmanager
    def _guard(self, hook: str) -> Iterator[None]:
        # Boundary: a metric must never fail a message. Logged once per hook with
        # its traceback; a broken disk would otherwise log on every message.
        try:
            yield
        except Exception:
            if hook not in self._warned:
                self._warned.add(hook)
                logger.exception("%s: recording a Prometheus metric failed in %r; the message "
                                 "is unaffected, further failures there are not logged.",
                                 self.group.name, hook)


def _labels(message: dramatiq.Message[Any] | MessageProxy) -> tuple[str, str]:
    # The queue the message belongs to, not its delay (.DQ) or dead-letter (.XQ) queue.
    return q_name(message.queue_name), message.actor_name
