"""IndexNow against the local fake: the request on the wire, every answer class, batching.

The fake reads the key file over HTTP from a :class:`KeyFileSite`, as the
engines do, unless a test gives it the keys.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis

from devkit.fakes.indexnow_server import IndexNowFake, KeyFileSite
from pipeline.errors import PayloadError, PermanentError, TransientError
from pipeline.index import (
    IndexNowClient,
    IndexNowEngine,
    IndexNowKey,
    IndexNowRejected,
    IndexNowUnavailable,
    SubmissionLedger,
    check_urls,
    submit_urls,
)

KEY = "5b1d0c6f4e2a4f0b9c3d7e8f1a2b3c4d"


@pytest.fixture
def site() -> Iterator[KeyFileSite]:
    with KeyFileSite({f"/{KEY}.txt": KEY.encode() + b"\n"}) as server:
        yield server


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[IndexNowFake]:
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    with IndexNowFake() as server:
        yield server


def urls_on(site: KeyFileSite, n: int) -> list[str]:
    return [f"{site.url}/post-{i}/" for i in range(n)]


def test_a_submission_is_json_with_host_key_and_urls(fake: IndexNowFake,
                                                     site: KeyFileSite) -> None:
    client = IndexNowClient(10)
    status = client.submit(fake.url, "http", site.host, IndexNowKey(KEY), urls_on(site, 2))
    assert status == 200
    (sub,) = fake.submissions
    assert sub.path == "/indexnow"
    assert sub.content_type == "application/json; charset=utf-8"
    assert (sub.host, sub.key, sub.key_location) == (site.host, KEY, None)
    assert list(sub.urls) == urls_on(site, 2)
    assert site.requested == [f"/{KEY}.txt"]


def test_key_location_is_sent_when_set(fake: IndexNowFake, site: KeyFileSite) -> None:
    site.put("/keys/indexnow.txt", KEY.encode())
    key = IndexNowKey(KEY, f"{site.url}/keys/indexnow.txt")
    assert IndexNowClient(10).submit(fake.url, "http", site.host, key, urls_on(site, 1)) == 200
    assert fake.submissions[0].key_location == f"{site.url}/keys/indexnow.txt"


def test_202_is_success(site: KeyFileSite) -> None:
    with IndexNowFake(accept_status=202) as fake:
        assert IndexNowClient(10).submit(fake.url, "http", site.host, IndexNowKey(KEY),
                                         urls_on(site, 1)) == 202


def test_403_names_the_key_file_that_does_not_hold_the_key(fake: IndexNowFake,
                                                           site: KeyFileSite) -> None:
    site.put(f"/{KEY}.txt", b"someotherkey123")
    with pytest.raises(IndexNowRejected) as caught:
        IndexNowClient(10).submit(fake.url, "http", site.host, IndexNowKey(KEY),
                                  urls_on(site, 1))
    assert isinstance(caught.value, PermanentError)
    assert caught.value.status == 403
    assert f"the key file at http://{site.host}/{KEY}.txt does not hold this key" \
        in str(caught.value)
    assert "atr index check" in str(caught.value)
    assert "\n" not in str(caught.value)


def test_422_for_urls_of_another_host(fake: IndexNowFake, site: KeyFileSite) -> None:
    with pytest.raises(IndexNowRejected) as caught:
        IndexNowClient(10).submit(fake.url, "http", site.host, IndexNowKey(KEY),
                                  ["https://elsewhere.example/x/"])
    assert caught.value.status == 422
    assert f"a URL is not on {site.host}" in str(caught.value)


@pytest.mark.parametrize("status", [400, 403, 422])
def test_permanent_statuses(status: int, fake: IndexNowFake, site: KeyFileSite) -> None:
    fake.fail_next(status)
    with pytest.raises(IndexNowRejected) as caught:
        IndexNowClient(10).submit(fake.url, "http", site.host, IndexNowKey(KEY),
                                  urls_on(site, 1))
    assert caught.value.status == status
    assert caught.value.endpoint == f"127.0.0.1:{fake.port}"


@pytest.mark.parametrize("status", [429, 500, 502, 503])
def test_transient_statuses(status: int, fake: IndexNowFake, site: KeyFileSite) -> None:
    fake.fail_next(status, retry_after="30")
    with pytest.raises(IndexNowUnavailable) as caught:
        IndexNowClient(10).submit(fake.url, "http", site.host, IndexNowKey(KEY),
                                  urls_on(site, 1))
    assert isinstance(caught.value, TransientError)
    assert caught.value.status == status
    assert "retried" in str(caught.value)
    if status == 429:
        assert "Retry-After 30" in str(caught.value)


def test_a_timeout_is_transient(fake: IndexNowFake, site: KeyFileSite) -> None:
    fake.hang_next(5)
    with pytest.raises(IndexNowUnavailable) as caught:
        IndexNowClient(0.3).submit(fake.url, "http", site.host, IndexNowKey(KEY),
                                   urls_on(site, 1))
    assert caught.value.status is None
    assert "did not answer within 0.3 s" in str(caught.value)


def test_an_unreachable_endpoint_is_transient(site: KeyFileSite) -> None:
    with IndexNowFake() as fake:
        url = fake.url
    with pytest.raises(IndexNowUnavailable):
        IndexNowClient(2).submit(url, "http", site.host, IndexNowKey(KEY), urls_on(site, 1))


def test_more_than_10000_urls_go_in_batches_of_10000(fake: IndexNowFake, site: KeyFileSite,
                                                     redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    urls = urls_on(site, 10_001 + 9_999 + 5)
    engine = IndexNowEngine(fake.url, IndexNowKey(KEY), IndexNowClient(30))
    outcome = submit_urls(urls, engine, SubmissionLedger(client, engine.name, "2026-12-06"),
                          owner="m1")
    assert [len(s.urls) for s in fake.submissions] == [10_000, 10_000, 5]
    assert fake.accepted_urls() == urls
    assert (outcome.sent, outcome.skipped, outcome.requests) == (len(urls), 0, 3)


def test_urls_are_checked() -> None:
    assert check_urls(["https://a.example/x/", "https://a.example/x/"]) == \
        ["https://a.example/x/"]
    for bad in ([], "https://a.example/", ["/relative/"], ["ftp://a.example/x"], [3],
                ["https://a.example/with space"], ["http://["], ["https://[::1/x"],
                ["https://a.example/\x00"], ["https://a.example/\x7f"],
                ["https://a.example/\x85"]):
        with pytest.raises(PayloadError):
            check_urls(bad)
