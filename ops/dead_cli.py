"""``atr dead``: list Dramatiq's dead letters and revive them in bulk into their queues.

    atr dead list    [--queue Q]... [--actor A]... [--since WHEN] [--json]
    atr dead requeue [--queue Q]... [--actor A]... [--since WHEN] [--dry-run]

``WHEN`` is a duration back from now (``90s``, ``30m``, ``6h``, ``2d``) or a
time (``2026-12-06T09:00``, in ATR_TZ unless it names its offset). Without
``--queue``, every queue of the group table. ``requeue`` moves each chosen
dead letter back onto its queue exactly once (removed from the dead-letter
set in the same Redis script), with its retries counted afresh; ``--dry-run``
lists what it would move. The broker keeps dead letters 7 days. Exit codes:
0 done (``list``: none found), 1 dead letters found (``list``), 2 bad usage,
3 Redis unreachable.
"""

from __future__ import annotations

import argparse
import json
import re
import time
from datetime import datetime
from typing import TYPE_CHECKING, Final

from ops.common import Exit, redis_down
from ops.console import render_table
from pipeline import names
from pipeline.errors import AtrError
from pipeline.settings import Settings, load_settings

if TYPE_CHECKING:
    import redis

    from pipeline.deadletters import DeadLetter

__all__ = ["add_parsers", "parse_since"]
_DURATION: Final = re.compile(r"(\d+(?:\.\d+)?)\s*(s|m|h|d)")
_UNIT_S: Final = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_ARGS_SHOWN: Final = 60


def add_parsers(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``dead list|requeue`` to ``atr``'s subcommands."""
    parser = subparsers.add_parser(
        "dead", help="list dead letters, or requeue them in bulk",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="dead_command", required=True, metavar="COMMAND")
    for name, text in (("list", "the dead letters, oldest first"),
                       ("requeue", "move dead letters back onto their queues")):
        p = sub.add_parser(name, help=text)
        p.add_argument("--queue", action="append", default=[], metavar="Q",
                       help="only this queue (repeatable); default: every queue")
        p.add_argument("--actor", action="append", default=[], metavar="A",
                       help="only this actor's messages (repeatable)")
        p.add_argument("--since", metavar="WHEN",
                       help="only dead-lettered since WHEN: 6h, 30m, 2d or a time")
        if name == "list":
            p.add_argument("--json", action="store_true", help="one JSON object")
            p.set_defaults(handler=_cmd_list)
        else:
            p.add_argument("--dry-run", action="store_true",
                           help="list what would be requeued, move nothing")
            p.set_defaults(handler=_cmd_requeue)


def parse_since(text: str, settings: Settings, now: float) -> float:
    """``--since`` as epoch seconds; AtrError saying the accepted forms otherwise."""
    match = _DURATION.fullmatch(text.strip())
    if match:
        return now - float(match.group(1)) * _UNIT_S[match.group(2)]
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        raise AtrError(f"--since {text!r} is neither a duration (90s, 30m, 6h, 2d) nor a "
                       "time (2026-12-06T09:00, optionally with +09:00)") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=settings.zone)
    return when.timestamp()


def _select(args: argparse.Namespace) -> tuple[Settings, redis.Redis, list[DeadLetter]]:
    from pipeline import redis_client
    from pipeline.deadletters import dead_letters

    unknown = [q for q in args.queue if q not in names.ALL_QUEUES]
    if unknown:
        raise AtrError(f"unknown queue {unknown[0]!r}; queues: {', '.join(names.ALL_QUEUES)}")
    settings = load_settings()
    since = parse_since(args.since, settings, time.time()) if args.since else None
    client = redis_client.connect(settings.redis_url, "cli")
    letters = dead_letters(client, args.queue or names.ALL_QUEUES, actors=args.actor,
                           since=since)
    return settings, client, letters


def _cmd_list(args: argparse.Namespace) -> int:
    import redis

    try:
        settings, client, letters = _select(args)
    except redis.RedisError as exc:
        return _redis_down(exc)
    client.close()
    if args.json:
        print(json.dumps({"dead": [d.to_json() for d in letters]}, ensure_ascii=False,
                         indent=2))
    elif not letters:
        print("no dead letters" + (" match" if args.queue or args.actor or args.since else ""))
    else:
        print(_table(letters, settings))
        print(f"\n{len(letters)} dead letter(s). Revive with: atr dead requeue"
              + "".join(f" --queue {q}" for q in args.queue)
              + "".join(f" --actor {a}" for a in args.actor)
              + (f" --since {args.since}" if args.since else "")
              + "   (--dry-run first to check)")
    return Exit.PROBLEM if letters else Exit.OK


def _cmd_requeue(args: argparse.Namespace) -> int:
    import redis

    from pipeline.deadletters import requeue

    try:
        settings, client, letters = _select(args)
        try:
            if args.dry_run:
                moved = letters
            else:
                moved = requeue(client, letters)
        finally:
            client.close()
    except redis.RedisError as exc:
        return _redis_down(exc)
    if not letters:
        print("no dead letters to requeue")
        return Exit.OK
    print(_table(moved, settings))
    verb = "would be requeued (dry run: nothing moved)" if args.dry_run else "requeued"
    print(f"\n{len(moved)} dead letter(s) {verb}"
          + (f"; {len(letters) - len(moved)} were already gone (requeued by someone else, "
             "or expired)" if len(moved) < len(letters) else ""))
    return Exit.OK


def _table(letters: list[DeadLetter], settings: Settings) -> str:
    rows = []
    for d in letters:
        payload = json.dumps({**dict(enumerate(d.message.get("args") or [])),
                              **(d.message.get("kwargs") or {})}, ensure_ascii=False,
                             default=str)
        rows.append([d.queue, datetime.fromtimestamp(d.dead_at, settings.zone).isoformat(
            timespec="seconds"), d.actor, d.message_id,
            payload if len(payload) <= _ARGS_SHOWN else payload[:_ARGS_SHOWN - 1] + "…"])
    return render_table(["QUEUE", "DEAD AT", "ACTOR", "MESSAGE ID", "PAYLOAD"], rows)


def _redis_down(exc: BaseException) -> int:
    return redis_down("atr dead", load_settings(), exc, "the dead letters")
