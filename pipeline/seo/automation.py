"""SEO automation of one post as one call behind small ports: ask, check, propose, apply.

:func:`automate_seo` is the whole ``seo_automation`` job and
:func:`apply_proposal` the whole ``seo_apply`` job. They take the WordPress
bridge, the post id and three ports, so that this module knows neither Redis
nor Dramatiq (the actor passes the implementations):

- :class:`ProposalStore`: the proposal of each post and what our last write
  left on it (:class:`pipeline.seo.store.SeoStore` keeps both in Redis);
- a tag lock (:data:`pipeline.wordpress.TagLock`): ``lock(key)`` is held while
  a tag of that normalised name is created (a short Redis lock in the actor);
- :class:`SeoAdvisor`: asks for a post's fields (the LLM chain).

Proposing asks the advisor within the quality guide's bounds, checks the
answer against the guide, and asks once more with the violations fed back; a
second failing answer is a :class:`QualityRejected` (permanent: the message is
rejected with the reasons). The proposal is stored under the job's ``key``
(the message id), so a redelivery of the same message reuses it instead of
asking again.

Applying writes a proposal in three idempotent steps, each skipped when its
effect is already there, so a redelivery after a crash at any point ends in
the same post and creates nothing twice:

1. the proposed tags are found or created (one at a time per name, under the
   tag lock; WordPress's own ``term_exists`` does not stop two concurrent creates);
2. they are added to the post's tags (tags are only ever added: a person's
   tags stay; one of ours that a person removed is not added back);
3. the meta fields that differ are written and read back.

A meta field a person edited since our last write (current value not empty,
not what we wrote, not what we propose) is kept unless ``force``. Each call
leaves its domain events in the doclog (``seo.proposed``, ``seo.applied``).

One message per post at a time is the caller's lock, held around the call.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from pipeline import doclog
from pipeline.errors import PermanentError
from pipeline.llm.chain import Suggestion
from pipeline.llm.request import SeoAnswer, SeoRequest
from pipeline.seo.quality import QualityGuide, check, feedback
from pipeline.seo.store import FIELDS, Proposal, SeoFields
from pipeline.text import normalise_tag
from pipeline.wordpress import Bridge, Post, TagLock
from pipeline.wordpress.posts import get_post, set_post_tags
from pipeline.wordpress.seo_meta import read_seo_fields, write_seo_meta
from pipeline.wordpress.tags import ensure_tags, get_tags

__all__ = [
    "Applied",
    "ProposalStore",
    "QualityRejected",
    "SeoAdvisor",
    "SeoOutcome",
    "apply_proposal",
    "automate_seo",
]


class QualityRejected(PermanentError):
    """Raised when two answers in a row break the quality guide; the message says how."""


class SeoAdvisor(Protocol):
    """Who writes a post's SEO fields (the LLM chain, :class:`pipeline.llm.chain.LlmChain`)."""

    def suggest(self, request: SeoRequest, *, key: str | None = None) -> Suggestion:
        """An answer for ``request``; ``key`` names the job across deliveries."""
        ...


class ProposalStore(Protocol):
    """Where proposals and our last writes are kept per post (Redis: ``SeoStore``)."""

    def get_proposal(self, post_id: int) -> Proposal | None:
        """The stored proposal of ``post_id``, or None."""
        ...

    def put_proposal(self, proposal: Proposal, score: float) -> None:
        """Store (or replace) the proposal of its post; ``score`` orders the review list."""
        ...

    def delete_proposal(self, post_id: int) -> None:
        """Forget the proposal of ``post_id`` (it was applied)."""
        ...

    def get_written(self, post_id: int) -> SeoFields | None:
        """What our last write left on ``post_id``, or None if we never wrote it."""
        ...

    def put_written(self, post_id: int, values: SeoFields) -> None:
        """Record what our write left on ``post_id``."""
        ...


@dataclass(frozen=True)
class Applied:
    """What a write did: fields written, tags added (names), fields kept for a person.

    ``values`` is the post's state after the write; ``ours`` is what to record
    as our last write: a kept field keeps our earlier value, so the person's
    edit is still recognised as theirs next time.
    """

    written: tuple[str, ...]
    tags_added: tuple[str, ...]
    kept: tuple[str, ...]
    values: SeoFields
    ours: SeoFields


@dataclass(frozen=True)
class SeoOutcome:
    """What :func:`automate_seo` did: its proposal (``reused`` by a redelivery) and any write."""

    proposal: Proposal
    reused: bool
    #: The write, in apply mode; None when the proposal was only stored.
    applied: Applied | None


def automate_seo(bridge: Bridge, post_id: int, advisor: SeoAdvisor, guide: QualityGuide, *,
                 store: ProposalStore, tag_lock: TagLock, plugin: str, apply: bool, key: str,
                 force: bool = False) -> SeoOutcome:
    """Propose SEO tags and meta for post ``post_id`` and, when ``apply``, write them.

    ``key`` (the message id) marks the proposal: a stored proposal with the
    same key is this job's own, from an earlier delivery, and is reused
    instead of asking again. ``plugin`` is the SEO plugin whose meta is read
    and written; ``force`` also replaces values a person edited.
    """
    proposal = store.get_proposal(post_id)
    reused = proposal is not None and proposal.message_id == key
    if proposal is None or not reused:
        post = get_post(bridge, post_id)
        current = _current_fields(bridge, post, plugin)
        proposal = _propose(advisor, guide, post, current, store.get_written(post_id), key=key)
        store.put_proposal(proposal, time.time())
        doclog.emit(doclog.EVENT_SEO_PROPOSED, post_id=post_id,
                    provider=proposal.provider, model=proposal.model,
                    current=proposal.current.to_json(), proposed=proposal.proposed.to_json(),
                    protected=list(proposal.protected))
    applied = _apply(bridge, proposal, store, tag_lock, plugin, force=force) if apply else None
    return SeoOutcome(proposal, reused, applied)


