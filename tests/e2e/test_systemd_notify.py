"""The real worker group under the real CLI, talking to a notify socket the test holds.

The test plays systemd: it binds the datagram socket named in NOTIFY_SOCKET,
sets WATCHDOG_USEC/WATCHDOG_PID and RUNTIME_DIRECTORY as a ``Type=notify``
unit with ``WatchdogSec=`` would, and starts ``atr worker worker1``.
"""

from __future__ import annotations

import socket
import time
from pathlib import Path

from devkit.supervise import GroupProcess
from tests.helpers import receive_notification

_READY_LINE = "Worker process is ready for action."




def children(pid: int) -> set[int]:
    """The pids the dramatiq master forked (its worker processes)."""
    text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    return {int(p) for p in text.split()}


def test_ready_after_every_process_booted_watchdog_while_running_stopping_on_sigterm(
        worker_env: dict[str, str], notify_socket: tuple[str, socket.socket],
        tmp_path: Path) -> None:
    path, sock = notify_socket
    runtime = tmp_path / "run"
    runtime.mkdir()
    env = {**worker_env, "NOTIFY_SOCKET": path, "WATCHDOG_USEC": "1000000",
           "RUNTIME_DIRECTORY": str(runtime),
           "ATR_WORKER1_PROCESSES": "2", "ATR_WORKER1_THREADS": "1"}
    env.pop("WATCHDOG_PID", None)
    received: list[dict[str, str]] = []
    with GroupProcess("worker1", env, tmp_path / "w1.log", cwd=tmp_path) as group:
        deadline = time.monotonic() + 60
        while not any("READY" in m for m in received) and time.monotonic() < deadline:
            assert group.poll() is None, group.log_text()
            message = receive_notification(sock, 1)
            if message is not None:
                received.append(message)
        (ready,) = [m for m in received if "READY" in m]
        assert ready["MAINPID"] == str(group.pid)
        assert ready["STATUS"] == "worker1: 2 processes x 1 threads on seo, thumbnails, " \
                                  "images, high"
        # READY means booted: both worker processes of this master have recorded
        # their boot (after their Worker threads started), not just been forked.
        booted = {int(p.name.removesuffix(".booted"))
                  for p in (runtime / f"atr-notify-{group.pid}").glob("*.booted")}
        assert booted == children(group.pid) and len(booted) == 2

        pings = 0
        while pings < 4 and time.monotonic() < deadline:
            message = receive_notification(sock, 1)
            if message is not None:
                received.append(message)
                pings += "WATCHDOG" in message
        assert pings == 4, received
        while group.log_text().count(_READY_LINE) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)  # the master relays its workers' log lines through a pipe
        assert group.log_text().count(_READY_LINE) == 2, group.log_text()

        assert group.stop() == 0, group.log_text()
    while (message := receive_notification(sock, 0.5)) is not None:
        received.append(message)
    stopping = [m for m in received if "STOPPING" in m]
    assert len(stopping) == 2, received  # one per worker process
    assert [m for m in received if "READY" in m] == [ready]  # READY exactly once
    assert list(runtime.iterdir()) == []  # the last process out cleaned up
