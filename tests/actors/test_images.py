"""thumbnail and fi_pipeline on an in-process worker against the WordPress stand-in.

What a user sees: the rendered file, the media library and the post's
featured image in the stand-in, the doclog lines. Faults are injected in the
stand-in (a 500 on the featured_media write, before or after it applied).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dramatiq
import pytest
import redis
from dramatiq.brokers.redis import RedisBroker

from brokers.boot import producer_broker
from brokers.producer import send
from devkit.wordpress import WordPressStandIn
from devkit.wordpress.store import image_size
from pipeline.groups import get_group
from pipeline.pause import PauseStore
from pipeline.settings import Settings
from tests.helpers import Lines, dead_letters, wait_lines

ROOT = Path(__file__).parents[2]
FONT = Path("/usr/share/fonts/truetype/nanum/NanumGothicBold.ttf")
FAST_RETRY = {"min_backoff": 100, "max_backoff": 200}


def settings_env(redis_url: str, tmp_path: Path, wordpress: WordPressStandIn | None,
                 **extra: str) -> dict[str, str]:
    env = {"REDIS_URL": redis_url, "ATR_DOCLOG_ROOT": str(tmp_path / "logs"),
           "ATR_BG_PATH": str(ROOT / "ops" / "assets" / "thumb-bg.jpg"),
           "ATR_THUMB_FONT": str(FONT), "ATR_THUMB_OUT_DIR": str(tmp_path / "thumbs")}
    if wordpress is not None:
        env |= {"BRIDGE_BASE": wordpress.base_url, "BRIDGE_TOKEN": wordpress.token}
    return env | extra


@pytest.fixture
def run_worker(redis_url: str, tmp_path: Path) -> Iterator[Any]:
    """Start an in-process worker on worker1's queues with the given settings env."""
    started: list[tuple[dramatiq.Worker, RedisBroker]] = []

    def start(env: dict[str, str]) -> RedisBroker:
        broker = producer_broker(Settings.from_env(env))
        worker = dramatiq.Worker(broker, queues=set(get_group("worker1").queue_names),
                                 worker_threads=2, worker_timeout=100)
        worker.start()
        started.append((worker, broker))
        return broker

    yield start
    for worker, broker in started:
        worker.stop()
        broker.close()


def finished(message_id: str) -> Any:
    return lambda lines: any(ln["message_id"] == message_id and ln["event"] in
                             ("succeeded", "rejected", "dead") for ln in lines)


def events(lines: Lines, message_id: str) -> list[str]:
    return [ln["event"] for ln in lines if ln["message_id"] == message_id]


def run_fi(broker: RedisBroker, root: Path, post_id: Any, **payload: Any) -> tuple[str, Lines]:
    message = send(broker, "fi_pipeline", {"post_id": post_id, **payload}, options=FAST_RETRY)
    lines = wait_lines(root, "fi_pipeline", finished(message.message_id), timeout=30)
    return message.message_id, [ln for ln in lines if ln["message_id"] == message.message_id]


def test_fi_pipeline_renders_uploads_and_sets_the_featured_image(
        run_worker: Any, redis_url: str, tmp_path: Path, wordpress: WordPressStandIn) -> None:
    broker = run_worker(settings_env(redis_url, tmp_path, wordpress))
    post_id = wordpress.post_ids[0]
    _, lines = run_fi(broker, tmp_path / "logs", post_id)

    assert [ln["event"] for ln in lines] == ["started", "thumbnail.rendered",
                                             "thumbnail.uploaded", "thumbnail.featured_set",
                                             "succeeded"]
    (media,) = wordpress.media
    assert wordpress.post(post_id).featured_media == media.id
    assert media.filename.startswith(f"atr-thumb-{post_id}-") and media.filename.endswith(".jpg")
    assert media.alt_text == wordpress.post(post_id).title
    assert image_size(media.data, "image/jpeg") == (1200, 630)
    uploaded = lines[2]
    assert uploaded["media_id"] == media.id and uploaded["slug"] == media.slug
    assert lines[3]["reused"] is False and lines[3]["previous"] == 0


