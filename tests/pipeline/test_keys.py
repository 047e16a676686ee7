"""The keyspace: one prefix, no family's keys reachable from another's."""

from __future__ import annotations

import fnmatch
from datetime import UTC, datetime

from pipeline import keys
from pipeline.llm.config import PROVIDERS

_TICK = datetime(2026, 12, 6, 3, 0, tzinfo=UTC)

#: One sample key per family, with the pattern that finds the family's keys.
_FAMILIES = {
    "heartbeat": (keys.heartbeat("worker1", "host", 42), keys.heartbeat_pattern("worker1")),
    "scheduler": (keys.scheduler_heartbeat("host:42"), keys.SCHEDULER_PATTERN),
    "schedule": (keys.schedule_claim("ga4", _TICK), "atr:schedule:*"),
    "write_errors": (keys.write_errors("worker1"), "atr:doclog:write_errors:*"),
    "health_over": (keys.health_over("seo"), "atr:health:over:*"),
    "health_doclog": (keys.health_doclog("worker1"), "atr:health:doclog:*"),
    "ping": (keys.ping_reply("t1"), "atr:ping:*"),
    "llm_budget": (keys.llm_budget("openai", "gpt-4o-mini") + ":log",
                   keys.llm_budget("openai", "*") + ":*"),
    "llm_calls": (keys.llm_calls("seo:1"), "atr:llm:calls:*"),
    "llm_exhausted": (keys.llm_exhausted("openai"), "atr:llm:exhausted:*"),
    "images_lock": (keys.images_lock(7), "atr:fi_pipeline:lock:*"),
    "images_media": (keys.images_media("atr-thumb-7-ab"), "atr:fi_pipeline:media:*"),
    "seo_post_lock": (keys.seo_post_lock(7), "atr:seo:lock:post:*"),
    "seo_tag_lock": (keys.seo_tag_lock("서울"), "atr:seo:lock:tag:*"),
    "seo_proposal": (keys.seo_proposal(7), "atr:seo:proposal:*"),
    "seo_proposals": (keys.SEO_PROPOSALS, keys.SEO_PROPOSALS),
    "seo_written": (keys.seo_written(7), "atr:seo:written:*"),
    "wake": (keys.wake("seo"), "atr:wake:*"),
    "consumers": (keys.CONSUMERS, keys.CONSUMERS),
    "quarantine": (keys.QUARANTINE_RECORDS, "atr:quarantine*"),
    "ga4_drop_lock": (keys.GA4_DROP_LOCK, "atr:ga4:lock:*"),
    "pause": (keys.pause("wordpress"), keys.pause("wordpress")),
    "pause_probe": (keys.pause_probe("wordpress"), "atr:pause:*:probe"),
    "index_sent": (keys.index_sent("api.indexnow.org", "2026-12-06", "ab" * 20),
                   "atr:index:sent:*"),
    "index_sweep": (keys.INDEX_SWEEP_SINCE, keys.INDEX_SWEEP_SINCE),
    "google_quota": (keys.google_quota("2026-12-06"), "atr:index:google:quota:*"),
    "ads_proposal": (keys.ads_proposal(7), "atr:ads:proposal:*"),
    "ads_proposals": (keys.ADS_PROPOSALS, keys.ADS_PROPOSALS),
    "ads_written": (keys.ads_written(7), "atr:ads:written:*"),
}


def test_every_key_has_the_common_prefix() -> None:
    for name, (key, pattern) in _FAMILIES.items():
        assert key.startswith(keys.PREFIX), name
        assert pattern.startswith(keys.PREFIX), name
        assert fnmatch.fnmatchcase(key, pattern), name


def test_no_family_pattern_matches_another_familys_key() -> None:
    for name, (_, pattern) in _FAMILIES.items():
        for other, (key, _) in _FAMILIES.items():
            if other != name:
                assert not fnmatch.fnmatchcase(key, pattern), f"{name} pattern finds {other}"


def test_llm_budget_keys_cannot_be_mistaken_for_calls_or_quota() -> None:
    # ``atr:llm:<provider>:...`` shares its level with ``calls`` and ``exhausted``.
    assert not {"calls", "exhausted"} & set(PROVIDERS)


def test_dramatiq_keys_keep_dramatiqs_namespace() -> None:
    assert keys.dramatiq_queue("seo") == "dramatiq:seo"
    assert not keys.dramatiq_queue("seo").startswith(keys.PREFIX)


def test_every_public_key_function_is_covered() -> None:
    builders = {n for n in keys.__all__ if n.islower() and not n.startswith("dramatiq_")}
    covered = {"heartbeat", "heartbeat_pattern", "scheduler_heartbeat", "schedule_claim",
               "write_errors", "health_over", "health_doclog", "ping_reply", "llm_budget",
               "llm_calls", "llm_exhausted", "images_lock", "images_media", "seo_post_lock",
               "seo_tag_lock", "seo_proposal", "seo_written", "wake", "pause", "pause_probe",
               "index_sent", "google_quota", "ads_proposal", "ads_written"}
    assert builders == covered
