"""What every ``atr`` command shares: exit codes, the Redis-unreachable message, registration.

Building the parser imports only this module, :mod:`ops.console` and the
light command modules: a command that needs Dramatiq, dramatiq_dashboard or
the Redis client imports them when it runs, so ``atr workers`` or
``atr --help`` work on a host without them.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable
from enum import IntEnum
from typing import TYPE_CHECKING, Final

from pipeline.errors import RedisUnreachable

if TYPE_CHECKING:
    from pipeline.settings import Settings

__all__ = ["COMMAND_MODULES", "Exit", "Handler", "RedisUnreachable", "redis_down", "register"]

Handler = Callable[[argparse.Namespace], int]


class Exit(IntEnum):
    """``atr``'s exit codes (``atr health`` adds Nagios' 2 CRIT, from its report)."""

    #: The command did what was asked and found nothing wrong.
    OK = 0
    #: The command ran and found a problem: a canary did not answer, a proposal is
    #: missing, the LLM chain gave no answer, a doclog line is unreadable.
    PROBLEM = 1
    #: Bad usage or settings: the message says what to change.
    USAGE = 2
    #: Redis did not answer (Nagios UNKNOWN).
    REDIS = 3
    #: Stopped by Ctrl-C.
    INTERRUPTED = 130


#: The modules that add subcommands, each through its ``add_parsers(subparsers)``,
#: in ``atr --help`` order after the core commands of :mod:`ops.cli`.
COMMAND_MODULES: Final = ("ops.doclog_cli", "ops.health", "ops.dashboard_cli",
                          "ops.imagemagick_cli", "ops.llm_cli", "ops.seo_cli", "ops.dead_cli",
                          "ops.pause_cli", "ops.ga4_cli", "ops.quarantine_cli",
                          "ops.index_cli", "ops.ads_cli")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add every command module's subcommands."""
    for name in COMMAND_MODULES:
        importlib.import_module(name).add_parsers(subparsers)


def redis_down(command: str, settings: Settings, exc: BaseException, holds: str) -> int:
    """Say on stderr that Redis went away while ``command`` used it (``holds`` live there)."""
    from pipeline.settings import redact_url

    print(f"{command}: Redis at {redact_url(settings.redis_url)} is unreachable ({exc}); "
          f"{holds} live there. Check REDIS_URL and that Redis runs.", file=sys.stderr)
    return Exit.REDIS
