"""A real IndexNow endpoint on 127.0.0.1, and a site that serves key files.

:class:`IndexNowFake` answers ``POST /indexnow`` as the engines do
(https://www.indexnow.org/documentation): 200 for a valid submission, 202
when told to (``accept_status=202``: accepted, key validation pending), 400
for a body that is not a JSON object with ``host``, ``key`` and ``urlList``
(or not sent as ``application/json``), 403 when the key is not the one the
host's key file holds, 422 when a URL or ``keyLocation`` is not on ``host``
or the key does not match the schema (8-128 of ``a-z A-Z 0-9 -``), 422 for
more than 10,000 URLs. Whether a host's key is right is decided like the
engines do, by reading the key file (``keyLocation``, else
``http://<host>/<key>.txt``) over HTTP, unless ``keys`` (host -> key) is given.

Tests read :attr:`IndexNowFake.submissions` (every request, with the URLs
it held and the status it got) and inject faults with
:meth:`IndexNowFake.fail_next` (any status, e.g. 429 with ``Retry-After``,
or 500) and :meth:`IndexNowFake.hang_next` (answer after a client's timeout).

:class:`KeyFileSite` is the site's web root for the key file: a tiny static
server whose files a test sets, to check ``atr index check`` against a
matching and a mismatching key file.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any, Final
from urllib.parse import urlsplit

import requests

from devkit.http_server import LocalHTTPServer, QuietHandler

__all__ = ["IndexNowFake", "KeyFileSite", "Submission"]

_KEY: Final = re.compile(r"[A-Za-z0-9-]{8,128}")
_MAX_URLS: Final = 10_000


@dataclass(frozen=True)
class Submission:
    """One request as the fake saw it; ``urls`` empty when the body could not be read."""

    path: str
    content_type: str | None
    host: str | None
    key: str | None
    key_location: str | None
    urls: tuple[str, ...]
    status: int
    fault: bool = False


@dataclass(frozen=True)
class _Fault:
    status: int
    hang_s: float = 0.0
    retry_after: str | None = None


class IndexNowFake(LocalHTTPServer):
    """The fake endpoint: its :attr:`url` is what ``ATR_INDEXNOW_ENDPOINTS`` lists.

    ``keys``: host -> the key its key file holds (None: read the key file over
    HTTP); ``accept_status``: 200 or 202 for a valid submission; ``slow_s``:
    seconds every valid answer takes.
    """

    def __init__(self, *, keys: dict[str, str] | None = None, accept_status: int = 200,
                 slow_s: float = 0.0, name: str = "indexnow-fake") -> None:
        if accept_status not in (200, 202):
            raise ValueError("accept_status must be 200 or 202")
        super().__init__(name=name)
        self._keys = dict(keys) if keys is not None else None
        self._accept = accept_status
        # Each answer waits this long: concurrent submissions then overlap.
        self._slow_s = slow_s
        self._lock = threading.Lock()
        self._submissions: list[Submission] = []
        # None lets one request through (``fail_next(skip=...)``).
        self._faults: list[_Fault | None] = []

    @property
    def submissions(self) -> list[Submission]:
        """Every request answered so far, oldest first."""
        with self._lock:
            return list(self._submissions)

    def accepted_urls(self) -> list[str]:
        """Every URL of the requests answered 200 or 202, in order (repeats kept)."""
        return [u for s in self.submissions if s.status in (200, 202) for u in s.urls]

    def fail_next(self, status: int, *, times: int = 1, retry_after: str | None = None,
                  skip: int = 0) -> None:
        """Answer the next ``times`` requests with ``status`` (and ``Retry-After``).

        ``skip`` requests are answered normally first (``skip=1``: fail the second).
        """
        with self._lock:
            self._faults.extend([None] * skip + [_Fault(status, 0.0, retry_after)] * times)

    def hang_next(self, seconds: float, *, times: int = 1) -> None:
        """Hold the next ``times`` requests for ``seconds`` (past a timeout), then answer 504."""
        with self._lock:
            self._faults.extend([_Fault(504, seconds)] * times)

    def handler_class(self) -> type[BaseHTTPRequestHandler]:
        """Every POST to :meth:`_answer`."""
        fake = self

        class Handler(QuietHandler):
            server_version = "indexnow-fake/1"

            def do_POST(self) -> None:
                status, headers, body = fake._answer(self.path, self.lower_headers(),
                                                     self.read_body())
                self.send_body(status, body, {"Content-Type": "text/plain; charset=utf-8",
                                              **headers})

            def do_GET(self) -> None:
                self.send_body(405, b"use POST /indexnow", {"Content-Type": "text/plain"})

        return Handler

    def _answer(self, path: str, headers: dict[str, str], body: bytes
                ) -> tuple[int, dict[str, str], bytes]:
        content_type = headers.get("content-type")
        with self._lock:
            fault = self._faults.pop(0) if self._faults else None
        data = _parse(body) if (content_type or "").startswith("application/json") else None
        host = data.get("host") if isinstance(data, dict) else None
        key = data.get("key") if isinstance(data, dict) else None
        location = data.get("keyLocation") if isinstance(data, dict) else None
        urls = data.get("urlList") if isinstance(data, dict) else None
        shown = tuple(str(u) for u in urls) if isinstance(urls, list) else ()
        extra: dict[str, str] = {}
        if fault is not None:
            if fault.hang_s:
                self.stopping.wait(fault.hang_s)
            status, text = fault.status, "injected fault"
            if fault.retry_after:
                extra["Retry-After"] = fault.retry_after
        elif urlsplit(path).path != "/indexnow":
            status, text = 404, "not found"
        else:
            status, text = self._judge(host, key, location, urls)
            if self._slow_s:
                self.stopping.wait(self._slow_s)
        with self._lock:
            self._submissions.append(Submission(
                urlsplit(path).path, content_type, host if isinstance(host, str) else None,
                key if isinstance(key, str) else None,
                location if isinstance(location, str) else None, shown, status,
                fault is not None))
        return status, extra, text.encode()

    def _judge(self, host: Any, key: Any, location: Any, urls: Any) -> tuple[int, str]:
        if not isinstance(host, str) or not isinstance(key, str) or not isinstance(urls, list) \
                or not urls or not all(isinstance(u, str) for u in urls):
            return 400, "Bad request: invalid format"
        if not _KEY.fullmatch(key):
            return 422, "Unprocessable Entity: the key does not match the schema"
        if len(urls) > _MAX_URLS:
            return 422, f"Unprocessable Entity: more than {_MAX_URLS} URLs"
        if any(urlsplit(u).netloc != host for u in urls):
            return 422, "Unprocessable Entity: URLs which don't belong to the host"
        if location is not None and (not isinstance(location, str)
                                     or urlsplit(location).netloc != host):
            return 422, "Unprocessable Entity: keyLocation is not on the host"
        if not self._key_valid(host, key, location):
            return 403, "Forbidden: key not valid (key not found, file not found)"
        return self._accept, "OK" if self._accept == 200 else "Accepted"

    def _key_valid(self, host: str, key: str, location: str | None) -> bool:
        if self._keys is not None:
            return self._keys.get(host) == key
        url = location or f"http://{host}/{key}.txt"
        try:
            response = requests.get(url, timeout=5)
        except requests.RequestException:
            return False
        return response.status_code == 200 and \
            response.content.decode("utf-8-sig", errors="replace").strip() == key


def _parse(body: bytes) -> Any:
    try:
        return json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None


class KeyFileSite(LocalHTTPServer):
    """A static site: path -> bytes set by the test, 404 for anything else; records GETs."""

    def __init__(self, files: dict[str, bytes] | None = None) -> None:
        super().__init__(name="keyfile-site")
        self._files = dict(files or {})
        self._lock = threading.Lock()
        self.requested: list[str] = []

    @property
    def host(self) -> str:
        """``127.0.0.1:<port>``: the host IndexNow requests name."""
        return urlsplit(self.url).netloc

    def put(self, path: str, body: bytes) -> None:
        """Serve ``body`` at ``path`` (``/<key>.txt``)."""
        with self._lock:
            self._files[path] = body

    def handler_class(self) -> type[BaseHTTPRequestHandler]:
        """GET serves the files."""
        site = self

        class Handler(QuietHandler):
            def do_GET(self) -> None:
                path = urlsplit(self.path).path
                with site._lock:
                    site.requested.append(path)
                    body = site._files.get(path)
                if body is None:
                    self.send_body(404, b"<h1>Not Found</h1>", {"Content-Type": "text/html"})
                else:
                    self.send_body(200, body, {"Content-Type": "text/plain"})

        return Handler
