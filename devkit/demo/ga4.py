"""A GA4 "Pages and screens" download for the stand-in's sample posts (demo, e2e tests).

:func:`sample_posts` are the stand-in's posts published across 2026, so that
every one is old enough to rank in :data:`SAMPLE_PERIOD` (November 2026);
:func:`write_sample_export` writes the download GA4 would give for them, in
the English or the Korean UI: the comment block, a chart series, the page
table with a totals row, quoted thousands, four path variants of the first
post, and paths that are no post (home, a category, a static page, a deleted
post, ``(not set)``). The traffic is chosen so that the tiers differ.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Final
from urllib.parse import quote, unquote

from dramatiq.brokers.redis import RedisBroker

from brokers.producer import send
from devkit.demo.outcomes import wait_outcomes
from devkit.wordpress.store import Post, load_sample_posts
from pipeline.doclog import EVENT_GA4_SCORED
from pipeline.errors import AtrError
from pipeline.ga4.reader import Period
from pipeline.settings import Settings

__all__ = ["SAMPLE_PERIOD", "DemoGa4Error", "demo_ga4", "sample_posts", "write_sample_export"]

_TIMEOUT_S: Final = 120.0

SAMPLE_PERIOD: Final = Period(dt.date(2026, 11, 1), dt.date(2026, 11, 30))
#: (views, active users, average engagement seconds, key events) of the posts, in id order.
_TRAFFIC: Final = ((9_000, 4_000, 95, 120), (6_000, 3_000, 80, 60), (3_000, 1_800, 70, 20),
                   (1_500, 1_100, 50, 8), (900, 700, 40, 3), (400, 350, 25, 4),
                   (45, 44, 5, 0), (12, 10, 30, 0))
_OTHER_PATHS: Final = (("/", 20_000, 12_000, 20, 40), ("/category/여행/", 800, 600, 15, 0),
                       ("/about/", 300, 280, 30, 0), ("/old-deleted-post/", 50, 45, 10, 0),
                       ("(not set)", 5, 5, 0, 0))
_HEADERS: Final = {
    "en": ("Page path and screen class", "Views", "Active users", "Views per active user",
           "Average engagement time per active user", "Event count", "Key events",
           "Total revenue"),
    "ko": ("페이지 경로 및 화면 클래스", "조회수", "활성 사용자", "활성 사용자당 조회수",
           "활성 사용자당 평균 참여 시간", "이벤트 수", "주요 이벤트", "총 수익"),
}
_COMMENTS: Final = {
    "en": ("Pages and screens: Page path and screen class", "Account: Seoulmake",
           "Property: seoulmake.com - GA4", "All Users", "Start date", "End date", "Nth day"),
    "ko": ("페이지 및 화면: 페이지 경로 및 화면 클래스", "계정: Seoulmake",
           "속성: seoulmake.com - GA4", "모든 사용자", "시작일", "종료일", "N일"),
}


def sample_posts() -> list[Post]:
    """The stand-in's sample posts, published on the 5th of January to August 2026."""
    return [dataclasses.replace(p, date=f"2026-{i % 8 + 1:02d}-05T09:00:00")
            for i, p in enumerate(load_sample_posts())]


