"""The Google Indexing API engine against the local fake: real JWTs, the shared quota."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from devkit.fakes.google_indexing_server import GoogleIndexingFake, write_service_account
from pipeline.errors import Deferred
from pipeline.index import IndexNowRejected, IndexNowUnavailable, SubmissionLedger, submit_urls
from pipeline.index.google import GoogleIndexing, GoogleQuota, quota_day, until_reset_ms

URLS = [f"https://jobs.example/job-{i}/" for i in range(5)]


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[GoogleIndexingFake]:
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    with GoogleIndexingFake(owned_hosts=frozenset({"jobs.example"})) as server:
        yield server


@pytest.fixture
def client(redis_url: str) -> Iterator[redis.Redis]:
    c = redis.Redis.from_url(redis_url)
    yield c
    c.close()


def engine(fake: GoogleIndexingFake, tmp_path: Path, client: redis.Redis,
           per_day: int = 200) -> GoogleIndexing:
    creds = write_service_account(tmp_path / "sa.json", fake.token_uri)
    return GoogleIndexing(fake.url, creds, GoogleQuota(client, per_day))


def test_each_url_is_published_with_a_service_account_token(
        fake: GoogleIndexingFake, tmp_path: Path, client: redis.Redis) -> None:
    e = engine(fake, tmp_path, client)
    outcome = submit_urls(URLS, e, SubmissionLedger(client, "google", "2026-12-06"), owner="m1")
    assert fake.published == URLS
    assert (outcome.sent, outcome.requests, fake.tokens_issued) == (5, 5, 1)


def test_the_daily_quota_is_shared_and_the_rest_waits_for_pacific_midnight(
        fake: GoogleIndexingFake, tmp_path: Path, client: redis.Redis) -> None:
    host_a, host_b = engine(fake, tmp_path, client, 3), engine(fake, tmp_path, client, 3)
    ledger = SubmissionLedger(client, "google", "2026-12-06")
    submit_urls(URLS[:2], host_a, ledger, owner="a")
    with pytest.raises(Deferred) as caught:
        submit_urls(URLS[2:], host_b, ledger, owner="b")
    assert fake.published == URLS[:3]
    assert "resets at midnight Pacific time" in caught.value.reason
    assert 0 < caught.value.delay_ms <= 24 * 3600 * 1000
    # The URLs not sent were given back: tomorrow's quota (or another message) sends them.
    assert ledger.claim(URLS[3:], "c") == URLS[3:]


def test_the_quota_day_is_pacific() -> None:
    # 07:59 UTC on 7 December is 23:59 on 6 December in Los Angeles (PST).
    now = dt.datetime(2026, 12, 7, 7, 59, tzinfo=dt.UTC)
    assert quota_day(now) == "2026-12-06"
    assert until_reset_ms(now) == 60_000
    assert quota_day(now + dt.timedelta(minutes=1)) == "2026-12-07"


def test_answers_are_classified(fake: GoogleIndexingFake, tmp_path: Path,
                                client: redis.Redis) -> None:
    e = engine(fake, tmp_path, client)
    with pytest.raises(IndexNowRejected, match="owner of the site in Search Console"):
        e.send("https", "other.example", ["https://other.example/x/"])
    fake.fail_next(500)
    with pytest.raises(IndexNowUnavailable):
        e.send("https", "jobs.example", URLS[:1])
    fake.fail_next(429)
    with pytest.raises(Deferred, match="429"):
        e.send("https", "jobs.example", URLS[:1])


def test_a_refused_service_account_is_permanent(fake: GoogleIndexingFake, tmp_path: Path,
                                                client: redis.Redis) -> None:
    creds = write_service_account(tmp_path / "sa.json", fake.url + "/no-such-token-route")
    e = GoogleIndexing(fake.url, creds, GoogleQuota(client, 200))
    with pytest.raises(IndexNowRejected, match="Google refused the service account"):
        e.send("https", "jobs.example", URLS[:1])
    assert fake.published == []
