"""The one settings object, read from the environment and ``.env.workers``.

Every variable the workers understand is listed once, in :data:`VARIABLES`,
with its default, whether it is a secret and a one-line help text. The env
template ``ops/env/workers.env.example`` documents the same list and a test
keeps the two in step. Nothing else in the project reads ``os.environ``.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit, urlunsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pipeline.errors import ConfigError

__all__ = [
    "ENV_FILE_VARIABLE",
    "VARIABLES",
    "DoclogLocation",
    "Settings",
    "Var",
    "load_doclog_location",
    "load_env_file",
    "load_settings",
    "process_environ",
    "read_environment",
    "redact_url",
]

#: Variable naming an env file to read; unset means ``./.env.workers`` when it exists.
ENV_FILE_VARIABLE: Final = "ATR_ENV_FILE"
_DEFAULT_ENV_FILE: Final = ".env.workers"
_PREFIX: Final = "ATR_"


@dataclass(frozen=True)
class Var:
    """One environment variable: its name, default (None = no default) and help."""

    name: str
    field: str
    help: str
    default: str | None = None
    required: bool = False
    secret: bool = False


VARIABLES: Final[tuple[Var, ...]] = (
    Var("ATR_ENV", "env", "deployment name shown in logs and Sentry: production, staging "
        "or development", default="production"),
    Var("REDIS_URL", "redis_url", "Redis used as the broker by both groups, e.g. "
        "redis://10.0.0.5:6379/0 (rediss:// for TLS, unix:///run/redis.sock)", required=True),
    Var("ATR_LLM_PROVIDER", "llm_provider", "first LLM provider to try: openai, gemini or "
        "offline (no network, no key)", default="offline"),
    Var("OPENAI_API_KEY", "openai_api_key", "OpenAI API key; required when "
        "ATR_LLM_PROVIDER=openai", secret=True),
    Var("GEMINI_API_KEY", "gemini_api_key", "Gemini API key; required when "
        "ATR_LLM_PROVIDER=gemini", secret=True),
    Var("BRIDGE_BASE", "bridge_base", "the WordPress site's REST root, e.g. "
        "https://example.com/wp-json (routes /wp/v2/... are appended)"),
    Var("BRIDGE_TOKEN", "bridge_token", "WordPress Application Password as "
        "user:application-password, sent as HTTP Basic", secret=True),
    Var("ATR_BG_PATH", "bg_path", "background image of the featured-image thumbnails"),
    Var("ATR_THUMB_FONT", "thumb_font", "single-face Korean font file for thumbnail titles, "
        "e.g. /usr/share/fonts/truetype/nanum/NanumGothicBold.ttf"),
    Var("ATR_DOCLOG_ROOT", "doclog_root", "directory of the NDJSON evidence and snapshot "
        "CSVs (relative paths are relative to the working directory)", default="docs/logs"),
    Var("ATR_DOCLOG_ROTATE_DAYS", "doclog_rotate_days", "days of doclog files to keep "
        "before doclog_rotate deletes them", default="30"),
    Var("ATR_TZ", "tz", "IANA time zone that decides the doclog day", default="Asia/Seoul"),
    Var("ATR_SCHEDULE_DOCLOG_ROTATE", "schedule_doclog_rotate", "when the scheduler enqueues "
        "doclog_rotate: a cron expression in ATR_TZ (5 fields, or 6 with seconds last), or "
        "off", default="30 3 * * *"),
    Var("ATR_GA4_EXPORT_DIR", "ga4_export_dir", "directory where GA4 CSV exports are "
        "dropped for scoring", default="data/ga4"),
    Var("ATR_GA4_WEIGHT_VIEWS", "ga4_weight_views", "GA4 score weight of views",
        default="0.4"),
    Var("ATR_GA4_WEIGHT_ENGAGEMENT", "ga4_weight_engagement", "GA4 score weight of "
        "engagement time per user", default="0.3"),
    Var("ATR_GA4_WEIGHT_CONVERSIONS", "ga4_weight_conversions", "GA4 score weight of key "
        "events (conversions)", default="0.3"),
    Var("ATR_GA4_PROMOTE_SCORE", "ga4_promote_score", "GA4 score (0-100) at or above "
        "which a post is promoted", default="70"),
    Var("ATR_GA4_REFRESH_SCORE", "ga4_refresh_score", "GA4 score (0-100) at or below "
        "which a post is queued for a refresh", default="30"),
    Var("ATR_WORKER1_PROCESSES", "worker1_processes", "override worker1's process count "
        "from the group table (empty = table value)"),
    Var("ATR_WORKER1_THREADS", "worker1_threads", "override worker1's threads per process "
        "(empty = table value)"),
    Var("ATR_WORKER2_PROCESSES", "worker2_processes", "override worker2's process count "
        "(empty = table value)"),
    Var("ATR_WORKER2_THREADS", "worker2_threads", "override worker2's threads per process "
        "(empty = table value)"),
)


@dataclass(frozen=True)
class Settings:
    """Typed, validated settings. Build with :meth:`from_env` or :func:`load_settings`."""

    env: str
    redis_url: str
    llm_provider: str
    openai_api_key: str | None
    gemini_api_key: str | None
    bridge_base: str | None
    bridge_token: str | None
    bg_path: Path | None
    thumb_font: Path | None
    doclog_root: Path
    doclog_rotate_days: int
    tz: str
    schedule_doclog_rotate: str | None
    ga4_export_dir: Path
    ga4_weight_views: float
    ga4_weight_engagement: float
    ga4_weight_conversions: float
    ga4_promote_score: float
    ga4_refresh_score: float
    worker1_processes: int | None
    worker1_threads: int | None
    worker2_processes: int | None
    worker2_threads: int | None

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        """Build settings from a mapping; raise ConfigError naming every bad variable."""
        problems: list[str] = _unknown_variables(environ)
        values: dict[str, Any] = {}
        for var in VARIABLES:
            raw = environ.get(var.name, "").strip()
            if not raw:
                if var.required:
                    problems.append(f"{var.name} is required: {var.help}")
                    values[var.field] = None
                    continue
                raw = var.default or ""
            try:
                values[var.field] = _PARSERS[var.name](raw) if raw else None
            except ValueError as exc:
                shown = "(hidden)" if var.secret else repr(raw)
                problems.append(f"{var.name}={shown} is invalid: {exc}")
                values[var.field] = None
        if not problems:
            problems.extend(_cross_checks(values))
        if problems:
            raise ConfigError("invalid settings: " + "; ".join(problems))
        return cls(**values)

    @property
    def zone(self) -> ZoneInfo:
        """The time zone of :attr:`tz`."""
        return ZoneInfo(self.tz)

    def secrets(self) -> tuple[str, ...]:
        """Every secret value in force, for scrubbing logs and events."""
        found = [getattr(self, v.field) for v in VARIABLES if v.secret]
        password = urlsplit(self.redis_url).password
        return tuple(s for s in [*found, password] if s)

    def redacted(self) -> dict[str, str]:
        """Variable name -> value as safe to print: secrets hidden, URL passwords masked."""
        shown: dict[str, str] = {}
        for var in VARIABLES:
            value = getattr(self, var.field)
            if value is None:
                shown[var.name] = ""
            elif var.secret:
                shown[var.name] = "(set)"
            elif var.name == "REDIS_URL":
                shown[var.name] = redact_url(str(value))
            else:
                shown[var.name] = str(value)
        return shown


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Settings from the environment over the env file (see :func:`read_environment`)."""
    return Settings.from_env(read_environment(environ))


