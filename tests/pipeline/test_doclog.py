"""Doclog lines and files: bounded valid JSON, the day in ATR_TZ, concurrent appends, I/O faults."""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import stat
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from pipeline import doclog
from pipeline.doclog import FIXED_KEYS, MAX_LINE_BYTES, DoclogWriter, MessageScope, render_line
from pipeline.redact import Redactor

SEOUL = ZoneInfo("Asia/Seoul")
WRITER_LOG = "pipeline.doclog.writer"


def read_lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_bytes().splitlines()]


def stream_lines(root: Path, stream: str) -> list[dict[str, Any]]:
    return [line for path in sorted((root / stream).glob("*.ndjson")) for line in read_lines(path)]


def at(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()


# --- render_line -------------------------------------------------------------------------

def test_a_line_is_one_json_object_with_korean_kept_readable() -> None:
    line = render_line({"event": "seo.proposed", "tags": ["서울", "맛집"], "n": 1.5})
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    assert "서울".encode() in line
    assert json.loads(line) == {"event": "seo.proposed", "tags": ["서울", "맛집"], "n": 1.5}


def test_values_json_cannot_hold_become_their_repr() -> None:
    class Odd:
        def __repr__(self) -> str:
            return "<Odd 7>"

    class Broken:
        def __repr__(self) -> str:
            raise RuntimeError("no repr")

    line = json.loads(render_line({
        "obj": Odd(), "raw": b"\x00\xff", "nan": float("nan"), "path": Path("/tmp/x"),
        "tuple": (1, "a"), 3: "int key", "broken": Broken(), "lone": "\udcff",
    }))
    assert line["obj"] == "<Odd 7>"
    assert line["raw"] == "b'\\x00\\xff'"
    assert line["nan"] == "nan"
    assert line["path"] == "PosixPath('/tmp/x')"
    assert line["tuple"] == [1, "a"]
    assert line["3"] == "int key"
    assert line["broken"] == "<Broken with a failing repr>"
    assert line["lone"] == "?"


def test_a_huge_record_is_cut_to_the_bound_and_stays_valid_json() -> None:
    record = {"ts": "2026-11-26T10:00:00.000+09:00", "event": "failed", "message_id": "m-1",
              "error": "RuntimeError: " + "가" * 50_000, "items": list(range(10_000))}
    line = render_line(record)
    assert len(line) <= MAX_LINE_BYTES
    parsed = json.loads(line)
    assert parsed["truncated"] is True
    assert parsed["message_id"] == "m-1"
    assert parsed["error"].startswith("RuntimeError: 가가") and parsed["error"].endswith("…")
    assert parsed["items"][-1] == "…"


def test_a_record_too_wide_to_cut_keeps_only_its_fixed_keys() -> None:
    record = {"event": "ga4.scored", "message_id": "m-2", "attempt": 1,
              **{f"field_{i:05d}": "x" * 60 for i in range(5000)}}
    parsed = json.loads(render_line(record))
    assert parsed == {"event": "ga4.scored", "message_id": "m-2", "attempt": 1,
                      "truncated": True}


def test_redaction_happens_before_truncation() -> None:
    secret = "sk-" + "A" * 40
    record = {"event": "failed", "error": "x" * 5000 + secret[:10] + secret[10:]}
    line = render_line(record, redactor=Redactor([secret]), limit=2048)
    assert b"AAAAAAAAAA" not in line
    assert json.loads(line)["truncated"] is True


# --- DoclogWriter: files, days, fixed keys -----------------------------------------------

def test_nothing_is_created_until_the_first_line(tmp_path: Path) -> None:
    DoclogWriter(tmp_path / "logs", SEOUL)
    assert not (tmp_path / "logs").exists()


def test_the_day_and_offset_come_from_the_zone_and_midnight_starts_a_new_file(
        tmp_path: Path) -> None:
    now = [at("2026-11-26T14:59:59.123+00:00")]
    writer = DoclogWriter(tmp_path, SEOUL, clock=lambda: now[0])
    assert writer.write("seo_automation", {"event": "started", "message_id": "m-1"})
    now[0] = at("2026-11-26T15:00:00.500+00:00")
    assert writer.write("seo_automation", {"event": "succeeded", "message_id": "m-1",
                                           "duration_ms": 1377.0})
    (before,) = read_lines(tmp_path / "seo_automation" / "2026-11-26.ndjson")
    (after,) = read_lines(tmp_path / "seo_automation" / "2026-11-27.ndjson")
    assert before["ts"] == "2026-11-26T23:59:59.123+09:00"
    assert after["ts"] == "2026-11-27T00:00:00.500+09:00"
    assert list(before) == list(FIXED_KEYS)
    assert list(after) == [*FIXED_KEYS, "duration_ms"]
    assert before["host"] and before["pid"] == os.getpid()
    assert before["actor"] is None and before["attempt"] is None
    mode = stat.S_IMODE((tmp_path / "seo_automation" / "2026-11-27.ndjson").stat().st_mode)
    assert mode == 0o640
    # Yesterday's descriptor was closed when the day changed.
    open_files = {os.path.realpath(f"/proc/self/fd/{fd}") for fd in os.listdir("/proc/self/fd")}
    assert str(tmp_path / "seo_automation" / "2026-11-26.ndjson") not in open_files
    assert str(tmp_path / "seo_automation" / "2026-11-27.ndjson") in open_files
    writer.close()


def test_the_writer_fills_ts_stream_host_and_pid_over_the_record(tmp_path: Path) -> None:
    writer = DoclogWriter(tmp_path, ZoneInfo("UTC"),
                          clock=lambda: datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC).timestamp())
    writer.write("misc", {"event": "started", "ts": "forged", "stream": "other", "pid": 1,
                          "post_id": 42})
    (line,) = stream_lines(tmp_path, "misc")
    assert line["ts"] == "2026-01-02T03:04:05.000+00:00"
    assert line["stream"] == "misc"
    assert line["pid"] == os.getpid()
    assert line["post_id"] == 42
    writer.close()


