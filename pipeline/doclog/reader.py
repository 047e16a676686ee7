"""Read doclog files: the streams, the days of a stream, a day's records, the last N records.

A day is ``<root>/<stream>/<YYYY-MM-DD>.ndjson``; rotation turns a finished day
into ``<YYYY-MM-DD>.ndjson.gz`` (the same bytes, gzipped) and later deletes it.
Readers accept either, and prefer the plain file while both exist (rotation
writes the ``.gz`` first and removes the plain file last).

Reading never stops at a bad line: a line that is not a JSON object (torn by a
full disk, cut by hand) becomes a :class:`Record` whose ``fields`` is None and
whose ``problem`` says why; so does a ``.gz`` that ends early. Blank lines are
skipped. Following files as they grow is :mod:`pipeline.doclog.follow`.
"""

from __future__ import annotations

import gzip
import heapq
import json
import os
import re
import zlib
from collections import deque
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Final

from pipeline.doclog.events import is_valid_stream
from pipeline.errors import AtrError

__all__ = [
    "DoclogNotFoundError",
    "Record",
    "check_stream",
    "day_files",
    "day_path",
    "last_records",
    "list_days",
    "list_streams",
    "merge_records",
    "parse_line",
    "read_day",
    "stream_tail",
    "tail_lines",
]

PLAIN_SUFFIX: Final = ".ndjson"
GZIP_SUFFIX: Final = ".ndjson.gz"
_DAY_NAME: Final = re.compile(r"(\d{4}-\d{2}-\d{2})\.ndjson(\.gz)?")
#: Bytes read per step when reading a plain file backwards from its end.
_BLOCK: Final = 64 * 1024
#: Merge key of a record before any line with a readable ``ts``.
_EARLIEST: Final = datetime.min.replace(tzinfo=UTC)


class DoclogNotFoundError(AtrError):
    """Raised when a stream has no doclog file (plain or ``.gz``) for the day asked for."""


@dataclass(frozen=True)
class Record:
    """One line of a doclog file: its stored bytes and, when it parses, its fields."""

    stream: str
    #: The line as stored, its newline included when it had one.
    raw: bytes
    #: The JSON object, or None for a line that is not one (see :attr:`problem`).
    fields: Mapping[str, Any] | None
    #: The file the line was read from (its name when it was opened).
    source: Path
    #: Line number in :attr:`source`, from 1; None when read from the end of the file.
    line: int | None = None
    #: Why the line could not be read; None for a good record.
    problem: str | None = None

    @property
    def ok(self) -> bool:
        """Whether the line is a JSON object."""
        return self.fields is not None

    @property
    def ts(self) -> datetime | None:
        """The line's ``ts`` as an aware datetime, or None when absent or unreadable."""
        value = self.fields.get("ts") if self.fields is not None else None
        if not isinstance(value, str):
            return None
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return None
        return parsed if parsed.tzinfo is not None else None

    def where(self) -> str:
        """``line 17 of /path/2026-11-26.ndjson`` (or ``near the end of ...``), for messages."""
        return f"line {self.line} of {self.source}" if self.line \
            else f"near the end of {self.source}"


def parse_line(raw: bytes, stream: str, source: Path, line: int | None = None) -> Record | None:
    """The record of one stored line (newline included or not); None for a blank line."""
    if not raw.strip():
        return None
    try:
        fields = json.loads(raw)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError and bad UTF-8 are ValueErrors
        return Record(stream, raw, None, source, line, f"not valid JSON ({_short(exc)})")
    if not isinstance(fields, dict):
        return Record(stream, raw, None, source, line,
                      f"a JSON {type(fields).__name__}, not an object")
    return Record(stream, raw, fields, source, line)


def check_stream(stream: str) -> None:
    """Raise ValueError unless ``stream`` is a valid stream name."""
    # Also keeps a name like "../x" from leaving the root.
    if not is_valid_stream(stream):
        raise ValueError(f"doclog stream {stream!r} must be 1-64 characters of a-z 0-9 _")


def day_path(root: Path, stream: str, day: date) -> Path:
    """The plain file of ``stream`` for ``day`` (rotated days add ``.gz``)."""
    check_stream(stream)
    return root / stream / f"{day:%Y-%m-%d}{PLAIN_SUFFIX}"


def list_streams(root: Path) -> list[str]:
    """Sorted names of the streams under ``root``: valid names holding at least one day.

    Other directories (the GA4 snapshot CSVs) and files are ignored; a missing
    ``root`` has no streams.
    """
    try:
        entries = list(os.scandir(root))
    except (FileNotFoundError, NotADirectoryError):
        return []
    return sorted(e.name for e in entries
                  if is_valid_stream(e.name) and e.is_dir() and day_files(Path(e.path)))


def list_days(root: Path, stream: str) -> list[date]:
    """The days of ``stream`` that have a file, plain or ``.gz``, oldest first."""
    check_stream(stream)
    return sorted(day_files(root / stream))


