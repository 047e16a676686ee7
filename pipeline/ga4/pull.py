"""Pull the page report live from the GA4 Data API (optional: off unless a property is set).

:func:`pull_report` asks ``runReport`` for the report the analysts download
by hand (dimension ``unifiedPagePathScreen``; views, active users,
engagement, key events, sessions, engagement rate) with Google's client
(``google-analytics-data``) on its REST transport, authenticated as a
service account (``ATR_GA4_CREDENTIALS``, a key file; read-only scope). It
pages by ``limit``/``offset`` until ``rowCount`` rows are in, and writes the
request and the answer as one JSON file into the drop folder (atomically,
under a hidden name until complete), where :mod:`pipeline.ga4.reader` reads
it like a saved answer. ``ATR_GA4_API_BASE`` may name another root, e.g. a
local fake over plain http: the transport's ``url_scheme`` is taken from it.

Errors: a refused credential (401) or a property the account may not read
(403) is a :class:`Ga4PullError` (permanent: fix the setting); 429
``RESOURCE_EXHAUSTED`` and 5xx are a :class:`Ga4PullUnavailable` (transient:
the job is retried later). No token or key is ever put in a message.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit

from pipeline.errors import PermanentError, TransientError

__all__ = ["METRICS", "Ga4PullError", "Ga4PullUnavailable", "PullConfig", "pull_report"]

#: The metrics asked for (the reader knows each by its API name).
METRICS: Final = ("screenPageViews", "activeUsers", "userEngagementDuration", "keyEvents",
                  "sessions", "engagementRate")
_DIMENSION: Final = "unifiedPagePathScreen"
_SCOPE: Final = "https://www.googleapis.com/auth/analytics.readonly"
_PAGE_ROWS: Final = 100_000
_TIMEOUT_S: Final = 120.0


class Ga4PullError(PermanentError):
    """Raised when the Data API refuses the credentials or the property (401, 403, 400)."""


class Ga4PullUnavailable(TransientError):
    """Raised when the Data API is out of quota (429 RESOURCE_EXHAUSTED) or failing (5xx)."""


@dataclass(frozen=True)
class PullConfig:
    """Which property to read, as whom, from which API root."""

    property_id: str
    credentials: Path
    api_base: str = "https://analyticsdata.googleapis.com"


def pull_report(config: PullConfig, start: dt.date, end: dt.date, folder: Path, *,
                page_rows: int = _PAGE_ROWS) -> Path:
    """Fetch the page report of ``start``..``end`` into ``folder``; the file written.

    The file is ``runreport_<start>-<end>.json`` (``YYYYMMDD``), replaced if
    it exists; nothing is written when any page fails. ``page_rows`` is the
    ``limit`` of one call (the API allows up to 250,000).
    """
    from google.analytics.data_v1beta import BetaAnalyticsDataClient
    from google.analytics.data_v1beta.services.beta_analytics_data.transports.rest import (
        BetaAnalyticsDataRestTransport,
    )
    from google.analytics.data_v1beta.types import RunReportRequest, RunReportResponse
    from google.api_core import exceptions as api_errors
    from google.auth import exceptions as auth_errors
    from google.oauth2 import service_account

    try:
        credentials = service_account.Credentials.from_service_account_file(  # type: ignore[no-untyped-call]
            str(config.credentials), scopes=[_SCOPE])
    except (OSError, ValueError) as exc:
        raise Ga4PullError(f"cannot read the GA4 service-account key {config.credentials} "
                           f"(ATR_GA4_CREDENTIALS): {type(exc).__name__}; download a JSON key "
                           "of the service account from Google Cloud IAM") from None
    parts = urlsplit(config.api_base)
    transport = BetaAnalyticsDataRestTransport(host=parts.netloc, credentials=credentials,
                                               url_scheme=parts.scheme or "https")
    client = BetaAnalyticsDataClient(transport=transport)
    body: dict[str, Any] = {
        "property": f"properties/{config.property_id}",
        "dimensions": [{"name": _DIMENSION}], "metrics": [{"name": m} for m in METRICS],
        "dateRanges": [{"startDate": start.isoformat(), "endDate": end.isoformat()}],
        "limit": page_rows, "keepEmptyRows": False,
    }
    rows: list[Any] = []
    answer: dict[str, Any] = {}
    offset = 0
    try:
        while True:
            request = RunReportRequest.from_json(json.dumps({**body, "offset": offset}))
            response = client.run_report(request=request, timeout=_TIMEOUT_S)
            answer = json.loads(RunReportResponse.to_json(response))
            page = answer.get("rows") or []
            rows.extend(page)
            offset += len(page)
            if not page or offset >= int(answer.get("rowCount") or 0):
                break
    # The REST transport raises the HTTP classes (Unauthorized, not gRPC's Unauthenticated).
    except (api_errors.Unauthorized, api_errors.Forbidden, api_errors.BadRequest,
            api_errors.NotFound) as exc:
        raise Ga4PullError(_refusal(exc, config)) from None
    except auth_errors.RefreshError as exc:
        raise Ga4PullError(f"the service account of {config.credentials} could not get a "
                           f"token ({_short(exc)}); check the key is current (not deleted in "
                           "IAM) and the host's clock") from None
    except (api_errors.TooManyRequests, api_errors.ServerError) as exc:
        raise Ga4PullUnavailable(f"GA4 Data API busy for property {config.property_id}: "
                                 f"{_short(exc)}; the job is retried later") from None
    answer["rows"] = rows
    document = {"request": {k: v for k, v in body.items() if k != "limit"}, "response": answer}
    target = folder / f"runreport_{start:%Y%m%d}-{end:%Y%m%d}.json"
    _write_atomically(target, json.dumps(document, ensure_ascii=False))
    return target


def _refusal(exc: Exception, config: PullConfig) -> str:
    code = getattr(exc, "code", None)
    fix = {401: "check ATR_GA4_CREDENTIALS (a current JSON key of the service account)",
           403: f"in GA4 Admin > Property access management give the service account Viewer "
                f"on property {config.property_id} (ATR_GA4_PROPERTY_ID)"}.get(
        int(code) if isinstance(code, int) else 0,
        "check ATR_GA4_PROPERTY_ID and ATR_GA4_API_BASE")
    return f"GA4 Data API refused the pull ({code} {_short(exc)}); {fix}"


def _short(exc: Exception) -> str:
    message = getattr(exc, "message", None) or str(exc)
    return " ".join(str(message).split())[:300]


def _write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # A hidden name: the drop folder ignores the file until it is complete.
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with tmp.open("w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
