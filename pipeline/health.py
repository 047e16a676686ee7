"""Health rules: observations in, a report with OK/WARN/CRIT per check out.

This module is pure: no Redis, no Dramatiq, no clock.
:mod:`pipeline.health_probe` reads the :class:`Observations` (and, for
``atr health`` only, keeps the little state the rules need in Redis);
:func:`evaluate` applies the rules below; the worst check decides the overall
status and the Nagios-style exit code (0 OK, 1 WARN, 2 CRIT).

Every threshold is reached at ``>=`` ("messages waiting in one queue that
make it WARN"): with ``ATR_HEALTH_DEAD_WARN=1`` one dead letter is a WARN.
The same thresholds apply to every queue.

Per queue:

- **backlog** (``waiting``: messages in the queue's list, not yet fetched by a
  worker): WARN at ``ATR_HEALTH_BACKLOG_WARN``, CRIT at
  ``ATR_HEALTH_BACKLOG_CRIT``, but only once the queue has been at or over
  the WARN threshold for ``ATR_HEALTH_SUSTAIN_S`` (the runbook's "queue > N
  for 5 minutes"): a burst that workers drain quickly is not an alarm.
  ``over_since`` is when a check first saw the queue over (see
  :func:`next_over_since`); once the streak has lasted long enough, the
  current size decides WARN or CRIT.
- **latency** (``oldest_age_s``: how long the next message to be fetched has
  been waiting, counted from when it became due): WARN at
  ``ATR_HEALTH_LATENCY_WARN_S``, CRIT at ``ATR_HEALTH_LATENCY_CRIT_S``. No
  sustain: the age already is a duration. An old message at the head with
  idle workers is a stuck queue.
- **dead** (dead letters kept by the broker, 7 days): WARN at
  ``ATR_HEALTH_DEAD_WARN``, CRIT at ``ATR_HEALTH_DEAD_CRIT``.

``in_flight`` (fetched by a worker, not yet acknowledged: running or
prefetched) and ``delayed`` (retries waiting for their back-off, messages
sent with a delay) are reported, not judged.

Per group:

- **workers**: live worker processes (their heartbeat keys) against the
  processes the group table (with ``ATR_<GROUP>_PROCESSES``) expects: 0 is
  CRIT, fewer than expected is WARN, as many or more is OK.
- **doclog**: the group's lost-doclog-line counter grew within the last
  :data:`DOCLOG_ERROR_WINDOW_S` (one hour) is WARN. An hour rather than "since
  the previous check" so that the alarm does not depend on how often the
  check runs and stays up long enough to be seen. See
  :func:`next_doclog_snapshot` for how growth is detected.

Overall:

- **scheduler**: no live ``atr scheduler`` is WARN: periodic jobs will not run.
- **pause**: a set pause flag (:mod:`pipeline.pause`: WordPress refused our
  credentials, role or address) is CRIT: the jobs that use the peer wait,
  nothing is lost, but nothing gets done until the cause is fixed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import Any, Final

from pipeline.settings import Settings

__all__ = [
    "DOCLOG_ERROR_WINDOW_S",
    "Check",
    "DoclogSnapshot",
    "GroupObservation",
    "Observations",
    "QueueObservation",
    "Report",
    "Status",
    "Thresholds",
    "backlog_over",
    "evaluate",
    "next_doclog_snapshot",
    "next_over_since",
    "summarize",
]

#: Lost doclog lines are a WARN for this long after the counter last grew, in seconds.
DOCLOG_ERROR_WINDOW_S: Final = 3600


class Status(IntEnum):
    """A check's outcome; the value is the Nagios exit code."""

    OK = 0
    WARN = 1
    CRIT = 2


@dataclass(frozen=True)
class Thresholds:
    """The ``ATR_HEALTH_*`` settings (counts in messages, durations in seconds)."""

    backlog_warn: int
    backlog_crit: int
    latency_warn_s: int
    latency_crit_s: int
    dead_warn: int
    dead_crit: int
    sustain_s: int

    @classmethod
    def from_settings(cls, settings: Settings) -> Thresholds:
        """The thresholds in force."""
        return cls(settings.health_backlog_warn, settings.health_backlog_crit,
                   settings.health_latency_warn_s, settings.health_latency_crit_s,
                   settings.health_dead_warn, settings.health_dead_crit,
                   settings.health_sustain_s)


