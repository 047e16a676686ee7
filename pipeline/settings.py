"""The one settings object, read from the environment and ``.env.workers``.

Every variable the workers understand is declared once, as a field of
:class:`Settings`: its name, parser, default, help text and whether it is
secret or required sit in the field's :func:`setting` (or, for a value per
worker group, :func:`per_group`) call, and the parser's return type is what
mypy checks against the field's annotation. :data:`VARIABLES` lists the
declarations in field order; the env template ``ops/env/workers.env.example``
documents the same names with the same defaults, and a test keeps the two in
step. Nothing else in the project reads ``os.environ``.

A per-group declaration (``ATR_{GROUP}_PROCESSES``) stands for one variable per
group of the group table (:data:`pipeline.groups.GROUPS`): its field is a
mapping from group name to value that holds every group of the table, so a
group added to the table gets its variables without a new field. A variable
of that shape naming a group the table does not have is an error that lists
the groups.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Final, Literal, TypeVar, cast, dataclass_transform, overload
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from pipeline import settings_parsers as parse
from pipeline.errors import ConfigError
from pipeline.ga4.config import Ga4Config
from pipeline.groups import GROUPS, WorkerGroup
from pipeline.settings_env import (
    ENV_FILE_VARIABLE,
    load_env_file,
    process_environ,
    read_environment,
    redact_url,
)

__all__ = [
    "ENV_FILE_VARIABLE",
    "VARIABLES",
    "DoclogLocation",
    "GroupValues",
    "Settings",
    "Var",
    "load_doclog_location",
    "load_env_file",
    "load_settings",
    "per_group",
    "process_environ",
    "read_environment",
    "redact_url",
    "setting",
    "variable_name",
    "variable_names",
]

T = TypeVar("T")
V_co = TypeVar("V_co", covariant=True)

_PREFIX: Final = "ATR_"
#: Variables of earlier versions -> their names now (the meaning did not change).
_RENAMED: Final = {"ATR_GA4_EXPORT_DIR": "ATR_GA4_DROP_DIR",
                   "ATR_GA4_WEIGHT_VIEWS": "ATR_GA4_WEIGHT_REACH",
                   "ATR_GA4_WEIGHT_CONVERSIONS": "ATR_GA4_WEIGHT_KEY_EVENTS"}
#: Where a per-group variable's name takes the group (upper case), as in ``ATR_{GROUP}_THREADS``.
_GROUP: Final = "{GROUP}"
_DECLARATION: Final = "atr.setting"


@dataclass(frozen=True)
class Var:
    """One declared variable: name, parser, help, default (None = none), required, secret.

    ``name`` holds ``{GROUP}`` for a per-group variable; its default then comes
    from ``table_default`` (the group's row) when one is given. ``field`` is
    the :class:`Settings` attribute, filled in from the dataclass field.
    """

    name: str
    parse: Callable[[str], Any]
    help: str
    default: str | None = None
    required: bool = False
    secret: bool = False
    table_default: Callable[[WorkerGroup], str] | None = None
    field: str = ""

    @property
    def per_group(self) -> bool:
        """Whether this declaration stands for one variable per worker group."""
        return _GROUP in self.name

    def name_for(self, group: str) -> str:
        """The variable of ``group``: ``ATR_{GROUP}_THREADS`` -> ``ATR_WORKER1_THREADS``."""
        return self.name.replace(_GROUP, group.upper())

    def default_for(self, group: WorkerGroup) -> str | None:
        """The default of ``group``'s variable: from its table row, else the declared one."""
        return self.table_default(group) if self.table_default else self.default

    def group_of(self, name: str) -> str | None:
        """The group (lower case) a variable ``name`` of this shape is for, else None."""
        head, _, tail = self.name.partition(_GROUP)
        match = re.fullmatch(re.escape(head) + "([A-Z0-9_]+?)" + re.escape(tail), name)
        return match.group(1).lower() if match else None


@overload
def setting(name: str, parse: Callable[[str], T], *, help: str, default: str,
            secret: bool = False) -> T: ...


@overload
def setting(name: str, parse: Callable[[str], T], *, help: str, required: Literal[True],
            secret: bool = False) -> T: ...


@overload
def setting(name: str, parse: Callable[[str], T], *, help: str,
            secret: bool = False) -> T | None: ...


def setting(name: str, parse: Callable[[str], Any], *, help: str, default: str | None = None,
            required: bool = False, secret: bool = False) -> Any:
    """Declare a :class:`Settings` field read from variable ``name`` with ``parse``.

    Unset or empty, the field takes ``default`` parsed; with no default it is
    None (the overloads make such a field's type optional), or an error when
    ``required``.
    """
    return field(metadata={_DECLARATION: Var(name, parse, help, default, required, secret)})


def per_group(name: str, parse: Callable[[str], T], *, help: str,
              table_default: Callable[[WorkerGroup], str] | None = None,
              ) -> Mapping[str, T | None]:
    """Declare a :class:`Settings` field holding one value per worker group.

    ``name`` and ``help`` hold ``{GROUP}`` / ``{group}``; ``table_default``
    gives a group's default from its row of the table (None: no default).
    """
    if _GROUP not in name:
        raise ValueError(f"a per-group variable name needs {_GROUP}: {name}")
    declared = field(metadata={_DECLARATION: Var(name, parse, help,
                                                 table_default=table_default)})
    return cast(Mapping[str, T | None], declared)


class GroupValues(Mapping[str, V_co]):
    """A read-only, hashable mapping of group name to value (settings stay hashable)."""

    __slots__ = ("_items",)

    def __init__(self, items: Mapping[str, V_co]) -> None:
        self._items = dict(items)

    def __getitem__(self, group: str) -> V_co:
        return self._items[group]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __hash__(self) -> int:
        return hash(tuple(self._items.items()))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Mapping) and dict(self._items) == dict(other)

    def __repr__(self) -> str:
        return f"GroupValues({self._items!r})"