@pytest.mark.parametrize("stream", ["", "Seo", "../etc", "a/b", "x" * 65, "seo-automation"])
def test_a_bad_stream_name_is_refused(tmp_path: Path, stream: str) -> None:
    with pytest.raises(ValueError, match="doclog stream"):
        DoclogWriter(tmp_path, SEOUL).write(stream, {"event": "started"})


@pytest.mark.parametrize("event", ["", "Started", "seo..proposed", "seo proposed", None])
def test_a_bad_event_name_is_refused(tmp_path: Path, event: object) -> None:
    with pytest.raises(ValueError, match="doclog event"):
        DoclogWriter(tmp_path, SEOUL).write("misc", {"event": event})


def test_secrets_are_scrubbed_from_every_line(tmp_path: Path) -> None:
    writer = DoclogWriter(tmp_path, SEOUL, Redactor(["bridge-secret-99"]))
    writer.write("misc", {"event": "dead", "error": "401 with bridge-secret-99",
                          "kwargs": {"password": "hunter2", "url": "https://u:pw1@x.test/"}})
    data = (next((tmp_path / "misc").glob("*.ndjson"))).read_bytes()
    for leak in (b"bridge-secret-99", b"hunter2", b"pw1@"):
        assert leak not in data
    writer.close()


# --- Concurrency: 2 processes x 8 threads ------------------------------------------------

PROCESSES, THREADS, PER_THREAD = 2, 8, 400


