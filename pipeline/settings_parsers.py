"""Parsers of setting values: text in, typed value out, ValueError saying what is expected."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = ["PARSERS"]


def _choice(*allowed: str) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        value = raw.lower()
        if value not in allowed:
            raise ValueError("expected one of " + ", ".join(allowed))
        return value
    return parse


def _int(low: int, high: int, unit: str) -> Callable[[str], int]:
    def parse(raw: str) -> int:
        try:
            value = int(raw)
        except ValueError:
            raise ValueError(f"expected a whole number of {unit} from {low} to {high}") from None
        if not low <= value <= high:
            raise ValueError(f"expected a whole number of {unit} from {low} to {high}")
        return value
    return parse


def _float(low: float, high: float) -> Callable[[str], float]:
    def parse(raw: str) -> float:
        try:
            value = float(raw)
        except ValueError:
            raise ValueError(f"expected a number from {low:g} to {high:g}") from None
        if not low <= value <= high:
            raise ValueError(f"expected a number from {low:g} to {high:g}")
        return value
    return parse


def _choices(*allowed: str) -> Callable[[str], tuple[str, ...]]:
    one = _choice(*allowed)

    def parse(raw: str) -> tuple[str, ...]:
        return tuple(one(part.strip()) for part in raw.split(",") if part.strip())
    return parse


def _seconds(low: float, high: float) -> Callable[[str], float]:
    number = _float(low, high)

    def parse(raw: str) -> float:
        try:
            return number(raw)
        except ValueError:
            raise ValueError(f"expected seconds from {low:g} to {high:g}") from None
    return parse


def _words(raw: str) -> tuple[str, ...]:
    if raw.strip().lower() == "none":
        return ()
    return tuple(dict.fromkeys(w.strip() for w in raw.split(",") if w.strip()))


def _redis_url(raw: str) -> str:
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


def _http_url(raw: str) -> str:
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("expected an http(s) URL such as https://example.com/wp-json")
    return raw.rstrip("/")


def _basic_credential(raw: str) -> str:
    user, sep, password = raw.partition(":")
    if not sep or not user or not password:
        raise ValueError("expected user:application-password")
    return raw


def _tz(raw: str) -> str:
    try:
        ZoneInfo(raw)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError("expected an IANA time zone such as Asia/Seoul") from None
    return raw


def _text(raw: str) -> str:
    return raw


def _host_port(raw: str) -> str:
    host, sep, port = raw.rpartition(":")
    if not sep or not host or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise ValueError("expected host:port, e.g. 127.0.0.1:8081")
    return raw


def _port_or_off(raw: str) -> int | None:
    if not raw.isdigit() or not 0 <= int(raw) <= 65535:
        raise ValueError("expected a port from 1 to 65535, or 0 for none")
    return int(raw) or None


def _size(raw: str) -> tuple[int, int]:
    width, sep, height = raw.lower().partition("x")
    if not sep or not width.isdigit() or not height.isdigit() \
            or not (64 <= int(width) <= 4096 and 64 <= int(height) <= 4096):
        raise ValueError("expected WIDTHxHEIGHT in pixels, each from 64 to 4096, e.g. 1200x630")
    return int(width), int(height)


def _cron(raw: str) -> str | None:
    from croniter import croniter  # only settings with a schedule pay for the import

    if raw.lower() == "off":
        return None
    if not croniter.is_valid(raw):
        raise ValueError("expected a cron expression such as '30 3 * * *' (minute hour "
                         "day month weekday, optionally seconds last) or off")
    return raw


#: Variable name -> parser; :data:`pipeline.settings.VARIABLES` lists the same names.
PARSERS: Final[Mapping[str, Callable[[str], Any]]] = {
    "ATR_ENV": _choice("production", "staging", "development"),
    "REDIS_URL": _redis_url,
    "ATR_LLM_PROVIDER": _choice("openai", "gemini", "offline"),
    "ATR_LLM_FALLBACK": _choices("openai", "gemini", "offline"),
    "ATR_LLM_TIMEOUT_S": _int(1, 600, "seconds"),
    "ATR_LLM_MAX_OUTPUT_TOKENS": _int(100, 32_000, "tokens"),
    "ATR_LLM_ATTEMPTS": _int(1, 10, "calls"),
    "ATR_LLM_WINDOW_S": _seconds(0.1, 3600),
    "OPENAI_API_KEY": _text,
    "OPENAI_BASE_URL": _http_url,
    "ATR_OPENAI_MODEL": _text,
    "ATR_OPENAI_RPM": _int(1, 10_000_000, "requests"),
    "ATR_OPENAI_TPM": _int(100, 1_000_000_000, "tokens"),
    "GEMINI_API_KEY": _text,
    "ATR_GEMINI_BASE_URL": _http_url,
    "ATR_GEMINI_API_VERSION": _choice("v1beta", "v1"),
    "ATR_GEMINI_MODEL": _text,
    "ATR_GEMINI_RPM": _int(1, 10_000_000, "requests"),
    "ATR_GEMINI_TPM": _int(100, 1_000_000_000, "tokens"),
    "ATR_SEO_MODE": _choice("propose", "apply"),
    "ATR_SEO_PLUGIN": _choice("yoast", "rankmath"),
    "ATR_SEO_DESC_MIN": _int(1, 1000, "characters"),
    "ATR_SEO_DESC_MAX": _int(1, 1000, "characters"),
    "ATR_SEO_TITLE_MIN": _int(1, 300, "characters"),
    "ATR_SEO_TITLE_MAX": _int(1, 300, "characters"),
    "ATR_SEO_TAGS_MIN": _int(1, 50, "tags"),
    "ATR_SEO_TAGS_MAX": _int(1, 50, "tags"),
    "ATR_SEO_BANNED_WORDS": _words,
    "BRIDGE_BASE": _http_url,
    "BRIDGE_TOKEN": _basic_credential,
    "ATR_BG_PATH": Path,
    "ATR_THUMB_FONT": Path,
    "ATR_THUMB_SIZE": _size,
    "ATR_THUMB_FORMAT": _choice("jpeg", "webp"),
    "ATR_THUMB_OUT_DIR": Path,
    "ATR_DOCLOG_ROOT": Path,
    "ATR_DOCLOG_ROTATE_DAYS": _int(1, 3650, "days"),
    "ATR_TZ": _tz,
    "ATR_SCHEDULE_DOCLOG_ROTATE": _cron,
    "ATR_GA4_EXPORT_DIR": Path,
    "ATR_GA4_WEIGHT_VIEWS": _float(0, 1),
    "ATR_GA4_WEIGHT_ENGAGEMENT": _float(0, 1),
    "ATR_GA4_WEIGHT_CONVERSIONS": _float(0, 1),
    "ATR_GA4_PROMOTE_SCORE": _float(0, 100),
    "ATR_GA4_REFRESH_SCORE": _float(0, 100),
    "ATR_HEALTH_BACKLOG_WARN": _int(1, 10_000_000, "messages"),
    "ATR_HEALTH_BACKLOG_CRIT": _int(1, 10_000_000, "messages"),
    "ATR_HEALTH_LATENCY_WARN_S": _int(1, 7 * 86400, "seconds"),
    "ATR_HEALTH_LATENCY_CRIT_S": _int(1, 7 * 86400, "seconds"),
    "ATR_HEALTH_DEAD_WARN": _int(1, 10_000_000, "messages"),
    "ATR_HEALTH_DEAD_CRIT": _int(1, 10_000_000, "messages"),
    "ATR_HEALTH_SUSTAIN_S": _int(0, 86400, "seconds"),
    "ATR_DASHBOARD_USER": _text,
    "ATR_DASHBOARD_PASSWORD": _text,
    "ATR_DASHBOARD_BIND": _host_port,
    "SENTRY_DSN": _http_url,
    "ATR_METRICS_BIND": _text,
    "ATR_METRICS_WORKER1_PORT": _port_or_off,
    "ATR_METRICS_WORKER2_PORT": _port_or_off,
    "ATR_METRICS_DIR": Path,
    "ATR_WORKER1_PROCESSES": _int(1, 64, "processes"),
    "ATR_WORKER1_THREADS": _int(1, 256, "threads"),
    "ATR_WORKER2_PROCESSES": _int(1, 64, "processes"),
    "ATR_WORKER2_THREADS": _int(1, 256, "threads"),
}