def _table_metrics_port(group: WorkerGroup) -> str:
    return str(group.metrics_port)


def _table_weights(group: WorkerGroup) -> str:
    return ",".join(f"{q.name}={q.weight}" for q in group.queues)


def _ga4(field_name: str, parse: Callable[[str], T], help: str) -> T:
    """A :func:`setting` for :class:`~pipeline.ga4.config.Ga4Config` field ``field_name``.

    The variable is ``ATR_GA4_<FIELD>``; its default and the reason for it come
    from the Ga4Config field, so the scoring's numbers have one source.
    """
    default = _GA4_DEFAULTS[field_name]
    text = ",".join(default) if isinstance(default, tuple) else str(default)
    if isinstance(default, float) and default.is_integer():
        text = str(int(default))
    reason = Ga4Config.reasons()[field_name]
    return setting(f"ATR_GA4_{field_name.upper()}", parse, default=text,
                   help=f"GA4 {help}; why the default: {reason}")


_GA4_DEFAULTS: Final[dict[str, Any]] = {f.name: f.default for f in fields(Ga4Config)}


@dataclass_transform(frozen_default=True, kw_only_default=True,
                     field_specifiers=(setting, per_group, _ga4))
def _settings_class(cls: type[T]) -> type[T]:
    """A frozen, keyword-only dataclass whose fields are :func:`setting` declarations.

    ``dataclass_transform`` tells mypy that ``setting(...)`` declares a field
    (instead of being a default value) and that the class is frozen.
    """
    return dataclass(frozen=True, kw_only=True)(cls)


