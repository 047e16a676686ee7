"""The site behind ``atr dashboard`` (routes: :mod:`ops.dashboard_cli`): login, health, serving."""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import logging
import signal
import threading
import time
from collections.abc import Iterable
from types import FrameType
from typing import TYPE_CHECKING, Any, Final

import redis
from dramatiq.brokers.redis import RedisBroker
from dramatiq_dashboard import DashboardApp
from waitress.server import create_server

from ops.common import Exit
from pipeline import redis_client
from pipeline.errors import AtrError, ConfigError
from pipeline.redis_client import one_line
from pipeline.settings import Settings, redact_url

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

__all__ = ["HEALTH_PATH", "PREFIX", "REALM", "BasicAuth", "DashboardSite", "make_site",
           "serve"]

logger = logging.getLogger(__name__)

#: Where dramatiq_dashboard is mounted; its links are built from this prefix.
PREFIX: Final = "/dashboard"
#: The unauthenticated health endpoint, for load balancers and alarms.
HEALTH_PATH: Final = "/healthz"
#: The HTTP Basic realm the browser shows in its login prompt.
REALM: Final = "atr-workers"
#: waitress worker threads: an operator page, not a public site.
_THREADS: Final = 4
#: Redis timeouts of /healthz, in seconds: an alarm wants an answer, not a hang.

_TEXT: Final = ("Content-Type", "text/plain; charset=utf-8")
# The dashboard shows message payloads and has delete/requeue buttons: keep
# its pages out of caches and out of other sites' frames (clickjacking).
_PRIVATE: Final = (("Cache-Control", "no-store"), ("X-Frame-Options", "DENY"))


class BasicAuth:
    """Checks an ``Authorization: Basic`` header against one user and password."""

    def __init__(self, user: str, password: str) -> None:
        self._user = user.encode("utf-8")
        self._password = password.encode("utf-8")

    def allows(self, header: str | None) -> bool:
        """True when ``header`` carries exactly the configured user and password."""
        offered = _basic_credentials(header) if header else None
        if offered is None:
            return False
        user, password = offered
        # Both comparisons always run (no short-circuit `and`), so the time
        # taken does not tell whether the user name alone was right.
        user_ok = hmac.compare_digest(user, self._user)
        password_ok = hmac.compare_digest(password, self._password)
        return user_ok & password_ok


def _basic_credentials(header: str) -> tuple[bytes, bytes] | None:
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(token.strip(), validate=True)
    except (binascii.Error, ValueError):  # ValueError: non-ASCII characters in the token
        return None
    user, sep, password = decoded.partition(b":")
    return (user, password) if sep else None


class DashboardSite:
    """The WSGI application: routing, login, /healthz and the mounted dashboard."""

    def __init__(self, dashboard: WSGIApplication, health_client: redis.Redis,
                 auth: BasicAuth, redis_shown: str) -> None:
        """``redis_shown``: the Redis URL as logs may show it (password masked)."""
        self._dashboard = dashboard
        self._health_client = health_client
        self._redis_shown = redis_shown
        self._auth = auth
        self._lock = threading.Lock()
        self._redis_ok: bool | None = None

    def __call__(self, environ: WSGIEnvironment,
                 start_response: StartResponse) -> Iterable[bytes]:
        """Answer one request."""
        path: str = environ.get("PATH_INFO", "") or "/"
        if path == HEALTH_PATH:
            return self._health(start_response)
        if not self._auth.allows(environ.get("HTTP_AUTHORIZATION")):
            if environ.get("HTTP_AUTHORIZATION"):
                # Who tried is worth a line; what they typed never is.
                logger.warning("Dashboard login refused for %s.",
                               environ.get("REMOTE_ADDR", "an unknown address"))
            return _respond(start_response, "401 Unauthorized",
                            "Log in with ATR_DASHBOARD_USER and ATR_DASHBOARD_PASSWORD.\n",
                            [("WWW-Authenticate", f'Basic realm="{REALM}"')])
        script_name: str = environ.get("SCRIPT_NAME", "")
        if path in ("/", PREFIX):
            return _respond(start_response, "302 Found", "",
                            [("Location", f"{script_name}{PREFIX}/")])
        if not path.startswith(PREFIX + "/"):
            return _respond(start_response, "404 Not Found", "Not found.\n")
        return self._mounted(environ, start_response, script_name, path)

    def _mounted(self, environ: WSGIEnvironment, start_response: StartResponse,
                 script_name: str, path: str) -> Iterable[bytes]:
        # The dashboard routes on PATH_INFO without the prefix and builds its
        # links from PREFIX; SCRIPT_NAME takes the prefix, as WSGI mounting does.
        inner = {**environ, "SCRIPT_NAME": script_name + PREFIX,
                 "PATH_INFO": path[len(PREFIX):]}

        def start_private(status: str, headers: list[tuple[str, str]],
                          exc_info: Any = None) -> Any:
            return start_response(status, [*headers, *_PRIVATE], exc_info)

        try:
            return self._dashboard(inner, start_private)
        except redis.exceptions.RedisError as exc:
            # Redis down is an outage to report, not a server error with a
            # traceback on every page load.
            self._note_redis(ok=False, exc=exc)
            return _respond(start_response, "503 Service Unavailable",
                            "The dashboard cannot reach Redis; see /healthz and the "
                            "dashboard's log.\n")

    def close(self) -> None:
        """Close the /healthz Redis connections (the broker is its owner's to close)."""
        self._health_client.close()

    def _health(self, start_response: StartResponse) -> Iterable[bytes]:
        started = time.perf_counter()
        body: dict[str, Any]
        try:
            self._health_client.ping()
        except redis.exceptions.RedisError as exc:
            self._note_redis(ok=False, exc=exc)
            # The class name only: this answer needs no login, and a Redis
            # error message names internal hosts.
            body = {"redis": "unreachable", "error": type(exc).__name__}
            status = "503 Service Unavailable"
        else:
            self._note_redis(ok=True)
            body = {"redis": "ok", "ping_ms": round((time.perf_counter() - started) * 1000, 1)}
            status = "200 OK"
        return _respond(start_response, status, json.dumps(body) + "\n",
                        [("Content-Type", "application/json"), ("Cache-Control", "no-store")])

    def _note_redis(self, *, ok: bool, exc: BaseException | None = None) -> None:
        """Log changes of Redis reachability once, not on every probe."""
        with self._lock:
            changed, self._redis_ok = self._redis_ok != ok, ok
        if not changed:
            return
        if ok:
            logger.info("Redis at %s answers.", self._redis_shown)
        else:
            logger.warning("Redis at %s is unreachable (%s); the dashboard answers 503 "
                           "until it is back.", self._redis_shown, one_line(exc))


