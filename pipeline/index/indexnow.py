"""The IndexNow protocol: one client, requests of at most 10,000 URLs, answers classified.

``POST {endpoint}/indexnow`` with ``Content-Type: application/json;
charset=utf-8`` and ``{"host", "key", "keyLocation", "urlList"}``. Every URL
of one request must be on ``host``; the engine then fetches the key file
(``https://<host>/<key>.txt`` unless ``keyLocation`` names another one on the
same host) and checks that it holds ``key``.

Answers, as the protocol documents them: 200 (submitted) and 202 (accepted,
key validation pending) are success; 400 (bad format), 403 (key not valid: the
key file is missing or holds another key) and 422 (URLs not on the host, or a
key that does not match the schema) are permanent; 429 (too many requests)
and 5xx are transient, and so are timeouts and connection errors. The client
does not retry: a transient error propagates and Dramatiq's Retries retry the
(idempotent) message with back-off.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Final
from urllib.parse import SplitResult, urlsplit

import requests

from pipeline.errors import PayloadError, PermanentError, TransientError

__all__ = [
    "MAX_URLS_PER_REQUEST",
    "IndexNowClient",
    "IndexNowError",
    "IndexNowKey",
    "IndexNowRejected",
    "IndexNowUnavailable",
    "batches",
    "by_host",
    "check_urls",
    "endpoint_name",
]

#: The protocol's limit of URLs in one request.
MAX_URLS_PER_REQUEST: Final = 10_000
_CONTENT_TYPE: Final = "application/json; charset=utf-8"
_USER_AGENT: Final = "atr-workers/0.1 (+indexnow)"
_OK: Final = (200, 202)


class IndexNowError(Exception):
    """Mixin of the IndexNow errors: the endpoint's name and the HTTP status (None: no answer)."""

    endpoint: str = ""
    status: int | None = None


class IndexNowRejected(IndexNowError, PermanentError):
    """Raised on 400, 403, 422 and other 4xx: sending the same request again cannot help."""


class IndexNowUnavailable(IndexNowError, TransientError):
    """Raised on 429, 5xx, timeouts and connection errors: a later attempt may succeed."""


@dataclass(frozen=True)
class IndexNowKey:
    """The site's key and, when it is not ``https://<host>/<key>.txt``, where the key file is."""

    key: str
    location: str | None = None

    def file_url(self, scheme: str, host: str) -> str:
        """The key file the engine reads for ``host``: ``keyLocation`` or ``/<key>.txt``."""
        return self.location or f"{scheme}://{host}/{self.key}.txt"


def endpoint_name(endpoint: str) -> str:
    """An endpoint's short name (its host, with a port if any): ``searchadvisor.naver.com``."""
    return urlsplit(endpoint).netloc


def check_urls(urls: object) -> list[str]:
    """``urls`` as a list of absolute http(s) URLs, once each, in order; PayloadError otherwise."""
    if not isinstance(urls, list) or not urls:
        raise PayloadError(f"urls must be a non-empty list of absolute URLs, got {urls!r}")
    checked: list[str] = []
    for url in urls:
        parts = _split(url)
        # Whitespace and control characters (NUL, DEL, C1) never belong in a URL an
        # engine should crawl; a producer means to percent-encode them.
        if parts is None or parts.scheme not in ("http", "https") or not parts.netloc \
                or any(c.isspace() or unicodedata.category(c) == "Cc" for c in str(url)):
            raise PayloadError(f"{url!r} is not an absolute http(s) URL such as "
                               "https://example.com/some-post/")
        checked.append(str(url))
    return list(dict.fromkeys(checked))


def _split(url: object) -> SplitResult | None:
    """``url`` split, or None when it is not a string or cannot be parsed (``http://[``)."""
    if not isinstance(url, str):
        return None
    try:
        return urlsplit(url)
    except ValueError:  # an unbalanced IPv6 bracket: no retry can make it a URL
        return None


def by_host(urls: Sequence[str]) -> dict[tuple[str, str], list[str]]:
    """``(scheme, host) -> URLs`` in order: one IndexNow request holds one host's URLs."""
    found: dict[tuple[str, str], list[str]] = {}
    for url in urls:
        parts = urlsplit(url)
        found.setdefault((parts.scheme, parts.netloc), []).append(url)
    return found