@dataclass(frozen=True)
class DoclogLocation:
    """Where the doclog lives and which zone decides its days: all a log reader needs."""

    root: Path
    tz: str

    @property
    def zone(self) -> ZoneInfo:
        """The time zone of :attr:`tz`."""
        return ZoneInfo(self.tz)


def load_doclog_location(environ: Mapping[str, str] | None = None) -> DoclogLocation:
    """``ATR_DOCLOG_ROOT`` and ``ATR_TZ`` alone, checked as strictly as in :class:`Settings`.

    Reading the evidence must work when the rest of the configuration is what
    is broken (Redis unreachable, a key missing), so nothing else is required;
    misspelled ``ATR_*`` names are still an error.
    """
    env = read_environment(environ)
    problems = _unknown_variables(env)
    values: dict[str, Any] = {}
    for var in VARIABLES:
        if var.name in ("ATR_DOCLOG_ROOT", "ATR_TZ"):
            raw = env.get(var.name, "").strip() or var.default or ""
            try:
                values[var.field] = _PARSERS[var.name](raw)
            except ValueError as exc:
                problems.append(f"{var.name}={raw!r} is invalid: {exc}")
    if problems:
        raise ConfigError("invalid settings: " + "; ".join(problems))
    return DoclogLocation(values["doclog_root"], values["tz"])


