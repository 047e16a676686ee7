"""fi_pipeline against real WordPress 6.1.9: one media item per post, attached, titled, alt text.

A real in-process worker runs the job; what is asserted is what an editor
sees in wp-admin: the Media Library (``/wp/v2/media`` as the administrator),
the post's featured image, and the doclog lines.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import redis
from dramatiq.brokers.redis import RedisBroker

from devkit.real_wordpress import RealWordPress
from tests.acceptance.conftest import ROOT, run_job
from tests.acceptance.rest import Rest
from tests.helpers import Lines

FONT = Path("/usr/share/fonts/truetype/nanum/NanumGothicBold.ttf")
Worker = Callable[[dict[str, str]], RedisBroker]


def image_env(redis_url: str, tmp_path: Path, base: str, token: str) -> dict[str, str]:
    """Settings of an image worker pointed at ``base`` with ``token``."""
    return {"REDIS_URL": redis_url, "ATR_DOCLOG_ROOT": str(tmp_path / "logs"),
            "ATR_BG_PATH": str(ROOT / "ops" / "assets" / "thumb-bg.jpg"),
            "ATR_THUMB_FONT": str(FONT), "ATR_THUMB_OUT_DIR": str(tmp_path / "thumbs"),
            "BRIDGE_BASE": base, "BRIDGE_TOKEN": token}


@pytest.fixture
def fi(run_worker: Worker, redis_url: str, tmp_path: Path, real_wordpress: RealWordPress,
       editor_token: str) -> Callable[..., Lines]:
    """Run fi_pipeline for a post on a worker pointed at real WordPress as the editor."""
    broker = run_worker(image_env(redis_url, tmp_path, real_wordpress.rest_root, editor_token))

    def run(post_id: int, **payload: Any) -> Lines:
        return run_job(broker, tmp_path / "logs", "fi_pipeline", {"post_id": post_id, **payload})
    return run


def media_of(admin: Rest, post_id: int) -> list[dict[str, Any]]:
    """Every attachment of ours for the post, attached or not (the whole library is searched)."""
    found = admin.ok("GET", "/wp/v2/media", params={"per_page": 100, "context": "edit"})
    return [m for m in found if m["slug"].startswith(f"atr-thumb-{post_id}-")
            or f"atr-thumb-{post_id}-" in m["source_url"]]


def test_the_featured_image_is_attached_to_its_post_with_its_title_and_alt_text(
        fi: Callable[..., Lines], admin: Rest) -> None:
    post_id = admin.new_post("봄맞이 한강 자전거 코스 추천")
    lines = fi(post_id)
    assert [ln["event"] for ln in lines] == ["started", "thumbnail.rendered",
                                             "thumbnail.uploaded", "thumbnail.featured_set",
                                             "succeeded"]
    (media,) = media_of(admin, post_id)
    assert media["post"] == post_id
    assert media["title"]["raw"] == "봄맞이 한강 자전거 코스 추천"
    assert media["alt_text"] == "봄맞이 한강 자전거 코스 추천"
    assert media["media_details"]["width"] == 1200 and media["media_details"]["height"] == 630
    attached = admin.ok("GET", "/wp/v2/media", params={"parent": post_id})
    assert [m["id"] for m in attached] == [media["id"]]
    post = admin.ok("GET", f"/wp/v2/posts/{post_id}", params={"context": "edit"})
    assert post["featured_media"] == media["id"]
    again = fi(post_id)
    assert [ln["event"] for ln in again] == ["started", "thumbnail.featured_kept", "succeeded"]


def test_a_renamed_upload_with_its_marker_lost_is_found_again(
        fi: Callable[..., Lines], admin: Rest, real_wordpress: RealWordPress,
        redis_client: redis.Redis) -> None:
    post_id = admin.new_post("이름이 바뀌는 업로드")
    fi(post_id)
    (first,) = media_of(admin, post_id)
    admin.ok("DELETE", f"/wp/v2/media/{first['id']}", params={"force": "true"})
    # A file of the same name is left in the uploads folder (a restore, a
    # failed cleanup), so WordPress saves the next upload as <name>-1.jpg.
    leftover = real_wordpress.site_dir / "wp-content" / "uploads" / first["media_details"]["file"]
    leftover.write_bytes(b"a leftover file")
    for _ in range(3):
        # The Redis marker is gone each time (expired, or Redis was flushed).
        for key in redis_client.keys("atr:fi_pipeline:media:*"):
            redis_client.delete(key)
        fi(post_id)
    (media,) = media_of(admin, post_id)
    stem = leftover.stem
    assert media["source_url"].endswith(f"/{stem}-1.jpg")
    post = admin.ok("GET", f"/wp/v2/posts/{post_id}", params={"context": "edit"})
    assert post["featured_media"] == media["id"]


def test_a_retitled_post_gets_a_new_image_and_the_old_one_is_removed(
        fi: Callable[..., Lines], admin: Rest) -> None:
    post_id = admin.new_post("바뀌기 전 제목")
    fi(post_id)
    (old,) = media_of(admin, post_id)
    admin.ok("POST", f"/wp/v2/posts/{post_id}", json={"title": "바뀐 뒤 제목"})
    lines = fi(post_id)
    (retired,) = [ln for ln in lines if ln["event"] == "thumbnail.retired"]
    (new,) = media_of(admin, post_id)
    assert retired["media_id"] == old["id"] and new["id"] != old["id"]
    assert new["title"]["raw"] == "바뀐 뒤 제목" and new["post"] == post_id
    assert admin.call("GET", f"/wp/v2/media/{old['id']}").status == 404


@pytest.mark.parametrize(("fields", "reason"), [
    ({"status": "publish", "trash": True}, "the post is in the trash (status 'trash')"),
    ({"status": "draft"}, "the post is a draft (status 'draft')"),
    ({"status": "publish", "password": "secret-pw"}, "the post is password-protected"),
], ids=["trashed", "draft", "password-protected"])
def test_trashed_draft_and_protected_posts_are_skipped_with_a_reason(
        fields: dict[str, Any], reason: str, fi: Callable[..., Lines], admin: Rest) -> None:
    trash = fields.pop("trash", False)
    post_id = admin.new_post("건너뛰어야 하는 글", **fields)
    if trash:
        admin.ok("DELETE", f"/wp/v2/posts/{post_id}")
    lines = fi(post_id)
    assert [ln["event"] for ln in lines] == ["started", "post.skipped", "succeeded"]
    assert lines[1]["reason"] == reason
    assert media_of(admin, post_id) == []
    post = admin.ok("GET", f"/wp/v2/posts/{post_id}", params={"context": "edit"})
    assert post["featured_media"] == 0
