"""``atr quarantine``: list, show, replay and drop moved-aside messages (real Redis, real CLI)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import redis

from pipeline import keys, quarantine
from tests.envelope_corpus import good_body
from tests.helpers import run_atr


def moved(client: redis.Redis, reason: str, body: bytes, *, truncated: bool = False) -> str:
    rid = f"rid-{reason}"
    record = quarantine.Record(id=rid, queue="misc", reason=reason, detail="d\u202e",
                               moved_at=time.time(), group="worker2", host="h", pid=1,
                               size=len(body), truncated=truncated)
    assert quarantine.move(client, record, body, "broker-1")
    assert not quarantine.move(client, record, body, "broker-1")  # once
    return rid


def test_list_show_replay_drop(worker_env: dict[str, str], redis_url: str,
                               tmp_path: Path) -> None:
    client = redis.Redis.from_url(redis_url)
    _, good = good_body("misc", "t")
    undefined = moved(client, "undefined_actor", good)
    broken = moved(client, "not_json", b"\x00not json\n")
    cut = moved(client, "too_large", b"x" * 100, truncated=True)

    listed = run_atr("quarantine", "list", "--json", env=worker_env, cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    data = json.loads(listed.stdout)
    assert data["count"] == 3 and {r["id"] for r in data["records"]} == {undefined, broken, cut}

    shown = run_atr("quarantine", "show", broken, env=worker_env, cwd=tmp_path)
    assert shown.returncode == 0 and "\\x00not json\\x0a" in shown.stdout, shown.stdout
    assert "\u202e" not in shown.stdout and "reason      not_json" in shown.stdout
    raw = run_atr("quarantine", "show", undefined, "--raw", env=worker_env, cwd=tmp_path)
    assert raw.stdout.encode() == good

    refused = run_atr("quarantine", "replay", broken, env=worker_env, cwd=tmp_path)
    assert refused.returncode == 1 and "--force" in refused.stderr
    cut_refused = run_atr("quarantine", "replay", cut, env=worker_env, cwd=tmp_path)
    assert cut_refused.returncode == 1 and "cannot be replayed" in cut_refused.stderr

    replayed = run_atr("quarantine", "replay", undefined, env=worker_env, cwd=tmp_path)
    assert replayed.returncode == 0, replayed.stderr
    assert client.lrange(keys.dramatiq_queue("misc"), 0, -1) == [undefined.encode()]
    assert client.hget(keys.dramatiq_messages("misc"), undefined) == good
    assert quarantine.count(client) == 2

    dropped = run_atr("quarantine", "drop", cut, env=worker_env, cwd=tmp_path)
    assert dropped.returncode == 0
    missing = run_atr("quarantine", "drop", cut, env=worker_env, cwd=tmp_path)
    assert missing.returncode == 1 and "no moved-aside message" in missing.stderr
    assert quarantine.count(client) == 1
    client.close()
