"""What asks for indexing: a new featured image (worker1) and Google as one more endpoint.

worker1 runs only its own queues, so the ``index_submit`` it asks for waits in
the ``index`` queue: the test reads that message from Redis as worker2 would.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import dramatiq
import pytest
import redis
from dramatiq.brokers.redis import RedisBroker

from brokers.boot import producer_broker
from brokers.producer import send
from devkit.fakes.google_indexing_server import GoogleIndexingFake, write_service_account
from devkit.fakes.indexnow_server import IndexNowFake
from devkit.wordpress import WordPressStandIn
from pipeline.groups import get_group
from pipeline.settings import Settings
from tests.helpers import Lines, wait_lines

ROOT = Path(__file__).parents[2]
FONT = Path("/usr/share/fonts/truetype/nanum/NanumGothicBold.ttf")
KEY = "0123456789abcdef"


@pytest.fixture
def workers() -> Iterator[Any]:
    started: list[tuple[dramatiq.Worker, RedisBroker]] = []

    def start(env: dict[str, str], queues: set[str]) -> RedisBroker:
        broker = producer_broker(Settings.from_env(env))
        worker = dramatiq.Worker(broker, queues=queues, worker_threads=2, worker_timeout=50)
        worker.start()
        started.append((worker, broker))
        return broker

    yield start
    for worker, broker in started:
        worker.stop()
        broker.close()


def succeeded(count: int) -> Callable[[Lines], bool]:
    return lambda lines: sum(ln["event"] == "succeeded" for ln in lines) >= count


def index_messages(client: redis.Redis) -> list[dict[str, Any]]:
    """The index_submit messages waiting in the ``index`` queue."""
    ids = client.lrange("dramatiq:index", 0, -1)
    return [json.loads(client.hget("dramatiq:index.msgs", i)) for i in ids]  # type: ignore[arg-type]


def test_a_new_featured_image_asks_for_the_post_to_be_indexed_once(
        workers: Any, redis_url: str, tmp_path: Path, wordpress: WordPressStandIn) -> None:
    env = {"REDIS_URL": redis_url, "ATR_DOCLOG_ROOT": str(tmp_path / "logs"),
           "ATR_BG_PATH": str(ROOT / "ops" / "assets" / "thumb-bg.jpg"),
           "ATR_THUMB_FONT": str(FONT), "ATR_THUMB_OUT_DIR": str(tmp_path / "thumbs"),
           "BRIDGE_BASE": wordpress.base_url, "BRIDGE_TOKEN": wordpress.token}
    broker = workers(env, set(get_group("worker1").queue_names))
    post_id = wordpress.post_ids[0]
    for n in (1, 2):   # the second run finds the image already featured
        send(broker, "fi_pipeline", {"post_id": post_id})
        wait_lines(tmp_path / "logs", "fi_pipeline", succeeded(n), timeout=60)
    client = redis.Redis.from_url(redis_url)
    (message,) = index_messages(client)
    assert message["actor_name"] == "index_submit"
    assert message["kwargs"] == {"urls": [f"{wordpress.site_url}/{wordpress.post(post_id).slug}/"],
                                 "endpoint": None}


def test_google_is_one_more_endpoint_when_turned_on(
        workers: Any, redis_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    urls = ["https://jobs.example/opening-1/"]
    with IndexNowFake(keys={"jobs.example": KEY}) as indexnow, GoogleIndexingFake() as google:
        creds = write_service_account(tmp_path / "sa.json", google.token_uri)
        broker = workers({"REDIS_URL": redis_url, "ATR_DOCLOG_ROOT": str(tmp_path / "logs"),
                          "ATR_INDEXNOW_KEY": KEY, "ATR_INDEXNOW_ENDPOINTS": indexnow.url,
                          "ATR_GOOGLE_INDEXING": "on",
                          "ATR_GOOGLE_INDEXING_CREDENTIALS": str(creds),
                          "ATR_GOOGLE_INDEXING_BASE_URL": google.url}, {"index"})
        send(broker, "index_submit", {"urls": urls})
        lines = wait_lines(tmp_path / "logs", "index_submit", lambda ls: sum(
            ln["event"] == "index.submitted" for ln in ls) >= 2, timeout=30)
    assert indexnow.accepted_urls() == urls
    assert google.published == urls
    assert {ln["endpoint"] for ln in lines if ln["event"] == "index.submitted"} == \
        {f"127.0.0.1:{indexnow.port}", "google"}


def test_google_needs_its_credentials() -> None:
    from pipeline.errors import ConfigError

    with pytest.raises(ConfigError, match="ATR_GOOGLE_INDEXING_CREDENTIALS is required"):
        Settings.from_env({"REDIS_URL": "redis://h:1/0", "ATR_GOOGLE_INDEXING": "on"})
