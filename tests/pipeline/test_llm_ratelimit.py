"""The shared LLM limiter against the session's real redis-server."""

from __future__ import annotations

import threading
import time

import pytest
import redis

from pipeline.llm.errors import RequestTooLarge
from pipeline.llm.ratelimit import Budget, Limits, Reservation, SharedLimiter
from pipeline.llm.waits import duration_ms, gemini_retry_delay_ms, openai_wait_ms


def _budget(rpm: int | None, tpm: int | None) -> Budget:
    return Budget("openai", "gpt-test", Limits(rpm, tpm))


def test_rpm_refuses_the_call_past_the_limit_and_names_the_wait(
        redis_client: redis.Redis) -> None:
    limiter = SharedLimiter(redis_client, window_s=30)
    budget = _budget(rpm=3, tpm=None)
    for _ in range(3):
        reservation = limiter.reserve(budget, 10)
        assert isinstance(reservation, Reservation)
        limiter.settle(reservation, 10)
    refused = limiter.reserve(budget, 10)
    assert isinstance(refused, tuple)
    wait_ms, reason = refused
    assert reason == "rpm"
    assert 28_000 < wait_ms <= 30_001


def test_tpm_counts_reservations_and_settling_frees_the_difference(
        redis_client: redis.Redis) -> None:
    limiter = SharedLimiter(redis_client, window_s=30)
    budget = _budget(rpm=None, tpm=1000)
    first = limiter.reserve(budget, 700)
    assert isinstance(first, Reservation)
    blocked = limiter.reserve(budget, 400)
    # Only the unsettled first call blocks: settling will shrink it, so recheck soon.
    assert blocked == (limiter.recheck_ms, "tpm")
    limiter.settle(first, 200)
    second = limiter.reserve(budget, 400)
    assert isinstance(second, Reservation)
    limiter.settle(second, 400)
    assert limiter.snapshot(budget).tokens == 600
    wait_ms, reason = limiter.reserve(budget, 500)  # type: ignore[misc]
    assert reason == "tpm" and 28_000 < wait_ms <= 30_001


def test_release_gives_the_reservation_back(redis_client: redis.Redis) -> None:
    limiter = SharedLimiter(redis_client, window_s=30)
    budget = _budget(rpm=1, tpm=100)
    reservation = limiter.reserve(budget, 90)
    assert isinstance(reservation, Reservation)
    limiter.release(reservation)
    assert limiter.snapshot(budget).requests == 0
    assert isinstance(limiter.reserve(budget, 90), Reservation)


def test_entries_leave_the_window(redis_client: redis.Redis) -> None:
    limiter = SharedLimiter(redis_client, window_s=0.3)
    budget = _budget(rpm=1, tpm=None)
    reservation = limiter.reserve(budget, 1)
    assert isinstance(reservation, Reservation)
    limiter.settle(reservation, 1)
    assert isinstance(limiter.reserve(budget, 1), tuple)
    time.sleep(0.4)
    assert isinstance(limiter.reserve(budget, 1), Reservation)


def test_cooldown_is_honoured_and_never_shortened(redis_client: redis.Redis) -> None:
    limiter = SharedLimiter(redis_client, window_s=30)
    budget = _budget(rpm=100, tpm=None)
    limiter.cool_down(budget, 20_000)
    limiter.cool_down(budget, 1_000)
    wait_ms, reason = limiter.reserve(budget, 1)  # type: ignore[misc]
    assert reason == "cooldown" and 19_000 < wait_ms <= 20_000
    # Another budget (another model) is not affected.
    other = Budget("openai", "other-model", Limits(100, None))
    assert isinstance(limiter.reserve(other, 1), Reservation)


def test_a_call_larger_than_the_whole_tpm_is_refused_with_the_fix() -> None:
    limiter = SharedLimiter(redis.Redis(), window_s=30)  # never reaches Redis
    with pytest.raises(RequestTooLarge, match="ATR_OPENAI_TPM"):
        limiter.reserve(_budget(rpm=None, tpm=500), 501)


def test_concurrent_reservations_never_exceed_the_limits(redis_url: str) -> None:
    budget = _budget(rpm=40, tpm=3000)
    granted: list[int] = []
    lock = threading.Lock()

    def worker() -> None:
        client = redis.Redis.from_url(redis_url)
        limiter = SharedLimiter(client, window_s=60)
        for _ in range(20):
            if isinstance(limiter.reserve(budget, 100), Reservation):
                with lock:
                    granted.append(100)
        client.close()

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # 160 attempts: the TPM (3000 / 100 = 30 calls) binds before the RPM.
    assert len(granted) == 30


def test_openai_wait_takes_the_longest_header() -> None:
    assert openai_wait_ms({"retry-after-ms": "250", "retry-after": "1"}) == 1000
    assert openai_wait_ms({"x-ratelimit-reset-requests": "6m0s",
                           "x-ratelimit-reset-tokens": "120ms"}) == 360_000
    assert openai_wait_ms({"retry-after": "Thu, 26 Nov 2026 00:00:10 GMT"},
                          now=1_795_651_200.0) == 10_000
    assert openai_wait_ms({}) is None
    assert duration_ms("1.5s") == 1500 and duration_ms("1h2m3s") == 3_723_000
    assert duration_ms("soon") is None and duration_ms("5x") is None


def test_gemini_retry_delay_is_read_from_the_details() -> None:
    details = [{"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": []},
               {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "41s"}]
    assert gemini_retry_delay_ms(details) == 41_000
    assert gemini_retry_delay_ms([]) is None


def test_refused_callers_are_spread_out_instead_of_returning_together(
        redis_client: redis.Redis) -> None:
    limiter = SharedLimiter(redis_client, window_s=60)
    budget = _budget(rpm=10, tpm=None)
    for _ in range(10):
        held = limiter.reserve(budget, 1)
        assert isinstance(held, Reservation)
        limiter.settle(held, 1)
    waits = [limiter.reserve(budget, 1) for _ in range(4)]
    assert all(isinstance(w, tuple) and w[1] == "rpm" for w in waits)
    first, *rest = [w[0] for w in waits]  # type: ignore[index]
    assert 59_000 < first <= 60_001
    # 10 calls a minute: each next caller is told to come back ~6 s later (x 0.8).
    assert [later - earlier for earlier, later in zip([first, *rest], rest, strict=False)] \
        == pytest.approx([4800, 4800, 4800], abs=50)
