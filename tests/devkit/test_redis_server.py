"""The embedded redis-server used by the demo, the tests and the benches."""

from __future__ import annotations

import socket

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
