"""The fake Sentry ingest answers like Sentry: auth checked, gzip and store bodies decoded."""

from __future__ import annotations

import gzip
import http.client
import json

import pytest

from devkit.fakes.sentry_server import SentryIngest


def post(port: int, path: str, body: bytes, headers: dict[str, str]) -> int:
    """POST to the fake directly (http.client ignores any proxy); the status code."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request("POST", path, body=body, headers=headers)
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


@pytest.mark.parametrize(("auth", "status"), [
    ({"X-Sentry-Auth": "Sentry sentry_version=7, sentry_key=publickey"}, 200),
    ({"X-Sentry-Auth": "Sentry sentry_version=7, sentry_key=wrong"}, 403),
    ({}, 401),
])
def test_a_gzipped_envelope_is_recorded_only_with_the_right_key(
        auth: dict[str, str], status: int) -> None:
    event = json.dumps({"event_id": "ab" * 16, "message": "boom"}).encode()
    body = b"\n".join([json.dumps({"event_id": "ab" * 16}).encode(),
                       json.dumps({"type": "event", "length": len(event)}).encode(),
                       event, b'{"type":"client_report"}', b'{"discarded_events":[]}'])
    with SentryIngest() as ingest:
        assert post(ingest.port, "/api/1/envelope/", gzip.compress(body),
                    {**auth, "Content-Encoding": "gzip"}) == status
        assert ingest.events() == ([{"event_id": "ab" * 16, "message": "boom"}]
                                   if status == 200 else [])
        if status == 200:
            (envelope,) = ingest.envelopes
            assert [item.type for item in envelope.items] == ["event", "client_report"]


def test_the_old_store_endpoint_takes_the_key_from_the_query() -> None:
    with SentryIngest() as ingest:
        assert post(ingest.port, "/api/1/store/?sentry_key=publickey",
                    b'{"event_id": "1", "message": "old"}', {}) == 200
        assert ingest.events() == [{"event_id": "1", "message": "old"}]
