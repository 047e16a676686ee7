"""Boot a worker group or a producer: settings, broker, then the actors.

Actor modules only mark their functions (``actors.base.job``); the group's
modules are declared here on the broker just built, so each broker in a
process gets its own actors.
"""

from __future__ import annotations

import logging

import dramatiq
from dramatiq.brokers.redis import RedisBroker

from actors import canary
from actors.base import declare_module
from brokers.broker import build_broker
from middleware import runtime
from pipeline import log_redaction
from pipeline.errors import AtrError
from pipeline.groups import GROUPS, WorkerGroup, get_group
from pipeline.redact import Redactor
from pipeline.settings import Settings, load_settings

__all__ = ["boot_group", "declare_group_actors", "producer_broker"]

logger = logging.getLogger(__name__)

def boot_group(name: str) -> RedisBroker:
    """Build the broker of worker group ``name`` and declare exactly its actors.

    Called by the entrypoint modules that the dramatiq CLI imports in each worker
    process. A configuration error ends the process with one line and exit code 2
    (the dramatiq master then stops the group; systemd restarts it).
    """
    try:
        settings = load_settings()
        group = get_group(name)
    except AtrError as exc:
        logger.critical("%s: %s", name, exc)
        raise SystemExit(2) from None
    broker = build_broker(settings, group)
    # The journal gets the same scrubbing as the doclog: Dramatiq logs failed
    # messages with their arguments and exception text.
    log_redaction.install(Redactor(settings.secrets()))
    dramatiq.set_broker(broker)
    runtime.install(runtime.of_broker(broker))
    declare_group_actors(broker, group, worker=True)
    return broker


def producer_broker(settings: Settings) -> RedisBroker:
    """A broker that knows every group's actors, for enqueueing by name (``atr send``).

    Its runtime becomes the process's (:mod:`middleware.runtime`), so an
    in-process worker on this broker (tests, benches) runs the actors with
    its settings.
    """
    broker = build_broker(settings)
    dramatiq.set_broker(broker)
    runtime.install(runtime.of_broker(broker))
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
        declare_module(broker, module)
