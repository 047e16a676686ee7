"""A local GA4 Data API: ``:runReport`` and the OAuth token endpoint, with the real errors.

What Google's client (``google-analytics-data``, REST transport) and
``google-auth``'s service-account credentials talk to:

- ``POST /token`` (the ``token_uri`` of the service-account file the tests
  write): a JWT-bearer grant answered with an access token, as
  ``oauth2.googleapis.com/token`` does; a grant for an unknown
  ``client_email`` is 400 ``invalid_grant``;
- ``POST /v1beta/properties/<id>:runReport``: the rows of :attr:`rows` for the
  requested dimension ``unifiedPagePathScreen``/``pagePath`` and metrics,
  every value a string as the API answers, ``rowCount`` and ``limit``/``offset``
  paging; without the token 401 ``UNAUTHENTICATED``, another property 403
  ``PERMISSION_DENIED``, and faults queued with :meth:`fail_next` (429
  ``RESOURCE_EXHAUSTED`` among them) answered with the bodies Google sends.
"""

from __future__ import annotations

import base64
import json
import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any, Final
from urllib.parse import parse_qs

from devkit.http_server import LocalHTTPServer, QuietHandler

__all__ = ["ACCESS_TOKEN", "CLIENT_EMAIL", "PROPERTY_ID", "Ga4DataFake", "Ga4Request"]

PROPERTY_ID: Final = "123456789"
CLIENT_EMAIL: Final = "atr-ga4@atr-test.iam.gserviceaccount.com"
ACCESS_TOKEN: Final = "ya29.fake-ga4-access-token"  # noqa: S105 -- the fake's own token
_REPORT: Final = re.compile(r"^/v1beta/properties/(?P<property>[^/:]+):runReport$")
_ERRORS: Final[Mapping[int, tuple[str, str]]] = {
    401: ("UNAUTHENTICATED", "Request had invalid authentication credentials. Expected OAuth 2 "
          "access token, login cookie or other valid authentication credential. See "
          "https://developers.google.com/identity/sign-in/web/devconsole-project."),
    403: ("PERMISSION_DENIED", "User does not have sufficient permissions for this property. "
          "To learn more about Property ID, see https://developers.google.com/analytics/"
          "devguides/reporting/data/v1/property-id."),
    429: ("RESOURCE_EXHAUSTED", "Exhausted property tokens per hour for a property. Consider "
          "retrying after the next hour."),
    500: ("INTERNAL", "Internal error encountered."),
    503: ("UNAVAILABLE", "The service is currently unavailable."),
}
_PAGE_DIMENSIONS: Final = frozenset({"unifiedPagePathScreen", "pagePath"})


@dataclass(frozen=True)
class Ga4Request:
    """One request the fake answered: path, its JSON body, the Authorization header."""

    path: str
    body: dict[str, Any]
    authorization: str


class Ga4DataFake(LocalHTTPServer):
    """The fake Data API; point the client's REST transport at :attr:`url` (plain http).

    ``rows`` are (page path, {metric name: value}) pairs; metrics a row lacks
    are ``"0"``. ``property_id`` is the one property the service account may read.
    """

    def __init__(self, rows: Sequence[tuple[str, Mapping[str, float]]] = (), *,
                 property_id: str = PROPERTY_ID) -> None:
        super().__init__(name="ga4-data-fake")
        self.rows = list(rows)
        self.property_id = property_id
        self.requests: list[Ga4Request] = []
        self.tokens_issued = 0
        self._faults: list[int] = []
        self._lock = threading.Lock()

    def fail_next(self, status: int, times: int = 1) -> None:
        """Answer the next ``times`` runReport calls with Google's ``status`` error body."""
        if status not in _ERRORS:
            raise ValueError(f"no Google error body for status {status}; use one of "
                             f"{sorted(_ERRORS)}")
        with self._lock:
            self._faults.extend([status] * times)

    def service_account_info(self, private_key_pem: str) -> dict[str, str]:
        """A service-account key file's content whose ``token_uri`` is this fake."""
        return {"type": "service_account", "project_id": "atr-test",
                "private_key_id": "0123456789abcdef", "private_key": private_key_pem,
                "client_email": CLIENT_EMAIL, "client_id": "100000000000000000001",
                "token_uri": f"{self.url}/token"}

    def handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(QuietHandler):
            def do_POST(self) -> None:
                body = self.read_body()
                if self.path == "/token":
                    status, answer = fake._token(body)
                else:
                    status, answer = fake._report(self.path, body,
                                                  self.headers.get("Authorization", ""))
                self.send_body(status, json.dumps(answer).encode(),
                               {"Content-Type": "application/json; charset=UTF-8"})

        return Handler

    def _token(self, body: bytes) -> tuple[int, dict[str, Any]]:
        form = parse_qs(body.decode())
        assertion = (form.get("assertion") or [""])[0]
        try:
            claims = json.loads(base64.urlsafe_b64decode(assertion.split(".")[1] + "=="))
        except (IndexError, ValueError):
            return 400, {"error": "invalid_grant", "error_description": "Invalid JWT."}
        if claims.get("iss") != CLIENT_EMAIL:
            return 400, {"error": "invalid_grant",
                         "error_description": "Invalid grant: account not found"}
        with self._lock:
            self.tokens_issued += 1
        return 200, {"access_token": ACCESS_TOKEN, "expires_in": 3599, "token_type": "Bearer"}

    def _report(self, path: str, body: bytes, authorization: str) -> tuple[int, dict[str, Any]]:
        try:
            request = json.loads(body or b"{}")
        except ValueError:
            return _error(400, "INVALID_ARGUMENT", "Invalid JSON payload received.")
        with self._lock:
            self.requests.append(Ga4Request(path, request, authorization))
            fault = self._faults.pop(0) if self._faults else None
        # Google's client adds ?$alt=json;enum-encoding=int to every call.
        match = _REPORT.match(path.partition("?")[0])
        if match is None:
            return _error(404, "NOT_FOUND", f"Requested entity was not found: {path}")
        if authorization != f"Bearer {ACCESS_TOKEN}":
            return _error(401, *_ERRORS[401])
        if match["property"] != self.property_id:
            return _error(403, *_ERRORS[403])
        if fault is not None:
            return _error(fault, *_ERRORS[fault])
        dims = [d.get("name", "") for d in request.get("dimensions", [])]
        if not dims or dims[0] not in _PAGE_DIMENSIONS:
            return _error(400, "INVALID_ARGUMENT", "Did you mean unifiedPagePathScreen? "
                          f"Field {dims[0] if dims else ''} is not a valid dimension.")
        metrics = [m.get("name", "") for m in request.get("metrics", [])]
        offset, limit = int(request.get("offset") or 0), int(request.get("limit") or 10000)
        page = self.rows[offset:offset + limit]
        answer: dict[str, Any] = {
            "dimensionHeaders": [{"name": dims[0]}],
            "metricHeaders": [{"name": m, "type": "TYPE_INTEGER"} for m in metrics],
            "rows": [{"dimensionValues": [{"value": p}],
                      "metricValues": [{"value": _text(values.get(m, 0))} for m in metrics]}
                     for p, values in page],
            "rowCount": len(self.rows),
            "metadata": {"currencyCode": "KRW", "timeZone": "Asia/Seoul"},
            "kind": "analyticsData#runReport",
        }
        if not page:
            del answer["rows"]
        return 200, answer


def _text(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _error(status: int, code: str, message: str) -> tuple[int, dict[str, Any]]:
    return status, {"error": {"code": status, "message": message, "status": code}}
