"""The drop folder: pending files, refusals with their reasons, nothing imported on a refusal."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest

from devkit.demo.ga4 import sample_posts, write_sample_export
from pipeline.ga4 import SitePost
from pipeline.ga4.drop import DropFolder, RefusedFilesError, score_drop
from pipeline.ga4.reader import Period

DATA = Path(__file__).resolve().parents[2] / "data" / "ga4"
DAY = dt.date(2026, 12, 1)


def site() -> list[SitePost]:
    return [SitePost(p.id, p.slug, f"https://x/{p.slug}/", dt.datetime.fromisoformat(p.date),
                     dt.datetime.fromisoformat(p.date), p.title) for p in sample_posts()]


def test_pending_skips_partial_hidden_and_other_files(tmp_path: Path) -> None:
    for name in ("b.csv", "a.json", ".c.csv", "d.csv.part", "e.crdownload", "notes.txt"):
        (tmp_path / name).write_text("x", encoding="utf-8")
    (tmp_path / "done").mkdir()
    (tmp_path / "done" / "old.csv").write_text("x", encoding="utf-8")
    assert [p.name for p in DropFolder(tmp_path).pending()] == ["a.json", "b.csv"]


def test_files_of_different_periods_are_all_refused_with_the_same_reason(
        tmp_path: Path) -> None:
    drop = tmp_path / "drop"
    november = write_sample_export(drop / "nov.csv", sample_posts())
    october = write_sample_export(drop / "oct.csv", sample_posts(),
                                  period=Period(dt.date(2026, 10, 1), dt.date(2026, 10, 31)))
    folder = DropFolder(drop)
    with pytest.raises(RefusedFilesError, match="cover different periods") as caught:
        score_drop(folder.pending(), site(), tmp_path / "logs", DAY, folder=folder)
    assert sorted(p.name for p in caught.value.refused) == ["nov.csv", "oct.csv"]
    assert folder.pending() == [] and not (tmp_path / "logs").exists()
    for name in ("nov.csv", "oct.csv"):
        reason = (drop / "refused" / f"{name}.reason.txt").read_text(encoding="utf-8")
        assert "cover different periods" in reason
    assert not november.exists() and not october.exists()


def test_a_name_refused_twice_is_kept_twice(tmp_path: Path) -> None:
    folder = DropFolder(tmp_path)
    for attempt in range(2):
        bad = shutil.copy(DATA / "pages_and_screens_by_title_en.csv", tmp_path / "x.csv")
        with pytest.raises(RefusedFilesError):
            score_drop([Path(bad)], site(), tmp_path / "logs", DAY, folder=folder)
        assert len(list((tmp_path / "refused").glob("x*.csv"))) == attempt + 1
    assert sorted(p.name for p in (tmp_path / "refused").iterdir()) == [
        "x.2.csv", "x.2.csv.reason.txt", "x.csv", "x.csv.reason.txt"]


def test_a_scored_file_moves_to_done_and_the_snapshot_is_written(tmp_path: Path) -> None:
    folder = DropFolder(tmp_path / "drop")
    export = write_sample_export(tmp_path / "drop" / "nov.csv", sample_posts())
    outcome = score_drop([export], site(), tmp_path / "logs", DAY, folder=folder)
    assert outcome.snapshot == tmp_path / "logs" / "ga4_scores" / "2026-12-01.csv"
    assert outcome.moved == (tmp_path / "drop" / "done" / "nov.csv",)
    assert outcome.run.tier_counts["promote"] == 2