@dataclass(frozen=True)
class QueueObservation:
    """One queue as seen in Redis (counts in messages, ages in seconds)."""

    name: str
    group: str
    waiting: int
    #: Age of the next message to be fetched; None when the queue is empty.
    oldest_age_s: float | None
    in_flight: int
    delayed: int
    dead: int
    #: Epoch seconds when a check first saw the backlog over WARN; None when under.
    over_since: float | None = None


@dataclass(frozen=True)
class GroupObservation:
    """One worker group: live processes and its doclog error counter."""

    name: str
    live: int
    expected: int
    doclog_errors: int = 0
    #: Epoch seconds when the doclog error counter last grew; None if never seen growing.
    doclog_grew_at: float | None = None


@dataclass(frozen=True)
class Observations:
    """Everything one check saw, at ``now`` (epoch seconds)."""

    now: float
    queues: tuple[QueueObservation, ...]
    groups: tuple[GroupObservation, ...]
    schedulers: int
    #: Set pause flags: (peer, since, reason).
    pauses: tuple[tuple[str, str, str], ...] = ()


@dataclass(frozen=True)
class Check:
    """One rule applied to one subject: what was seen and, unless OK, what to do."""

    kind: str
    subject: str
    status: Status
    detail: str
    reason: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """The check as JSON-ready values."""
        return {"check": self.kind, "subject": self.subject, "status": self.status.name,
                "detail": self.detail, "reason": self.reason}


@dataclass(frozen=True)
class Report:
    """Every check; the worst decides :attr:`status` and :attr:`exit_code`."""

    checks: tuple[Check, ...]

    @property
    def status(self) -> Status:
        """The worst status of any check (OK when there is none)."""
        return max((c.status for c in self.checks), default=Status.OK)

    @property
    def exit_code(self) -> int:
        """Nagios-style: 0 OK, 1 WARN, 2 CRIT."""
        return int(self.status)

    @property
    def problems(self) -> tuple[Check, ...]:
        """The checks that are not OK, worst first."""
        return tuple(sorted((c for c in self.checks if c.status is not Status.OK),
                            key=lambda c: -c.status))


@dataclass(frozen=True)
class DoclogSnapshot:
    """The last doclog error count a check saw and when it last grew (epoch seconds)."""

    count: int
    grew_at: float | None


def backlog_over(waiting: int, thresholds: Thresholds) -> bool:
    """Whether a backlog of ``waiting`` messages starts (or continues) a streak."""
    return waiting >= thresholds.backlog_warn


def next_over_since(previous: float | None, waiting: int, thresholds: Thresholds,
                    now: float) -> float | None:
    """The streak's start after this check: kept while over, started now, or cleared."""
    if not backlog_over(waiting, thresholds):
        return None
    return previous if previous is not None and previous <= now else now


def next_doclog_snapshot(previous: DoclogSnapshot | None, count: int,
                         now: float) -> DoclogSnapshot:
    """The snapshot after this check saw ``count`` lost lines.

    Growth since the previous snapshot sets ``grew_at`` to now. Without a
    previous snapshot (first check ever, or its state was lost) a non-zero
    count is treated as new: nobody has been told about it yet. A counter
    that went down (reset by hand) is the new baseline, not growth.
    """
    if previous is None:
        return DoclogSnapshot(count, now if count > 0 else None)
    if count > previous.count:
        return DoclogSnapshot(count, now)
    return DoclogSnapshot(count, previous.grew_at)


def evaluate(observations: Observations, thresholds: Thresholds) -> Report:
    """Apply the rules of this module's docstring to every queue and group."""
    checks: list[Check] = []
    for queue in observations.queues:
        checks.append(_backlog(queue, thresholds, observations.now))
        checks.append(_latency(queue, thresholds))
        checks.append(_dead(queue, thresholds))
    for group in observations.groups:
        checks.append(_workers(group))
        checks.append(_doclog(group, observations.now))
    checks.append(_scheduler(observations.schedulers))
    checks.extend(_pause(*pause) for pause in observations.pauses)
    return Report(tuple(checks))


def _level(value: float, warn: float, crit: float) -> Status:
    if value >= crit:
        return Status.CRIT
    return Status.WARN if value >= warn else Status.OK


def _backlog(queue: QueueObservation, t: Thresholds, now: float) -> Check:
    level = _level(queue.waiting, t.backlog_warn, t.backlog_crit)
    detail = f"{queue.waiting} waiting"
    if level is Status.OK:
        return Check("backlog", queue.name, Status.OK, detail)
    lasted = max(0.0, now - queue.over_since) if queue.over_since is not None else 0.0
    detail += f", at or over {t.backlog_warn} for {_duration(lasted)}"
    if lasted < t.sustain_s:
        return Check("backlog", queue.name, Status.OK,
                     detail + f" (counts after {_duration(t.sustain_s)})")
    limit = t.backlog_crit if level is Status.CRIT else t.backlog_warn
    return Check("backlog", queue.name, level, detail, (
        f"queue {queue.name} has {queue.waiting} messages waiting (>= {limit}) for "
        f"{_duration(lasted)}: check that {queue.group} is running and not stuck "
        f"(atr health --group {queue.group}, its log), or add processes/hosts "
        f"(ATR_{queue.group.upper()}_PROCESSES)"))


