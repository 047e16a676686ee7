"""Parsers of setting values: text in, typed value out, ValueError saying what is expected.

Each declaration in :class:`pipeline.settings.Settings` names one of these;
the parser's return type is what mypy checks against the field's annotation.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Final
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = [
    "ad_policy",
    "basic_credential",
    "choice",
    "choices",
    "cron_or_off",
    "host_port",
    "http_url",
    "http_urls",
    "indexnow_key",
    "meta_key",
    "number",
    "path",
    "port_or_off",
    "queue_weights",
    "redis_url",
    "seconds",
    "size",
    "text",
    "time_zone",
    "whole",
    "whole_text",
    "words",
]


def choice(*allowed: str) -> Callable[[str], str]:
    """One of ``allowed``, compared in lower case."""
    def parse(raw: str) -> str:
        value = raw.lower()
        if value not in allowed:
            raise ValueError("expected one of " + ", ".join(allowed))
        return value
    return parse


def whole(low: int, high: int, unit: str) -> Callable[[str], int]:
    """A whole number of ``unit`` from ``low`` to ``high``."""
    def parse(raw: str) -> int:
        try:
            value = int(raw)
        except ValueError:
            raise ValueError(f"expected a whole number of {unit} from {low} to {high}") from None
        if not low <= value <= high:
            raise ValueError(f"expected a whole number of {unit} from {low} to {high}")
        return value
    return parse


def number(low: float, high: float) -> Callable[[str], float]:
    """A number from ``low`` to ``high``."""
    def parse(raw: str) -> float:
        try:
            value = float(raw)
        except ValueError:
            raise ValueError(f"expected a number from {low:g} to {high:g}") from None
        if not low <= value <= high:
            raise ValueError(f"expected a number from {low:g} to {high:g}")
        return value
    return parse


def choices(*allowed: str) -> Callable[[str], tuple[str, ...]]:
    """A comma-separated list of ``allowed`` values (empty = none)."""
    one = choice(*allowed)

    def parse(raw: str) -> tuple[str, ...]:
        return tuple(one(part.strip()) for part in raw.split(",") if part.strip())
    return parse


def seconds(low: float, high: float) -> Callable[[str], float]:
    """A duration in seconds from ``low`` to ``high``."""
    bounded = number(low, high)

    def parse(raw: str) -> float:
        try:
            return bounded(raw)
        except ValueError:
            raise ValueError(f"expected seconds from {low:g} to {high:g}") from None
    return parse


def words(raw: str) -> tuple[str, ...]:
    """Comma-separated words, once each; ``none`` is the empty list."""
    if raw.strip().lower() == "none":
        return ()
    return tuple(dict.fromkeys(w.strip() for w in raw.split(",") if w.strip()))


def redis_url(raw: str) -> str:
    """A ``redis://``, ``rediss://`` or ``unix://`` URL with a host and a valid port."""
    parts = urlsplit(raw)
    if parts.scheme not in ("redis", "rediss", "unix"):
        raise ValueError("expected redis://host:port/db, rediss://... or unix:///path.sock")
    if parts.scheme != "unix":
        if not parts.hostname:
            raise ValueError("expected a host, as in redis://127.0.0.1:6379/0")
        try:
            parts.port  # noqa: B018 -- urlsplit validates the port lazily
        except ValueError:
            raise ValueError("the port must be a number from 1 to 65535") from None
    return raw


def http_url(raw: str) -> str:
    """An http(s) URL with a host, without a trailing slash."""
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("expected an http(s) URL such as https://example.com/wp-json")
    return raw.rstrip("/")


def basic_credential(raw: str) -> str:
    """``user:password`` for HTTP Basic (a WordPress Application Password)."""
    user, sep, password = raw.partition(":")
    if not sep or not user or not password:
        raise ValueError("expected user:application-password")
    return raw


def time_zone(raw: str) -> str:
    """An IANA time zone name known to zoneinfo."""
    try:
        ZoneInfo(raw)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError("expected an IANA time zone such as Asia/Seoul") from None
    return raw


def text(raw: str) -> str:
    """Any text, as given."""
    return raw


def host_port(raw: str) -> str:
    """``host:port`` with a port from 1 to 65535."""
    host, sep, port = raw.rpartition(":")
    if not sep or not host or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise ValueError("expected host:port, e.g. 127.0.0.1:8081")
    return raw


def port_or_off(raw: str) -> int | None:
    """A TCP port; 0 means none (None)."""
    if not raw.isdigit() or not 0 <= int(raw) <= 65535:
        raise ValueError("expected a port from 1 to 65535, or 0 for none")
    return int(raw) or None


