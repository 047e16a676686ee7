"""Scrub secrets out of text and records before they are written anywhere.

A :class:`Redactor` replaces the exact secret values in force (from
:meth:`pipeline.settings.Settings.secrets`, plus the forms they travel in:
the password half of ``user:password`` and its HTTP Basic base64) and the
shapes of well-known credentials, wherever they appear:

- ``Authorization: Bearer ...`` / ``Basic ...`` (and a bare ``Bearer <token>``);
- OpenAI-style keys ``sk-...`` and Google API keys ``AIza...``;
- ``password=...``, ``"password": "..."`` and the like for api keys, secrets
  and access tokens;
- the password of ``scheme://user:password@host`` URLs.

Every secret becomes :data:`REDACTED`. Scrubbing errs on the side of hiding:
a secret of any length is replaced wherever it occurs.
"""

from __future__ import annotations

import base64
import functools
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final

__all__ = ["REDACTED", "Redactor", "is_secret_key"]

#: What a secret is replaced with.
REDACTED: Final = "[REDACTED]"

#: Mapping keys whose values are secrets whatever they look like.
_SECRET_KEY: Final = re.compile(
    r"(?i)^(?:.*passw(?:or)?d|passphrase|pwd|.*secret.*|.*api[_-]?key|.*_token|"
    r"(?:proxy-)?authorization|(?:set-)?cookie|bearer)$"
)
# Names that label a secret in text ("db_password=...", "X-Api-Key: ...").
_KEY_WORDS: Final = r"[\w-]*?(?:passw(?:or)?d|passphrase|secret|api[_-]?key|_token)"
_LABEL_SEP: Final = r"[\"']?\s*[:=]\s*"
_PROSE_LABEL: Final = re.compile(r":\s+")
_PROSE_WORD: Final = re.compile(r"[a-z]+")


def _labelled_value(match: re.Match[str]) -> str:
    """``label: value`` with the value hidden, unless it reads as prose.

    An error message such as ``check BRIDGE_TOKEN: user 'bob' must exist``
    names a setting (an upper-case variable name) and goes on in words: a
    lowercase word after ``NAME: `` that is followed by more text is kept.
    ``password: ...``, ``NAME=...`` and a value that ends the text are hidden
    whatever they look like.
    """
    label, value, after = match[1], match[2], match[3]
    cut = label.rfind(":")
    if after and cut > 0 and label[:cut].isupper() and _PROSE_LABEL.fullmatch(label[cut:]) \
            and _PROSE_WORD.fullmatch(value):
        return match[0]
    return f"{label}{REDACTED}"


#: (pattern, replacement) applied in order; replacements keep the label, so a
#: line still says what was there.
_PATTERNS: Final[tuple[tuple[re.Pattern[str], str | Callable[[re.Match[str]], str]], ...]] = (
    # Authorization: Bearer abc / Basic dXNl... / a bare value, in headers or reprs.
    (re.compile(r"(?i)\b((?:proxy-)?authorization" + _LABEL_SEP + r"[\"']?)"
                r"(?:(?:bearer|basic|token|digest)\s+)?[^\s\"',;}]+"),
     rf"\1{REDACTED}"),
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}"), rf"\1 {REDACTED}"),
    (re.compile(r"\bsk-[A-Za-z0-9_-]{16,}"), REDACTED),
    (re.compile(r"\bAIza[0-9A-Za-z_-]{30,}"), REDACTED),
    # "password": "two words" -- a quoted value may hold spaces and escaped quotes.
    (re.compile(rf"(?i)(\b{_KEY_WORDS}{_LABEL_SEP})([\"'])(?:\\.|(?!\2).)*\2"),
     rf"\1\2{REDACTED}\2"),
    # password=hunter2, up to a separator (see _labelled_value for prose).
    (re.compile(rf"(?i)(\b{_KEY_WORDS}{_LABEL_SEP})((?![\"'\s])[^\s&,;\"'}}]+)(?=(\s?))"),
     _labelled_value),
    # scheme://user:password@host
    (re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^\s/:@]*):[^\s/@]+@"), rf"\1:{REDACTED}@"),
)
# Cheap first pass over the casefolded text: a string holding none of these
# (nor a known secret) cannot match a pattern above.
_TRIGGER_WORDS: Final = ("authorization", "bearer", "basic", "passw", "passphrase", "secret",
                         "api_key", "api-key", "apikey", "_token", "://", "sk-", "aiza")
