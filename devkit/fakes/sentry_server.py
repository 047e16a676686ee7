"""A real Sentry ingest endpoint on 127.0.0.1 that records what the SDK sends.

It speaks the part of Sentry's ingest protocol that ``sentry_sdk`` uses:

- ``POST /api/<project>/envelope/``: an envelope (a JSON header line, then
  items, each a JSON header line and a payload of ``length`` bytes or up to
  the next newline);
- ``POST /api/<project>/store/``: one event as JSON (old clients);
- bodies gzip- or deflate-compressed (``Content-Encoding``), as the SDK sends;
- auth from ``X-Sentry-Auth: Sentry sentry_key=...``, the ``sentry_key``
  query parameter, or the envelope header's ``dsn``.

Like Sentry it answers 200 with ``{"id": <event id>}``, 401 without
credentials, 403 for a wrong key or project, 400 for a body it cannot read.
Tests read :attr:`SentryIngest.envelopes` (``raw`` is the decompressed body,
for byte-level secret checks) or :meth:`SentryIngest.events`.
"""

from __future__ import annotations

import gzip
import json
import re
import threading
import time
import zlib
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any, Final
from urllib.parse import parse_qs, urlsplit

from devkit.http_server import LocalHTTPServer, QuietHandler

__all__ = ["PROJECT_ID", "PUBLIC_KEY", "Envelope", "Item", "SentryIngest"]

#: The key and project of the DSN the fake accepts.
PUBLIC_KEY: Final = "publickey"
PROJECT_ID: Final = "1"
_PATH: Final = re.compile(r"^/api/(?P<project>[^/]+)/(?P<endpoint>envelope|store)/?$")
_AUTH_PAIR: Final = re.compile(r"(\w+)=([^,\s]+)")
_JSON: Final = "application/json"


@dataclass(frozen=True)
class Item:
    """One envelope item: its header (``type``, ``length``, ...) and payload bytes."""

    headers: dict[str, Any]
    payload: bytes

    @property
    def type(self) -> str:
        """The item type: ``event``, ``transaction``, ``session``, ``client_report``..."""
        return str(self.headers.get("type", ""))

    def json(self) -> Any:
        """The payload parsed as JSON."""
        return json.loads(self.payload)


@dataclass(frozen=True)
class Envelope:
    """One accepted request: envelope header, items and the decompressed body."""

    headers: dict[str, Any]
    items: list[Item] = field(default_factory=list)
    raw: bytes = b""


class SentryIngest(LocalHTTPServer):
    """A Sentry ingest server on a free port of 127.0.0.1; use as a context manager."""

    def __init__(self, public_key: str = PUBLIC_KEY, project_id: str = PROJECT_ID) -> None:
        super().__init__(name="fake-sentry")
        self.public_key = public_key
        self.project_id = project_id
        self._envelopes: list[Envelope] = []
        self._lock = threading.Lock()

    @property
    def dsn(self) -> str:
        """A DSN that points the Sentry SDK at this server."""
        return f"http://{self.public_key}@127.0.0.1:{self.port}/{self.project_id}"

    @property
    def envelopes(self) -> list[Envelope]:
        """Every accepted envelope (a store request counts as one), oldest first."""
        with self._lock:
            return list(self._envelopes)

    def events(self) -> list[dict[str, Any]]:
        """Every error event received, oldest first (transactions, sessions excluded)."""
        return [item.json() for env in self.envelopes for item in env.items
                if item.type == "event"]

    def wait_events(self, count: int, timeout: float = 10) -> list[dict[str, Any]]:
        """Poll until at least ``count`` events arrived (or the timeout); the events."""
        deadline = time.monotonic() + timeout
        while len(events := self.events()) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return events

    def handler_class(self) -> type[BaseHTTPRequestHandler]:
        """The handler: the envelope and store endpoints."""
        return _handler_for(self)

    def _record(self, envelope: Envelope) -> None:
        with self._lock:
            self._envelopes.append(envelope)


