"""The fetcher's weighted order (real Redis): shares follow weights, none starves, idle yields."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence

import dramatiq
import pytest
import redis

from brokers.consumer import AtrRedisBroker

QUEUES = ("seo", "thumbnails", "images", "high")
WEIGHTS = {"seo": 5, "thumbnails": 4, "images": 3, "high": 2}


@pytest.fixture
def broker(redis_url: str) -> Iterator[AtrRedisBroker]:
    made = AtrRedisBroker(client=redis.Redis.from_url(redis_url), middleware=[],
                          group="worker1", queues=QUEUES, weights=WEIGHTS)
    yield made
    made.close()


def fill(broker: AtrRedisBroker, counts: dict[str, int]) -> None:
    for queue, n in counts.items():
        actor = dramatiq.actor(actor_name=f"noop_{queue}", queue_name=queue,
                               broker=broker)(lambda: None)
        for _ in range(n):
            actor.send()


def drain(broker: AtrRedisBroker, queues: Sequence[str], slots: int,
          batch: int = 6) -> list[str]:
    taken: list[str] = []
    while len(taken) < slots:
        if not broker.fetch(queues, min(batch, slots - len(taken)),
                            lambda q, m: taken.append(q)):
            break
    return taken


def test_shares_follow_the_weights_under_saturation(broker: AtrRedisBroker) -> None:
    fill(broker, {q: 600 for q in QUEUES})
    taken = Counter(drain(broker, QUEUES, 1400))
    assert taken == {"seo": 500, "thumbnails": 400, "images": 300, "high": 200}


def test_the_smallest_weight_is_served_in_every_round(broker: AtrRedisBroker) -> None:
    fill(broker, {q: 300 for q in QUEUES})
    taken = drain(broker, QUEUES, 700)
    for start in range(0, 700, 14):
        assert "high" in taken[start:start + 14]


def test_an_empty_queue_gives_its_share_to_the_others(broker: AtrRedisBroker) -> None:
    fill(broker, {"seo": 600, "thumbnails": 600, "high": 600})
    taken = Counter(drain(broker, QUEUES, 1100))
    assert taken == {"seo": 500, "thumbnails": 400, "high": 200}


def test_a_queue_that_fills_again_does_not_burst(broker: AtrRedisBroker) -> None:
    fill(broker, {"seo": 400})
    drain(broker, QUEUES, 300)
    fill(broker, {"high": 100})
    taken = Counter(drain(broker, QUEUES, 70))
    assert taken == {"seo": 50, "high": 20}
