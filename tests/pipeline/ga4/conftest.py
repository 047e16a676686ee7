"""Fixtures of the GA4 tests: the sample exports and the posts of the sample site."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from urllib.parse import quote

import pytest

from pipeline.ga4 import SitePost

DATA = Path(__file__).resolve().parents[2] / "data" / "ga4"
SITE = "https://seoulmake.com"


def site_post(post_id: int, slug: str, title: str, published: str,
              modified: str | None = None) -> SitePost:
    """A post as WordPress lists it: the slug and the link percent-encoded in lowercase hex."""
    encoded = quote(slug, safe="-").lower()
    when = dt.datetime.fromisoformat(published)
    return SitePost(id=post_id, slug=encoded, link=f"{SITE}/{encoded}/", date=when,
                    modified=dt.datetime.fromisoformat(modified) if modified else when,
                    title=title)


#: The sample site's posts (the exports in tests/data/ga4 cover January 2025).
POSTS = (
    site_post(101, "서울-여행-코스", "서울 여행 코스 추천", "2024-03-02T09:00:00"),
    site_post(102, "부산-맛집-지도", "부산 맛집 지도 - 현지인 추천", "2024-05-11T10:30:00"),
    site_post(103, "제주-한-달-살기", "제주 한 달 살기, 비용 정리", "2024-06-20T08:00:00"),
    site_post(104, "강릉-카페-거리", "강릉 카페 거리 \"안목해변\"", "2024-07-01T09:00:00"),
    site_post(105, "설날-선물-추천", "설날 선물 추천 2025", "2025-01-25T09:00:00"),
    site_post(106, "how-to-pack-light", "How to pack light (가볍게 짐 싸기)",
              "2024-02-10T09:00:00"),
    site_post(107, "겨울-캠핑-준비물", "겨울 캠핑 준비물", "2024-11-30T09:00:00"),
    site_post(108, "전주-한옥마을", "전주 한옥마을 하루", "2024-04-04T09:00:00"),
    site_post(109, "여수-밤바다", "여수 밤바다 산책", "2024-08-15T09:00:00"),
    site_post(110, "속초-당일치기", "속초 당일치기", "2024-12-20T09:00:00"),
    site_post(111, "경주-역사-여행", "경주 역사 여행", "2024-09-09T09:00:00"),
    site_post(112, "대구-근교-나들이", "대구 근교 나들이", "2024-10-10T09:00:00",
              "2025-01-20T09:00:00"),
    site_post(113, "목포-해상케이블카", "목포 해상케이블카", "2024-01-05T09:00:00"),
)


@pytest.fixture
def posts() -> list[SitePost]:
    """The sample site's posts."""
    return list(POSTS)
