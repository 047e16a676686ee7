"""The monetize job as one call: GA4 tier -> ad mode per post, proposed or written.

:func:`monetize` takes the WordPress bridge, the newest GA4 tiers
(:func:`pipeline.ads.tiers.latest_tiers`), the policy and a store of
proposals and our last writes (:class:`pipeline.ads.store.AdStore` in Redis).

- No snapshot, or one older than ``max_age_days``: nothing is read or
  changed, and the doclog says why (``ads.no_snapshot``).
- For each post of the snapshot (or of ``post_ids``) the policy decides a
  mode; ``unchanged`` tiers, and posts that already have their mode, are left
  alone (a stale proposal of theirs is dropped).
- Dry run (``apply`` false, the default): the proposal is stored for ``atr
  ads review`` (``ads.proposed``); nothing is written.
- Apply: the mode is written as post meta and read back (``ads.applied``). A
  mode a person set (not empty, not our last write, not the proposal) is kept
  unless ``force`` (``ads.kept``) — the rule of the SEO meta.

Idempotent: a rerun or a redelivery finds the posts already right and
writes nothing.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field
from typing import Protocol

from pipeline import doclog
from pipeline.ads.meta import read_ad_mode, write_ad_mode
from pipeline.ads.policy import AdPolicy
from pipeline.ads.store import AdProposal
from pipeline.ads.tiers import Tiers
from pipeline.wordpress import Bridge, BridgeNotFoundError, get_post

__all__ = ["AdsOutcome", "AdsStore", "monetize"]


class AdsStore(Protocol):
    """Proposals and our last writes per post (Redis: :class:`pipeline.ads.store.AdStore`)."""

    def get_proposal(self, post_id: int) -> AdProposal | None:
        """The stored proposal of ``post_id``, or None."""
        ...

    def put_proposal(self, proposal: AdProposal, score: float) -> None:
        """Store (or replace) the proposal of its post."""
        ...

    def delete_proposal(self, post_id: int) -> None:
        """Forget the proposal of ``post_id``."""
        ...

    def get_written(self, post_id: int) -> str | None:
        """The mode our last write left, or None."""
        ...

    def put_written(self, post_id: int, mode: str) -> None:
        """Record the mode our write left."""
        ...


@dataclass
class AdsOutcome:
    """What one run did; ``stopped`` says why it changed nothing (no or stale snapshot)."""

    snapshot: str = ""
    stopped: str = ""
    proposed: list[int] = field(default_factory=list)
    applied: list[int] = field(default_factory=list)
    kept: list[int] = field(default_factory=list)
    right: int = 0
    unchanged: int = 0
    missing: list[int] = field(default_factory=list)


def monetize(bridge: Bridge, tiers: Tiers | None, today: dt.date, *, policy: AdPolicy,
             store: AdsStore, meta_key: str, max_age_days: int, apply: bool,
             post_ids: list[int] | None = None, force: bool = False) -> AdsOutcome:
    """Propose (or, when ``apply``, write) each post's ad mode from ``tiers``."""
    if tiers is None:
        return _stop(AdsOutcome(), "no GA4 snapshot yet: run ga4_score first (its CSV goes "
                     "to ATR_DOCLOG_ROOT/ga4_scores/)", "", max_age_days)
    outcome = AdsOutcome(snapshot=tiers.day.isoformat())
    age = tiers.age_days(today)
    if age > max_age_days:
        return _stop(outcome, f"the newest GA4 snapshot ({tiers.path.name}) is {age} days "
                     f"old, more than ATR_ADS_SNAPSHOT_MAX_AGE_DAYS={max_age_days}: score "
                     "a fresh GA4 export first", outcome.snapshot, max_age_days)
    for post_id in post_ids if post_ids is not None else sorted(tiers.posts):
        row = tiers.posts.get(post_id)
        if row is None:
            outcome.missing.append(post_id)
            continue
        try:
            post = get_post(bridge, post_id)
        except BridgeNotFoundError:
            outcome.missing.append(post_id)
            continue
        decision = policy.decide(row.tier, post.title, post.content)
        current = read_ad_mode(post, meta_key)
        if decision.mode is None:
            outcome.unchanged += 1
            store.delete_proposal(post_id)
            continue
        written = store.get_written(post_id)
        if current == decision.mode:
            outcome.right += 1
            store.delete_proposal(post_id)
            if written != current and written is not None:
                store.put_written(post_id, current)
            continue
        person_set = bool(current) and current != written
        if not apply:
            store.put_proposal(AdProposal(post_id, post.title, row.tier, current,
                                          decision.mode, decision.reason, outcome.snapshot,
                                          _now(), person_set), time.time())
            doclog.emit(doclog.EVENT_ADS_PROPOSED, post_id=post_id, tier=row.tier,
                        current=current, proposed=decision.mode, reason=decision.reason,
                        snapshot=outcome.snapshot, person_set=person_set)
            outcome.proposed.append(post_id)
            continue
        if person_set and not force:
            doclog.emit(doclog.EVENT_ADS_KEPT, post_id=post_id, current=current,
                        proposed=decision.mode, reason="set by a person; --force replaces it")
            outcome.kept.append(post_id)
            continue
        write_ad_mode(bridge, post_id, meta_key, decision.mode)
        store.put_written(post_id, decision.mode)
        store.delete_proposal(post_id)
        doclog.emit(doclog.EVENT_ADS_APPLIED, post_id=post_id, previous=current,
                    mode=decision.mode, tier=row.tier, reason=decision.reason,
                    snapshot=outcome.snapshot, force=force, key=meta_key)
        outcome.applied.append(post_id)
    return outcome


def _stop(outcome: AdsOutcome, reason: str, snapshot: str, max_age_days: int) -> AdsOutcome:
    outcome.stopped = reason
    doclog.emit(doclog.EVENT_ADS_NO_SNAPSHOT, reason=reason, snapshot=snapshot,
                max_age_days=max_age_days)
    return outcome


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
