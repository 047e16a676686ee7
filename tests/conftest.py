"""Session-wide fixtures: a real redis-server on a free port, clean env for subprocesses."""

from __future__ import annotations

import os
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path

import dramatiq
import pytest
import redis

from devkit.redis_server import EmbeddedRedis
from devkit.wordpress import WordPressStandIn


@pytest.fixture(scope="session")
def redis_server() -> Iterator[EmbeddedRedis]:
    """One private redis-server for the whole session (never the machine's 6379)."""
    with EmbeddedRedis() as server:
        yield server


@pytest.fixture
def redis_url(redis_server: EmbeddedRedis) -> str:
    """The session server's URL, emptied before the test."""
    client = redis.Redis.from_url(redis_server.url)
    client.flushall()
    client.close()
    return redis_server.url


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[redis.Redis]:
    """A client on the emptied session server, decoding to str."""
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    yield client
    client.close()


@pytest.fixture
def clean_env(tmp_path: Path) -> dict[str, str]:
    """The process environment without any atr-workers variable, for subprocesses."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("ATR_") and k not in ("REDIS_URL", "OPENAI_API_KEY",
                                                      "GEMINI_API_KEY", "BRIDGE_BASE",
                                                      "BRIDGE_TOKEN")}
    env["NO_PROXY"] = "127.0.0.1,localhost"
    env["ATR_DOCLOG_ROOT"] = str(tmp_path / "logs")
    # No Prometheus exporter unless a test asks for one: the default ports
    # (9191/9192) belong to the host, and concurrent tests would fight for them.
    env["ATR_METRICS_WORKER1_PORT"] = "0"
    env["ATR_METRICS_WORKER2_PORT"] = "0"
    return env


@pytest.fixture
def worker_env(clean_env: dict[str, str], redis_url: str) -> dict[str, str]:
    """Environment for ``atr`` subprocesses pointed at the session Redis."""
    return {**clean_env, "REDIS_URL": redis_url}


@pytest.fixture(autouse=True)
def _no_global_broker() -> Iterator[None]:
    """Each test starts without a global Dramatiq broker (actors bind explicitly)."""
    yield
    dramatiq.broker.global_broker = None


@pytest.fixture
def notify_socket() -> Iterator[tuple[str, socket.socket]]:
    """A real systemd notify socket (AF_UNIX datagram) at a short path: (path, socket)."""
    with tempfile.TemporaryDirectory(prefix="atr-sd-", dir="/tmp") as name:
        path = os.path.join(name, "notify")
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.bind(path)
            yield path, sock


@pytest.fixture
def wordpress() -> Iterator[WordPressStandIn]:
    """A WordPress stand-in on a free port, seeded with the sample Korean posts."""
    with WordPressStandIn() as server:
        yield server
