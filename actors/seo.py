"""SEO automation actors of the ``seo`` queue (worker1): propose, review, apply.

Payloads (JSON-clean, see docs/messages.md)::

    seo_automation {"post_id": 101, "force": false}   -> a proposal, or a write (apply mode)
    seo_apply      {"post_id": 101, "force": false, "proposal_id": "..."}
                                                       -> writes the stored proposal

``seo_automation`` reads the post through the bridge, asks the LLM chain,
checks the answer against the quality guide (one more try with the reasons),
and then, by ``ATR_SEO_MODE``, stores a proposal (``seo.proposed``; ``atr seo
review`` shows it, ``atr seo approve`` enqueues ``seo_apply``) or writes it
(``seo.applied``). A redelivered message reuses the proposal it already made
instead of asking the LLM again. One message per post works at a time (a
Redis lock); another one for the same post is deferred until it is done.
Values a person edited since our last write are kept unless ``force``.

Each actor validates the payload, builds the ports (the Redis proposal store
and tag lock, the LLM chain, the quality guide of the settings), holds the
post's lock around ONE domain call (:func:`pipeline.seo.automation.automate_seo`
or :func:`~pipeline.seo.automation.apply_proposal`), and logs what it did.
"""

from __future__ import annotations

import logging
import uuid
from contextlib import AbstractContextManager
from typing import Final

import dramatiq
import redis
from dramatiq.middleware import CurrentMessage

from actors.base import job
from actors.index import request_indexing
from actors.llm import LLM_OPTIONS, llm_chain
from actors.shared import check_flag, check_post_id, redis_lock
from middleware.runtime import current
from pipeline import doclog, keys, names
from pipeline.errors import PayloadError
from pipeline.names import QUEUE_SEO
from pipeline.seo.automation import SKIP_POST_CHANGED, Applied, apply_proposal, automate_seo
from pipeline.seo.quality import QualityGuide
from pipeline.seo.store import SeoStore
from pipeline.settings import Settings
from pipeline.text import quote_value
from pipeline.wordpress import Bridge, BridgeConfig, TagLock, get_post
from pipeline.wordpress.eligibility import skip_reason

__all__ = ["seo_apply", "seo_automation"]

logger = logging.getLogger(__name__)

#: How long a post's lock lives at most, in milliseconds (the time limit).
_POST_LOCK_MS: Final = 10 * 60_000
#: How long a tag-name lock lives at most (one lookup and one create), in milliseconds.
_TAG_LOCK_MS: Final = 30_000
#: Wait before a message whose post is locked by another one runs again, in milliseconds.
_BUSY_WAIT_MS: Final = 5_000


@job(queue=QUEUE_SEO, name=names.ACTOR_SEO_AUTOMATION, uses=("wordpress",), **LLM_OPTIONS)
def seo_automation(post_id: int, force: bool = False) -> None:
    """Propose (or, in apply mode, write) SEO tags and meta for post ``post_id``.

    Payload: ``{"post_id": 101, "force": false}``; ``force`` also replaces
    values a person edited.
    """
    checked, force = check_post_id(post_id), check_flag("force", force)
    settings = current().settings
    client = current().redis
    with _post_lock(client, checked), \
            Bridge(BridgeConfig.from_settings(settings)) as bridge:
        if _skipped(bridge, checked):
            return
        outcome = automate_seo(bridge, checked, llm_chain(), QualityGuide.from_settings(settings),
                               store=SeoStore(client), tag_lock=_tag_lock(client),
                               plugin=settings.seo_plugin, apply=settings.seo_mode == "apply",
                               key=_message_id(), force=force)
    logger.info("seo: post %r: %s proposal by %s.", checked,
                "reused the" if outcome.reused else "made a", outcome.proposal.provider)
    if outcome.applied is not None:
        _log_applied(checked, outcome.applied)
        _index_if_changed(settings, checked, outcome.applied)