def _latency(queue: QueueObservation, t: Thresholds) -> Check:
    if queue.oldest_age_s is None:
        return Check("latency", queue.name, Status.OK, "empty")
    age = queue.oldest_age_s
    level = _level(age, t.latency_warn_s, t.latency_crit_s)
    detail = f"oldest waiting {_duration(age)}"
    if level is Status.OK:
        return Check("latency", queue.name, Status.OK, detail)
    limit = t.latency_crit_s if level is Status.CRIT else t.latency_warn_s
    stuck = " and nothing is being processed" if queue.in_flight == 0 else ""
    return Check("latency", queue.name, level, detail, (
        f"the oldest message on {queue.name} has waited {_duration(age)} (>= "
        f"{_duration(limit)}){stuck}: check that {queue.group} consumes {queue.name} "
        f"(atr ping {queue.name}) and what its workers are busy with (its log, the dashboard)"))


def _dead(queue: QueueObservation, t: Thresholds) -> Check:
    level = _level(queue.dead, t.dead_warn, t.dead_crit)
    detail = f"{queue.dead} dead letter(s)"
    if level is Status.OK:
        return Check("dead", queue.name, Status.OK, detail)
    return Check("dead", queue.name, level, detail, (
        f"{queue.dead} message(s) on {queue.name} failed for good: read why in the doclog "
        f"(atr doclog tail, events dead/rejected), fix the cause, then requeue or delete "
        f"them in the dashboard (the broker drops them after 7 days)"))


def _workers(group: GroupObservation) -> Check:
    detail = f"{group.live} of {group.expected} process(es) alive"
    if group.live >= group.expected:
        return Check("workers", group.name, Status.OK, detail)
    if group.live == 0:
        return Check("workers", group.name, Status.CRIT, detail, (
            f"no live worker process of {group.name}: its queues are not consumed; start "
            f"it (atr worker {group.name}, or its systemd service) and read its log"))
    return Check("workers", group.name, Status.WARN, detail, (
        f"only {group.live} of {group.expected} {group.name} worker processes are alive: a "
        f"process died or a host is down; restart the group's service and read its log"))


def _doclog(group: GroupObservation, now: float) -> Check:
    detail = f"{group.doclog_errors} lost doclog line(s) in total"
    recent = group.doclog_grew_at is not None \
        and now - group.doclog_grew_at < DOCLOG_ERROR_WINDOW_S
    if not recent:
        return Check("doclog", group.name, Status.OK, detail)
    return Check("doclog", group.name, Status.WARN, detail + " (grew in the last hour)", (
        f"{group.name} is losing doclog lines (jobs still run): check free disk space and "
        f"that the worker's user can write ATR_DOCLOG_ROOT on its host; its log says why"))


def _scheduler(schedulers: int) -> Check:
    detail = f"{schedulers} scheduler(s) alive"
    if schedulers > 0:
        return Check("scheduler", "scheduler", Status.OK, detail)
    return Check("scheduler", "scheduler", Status.WARN, detail, (
        "no atr scheduler is running: periodic jobs (doclog_rotate) will not be enqueued; "
        "start it (atr scheduler, or its systemd service) on one or both hosts"))


def _pause(peer: str, since: str, reason: str) -> Check:
    return Check("pause", peer, Status.CRIT, f"{peer} jobs paused since {since}", (
        f"the jobs that use {peer} are paused (their messages wait, none is dead-lettered): "
        f"{reason}; fix it, then `atr pause clear {peer}` (a probe once a minute also "
        "clears it when it succeeds)"))


def _duration(seconds: float) -> str:
    """A short human duration: 45 s, 12 min, 3.5 h."""
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def summarize(checks: Sequence[Check]) -> str:
    """``2 CRIT, 1 WARN`` for the checks that are not OK, or ``all OK``."""
    counts = {s: sum(1 for c in checks if c.status is s) for s in (Status.CRIT, Status.WARN)}
    parts = [f"{n} {s.name}" for s, n in counts.items() if n]
    return ", ".join(parts) or "all OK"
