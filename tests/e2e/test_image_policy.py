"""A real worker1 under the dramatiq CLI with a policy that denies WEBP write.

The thumbnail message is rejected at once with the explained error (no retry,
in the dead-letter queue), the denial is logged at boot, and the group keeps
serving its other queues.
"""

from __future__ import annotations

from pathlib import Path

import redis

from brokers.boot import producer_broker
from brokers.producer import send
from devkit.demo.images import DEMO_FONT
from devkit.supervise import GroupProcess
from devkit.wordpress.standin import WordPressStandIn
from pipeline.settings import Settings
from tests.helpers import dead_letters, ends_with, wait_lines, wait_replies

REPO = Path(__file__).resolve().parents[2]


def test_denied_webp_write_rejects_thumbnails_and_other_queues_keep_working(
        worker_env: dict[str, str], redis_url: str, redis_client: redis.Redis,
        wordpress: WordPressStandIn, tmp_path: Path) -> None:
    policy_dir = tmp_path / "magick"
    policy_dir.mkdir()
    (policy_dir / "policy.xml").write_text(
        '<policymap><policy domain="coder" rights="read" pattern="WEBP"/></policymap>',
        encoding="utf-8")
    env = {**worker_env, "ATR_WORKER1_PROCESSES": "1", "ATR_WORKER1_THREADS": "2",
           "MAGICK_CONFIGURE_PATH": str(policy_dir), "ATR_THUMB_FORMAT": "webp",
           "ATR_BG_PATH": str(REPO / "ops" / "assets" / "thumb-bg.jpg"),
           "ATR_THUMB_FONT": str(DEMO_FONT), "ATR_THUMB_OUT_DIR": str(tmp_path / "out"),
           "BRIDGE_BASE": wordpress.base_url, "BRIDGE_TOKEN": wordpress.token}
    root = Path(env["ATR_DOCLOG_ROOT"])
    broker = producer_broker(Settings.from_env({"REDIS_URL": redis_url}))
    send(broker, "thumbnail", {"post_id": 101})
    send(broker, "ping_seo", {"token": "still-serving"})
    with GroupProcess("worker1", env, tmp_path / "w1.log", cwd=tmp_path) as worker:
        lines = wait_lines(root, "thumbnail", ends_with("rejected"), timeout=60)
        assert wait_replies(redis_client, ["still-serving"]), worker.log_text()
        assert worker.stop() == 0
    broker.close()
    assert [(ln["event"], ln["attempt"]) for ln in lines] == [("started", 1), ("rejected", 1)]
    error = lines[-1]["error"]
    assert error.startswith("ImagePolicyDenied: ImageMagick policy denies write for coder WEBP")
    assert str(policy_dir / "policy.xml") in error
    assert "ATR_THUMB_FORMAT=jpeg" in error
    assert len(dead_letters(redis_client, "thumbnails")) == 1
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
    boot = [ln for ln in worker.log_text().splitlines() if "CRITICAL" in ln]
    assert any("WEBP" in ln for ln in boot), worker.log_text()
