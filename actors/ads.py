"""Actor of the ``ads`` queue (worker2): each post's ad mode from its GA4 tier.

Payload (JSON-clean, see docs/messages.md)::

    monetize {"post_ids": null, "apply": null, "force": false}

``post_ids`` null covers every post of the newest GA4 snapshot; ``apply``
null follows ``ATR_ADS_MODE`` (``propose``, the default, only stores
proposals for ``atr ads review``; ``atr ads approve`` sends ``apply: true``
for the posts approved); ``force`` also replaces a mode a person set. The
scheduler enqueues ``{}`` (``ATR_SCHEDULE_MONETIZE``). With no GA4 snapshot,
or one older than ``ATR_ADS_SNAPSHOT_MAX_AGE_DAYS``, the job says so in the
doclog (``ads.no_snapshot``) and changes nothing.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from actors.base import job
from actors.shared import check_flag, check_post_id
from middleware.runtime import current
from pipeline import names
from pipeline.ads import AdPolicy, AdStore, latest_tiers
from pipeline.ads import monetize as run_monetize
from pipeline.errors import PayloadError
from pipeline.names import QUEUE_ADS
from pipeline.wordpress import Bridge, BridgeConfig

__all__ = ["monetize"]

logger = logging.getLogger(__name__)


@job(queue=QUEUE_ADS, name=names.ACTOR_MONETIZE, max_retries=5, time_limit=30 * 60_000)
def monetize(post_ids: list[int] | None = None, apply: bool | None = None,
             force: bool = False) -> None:
    """Propose (or apply) the ad mode of each post from the newest GA4 snapshot."""
    ids = _check_ids(post_ids)
    force = check_flag("force", force)
    settings = current().settings
    writing = settings.ads_mode == "apply" if apply is None else check_flag("apply", apply)
    tiers = latest_tiers(settings.doclog_root)
    today = dt.datetime.now(settings.zone).date()
    with Bridge(BridgeConfig.from_settings(settings)) as bridge:
        outcome = run_monetize(bridge, tiers, today, policy=AdPolicy.from_settings(settings),
                               store=AdStore(current().redis), meta_key=settings.ads_meta_key,
                               max_age_days=settings.ads_snapshot_max_age_days,
                               apply=writing, post_ids=ids, force=force)
    if outcome.stopped:
        logger.warning("monetize changed nothing: %s.", outcome.stopped)
        return
    logger.info("monetize (%s, snapshot %s): %d proposed, %d applied, %d kept for a person, "
                "%d already right, %d unchanged by policy, %d not in the snapshot.",
                "apply" if writing else "dry run", outcome.snapshot, len(outcome.proposed),
                len(outcome.applied), len(outcome.kept), outcome.right, outcome.unchanged,
                len(outcome.missing))


def _check_ids(post_ids: Any) -> list[int] | None:
    if post_ids is None:
        return None
    if not isinstance(post_ids, list):
        raise PayloadError(f"post_ids must be a list of post ids or null, got {post_ids!r}")
    return list(dict.fromkeys(check_post_id(p) for p in post_ids))
