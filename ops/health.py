"""``atr health [--json] [--group G]``: is every queue moving and every group alive?

Reads Redis only (no worker is contacted), applies the rules of
:mod:`pipeline.health` and exits Nagios-style: 0 OK, 1 WARN, 2 CRIT, 3 Redis
unreachable (UNKNOWN). A readable table by default; ``--json`` prints one
object for a cron or CloudWatch alarm::

    {"status": "WARN", "exit_code": 1, "checked_at": "2026-11-27T00:06:35+00:00",
     "checks": [{"check": "backlog", "subject": "seo", "status": "WARN",
                 "detail": "...", "reason": "..."}, ...],
     "queues": {"seo": {"group": "worker1", "waiting": 0, ...}, ...},
     "groups": {"worker1": {"live": 2, "expected": 2, ...}, ...},
     "scheduler": {"alive": 1}}

What is read and the state kept between checks: :mod:`pipeline.health_probe`.
Only this command writes that state (:func:`pipeline.health_probe.record`).
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Final

from ops.common import RedisUnreachable
from ops.console import render_table
from pipeline.groups import GROUPS, WorkerGroup
from pipeline.health import (
    Observations,
    Report,
    Thresholds,
    evaluate,
    summarize,
)
from pipeline.settings import Settings, load_settings

__all__ = ["add_parsers", "report_dict", "run"]

_DESCRIPTION: Final = ("Check every queue (backlog, latency, dead letters), the live worker "
                        "processes of each group, lost doclog lines and the scheduler.")
_EPILOG: Final = ("Exit codes (Nagios): 0 OK, 1 WARN, 2 CRIT, 3 Redis unreachable. Thresholds: "
                  "ATR_HEALTH_*; a backlog counts once it lasted ATR_HEALTH_SUSTAIN_S.")




def add_parsers(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``health`` to ``atr``'s subcommands."""
    p = subparsers.add_parser("health", help="queues, workers and scheduler: OK, WARN or CRIT",
                              description=_DESCRIPTION, epilog=_EPILOG)
    p.add_argument("--json", action="store_true", help="one JSON object, for alarms")
    p.add_argument("--group", choices=list(GROUPS), default=None,
                   help="check only this group and its queues (the scheduler is always checked)")
    p.set_defaults(handler=_cmd_health)


def _cmd_health(args: argparse.Namespace) -> int:
    import redis

    from pipeline import redis_client

    settings = load_settings()
    redis_client.check_reachable(settings.redis_url)
    groups = [GROUPS[args.group]] if args.group else list(GROUPS.values())
    try:
        observations, report = run(settings, groups)
    except redis.RedisError as exc:  # Redis went away between the PING and the reads
        raise RedisUnreachable(f"Redis stopped answering during the check: {exc}; check "
                               "that Redis runs and that REDIS_URL is right") from None
    if args.json:
        print(json.dumps(report_dict(observations, report)))
    else:
        print(render(observations, report))
    return report.exit_code


def run(settings: Settings, groups: Sequence[WorkerGroup]) -> tuple[Observations, Report]:
    """Collect the observations of ``groups`` (and their queues) and evaluate them."""
    # Imported here: building atr's parser must not load the Redis client.
    from pipeline import redis_client
    from pipeline.health_probe import observe, record

    thresholds = Thresholds.from_settings(settings)
    client = redis_client.connect(settings.redis_url, "probe", decode=True)
    try:
        observations = observe(client, settings, groups, thresholds, time.time())
        record(client, observations)
    finally:
        client.close()
    return observations, evaluate(observations, thresholds)


def report_dict(observations: Observations, report: Report) -> dict[str, Any]:
    """The ``--json`` object."""
    return {
        "status": report.status.name,
        "exit_code": report.exit_code,
        "checked_at": datetime.fromtimestamp(observations.now, UTC).isoformat(
            timespec="seconds"),
        "checks": [c.as_dict() for c in report.checks],
        "queues": {q.name: {"group": q.group, "waiting": q.waiting,
                            "oldest_age_s": None if q.oldest_age_s is None
                            else round(q.oldest_age_s, 1),
                            "in_flight": q.in_flight, "delayed": q.delayed, "dead": q.dead,
                            "over_since": q.over_since}
                   for q in observations.queues},
        "groups": {g.name: {"live": g.live, "expected": g.expected,
                            "doclog_write_errors": g.doclog_errors,
                            "doclog_errors_grew_at": g.doclog_grew_at}
                   for g in observations.groups},
        "scheduler": {"alive": observations.schedulers},
        "paused": {peer: {"since": since, "reason": reason}
                   for peer, since, reason in observations.pauses},
    }


def render(observations: Observations, report: Report) -> str:
    """The readable report: queues, groups, then what to do about each problem."""
    status = {(c.kind, c.subject): c.status.name for c in report.checks}

    def worst(*keys: tuple[str, str]) -> str:
        names = [status[k] for k in keys]
        return max(names, key=("OK", "WARN", "CRIT").index)

    queue_rows = [[q.name, q.group, q.waiting,
                   "-" if q.oldest_age_s is None else f"{q.oldest_age_s:.0f} s",
                   q.in_flight, q.delayed, q.dead,
                   worst(("backlog", q.name), ("latency", q.name), ("dead", q.name))]
                  for q in observations.queues]
    group_rows = [[g.name, f"{g.live}/{g.expected}", g.doclog_errors,
                   worst(("workers", g.name), ("doclog", g.name))]
                  for g in observations.groups]
    checked = datetime.fromtimestamp(observations.now, UTC).isoformat(timespec="seconds")
    lines = [
        f"atr health: {report.status.name} ({summarize(report.checks)}) at {checked}", "",
        render_table(["QUEUE", "GROUP", "WAITING", "OLDEST", "IN FLIGHT", "DELAYED", "DEAD",
                      "STATUS"], queue_rows), "",
        render_table(["GROUP", "LIVE/EXPECTED", "DOCLOG ERRORS", "STATUS"], group_rows), "",
        f"scheduler: {observations.schedulers} alive  {status[('scheduler', 'scheduler')]}",
        *(f"paused: {peer} jobs since {since}  CRIT" for peer, since, _ in observations.pauses),
    ]
    if report.problems:
        lines.append("")
        lines.extend(f"{c.status.name:<4}  {_label(c.kind, c.subject)}: {c.reason}"
                     for c in report.problems)
    return "\n".join(lines)


def _label(kind: str, subject: str) -> str:
    return kind if kind == subject else f"{kind} {subject}"