@_settings_class
class Settings:
    """Typed, validated settings. Build with :meth:`from_env` or :func:`load_settings`."""

    env: str = setting(
        "ATR_ENV", parse.choice("production", "staging", "development"), default="production",
        help="deployment name shown in logs and Sentry: production, staging or development")
    redis_url: str = setting(
        "REDIS_URL", parse.redis_url, required=True,
        help="Redis used as the broker by both groups, e.g. redis://10.0.0.5:6379/0 "
             "(rediss:// for TLS, unix:///run/redis.sock)")
    llm_provider: str = setting(
        "ATR_LLM_PROVIDER", parse.choice("openai", "gemini", "offline"), default="offline",
        help="first LLM provider to try: openai, gemini or offline (no network, no key)")
    llm_fallback: tuple[str, ...] | None = setting(
        "ATR_LLM_FALLBACK", parse.choices("openai", "gemini", "offline"), default="offline",
        help="providers tried in order when the one before fails for good or is out of "
             "quota, comma-separated (empty = none)")
    llm_timeout_s: int = setting(
        "ATR_LLM_TIMEOUT_S", parse.whole(1, 600, "seconds"), default="30",
        help="seconds one LLM call may take before it counts as failed")
    llm_max_output_tokens: int = setting(
        "ATR_LLM_MAX_OUTPUT_TOKENS", parse.whole(100, 32_000, "tokens"), default="600",
        help="output cap of one LLM call, in tokens (an SEO answer needs about 200)")
    llm_attempts: int = setting(
        "ATR_LLM_ATTEMPTS", parse.whole(1, 10, "calls"), default="2",
        help="calls to one provider per message on a timeout, 5xx or invalid answer before "
             "the next provider is tried")
    llm_window_s: float = setting(
        "ATR_LLM_WINDOW_S", parse.seconds(0.1, 3600), default="60",
        help="length of the rate-limit window, in seconds, that ATR_*_RPM and ATR_*_TPM "
             "count over; keep 60 (tests scale it)")
    openai_api_key: str | None = setting(
        "OPENAI_API_KEY", parse.text, secret=True,
        help="OpenAI API key; required when openai is ATR_LLM_PROVIDER or in ATR_LLM_FALLBACK")
    openai_base_url: str = setting(
        "OPENAI_BASE_URL", parse.http_url, default="https://api.openai.com/v1",
        help="OpenAI API root")
    openai_model: str = setting(
        "ATR_OPENAI_MODEL", parse.text, default="gpt-4.1-mini",
        help="OpenAI model for SEO answers (must support structured outputs)")
    openai_rpm: int = setting(
        "ATR_OPENAI_RPM", parse.whole(1, 10_000_000, "requests"), default="500",
        help="requests per minute of the OpenAI model, shared by every worker (your "
             "organization's limit)")
    openai_tpm: int = setting(
        "ATR_OPENAI_TPM", parse.whole(100, 1_000_000_000, "tokens"), default="200000",
        help="tokens per minute of the OpenAI model, shared by every worker")
    gemini_api_key: str | None = setting(
        "GEMINI_API_KEY", parse.text, secret=True,
        help="Gemini API key; required when gemini is ATR_LLM_PROVIDER or in ATR_LLM_FALLBACK")
    gemini_base_url: str = setting(
        "ATR_GEMINI_BASE_URL", parse.http_url, default="https://generativelanguage.googleapis.com",
        help="Gemini API root (the version is appended)")
    gemini_api_version: str = setting(
        "ATR_GEMINI_API_VERSION", parse.choice("v1beta", "v1"), default="v1beta",
        help="Gemini API version: v1beta or v1")
    gemini_model: str = setting(
        "ATR_GEMINI_MODEL", parse.text, default="gemini-2.5-flash",
        help="Gemini model for SEO answers")
    gemini_rpm: int = setting(
        "ATR_GEMINI_RPM", parse.whole(1, 10_000_000, "requests"), default="10",
        help="requests per minute of the Gemini model, shared by every worker")
    gemini_tpm: int = setting(
        "ATR_GEMINI_TPM", parse.whole(100, 1_000_000_000, "tokens"), default="250000",
        help="tokens per minute of the Gemini model, shared by every worker")
    seo_mode: str = setting(
        "ATR_SEO_MODE", parse.choice("propose", "apply"), default="propose",
        help="what seo_automation does with a checked answer: propose (store it for review; "
             "atr seo approve applies it) or apply (write it to WordPress at once)")
    seo_plugin: str = setting(
        "ATR_SEO_PLUGIN", parse.choice("yoast", "rankmath"), default="yoast",
        help="SEO plugin whose meta keys are written: yoast or rankmath (register them for "
             "REST with ops/wordpress/atr-seo-meta.php)")
    seo_desc_min: int = setting(
        "ATR_SEO_DESC_MIN", parse.whole(1, 1000, "characters"), default="50",
        help="quality guide: shortest meta description, in characters")
    seo_desc_max: int = setting(
        "ATR_SEO_DESC_MAX", parse.whole(1, 1000, "characters"), default="150",
        help="quality guide: longest meta description, in characters")
    seo_title_min: int = setting(
        "ATR_SEO_TITLE_MIN", parse.whole(1, 300, "characters"), default="10",
        help="quality guide: shortest SEO title, in characters")
    seo_title_max: int = setting(
        "ATR_SEO_TITLE_MAX", parse.whole(1, 300, "characters"), default="60",
        help="quality guide: longest SEO title, in characters")
    seo_tags_min: int = setting(
        "ATR_SEO_TAGS_MIN", parse.whole(1, 50, "tags"), default="3",
        help="quality guide: fewest unique tags")
    seo_tags_max: int = setting(
        "ATR_SEO_TAGS_MAX", parse.whole(1, 50, "tags"), default="8",
        help="quality guide: most unique tags")
    seo_banned_words: tuple[str, ...] | None = setting(
        "ATR_SEO_BANNED_WORDS", parse.words, default="충격,경악,대박,역대급,무조건,클릭,100%",
        help="quality guide: words an answer must not contain, comma-separated, or none")
    bridge_base: str | None = setting(
        "BRIDGE_BASE", parse.http_url,
        help="the WordPress site's REST root, e.g. https://example.com/wp-json (routes "
             "/wp/v2/... are appended)")
    bridge_token: str | None = setting(
        "BRIDGE_TOKEN", parse.basic_credential, secret=True,
        help="WordPress Application Password as user:application-password, sent as HTTP Basic")
    wp_outage_budget_s: int = setting(
        "ATR_WP_OUTAGE_BUDGET_S", parse.whole(0, 7 * 24 * 3600, "seconds"), default="21600",
        help="how long a message waits out a WordPress outage (connection refused, timeouts, "
             "5xx), re-trying with growing back-off, before the usual retries and the "
             "dead-letter queue; 0: no waiting")
    bridge_timeout_s: float = setting(
        "ATR_BRIDGE_TIMEOUT_S", parse.seconds(1, 300), default="30",
        help="seconds to wait for a WordPress answer (an upload too) before the attempt "
             "fails and is retried")
    bg_path: Path | None = setting(
        "ATR_BG_PATH", parse.path,
        help="background image of the featured-image thumbnails")
    thumb_font: Path | None = setting(
        "ATR_THUMB_FONT", parse.path,
        help="single-face Korean font file for thumbnail titles, e.g. "
             "/usr/share/fonts/truetype/nanum/NanumGothicBold.ttf")
    thumb_size: tuple[int, int] = setting(
        "ATR_THUMB_SIZE", parse.size, default="1200x630",
        help="featured-image size as WIDTHxHEIGHT in pixels")
    thumb_format: str = setting(
        "ATR_THUMB_FORMAT", parse.choice("jpeg", "webp"), default="jpeg",
        help="featured-image format: jpeg or webp (webp needs the WEBP coder allowed by the "
             "ImageMagick policy)")
    thumb_out_dir: Path = setting(
        "ATR_THUMB_OUT_DIR", parse.path, default="data/thumbnails",
        help="directory the thumbnail actor writes rendered images to")
    doclog_root: Path = setting(
        "ATR_DOCLOG_ROOT", parse.path, default="docs/logs",
        help="directory of the NDJSON evidence and snapshot CSVs (relative paths are relative "
             "to the working directory)")
    doclog_rotate_days: int = setting(
        "ATR_DOCLOG_ROTATE_DAYS", parse.whole(1, 3650, "days"), default="30",
        help="days of doclog files to keep before doclog_rotate deletes them")
    tz: str = setting(
        "ATR_TZ", parse.time_zone, default="Asia/Seoul",
        help="IANA time zone that decides the doclog day")
    schedule_doclog_rotate: str | None = setting(
        "ATR_SCHEDULE_DOCLOG_ROTATE", parse.cron_or_off, default="30 3 * * *",
        help="when the scheduler enqueues doclog_rotate: a cron expression in ATR_TZ (5 "
             "fields, or 6 with seconds last), or off")
    ga4_drop_dir: Path = setting(
        "ATR_GA4_DROP_DIR", parse.path, default="data/ga4",
        help="folder analysts drop GA4 exports into; ga4_score scores every file there and "
             "moves it to done/ (scored) or refused/ (with a .reason.txt)")
    ga4_weight_reach: float = _ga4(
        "weight_reach", parse.number(0, 100), "score weight of reach (views per day live)")
    ga4_weight_engagement: float = _ga4(
        "weight_engagement", parse.number(0, 100),
        "score weight of engagement time per active user")
    ga4_weight_views_per_user: float = _ga4(
        "weight_views_per_user", parse.number(0, 100), "score weight of views per user")
    ga4_weight_key_events: float = _ga4(
        "weight_key_events", parse.number(0, 100),
        "score weight of key events per 1,000 views (shrunk toward the site rate)")
    ga4_promote_score: float = _ga4(
        "promote_score", parse.number(0, 100), "score (0-100) at or above which: promote")
    ga4_refresh_score: float = _ga4(
        "refresh_score", parse.number(0, 100), "score at or below which: refresh")
    ga4_prune_score: float = _ga4(
        "prune_score", parse.number(0, 100), "score at or below which: prune")
    ga4_min_views: int = _ga4(
        "min_views", parse.whole(1, 1_000_000_000, "views"), "fewest views to be ranked")
    ga4_min_age_days: int = _ga4(
        "min_age_days", parse.whole(0, 3650, "days"), "youngest post to be ranked, in days")
    ga4_key_event_prior_views: float = _ga4(
        "key_event_prior_views", parse.number(0, 1_000_000_000),
        "shrinkage of the key-event rate, in views")
    ga4_decay_mild_reach: float = _ga4(
        "decay_mild_reach", parse.number(0, 1), "share of the previous views per day")
    ga4_decay_moderate_reach: float = _ga4(
        "decay_moderate_reach", parse.number(0, 1), "share of the previous views per day")
    ga4_decay_severe_reach: float = _ga4(
        "decay_severe_reach", parse.number(0, 1), "share of the previous views per day")
    ga4_decay_mild_drop: float = _ga4(
        "decay_mild_drop", parse.number(0, 100), "score points lost")
    ga4_decay_moderate_drop: float = _ga4(
        "decay_moderate_drop", parse.number(0, 100), "score points lost")
    ga4_decay_severe_drop: float = _ga4(
        "decay_severe_drop", parse.number(0, 100), "score points lost")
    ga4_refresh_grace_days: int = _ga4(
        "refresh_grace_days", parse.whole(0, 3650, "days"), "days a refreshed post is left")
    ga4_page_paths: tuple[str, ...] = _ga4(
        "page_paths", parse.words, "static pages, comma-separated paths")
    ga4_report_font: Path = _ga4(
        "report_font", parse.path, "font file of the monthly report's charts")
    ga4_refresh_seo: str = setting(
        "ATR_GA4_REFRESH_SEO", parse.choice("off", "propose"), default="off",
        help="off, or propose: a post that enters the refresh tier gets a seo_automation "
             "message (which only proposes when ATR_SEO_MODE=propose) for the SEO team's review")
    ga4_keep_days: int = setting(
        "ATR_GA4_KEEP_DAYS", parse.whole(1, 3650, "days"), default="400",
        help="days GA4 snapshots and monthly reports are kept before doclog_rotate deletes "
             "them (decay and the month-over-month report need the older ones)")
    ga4_property_id: str | None = setting(
        "ATR_GA4_PROPERTY_ID", parse.whole_text, help="GA4 property id (digits) to pull the "
        "page report from with the Data API when the drop folder is empty; empty = no pull "
        "(analysts drop exports)")
    ga4_credentials: Path | None = setting(
        "ATR_GA4_CREDENTIALS", parse.path,
        help="service-account JSON key file with Viewer access to the property (required "
             "with ATR_GA4_PROPERTY_ID)")
    ga4_api_base: str = setting(
        "ATR_GA4_API_BASE", parse.http_url, default="https://analyticsdata.googleapis.com",
        help="GA4 Data API root")
    ga4_pull_days: int = setting(
        "ATR_GA4_PULL_DAYS", parse.whole(1, 365, "days"), default="28",
        help="days a live pull covers, ending yesterday in ATR_TZ (28: four whole weeks, so "
             "weekdays weigh the same in every period)")
    schedule_ga4_score: str | None = setting(
        "ATR_SCHEDULE_GA4_SCORE", parse.cron_or_off, default="0 7 * * *",
        help="when the scheduler enqueues ga4_score (scores what is in ATR_GA4_DROP_DIR): a "
             "cron expression in ATR_TZ, or off")
    health_backlog_warn: int = setting(
        "ATR_HEALTH_BACKLOG_WARN", parse.whole(1, 10_000_000, "messages"), default="100",
        help="atr health: messages waiting in one queue that make it WARN")
    health_backlog_crit: int = setting(
        "ATR_HEALTH_BACKLOG_CRIT", parse.whole(1, 10_000_000, "messages"), default="1000",
        help="atr health: messages waiting in one queue that make it CRIT")
    health_latency_warn_s: int = setting(
        "ATR_HEALTH_LATENCY_WARN_S", parse.whole(1, 7 * 86400, "seconds"), default="300",
        help="atr health: age of a queue's oldest waiting message, in seconds, that makes it "
             "WARN")
    health_latency_crit_s: int = setting(
        "ATR_HEALTH_LATENCY_CRIT_S", parse.whole(1, 7 * 86400, "seconds"), default="1800",
        help="atr health: the same age that makes it CRIT")
    health_dead_warn: int = setting(
        "ATR_HEALTH_DEAD_WARN", parse.whole(1, 10_000_000, "messages"), default="1",
        help="atr health: dead letters in one queue that make it WARN")
    health_dead_crit: int = setting(
        "ATR_HEALTH_DEAD_CRIT", parse.whole(1, 10_000_000, "messages"), default="100",
        help="atr health: dead letters in one queue that make it CRIT")
    health_sustain_s: int = setting(
        "ATR_HEALTH_SUSTAIN_S", parse.whole(0, 86400, "seconds"), default="300",
        help="atr health: a backlog over its threshold counts only after it lasted this many "
             "seconds (the runbook's 'for 5 minutes')")
    dashboard_user: str = setting(
        "ATR_DASHBOARD_USER", parse.text, default="atr",
        help="user name of the dashboard's HTTP Basic login")
    dashboard_password: str | None = setting(
        "ATR_DASHBOARD_PASSWORD", parse.text, secret=True,
        help="password of the dashboard; the dashboard refuses to start without one")
    dashboard_bind: str = setting(
        "ATR_DASHBOARD_BIND", parse.host_port, default="127.0.0.1:8081",
        help="host:port the dashboard listens on")
    sentry_dsn: str | None = setting(
        "SENTRY_DSN", parse.http_url, secret=True,
        help="Sentry DSN; when set, a message that finally fails (dead or rejected) is "
             "reported once, tagged with group, queue, actor and post")
    metrics_bind: str = setting(
        "ATR_METRICS_BIND", parse.text, default="127.0.0.1",
        help="address the Prometheus exporters listen on")
    #: Group name -> its Prometheus port (None = no exporter); defaults from the table.
    metrics_ports: Mapping[str, int | None] = per_group(
        "ATR_METRICS_{GROUP}_PORT", parse.port_or_off, table_default=_table_metrics_port,
        help="Prometheus port of {group} (0 = no exporter); two groups on one host need "
             "different ports")
    metrics_dir: Path | None = setting(
        "ATR_METRICS_DIR", parse.path,
        help="directory for the exporters' multiprocess files; each group uses its own "
             "subdirectory (empty = the unit's RuntimeDirectory, else the temp dir)")
    #: Group name -> processes that replace the table's on this host (None = the table's).
    process_overrides: Mapping[str, int | None] = per_group(
        "ATR_{GROUP}_PROCESSES", parse.whole(1, 64, "processes"),
        help="override {group}'s process count from the group table (empty = table value)")
    #: Group name -> threads per process that replace the table's (None = the table's).
    thread_overrides: Mapping[str, int | None] = per_group(
        "ATR_{GROUP}_THREADS", parse.whole(1, 256, "threads"),
        help="override {group}'s threads per process (empty = table value)")

    #: Group name -> (queue, weight) pairs in force; defaults from the table's weights.
    queue_weights: Mapping[str, tuple[tuple[str, int], ...] | None] = per_group(
        "ATR_{GROUP}_WEIGHTS", parse.queue_weights, table_default=_table_weights,
        help="queue weights of {group} as queue=weight pairs (Sidekiq semantics: under "
             "load each queue gets that share of the messages; an empty queue gives its "
             "share to the others); a queue left out keeps the table's weight")
    broker_heartbeat_timeout_s: float = setting(
        "ATR_BROKER_HEARTBEAT_TIMEOUT_S", parse.seconds(3, 600), default="15",
        help="seconds without a broker heartbeat after which a worker process counts as "
             "dead and its unacknowledged messages are requeued (processes beat 5 times "
             "per timeout from their own thread, busy or not)")
    recovery_sweep_s: float = setting(
        "ATR_RECOVERY_SWEEP_S", parse.seconds(0.5, 600), default="5",
        help="how often, in seconds, each worker process requeues the messages of dead "
             "processes on every queue of its group (also once at boot)")
    pickup_poll_ms: int = setting(
        "ATR_PICKUP_POLL_MS", parse.whole(50, 10_000, "milliseconds"), default="1000",
        help="longest an idle worker waits between looks at its queues, in milliseconds: "
             "messages sent by this project's producers wake it at once, messages written "
             "straight into Redis by another producer are found within this bound")
    envelope_max_bytes: int = setting(
        "ATR_ENVELOPE_MAX_BYTES", parse.whole(1024, 64 * 1024 * 1024, "bytes"),
        default="262144",
        help="largest message a worker accepts, in bytes; a bigger one is moved aside "
             "unprocessed (atr quarantine list)")
    # -- index submission (index_submit, queue index) and ads (monetize, queue ads) --
    indexnow_key: str | None = setting(
        "ATR_INDEXNOW_KEY", parse.indexnow_key,
        help="IndexNow key (8-128 characters of a-z A-Z 0-9 -); the site must serve it as "
             "https://<host>/<key>.txt (check with atr index check); empty = no IndexNow")
    indexnow_key_location: str | None = setting(
        "ATR_INDEXNOW_KEY_LOCATION", parse.http_url,
        help="URL of the key file when it is not https://<host>/<key>.txt (sent as "
             "keyLocation; must be on the same host)")
    indexnow_endpoints: tuple[str, ...] | None = setting(
        "ATR_INDEXNOW_ENDPOINTS", parse.http_urls,
        default="https://searchadvisor.naver.com,https://api.indexnow.org",
        help="IndexNow endpoints, comma-separated, each submitted to on its own (POST "
             "<endpoint>/indexnow): Naver, then the shared endpoint that forwards to Bing "
             "and the others")
    indexnow_timeout_s: int = setting(
        "ATR_INDEXNOW_TIMEOUT_S", parse.whole(1, 300, "seconds"), default="20",
        help="seconds one IndexNow request may take before it counts as failed (retried)")
    index_site: str | None = setting(
        "ATR_INDEX_SITE", parse.http_url,
        help="the public site whose key file atr index check reads, e.g. https://example.com "
             "(empty = BRIDGE_BASE without /wp-json)")
    schedule_index_sweep: str | None = setting(
        "ATR_SCHEDULE_INDEX_SWEEP", parse.cron_or_off, default="20 * * * *",
        help="when the scheduler enqueues index_sweep (submit posts published or modified "
             "since the last sweep): a cron expression in ATR_TZ, or off")
    google_indexing: str = setting(
        "ATR_GOOGLE_INDEXING", parse.choice("off", "on"), default="off",
        help="also notify the Google Indexing API: on or off. Google accepts it only for "
             "pages with JobPosting or BroadcastEvent markup; leave off for articles")
    google_indexing_credentials: Path | None = setting(
        "ATR_GOOGLE_INDEXING_CREDENTIALS", parse.path,
        help="service-account JSON key file for the Google Indexing API (the account must be "
             "an owner of the site in Search Console); required when ATR_GOOGLE_INDEXING=on")
    google_indexing_daily_quota: int = setting(
        "ATR_GOOGLE_INDEXING_DAILY_QUOTA", parse.whole(1, 100_000, "requests"),
        default="200",
        help="Google Indexing API publish requests per day, shared by every host (the "
             "project's quota; resets at midnight Pacific time)")
    google_indexing_base_url: str = setting(
        "ATR_GOOGLE_INDEXING_BASE_URL", parse.http_url,
        default="https://indexing.googleapis.com",
        help="Google Indexing API root")
    ads_mode: str = setting(
        "ATR_ADS_MODE", parse.choice("propose", "apply"), default="propose",
        help="what monetize does: propose (store the ad modes for atr ads review; atr ads "
             "approve writes them) or apply (write them at once)")
    ads_meta_key: str = setting(
        "ATR_ADS_META_KEY", parse.meta_key, default="atr_ad_mode",
        help="post meta key holding a post's ad mode (on, reduced, off); registered for REST "
             "by ops/wordpress/atr-seo-meta.php (define ATR_ADS_META_KEY there if you change "
             "it)")
    ads_policy: tuple[tuple[str, str], ...] = setting(
        "ATR_ADS_POLICY", parse.ad_policy,
        default="promote=on,keep=on,refresh=reduced,prune=off,insufficient-data=unchanged",
        help="GA4 tier -> ad mode, for every tier: on, reduced, off or unchanged (leave the "
             "post as it is); shown by atr ads policy")
    ads_min_words: int = setting(
        "ATR_ADS_MIN_WORDS", parse.whole(0, 100_000, "words"), default="200",
        help="quality floor: a post with fewer words (spaced, as Korean is written) never "
             "gets ads on; at most reduced")
    ads_snapshot_max_age_days: int = setting(
        "ATR_ADS_SNAPSHOT_MAX_AGE_DAYS", parse.whole(1, 365, "days"), default="8",
        help="monetize changes nothing when the newest GA4 snapshot is older than this")
    schedule_monetize: str | None = setting(
        "ATR_SCHEDULE_MONETIZE", parse.cron_or_off, default="30 6 * * *",
        help="when the scheduler enqueues monetize (in ATR_ADS_MODE): a cron expression in "
             "ATR_TZ, or off")

    @classmethod
    def from_env(cls, environ: Mapping[str, str],
                 groups: Mapping[str, WorkerGroup] = GROUPS) -> Settings:
        """Build settings from a mapping; raise ConfigError naming every bad variable.

        ``groups`` is the group table the per-group variables are read and
        checked for (the real table unless a test passes another).
        """
        problems: list[str] = _unknown_variables(environ, groups)
        values: dict[str, Any] = {}
        for var in VARIABLES:
            if var.per_group:
                values[var.field] = GroupValues({
                    group.name: _value(var, var.name_for(group.name),
                                       var.default_for(group), environ, problems)
                    for group in groups.values()})
            else:
                values[var.field] = _value(var, var.name, var.default, environ, problems)
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
    def ga4_config(self) -> Ga4Config:
        """The weights, thresholds and report font of GA4 scoring from ``ATR_GA4_*``."""
        return Ga4Config(**{name: getattr(self, f"ga4_{name}") for name in _GA4_DEFAULTS})

    @property
    def llm_chain(self) -> tuple[str, ...]:
        """The LLM providers in the order they are tried: provider, then fallbacks, once each."""
        return tuple(dict.fromkeys((self.llm_provider, *(self.llm_fallback or ()))))

    def configured_group(self, group: WorkerGroup) -> WorkerGroup:
        """``group`` as this host runs it: ``ATR_<GROUP>_PROCESSES`` / ``_THREADS`` applied."""
        return group.with_shape(self.process_overrides.get(group.name),
                                self.thread_overrides.get(group.name))

    def weights_of(self, group: WorkerGroup) -> dict[str, int]:
        """Queue -> weight for ``group``: the table's, with ``ATR_<GROUP>_WEIGHTS`` over it."""
        weights = {q.name: q.weight for q in group.queues}
        weights.update(dict(self.queue_weights.get(group.name) or ()))
        return weights

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
            if var.per_group:
                for group, one in value.items():
                    shown[var.name_for(group)] = "" if one is None else str(one)
            elif value is None:
                shown[var.name] = ""
            elif var.secret:
                shown[var.name] = "(set)"
            elif var.name == "REDIS_URL":
                shown[var.name] = redact_url(str(value))
            else:
                shown[var.name] = str(value)
        return shown


