"""The demo's thumbnail step renders every sample post on a worker and returns the files."""

from __future__ import annotations

from pathlib import Path

import dramatiq
import pytest

from brokers.boot import producer_broker
from devkit.demo.images import demo_image_env, demo_thumbnails
from devkit.wordpress import WordPressStandIn
from devkit.wordpress.store import image_size, load_sample_posts
from pipeline.errors import ConfigError
from pipeline.settings import Settings


def test_demo_thumbnails_returns_one_rendered_file_per_sample_post(
        redis_url: str, tmp_path: Path, wordpress: WordPressStandIn) -> None:
    env = demo_image_env({"REDIS_URL": redis_url, "ATR_DOCLOG_ROOT": str(tmp_path / "logs"),
                          "ATR_THUMB_OUT_DIR": str(tmp_path / "thumbs")}, wordpress)
    settings = Settings.from_env(env)
    broker = producer_broker(settings)
    worker = dramatiq.Worker(broker, queues={"thumbnails"}, worker_threads=2)
    worker.start()
    try:
        paths = demo_thumbnails(broker, settings, wordpress.base_url)
    finally:
        worker.stop()
        broker.close()
    assert paths == [str(tmp_path / "thumbs" / f"{p.id}.jpg") for p in load_sample_posts()]
    for path in paths:
        assert image_size(Path(path).read_bytes(), "image/jpeg") == (1200, 630)


def test_demo_thumbnails_refuses_workers_pointed_elsewhere(
        redis_url: str, tmp_path: Path, wordpress: WordPressStandIn) -> None:
    settings = Settings.from_env({"REDIS_URL": redis_url,
                                  "BRIDGE_BASE": "https://example.com/wp-json",
                                  "BRIDGE_TOKEN": "someone:secret"})
    with pytest.raises(ConfigError, match=r"build their environment with devkit\.demo\.images"):
        demo_thumbnails(producer_broker(settings), settings, wordpress.base_url)
