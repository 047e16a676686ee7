"""Every Redis key this project writes or reads, defined once.

All our keys start with :data:`PREFIX` (``atr:``); each family below has one
owner, the module that writes it, and every other module (a health check, a
CLI command, a test) builds the key through the same function. Adding a job
that keeps state in Redis adds a row here instead of a key string in its
module.

=====================================  =================================  ==========================
key                                    what                               owner (writes)
=====================================  =================================  ==========================
``atr:heartbeat:<group>:<host>:<pid>`` a worker process is alive (TTL)    ``middleware.heartbeat``
``atr:scheduler:<host>:<pid>``         an ``atr scheduler`` is alive      ``ops.scheduler``
``atr:schedule:<job>:<tick>``          who enqueued a periodic tick (NX)  ``ops.scheduler``
``atr:doclog:write_errors:<group>``    doclog lines lost by a group       ``middleware.doclog``
``atr:health:over:<queue>``            when a backlog streak began        ``atr health``
``atr:health:doclog:<group>``          last doclog error count seen       ``atr health``
``atr:ping:<token>``                   a canary's replies (list)          ``actors.canary``
``atr:llm:<provider>:<model>:*``       shared rate-limit budget           ``pipeline.llm.ratelimit``
``atr:llm:calls:<job key>``            failed calls of one job (hash)     ``pipeline.llm.chain``
``atr:llm:exhausted:<provider>``       a provider is out of quota         ``pipeline.llm.chain``
``atr:fi_pipeline:lock:<post_id>``     one featured-image job per post    ``actors.images``
``atr:fi_pipeline:media:<slug>``       slug -> uploaded media id          ``actors.images``
``atr:seo:lock:post:<post_id>``        one SEO job per post               ``actors.seo``
``atr:seo:lock:tag:<name>``            one tag create per name            ``actors.seo``
``atr:seo:proposal:<post_id>``         the latest SEO proposal (JSON)     ``pipeline.seo.store``
``atr:seo:proposals``                  post id -> time proposed (zset)    ``pipeline.seo.store``
``atr:seo:written:<post_id>``          what our last SEO write left       ``pipeline.seo.store``
``atr:pause:<peer>``                   a peer's jobs are paused (hash)    ``actors.peers``
``atr:pause:<peer>:probe``             one probe of the peer a minute     ``actors.peers``
=====================================  =================================  ==========================

Dramatiq keeps its own keys under its namespace (``dramatiq:<queue>`` and the
suffixes below); they are named here only so that readers of Dramatiq's
layout (``atr health``, the queue gauges) spell them once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final

__all__ = [
    "DRAMATIQ_NAMESPACE",
    "GA4_DROP_LOCK",
    "HEARTBEAT_PREFIX",
    "PREFIX",
    "SCHEDULER_PATTERN",
    "SEO_PROPOSALS",
    "dramatiq_queue",
    "health_doclog",
    "health_over",
    "heartbeat",
    "heartbeat_pattern",
    "images_lock",
    "images_media",
    "llm_budget",
    "llm_calls",
    "llm_exhausted",
    "pause",
    "pause_probe",
    "ping_reply",
    "schedule_claim",
    "scheduler_heartbeat",
    "seo_post_lock",
    "seo_proposal",
    "seo_tag_lock",
    "seo_written",
    "write_errors",
]

#: The common prefix of every key we own.
PREFIX: Final = "atr:"

# --- liveness -----------------------------------------------------------------
#: Prefix of every worker heartbeat key.
HEARTBEAT_PREFIX: Final = f"{PREFIX}heartbeat"
#: ``SCAN MATCH`` pattern of every live ``atr scheduler``.
SCHEDULER_PATTERN: Final = f"{PREFIX}scheduler:*"


def heartbeat(group: str, host: str, pid: int) -> str:
    """The key a worker process of ``group`` on ``host`` keeps alive."""
    return f"{HEARTBEAT_PREFIX}:{group}:{host}:{pid}"


def heartbeat_pattern(group: str) -> str:
    """A ``SCAN MATCH`` pattern for every heartbeat key of ``group``."""
    return f"{HEARTBEAT_PREFIX}:{group}:*"


def scheduler_heartbeat(identity: str) -> str:
    """The key a running scheduler refreshes (TTL 60 s), for health checks."""
    return f"{PREFIX}scheduler:{identity}"


def schedule_claim(job: str, tick: datetime) -> str:
    """The Redis key that the scheduler enqueueing ``job`` for ``tick`` holds."""
    return f"{PREFIX}schedule:{job}:{tick.isoformat()}"


# --- doclog and health bookkeeping ----------------------------------------------
def write_errors(group: str | None) -> str:
    """The Redis counter of doclog lines lost by ``group`` (None: a producer process)."""
    return f"{PREFIX}doclog:write_errors:{group or 'producer'}"


def health_over(queue: str) -> str:
    """When a check first saw ``queue``'s backlog over WARN (epoch seconds)."""
    return f"{PREFIX}health:over:{queue}"


