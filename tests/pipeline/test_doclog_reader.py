"""Reading doclog files: streams, days, plain and .gz days, bad lines, the last N, following."""

from __future__ import annotations

import gzip
import json
import os
import queue
import threading
from collections.abc import Callable, Iterator
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from pipeline.doclog import (
    DoclogNotFoundError,
    Record,
    follow,
    last_records,
    list_days,
    list_streams,
    read_day,
)
from tests.doclog_helpers import Clock, Log, rotate_day

SEOUL = ZoneInfo("Asia/Seoul")
DAY = date(2025, 3, 16)
WAIT_S = 15.0


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "logs"


@pytest.fixture
def clock() -> Clock:
    return Clock("2025-03-16T10:00:00+09:00")


@pytest.fixture
def log(root: Path, clock: Clock) -> Iterator[Log]:
    writer = Log(root, SEOUL, clock)
    yield writer
    writer.close()


# --- streams and days --------------------------------------------------------------------

def test_streams_are_valid_directories_holding_days(root: Path, log: Log) -> None:
    log.write("ping_seo", "started", "m1")
    log.write("seo_propose", "started", "m2")
    (root / "ga4_scores").mkdir()
    (root / "ga4_scores" / "2025-03-16.csv").write_text("post,score\n", encoding="utf-8")
    (root / "Not-A-Stream").mkdir()
    (root / "Not-A-Stream" / "2025-03-16.ndjson").write_bytes(b"{}\n")
    (root / "empty").mkdir()
    (root / "notes.txt").write_text("x", encoding="utf-8")
    assert list_streams(root) == ["ping_seo", "seo_propose"]


def test_a_missing_root_has_no_streams(tmp_path: Path) -> None:
    assert list_streams(tmp_path / "nowhere") == []


def test_days_come_from_plain_and_gz_names_oldest_first(root: Path, log: Log, clock: Clock) -> None:
    for iso in ("2025-03-14T09:00:00+09:00", "2025-03-15T09:00:00+09:00",
                "2025-03-16T09:00:00+09:00"):
        clock.set(iso)
        log.write("ping_seo", "started", iso)
    rotate_day(root / "ping_seo" / "2025-03-14.ndjson")
    for junk in ("2026-13-45.ndjson", ".2025-03-15.ndjson.gz.99.tmp", "2025-03-13.csv",
                 "README"):
        (root / "ping_seo" / junk).write_bytes(b"")
    assert list_days(root, "ping_seo") == [date(2025, 3, 14), date(2025, 3, 15), DAY]


def test_a_stream_name_cannot_leave_the_root(root: Path) -> None:
    with pytest.raises(ValueError, match="must be 1-64 characters"):
        list_days(root, "../etc")


# --- reading a day -----------------------------------------------------------------------

def test_a_day_reads_back_every_line_with_its_stored_bytes(root: Path, log: Log) -> None:
    stored = [log.write("ping_seo", "started", "m1", kwargs={"title": "서울 맛집"}),
              log.write("ping_seo", "succeeded", "m1", duration_ms=12.5)]
    records = list(read_day(root, "ping_seo", DAY))
    assert [r.raw for r in records] == stored
    assert [r.fields["event"] for r in records if r.fields] == ["started", "succeeded"]
    assert records[0].fields is not None and records[0].fields["kwargs"]["title"] == "서울 맛집"
    assert [r.line for r in records] == [1, 2]
    assert records[1].ts == datetime.fromisoformat("2025-03-16T10:00:00.000+09:00")


def test_a_gz_day_reads_the_same_records(root: Path, log: Log) -> None:
    log.write("ping_seo", "started", "m1")
    log.write("ping_seo", "succeeded", "m1", duration_ms=3.0)
    plain = list(read_day(root, "ping_seo", DAY))
    rotate_day(root / "ping_seo" / "2025-03-16.ndjson")
    packed = list(read_day(root, "ping_seo", DAY))
    assert [r.raw for r in packed] == [r.raw for r in plain]
    assert packed[0].source.name == "2025-03-16.ndjson.gz"


def test_the_plain_file_wins_while_rotation_is_writing_the_gz(root: Path, log: Log) -> None:
    stored = log.write("ping_seo", "started", "m1")
    (root / "ping_seo" / "2025-03-16.ndjson.gz").write_bytes(gzip.compress(stored)[:10])
    (record,) = read_day(root, "ping_seo", DAY)
    assert record.ok and record.raw == stored


def test_a_torn_line_is_a_bad_record_and_reading_goes_on(root: Path, log: Log) -> None:
    first = log.write("ping_seo", "started", "m1")
    path = root / "ping_seo" / "2025-03-16.ndjson"
    with path.open("ab") as file:  # a disk-full short write, as the writer ends it
        file.write(first[:25] + b"\n")
        file.write(b"\n[1, 2]\n")
    last = log.write("ping_seo", "succeeded", "m1")
    records = list(read_day(root, "ping_seo", DAY))
    assert [r.ok for r in records] == [True, False, False, True]
    torn, array = records[1], records[2]
    assert torn.raw == first[:25] + b"\n" and torn.line == 2
    assert torn.problem is not None and torn.problem.startswith("not valid JSON")
    assert array.problem == "a JSON list, not an object" and array.line == 4
    assert records[3].raw == last


