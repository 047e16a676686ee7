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

What is read, per queue ``q`` (Dramatiq's Redis layout, namespace ``dramatiq``):
``waiting`` = LLEN ``dramatiq:q``; ``in_flight`` = HLEN ``dramatiq:q.msgs``
minus waiting (the hash also holds fetched-but-unacked messages: running or
prefetched); ``delayed`` = HLEN ``dramatiq:q.DQ.msgs``; ``dead`` = ZCARD
``dramatiq:q.XQ``; the age of the head message from its ``message_timestamp``
or, for a message that came back from the delay queue, its ``eta``. Per
group: the workers' keys ``atr:heartbeat:<group>:*`` (see
:mod:`middleware.heartbeat`) and ``atr:doclog:write_errors:<group>``;
schedulers: ``atr:scheduler:*``.

State kept between checks (so that any host's cron may run the check):
``atr:health:over:<queue>`` holds the epoch seconds a check first saw the
queue's backlog over its WARN threshold (SET NX, deleted when under; expires
after :data:`_STREAK_TTL_S` without a check, so a streak is never inferred
across a long gap); ``atr:health:doclog:<group>`` holds the last error count
seen and when it last grew.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Final

import redis

from middleware.doclog import write_errors_key
from middleware.heartbeat import heartbeat_pattern
from ops.console import render_table
from pipeline import quarantine
from pipeline.groups import GROUPS, WorkerGroup
from pipeline.health import (
    DoclogSnapshot,
    GroupObservation,
    Observations,
    QueueObservation,
    Report,
    Thresholds,
    evaluate,
    next_doclog_snapshot,
    next_over_since,
    summarize,
)
from pipeline.settings import Settings, load_settings

__all__ = ["add_parsers", "collect", "doclog_snapshot_key", "over_key", "report_dict", "run"]

_NAMESPACE: Final = "dramatiq"
_TIMEOUT_S: Final = 5.0
#: A backlog streak not confirmed by a check for this long is forgotten, in seconds.
_STREAK_TTL_S: Final = 3600
_SCAN_COUNT: Final = 1000
#: The id of the head message and its data, read atomically: a worker may pop it
#: between two separate commands.
_HEAD_SCRIPT: Final = """
local id = redis.call('lindex', KEYS[1], 0)
if not id then return false end
return redis.call('hget', KEYS[2], id)
"""
_DESCRIPTION: Final = ("Check every queue (backlog, latency, dead letters), the live worker "
                        "processes of each group, lost doclog lines and the scheduler.")
_EPILOG: Final = ("Exit codes (Nagios): 0 OK, 1 WARN, 2 CRIT, 3 Redis unreachable. Thresholds: "
                  "ATR_HEALTH_*; a backlog counts once it lasted ATR_HEALTH_SUSTAIN_S.")


def over_key(queue: str) -> str:
    """When a check first saw ``queue``'s backlog over WARN (epoch seconds)."""
    return f"atr:health:over:{queue}"


def doclog_snapshot_key(group: str) -> str:
    """The last doclog error count a check saw for ``group`` and when it grew (JSON)."""
    return f"atr:health:doclog:{group}"


