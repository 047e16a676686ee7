"""The install keeps Dramatiq on 2.2.x and still ships a working dramatiq_dashboard."""

from __future__ import annotations

import io
import tomllib
from importlib.metadata import version
from pathlib import Path

import dramatiq
from dramatiq.brokers.redis import RedisBroker

ROOT = Path(__file__).resolve().parents[1]


def test_installed_dramatiq_is_2_2() -> None:
    major, minor = (int(p) for p in dramatiq.__version__.split(".")[:2])
    assert (major, minor) >= (2, 2), dramatiq.__version__
    assert major == 2


def test_dramatiq_dashboard_imports_and_serves_with_dramatiq_2(redis_url: str) -> None:
    from dramatiq_dashboard import DashboardApp

    broker = RedisBroker(url=redis_url)
    app = DashboardApp(broker=broker, prefix="/dashboard")
    statuses: list[str] = []
    body = b"".join(app({"REQUEST_METHOD": "GET", "PATH_INFO": "/",
                         "QUERY_STRING": "", "SERVER_NAME": "t", "SERVER_PORT": "80",
                         "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO()},
                        lambda status, headers: statuses.append(status)))
    broker.close()
    assert statuses == ["200 OK"]
    assert b"Dramatiq" in body


def test_lock_file_pins_dramatiq_2_2_and_the_dashboard() -> None:
    lock = tomllib.loads((ROOT / "uv.lock").read_text(encoding="utf-8"))
    pinned = {p["name"]: p["version"] for p in lock["package"]}
    assert pinned["dramatiq"].startswith("2.2.")
    assert pinned["dramatiq-dashboard"] == "0.4.0"
    assert version("dramatiq") == pinned["dramatiq"]


def test_broker_uses_the_hiredis_parser(redis_url: str) -> None:
    from redis.utils import HIREDIS_AVAILABLE

    from brokers.broker import build_broker
    from pipeline.settings import Settings

    broker = build_broker(Settings.from_env({"REDIS_URL": redis_url}))
    connection = broker.client.connection_pool.get_connection()
    try:
        assert HIREDIS_AVAILABLE
        assert "Hiredis" in type(connection._parser).__name__
    finally:
        broker.client.connection_pool.release(connection)
        broker.close()
