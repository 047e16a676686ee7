"""SEO automation of one post: ask the LLM chain, check the quality guide, propose or apply.

``propose`` reads nothing from WordPress itself: the caller passes the post
and its current values. It asks the chain, checks the answer against the
quality guide, and asks once more with the violations fed back; a second
failing answer is a :class:`QualityRejected` (permanent: the message is
rejected with the reasons).

``apply`` writes a proposal in three idempotent steps, each skipped when its
effect is already there, so a redelivery after a crash at any point ends in
the same post and creates nothing twice:

1. the proposed tags are found or created (one at a time per name, under a
   lock; WordPress's own ``term_exists`` does not stop two concurrent creates);
2. they are added to the post's tags (tags are only ever added: a person's
   tags stay; one of ours that a person removed is not added back);
3. the meta fields that differ are written and read back.

A meta field a person edited since our last write (current value not empty,
not what we wrote, not what we propose) is kept unless ``force``.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime

from pipeline.errors import PermanentError
from pipeline.llm.chain import LlmChain
from pipeline.llm.request import SeoAnswer, SeoRequest, normalise_tag
from pipeline.seo.quality import QualityGuide, check, feedback
from pipeline.seo.store import FIELDS, Proposal, SeoFields
from pipeline.wordpress import Bridge, Post
from pipeline.wordpress.posts import get_post, set_post_tags
from pipeline.wordpress.seo_meta import read_seo_fields, write_seo_meta
from pipeline.wordpress.tags import ensure_tags, get_tags

__all__ = [
    "Applied",
    "QualityRejected",
    "apply",
    "current_fields",
    "propose",
    "protected_fields",
]

Lock = Callable[[str], AbstractContextManager[None]]


class QualityRejected(PermanentError):
    """Raised when two answers in a row break the quality guide; the message says how."""


@dataclass(frozen=True)
class Applied:
    """What ``apply`` did: fields written, tags added (names), fields kept for a person.

    ``values`` is the post's state after the write; ``ours`` is what to record
    as our last write: a kept field keeps our earlier value, so the person's
    edit is still recognised as theirs next time.
    """

    written: tuple[str, ...]
    tags_added: tuple[str, ...]
    kept: tuple[str, ...]
    values: SeoFields
    ours: SeoFields


def current_fields(bridge: Bridge, post: Post, plugin: str) -> SeoFields:
    """The post's SEO values now: its tag names and the plugin's meta fields."""
    names = tuple(t.name for t in get_tags(bridge, post.tags)) if post.tags else ()
    meta = read_seo_fields(post, plugin)
    return SeoFields(names, *(meta.get(name, "") for name in FIELDS))


def protected_fields(current: SeoFields, written: SeoFields | None,
                     proposed: SeoFields) -> tuple[str, ...]:
    """Meta fields a person edited: not empty, not our last write, not our proposal."""
    return tuple(name for name in FIELDS
                 if current.get(name)
                 and current.get(name) != (written.get(name) if written else None)
                 and current.get(name) != proposed.get(name))


def propose(chain: LlmChain, guide: QualityGuide, post: Post, current: SeoFields,
            written: SeoFields | None, *, key: str | None) -> Proposal:
    """Ask the chain for ``post``'s fields; one retry with feedback if the guide says no."""
    request = SeoRequest(post.title, post.content, existing_tags=current.tags)
    suggestion = chain.suggest(request, key=key)
    answer = suggestion.completion.answer
    problems = check(answer, post.title, post.content, guide)
    if problems:
        retry = SeoRequest(post.title, post.content, existing_tags=current.tags,
                           feedback=feedback(problems))
        suggestion = chain.suggest(retry, key=key)
        answer = suggestion.completion.answer
        problems = check(answer, post.title, post.content, guide)
        if problems:
            raise QualityRejected(
                f"post {post.id}: the {suggestion.provider} answer breaks the quality guide "
                "twice (the second time after being told why): "
                + "; ".join(f"{v.rule}: {v.message}" for v in problems))
    proposed = _fields(answer)
    return Proposal(post.id, post.title, current, proposed, suggestion.provider,
                    suggestion.completion.model, key or "", _now(),
                    protected_fields(current, written, proposed))


def apply(bridge: Bridge, plugin: str, proposal: Proposal, written: SeoFields | None,
          lock: Lock, *, force: bool) -> Applied:
    """Write ``proposal`` to its post, step by step, skipping what is already done."""
    post = get_post(bridge, proposal.post_id)
    current = current_fields(bridge, post, plugin)
    proposed = proposal.proposed
    kept = () if force else protected_fields(current, written, proposed)

    # Tags: add ours; never remove a person's; never re-add one of ours a person removed.
    have = {normalise_tag(t) for t in current.tags}
    removed = set() if force or written is None else \
        {normalise_tag(t) for t in written.tags} - have
    wanted = [t for t in proposed.tags
              if normalise_tag(t) not in have and normalise_tag(t) not in removed]
    added: tuple[str, ...] = ()
    if wanted:
        created = ensure_tags(bridge, wanted, lock)                               # step 1
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

