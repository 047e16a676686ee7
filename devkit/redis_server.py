"""A private ``redis-server`` on a free loopback port, for the demo, tests and benches.

It keeps nothing on disk, dies with its parent (``PR_SET_PDEATHSIG``) and is
stopped on exit from the ``with`` block.
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
    """A redis-server child process bound to 127.0.0.1 on a free port."""

    def __init__(self, workdir: Path | None = None) -> None:
        self._workdir = workdir
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self.port = 0

    @property
    def url(self) -> str:
        """``redis://127.0.0.1:<port>/0`` of the running server."""
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def pid(self) -> int | None:
        """The server's process id while it runs."""
        return self._proc.pid if self._proc else None

    def start(self) -> str:
        """Start the server, wait until it answers PING and return its URL."""
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
        for _attempt in range(3):  # a port can be taken between probe and bind
            self.port = free_port()
            log = self._workdir / f"redis-{self.port}.log"
            self._proc = subprocess.Popen(
                [binary, "--bind", "127.0.0.1", "--port", str(self.port), "--save", "",
                 "--appendonly", "no", "--dir", str(self._workdir), "--logfile", str(log),
                 "--daemonize", "no"],
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

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL after 5 s) and remove its directory."""
        self._kill()
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