def health_doclog(group: str) -> str:
    """The last doclog error count a check saw for ``group`` and when it grew (JSON)."""
    return f"{PREFIX}health:doclog:{group}"


# --- canaries -----------------------------------------------------------------
def ping_reply(token: str) -> str:
    """The Redis list a canary pushes its reply to."""
    return f"{PREFIX}ping:{token}"


# --- LLM budgets and quota ----------------------------------------------------
def llm_budget(provider: str, model: str) -> str:
    """The prefix of one provider/model rate-limit budget (``:log``, ``:tok``, ...)."""
    return f"{PREFIX}llm:{provider}:{model}"


def llm_calls(job: str) -> str:
    """The hash of one job's failed calls per provider."""
    return f"{PREFIX}llm:calls:{job}"


def llm_exhausted(provider: str) -> str:
    """The key marking ``provider`` out of quota (its value says why)."""
    return f"{PREFIX}llm:exhausted:{provider}"


# --- featured images ------------------------------------------------------------
def images_lock(post_id: int) -> str:
    """One featured-image job per post."""
    return f"{PREFIX}fi_pipeline:lock:{post_id}"


def images_media(slug: str) -> str:
    """Slug -> media id marker, written right after an upload."""
    return f"{PREFIX}fi_pipeline:media:{slug}"


# --- SEO ----------------------------------------------------------------------
#: Sorted set: post id -> time proposed.
SEO_PROPOSALS: Final = f"{PREFIX}seo:proposals"


def seo_post_lock(post_id: int) -> str:
    """One SEO job per post."""
    return f"{PREFIX}seo:lock:post:{post_id}"


def seo_tag_lock(name: str) -> str:
    """One tag create per normalised tag name."""
    return f"{PREFIX}seo:lock:tag:{name}"


def seo_proposal(post_id: int) -> str:
    """The latest proposal for a post (JSON)."""
    return f"{PREFIX}seo:proposal:{post_id}"


def seo_written(post_id: int) -> str:
    """The SEO fields as our last write left them (JSON)."""
    return f"{PREFIX}seo:written:{post_id}"


# --- pause flags ------------------------------------------------------------------
def pause(peer: str) -> str:
    """The pause flag of ``peer``'s jobs (hash: reason, since, actor, probed, probe_error)."""
    return f"{PREFIX}pause:{peer}"


def pause_probe(peer: str) -> str:
    """Held (TTL) while a probe of a paused ``peer`` may not run again."""
    return f"{PREFIX}pause:{peer}:probe"


# --- Dramatiq's own layout (read, never written by us) --------------------------
#: Dramatiq's Redis namespace (``RedisBroker(namespace=...)``'s default).
DRAMATIQ_NAMESPACE: Final = "dramatiq"


#: One ga4_score run at a time scores the drop folder.
GA4_DROP_LOCK: Final = f"{PREFIX}ga4:lock:drop"


def dramatiq_queue(queue: str) -> str:
    """Dramatiq's list of ``queue``'s waiting message ids.

    Beside it: ``<list>.msgs`` (hash of stored messages), ``<list>.DQ.msgs``
    (delayed messages), ``<list>.XQ`` (dead letters, a sorted set).
    """
    return f"{DRAMATIQ_NAMESPACE}:{queue}"
