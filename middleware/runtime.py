"""What a booted process runs with: its settings, its group and its broker's Redis.

Boot (``brokers.boot``) writes it; actors read it with :func:`current`, so an
actor never reaches up to the floor that imports it. Each broker carries its
own :class:`Runtime` in a :class:`BindRuntime` middleware that binds it for
the message being processed: brokers with other settings in the same process
(tests, benches) stay apart. Outside a message (a direct call in a booted
process) the process's runtime answers.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import dramatiq
import redis
from dramatiq.broker import MessageProxy
from dramatiq.middleware import Middleware

from pipeline.errors import ConfigError
from pipeline.groups import WorkerGroup
from pipeline.settings import Settings

__all__ = ["BindRuntime", "Runtime", "current", "install", "of_broker"]


@dataclass(frozen=True)
class Runtime:
    """The settings, group (None in a producer) and broker Redis client of one broker."""

    settings: Settings
    group: WorkerGroup | None
    #: The broker's own client: locks, memos and proposals live beside the queues.
    redis: redis.Redis


_process: Runtime | None = None
_message: ContextVar[Runtime | None] = ContextVar("atr_runtime", default=None)


def install(runtime: Runtime) -> None:
    """Make ``runtime`` this process's (boot calls this once the broker is built)."""
    global _process
    _process = runtime


def current() -> Runtime:
    """The runtime of the message being processed, else of the process; ConfigError if none."""
    runtime = _message.get() or _process
    if runtime is None:
        raise ConfigError("no settings: the process was not booted through brokers.boot")
    return runtime


def of_broker(broker: dramatiq.Broker) -> Runtime:
    """The runtime ``broker`` was built with."""
    for middleware in broker.middleware:
        if isinstance(middleware, BindRuntime):
            return middleware.runtime
    raise ConfigError("this broker was not built by brokers.broker.build_broker")


class BindRuntime(Middleware):
    """Binds the broker's :class:`Runtime` while a worker thread processes a message."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def before_process_message(self, broker: dramatiq.Broker, message: MessageProxy) -> None:
        _message.set(self.runtime)

    def after_process_message(self, broker: dramatiq.Broker, message: MessageProxy, *,
                              result: Any = None, exception: BaseException | None = None,
                              ) -> None:
        _message.set(None)

    def after_skip_message(self, broker: dramatiq.Broker, message: MessageProxy) -> None:
        _message.set(None)