class _BadRequest(Exception):
    """Raised for a request the real ingest would refuse; carries the status."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


def _handler_for(ingest: SentryIngest) -> type[BaseHTTPRequestHandler]:
    class Handler(QuietHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as the SDK's urllib3 pool expects

        def do_POST(self) -> None:
            try:
                envelope = self._read()
            except _BadRequest as exc:
                self.send_json(exc.status, {"detail": exc.detail}, content_type=_JSON)
                return
            ingest._record(envelope)
            self.send_json(200, {"id": envelope.headers.get("event_id")}, content_type=_JSON)

        def _read(self) -> Envelope:
            url = urlsplit(self.path)
            match = _PATH.match(url.path)
            body = _decompress(self.read_body(), self.headers.get("Content-Encoding", ""))
            if match is None:
                raise _BadRequest(404, f"no ingest endpoint at {url.path}")
            if match["endpoint"] == "store":
                envelope = _store_envelope(body)
            else:
                envelope = _parse_envelope(body)
            key = _auth_key(self.headers.get("X-Sentry-Auth"), url.query,
                            envelope.headers.get("dsn"))
            if key is None:
                raise _BadRequest(401, "missing authorization information")
            if key != ingest.public_key or match["project"] != ingest.project_id:
                raise _BadRequest(403, "event submission rejected with_reason: ProjectId")
            return envelope

    return Handler


def _decompress(body: bytes, encoding: str) -> bytes:
    encoding = encoding.strip().lower()
    try:
        if encoding == "gzip":
            return gzip.decompress(body)
        if encoding == "deflate":
            return zlib.decompress(body)
    except (OSError, zlib.error) as exc:
        raise _BadRequest(400, f"invalid {encoding} body: {exc}") from None
    if encoding in ("", "identity"):
        return body
    raise _BadRequest(415, f"unsupported content encoding {encoding!r}")


def _parse_envelope(body: bytes) -> Envelope:
    try:
        header_line, _, rest = body.partition(b"\n")
        headers = json.loads(header_line)
        items: list[Item] = []
        while rest.strip():
            item_line, _, rest = rest.partition(b"\n")
            if not item_line.strip():
                continue
            item_headers = json.loads(item_line)
            if "length" in item_headers:
                size = int(item_headers["length"])
                payload, rest = rest[:size], rest[size:]
                if len(payload) != size:
                    raise _BadRequest(400, "envelope item shorter than its length")
                rest = rest.removeprefix(b"\n")
            else:
                payload, _, rest = rest.partition(b"\n")
            items.append(Item(item_headers, payload))
    except (ValueError, TypeError) as exc:
        raise _BadRequest(400, f"invalid envelope: {exc}") from None
    if not isinstance(headers, dict):
        raise _BadRequest(400, "invalid envelope: the header is not an object")
    return Envelope(headers, items, body)


def _store_envelope(body: bytes) -> Envelope:
    try:
        event = json.loads(body)
    except ValueError as exc:
        raise _BadRequest(400, f"invalid event: {exc}") from None
    if not isinstance(event, dict):
        raise _BadRequest(400, "invalid event: not an object")
    item = Item({"type": "event", "length": len(body)}, body)
    return Envelope({"event_id": event.get("event_id")}, [item], body)


def _auth_key(header: str | None, query: str, dsn: object) -> str | None:
    """The ``sentry_key`` from the auth header, the query string or the envelope's DSN."""
    if header and header.lower().startswith("sentry "):
        pairs: dict[str, str] = dict(_AUTH_PAIR.findall(header[len("sentry "):]))
        if "sentry_key" in pairs:
            return pairs["sentry_key"]
    keys: list[str] = parse_qs(query).get("sentry_key", [])
    if keys:
        return keys[0]
    if isinstance(dsn, str) and "@" in dsn:
        return urlsplit(dsn).username
    return None
