"""Doclog rotation: compress finished days, delete days past the retention.

Only files this project writes are touched: ``<stream>/<YYYY-MM-DD>.ndjson``
(compressed to ``.ndjson.gz`` once its day is over in ``ATR_TZ``, deleted
with its ``.gz`` once older than the retention) and the GA4 snapshot CSVs
under ``ga4_scores/`` (with their ``paths/`` files) and monthly reports under
``ga4_reports/``, deleted by modification time after their own retention
(``ATR_GA4_KEEP_DAYS``: decay and the month-over-month report read old ones).
Rotation is idempotent: a day is compressed into a temporary file, fsynced, renamed over the ``.gz``
and only then is the original removed, so a crash at any point loses nothing
and the next run finishes the work.
"""

from __future__ import annotations

import gzip
import os
import re
import shutil
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Final

__all__ = ["GA4_REPORT_DIR", "GA4_SNAPSHOT_DIR", "RotateReport", "rotate"]

#: Directory under the doclog root holding the GA4 snapshot CSVs.
GA4_SNAPSHOT_DIR: Final = "ga4_scores"
#: Directory under the doclog root holding the GA4 monthly reports.
GA4_REPORT_DIR: Final = "ga4_reports"
#: File patterns expired by age under each GA4 directory.
_GA4_FILES: Final = {GA4_SNAPSHOT_DIR: ("*.csv", "paths/*.csv"), GA4_REPORT_DIR: ("*.html",)}
_DAY_FILE: Final = re.compile(r"(\d{4}-\d{2}-\d{2})\.ndjson(\.gz)?")
_STREAM: Final = re.compile(r"[a-z0-9_]{1,64}")


@dataclass
class RotateReport:
    """What one rotation did (or, with ``dry_run``, would do); paths relative to the root."""

    compressed: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    bytes_before: int = 0
    bytes_after: int = 0
    errors: list[str] = field(default_factory=list)


def rotate(root: Path, today: date, keep_days: int, *, dry_run: bool = False,
           now: float | None = None, ga4_keep_days: int | None = None) -> RotateReport:
    """Rotate every stream under ``root``; ``today`` is the current day in ATR_TZ.

    Days before ``today - keep_days`` are deleted; other finished days are
    compressed. GA4 snapshots and reports older than ``ga4_keep_days`` days
    (default ``keep_days``) are deleted. Problems with single files are
    collected in ``errors``; the rest of the rotation goes on.
    """
    report = RotateReport()
    if not root.is_dir():
        return report
    oldest_kept = today - timedelta(days=keep_days)
    for stream_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        if stream_dir.name in _GA4_FILES:
            _expire_snapshots(root, stream_dir, _GA4_FILES[stream_dir.name],
                              keep_days if ga4_keep_days is None else ga4_keep_days,
                              dry_run, now, report)
        elif _STREAM.fullmatch(stream_dir.name):
            _rotate_stream(root, stream_dir, today, oldest_kept, dry_run, report)
    return report


def _rotate_stream(root: Path, stream_dir: Path, today: date, oldest_kept: date,
                   dry_run: bool, report: RotateReport) -> None:
    for path in sorted(stream_dir.iterdir()):
        match = _DAY_FILE.fullmatch(path.name)
        if match is None or not path.is_file():
            continue
        try:
            day = date.fromisoformat(match.group(1))
        except ValueError:
            continue
        relative = str(path.relative_to(root))
        try:
            if day < oldest_kept:
                if not dry_run:
                    path.unlink(missing_ok=True)
                report.deleted.append(relative)
            elif day < today and not match.group(2):
                if not dry_run:
                    before, after = _compress(path)
                    report.bytes_before += before
                    report.bytes_after += after
                report.compressed.append(relative)
        except OSError as exc:
            report.errors.append(f"{relative}: {exc.strerror or exc}")


def _compress(path: Path) -> tuple[int, int]:
    target = path.with_name(path.name + ".gz")
    tmp = path.with_name(f".{path.name}.gz.{os.getpid()}.tmp")
    try:
        with path.open("rb") as src, tmp.open("wb") as raw:
            with gzip.GzipFile(filename=path.name, mode="wb", fileobj=raw, mtime=0) as gz:
                shutil.copyfileobj(src, gz)
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    before = path.stat().st_size
    path.unlink()
    return before, target.stat().st_size


def _expire_snapshots(root: Path, snapshot_dir: Path, patterns: tuple[str, ...],
                      keep_days: int, dry_run: bool, now: float | None,
                      report: RotateReport) -> None:
    cutoff = (time.time() if now is None else now) - keep_days * 86400
    for path in sorted(p for pattern in patterns for p in snapshot_dir.glob(pattern)):
        relative = str(path.relative_to(root))
        try:
            if path.stat().st_mtime < cutoff:
                if not dry_run:
                    path.unlink(missing_ok=True)
                report.deleted.append(relative)
        except OSError as exc:
            report.errors.append(f"{relative}: {exc.strerror or exc}")
