"""fi_pipeline under the real dramatiq CLI (worker1) against the WordPress stand-in.

The post ends with a featured image read back from WordPress, and a failure
after the upload step (the stand-in answers the featured_media write with a
500 once) is waited out (deferred) and redelivered without a second media item.
"""

from __future__ import annotations

import time
from pathlib import Path

from brokers.boot import producer_broker
from brokers.producer import send
from devkit.supervise import GroupProcess
from devkit.wordpress import WordPressStandIn
from pipeline.settings import Settings
from pipeline.wordpress import Bridge, BridgeConfig, get_post
from tests.helpers import Lines, read_stream

ROOT = Path(__file__).parents[2]


def succeeded(lines: Lines) -> set[str]:
    return {ln["message_id"] for ln in lines if ln["event"] == "succeeded"}


def test_worker1_sets_the_featured_image_once_despite_a_failure_after_the_upload(
        worker_env: dict[str, str], tmp_path: Path, wordpress: WordPressStandIn) -> None:
    env = {**worker_env, "ATR_WORKER1_PROCESSES": "1", "ATR_WORKER1_THREADS": "2",
           "BRIDGE_BASE": wordpress.base_url, "BRIDGE_TOKEN": wordpress.token,
           "ATR_BG_PATH": str(ROOT / "ops" / "assets" / "thumb-bg.jpg"),
           "ATR_THUMB_FONT": "/usr/share/fonts/truetype/nanum/NanumGothicBold.ttf",
           "ATR_THUMB_OUT_DIR": str(tmp_path / "thumbs")}
    root = Path(env["ATR_DOCLOG_ROOT"])
    first, second = wordpress.post_ids[:2]
    wordpress.fail_next("POST", "posts.item", status=500)  # the first featured_media write

    broker = producer_broker(Settings.from_env(env))
    fast = {"min_backoff": 200, "max_backoff": 400}
    ids = {send(broker, "fi_pipeline", {"post_id": first}, options=fast).message_id,
           send(broker, "fi_pipeline", {"post_id": second}, options=fast).message_id}
    broker.close()

    with GroupProcess("worker1", env, tmp_path / "worker1.log", cwd=tmp_path) as worker:
        deadline = time.monotonic() + 90
        while not succeeded(lines := read_stream(root, "fi_pipeline")) >= ids \
                and time.monotonic() < deadline:
            time.sleep(0.2)
        assert worker.stop() == 0, worker.log_text()
        assert "CRITICAL" not in worker.log_text()  # the ImageMagick preflight passed
    assert succeeded(lines) == ids, worker.log_text()

    # One attempt met a 500 after its upload and waited (an outage: deferred, no retry
    # used): still one media item per post.
    waited = [ln for ln in lines if ln["event"] == "deferred"]
    assert len(waited) == 1 and "500" in waited[0]["reason"]
    assert not [ln for ln in lines if ln["event"] == "failed"]
    assert len([ln for ln in lines if ln["event"] == "thumbnail.uploaded"]) == 2
    assert len(wordpress.requests_to("POST", "media.collection")) == 2
    media_by_post = {int(m.filename.split("-")[2]): m for m in wordpress.media}
    assert sorted(media_by_post) == sorted([first, second]) and len(wordpress.media) == 2

    with Bridge(BridgeConfig.from_values(wordpress.base_url, wordpress.token)) as bridge:
        for post_id in (first, second):
            assert get_post(bridge, post_id).featured_media == media_by_post[post_id].id
    assert all(ln["group"] == "worker1" for ln in lines)
