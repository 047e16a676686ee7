"""Redis restarted under load (append-only file on): workers reconnect unaided, nothing is lost.

worker2 runs under the real ``dramatiq`` CLI (2 processes x 3 threads) on a
redis-server of this test with ``appendonly yes``. While it drains a backlog
of canaries (some sleeping, some failing once so that their retry waits in
the delay queue, some sent with a delay and so held in the worker's memory
until due), Redis is restarted as ``systemctl restart redis-server`` does it:
SIGTERM, then a start on the same port from the AOF. Nobody touches the
workers. Every canary is answered exactly once, and each worker process
wrote ``redis.lost`` and then ``redis.restored`` to the ``worker`` stream.
"""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

import pytest
import redis

from actors.canary import canary_name
from brokers.boot import producer_broker
from brokers.producer import send
from devkit.redis_server import EmbeddedRedis
from devkit.supervise import GroupProcess
from middleware.redis_outage import STREAM
from pipeline import keys, names
from pipeline.settings import Settings
from tests.faults.helpers import assert_each_succeeded_once, assert_outages_logged
from tests.helpers import dead_letters, queued_ids, read_stream, wait_replies

pytestmark = pytest.mark.faults

QUEUE = names.QUEUE_MISC


def test_a_redis_restart_under_load_loses_and_repeats_nothing(
        fault_env: dict[str, str], aof_redis: EmbeddedRedis, tmp_path: Path) -> None:
    env = {**fault_env, "ATR_WORKER2_PROCESSES": "2", "ATR_WORKER2_THREADS": "3"}
    root = Path(env["ATR_DOCLOG_ROOT"])
    client = redis.Redis.from_url(aof_redis.url, decode_responses=True)
    broker = producer_broker(Settings.from_env({"REDIS_URL": aof_redis.url}))
    actor = canary_name(QUEUE)
    plain = [f"plain-{n}" for n in range(150)]
    failing = [f"retry-{n}" for n in range(10)]
    delayed = [f"delayed-{n}" for n in range(10)]
    tokens = plain + failing + delayed
    with GroupProcess("worker2", env, tmp_path / "worker2.log", cwd=tmp_path) as worker:
        for token in plain:
            send(broker, actor, {"token": token, "sleep_ms": 40})
        for token in failing:
            send(broker, actor, {"token": token, "fail_attempts": 1},
                 options={"min_backoff": 3000, "max_backoff": 4000})
        for n, token in enumerate(delayed):
            send(broker, actor, {"token": token}, delay_ms=2000 + 300 * n)
        first = wait_replies(client, plain[:30], timeout=60)
        assert len(first) == 30, worker.log_text()
        # The restart, while the backlog is being worked off and the delayed are held.
        aof_redis.halt()
        time.sleep(3)
        aof_redis.start()
        rest = wait_replies(client, [t for t in tokens if t not in first], timeout=90)
        missing = sorted(set(tokens) - set(first) - set(rest))
        assert missing == [], (missing, worker.log_text()[-3000:])
        assert worker.poll() is None, worker.log_text()[-3000:]  # it never exited
        assert worker.stop() == 0, worker.log_text()[-3000:]

    # Nothing repeated: no second reply, one `succeeded` per message, nothing left over.
    extra_replies = {t: client.llen(keys.ping_reply(t)) for t in tokens}
    assert {t: n for t, n in extra_replies.items() if n} == {}
    lines = read_stream(root, "canary")
    assert_each_succeeded_once(lines, expected=len(tokens))
    assert dead_letters(client, QUEUE) == [] and queued_ids(client, QUEUE) == []
    assert client.hlen(f"dramatiq:{QUEUE}.msgs") == 0
    assert client.hlen(f"dramatiq:{QUEUE}.DQ.msgs") == 0
    # The gap is in the evidence: each worker process lost Redis and got it back.
    outages = assert_outages_logged(read_stream(root, STREAM), processes=2)
    assert Counter(ln["event"] for ln in outages.values()) == {"redis.restored": 2}
    broker.close()
    client.close()
