"""The editor's side of the SEO jobs against real WordPress 6.1.9.

What a content team does between and around the automation's runs: take a
tag off, retitle a post before its proposal is approved, hand-edit a value
the approver is looking at, approve twice; what an answer with ``<`` and
``&`` leaves on the post; and a WordPress outage longer than Dramatiq's own
retries. Each test asserts what WordPress stores, read back over REST as the
administrator, and what ``atr`` shows.
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import redis
from dramatiq.brokers.redis import RedisBroker

from brokers.producer import send
from devkit.fakes.openai_server import OpenAIFake
from devkit.real_wordpress import RealWordPress
from pipeline.text import normalise_tag
from pipeline.wordpress.seo_meta import SEO_META_KEYS
from tests.acceptance.conftest import FAST_RETRY, run_job
from tests.acceptance.rest import Rest
from tests.helpers import dead_letters, read_stream, run_atr, wait_lines

YOAST = SEO_META_KEYS["yoast"]
Worker = Callable[[dict[str, str]], RedisBroker]
CONTENT = ("<p>원두는 로스팅 날짜가 가장 중요합니다. 볶은 지 2주 이내의 원두를 고르세요.</p>\n"
           "<p>산미를 좋아한다면 에티오피아, 고소한 맛을 원한다면 브라질 원두가 무난합니다.</p>")


def edited(admin: Rest, post_id: int) -> Any:
    return admin.ok("GET", f"/wp/v2/posts/{post_id}", params={"context": "edit"})


def tag_names(admin: Rest, ids: list[int]) -> set[str]:
    """The post's tag names as wp-admin shows them (REST answers ``&`` stored as ``&amp;``)."""
    if not ids:
        return set()
    tags = admin.ok("GET", "/wp/v2/tags", params={"include": ",".join(map(str, ids)),
                                                  "per_page": 100})
    return {normalise_tag(html.unescape(t["name"])) for t in tags}


def proposals(env: dict[str, str], cwd: Path) -> dict[int, Any]:
    review = run_atr("seo", "review", "--json", env=env, cwd=cwd)
    assert review.returncode == 0, review.stderr
    return {p["post_id"]: p for p in json.loads(review.stdout)["proposals"]}


def ended(root: Path, stream: str, message_id: str, timeout: float = 60) -> list[Any]:
    """The doclog lines of one message once it ended."""
    lines = wait_lines(root, stream, lambda ls: any(
        ln["message_id"] == message_id and ln["event"] in ("succeeded", "rejected", "dead")
        for ln in ls), timeout=timeout)
    return [ln for ln in lines if ln["message_id"] == message_id]


def test_a_tag_the_editor_removed_is_not_added_back_by_the_next_run(
        run_worker: Worker, seo_env: dict[str, str], real_wordpress: RealWordPress,
        editor_token: str, admin: Rest) -> None:
    post_id = admin.new_post("초보자를 위한 홈카페 원두 고르는 법", CONTENT)
    env = {**seo_env, "ATR_SEO_MODE": "apply"}
    broker = run_worker(env)
    root = Path(env["ATR_DOCLOG_ROOT"])
    first = run_job(broker, root, "seo_automation", {"post_id": post_id})
    assert first[-1]["event"] == "succeeded", first[-1]
    ours = edited(admin, post_id)["tags"]
    assert len(ours) >= 3
    dropped, kept = ours[0], ours[1:]
    (dropped_name,) = tag_names(admin, [dropped])
    # The editor, in wp-admin's tag box, takes one of the automation's tags off.
    with Rest(real_wordpress.rest_root, editor_token) as editor:
        editor.ok("POST", f"/wp/v2/posts/{post_id}", json={"tags": kept})
    # A publish/update runs the automation again; the model proposes the same tags.
    second = run_job(broker, root, "seo_automation", {"post_id": post_id})
    assert second[-1]["event"] == "succeeded", second[-1]
    (proposed,) = [ln["proposed"] for ln in second if ln["event"] == "seo.proposed"]
    assert dropped_name in {normalise_tag(t) for t in proposed["tags"]}
    assert sorted(edited(admin, post_id)["tags"]) == sorted(kept)
    applied = [ln for ln in second if ln["event"] == "seo.applied"]
    assert all(dropped_name not in {normalise_tag(t) for t in ln["tags_added"]}
               for ln in applied)
    assert dropped_name in {normalise_tag(t) for t in applied[-1]["tags_removed"]}
    # And a third run still remembers it.
    third = run_job(broker, root, "seo_automation", {"post_id": post_id})
    assert third[-1]["event"] == "succeeded", third[-1]
    assert sorted(edited(admin, post_id)["tags"]) == sorted(kept)


