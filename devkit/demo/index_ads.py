"""The demo's index and ads steps: IndexNow submissions and ad modes from GA4 tiers.

Before the groups boot, :func:`demo_index_ads_env` points the workers at a
local IndexNow fake (:class:`~devkit.fakes.indexnow_server.IndexNowFake`,
which knows the stand-in's key) and sets a low word floor for the short
sample posts. Then:

- :func:`demo_index` enqueues ``index_submit`` for the sample posts' links
  (as ``atr index submit`` does), waits for worker2's ``index.submitted``,
  and sends the same URLs again to show that a URL goes once a day;
- :func:`demo_ads_propose` writes a GA4 snapshot with chosen tiers (unless
  the doclog already holds one, which is then used) and runs ``monetize`` as a dry run;
  the demo prints ``atr ads policy`` and ``atr ads review``;
  :func:`demo_ads_apply` approves every proposal (as ``atr ads approve
  --all`` does) and returns the modes WordPress holds afterwards.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Final

import redis
from dramatiq.brokers.redis import RedisBroker

from brokers.producer import send
from devkit.fakes.indexnow_server import IndexNowFake
from devkit.snapshots import write_tier_snapshot
from devkit.wordpress.standin import WordPressStandIn
from pipeline.ads import AdStore, latest_tiers
from pipeline.doclog import EVENT_DEAD, EVENT_REJECTED, EVENT_SUCCEEDED, last_records
from pipeline.errors import AtrError
from pipeline.settings import Settings

__all__ = ["DEMO_INDEXNOW_KEY", "DemoStepError", "demo_ads_apply", "demo_ads_propose",
           "demo_index", "demo_index_ads_env"]

DEMO_INDEXNOW_KEY: Final = "a7c0ffee-demo-0000-1111-222233334444"
#: Tiers given to the sample posts, in order, so every policy row shows.
_TIERS: Final = ("promote", "keep", "refresh", "prune", "insufficient-data", "promote",
                 "keep", "prune")
_TIMEOUT_S: Final = 60.0


class DemoStepError(AtrError):
    """Raised when a demo index or ads message failed or did not finish in time."""


def demo_index_ads_env(env: Mapping[str, str], standin: WordPressStandIn,
                       indexnow: IndexNowFake) -> dict[str, str]:
    """``env`` with IndexNow pointed at the fake and the ad floor fit for the sample posts."""
    return {**env, "ATR_INDEXNOW_KEY": DEMO_INDEXNOW_KEY,
            "ATR_INDEXNOW_ENDPOINTS": indexnow.url, "ATR_INDEX_SITE": standin.site_url,
            # The sample posts are 19-36 words: a floor of 25 caps some promoted ones.
            "ATR_ADS_MIN_WORDS": "25", "ATR_ADS_MODE": "propose"}


def demo_index(broker: RedisBroker, settings: Settings, standin: WordPressStandIn,
               indexnow: IndexNowFake) -> list[str]:
    """Submit the sample posts' links twice; lines saying what the fake received."""
    links = [f"{standin.site_url}/{standin.post(i).slug}/" for i in standin.post_ids]
    first = send(broker, "index_submit", {"urls": links}).message_id
    _wait(settings.doclog_root, "index_submit", first, "index.submitted")
    again = send(broker, "index_submit", {"urls": links}).message_id
    _wait(settings.doclog_root, "index_submit", again, "index.skipped")
    accepted = indexnow.accepted_urls()
    return [f"{indexnow.url}/indexnow accepted {len(accepted)} URL(s) in "
            f"{len(indexnow.submissions)} request(s) (status "
            f"{', '.join(str(s.status) for s in indexnow.submissions)}); the first: "
            f"{accepted[0] if accepted else '-'}",
            f"the same URLs again: {len(links)} skipped, already submitted today"]


def demo_ads_propose(broker: RedisBroker, settings: Settings,
                     standin: WordPressStandIn) -> Path | None:
    """Write the demo's GA4 snapshot unless the doclog has one, and run a dry run.

    Returns the snapshot written (None: an existing one was used).
    """
    written = None
    if latest_tiers(settings.doclog_root) is None:
        today = dt.datetime.now(settings.zone).date()
        written = write_tier_snapshot(settings.doclog_root, today,
                                      dict(zip(standin.post_ids, _TIERS, strict=False)))
    proposing = send(broker, "monetize", {}).message_id
    _wait(settings.doclog_root, "monetize", proposing, EVENT_SUCCEEDED)
    return written


def demo_ads_apply(broker: RedisBroker, settings: Settings,
                   standin: WordPressStandIn) -> dict[int, str]:
    """Approve every stored proposal; post id -> the mode read back from WordPress."""
    client = redis.Redis.from_url(settings.redis_url)
    try:
        ids = [p.post_id for p in AdStore(client).proposals()]
    finally:
        client.close()
    if ids:
        applying = send(broker, "monetize", {"post_ids": ids, "apply": True}).message_id
        _wait(settings.doclog_root, "monetize", applying, EVENT_SUCCEEDED)
    return {i: str(standin.post(i).meta.get(settings.ads_meta_key, "-"))
            for i in standin.post_ids}


def _wait(root: Path, stream: str, message_id: str, event: str) -> None:
    """Poll ``stream`` until message ``message_id`` logged ``event``; DemoStepError if it failed."""
    deadline = time.monotonic() + _TIMEOUT_S
    while time.monotonic() < deadline:
        for record in last_records(root, [stream], 200):
            fields = record.fields or {}
            if fields.get("message_id") != message_id:
                continue
            if fields.get("event") == event:
                return
            if fields.get("event") in (EVENT_REJECTED, EVENT_DEAD):
                raise DemoStepError(f"{stream} failed: {fields.get('error')}")
        time.sleep(0.2)
    raise DemoStepError(f"{stream}: no {event} within {_TIMEOUT_S:.0f} s")
