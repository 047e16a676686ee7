"""The Redis client factory: timeouts by purpose, the reachability check."""

from __future__ import annotations

import pytest

from devkit.redis_server import free_port
from pipeline import redis_client
from pipeline.redis_client import RedisUnreachable


@pytest.mark.parametrize(("purpose", "connect_s", "read_s"), [
    ("broker", 5.0, 30.0), ("cli", 5.0, 30.0), ("probe", 5.0, 5.0),
    ("reachability", 3.0, 3.0), ("http_health", 2.0, 2.0),
])
def test_each_purpose_has_its_timeouts(purpose: redis_client.Purpose, connect_s: float,
                                       read_s: float, redis_url: str) -> None:
    client = redis_client.connect(redis_url, purpose, name="atr-test")
    try:
        kwargs = client.connection_pool.connection_kwargs
        assert (kwargs["socket_connect_timeout"], kwargs["socket_timeout"]) == (connect_s, read_s)
        assert client.ping()
        assert client.client_getname() in (b"atr-test", "atr-test")
    finally:
        client.close()


def test_broker_connections_keep_alive(redis_url: str) -> None:
    kwargs = redis_client.connect(redis_url, "broker").connection_pool.connection_kwargs
    assert kwargs["socket_keepalive"] is True
    assert kwargs["health_check_interval"] == 30


def test_decode_gives_text(redis_url: str) -> None:
    client = redis_client.connect(redis_url, "probe", decode=True)
    try:
        client.set("atr:test:decode", "값")
        assert client.get("atr:test:decode") == "값"
    finally:
        client.delete("atr:test:decode")
        client.close()


def test_reachable_redis_passes(redis_url: str) -> None:
    redis_client.check_reachable(redis_url)


def test_unreachable_redis_names_the_redacted_url_and_what_to_do() -> None:
    with pytest.raises(RedisUnreachable) as caught:
        redis_client.check_reachable(f"redis://:hunter2@127.0.0.1:{free_port()}/0")
    text = str(caught.value)
    assert text.startswith("cannot reach Redis at redis://:***@127.0.0.1:")
    assert text.endswith("check that Redis runs and that REDIS_URL is right")
    assert "hunter2" not in text
    assert "\n" not in text
