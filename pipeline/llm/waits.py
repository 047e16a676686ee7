"""The wait a provider names in a 429, in milliseconds, from its headers or body.

OpenAI sends ``retry-after-ms`` and ``retry-after`` (seconds, or an HTTP
date) on some 429s, and always ``x-ratelimit-reset-requests`` /
``x-ratelimit-reset-tokens`` as durations like ``1s``, ``6m0s``, ``120ms``.
Gemini puts ``RetryInfo.retryDelay`` (``"41s"``, ``"1.5s"``) in the error
body's ``details``. The longest named wait wins; none named gives ``None``.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Iterable, Mapping
from email.utils import parsedate_to_datetime
from typing import Any, Final

__all__ = ["duration_ms", "gemini_retry_delay_ms", "openai_wait_ms"]

_PART: Final = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")
_UNIT_MS: Final = {"h": 3_600_000.0, "m": 60_000.0, "s": 1000.0, "ms": 1.0}


def duration_ms(text: str) -> int | None:
    """``6m0s``, ``1.5s``, ``120ms``, ``41s`` as milliseconds (rounded up); None if not one."""
    text = text.strip()
    if not text:
        return None
    pos, total = 0, 0.0
    for match in _PART.finditer(text):
        if match.start() != pos:
            return None
        total += float(match.group(1)) * _UNIT_MS[match.group(2)]
        pos = match.end()
    return math.ceil(total) if pos == len(text) else None


def openai_wait_ms(headers: Mapping[str, str], now: float | None = None) -> int | None:
    """The longest wait named by an OpenAI 429's headers (case-insensitive mapping)."""
    waits: list[int] = []
    raw = headers.get("retry-after-ms")
    if raw:
        try:
            waits.append(math.ceil(float(raw)))
        except ValueError:
            pass
    raw = headers.get("retry-after")
    if raw:
        waits.extend(_retry_after(raw, time.time() if now is None else now))
    for name in ("x-ratelimit-reset-requests", "x-ratelimit-reset-tokens"):
        raw = headers.get(name)
        parsed = duration_ms(raw) if raw else None
        if parsed is not None:
            waits.append(parsed)
    return max(waits) if waits else None


def gemini_retry_delay_ms(details: Iterable[Any]) -> int | None:
    """``RetryInfo.retryDelay`` from a Google RPC error's ``details``, in milliseconds."""
    for detail in details:
        if isinstance(detail, Mapping) and str(detail.get("@type", "")).endswith("RetryInfo"):
            delay = detail.get("retryDelay")
            if isinstance(delay, str):
                return duration_ms(delay)
    return None


def _retry_after(raw: str, now: float) -> list[int]:
    try:
        return [math.ceil(float(raw) * 1000)]
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return []
    return [max(0, math.ceil((when.timestamp() - now) * 1000))]
