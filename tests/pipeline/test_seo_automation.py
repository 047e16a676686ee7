"""The SEO use case as one call behind its ports, with other implementations than the actor's.

The proposal store here is a dict, the tag lock a threading lock; the LLM
chain is the real offline one (on the session's Redis), the WordPress side
the stand-in. What a user sees: the post's tags and meta in the stand-in.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import redis

from devkit.wordpress import WordPressStandIn
from pipeline.errors import PermanentError
from pipeline.llm.chain import LlmChain, Suggestion
from pipeline.llm.config import build_chain
from pipeline.llm.request import SeoRequest
from pipeline.seo.automation import apply_proposal, automate_seo
from pipeline.seo.quality import QualityGuide
from pipeline.seo.store import Proposal, SeoFields
from pipeline.settings import Settings
from pipeline.text import normalise_tag
from pipeline.wordpress import Bridge, BridgeConfig, get_post
from pipeline.wordpress.seo_meta import SEO_META_KEYS
from pipeline.wordpress.tags import get_tags

YOAST = SEO_META_KEYS["yoast"]
GUIDE = QualityGuide(banned_words=())


class MemoryStore:
    """A ProposalStore in a dict."""

    def __init__(self) -> None:
        self.proposals: dict[int, Proposal] = {}
        self.written: dict[int, SeoFields] = {}

    def get_proposal(self, post_id: int) -> Proposal | None:
        return self.proposals.get(post_id)

    def put_proposal(self, proposal: Proposal, score: float) -> None:
        self.proposals[proposal.post_id] = proposal

    def delete_proposal(self, post_id: int) -> None:
        self.proposals.pop(post_id, None)

    def get_written(self, post_id: int) -> SeoFields | None:
        return self.written.get(post_id)

    def put_written(self, post_id: int, values: SeoFields) -> None:
        self.written[post_id] = values


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
    assert post_id not in store.proposals and store.written[post_id] == again.applied.ours


def test_a_new_message_proposes_afresh_and_apply_without_a_proposal_is_permanent(
        bridge: Bridge, wordpress: WordPressStandIn, advisor: CountingAdvisor) -> None:
    post_id, store = wordpress.post_ids[1], MemoryStore()
    automate_seo(bridge, post_id, advisor, GUIDE, store=store, tag_lock=thread_lock,
                 plugin="yoast", apply=False, key="message-1")
    other = automate_seo(bridge, post_id, advisor, GUIDE, store=store, tag_lock=thread_lock,
                         plugin="yoast", apply=False, key="message-2")
    assert not other.reused and len(advisor.asked) == 2
    apply_proposal(bridge, post_id, store=store, tag_lock=thread_lock, plugin="yoast")
    with pytest.raises(PermanentError, match=f"post {post_id} has no SEO proposal to apply"):
        apply_proposal(bridge, post_id, store=store, tag_lock=thread_lock, plugin="yoast")
