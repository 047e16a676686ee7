"""A non-Python producer's message, written exactly as docs/messages.md §5.1 shows, is picked up.

The recipe's bash block is taken from the document itself and run with
``redis-cli`` against the session Redis while a real worker2 group runs: it
writes only Dramatiq's keys (no wake-up), so the consumer finds it on its
next look (at most ``ATR_PICKUP_POLL_MS`` later) and the recipe's own BLPOP
prints the canary's reply.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import redis

from devkit.supervise import GroupProcess
from tests.envelope_corpus import good_body
from tests.helpers import wait_replies

DOC = Path(__file__).resolve().parents[2] / "docs" / "messages.md"


def recipe() -> str:
    section = DOC.read_text(encoding="utf-8").split("### 5.1", 1)[1]
    match = re.search(r"```bash\n(.*?)```", section, re.S)
    assert match, "docs/messages.md §5.1 has no bash block"
    return match.group(1)


@pytest.mark.skipif(shutil.which("redis-cli") is None, reason="redis-cli is not installed")
def test_the_documented_raw_recipe_is_picked_up(worker_env: dict[str, str], redis_url: str,
                                                redis_client: redis.Redis,
                                                tmp_path: Path) -> None:
    script = recipe()
    assert "REDIS_URL=redis://10.0.0.5:6379/0" in script
    script = script.replace("REDIS_URL=redis://10.0.0.5:6379/0", f"REDIS_URL={redis_url}")
    env = {**worker_env, "ATR_WORKER2_PROCESSES": "1", "ATR_WORKER2_THREADS": "1"}
    with GroupProcess("worker2", env, tmp_path / "w2.log", cwd=tmp_path) as group:
        rid, body = good_body("misc", "booted")
        redis_client.hset("dramatiq:misc.msgs", rid, body)
        redis_client.rpush("dramatiq:misc", rid)
        assert wait_replies(redis_client, ["booted"], timeout=60), group.log_text()
        done = subprocess.run(["bash", "-euo", "pipefail", "-c", script], env=env,
                              capture_output=True, text=True, timeout=60, check=False)
        assert done.returncode == 0, done.stderr
        key, reply = done.stdout.strip().splitlines()[-2:]
        assert key == "atr:ping:raw-1"
        assert json.loads(reply)["group"] == "worker2"
        assert group.stop() == 0
    assert redis_client.llen("atr:wake:misc") == 0  # it never needed a wake-up
