"""Append doclog lines to ``<root>/<stream>/<YYYY-MM-DD>.ndjson``, safely and never fatally."""

from __future__ import annotations

import logging
import math
import os
import socket
import threading
import time
import weakref
from collections.abc import Callable, Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any, Final
from zoneinfo import ZoneInfo

from pipeline.doclog.events import FIXED_KEYS, is_valid_event, is_valid_stream
from pipeline.doclog.render import render_line
from pipeline.redact import Redactor

__all__ = ["WARN_INTERVAL_S", "DoclogWriter"]

logger = logging.getLogger(__name__)

#: While writes keep failing, the warning is repeated at most this often, in seconds.
WARN_INTERVAL_S: Final = 600.0
_FILE_MODE: Final = 0o640
_DIR_MODE: Final = 0o750
_OPEN_FLAGS: Final = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC
_PATH_CACHE_SIZE: Final = 256


class DoclogWriter:
    """Append lines to ``<root>/<stream>/<day>.ndjson``; safe across threads and processes.

    The day is taken in ``zone``; ``ts`` is RFC 3339 with milliseconds and the
    zone's offset (``2026-11-26T23:59:59.123+09:00``). Each line goes out in
    one ``os.write`` on an ``O_APPEND`` descriptor (mode 0640), so lines of
    several threads and processes never interleave (on a local file system:
    NFS does not make appends atomic). Descriptors are cached,
    one per stream: a new day opens the new file and closes the old one, and
    a forked child drops what it inherited. Directories are made on the first
    write, never before.

    An ``OSError`` (permissions, disk full, a file where a directory should
    be) never propagates: :attr:`errors` counts the lost lines,
    :attr:`last_error` keeps the latest text, and a WARNING is logged when a
    run of failures begins — repeated at most every :data:`WARN_INTERVAL_S`
    while the run lasts, so a long outage stays visible without flooding the
    journal. The next successful write logs the recovery at INFO and ends the
    run.
    """

    def __init__(self, root: Path, zone: ZoneInfo, redactor: Redactor | None = None, *,
                 clock: Callable[[], float] = time.time) -> None:
        """``clock`` gives the current time in seconds since the epoch (tests move it)."""
        self.root = root
        self.zone = zone
        self.redactor = redactor or Redactor()
        self._clock = clock
        self._host = socket.gethostname()
        self._lock = threading.Lock()
        self._pid = os.getpid()
        self._fds: dict[str, tuple[Path, int]] = {}  # stream -> (today's path, descriptor)
        # Writes happen outside the lock: a descriptor being written to is
        # counted here, and one replaced meanwhile (a new day, a failure,
        # close) is closed by its last writer, so its number is never handed
        # out again mid-write.
        self._writing: dict[int, int] = {}  # descriptor -> writes in flight
        self._retired: set[int] = set()  # replaced, closed when its writes end
        self._paths: dict[tuple[str, date], Path] = {}
        self._errors = 0
        self._last_error: str | None = None
        self._run_began_at: int | None = None  # value of _errors when a failure run began
        self._last_warning = -math.inf
        weakref.finalize(self, _close_all, self._fds)
        # A weak reference: the fork hook cannot be unregistered and must not
        # keep a discarded writer alive.
        ref = weakref.WeakMethod(self._after_fork)
        os.register_at_fork(after_in_child=lambda: _call(ref))

    @property
    def errors(self) -> int:
        """Lines lost to I/O errors since this writer was made, in this process."""
        return self._errors

    @property
    def last_error(self) -> str | None:
        """Text of the latest I/O error (path and reason), or None."""
        return self._last_error

    def path_for(self, stream: str, when: datetime) -> Path:
        """The file of ``stream`` for the day of ``when`` in this writer's zone."""
        day = when.astimezone(self.zone).date()
        path = self._paths.get((stream, day))
        if path is None:
            if len(self._paths) > _PATH_CACHE_SIZE:
                self._paths.clear()
            path = self._paths[stream, day] = self.root / stream / f"{day:%Y-%m-%d}.ndjson"
        return path

    def write(self, stream: str, record: Mapping[str, Any]) -> bool:
        """Append one line for ``record`` to today's file of ``stream``; True if written.

        ``ts``, ``stream``, ``host`` and ``pid`` are filled here, the other
        fixed keys come from ``record`` (None when absent), then the rest of
        ``record``. Raises ValueError for a stream or event name that breaks
        the naming rules (a caller's bug); I/O errors are counted, never raised.
        """
        event = record.get("event")
        if not is_valid_stream(stream):
            raise ValueError(f"doclog stream {stream!r} must be 1-64 characters of a-z 0-9 _")
        if not isinstance(event, str) or not is_valid_event(event):
            raise ValueError(f"doclog event {event!r} must be a lifecycle event or a dotted "
                             "name such as seo.proposed")
        now = datetime.fromtimestamp(self._clock(), self.zone)
        line: dict[str, Any] = {"ts": now.isoformat(timespec="milliseconds"),
                                "stream": stream}
        for key in FIXED_KEYS[2:]:
            line[key] = record.get(key)
        line["host"], line["pid"] = self._host, os.getpid()
        line.update((k, v) for k, v in record.items() if k not in line)
        return self._append(stream, self.path_for(stream, now),
                            render_line(line, redactor=self.redactor))

    def close(self) -> None:
        """Close every cached descriptor (a later write opens them again)."""
        with self._lock:
            for _, fd in self._fds.values():
                self._retire(fd)
            self._fds.clear()

    def _append(self, stream: str, path: Path, data: bytes) -> bool:
        if self._pid != os.getpid():
            self._after_fork()  # fallback: a fork that bypassed os.register_at_fork
        # The write itself runs outside the lock: held across the system call,
        # the lock made every worker thread queue behind each line.
        with self._lock:
            try:
                fd = self._open(stream, path)
            except OSError as exc:
                self._failed(stream, path, exc)
                return False
            self._writing[fd] = self._writing.get(fd, 0) + 1
        error: OSError | None = None
        try:
            written = os.write(fd, data)
            if written != len(data):
                # Disk full mid-line: end the fragment so the next line parses.
                os.write(fd, b"\n")
                raise OSError(f"short write, {written} of {len(data)} bytes")
        except OSError as exc:
            error = exc
        with self._lock:
            if error is not None:
                self._failed(stream, path, error)
            self._done_writing(fd)
            if error is not None:
                return False
            self._succeeded(path)
            return True

    def _done_writing(self, fd: int) -> None:
        left = self._writing.pop(fd) - 1
        if left:
            self._writing[fd] = left
        elif fd in self._retired:
            self._retired.discard(fd)
            _close_quietly(fd)

    def _retire(self, fd: int) -> None:
        """Close ``fd`` now, or when its last write in flight ends."""
        if self._writing.get(fd):
            self._retired.add(fd)
        else:
            _close_quietly(fd)

    def _open(self, stream: str, path: Path) -> int:
        cached = self._fds.pop(stream, None)
        if cached is not None:
            if cached[0] == path:
                self._fds[stream] = cached
                return cached[1]
            self._retire(cached[1])  # yesterday's file
        path.parent.mkdir(mode=_DIR_MODE, parents=True, exist_ok=True)
        fd = os.open(path, _OPEN_FLAGS, _FILE_MODE)
        self._fds[stream] = (path, fd)
        return fd

    def _failed(self, stream: str, path: Path, exc: OSError) -> None:
        self._errors += 1
        self._last_error = f"{path}: {exc}"
        # The descriptor may be stale (file system remounted): reopen next time.
        cached = self._fds.pop(stream, None)
        if cached is not None:
            self._retire(cached[1])
        now = time.monotonic()
        if self._run_began_at is None:
            self._run_began_at = self._errors - 1
        elif now - self._last_warning < WARN_INTERVAL_S:
            return
        self._last_warning = now
        logger.warning("Doclog cannot write %s (%s); jobs go on without their doclog lines, "
                       "%d line(s) lost so far. Check the disk space and the permissions of "
                       "ATR_DOCLOG_ROOT.", path, exc, self._errors)

    def _succeeded(self, path: Path) -> None:
        if self._run_began_at is not None:
            logger.info("Doclog writes to %s work again after %d lost line(s).",
                        path, self._errors - self._run_began_at)
            self._run_began_at = None
            self._last_warning = -math.inf

    def _after_fork(self) -> None:
        # The child shares the parent's descriptors and may have inherited the
        # lock in a held state (another parent thread was writing): start
        # afresh. os.register_at_fork runs this while the child is single-threaded.
        self._lock = threading.Lock()
        _close_all(self._fds)
        for fd in self._retired:
            _close_quietly(fd)
        self._retired.clear()
        self._writing.clear()
        self._pid = os.getpid()


def _call(ref: weakref.WeakMethod[Callable[[], None]]) -> None:
    method = ref()
    if method is not None:
        method()


def _close_all(fds: dict[str, tuple[Path, int]]) -> None:
    for _, fd in fds.values():
        _close_quietly(fd)
    fds.clear()


def _close_quietly(fd: int) -> None:
    try:
        os.close(fd)
    except OSError as exc:
        logger.debug("Closing doclog descriptor %d failed: %s", fd, exc)