def _respond(start_response: StartResponse, status: str, text: str,
             headers: Iterable[tuple[str, str]] = ()) -> list[bytes]:
    body = text.encode("utf-8")
    extra = list(headers)
    if not any(name == "Content-Type" for name, _ in extra):
        extra.append(_TEXT)
    start_response(status, [*extra, ("Content-Length", str(len(body)))])
    return [body]


def make_site(settings: Settings, broker: RedisBroker) -> DashboardSite:
    """The dashboard's WSGI application on ``broker``; ConfigError without a password."""
    password = _require_password(settings)
    health_client = redis_client.connect(settings.redis_url, "http_health",
                                         name="atr-dashboard-health")
    dashboard: WSGIApplication = DashboardApp(broker=broker, prefix=PREFIX)
    return DashboardSite(dashboard, health_client,
                         BasicAuth(settings.dashboard_user, password),
                         redact_url(settings.redis_url))


def _require_password(settings: Settings) -> str:
    if not settings.dashboard_password:
        raise ConfigError("ATR_DASHBOARD_PASSWORD is not set and the dashboard has no "
                          "default password; set it in the env file and start again")
    return settings.dashboard_password


def serve(settings: Settings) -> int:
    """Serve the dashboard on ATR_DASHBOARD_BIND until SIGTERM or SIGINT; exit code."""
    _require_password(settings)  # before booting a broker for nothing
    from brokers.boot import producer_broker  # boots every actor: only when serving

    # A producer broker declares every group's actors, so every queue is listed.
    broker = producer_broker(settings)
    site = make_site(settings, broker)
    try:
        server = create_server(site, listen=settings.dashboard_bind,
                                        threads=_THREADS, ident="atr-dashboard")
    except OSError as exc:
        broker.close()
        raise AtrError(f"cannot listen on {settings.dashboard_bind} (ATR_DASHBOARD_BIND): "
                       f"{exc.strerror or exc}; stop what holds the port or choose another"
                       ) from None
    previous = signal.signal(signal.SIGTERM, _raise_system_exit)
    logger.info("Dashboard serving http://%s%s/ for user %r; SIGTERM stops it.",
                settings.dashboard_bind, PREFIX, settings.dashboard_user)
    try:
        # waitress's loop ends on SystemExit or KeyboardInterrupt and then
        # stops its threads, waiting up to a few seconds for requests in flight.
        server.run()
    finally:
        signal.signal(signal.SIGTERM, previous)
        server.close()
        site.close()
        broker.close()
    logger.info("Dashboard stopped.")
    return Exit.OK


def _raise_system_exit(_signum: int, _frame: FrameType | None) -> None:
    raise SystemExit(0)