def test_a_post_retitled_before_approval_gets_nothing_stale_and_a_new_proposal(
        run_worker: Worker, seo_env: dict[str, str], tmp_path: Path, admin: Rest,
        redis_client: redis.Redis) -> None:
    post_id = admin.new_post("초보자를 위한 홈카페 원두 고르는 법", CONTENT)
    broker = run_worker(seo_env)
    root = Path(seo_env["ATR_DOCLOG_ROOT"])
    run_job(broker, root, "seo_automation", {"post_id": post_id})
    old = proposals(seo_env, tmp_path)[post_id]
    new_title = "2026년 홈카페 원두 구매 가이드"
    admin.ok("POST", f"/wp/v2/posts/{post_id}", json={"title": new_title})

    review = run_atr("seo", "review", str(post_id), env=seo_env, cwd=tmp_path)
    assert review.returncode == 0, review.stderr
    assert ("WARNING: the post changed since this proposal (title "
            f"{old['title']!r} -> {new_title!r})") in review.stdout

    approve = run_atr("seo", "approve", str(post_id), env=seo_env, cwd=tmp_path)
    assert approve.returncode == 0, approve.stderr
    assert "it will not be written" in approve.stderr
    stale = wait_lines(root, "seo_apply", lambda ls: any(
        ln["event"] == "seo.stale" and ln["post_id"] == post_id for ln in ls), timeout=60)
    (line,) = [ln for ln in stale if ln["event"] == "seo.stale" and ln["post_id"] == post_id]
    assert line["proposal_id"] == old["message_id"] and "title" in line["changes"][0]
    apply_end = ended(root, "seo_apply", line["message_id"])
    assert apply_end[-1]["event"] == "succeeded"
    assert not [ln for ln in apply_end if ln["event"] == "seo.applied"]

    # The new proposal is made from the new title; nothing of the old one was written.
    again = ended(root, "seo_automation", line["reproposed"])
    assert [ln["event"] for ln in again][-2:] == ["seo.proposed", "succeeded"]
    post = edited(admin, post_id)
    assert post["tags"] == [] and post["meta"][YOAST["seo_title"]] == ""
    assert post["meta"][YOAST["meta_description"]] == ""
    fresh = proposals(seo_env, tmp_path)[post_id]
    assert fresh["message_id"] == line["reproposed"] and fresh["title"] == new_title
    assert fresh["proposed"]["seo_title"] != old["title"]
    assert dead_letters(redis_client, "seo") == []


def test_an_answer_with_markup_is_refused_before_anything_is_written(
        run_worker: Worker, seo_env: dict[str, str], openai: OpenAIFake,
        admin: Rest) -> None:
    post_id = admin.new_post("초보자를 위한 홈카페 원두 고르는 법", CONTENT)
    # sanitize_text_field would strip "<b>…</b>" and escape the lone "<" to "&lt;".
    bad = {"tags": ["홈카페", "원두 <b>추천</b>", "로스팅일자확인법"], "focus_keyword": "원두",
           "meta_description": "볶은 지 2주 < 이내의 신선한 원두를 고르는 법과 에티오피아 & 브라질 "
                               "원두의 맛 차이를 초보자 눈높이로 정리했습니다.",
           "seo_title": "홈카페 원두 고르는 법 < 초보자 & 입문 가이드"}
    openai.answer_next(bad, times=2)
    env = {**seo_env, "ATR_SEO_MODE": "apply"}
    broker = run_worker(env)
    lines = run_job(broker, Path(env["ATR_DOCLOG_ROOT"]), "seo_automation",
                    {"post_id": post_id})
    assert lines[-1]["event"] == "rejected", lines[-1]
    assert "wordpress_sanitize" in lines[-1]["error"]
    post = edited(admin, post_id)
    assert post["tags"] == []
    assert all(post["meta"][key] == "" for key in YOAST.values())
    # Refused before the first request: not even a tag was created.
    assert admin.ok("GET", "/wp/v2/tags", params={"search": "로스팅일자확인법"}) == []


