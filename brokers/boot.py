"""Boot a worker group or a producer: settings, broker, then the actors.

Actor modules declare their actors on the global broker when imported, so
they are imported here, after :func:`dramatiq.set_broker`, and nowhere else.
"""

from __future__ import annotations

import importlib
import logging

import dramatiq
from dramatiq.brokers.redis import RedisBroker

from actors import canary
from brokers.broker import build_broker
from brokers.groups import GROUPS, WorkerGroup, get_group
from pipeline.errors import AtrError
from pipeline.settings import Settings, load_settings

__all__ = ["boot_group", "current_group", "declare_group_actors", "producer_broker"]

logger = logging.getLogger(__name__)

_current_group: WorkerGroup | None = None


def boot_group(name: str) -> RedisBroker:
    """Build the broker of worker group ``name`` and declare exactly its actors.

    Called by the entrypoint modules that the dramatiq CLI imports in each worker
    process. A configuration error ends the process with one line and exit code 2
    (the dramatiq master then stops the group; systemd restarts it).
    """
    global _current_group
    try:
        settings = load_settings()
        group = get_group(name)
    except AtrError as exc:
        logger.critical("%s: %s", name, exc)
        raise SystemExit(2) from None
    broker = build_broker(settings, group)
    dramatiq.set_broker(broker)
    _current_group = group
    declare_group_actors(broker, group, worker=True)
    return broker


def producer_broker(settings: Settings) -> RedisBroker:
    """A broker that knows every group's actors, for enqueueing by name (``atr send``)."""
    broker = build_broker(settings)
    dramatiq.set_broker(broker)
    for group in GROUPS.values():
        declare_group_actors(broker, group, worker=False)
    return broker


def declare_group_actors(broker: RedisBroker, group: WorkerGroup, *, worker: bool) -> None:
    """Declare the canaries of the group's queues and import its actor modules.

    ``worker`` says whether this process runs the group's messages (canary replies
    then name the group) or only enqueues them.
    """
    canary.declare(broker, group.queue_names, group.name if worker else None)
    for module in group.actor_modules:
        importlib.import_module(module)


def current_group() -> WorkerGroup | None:
    """The group this process was booted as, or None in a producer."""
    return _current_group
