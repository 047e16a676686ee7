"""Actors of the ``doclog`` queue (worker2): evidence upkeep."""

from __future__ import annotations

import logging
from dataclasses import asdict
from datetime import datetime

from actors.base import job
from brokers.boot import current_settings
from pipeline import doclog
from pipeline.errors import PayloadError
from pipeline.names import QUEUE_DOCLOG
from pipeline.rotate import rotate

__all__ = ["doclog_rotate"]

logger = logging.getLogger(__name__)


@job(queue=QUEUE_DOCLOG, max_retries=3, time_limit=30 * 60_000)
def doclog_rotate(dry_run: bool = False) -> None:
    """Compress finished doclog days and delete those past ``ATR_DOCLOG_ROTATE_DAYS``.

    Payload: ``{"dry_run": false}``. Idempotent; enqueued daily by the scheduler.
    """
    if not isinstance(dry_run, bool):
        raise PayloadError(f"dry_run must be true or false, got {dry_run!r}")
    settings = current_settings()
    today = datetime.now(settings.zone).date()
    report = rotate(settings.doclog_root, today, settings.doclog_rotate_days, dry_run=dry_run)
    doclog.emit(doclog.EVENT_DOCLOG_ROTATED, dry_run=dry_run,
                keep_days=settings.doclog_rotate_days, **asdict(report))
    if report.errors:
        # Retrying does not fix a permission problem: report it and go on.
        logger.warning("doclog_rotate could not rotate %d file(s) under %s: %s",
                       len(report.errors), settings.doclog_root, "; ".join(report.errors[:5]))
    logger.info("doclog_rotate: %d day(s) compressed, %d file(s) deleted%s.",
                len(report.compressed), len(report.deleted), " (dry run)" if dry_run else "")
