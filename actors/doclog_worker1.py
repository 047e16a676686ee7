"""Worker1's doclog rotation, on its ``high`` queue (worker1 consumes no ``doclog`` queue).

The doclog is written on each group's host, so worker1 rotates its own; the
``high`` queue is also where operators send reruns.
"""

from __future__ import annotations

from actors.base import job
from actors.doclog import ROTATE_OPTIONS, rotate_here
from pipeline import names
from pipeline.names import QUEUE_HIGH

__all__ = ["doclog_rotate_worker1"]


@job(queue=QUEUE_HIGH, name=names.ACTOR_DOCLOG_ROTATE_WORKER1, **ROTATE_OPTIONS)
def doclog_rotate_worker1(dry_run: bool = False) -> None:
    """Rotate the worker1 host's doclog (see :func:`actors.doclog.doclog_rotate`).

    Payload: ``{"dry_run": false}``. Enqueued daily by the scheduler.
    """
    rotate_here(dry_run)
