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
from html.parser import HTMLParser
from typing import Any, Final

__all__ = ["UNSAFE_CHARS", "escape_unsafe", "normalise_tag", "plain_text", "post_title",
           "quote_value", "shorten", "visible_html"]

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
    """HTML (as WordPress stores a body) to the text a reader sees.

    What a reader never sees is dropped first (:func:`visible_html`), then
    the tags; entities are decoded exactly once (``&amp;amp;`` is ``&amp;``).
    """
    return _SPACE.sub(" ", html.unescape(_HTML_TAG.sub(" ", visible_html(content)))).strip()


def post_title(raw: str) -> str:
    """A post's title as a reader sees it: tags dropped, entities decoded once, spaces collapsed.

    WordPress stores a title typed as ``A & B "C"`` as ``A &amp; B &quot;C&quot;``
    for most users; the LLM, the tags and the thumbnail want the former.
    """
    return plain_text(raw)


def visible_html(content: str) -> str:
    """``content`` without what a browser never shows a reader, otherwise unchanged.

    Dropped: ``<script>``, ``<style>``, ``<template>`` and their contents; HTML
    comments, so Gutenberg's block delimiters (``<!-- wp:paragraph -->``) too;
    any element with a ``hidden`` attribute, ``aria-hidden="true"`` or an inline
    style with ``display:none`` / ``visibility:hidden``, with all it contains
    (the classic place for hidden spam text). Tags, text and entities that are
    kept come out exactly as they went in: nothing is decoded here.
    """
    if "<" not in content:
        return content
    parser = _VisibleHtml()
    parser.feed(content)
    parser.close()
    return "".join(parser.out)


#: Elements whose content is never shown.
_NEVER_SHOWN: Final = frozenset({"script", "style", "template"})
#: Elements that have no end tag (they cannot contain anything to hide).
_VOID: Final = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link",
                          "meta", "source", "track", "wbr"})
_HIDDEN_STYLE: Final = re.compile(r"(?i)(?:display\s*:\s*none|visibility\s*:\s*hidden)")


class _VisibleHtml(HTMLParser):
    """Copies the input through, except hidden elements (counted by tag name) and comments."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.out: list[str] = []
        self._hidden_tag: str | None = None  # the element being dropped
        self._depth = 0  # nesting of that tag name inside itself

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self._hidden_tag is not None:
            if tag == self._hidden_tag:
                self._depth += 1
            return
        if tag not in _VOID and (tag in _NEVER_SHOWN or _hides(attrs)):
            self._hidden_tag, self._depth = tag, 1
            return
        self.out.append(self.get_starttag_text() or "")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self._hidden_tag is None and not _hides(attrs):
            self.out.append(self.get_starttag_text() or "")

    def handle_endtag(self, tag: str) -> None:
        if self._hidden_tag is not None:
            if tag == self._hidden_tag:
                self._depth -= 1
                if self._depth == 0:
                    self._hidden_tag = None
            return
        self.out.append(f"</{tag}>")

    def handle_data(self, data: str) -> None:
        if self._hidden_tag is None:
            self.out.append(data)

    def handle_entityref(self, name: str) -> None:
        if self._hidden_tag is None:
            self.out.append(f"&{name};")

    def handle_charref(self, name: str) -> None:
        if self._hidden_tag is None:
            self.out.append(f"&#{name};")


def _hides(attrs: list[tuple[str, str | None]]) -> bool:
    for name, value in attrs:
        if name == "hidden" or (name == "aria-hidden" and (value or "").lower() == "true"):
            return True
        if name == "style" and value and _HIDDEN_STYLE.search(value):
            return True
    return False


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
