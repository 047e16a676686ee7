"""Actors of the ``index`` queue (worker2): submit changed URLs to the search engines.

Payloads (JSON-clean, see docs/messages.md)::

    index_submit {"urls": ["https://example.com/post/"], "endpoint": null}
    index_sweep  {}

``index_submit`` with ``endpoint`` null fans out: one message per configured
endpoint (each IndexNow endpoint, and ``google`` when ATR_GOOGLE_INDEXING=on),
so one endpoint failing or being retried never sends the URLs to another
again. A message for one endpoint claims its URLs in the day's ledger
(:mod:`pipeline.index.ledger`), sends what it claimed and marks it done: a
URL already submitted there today is skipped, and a redelivery submits
nothing twice. 400/403/422 reject the message with the reason and the fix;
429, 5xx and timeouts are retried with back-off.

``index_sweep`` (scheduled, ``ATR_SCHEDULE_INDEX_SWEEP``) lists the posts
published or modified since the last sweep (the bridge's ``modified_after``)
and enqueues one ``index_submit`` for their links.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from typing import Any, Final

import dramatiq
from dramatiq.middleware import CurrentMessage

from actors.base import job
from middleware.runtime import current
from pipeline import doclog, keys, names
from pipeline.errors import PayloadError
from pipeline.index import (
    GOOGLE,
    IndexNowClient,
    IndexNowEngine,
    IndexTargets,
    SubmissionLedger,
    check_urls,
    submit_urls,
)
from pipeline.index.submit import Engine
from pipeline.names import QUEUE_INDEX
from pipeline.settings import Settings
from pipeline.wordpress import Bridge, BridgeConfig
from pipeline.wordpress.posts import list_posts

__all__ = ["INDEX_OPTIONS", "index_submit", "index_sweep", "request_indexing"]

logger = logging.getLogger(__name__)

#: 8 retries with the broker's back-off (15 s doubling) span about an hour of an
#: engine's 429s or outage.
INDEX_OPTIONS: Final[dict[str, Any]] = {"max_retries": 8, "time_limit": 10 * 60_000}
#: Most URLs one message may carry (a sitemap's worth; batched 10,000 a request).
_MAX_URLS: Final = 100_000
#: Message options a fan-out passes on to the message of each endpoint.
_INHERITED: Final = ("max_retries", "min_backoff", "max_backoff")
#: How far back the first sweep looks, with no watermark yet.
_FIRST_SWEEP: Final = dt.timedelta(days=1)


@job(queue=QUEUE_INDEX, name=names.ACTOR_INDEX_SUBMIT, **INDEX_OPTIONS)
def index_submit(urls: list[str], endpoint: str | None = None) -> None:
    """Submit ``urls`` to ``endpoint`` (null: to each configured endpoint, one message each).

    Payload: ``{"urls": ["https://example.com/post/"], "endpoint": null}``.
    """
    # Counted as sent, repeats included: the bound is on the message, and a huge
    # list is refused before each URL is parsed.
    if isinstance(urls, list) and len(urls) > _MAX_URLS:
        raise PayloadError(f"{len(urls)} URLs in one message: at most {_MAX_URLS}; "
                           "split them")
    checked = check_urls(urls)
    settings = current().settings
    targets = IndexTargets.from_settings(settings)
    if endpoint is None:
        endpoints = targets.names or (targets.check(None),)
        if len(endpoints) > 1:
            _fan_out(checked, endpoints)
            return
        endpoint = endpoints[0]
    name = targets.check(endpoint)
    day = dt.datetime.now(settings.zone).date().isoformat()
    client = IndexNowClient(settings.indexnow_timeout_s)
    try:
        engine = _engine(settings, targets, name, client)
        outcome = submit_urls(checked, engine, SubmissionLedger(current().redis, name, day),
                              owner=_message_id())
    finally:
        client.close()
    logger.info("index_submit: %s: %d URL(s) submitted in %d request(s), %d skipped "
                "(already submitted today).", name, outcome.sent, outcome.requests,
                outcome.skipped)


@job(queue=QUEUE_INDEX, name=names.ACTOR_INDEX_SWEEP, max_retries=3)
def index_sweep() -> None:
    """Submit the posts published or modified since the last sweep. Payload: ``{}``."""
    settings = current().settings
    client = current().redis
    raw = client.get(keys.INDEX_SWEEP_SINCE)
    since = dt.datetime.fromisoformat(raw.decode() if isinstance(raw, bytes) else str(raw)) \
        if raw else (dt.datetime.now(settings.zone) - _FIRST_SWEEP).replace(tzinfo=None)
    with Bridge(BridgeConfig.from_settings(settings)) as bridge:
        posts = list_posts(bridge, modified_after=since)
    links = [p.link for p in posts if p.link]
    until = max((p.modified.replace(tzinfo=None) for p in posts), default=since)
    if links:
        request_indexing(links)
    # Advanced only after the URLs are enqueued: a crash in between sweeps them again,
    # and the day's ledger keeps that from submitting anything twice.
    client.set(keys.INDEX_SWEEP_SINCE, until.isoformat(timespec="seconds"))
    doclog.emit(doclog.EVENT_INDEX_SWEPT, since=since.isoformat(timespec="seconds"),
                until=until.isoformat(timespec="seconds"), count=len(links))
    logger.info("index_sweep: %d post(s) changed since %s.", len(links), since.isoformat())


def request_indexing(urls: list[str]) -> str:
    """Enqueue ``index_submit`` for ``urls`` on the current broker; the message id.

    By name, so a worker group that does not run the ``index`` queue (worker1,
    after an SEO write or a new featured image) can ask for it.
    """
    message: dramatiq.Message[None] = dramatiq.Message(
        queue_name=QUEUE_INDEX, actor_name=names.ACTOR_INDEX_SUBMIT, args=(),
        kwargs={"urls": list(urls), "endpoint": None}, options={})
    dramatiq.get_broker().enqueue(message)
    return message.message_id


def _fan_out(urls: list[str], endpoints: tuple[str, ...]) -> None:
    broker = dramatiq.get_broker()
    message = CurrentMessage.get_current_message()
    # The producer's retry choices hold for each endpoint's message too.
    options = {k: v for k, v in (message.options if message else {}).items()
               if k in _INHERITED}
    for endpoint in endpoints:
        broker.enqueue(dramatiq.Message(
            queue_name=QUEUE_INDEX, actor_name=names.ACTOR_INDEX_SUBMIT, args=(),
            kwargs={"urls": urls, "endpoint": endpoint}, options=dict(options)))
    doclog.emit(doclog.EVENT_INDEX_FANNED_OUT, endpoints=list(endpoints), count=len(urls))
    logger.info("index_submit: %d URL(s) enqueued for %s.", len(urls), ", ".join(endpoints))


def _engine(settings: Settings, targets: IndexTargets, name: str,
            client: IndexNowClient) -> Engine:
    if name == GOOGLE:
        from pipeline.index.google import GoogleIndexing, GoogleQuota

        return GoogleIndexing.from_settings(settings, GoogleQuota(
            current().redis, settings.google_indexing_daily_quota))
    assert targets.key is not None  # an IndexNow endpoint is configured only with a key
    return IndexNowEngine(targets.indexnow[name], targets.key, client)


def _message_id() -> str:
    message = CurrentMessage.get_current_message()
    return message.message_id if message is not None else uuid.uuid4().hex
