"""A bare Dramatiq app for the CLI benches: Dramatiq's own RedisBroker, no project code.

``dramatiq bench.bare_app --queues ...`` boots it. ``bare_ping`` (on every
queue in ``BENCH_QUEUES``) pushes when it started to ``bench:bare:<token>``;
``bare_noop`` counts itself in ``bench:bare:count``. Read by bench/pickup.py,
bench/weights.py and bench/throughput.py ``--cli``.
"""

from __future__ import annotations

import json
import os
import time

import dramatiq
from dramatiq.brokers.redis import RedisBroker

# Dramatiq 2.2 leaves RedisBroker.__init__ unannotated.
broker = RedisBroker(url=os.environ["REDIS_URL"])  # type: ignore[no-untyped-call]
dramatiq.set_broker(broker)
QUEUES = os.environ.get("BENCH_QUEUES", "default").split(",")


def _ping(token: str = "", sleep_ms: int = 0) -> None:
    if not token:
        return  # a no-op, for the throughput bench
    started = time.time()
    if sleep_ms:
        time.sleep(sleep_ms / 1000)
    broker.client.rpush(f"bench:bare:{token}", json.dumps({"started": started,
                                                            "pid": os.getpid()}))


def _noop() -> None:
    broker.client.incr("bench:bare:count")


for _queue in QUEUES:
    dramatiq.actor(actor_name=f"bare_ping_{_queue}", queue_name=_queue, broker=broker,
                   max_retries=0)(_ping)
    dramatiq.actor(actor_name=f"bare_noop_{_queue}", queue_name=_queue, broker=broker,
                   max_retries=0)(_noop)
