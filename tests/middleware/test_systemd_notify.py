"""SystemdNotify in-process: READY once the group booted, WATCHDOG gated on live threads."""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path

import pytest
from dramatiq.worker import Worker

from brokers.boot import declare_group_actors
from brokers.broker import build_broker
from middleware.systemd_notify import GroupBootState, SystemdNotify
from pipeline.groups import get_group
from pipeline.settings import Settings
from tests.helpers import receive_notification

_WATCHDOG_USEC = 200_000  # pings every 0.1 s




def wait_for(sock: socket.socket, key: str, timeout: float = 15) -> dict[str, str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        message = receive_notification(sock, 1)
        if message is not None and key in message:
            return message
    raise AssertionError(f"no {key} notification arrived")


def test_the_last_process_to_boot_completes_the_group_once(tmp_path: Path) -> None:
    state = GroupBootState(tmp_path / "atr-notify-1", expected=2)
    assert state.mark_booted(101) is False and not state.is_ready()
    assert state.mark_booted(102) is True and state.is_ready()
    assert state.mark_booted(102) is False  # a repeat never sends READY twice
    assert state.all_fresh(max_age_s=60)


def test_one_stale_process_makes_the_group_unhealthy(tmp_path: Path) -> None:
    state = GroupBootState(tmp_path / "atr-notify-1", expected=2)
    state.mark_booted(101)
    state.mark_booted(102)
    # Fault: process 102 last beat 100 s ago (hung, e.g. a C call holding the GIL).
    (state.directory / "102.booted").write_text(repr(time.monotonic() - 100))
    assert not state.all_fresh(max_age_s=60)
    state.beat(102)
    assert state.all_fresh(max_age_s=60)


def test_a_group_short_of_processes_is_not_healthy_and_the_last_out_cleans_up(
        tmp_path: Path) -> None:
    state = GroupBootState(tmp_path / "atr-notify-1", expected=2)
    state.mark_booted(101)
    assert not state.all_fresh(max_age_s=60)
    state.leave(101)
    assert not state.directory.exists()


def test_without_notify_socket_the_middleware_does_nothing(tmp_path: Path) -> None:
    middleware = SystemdNotify({"RUNTIME_DIRECTORY": str(tmp_path)}, get_group("worker2"))
    assert not middleware.enabled
    middleware.after_worker_boot(None, None)  # type: ignore[arg-type]
    middleware.before_worker_shutdown(None, None)  # type: ignore[arg-type]
    assert list(tmp_path.iterdir()) == []


def test_a_broken_notify_socket_never_stops_a_worker(
        redis_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NOTIFY_SOCKET", str(tmp_path / "nobody-listens"))
    monkeypatch.setenv("RUNTIME_DIRECTORY", str(tmp_path / "run"))
    settings = Settings.from_env({"REDIS_URL": redis_url, "ATR_WORKER2_PROCESSES": "1",
                                  "ATR_DOCLOG_ROOT": str(tmp_path / "logs")})
    broker = build_broker(settings, get_group("worker2"))
    worker = Worker(broker, queues={"misc"}, worker_threads=1)
    worker.start()
    assert worker.workers[0].is_alive()
    worker.stop()
    broker.close()


def test_ready_then_watchdog_only_while_every_thread_lives_then_stopping(
        redis_url: str, tmp_path: Path, notify_socket: tuple[str, socket.socket],
        monkeypatch: pytest.MonkeyPatch) -> None:
    path, sock = notify_socket
    # The systemd side of the environment; build_broker reads it like a worker does.
    monkeypatch.setenv("NOTIFY_SOCKET", path)
    monkeypatch.setenv("WATCHDOG_USEC", str(_WATCHDOG_USEC))
    monkeypatch.setenv("WATCHDOG_PID", str(os.getpid()))
    monkeypatch.setenv("RUNTIME_DIRECTORY", str(tmp_path / "run"))
    settings = Settings.from_env({"REDIS_URL": redis_url, "ATR_WORKER2_PROCESSES": "1",
                                  "ATR_DOCLOG_ROOT": str(tmp_path / "logs")})
    broker = build_broker(settings, get_group("worker2"))
    declare_group_actors(broker, get_group("worker2"), worker=True)
    (middleware,) = [m for m in broker.middleware if isinstance(m, SystemdNotify)]
    assert middleware.enabled and middleware.group.processes == 1

    worker = Worker(broker, queues={"misc", "low"}, worker_threads=2)
    worker.start()
    try:
        ready = wait_for(sock, "READY")
        assert ready["MAINPID"] == str(os.getppid())
        assert ready["STATUS"].startswith("worker2: 1 processes x 3 threads")
        for _ in range(3):
            wait_for(sock, "WATCHDOG")

        # Fault: one consumer thread ends (as if its loop had died).
        consumer = worker.consumers["misc"]
        consumer.stop()
        consumer.join(timeout=10)
        assert not consumer.is_alive()
        while receive_notification(sock, 0.05) is not None:  # drop pings sent before it died
            pass
        assert receive_notification(sock, 10 * _WATCHDOG_USEC / 1e6) is None, "pings went on"
    finally:
        worker.stop()
        broker.close()
    assert wait_for(sock, "STOPPING")["STOPPING"] == "1"
    assert list((tmp_path / "run").iterdir()) == []
