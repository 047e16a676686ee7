"""Actor of the ``ga4`` queue (worker2): score the GA4 exports analysts dropped.

Payload (JSON-clean, see docs/messages.md)::

    ga4_score {}                                          -> every file in ATR_GA4_DROP_DIR
    ga4_score {"files": ["pages_2025-01.csv"], "dry_run": false}

The job lists the site's posts through the bridge (once per run), scores the
files together (:func:`pipeline.ga4.drop.score_drop`), writes
``<ATR_DOCLOG_ROOT>/ga4_scores/<today>.csv`` and moves the files to
``done/``. A file that cannot be scored is moved to ``refused/`` with its
reason, nothing is imported, and the message is rejected (a
:class:`~pipeline.errors.PermanentError`: the same file fails the same way
again). With ``ATR_GA4_REFRESH_SEO=propose`` each post entering the refresh
tier gets a ``seo_automation`` message (worker1), i.e. a proposal for the SEO
team. With ``ATR_GA4_PROPERTY_ID`` set, a run that finds the drop folder
empty first pulls the last ``ATR_GA4_PULL_DAYS`` days from the Data API
into it (:mod:`pipeline.ga4.pull`). One run at a time (a Redis lock): a
second message waits (deferred). Rerunning a day replaces its snapshot, so a
redelivery changes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import dramatiq

from actors.base import job
from actors.shared import check_flag, redis_lock
from middleware.runtime import current
from pipeline import doclog, keys, names
from pipeline.errors import PayloadError
from pipeline.names import QUEUE_GA4, QUEUE_SEO
from pipeline.settings import Settings

if TYPE_CHECKING:  # pandas loads when the job runs, not when a producer declares it
    from pipeline.ga4.drop import DropFolder
    from pipeline.ga4.score import ScoredPost

__all__ = ["GA4_OPTIONS", "ga4_score"]

logger = logging.getLogger(__name__)

#: Scoring a big export with pandas takes a while; a bridge outage is worth a few retries.
GA4_OPTIONS: Final[dict[str, Any]] = {"max_retries": 3, "time_limit": 30 * 60_000}
_LOCK_TTL_MS: Final = 30 * 60_000
_BUSY_WAIT_MS: Final = 30_000


@job(queue=QUEUE_GA4, name=names.ACTOR_GA4_SCORE, uses=("wordpress",), **GA4_OPTIONS)
def ga4_score(files: list[str] | None = None, dry_run: bool = False) -> None:
    """Score the drop folder's GA4 exports (or the named ones) and write today's snapshot.

    Payload: ``{"files": ["pages_2025-01.csv"], "dry_run": false}``, both
    optional; ``files`` are names of files in ``ATR_GA4_DROP_DIR``.
    """
    from pipeline.ga4.drop import DropFolder, RefusedFilesError, score_drop
    from pipeline.wordpress import Bridge, BridgeConfig
    from pipeline.wordpress.posts import list_posts

    dry_run = check_flag("dry_run", dry_run)
    runtime = current()
    settings = runtime.settings
    folder = DropFolder(settings.ga4_drop_dir)
    with redis_lock(runtime.redis, keys.GA4_DROP_LOCK, _LOCK_TTL_MS,
                    busy="another ga4_score run is scoring the drop folder",
                    busy_wait_ms=_BUSY_WAIT_MS):
        paths = _files(folder, files)
        # A dry run writes nothing, so it does not pull into the drop folder either.
        if not paths and files is None and settings.ga4_property_id and not dry_run:
            paths = [_pull(settings)]
        if not paths:
            doclog.emit(doclog.EVENT_GA4_NO_INPUT, drop_dir=str(folder.path))
            logger.info("ga4_score: nothing to score in %s.", folder.path)
            return
        day = datetime.now(settings.zone).date()
        with Bridge(BridgeConfig.from_settings(settings)) as bridge:
            try:
                outcome = score_drop(paths, lambda: list_posts(bridge), settings.doclog_root,
                                     day, settings.ga4_config, folder=folder, dry_run=dry_run)
            except RefusedFilesError as exc:
                doclog.emit(doclog.EVENT_GA4_REFUSED, files=[p.name for p in exc.refused],
                            refused_dir=str(folder.path / "refused"), reason=str(exc),
                            dry_run=dry_run)
                raise
    run = outcome.run
    proposals = [] if dry_run else _propose_refreshes(settings, run.entering("refresh"))
    doclog.emit(doclog.EVENT_GA4_SCORED, **run.summary(), dry_run=dry_run,
                snapshot=str(outcome.snapshot) if outcome.snapshot else None,
                moved=[str(p) for p in outcome.moved], duration_ms=outcome.duration_ms,
                refresh_proposals=proposals)
    logger.info("ga4_score: %d post(s) scored from %d file(s) (%s)%s.", len(run.posts),
                len(paths), ", ".join(f"{t} {n}" for t, n in run.tier_counts.items()),
                " (dry run)" if dry_run else f"; snapshot {outcome.snapshot}")


def _pull(settings: Settings) -> Path:
    """Pull the last ATR_GA4_PULL_DAYS whole days from the Data API into the drop folder."""
    from pipeline.ga4.pull import PullConfig, pull_report

    assert settings.ga4_property_id and settings.ga4_credentials  # checked at load
    end = datetime.now(settings.zone).date() - timedelta(days=1)
    start = end - timedelta(days=settings.ga4_pull_days - 1)
    path = pull_report(PullConfig(settings.ga4_property_id, settings.ga4_credentials,
                                  settings.ga4_api_base), start, end, settings.ga4_drop_dir)
    doclog.emit(doclog.EVENT_GA4_PULLED, file=str(path), property=settings.ga4_property_id,
                period={"start": start.isoformat(), "end": end.isoformat()})
    return path


def _files(folder: DropFolder, files: Any) -> list[Path]:
    if files is None:
        return folder.pending()
    if not isinstance(files, list) or not all(isinstance(f, str) for f in files):
        raise PayloadError(f"files must be a list of file names, got {files!r}")
    if not files:
        raise PayloadError("files is empty: leave it out to score the whole drop folder")
    try:
        return folder.resolve(files)
    except ValueError as exc:
        raise PayloadError(str(exc)) from None


def _propose_refreshes(settings: Settings, posts: Sequence[ScoredPost]) -> list[int]:
    """Enqueue seo_automation for posts entering refresh (ATR_GA4_REFRESH_SEO=propose)."""
    if settings.ga4_refresh_seo != "propose" or not posts:
        return []
    broker = dramatiq.get_broker()
    sent = []
    for post in posts:
        # worker1's actor, enqueued by name: worker2 does not declare it.
        broker.enqueue(dramatiq.Message(queue_name=QUEUE_SEO,
                                        actor_name=names.ACTOR_SEO_AUTOMATION, args=(),
                                        kwargs={"post_id": post.post_id}, options={}))
        sent.append(post.post_id)
    logger.info("ga4_score: seo_automation enqueued for %d post(s) entering refresh: %s.",
                len(sent), sent)
    return sent
