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
``atr:wake:<queue>``                   wake-ups for idle consumers        ``brokers.consumer``
``atr:consumers``                      broker id -> host, boot, pid       ``brokers.consumer``
``atr:quarantine`` (+ ``:records``,    moved-aside bodies, why, count     ``pipeline.quarantine``
``:bodies``, ``:total``)
``atr:index:sent:<ep>:<day>:<sha1>``   a URL's claim at an endpoint today ``pipeline.index.ledger``
``atr:index:sweep:since``              index_sweep's watermark (local)    ``actors.index``
``atr:index:google:quota:<pt day>``    Google publishes this Pacific day  ``pipeline.index.google``
``atr:ads:proposal:<post_id>``         the latest ad-mode proposal (JSON) ``pipeline.ads.store``
``atr:ads:proposals``                  post id -> time proposed (zset)    ``pipeline.ads.store``
``atr:ads:written:<post_id>``          the ad mode our last write left    ``pipeline.ads.store``
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
    "ADS_PROPOSALS",
    "CONSUMERS",
    "DRAMATIQ_HEARTBEATS",
    "DRAMATIQ_NAMESPACE",
    "GA4_DROP_LOCK",
    "HEARTBEAT_PREFIX",
    "INDEX_SWEEP_SINCE",
    "PREFIX",
    "QUARANTINE",
    "QUARANTINE_BODIES",
    "QUARANTINE_RECORDS",
    "QUARANTINE_TOTAL",
    "SCHEDULER_PATTERN",
    "SEO_PROPOSALS",
    "ads_proposal",
    "ads_written",
    "dramatiq_acks",
    "dramatiq_messages",
    "dramatiq_queue",
    "google_quota",
    "health_doclog",
    "health_over",
    "heartbeat",
    "heartbeat_pattern",
    "images_lock",
    "images_media",
    "index_sent",
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
    "wake",
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


# --- index submission -----------------------------------------------------------
#: index_sweep's watermark: the newest site-local ``modified`` it has seen.
INDEX_SWEEP_SINCE: Final = f"{PREFIX}index:sweep:since"


def index_sent(endpoint: str, day: str, url_digest: str) -> str:
    """The claim of one URL (its SHA-1) at ``endpoint`` on ``day`` (YYYY-MM-DD, ATR_TZ)."""
    return f"{PREFIX}index:sent:{endpoint}:{day}:{url_digest}"


def google_quota(pacific_day: str) -> str:
    """The Google Indexing API publish requests counted on one Pacific day."""
    return f"{PREFIX}index:google:quota:{pacific_day}"


# --- ads ------------------------------------------------------------------------
#: Sorted set: post id -> time its ad mode was proposed.
ADS_PROPOSALS: Final = f"{PREFIX}ads:proposals"


def ads_proposal(post_id: int) -> str:
    """The latest ad-mode proposal for a post (JSON)."""
    return f"{PREFIX}ads:proposal:{post_id}"


def ads_written(post_id: int) -> str:
    """The ad mode our last write left on a post."""
    return f"{PREFIX}ads:written:{post_id}"
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


#: Dramatiq's heartbeats: broker id -> epoch milliseconds of its last beat.
DRAMATIQ_HEARTBEATS: Final = f"{DRAMATIQ_NAMESPACE}:__heartbeats__"


def dramatiq_messages(queue: str) -> str:
    """Dramatiq's hash of ``queue``'s message bodies (waiting and unacknowledged)."""
    return f"{DRAMATIQ_NAMESPACE}:{queue}.msgs"


def dramatiq_acks(broker_id: str, queue: str) -> str:
    """Dramatiq's set of ids of ``queue`` fetched by process ``broker_id``, not yet acked."""
    return f"{DRAMATIQ_NAMESPACE}:__acks__.{broker_id}.{queue}"


# --- the consumer (brokers.consumer) and the moved-aside store -----------------
def wake(queue: str) -> str:
    """The wake-up list of ``queue``: idle consumers block on it; our enqueue pushes to it."""
    return f"{PREFIX}wake:{queue}"


#: Broker id -> JSON ``{"host", "boot", "pid", "group"}`` of each consuming process.
CONSUMERS: Final = f"{PREFIX}consumers"
#: Moved-aside messages: sorted set id -> epoch milliseconds when moved.
QUARANTINE: Final = f"{PREFIX}quarantine"
#: Moved-aside messages: hash id -> JSON record (queue, reason, when, who).
QUARANTINE_RECORDS: Final = f"{PREFIX}quarantine:records"
#: Moved-aside messages: hash id -> the raw body (bounded).
QUARANTINE_BODIES: Final = f"{PREFIX}quarantine:bodies"
#: Messages ever moved aside (never reset).
QUARANTINE_TOTAL: Final = f"{PREFIX}quarantine:total"