def apply_proposal(bridge: Bridge, post_id: int, *, store: ProposalStore, tag_lock: TagLock,
                   plugin: str, force: bool = False) -> Applied:
    """Write the stored proposal of post ``post_id``; PermanentError when it has none."""
    proposal = store.get_proposal(post_id)
    if proposal is None:
        raise PermanentError(f"post {post_id} has no SEO proposal to apply (already "
                             "applied, or never proposed): send seo_automation first, "
                             "then `atr seo review`")
    return _apply(bridge, proposal, store, tag_lock, plugin, force=force)


def _current_fields(bridge: Bridge, post: Post, plugin: str) -> SeoFields:
    """The post's SEO values now: its tag names and the plugin's meta fields."""
    names = tuple(t.name for t in get_tags(bridge, post.tags)) if post.tags else ()
    meta = read_seo_fields(post, plugin)
    return SeoFields(names, *(meta.get(name, "") for name in FIELDS))


def _protected_fields(current: SeoFields, written: SeoFields | None,
                      proposed: SeoFields) -> tuple[str, ...]:
    """Meta fields a person edited: not empty, not our last write, not our proposal."""
    return tuple(name for name in FIELDS
                 if current.get(name)
                 and current.get(name) != (written.get(name) if written else None)
                 and current.get(name) != proposed.get(name))


def _propose(advisor: SeoAdvisor, guide: QualityGuide, post: Post, current: SeoFields,
             written: SeoFields | None, *, key: str) -> Proposal:
    """Ask for ``post``'s fields within the guide; one retry with feedback if it says no."""
    request = SeoRequest.of_post(post.title, post.content, current.tags, bounds=guide.bounds)
    suggestion = advisor.suggest(request, key=key)
    answer = suggestion.completion.answer
    # Checked against the text the reader sees (entities decoded, hidden parts gone).
    problems = check(answer, request.title, request.content, guide)
    if problems:
        retry = SeoRequest.of_post(post.title, post.content, current.tags,
                                   feedback=feedback(problems), bounds=guide.bounds)
        suggestion = advisor.suggest(retry, key=key)
        answer = suggestion.completion.answer
        problems = check(answer, request.title, request.content, guide)
        if problems:
            raise QualityRejected(
                f"post {post.id}: the {suggestion.provider} answer breaks the quality guide "
                "twice (the second time after being told why): "
                + "; ".join(f"{v.rule}: {v.message}" for v in problems))
    proposed = _fields(answer)
    return Proposal(post.id, post.title, current, proposed, suggestion.provider,
                    suggestion.completion.model, key, _now(),
                    _protected_fields(current, written, proposed))


def _apply(bridge: Bridge, proposal: Proposal, store: ProposalStore, tag_lock: TagLock,
           plugin: str, *, force: bool) -> Applied:
    """Write ``proposal``, record it as our last write, forget it, and say so in the doclog."""
    done = _write(bridge, plugin, proposal, store.get_written(proposal.post_id), tag_lock,
                  force=force)
    store.put_written(proposal.post_id, done.ours)
    store.delete_proposal(proposal.post_id)
    doclog.emit(doclog.EVENT_SEO_APPLIED, post_id=proposal.post_id, plugin=plugin,
                written=list(done.written), tags_added=list(done.tags_added),
                kept=list(done.kept), values=done.values.to_json(), force=force)
    return done


def _write(bridge: Bridge, plugin: str, proposal: Proposal, written: SeoFields | None,
           tag_lock: TagLock, *, force: bool) -> Applied:
    """Write ``proposal`` to its post, step by step, skipping what is already done."""
    post = get_post(bridge, proposal.post_id)
    current = _current_fields(bridge, post, plugin)
    proposed = proposal.proposed
    kept = () if force else _protected_fields(current, written, proposed)

    # Tags: add ours; never remove a person's; never re-add one of ours a person removed.
    have = {normalise_tag(t) for t in current.tags}
    removed = set() if force or written is None else \
        {normalise_tag(t) for t in written.tags} - have
    wanted = [t for t in proposed.tags
              if normalise_tag(t) not in have and normalise_tag(t) not in removed]
    added: tuple[str, ...] = ()
    if wanted:
        created = ensure_tags(bridge, wanted, tag_lock)                           # step 1
        ids = list(dict.fromkeys([*post.tags, *(t.id for t in created)]))
        if ids != list(post.tags):
            post = set_post_tags(bridge, post.id, ids)                            # step 2
        added = tuple(t.name for t in created)

    to_write = {name: proposed.get(name) for name in FIELDS
                if name not in kept and current.get(name) != proposed.get(name)}
    if to_write:
        write_seo_meta(bridge, post.id, plugin, to_write)                         # step 3
    names = tuple(dict.fromkeys([*current.tags, *added]))
    final = SeoFields(names, *(current.get(name) if name in kept else proposed.get(name)
                              for name in FIELDS))
    ours = SeoFields(names, *((written.get(name) if written else "") if name in kept
                             else proposed.get(name) for name in FIELDS))
    return Applied(tuple(to_write), added, kept, final, ours)


def _fields(answer: SeoAnswer) -> SeoFields:
    return SeoFields(answer.tags, answer.focus_keyword, answer.meta_description,
                     answer.seo_title)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
