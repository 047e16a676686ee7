"""The embedded redis-server used by the demo, the tests and the benches."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
import redis

from devkit.redis_server import EmbeddedRedis, RedisServerError


def test_starts_answers_and_is_gone_after_stop() -> None:
    with EmbeddedRedis() as server:
        client = redis.Redis.from_url(server.url)
        assert client.ping() is True
        assert client.config_get("save") == {"save": ""}
        client.close()
        port = server.port
    with socket.socket() as sock:
        assert sock.connect_ex(("127.0.0.1", port)) != 0


def test_missing_binary_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(RedisServerError, match=r"apt-get install redis-server"):
        EmbeddedRedis().start()


@pytest.mark.parametrize("kill", [False, True], ids=["sigterm", "sigkill"])
def test_an_appendonly_server_restarts_on_its_port_with_its_data(tmp_path: Path,
                                                                 kill: bool) -> None:
    with EmbeddedRedis(tmp_path, appendonly=True) as server:
        client = redis.Redis.from_url(server.url)
        if kill:  # everysec may lose the last second of writes on a crash
            client.config_set("appendfsync", "always")
        client.rpush("kept", "a", "b")
        port = server.port
        server.halt(kill=kill)
        assert not server.running
        with pytest.raises(redis.ConnectionError):
            client.ping()
        server.start()
        assert server.port == port and server.running
        assert client.lrange("kept", 0, -1) == [b"a", b"b"]
        assert client.config_get("appendonly") == {"appendonly": "yes"}
        client.close()
