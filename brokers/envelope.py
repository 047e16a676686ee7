"""Decode a fetched body defensively: a well-formed Dramatiq message, or the reason it is not.

Dramatiq's ``Message.decode`` turns any JSON object with the right keys into
a message and leaves the rest to crash later: a consumer thread on a body
that is not JSON or not an object, a worker thread (``options`` a list), the
ack (no ``options.redis_message_id``), AgeLimit (a ``message_timestamp``
that is not a number). :func:`check` refuses all of these before anything
runs, with a short reason (:data:`REASONS`) that the consumer stores with the
moved-aside body.
"""

from __future__ import annotations

import json
import math
from collections.abc import Container
from dataclasses import dataclass
from typing import Any, Final

from dramatiq import Message

from pipeline.escape import shown

__all__ = ["REASONS", "Refusal", "check", "shown"]

#: Every reason a body can be refused for, and what it means.
REASONS: Final = {
    "no_body": "the queue lists the id but its hash has no message for it",
    "too_large": "the body is over ATR_ENVELOPE_MAX_BYTES",
    "not_json": "the body is not UTF-8 JSON (or is cut short)",
    "too_deep": "the JSON is nested too deep to decode",
    "not_object": "the JSON is not an object",
    "unknown_field": "the object has a field a Dramatiq message does not have",
    "bad_field": "a field is missing or has the wrong type",
    "wrong_queue": "queue_name is not the queue the body was fetched from",
    "bad_redis_message_id": "options.redis_message_id is missing or not the id it was "
                            "queued under",
    "bad_option": "a Dramatiq option (retries, max_retries, time_limit, ...) is not a number",
    "undefined_actor": "no actor of that name is declared in this worker group",
}
_FIELDS: Final = frozenset({"queue_name", "actor_name", "args", "kwargs", "options",
                            "message_id", "message_timestamp"})
#: Options that Dramatiq's middleware do arithmetic with: whole numbers when present.
_WHOLE_OPTIONS: Final = ("retries", "max_retries", "time_limit", "max_age", "min_backoff",
                         "max_backoff")


@dataclass(frozen=True)
class Refusal:
    """Why a body is not a message: one of :data:`REASONS` and a detail (escaped, bounded)."""

    reason: str
    detail: str
    message_id: str | None = None
    actor: str | None = None


def check(body: bytes | None, queue: str, redis_id: str, max_bytes: int,
          actors: Container[str]) -> Message[Any] | Refusal:
    """The message in ``body`` fetched from ``queue`` under ``redis_id``, or a Refusal."""
    if body is None:
        return Refusal("no_body", f"id {shown(redis_id)} has no entry in the queue's hash")
    if len(body) > max_bytes:
        return Refusal("too_large", f"{len(body)} bytes, the limit is {max_bytes}")
    try:
        fields = json.loads(body)
    except RecursionError:
        return Refusal("too_deep", "JSON nested deeper than the decoder allows")
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError
        return Refusal("not_json", shown(str(exc)))
    if not isinstance(fields, dict):
        return Refusal("not_object", f"a JSON {type(fields).__name__}")
    problem = _problem(fields, queue, redis_id)
    actor = fields.get("actor_name")
    if problem is None and actor not in actors:
        problem = "undefined_actor", f"actor {shown(actor)}"
    if problem is not None:
        # Escaped only for a refusal: a good message is never shown.
        message_id = fields.get("message_id")
        return Refusal(problem[0], problem[1],
                       shown(message_id) if isinstance(message_id, str) else None,
                       shown(actor) if isinstance(actor, str) else None)
    fields["args"] = tuple(fields["args"])
    return Message(**fields)


def _problem(fields: dict[str, Any], queue: str, redis_id: str) -> tuple[str, str] | None:
    unknown = fields.keys() - _FIELDS
    if unknown:
        return "unknown_field", "fields " + ", ".join(sorted(shown(k) for k in unknown))
    for name, kind in (("actor_name", str), ("queue_name", str), ("message_id", str),
                       ("args", list), ("kwargs", dict), ("options", dict)):
        if not isinstance(fields.get(name), kind):
            return "bad_field", f"{name} must be a JSON {_JSON_NAMES[kind]}, got " \
                                f"{_kind(fields.get(name), name in fields)}"
    stamp = fields.get("message_timestamp")
    if not _is_number(stamp):
        return "bad_field", ("message_timestamp must be a number of milliseconds, got "
                             f"{_kind(stamp, 'message_timestamp' in fields)}")
    if fields["queue_name"] != queue:
        return "wrong_queue", f"queue_name {shown(fields['queue_name'])}, fetched from {queue}"
    options = fields["options"]
    if options.get("redis_message_id") != redis_id:
        return "bad_redis_message_id", (f"options.redis_message_id is "
                                        f"{shown(options.get('redis_message_id'))}, queued as "
                                        f"{shown(redis_id)}")
    for name in _WHOLE_OPTIONS:
        value = options.get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                  or value < 0):
            return "bad_option", f"options.{name} must be a whole number >= 0, got {shown(value)}"
    eta = options.get("eta")
    if eta is not None and not _is_number(eta):
        return "bad_option", f"options.eta must be a number of milliseconds, got {shown(eta)}"
    return None


_JSON_NAMES: Final = {str: "string", list: "array", dict: "object"}


def _is_number(value: object) -> bool:
    return (isinstance(value, int | float) and not isinstance(value, bool)
            and math.isfinite(value))


def _kind(value: object, present: bool) -> str:
    return f"{type(value).__name__} {shown(value)}" if present else "nothing"