#: Every declaration, in field order (the order ``atr config --json`` prints).
VARIABLES: Final[tuple[Var, ...]] = tuple(
    replace(f.metadata[_DECLARATION], field=f.name) for f in fields(Settings))


def variable_names(groups: Mapping[str, WorkerGroup] = GROUPS) -> tuple[str, ...]:
    """Every variable the settings read for ``groups``, per-group ones spelled out."""
    return tuple(name for var in VARIABLES
                 for name in ([var.name_for(g) for g in groups] if var.per_group
                              else [var.name]))


def variable_name(field_name: str, group: str | None = None) -> str:
    """The variable of :class:`Settings` field ``field_name``, of ``group`` for a per-group one.

    ``variable_name("metrics_ports", "worker1")`` is ``ATR_METRICS_WORKER1_PORT``.
    """
    var = _declaration(field_name)
    if var.per_group != (group is not None):
        raise ValueError(f"{field_name} is {'' if var.per_group else 'not '}a per-group "
                         "setting: name the group exactly when it is")
    return var.name_for(group) if group is not None else var.name


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
    problems = _unknown_variables(env, GROUPS)
    root, tz = (_value(var, var.name, var.default, env, problems)
                for var in (_declaration("doclog_root"), _declaration("tz")))
    if problems:
        raise ConfigError("invalid settings: " + "; ".join(problems))
    return DoclogLocation(root, tz)


