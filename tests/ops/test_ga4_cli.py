"""``atr ga4 score|show|report`` through the real console script, against the stand-in."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from devkit.demo.ga4 import SAMPLE_PERIOD, sample_posts, write_sample_export
from devkit.wordpress import WordPressStandIn
from pipeline.ga4 import SitePost, score_files
from pipeline.ga4.reader import Period
from pipeline.ga4.snapshot import write_snapshot
from tests.helpers import assert_one_clear_line, run_atr

DATA = Path(__file__).resolve().parents[1] / "data" / "ga4"


@pytest.fixture
def site() -> Iterator[WordPressStandIn]:
    with WordPressStandIn(posts=sample_posts()) as server:
        yield server


@pytest.fixture
def env(clean_env: dict[str, str], site: WordPressStandIn) -> dict[str, str]:
    return {**clean_env, "REDIS_URL": "redis://127.0.0.1:1/0", "BRIDGE_BASE": site.base_url,
            "BRIDGE_TOKEN": site.token}


def snapshots(env: dict[str, str]) -> list[Path]:
    return sorted((Path(env["ATR_DOCLOG_ROOT"]) / "ga4_scores").glob("*.csv"))


def test_score_prints_the_tiers_and_writes_todays_snapshot(env: dict[str, str],
                                                           tmp_path: Path) -> None:
    export = write_sample_export(tmp_path / "pages.csv", sample_posts(), language="ko")
    result = run_atr("ga4", "score", str(export), env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "period 2026-11-01..2026-11-30 (30 days), 1 file(s)" in out
    assert "tiers: promote 2  keep 3  refresh 2  prune 0  insufficient-data 1" in out
    assert "not posts: 5 path(s)" in out and "/category/여행/ [archive]" in out
    (snapshot,) = snapshots(env)
    assert out.rstrip().endswith(f"snapshot: {snapshot}")
    assert export.is_file()  # named at the terminal: left where it is


def test_score_json_dry_run_writes_nothing(env: dict[str, str], tmp_path: Path) -> None:
    export = write_sample_export(tmp_path / "pages.csv", sample_posts())
    result = run_atr("ga4", "score", str(export), "--json", "--dry-run", env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["dry_run"] is True and answer["snapshot"] is None
    first = answer["rows"][0]
    assert (first["post_id"], first["tier"], first["views"], first["variants"]) == (
        101, "promote", 9000, 4)
    assert snapshots(env) == []


def test_a_file_that_is_no_page_report_is_refused_in_one_line(env: dict[str, str],
                                                              tmp_path: Path) -> None:
    good = write_sample_export(tmp_path / "pages.csv", sample_posts())
    bad = shutil.copy(DATA / "pages_and_screens_by_title_en.csv", tmp_path / "by_title.csv")
    result = run_atr("ga4", "score", str(good), str(bad), env=env, cwd=tmp_path)
    assert result.returncode == 1
    line = assert_one_clear_line(result.stderr)
    assert line.startswith(f"atr ga4 score: {bad}: not a GA4 page report: no Page path and "
                           "screen class (페이지 경로 및 화면 클래스) column")
    assert snapshots(env) == []


def _previous_october(env: dict[str, str]) -> None:
    """October's snapshot, in which every post did as well as in November's sample."""
    posts = [SitePost(id=p.id, slug=p.slug, link=f"https://x/{p.slug}/",
                      date=dt.datetime.fromisoformat(p.date),
                      modified=dt.datetime.fromisoformat(p.date), title=p.title)
             for p in sample_posts()]
    root = Path(env["ATR_DOCLOG_ROOT"])
    october = write_sample_export(root.parent / "october.csv", sample_posts(),
                                  period=Period(dt.date(2026, 10, 1), dt.date(2026, 10, 31)))
    write_snapshot(score_files([october], posts), root, dt.date(2026, 11, 1))


def test_show_explains_a_sliding_post_and_report_writes_the_month(
        env: dict[str, str], tmp_path: Path) -> None:
    _previous_october(env)
    # Post 102 was promoted in October and lost half its views in November.
    export = write_sample_export(tmp_path / "pages.csv", sample_posts(), scale={102: 0.45})
    assert run_atr("ga4", "score", str(export), env=env, cwd=tmp_path).returncode == 0

    result = run_atr("ga4", "show", "102", env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "refresh by rule sliding: was promote" in out
    assert "reach: value" in out and "weight 40%" in out
    assert "previous snapshot: promote (score 75.72)" in out
    assert "views per day at 46% of then; decay severe" in out

    shown = json.loads(run_atr("ga4", "show", "101", "--day", str(dt.date(2026, 11, 1)),
                               "--json", env=env, cwd=tmp_path).stdout)
    assert shown["tier"] == "promote" and shown["snapshot"].endswith("2026-11-01.csv")

    missing = run_atr("ga4", "show", "999", env=env, cwd=tmp_path)
    assert missing.returncode == 1 and "post 999 is not in the snapshot" in missing.stderr

    result = run_atr("ga4", "report", "--month", f"{SAMPLE_PERIOD.end:%Y-%m}", env=env,
                     cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    page = Path(result.stdout.strip())
    assert page.parent.name == "ga4_reports" and page.name == "2026-11.html"
    text = page.read_text(encoding="utf-8")
    assert "data:image/png;base64," in text and "승격" in text


def test_report_of_a_month_without_snapshot_is_one_line(env: dict[str, str],
                                                        tmp_path: Path) -> None:
    result = run_atr("ga4", "report", "--month", "2020-01", env=env, cwd=tmp_path)
    assert result.returncode == 2
    assert "no GA4 snapshot of a period ending in 2020-01" in assert_one_clear_line(
        result.stderr)


def test_pull_fetches_the_period_into_the_drop_folder(env: dict[str, str],
                                                      tmp_path: Path) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    from devkit.fakes.ga4_server import PROPERTY_ID, Ga4DataFake

    pem = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()).decode()
    off = run_atr("ga4", "pull", env=env, cwd=tmp_path)
    assert off.returncode == 2 and "the live pull is off" in assert_one_clear_line(off.stderr)
    with Ga4DataFake([("/a/", {"screenPageViews": 10})]) as fake:
        key_file = tmp_path / "sa.json"
        key_file.write_text(json.dumps(fake.service_account_info(pem)), encoding="utf-8")
        pull_env = {**env, "ATR_GA4_PROPERTY_ID": PROPERTY_ID,
                    "ATR_GA4_CREDENTIALS": str(key_file), "ATR_GA4_API_BASE": fake.url,
                    "ATR_GA4_DROP_DIR": str(tmp_path / "drop")}
        result = run_atr("ga4", "pull", "--end", "2026-11-30", "--days", "30", env=pull_env,
                         cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == str(tmp_path / "drop" / "runreport_20261101-20261130.json")
        fake.fail_next(429)
        busy = run_atr("ga4", "pull", env=pull_env, cwd=tmp_path)
    assert busy.returncode == 1
    assert "RESOURCE_EXHAUSTED" in busy.stderr or "Exhausted property tokens" in busy.stderr
