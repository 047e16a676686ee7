"""The one settings object, read from the environment and ``.env.workers``.

Every variable the workers understand is listed once, in :data:`VARIABLES`,
with its default, whether it is a secret and a one-line help text. The env
template ``ops/env/workers.env.example`` documents the same list and a test
keeps the two in step. Nothing else in the project reads ``os.environ``.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from pipeline.errors import ConfigError
from pipeline.settings_env import (
    ENV_FILE_VARIABLE,
    load_env_file,
    process_environ,
    read_environment,
    redact_url,
)
from pipeline.settings_parsers import PARSERS

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
    Var("ATR_LLM_FALLBACK", "llm_fallback", "providers tried in order when the one before "
        "fails for good or is out of quota, comma-separated (empty = none)",
        default="offline"),
    Var("ATR_LLM_TIMEOUT_S", "llm_timeout_s", "seconds one LLM call may take before it "
        "counts as failed", default="30"),
    Var("ATR_LLM_MAX_OUTPUT_TOKENS", "llm_max_output_tokens", "output cap of one LLM call, "
        "in tokens (an SEO answer needs about 200)", default="600"),
    Var("ATR_LLM_ATTEMPTS", "llm_attempts", "calls to one provider per message on a "
        "timeout, 5xx or invalid answer before the next provider is tried", default="2"),
    Var("ATR_LLM_WINDOW_S", "llm_window_s", "length of the rate-limit window, in seconds, "
        "that ATR_*_RPM and ATR_*_TPM count over; keep 60 (tests scale it)", default="60"),
    Var("OPENAI_API_KEY", "openai_api_key", "OpenAI API key; required when openai is "
        "ATR_LLM_PROVIDER or in ATR_LLM_FALLBACK", secret=True),
    Var("OPENAI_BASE_URL", "openai_base_url", "OpenAI API root",
        default="https://api.openai.com/v1"),
    Var("ATR_OPENAI_MODEL", "openai_model", "OpenAI model for SEO answers (must support "
        "structured outputs)", default="gpt-4.1-mini"),
    Var("ATR_OPENAI_RPM", "openai_rpm", "requests per minute of the OpenAI model, shared by "
        "every worker (your organization's limit)", default="500"),
    Var("ATR_OPENAI_TPM", "openai_tpm", "tokens per minute of the OpenAI model, shared by "
        "every worker", default="200000"),
    Var("GEMINI_API_KEY", "gemini_api_key", "Gemini API key; required when gemini is "
        "ATR_LLM_PROVIDER or in ATR_LLM_FALLBACK", secret=True),
    Var("ATR_GEMINI_BASE_URL", "gemini_base_url", "Gemini API root (the version is "
        "appended)", default="https://generativelanguage.googleapis.com"),
    Var("ATR_GEMINI_API_VERSION", "gemini_api_version", "Gemini API version: v1beta or v1",
        default="v1beta"),
    Var("ATR_GEMINI_MODEL", "gemini_model", "Gemini model for SEO answers",
        default="gemini-2.5-flash"),
    Var("ATR_GEMINI_RPM", "gemini_rpm", "requests per minute of the Gemini model, shared by "
        "every worker", default="10"),
    Var("ATR_GEMINI_TPM", "gemini_tpm", "tokens per minute of the Gemini model, shared by "
        "every worker", default="250000"),
    Var("ATR_SEO_MODE", "seo_mode", "what seo_automation does with a checked answer: "
        "propose (store it for review; atr seo approve applies it) or apply (write it to "
        "WordPress at once)", default="propose"),
    Var("ATR_SEO_PLUGIN", "seo_plugin", "SEO plugin whose meta keys are written: yoast or "
        "rankmath (register them for REST with ops/wordpress/atr-seo-meta.php)",
        default="yoast"),
    Var("ATR_SEO_DESC_MIN", "seo_desc_min", "quality guide: shortest meta description, in "
        "characters", default="50"),
    Var("ATR_SEO_DESC_MAX", "seo_desc_max", "quality guide: longest meta description, in "
        "characters", default="150"),
    Var("ATR_SEO_TITLE_MIN", "seo_title_min", "quality guide: shortest SEO title, in "
        "characters", default="10"),
    Var("ATR_SEO_TITLE_MAX", "seo_title_max", "quality guide: longest SEO title, in "
        "characters", default="60"),
    Var("ATR_SEO_TAGS_MIN", "seo_tags_min", "quality guide: fewest unique tags",
        default="3"),
    Var("ATR_SEO_TAGS_MAX", "seo_tags_max", "quality guide: most unique tags", default="8"),
    Var("ATR_SEO_BANNED_WORDS", "seo_banned_words", "quality guide: words an answer must not "
        "contain, comma-separated, or none",
        default="충격,경악,대박,역대급,무조건,클릭,100%"),
    Var("BRIDGE_BASE", "bridge_base", "the WordPress site's REST root, e.g. "
        "https://example.com/wp-json (routes /wp/v2/... are appended)"),
    Var("BRIDGE_TOKEN", "bridge_token", "WordPress Application Password as "
        "user:application-password, sent as HTTP Basic", secret=True),
    Var("ATR_BG_PATH", "bg_path", "background image of the featured-image thumbnails"),
    Var("ATR_THUMB_FONT", "thumb_font", "single-face Korean font file for thumbnail titles, "
        "e.g. /usr/share/fonts/truetype/nanum/NanumGothicBold.ttf"),
    Var("ATR_THUMB_SIZE", "thumb_size", "featured-image size as WIDTHxHEIGHT in pixels",
        default="1200x630"),
    Var("ATR_THUMB_FORMAT", "thumb_format", "featured-image format: jpeg or webp "
        "(webp needs the WEBP coder allowed by the ImageMagick policy)", default="jpeg"),
    Var("ATR_THUMB_OUT_DIR", "thumb_out_dir", "directory the thumbnail actor writes "
        "rendered images to", default="data/thumbnails"),
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
    Var("ATR_HEALTH_BACKLOG_WARN", "health_backlog_warn", "atr health: messages waiting "
        "in one queue that make it WARN", default="100"),
    Var("ATR_HEALTH_BACKLOG_CRIT", "health_backlog_crit", "atr health: messages waiting "
        "in one queue that make it CRIT", default="1000"),
    Var("ATR_HEALTH_LATENCY_WARN_S", "health_latency_warn_s", "atr health: age of a "
        "queue's oldest waiting message, in seconds, that makes it WARN", default="300"),
    Var("ATR_HEALTH_LATENCY_CRIT_S", "health_latency_crit_s", "atr health: the same age "
        "that makes it CRIT", default="1800"),
    Var("ATR_HEALTH_DEAD_WARN", "health_dead_warn", "atr health: dead letters in one "
        "queue that make it WARN", default="1"),
    Var("ATR_HEALTH_DEAD_CRIT", "health_dead_crit", "atr health: dead letters in one "
        "queue that make it CRIT", default="100"),
    Var("ATR_HEALTH_SUSTAIN_S", "health_sustain_s", "atr health: a backlog over its "
        "threshold counts only after it lasted this many seconds (the runbook's "
        "'for 5 minutes')", default="300"),
    Var("ATR_DASHBOARD_USER", "dashboard_user", "user name of the dashboard's HTTP Basic "
        "login", default="atr"),
    Var("ATR_DASHBOARD_PASSWORD", "dashboard_password", "password of the dashboard; "
        "the dashboard refuses to start without one", secret=True),
    Var("ATR_DASHBOARD_BIND", "dashboard_bind", "host:port the dashboard listens on",
        default="127.0.0.1:8081"),
    Var("SENTRY_DSN", "sentry_dsn", "Sentry DSN; when set, a message that finally fails "
        "(dead or rejected) is reported once, tagged with group, queue, actor and post",
        secret=True),
    Var("ATR_METRICS_BIND", "metrics_bind", "address the Prometheus exporters listen on",
        default="127.0.0.1"),
    Var("ATR_METRICS_WORKER1_PORT", "metrics_worker1_port", "Prometheus port of worker1 "
        "(0 = no exporter)", default="9191"),
    Var("ATR_METRICS_WORKER2_PORT", "metrics_worker2_port", "Prometheus port of worker2 "
        "(0 = no exporter); two groups on one host need different ports", default="9192"),
    Var("ATR_METRICS_DIR", "metrics_dir", "directory for the exporters' multiprocess "
        "files; each group uses its own subdirectory (empty = the unit's "
        "RuntimeDirectory, else the temp dir)"),
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
    llm_fallback: tuple[str, ...] | None
    llm_timeout_s: int
    llm_max_output_tokens: int
    llm_attempts: int
    llm_window_s: float
    openai_api_key: str | None
    openai_base_url: str
    openai_model: str
    openai_rpm: int
    openai_tpm: int
    gemini_api_key: str | None
    gemini_base_url: str
    gemini_api_version: str
    gemini_model: str
    gemini_rpm: int
    gemini_tpm: int
    seo_mode: str
    seo_plugin: str
    seo_desc_min: int
    seo_desc_max: int
    seo_title_min: int
    seo_title_max: int
    seo_tags_min: int
    seo_tags_max: int
    seo_banned_words: tuple[str, ...] | None
    bridge_base: str | None
    bridge_token: str | None
    bg_path: Path | None
    thumb_font: Path | None
    thumb_size: tuple[int, int]
    thumb_format: str
    thumb_out_dir: Path
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
    health_backlog_warn: int
    health_backlog_crit: int
    health_latency_warn_s: int
    health_latency_crit_s: int
    health_dead_warn: int
    health_dead_crit: int
    health_sustain_s: int
    dashboard_user: str
    dashboard_password: str | None
    dashboard_bind: str
    sentry_dsn: str | None
    metrics_bind: str
    metrics_worker1_port: int | None
    metrics_worker2_port: int | None
    metrics_dir: Path | None
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
                values[var.field] = PARSERS[var.name](raw) if raw else None
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

    @property
    def llm_chain(self) -> tuple[str, ...]:
        """The LLM providers in the order they are tried: provider, then fallbacks, once each."""
        return tuple(dict.fromkeys((self.llm_provider, *(self.llm_fallback or ()))))

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
                values[var.field] = PARSERS[var.name](raw)
            except ValueError as exc:
                problems.append(f"{var.name}={raw!r} is invalid: {exc}")
    if problems:
        raise ConfigError("invalid settings: " + "; ".join(problems))
    return DoclogLocation(values["doclog_root"], values["tz"])


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
    chain = list(dict.fromkeys([values["llm_provider"], *(values["llm_fallback"] or ())]))
    for provider, key in (("openai", "OPENAI_API_KEY"), ("gemini", "GEMINI_API_KEY")):
        if provider in chain and not values[key.lower()]:
            yield (f"{key} is required: {provider} is in the LLM chain {' -> '.join(chain)} "
                   f"(ATR_LLM_PROVIDER, ATR_LLM_FALLBACK)")
    for name in ("desc", "title", "tags"):
        if values[f"seo_{name}_min"] > values[f"seo_{name}_max"]:
            yield (f"ATR_SEO_{name.upper()}_MIN must not be greater than "
                   f"ATR_SEO_{name.upper()}_MAX")
    if bool(values["bridge_base"]) != bool(values["bridge_token"]):
        yield "BRIDGE_BASE and BRIDGE_TOKEN go together: set both or neither"
    weights = [values[f"ga4_weight_{k}"] for k in ("views", "engagement", "conversions")]
    if sum(weights) <= 0:
        yield "ATR_GA4_WEIGHT_* must not all be 0"
    for name in ("backlog", "latency", "dead"):
        unit = "_s" if name == "latency" else ""
        if values[f"health_{name}_warn{unit}"] > values[f"health_{name}_crit{unit}"]:
            yield (f"ATR_HEALTH_{name.upper()}_WARN{unit.upper()} must not be greater than "
                   f"ATR_HEALTH_{name.upper()}_CRIT{unit.upper()}")
    if values["ga4_promote_score"] <= values["ga4_refresh_score"]:
        yield "ATR_GA4_PROMOTE_SCORE must be greater than ATR_GA4_REFRESH_SCORE"
