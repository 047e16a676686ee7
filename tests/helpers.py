"""Helpers for tests that run the real CLI: run ``atr``, wait for canary replies."""

from __future__ import annotations

import json
import socket
import subprocess
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import redis

from devkit.supervise import atr_executable
from pipeline import keys


def run_atr(*args: str, env: Mapping[str, str], cwd: Path, timeout: float = 60,
            stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run the real ``atr`` console script (``stdin`` as its input) and capture its output."""
    return subprocess.run([atr_executable(), *args], env=dict(env), cwd=cwd, text=True,
                          capture_output=True, timeout=timeout, check=False,
                          input=stdin)


def wait_replies(client: redis.Redis, tokens: Iterable[str],
                 timeout: float = 30) -> dict[str, dict[str, Any]]:
    """Block until every token's canary reply arrives (or the timeout); token -> reply."""
    waiting = set(tokens)
    replies: dict[str, dict[str, Any]] = {}
    deadline = time.monotonic() + timeout
    while waiting and time.monotonic() < deadline:
        popped = client.blpop([keys.ping_reply(t) for t in waiting], timeout=1)
        if popped is not None:
            reply = json.loads(popped[1])
            replies[reply["token"]] = reply
            waiting.discard(reply["token"])
    return replies


def queued_ids(client: redis.Redis, queue: str) -> list[str]:
    """Message ids waiting in a Dramatiq Redis queue."""
    return [str(i) for i in client.lrange(f"dramatiq:{queue}", 0, -1)]


def dead_letters(client: redis.Redis, queue: str) -> list[str]:
    """Message ids in a queue's dead-letter set."""
    return [str(i) for i in client.zrange(f"dramatiq:{queue}.XQ", 0, -1)]


def assert_one_clear_line(stderr: str) -> str:
    """A user-facing error: exactly one line, no traceback; returns it."""
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert "Traceback" not in stderr, stderr
    assert len(lines) == 1, stderr
    return lines[0]


Lines = list[dict[str, Any]]


def read_stream(root: Path, stream: str) -> Lines:
    """Every doclog line of a stream (uncompressed days), oldest day first."""
    return [json.loads(line) for path in sorted((root / stream).glob("*.ndjson"))
            for line in path.read_bytes().splitlines()]


def wait_lines(root: Path, stream: str, done: Callable[[Lines], bool],
               timeout: float = 15) -> Lines:
    """Poll a stream until ``done(lines)``; fails with the lines seen otherwise."""
    deadline = time.monotonic() + timeout
    lines = read_stream(root, stream)
    while not done(lines) and time.monotonic() < deadline:
        time.sleep(0.05)
        lines = read_stream(root, stream)
    assert done(lines), lines
    return lines


def ends_with(event: str) -> Callable[[Lines], bool]:
    """A ``done`` test for :func:`wait_lines`: the last line is ``event``."""
    return lambda lines: bool(lines) and lines[-1]["event"] == event


def receive_notification(sock: socket.socket, timeout: float) -> dict[str, str] | None:
    """The next sd_notify datagram as a dict, or None when none comes within ``timeout``."""
    sock.settimeout(timeout)
    try:
        data = sock.recv(4096)
    except TimeoutError:
        return None
    return dict(line.split("=", 1) for line in data.decode().splitlines())
