"""One readable terminal line per doclog record, for ``doclog_today`` and ``doclog_tail``.

::

    14:03:21.123  succeeded     ping_seo            3f2a9c1e  #1     12.3ms
    14:03:21.456  failed        ping_seo            77ab01c4  #2      1.20s  TransientError: ...
    14:03:22.001  seo.proposed  seo_propose         3f2a9c1e  #1            post_id=42 tags=[...]

The event is coloured on a terminal: green ``succeeded``; yellow ``failed``,
``deferred`` and ``skipped``; red ``dead``, ``rejected`` and unreadable lines;
cyan domain events. ``NO_COLOR`` (https://no-color.org) or ``TERM=dumb``
turns colour off.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import date
from typing import Any, Final, TextIO
from zoneinfo import ZoneInfo

from pipeline.doclog import (
    EVENT_DEAD,
    EVENT_DEFERRED,
    EVENT_FAILED,
    EVENT_REJECTED,
    EVENT_SKIPPED,
    EVENT_STARTED,
    EVENT_SUCCEEDED,
    FIXED_KEYS,
    Record,
)
from pipeline.text import escape_unsafe

__all__ = ["format_record", "wants_colour"]

_GREEN: Final = "32"
_YELLOW: Final = "33"
_RED: Final = "31"
_CYAN: Final = "36"
_COLOURS: Final[Mapping[str, str | None]] = {
    EVENT_STARTED: None,
    EVENT_SUCCEEDED: _GREEN,
    EVENT_FAILED: _YELLOW,
    EVENT_DEFERRED: _YELLOW,
    EVENT_SKIPPED: _YELLOW,
    EVENT_DEAD: _RED,
    EVENT_REJECTED: _RED,
}
_EVENT_WIDTH: Final = 12
_ACTOR_WIDTH: Final = 18
_STREAM_WIDTH: Final = 16
_ID_CHARS: Final = 8
_ERROR_CHARS: Final = 160
_VALUE_CHARS: Final = 120
_UNREADABLE: Final = "unreadable"
_NO_TIME: Final = "??:??:??.???"
#: Shown by the columns already, so not repeated as k=v.
_SHOWN: Final = frozenset((*FIXED_KEYS, "duration_ms", "error"))
_BARE_VALUE: Final = re.compile(r'[^\s"=]+')


def wants_colour(stream: TextIO, environ: Mapping[str, str]) -> bool:
    """Whether to colour: ``stream`` is a terminal, NO_COLOR is unset or empty, TERM is not dumb."""
    return stream.isatty() and not environ.get("NO_COLOR") and environ.get("TERM") != "dumb"


def format_record(record: Record, zone: ZoneInfo, today: date, *, colour: bool = False,
                  show_stream: bool = False) -> str:
    """The record as one line; the date is shown only for a day other than ``today``."""
    fields = record.fields
    if fields is None:
        head = [_NO_TIME, *([record.stream.ljust(_STREAM_WIDTH)] if show_stream else []),
                _paint(_UNREADABLE, _RED, colour)]
        text = _short(record.raw.decode("utf-8", "replace"), _VALUE_CHARS)
        return "  ".join([*head, f"{record.where()}: {record.problem}"]) \
            + (f": {text}" if text else "")
    event = str(fields.get("event") or "?")
    parts = [_when(record, zone, today)]
    if show_stream:
        parts.append(record.stream.ljust(_STREAM_WIDTH))
    domain = event not in _COLOURS
    parts += [
        _paint(event, _CYAN if domain else _COLOURS[event], colour),
        _text(fields.get("actor")).ljust(_ACTOR_WIDTH),
        _text(fields.get("message_id"))[:_ID_CHARS].ljust(_ID_CHARS),
        _attempt(fields.get("attempt")),
        _duration(fields.get("duration_ms")).rjust(8),
    ]
    if fields.get("error") is not None:
        parts.append(_short(_text(fields["error"]), _ERROR_CHARS))
    if domain:
        parts.append(" ".join(f"{k}={_value(v)}" for k, v in fields.items() if k not in _SHOWN))
    return "  ".join(parts).rstrip()


def _when(record: Record, zone: ZoneInfo, today: date) -> str:
    ts = record.ts
    if ts is None:
        return _NO_TIME
    local = ts.astimezone(zone)
    clock = f"{local:%H:%M:%S}.{local.microsecond // 1000:03d}"
    return clock if local.date() == today else f"{local:%Y-%m-%d} {clock}"


def _paint(event: str, code: str | None, colour: bool) -> str:
    # Padded outside the escape codes, so columns line up with and without colour.
    pad = " " * max(0, _EVENT_WIDTH - len(event))
    return (f"\033[{code}m{event}\033[0m" if colour and code else event) + pad


def _attempt(value: Any) -> str:
    return (f"#{value}" if isinstance(value, int) else "").ljust(3)


def _duration(value: Any) -> str:
    if not isinstance(value, int | float) or isinstance(value, bool):
        return ""
    return f"{value:.1f}ms" if value < 1000 else f"{value / 1000:.2f}s"


def _text(value: Any) -> str:
    # Escaped: a producer's actor name or message id could carry a terminal escape.
    return "-" if value is None else escape_unsafe(" ".join(str(value).split()))


def _value(value: Any) -> str:
    if isinstance(value, str) and _BARE_VALUE.fullmatch(value):
        return _short(value, _VALUE_CHARS)
    return _short(json.dumps(value, ensure_ascii=False, separators=(",", ":")), _VALUE_CHARS)


def _short(text: str, limit: int) -> str:
    # Whitespace runs become one space; what is left of control, bidi and other
    # format characters (NUL, ESC, U+202E) is shown as escapes, never sent raw
    # to the operator's terminal.
    text = escape_unsafe(" ".join(text.split()))
    return text if len(text) <= limit else text[:limit - 1] + "…"
