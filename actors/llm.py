"""Actors of the ``seo`` queue that ask the LLM layer (worker1).

Payload (JSON-clean, see docs/messages.md)::

    seo_suggest {"title": "...", "content": "<p>...</p>", "tags": ["..."], "ref": "post-101"}

``seo_suggest`` asks the provider chain for a post's SEO fields and records
the checked answer in the doclog (``llm.answered``, stream ``seo_suggest``);
it writes nothing anywhere else, so a redelivery only asks again. With no
budget in the shared limiter the message is deferred (doclog ``deferred``),
not failed; when every provider failed it is retried like any failure.

The chain is built once per worker process, on the first message, from the
settings and the broker's Redis client.
"""

from __future__ import annotations

import logging
import threading
from typing import Any, Final

from dramatiq.middleware import CurrentMessage

from actors.base import job
from middleware.runtime import current
from pipeline import names
from pipeline.errors import PayloadError
from pipeline.llm.chain import LlmChain
from pipeline.llm.config import build_chain
from pipeline.llm.request import SeoRequest
from pipeline.names import QUEUE_SEO
from pipeline.settings import Settings
from pipeline.text import quote_value

__all__ = ["LLM_OPTIONS", "llm_chain", "seo_suggest"]

logger = logging.getLogger(__name__)

#: Options of LLM actors: a provider call is bounded by ATR_LLM_TIMEOUT_S, a
#: message by the chain (3 providers x ATR_LLM_ATTEMPTS calls) well inside this.
LLM_OPTIONS: Final[dict[str, Any]] = {"max_retries": 5, "time_limit": 10 * 60_000}
#: Longest ``ref`` kept, in characters.
_REF_MAX: Final = 200

_chains: dict[tuple[Settings, int], LlmChain] = {}
_chain_lock = threading.Lock()


def llm_chain() -> LlmChain:
    """The provider chain of this process's settings and broker, built on first use.

    A worker process has one of each; keying by both keeps brokers with
    other settings in the same process (tests, benches) apart.
    """
    settings = current().settings
    client = current().redis
    key = (settings, id(client))
    with _chain_lock:
        chain = _chains.get(key)
        if chain is None:
            chain = _chains[key] = build_chain(settings, client)
        return chain


@job(queue=QUEUE_SEO, name=names.ACTOR_SEO_SUGGEST, **LLM_OPTIONS)
def seo_suggest(title: str, content: str, tags: list[str] | None = None,
                ref: str | None = None) -> None:
    """Ask the LLM chain for SEO fields of a text; the answer goes to the doclog.

    Payload: ``{"title": "...", "content": "...", "tags": [...], "ref": "..."}``;
    ``tags`` (existing tags) and ``ref`` (the producer's id for the text,
    kept in the doclog's ``started`` line) are optional.
    """
    try:
        request = SeoRequest.from_json({"title": title, "content": content,
                                        "tags": tags if tags is not None else []})
    except ValueError as exc:
        raise PayloadError(f"seo_suggest payload: {exc}") from None
    if ref is not None and (not isinstance(ref, str) or len(ref) > _REF_MAX):
        raise PayloadError(f"seo_suggest payload: ref must be a string of at most {_REF_MAX} "
                           f"characters, got {quote_value(ref, 60)}")
    message = CurrentMessage.get_current_message()
    suggestion = llm_chain().suggest(request, key=message.message_id if message else None)
    logger.info("seo_suggest %s: answered by %s (%s)%s.", ref or "-", suggestion.provider,
                suggestion.completion.model, " as a fallback" if suggestion.fallback else "")