def test_a_gz_that_ends_early_gives_its_lines_then_one_bad_record(
        root: Path, log: Log) -> None:
    stored = [log.write("ping_seo", "started", f"m{i}", pad="x" * 200) for i in range(50)]
    path = root / "ping_seo" / "2025-03-16.ndjson"
    path.unlink()
    whole = gzip.compress(b"".join(stored))
    (root / "ping_seo" / "2025-03-16.ndjson.gz").write_bytes(whole[:-20])
    records = list(read_day(root, "ping_seo", DAY))
    *good, bad = records
    assert all(r.ok for r in good) and [r.raw for r in good] == stored[:len(good)]
    assert bad.problem is not None and "damaged" in bad.problem


def test_a_day_without_a_file_is_an_error_naming_it(root: Path, log: Log) -> None:
    log.write("ping_seo", "started", "m1")
    with pytest.raises(DoclogNotFoundError, match="ping_seo has no doclog file for 2025-03-15"):
        read_day(root, "ping_seo", date(2025, 3, 15))


# --- the last N --------------------------------------------------------------------------

def test_last_records_merge_streams_by_time_across_days(root: Path, log: Log, clock: Clock) -> None:
    clock.set("2025-03-15T23:59:58+09:00")
    log.write("alpha", "started", "a1")
    clock.set("2025-03-15T23:59:59+09:00")
    log.write("beta", "started", "b1")
    clock.set("2025-03-16T00:00:01+09:00")
    log.write("alpha", "succeeded", "a1")
    clock.set("2025-03-16T00:00:02+09:00")
    log.write("beta", "succeeded", "b1")
    rotate_day(root / "alpha" / "2025-03-15.ndjson")
    records = last_records(root, ["alpha", "beta"], 3)
    assert [(r.stream, r.fields["event"]) for r in records if r.fields] == [
        ("beta", "started"), ("alpha", "succeeded"), ("beta", "succeeded")]
    assert [r.fields["message_id"] for r in last_records(root, ["alpha"], 10)
            if r.fields] == ["a1", "a1"]


def test_last_records_of_a_big_day_are_its_last_lines(root: Path, log: Log) -> None:
    stored = [log.write("ping_seo", "started", f"m{i}", pad="x" * 500)
              for i in range(400)]
    assert [r.raw for r in last_records(root, ["ping_seo"], 150)] == stored[-150:]


# --- following ---------------------------------------------------------------------------

SYNC = "sync"


class Follower:
    """``follow`` in a thread, its records in a queue; stream ``sync`` is followed first.

    The backlog (at least one record) is taken at once: once it has arrived,
    following has begun, and every later line must come through.
    """

    def __init__(self, root: Path, streams: list[str] | None, backlog: int = 1) -> None:
        assert backlog >= 1
        self.records: queue.Queue[Record] = queue.Queue()
        self.stop = threading.Event()
        watched = None if streams is None else [SYNC, *streams]
        self._thread = threading.Thread(target=self._run, args=(root, watched, backlog),
                                        daemon=True)
        self._thread.start()
        self.backlog = self.take(backlog)

    def _run(self, root: Path, streams: list[str] | None, backlog: int) -> None:
        for record in follow(root, streams, SEOUL, self.stop.is_set, backlog=backlog,
                             poll_s=0.01, grace_s=0):
            self.records.put(record)

    def take(self, count: int) -> list[Record]:
        taken = []
        for _ in range(count):
            try:
                taken.append(self.records.get(timeout=WAIT_S))
            except queue.Empty:
                pytest.fail(f"only {len(taken)} of {count} records arrived: {taken}")
        return taken

    def sync(self, log: Log, clock: Clock) -> list[Record]:
        """Every record yielded for what was written so far (a marker line comes last)."""
        clock.now += 0.001  # the marker sorts after anything already written
        marker = log.write(SYNC, "started", "marker")
        taken = []
        while not (taken and taken[-1].raw == marker):
            taken += self.take(1)
        return taken[:-1]

    def close(self) -> None:
        self.stop.set()
        self._thread.join(WAIT_S)
        assert not self._thread.is_alive()


def raws(records: list[Record]) -> list[bytes]:
    return [r.raw for r in records]


@pytest.fixture
def follower_of(root: Path) -> Iterator[Callable[..., Follower]]:
    made: list[Follower] = []

    def start(streams: list[str] | None, backlog: int = 1) -> Follower:
        made.append(Follower(root, streams, backlog))
        return made[-1]

    yield start
    for follower in made:
        follower.close()


