"""The Google Indexing API, optional and off by default (``ATR_GOOGLE_INDEXING``).

Google accepts Indexing API notifications only for pages with ``JobPosting``
or ``BroadcastEvent`` (in a ``VideoObject``) structured data; for articles it
does nothing useful and may count against the site. Leave it off unless the
site publishes such pages.

When on, each URL is one ``POST {base}/v3/urlNotifications:publish`` with
``{"url": ..., "type": "URL_UPDATED"}`` and an OAuth2 token of the service
account in ``ATR_GOOGLE_INDEXING_CREDENTIALS`` (scope ``.../auth/indexing``;
the account must be an owner of the site in Search Console). The project's
publish quota (``ATR_GOOGLE_INDEXING_DAILY_QUOTA``, Google's default 200 a
day) is counted in Redis, shared by every worker on every host, per Pacific
day (Google resets it at midnight Pacific time): with none left, the message
waits for the reset (a deferral, no retry used). A 429 from Google means the
same. 400/403/404 are permanent; 5xx and timeouts are retried.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final
from zoneinfo import ZoneInfo

import redis
import requests

from pipeline import keys
from pipeline.errors import ConfigError, Deferred
from pipeline.index.config import GOOGLE
from pipeline.index.indexnow import IndexNowRejected, IndexNowUnavailable
from pipeline.settings import Settings

__all__ = ["PACIFIC", "GoogleIndexing", "GoogleQuota", "quota_day", "until_reset_ms"]

PACIFIC: Final = ZoneInfo("America/Los_Angeles")
_SCOPE: Final = "https://www.googleapis.com/auth/indexing"
_QUOTA_TTL_S: Final = 2 * 24 * 3600


def quota_day(now: dt.datetime) -> str:
    """The Pacific day whose quota a request at ``now`` (aware) counts against."""
    return now.astimezone(PACIFIC).date().isoformat()


def until_reset_ms(now: dt.datetime) -> int:
    """Milliseconds from ``now`` to the next midnight Pacific time (the quota's reset)."""
    local = now.astimezone(PACIFIC)
    midnight = dt.datetime.combine(local.date() + dt.timedelta(days=1), dt.time(),
                                   tzinfo=PACIFIC)
    return max(1000, int((midnight - local).total_seconds() * 1000))


class GoogleQuota:
    """The day's publish requests, counted in Redis (``atr:index:google:quota:<day>``)."""

    def __init__(self, client: redis.Redis, per_day: int) -> None:
        self._client = client
        self.per_day = per_day

    def take(self, now: dt.datetime) -> bool:
        """Count one request against the quota of ``now``'s Pacific day; False when none is left."""
        key = keys.google_quota(quota_day(now))
        with self._client.pipeline() as pipe:
            pipe.incr(key)
            pipe.expire(key, _QUOTA_TTL_S)
            used = int(pipe.execute()[0])
        if used > self.per_day:
            self._client.decr(key)
            return False
        return True

    def used(self, now: dt.datetime) -> int:
        """Requests counted so far on ``now``'s Pacific day."""
        value = self._client.get(keys.google_quota(quota_day(now)))
        return int(value) if value is not None else 0


@dataclass
class GoogleIndexing:
    """The engine for the Google Indexing API: one URL a request, under the shared quota."""

    base_url: str
    credentials_path: Path
    quota: GoogleQuota
    timeout_s: float = 20.0
    name: str = GOOGLE
    batch_size: int = 1
    _token: Any = field(default=None, repr=False)

    @classmethod
    def from_settings(cls, settings: Settings, quota: GoogleQuota) -> GoogleIndexing:
        """The engine of ``ATR_GOOGLE_INDEXING_*``."""
        if settings.google_indexing_credentials is None:
            raise ConfigError("ATR_GOOGLE_INDEXING_CREDENTIALS is unset")
        return cls(settings.google_indexing_base_url, settings.google_indexing_credentials,
                   quota, float(settings.indexnow_timeout_s))

    def send(self, scheme: str, host: str, urls: Sequence[str]) -> int:
        """Publish ``URL_UPDATED`` for each URL; the last status (200)."""
        status = 200
        for url in urls:
            now = dt.datetime.now(dt.UTC)
            if not self.quota.take(now):
                raise Deferred(f"the Google Indexing API quota of {self.quota.per_day} a day "
                               "is used up; it resets at midnight Pacific time",
                               until_reset_ms(now))
            status = self._publish(url, now)
        return status

    def _publish(self, url: str, now: dt.datetime) -> int:
        try:
            response = requests.post(
                f"{self.base_url}/v3/urlNotifications:publish",
                json={"url": url, "type": "URL_UPDATED"},
                headers={"Authorization": f"Bearer {self._access_token()}"},
                timeout=(5.0, self.timeout_s))
        except requests.RequestException as exc:
            raise _error(IndexNowUnavailable, None,
                         f"could not reach the Google Indexing API ({type(exc).__name__}); "
                         "the message will be retried") from None
        with response:
            status = response.status_code
            if status == 200:
                return status
            said = " ".join(response.text.split())[:200]
        if status == 429:
            raise Deferred(f"the Google Indexing API answered 429 ({said}): its quota is "
                           "used up until midnight Pacific time", until_reset_ms(now))
        if status >= 500:
            raise _error(IndexNowUnavailable, status, f"the Google Indexing API answered "
                         f"{status} ({said}); the message will be retried")
        fix = ("the service account must be an owner of the site in Search Console "
               "(Settings > Users and permissions)") if status in (401, 403) else \
            "Google accepts only pages with JobPosting or BroadcastEvent markup"
        raise _error(IndexNowRejected, status, f"the Google Indexing API answered {status} "
                     f"for {url} ({said}): {fix}")

    def _access_token(self) -> str:
        # Imported here: only a site that turned Google on pays for google.auth.
        from google.auth.transport.requests import Request
        from google.oauth2 import service_account

        if self._token is None:
            try:
                self._token = service_account.Credentials.from_service_account_file(  # type: ignore[no-untyped-call]
                    str(self.credentials_path), scopes=[_SCOPE])
            except (OSError, ValueError) as exc:
                raise ConfigError(f"ATR_GOOGLE_INDEXING_CREDENTIALS={self.credentials_path}: "
                                  f"not a readable service-account JSON key ({exc})") from None
        if not self._token.valid:
            from google.auth import exceptions

            try:
                self._token.refresh(Request())
            except exceptions.RefreshError as exc:
                raise _error(IndexNowRejected, None, "Google refused the service account of "
                             f"ATR_GOOGLE_INDEXING_CREDENTIALS ({exc}); create a new key for "
                             "it, or check that the account still exists") from None
            except exceptions.TransportError as exc:
                raise _error(IndexNowUnavailable, None, "could not get a Google access token "
                             f"({type(exc).__name__}); the message will be retried") from None
        return str(self._token.token)


def _error(cls: type[IndexNowRejected] | type[IndexNowUnavailable], status: int | None,
           text: str) -> IndexNowRejected | IndexNowUnavailable:
    error = cls(text)
    error.endpoint, error.status = GOOGLE, status
    return error
