"""The HTTP side of the WordPress bridge: configuration, one request, error classification.

Every concern (posts, media, and later tags and SEO meta) is a module of
functions taking a :class:`Bridge`; they all go through :meth:`Bridge.request`,
so timeouts, authentication and the classification of failures live here once.
The bridge does not retry: a transient error propagates and Dramatiq's
Retries middleware retries the whole (idempotent) actor with back-off.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType, TracebackType
from typing import Any, Final
from urllib.parse import urlsplit

import requests

from pipeline.settings import Settings
from pipeline.wordpress.errors import (
    BridgeAuthError,
    BridgeError,
    BridgeForbiddenError,
    BridgeNotConfiguredError,
    BridgeNotFoundError,
    BridgeRequestError,
    BridgeRouteNotFoundError,
    BridgeUnavailableError,
)

__all__ = ["CONNECT_TIMEOUT_S", "READ_TIMEOUT_S", "Bridge", "BridgeConfig"]

logger = logging.getLogger(__name__)

#: Seconds to open a connection: an unreachable site fails fast.
CONNECT_TIMEOUT_S: Final = 5.0
#: Seconds to wait for an answer; an upload gets the same (images are ~100 KB).
READ_TIMEOUT_S: Final = 30.0
_USER_AGENT: Final = "atr-workers/0.1 (+wordpress bridge)"
_CONFIGURE: Final = ("set BRIDGE_BASE to the site's REST root (https://example.com/wp-json) "
                     "and BRIDGE_TOKEN to user:application-password")


@dataclass(frozen=True)
class BridgeConfig:
    """Where WordPress is and who we are there; the password is never shown by repr."""

    base: str
    user: str
    password: str = field(repr=False)
    connect_timeout_s: float = CONNECT_TIMEOUT_S
    read_timeout_s: float = READ_TIMEOUT_S

    @classmethod
    def from_settings(cls, settings: Settings) -> BridgeConfig:
        """The bridge of ``settings``; BridgeNotConfiguredError says what to set."""
        config = cls.from_values(settings.bridge_base, settings.bridge_token)
        return replace(config, read_timeout_s=settings.bridge_timeout_s)

    @classmethod
    def from_values(cls, base: str | None, token: str | None) -> BridgeConfig:
        """Check ``BRIDGE_BASE`` and ``BRIDGE_TOKEN`` values and build the config."""
        if not base or not token:
            missing = " and ".join(n for n, v in (("BRIDGE_BASE", base), ("BRIDGE_TOKEN", token))
                                   if not v)
            raise BridgeNotConfiguredError(f"the WordPress bridge is not configured "
                                           f"({missing} unset): {_CONFIGURE}")
        parts = urlsplit(base)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise BridgeNotConfiguredError(f"BRIDGE_BASE={base!r} is not an http(s) URL: "
                                           f"{_CONFIGURE}")
        user, sep, password = token.partition(":")
        if not sep or not user or not password:
            raise BridgeNotConfiguredError("BRIDGE_TOKEN must be user:application-password "
                                           "(the value is hidden)")
        return cls(base.rstrip("/"), user, password)


class Bridge:
    """A session to one WordPress site; not shared between threads (one per message)."""

    def __init__(self, config: BridgeConfig) -> None:
        self.config = config
        self._session = requests.Session()
        self._session.auth = (config.user, config.password)
        self._session.headers["User-Agent"] = _USER_AGENT
        basic = base64.b64encode(f"{config.user}:{config.password}".encode()).decode()
        # Strings that must never reach an error message or a log line.
        self._secrets = tuple(s for s in (config.password, config.password.replace(" ", ""),
                                          basic) if s)

    def request(self, method: str, route: str, *, params: Mapping[str, Any] | None = None,
                json: Any = None, data: bytes | None = None,
                headers: Mapping[str, str] | None = None, expect: tuple[int, ...] = (200,)
                ) -> Any:
        """Send ``method route`` (``/wp/v2/...``) and return the parsed JSON answer.

        See :meth:`request_with_headers` for the errors.
        """
        return self.request_with_headers(method, route, params=params, json=json, data=data,
                                         headers=headers, expect=expect)[0]

    def request_with_headers(self, method: str, route: str, *,
                             params: Mapping[str, Any] | None = None, json: Any = None,
                             data: bytes | None = None,
                             headers: Mapping[str, str] | None = None,
                             expect: tuple[int, ...] = (200,)) -> tuple[Any, Mapping[str, str]]:
        """Like :meth:`request`, also returning the answer's headers (``X-WP-TotalPages``).

        Raises a permanent :class:`~pipeline.wordpress.errors.BridgeError` for
        4xx and malformed answers, :class:`BridgeUnavailableError` for 408,
        429, 5xx, timeouts and connection failures.
        """
        what = f"{method} {route}"
        try:
            response = self._session.request(
                method, self.config.base + route, params=params, json=json, data=data,
                headers=dict(headers or {}),
                timeout=(self.config.connect_timeout_s, self.config.read_timeout_s),
                allow_redirects=False)
        except requests.Timeout as exc:
            kind = "connect" if isinstance(exc, requests.ConnectTimeout) else "read"
            limit = (self.config.connect_timeout_s if kind == "connect"
                     else self.config.read_timeout_s)
            raise BridgeUnavailableError(
                f"WordPress did not answer {what} within {limit:g} s ({kind} timeout) at "
                f"{self.config.base}; the site is slow or down") from None
        except requests.RequestException as exc:
            raise BridgeUnavailableError(self._scrub(
                f"could not reach WordPress for {what} at {self.config.base} "
                f"({type(exc).__name__}); check BRIDGE_BASE and the network")) from None
        with response:
            if response.status_code not in expect:
                raise self._error(what, response)
            try:
                return response.json(), response.headers
            except ValueError:
                raise BridgeRequestError(
                    f"WordPress answered {what} with {response.status_code} but not JSON "
                    f"({response.headers.get('Content-Type', 'no Content-Type')}); check that "
                    f"BRIDGE_BASE={self.config.base} is the REST root (…/wp-json)") from None

    def _error(self, what: str, response: requests.Response) -> BridgeError:
        status = response.status_code
        body = _json_or_none(response)
        said = self._scrub(_wordpress_said(response, body))
        error: BridgeError
        if status == 401:
            error = BridgeAuthError(
                f"WordPress refused the credentials for {what} ({said}); check BRIDGE_TOKEN: "
                f"user {self.config.user!r} must exist and the password must be one of its "
                "Application Passwords (Users > Profile), not its login password; behind "
                "Apache/FastCGI the Authorization header must reach PHP")
        elif status == 403:
            error = BridgeForbiddenError(
                f"WordPress user {self.config.user!r} may not do {what} ({said}); give the "
                "user a role that can edit posts and upload files (Editor), or put such a "
                "user in BRIDGE_TOKEN")
        elif status == 404 and _is_item_answer(body):
            error = BridgeNotFoundError(
                f"WordPress has nothing at {what} ({said}); check the post id")
        elif status == 404:
            error = BridgeRouteNotFoundError(
                f"WordPress has no route {what} ({said}); check BRIDGE_BASE={self.config.base} "
                "is the REST root of the site (…/wp-json)")
        elif status in (408, 429) or status >= 500:
            wait = response.headers.get("Retry-After")
            error = BridgeUnavailableError(
                f"WordPress could not answer {what} now ({said}"
                f"{f', Retry-After {wait}' if wait else ''})")
        else:
            error = BridgeRequestError(
                f"WordPress rejected {what} ({said}); the request is wrong and a retry "
                "would send it again: fix the payload or the code that built it")
        error.status = status
        if isinstance(body, dict):
            code, data = body.get("code"), body.get("data")
            error.code = str(code) if code is not None else None
            if isinstance(data, dict):
                error.data = MappingProxyType(data)
        return error

    def _scrub(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "(hidden)")
        return text

    def close(self) -> None:
        """Close the session's connections."""
        self._session.close()

    def __enter__(self) -> Bridge:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def _json_or_none(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _is_item_answer(body: Any) -> bool:
    """Whether a 404 body is WordPress saying an item is missing (not: no such route)."""
    return isinstance(body, dict) and isinstance(body.get("code"), str) \
        and body["code"] != "rest_no_route"


def _wordpress_said(response: requests.Response, body: Any) -> str:
    """``"404 rest_post_invalid_id: Invalid post ID."`` from a WordPress error body."""
    if isinstance(body, dict) and "code" in body:
        message = str(body.get("message", ""))[:300]
        return f"{response.status_code} {body['code']}: {message}"
    return f"{response.status_code} {response.reason}"
