"""Rotation compresses finished days, deletes expired ones, and is safe to run again."""

from __future__ import annotations

import gzip
import os
import time
from datetime import date
from pathlib import Path

from pipeline.rotate import rotate

TODAY = date(2026, 11, 26)


def day_file(root: Path, stream: str, day: str, text: str = '{"event":"started"}\n') -> Path:
    path = root / stream / f"{day}.ndjson"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def names(root: Path, stream: str) -> list[str]:
    return sorted(p.name for p in (root / stream).iterdir())


def test_finished_days_are_compressed_losslessly_and_today_is_left_alone(
        tmp_path: Path) -> None:
    content = "".join(f'{{"n": {n}, "title": "한국어 제목"}}\n' for n in range(1000))
    day_file(tmp_path, "seo_automation", "2026-11-25", content)
    day_file(tmp_path, "seo_automation", "2026-11-26")
    report = rotate(tmp_path, TODAY, keep_days=30)
    assert report.compressed == ["seo_automation/2026-11-25.ndjson"]
    assert names(tmp_path, "seo_automation") == ["2026-11-25.ndjson.gz", "2026-11-26.ndjson"]
    gz = tmp_path / "seo_automation" / "2026-11-25.ndjson.gz"
    assert gzip.decompress(gz.read_bytes()).decode("utf-8") == content
    assert report.bytes_after < report.bytes_before == len(content.encode())


def test_days_past_retention_are_deleted_plain_or_compressed(tmp_path: Path) -> None:
    day_file(tmp_path, "ga4_score", "2026-10-26")
    old_gz = tmp_path / "ga4_score" / "2026-10-20.ndjson.gz"
    old_gz.write_bytes(gzip.compress(b"{}\n"))
    day_file(tmp_path, "ga4_score", "2026-10-27")  # exactly 30 days: kept, compressed
    report = rotate(tmp_path, TODAY, keep_days=30)
    assert sorted(report.deleted) == ["ga4_score/2026-10-20.ndjson.gz",
                                      "ga4_score/2026-10-26.ndjson"]
    assert names(tmp_path, "ga4_score") == ["2026-10-27.ndjson.gz"]


def test_second_run_does_nothing(tmp_path: Path) -> None:
    day_file(tmp_path, "canary", "2026-11-20")
    rotate(tmp_path, TODAY, keep_days=30)
    before = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*")}
    report = rotate(tmp_path, TODAY, keep_days=30)
    assert (report.compressed, report.deleted, report.errors) == ([], [], [])
    assert {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*")} == before


def test_run_interrupted_between_compress_and_unlink_is_finished_without_loss(
        tmp_path: Path) -> None:
    source = day_file(tmp_path, "canary", "2026-11-24", '{"complete": true}\n' * 50)
    stale = source.with_name(source.name + ".gz")
    stale.write_bytes(gzip.compress(b'{"complete": true}\n'))  # partial, from the crash
    rotate(tmp_path, TODAY, keep_days=30)
    assert names(tmp_path, "canary") == ["2026-11-24.ndjson.gz"]
    assert gzip.decompress(stale.read_bytes()) == b'{"complete": true}\n' * 50


def test_dry_run_reports_and_changes_nothing(tmp_path: Path) -> None:
    day_file(tmp_path, "canary", "2026-11-25")
    day_file(tmp_path, "canary", "2026-01-01")
    report = rotate(tmp_path, TODAY, keep_days=30, dry_run=True)
    assert report.compressed == ["canary/2026-11-25.ndjson"]
    assert report.deleted == ["canary/2026-01-01.ndjson"]
    assert names(tmp_path, "canary") == ["2026-01-01.ndjson", "2026-11-25.ndjson"]


def test_old_ga4_snapshots_expire_by_age_and_other_files_are_untouched(
        tmp_path: Path) -> None:
    snapshots = tmp_path / "ga4_scores"
    snapshots.mkdir()
    old, new = snapshots / "2026-09-01.csv", snapshots / "2026-11-25.csv"
    for path in (old, new):
        path.write_text("post_id,score\n1,80\n", encoding="utf-8")
    now = time.time()
    os.utime(old, (now - 40 * 86400, now - 40 * 86400))
    notes = day_file(tmp_path, "canary", "2026-11-26").with_name("README.txt")
    notes.write_text("operator notes", encoding="utf-8")
    report = rotate(tmp_path, TODAY, keep_days=30, now=now)
    assert report.deleted == ["ga4_scores/2026-09-01.csv"]
    assert not old.exists() and new.exists() and notes.exists()


def test_ga4_snapshots_paths_and_reports_keep_their_own_retention(tmp_path: Path) -> None:
    now = time.time()
    files = {"ga4_scores/2026-01-01.csv": 100, "ga4_scores/paths/2026-01-01.csv": 100,
             "ga4_reports/2025-12.html": 100, "ga4_scores/2025-06-01.csv": 500,
             "ga4_scores/paths/2025-06-01.csv": 500, "ga4_reports/2025-05.html": 500}
    for name, age_days in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x\n", encoding="utf-8")
        os.utime(path, (now - age_days * 86400, now - age_days * 86400))
    # Older than the doclog's 30 days but inside the GA4 retention: kept.
    report = rotate(tmp_path, TODAY, keep_days=30, now=now, ga4_keep_days=400)
    assert sorted(report.deleted) == ["ga4_reports/2025-05.html", "ga4_scores/2025-06-01.csv",
                                      "ga4_scores/paths/2025-06-01.csv"]
    assert (tmp_path / "ga4_scores/paths/2026-01-01.csv").exists()
    assert (tmp_path / "ga4_reports/2025-12.html").exists()


def test_missing_root_is_not_an_error(tmp_path: Path) -> None:
    report = rotate(tmp_path / "never-written", TODAY, keep_days=30)
    assert (report.compressed, report.deleted, report.errors) == ([], [], [])