def batches(urls: Sequence[str], size: int = MAX_URLS_PER_REQUEST) -> Iterator[Sequence[str]]:
    """``urls`` in slices of at most ``size``."""
    for start in range(0, len(urls), size):
        yield urls[start:start + size]


class IndexNowClient:
    """Sends IndexNow requests; one per thread (it holds a ``requests`` session)."""

    def __init__(self, timeout_s: float, *, connect_timeout_s: float = 5.0) -> None:
        self._timeout = (min(connect_timeout_s, timeout_s), timeout_s)
        self._session = requests.Session()
        self._session.headers["User-Agent"] = _USER_AGENT

    def submit(self, endpoint: str, scheme: str, host: str, key: IndexNowKey,
               urls: Sequence[str]) -> int:
        """Submit ``urls`` (all on ``host``, at most 10,000) to ``endpoint``; the 200/202 status.

        Raises :class:`IndexNowRejected` or :class:`IndexNowUnavailable`, each
        with one line saying what the engine said and what to do.
        """
        if len(urls) > MAX_URLS_PER_REQUEST:
            raise ValueError(f"{len(urls)} URLs in one IndexNow request: at most "
                             f"{MAX_URLS_PER_REQUEST}; use batches()")
        name = endpoint_name(endpoint)
        body: dict[str, object] = {"host": host, "key": key.key}
        if key.location:
            body["keyLocation"] = key.location
        body["urlList"] = list(urls)
        try:
            response = self._session.post(
                f"{endpoint}/indexnow", data=json.dumps(body, ensure_ascii=False).encode(),
                headers={"Content-Type": _CONTENT_TYPE}, timeout=self._timeout,
                allow_redirects=False)
        except requests.Timeout:
            raise _error(IndexNowUnavailable, name, None,
                         f"IndexNow endpoint {name} did not answer within "
                         f"{self._timeout[1]:g} s (ATR_INDEXNOW_TIMEOUT_S); the message will "
                         "be retried") from None
        except requests.RequestException as exc:
            raise _error(IndexNowUnavailable, name, None,
                         f"could not reach IndexNow endpoint {endpoint} "
                         f"({type(exc).__name__}); check ATR_INDEXNOW_ENDPOINTS and the "
                         "network, the message will be retried") from None
        with response:
            status = response.status_code
            if status in _OK:
                return status
            said = _said(response)
            raise _classify(name, status, said, host, key.file_url(scheme, host),
                            response.headers)

    def close(self) -> None:
        """Close the session's connections."""
        self._session.close()


def _classify(name: str, status: int, said: str, host: str, key_url: str,
              headers: Mapping[str, str]) -> IndexNowError:
    if status == 403:
        return _error(IndexNowRejected, name, status,
                      f"{name} answered 403 ({said}): the key file at {key_url} does not hold "
                      "this key; serve ATR_INDEXNOW_KEY there as plain text, then run atr "
                      "index check")
    if status == 422:
        return _error(IndexNowRejected, name, status,
                      f"{name} answered 422 ({said}): a URL is not on {host}, or the key "
                      f"file {key_url} is not on {host}; submit only the site's own URLs and "
                      "keep ATR_INDEXNOW_KEY_LOCATION on the same host")
    if status == 400:
        return _error(IndexNowRejected, name, status,
                      f"{name} answered 400 ({said}): the request is malformed; check that "
                      "every URL is absolute and properly encoded")
    if status == 429 or status >= 500:
        wait = headers.get("Retry-After")
        return _error(IndexNowUnavailable, name, status,
                      f"{name} answered {status} ({said}"
                      f"{f', Retry-After {wait}' if wait else ''}); the message will be "
                      "retried with back-off")
    return _error(IndexNowRejected, name, status,
                  f"{name} answered {status} ({said}); the request was not accepted and "
                  "sending it again would not help: check ATR_INDEXNOW_ENDPOINTS")


def _error(cls: type[IndexNowError], name: str, status: int | None, text: str
           ) -> IndexNowError:
    error = cls(text)
    error.endpoint, error.status = name, status
    return error


def _said(response: requests.Response) -> str:
    text = " ".join(response.text.split())[:200] if response.text else ""
    return f"{response.reason or response.status_code}{': ' + text if text else ''}"
