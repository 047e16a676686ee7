"""A private ``redis-server`` on a free loopback port, for the demo, tests and benches.

By default it keeps nothing on disk. With ``appendonly=True`` it keeps an
append-only file (``appendfsync everysec``, Debian's default) in its working
directory, so fault tests can :meth:`~EmbeddedRedis.halt` it and
:meth:`~EmbeddedRedis.start` it again on the same port with its data, as
``systemctl restart redis-server`` does. It dies with its parent
(``PR_SET_PDEATHSIG``) and is stopped on exit from the ``with`` block.
"""

from __future__ import annotations

import ctypes
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Final

import redis

from pipeline.errors import AtrError

__all__ = ["EmbeddedRedis", "RedisServerError", "free_port"]

_START_TIMEOUT_S: Final = 10.0
_PR_SET_PDEATHSIG: Final = 1


class RedisServerError(AtrError):
    """Raised when the embedded redis-server cannot be found or started."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _die_with_parent() -> None:
    # Runs in the child between fork and exec: a crashed or killed parent
    # must not leave a stray redis-server behind.
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


class EmbeddedRedis:
    """A redis-server child process bound to 127.0.0.1 on a free port.

    ``appendonly`` turns the append-only file on; the port chosen at the first
    :meth:`start` is kept by later starts, so clients reconnect to the same URL.
    """

    def __init__(self, workdir: Path | None = None, *, appendonly: bool = False) -> None:
        self._workdir = workdir
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._appendonly = appendonly
        self.port = 0

    @property
    def url(self) -> str:
        """``redis://127.0.0.1:<port>/0`` of the running server."""
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def pid(self) -> int | None:
        """The server's process id while it runs."""
        return self._proc.pid if self._proc else None

    @property
    def running(self) -> bool:
        """True while the server process lives."""
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> str:
        """Start the server, wait until it answers PING and return its URL.

        After a :meth:`halt` it starts again on the same port and directory
        (and so, with ``appendonly``, with the data it had).
        """
        binary = shutil.which("redis-server")
        if binary is None:
            raise RedisServerError(
                "redis-server is not on PATH: install it (sudo apt-get install redis-server) "
                "or set REDIS_URL to a running Redis")
        if self._workdir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="atr-redis-")
            self._workdir = Path(self._tmp.name)
        self._workdir.mkdir(parents=True, exist_ok=True)
        last_log = ""
        restart = self.port != 0
        for _attempt in range(3):  # a port can be taken between probe and bind
            if not restart:
                self.port = free_port()
            log = self._workdir / f"redis-{self.port}.log"
            self._proc = subprocess.Popen(
                [binary, "--bind", "127.0.0.1", "--port", str(self.port), "--save", "",
                 "--appendonly", "yes" if self._appendonly else "no",
                 "--appendfsync", "everysec", "--dir", str(self._workdir),
                 "--logfile", str(log), "--daemonize", "no"],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                preexec_fn=_die_with_parent,  # only calls prctl: safe between fork and exec
            )
            if self._wait_ready():
                return self.url
            last_log = log.read_text(errors="replace")[-400:] if log.exists() else ""
            self._kill()
        self.stop()
        raise RedisServerError(f"redis-server did not start on 127.0.0.1; its log ends: "
                               f"{last_log.strip() or '(empty)'}")

    def _wait_ready(self) -> bool:
        assert self._proc is not None
        client = redis.Redis(host="127.0.0.1", port=self.port, socket_connect_timeout=0.5)
        deadline = time.monotonic() + _START_TIMEOUT_S
        try:
            while time.monotonic() < deadline:
                if self._proc.poll() is not None:
                    return False
                try:
                    if client.ping():
                        return True
                except redis.exceptions.ConnectionError:
                    time.sleep(0.05)
            return False
        finally:
            client.close()

    def halt(self, *, kill: bool = False) -> None:
        """Stop the server process but keep its port and directory, for a later :meth:`start`.

        SIGTERM (Redis flushes its append-only file, as on ``systemctl
        stop``) or, with ``kill``, SIGKILL (a crash).
        """
        if kill and self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()
        self._kill()

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL after 5 s) and remove its directory."""
        self._kill()
        self.port = 0
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None
            self._workdir = None

    def _kill(self) -> None:
        if self._proc is not None:
            if self._proc.poll() is None:
                self._proc.terminate()
                try:
                    self._proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    self._proc.kill()
                    self._proc.wait()
            self._proc = None

    def __enter__(self) -> EmbeddedRedis:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
