"""The day's ledger in a real Redis: each URL once per endpoint and day, whatever happens."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
import redis

from devkit.fakes.indexnow_server import IndexNowFake
from pipeline.index import (
    IndexNowClient,
    IndexNowEngine,
    IndexNowKey,
    IndexNowRejected,
    IndexNowUnavailable,
    SubmissionLedger,
    submit_urls,
)

KEY = "5b1d0c6f4e2a4f0b"
HOST = "blog.example"
URLS = [f"https://{HOST}/p{i}/" for i in range(5)]
DAY = "2026-12-06"


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[IndexNowFake]:
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    with IndexNowFake(keys={HOST: KEY}) as server:
        yield server


@pytest.fixture
def client(redis_url: str) -> Iterator[redis.Redis]:
    c = redis.Redis.from_url(redis_url)
    yield c
    c.close()


def engine(fake: IndexNowFake) -> IndexNowEngine:
    return IndexNowEngine(fake.url, IndexNowKey(KEY), IndexNowClient(10))


def test_a_url_is_submitted_once_a_day_per_endpoint(fake: IndexNowFake,
                                                    client: redis.Redis) -> None:
    e = engine(fake)
    first = submit_urls(URLS, e, SubmissionLedger(client, e.name, DAY), owner="m1")
    again = submit_urls([*URLS, f"https://{HOST}/new/"], e,
                        SubmissionLedger(client, e.name, DAY), owner="m2")
    assert (first.sent, again.sent, again.skipped) == (5, 1, 5)
    assert fake.accepted_urls() == [*URLS, f"https://{HOST}/new/"]
    # The next day, and another endpoint the same day, are other ledgers.
    submit_urls(URLS, e, SubmissionLedger(client, e.name, "2026-12-07"), owner="m3")
    submit_urls(URLS, e, SubmissionLedger(client, "other.example", DAY), owner="m4")
    assert len(fake.accepted_urls()) == 6 + 10


def test_a_redelivery_after_success_submits_nothing(fake: IndexNowFake,
                                                    client: redis.Redis) -> None:
    e = engine(fake)
    submit_urls(URLS, e, SubmissionLedger(client, e.name, DAY), owner="m1")
    redelivered = submit_urls(URLS, e, SubmissionLedger(client, e.name, DAY), owner="m1")
    assert (redelivered.sent, redelivered.skipped) == (0, 5)
    assert len(fake.submissions) == 1


def test_a_redelivery_after_a_crash_mid_request_sends_its_own_claims(
        fake: IndexNowFake, client: redis.Redis) -> None:
    e = engine(fake)
    ledger = SubmissionLedger(client, e.name, DAY)
    assert ledger.claim(URLS, "m1") == URLS   # the worker died before the answer
    assert ledger.claim(URLS, "m2") == []     # another message leaves them to m1
    outcome = submit_urls(URLS, e, ledger, owner="m1")
    assert outcome.sent == 5
    assert fake.accepted_urls() == URLS


def test_a_failed_request_gives_its_claims_back(fake: IndexNowFake,
                                                client: redis.Redis) -> None:
    e = engine(fake)
    fake.fail_next(503)
    with pytest.raises(IndexNowUnavailable):
        submit_urls(URLS, e, SubmissionLedger(client, e.name, DAY), owner="m1")
    retry = submit_urls(URLS, e, SubmissionLedger(client, e.name, DAY), owner="m1")
    assert retry.sent == 5
    fake.fail_next(403)
    others = [f"https://{HOST}/q{i}/" for i in range(3)]
    with pytest.raises(IndexNowRejected):
        submit_urls(others, e, SubmissionLedger(client, e.name, DAY), owner="m2")
    # After the key is fixed, another message the same day may send them.
    assert submit_urls(others, e, SubmissionLedger(client, e.name, DAY), owner="m3").sent == 3
    assert fake.accepted_urls() == [*URLS, *others]


def test_only_the_failed_batch_is_sent_again(fake: IndexNowFake, client: redis.Redis) -> None:
    e = IndexNowEngine(fake.url, IndexNowKey(KEY), IndexNowClient(10), batch_size=2)
    fake.fail_next(500, skip=1)
    with pytest.raises(IndexNowUnavailable):
        submit_urls(URLS, e, SubmissionLedger(client, e.name, DAY), owner="m1")
    assert fake.accepted_urls() == URLS[:2]
    retry = submit_urls(URLS, e, SubmissionLedger(client, e.name, DAY), owner="m1")
    assert (retry.sent, retry.skipped) == (3, 2)
    assert fake.accepted_urls() == URLS


def test_two_processes_racing_for_the_same_urls_submit_each_once(
        client: redis.Redis, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    with IndexNowFake(keys={HOST: KEY}, slow_s=0.2) as fake:
        barrier = threading.Barrier(6)

        def one(owner: str) -> None:
            e = engine(fake)
            barrier.wait()
            submit_urls(URLS, e, SubmissionLedger(client, e.name, DAY), owner=owner)

        threads = [threading.Thread(target=one, args=(f"m{i}",)) for i in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(fake.accepted_urls()) == sorted(URLS)
