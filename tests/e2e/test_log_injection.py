"""A hostile payload cannot forge, hide or flood lines of the worker log or the doclog.

The real ``atr worker worker2`` (the dramatiq CLI) on the session Redis;
messages written the raw way (docs/messages.md §5.1) with keys and values
holding a newline that would start a forged journal record, NUL, U+202E and
100,000 characters. The log is read as the journal would get it.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import redis

from devkit.supervise import GroupProcess
from pipeline.doclog.render import MAX_LINE_BYTES
from pipeline.log_redaction import LINE_MAX, VALUE_MAX
from tests.helpers import read_stream, wait_lines, wait_replies
from tests.raw_producer import raw_send

ROOT = Path(__file__).parents[2]
FORGED = "[2000-01-01 00:00:00,000] [PID 1] [MainThread] [dramatiq.MainProcess] [WARNING] FORGED"
HUGE = "A" * 100_000
#: The payloads, as (kwargs, what the doclog must give back).
HOSTILE = [
    {f"token\n{FORGED}": "x"},  # a key that would start a record of its own
    {"token": f"t\n{FORGED}"},  # the same in a value
    {"token": "nul\x00here"},
    {"token": "\u202eevil\u202c"},
    {"token": HUGE},
    {HUGE: 1},
]
#: Not even an object: the consumer's envelope guard moves it aside before any actor.
NOT_AN_OBJECT = ["\u202e", "\x00", f"\n{FORGED}"]
#: Longest journal line: the record's prefix (time, pid, thread, logger) and its message.
PREFIX_MAX = 200


def test_hostile_keys_and_values_reach_the_logs_only_escaped_and_bounded(
        worker_env: dict[str, str], redis_client: redis.Redis, tmp_path: Path) -> None:
    env = {**worker_env, "ATR_WORKER2_PROCESSES": "1", "ATR_WORKER2_THREADS": "2"}
    root = Path(env["ATR_DOCLOG_ROOT"])
    sent = [raw_send(redis_client, "misc", "ping_misc", kwargs) for kwargs in HOSTILE]
    moved = raw_send(redis_client, "misc", "ping_misc", NOT_AN_OBJECT)
    raw_send(redis_client, "misc", "ping_misc", {"token": "after-hostile"})
    with GroupProcess("worker2", env, tmp_path / "w2.log", cwd=tmp_path) as worker:
        lines = wait_lines(root, "canary", lambda ls: {ln["message_id"] for ln in ls
                                                       if ln["event"] == "rejected"}
                           >= set(sent), timeout=60)
        assert wait_replies(redis_client, ["after-hostile"], timeout=30)
        aside = wait_lines(root, "envelope", lambda ls: any(ln["message_id"] == moved
                                                            for ln in ls), timeout=30)
        assert worker.stop() == 0
    log = worker.log_text()

    # Every message was rejected at once, with its payload on the final line as sent.
    final = {ln["message_id"]: ln for ln in lines if ln["event"] == "rejected"}
    for message_id, kwargs in zip(sent, HOSTILE, strict=True):
        assert final[message_id]["kwargs"] == kwargs or final[message_id].get("truncated")
    assert "goes to the dead-letter queue without retry" in log
    assert [ln["event"] for ln in aside if ln["message_id"] == moved] == ["moved_aside"]

    # The worker log: no forged record, nothing raw, every line bounded.
    assert "FORGED" in log  # it is there, escaped ...
    assert not re.search(r"(?m)^\[2000-01-01", log)  # ... never as a record of its own
    for line in log.splitlines():
        if "FORGED" in line:
            assert "\\n[2000-01-01" in line, line
    assert "\x00" not in log and "\u202e" not in log and "\u202c" not in log
    assert "\\u202e" in log and "\\x00" in log  # shown, as escapes
    assert max(map(len, log.splitlines())) <= PREFIX_MAX + LINE_MAX + 40
    assert HUGE[:VALUE_MAX + 1] not in log  # 100k characters became a few hundred

    # The doclog: one bounded line each, the raw bytes free of NUL and bidi controls.
    for path in [*(root / "canary").glob("*.ndjson"), *(root / "envelope").glob("*.ndjson")]:
        data = path.read_bytes()
        assert b"\x00" not in data and "\u202e".encode() not in data
        assert b"\\u202e" in data
        assert max(map(len, data.splitlines(keepends=True))) <= MAX_LINE_BYTES
    assert all(json.loads(json.dumps(ln)) == ln for ln in read_stream(root, "canary"))


def test_the_human_doclog_view_shows_hostile_text_only_escaped(
        worker_env: dict[str, str], redis_client: redis.Redis, tmp_path: Path) -> None:
    env = {**worker_env, "ATR_WORKER2_PROCESSES": "1", "ATR_WORKER2_THREADS": "1"}
    root = Path(env["ATR_DOCLOG_ROOT"])
    # The message id is shown in every row: a producer chooses it.
    hostile = raw_send(redis_client, "misc", "ping_misc", {"token": "\x1b[2J\u202eevil\x00"},
                       message_id="\x1b[31m\u202e\x00-forged-id")
    with GroupProcess("worker2", env, tmp_path / "w2.log", cwd=tmp_path) as worker:
        wait_lines(root, "canary", lambda ls: any(ln["message_id"] == hostile
                                                  and ln["event"] == "rejected" for ln in ls))
        assert worker.stop() == 0
    shown = subprocess.run([str(ROOT / "bin" / "doclog_today"), "canary"], env=env,
                           cwd=tmp_path, capture_output=True, text=True, check=False,
                           timeout=60)
    assert shown.returncode == 0, shown.stderr
    assert "rejected" in shown.stdout
    assert "\x1b" not in shown.stdout and "\u202e" not in shown.stdout
    assert "\x00" not in shown.stdout and "\\x1b[31m" in shown.stdout