def add_parsers(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``health`` to ``atr``'s subcommands."""
    p = subparsers.add_parser("health", help="queues, workers and scheduler: OK, WARN or CRIT",
                              description=_DESCRIPTION, epilog=_EPILOG)
    p.add_argument("--json", action="store_true", help="one JSON object, for alarms")
    p.add_argument("--group", choices=list(GROUPS), default=None,
                   help="check only this group and its queues (the scheduler is always checked)")
    p.set_defaults(handler=_cmd_health)


def _cmd_health(args: argparse.Namespace) -> int:
    # Imported here: ops.cli imports this module to add the subcommand.
    from ops.cli import RedisUnreachable, check_redis

    settings = load_settings()
    check_redis(settings)
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
    thresholds = Thresholds.from_settings(settings)
    client = redis.Redis.from_url(settings.redis_url, socket_connect_timeout=_TIMEOUT_S,
                                  socket_timeout=_TIMEOUT_S, decode_responses=True)
    try:
        observations = collect(client, settings, groups, thresholds, time.time())
    finally:
        client.close()
    return observations, evaluate(observations, thresholds)


def collect(client: redis.Redis, settings: Settings, groups: Sequence[WorkerGroup],
            thresholds: Thresholds, now: float) -> Observations:
    """Read Redis (and update the streak and doclog bookkeeping) at ``now``."""
    live = {g.name: _count(client, heartbeat_pattern(g.name)) for g in groups}
    schedulers = _count(client, "atr:scheduler:*")
    queues = [(g, q) for g in groups for q in g.queue_names]
    pipe = client.pipeline(transaction=False)
    for _, q in queues:
        base = f"{_NAMESPACE}:{q}"
        pipe.llen(base)
        pipe.eval(_HEAD_SCRIPT, 2, base, f"{base}.msgs")
        pipe.hlen(f"{base}.msgs")
        pipe.hlen(f"{base}.DQ.msgs")
        pipe.zcard(f"{base}.XQ")
        pipe.get(over_key(q))
    for g in groups:
        pipe.get(write_errors_key(g.name))
        pipe.get(doclog_snapshot_key(g.name))
    replies: list[Any] = pipe.execute()

    writes = client.pipeline(transaction=False)
    queue_obs = []
    for (group, q), (waiting, head, stored, delayed, dead, over_raw) in zip(
            queues, _chunks(replies[:6 * len(queues)], 6), strict=True):
        previous = _float(over_raw)
        over_since = next_over_since(previous, int(waiting), thresholds, now)
        if over_since is None:
            writes.delete(over_key(q))
        elif over_since == previous:
            writes.expire(over_key(q), _STREAK_TTL_S)
        else:
            # NX: when two hosts' checks race, the earlier start wins.
            writes.set(over_key(q), repr(over_since), nx=True, ex=_STREAK_TTL_S)
        queue_obs.append(QueueObservation(
            name=q, group=group.name, waiting=int(waiting), oldest_age_s=_age(head, now),
            in_flight=max(0, int(stored) - int(waiting)), delayed=int(delayed),
            dead=int(dead), over_since=over_since))
    group_obs = []
    for group, (errors_raw, snapshot_raw) in zip(
            groups, _chunks(replies[6 * len(queues):], 2), strict=True):
        snapshot = next_doclog_snapshot(_snapshot(snapshot_raw), int(errors_raw or 0), now)
        writes.set(doclog_snapshot_key(group.name),
                   json.dumps({"count": snapshot.count, "grew_at": snapshot.grew_at}))
        group_obs.append(GroupObservation(
            name=group.name, live=live[group.name],
            expected=settings.configured_group(group).processes, doclog_errors=snapshot.count,
            doclog_grew_at=snapshot.grew_at))
    writes.execute()
    return Observations(now, tuple(queue_obs), tuple(group_obs), schedulers,
                        moved_aside=quarantine.count(client),
                        unconsumed=_unconsumed(client))


def _unconsumed(client: redis.Redis) -> tuple[tuple[str, int], ...]:
    """Queues with messages waiting that no group of the table consumes."""
    known = {name for g in GROUPS.values() for q in g.queue_names for name in (q, f"{q}.DQ")}
    found: dict[str, int] = {}
    for key in client.scan_iter(match=f"{_NAMESPACE}:*", count=_SCAN_COUNT, _type="list"):
        name = str(key).removeprefix(f"{_NAMESPACE}:")
        if name.startswith("__") or name in known:
            continue
        queue = name.removesuffix(".DQ")
        found[queue] = found.get(queue, 0) + int(client.llen(key))
    return tuple(sorted((q, n) for q, n in found.items() if n > 0))


def _count(client: redis.Redis, pattern: str) -> int:
    return sum(1 for _ in client.scan_iter(match=pattern, count=_SCAN_COUNT))


def _chunks(items: Sequence[Any], size: int) -> list[Sequence[Any]]:
    return [items[i:i + size] for i in range(0, len(items), size)]


def _float(raw: str | None) -> float | None:
    try:
        return float(raw) if raw is not None else None
    except ValueError:  # a hand-edited key: start a new streak rather than fail the check
        return None


def _snapshot(raw: str | None) -> DoclogSnapshot | None:
    if raw is None:
        return None
    try:
        data = json.loads(raw)
        grew_at = data["grew_at"]
        return DoclogSnapshot(int(data["count"]),
                              float(grew_at) if grew_at is not None else None)
    except (ValueError, KeyError, TypeError):  # unreadable state: treat as a first check
        return None


def _age(head: str | None, now: float) -> float | None:
    """Seconds the head message has been due: since it was sent, or since its eta."""
    if head is None:
        return None
    try:
        message = json.loads(head)
        due_ms = max(float(message.get("message_timestamp", 0)),
                     float(message.get("options", {}).get("eta", 0)))
    except (ValueError, TypeError, AttributeError):
        return None  # not a Dramatiq message: nothing to say about its age
    return max(0.0, now - due_ms / 1000) if due_ms > 0 else None


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
        "moved_aside": observations.moved_aside,
        "unconsumed": dict(observations.unconsumed),
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
        f"moved aside: {observations.moved_aside}  {status[('moved_aside', 'moved_aside')]}",
    ]
    lines.extend(f"unconsumed queue {q}: {n} waiting  WARN" for q, n in observations.unconsumed)
    if report.problems:
        lines.append("")
        lines.extend(f"{c.status.name:<4}  {_label(c.kind, c.subject)}: {c.reason}"
                     for c in report.problems)
    return "\n".join(lines)


def _label(kind: str, subject: str) -> str:
    return kind if kind == subject else f"{kind} {subject}"
