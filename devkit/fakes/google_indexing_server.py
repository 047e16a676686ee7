"""A real Google Indexing API on 127.0.0.1: a token endpoint and ``urlNotifications:publish``.

- ``POST /token``: the service-account JWT grant
  (``grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer``, ``assertion``);
  the assertion's claims must ask for the indexing scope. Answers an access token.
- ``POST /v3/urlNotifications:publish``: ``{"url", "type"}`` with ``Authorization:
  Bearer <token>``; 200 with the notification metadata, 401 without a valid
  token, 400 for a body without url/type, 403 for a URL whose host the
  service account does not own (``owned_hosts``).

:func:`write_service_account` writes a service-account JSON key (a fresh RSA
key) whose ``token_uri`` is the fake's, so ``google.oauth2`` signs real JWTs
against it. Tests read :attr:`GoogleIndexingFake.published` and inject
faults with :meth:`GoogleIndexingFake.fail_next` (429, 500...).
"""

from __future__ import annotations

import base64
import json
import threading
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any, Final
from urllib.parse import parse_qs, urlsplit

from devkit.http_server import LocalHTTPServer, QuietHandler

__all__ = ["GoogleIndexingFake", "write_service_account"]

_TOKEN: Final = "ya29.fake-indexing-token"  # noqa: S105 -- the fake's own, not a secret
_SCOPE: Final = "https://www.googleapis.com/auth/indexing"


class GoogleIndexingFake(LocalHTTPServer):
    """The fake API: :attr:`url` is ``ATR_GOOGLE_INDEXING_BASE_URL`` and the token root."""

    def __init__(self, *, owned_hosts: frozenset[str] | None = None) -> None:
        super().__init__(name="google-indexing-fake")
        self._owned = owned_hosts
        self._lock = threading.Lock()
        self.published: list[str] = []
        self.tokens_issued = 0
        self._faults: list[int] = []

    @property
    def token_uri(self) -> str:
        """Where the service account asks for tokens."""
        return f"{self.url}/token"

    def fail_next(self, status: int, *, times: int = 1) -> None:
        """Answer the next ``times`` publish requests with ``status``."""
        with self._lock:
            self._faults.extend([status] * times)

    def handler_class(self) -> type[BaseHTTPRequestHandler]:
        """POST /token and POST /v3/urlNotifications:publish."""
        fake = self

        class Handler(QuietHandler):
            def do_POST(self) -> None:
                path = urlsplit(self.path).path
                body = self.read_body()
                if path == "/token":
                    status, answer = fake._token(body)
                elif path == "/v3/urlNotifications:publish":
                    status, answer = fake._publish(self.lower_headers(), body)
                else:
                    status, answer = 404, {"error": {"code": 404, "message": "Not Found"}}
                self.send_json(status, answer)

        return Handler

    def _token(self, body: bytes) -> tuple[int, Any]:
        form = {k: v[-1] for k, v in parse_qs(body.decode()).items()}
        if form.get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer":
            return 400, {"error": "unsupported_grant_type"}
        try:
            claims = json.loads(_b64(form["assertion"].split(".")[1]))
        except (KeyError, IndexError, ValueError):
            return 400, {"error": "invalid_grant", "error_description": "bad assertion"}
        if _SCOPE not in str(claims.get("scope", "")).split():
            return 400, {"error": "invalid_scope"}
        with self._lock:
            self.tokens_issued += 1
        return 200, {"access_token": _TOKEN, "expires_in": 3600, "token_type": "Bearer"}

    def _publish(self, headers: dict[str, str], body: bytes) -> tuple[int, Any]:
        with self._lock:
            fault = self._faults.pop(0) if self._faults else None
        if fault is not None:
            return fault, {"error": {"code": fault, "message": "injected fault",
                                     "status": "RESOURCE_EXHAUSTED" if fault == 429
                                     else "INTERNAL"}}
        if headers.get("authorization") != f"Bearer {_TOKEN}":
            return 401, {"error": {"code": 401, "message": "Request had invalid "
                                   "authentication credentials.", "status": "UNAUTHENTICATED"}}
        try:
            data = json.loads(body)
            url, kind = str(data["url"]), str(data["type"])
        except (ValueError, KeyError, TypeError):
            return 400, {"error": {"code": 400, "message": "Invalid JSON payload",
                                   "status": "INVALID_ARGUMENT"}}
        if self._owned is not None and urlsplit(url).netloc not in self._owned:
            return 403, {"error": {"code": 403, "message": "Permission denied. Failed to "
                                   "verify the URL ownership.", "status": "PERMISSION_DENIED"}}
        with self._lock:
            self.published.append(url)
        return 200, {"urlNotificationMetadata": {"url": url, "latestUpdate": {
            "url": url, "type": kind, "notifyTime": "2026-12-06T00:00:00Z"}}}


def _b64(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def write_service_account(path: Path, token_uri: str) -> Path:
    """A service-account JSON key with a fresh 2048-bit RSA key, asking ``token_uri``."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    path.write_text(json.dumps({
        "type": "service_account", "project_id": "atr-test", "private_key_id": "k1",
        "private_key": pem, "client_email": "indexer@atr-test.iam.gserviceaccount.com",
        "client_id": "1", "token_uri": token_uri}), encoding="utf-8")
    return path