#: Strings up to this length have their scrubbed form remembered, up to _MEMO_SIZE of them.
_MEMO_MAX_CHARS: Final = 128
_MEMO_SIZE: Final = 4096
#: How deep :meth:`Redactor.redact` follows nested containers; deeper values are dropped.
_MAX_DEPTH: Final = 32


class Redactor:
    """Replace secrets in strings and, recursively, in every string of a record."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        values: set[str] = set()
        for secret in secrets:
            if not secret:
                continue
            values.add(secret)
            # HTTP Basic sends base64(user:password); the password alone may be
            # echoed by an API, and WordPress shows application passwords with spaces.
            values.add(base64.b64encode(secret.encode()).decode())
            user, sep, password = secret.partition(":")
            if sep and user and password:
                values.update({password, password.replace(" ", "")})
        values.discard("")
        # Longest first, so a secret that contains another is replaced whole.
        ordered = sorted(values, key=len, reverse=True)
        self._exact = re.compile("|".join(map(re.escape, ordered))) if ordered else None
        # casefold maps character by character, so a secret inside a text is
        # still inside it once both are casefolded.
        words = (*_TRIGGER_WORDS, *(v.casefold() for v in ordered))
        self._trigger = re.compile("|".join(map(re.escape, words)))
        # Short strings seen before (keys, actor, queue and group names, hosts)
        # come back on every doclog line: their scrubbed form is remembered.
        # Plain dict operations, atomic under the GIL; cleared when full.
        self._memo: dict[str, str] = {}

    def text(self, value: str) -> str:
        """``value`` with every known secret and credential shape replaced."""
        memo = self._memo
        known = memo.get(value)
        if known is not None:
            return known
        scrubbed = self._scrub(value)
        if len(value) <= _MEMO_MAX_CHARS:
            if len(memo) >= _MEMO_SIZE:
                memo.clear()
            memo[value] = scrubbed
        return scrubbed

    def _scrub(self, value: str) -> str:
        if not self._trigger.search(value.casefold()):
            return value  # the common case: one scan, nothing to replace
        if self._exact is not None:
            value = self._exact.sub(REDACTED, value)
        for pattern, replacement in _PATTERNS:
            value = pattern.sub(replacement, value)
        return value

    def redact(self, value: Any, _depth: int = 0) -> Any:
        """A copy of ``value`` with every string scrubbed, through mappings and sequences.

        A value under a secret-looking key (``password``, ``api_key``,
        ``authorization``, ``*_token``, ...) is replaced whole. Other objects
        are returned as they are (the renderer turns them into text with
        ``repr``, then scrubs that too).
        """
        if isinstance(value, str):
            return self.text(value)
        if value is None or isinstance(value, int | float):
            return value
        if _depth >= _MAX_DEPTH:
            return "[too deep]"
        if isinstance(value, dict | Mapping):
            out: dict[Any, Any] = {}
            for key, item in value.items():
                if not isinstance(key, str):
                    out[key] = self.redact(item, _depth + 1)
                elif item and is_secret_key(key):
                    out[self.text(key)] = REDACTED
                else:
                    out[self.text(key)] = self.redact(item, _depth + 1)
            return out
        if isinstance(value, list | tuple | set | frozenset):
            return [self.redact(item, _depth + 1) for item in value]
        return value


@functools.lru_cache(maxsize=1024)
def is_secret_key(key: str) -> bool:
    """Whether a mapping key names a secret (``password``, ``api_key``, ``*_token``, ...)."""
    return _SECRET_KEY.match(key) is not None
