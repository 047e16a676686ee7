"""monetize against the WordPress stand-in and a real Redis: what WordPress ends up holding.

Each test writes a GA4 snapshot with chosen tiers (the snapshot's own CSV
format), runs the domain call, and reads the posts' ``atr_ad_mode`` meta
back from the stand-in and the requests it received.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from devkit.snapshots import write_tier_snapshot
from devkit.wordpress import WordPressStandIn
from pipeline.ads import AdPolicy, AdStore, latest_tiers, monetize
from pipeline.ads.monetize import AdsOutcome
from pipeline.errors import ConfigError
from pipeline.settings import Settings
from pipeline.wordpress import Bridge, BridgeConfig, MetaNotRegisteredError

KEY = "atr_ad_mode"
TODAY = dt.date(2026, 12, 6)
TIERS = ("promote", "keep", "refresh", "prune", "insufficient-data")


@pytest.fixture
def store(redis_url: str) -> Iterator[AdStore]:
    client = redis.Redis.from_url(redis_url)
    yield AdStore(client)
    client.close()


def policy(**env: str) -> AdPolicy:
    return AdPolicy.from_settings(Settings.from_env({
        "REDIS_URL": "redis://h:1/0", "ATR_ADS_MIN_WORDS": "10", **env}))


def tiered(wordpress: WordPressStandIn, root: Path, day: dt.date = TODAY) -> dict[int, str]:
    tiers = dict(zip(wordpress.post_ids, TIERS, strict=False))
    write_tier_snapshot(root, day, tiers)
    return tiers


def run(wordpress: WordPressStandIn, root: Path, store: AdStore, *, apply: bool,
        pol: AdPolicy | None = None, force: bool = False,
        post_ids: list[int] | None = None) -> AdsOutcome:
    with Bridge(BridgeConfig.from_values(wordpress.base_url, wordpress.token)) as bridge:
        return monetize(bridge, latest_tiers(root), TODAY, policy=pol or policy(),
                        store=store, meta_key=KEY, max_age_days=8, apply=apply,
                        post_ids=post_ids, force=force)


def modes(wordpress: WordPressStandIn, tiers: dict[int, str]) -> dict[str, str | None]:
    return {tier: wordpress.post(pid).meta.get(KEY) for pid, tier in tiers.items()}


def writes(wordpress: WordPressStandIn) -> int:
    return len(wordpress.requests_to("POST", "posts.item"))


def test_each_tier_gets_the_policys_mode(wordpress: WordPressStandIn, tmp_path: Path,
                                         store: AdStore) -> None:
    tiers = tiered(wordpress, tmp_path)
    outcome = run(wordpress, tmp_path, store, apply=True)
    assert modes(wordpress, tiers) == {"promote": "on", "keep": "on", "refresh": "reduced",
                                       "prune": "off", "insufficient-data": None}
    assert len(outcome.applied) == 4 and outcome.unchanged == 1


def test_a_policy_from_the_settings_is_followed(wordpress: WordPressStandIn, tmp_path: Path,
                                                store: AdStore) -> None:
    tiers = tiered(wordpress, tmp_path)
    pol = policy(ATR_ADS_POLICY="promote=on,keep=reduced,refresh=off,prune=unchanged,"
                                "insufficient-data=off")
    run(wordpress, tmp_path, store, apply=True, pol=pol)
    assert modes(wordpress, tiers) == {"promote": "on", "keep": "reduced", "refresh": "off",
                                       "prune": None, "insufficient-data": "off"}


def test_the_quality_floor_never_gives_ads_on(wordpress: WordPressStandIn, tmp_path: Path,
                                              store: AdStore) -> None:
    tiers = tiered(wordpress, tmp_path)
    promote, keep = list(tiers)[:2]
    wordpress.edit_post(keep, title="대박! 이 설정 하나로 배터리가 두 배")
    run(wordpress, tmp_path, store, apply=False)
    proposals = {p.post_id: p for p in store.proposals()}
    assert proposals[promote].proposed == "on"
    assert proposals[keep].proposed == "reduced"
    assert "banned word '대박' in the title" in proposals[keep].reason
    thin = policy(ATR_ADS_MIN_WORDS="1000")
    run(wordpress, tmp_path, store, apply=False, pol=thin)
    reasons = {p.post_id: p.reason for p in store.proposals()}
    assert "words < ATR_ADS_MIN_WORDS=1000" in reasons[promote]
    run(wordpress, tmp_path, store, apply=True, pol=thin)
    assert modes(wordpress, tiers)["promote"] == "reduced"
    assert modes(wordpress, tiers)["keep"] == "reduced"


def test_dry_run_writes_nothing_and_stores_proposals(wordpress: WordPressStandIn,
                                                     tmp_path: Path, store: AdStore) -> None:
    tiers = tiered(wordpress, tmp_path)
    outcome = run(wordpress, tmp_path, store, apply=False)
    assert writes(wordpress) == 0
    assert modes(wordpress, tiers) == dict.fromkeys(TIERS)
    assert [(p.tier, p.current, p.proposed) for p in store.proposals()] == [
        ("promote", "", "on"), ("keep", "", "on"), ("refresh", "", "reduced"),
        ("prune", "", "off")]
    assert len(outcome.proposed) == 4


def test_a_person_s_mode_is_kept_unless_forced(wordpress: WordPressStandIn, tmp_path: Path,
                                               store: AdStore) -> None:
    tiers = tiered(wordpress, tmp_path)
    promote, keep = list(tiers)[:2]
    run(wordpress, tmp_path, store, apply=True)
    # An editor turns ads off on a post we set, and sets one we never wrote... by hand.
    wordpress.edit_post(promote, meta={KEY: "off"})
    run(wordpress, tmp_path, store, apply=False)
    (proposal,) = [p for p in store.proposals() if p.post_id == promote]
    assert proposal.person_set and (proposal.current, proposal.proposed) == ("off", "on")
    outcome = run(wordpress, tmp_path, store, apply=True)
    assert outcome.kept == [promote]
    assert wordpress.post(promote).meta[KEY] == "off"
    assert wordpress.post(keep).meta[KEY] == "on"
    forced = run(wordpress, tmp_path, store, apply=True, force=True, post_ids=[promote])
    assert forced.applied == [promote]
    assert wordpress.post(promote).meta[KEY] == "on"


def test_a_rerun_changes_nothing_that_is_right(wordpress: WordPressStandIn, tmp_path: Path,
                                               store: AdStore) -> None:
    tiered(wordpress, tmp_path)
    run(wordpress, tmp_path, store, apply=True)
    before = writes(wordpress)
    again = run(wordpress, tmp_path, store, apply=True)
    assert writes(wordpress) == before
    assert (again.applied, again.right) == ([], 4)
    assert store.proposals() == []


def test_the_write_is_verified_by_reading_it_back(tmp_path: Path, store: AdStore) -> None:
    with WordPressStandIn(registered_meta=frozenset()) as bare:
        tiered(bare, tmp_path)
        with pytest.raises(MetaNotRegisteredError, match=r"atr-seo-meta\.php"):
            run(bare, tmp_path, store, apply=True)
        assert bare.post(bare.post_ids[0]).meta.get(KEY) is None


@pytest.mark.parametrize("age", [9, 30])
def test_a_stale_snapshot_changes_nothing(age: int, wordpress: WordPressStandIn,
                                          tmp_path: Path, store: AdStore) -> None:
    tiered(wordpress, tmp_path, TODAY - dt.timedelta(days=age))
    outcome = run(wordpress, tmp_path, store, apply=True)
    assert f"is {age} days old, more than ATR_ADS_SNAPSHOT_MAX_AGE_DAYS=8" in outcome.stopped
    assert wordpress.requests == []
    assert store.proposals() == []


def test_no_snapshot_changes_nothing(wordpress: WordPressStandIn, tmp_path: Path,
                                     store: AdStore) -> None:
    outcome = run(wordpress, tmp_path, store, apply=True)
    assert outcome.stopped.startswith("no GA4 snapshot yet")
    assert wordpress.requests == []


def test_the_newest_snapshot_is_the_one_read(wordpress: WordPressStandIn, tmp_path: Path,
                                             store: AdStore) -> None:
    first = wordpress.post_ids[0]
    write_tier_snapshot(tmp_path, TODAY - dt.timedelta(days=3), {first: "prune"})
    write_tier_snapshot(tmp_path, TODAY - dt.timedelta(days=1), {first: "promote"})
    run(wordpress, tmp_path, store, apply=True)
    assert wordpress.post(first).meta[KEY] == "on"


@pytest.mark.parametrize("raw", ["promote=on", "promote=on,keep=on,refresh=reduced,prune=off,"
                                 "insufficient-data=maybe", "gold=on"])
def test_a_bad_policy_is_refused_at_load(raw: str) -> None:
    with pytest.raises(ConfigError, match="ATR_ADS_POLICY"):
        Settings.from_env({"REDIS_URL": "redis://h:1/0", "ATR_ADS_POLICY": raw})


def test_the_policy_parser_knows_the_ga4_tiers() -> None:
    from pipeline import settings_parsers
    from pipeline.ga4 import TIERS as GA4_TIERS

    assert settings_parsers._TIERS == GA4_TIERS