def test_follow_starts_at_the_end_and_yields_what_is_appended(
        log: Log, clock: Clock, follower_of: Callable[..., Follower]) -> None:
    old = log.write("ping_seo", "started", "m1")
    follower = follower_of(["ping_seo"])
    assert raws(follower.backlog) == [old]
    assert follower.sync(log, clock) == []
    new = [log.write("ping_seo", "succeeded", "m1"), log.write("ping_seo", "started", "m2")]
    assert raws(follower.sync(log, clock)) == new


def test_follow_backlog_comes_first_then_new_lines_without_gap_or_repeat(
        log: Log, clock: Clock, follower_of: Callable[..., Follower]) -> None:
    written = [log.write("ping_seo", "started", f"m{i}") for i in range(3)]
    more = threading.Thread(target=lambda: written.extend(
        log.write("ping_seo", "started", f"m{i}") for i in range(3, 300)))
    more.start()  # racing with the start: each line is in the backlog or followed, once
    follower = follower_of(["ping_seo"], backlog=2)
    more.join()
    seen = raws(follower.backlog + follower.sync(log, clock))
    assert len(seen) >= 2
    assert seen == written[-len(seen):]


def test_follow_backlog_reaches_into_earlier_days(
        root: Path, log: Log, clock: Clock, follower_of: Callable[..., Follower]) -> None:
    clock.set("2025-03-15T12:00:00+09:00")
    yesterday = log.write("ping_seo", "started", "m1")
    rotate_day(root / "ping_seo" / "2025-03-15.ndjson")
    clock.set("2025-03-16T12:00:00+09:00")
    today = log.write("ping_seo", "succeeded", "m1")
    follower = follower_of(["ping_seo"], backlog=2)
    assert raws(follower.backlog) == [yesterday, today]
    assert follower.sync(log, clock) == []


def test_follow_holds_a_partial_line_until_its_end_arrives(
        root: Path, log: Log, clock: Clock, follower_of: Callable[..., Follower]) -> None:
    log.write("ping_seo", "started", "m1")
    follower = follower_of(["ping_seo"])
    line = json.dumps({"ts": "2025-03-16T10:00:00.000+09:00", "event": "started"}).encode()
    fd = os.open(root / "ping_seo" / "2025-03-16.ndjson", os.O_WRONLY | os.O_APPEND)
    try:
        os.write(fd, line[:10])
        assert follower.sync(log, clock) == []  # the first half has been read by now
        os.write(fd, line[10:] + b"\n")
    finally:
        os.close(fd)
    (record,) = follower.sync(log, clock)
    assert record.ok and record.raw == line + b"\n"


def test_follow_crosses_midnight_and_survives_rotation(
        root: Path, log: Log, clock: Clock, follower_of: Callable[..., Follower]) -> None:
    log.write("ping_seo", "started", "m1")
    follower = follower_of(["ping_seo"])
    clock.set("2025-03-16T23:59:59.900+09:00")
    last_of_day = log.write("ping_seo", "succeeded", "m1")
    rotate_day(root / "ping_seo" / "2025-03-16.ndjson")  # maybe before the follower read it
    clock.set("2025-03-17T00:00:00.100+09:00")
    next_day = [log.write("ping_seo", "started", "m2"), log.write("ping_seo", "succeeded", "m2")]
    assert raws(follower.sync(log, clock)) == [last_of_day, *next_day]
    later = log.write("ping_seo", "started", "m3")
    assert raws(follower.sync(log, clock)) == [later]


def test_follow_of_every_stream_picks_up_a_new_stream(
        log: Log, follower_of: Callable[..., Follower]) -> None:
    log.write("ping_seo", "started", "m1")
    follower = follower_of(None)
    first = [log.write("brand_new", "started", "n1"), log.write("brand_new", "succeeded", "n1")]
    assert raws(follower.take(2)) == first


def test_follow_starts_over_when_a_file_is_truncated_in_place(
        root: Path, log: Log, clock: Clock, follower_of: Callable[..., Follower]) -> None:
    log.write("ping_seo", "started", "m1")
    log.write("ping_seo", "succeeded", "m1")
    follower = follower_of(["ping_seo"], backlog=2)
    os.truncate(root / "ping_seo" / "2025-03-16.ndjson", 0)
    again = log.write("ping_seo", "started", "m2")
    assert raws(follower.sync(log, clock)) == [again]


def test_follow_yields_a_torn_line_as_a_bad_record(
        root: Path, log: Log, clock: Clock, follower_of: Callable[..., Follower]) -> None:
    log.write("ping_seo", "started", "m1")
    follower = follower_of(["ping_seo"])
    with (root / "ping_seo" / "2025-03-16.ndjson").open("ab") as file:
        file.write(b'{"ts": "2025-03-1\n')
    after = log.write("ping_seo", "succeeded", "m1")
    bad, good = follower.sync(log, clock)
    assert not bad.ok and bad.raw == b'{"ts": "2025-03-1\n'
    assert good.raw == after
