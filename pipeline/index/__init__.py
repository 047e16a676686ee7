"""Index submission: IndexNow (Naver, the shared endpoint) and, optionally, Google's Indexing API.

Domain code (no Dramatiq): the ``index_submit`` actor builds an engine for
one endpoint and the Redis ledger of the day, and calls :func:`submit_urls`;
``atr index check`` calls :func:`check_key_file`.
"""

from pipeline.index.config import GOOGLE, IndexTargets, site_url
from pipeline.index.indexnow import (
    MAX_URLS_PER_REQUEST,
    IndexNowClient,
    IndexNowError,
    IndexNowKey,
    IndexNowRejected,
    IndexNowUnavailable,
    check_urls,
    endpoint_name,
)
from pipeline.index.keyfile import KeyFileCheck, check_key_file
from pipeline.index.ledger import SubmissionLedger, sent_key
from pipeline.index.submit import Engine, IndexNowEngine, SubmitOutcome, submit_urls

__all__ = [
    "GOOGLE",
    "MAX_URLS_PER_REQUEST",
    "Engine",
    "IndexNowClient",
    "IndexNowEngine",
    "IndexNowError",
    "IndexNowKey",
    "IndexNowRejected",
    "IndexNowUnavailable",
    "IndexTargets",
    "KeyFileCheck",
    "SubmissionLedger",
    "SubmitOutcome",
    "check_key_file",
    "check_urls",
    "endpoint_name",
    "sent_key",
    "site_url",
    "submit_urls",
]
