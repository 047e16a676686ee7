"""``atr dashboard``: dramatiq_dashboard behind HTTP Basic auth, served by waitress.

    /healthz        no login; JSON {"redis": "ok", "ping_ms": ...}, 200, or
                    {"redis": "unreachable", "error": ...}, 503
    /               302 to /dashboard/
    /dashboard/...  dramatiq_dashboard (queues, counts, messages, workers)
    anything else   404

Everything but ``/healthz`` needs the login ATR_DASHBOARD_USER /
ATR_DASHBOARD_PASSWORD. There is no default password: without one the command
refuses to start (exit 2). It listens on ATR_DASHBOARD_BIND (127.0.0.1:8081 by
default) with a few threads and stops cleanly on SIGTERM or Ctrl-C.
"""

from __future__ import annotations

import argparse
import logging

__all__ = ["add_parsers"]


def add_parsers(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``dashboard`` to ``atr``'s subcommands."""
    parser = subparsers.add_parser(
        "dashboard", help="serve the queue dashboard (login required) until SIGTERM",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.set_defaults(handler=_cmd_dashboard)


def _cmd_dashboard(args: argparse.Namespace) -> int:
    # Imported here: dramatiq, dramatiq_dashboard and waitress only when serving.
    from ops.dashboard import serve
    from pipeline.settings import load_settings

    settings = load_settings()
    # Our start line and waitress's warnings (queue depth, slow shutdown) go
    # to the journal; `atr` keeps only warnings by default.
    logging.getLogger().setLevel(logging.INFO)
    return serve(settings)
