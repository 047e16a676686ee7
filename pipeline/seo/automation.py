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
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Final, Protocol

from pipeline import doclog
from pipeline.errors import PermanentError
from pipeline.llm.chain import Suggestion
from pipeline.llm.request import SeoAnswer, SeoRequest
from pipeline.seo.quality import QualityGuide, check, feedback
from pipeline.seo.store import FIELDS, Proposal, SeoFields, Written, content_hash
from pipeline.text import normalise_tag
from pipeline.wordpress import Bridge, Post, TagLock, WriteNotAppliedError
from pipeline.wordpress.posts import get_post
from pipeline.wordpress.sanitize import stored_term_name
from pipeline.wordpress.seo_meta import (
    check_seo_write,
    check_storable,
    read_seo_fields,
    write_seo_post,
)
from pipeline.wordpress.tags import ensure_tags, get_tags

__all__ = [
    "SKIP_ALREADY_APPLIED",
    "SKIP_POST_CHANGED",
    "SKIP_REPLACED",
    "Applied",
    "ApplyOutcome",
    "ProposalStore",
    "QualityRejected",
    "SeoAdvisor",
    "SeoOutcome",
    "apply_proposal",
    "automate_seo",
    "current_fields",
    "post_changes",
    "protected_fields",
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

    def get_written(self, post_id: int) -> Written | None:
        """What our last write left on ``post_id``, or None if we never wrote it."""
        ...

    def put_written(self, post_id: int, record: Written) -> None:
        """Record what our write left on ``post_id``."""
        ...


@dataclass(frozen=True)
class Applied:
    """What a write did: fields written, tags added (names), fields kept for a person.

    ``values`` is the post's state after the write; ``record`` is what is
    remembered of it (:class:`pipeline.seo.store.Written`).
    """

    written: tuple[str, ...]
    tags_added: tuple[str, ...]
    kept: tuple[str, ...]
    values: SeoFields
    record: Written


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
    instead of asking again, unless the post's title or content changed
    since. ``plugin`` is the SEO plugin whose meta is read and written;
    ``force`` also replaces values a person edited.
    """
    post = get_post(bridge, post_id)
    proposal = store.get_proposal(post_id)
    reused = proposal is not None and proposal.message_id == key \
        and not post_changes(proposal, post)
    if proposal is None or not reused:
        current = current_fields(bridge, post, plugin)
        written = store.get_written(post_id)
        proposal = _propose(advisor, guide, post, current, written.values if written else None,
                            key=key)
        store.put_proposal(proposal, time.time())
        doclog.emit(doclog.EVENT_SEO_PROPOSED, post_id=post_id,
                    provider=proposal.provider, model=proposal.model,
                    current=proposal.current.to_json(), proposed=proposal.proposed.to_json(),
                    protected=list(proposal.protected))
    applied = _apply(bridge, proposal, store, tag_lock, plugin, force=force, post=post) \
        if apply else None
    return SeoOutcome(proposal, reused, applied)


@dataclass(frozen=True)
class ApplyOutcome:
    """What :func:`apply_proposal` did: ``applied``, or why not (``skipped``, ``changes``).

    ``skipped`` is None (written), ``"post_changed"`` (the post changed since
    the proposal: nothing written, ``changes`` says what; propose again),
    ``"already_applied"`` or ``"replaced"`` (the approved proposal is gone:
    a repeated approval, or a newer proposal waits for review).
    """

    applied: Applied | None
    skipped: str | None = None
    changes: tuple[str, ...] = ()
    proposal_id: str = ""


SKIP_POST_CHANGED: Final = "post_changed"
SKIP_ALREADY_APPLIED: Final = "already_applied"
SKIP_REPLACED: Final = "replaced"


def apply_proposal(bridge: Bridge, post_id: int, *, store: ProposalStore, tag_lock: TagLock,
                   plugin: str, force: bool = False,
                   proposal_id: str | None = None) -> ApplyOutcome:
    """Write the stored proposal of post ``post_id``, if it still fits the post.

    ``proposal_id`` is the proposal the approver saw (its ``message_id``;
    None: whichever is stored). A proposal whose post's title or content
    changed since it was made is not written (``post_changed``). A repeated
    approval, of a proposal already applied, is a no-op (``already_applied``);
    one of a proposal since replaced by a newer one too (``replaced``: the
    newer one waits for review). PermanentError when nothing was ever
    proposed or applied for the post.
    """
    proposal = store.get_proposal(post_id)
    if proposal is None or (proposal_id and proposal_id != proposal.message_id):
        written = store.get_written(post_id)
        if written is not None and proposal_id in (None, written.proposal_id):
            return _skipped(post_id, SKIP_ALREADY_APPLIED, written.proposal_id,
                            f"applied at {written.applied or 'an earlier run'}")
        if proposal_id and proposal is not None:
            return _skipped(post_id, SKIP_REPLACED, proposal_id,
                            f"a newer proposal ({proposal.message_id}, {proposal.created}) "
                            "waits for review: see `atr seo review`")
        if proposal_id and written is not None:
            return _skipped(post_id, SKIP_REPLACED, proposal_id,
                            f"a newer proposal ({written.proposal_id}) was applied at "
                            f"{written.applied}")
        raise PermanentError(f"post {post_id} has no SEO proposal to apply (never proposed, "
                             "or its proposal was lost): send seo_automation first, then "
                             "`atr seo review`")
    post = get_post(bridge, post_id)
    changes = post_changes(proposal, post)
    if changes:
        return ApplyOutcome(None, SKIP_POST_CHANGED, changes, proposal.message_id)
    return ApplyOutcome(_apply(bridge, proposal, store, tag_lock, plugin, force=force,
                               post=post), proposal_id=proposal.message_id)


def post_changes(proposal: Proposal, post: Post) -> tuple[str, ...]:
    """How ``post`` differs from what ``proposal`` was made from (empty: it still fits).

    The title and the raw content count; ``modified_gmt`` alone does not:
    every REST write bumps it, our own featured image among them.
    """
    changes = []
    if post.title != proposal.title:
        changes.append(f"title {proposal.title!r} -> {post.title!r}")
    if proposal.content_hash and content_hash(post.content) != proposal.content_hash:
        changes.append("content edited"
                       + (f" (modified {proposal.modified_gmt} -> {post.modified_gmt} UTC)"
                          if proposal.modified_gmt and post.modified_gmt else ""))
    return tuple(changes)


def _skipped(post_id: int, reason: str, proposal_id: str, detail: str) -> ApplyOutcome:
    doclog.emit(doclog.EVENT_SEO_APPLY_SKIPPED, post_id=post_id, reason=reason,
                proposal_id=proposal_id, detail=detail)
    return ApplyOutcome(None, reason, (), proposal_id)


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
                    protected_fields(current, written, proposed),
                    content_hash(post.content), post.modified_gmt)


def _apply(bridge: Bridge, proposal: Proposal, store: ProposalStore, tag_lock: TagLock,
           plugin: str, *, force: bool, post: Post) -> Applied:
    """Write ``proposal``, record it as our last write, forget it, and say so in the doclog."""
    done = _write(bridge, plugin, proposal, store, tag_lock, force=force, post=post)
    store.put_written(proposal.post_id, done.record)
    store.delete_proposal(proposal.post_id)
    doclog.emit(doclog.EVENT_SEO_APPLIED, post_id=proposal.post_id, plugin=plugin,
                written=list(done.written), tags_added=list(done.tags_added),
                kept=list(done.kept), values=done.values.to_json(), force=force,
                tags_owned=list(done.record.owned), tags_removed=list(done.record.removed))
    return done


def _write(bridge: Bridge, plugin: str, proposal: Proposal, store: ProposalStore,
           tag_lock: TagLock, *, force: bool, post: Post) -> Applied:
    """Write ``proposal`` to ``post`` (just read): check everything, create tags, ONE post write."""
    written = store.get_written(proposal.post_id)
    current = current_fields(bridge, post, plugin)
    proposed = proposal.proposed
    kept = () if force else protected_fields(current, written.values if written else None,
                                              proposed)
    removed = _removed_tags(current.tags, written)
    blocked = set() if force else {normalise_tag(t) for t in removed}
    have = {normalise_tag(t) for t in current.tags}
    wanted = [t for t in proposed.tags
              if normalise_tag(t) not in have and normalise_tag(t) not in blocked]
    to_write = {name: proposed.get(name) for name in FIELDS
                if name not in kept and current.get(name) != proposed.get(name)}

    # Every check before the first write: a tag or value WordPress would store
    # changed, or meta keys it does not know, stop the job with nothing written.
    check_seo_write(post, plugin, to_write)
    check_storable({f"tag {t!r}": t for t in wanted}, what=f"post {post.id}",
                   stored_as=stored_term_name)

    created = ensure_tags(bridge, wanted, tag_lock) if wanted else []           # step 1
    ids = list(dict.fromkeys([*post.tags, *(t.id for t in created)]))
    new_tags = ids if set(ids) != set(post.tags) else None
    added = tuple(t.name for t in created if t.id not in post.tags)
    names = tuple(dict.fromkeys([*current.tags, *added]))
    final = SeoFields(names, *(current.get(name) if name in kept else proposed.get(name)
                              for name in FIELDS))
    record = _record(proposal, written, final, kept, names, removed)
    if to_write or new_tags is not None:
        try:
            write_seo_post(bridge, post, plugin, to_write, tags=new_tags)      # step 2: one POST
        except WriteNotAppliedError as exc:
            if exc.stored:
                # What WordPress kept for our write is ours, not a person's edit.
                stored = SeoFields(final.tags, *(exc.stored.get(name, final.get(name))
                                                 for name in FIELDS))
                store.put_written(post.id, replace(record, values=stored))
            raise
    return Applied(tuple(to_write), added, kept, final, record)


def _removed_tags(tags: tuple[str, ...], written: Written | None) -> tuple[str, ...]:
    """Tags a person took off: remembered ones, and those seen at our last write and gone now.

    A tag back on the post is no longer "removed" (a person put it back).
    """
    if written is None:
        return ()
    have = {normalise_tag(t) for t in tags}
    return _unique([t for t in (*written.removed, *written.values.tags)
                    if normalise_tag(t) not in have])


def _record(proposal: Proposal, written: Written | None, final: SeoFields,
            kept: tuple[str, ...], names: tuple[str, ...], removed: tuple[str, ...]) -> Written:
    """What to remember of this write: our values, the tags we own, the tags a person removed.

    A kept field keeps our earlier value, so the person's edit is still
    recognised as theirs next time. We own a proposed tag that is on the post
    now and was not there when the proposal was made (so a redelivery after
    the write still counts it), plus the tags we owned before that are still
    there. A tag on the post again (a forced write re-added it) is no longer "removed".
    """
    ours = SeoFields(names, *((written.values.get(name) if written else "") if name in kept
                              else final.get(name) for name in FIELDS))
    on_post = {normalise_tag(t) for t in names}
    before = {normalise_tag(t) for t in proposal.current.tags}
    owned = [t for t in (written.owned if written else ()) if normalise_tag(t) in on_post]
    owned += [t for t in proposal.proposed.tags
              if normalise_tag(t) in on_post and normalise_tag(t) not in before]
    still_removed = tuple(t for t in removed if normalise_tag(t) not in on_post)
    return Written(ours, _unique(owned), still_removed, proposal.message_id, _now())


def _unique(names: list[str]) -> tuple[str, ...]:
    """``names`` without repeats (compared normalised), the first spelling kept, in order."""
    first: dict[str, str] = {}
    for name in names:
        first.setdefault(normalise_tag(name), name)
    return tuple(first.values())


def _fields(answer: SeoAnswer) -> SeoFields:
    """The answer as it will be stored: white space as WordPress keeps it (one line, trimmed)."""
    return SeoFields(tuple(_one_line(t) for t in answer.tags), _one_line(answer.focus_keyword),
                     _one_line(answer.meta_description), _one_line(answer.seo_title))


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
