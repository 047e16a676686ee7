"""Show an untrusted value in a log line or an operator's terminal: escaped and bounded."""

from __future__ import annotations

from typing import Final

__all__ = ["shown"]

_SHOWN_CHARS: Final = 120


def shown(value: object, limit: int = _SHOWN_CHARS) -> str:
    """``value`` for a log line or record: control, bidi and non-ASCII escaped, bounded."""
    text = value if isinstance(value, str) else repr(value)
    escaped = text[:limit].encode("ascii", "backslashreplace").decode("ascii")
    escaped = "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in escaped)
    return escaped[:limit] + ("…" if len(text) > limit or len(escaped) > limit else "")
