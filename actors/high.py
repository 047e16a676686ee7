"""Actors of worker1's ``high`` queue: operator reruns and worker1's own upkeep."""

from __future__ import annotations

from actors.base import job
from actors.doclog import ROTATE_OPTIONS, rotate_here
from pipeline.names import QUEUE_HIGH

__all__ = ["doclog_rotate_worker1"]


@job(queue=QUEUE_HIGH, **ROTATE_OPTIONS)
def doclog_rotate_worker1(dry_run: bool = False) -> None:
    """Rotate the worker1 host's doclog (see :func:`actors.doclog.doclog_rotate`).

    Payload: ``{"dry_run": false}``. Enqueued daily by the scheduler.
    """
    rotate_here(dry_run)
