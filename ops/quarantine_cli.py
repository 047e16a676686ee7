"""``atr quarantine``: the messages workers moved aside because they were malformed.

    atr quarantine list [--json] [--limit N]
    atr quarantine show ID [--raw]
    atr quarantine replay ID [--force]
    atr quarantine drop ID

A worker moves a body aside (see ``brokers.envelope`` for the reasons) when
it is not a well-formed Dramatiq message: it never ran. ``list`` shows the
newest first: id, queue, reason, when, size. ``show`` prints one record and
the stored body (escaped; ``--raw`` writes the bytes to stdout). ``replay``
puts the body back at the end of its queue under the same id, for a body a
worker may accept now (typically ``undefined_actor`` after the actor was
deployed); it refuses a body cut for its size, and one whose reason says the
body itself is broken unless ``--force``. ``drop`` deletes a record for good.
Exit codes: 0 done, 1 no such id (or replay refused), 2 bad usage or
settings, 3 Redis unreachable.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Final

from ops.common import Exit, redis_down
from ops.console import render_table
from pipeline.escape import shown
from pipeline.settings import Settings, load_settings

if TYPE_CHECKING:
    import redis

__all__ = ["add_parsers"]

EXIT_OK: Final = Exit.OK
EXIT_MISSING: Final = Exit.PROBLEM
#: Reasons that do not depend on the body alone: a replay may succeed once the cause is fixed.
_REPLAYABLE: Final = frozenset({"undefined_actor", "wrong_queue"})
_SHOWN_BODY_CHARS: Final = 4000


def add_parsers(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``quarantine list|show|replay|drop`` to ``atr``'s subcommands."""
    parser = subparsers.add_parser(
        "quarantine", help="list, show, replay or drop messages moved aside as malformed",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="quarantine_command", required=True, metavar="COMMAND")
    p = sub.add_parser("list", help="the newest moved-aside messages")
    p.add_argument("--json", action="store_true", help="one JSON object")
    p.add_argument("--limit", type=int, default=50, help="how many (default 50)")
    p.set_defaults(handler=_cmd_list)
    p = sub.add_parser("show", help="one record and its body")
    p.add_argument("id", help="the id from atr quarantine list")
    p.add_argument("--raw", action="store_true", help="write the body's bytes to stdout")
    p.set_defaults(handler=_cmd_show)
    p = sub.add_parser("replay", help="put the body back at the end of its queue")
    p.add_argument("id")
    p.add_argument("--force", action="store_true",
                   help="replay even a body whose reason says it is broken itself")
    p.set_defaults(handler=_cmd_replay)
    p = sub.add_parser("drop", help="delete a record for good")
    p.add_argument("id")
    p.set_defaults(handler=_cmd_drop)


def _client(settings: Settings) -> redis.Redis:
    from pipeline import redis_client

    return redis_client.connect(settings.redis_url, "cli")


def _cmd_list(args: argparse.Namespace) -> int:
    import redis

    from pipeline import quarantine

    settings = load_settings()
    try:
        with _client(settings) as client:
            records = quarantine.list_records(client, max(1, args.limit))
            total = quarantine.count(client)
    except redis.RedisError as exc:
        return _redis_down(settings, exc)
    if args.json:
        print(json.dumps({"count": total, "records": [r.as_dict() for r in records]}))
        return EXIT_OK
    if not records:
        print("no messages moved aside")
        return EXIT_OK
    rows = [[shown(r.id), shown(r.queue), shown(r.reason), _when(r.moved_at), r.size,
             shown(r.actor or "-")] for r in records]
    print(render_table(["ID", "QUEUE", "REASON", "MOVED AT (UTC)", "BYTES", "ACTOR"], rows))
    print(f"\n{len(records)} of {total} shown; details: atr quarantine show ID")
    return EXIT_OK


def _cmd_show(args: argparse.Namespace) -> int:
    import redis

    from pipeline import quarantine

    settings = load_settings()
    try:
        with _client(settings) as client:
            found = quarantine.get(client, args.id)
    except redis.RedisError as exc:
        return _redis_down(settings, exc)
    if found is None:
        return _missing(args.id)
    record, body = found
    if args.raw:
        sys.stdout.buffer.write(body)
        return EXIT_OK
    for key, value in record.as_dict().items():
        if key == "moved_at":
            value = _when(float(value))
        print(f"{key:<11} {shown(str(value), 300)}")
    text = body.decode("utf-8", "replace")
    print(f"body        {shown(text, _SHOWN_BODY_CHARS)}")
    return EXIT_OK


def _cmd_replay(args: argparse.Namespace) -> int:
    import redis

    from pipeline import quarantine

    settings = load_settings()
    try:
        with _client(settings) as client:
            found = quarantine.get(client, args.id)
            if found is None:
                return _missing(args.id)
            record, _ = found
            if record.truncated:
                print(f"atr quarantine replay: {args.id} was {record.size} bytes and only its "
                      "start was kept; it cannot be replayed (send it again, smaller)",
                      file=sys.stderr)
                return EXIT_MISSING
            if record.reason not in _REPLAYABLE and not args.force:
                print(f"atr quarantine replay: {args.id} was moved aside for {record.reason} "
                      f"({record.detail}): the body itself is broken and would be moved aside "
                      "again; fix the producer, or use --force", file=sys.stderr)
                return EXIT_MISSING
            if not quarantine.replay(client, record):
                return _missing(args.id)
    except redis.RedisError as exc:
        return _redis_down(settings, exc)
    print(f"{args.id}: back at the end of queue {record.queue}")
    return EXIT_OK


def _cmd_drop(args: argparse.Namespace) -> int:
    import redis

    from pipeline import quarantine

    settings = load_settings()
    try:
        with _client(settings) as client:
            dropped = quarantine.drop(client, args.id)
    except redis.RedisError as exc:
        return _redis_down(settings, exc)
    if not dropped:
        return _missing(args.id)
    print(f"{args.id}: dropped")
    return EXIT_OK


def _when(epoch_s: float) -> str:
    return datetime.fromtimestamp(epoch_s, UTC).isoformat(timespec="seconds")


def _missing(record_id: str) -> int:
    print(f"atr quarantine: no moved-aside message {shown(record_id)} (see atr quarantine list)",
          file=sys.stderr)
    return EXIT_MISSING


def _redis_down(settings: Settings, exc: BaseException) -> int:
    return redis_down("atr quarantine", settings, exc, "the moved-aside messages")
