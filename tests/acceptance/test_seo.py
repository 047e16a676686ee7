"""The SEO team's round trip against real WordPress 6.1.9: propose, review, approve.

worker1's actors run on an in-process worker (real Dramatiq, the session's
Redis) with the OpenAI fake as the model; the operator commands are the real
``atr`` CLI. What is asserted is what WordPress stores: the post's tags (real
terms, Korean slugs) and the Yoast meta the must-use plugin registers, read
back over REST as the administrator.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from dramatiq.brokers.redis import RedisBroker

from brokers.producer import send
from pipeline.text import normalise_tag
from pipeline.wordpress.seo_meta import SEO_META_KEYS
from tests.acceptance.conftest import FAST_RETRY, run_job
from tests.acceptance.rest import Rest
from tests.helpers import Lines, run_atr, wait_lines

YOAST = SEO_META_KEYS["yoast"]
Worker = Callable[[dict[str, str]], RedisBroker]


def test_propose_review_approve_writes_tags_and_yoast_meta(
        run_worker: Worker, seo_env: dict[str, str], tmp_path: Path, admin: Rest) -> None:
    post_id = admin.new_post(
        "초보자를 위한 홈카페 원두 고르는 법",
        "<p>원두는 로스팅 날짜가 가장 중요합니다. 볶은 지 2주 이내의 원두를 고르세요.</p>\n"
        "<p>산미를 좋아한다면 에티오피아, 고소한 맛을 원한다면 브라질 원두가 무난합니다.</p>")
    broker = run_worker(seo_env)
    root = Path(seo_env["ATR_DOCLOG_ROOT"])
    proposed_lines = run_job(broker, root, "seo_automation", {"post_id": post_id})
    assert [ln["event"] for ln in proposed_lines] == ["started", "llm.answered",
                                                      "seo.proposed", "succeeded"]
    untouched = admin.ok("GET", f"/wp/v2/posts/{post_id}", params={"context": "edit"})
    assert untouched["tags"] == [] and untouched["meta"][YOAST["meta_description"]] == ""

    review = run_atr("seo", "review", env=seo_env, cwd=tmp_path)
    assert review.returncode == 0, review.stderr
    assert f"post {post_id}" in review.stdout and "atr seo approve" in review.stdout
    proposals = {p["post_id"]: p for p in json.loads(
        run_atr("seo", "review", "--json", env=seo_env, cwd=tmp_path).stdout)["proposals"]}
    proposed = proposals[post_id]["proposed"]

    approve = run_atr("seo", "approve", str(post_id), env=seo_env, cwd=tmp_path)
    assert approve.returncode == 0, approve.stderr
    applied = [ln for ln in run_job_end(root, "seo_apply") if ln["post_id"] == post_id]
    assert [ln["event"] for ln in applied] == ["seo.applied"]

    post = admin.ok("GET", f"/wp/v2/posts/{post_id}", params={"context": "edit"})
    tags = admin.ok("GET", "/wp/v2/tags", params={"include": ",".join(map(str, post["tags"])),
                                                  "per_page": 100})
    assert {normalise_tag(t["name"]) for t in tags} == {normalise_tag(t)
                                                        for t in proposed["tags"]}
    assert all(t["slug"].startswith("%") or t["slug"].isascii() for t in tags)
    meta = post["meta"]
    assert meta[YOAST["focus_keyword"]] == proposed["focus_keyword"]
    assert meta[YOAST["meta_description"]] == proposed["meta_description"]
    assert meta[YOAST["seo_title"]] == proposed["seo_title"]
    left = run_atr("seo", "review", env=seo_env, cwd=tmp_path)
    assert f"post {post_id}" not in left.stdout


def run_job_end(root: Path, stream: str) -> Lines:
    """The domain lines of ``stream`` once a message of it has ended."""
    lines = wait_lines(root, stream, lambda ls: any(
        ln["event"] in ("succeeded", "rejected", "dead") for ln in ls), timeout=60)
    return [ln for ln in lines if "." in str(ln["event"])]


def test_two_posts_tagged_at_once_share_each_tag_no_duplicates(
        run_worker: Worker, seo_env: dict[str, str], admin: Rest) -> None:
    # Real WordPress makes a duplicate tag (or answers one id twice) when two
    # creates of one name overlap; the worker's per-name lock must keep one.
    content = ("<p>겨울철 적정 실내 습도는 40~60%입니다. 가습기는 세척이 쉬운 구조인지 먼저 "
               "확인하세요.</p>\n<p>초음파식은 조용하지만 물때 관리가 중요합니다.</p>")
    posts = [admin.new_post("겨울철 실내 습도 관리와 가습기 선택 가이드", content)
             for _ in range(2)]
    env = {**seo_env, "ATR_SEO_MODE": "apply"}
    broker = run_worker(env)
    root = Path(env["ATR_DOCLOG_ROOT"])
    messages = [send(broker, "seo_automation", {"post_id": p}, options=FAST_RETRY)
                for p in posts]
    ids = {m.message_id for m in messages}
    wait_lines(root, "seo_automation", lambda lines: ids <= {
        ln["message_id"] for ln in lines if ln["event"] == "succeeded"}, timeout=90)
    tag_ids = [admin.ok("GET", f"/wp/v2/posts/{p}", params={"context": "edit"})["tags"]
               for p in posts]
    assert tag_ids[0] and sorted(tag_ids[0]) == sorted(tag_ids[1])
    tags = admin.ok("GET", "/wp/v2/tags", params={"include": ",".join(map(str, tag_ids[0])),
                                                  "per_page": 100})
    for tag in tags:
        same_name = admin.ok("GET", "/wp/v2/tags", params={"search": tag["name"],
                                                           "per_page": 100})
        assert [t["id"] for t in same_name if t["name"] == tag["name"]] == [tag["id"]]


def test_an_answer_with_an_ampersand_is_written_and_read_back_unchanged(
        run_worker: Worker, seo_env: dict[str, str], admin: Rest) -> None:
    title = "커피 & 디저트: 성수동 카페 가이드"
    post_id = admin.new_post(title, "<p>성수동 카페에서 커피와 디저트를 함께 즐기는 방법을 "
                                    "정리했습니다. 주말 오전이 한적합니다.</p>")
    env = {**seo_env, "ATR_SEO_MODE": "apply"}
    broker = run_worker(env)
    lines = run_job(broker, Path(env["ATR_DOCLOG_ROOT"]), "seo_automation",
                    {"post_id": post_id})
    assert lines[-1]["event"] == "succeeded", lines[-1]
    (proposed,) = [ln["proposed"] for ln in lines if ln["event"] == "seo.proposed"]
    assert "&" in proposed["seo_title"]
    meta = admin.ok("GET", f"/wp/v2/posts/{post_id}", params={"context": "edit"})["meta"]
    assert meta[YOAST["seo_title"]] == proposed["seo_title"]


def test_a_trashed_post_gets_no_proposal(run_worker: Worker, seo_env: dict[str, str],
                                         tmp_path: Path, admin: Rest) -> None:
    post_id = admin.new_post("휴지통으로 간 글", "<p>곧 지울 글입니다.</p>")
    admin.ok("DELETE", f"/wp/v2/posts/{post_id}")
    broker = run_worker(seo_env)
    lines = run_job(broker, Path(seo_env["ATR_DOCLOG_ROOT"]), "seo_automation",
                    {"post_id": post_id})
    assert [ln["event"] for ln in lines] == ["started", "post.skipped", "succeeded"]
    assert lines[1]["reason"] == "the post is in the trash (status 'trash')"
    review = run_atr("seo", "review", "--json", env=seo_env, cwd=tmp_path)
    assert post_id not in [p["post_id"] for p in json.loads(review.stdout)["proposals"]]
