"""The real doclog_today / doclog_tail commands: what an operator sees, and exit codes.

They run as ``python -m ops.doclog_cli today|tail`` in subprocesses, with
REDIS_URL pointing nowhere: reading the evidence must not need Redis. ATR_TZ
is a zone where it is about noon, so no run crosses its midnight by accident;
the tests that cross midnight name tomorrow's file themselves.
"""

from __future__ import annotations

import gzip
import json
import os
import pty
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import IO
from zoneinfo import ZoneInfo

import pytest

from devkit.redis_server import free_port
from tests.doclog_helpers import Clock, Log, rotate_day
from tests.helpers import assert_one_clear_line

REPO = Path(__file__).resolve().parents[2]
WAIT_S = 30.0
MESSAGE_ID = "3f2a9c1e-7d7b-4c1a-9d55-0123456789ab"


def noon_zone() -> str:
    """An ``Etc/GMT`` zone where it is between 11:30 and 12:30 now."""
    offset = (12 - datetime.now(UTC).hour + 12) % 24 - 12  # hours east of UTC, -12..11
    return "Etc/GMT" + (f"{-offset:+d}" if offset else "")  # POSIX: Etc/GMT-9 is UTC+9


@pytest.fixture
def env(clean_env: dict[str, str]) -> dict[str, str]:
    return {**clean_env, "ATR_TZ": noon_zone(),
            "REDIS_URL": f"redis://127.0.0.1:{free_port()}/0"}


@pytest.fixture
def root(env: dict[str, str]) -> Path:
    return Path(env["ATR_DOCLOG_ROOT"])


@pytest.fixture
def log(root: Path, env: dict[str, str]) -> Iterator[Log]:
    writer = Log(root, ZoneInfo(env["ATR_TZ"]))
    yield writer
    writer.close()


def doclog(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "ops.doclog_cli", *args], env=env, cwd=cwd,
                          capture_output=True, timeout=60, check=False)


def error_line(result: subprocess.CompletedProcess[bytes]) -> str:
    assert result.stdout == b""
    return assert_one_clear_line(result.stderr.decode())


def clock_of(line: bytes) -> str:
    """``HH:MM:SS.mmm`` of a stored line's ts (written in the zone the command reads in)."""
    return str(json.loads(line)["ts"])[11:23]


def write_message(log: Log) -> list[bytes]:
    """A message retried once, then successful, with a domain event: the lines as stored."""
    return [
        log.write("ping_seo", "started", MESSAGE_ID, kwargs={"token": "t1"}),
        log.write("ping_seo", "failed", MESSAGE_ID, duration_ms=1500.0,
                  error="TransientError: upstream 503\n  (retry later)"),
        log.write("ping_seo", "seo.proposed", MESSAGE_ID, attempt=2, post_id=42,
                  tags=["서울", "맛집"], title="여름 맛집"),
        log.write("ping_seo", "succeeded", MESSAGE_ID, attempt=2, duration_ms=12.3),
    ]


# --- today -------------------------------------------------------------------------------

