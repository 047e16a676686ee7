"""Follow doclog streams as they grow, across midnight and through rotation.

:func:`follow` polls (stdlib only, no inotify): every ``poll_s`` it lists the
stream directories and reads what was appended to the files it has open. A
day file that appears after the start — a new day, a new stream — is read
from its first line, so a writer's day (its clock, its ``ATR_TZ``) never has
to agree with the follower's. A file stays open after a newer one appears,
or after rotation renames, compresses or deletes it: what it holds is drained
before it is closed, once it has been quiet for ``grace_s``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Final
from zoneinfo import ZoneInfo

from pipeline.doclog.reader import (
    Record,
    check_stream,
    day_files,
    day_path,
    list_streams,
    merge_records,
    parse_line,
    stream_tail,
    tail_lines,
)
from pipeline.doclog.render import MAX_LINE_BYTES

__all__ = ["follow"]

#: Most bytes read from one file per poll, so a big new file cannot stall the others.
_READ_PER_POLL: Final = 1024 * 1024
#: A line longer than this without a newline is given up as unreadable.
_MAX_PENDING: Final = 4 * MAX_LINE_BYTES


def follow(root: Path, streams: Sequence[str] | None, zone: ZoneInfo,
           stop: Callable[[], bool], *, backlog: int = 0, poll_s: float = 0.2,
           grace_s: float = 5.0) -> Iterator[Record]:
    """Yield records as they are appended to ``streams`` (every stream, new ones too, if None).

    Starts at the end of each stream's current file: today's (in ``zone``),
    or its newest day when it has nothing today yet. ``backlog`` records
    from before the start come first (merged by ``ts``, earlier days
    included), read from the very offsets the following then starts at, so
    nothing falls between the two. Records of one poll are merged by ``ts``.

    Runs until ``stop()`` is true, checked every ``poll_s`` seconds (a
    ``threading.Event().is_set``, or a flag a signal handler sets). A torn or
    unreadable line is yielded as a bad record (``fields`` None), never raised.
    Raises ValueError for an invalid stream name.
    """
    for stream in streams or ():
        check_stream(stream)
    today = datetime.now(zone).date()
    watches = {s: _Watch(root, s) for s in (streams if streams is not None
                                            else list_streams(root))}
    try:
        starts = [w.start(today, backlog) for w in watches.values()]
        if backlog > 0:
            yield from list(merge_records(starts))[-backlog:]
        while not stop():
            if streams is None:
                for name in list_streams(root):
                    watches.setdefault(name, _Watch(root, name))
            more = False
            batches: list[list[Record]] = []
            for watch in watches.values():
                more = watch.poll(batches, datetime.now(zone).date(), grace_s) or more
            yield from merge_records(batches)
            if not more and not stop():
                time.sleep(poll_s)
    finally:
        for watch in watches.values():
            watch.close()


@dataclass
class _Open:
    """One day file being followed."""

    day: date
    path: Path
    fd: int
    inode: tuple[int, int]
    pos: int
    #: Number of the last line read, or None when following began mid-file.
    line: int | None
    quiet_since: float = field(default_factory=time.monotonic)
    pending: bytes = b""
    #: Its name no longer leads to it (renamed, compressed, deleted or replaced).
    orphan: bool = False


class _Watch:
    """The open files of one stream and the newest day seen."""

    def __init__(self, root: Path, stream: str) -> None:
        self.root = root
        self.stream = stream
        self.files: list[_Open] = []
        self.newest: date | None = None

    def start(self, today: date, backlog: int) -> list[Record]:
        """Open the current file(s) at their end; return the ``backlog`` records before it."""
        plain = sorted(d for d, has_plain in day_files(self.root / self.stream).items()
                       if has_plain)
        current = [d for d in plain if d >= today] or plain[-1:]
        newer: list[Record] = []
        for day in current:
            opened = self._open(day, at_end=True)
            if opened is None:
                continue
            lines, opened.pos = tail_lines(opened.fd, opened.pos, backlog)
            newer.extend(r for r in (parse_line(ln, self.stream, opened.path)
                                     for ln in lines) if r is not None)
        self.newest = max(current, default=None)
        if backlog <= 0:
            return []
        older = sorted((d for d in day_files(self.root / self.stream)
                        if not current or d < current[0]), reverse=True)
        return stream_tail(self.root, self.stream, backlog, older, newer)

    def poll(self, batches: list[list[Record]], today: date, grace_s: float) -> bool:
        """Open new files, read every open one, close drained ones; True if reading was cut.

        A file is closed once it has been quiet for ``grace_s`` and either its
        name no longer leads to it or it is a past day with a newer file open:
        a late line of a writer still on yesterday's file is not lost.
        """
        self._discover()
        more = False
        for opened in sorted(self.files, key=lambda o: o.day):
            records, cut = self._read(opened)
            more = more or cut
            if records:
                batches.append(records)
        now = time.monotonic()
        newest_live = max((o.day for o in self.files if not o.orphan), default=None)
        for opened in list(self.files):
            superseded = newest_live is not None and opened.day < min(newest_live, today)
            if (opened.orphan or superseded) and now - opened.quiet_since >= grace_s:
                if opened.pending:
                    batches.append([self._bad(opened, opened.pending,
                                              "the file ends in the middle of this line")])
                self._close(opened)
        return more

    def close(self) -> None:
        """Close every open file."""
        for opened in list(self.files):
            self._close(opened)

    def _discover(self) -> None:
        for opened in list(self.files):
            if opened.orphan:
                continue
            try:
                st = os.stat(opened.path)
            except FileNotFoundError:
                opened.orphan = True
                continue
            if (st.st_dev, st.st_ino) != opened.inode:
                opened.orphan = True
                self._open(opened.day, at_end=False)  # a new file under the old name
        for day, has_plain in sorted(day_files(self.root / self.stream).items()):
            if has_plain and (self.newest is None or day > self.newest):
                self._open(day, at_end=False)
                self.newest = day

    def _open(self, day: date, *, at_end: bool) -> _Open | None:
        path = day_path(self.root, self.stream, day)
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:  # rotated or deleted since it was listed
            return None
        st = os.fstat(fd)
        opened = _Open(day, path, fd, (st.st_dev, st.st_ino), st.st_size if at_end else 0,
                       None if at_end else 0)
        self.files.append(opened)
        return opened

    def _read(self, opened: _Open) -> tuple[list[Record], bool]:
        if os.fstat(opened.fd).st_size < opened.pos:  # truncated in place: start over
            opened.pos, opened.pending, opened.line = 0, b"", 0
        chunks: list[bytes] = []
        budget = _READ_PER_POLL
        while budget > 0:
            chunk = os.pread(opened.fd, min(budget, 256 * 1024), opened.pos)
            if not chunk:
                break
            chunks.append(chunk)
            opened.pos += len(chunk)
            budget -= len(chunk)
        if not chunks:
            return [], False
        opened.quiet_since = time.monotonic()
        *lines, opened.pending = (opened.pending + b"".join(chunks)).split(b"\n")
        records: list[Record] = []
        for raw in lines:
            if opened.line is not None:
                opened.line += 1
            record = parse_line(raw + b"\n", self.stream, opened.path, opened.line)
            if record is not None:
                records.append(record)
        if len(opened.pending) > _MAX_PENDING:
            records.append(self._bad(opened, opened.pending, "a line without an end, "
                                     f"longer than {_MAX_PENDING} bytes"))
            opened.pending = b""
        return records, budget <= 0

    def _bad(self, opened: _Open, raw: bytes, problem: str) -> Record:
        line = None if opened.line is None else opened.line + 1
        return Record(self.stream, raw, None, opened.path, line, problem)

    def _close(self, opened: _Open) -> None:
        self.files.remove(opened)
        os.close(opened.fd)
