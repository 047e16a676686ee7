"""Run a worker group as a child process through the real CLI (demo, tests)."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType

__all__ = ["GroupProcess", "atr_executable"]


def atr_executable() -> str:
    """The ``atr`` console script installed beside this Python."""
    candidate = Path(sys.executable).with_name("atr")
    return str(candidate) if candidate.exists() else "atr"


class GroupProcess:
    """``atr worker <group>`` in a child process, its output in ``log_path``."""

    def __init__(self, group: str, env: Mapping[str, str], log_path: Path,
                 cwd: Path | None = None) -> None:
        self.group = group
        self.log_path = log_path
        self._cwd = cwd
        self._argv = [atr_executable(), "worker", group]
        self._env = dict(env)
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        """The dramatiq master's pid (``atr worker`` execs dramatiq)."""
        assert self._proc is not None, "not started"
        return self._proc.pid

    def start(self) -> GroupProcess:
        """Start the group; returns at once (readiness is the caller's to wait for)."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self._proc = subprocess.Popen(self._argv, env=self._env, cwd=self._cwd,
                                          stdin=subprocess.DEVNULL, stdout=log,
                                          stderr=subprocess.STDOUT)
        return self

    def poll(self) -> int | None:
        """The exit code, or None while running."""
        assert self._proc is not None, "not started"
        return self._proc.poll()

    def stop(self, timeout_s: float = 60.0) -> int:
        """SIGTERM (graceful: running messages finish), wait, return the exit code."""
        assert self._proc is not None, "not started"
        if self._proc.poll() is None:
            self._proc.send_signal(signal.SIGTERM)
        try:
            return self._proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
            raise

    def log_text(self) -> str:
        """Everything the group has printed so far."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def __enter__(self) -> GroupProcess:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self.stop()
