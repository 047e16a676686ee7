"""Actors of the ``doclog`` queue (worker2): rotation of this host's doclog.

The doclog is written on the host of each group, so each group rotates its
own: ``doclog_rotate`` here, ``doclog_rotate_worker1`` in :mod:`actors.doclog_worker1`.
The scheduler enqueues both daily; both run :func:`rotate_here`.
"""

from __future__ import annotations

import logging
from dataclasses import asdict
from datetime import datetime
from typing import Any, Final

from actors.base import job
from middleware.runtime import current
from pipeline import doclog, names
from pipeline.errors import PayloadError
from pipeline.names import QUEUE_DOCLOG
from pipeline.rotate import rotate
from pipeline.text import quote_value

__all__ = ["ROTATE_OPTIONS", "doclog_rotate", "rotate_here"]

logger = logging.getLogger(__name__)


#: Options of every rotation actor.
ROTATE_OPTIONS: Final[dict[str, Any]] = {"max_retries": 3, "time_limit": 30 * 60_000}


@job(queue=QUEUE_DOCLOG, name=names.ACTOR_DOCLOG_ROTATE, **ROTATE_OPTIONS)
def doclog_rotate(dry_run: bool = False) -> None:
    """Compress finished doclog days and delete those past ``ATR_DOCLOG_ROTATE_DAYS``.

    Payload: ``{"dry_run": false}``. Idempotent; enqueued daily by the scheduler.
    """
    rotate_here(dry_run)


def rotate_here(dry_run: bool) -> None:
    """Rotate the doclog under this process's ATR_DOCLOG_ROOT and report it."""
    if not isinstance(dry_run, bool):
        raise PayloadError(f"dry_run must be true or false, got {quote_value(dry_run, 80)}")
    settings = current().settings
    today = datetime.now(settings.zone).date()
    report = rotate(settings.doclog_root, today, settings.doclog_rotate_days, dry_run=dry_run,
                    ga4_keep_days=settings.ga4_keep_days)
    doclog.emit(doclog.EVENT_DOCLOG_ROTATED, dry_run=dry_run,
                keep_days=settings.doclog_rotate_days, ga4_keep_days=settings.ga4_keep_days,
                **asdict(report))
    if report.errors:
        # Retrying does not fix a permission problem: report it and go on.
        logger.warning("doclog_rotate could not rotate %d file(s) under %s: %s",
                       len(report.errors), settings.doclog_root, "; ".join(report.errors[:5]))
    logger.info("doclog_rotate: %d day(s) compressed, %d file(s) deleted%s.",
                len(report.compressed), len(report.deleted), " (dry run)" if dry_run else "")
