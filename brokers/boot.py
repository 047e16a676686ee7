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
from pipeline import log_redaction
from pipeline.errors import AtrError, ConfigError
from pipeline.groups import GROUPS, WorkerGroup, get_group
from pipeline.redact import Redactor
from pipeline.settings import Settings, load_settings

__all__ = [
    "boot_group",
    "current_group",
    "current_settings",
    "declare_group_actors",
    "producer_broker",
]

logger = logging.getLogger(__name__)

_current_group: WorkerGroup | None = None
_current_settings: Settings | None = None


def boot_group(name: str) -> RedisBroker:
    """Build the broker of worker group ``name`` and declare exactly its actors.

    Called by the entrypoint modules that the dramatiq CLI imports in each worker
    process. A configuration error ends the process with one line and exit code 2
    (the dramatiq master then stops the group; systemd restarts it).
    """
    global _current_group, _current_settings
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
    _current_group = group
    _current_settings = settings
    declare_group_actors(broker, group, worker=True)
    return broker


def producer_broker(settings: Settings) -> RedisBroker:
    """A broker that knows every group's actors, for enqueueing by name (``atr send``).

    Its settings become :func:`current_settings`, so an in-process worker on
    this broker (tests, benches) runs the actors with them.
    """
    global _current_settings
    _current_settings = settings
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
        declare_module(broker, module)


def current_settings() -> Settings:
    """The settings this process was booted with; actors read their configuration here."""
    if _current_settings is None:
        raise ConfigError("no settings: the process was not booted through brokers.boot")
    return _current_settings


def current_group() -> WorkerGroup | None:
    """The group this process was booted as, or None in a producer."""
    return _current_group
