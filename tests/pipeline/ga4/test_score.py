"""Scoring on the sample exports: merged rows, components, tiers, decay, and the formula by hand."""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from pathlib import Path

import pytest

from pipeline.errors import ConfigError
from pipeline.ga4 import Ga4Config, ScoreRun, score_files
from pipeline.ga4.errors import IncompleteExportError, OverlappingExportsError
from pipeline.ga4.score import PreviousPost, PreviousSnapshot
from tests.pipeline.ga4.conftest import DATA, POSTS, SitePost

EN = DATA / "pages_and_screens_en.csv"
KO = DATA / "pages_and_screens_ko.csv"
DECEMBER = (dt.date(2024, 12, 1), dt.date(2024, 12, 31))


def run_on(path: Path = EN, **kwargs: object) -> ScoreRun:
    return score_files([path], list(POSTS), **kwargs)  # type: ignore[arg-type]


def test_four_path_variants_of_one_post_become_one_row_with_summed_views() -> None:
    run = run_on()
    seoul = run.post(101)
    assert seoul is not None
    # /서울-여행-코스/ 5,210 + upper-case %EC.. 1,204 + lower-case %ec..?utm 630 + #comments 96
    assert seoul.views == 7140
    assert seoul.users == 3120 + 800 + 512 + 80
    assert seoul.variants == 4
    assert seoul.path == "/서울-여행-코스/"
    (merge,) = [m for m in run.merged if m.post_id == 101]
    assert [raw for raw, _ in merge.top] == [
        "/서울-여행-코스/", "/%EC%84%9C%EC%9A%B8-%EC%97%AC%ED%96%89-%EC%BD%94%EC%8A%A4/",
        "/%ec%84%9c%ec%9a%b8-%ec%97%ac%ed%96%89-%ec%bd%94%ec%8a%a4/?utm_source=naver"
        "&utm_medium=blog", "/서울-여행-코스/#comments"]
    assert [v for _, v in merge.top] == [5210, 1204, 630, 96]


def test_averages_are_recomputed_from_sums_not_averaged() -> None:
    seoul = run_on().post(101)
    assert seoul is not None
    seconds = 95.4 * 3120 + 88.0 * 800 + 70.2 * 512 + 120.5 * 80
    assert seoul.values["engagement"] == round(seconds / 4512, 4)  # 91.6734, not mean(95.4..)
    assert seoul.values["views_per_user"] == round(7140 / 4512, 4)


def test_the_totals_row_and_the_chart_series_are_not_counted() -> None:
    run = run_on()
    scored = sum(p.views for p in run.posts) + sum(u.views for u in run.unmatched)
    assert scored == 31_419  # the totals row says the same; the 'Nth day' rows add nothing
    home = next(u for u in run.unmatched if u.path == "/")
    assert home.views == 8800  # not 8,800 + the daily chart points of '/'


def test_non_post_paths_are_listed_apart_never_scored() -> None:
    run = run_on()
    assert [(u.path, u.reason, u.views) for u in run.unmatched] == [
        ("/", "home", 8800), ("/category/여행/", "archive", 1300),
        ("/tag/맛집/", "archive", 400), ("/about/", "page", 150),
        ("/old-deleted-post/", "no_post", 77), ("(not set)", "not_set", 60)]
    assert {p.path for p in run.posts}.isdisjoint({u.path for u in run.unmatched})


def test_tiers_rules_and_order_of_the_sample_month() -> None:
    run = run_on()
    assert [(p.post_id, p.tier, p.rule) for p in run.posts] == [
        (103, "promote", "top_score"), (101, "promote", "top_score"),
        (102, "keep", "middle"), (106, "keep", "middle"), (110, "keep", "middle"),
        (111, "keep", "middle"), (104, "keep", "middle"),
        (108, "refresh", "low_score"), (109, "refresh", "low_score"),
        (112, "keep", "recently_updated"),  # updated 2025-01-20: left to recover
        (105, "insufficient-data", "new_post"),  # published 2025-01-25 with 800 views
        (107, "insufficient-data", "few_views"),  # 12 views
        (113, "insufficient-data", "few_views"),  # no row in the export at all
    ]
    assert run.tier_counts == {"promote": 2, "keep": 6, "refresh": 2, "prune": 0,
                               "insufficient-data": 3}


