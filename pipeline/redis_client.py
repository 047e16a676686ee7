"""The one place a Redis client is made, with a timeout policy per purpose.

Every process talks to the same Redis (``REDIS_URL``): the broker's queues,
our keys (:mod:`pipeline.keys`), the operator's checks. What differs is how
long a call may block, so the caller names its purpose and the table below
decides:

=============== ======= ==== ==============================================
purpose         connect read why
=============== ======= ==== ==============================================
``broker``      5 s     30 s a worker's fetch and ack; keep-alive and a
                             health check every 30 s survive idle NATs
``cli``         5 s     30 s an operator command reading or writing state
``probe``       5 s     5 s  ``atr health`` and the Prometheus queue gauges:
                             a scrape or a cron check must not hang
``reachability`` 3 s    3 s  the PING before a command does real work
``http_health`` 2 s     2 s  the dashboard's ``/health`` answer to a balancer
=============== ======= ==== ==============================================
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

import redis

from pipeline.errors import RedisUnreachable
from pipeline.settings import redact_url

__all__ = ["Purpose", "RedisUnreachable", "check_reachable", "connect", "one_line"]

Purpose = Literal["broker", "cli", "probe", "reachability", "http_health"]


@dataclass(frozen=True)
class _Policy:
    connect_s: float
    read_s: float
    keepalive: bool = False
    health_check_s: int = 0


_POLICIES: Final[dict[str, _Policy]] = {
    "broker": _Policy(5.0, 30.0, keepalive=True, health_check_s=30),
    "cli": _Policy(5.0, 30.0),
    "probe": _Policy(5.0, 5.0),
    "reachability": _Policy(3.0, 3.0),
    "http_health": _Policy(2.0, 2.0),
}


def connect(url: str, purpose: Purpose, *, name: str | None = None,
            decode: bool = False) -> redis.Redis:
    """A client of ``url`` with ``purpose``'s timeouts; no connection is opened yet."""
    policy = _POLICIES[purpose]
    return redis.Redis.from_url(
        url, socket_connect_timeout=policy.connect_s, socket_timeout=policy.read_s,
        socket_keepalive=policy.keepalive or None, health_check_interval=policy.health_check_s,
        client_name=name, decode_responses=decode)


def check_reachable(url: str) -> None:
    """Raise RedisUnreachable unless Redis at ``url`` answers PING within a few seconds."""
    client = connect(url, "reachability")
    try:
        client.ping()
    except redis.RedisError as exc:
        raise RedisUnreachable(
            f"cannot reach Redis at {redact_url(url)} (REDIS_URL): "
            f"{one_line(exc)}; check that Redis runs and that REDIS_URL is right") from None
    finally:
        client.close()


def one_line(exc: BaseException | None) -> str:
    """``exc`` as one line of at most 200 characters, for an operator's message."""
    if exc is None:
        return "no detail"
    return (" ".join(str(exc).split()) or type(exc).__name__)[:200]
