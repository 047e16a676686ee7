"""Doclog days written by the real writer, and rotated as rotation does it, for reader tests."""

from __future__ import annotations

import gzip
import os
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from pipeline.doclog import DoclogWriter


class Clock:
    """A settable clock for DoclogWriter, in seconds since the epoch."""

    def __init__(self, iso: str) -> None:
        self.now = datetime.fromisoformat(iso).timestamp()

    def __call__(self) -> float:
        return self.now

    def set(self, iso: str) -> None:
        self.now = datetime.fromisoformat(iso).timestamp()


class Log:
    """A real DoclogWriter and its clock; each write returns the line's stored bytes."""

    def __init__(self, root: Path, zone: ZoneInfo,
                 clock: Callable[[], float] = time.time) -> None:
        self.zone = zone
        self.clock = clock
        self.writer = DoclogWriter(root, zone, clock=clock)

    def write(self, stream: str, event: str, message_id: str, **fields: object) -> bytes:
        """Write one line as the middleware would; return it as stored, newline included."""
        path = self.path(stream)
        assert self.writer.write(stream, {"event": event, "message_id": message_id,
                                          "actor": stream, "queue": "seo", "attempt": 1,
                                          **fields})
        return path.read_bytes().splitlines(keepends=True)[-1]

    def path(self, stream: str) -> Path:
        """The file the next line of ``stream`` goes to."""
        return self.writer.path_for(stream, datetime.fromtimestamp(self.clock(), self.zone))

    def close(self) -> None:
        self.writer.close()


def rotate_day(path: Path) -> Path:
    """Rotate one finished day as pipeline.rotate does: the same bytes gzipped, then unlink."""
    packed = path.with_name(path.name + ".gz")
    tmp = path.with_name(f".{path.name}.gz.tmp")
    tmp.write_bytes(gzip.compress(path.read_bytes()))
    os.replace(tmp, packed)
    path.unlink()
    return packed
