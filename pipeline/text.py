"""Text helpers with no domain of their own: tags, HTML to plain text, text safe to log.

The LLM layer, the SEO quality guide and the WordPress tag client all compare
tags and read post bodies the same way, so the rules live here, below all three.

Values from a message (a producer's keys and strings) reach the worker log
and the doclog. :data:`UNSAFE_CHARS` are the characters that would let such
a value forge or hide text there: control characters (a newline starts a
new journal entry, NUL truncates some readers), Unicode format characters
(the bidi overrides such as U+202E reorder what a terminal shows; zero-width
ones hide text) and the line and paragraph separators.
:func:`escape_unsafe` shows them as escapes and :func:`shorten` bounds a value.
"""

from __future__ import annotations

import html
import re
import reprlib
import unicodedata
from typing import Any, Final

__all__ = ["UNSAFE_CHARS", "escape_unsafe", "normalise_tag", "plain_text", "quote_value",
           "shorten"]

#: Unicode categories Cc, Cf, Zl and Zp (Unicode 15, Python 3.11), as ranges;
#: tests/pipeline/test_text_safety.py keeps the list in step with unicodedata.
UNSAFE_CHARS: Final = re.compile(
    "[\x00-\x1f\x7f-\x9f\xad\u0600-\u0605\u061c\u06dd\u070f\u0890-\u0891\u08e2"
    "\u180e\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb"
    "\U000110bd\U000110cd\U00013430-\U00013438\U0001bca0-\U0001bca3"
    "\U0001d173-\U0001d17a\U000e0001\U000e0020-\U000e007f]")
_NAMED_ESCAPES: Final = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}

_SPACE: Final = re.compile(r"\s+")
_HTML_TAG: Final = re.compile(r"<[^>]+>")


def normalise_tag(tag: str) -> str:
    """The form two tags are compared in: NFC, trimmed, inner spaces collapsed, lower case."""
    return _SPACE.sub(" ", unicodedata.normalize("NFC", tag)).strip().lower()


def plain_text(content: str) -> str:
    """HTML (as WordPress stores a body) to plain text: tags dropped, entities decoded."""
    return _SPACE.sub(" ", html.unescape(_HTML_TAG.sub(" ", content))).strip()


def escape_unsafe(text: str) -> str:
    """``text`` with each :data:`UNSAFE_CHARS` character escaped (``\\n``, ``\\u202e``)."""
    if UNSAFE_CHARS.search(text) is None:
        return text
    return UNSAFE_CHARS.sub(_escape_char, text)


def shorten(text: str, limit: int) -> str:
    """``text`` cut to about ``limit`` characters, saying how many were left out."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}…(+{len(text) - limit} characters)"


def quote_value(value: Any, limit: int) -> str:
    """A ``repr`` of ``value`` for a message or a log line: bounded and escaped.

    Long strings and big containers are abbreviated as they are walked, so a
    100k-character value costs no more than a short one.
    """
    shown = _repr_of(limit).repr(value)
    return shorten(escape_unsafe(shown), limit)


def _escape_char(match: re.Match[str]) -> str:
    char = match.group()
    named = _NAMED_ESCAPES.get(char)
    if named is not None:
        return named
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 \
        else f"\\U{code:08x}"


def _repr_of(limit: int) -> reprlib.Repr:
    shown = reprlib.Repr()
    shown.maxstring = shown.maxother = max(8, limit)
    shown.maxlevel = 4
    shown.maxlist = shown.maxtuple = shown.maxdict = shown.maxset = 8
    return shown
