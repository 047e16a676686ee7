"""SIGTERM during a deploy with messages in flight: each finishes or is requeued, none is lost.

The real ``ops/deploy.sh`` runs in a git checkout one release behind its
origin; ``./dev`` is a stand-in (no install) and ``systemctl`` a stand-in
that does what systemd does for our units on ``restart`` (``KillMode=mixed``:
SIGTERM to the dramatiq master, wait for it to exit, start the group again).
Both groups hold canaries that are running (sleeping), prefetched, retrying
and delayed when their restart comes; the deploy's gates (``atr ping``,
``atr health``) run for real. Every canary is answered exactly once.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from actors.canary import canary_name
from brokers.boot import producer_broker
from brokers.producer import send
from devkit.redis_server import EmbeddedRedis
from devkit.supervise import atr_executable
from pipeline import keys, names
from pipeline.settings import Settings
from tests.faults.helpers import assert_each_succeeded_once
from tests.helpers import dead_letters, queued_ids, read_stream, wait_replies

pytestmark = pytest.mark.faults

REPO = Path(__file__).resolve().parents[2]
# What systemd does for `systemctl restart atr-<group>` with KillMode=mixed:
# SIGTERM to the main process only, wait until it is gone, start it again.
SYSTEMCTL = r"""#!/usr/bin/env bash
set -euo pipefail
echo "systemctl $*" >> "$CALLS"
[ "$1" = restart ] || [ "$1" = start ] || exit 0
case "$2" in atr-worker1|atr-worker2) ;; *) exit 0 ;; esac
group=${2#atr-}
pidfile="$RUN_DIR/$group.pid"
if [ -f "$pidfile" ]; then
    pid=$(cat "$pidfile")
    kill -TERM "$pid" 2>/dev/null || true
    # Gone, or a zombie waiting for a reaper: either way it has exited.
    while [ -e "/proc/$pid" ] && ! awk '{exit $3 != "Z"}' "/proc/$pid/stat" 2>/dev/null; do
        sleep 0.1
    done
fi
setsid "$STAND_IN_ATR" worker "$group" >> "$RUN_DIR/$group.log" 2>&1 < /dev/null &
echo $! > "$pidfile"
"""


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True,
                          text=True).stdout.strip()


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """A deployed checkout whose origin is one release ahead; ./dev is a stand-in."""
    origin, seed, home = tmp_path / "origin.git", tmp_path / "seed", tmp_path / "srv"
    git(tmp_path, "init", "--quiet", "--bare", "-b", "main", str(origin))
    git(tmp_path, "init", "--quiet", "-b", "main", str(seed))
    for name in ("user.name", "user.email"):
        git(seed, "config", name, "test@example.invalid")
    (seed / "ops").mkdir()
    (seed / "ops" / "deploy.sh").write_bytes((REPO / "ops" / "deploy.sh").read_bytes())
    (seed / "ops" / "deploy.sh").chmod(0o755)
    (seed / "dev").write_text('#!/usr/bin/env bash\necho "dev $*" >> "$CALLS"\n')
    (seed / "dev").chmod(0o755)
    (seed / ".gitignore").write_text(".venv\n")
    git(seed, "add", "-A")
    git(seed, "commit", "--quiet", "-m", "release 1")
    git(seed, "remote", "add", "origin", str(origin))
    git(seed, "push", "--quiet", "origin", "main")
    git(tmp_path, "clone", "--quiet", str(origin), str(home))
    (seed / "CHANGELOG").write_text("release 2\n")
    git(seed, "add", "-A")
    git(seed, "commit", "--quiet", "-m", "release 2")
    git(seed, "push", "--quiet", "origin", "main")
    (home / ".venv").symlink_to(Path(sys.executable).parent.parent)
    return home


@pytest.fixture
def deploy_env(fault_env: dict[str, str], tmp_path: Path) -> Iterator[dict[str, str]]:
    """PATH with the systemctl stand-in first; the groups it runs are stopped afterwards."""
    bin_dir, run_dir = tmp_path / "bin", tmp_path / "run"
    bin_dir.mkdir()
    run_dir.mkdir()
    (bin_dir / "systemctl").write_text(SYSTEMCTL)
    (bin_dir / "systemctl").chmod(0o755)
    env = {**fault_env, "PATH": f"{bin_dir}:{fault_env['PATH']}",
           "CALLS": str(tmp_path / "calls.txt"), "RUN_DIR": str(run_dir),
           "STAND_IN_ATR": atr_executable(),
           "ATR_WORKER1_PROCESSES": "1", "ATR_WORKER1_THREADS": "3",
           "ATR_WORKER2_PROCESSES": "2", "ATR_WORKER2_THREADS": "3"}
    yield env
    for pidfile in run_dir.glob("*.pid"):
        try:
            os.kill(int(pidfile.read_text()), signal.SIGTERM)
        except ProcessLookupError:
            pass
    for pidfile in run_dir.glob("*.pid"):
        wait_gone(int(pidfile.read_text()))


def wait_gone(pid: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
        try:
            if Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
                return
        except OSError:
            return
        time.sleep(0.1)


def test_a_deploy_restarting_both_groups_under_load_loses_and_repeats_nothing(
        checkout: Path, deploy_env: dict[str, str], aof_redis: EmbeddedRedis,
        tmp_path: Path) -> None:
    env = deploy_env
    run_dir = Path(env["RUN_DIR"])
    for group in ("worker2", "worker1"):
        subprocess.run(["systemctl", "start", f"atr-{group}"], env=env, check=True)
    client = redis.Redis.from_url(aof_redis.url, decode_responses=True)
    broker = producer_broker(Settings.from_env({"REDIS_URL": aof_redis.url}))
    tokens: dict[str, list[str]] = {}
    for queue in (names.QUEUE_MISC, names.QUEUE_HIGH):
        actor = canary_name(queue)
        running = [f"{queue}-slow-{n}" for n in range(36)]
        failing = [f"{queue}-retry-{n}" for n in range(4)]
        delayed = [f"{queue}-delayed-{n}" for n in range(4)]
        for token in running:
            send(broker, actor, {"token": token, "sleep_ms": 1500})
        for token in failing:
            send(broker, actor, {"token": token, "fail_attempts": 1},
                 options={"min_backoff": 5000, "max_backoff": 6000})
        for n, token in enumerate(delayed):
            send(broker, actor, {"token": token}, delay_ms=4000 + 1000 * n)
        tokens[queue] = running + failing + delayed
    # The deploy starts while the first slow canaries are still running.
    started = wait_replies(client, [tokens[names.QUEUE_MISC][0]], timeout=60)
    assert started, (run_dir / "worker2.log").read_text()[-3000:]
    deploy = subprocess.run([str(checkout / "ops" / "deploy.sh"), "--ping-timeout", "90"],
                            env=env, capture_output=True, text=True, timeout=400)
    assert deploy.returncode == 0, deploy.stdout + deploy.stderr
    assert Path(env["CALLS"]).read_text().splitlines()[2:5] == [
        "dev setup", "systemctl restart atr-worker2", "systemctl restart atr-worker1"]

    every = [t for queue_tokens in tokens.values() for t in queue_tokens]
    answered = {**started, **wait_replies(client, [t for t in every if t not in started],
                                          timeout=120)}
    logs = {g: (run_dir / f"{g}.log").read_text(errors="replace") for g in ("worker1",
                                                                          "worker2")}
    missing = sorted(set(every) - set(answered))
    assert missing == [], (missing, logs["worker2"][-3000:])
    # The restarts really came mid-backlog: old and new processes both answered.
    for queue in tokens:
        pids = {answered[t]["pid"] for t in tokens[queue]}
        assert len(pids) >= (3 if queue == names.QUEUE_MISC else 2), (queue, pids)
    extra_replies = {t: client.llen(keys.ping_reply(t)) for t in every}
    assert {t: n for t, n in extra_replies.items() if n} == {}
    # Each group was stopped gracefully, and no consumer or requeue failed on the way.
    for group, text in logs.items():
        assert text.count("Worker has been shut down.") >= (2 if group == "worker2" else 1)
        for trouble in ("Consumer encountered", "bug in Dramatiq", "Unexpected failure"):
            assert trouble not in text, text[-3000:]
    lines = read_stream(Path(env["ATR_DOCLOG_ROOT"]), "canary")
    ours = {ln["message_id"] for ln in lines
            if ln["event"] == "started" and ln["kwargs"].get("token") in set(every)}
    assert_each_succeeded_once([ln for ln in lines if ln["message_id"] in ours],
                               expected=len(every))
    for queue in tokens:
        assert dead_letters(client, queue) == [] and queued_ids(client, queue) == []
        assert client.hlen(f"dramatiq:{queue}.msgs") == 0
    broker.close()
    client.close()