@job(queue=QUEUE_SEO, name=names.ACTOR_SEO_APPLY, uses=("wordpress",), max_retries=5)
def seo_apply(post_id: int, force: bool = False, proposal_id: str | None = None) -> None:
    """Write the stored proposal of post ``post_id`` (``atr seo approve`` sends this).

    Payload: ``{"post_id": 101, "force": false, "proposal_id": "..."}``
    (``proposal_id``, optional: the proposal the approver reviewed). Rejected
    when the post never had a proposal (run ``seo_automation`` first). A
    repeated approval succeeds without writing (``seo.apply_skipped``). A
    proposal whose post was retitled or edited since is not written: the
    job logs ``seo.stale`` and enqueues ``seo_automation`` for a new
    proposal, which the approver reviews again.
    """
    checked, force = check_post_id(post_id), check_flag("force", force)
    if proposal_id is not None and (not isinstance(proposal_id, str) or not proposal_id):
        raise PayloadError(f"proposal_id must be a message id string (as `atr seo review "
                           f"--json` shows it) or absent, got {quote_value(proposal_id, 60)}")
    settings = current().settings
    client = current().redis
    with _post_lock(client, checked), \
            Bridge(BridgeConfig.from_settings(settings)) as bridge:
        if _skipped(bridge, checked):
            return
        outcome = apply_proposal(bridge, checked, store=SeoStore(client),
                                 tag_lock=_tag_lock(client), plugin=settings.seo_plugin,
                                 force=force, proposal_id=proposal_id)
    if outcome.applied is not None:
        _log_applied(checked, outcome.applied)
        _index_if_changed(settings, checked, outcome.applied)
    elif outcome.skipped == SKIP_POST_CHANGED:
        message = dramatiq.get_broker().get_actor(names.ACTOR_SEO_AUTOMATION).send(post_id=checked)
        doclog.emit(doclog.EVENT_SEO_STALE, post_id=checked, proposal_id=outcome.proposal_id,
                    changes=list(outcome.changes), reproposed=message.message_id)
        logger.warning("seo: post %r changed since its proposal (%s): not written; a new "
                       "proposal was requested (message %r), review it with `atr seo review`.",
                       checked, "; ".join(outcome.changes), message.message_id)
    else:
        logger.info("seo: post %r: nothing to apply (%s).", checked, outcome.skipped)


def _skipped(bridge: Bridge, post_id: int) -> bool:
    """Whether the post is in the trash, a draft or password-protected (``post.skipped``)."""
    post = get_post(bridge, post_id)
    reason = skip_reason(post)
    if reason is None:
        return False
    doclog.emit(doclog.EVENT_POST_SKIPPED, post_id=post_id, status=post.status, reason=reason)
    logger.info("seo: post %r skipped: %s.", post_id, reason)
    return True
def _index_if_changed(settings: Settings, post_id: int, done: Applied) -> None:
    """Ask for the post's URL to be submitted to the search engines when the write changed it.

    A write that changed nothing (a redelivery, a rerun) asks for nothing. If
    this enqueue is lost (Redis gone right after the write), the hourly
    ``index_sweep`` still finds the post: WordPress moved its ``modified``.
    """
    if not (done.written or done.tags_added):
        return
    with Bridge(BridgeConfig.from_settings(settings)) as bridge:
        link = get_post(bridge, post_id).link
    if link:
        request_indexing([link])


def _tag_lock(client: redis.Redis) -> TagLock:
    """One short Redis lock per normalised tag name, waited for in the thread."""
    def lock(name: str) -> AbstractContextManager[None]:
        # A tag create takes one request: wait for it in the thread, not a deferral.
        return redis_lock(client, keys.seo_tag_lock(name), _TAG_LOCK_MS,
                          busy=f"tag {name!r} is being created by another message for "
                               f"over {_TAG_LOCK_MS // 1000} s", busy_wait_ms=_BUSY_WAIT_MS,
                          wait_s=_TAG_LOCK_MS / 1000)
    return lock


def _post_lock(client: redis.Redis, post_id: int) -> AbstractContextManager[None]:
    """One message per post: another one for the same post is deferred, not failed."""
    return redis_lock(client, keys.seo_post_lock(post_id), _POST_LOCK_MS,
                      busy=f"post {post_id} is being handled by another message",
                      busy_wait_ms=_BUSY_WAIT_MS)


def _log_applied(post_id: int, done: Applied) -> None:
    logger.info("seo: post %r: wrote %s, added tags %s, kept %s.", post_id,
                ", ".join(done.written) or "nothing", ", ".join(done.tags_added) or "none",
                ", ".join(done.kept) or "nothing")


def _message_id() -> str:
    message = CurrentMessage.get_current_message()
    return message.message_id if message is not None else uuid.uuid4().hex
