"""Malformed envelopes pushed raw beside a good canary: moved aside once, the canary runs.

Each body of the corpus (tests/data/envelopes) is written the way a raw
producer writes (docs/messages.md §5.1: HSET ``dramatiq:<q>.msgs`` + RPUSH
``dramatiq:<q>``) in one EVAL together with a good canary behind it, so both
land in the same fetch, into a real ``dramatiq`` CLI worker of worker2.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import redis

from devkit.supervise import GroupProcess
from pipeline import keys, names, quarantine
from tests.envelope_corpus import cases, good_body
from tests.helpers import read_stream, wait_replies

QUEUE = names.QUEUE_MISC
_PUSH = """
for i = 1, #ARGV, 2 do
  if ARGV[i + 1] ~= '' then redis.call('hset', KEYS[1], ARGV[i], ARGV[i + 1]) end
  redis.call('rpush', KEYS[2], ARGV[i])
end
"""


def push_raw(client: redis.Redis, pairs: list[tuple[str, bytes | None]]) -> None:
    args: list[str | bytes] = []
    for rid, body in pairs:
        args += [rid, body if body is not None else b""]
    client.eval(_PUSH, 2, keys.dramatiq_messages(QUEUE), keys.dramatiq_queue(QUEUE), *args)


def worker_children(master: int) -> list[int]:
    text = Path(f"/proc/{master}/task/{master}/children").read_text()
    return sorted(int(p) for p in text.split())


def thread_counts(master: int) -> dict[int, int]:
    return {pid: len(os.listdir(f"/proc/{pid}/task")) for pid in worker_children(master)}


def test_every_malformed_body_is_moved_aside_once_and_the_batch_runs(
        worker_env: dict[str, str], redis_url: str, tmp_path: Path) -> None:
    client = redis.Redis.from_url(redis_url)
    text = redis.Redis.from_url(redis_url, decode_responses=True)
    env = {**worker_env, "ATR_WORKER2_PROCESSES": "1", "ATR_WORKER2_THREADS": "2"}
    corpus = cases(QUEUE)
    log = tmp_path / "w2.log"
    with GroupProcess("worker2", env, log, cwd=tmp_path) as group:
        push_raw(client, [good_body(QUEUE, "warm-up")])
        assert wait_replies(text, ["warm-up"]), group.log_text()
        threads_before = thread_counts(group.pid)
        beats_before = text.zcard(keys.DRAMATIQ_HEARTBEATS)
        for n, case in enumerate(corpus):
            push_raw(client, [(case.redis_id, case.body), good_body(QUEUE, f"canary-{n}")])
            assert wait_replies(text, [f"canary-{n}"]), (case.name, group.log_text())
        assert thread_counts(group.pid) == threads_before, group.log_text()
        assert text.zcard(keys.DRAMATIQ_HEARTBEATS) == beats_before
        assert group.stop() == 0
    output = group.log_text()
    assert "Traceback" not in output and "unexpected error" not in output, output

    records = {r.id: r for r in quarantine.list_records(text, limit=1000)}
    for case in corpus:
        record = records[case.redis_id]
        assert record.reason == case.reason and record.queue == QUEUE, record
        assert output.count(f"Moved message {case.redis_id} ") == 1, case.name
        # Out of the queue and of every unacknowledged set; it never ran.
        assert not text.hexists(keys.dramatiq_messages(QUEUE), case.redis_id)
        acks = text.scan_iter("dramatiq:__acks__.*")
        assert not any(text.sismember(k, case.redis_id) for k in acks)
        assert wait_replies(text, [case.token], timeout=0.1) == {}
    assert quarantine.count(text) == len(corpus)
    assert int(text.get(keys.QUARANTINE_TOTAL) or 0) == len(corpus)
    lines = read_stream(Path(env["ATR_DOCLOG_ROOT"]), "envelope")
    assert sorted(line["redis_message_id"] for line in lines) == sorted(c.redis_id for c in corpus)
    assert all(line["event"] == "moved_aside" and line["group"] == "worker2" for line in lines)
    for line in lines:
        json.dumps(line, ensure_ascii=True)  # escaped and JSON-clean

    # A restart brings nothing back: the bodies are gone from the queue for good.
    again_log = tmp_path / "w2-again.log"
    with GroupProcess("worker2", env, again_log, cwd=tmp_path) as again:
        push_raw(client, [good_body(QUEUE, "after-restart")])
        assert wait_replies(text, ["after-restart"]), again.log_text()
        assert again.stop() == 0
    assert "Moved message" not in again.log_text()
    assert quarantine.count(text) == len(corpus)
    assert text.llen(keys.dramatiq_queue(QUEUE)) == 0
    assert text.hlen(keys.dramatiq_messages(QUEUE)) == 0
    client.close()
    text.close()