def test_today_prints_one_readable_line_per_record(log: Log, env: dict[str, str],
                                                   tmp_path: Path) -> None:
    stored = write_message(log)
    result = doclog("today", "ping_seo", env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stderr == b""
    started, failed, proposed, succeeded = result.stdout.decode().splitlines()
    assert started.split() == [clock_of(stored[0]), "started", "ping_seo", "3f2a9c1e", "#1"]
    assert failed.split(maxsplit=6) == [clock_of(stored[1]), "failed", "ping_seo", "3f2a9c1e",
                                        "#1", "1.50s", "TransientError: upstream 503 (retry later)"]
    assert proposed.split(maxsplit=5) == [clock_of(stored[2]), "seo.proposed", "ping_seo",
                                          "3f2a9c1e", "#2",
                                          'post_id=42 tags=["서울","맛집"] title="여름 맛집"']
    assert succeeded.split() == [clock_of(stored[3]), "succeeded", "ping_seo", "3f2a9c1e",
                                 "#2", "12.3ms"]
    assert MESSAGE_ID not in result.stdout.decode()
    assert b"\x1b[" not in result.stdout  # not a terminal: no colour


def test_today_json_prints_the_stored_bytes(log: Log, env: dict[str, str],
                                            tmp_path: Path) -> None:
    write_message(log)
    result = doclog("today", "ping_seo", "--json", env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == log.path("ping_seo").read_bytes()


def test_reading_needs_no_redis_url_at_all(log: Log, env: dict[str, str],
                                           tmp_path: Path) -> None:
    write_message(log)
    del env["REDIS_URL"]
    result = doclog("today", "ping_seo", "--json", env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == log.path("ping_seo").read_bytes()


def test_a_gz_day_is_read_with_date(root: Path, env: dict[str, str], tmp_path: Path) -> None:
    clock = Clock("2025-03-14T10:00:00.250+09:00")
    past = Log(root, ZoneInfo("Asia/Seoul"), clock)
    stored = write_message(past)
    rotate_day(root / "ping_seo" / "2025-03-14.ndjson")
    result = doclog("today", "ping_seo", "--date", "2025-03-14", "--json",
                    env={**env, "ATR_TZ": "Asia/Seoul"}, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == b"".join(stored)
    assert gzip.decompress((root / "ping_seo" / "2025-03-14.ndjson.gz").read_bytes()) \
        == result.stdout
    readable = doclog("today", "ping_seo", "--date", "2025-03-14",
                      env={**env, "ATR_TZ": "Asia/Seoul"}, cwd=tmp_path)
    lines = readable.stdout.decode().splitlines()
    assert [ln.split()[:3] for ln in lines] == [
        ["2025-03-14", "10:00:00.250", event] for event in
        ("started", "failed", "seo.proposed", "succeeded")]


def test_a_torn_line_is_shown_and_kept_out_of_json(log: Log, env: dict[str, str],
                                                   tmp_path: Path) -> None:
    first = log.write("ping_seo", "started", MESSAGE_ID)
    with log.path("ping_seo").open("ab") as file:
        file.write(first[:30] + b"\n")
    last = log.write("ping_seo", "succeeded", MESSAGE_ID, duration_ms=1.0)
    readable = doclog("today", "ping_seo", env=env, cwd=tmp_path)
    assert readable.returncode == 0
    torn = readable.stdout.decode().splitlines()[1]
    assert torn.startswith("??:??:??.???  unreadable    line 2 of ")
    assert "not valid JSON" in torn
    result = doclog("today", "ping_seo", "--json", env=env, cwd=tmp_path)
    assert result.returncode == 0
    assert result.stdout == first + last
    assert "skipped an unreadable line at line 2 of" in assert_one_clear_line(
        result.stderr.decode())


def test_an_unknown_stream_lists_the_streams(log: Log, env: dict[str, str], root: Path,
                                             tmp_path: Path) -> None:
    log.write("ping_seo", "started", MESSAGE_ID)
    log.write("ping_ga4", "started", MESSAGE_ID)
    result = doclog("today", "ping_sep", env=env, cwd=tmp_path)
    assert result.returncode == 2
    assert error_line(result) == (f"doclog_today: no stream 'ping_sep' under {root} "
                                  "(did you mean ping_seo?); streams: ping_ga4, ping_seo")


def test_no_streams_yet_says_where_it_looked(env: dict[str, str], root: Path,
                                             tmp_path: Path) -> None:
    result = doclog("today", "ping_seo", env=env, cwd=tmp_path)
    assert result.returncode == 2
    line = error_line(result)
    assert line.startswith(f"doclog_today: no doclog streams exist yet under {root}; ")
    assert "ATR_DOCLOG_ROOT decides where" in line


def test_a_day_without_a_file_lists_the_recent_days(root: Path, env: dict[str, str],
                                                    tmp_path: Path) -> None:
    clock = Clock("2025-03-10T10:00:00+09:00")
    past = Log(root, ZoneInfo("Asia/Seoul"), clock)
    for day in range(10, 17):
        clock.set(f"2025-03-{day}T10:00:00+09:00")
        past.write("ping_seo", "started", MESSAGE_ID)
    for day in range(10, 14):
        rotate_day(root / "ping_seo" / f"2025-03-{day}.ndjson")
    result = doclog("today", "ping_seo", "--date", "2025-03-01", env=env, cwd=tmp_path)
    assert result.returncode == 1
    assert error_line(result) == (
        "doclog_today: ping_seo has no lines on 2025-03-01; days with lines: 2025-03-16, "
        "2025-03-15, 2025-03-14, 2025-03-13, 2025-03-12 and 2 earlier, back to 2025-03-10")
    today = doclog("today", "ping_seo", env=env, cwd=tmp_path)
    assert today.returncode == 1
    now = datetime.now(ZoneInfo(env["ATR_TZ"]))
    assert error_line(today).startswith(
        f"doclog_today: ping_seo has no lines today ({now.date()}, {env['ATR_TZ']}); "
        "days with lines: 2025-03-16, ")


def test_bad_settings_are_one_line(env: dict[str, str], tmp_path: Path) -> None:
    result = doclog("today", "ping_seo", env={**env, "ATR_TZ": "Mars/Olympus"}, cwd=tmp_path)
    assert result.returncode == 2
    assert "ATR_TZ='Mars/Olympus' is invalid" in error_line(result)


def test_events_are_coloured_on_a_terminal_unless_no_color(log: Log, env: dict[str, str],
                                                           tmp_path: Path) -> None:
    write_message(log)
    log.write("ping_seo", "dead", MESSAGE_ID, attempt=3, error="RuntimeError: boom")
    shown = on_a_terminal(["today", "ping_seo"], env, tmp_path)
    assert "\x1b[33mfailed\x1b[0m" in shown
    assert "\x1b[36mseo.proposed\x1b[0m" in shown
    assert "\x1b[32msucceeded\x1b[0m" in shown
    assert "\x1b[31mdead\x1b[0m" in shown
    assert "\x1b[" not in on_a_terminal(["today", "ping_seo"], {**env, "NO_COLOR": "1"},
                                         tmp_path)


def on_a_terminal(args: list[str], env: dict[str, str], cwd: Path) -> str:
    leader, follower = pty.openpty()
    with subprocess.Popen([sys.executable, "-m", "ops.doclog_cli", *args], env=env, cwd=cwd,
                          stdout=follower, stderr=subprocess.PIPE) as proc:
        os.close(follower)
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            chunks.append(chunk)
        assert proc.wait(WAIT_S) == 0
    os.close(leader)
    return b"".join(chunks).decode()


# --- tail --------------------------------------------------------------------------------

def test_tail_prints_the_last_lines_of_streams_merged_by_time(
        root: Path, env: dict[str, str], tmp_path: Path) -> None:
    clock = Clock("2025-03-16T10:00:00+09:00")
    past = Log(root, ZoneInfo(env["ATR_TZ"]), clock)
    stored = []
    for second, stream in enumerate(["alpha", "beta", "alpha", "beta", "gamma", "alpha"]):
        clock.set(f"2025-03-16T10:00:0{second}+09:00")
        stored.append(past.write(stream, "started", f"m{second}"))
    result = doclog("tail", "-n", "3", "alpha", "beta", "--json", env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines(keepends=True) == [stored[2], stored[3], stored[5]]
    every = doclog("tail", "-n", "4", env=env, cwd=tmp_path)
    assert [ln.split()[2:4] for ln in every.stdout.decode().splitlines()] == [
        ["alpha", "started"], ["beta", "started"], ["gamma", "started"], ["alpha", "started"]]
    default = doclog("tail", "alpha", "--json", env=env, cwd=tmp_path)
    assert default.stdout.splitlines(keepends=True) == [stored[0], stored[2], stored[5]]


def test_tail_of_an_unknown_stream_lists_the_streams(log: Log, env: dict[str, str],
                                                     tmp_path: Path) -> None:
    log.write("ping_seo", "started", MESSAGE_ID)
    result = doclog("tail", "-f", "ping_seo", "nope", env=env, cwd=tmp_path)
    assert result.returncode == 2
    assert error_line(result).endswith("streams: ping_seo")


class Tail:
    """``tail -f --json`` in a subprocess; its stdout lines land in a queue."""

    def __init__(self, args: list[str], env: dict[str, str], cwd: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "ops.doclog_cli", "tail", "-f", "--json", *args],
            env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.lines: queue.Queue[bytes] = queue.Queue()
        assert self.proc.stdout is not None
        threading.Thread(target=self._pump, args=(self.proc.stdout,), daemon=True).start()

    def _pump(self, stdout: IO[bytes]) -> None:
        for line in stdout:
            self.lines.put(line)

    def take(self, count: int) -> list[bytes]:
        taken = []
        for _ in range(count):
            try:
                taken.append(self.lines.get(timeout=WAIT_S))
            except queue.Empty:
                self.proc.kill()
                assert self.proc.stderr is not None
                pytest.fail(f"got {taken} of {count} lines; stderr: {self.proc.stderr.read()!r}")
        return taken

    def stop(self, sig: signal.Signals) -> tuple[int, bytes]:
        self.proc.send_signal(sig)
        _, stderr = self.proc.communicate(timeout=WAIT_S)
        return self.proc.returncode, stderr


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_tail_follow_goes_on_across_rotation_and_midnight_until_signalled(
        sig: signal.Signals, log: Log, root: Path, env: dict[str, str],
        tmp_path: Path) -> None:
    before = [log.write("ping_seo", "started", "m1"), log.write("ping_seo", "succeeded", "m1")]
    tail = Tail(["-n", "2", "ping_seo"], env, tmp_path)
    try:
        assert tail.take(2) == before  # printed once following has begun
        appended = log.write("ping_seo", "started", "m2")
        assert tail.take(1) == [appended]
        last_of_day = log.write("ping_seo", "succeeded", "m2")
        rotate_day(log.path("ping_seo"))  # the follower may or may not have read it yet
        tomorrow = Log(root, log.zone, clock=lambda: time.time() + 86400)
        next_day = [tomorrow.write("ping_seo", "started", "m3"),
                    tomorrow.write("ping_seo", "succeeded", "m3")]
        assert tail.take(3) == [last_of_day, *next_day]
    finally:
        code, stderr = tail.stop(sig)
    assert code == 0, stderr
    assert stderr == b""


def test_tail_follow_of_every_stream_shows_new_streams(log: Log, env: dict[str, str],
                                                       tmp_path: Path) -> None:
    first = log.write("ping_seo", "started", "m1")
    tail = Tail(["-n", "1"], env, tmp_path)
    try:
        assert tail.take(1) == [first]
        new = log.write("ping_ga4", "started", "g1")
        assert tail.take(1) == [new]
    finally:
        code, _ = tail.stop(signal.SIGTERM)
    assert code == 0


# --- bin/ wrappers -----------------------------------------------------------------------

@pytest.mark.parametrize("name", ["doclog_today", "doclog_tail"])
def test_wrapper_runs_the_console_script_of_its_checkout(name: str, log: Log,
                                                         env: dict[str, str],
                                                         tmp_path: Path) -> None:
    stored = log.write("ping_seo", "started", MESSAGE_ID)
    checkout = tmp_path / "checkout"
    (checkout / "bin").mkdir(parents=True)
    (checkout / ".venv" / "bin").mkdir(parents=True)
    shutil.copy2(REPO / "bin" / name, checkout / "bin" / name)
    command = name.removeprefix("doclog_")
    console = checkout / ".venv" / "bin" / name  # stands in for the console script
    console.write_text(f'#!/bin/sh\nexec {sys.executable} -m ops.doclog_cli {command} "$@"\n',
                       encoding="utf-8")
    console.chmod(0o755)
    link = tmp_path / name
    link.symlink_to(checkout / "bin" / name)
    args = ["ping_seo", "--json"] if command == "today" else ["-n", "1", "--json", "ping_seo"]
    result = subprocess.run([str(link), *args], env=env, cwd=tmp_path, capture_output=True,
                            timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout == stored
    missing = subprocess.run([str(link), "nope"], env=env, cwd=tmp_path, capture_output=True,
                             timeout=60, check=False)
    assert missing.returncode == 2
    assert "no stream 'nope'" in error_line(missing)
    help_text = subprocess.run([str(link), "--help"], env=env, cwd=tmp_path,
                               capture_output=True, text=True, timeout=60, check=False)
    assert help_text.returncode == 0
    assert help_text.stdout.startswith(f"usage: {name}")


@pytest.mark.parametrize("name", ["doclog_today", "doclog_tail"])
def test_wrapper_without_an_installed_checkout_says_what_to_do(name: str, tmp_path: Path,
                                                               env: dict[str, str]) -> None:
    (tmp_path / "bin").mkdir()
    shutil.copy2(REPO / "bin" / name, tmp_path / "bin" / name)
    result = subprocess.run([str(tmp_path / "bin" / name), "ping_seo"], env=env,
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 2
    assert assert_one_clear_line(result.stderr) == (
        f"{name}: {tmp_path}/.venv/bin/{name} is missing; install the project first "
        "(./dev setup)")
    usage = subprocess.run([str(tmp_path / "bin" / name), "--help"], env=env,
                           capture_output=True, text=True, timeout=60, check=False)
    assert usage.returncode == 0
    assert usage.stdout.startswith(name)
