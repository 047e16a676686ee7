"""Render one doclog record as one bounded, scrubbed NDJSON line."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping
from typing import Any, Final

from pipeline.doclog.events import FIXED_KEYS
from pipeline.redact import REDACTED, Redactor, is_secret_key
from pipeline.text import UNSAFE_CHARS

__all__ = ["MAX_LINE_BYTES", "render_line"]

#: Upper bound of one line, in bytes, newline included.
MAX_LINE_BYTES: Final = 16 * 1024
# Per-string caps tried in turn until a line fits; after the last, only the
# fixed keys are kept.
_STRING_CAPS: Final = (4096, 1024, 256, 64)
_MAX_ITEMS: Final = 200
_MAX_DEPTH: Final = 16


def render_line(record: Mapping[str, Any], *, redactor: Redactor | None = None,
                limit: int = MAX_LINE_BYTES) -> bytes:
    """One JSON object and ``\\n`` in UTF-8, at most ``limit`` bytes; never invalid JSON.

    Korean (any non-ASCII) stays readable; control, bidi and other format
    characters (:data:`pipeline.text.UNSAFE_CHARS`) are written as ``\\uXXXX``
    escapes, so the file shows them as escapes in a terminal while a JSON
    reader gets the value back as sent. Values JSON cannot hold become their
    ``repr``. The redactor, if given, scrubs every string (``repr`` text
    included) and hides values under secret-named keys. A line over
    ``limit`` has its long strings and lists cut (ending in ``…``) and gains
    ``"truncated": true``; if even that is too long, only the
    :data:`~pipeline.doclog.events.FIXED_KEYS` remain.
    """
    scrub = redactor.text if redactor is not None else _same
    data: dict[str, Any] = _jsonable(record, scrub, 0)
    line = _dump(data)
    if len(line) <= limit:
        return line
    for cap in _STRING_CAPS:
        line = _dump({**_shorten(data, cap), "truncated": True})
        if len(line) <= limit:
            return line
    fixed: dict[str, Any] = {k: _shorten(data[k], 64) for k in FIXED_KEYS if k in data}
    return _dump({**fixed, "truncated": True})


# Built once: json.dumps with options builds a new encoder on every call.
_ENCODER: Final = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":"))


def _dump(data: Mapping[str, Any]) -> bytes:
    text = _ENCODER.encode(data)
    # Such characters can only be inside JSON strings, where \uXXXX is valid.
    # json.dumps escaped those below U+0020 already: an ASCII line can only hold DEL.
    if not text.isascii() or "\x7f" in text:
        text = UNSAFE_CHARS.sub(_json_escape, text)
    # Lone surrogates (undecodable bytes) cannot be UTF-8; "?" keeps the line valid.
    return (text + "\n").encode("utf-8", "replace")


def _json_escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code < 0x10000:
        return f"\\u{code:04x}"
    code -= 0x10000  # outside the BMP: a UTF-16 surrogate pair, as JSON spells it
    return f"\\u{0xd800 + (code >> 10):04x}\\u{0xdc00 + (code & 0x3ff):04x}"


def _same(text: str) -> str:
    return text


def _jsonable(value: Any, scrub: Callable[[str], str], depth: int) -> Any:
    # One pass: JSON-safe values, every string scrubbed, secret-named keys hidden.
    # Exact types first: a doclog record is mostly plain str, int and None.
    kind = type(value)
    if kind is str:
        return scrub(value)
    if value is None or kind is int or kind is bool:
        return value
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)
    if depth >= _MAX_DEPTH:
        return "[too deep]"
    if isinstance(value, dict | Mapping):
        out: dict[str, Any] = {}
        for key, item in value.items():
            name = scrub(key if isinstance(key, str) else _repr(key))
            if scrub is not _same and item and isinstance(key, str) and is_secret_key(key):
                out[name] = REDACTED
            elif type(item) is str:  # inlined: most values of a record
                out[name] = scrub(item)
            elif item is None or type(item) is int:
                out[name] = item
            else:
                out[name] = _jsonable(item, scrub, depth + 1)
        return out
    if isinstance(value, list | tuple):
        return [_jsonable(v, scrub, depth + 1) for v in value]
    return scrub(_repr(value))


def _repr(value: Any) -> str:
    try:
        return repr(value)
    except Exception:  # noqa: BLE001 -- boundary: a broken __repr__ must not lose the line
        return f"<{type(value).__name__} with a failing repr>"


def _shorten(value: Any, cap: int) -> Any:
    if isinstance(value, str):
        return value if len(value) <= cap else value[:cap] + "…"
    if isinstance(value, dict):
        return {k[:cap]: _shorten(v, cap) for k, v in value.items()}
    if isinstance(value, list):
        kept = [_shorten(v, cap) for v in value[:min(_MAX_ITEMS, cap)]]
        return kept + (["…"] if len(value) > len(kept) else [])
    return value
