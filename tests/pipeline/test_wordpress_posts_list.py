"""Listing every published post through the bridge, as GA4 scoring reads the site."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from urllib.parse import quote

import pytest
import requests

from devkit.wordpress.standin import WordPressStandIn
from devkit.wordpress.store import Post
from pipeline.ga4 import score_files
from pipeline.wordpress import Bridge, BridgeConfig, BridgeRequestError
from pipeline.wordpress.posts import PostSummary, list_posts


def many_posts(n: int) -> list[Post]:
    posts = [Post(id=1000 + i, title=f"글 {i} & 메모", content="본문",
                  slug=quote(f"글-{i}", safe="-").lower(),
                  date=f"2024-{1 + i % 12:02d}-{1 + i % 28:02d}T09:00:00") for i in range(250)]
    posts[7].status = "draft"
    return posts[:n]


def test_list_posts_pages_by_x_wp_totalpages_with_fields() -> None:
    with WordPressStandIn(many_posts(250)) as wordpress, \
            Bridge(BridgeConfig.from_values(wordpress.base_url, wordpress.token)) as bridge:
        posts = list_posts(bridge)
        calls = wordpress.requests_to("GET", "posts.collection")
        # Direct look at what WordPress answers: the headers and the fields.
        raw = requests.get(f"{wordpress.base_url}/wp/v2/posts",
                           params={"_fields": "id,title", "per_page": 100, "page": 3},
                           timeout=5)
        past = requests.get(f"{wordpress.base_url}/wp/v2/posts", params={"page": 99},
                            timeout=5)
    assert len(posts) == 249  # the draft is not listed
    assert [p.id for p in posts] == sorted(p.id for p in posts)
    assert [c.query["page"] for c in calls] == ["1", "2", "3"]
    assert all(c.query["_fields"] == "id,slug,link,date,modified,title"
               and c.query["per_page"] == "100" for c in calls)
    first = posts[0]
    assert first == PostSummary(id=1000, slug=quote("글-0", safe="-").lower(),
                                link=f"{wordpress.site_url}/{quote('글-0', safe='-').lower()}/",
                                date=dt.datetime(2024, 1, 1, 9),
                                modified=dt.datetime(2024, 1, 1, 9), title="글 0 & 메모")
    assert raw.headers["X-WP-Total"] == "249" and raw.headers["X-WP-TotalPages"] == "3"
    assert set(raw.json()[0]) == {"id", "title"} and len(raw.json()) == 49
    assert past.status_code == 400 and past.json()["code"] == "rest_post_invalid_page_number"


def test_an_empty_site_lists_nothing_in_one_request() -> None:
    with WordPressStandIn([]) as wordpress, \
            Bridge(BridgeConfig.from_values(wordpress.base_url, wordpress.token)) as bridge:
        assert list_posts(bridge) == []
        assert len(wordpress.requests_to("GET", "posts.collection")) == 1


def test_a_failing_page_is_the_bridges_error(wordpress: WordPressStandIn) -> None:
    wordpress.fail_next("GET", "posts.collection", status=400)
    with Bridge(BridgeConfig.from_values(wordpress.base_url, wordpress.token)) as bridge, \
            pytest.raises(BridgeRequestError, match="GET /wp/v2/posts"):
        list_posts(bridge)


def test_the_listing_is_the_posts_port_of_scoring(wordpress: WordPressStandIn,
                                                  tmp_path: Path) -> None:
    """The stand-in's Korean posts, found by GA4 paths raw and percent-encoded."""
    with Bridge(BridgeConfig.from_values(wordpress.base_url, wordpress.token)) as bridge:
        posts = list_posts(bridge)
    first, second = posts[0], posts[1]
    raw_path = "/" + requests.utils.unquote(first.slug) + "/"
    export = tmp_path / "pages_20261101-20261130.csv"
    export.write_text("Page path and screen class,Views,Active users\n"
                      f"{raw_path},900,600\n/{first.slug.upper()}/?utm_source=naver,100,90\n"
                      f"/{second.slug}/,50,40\n", encoding="utf-8")
    run = score_files([export], lambda: posts)
    row = run.post(first.id)
    assert row is not None and (row.views, row.variants) == (1000, 2)
    assert row.title == first.title