def test_the_score_of_a_post_redone_by_hand() -> None:
    run = run_on()
    ranked = [p for p in run.posts if p.score is not None]
    n = len(ranked)
    post = run.post(102)
    assert post is not None and post.score is not None
    total = 0.0
    for c, weight in Ga4Config().weights.items():
        mine = post.values[c]
        below = sum(1 for p in ranked if (p.values[c] or 0) < (mine or 0))
        equal = sum(1 for p in ranked if p.values[c] == mine)
        pct = round(100 * (below + equal / 2) / n, 2)
        assert post.percentiles[c] == pct
        points = round(weight / 1.0 * pct, 2)
        assert post.points[c] == points
        total += points
    assert post.score == round(total, 2)
    # Reach is log10(1 + views per day live): 4,145 views over 31 days.
    assert post.values["reach"] == round(math.log10(1 + 4145 / 31), 4)


def test_key_event_rate_is_shrunk_toward_the_site_rate() -> None:
    run = run_on()
    p0 = run.site_key_event_rate
    ranked = [p for p in run.posts if p.score is not None]
    assert p0 == pytest.approx(sum(p.key_events for p in ranked) / sum(p.views for p in ranked))
    museum = run.post(111)  # 4 key events on 350 views: 11.4 per 1k raw
    assert museum is not None
    shrunk = 1000 * (4 + 200 * p0) / (350 + 200)
    assert museum.values["key_events"] == round(shrunk, 4)
    assert 1000 * p0 < shrunk < 1000 * 4 / 350


def test_korean_and_english_exports_score_identically() -> None:
    english, korean = run_on(EN), run_on(KO)
    assert english.posts == korean.posts
    assert english.unmatched == korean.unmatched


def test_the_2023_export_scores_like_the_new_one() -> None:
    old, new = run_on(DATA / "pages_and_screens_2023_en.csv"), run_on()
    assert [(p.post_id, p.tier, p.views) for p in old.posts] == \
        [(p.post_id, p.tier, p.views) for p in new.posts]


def test_runreport_json_scores_and_an_incomplete_pull_is_refused() -> None:
    run = score_files([DATA / "runreport_20250101-20250131.json"], list(POSTS))
    seoul = run.post(101)
    assert seoul is not None and seoul.views == 7140
    assert seoul.engagement_rate is not None and 0 < seoul.engagement_rate < 1
    with pytest.raises(IncompleteExportError, match="rowCount is 24 but the files hold 10"):
        score_files([DATA / "runreport_page1_20250101-20250131.json"], list(POSTS))


def test_the_same_export_twice_or_two_periods_are_refused(tmp_path: Path) -> None:
    with pytest.raises(OverlappingExportsError, match="both list"):
        score_files([EN, KO], list(POSTS))
    february = tmp_path / "feb.csv"
    february.write_text(EN.read_text(encoding="utf-8-sig").replace("20250101", "20250201")
                        .replace("20250131", "20250228"), encoding="utf-8")
    with pytest.raises(OverlappingExportsError, match="different periods"):
        score_files([EN, february], list(POSTS))


def test_a_post_with_too_few_views_is_never_pruned() -> None:
    strict = Ga4Config(min_views=1000)
    run = run_on(config=strict)
    assert all(p.tier == "insufficient-data" for p in run.posts if p.views < 1000)
    assert not any(p.tier == "prune" for p in run.posts if p.views < 1000)