def write_sample_export(path: Path, posts: Sequence[Post], *, language: str = "en",
                        period: Period = SAMPLE_PERIOD,
                        scale: Mapping[int, float] | None = None) -> Path:
    """Write the sample download for ``posts`` (up to 8 get traffic) to ``path``; ``path``.

    ``scale`` multiplies the views of some posts (post id -> factor), e.g. to
    make one slide against an earlier period.
    """
    names = _COMMENTS[language]
    rows: list[tuple[str, float, float, float, float]] = []
    for post, (views, users, seconds, key_events) in zip(posts, _TRAFFIC, strict=False):
        factor = (scale or {}).get(post.id, 1.0)
        views, users = round(views * factor), max(1, round(users * factor))
        raw = unquote(post.slug)
        if post is posts[0]:
            # One post under four paths: raw Korean, upper- and lower-case escapes, a query.
            quarter = views // 4
            upper = quote(raw, safe="-").upper()
            for variant in (f"/{raw}/", f"/{upper}/", f"/{post.slug}",
                            f"/{raw}/?utm_source=naver&utm_medium=social"):
                rows.append((variant, quarter, users / 4, seconds, key_events / 4))
        else:
            rows.append((f"/{raw}/", views, users, seconds, key_events))
    rows += list(_OTHER_PATHS)
    table = io.StringIO()
    writer = csv.writer(table, lineterminator="\r\n")
    writer.writerow(_HEADERS[language])
    total_views: float = sum(r[1] for r in rows)
    total_users: float = sum(r[2] for r in rows)
    writer.writerow(["", f"{total_views:,.0f}", f"{total_users:,.0f}", "", "", "", "", "0"])
    for raw_path, n_views, n_users, average_s, n_key_events in rows:
        writer.writerow([raw_path, f"{n_views:,.0f}", f"{n_users:,.0f}",
                         f"{n_views / n_users:.2f}" if n_users else "0", f"{average_s:.0f}",
                         f"{n_views * 3:,.0f}", f"{n_key_events:.0f}", "0"])
    chart = io.StringIO()
    chart_writer = csv.writer(chart, lineterminator="\r\n")
    chart_writer.writerow([names[6], _HEADERS[language][0], _HEADERS[language][1]])
    for day in range(3):
        chart_writer.writerow([f"{day:04d}", "/", "650"])
    comments = "\r\n".join([
        "# ----------------------------------------", f"# {names[0]}", f"# {names[1]}",
        f"# {names[2]}", "# ----------------------------------------", "#", f"# {names[3]}",
        f"# {names[4]}: {period.start:%Y%m%d}", f"# {names[5]}: {period.end:%Y%m%d}"])
    text = comments + "\r\n" + chart.getvalue() + "\r\n" + table.getvalue()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(("\ufeff" + text).encode("utf-8"))
    return path


class DemoGa4Error(AtrError):
    """Raised when the demo's GA4 scoring failed or did not finish in time."""


def demo_ga4(broker: RedisBroker, settings: Settings) -> list[str]:
    """Drop a Korean-UI sample export, let worker2 score it, write the report; lines to print.

    The lines are the tiers, the snapshot's rows and the report's path.
    Raises DemoGa4Error when the message died or was rejected.
    """
    from ops.ga4_cli import render_snapshot
    from pipeline.ga4.report import report

    export = write_sample_export(settings.ga4_drop_dir / "pages_and_screens_2026-11.csv",
                                 sample_posts(), language="ko")
    message = send(broker, "ga4_score", {})
    done, failures = wait_outcomes(settings.doclog_root, "ga4_score", {message.message_id: 0},
                                   EVENT_GA4_SCORED, timeout_s=_TIMEOUT_S, missing="no score")
    if failures:
        raise DemoGa4Error(f"GA4 scoring of {export.name} failed: {failures[0]}")
    scored = done[0]
    tiers = ", ".join(f"{tier} {n}" for tier, n in scored["tiers"].items())
    snapshot = Path(str(scored["snapshot"]))
    page = report(settings.doclog_root, f"{SAMPLE_PERIOD.end:%Y-%m}", settings.ga4_config)
    return [f"dropped {export} (Korean UI); worker2 scored {scored['posts']} posts of "
            f"{scored['period']['start']}..{scored['period']['end']} in "
            f"{scored['duration_ms']} ms: {tiers}",
            f"{scored['unmatched_paths']} paths are no post (home, category, page, deleted); "
            f"the export moved to {settings.ga4_drop_dir / 'done'}",
            *render_snapshot(snapshot).splitlines(),
            f"snapshot: {snapshot}",
            f"monthly report (open it in a browser): {page}"]