def test_an_answer_with_markup_then_a_clean_one_is_stored_exactly(
        run_worker: Worker, seo_env: dict[str, str], openai: OpenAIFake,
        admin: Rest) -> None:
    post_id = admin.new_post("초보자를 위한 홈카페 원두 고르는 법", CONTENT)
    bad = {"tags": ["홈카페", "원두", "로스팅"], "focus_keyword": "원두",
           "meta_description": "볶은 지 2주 < 이내의 신선한 원두를 고르는 법과 에티오피아 & 브라질 "
                               "원두의 맛 차이를 초보자 눈높이로 정리했습니다.",
           "seo_title": "홈카페 원두 <고르는 법> & 입문"}
    good = {**bad, "tags": ["홈카페", "원두", "커피 & 디저트"],
            "meta_description": "볶은 지 2주 이내의 신선한 원두를 고르는 법과 에티오피아 & 브라질 "
                                "원두의 맛 차이를 초보자 눈높이로 정리했습니다.",
            "seo_title": "홈카페 원두 고르는 법 & 입문 가이드"}
    openai.answer_next(bad)
    openai.answer_next(good, times=2)  # the second for the rerun below
    env = {**seo_env, "ATR_SEO_MODE": "apply"}
    broker = run_worker(env)
    lines = run_job(broker, Path(env["ATR_DOCLOG_ROOT"]), "seo_automation",
                    {"post_id": post_id})
    assert lines[-1]["event"] == "succeeded", lines[-1]
    (proposed,) = [ln["proposed"] for ln in lines if ln["event"] == "seo.proposed"]
    assert proposed == good
    post = edited(admin, post_id)
    for name in ("focus_keyword", "meta_description", "seo_title"):
        assert post["meta"][YOAST[name]] == good[name]
    assert tag_names(admin, post["tags"]) == {normalise_tag(t) for t in good["tags"]}
    # WordPress keeps a term name HTML-escaped; that is the one tag of that name.
    (amp,) = admin.ok("GET", "/wp/v2/tags", params={"search": "디저트", "include": ",".join(
        map(str, post["tags"]))})
    assert amp["name"] == "커피 &amp; 디저트"
    # A second run finds everything as written: nothing counts as a person's edit.
    rerun = run_job(broker, Path(env["ATR_DOCLOG_ROOT"]), "seo_automation",
                    {"post_id": post_id})
    assert rerun[-1]["event"] == "succeeded", rerun[-1]
    (applied,) = [ln for ln in rerun if ln["event"] == "seo.applied"]
    assert (applied["written"], applied["kept"], applied["tags_added"]) == ([], [], [])
    assert edited(admin, post_id)["modified_gmt"] == post["modified_gmt"]