def day_files(stream_dir: Path) -> dict[date, bool]:
    """Day -> whether its plain ``.ndjson`` file is there (False: only the ``.gz``)."""
    try:
        names = os.listdir(stream_dir)
    except (FileNotFoundError, NotADirectoryError):
        return {}
    days: dict[date, bool] = {}
    for name in names:
        match = _DAY_NAME.fullmatch(name)
        if match is None:
            continue
        try:
            day = date.fromisoformat(match.group(1))
        except ValueError:  # 2026-13-45.ndjson
            continue
        days[day] = days.get(day, False) or not match.group(2)
    return days


def read_day(root: Path, stream: str, day: date) -> Iterator[Record]:
    """Every record of ``stream`` on ``day``, in file order, from the plain file or its ``.gz``.

    Raises :class:`DoclogNotFoundError` at once when neither file exists.
    """
    plain = day_path(root, stream, day)
    packed = _packed(plain)
    if not plain.exists() and not packed.exists():
        raise DoclogNotFoundError(f"{stream} has no doclog file for {day} under {root}")
    return _read_day(stream, plain, packed)


def last_records(root: Path, streams: Sequence[str], count: int) -> list[Record]:
    """The last ``count`` records of ``streams`` together, merged by ``ts``, oldest first.

    Each stream is read from its newest day back, as far as it takes.
    """
    for stream in streams:
        check_stream(stream)
    if count <= 0:
        return []
    tails = [stream_tail(root, s, count, sorted(day_files(root / s), reverse=True))
             for s in streams]
    return list(merge_records(tails))[-count:]


def stream_tail(root: Path, stream: str, count: int, days: Iterable[date],
                newer: Sequence[Record] = ()) -> list[Record]:
    """The last ``count`` records of ``newer`` preceded by those of ``days`` (newest first)."""
    kept = list(newer[-count:]) if count > 0 else []
    for day in days:
        if len(kept) >= count:
            break
        kept[:0] = _day_tail(root, stream, day, count - len(kept))
    return kept


def merge_records(sequences: Iterable[Iterable[Record]]) -> Iterator[Record]:
    """Interleave per-file (or per-stream) record sequences by ``ts``, keeping each one's order.

    A record without a readable ``ts`` keeps the place of the record before it.
    """
    return (record for _, record in heapq.merge(*(_keyed(s) for s in sequences),
                                                key=lambda pair: pair[0]))


def tail_lines(fd: int, end: int, count: int) -> tuple[list[bytes], int]:
    """The last ``count`` non-blank complete lines of ``fd`` before ``end``, and where they end.

    Lines keep their newline. Bytes after the last newline (a line still being
    written) are left out, and the offset returned is where they start.
    """
    chunks: list[bytes] = []
    pos, newlines = end, 0
    while pos > 0:
        size = min(_BLOCK, pos)
        pos -= size
        chunk = os.pread(fd, size, pos)
        chunks.append(chunk)
        newlines += chunk.count(b"\n")
        # Stop once there are enough lines; a blank line found on the way means reading on.
        if newlines > count or pos == 0:
            data = b"".join(reversed(chunks))
            complete = data.rfind(b"\n") + 1
            lines = [ln + b"\n" for ln in data[:complete].split(b"\n")[:-1]]
            if pos > 0:
                lines = lines[1:]  # began mid-line
            kept = [ln for ln in lines if ln.strip()]
            if len(kept) >= count or pos == 0:
                return (kept[-count:] if count > 0 else []), pos + complete
    return [], 0


def _read_day(stream: str, plain: Path, packed: Path) -> Iterator[Record]:
    try:
        file = plain.open("rb")
    except FileNotFoundError:  # rotated between the check and now
        yield from _read_gzip(stream, packed)
        return
    with file:
        for number, raw in enumerate(file, start=1):
            record = parse_line(raw, stream, plain, number)
            if record is not None:
                yield record


def _read_gzip(stream: str, path: Path) -> Iterator[Record]:
    number = 0
    try:
        with gzip.open(path, "rb") as file:
            for number, raw in enumerate(file, start=1):
                record = parse_line(raw, stream, path, number)
                if record is not None:
                    yield record
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        yield Record(stream, b"", None, path, number + 1,
                     f"the compressed file is damaged after line {number} ({_short(exc)})")


def _day_tail(root: Path, stream: str, day: date, count: int) -> list[Record]:
    plain = day_path(root, stream, day)
    try:
        with plain.open("rb") as file:
            fd = file.fileno()
            lines, _ = tail_lines(fd, os.fstat(fd).st_size, count)
    except FileNotFoundError:
        try:
            return list(deque(_read_gzip(stream, _packed(plain)), maxlen=count))
        except FileNotFoundError:  # deleted by rotation meanwhile: nothing to show
            return []
    return [r for r in (parse_line(ln, stream, plain) for ln in lines) if r is not None]


def _packed(plain: Path) -> Path:
    return plain.with_name(plain.name.removesuffix(PLAIN_SUFFIX) + GZIP_SUFFIX)


def _keyed(records: Iterable[Record]) -> Iterator[tuple[datetime, Record]]:
    key = _EARLIEST
    for record in records:
        key = record.ts or key
        yield key, record


def _short(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text[:120]
