"""How every atr-workers actor is declared: the queue checked, defaults in one place."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import dramatiq
import dramatiq.broker
from dramatiq import Actor
from dramatiq.broker import Broker

from middleware.doclog import DOCLOG_STREAM_OPTION
from pipeline import doclog, names
from pipeline.errors import ConfigError, PermanentError

__all__ = ["ACTOR_DEFAULTS", "atr_actor"]

F = TypeVar("F", bound=Callable[..., Any])

#: Options every actor gets unless it says otherwise. ``throws``: a
#: PermanentError (bad payload, unknown post) is dead-lettered at once.
ACTOR_DEFAULTS: dict[str, Any] = {
    "throws": (PermanentError,),
    "time_limit": 10 * 60_000,
}


def atr_actor(
    *, queue: str, name: str | None = None, broker: Broker | None = None, **options: Any
) -> Callable[[F], Actor[Any, Any]]:
    """Declare an actor on ``queue`` with the project's defaults.

    The broker must already be set by ``brokers.boot``; importing an actor module
    before that would bind it to Dramatiq's implicit localhost broker. The
    actor's doclog stream is its ``doclog_stream`` option or else its name,
    and must be a valid stream name (checked here, so a bad one fails at boot).
    """
    if queue not in names.ALL_QUEUES:
        raise ConfigError(f"queue {queue!r} is not in the group table; "
                          f"queues: {', '.join(names.ALL_QUEUES)}")
    if broker is None:
        if dramatiq.broker.global_broker is None:
            raise ConfigError("actor modules are imported by brokers.boot after the broker "
                              "is built; import brokers.worker1/worker2 or call "
                              "brokers.boot.producer_broker() first")
        broker = dramatiq.get_broker()
    merged = {**ACTOR_DEFAULTS, **options}

    def decorator(fn: F) -> Actor[Any, Any]:
        actor_name = name or fn.__name__
        stream = merged.get(DOCLOG_STREAM_OPTION) or actor_name
        if not isinstance(stream, str) or not doclog.is_valid_stream(stream):
            raise ConfigError(f"actor {actor_name!r}: doclog stream {stream!r} must be 1-64 "
                              f"characters of a-z 0-9 _; set {DOCLOG_STREAM_OPTION}=...")
        declare = dramatiq.actor(actor_name=actor_name, queue_name=queue,
                                 broker=broker, **merged)
        actor: Actor[Any, Any] = declare(fn)
        return actor

    return decorator
