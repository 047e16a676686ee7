"""How every atr-workers actor is declared: the queue checked, defaults in one place.

Actor modules mark their functions with :func:`job`; importing a module binds
nothing to any broker. ``brokers.boot`` then declares the marked functions of
its group's modules on the broker it built (:func:`declare_module`), so every
broker in a process (a worker, a producer, each test) gets its own actors.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import dramatiq
from dramatiq import Actor
from dramatiq.broker import Broker

from actors import peers
from middleware.deferral import RequeueAfter
from middleware.doclog import DOCLOG_STREAM_OPTION
from pipeline import doclog, names
from pipeline.errors import (
    ConfigError,
    Deferred,
    OutageError,
    PeerMisconfigured,
    PermanentError,
)
from pipeline.payload import check_call

__all__ = ["ACTOR_DEFAULTS", "atr_actor", "declare_module", "job"]

F = TypeVar("F", bound=Callable[..., Any])

#: Options every actor gets unless it says otherwise. ``throws``: a
#: PermanentError (bad payload, unknown post) is dead-lettered at once.
ACTOR_DEFAULTS: dict[str, Any] = {
    "throws": (PermanentError,),
    "time_limit": 10 * 60_000,
}


@dataclass(frozen=True)
class _JobSpec:
    fn: Callable[..., Any]
    queue: str
    name: str
    options: dict[str, Any] = field(default_factory=dict)
    uses: tuple[str, ...] = ()


_JOBS: dict[str, list[_JobSpec]] = {}


def job(*, queue: str, name: str | None = None, uses: tuple[str, ...] = (),
        **options: Any) -> Callable[[F], F]:
    """Mark a function of an actor module as an actor on ``queue`` (declared at boot).

    ``uses`` names the peers the job needs (``"wordpress"``): while one is
    paused (:mod:`actors.peers`) its messages wait instead of running. The
    function is returned unchanged; the queue and peers are checked now, the
    options when the actor is declared.
    """
    _check_queue(queue)
    needs = peers.check_peers(uses)

    def decorator(fn: F) -> F:
        _JOBS.setdefault(fn.__module__, []).append(
            _JobSpec(fn, queue, name or fn.__name__, dict(options), needs))
        return fn

    return decorator


def declare_module(broker: Broker, module: str) -> list[Actor[Any, Any]]:
    """Import ``module`` and declare the functions it marked with :func:`job` on ``broker``."""
    importlib.import_module(module)
    return [atr_actor(queue=spec.queue, name=spec.name, broker=broker, uses=spec.uses,
                      **spec.options)(spec.fn)
            for spec in _JOBS.get(module, [])]


def atr_actor(*, queue: str, broker: Broker, name: str | None = None,
              uses: tuple[str, ...] = (),
              **options: Any) -> Callable[[Callable[..., Any]], Actor[Any, Any]]:
    """Declare an actor on ``queue`` of ``broker`` now, with the project's defaults.

    The actor's doclog stream is its ``doclog_stream`` option or else its name,
    and must be a valid stream name (checked here, so a bad one fails at boot).
    """
    _check_queue(queue)
    merged = {**ACTOR_DEFAULTS, **options}

    def decorator(fn: Callable[..., Any]) -> Actor[Any, Any]:
        actor_name = name or fn.__name__
        stream = merged.get(DOCLOG_STREAM_OPTION) or actor_name
        if not isinstance(stream, str) or not doclog.is_valid_stream(stream):
            raise ConfigError(f"actor {actor_name!r}: doclog stream {stream!r} must be 1-64 "
                              f"characters of a-z 0-9 _; set {DOCLOG_STREAM_OPTION}=...")
        declare = dramatiq.actor(actor_name=actor_name, queue_name=queue,
                                 broker=broker, **merged)
        actor: Actor[Any, Any] = declare(_checked(fn, actor_name, peers.check_peers(uses)))
        return actor

    return decorator


def _checked(fn: Callable[..., Any], actor_name: str,
             uses: tuple[str, ...] = ()) -> Callable[..., Any]:
    """``fn`` raising PayloadError (dead-letter at once) for arguments it cannot take,
    and a :class:`RequeueAfter` for a :class:`Deferred` (wait, no retry used): also
    for a peer of ``uses`` that is paused, a peer's outage within its budget
    and a peer's misconfiguration (which pauses it; see :mod:`actors.peers`).

    A producer that misspells a keyword would otherwise get a TypeError, which
    Dramatiq retries like any failure although no retry can help. The check is
    :func:`pipeline.payload.check_call` (keys and types, no coercion).
    """
    @functools.wraps(fn)
    def checked(*args: Any, **kwargs: Any) -> Any:
        # In a worker, middleware.payload.PayloadGuard made the same check
        # already; this one covers a direct call of the actor.
        check_call(fn, actor_name, args, kwargs)
        try:
            peers.check_pauses(uses, actor_name)
            return fn(*args, **kwargs)
        except Deferred as exc:
            # Waiting for a shared budget is not a failure: DeferringRetries
            # re-enqueues it without using up a retry.
            raise RequeueAfter.of(exc) from None
        except PeerMisconfigured as exc:
            # Every message would fail alike: pause the peer's jobs, keep this one.
            raise RequeueAfter.of(peers.on_misconfigured(exc, actor_name)) from None
        except OutageError as exc:
            wait = peers.on_outage(exc)
            if wait is None:
                raise  # past the outage budget: Dramatiq's retries, then dead letters
            raise RequeueAfter.of(wait) from None

    return checked


def _check_queue(queue: str) -> None:
    if queue not in names.ALL_QUEUES:
        raise ConfigError(f"queue {queue!r} is not in the group table; "
                          f"queues: {', '.join(names.ALL_QUEUES)}")