def size(raw: str) -> tuple[int, int]:
    """``WIDTHxHEIGHT`` in pixels, each from 64 to 4096."""
    width, sep, height = raw.lower().partition("x")
    if not sep or not width.isdigit() or not height.isdigit() \
            or not (64 <= int(width) <= 4096 and 64 <= int(height) <= 4096):
        raise ValueError("expected WIDTHxHEIGHT in pixels, each from 64 to 4096, e.g. 1200x630")
    return int(width), int(height)


def cron_or_off(raw: str) -> str | None:
    """A cron expression (5 fields, or 6 with seconds last); ``off`` is None."""
    from croniter import croniter  # only settings with a schedule pay for the import

    if raw.lower() == "off":
        return None
    if not croniter.is_valid(raw):
        raise ValueError("expected a cron expression such as '30 3 * * *' (minute hour "
                         "day month weekday, optionally seconds last) or off")
    return raw



def whole_text(raw: str) -> str:
    """Digits only (an id such as a GA4 property id), kept as text."""
    if not raw.isdigit():
        raise ValueError("expected digits only, e.g. 123456789 (GA4 Admin > Property details)")
    return raw


def path(raw: str) -> Path:
    """A file system path, as given (relative paths stay relative to the working directory)."""
    return Path(raw)


def queue_weights(raw: str) -> tuple[tuple[str, int], ...]:
    """``queue=weight`` pairs, comma-separated, weights 1-1000, each queue once."""
    pairs: dict[str, int] = {}
    for part in (p.strip() for p in raw.split(",")):
        if not part:
            continue
        name, sep, weight = (x.strip() for x in part.partition("="))
        if not sep or not name or not weight.isdigit() or not 1 <= int(weight) <= 1000:
            raise ValueError(f"expected queue=weight pairs with weights 1-1000, e.g. "
                             f"seo=5,high=2; got {part!r}")
        if name in pairs:
            raise ValueError(f"queue {name!r} is given twice")
        pairs[name] = int(weight)
    if not pairs:
        raise ValueError("expected at least one queue=weight pair")
    return tuple(pairs.items())
_INDEXNOW_KEY: Final = re.compile(r"[A-Za-z0-9-]{8,128}")
_META_KEY: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
#: What a GA4 tier may map to: an ad mode, or ``unchanged`` (leave the post alone).
AD_MODES: Final = ("on", "reduced", "off")
_AD_TARGETS: Final = (*AD_MODES, "unchanged")
_TIERS: Final = ("promote", "keep", "refresh", "prune", "insufficient-data")


def indexnow_key(raw: str) -> str:
    """An IndexNow key: 8 to 128 characters of ``a-z A-Z 0-9 -`` (what the protocol allows)."""
    if not _INDEXNOW_KEY.fullmatch(raw):
        raise ValueError("expected 8 to 128 characters of a-z, A-Z, 0-9 and '-' (generate one "
                         "with: python3 -c 'import uuid; print(uuid.uuid4().hex)')")
    return raw


def http_urls(raw: str) -> tuple[str, ...]:
    """Comma-separated http(s) URLs, once each, trailing slashes dropped (empty = none)."""
    return tuple(dict.fromkeys(http_url(part.strip()) for part in raw.split(",")
                               if part.strip()))


def meta_key(raw: str) -> str:
    """A post meta key: a letter or ``_``, then up to 63 of ``A-Z a-z 0-9 _``."""
    if not _META_KEY.fullmatch(raw):
        raise ValueError("expected a meta key such as atr_ad_mode (letters, digits, _)")
    return raw


def ad_policy(raw: str) -> tuple[tuple[str, str], ...]:
    """``tier=mode,...`` for every GA4 tier; mode ``on``, ``reduced``, ``off`` or ``unchanged``."""
    found: dict[str, str] = {}
    for part in (p.strip() for p in raw.split(",") if p.strip()):
        tier, sep, mode = (s.strip().lower() for s in part.partition("="))
        if not sep or tier not in _TIERS or mode not in _AD_TARGETS:
            raise ValueError(f"{part!r}: expected tier=mode with a tier of {', '.join(_TIERS)} "
                             f"and a mode of {', '.join(_AD_TARGETS)}")
        if tier in found:
            raise ValueError(f"tier {tier} is given twice")
        found[tier] = mode
    missing = [t for t in _TIERS if t not in found]
    if missing:
        raise ValueError(f"no mode for tier(s) {', '.join(missing)}: give every tier")
    return tuple((t, found[t]) for t in _TIERS)
