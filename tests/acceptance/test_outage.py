"""WordPress stopped while a job runs: the job is retried and ends with nothing lost or doubled."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from dramatiq.brokers.redis import RedisBroker

from brokers.producer import send
from devkit.real_wordpress import RealWordPress
from tests.acceptance.rest import Rest
from tests.acceptance.test_featured_image import image_env, media_of
from tests.helpers import read_stream, wait_lines

Worker = Callable[[dict[str, str]], RedisBroker]


def test_a_stopped_wordpress_is_retried_until_it_is_back_with_one_media_item(
        run_worker: Worker, redis_url: str, tmp_path: Path, real_wordpress: RealWordPress,
        editor_token: str, admin: Rest) -> None:
    post_id = admin.new_post("서버가 멈춘 사이의 글")
    root = tmp_path / "logs"
    broker = run_worker(image_env(redis_url, tmp_path, real_wordpress.rest_root, editor_token))
    real_wordpress.stop_web()
    try:
        # Enough retries a few hundred milliseconds apart to outlast the restart below.
        message = send(broker, "fi_pipeline", {"post_id": post_id},
                       options={"min_backoff": 200, "max_backoff": 500, "max_retries": 100})
        wait_lines(root, "fi_pipeline", lambda lines: any(
            ln["event"] in ("failed", "deferred") and ln["message_id"] == message.message_id
            for ln in lines), timeout=30)
    finally:
        real_wordpress.start_web()
    wait_lines(root, "fi_pipeline", lambda lines: any(
        ln["event"] in ("succeeded", "dead", "rejected")
        and ln["message_id"] == message.message_id for ln in lines), timeout=60)
    lines = [ln for ln in read_stream(root, "fi_pipeline")
             if ln["message_id"] == message.message_id]
    # The outage waits (deferred, within ATR_WP_OUTAGE_BUDGET_S), it does not burn retries.
    waited = [ln for ln in lines if ln["event"] in ("failed", "deferred")]
    assert waited and all("could not reach WordPress for GET /wp/v2/posts/"
                          in (ln.get("error") or ln.get("reason") or "") for ln in waited)
    assert lines[-1]["event"] == "succeeded"
    (media,) = media_of(admin, post_id)
    post = admin.ok("GET", f"/wp/v2/posts/{post_id}", params={"context": "edit"})
    assert post["featured_media"] == media["id"]
