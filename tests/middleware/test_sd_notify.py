"""The sd_notify datagram protocol against real AF_UNIX datagram sockets."""

from __future__ import annotations

import os
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from middleware.sd_notify import format_notification, notify, socket_address, watchdog_usec


@pytest.fixture
def short_dir() -> Iterator[Path]:
    """A directory with a short path: AF_UNIX paths are limited to 107 bytes."""
    with tempfile.TemporaryDirectory(prefix="atr-sd-", dir="/tmp") as name:
        yield Path(name)


def bound(address: str) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(address)
    sock.settimeout(5)
    return sock


def test_addresses_are_paths_or_abstract_names() -> None:
    assert socket_address("/run/systemd/notify") == "/run/systemd/notify"
    assert socket_address("@atr/notify") == "\0atr/notify"
    for unusable in ("", "@", "relative/path", "vsock:2:1234"):
        assert socket_address(unusable) is None


def test_a_notification_is_key_value_lines_and_values_stay_on_one_line() -> None:
    assert format_notification({"READY": "1", "STATUS": "two\nlines"}) == \
        b"READY=1\nSTATUS=two lines"


def test_a_datagram_reaches_a_path_socket(short_dir: Path) -> None:
    path = str(short_dir / "notify")
    with bound(path) as receiver:
        notify(path, {"READY": "1", "MAINPID": "42"})
        assert receiver.recv(4096) == b"READY=1\nMAINPID=42"


def test_a_datagram_reaches_an_abstract_socket() -> None:
    name = f"@atr-test-{os.getpid()}-{os.urandom(4).hex()}"
    address = socket_address(name)
    assert address is not None
    with bound(address) as receiver:
        notify(address, {"WATCHDOG": "1"})
        assert receiver.recv(4096) == b"WATCHDOG=1"


def test_a_missing_socket_raises_oserror(short_dir: Path) -> None:
    with pytest.raises(OSError):
        notify(str(short_dir / "gone"), {"READY": "1"})


@pytest.mark.parametrize(("environ", "expected"), [
    ({"WATCHDOG_USEC": "1000000"}, 1_000_000),
    ({"WATCHDOG_USEC": "1000000", "WATCHDOG_PID": "100"}, 1_000_000),   # this process
    ({"WATCHDOG_USEC": "1000000", "WATCHDOG_PID": "1"}, 1_000_000),     # its parent, the master
    ({"WATCHDOG_USEC": "1000000", "WATCHDOG_PID": "7"}, None),          # someone else's
    ({"WATCHDOG_USEC": "0"}, None),
    ({"WATCHDOG_USEC": "soon"}, None),
    ({}, None),
])
def test_the_watchdog_applies_to_the_main_pid_and_its_children(
        environ: dict[str, str], expected: int | None) -> None:
    assert watchdog_usec(environ, pid=100, parent_pid=1) == expected
