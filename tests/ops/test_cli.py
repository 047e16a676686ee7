"""The real ``atr`` script: group table, dry-run commands, sends, and one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import redis

from devkit.redis_server import free_port
from tests.helpers import assert_one_clear_line, queued_ids, run_atr


def dry_run(group: str, env: dict[str, str], cwd: Path) -> list[str]:
    result = run_atr("worker", group, "--dry-run", env=env, cwd=cwd)
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


def option_values(argv: list[str], option: str) -> list[str]:
    start = argv.index(option) + 1
    values = []
    for arg in argv[start:]:
        if arg.startswith("--"):
            break
        values.append(arg)
    return values


@pytest.mark.parametrize(("group", "concurrency", "queues"), [
    ("worker1", 12, {"seo", "thumbnails", "images", "high"}),
    ("worker2", 6, {"ga4", "doclog", "misc", "low", "index", "ads"}),
])
def test_dry_run_prints_the_groups_dramatiq_command(
        group: str, concurrency: int, queues: set[str], worker_env: dict[str, str],
        tmp_path: Path) -> None:
    argv = dry_run(group, worker_env, tmp_path)
    assert Path(argv[0]).name == "dramatiq"
    assert argv[1] == f"brokers.{group}:broker"
    processes = int(option_values(argv, "--processes")[0])
    threads = int(option_values(argv, "--threads")[0])
    assert processes * threads == concurrency
    assert set(option_values(argv, "--queues")) == queues
    assert len(option_values(argv, "--queues")) == len(queues)


def test_dry_run_applies_shape_overrides(worker_env: dict[str, str], tmp_path: Path) -> None:
    env = {**worker_env, "ATR_WORKER1_PROCESSES": "1", "ATR_WORKER1_THREADS": "4"}
    argv = dry_run("worker1", env, tmp_path)
    assert option_values(argv, "--processes") == ["1"]
    assert option_values(argv, "--threads") == ["4"]


def test_workers_json_is_the_group_table(clean_env: dict[str, str], tmp_path: Path) -> None:
    result = run_atr("workers", "--json", env=clean_env, cwd=tmp_path)
    assert result.returncode == 0
    table = json.loads(result.stdout)
    assert table["worker1"]["concurrency"] == 12
    assert table["worker2"]["queues"]["ga4"] == 5


def test_workers_table_is_readable(clean_env: dict[str, str], tmp_path: Path) -> None:
    result = run_atr("workers", env=clean_env, cwd=tmp_path)
    assert result.returncode == 0
    worker1_line = next(line for line in result.stdout.splitlines()
                        if line.startswith("worker1"))
    assert "2 x 6 = 12" in worker1_line
    assert "seo:5 thumbnails:4 images:3 high:2" in worker1_line


def test_unknown_group_is_one_line(worker_env: dict[str, str], tmp_path: Path) -> None:
    result = run_atr("worker", "worker3", env=worker_env, cwd=tmp_path)
    assert result.returncode == 2
    line = assert_one_clear_line(result.stderr)
    assert line == ("atr worker: unknown worker group 'worker3' (did you mean worker2?); "
                    "groups: worker1, worker2")


def test_missing_redis_url_is_one_line(clean_env: dict[str, str], tmp_path: Path) -> None:
    result = run_atr("worker", "worker1", env=clean_env, cwd=tmp_path)
    assert result.returncode == 2
    assert "REDIS_URL is required" in assert_one_clear_line(result.stderr)


def test_bad_redis_url_is_one_line(clean_env: dict[str, str], tmp_path: Path) -> None:
    env = {**clean_env, "REDIS_URL": "http://127.0.0.1:6379"}
    result = run_atr("worker", "worker2", env=env, cwd=tmp_path)
    assert result.returncode == 2
    assert "REDIS_URL='http://127.0.0.1:6379' is invalid" in assert_one_clear_line(
        result.stderr)


def test_unreachable_redis_is_one_line_and_hides_the_password(
        clean_env: dict[str, str], tmp_path: Path) -> None:
    env = {**clean_env, "REDIS_URL": f"redis://:hunter2@127.0.0.1:{free_port()}/0"}
    for args in (("worker", "worker1"), ("send", "ping_seo", "{}"), ("ping", "seo")):
        result = run_atr(*args, env=env, cwd=tmp_path)
        assert result.returncode == 3, result.stderr
        line = assert_one_clear_line(result.stderr)
        assert line.startswith(f"atr {args[0]}: cannot reach Redis at redis://:***@127.0.0.1:")
        assert "hunter2" not in result.stderr


def test_missing_variable_from_env_file_is_named(clean_env: dict[str, str],
                                                 tmp_path: Path) -> None:
    (tmp_path / ".env.workers").write_text("ATR_DOCLOG_ROTATE_DAYS=0\n", encoding="utf-8")
    result = run_atr("config", env=clean_env, cwd=tmp_path)
    assert result.returncode == 2
    line = assert_one_clear_line(result.stderr)
    assert "REDIS_URL is required" in line
    assert "ATR_DOCLOG_ROTATE_DAYS='0' is invalid" in line


@pytest.mark.parametrize(("payload", "expected"), [
    ("{post_id: 1}", "the payload is not valid JSON"),
    ("[1, 2]", "the payload must be a JSON object of keyword arguments, got list"),
    ('{"tokn": "x"}', "payload does not fit ping_seo: got an unexpected keyword argument "
                      "'tokn'; it takes: token, sleep_ms, fail_attempts"),
])
def test_malformed_send_payload_is_one_line_and_sends_nothing(
        payload: str, expected: str, worker_env: dict[str, str], tmp_path: Path,
        redis_client: redis.Redis) -> None:
    result = run_atr("send", "ping_seo", payload, env=worker_env, cwd=tmp_path)
    assert result.returncode == 2
    assert expected in assert_one_clear_line(result.stderr)
    assert queued_ids(redis_client, "seo") == []


def test_send_to_unknown_actor_lists_the_actors(worker_env: dict[str, str],
                                                tmp_path: Path) -> None:
    result = run_atr("send", "ping_sep", "{}", env=worker_env, cwd=tmp_path)
    assert result.returncode == 2
    line = assert_one_clear_line(result.stderr)
    assert "unknown actor 'ping_sep' (did you mean ping_seo?); actors: " in line
    assert "doclog_rotate, doclog_rotate_worker1, fi_pipeline, ga4_score, index_submit, " \
        "index_sweep, monetize, ping_ads," in line


def test_send_enqueues_on_the_actors_queue(worker_env: dict[str, str], tmp_path: Path,
                                           redis_client: redis.Redis) -> None:
    result = run_atr("send", "ping_ga4", '{"token": "t-1"}', env=worker_env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("enqueued ping_ga4 on queue ga4: message_id=")
    message_id = result.stdout.strip().rsplit("=", 1)[1]
    (queued,) = queued_ids(redis_client, "ga4")  # the broker's own id for the entry
    stored = json.loads(redis_client.hget("dramatiq:ga4.msgs", queued) or "{}")
    assert stored["message_id"] == message_id
    assert stored["actor_name"] == "ping_ga4"
    assert stored["kwargs"] == {"token": "t-1"}


def test_ping_without_workers_reports_each_queue_unanswered(
        worker_env: dict[str, str], tmp_path: Path) -> None:
    result = run_atr("ping", "seo", "ga4", "--timeout", "1", "--json", env=worker_env,
                     cwd=tmp_path)
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert report["ok"] is False
    assert [(q["queue"], q["expected_group"], q["group"]) for q in report["queues"]] == [
        ("seo", "worker1", None), ("ga4", "worker2", None)]


@pytest.mark.parametrize("delay", ["-5", "700000000"])
def test_send_delay_out_of_range_is_one_line(delay: str, worker_env: dict[str, str],
                                             tmp_path: Path) -> None:
    result = run_atr("send", "ping_seo", "{}", "--delay-ms", delay, env=worker_env,
                     cwd=tmp_path)
    assert result.returncode == 2
    assert "--delay-ms must be from 0 to 604800000 (7 days)" in assert_one_clear_line(
        result.stderr)
