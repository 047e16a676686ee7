"""Scrub secrets from log records before any handler writes them (the journal).

Dramatiq logs a failed message with its arguments and the exception text;
those may carry a key or a password. :func:`install` puts a
:class:`RedactingFilter` on every handler of the root logger, so whatever any
library logs passes the same :class:`~pipeline.redact.Redactor` as the doclog.
"""

from __future__ import annotations

import logging

from pipeline.redact import Redactor

__all__ = ["RedactingFilter", "install"]

_FORMATTER = logging.Formatter()


class RedactingFilter(logging.Filter):
    """Rewrites a record's message and traceback text with secrets replaced."""

    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self._redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
            clean = self._redactor.text(message)
            if clean != message:
                record.msg, record.args = clean, None
            if record.exc_info and not record.exc_text:
                record.exc_text = _FORMATTER.formatException(record.exc_info)
            if record.exc_text:
                record.exc_text = self._redactor.text(record.exc_text)
            if record.stack_info:
                record.stack_info = self._redactor.text(record.stack_info)
        except Exception:  # noqa: BLE001, S110 -- boundary: never lose a log line to this
            pass
        return True


def install(redactor: Redactor) -> None:
    """Add the filter to every handler of the root logger (once per handler)."""
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter(redactor))
