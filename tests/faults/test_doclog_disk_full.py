"""The doclog's disk is full: every job still succeeds, the lost lines are counted and shown.

``ATR_DOCLOG_ROOT`` is a real full file system, two ways: a 256 KiB tmpfs
filled to the last page (only where the test may mount one: root with
CAP_SYS_ADMIN; skipped elsewhere), and day files that are symlinks to
``/dev/full`` (the kernel's ENOSPC on every write; runs everywhere). No code
is patched. worker2 runs under the real
``dramatiq`` CLI; its canaries are all answered exactly once, the group's
Redis counter holds every lost line, ``atr health`` turns the doclog check
WARN with what to do, the worker logs the problem once (not once per line),
and once space is freed the lines come back.
"""

from __future__ import annotations

import errno
import json
import os
import subprocess
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import redis

from actors.canary import DOCLOG_STREAM, canary_name
from brokers.boot import producer_broker
from brokers.producer import send
from devkit.redis_server import EmbeddedRedis
from devkit.supervise import GroupProcess
from pipeline import keys, names
from pipeline.settings import Settings
from tests.helpers import read_stream, run_atr, wait_replies

pytestmark = pytest.mark.faults

QUEUE = names.QUEUE_MISC
FullDisk = tuple[Path, Callable[[], None]]


def _fill(directory: Path) -> None:
    """Write a filler file until the file system says ENOSPC."""
    chunk = b"\0" * 4096
    with (directory / "filler").open("wb", buffering=0) as filler:
        while True:
            try:
                filler.write(chunk)
            except OSError as exc:
                assert exc.errno == errno.ENOSPC, exc
                return


@pytest.fixture(params=["tmpfs", "dev_full"])
def full_doclog_root(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[FullDisk]:
    """(a doclog root on a full file system, a function that frees space)."""
    root = tmp_path / "doclog"
    root.mkdir()
    mounted = request.param == "tmpfs" and os.geteuid() == 0 and subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=256k,mode=0755", "tmpfs", str(root)],
        capture_output=True, check=False).returncode == 0
    if request.param == "tmpfs" and not mounted:
        pytest.skip("cannot mount a tmpfs here (needs root with CAP_SYS_ADMIN); "
                    "the /dev/full variant covers ENOSPC")
    try:
        if mounted:
            _fill(root)
            yield root, lambda: (root / "filler").unlink()
        else:
            stream = root / DOCLOG_STREAM
            stream.mkdir()
            zone = ZoneInfo("Asia/Seoul")  # ATR_TZ's default: the day files' zone
            today = datetime.now(zone)
            days = [f"{(today + timedelta(days=d)):%Y-%m-%d}.ndjson" for d in (0, 1)]
            for day in days:
                (stream / day).symlink_to("/dev/full")
            yield root, lambda: [(stream / day).unlink() for day in days] and None
    finally:
        if mounted:
            subprocess.run(["umount", "-l", str(root)], check=False)


def test_a_full_doclog_disk_fails_no_job_and_is_counted_and_shown(
        fault_env: dict[str, str], aof_redis: EmbeddedRedis, tmp_path: Path,
        full_doclog_root: FullDisk) -> None:
    root, free_space = full_doclog_root
    env = {**fault_env, "ATR_DOCLOG_ROOT": str(root),
           "ATR_WORKER2_PROCESSES": "1", "ATR_WORKER2_THREADS": "3"}
    client = redis.Redis.from_url(aof_redis.url, decode_responses=True)
    broker = producer_broker(Settings.from_env({"REDIS_URL": aof_redis.url}))
    actor = canary_name(QUEUE)
    during = [f"full-{n}" for n in range(20)]
    after = [f"freed-{n}" for n in range(5)]
    with GroupProcess("worker2", env, tmp_path / "worker2.log", cwd=tmp_path) as worker:
        for token in during:
            send(broker, actor, {"token": token})
        answered = wait_replies(client, during, timeout=60)
        assert sorted(answered) == sorted(during), worker.log_text()[-3000:]
        # Two lines per message (started, succeeded), all lost, all counted.
        key = keys.write_errors("worker2")
        deadline = time.monotonic() + 30
        while int(client.get(key) or 0) < 2 * len(during) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert int(client.get(key) or 0) == 2 * len(during)

        health = run_atr("health", "--group", "worker2", "--json", env=env, cwd=tmp_path)
        report = json.loads(health.stdout)
        (doclog_check,) = [c for c in report["checks"] if c["check"] == "doclog"]
        assert doclog_check["status"] == "WARN" and health.returncode >= 1
        assert f"{2 * len(during)} lost doclog line(s)" in doclog_check["detail"]
        assert "check free disk space" in doclog_check["reason"]
        assert report["groups"]["worker2"]["doclog_write_errors"] == 2 * len(during)
        text = run_atr("health", "--group", "worker2", env=env, cwd=tmp_path).stdout
        assert "worker2 is losing doclog lines (jobs still run)" in text

        free_space()
        for token in after:
            send(broker, actor, {"token": token})
        assert sorted(wait_replies(client, after, timeout=60)) == sorted(after)
        deadline = time.monotonic() + 30
        while len(read_stream(root, DOCLOG_STREAM)) < 2 * len(after) \
                and time.monotonic() < deadline:
            time.sleep(0.1)
        assert worker.stop() == 0, worker.log_text()[-3000:]

    # Nothing repeated, and the space freed brought the evidence back.
    extra_replies = {t: client.llen(keys.ping_reply(t)) for t in during + after}
    assert {t: n for t, n in extra_replies.items() if n} == {}
    lines = read_stream(root, DOCLOG_STREAM)
    assert sorted(ln["kwargs"]["token"] for ln in lines if ln["event"] == "started") \
        == sorted(after)
    assert [ln["event"] for ln in lines].count("succeeded") == len(after)
    assert int(client.get(keys.write_errors("worker2")) or 0) == 2 * len(during)
    log = worker.log_text()
    assert log.count("Doclog cannot write") == 1, log[-3000:]  # once, not once per line
    assert "No space left on device" in log
    assert "Doclog writes to" in log and "work again after 40 lost line(s)" in log
    broker.close()
    client.close()
