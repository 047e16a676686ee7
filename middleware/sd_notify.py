"""The sd_notify datagram protocol, spoken with the socket module (no libsystemd).

systemd gives a ``Type=notify`` service the address of a datagram socket in
``NOTIFY_SOCKET``: an absolute path, or an abstract-namespace name written with
a leading ``@``. A notification is one datagram of ``KEY=VALUE`` lines
(``READY=1``, ``WATCHDOG=1``, ``STOPPING=1``, ``STATUS=...``, ``MAINPID=...``).
With ``WatchdogSec=`` systemd also sets ``WATCHDOG_USEC`` (the timeout, in
microseconds) and ``WATCHDOG_PID`` (the pid expected to ping).

This module holds only the protocol; :mod:`middleware.systemd_notify` decides
what to send and when. It reads no environment itself: callers pass a mapping.
"""

from __future__ import annotations

import socket
from collections.abc import Mapping
from typing import Final

__all__ = [
    "NOTIFY_SOCKET",
    "WATCHDOG_PID",
    "WATCHDOG_USEC",
    "format_notification",
    "notify",
    "socket_address",
    "watchdog_usec",
]

#: The environment variables systemd sets for the protocol.
NOTIFY_SOCKET: Final = "NOTIFY_SOCKET"
WATCHDOG_USEC: Final = "WATCHDOG_USEC"
WATCHDOG_PID: Final = "WATCHDOG_PID"


def socket_address(value: str) -> str | None:
    """The AF_UNIX address of a ``NOTIFY_SOCKET`` value, or None if it is not one we speak.

    ``@name`` is the abstract socket ``\\0name``; ``/path`` is a filesystem socket.
    Anything else (empty, relative, systemd 254's ``vsock:``) is None, exactly as
    libsystemd's ``sd_notify`` ignores what it does not understand.
    """
    if len(value) > 1 and value.startswith("@"):
        return "\0" + value[1:]
    if value.startswith("/"):
        return value
    return None


def format_notification(fields: Mapping[str, str]) -> bytes:
    """One datagram: ``KEY=VALUE`` lines; newlines inside a value become spaces."""
    lines = [f"{key}={' '.join(str(value).splitlines())}" for key, value in fields.items()]
    return "\n".join(lines).encode()


def notify(address: str, fields: Mapping[str, str]) -> None:
    """Send one notification to the socket at ``address`` (from :func:`socket_address`).

    Raises OSError when the socket is gone or refuses the datagram; the caller
    decides whether that matters.
    """
    # A fresh socket per datagram, like sd_notify(3): nothing to keep open across forks.
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
        sock.sendto(format_notification(fields), address)


def watchdog_usec(environ: Mapping[str, str], pid: int, parent_pid: int) -> int | None:
    """The watchdog timeout in microseconds if this process should ping, else None.

    ``WATCHDOG_PID`` names the unit's main pid. A dramatiq worker process is a
    child of that pid, so ``parent_pid`` counts as a match too (the unit then
    needs ``NotifyAccess=all`` for systemd to accept the pings).
    """
    try:
        usec = int(environ.get(WATCHDOG_USEC, ""))
    except ValueError:
        return None
    if usec <= 0:
        return None
    expected_pid = environ.get(WATCHDOG_PID, "").strip()
    if expected_pid and expected_pid not in (str(pid), str(parent_pid)):
        return None
    return usec
