"""Both groups on one host under the real CLI, each exporting Prometheus metrics on its own port."""

from __future__ import annotations

import time
from pathlib import Path

import redis

from brokers.boot import producer_broker
from brokers.producer import send
from devkit.redis_server import free_port
from devkit.supervise import GroupProcess
from pipeline.settings import Settings
from tests.helpers import queued_ids, run_atr, wait_replies
from tests.metrics_helpers import Samples, refused, value, wait_scrape

SEO = {"queue_name": "seo", "actor_name": "ping_seo"}
GA4 = {"queue_name": "ga4", "actor_name": "ping_ga4"}


def names_of(samples: Samples, metric: str) -> set[str]:
    """The actors that have ``metric`` samples."""
    return {dict(labels)["actor_name"] for (name, labels) in samples if name == metric}


def test_each_group_exports_its_own_metrics_on_its_own_port_and_directory(
        worker_env: dict[str, str], redis_url: str, redis_client: redis.Redis,
        tmp_path: Path) -> None:
    p1, p2 = free_port(), free_port()
    while p2 == p1:
        p2 = free_port()
    metrics_dir = tmp_path / "metrics"
    env = {**worker_env, "ATR_WORKER1_PROCESSES": "1", "ATR_WORKER1_THREADS": "1",
           "ATR_WORKER2_PROCESSES": "1", "ATR_WORKER2_THREADS": "1",
           "ATR_METRICS_WORKER1_PORT": str(p1), "ATR_METRICS_WORKER2_PORT": str(p2),
           "ATR_METRICS_DIR": str(metrics_dir)}
    producer = producer_broker(Settings.from_env({"REDIS_URL": redis_url}))
    try:
        with GroupProcess("worker1", env, tmp_path / "w1.log", cwd=tmp_path) as w1, \
                GroupProcess("worker2", env, tmp_path / "w2.log", cwd=tmp_path) as w2:
            tokens = [f"seo-{i}" for i in range(3)] + [f"ga4-{i}" for i in range(2)]
            for token in tokens:
                send(producer, f"ping_{token.split('-')[0]}", {"token": token})
            replies = wait_replies(redis_client, tokens, timeout=60)
            assert len(replies) == 5, w1.log_text() + w2.log_text()

            one = wait_scrape(p1, lambda s: value(s, "dramatiq_messages_total", **SEO) == 3)
            two = wait_scrape(p2, lambda s: value(s, "dramatiq_messages_total", **GA4) == 2)
            # Each port shows its own group's actors only.
            assert names_of(one, "dramatiq_messages_total") == {"ping_seo"}
            assert names_of(two, "dramatiq_messages_total") == {"ping_ga4"}
            assert value(one, "dramatiq_message_errors_total", **SEO) is None
            assert value(one, "dramatiq_message_duration_milliseconds_count", **SEO) == 3
            assert value(one, "atr_queue_waiting", queue="seo") == 0
            assert value(two, "atr_queue_waiting", queue="seo") is None
            assert value(two, "atr_queue_waiting", queue="ga4") == 0

            # A backlog: the only thread sleeps on one canary, the rest waits in Redis.
            send(producer, "ping_seo", {"token": "busy", "sleep_ms": 8000})
            for i in range(4):
                send(producer, "ping_seo", {"token": f"backlog-{i}"})
            busy = wait_scrape(p1, lambda s: (
                value(s, "dramatiq_messages_inprogress", **SEO) == 1
                and value(s, "atr_queue_waiting", queue="seo")
                == len(queued_ids(redis_client, "seo")) >= 2))
            assert (value(busy, "atr_queue_oldest_age_seconds", queue="seo") or 0) > 0
            # The master relays its workers' log lines asynchronously: wait for them.
            assert wait_log(w1, f"Prometheus metrics on http://127.0.0.1:{p1}/metrics")
            assert wait_log(w2, f"Prometheus metrics on http://127.0.0.1:{p2}/metrics")
            assert w1.stop() == 0
            assert w2.stop() == 0
    finally:
        producer.close()

    # Separate directories, each with its own group's files.
    assert sorted(p.name for p in metrics_dir.iterdir()) == ["worker1", "worker2"]
    for group in ("worker1", "worker2"):
        assert list((metrics_dir / group).glob("counter_*.db")), group

    # A producer (atr send) with the same settings starts no exporter.
    sent = run_atr("send", "ping_seo", '{"token": "after"}', env=env, cwd=tmp_path)
    assert sent.returncode == 0, sent.stderr
    assert refused(p1) and refused(p2)


def test_port_zero_turns_a_groups_metrics_off(
        worker_env: dict[str, str], redis_url: str, redis_client: redis.Redis,
        tmp_path: Path) -> None:
    metrics_dir = tmp_path / "metrics"
    env = {**worker_env, "ATR_WORKER2_PROCESSES": "1", "ATR_WORKER2_THREADS": "1",
           "ATR_METRICS_WORKER2_PORT": "0", "ATR_METRICS_DIR": str(metrics_dir)}
    producer = producer_broker(Settings.from_env({"REDIS_URL": redis_url}))
    try:
        with GroupProcess("worker2", env, tmp_path / "w2.log", cwd=tmp_path) as w2:
            send(producer, "ping_ga4", {"token": "off"})
            assert "off" in wait_replies(redis_client, ["off"], timeout=60), w2.log_text()
            assert "Prometheus" not in w2.log_text()
            assert w2.stop() == 0
    finally:
        producer.close()
    # No directory made, no exporter started (its log line is missing above).
    assert not metrics_dir.exists()


def wait_log(group: GroupProcess, text: str, timeout: float = 30) -> bool:
    """Whether ``text`` shows up in the group's log within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while text not in group.log_text() and time.monotonic() < deadline:
        time.sleep(0.2)
    return text in group.log_text()
