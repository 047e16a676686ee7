"""Tell systemd when a worker group is ready, alive and stopping (``Type=notify``).

Active only when systemd started the group with ``NOTIFY_SOCKET`` set; a no-op
otherwise, and never able to break a worker: every hook is guarded.

The dramatiq master (the unit's main pid: ``atr worker`` execs it) forks the
worker processes and never imports our code, so the worker processes speak for
the group; the unit needs ``NotifyAccess=all``.

- **READY=1** (with ``MAINPID`` = the master and a ``STATUS`` line) is sent once
  EVERY worker process of the group has booted. The dramatiq master's own boot
  signal cannot be used: it sets each worker's boot event in a ``finally``, even
  when the boot failed. Instead each process, in ``after_worker_boot`` (reached
  only when its broker, actors and Worker threads are up), creates
  ``<pid>.booted`` in a directory keyed by the master's pid under
  ``$RUNTIME_DIRECTORY`` (the unit's ``RuntimeDirectory=``; fallback
  ``$XDG_RUNTIME_DIR``, ``/run/user/<uid>``, then the temp dir). The process
  that sees the expected count creates ``ready`` with ``O_EXCL`` and sends
  READY, so it goes out exactly once and only after the last boot. A process
  that fails to boot never counts: the unit never becomes ready, the master
  stops the group, systemd restarts it.
- **WATCHDOG=1** every ``WATCHDOG_USEC``/2 from a daemon thread of each process,
  only while this process's worker and consumer threads are all alive (its
  heartbeat file is then refreshed) AND every process's heartbeat is younger
  than ``WATCHDOG_USEC``. So one hung or crippled process (a GIL-holding C call,
  a dead consumer thread) stops the group's pings even though its siblings are
  fine, and systemd restarts the group after ``WatchdogSec``.
- **STOPPING=1** in ``before_worker_shutdown``, when the process starts its
  graceful stop (systemd stops the watchdog timer and starts ``TimeoutStopSec``).

Heartbeats store ``time.monotonic()``, the same clock in every process, so a
wall-clock step (NTP) can not make a healthy group look dead.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Final

import dramatiq
from dramatiq.middleware import Middleware
from dramatiq.worker import Worker

from middleware import sd_notify
from middleware.liveness import dead_threads
from pipeline.groups import WorkerGroup

__all__ = ["GroupBootState", "SystemdNotify"]

logger = logging.getLogger(__name__)

_BOOTED_SUFFIX: Final = ".booted"
_READY_MARK: Final = "ready"
_KEPT_VARIABLES: Final = frozenset({sd_notify.NOTIFY_SOCKET, sd_notify.WATCHDOG_USEC,
                                    sd_notify.WATCHDOG_PID, "RUNTIME_DIRECTORY",
                                    "XDG_RUNTIME_DIR"})


class GroupBootState:
    """The booted/heartbeat files that the processes of one dramatiq master share.

    ``directory`` is keyed by the master's pid, so a restarted group (a new
    master) never sees the files of the previous one.
    """

    def __init__(self, directory: Path, expected: int) -> None:
        self.directory = directory
        self.expected = expected

    @classmethod
    def for_master(cls, environ: Mapping[str, str], master_pid: int,
                   expected: int) -> GroupBootState:
        """The state of the group run by ``master_pid`` in the runtime directory."""
        return cls(_runtime_root(environ) / f"atr-notify-{master_pid}", expected)

    def mark_booted(self, pid: int) -> bool:
        """Record that process ``pid`` booted; True for the one call that completes the group.

        Each process creates its file before it counts, so the last to boot
        always sees every file; ``O_EXCL`` on the ready mark keeps a tie to one
        winner.
        """
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.beat(pid)
        if self.booted_count() < self.expected:
            return False
        try:
            os.close(os.open(self.directory / _READY_MARK,
                             os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        except FileExistsError:
            return False
        return True

    def beat(self, pid: int) -> None:
        """Refresh process ``pid``'s heartbeat (atomically: a reader never sees half)."""
        temporary = self.directory / f"{pid}.tmp"
        temporary.write_text(repr(time.monotonic()))
        os.replace(temporary, self.directory / f"{pid}{_BOOTED_SUFFIX}")

    def booted_count(self) -> int:
        """How many processes have booted (and not yet left)."""
        return len(self._booted_files())

    def all_fresh(self, max_age_s: float) -> bool:
        """True when every expected process beat within the last ``max_age_s`` seconds."""
        now = time.monotonic()
        beats: list[float] = []
        for path in self._booted_files():
            try:
                beats.append(float(path.read_text()))
            except (OSError, ValueError):
                return False  # a process vanished or the file is unreadable: not healthy
        return len(beats) >= self.expected and all(now - beat <= max_age_s for beat in beats)

    def is_ready(self) -> bool:
        """Whether the whole group has booted (READY was sent)."""
        return (self.directory / _READY_MARK).exists()

    def leave(self, pid: int) -> None:
        """Remove process ``pid``'s file; the last process out removes the directory."""
        with contextlib.suppress(FileNotFoundError):
            (self.directory / f"{pid}{_BOOTED_SUFFIX}").unlink()
        if not self._booted_files():
            with contextlib.suppress(FileNotFoundError):
                (self.directory / _READY_MARK).unlink()
            # A sibling may have just booted or left: a non-empty directory stays.
            with contextlib.suppress(OSError):
                self.directory.rmdir()

    def _booted_files(self) -> list[Path]:
        try:
            return [p for p in self.directory.iterdir() if p.name.endswith(_BOOTED_SUFFIX)]
        except FileNotFoundError:
            return []