def read_environment(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The env file (``ATR_ENV_FILE`` or ``./.env.workers``) overlaid by the environment.

    Variables set in the process environment win over the file, as with systemd's
    ``EnvironmentFile`` followed by ``Environment``.
    """
    env = dict(process_environ() if environ is None else environ)
    named = env.get(ENV_FILE_VARIABLE, "").strip()
    if named:
        path = Path(named)
        if not path.is_file():
            raise ConfigError(f"{ENV_FILE_VARIABLE}={named!r}: no such file; "
                              "point it at your .env.workers or unset it")
    else:
        path = Path(_DEFAULT_ENV_FILE)
    if not path.is_file():
        return env
    merged = load_env_file(path)
    merged.update(env)
    return merged


def load_env_file(path: Path) -> dict[str, str]:
    """Parse a systemd ``EnvironmentFile``: ``NAME=value`` lines, ``#`` comments, quotes."""
    values: dict[str, str] = {}
    text = path.read_text(encoding="utf-8")
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith(("#", ";")):
            continue
        if stripped.startswith("export "):
            raise ConfigError(f"{path}:{number}: systemd's EnvironmentFile does not understand "
                              "'export'; write NAME=value without it")
        name, sep, value = stripped.partition("=")
        name = name.strip()
        if not sep or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            raise ConfigError(f"{path}:{number}: expected NAME=value, got {line.strip()[:40]!r}")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[name] = value
    return values


def process_environ() -> dict[str, str]:
    """A copy of the process environment (the one place that reads it)."""
    return dict(os.environ)


def redact_url(url: str) -> str:
    """The URL with its password replaced by ``***``, safe for logs and errors."""
    parts = urlsplit(url)
    if not parts.password:
        return url
    netloc = parts.netloc.rsplit("@", 1)[1]
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc}"))


def _unknown_variables(environ: Mapping[str, str]) -> list[str]:
    known = {v.name for v in VARIABLES} | {ENV_FILE_VARIABLE}
    problems = []
    for name in sorted(environ):
        if name.startswith(_PREFIX) and name not in known:
            close = difflib.get_close_matches(name, sorted(known), n=1)
            hint = f"did you mean {close[0]}?" if close else "remove it or check the spelling"
            problems.append(f"{name} is not a setting of atr-workers; {hint}")
    return problems


def _cross_checks(values: Mapping[str, Any]) -> Iterable[str]:
    provider = values["llm_provider"]
    if provider == "openai" and not values["openai_api_key"]:
        yield "OPENAI_API_KEY is required when ATR_LLM_PROVIDER=openai"
    if provider == "gemini" and not values["gemini_api_key"]:
        yield "GEMINI_API_KEY is required when ATR_LLM_PROVIDER=gemini"
    if bool(values["bridge_base"]) != bool(values["bridge_token"]):
        yield "BRIDGE_BASE and BRIDGE_TOKEN go together: set both or neither"
    weights = [values[f"ga4_weight_{k}"] for k in ("views", "engagement", "conversions")]
    if sum(weights) <= 0:
        yield "ATR_GA4_WEIGHT_* must not all be 0"
    if values["ga4_promote_score"] <= values["ga4_refresh_score"]:
        yield "ATR_GA4_PROMOTE_SCORE must be greater than ATR_GA4_REFRESH_SCORE"


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


def _cron(raw: str) -> str | None:
    from croniter import croniter  # only settings with a schedule pay for the import

    if raw.lower() == "off":
        return None
    if not croniter.is_valid(raw):
        raise ValueError("expected a cron expression such as '30 3 * * *' (minute hour "
                         "day month weekday, optionally seconds last) or off")
    return raw


_PARSERS: Final[Mapping[str, Callable[[str], Any]]] = {
    "ATR_ENV": _choice("production", "staging", "development"),
    "REDIS_URL": _redis_url,
    "ATR_LLM_PROVIDER": _choice("openai", "gemini", "offline"),
    "OPENAI_API_KEY": _text,
    "GEMINI_API_KEY": _text,
    "BRIDGE_BASE": _http_url,
    "BRIDGE_TOKEN": _basic_credential,
    "ATR_BG_PATH": Path,
    "ATR_THUMB_FONT": Path,
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
    "ATR_WORKER1_PROCESSES": _int(1, 64, "processes"),
    "ATR_WORKER1_THREADS": _int(1, 256, "threads"),
    "ATR_WORKER2_PROCESSES": _int(1, 64, "processes"),
    "ATR_WORKER2_THREADS": _int(1, 256, "threads"),
}

