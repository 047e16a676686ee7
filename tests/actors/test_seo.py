"""seo_automation and seo_apply on an in-process worker, the WordPress stand-in and the OpenAI fake.

What a user sees: the post's tags and SEO meta in the stand-in (read back
over REST), the tags in WordPress's tag list, the doclog lines, the dead
letters. Faults are injected in the stand-in: a 500 after each write step
(the tag created, the tags attached, the meta written) applied, so the
message is redelivered by Dramatiq's retries.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dramatiq
import pytest
import redis
from dramatiq.brokers.redis import RedisBroker

from brokers.boot import producer_broker
from brokers.producer import send
from devkit.fakes import openai_server
from devkit.fakes.openai_server import OpenAIFake
from devkit.wordpress import WordPressStandIn
from pipeline.groups import get_group
from pipeline.seo.store import SeoStore
from pipeline.settings import Settings
from pipeline.text import normalise_tag
from pipeline.wordpress import Bridge, BridgeConfig, get_post
from pipeline.wordpress.seo_meta import SEO_META_KEYS
from pipeline.wordpress.tags import get_tags
from tests.helpers import Lines, dead_letters, wait_lines

FAST_RETRY = {"min_backoff": 100, "max_backoff": 200}
YOAST = SEO_META_KEYS["yoast"]


@pytest.fixture
def openai(monkeypatch: pytest.MonkeyPatch) -> Iterator[OpenAIFake]:
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    with OpenAIFake() as fake:
        yield fake


def settings_env(redis_url: str, tmp_path: Path, wordpress: WordPressStandIn,
                 openai: OpenAIFake, **extra: str) -> dict[str, str]:
    return {"REDIS_URL": redis_url, "ATR_DOCLOG_ROOT": str(tmp_path / "logs"),
            "BRIDGE_BASE": wordpress.base_url, "BRIDGE_TOKEN": wordpress.token,
            "ATR_LLM_PROVIDER": "openai", "ATR_LLM_FALLBACK": "",
            "OPENAI_API_KEY": openai_server.API_KEY, "OPENAI_BASE_URL": openai.base_url,
            "ATR_SEO_MODE": "apply", "ATR_SEO_BANNED_WORDS": "none", **extra}


@pytest.fixture
def run_worker() -> Iterator[Any]:
    started: list[tuple[dramatiq.Worker, RedisBroker]] = []

    def start(env: dict[str, str], threads: int = 2) -> RedisBroker:
        broker = producer_broker(Settings.from_env(env))
        worker = dramatiq.Worker(broker, queues=set(get_group("worker1").queue_names),
                                 worker_threads=threads, worker_timeout=100)
        worker.start()
        started.append((worker, broker))
        return broker

    yield start
    for worker, broker in started:
        worker.stop()
        broker.close()


def finished(ids: set[str]) -> Any:
    return lambda lines: ids <= {ln["message_id"] for ln in lines
                                 if ln["event"] in ("succeeded", "rejected", "dead")}


def run(broker: RedisBroker, root: Path, actor: str, *payloads: dict[str, Any]) -> Lines:
    ids = {send(broker, actor, p, options=FAST_RETRY).message_id for p in payloads}
    return [ln for ln in wait_lines(root, "seo_automation" if actor == "seo_automation"
                                    else "seo_apply", finished(ids), timeout=60)
            if ln["message_id"] in ids]


def read_back(wordpress: WordPressStandIn, post_id: int) -> tuple[list[str], dict[str, Any]]:
    with Bridge(BridgeConfig.from_values(wordpress.base_url, wordpress.token)) as bridge:
        post = get_post(bridge, post_id)
        names = [t.name for t in get_tags(bridge, post.tags)] if post.tags else []
    return names, post.meta


def test_apply_mode_writes_tags_and_meta_and_leaves_evidence(
        run_worker: Any, redis_url: str, tmp_path: Path, wordpress: WordPressStandIn,
        openai: OpenAIFake) -> None:
    broker = run_worker(settings_env(redis_url, tmp_path, wordpress, openai))
    post_id = wordpress.post_ids[0]
    lines = run(broker, tmp_path / "logs", "seo_automation", {"post_id": post_id})
    assert [ln["event"] for ln in lines] == ["started", "llm.answered", "seo.proposed",
                                             "seo.applied", "succeeded"]
    proposed = next(ln for ln in lines if ln["event"] == "seo.proposed")["proposed"]
    names, meta = read_back(wordpress, post_id)
    assert {normalise_tag(t) for t in proposed["tags"]} <= {normalise_tag(n) for n in names}
    assert meta[YOAST["focus_keyword"]] == proposed["focus_keyword"]
    assert meta[YOAST["meta_description"]] == proposed["meta_description"]
    assert meta[YOAST["seo_title"]] == proposed["seo_title"]


@pytest.mark.parametrize(("method", "route", "nth"), [
    ("POST", "tags.collection", 1),   # a tag was created, then the answer was a 500
    ("POST", "posts.item", 1),        # tags and meta were written (one request), then a 500
], ids=["after-tag-created", "after-post-written"])
def test_a_failure_after_each_write_step_is_redelivered_without_duplicates(
        method: str, route: str, nth: int, run_worker: Any, redis_url: str, tmp_path: Path,
        wordpress: WordPressStandIn, openai: OpenAIFake) -> None:
    post_id = wordpress.post_ids[1]
    wordpress.fail_next(method, route, status=500, after_effect=True, skip=nth - 1)
    broker = run_worker(settings_env(redis_url, tmp_path, wordpress, openai))
    lines = run(broker, tmp_path / "logs", "seo_automation", {"post_id": post_id})
    events = [ln["event"] for ln in lines]
    # The 500 is an outage: the message waits (deferred, no retry used) and is redelivered.
    assert events.count("deferred") == 1 and events[-1] == "succeeded", events
    assert len(openai.requests) == 1  # the redelivery reused the proposal
    proposed = next(ln for ln in lines if ln["event"] == "seo.proposed")["proposed"]
    names, meta = read_back(wordpress, post_id)
    # Every proposed tag exists once in WordPress and once on the post.
    all_names = [normalise_tag(t.name) for t in wordpress.tags]
    assert len(all_names) == len(set(all_names))
    assert len(names) == len({normalise_tag(n) for n in names})
    assert {normalise_tag(t) for t in proposed["tags"]} <= {normalise_tag(n) for n in names}
    assert meta[YOAST["meta_description"]] == proposed["meta_description"]
    # No write was repeated: one create per tag, one post write (tags and meta together).
    creates = wordpress.requests_to("POST", "tags.collection")
    assert len(creates) == len(proposed["tags"])
    assert len(wordpress.requests_to("POST", "posts.item")) == 1


def test_two_messages_for_the_same_post_end_in_one_consistent_state(
        run_worker: Any, redis_url: str, tmp_path: Path, wordpress: WordPressStandIn,
        openai: OpenAIFake) -> None:
    post_id = wordpress.post_ids[2]
    broker = run_worker(settings_env(redis_url, tmp_path, wordpress, openai), threads=4)
    lines = run(broker, tmp_path / "logs", "seo_automation",
                {"post_id": post_id}, {"post_id": post_id})
    assert [ln["event"] for ln in lines].count("succeeded") == 2
    assert "deferred" in [ln["event"] for ln in lines]  # the second waited for the first
    meta = read_back(wordpress, post_id)[1]
    all_names = [normalise_tag(t.name) for t in wordpress.tags]
    assert len(all_names) == len(set(all_names))
    last = [ln for ln in lines if ln["event"] == "seo.applied"][-1]["values"]
    assert meta[YOAST["focus_keyword"]] == last["focus_keyword"]


def test_a_post_that_does_not_exist_is_rejected_at_once(
        run_worker: Any, redis_url: str, redis_client: redis.Redis, tmp_path: Path,
        wordpress: WordPressStandIn, openai: OpenAIFake) -> None:
    broker = run_worker(settings_env(redis_url, tmp_path, wordpress, openai))
    lines = run(broker, tmp_path / "logs", "seo_automation", {"post_id": 999})
    assert [ln["event"] for ln in lines] == ["started", "rejected"]
    assert "404 rest_post_invalid_id" in lines[-1]["error"]
    assert len(dead_letters(redis_client, "seo")) == 1
    assert not openai.requests


def test_an_answer_breaking_the_guide_twice_is_rejected_with_the_reasons(
        run_worker: Any, redis_url: str, tmp_path: Path, wordpress: WordPressStandIn,
        openai: OpenAIFake) -> None:
    post_id = wordpress.post_ids[3]
    # The fake's description always holds the post title's first word: ban it.
    first_word = wordpress.post(post_id).title.split()[0]
    env = settings_env(redis_url, tmp_path, wordpress, openai,
                       ATR_SEO_BANNED_WORDS=first_word)
    broker = run_worker(env)
    lines = run(broker, tmp_path / "logs", "seo_automation", {"post_id": post_id})
    assert [ln["event"] for ln in lines] == ["started", "llm.answered", "llm.answered",
                                             "rejected"]
    assert "breaks the quality guide twice" in lines[-1]["error"]
    assert f"banned word '{first_word}'" in lines[-1]["error"]
    # The second request told the provider what was wrong.
    second = openai.requests[1].body["messages"][1]["content"]
    assert "이전 답의 문제" in second and first_word in second
    assert not read_back(wordpress, post_id)[1].get(YOAST["meta_description"])  # nothing written


def test_propose_then_apply_keeps_a_value_a_person_edited_in_between(
        run_worker: Any, redis_url: str, tmp_path: Path, wordpress: WordPressStandIn,
        openai: OpenAIFake, redis_client: redis.Redis) -> None:
    post_id = wordpress.post_ids[4]
    env = settings_env(redis_url, tmp_path, wordpress, openai, ATR_SEO_MODE="propose")
    broker = run_worker(env)
    lines = run(broker, tmp_path / "logs", "seo_automation", {"post_id": post_id})
    assert "seo.proposed" in [ln["event"] for ln in lines]
    assert "seo.applied" not in [ln["event"] for ln in lines]
    assert not read_back(wordpress, post_id)[1].get(YOAST["meta_description"])
    proposal = SeoStore(redis_client).get_proposal(post_id)
    assert proposal is not None

    wordpress.edit_post(post_id, meta={YOAST["seo_title"]: "편집자가 직접 고친 제목"})
    lines = run(broker, tmp_path / "logs", "seo_apply", {"post_id": post_id})
    (applied,) = [ln for ln in lines if ln["event"] == "seo.applied"]
    assert applied["kept"] == ["seo_title"]
    meta = read_back(wordpress, post_id)[1]
    assert meta[YOAST["seo_title"]] == "편집자가 직접 고친 제목"
    assert meta[YOAST["meta_description"]] == proposal.proposed.meta_description
    assert SeoStore(redis_client).get_proposal(post_id) is None

    # Next round: our values stay ours; the person's title is still protected...
    run(broker, tmp_path / "logs", "seo_automation", {"post_id": post_id})
    again = SeoStore(redis_client).get_proposal(post_id)
    assert again is not None and again.protected == ("seo_title",)
    # ...unless forced.
    lines = run(broker, tmp_path / "logs", "seo_apply", {"post_id": post_id, "force": True})
    assert read_back(wordpress, post_id)[1][YOAST["seo_title"]] == again.proposed.seo_title


def test_apply_without_a_proposal_is_rejected_with_what_to_do(
        run_worker: Any, redis_url: str, tmp_path: Path, wordpress: WordPressStandIn,
        openai: OpenAIFake) -> None:
    broker = run_worker(settings_env(redis_url, tmp_path, wordpress, openai))
    lines = run(broker, tmp_path / "logs", "seo_apply", {"post_id": wordpress.post_ids[0]})
    assert lines[-1]["event"] == "rejected"
    assert "has no SEO proposal to apply" in lines[-1]["error"]


def test_two_posts_creating_the_same_tags_at_once_share_one_tag_each(
        run_worker: Any, redis_url: str, tmp_path: Path, openai: OpenAIFake) -> None:
    # WordPress really creates `name-2` when two creates of one name overlap;
    # the stand-in reproduces that window, the per-name Redis lock closes it.
    with WordPressStandIn(tag_create_race_s=0.3) as wordpress:
        first, second = wordpress.post_ids[:2]
        source = wordpress.post(first)
        wordpress.edit_post(second, title=source.title, content=source.content)
        broker = run_worker(settings_env(redis_url, tmp_path, wordpress, openai), threads=4)
        lines = run(broker, tmp_path / "logs", "seo_automation",
                    {"post_id": first}, {"post_id": second})
        assert [ln["event"] for ln in lines].count("succeeded") == 2
        slugs = [t.slug for t in wordpress.tags]
        assert not [s for s in slugs if s.endswith("-2")], slugs
        names = [normalise_tag(t.name) for t in wordpress.tags]
        assert len(names) == len(set(names))
        first_tags, _ = read_back(wordpress, first)
        second_tags, _ = read_back(wordpress, second)
        assert sorted(first_tags) == sorted(second_tags)


# -- the quality guide's bounds, end to end ------------------------------------
# A post whose first two sentences hold the focus keyword and make 179
# characters; the third does not fit in 200. The offline provider writes whole
# sentences up to the longest description it is asked for.
BOUNDS_TITLE = "제주 올레길 7코스 완주 가이드"
BOUNDS_SENTENCES = (
    "제주 올레길 7코스는 서귀포 외돌개에서 시작해 법환포구를 지나 월평 아왜낭목까지 이어지는 "
    "약 17킬로미터의 해안 코스입니다.",
    "올레길 7코스의 주상절리 절벽과 푸른 바다 풍경은 사계절 내내 아름답고, 걷기에 익숙하지 "
    "않은 초보자도 하루 안에 충분히 걸을 수 있어서 제주 여행에서 가장 많은 이에게 사랑받는 "
    "길로 손꼽힙니다.",
    "출발 전에는 물과 간식, 편한 신발, 모자와 선크림을 꼭 챙기고, 중간 지점인 법환포구에서 "
    "잠시 쉬어 가는 것을 추천합니다.",
)
BOUNDS_CONTENT = (f"<p>{' '.join(BOUNDS_SENTENCES)}</p><p>올레길 7코스 완주 인증은 올레 "
                  "패스포트에 스탬프를 찍으면 됩니다. 제주 올레길 여행을 즐겨 보세요.</p>")
DESCRIPTION_179 = " ".join(BOUNDS_SENTENCES[:2])
ANSWER_179 = {"tags": ["제주 올레길", "올레길 7코스", "서귀포", "트레킹"],
              "focus_keyword": "제주 올레길", "meta_description": DESCRIPTION_179,
              "seo_title": BOUNDS_TITLE}


def _bounds_post(wordpress: WordPressStandIn, index: int) -> int:
    post_id = wordpress.post_ids[index]
    wordpress.edit_post(post_id, title=BOUNDS_TITLE, content=BOUNDS_CONTENT)
    return post_id


def test_the_post_of_the_bounds_tests_has_a_179_character_description() -> None:
    assert len(DESCRIPTION_179) == 179
    assert len(DESCRIPTION_179) + 1 + len(BOUNDS_SENTENCES[2]) > 200


def test_a_raised_desc_max_accepts_a_179_character_description_from_offline(
        run_worker: Any, redis_url: str, tmp_path: Path, wordpress: WordPressStandIn,
        openai: OpenAIFake) -> None:
    post_id = _bounds_post(wordpress, 5)
    env = settings_env(redis_url, tmp_path, wordpress, openai, ATR_LLM_PROVIDER="offline",
                       ATR_SEO_DESC_MAX="200")
    broker = run_worker(env)
    lines = run(broker, tmp_path / "logs", "seo_automation", {"post_id": post_id})
    assert [ln["event"] for ln in lines] == ["started", "llm.answered", "seo.proposed",
                                             "seo.applied", "succeeded"]
    answered = next(ln for ln in lines if ln["event"] == "llm.answered")
    assert answered["provider"] == "offline"
    assert read_back(wordpress, post_id)[1][YOAST["meta_description"]] == DESCRIPTION_179
    assert not openai.requests


def test_the_default_guide_has_offline_write_within_150_characters(
        run_worker: Any, redis_url: str, tmp_path: Path, wordpress: WordPressStandIn,
        openai: OpenAIFake) -> None:
    post_id = _bounds_post(wordpress, 5)
    env = settings_env(redis_url, tmp_path, wordpress, openai, ATR_LLM_PROVIDER="offline")
    broker = run_worker(env)
    lines = run(broker, tmp_path / "logs", "seo_automation", {"post_id": post_id})
    assert lines[-1]["event"] == "succeeded"
    # The second sentence no longer fits: the description is the first alone.
    assert read_back(wordpress, post_id)[1][YOAST["meta_description"]] == BOUNDS_SENTENCES[0]


def test_a_raised_desc_max_accepts_a_179_character_description_from_openai(
        run_worker: Any, redis_url: str, tmp_path: Path, wordpress: WordPressStandIn,
        openai: OpenAIFake) -> None:
    post_id = _bounds_post(wordpress, 6)
    openai.answer_next(ANSWER_179)
    broker = run_worker(settings_env(redis_url, tmp_path, wordpress, openai,
                                     ATR_SEO_DESC_MAX="200"))
    lines = run(broker, tmp_path / "logs", "seo_automation", {"post_id": post_id})
    assert [ln["event"] for ln in lines] == ["started", "llm.answered", "seo.proposed",
                                             "seo.applied", "succeeded"]
    assert read_back(wordpress, post_id)[1][YOAST["meta_description"]] == DESCRIPTION_179
    (request,) = openai.requests
    system = request.body["messages"][0]["content"]
    assert "meta_description: 50~200자" in system
    assert "tags: 글에 나오는 명사 위주의 태그 3~8개" in system
    # The JSON schema states no bounds of its own that could contradict the guide.
    schema = request.body["response_format"]["json_schema"]["schema"]
    assert not any(ch.isdigit() for ch in str(schema))


def test_the_default_guide_rejects_a_179_character_description_with_the_reason(
        run_worker: Any, redis_url: str, tmp_path: Path, wordpress: WordPressStandIn,
        openai: OpenAIFake) -> None:
    post_id = _bounds_post(wordpress, 7)
    openai.answer_next(ANSWER_179, times=2)
    broker = run_worker(settings_env(redis_url, tmp_path, wordpress, openai))
    lines = run(broker, tmp_path / "logs", "seo_automation", {"post_id": post_id})
    assert [ln["event"] for ln in lines] == ["started", "llm.answered", "llm.answered",
                                             "rejected"]
    assert ("description_length: meta description has 179 characters; write 50 to 150"
            in lines[-1]["error"])
    assert "meta_description: 50~150자" in openai.requests[0].body["messages"][0]["content"]
    assert not read_back(wordpress, post_id)[1].get(YOAST["meta_description"])


def test_approving_twice_is_a_quiet_success(
        run_worker: Any, redis_url: str, tmp_path: Path, wordpress: WordPressStandIn,
        openai: OpenAIFake, redis_client: redis.Redis) -> None:
    post_id = wordpress.post_ids[2]
    env = settings_env(redis_url, tmp_path, wordpress, openai, ATR_SEO_MODE="propose")
    broker = run_worker(env)
    run(broker, tmp_path / "logs", "seo_automation", {"post_id": post_id})
    proposal = SeoStore(redis_client).get_proposal(post_id)
    assert proposal is not None
    approval = {"post_id": post_id, "proposal_id": proposal.message_id}
    first = run(broker, tmp_path / "logs", "seo_apply", approval)
    second = run(broker, tmp_path / "logs", "seo_apply", approval)
    assert [ln["event"] for ln in first][-2:] == ["seo.applied", "succeeded"]
    assert [ln["event"] for ln in second] == ["started", "seo.apply_skipped", "succeeded"]
    assert second[1]["reason"] == "already_applied"
    assert dead_letters(redis_client, "seo") == []


def test_a_retitled_post_is_not_applied_and_is_proposed_again(
        run_worker: Any, redis_url: str, tmp_path: Path, wordpress: WordPressStandIn,
        openai: OpenAIFake, redis_client: redis.Redis) -> None:
    post_id = wordpress.post_ids[3]
    env = settings_env(redis_url, tmp_path, wordpress, openai, ATR_SEO_MODE="propose")
    broker = run_worker(env)
    run(broker, tmp_path / "logs", "seo_automation", {"post_id": post_id})
    old = SeoStore(redis_client).get_proposal(post_id)
    assert old is not None
    wordpress.edit_post(post_id, title="제주 올레길 7코스 완전 정복 가이드")
    lines = run(broker, tmp_path / "logs", "seo_apply",
                {"post_id": post_id, "proposal_id": old.message_id})
    (stale,) = [ln for ln in lines if ln["event"] == "seo.stale"]
    assert stale["changes"] == [f"title {old.title!r} -> '제주 올레길 7코스 완전 정복 가이드'"]
    assert lines[-1]["event"] == "succeeded" and dead_letters(redis_client, "seo") == []
    assert not read_back(wordpress, post_id)[1].get(YOAST["seo_title"])  # nothing written
    # The new proposal is made from the new title, by the message seo_apply enqueued.
    wait_lines(tmp_path / "logs", "seo_automation",
               lambda got: any(ln["message_id"] == stale["reproposed"]
                               and ln["event"] == "succeeded" for ln in got), timeout=60)
    new = SeoStore(redis_client).get_proposal(post_id)
    assert new is not None and new.message_id == stale["reproposed"]
    assert new.title == "제주 올레길 7코스 완전 정복 가이드"
