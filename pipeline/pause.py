"""Pause flags: the jobs that use a peer (WordPress) wait while its configuration is wrong.

A revoked Application Password (401), a bot user without the right role
(403) or a wrong ``BRIDGE_BASE`` (404 on every route) fails every message of
every job that uses WordPress in the same way; dead-lettering each one makes
an operator re-send them all afterwards. Instead the first such failure sets
the peer's pause flag, ``atr:pause:<peer>`` (a Redis hash: ``reason``,
``since``, ``actor``, and ``probed``/``probe_error`` of the last probe), and
the job types that declare the peer defer their messages while it is set
(no retry used, nothing dead-lettered).

The flag is cleared by ``atr pause clear <peer>``, or by itself: a paused
message that comes back at least :data:`PROBE_INTERVAL_S` after the last
probe probes the peer once (one message per interval across every worker,
:meth:`PauseStore.claim_probe`), and a probe that succeeds clears the flag
and lets the message run. ``atr health`` shows every flag as CRIT.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

import redis

from pipeline import keys

__all__ = ["PAUSE_PEERS", "PROBE_INTERVAL_S", "Pause", "PauseStore"]

#: The peers a job type can declare (``job(uses=...)``) and be paused for.
PAUSE_PEERS: Final = ("wordpress",)
#: Seconds between two probes of a paused peer (across every worker).
PROBE_INTERVAL_S: Final = 60


@dataclass(frozen=True)
class Pause:
    """A set pause flag: why, since when (RFC 3339, UTC), which actor set it, the last probe."""

    peer: str
    reason: str
    since: str
    actor: str = ""
    probed: str = ""
    probe_error: str = ""


class PauseStore:
    """The pause flags in Redis. Thread-safe."""

    def __init__(self, client: redis.Redis) -> None:
        self.client = client

    def get(self, peer: str) -> Pause | None:
        """The flag of ``peer``, or None when its jobs run."""
        raw = self.client.hgetall(keys.pause(peer))
        if not raw:
            return None
        data = {_text(k): _text(v) for k, v in raw.items()}
        return Pause(peer, data.get("reason", ""), data.get("since", ""), data.get("actor", ""),
                     data.get("probed", ""), data.get("probe_error", ""))

    def all(self) -> list[Pause]:
        """Every set flag, by peer."""
        return [p for p in (self.get(peer) for peer in PAUSE_PEERS) if p is not None]

    def pause(self, peer: str, reason: str, actor: str) -> Pause:
        """Set the flag of ``peer`` (its first ``since`` and ``actor`` are kept); the flag."""
        key = keys.pause(peer)
        pipe = self.client.pipeline()
        pipe.hsetnx(key, "since", _now())
        pipe.hsetnx(key, "actor", actor)
        pipe.hset(key, "reason", reason)
        pipe.execute()
        found = self.get(peer)
        assert found is not None  # just written
        return found

    def record_probe(self, peer: str, error: str) -> None:
        """Note a failed probe of ``peer`` (the flag stays)."""
        key = keys.pause(peer)
        if self.client.exists(key):
            self.client.hset(key, mapping={"probed": _now(), "probe_error": error})

    def clear(self, peer: str) -> bool:
        """Remove the flag of ``peer``; whether there was one."""
        return bool(self.client.delete(keys.pause(peer)))

    def claim_probe(self, peer: str, interval_s: int = PROBE_INTERVAL_S) -> bool:
        """Whether the caller may probe ``peer`` now: at most once per ``interval_s``."""
        return bool(self.client.set(keys.pause_probe(peer), "1", nx=True, ex=interval_s))


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
