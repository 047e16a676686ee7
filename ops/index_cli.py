"""``atr index``: submit URLs to the search engines by hand, and check the live key file.

    atr index submit URL [URL ...] [--endpoint NAME]
    atr index check [--json]

``submit`` enqueues ``index_submit`` (worker2 submits to every configured
endpoint, or to ``--endpoint`` only; a URL already submitted there today is
skipped). ``check`` reads the key file the engines will read
(``https://<host>/<key>.txt``, or ``ATR_INDEXNOW_KEY_LOCATION``) and says whether
it holds ``ATR_INDEXNOW_KEY``, before a submission can get a 403. Exit codes:
0 done (the key file matches), 1 the key file does not match, 2 bad usage or
settings, 3 Redis unreachable.
"""

from __future__ import annotations

import argparse
import json
import sys

from ops.common import Exit
from pipeline.errors import AtrError
from pipeline.settings import load_settings

__all__ = ["add_parsers"]


def add_parsers(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``index submit|check`` to ``atr``'s subcommands."""
    parser = subparsers.add_parser(
        "index", help="submit URLs to IndexNow (Naver, Bing, ...) and check the key file",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="index_command", required=True, metavar="COMMAND")
    p = sub.add_parser("submit", help="enqueue index_submit for these URLs")
    p.add_argument("urls", nargs="+", metavar="URL", help="absolute URLs of the site")
    p.add_argument("--endpoint", help="only this endpoint (its host, or google)")
    p.set_defaults(handler=_cmd_submit)
    p = sub.add_parser("check", help="does the live key file hold ATR_INDEXNOW_KEY?")
    p.add_argument("--json", action="store_true", help="one JSON object")
    p.set_defaults(handler=_cmd_check)


def _cmd_submit(args: argparse.Namespace) -> int:
    from pipeline.index import IndexTargets, check_urls

    urls = check_urls(list(args.urls))
    settings = load_settings()
    targets = IndexTargets.from_settings(settings)
    endpoint = targets.check(args.endpoint) if args.endpoint else None
    if not targets.names:
        targets.check(None)
    from brokers.boot import producer_broker
    from brokers.producer import send
    from pipeline import names, redis_client

    redis_client.check_reachable(settings.redis_url)
    broker = producer_broker(settings)
    try:
        message = send(broker, names.ACTOR_INDEX_SUBMIT, {"urls": urls, "endpoint": endpoint})
    finally:
        broker.close()
    where = endpoint or ", ".join(targets.names)
    print(f"index_submit enqueued for {len(urls)} URL(s) to {where} "
          f"(message_id={message.message_id})")
    return Exit.OK


def _cmd_check(args: argparse.Namespace) -> int:
    from pipeline.index import IndexNowKey, check_key_file, site_url

    settings = load_settings()
    if not settings.indexnow_key:
        raise AtrError("ATR_INDEXNOW_KEY is unset: generate a key (python3 -c 'import uuid; "
                       "print(uuid.uuid4().hex)'), set it, and serve it as /<key>.txt")
    result = check_key_file(site_url(settings), IndexNowKey(settings.indexnow_key,
                                                            settings.indexnow_key_location))
    if args.json:
        print(json.dumps({"ok": result.ok, "url": result.url, "status": result.status,
                          "message": result.message}, indent=2))
    else:
        print(("OK    " if result.ok else "WRONG ") + result.message,
              file=sys.stdout if result.ok else sys.stderr)
    return Exit.OK if result.ok else Exit.PROBLEM
