"""The project's exception tree.

Every exception raised on purpose by atr-workers derives from :class:`AtrError`.
Classes are marked *permanent* (retrying cannot help: the message is failed at
once and lands in the dead-letter queue) or *transient* (a retry may succeed).
"""

from __future__ import annotations

__all__ = [
    "AtrError",
    "ConfigError",
    "Deferred",
    "OutageError",
    "PayloadError",
    "PeerMisconfigured",
    "PermanentError",
    "RedisUnreachable",
    "RenderError",
    "TransientError",
    "UnknownActorError",
    "UnknownGroupError",
]


class AtrError(Exception):
    """Base class of every error raised on purpose by atr-workers."""


class PermanentError(AtrError):
    """Raised when retrying cannot help; the message is dead-lettered at once."""


class TransientError(AtrError):
    """Raised when a later attempt may succeed (timeouts, 5xx, 429)."""


class OutageError(TransientError):
    """Raised when a peer service is down (refused, timed out, 5xx); ``peer`` names it.

    Waited out for the peer's outage budget (``ATR_WP_OUTAGE_BUDGET_S``) with
    growing back-off before the usual retries count (``actors.base``).
    """

    peer: str = ""


class PeerMisconfigured(PermanentError):
    """Raised when a peer refuses our configuration (credentials, role, address): ``peer``.

    Every message of every job using the peer would fail the same way, so the
    job types are paused (:mod:`pipeline.pause`) rather than each message
    dead-lettered; outside a worker it is a plain permanent error.
    """

    peer: str = ""


class ConfigError(AtrError):
    """Raised when a setting is missing or invalid; the message names the variable."""


class PayloadError(PermanentError):
    """Raised when a message's payload can never succeed (wrong type, missing field)."""


class RenderError(PermanentError):
    """Raised when a thumbnail cannot be rendered from its inputs (missing or unreadable file)."""


class UnknownGroupError(AtrError):
    """Raised when a worker group name is not in the group table."""


class UnknownActorError(AtrError):
    """Raised when an actor name is not declared by any worker group."""


class Deferred(AtrError):
    """Raised when work must wait for a shared budget; re-enqueued after ``delay_ms``.

    Not a failure: the message keeps its retry count and its doclog line is
    ``deferred``. ``reason`` says what it waits for (no secrets, no prompt text).
    """

    def __init__(self, reason: str, delay_ms: int) -> None:
        super().__init__(f"{reason}; retrying in {delay_ms} ms")
        self.reason = reason
        self.delay_ms = delay_ms


class RedisUnreachable(AtrError):
    """Raised when Redis does not answer; the message names the redacted URL."""