def test_ties_are_broken_by_post_id(tmp_path: Path) -> None:
    rows = "".join(f"/twin-{i}/,100,50,30,1\n" for i in (3, 1, 2))
    path = tmp_path / "twins_20250101-20250131.csv"
    path.write_text("Page path and screen class,Views,Active users,"
                    "Average engagement time per active user,Key events\n" + rows)
    twins = [SitePost(i, f"twin-{i}", f"https://x.test/twin-{i}/", dt.datetime(2024, 1, 1),
                      dt.datetime(2024, 1, 1), f"Twin {i}") for i in (3, 1, 2)]
    run = score_files([path], twins)
    assert [(p.post_id, p.score) for p in run.posts] == [(1, 50.0), (2, 50.0), (3, 50.0)]


def _previous(**posts: tuple[str, float | None, float]) -> PreviousSnapshot:
    return PreviousSnapshot(dt.date(2025, 1, 1), type(run_on().period)(*DECEMBER),
                            {int(k[1:]): PreviousPost(*v) for k, v in posts.items()})


def test_decay_refresh_means_was_good_and_is_sliding() -> None:
    run = run_on()
    now = {p.post_id: p for p in run.posts}
    previous = _previous(
        # 103 was promote with twice the views per day: halved -> severe -> refresh.
        p103=("promote", 90.0, now[103].views_per_day * 2),
        # 102 kept its reach and score: no decay, stays keep.
        p102=("keep", 60.0, now[102].views_per_day),
        # 110 lost 20 points but was already refresh: decaying, but not "was good".
        p110=("refresh", (now[110].score or 0) + 20, now[110].views_per_day),
        # 106 slid a little (reach 80%): mild, not decaying, stays keep.
        p106=("keep", now[106].score, now[106].views_per_day / 0.8),
    )
    later = run_on(previous=previous)
    by_id = {p.post_id: p for p in later.posts}
    assert (by_id[103].tier, by_id[103].rule, by_id[103].decay, by_id[103].decaying) == (
        "refresh", "sliding", "severe", True)
    assert by_id[103].previous_tier == "promote"
    assert by_id[103].reach_share == 0.5
    assert (by_id[102].tier, by_id[102].decay, by_id[102].decaying) == ("keep", "none", False)
    assert (by_id[110].tier, by_id[110].decay, by_id[110].score_change) == (
        "keep", "moderate", -20.0)
    assert (by_id[106].tier, by_id[106].decay) == ("keep", "mild")
    assert by_id[101].previous_tier == "" and by_id[101].decay == ""
    assert later.previous_day == dt.date(2025, 1, 1)


def test_a_bottom_post_is_pruned_and_weights_are_config() -> None:
    run = run_on(config=Ga4Config(prune_score=20.0, refresh_score=30.0))
    assert run.post(109) is not None and run.post(109).tier == "prune"  # type: ignore[union-attr]
    reach_only = run_on(config=Ga4Config(weight_engagement=0, weight_views_per_user=0,
                                         weight_key_events=0))
    best = reach_only.posts[0]
    assert best.post_id == 101  # most views per day
    assert best.points["engagement"] == 0.0


def test_config_is_checked_and_explains_itself() -> None:
    with pytest.raises(ConfigError, match="prune_score"):
        Ga4Config(prune_score=40.0)
    with pytest.raises(ConfigError, match="must not all be 0"):
        Ga4Config(weight_reach=0, weight_engagement=0, weight_views_per_user=0,
                  weight_key_events=0)
    reasons = Ga4Config.reasons()
    assert set(reasons) == {f.name for f in dataclasses.fields(Ga4Config)}
    assert all(reason and "\n" not in reason for reason in reasons.values())


def test_a_file_without_key_events_drops_that_weight(tmp_path: Path) -> None:
    path = tmp_path / "p_20250101-20250131.csv"
    text = EN.read_text(encoding="utf-8-sig").split("\n\n", 1)[1]
    path.write_text("\n".join(",".join(line.split(",")[:5]) for line in text.splitlines()))
    run = score_files([path], list(POSTS))
    assert run.components == ("reach", "engagement", "views_per_user")
    assert run.weights["key_events"] == 0.0
    assert sum(run.weights.values()) == pytest.approx(1.0)
