"""The snapshot CSV: what an analyst opens, byte-identical for Korean and English exports."""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

import pytest

from pipeline.ga4 import NotAPageReportError, score_files
from pipeline.ga4.snapshot import (
    SNAPSHOT_COLUMNS,
    SnapshotDir,
    load_paths,
    read_snapshot,
    write_snapshot,
)
from tests.pipeline.ga4.conftest import DATA, POSTS

DAY = dt.date(2025, 2, 1)


def snapshot_rows(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig"))))


def test_snapshot_file_columns_bom_and_rows(tmp_path: Path) -> None:
    run = score_files([DATA / "pages_and_screens_en.csv"], list(POSTS))
    path = write_snapshot(run, tmp_path, DAY)
    assert path == tmp_path / "ga4_scores" / "2025-02-01.csv"
    data = path.read_bytes()
    assert data.startswith(b"\xef\xbb\xbfpost_id,title,path,tier,score,rule,")
    rows = snapshot_rows(path)
    assert tuple(rows[0]) == SNAPSHOT_COLUMNS
    seoul = next(r for r in rows if r["post_id"] == "101")
    assert (seoul["title"], seoul["path"], seoul["tier"], seoul["views"], seoul["variants"]) == (
        "서울 여행 코스 추천", "/서울-여행-코스/", "promote", "7140", "4")
    assert seoul["rule"] == "top_score" and seoul["previous_tier"] == ""
    # A title with a comma and quotes survives the CSV quoting.
    assert next(r for r in rows if r["post_id"] == "104")["title"] == '강릉 카페 거리 "안목해변"'
    assert next(r for r in rows if r["post_id"] == "103")["title"] == "제주 한 달 살기, 비용 정리"
    new = next(r for r in rows if r["post_id"] == "105")
    assert (new["tier"], new["rule"], new["score"], new["reach_pct"]) == (
        "insufficient-data", "new_post", "", "")
    # The last lines (what `tail -n 20` shows) are whole, readable rows.
    assert data.decode("utf-8-sig").splitlines()[-1].startswith("113,목포 해상케이블카,")
    assert not list((tmp_path / "ga4_scores").glob(".*.tmp"))


def test_korean_and_english_exports_give_byte_identical_snapshots(tmp_path: Path) -> None:
    english = score_files([DATA / "pages_and_screens_en.csv"], list(POSTS))
    korean = score_files([DATA / "pages_and_screens_ko.csv"], list(POSTS))
    a = write_snapshot(english, tmp_path / "en", DAY).read_bytes()
    b = write_snapshot(korean, tmp_path / "ko", DAY).read_bytes()
    assert a == b
    assert (tmp_path / "en/ga4_scores/paths/2025-02-01.csv").read_bytes() == \
        (tmp_path / "ko/ga4_scores/paths/2025-02-01.csv").read_bytes()


def test_the_paths_file_lists_unmatched_and_merged(tmp_path: Path) -> None:
    run = score_files([DATA / "pages_and_screens_en.csv"], list(POSTS))
    write_snapshot(run, tmp_path, DAY)
    paths = load_paths(tmp_path, DAY)
    unmatched = paths[paths["reason"] != "merged"]
    assert list(unmatched["path"]) == ["/", "/category/여행/", "/tag/맛집/", "/about/",
                                       "/old-deleted-post/", "(not set)"]
    merged = paths[paths["reason"] == "merged"].set_index("post_id")
    assert merged.loc["101", "variants"] == "4"
    assert merged.loc["101", "top_variants"].startswith("/서울-여행-코스/ (5210) | ")


def test_a_refused_file_leaves_no_snapshot(tmp_path: Path) -> None:
    with pytest.raises(NotAPageReportError):
        run = score_files([DATA / "pages_and_screens_en.csv",
                           DATA / "pages_and_screens_by_title_en.csv"], list(POSTS))
        write_snapshot(run, tmp_path, DAY)
    assert not (tmp_path / "ga4_scores").exists()


def test_the_previous_snapshot_is_read_back_and_found_by_period(tmp_path: Path) -> None:
    january = score_files([DATA / "pages_and_screens_en.csv"], list(POSTS))
    write_snapshot(january, tmp_path, DAY)
    previous = read_snapshot(tmp_path / "ga4_scores" / "2025-02-01.csv")
    assert previous.day == DAY and previous.period == january.period
    assert previous.posts[101].tier == "promote"
    assert previous.posts[105].score is None
    # February's run compares with January's snapshot; a January re-run does not.
    snapshots = SnapshotDir(tmp_path)
    feb = type(january.period)(dt.date(2025, 2, 1), dt.date(2025, 2, 28))
    found = snapshots.previous(feb)
    assert found is not None and found.day == DAY
    assert snapshots.previous(january.period) is None
    rerun = score_files([DATA / "pages_and_screens_ko.csv"], list(POSTS), previous=snapshots)
    assert rerun.previous_day is None
