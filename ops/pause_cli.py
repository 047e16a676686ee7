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
from typing import TYPE_CHECKING

from ops.common import Exit, redis_down
from ops.console import render_table
from pipeline.settings import load_settings

if TYPE_CHECKING:
    from pipeline.pause import PauseStore
    from pipeline.settings import Settings

__all__ = ["add_parsers"]

#: The peers a job can be paused for (pipeline.pause.PAUSE_PEERS, spelled here so
#: that building atr's parser loads no Redis client).
_PEERS = ("wordpress",)


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
    p.add_argument("peer", choices=_PEERS)
    p.set_defaults(handler=_cmd_clear)


def _store() -> tuple[PauseStore, Settings]:
    from pipeline import redis_client
    from pipeline.pause import PauseStore

    settings = load_settings()
    return PauseStore(redis_client.connect(settings.redis_url, "cli")), settings


def _cmd_list(args: argparse.Namespace) -> int:
    import redis

    store, settings = _store()
    try:
        pauses = store.all()
    except redis.RedisError as exc:
        return redis_down("atr pause", settings, exc, "the pause flags")
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
    return Exit.PROBLEM if pauses else Exit.OK


def _cmd_clear(args: argparse.Namespace) -> int:
    import redis

    store, settings = _store()
    try:
        cleared = store.clear(args.peer)
    except redis.RedisError as exc:
        return redis_down("atr pause", settings, exc, "the pause flags")
    finally:
        store.client.close()
    if not cleared:
        print(f"atr pause clear: {args.peer} was not paused", file=sys.stderr)
        return Exit.PROBLEM
    print(f"{args.peer}: pause cleared; its jobs run again from their next delivery "
          "(deferred messages come back within a minute)")
    return Exit.OK
