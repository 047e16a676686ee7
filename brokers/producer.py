"""Enqueue by actor name, as an operator or another service does.

Another Python service needs neither our actor modules nor our settings: it
can build the same message with ``dramatiq.Message`` (see docs/messages.md).
This module is what ``atr send`` and ``atr ping`` use.
"""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Mapping
from typing import Any

import dramatiq
from dramatiq.brokers.redis import RedisBroker
from dramatiq.errors import ActorNotFound

from pipeline.errors import UnknownActorError
from pipeline.payload import check_call

__all__ = ["check_payload", "find_actor", "send"]


def find_actor(broker: RedisBroker, name: str) -> dramatiq.Actor[Any, Any]:
    """The actor called ``name``; UnknownActorError lists the declared ones."""
    try:
        actor: dramatiq.Actor[Any, Any] = broker.get_actor(name)
    except ActorNotFound:
        known = sorted(broker.get_declared_actors())
        close = difflib.get_close_matches(name, known, n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        raise UnknownActorError(f"unknown actor {name!r}{hint}; actors: {', '.join(known)}"
                                ) from None
    return actor


def check_payload(actor: dramatiq.Actor[Any, Any], kwargs: Mapping[str, Any]) -> None:
    """Raise PayloadError when ``kwargs`` cannot be bound to the actor's parameters.

    Keys only: values (types, ranges) are checked on the worker
    (``middleware.payload``, then the actor), as for any other producer.
    """
    check_call(inspect.unwrap(actor.fn), actor.actor_name, (), kwargs, types=False)


def send(broker: RedisBroker, actor_name: str, kwargs: Mapping[str, Any], *,
         delay_ms: int | None = None,
         options: Mapping[str, Any] | None = None) -> dramatiq.Message[Any]:
    """Check the payload against the actor's signature and enqueue it.

    ``options`` are message options (``max_age`` in ms, ``max_retries``, ...).
    """
    actor = find_actor(broker, actor_name)
    check_payload(actor, kwargs)
    message: dramatiq.Message[Any] = actor.send_with_options(kwargs=dict(kwargs),
                                                             delay=delay_ms,
                                                             **dict(options or {}))
    return message