def _declaration(field_name: str) -> Var:
    return next(v for v in VARIABLES if v.field == field_name)


def _value(var: Var, name: str, default: str | None, environ: Mapping[str, str],
           problems: list[str]) -> Any:
    """``name`` parsed by ``var``'s parser; None, with the problem added, when it is bad."""
    raw = environ.get(name, "").strip()
    if not raw:
        if var.required:
            problems.append(f"{name} is required: {var.help}")
            return None
        raw = default or ""
    if not raw:
        return None
    try:
        return var.parse(raw)
    except ValueError as exc:
        shown = "(hidden)" if var.secret else repr(raw)
        problems.append(f"{name}={shown} is invalid: {exc}")
        return None


def _unknown_variables(environ: Mapping[str, str],
                       groups: Mapping[str, WorkerGroup]) -> list[str]:
    known = {*variable_names(groups), ENV_FILE_VARIABLE}
    shapes = [v for v in VARIABLES if v.per_group]
    problems = []
    for name in sorted(environ):
        if not name.startswith(_PREFIX) or name in known:
            continue
        group = next((g for v in shapes if (g := v.group_of(name)) is not None), None)
        if group is not None:
            close = difflib.get_close_matches(group, list(groups), n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            problems.append(f"{name} is for worker group {group!r}, which the group table "
                            f"does not have{hint}; groups: {', '.join(groups)}")
            continue
        close = difflib.get_close_matches(name, sorted(known), n=1)
        hint = f"did you mean {close[0]}?" if close else "remove it or check the spelling"
        if name in _RENAMED:
            hint = f"it was renamed {_RENAMED[name]}"
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
    yield from _ga4_checks(values)
    for name in ("backlog", "latency", "dead"):
        unit = "_s" if name == "latency" else ""
        if values[f"health_{name}_warn{unit}"] > values[f"health_{name}_crit{unit}"]:
            yield (f"ATR_HEALTH_{name.upper()}_WARN{unit.upper()} must not be greater than "
                   f"ATR_HEALTH_{name.upper()}_CRIT{unit.upper()}")
    for group, pairs in (values.get("queue_weights") or {}).items():
        table = GROUPS.get(group)
        if table is None:
            continue
        unknown = [q for q, _ in pairs or () if q not in table.queue_names]
        if unknown:
            yield (f"ATR_{group.upper()}_WEIGHTS names queue(s) {', '.join(unknown)} that "
                   f"{group} does not consume; its queues: {', '.join(table.queue_names)}")
    if values["google_indexing"] == "on" and not values["google_indexing_credentials"]:
        yield ("ATR_GOOGLE_INDEXING_CREDENTIALS is required when ATR_GOOGLE_INDEXING=on: the "
               "path of the service account's JSON key file")


def _ga4_checks(values: Mapping[str, Any]) -> Iterable[str]:
    """The orderings :class:`Ga4Config` needs, said with the variables' names."""
    weights = [f"ATR_GA4_WEIGHT_{k}" for k in ("REACH", "ENGAGEMENT", "VIEWS_PER_USER",
                                               "KEY_EVENTS")]
    if sum(values[w.lower()[4:]] for w in weights) <= 0:
        yield f"{', '.join(weights)} must not all be 0: set at least one weight above 0"
    ordered = [("PRUNE_SCORE", "REFRESH_SCORE"), ("REFRESH_SCORE", "PROMOTE_SCORE"),
               ("DECAY_SEVERE_REACH", "DECAY_MODERATE_REACH"),
               ("DECAY_MODERATE_REACH", "DECAY_MILD_REACH"),
               ("DECAY_MILD_DROP", "DECAY_MODERATE_DROP"),
               ("DECAY_MODERATE_DROP", "DECAY_SEVERE_DROP")]
    for low, high in ordered:
        if values[f"ga4_{low.lower()}"] >= values[f"ga4_{high.lower()}"]:
            yield (f"ATR_GA4_{low} ({values[f'ga4_{low.lower()}']:g}) must be less than "
                   f"ATR_GA4_{high} ({values[f'ga4_{high.lower()}']:g})")
    if values["ga4_decay_severe_reach"] <= 0:
        yield "ATR_GA4_DECAY_SEVERE_REACH must be greater than 0"
    if values["ga4_decay_mild_drop"] <= 0:
        yield "ATR_GA4_DECAY_MILD_DROP must be greater than 0"
    if values["ga4_property_id"] and not values["ga4_credentials"]:
        yield ("ATR_GA4_CREDENTIALS is required with ATR_GA4_PROPERTY_ID: the service-account "
               "key the live pull authenticates with")
    bad = [p for p in values["ga4_page_paths"] or () if not (p.startswith("/")
                                                              and p.endswith("/"))]
    if bad:
        yield (f"ATR_GA4_PAGE_PATHS: {', '.join(bad)} must start and end with '/' "
               "(e.g. /about/)")
