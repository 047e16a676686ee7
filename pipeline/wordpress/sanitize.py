"""WordPress's ``sanitize_text_field``, ported, so a value is known to survive BEFORE it is written.

``ops/wordpress/atr-seo-meta.php`` registers the SEO meta keys with
``sanitize_callback => sanitize_text_field``, and WordPress passes every term
(tag) name through the same function. A value it would change is stored
changed, after the other parts of the write went through; so the SEO job
compares each value with :func:`sanitize_text_field` of it first
(:func:`stored_text`) and writes nothing when one would not survive.

The port follows ``_sanitize_text_fields()`` of WordPress 6.1
(``wp-includes/formatting.php``) step by step:

1. a ``<`` that is not closed by a ``>`` before the next ``<`` (or the end)
   is HTML-escaped with the text after it (``wp_pre_kses_less_than``:
   ``a < b`` becomes ``a &lt; b``, quotes and ``&`` in that piece too);
2. tags are stripped (``wp_strip_all_tags``: ``<script>``/``<style>`` with
   their content, then PHP's ``strip_tags``; a ``<`` followed by a space is
   not a tag);
3. runs of spaces, tabs and line breaks become one space, the ends are trimmed;
4. ``%xx`` octets are removed, again while new ones form, and the spaces
   left behind are collapsed.

Invalid UTF-8 cannot occur in a Python ``str``, so that step is left out.
"""

from __future__ import annotations

import html
import re
from typing import Final

__all__ = ["sanitize_text_field", "stored_term_name", "stored_text"]

_LESS_THAN: Final = re.compile(r"<[^>]*?((?=<)|>|$)")
_SCRIPT_STYLE: Final = re.compile(r"<(script|style)[^>]*?>.*?</\1>", re.IGNORECASE | re.DOTALL)
_SPACE: Final = re.compile(r"[\r\n\t ]+")
_OCTET: Final = re.compile(r"%[a-f0-9]{2}", re.IGNORECASE)
_SPACES: Final = re.compile(r" +")
_ENTITY: Final = re.compile(r"&(?:#[0-9]+|#x[0-9a-f]+|[a-z][a-z0-9]*);", re.IGNORECASE)
#: What PHP's trim() removes.
_PHP_TRIM: Final = " \t\n\r\0\x0b"
_ESCAPES: Final = {"<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#039;"}


def sanitize_text_field(text: str) -> str:
    """``text`` as WordPress's ``sanitize_text_field()`` returns it."""
    filtered = text
    if "<" in filtered:
        filtered = _LESS_THAN.sub(_escape_unclosed, filtered)
        filtered = _strip_all_tags(filtered)
        filtered = filtered.replace("<\n", "&lt;\n")
    filtered = _SPACE.sub(" ", filtered).strip(_PHP_TRIM)
    found = False
    while match := _OCTET.search(filtered):
        filtered = filtered.replace(match.group(0), "")
        found = True
    if found:
        filtered = _SPACES.sub(" ", filtered).strip(_PHP_TRIM)
    return filtered


def stored_text(text: str) -> str | None:
    """What WordPress stores for ``text`` when it differs from ``text``; None when it survives."""
    stored = sanitize_text_field(text)
    return None if stored == text else stored


def stored_term_name(name: str) -> str | None:
    """The name (unescaped, as the bridge reads it) WordPress keeps for a tag ``name``, if other.

    A term name goes through ``sanitize_text_field`` and is then stored
    HTML-escaped (``&amp;``), which the bridge undoes; ``name`` is compared
    as the bridge sends it (trimmed, inner white space collapsed). None when
    the name survives.
    """
    sent = " ".join(name.split())
    kept = html.unescape(sanitize_text_field(sent))
    return None if kept == sent else kept


def _escape_unclosed(match: re.Match[str]) -> str:
    """``wp_pre_kses_less_than_callback``: esc_html() of a ``<`` piece with no ``>``."""
    piece = match.group(0)
    return piece if ">" in piece else _esc_html(piece)


def _esc_html(text: str) -> str:
    """``esc_html()``: ``& < > " '`` escaped, existing entities left as they are."""
    out: list[str] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char == "&":
            entity = _ENTITY.match(text, i)
            if entity is not None:
                out.append(entity.group(0))
                i = entity.end()
                continue
            out.append("&amp;")
        else:
            out.append(_ESCAPES.get(char, char))
        i += 1
    return "".join(out)


def _strip_all_tags(text: str) -> str:
    """``wp_strip_all_tags($text, false)``: script/style blocks, then ``strip_tags``, trimmed."""
    return _strip_tags(_SCRIPT_STYLE.sub("", text)).strip(_PHP_TRIM)


def _strip_tags(text: str) -> str:
    """PHP's ``strip_tags()`` with no allowed tags, for the cases text fields meet.

    A ``<`` followed by white space is text; inside a tag, quotes hide ``>``
    and a nested ``<`` needs its own ``>``; ``<!-- ... -->`` is a comment; an
    unclosed tag runs to the end and is dropped.
    """
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if char != "<" or (i + 1 < n and text[i + 1].isspace()) or i + 1 == n:
            if char == "<" and i + 1 == n:
                break  # a lone "<" at the very end opens a tag that never closes
            out.append(char)
            i += 1
            continue
        if text.startswith("<!--", i):
            end = text.find("-->", i + 4)
            i = n if end < 0 else end + 3
            continue
        i += 1
        depth, quote = 0, ""
        while i < n:
            char = text[i]
            if quote:
                if char == quote and text[i - 1] != "\\":
                    quote = ""
            elif char in "\"'":
                quote = char
            elif char == "<":
                depth += 1
            elif char == ">":
                if depth:
                    depth -= 1
                else:
                    i += 1
                    break
            i += 1
    return "".join(out)
