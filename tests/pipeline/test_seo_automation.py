"""The SEO use case as one call behind its ports, with other implementations than the actor's.

The proposal store here is a dict, the tag lock a threading lock; the LLM
chain is the real offline one (on the session's Redis), the WordPress side
the stand-in. What a user sees: the post's tags and meta in the stand-in.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace

import pytest
import redis

from devkit.wordpress import WordPressStandIn
from pipeline.errors import PermanentError
from pipeline.llm.chain import LlmChain, Suggestion
from pipeline.llm.config import build_chain
from pipeline.llm.provider import Completion
from pipeline.llm.request import SeoAnswer, SeoRequest
from pipeline.seo.automation import apply_proposal, automate_seo
from pipeline.seo.quality import QualityGuide
from pipeline.seo.store import Proposal, Written
from pipeline.settings import Settings
from pipeline.text import normalise_tag
from pipeline.wordpress import Bridge, BridgeConfig, ValueNotStorableError, get_post
from pipeline.wordpress.seo_meta import SEO_META_KEYS
from pipeline.wordpress.tags import get_tags

YOAST = SEO_META_KEYS["yoast"]
GUIDE = QualityGuide(banned_words=())


class MemoryStore:
    """A ProposalStore in a dict."""

    def __init__(self) -> None:
        self.proposals: dict[int, Proposal] = {}
        self.written: dict[int, Written] = {}

    def get_proposal(self, post_id: int) -> Proposal | None:
        return self.proposals.get(post_id)

    def put_proposal(self, proposal: Proposal, score: float) -> None:
        self.proposals[proposal.post_id] = proposal

    def delete_proposal(self, post_id: int) -> None:
        self.proposals.pop(post_id, None)

    def get_written(self, post_id: int) -> Written | None:
        return self.written.get(post_id)

    def put_written(self, post_id: int, record: Written) -> None:
        self.written[post_id] = record


class CountingAdvisor:
    """The real chain, counting what it is asked."""

    def __init__(self, chain: LlmChain) -> None:
        self.chain = chain
        self.asked: list[SeoRequest] = []

    def suggest(self, request: SeoRequest, *, key: str | None = None) -> Suggestion:
        self.asked.append(request)
        return self.chain.suggest(request, key=key)


_locks: dict[str, threading.Lock] = {}


@contextmanager
def thread_lock(key: str) -> Iterator[None]:
    with _locks.setdefault(key, threading.Lock()):
        yield


@pytest.fixture
def advisor(redis_url: str, redis_client: redis.Redis) -> CountingAdvisor:
    return CountingAdvisor(build_chain(Settings.from_env({"REDIS_URL": redis_url}),
                                       redis_client))


@pytest.fixture
def bridge(wordpress: WordPressStandIn) -> Iterator[Bridge]:
    with Bridge(BridgeConfig.from_values(wordpress.base_url, wordpress.token)) as client:
        yield client


def test_propose_then_a_redelivery_reuses_the_proposal_then_apply_writes_it(
        bridge: Bridge, wordpress: WordPressStandIn, advisor: CountingAdvisor) -> None:
    post_id, store = wordpress.post_ids[0], MemoryStore()
    first = automate_seo(bridge, post_id, advisor, GUIDE, store=store, tag_lock=thread_lock,
                         plugin="yoast", apply=False, key="message-1")
    assert (first.reused, first.applied, len(advisor.asked)) == (False, None, 1)
    assert advisor.asked[0].bounds == GUIDE.bounds
    assert store.proposals[post_id].message_id == "message-1"
    assert YOAST["meta_description"] not in wordpress.post(post_id).meta

    again = automate_seo(bridge, post_id, advisor, GUIDE, store=store, tag_lock=thread_lock,
                         plugin="yoast", apply=True, key="message-1")
    assert again.reused and len(advisor.asked) == 1  # no second LLM call
    assert again.applied is not None and again.proposal == first.proposal
    proposed = first.proposal.proposed
    meta = wordpress.post(post_id).meta
    assert meta[YOAST["meta_description"]] == proposed.meta_description
    post = get_post(bridge, post_id)
    names = {normalise_tag(t.name) for t in get_tags(bridge, post.tags)}
    assert {normalise_tag(t) for t in proposed.tags} <= names
    assert post_id not in store.proposals and store.written[post_id] == again.applied.record


def test_a_new_message_proposes_afresh_and_a_repeated_approval_is_a_no_op(
        bridge: Bridge, wordpress: WordPressStandIn, advisor: CountingAdvisor) -> None:
    post_id, store = wordpress.post_ids[1], MemoryStore()
    automate_seo(bridge, post_id, advisor, GUIDE, store=store, tag_lock=thread_lock,
                 plugin="yoast", apply=False, key="message-1")
    other = automate_seo(bridge, post_id, advisor, GUIDE, store=store, tag_lock=thread_lock,
                         plugin="yoast", apply=False, key="message-2")
    assert not other.reused and len(advisor.asked) == 2
    # The approver saw message-1's proposal, since replaced by message-2's: not written.
    stale = apply_proposal(bridge, post_id, store=store, tag_lock=thread_lock, plugin="yoast",
                           proposal_id="message-1")
    assert (stale.applied, stale.skipped) == (None, "replaced")
    done = apply_proposal(bridge, post_id, store=store, tag_lock=thread_lock, plugin="yoast",
                          proposal_id="message-2")
    assert done.applied is not None and done.skipped is None
    writes = len(wordpress.requests_to("POST", "posts.item"))
    for proposal_id in ("message-2", None):  # approved twice: the second changes nothing
        again = apply_proposal(bridge, post_id, store=store, tag_lock=thread_lock,
                               plugin="yoast", proposal_id=proposal_id)
        assert (again.applied, again.skipped) == (None, "already_applied")
    assert len(wordpress.requests_to("POST", "posts.item")) == writes


def test_apply_without_any_proposal_ever_is_permanent(
        bridge: Bridge, wordpress: WordPressStandIn) -> None:
    with pytest.raises(PermanentError, match="post 102 has no SEO proposal to apply"):
        apply_proposal(bridge, 102, store=MemoryStore(), tag_lock=thread_lock, plugin="yoast")


@pytest.mark.parametrize("edit", ["title", "content"])
def test_a_proposal_whose_post_changed_is_not_applied(
        edit: str, bridge: Bridge, wordpress: WordPressStandIn,
        advisor: CountingAdvisor) -> None:
    post_id, store = wordpress.post_ids[2], MemoryStore()
    made = automate_seo(bridge, post_id, advisor, GUIDE, store=store, tag_lock=thread_lock,
                        plugin="yoast", apply=False, key="message-1").proposal
    assert made.content_hash and made.modified_gmt
    if edit == "title":
        wordpress.edit_post(post_id, title="완전히 새로 고친 제목")
    else:
        wordpress.edit_post(post_id, content=wordpress.post(post_id).content + "\n\n덧붙인 문단.")
    outcome = apply_proposal(bridge, post_id, store=store, tag_lock=thread_lock,
                             plugin="yoast", proposal_id="message-1")
    assert (outcome.applied, outcome.skipped) == (None, "post_changed")
    (change,) = outcome.changes
    assert change.startswith("title '" if edit == "title" else "content edited (modified ")
    assert wordpress.requests_to("POST", "posts.item") == []
    assert store.proposals[post_id] == made  # kept for review until a new one replaces it
    # A redelivery of the same seo_automation message does not reuse it either.
    again = automate_seo(bridge, post_id, advisor, GUIDE, store=store, tag_lock=thread_lock,
                         plugin="yoast", apply=False, key="message-1")
    assert not again.reused and len(advisor.asked) == 2


def test_our_own_write_bumping_modified_does_not_make_a_proposal_stale(
        bridge: Bridge, wordpress: WordPressStandIn, advisor: CountingAdvisor) -> None:
    post_id, store = wordpress.post_ids[3], MemoryStore()
    automate_seo(bridge, post_id, advisor, GUIDE, store=store, tag_lock=thread_lock,
                 plugin="yoast", apply=False, key="message-1")
    bridge.request("POST", f"/wp/v2/posts/{post_id}", json={"featured_media": 0})
    outcome = apply_proposal(bridge, post_id, store=store, tag_lock=thread_lock,
                             plugin="yoast")
    assert outcome.applied is not None


class ScriptedAdvisor:
    """Answers with the given answers in turn (the last one again when they run out)."""

    def __init__(self, *answers: SeoAnswer) -> None:
        self.answers = list(answers)
        self.asked: list[SeoRequest] = []

    def suggest(self, request: SeoRequest, *, key: str | None = None) -> Suggestion:
        self.asked.append(request)
        answer = self.answers[min(len(self.asked), len(self.answers)) - 1]
        return Suggestion(Completion(answer, None, "scripted-1"), "scripted", False)


DESCRIPTION = ("성수동 카페 일곱 곳을 직접 다녀와 분위기와 커피 맛, 주말 웨이팅까지 정리한 "
               "서울 카페 투어 안내입니다.")


def _answer(*, tags: tuple[str, ...] = ("성수동 카페", "서울 카페", "카페 투어"),
            description: str = DESCRIPTION) -> SeoAnswer:
    return SeoAnswer(tags, "성수동 카페", description, "성수동 카페 투어 주말 추천 7곳")


def _tag_names(bridge: Bridge, post_id: int) -> list[str]:
    return [t.name for t in get_tags(bridge, get_post(bridge, post_id).tags)]


def test_a_tag_a_person_removed_stays_removed_on_every_later_run(
        bridge: Bridge, wordpress: WordPressStandIn) -> None:
    post_id, store = wordpress.post_ids[0], MemoryStore()
    advisor = ScriptedAdvisor(_answer())

    def run(key: str, *, force: bool = False) -> None:
        automate_seo(bridge, post_id, advisor, GUIDE, store=store, tag_lock=thread_lock,
                     plugin="yoast", apply=True, key=key, force=force)

    run("m1")
    assert sorted(_tag_names(bridge, post_id)) == sorted(["성수동 카페", "서울 카페", "카페 투어"])
    # An editor takes "서울 카페" off the post in WP admin.
    keep = [t.id for t in get_tags(bridge, get_post(bridge, post_id).tags) if t.name != "서울 카페"]
    wordpress.edit_post(post_id, tags=keep)
    for key in ("m2", "m3", "m4"):  # the old record forgot the removal after one run
        run(key)
        assert "서울 카페" not in _tag_names(bridge, post_id), key
    record = store.written[post_id]
    assert record.removed == ("서울 카페",)
    assert sorted(record.owned) == ["성수동 카페", "카페 투어"]
    assert record.proposal_id == "m4"
    run("m5", force=True)  # force puts it back, and it is no longer "removed"
    assert "서울 카페" in _tag_names(bridge, post_id)
    assert store.written[post_id].removed == ()


def test_an_answer_wordpress_would_change_is_asked_again_then_rejected_unwritten(
        bridge: Bridge, wordpress: WordPressStandIn) -> None:
    post_id, store = wordpress.post_ids[0], MemoryStore()
    bad = _answer(description=DESCRIPTION.replace("일곱 곳", "7 < 10 곳"))
    advisor = ScriptedAdvisor(bad, bad)
    with pytest.raises(PermanentError, match="wordpress_sanitize: meta_description") as caught:
        automate_seo(bridge, post_id, advisor, GUIDE, store=store, tag_lock=thread_lock,
                     plugin="yoast", apply=True, key="m1")
    assert "would be stored by WordPress as" in str(caught.value) and "&lt;" in str(caught.value)
    assert any("would be stored by WordPress as" in line for line in advisor.asked[1].feedback)
    assert wordpress.requests_to("POST", "posts.item") == []
    assert wordpress.requests_to("POST", "tags.collection") == []


def test_a_stored_proposal_wordpress_would_change_is_refused_before_any_write(
        bridge: Bridge, wordpress: WordPressStandIn) -> None:
    post_id, store = wordpress.post_ids[0], MemoryStore()
    automate_seo(bridge, post_id, ScriptedAdvisor(_answer(tags=("새 태그", "카페 투어", "성수"))),
                 GUIDE, store=store, tag_lock=thread_lock, plugin="yoast", apply=False,
                 key="m1")
    stored = store.proposals[post_id]
    broken = replace(stored, proposed=replace(stored.proposed,
                                              seo_title="<b>성수동</b> 카페 투어 추천"))
    store.proposals[post_id] = broken
    with pytest.raises(ValueNotStorableError) as caught:
        apply_proposal(bridge, post_id, store=store, tag_lock=thread_lock, plugin="yoast")
    assert caught.value.stored == {"seo_title": "성수동 카페 투어 추천"}
    assert str(caught.value).startswith(f"nothing was written to post {post_id}")
    # Not one write: no tag created, no post write; the proposal stays for review.
    assert wordpress.requests_to("POST", "tags.collection") == []
    assert wordpress.requests_to("POST", "posts.item") == []
    assert store.proposals[post_id] == broken and post_id not in store.written


def test_tags_and_meta_go_in_one_post_write(bridge: Bridge, wordpress: WordPressStandIn) -> None:
    post_id, store = wordpress.post_ids[0], MemoryStore()
    automate_seo(bridge, post_id, ScriptedAdvisor(_answer()), GUIDE, store=store,
                 tag_lock=thread_lock, plugin="yoast", apply=True, key="m1")
    (write,) = wordpress.requests_to("POST", "posts.item")
    assert write.status == 200
    meta = wordpress.post(post_id).meta
    assert meta[YOAST["meta_description"]] == DESCRIPTION
    assert len(wordpress.post(post_id).tags) == 3
