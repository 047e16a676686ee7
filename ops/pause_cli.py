"""``atr pause``: see and clear the pause flags of the peers jobs depend on (WordPress).

    atr pause [list] [--json]
    atr pause clear PEER

A flag is set by the first message that met a configuration error of the
peer (401 revoked Application Password, 403 role, a wrong ``BRIDGE_BASE``):
the jobs that use it then wait (their messages are deferred, none is
dead-lettered) until a probe succeeds (once a minute, by a waiting message)
or ``atr pause clear`` removes it. Exit codes: 0 done (``list``: no flag
set), 1 a flag is set (``list``) or there was none to clear, 3 Redis
unreachable.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Final

import redis

from ops.console import render_table
from pipeline.pause import PAUSE_PEERS, PauseStore
from pipeline.settings import load_settings, redact_url

__all__ = ["add_parsers"]

EXIT_OK: Final = 0
EXIT_PROBLEM: Final = 1
EXIT_REDIS: Final = 3


def add_parsers(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``pause list|clear`` to ``atr``'s subcommands."""
    parser = subparsers.add_parser(
        "pause", help="list or clear the pause flags of paused jobs (WordPress misconfigured)",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.set_defaults(handler=_cmd_list, json=False)
    sub = parser.add_subparsers(dest="pause_command", metavar="COMMAND")
    p = sub.add_parser("list", help="the set flags, with reason and since when")
    p.add_argument("--json", action="store_true", help="one JSON object")
    p.set_defaults(handler=_cmd_list)
    p = sub.add_parser("clear", help="remove a flag: the paused jobs run again")
    p.add_argument("peer", choices=PAUSE_PEERS)
    p.set_defaults(handler=_cmd_clear)


def _store() -> tuple[PauseStore, str]:
    settings = load_settings()
    client = redis.Redis.from_url(settings.redis_url, socket_connect_timeout=5,
                                  socket_timeout=30)
    return PauseStore(client), redact_url(settings.redis_url)


def _cmd_list(args: argparse.Namespace) -> int:
    store, where = _store()
    try:
        pauses = store.all()
    except redis.RedisError as exc:
        return _redis_down(where, exc)
    finally:
        store.client.close()
    if args.json:
        print(json.dumps({"paused": [vars(p) for p in pauses]}, ensure_ascii=False, indent=2))
    elif not pauses:
        print("no job is paused")
    else:
        print(render_table(["PEER", "SINCE", "SET BY", "LAST PROBE", "REASON"],
                           [[p.peer, p.since, p.actor, p.probed or "-", p.reason]
                            for p in pauses]))
        for p in pauses:
            print(f"\nfix the cause, then: atr pause clear {p.peer}"
                  + (f"\nlast probe said: {p.probe_error}" if p.probe_error else ""))
    return EXIT_PROBLEM if pauses else EXIT_OK


def _cmd_clear(args: argparse.Namespace) -> int:
    store, where = _store()
    try:
        cleared = store.clear(args.peer)
    except redis.RedisError as exc:
        return _redis_down(where, exc)
    finally:
        store.client.close()
    if not cleared:
        print(f"atr pause clear: {args.peer} was not paused", file=sys.stderr)
        return EXIT_PROBLEM
    print(f"{args.peer}: pause cleared; its jobs run again from their next delivery "
          "(deferred messages come back within a minute)")
    return EXIT_OK


def _redis_down(where: str, exc: redis.RedisError) -> int:
    print(f"atr pause: Redis at {where} is unreachable ({exc}); the pause flags live "
          "there. Check REDIS_URL and that Redis runs.", file=sys.stderr)
    return EXIT_REDIS
