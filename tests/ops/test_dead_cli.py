"""``atr dead list | requeue`` on a real Redis, with a real worker answering what is revived.

Dead letters are made the way production makes them: seo_apply for posts
without a proposal is rejected by the worker and dead-lettered by Dramatiq.
Once the cause is fixed (the proposals stored), ``atr dead requeue`` moves
them back and the same worker applies them.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import dramatiq
import pytest
import redis
from dramatiq.brokers.redis import RedisBroker

from brokers.boot import producer_broker
from brokers.producer import send
from devkit.wordpress import WordPressStandIn
from pipeline.deadletters import dead_letters, requeue
from pipeline.groups import get_group
from pipeline.seo.store import Proposal, SeoFields, SeoStore, content_hash
from pipeline.settings import Settings
from tests.helpers import Lines, assert_one_clear_line, run_atr, wait_lines


@pytest.fixture
def worker(redis_url: str, tmp_path: Path, wordpress: WordPressStandIn
           ) -> Iterator[tuple[RedisBroker, dict[str, str]]]:
    env = {"REDIS_URL": redis_url, "ATR_DOCLOG_ROOT": str(tmp_path / "logs"),
           "BRIDGE_BASE": wordpress.base_url, "BRIDGE_TOKEN": wordpress.token,
           "ATR_LLM_PROVIDER": "offline", "ATR_LLM_FALLBACK": ""}
    broker = producer_broker(Settings.from_env(env))
    running = dramatiq.Worker(broker, queues=set(get_group("worker1").queue_names),
                              worker_threads=2, worker_timeout=100)
    running.start()
    yield broker, env
    running.stop()
    broker.close()


def _ended(root: Path, stream: str, ids: set[str], event: str) -> Lines:
    return wait_lines(root, stream, lambda got: ids <= {
        ln["message_id"] for ln in got if ln["event"] == event}, timeout=60)


def _propose(client: redis.Redis, wordpress: WordPressStandIn, post_id: int) -> None:
    post = wordpress.post(post_id)
    SeoStore(client).put_proposal(Proposal(
        post_id, post.title, SeoFields(), SeoFields((), "카페", "카페 설명입니다", "카페 제목"),
        "offline", "offline-1", f"m-{post_id}", "2026-12-06T20:00:00+00:00",
        content_hash=content_hash(post.content)), 1.0)


def test_list_then_requeue_revives_each_dead_letter_once_and_the_worker_answers(
        worker: tuple[RedisBroker, dict[str, str]], worker_env: dict[str, str],
        tmp_path: Path, wordpress: WordPressStandIn, redis_client: redis.Redis) -> None:
    broker, _ = worker
    root = tmp_path / "logs"
    first, second = wordpress.post_ids[:2]
    applies = {send(broker, "seo_apply", {"post_id": p}).message_id for p in (first, second)}
    bad = send(broker, "fi_pipeline", {"post_id": "x"}).message_id
    _ended(root, "seo_apply", applies, "rejected")
    _ended(root, "fi_pipeline", {bad}, "rejected")

    listed = run_atr("dead", "list", env=worker_env, cwd=tmp_path)
    assert listed.returncode == 1, listed.stderr
    assert all(i in listed.stdout for i in (*applies, bad))
    assert "3 dead letter(s). Revive with: atr dead requeue" in listed.stdout
    only_seo = run_atr("dead", "list", "--queue", "seo", env=worker_env, cwd=tmp_path)
    assert bad not in only_seo.stdout and all(i in only_seo.stdout for i in applies)
    by_actor = run_atr("dead", "list", "--actor", "fi_pipeline", "--since", "1h",
                       env=worker_env, cwd=tmp_path)
    assert bad in by_actor.stdout and not any(i in by_actor.stdout for i in applies)
    later = run_atr("dead", "list", "--since", "2099-01-01T00:00", env=worker_env,
                    cwd=tmp_path)
    assert (later.returncode, later.stdout.strip()) == (0, "no dead letters match")

    # The cause is fixed: the posts now have proposals.
    for post_id in (first, second):
        _propose(redis_client, wordpress, post_id)
    dry = run_atr("dead", "requeue", "--queue", "seo", "--dry-run", env=worker_env,
                  cwd=tmp_path)
    assert dry.returncode == 0 and "2 dead letter(s) would be requeued (dry run" in dry.stdout
    assert len(dead_letters(redis_client, ["seo"])) == 2
    done = run_atr("dead", "requeue", "--queue", "seo", env=worker_env, cwd=tmp_path)
    assert done.returncode == 0 and "2 dead letter(s) requeued" in done.stdout, done.stderr
    lines = _ended(root, "seo_apply", applies, "succeeded")
    revived = [ln for ln in lines if ln["message_id"] in applies and ln["event"] == "started"]
    assert [ln["attempt"] for ln in revived] == [1, 1, 1, 1]  # rejected once, then revived
    assert sum(1 for ln in lines if ln["event"] == "seo.applied") == 2
    assert dead_letters(redis_client, ["seo"]) == []
    assert [d.message_id for d in dead_letters(redis_client, ["images"])] == [bad]
    again = run_atr("dead", "requeue", "--queue", "seo", env=worker_env, cwd=tmp_path)
    assert again.stdout.strip() == "no dead letters to requeue"


def test_two_requeues_of_the_same_letters_move_each_once(
        worker: tuple[RedisBroker, dict[str, str]], tmp_path: Path,
        redis_client: redis.Redis) -> None:
    broker, _ = worker
    root = tmp_path / "logs"
    ids = {send(broker, "seo_apply", {"post_id": p}).message_id for p in (901, 902)}
    _ended(root, "seo_apply", ids, "rejected")
    letters = dead_letters(redis_client, ["seo"])
    moved_first = requeue(redis_client, letters)
    moved_again = requeue(redis_client, letters)  # another operator with the same stale list
    assert {d.message_id for d in moved_first} == ids and moved_again == []
    # Each revived message ran once more (and, still without a proposal, died again).
    lines = wait_lines(root, "seo_apply", lambda got: sum(
        1 for ln in got if ln["event"] == "rejected") == 4, timeout=60)
    starts = [ln["message_id"] for ln in lines if ln["event"] == "started"]
    assert sorted(starts) == sorted([*ids, *ids])
    assert len(dead_letters(redis_client, ["seo"])) == 2


def test_a_bad_since_or_queue_is_one_clear_line(worker_env: dict[str, str],
                                                tmp_path: Path) -> None:
    bad = run_atr("dead", "list", "--since", "yesterday", env=worker_env, cwd=tmp_path)
    assert bad.returncode == 2
    assert "--since 'yesterday' is neither a duration (90s, 30m, 6h, 2d) nor a time" in \
        assert_one_clear_line(bad.stderr)
    wrong = run_atr("dead", "requeue", "--queue", "nope", env=worker_env, cwd=tmp_path)
    assert wrong.returncode == 2 and "unknown queue 'nope'" in assert_one_clear_line(
        wrong.stderr)