def test_a_500_on_the_featured_write_is_retried_without_a_second_upload(
        run_worker: Any, redis_url: str, tmp_path: Path, wordpress: WordPressStandIn,
        redis_client: redis.Redis) -> None:
    broker = run_worker(settings_env(redis_url, tmp_path, wordpress))
    post_id = wordpress.post_ids[1]
    wordpress.fail_next("POST", "posts.item", status=500)
    _, lines = run_fi(broker, tmp_path / "logs", post_id)

    # A 5xx is an outage: waited out (deferred, no retry used), not a failure.
    assert [(ln["event"], ln["attempt"]) for ln in lines] == [
        ("started", 1), ("thumbnail.rendered", 1), ("thumbnail.uploaded", 1), ("deferred", 1),
        ("started", 1), ("thumbnail.featured_set", 1), ("succeeded", 1)]
    assert lines[3]["reason"].startswith("WordPress could not answer POST /wp/v2/posts/")
    assert lines[5]["reused"] is True
    (media,) = wordpress.media
    assert len(wordpress.requests_to("POST", "media.collection")) == 1
    assert wordpress.post(post_id).featured_media == media.id
    assert redis_client.keys("atr:fi_pipeline:lock:*") == []  # released after each attempt


def test_a_write_that_applied_but_lost_its_answer_ends_as_current_on_retry(
        run_worker: Any, redis_url: str, tmp_path: Path, wordpress: WordPressStandIn) -> None:
    broker = run_worker(settings_env(redis_url, tmp_path, wordpress))
    post_id = wordpress.post_ids[2]
    wordpress.fail_next("POST", "posts.item", status=502, after_effect=True)
    _, lines = run_fi(broker, tmp_path / "logs", post_id)

    kept = [ln for ln in lines if ln["event"] == "thumbnail.featured_kept"]
    assert [ln["reason"] for ln in kept] == ["current"]
    assert [ln["event"] for ln in lines][-1] == "succeeded"
    (media,) = wordpress.media
    assert wordpress.post(post_id).featured_media == media.id


def test_a_second_message_for_the_same_post_changes_nothing_unless_forced(
        run_worker: Any, redis_url: str, tmp_path: Path, wordpress: WordPressStandIn) -> None:
    broker = run_worker(settings_env(redis_url, tmp_path, wordpress))
    post_id = wordpress.post_ids[3]
    run_fi(broker, tmp_path / "logs", post_id)
    _, again = run_fi(broker, tmp_path / "logs", post_id)
    assert [ln["event"] for ln in again] == ["started", "thumbnail.featured_kept", "succeeded"]
    writes = len(wordpress.requests_to("POST", "posts.item"))
    _, forced = run_fi(broker, tmp_path / "logs", post_id, force=True)
    # force on an unchanged thumbnail: nothing to change, so no post write either.
    assert [ln["event"] for ln in forced] == ["started", "thumbnail.featured_kept", "succeeded"]
    assert forced[1]["reason"] == "current"
    assert len(wordpress.requests_to("POST", "posts.item")) == writes
    assert len(wordpress.media) == 1


def test_a_featured_image_chosen_by_a_person_is_kept_unless_forced(
        run_worker: Any, redis_url: str, tmp_path: Path, wordpress: WordPressStandIn) -> None:
    from pipeline.wordpress import Bridge, BridgeConfig, set_featured_media, upload_media

    post_id = wordpress.post_ids[4]
    photo = (ROOT / "ops" / "assets" / "thumb-bg.jpg").read_bytes()
    with Bridge(BridgeConfig.from_values(wordpress.base_url, wordpress.token)) as bridge:
        chosen = upload_media(bridge, photo, "editor-photo.jpg", "image/jpeg")
        set_featured_media(bridge, post_id, chosen.id)
    broker = run_worker(settings_env(redis_url, tmp_path, wordpress))

    _, kept = run_fi(broker, tmp_path / "logs", post_id)
    assert [(ln["event"], ln.get("reason")) for ln in kept][1] == ("thumbnail.featured_kept",
                                                                   "chosen")
    assert wordpress.post(post_id).featured_media == chosen.id
    run_fi(broker, tmp_path / "logs", post_id, force=True)
    assert wordpress.post(post_id).featured_media not in (0, chosen.id)


def test_a_missing_post_is_rejected_at_once(
        run_worker: Any, redis_url: str, tmp_path: Path, wordpress: WordPressStandIn,
        redis_client: redis.Redis) -> None:
    broker = run_worker(settings_env(redis_url, tmp_path, wordpress))
    message_id, lines = run_fi(broker, tmp_path / "logs", 999_999)
    assert events(lines, message_id) == ["started", "rejected"]
    assert lines[-1]["error"].startswith(
        "BridgeNotFoundError: WordPress has nothing at GET /wp/v2/posts/999999 "
        "(404 rest_post_invalid_id: Invalid post ID.); check the post id")
    (dead,) = dead_letters(redis_client, "images")
    stored = json.loads(redis_client.hget("dramatiq:images.XQ.msgs", dead) or "{}")
    assert stored["message_id"] == message_id and "retries" not in stored["options"]
    assert wordpress.media == []