def test_wordpress_down_longer_than_the_old_retry_budget_ends_once_with_no_dead_letter(
        run_worker: Worker, seo_env: dict[str, str], real_wordpress: RealWordPress,
        admin: Rest, redis_client: redis.Redis) -> None:
    post_id = admin.new_post("초보자를 위한 홈카페 원두 고르는 법", CONTENT)
    env = {**seo_env, "ATR_SEO_MODE": "apply"}
    root = Path(env["ATR_DOCLOG_ROOT"])
    broker = run_worker(env)
    retries = 5  # Dramatiq's default, the whole budget before outages were waited out.
    real_wordpress.stop_web()
    try:
        # min/max_backoff (Dramatiq's per-message options) also set the outage
        # wait (actors/peers.py), so the old budget is spent in about a second.
        message = send(broker, "seo_automation", {"post_id": post_id},
                       options={**FAST_RETRY, "max_retries": retries})
        wait_lines(root, "seo_automation", lambda lines: sum(
            ln["event"] == "deferred" and ln["message_id"] == message.message_id
            for ln in lines) > 2 * (retries + 1), timeout=60)
    finally:
        real_wordpress.start_web()
    lines = ended(root, "seo_automation", message.message_id)
    assert lines[-1]["event"] == "succeeded", lines[-1]
    assert not [ln for ln in lines if ln["event"] in ("dead", "failed")]
    assert all("could not reach WordPress" in ln["reason"]
               for ln in lines if ln["event"] == "deferred")
    (applied,) = [ln for ln in lines if ln["event"] == "seo.applied"]
    assert dead_letters(redis_client, "seo") == []

    post = edited(admin, post_id)
    assert tag_names(admin, post["tags"]) == {normalise_tag(t)
                                              for t in applied["values"]["tags"]}
    for tag in tag_names(admin, post["tags"]):
        same = admin.ok("GET", "/wp/v2/tags", params={"search": tag, "per_page": 100})
        assert len([t for t in same if normalise_tag(t["name"]) == tag]) == 1
    for name in ("focus_keyword", "meta_description", "seo_title"):
        assert post["meta"][YOAST[name]] == applied["values"][name]


def test_a_second_approval_is_a_no_op_success(
        run_worker: Worker, seo_env: dict[str, str], tmp_path: Path, admin: Rest,
        redis_client: redis.Redis) -> None:
    post_id = admin.new_post("초보자를 위한 홈카페 원두 고르는 법", CONTENT)
    broker = run_worker(seo_env)
    root = Path(seo_env["ATR_DOCLOG_ROOT"])
    run_job(broker, root, "seo_automation", {"post_id": post_id})
    proposal_id = proposals(seo_env, tmp_path)[post_id]["message_id"]
    payload = {"post_id": post_id, "proposal_id": proposal_id}
    first = run_job(broker, root, "seo_apply", payload)
    assert [ln["event"] for ln in first][-2:] == ["seo.applied", "succeeded"]
    after_first = edited(admin, post_id)
    # A second approver (or a second click) sends the same approval again.
    second = run_job(broker, root, "seo_apply", payload)
    assert [ln["event"] for ln in second] == ["started", "seo.apply_skipped", "succeeded"]
    assert second[1]["reason"] == "already_applied"
    again = run_atr("seo", "approve", str(post_id), env=seo_env, cwd=tmp_path)
    assert "has no proposal" in again.stderr
    after_second = edited(admin, post_id)
    assert after_second["modified_gmt"] == after_first["modified_gmt"]
    assert after_second["tags"] == after_first["tags"]
    assert after_second["meta"] == after_first["meta"]
    assert dead_letters(redis_client, "seo") == []
    assert not [ln for ln in read_stream(root, "seo_apply") if ln["event"] == "dead"]


def test_review_shows_a_hand_edit_made_after_the_proposal(
        run_worker: Worker, seo_env: dict[str, str], tmp_path: Path,
        real_wordpress: RealWordPress, editor_token: str, admin: Rest) -> None:
    post_id = admin.new_post("초보자를 위한 홈카페 원두 고르는 법", CONTENT)
    broker = run_worker(seo_env)
    run_job(broker, Path(seo_env["ATR_DOCLOG_ROOT"]), "seo_automation", {"post_id": post_id})
    before = proposals(seo_env, tmp_path)[post_id]
    assert before["now"]["live"] and before["now"]["current"]["meta_description"] == ""
    mine = "에디터가 직접 쓴 설명: 신선한 원두를 고르는 세 가지 기준을 짧게 정리했습니다."
    with Rest(real_wordpress.rest_root, editor_token) as editor:
        editor.ok("POST", f"/wp/v2/posts/{post_id}",
                  json={"meta": {YOAST["meta_description"]: mine}})
    after = proposals(seo_env, tmp_path)[post_id]
    assert after["now"]["live"] and after["now"]["current"]["meta_description"] == mine
    assert "meta_description" in after["now"]["protected"]
    assert after["proposed"] == before["proposed"]
    text = run_atr("seo", "review", str(post_id), env=seo_env, cwd=tmp_path).stdout
    assert "CURRENT (now)" in text and mine in text
    assert "edited by a person: kept unless --force" in text
