"""Scrub, escape and bound log records before any handler writes them (the journal).

Dramatiq logs a failed or skipped message with its arguments (``Message
ping_seo(token='...') was skipped.``) and the exception text; those come
from whoever wrote the message, and may carry a key or a password, a newline
that would forge a journal line of its own, a NUL, a U+202E that reorders
what a terminal shows, or 100,000 characters. :func:`install` puts a
:class:`RedactingFilter` on every handler of the root logger, so whatever any
library logs is, before it is formatted:

- **bounded**: each argument of the record to :data:`VALUE_MAX` characters
  (its ``str`` or ``repr``, as the format asks), the message to
  :data:`LINE_MAX`, a traceback to :data:`TRACE_LINES` lines of
  :data:`VALUE_MAX` * 2 characters;
- **scrubbed** by the same :class:`~pipeline.redact.Redactor` as the doclog;
- **escaped**: control and format characters (:data:`pipeline.text.UNSAFE_CHARS`)
  shown as ``\\n``, ``\\x00``, ``\\u202e``; a traceback keeps its line breaks
  but every line of it is indented, so none can pass for a record.

An argument whose ``str`` fails (Dramatiq's message with a ``kwargs`` that is
not an object) is shown by its ``repr`` instead of losing the line.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, Final

from pipeline.redact import Redactor
from pipeline.text import escape_unsafe, shorten

__all__ = ["LINE_MAX", "TRACE_LINES", "VALUE_MAX", "RedactingFilter", "install", "safe_text"]

#: Longest argument of a record shown, in characters.
VALUE_MAX: Final = 400
#: Longest message of a record, in characters (the traceback is bounded apart).
LINE_MAX: Final = 2000
#: Most traceback lines kept (the last ones: the exception is at the end).
TRACE_LINES: Final = 120
_TRACE_INDENT: Final = "  "

_FORMATTER = logging.Formatter()


class RedactingFilter(logging.Filter):
    """Rewrites a record's message and traceback: bounded, secrets replaced, escaped."""

    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self._redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = _format(record, self._redactor)
            record.msg, record.args = safe_text(message, self._redactor, LINE_MAX), None
            if record.exc_info and not record.exc_text:
                record.exc_text = _FORMATTER.formatException(record.exc_info)
            if record.exc_text:
                record.exc_text = _trace(record.exc_text, self._redactor)
            if record.stack_info:
                record.stack_info = _trace(record.stack_info, self._redactor)
        except Exception:  # noqa: BLE001, S110 -- boundary: never lose a log line to this
            pass
        return True


def safe_text(text: str, redactor: Redactor, limit: int) -> str:
    """``text`` scrubbed, escaped and cut to ``limit`` characters: fit for one log line."""
    return shorten(escape_unsafe(redactor.text(text)), limit)


def install(redactor: Redactor) -> None:
    """Add the filter to every handler of the root logger (once per handler)."""
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter(redactor))


class _Shown:
    """One record argument as ``%s`` or ``%r`` would show it, scrubbed and bounded."""

    __slots__ = ("_redactor", "_value")

    def __init__(self, value: Any, redactor: Redactor) -> None:
        self._value = value
        self._redactor = redactor

    def __str__(self) -> str:
        try:
            text = str(self._value)
        except Exception:  # noqa: BLE001 -- a broken __str__ (a malformed message): use repr
            return self.__repr__()
        return self._bound(text)

    def __repr__(self) -> str:
        try:
            text = repr(self._value)
        except Exception:  # noqa: BLE001 -- boundary: never lose the line to a broken repr
            text = f"<{type(self._value).__name__} that cannot be shown>"
        return self._bound(text)

    def _bound(self, text: str) -> str:
        # Scrubbed before the cut, so no part of a secret survives at the edge.
        return shorten(self._redactor.text(text), VALUE_MAX)


def _format(record: logging.LogRecord, redactor: Redactor) -> str:
    args = record.args
    msg = str(record.msg)
    if not args:
        return msg
    shown: Any
    if isinstance(args, Mapping):
        shown = {key: _wrap(value, redactor) for key, value in args.items()}
    else:
        shown = tuple(_wrap(value, redactor) for value in args)
    try:
        return str(msg % shown)
    except (TypeError, ValueError, KeyError):
        # A format that does not fit its arguments: say so, with both.
        return f"{msg} (arguments: {', '.join(map(repr, shown))})" if isinstance(shown, tuple) \
            else f"{msg} (arguments: {shown!r})"


def _wrap(value: Any, redactor: Redactor) -> Any:
    # Numbers stay numbers for %d and %.2f; everything else is shown bounded.
    return value if isinstance(value, int | float) else _Shown(value, redactor)


def _trace(text: str, redactor: Redactor) -> str:
    lines = redactor.text(text).rstrip("\n").split("\n")
    cut = len(lines) - TRACE_LINES
    if cut > 0:
        lines = [f"({cut} traceback lines left out)", *lines[cut:]]
    return "\n".join(_TRACE_INDENT + shorten(escape_unsafe(line), VALUE_MAX * 2)
                     for line in lines)