@pytest.mark.parametrize("payload", [{"post_id": "101"}, {"post_id": True}, {"post_id": 0},
                                     {"post_id": 101, "force": "yes"}])
def test_a_bad_payload_is_rejected(payload: dict[str, Any], run_worker: Any, redis_url: str,
                                   tmp_path: Path, wordpress: WordPressStandIn) -> None:
    broker = run_worker(settings_env(redis_url, tmp_path, wordpress))
    message = send(broker, "fi_pipeline", payload)
    lines = wait_lines(tmp_path / "logs", "fi_pipeline", finished(message.message_id))
    assert lines[-1]["event"] == "rejected"
    assert lines[-1]["error"].startswith("PayloadError: ")
    assert wordpress.requests == []


def test_an_unconfigured_bridge_pauses_the_wordpress_jobs_with_what_to_set(
        run_worker: Any, redis_url: str, tmp_path: Path, redis_client: redis.Redis) -> None:
    broker = run_worker(settings_env(redis_url, tmp_path, None))
    message = send(broker, "fi_pipeline", {"post_id": 101}, options=FAST_RETRY)
    lines = wait_lines(tmp_path / "logs", "fi_pipeline",
                       lambda got: "deferred" in events(got, message.message_id))
    assert events(lines, message.message_id) == ["started", "deferred"]
    assert "(BRIDGE_BASE and BRIDGE_TOKEN unset): set BRIDGE_BASE" in lines[-1]["reason"]
    pause = PauseStore(redis_client).get("wordpress")
    assert pause is not None and "BRIDGE_BASE and BRIDGE_TOKEN unset" in pause.reason
    assert dead_letters(redis_client, "images") == []


def test_thumbnail_writes_the_rendered_file_and_says_where(
        run_worker: Any, redis_url: str, tmp_path: Path, wordpress: WordPressStandIn) -> None:
    broker = run_worker(settings_env(redis_url, tmp_path, wordpress, ATR_THUMB_FORMAT="webp",
                                     ATR_THUMB_SIZE="800x420"))
    post_id = wordpress.post_ids[5]
    message = send(broker, "thumbnail", {"post_id": post_id})
    lines = wait_lines(tmp_path / "logs", "thumbnail", finished(message.message_id))
    assert [ln["event"] for ln in lines] == ["started", "thumbnail.rendered", "succeeded"]
    path = tmp_path / "thumbs" / f"{post_id}.webp"
    assert lines[1]["path"] == str(path) and lines[1]["bytes"] == path.stat().st_size
    assert image_size(path.read_bytes(), "image/webp") == (800, 420)
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary left
    assert wordpress.media == []  # thumbnail only renders
    assert json.dumps(lines).count(wordpress.token.split(":")[1]) == 0


def test_two_messages_for_one_post_at_once_upload_once(
        run_worker: Any, redis_url: str, tmp_path: Path, wordpress: WordPressStandIn) -> None:
    broker = run_worker(settings_env(redis_url, tmp_path, wordpress))
    post_id = wordpress.post_ids[6]
    # Slow uploads keep the first message inside its lock while the second starts.
    wordpress.slow_next("POST", "media.collection", seconds=1.0)
    ids = [send(broker, "fi_pipeline", {"post_id": post_id}).message_id for _ in range(2)]
    lines = wait_lines(tmp_path / "logs", "fi_pipeline",
                       lambda ls: all(finished(i)(ls) for i in ids), timeout=60)
    assert {ln["message_id"] for ln in lines if ln["event"] == "succeeded"} == set(ids)
    # The second one waited for the first: deferred, not failed, no retry used.
    waited = [ln["reason"] for ln in lines if ln["event"] == "deferred"]
    assert waited and all(f"fi_pipeline for post {post_id} is already running in another "
                          "worker" in reason for reason in waited)
    assert not [ln for ln in lines if ln["event"] == "failed"]
    (media,) = wordpress.media
    assert wordpress.post(post_id).featured_media == media.id