def _hammer(writer: DoclogWriter, proc: int) -> None:
    def run(thread: int) -> None:
        for seq in range(PER_THREAD):
            # Every 10th line is ~12 KB, well past PIPE_BUF, to prove no tearing.
            pad = "가" * (4000 if seq % 10 == 0 else seq % 97)
            writer.write("load", {"event": "load.line", "proc": proc, "thread": thread,
                                  "seq": seq, "pad": pad})

    threads = [threading.Thread(target=run, args=(t,)) for t in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    raise SystemExit(0 if writer.errors == 0 else 3)


def test_processes_and_threads_at_full_speed_never_tear_or_lose_a_line(tmp_path: Path) -> None:
    writer = DoclogWriter(tmp_path, SEOUL)
    # The parent opens the file first: the children inherit the cached
    # descriptor and must drop it after fork.
    assert writer.write("load", {"event": "load.begin"})
    context = multiprocessing.get_context("fork")
    children = [context.Process(target=_hammer, args=(writer, p)) for p in range(PROCESSES)]
    for child in children:
        child.start()
    for child in children:
        child.join(timeout=120)
    assert [child.exitcode for child in children] == [0] * PROCESSES
    writer.close()

    lines = stream_lines(tmp_path, "load")  # json.loads on every line: none is torn
    (begin,) = [line for line in lines if line["event"] == "load.begin"]
    body = [line for line in lines if line["event"] == "load.line"]
    assert len(lines) == 1 + PROCESSES * THREADS * PER_THREAD
    assert len({(line["proc"], line["thread"], line["seq"]) for line in body}) == len(body)
    assert len({line["pid"] for line in body}) == PROCESSES
    assert begin["pid"] not in {line["pid"] for line in body}


# --- I/O faults: counted, logged once, never raised -------------------------------------

def test_a_full_disk_is_counted_and_warned_once_per_run_of_failures(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger=WRITER_LOG)
    now = at("2026-11-26T01:00:00+00:00")
    writer = DoclogWriter(tmp_path, SEOUL, clock=lambda: now)
    day_file = tmp_path / "misc" / "2026-11-26.ndjson"
    day_file.parent.mkdir()
    day_file.symlink_to("/dev/full")  # every write answers ENOSPC, as a full disk does

    assert [writer.write("misc", {"event": "started"}) for _ in range(5)] == [False] * 5
    assert writer.errors == 5
    assert writer.last_error is not None and "No space left on device" in writer.last_error
    (warning,) = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert "cannot write" in warning.getMessage() and str(day_file) in warning.getMessage()

    day_file.unlink()  # space again
    assert writer.write("misc", {"event": "succeeded"})
    (recovered,) = [r for r in caplog.records if r.levelno == logging.INFO]
    assert "work again after 5 lost line(s)" in recovered.getMessage()
    (line,) = read_lines(day_file)
    assert line["event"] == "succeeded"

    writer.close()
    day_file.unlink()
    day_file.symlink_to("/dev/full")
    assert not writer.write("misc", {"event": "started"})  # a new run warns again
    assert len([r for r in caplog.records if r.levelno == logging.WARNING]) == 2
    assert writer.errors == 6


def test_a_root_that_cannot_be_a_directory_is_counted_not_raised(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    # Tests run as root, where chmod does not stop writes: a regular file in
    # the path makes mkdir fail with NotADirectoryError instead.
    (tmp_path / "afile").write_text("not a directory")
    writer = DoclogWriter(tmp_path / "afile" / "logs", SEOUL)
    assert not writer.write("misc", {"event": "started"})
    assert not writer.write("other", {"event": "started"})
    assert writer.errors == 2
    assert "Not a directory" in (writer.last_error or "")
    (warning,) = [r for r in caplog.records if r.name == WRITER_LOG]
    assert warning.levelno == logging.WARNING


# --- emit: domain events from inside a message --------------------------------------------

def test_emit_fills_the_fixed_keys_from_the_bound_message(tmp_path: Path) -> None:
    writer = DoclogWriter(tmp_path, SEOUL)
    fields = {"message_id": "m-9", "actor": "seo_automation", "queue": "seo",
              "group": "worker1", "attempt": 2}
    doclog.bind_message(MessageScope(writer, "seo_automation", fields))
    try:
        assert doclog.emit("seo.proposed", post_id=42, tags=["서울", "맛집"])
    finally:
        doclog.bind_message(None)
    (line,) = stream_lines(tmp_path, "seo_automation")
    assert {k: line[k] for k in fields} == fields
    assert line["event"] == "seo.proposed"
    assert line["tags"] == ["서울", "맛집"]
    writer.close()


def test_emit_outside_a_message_writes_nothing() -> None:
    assert doclog.current_scope() is None
    assert doclog.emit("seo.proposed", post_id=1) is False


def test_emit_never_raises_on_misuse(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    writer = DoclogWriter(tmp_path, SEOUL)
    doclog.bind_message(MessageScope(writer, "misc", {"message_id": "m-1"}))
    try:
        assert doclog.emit("seo.proposed", attempt=3) is False
        assert doclog.emit("Not An Event") is False
    finally:
        doclog.bind_message(None)
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 2 and all(r.exc_info for r in errors)
    assert "attempt are fixed keys" in str(errors[0].exc_info[1])  # type: ignore[index]
    assert not (tmp_path / "misc").exists()


# --- error_text ---------------------------------------------------------------------------

def test_error_text_names_the_class_and_is_bounded() -> None:
    class Unprintable(Exception):
        def __str__(self) -> str:
            raise RuntimeError("no str")

    assert doclog.error_text(ValueError("post 42 does not exist")) == \
        "ValueError: post 42 does not exist"
    assert doclog.error_text(TimeoutError()) == "TimeoutError"
    assert doclog.error_text(Unprintable()).startswith("Unprintable: (the exception's text")
    long = doclog.error_text(RuntimeError("x" * 10_000))
    assert len(long) <= 2001 and long.endswith("…")
