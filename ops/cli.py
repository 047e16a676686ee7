"""``atr``: the operator's command line.

Exit codes: 0 success, 1 the command ran and found a problem (a canary did not
answer), 2 bad usage or settings, 3 Redis unreachable.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shlex
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Final

from ops.common import Exit, RedisUnreachable, register
from ops.console import render_table
from pipeline import names
from pipeline.errors import AtrError
from pipeline.groups import GROUPS, WorkerGroup, get_group
from pipeline.settings import Settings, load_settings

__all__ = ["main"]

logger = logging.getLogger(__name__)



def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``atr`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        return handler(args)
    except RedisUnreachable as exc:
        print(f"atr {args.command}: {exc}", file=sys.stderr)
        return Exit.REDIS
    except AtrError as exc:
        print(f"atr {args.command}: {exc}", file=sys.stderr)
        return Exit.USAGE
    except KeyboardInterrupt:
        return Exit.INTERRUPTED


def build_parser() -> argparse.ArgumentParser:
    """``atr``'s parser: every subcommand, without importing what the commands run on."""
    parser = argparse.ArgumentParser(prog="atr", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("workers", help="print the worker-group table")
    p.add_argument("--json", action="store_true", help="one JSON object")
    p.set_defaults(handler=_cmd_workers)

    p = sub.add_parser("worker", help="run a worker group under the dramatiq CLI")
    p.add_argument("group", help="worker1 or worker2")
    p.add_argument("--dry-run", action="store_true",
                   help="print the dramatiq command instead of running it")
    p.set_defaults(handler=_cmd_worker)

    p = sub.add_parser("send", help="enqueue a message for an actor, by name")
    p.add_argument("actor", help="actor name, e.g. ping_seo")
    p.add_argument("payload", nargs="?", default="{}",
                   help="keyword arguments as a JSON object, e.g. '{\"token\": \"t1\"}', "
                        "or - to read it from standard input")
    p.add_argument("--delay-ms", type=int, default=None, help="deliver after this many ms")
    p.set_defaults(handler=_cmd_send)

    p = sub.add_parser("ping", help="send a canary to queues and wait for the workers' answer")
    p.add_argument("queues", nargs="*", metavar="QUEUE", help="default: every queue")
    p.add_argument("--group", help="every queue of this worker group (worker1 or worker2)")
    p.add_argument("--timeout", type=float, default=30.0, help="seconds to wait (default 30)")
    p.add_argument("--json", action="store_true", help="one JSON object")
    p.set_defaults(handler=_cmd_ping)

    p = sub.add_parser("scheduler", help="run the periodic-job scheduler until SIGTERM")
    p.set_defaults(handler=_cmd_scheduler)

    p = sub.add_parser("schedule", help="list the periodic jobs and their next ticks")
    p.add_argument("--json", action="store_true", help="one JSON object")
    p.set_defaults(handler=_cmd_schedule)

    p = sub.add_parser("config", help="check the settings and print them, secrets hidden")
    p.add_argument("--json", action="store_true", help="one JSON object")
    p.set_defaults(handler=_cmd_config)

    register(sub)

    return parser


def _cmd_workers(args: argparse.Namespace) -> int:
    if args.json:
        print(json.dumps({name: _group_dict(g) for name, g in GROUPS.items()}, indent=2))
        return Exit.OK
    rows = [[g.name, f"{g.processes} x {g.threads} = {g.concurrency}",
             " ".join(f"{q.name}:{q.weight}" for q in g.queues), g.instance_type, g.role]
            for g in GROUPS.values()]
    print(render_table(["GROUP", "PROCESSES x THREADS", "QUEUES (weight)", "INSTANCE", "ROLE"],
                       rows))
    return Exit.OK


def _group_dict(group: WorkerGroup) -> dict[str, Any]:
    return {
        "role": group.role,
        "instance_type": group.instance_type,
        "processes": group.processes,
        "threads": group.threads,
        "concurrency": group.concurrency,
        "queues": {q.name: q.weight for q in group.queues},
        "shutdown_timeout_s": group.shutdown_timeout_s,
        "entrypoint": group.entrypoint,
        "command": group.dramatiq_argv(),
    }


def _cmd_worker(args: argparse.Namespace) -> int:
    group = get_group(args.group)
    settings = load_settings()
    group = settings.configured_group(group)
    argv = group.dramatiq_argv(_dramatiq_executable())
    if args.dry_run:
        print(shlex.join(argv))
        return Exit.OK
    check_redis(settings)
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(argv[0], argv)  # noqa: S606 -- replaces this process: systemd sees dramatiq


def _dramatiq_executable() -> str:
    candidate = Path(sys.executable).with_name("dramatiq")
    if not candidate.exists():
        raise AtrError(f"the dramatiq CLI is not installed beside {sys.executable}; "
                       "reinstall the project (./dev setup)")
    return str(candidate)


def check_redis(settings: Settings) -> None:
    """Raise RedisUnreachable unless Redis answers PING within a few seconds."""
    from pipeline import redis_client

    redis_client.check_reachable(settings.redis_url)


_MAX_DELAY_MS: Final = 7 * 24 * 3600 * 1000  # the broker keeps dead letters 7 days
#: Largest payload ``atr send ACTOR -`` reads from standard input, in characters.
_MAX_STDIN_PAYLOAD: Final = 1024 * 1024


def _cmd_send(args: argparse.Namespace) -> int:
    kwargs = _parse_payload(_read_stdin_payload() if args.payload == "-" else args.payload)
    if args.delay_ms is not None and not 0 <= args.delay_ms <= _MAX_DELAY_MS:
        raise AtrError(f"--delay-ms must be from 0 to {_MAX_DELAY_MS} (7 days), "
                       f"got {args.delay_ms}")
    settings = load_settings()
    check_redis(settings)
    from brokers.boot import producer_broker
    from brokers.producer import send

    broker = producer_broker(settings)
    message = send(broker, args.actor, kwargs, delay_ms=args.delay_ms)
    print(f"enqueued {message.actor_name} on queue {message.queue_name}: "
          f"message_id={message.message_id}")
    return Exit.OK


def _read_stdin_payload() -> str:
    # A payload with quotes or Korean text is easier to pipe than to quote for a shell.
    text = sys.stdin.read(_MAX_STDIN_PAYLOAD + 1)
    if len(text) > _MAX_STDIN_PAYLOAD:
        raise AtrError(f"the payload on standard input is longer than {_MAX_STDIN_PAYLOAD} "
                       "characters")
    if not text.strip():
        raise AtrError("no payload on standard input (give - only when piping a JSON object, "
                       """e.g. echo '{"post_id": 123}' | atr send seo_automation -)""")
    return text


def _parse_payload(text: str) -> dict[str, Any]:
    try:
        payload = json.loads(text)
    except json.JSONDecodeError as exc:
        raise AtrError(f"the payload is not valid JSON ({exc.msg} at column {exc.colno}); "
                       """give an object in single quotes, e.g. '{"post_id": 123}'""") from None
    if not isinstance(payload, dict):
        raise AtrError(f"the payload must be a JSON object of keyword arguments, "
                       f"got {type(payload).__name__}: {text[:60]}")
    return payload


def _cmd_ping(args: argparse.Namespace) -> int:
    if args.group and args.queues:
        raise AtrError("give queues or --group, not both")
    queues = list(get_group(args.group).queue_names) if args.group \
        else args.queues or list(names.ALL_QUEUES)
    unknown = [q for q in queues if q not in names.ALL_QUEUES]
    if unknown:
        raise AtrError(f"unknown queue {unknown[0]!r}; queues: {', '.join(names.ALL_QUEUES)}")
    settings = load_settings()
    check_redis(settings)
    from brokers.boot import producer_broker
    from ops.ping import ping_queues, render_results

    results = ping_queues(producer_broker(settings), queues, args.timeout)
    if args.json:
        print(json.dumps({"ok": all(r.ok for r in results),
                          "queues": [r.as_dict() for r in results]}, indent=2))
    else:
        print(render_results(results))
    return Exit.OK if all(r.ok for r in results) else Exit.PROBLEM


def _cmd_scheduler(args: argparse.Namespace) -> int:
    import signal
    import threading

    from brokers.boot import producer_broker
    from ops.scheduler import Scheduler
    from pipeline import log_redaction
    from pipeline.redact import Redactor
    from pipeline.schedule import scheduled_jobs

    logging.getLogger().setLevel(logging.INFO)
    settings = load_settings()
    log_redaction.install(Redactor(settings.secrets()))
    check_redis(settings)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    broker = producer_broker(settings)
    scheduler = Scheduler(broker, scheduled_jobs(settings), settings.zone)
    logger.info("Scheduler %s started with %d job(s); SIGTERM stops it.",
                   scheduler.identity, len(scheduled_jobs(settings)))
    scheduler.run(stop)
    broker.close()
    logger.info("Scheduler %s stopped after enqueueing %d message(s).",
                   scheduler.identity, scheduler.fired)
    return Exit.OK


def _cmd_schedule(args: argparse.Namespace) -> int:
    from datetime import datetime

    from pipeline.schedule import next_tick, scheduled_jobs

    settings = load_settings()
    now = datetime.now(settings.zone)
    jobs = []
    for job in scheduled_jobs(settings):
        ticks, after = [], now
        for _ in range(3):
            after = next_tick(job.cron, after)
            ticks.append(after.isoformat())
        jobs.append({"job": job.name, "actor": job.actor, "cron": job.cron,
                     "setting": job.setting, "next": ticks})
    if args.json:
        print(json.dumps({"tz": settings.tz, "jobs": jobs}, indent=2))
    else:
        print(render_table(["JOB", "CRON (" + settings.tz + ")", "SETTING", "NEXT TICKS"],
                           [[j["job"], j["cron"], j["setting"], ", ".join(j["next"])]
                            for j in jobs]))
    return Exit.OK


def _cmd_config(args: argparse.Namespace) -> int:
    shown = load_settings().redacted()
    if args.json:
        print(json.dumps(shown, indent=2))
    else:
        print(render_table(["VARIABLE", "VALUE"], sorted(shown.items())))
    return Exit.OK


if __name__ == "__main__":
    raise SystemExit(main())
