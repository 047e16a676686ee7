"""Periodic jobs: which actor runs when, and the calendar arithmetic (croniter).

The scheduler process (``ops.scheduler``) enqueues; this module only knows the
jobs and their next tick. Each job has its own ``ATR_SCHEDULE_*`` setting
(index submission will register here the same way).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from croniter import croniter

from pipeline import names
from pipeline.settings import Settings

__all__ = ["ScheduledJob", "next_tick", "scheduled_jobs"]


@dataclass(frozen=True)
class ScheduledJob:
    """One periodic job: its name, the actor it enqueues, when, with which payload."""

    name: str
    actor: str
    cron: str
    setting: str
    kwargs: Mapping[str, Any] = field(default_factory=dict)


def scheduled_jobs(settings: Settings) -> tuple[ScheduledJob, ...]:
    """The jobs enabled by the settings (a schedule set to ``off`` is left out)."""
    jobs = []
    if settings.schedule_doclog_rotate:
        # Each group's host keeps its own doclog, so each rotates its own.
        for actor in (names.ACTOR_DOCLOG_ROTATE, names.ACTOR_DOCLOG_ROTATE_WORKER1):
            jobs.append(ScheduledJob(actor, actor, settings.schedule_doclog_rotate,
                                     "ATR_SCHEDULE_DOCLOG_ROTATE"))
    if settings.schedule_index_sweep:
        jobs.append(ScheduledJob("index_sweep", "index_sweep", settings.schedule_index_sweep,
                                 "ATR_SCHEDULE_INDEX_SWEEP"))
    if settings.schedule_monetize:
        jobs.append(ScheduledJob("monetize", "monetize", settings.schedule_monetize,
                                 "ATR_SCHEDULE_MONETIZE"))
    if settings.schedule_ga4_score:
        # No payload: the job scores whatever analysts dropped into ATR_GA4_DROP_DIR.
        jobs.append(ScheduledJob(names.ACTOR_GA4_SCORE, names.ACTOR_GA4_SCORE,
                                 settings.schedule_ga4_score,
                                 "ATR_SCHEDULE_GA4_SCORE"))
    return tuple(jobs)


def next_tick(cron: str, after: datetime) -> datetime:
    """The first tick of ``cron`` strictly after ``after`` (aware), in after's zone."""
    tick: datetime = croniter(cron, after).get_next(datetime)
    return tick
