"""The column names GA4 writes, in the English and the Korean UI and in the Data API.

Each canonical field has every label we know for it. The labels of the web UI
changed over the years (``Users`` became ``Active users``, ``Conversions``
became ``Key events``, ``Average engagement time`` gained ``per active user``),
and a property viewed in the Korean UI exports translated headers. Headers are
compared case-insensitively with runs of spaces collapsed; a column with no
known label is ignored.

Where the labels come from (and which could not be confirmed) is listed in the
README's GA4 section.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Final

__all__ = [
    "DATE_DIMENSIONS",
    "METRICS",
    "PAGE_DIMENSIONS",
    "TOTAL_LABELS",
    "Metric",
    "canonical_header",
    "match_columns",
]


@dataclass(frozen=True)
class Metric:
    """A metric we read: its field name, how rows merge, and every label it goes by.

    ``kind`` is ``count`` (summed), ``average`` (per-user seconds: merged
    weighted by users), ``total_seconds`` (``userEngagementDuration``: summed,
    then divided by users) or ``rate`` (a fraction: merged weighted by
    sessions, else views). ``labels`` are in preference order: when a table
    has two of them (``Active users`` and ``Total users``) the first wins.
    """

    field: str
    kind: str
    labels: tuple[str, ...]
    english: str
    korean: str


#: The page-path dimension, in preference order. ``Page location`` is a full URL.
PAGE_DIMENSIONS: Final = (
    "page path and screen class", "page path", "page path + query string", "page location",
    "페이지 경로 및 화면 클래스", "페이지 경로", "페이지 경로 + 쿼리 문자열", "페이지 위치",
    "unifiedpagepathscreen", "pagepath", "pagepathplusquerystring", "pagelocation",
)

#: First columns of the chart series GA4 writes next to the table (ignored).
DATE_DIMENSIONS: Final = frozenset({
    "nth day", "nth week", "nth month", "date", "date + hour (yyyymmddhh)", "day", "week",
    "month", "n일", "n주", "n개월", "날짜", "날짜 + 시간(yyyymmddhh)",
    "nthday", "nthweek", "nthmonth", "datehour",
})

#: What GA4 writes in the first cell of a table's totals row (besides leaving it empty).
TOTAL_LABELS: Final = frozenset({"total", "totals", "grand total", "합계", "총계", "총합계"})

#: The metrics we read; other columns (Event count, Total revenue, ...) are ignored.
METRICS: Final = (
    Metric("views", "count",
           ("views", "조회수", "screenpageviews"), "Views", "조회수"),
    Metric("users", "count",
           ("active users", "users", "활성 사용자", "활성 사용자 수", "사용자", "사용자 수",
            "activeusers", "total users", "총 사용자", "총 사용자 수", "전체 사용자", "totalusers"),
           "Active users", "활성 사용자"),
    Metric("engagement_s", "average",
           ("average engagement time per active user", "average engagement time",
            "average engagement time per user", "활성 사용자당 평균 참여 시간", "평균 참여 시간",
            "사용자당 평균 참여 시간"),
           "Average engagement time per active user", "활성 사용자당 평균 참여 시간"),
    Metric("engagement_total_s", "total_seconds",
           ("userengagementduration", "user engagement", "사용자 참여"),
           "User engagement", "사용자 참여"),
    Metric("key_events", "count",
           ("key events", "conversions", "주요 이벤트", "키 이벤트", "전환", "전환수",
            "keyevents"),
           "Key events", "주요 이벤트"),
    Metric("sessions", "count",
           ("sessions", "세션수", "세션"), "Sessions", "세션수"),
    Metric("engagement_rate", "rate",
           ("engagement rate", "참여율", "engagementrate"), "Engagement rate", "참여율"),
    Metric("bounce_rate", "rate",
           ("bounce rate", "이탈률", "bouncerate"), "Bounce rate", "이탈률"),
)

_SPACES: Final = re.compile(r"\s+")


def canonical_header(name: str) -> str:
    """A header as compared: BOM and quotes stripped, spaces collapsed, case folded."""
    return _SPACES.sub(" ", name.replace("\ufeff", "").strip().strip('"')).casefold()


def match_columns(headers: Iterable[str]) -> tuple[int | None, Mapping[str, int]]:
    """(index of the page-path column or None, {metric field: column index}).

    The page path is the first of :data:`PAGE_DIMENSIONS` present; each metric
    takes the column of its first label present.
    """
    index: dict[str, int] = {}
    for i, header in enumerate(headers):
        index.setdefault(canonical_header(header), i)
    path = next((index[label] for label in PAGE_DIMENSIONS if label in index), None)
    metrics = {}
    for metric in METRICS:
        found = next((index[label] for label in metric.labels if label in index), None)
        if found is not None:
            metrics[metric.field] = found
    return path, metrics