class SystemdNotify(Middleware):
    """READY once all of the group's processes booted, WATCHDOG while alive, STOPPING."""

    def __init__(self, environ: Mapping[str, str], group: WorkerGroup) -> None:
        """``environ`` is the process environment; ``group`` has the group's real shape.

        Only values are kept here: the pids and files belong to the worker
        process, which calls the hooks after the fork.
        """
        raw = environ.get(sd_notify.NOTIFY_SOCKET, "")
        self.address = sd_notify.socket_address(raw) if raw else None
        if raw and self.address is None:
            logger.warning("NOTIFY_SOCKET=%r is not a path or an @abstract socket; systemd "
                           "will not hear from this worker (check the unit's Type=).", raw)
        # Only the protocol's variables: the process environment also holds secrets.
        self._environ = {k: v for k, v in environ.items() if k in _KEPT_VARIABLES}
        self.group = group
        self._stop = threading.Event()
        self._state: GroupBootState | None = None
        self._warned: set[str] = set()

    @property
    def enabled(self) -> bool:
        """Whether systemd is listening (NOTIFY_SOCKET is set and usable)."""
        return self.address is not None

    def after_worker_boot(self, broker: dramatiq.Broker, worker: Worker) -> None:
        if self.address is None:
            return
        # Boundary: readiness is reporting; a failure here must not stop the worker.
        try:
            self._boot(worker)
        except Exception:
            logger.exception("systemd notification at boot failed; the worker runs on.")

    def before_worker_shutdown(self, broker: dramatiq.Broker, worker: Worker) -> None:
        if self.address is None:
            return
        self._stop.set()
        # Boundary: the graceful stop must go on whatever happens to the notification.
        try:
            self._send({"STOPPING": "1",
                        "STATUS": f"{self.group.name}: stopping, running messages finish "
                                  f"(up to {self.group.shutdown_timeout_s} s)"})
            if self._state is not None:
                self._state.leave(os.getpid())
        except Exception:
            logger.exception("systemd STOPPING notification failed; the worker stops anyway.")

    def _boot(self, worker: Worker) -> None:
        pid, master = os.getpid(), os.getppid()
        try:
            self._state = GroupBootState.for_master(self._environ, master,
                                                    self.group.processes)
            complete = self._state.mark_booted(pid)
        except OSError as exc:
            # Without the shared directory we cannot count the group. Reporting
            # ready from this process is better than a unit that never starts.
            logger.warning("Cannot record the boot of process %d for systemd (%s); "
                           "reporting ready without waiting for the other processes.",
                           pid, exc)
            self._state, complete = None, True
        if complete:
            g = self.group
            self._send({"READY": "1", "MAINPID": str(master),
                        "STATUS": f"{g.name}: {g.processes} processes x {g.threads} threads "
                                  f"on {', '.join(g.queue_names)}"})
        usec = sd_notify.watchdog_usec(self._environ, pid, master)
        if usec is not None:
            threading.Thread(target=self._watchdog, args=(worker, usec / 1e6),
                             name="systemd-watchdog", daemon=True).start()

    def _watchdog(self, worker: Worker, timeout_s: float) -> None:
        # Boundary: a dying watchdog thread would silently stop the pings and
        # get a healthy group killed; log it instead so the cause is visible.
        try:
            while not self._stop.wait(timeout_s / 2):
                dead = dead_threads(worker)
                if dead:
                    self._warn_once("dead", "Threads %s of process %d died; watchdog pings "
                                    "stop and systemd will restart the group.",
                                    ", ".join(dead), os.getpid())
                    continue
                if self._state is not None:
                    self._state.beat(os.getpid())
                    if not self._state.all_fresh(timeout_s):
                        if self._state.is_ready():  # not merely a sibling still booting
                            self._warn_once("stale", "A sibling of worker process %d stopped "
                                            "beating; withholding watchdog pings.",
                                            os.getpid())
                        continue
                self._send({"WATCHDOG": "1"})
        except Exception:
            logger.exception("The systemd watchdog thread failed; pings stop.")

    def _send(self, fields: Mapping[str, str]) -> None:
        assert self.address is not None
        try:
            sd_notify.notify(self.address, fields)
        except OSError as exc:
            self._warn_once("send", "Cannot notify systemd at NOTIFY_SOCKET (%s); "
                            "further failures are not logged.", exc)

    def _warn_once(self, key: str, text: str, *args: object) -> None:
        if key not in self._warned:
            self._warned.add(key)
            logger.warning(text, *args)


def _runtime_root(environ: Mapping[str, str]) -> Path:
    """Where the group's shared files live: the unit's RuntimeDirectory when it has one."""
    runtime = environ.get("RUNTIME_DIRECTORY", "").split(":")[0]
    if runtime:
        return Path(runtime)
    xdg = environ.get("XDG_RUNTIME_DIR", "")
    if xdg:
        return Path(xdg)
    user_run = Path(f"/run/user/{os.getuid()}")
    if user_run.is_dir() and os.access(user_run, os.W_OK):
        return user_run
    return Path(tempfile.gettempdir())
