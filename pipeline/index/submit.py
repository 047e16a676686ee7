"""Submit URLs to one search engine endpoint, once per day each: the whole index_submit job.

:func:`submit_urls` takes the URLs, an :class:`Engine` (IndexNow at one
endpoint, or the Google Indexing API) and a :class:`Ledger` (the day's claims,
:class:`pipeline.index.ledger.SubmissionLedger` in Redis). It claims the URLs
(skipping those already submitted today or being submitted by another
message), sends the claimed ones host by host in the engine's batch size,
marks each accepted batch done, and gives back the claims of what was not
sent when a request fails, before the error propagates (a transient one is
retried by Dramatiq; the retry sends only what is not done). Each accepted
batch is an ``index.submitted`` doclog line (``endpoint``, ``site`` (the host),
``count``, ``status``); a failed one ``index.failed``; URLs skipped as
already submitted ``index.skipped``.

Endpoints are independent: a job submits to one endpoint, so one that fails
never makes another receive the same URLs again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from pipeline import doclog
from pipeline.errors import AtrError, Deferred, PermanentError
from pipeline.index.indexnow import (
    MAX_URLS_PER_REQUEST,
    IndexNowClient,
    IndexNowError,
    IndexNowKey,
    batches,
    by_host,
    endpoint_name,
)

__all__ = ["Engine", "IndexNowEngine", "Ledger", "SubmitOutcome", "submit_urls"]


class Engine(Protocol):
    """Where URLs are submitted: its short ``name``, its batch size, and one request."""

    @property
    def name(self) -> str:
        """The endpoint's short name (doclog, claims)."""
        ...

    @property
    def batch_size(self) -> int:
        """URLs per request at most."""
        ...

    def send(self, scheme: str, host: str, urls: Sequence[str]) -> int:
        """Submit ``urls`` (all on ``host``, at most ``batch_size``); the success status."""
        ...


class Ledger(Protocol):
    """The day's claims of one endpoint (see :mod:`pipeline.index.ledger`)."""

    def claim(self, urls: Sequence[str], owner: str) -> list[str]:
        """The URLs ``owner`` may send now."""
        ...

    def mark_done(self, urls: Sequence[str]) -> None:
        """Record ``urls`` as accepted."""
        ...

    def release(self, urls: Sequence[str], owner: str) -> None:
        """Give back ``owner``'s claims of ``urls``."""
        ...


@dataclass(frozen=True)
class IndexNowEngine:
    """IndexNow at one endpoint (``https://searchadvisor.naver.com``) with the site's key."""

    endpoint: str
    key: IndexNowKey
    client: IndexNowClient
    batch_size: int = MAX_URLS_PER_REQUEST

    @property
    def name(self) -> str:
        """The endpoint's host: the name used in the doclog and the claims."""
        return endpoint_name(self.endpoint)

    def send(self, scheme: str, host: str, urls: Sequence[str]) -> int:
        """One IndexNow request (see :meth:`IndexNowClient.submit`)."""
        return self.client.submit(self.endpoint, scheme, host, self.key, urls)


@dataclass(frozen=True)
class SubmitOutcome:
    """What a job did at one endpoint: URLs sent, skipped (already submitted today), requests."""

    endpoint: str
    sent: int
    skipped: int
    requests: int


def submit_urls(urls: Sequence[str], engine: Engine, ledger: Ledger, *,
                owner: str) -> SubmitOutcome:
    """Submit each of ``urls`` to ``engine`` unless it was submitted there today.

    ``owner`` is the message id: a redelivery of the same message takes its own
    claims back. Errors of the engine propagate after the claims of the URLs
    not sent are given back.
    """
    wanted = list(dict.fromkeys(urls))
    claimed = ledger.claim(wanted, owner)
    skipped = len(wanted) - len(claimed)
    if skipped:
        doclog.emit(doclog.EVENT_INDEX_SKIPPED, endpoint=engine.name, count=skipped,
                    reason="already submitted today, or being submitted by another message")
    sent = requests = 0
    pending = list(claimed)
    try:
        for (scheme, host), host_urls in by_host(claimed).items():
            for batch in batches(host_urls, engine.batch_size):
                status = engine.send(scheme, host, batch)
                requests += 1
                ledger.mark_done(batch)
                done = set(batch)
                pending = [u for u in pending if u not in done]
                sent += len(batch)
                doclog.emit(doclog.EVENT_INDEX_SUBMITTED, endpoint=engine.name, site=host,
                            count=len(batch), status=status, urls=list(batch[:20]))
    except AtrError as exc:
        ledger.release(pending, owner)
        if isinstance(exc, Deferred):
            raise
        status_code = exc.status if isinstance(exc, IndexNowError) else None
        doclog.emit(doclog.EVENT_INDEX_FAILED, endpoint=engine.name, count=len(pending),
                    status=status_code, retry=not isinstance(exc, PermanentError),
                    sent=sent)
        raise
    return SubmitOutcome(engine.name, sent, skipped, requests)
