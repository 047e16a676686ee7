"""Path normalisation, classification of non-post paths, and the lookup of posts."""

from __future__ import annotations

import unicodedata

import pytest

from pipeline.ga4 import normalise_path
from pipeline.ga4.paths import PostIndex, classify_path
from tests.pipeline.ga4.conftest import POSTS

SEOUL = "/서울-여행-코스/"


@pytest.mark.parametrize("raw", [
    "/서울-여행-코스/",
    "/서울-여행-코스",
    "/%EC%84%9C%EC%9A%B8-%EC%97%AC%ED%96%89-%EC%BD%94%EC%8A%A4/",
    "/%ec%84%9c%ec%9a%b8-%ec%97%ac%ed%96%89-%ec%bd%94%ec%8a%a4",
    "/%ec%84%9c%ec%9a%b8-%EC%97%AC%ed%96%89-%EC%BD%94%EC%8A%A4/?utm_source=naver",
    "/서울-여행-코스/#comments",
    "/서울-여행-코스/?fbclid=IwAR0x#top",
    unicodedata.normalize("NFD", "/서울-여행-코스/"),
    "https://seoulmake.com/서울-여행-코스/?ref=kakao",
    "  /서울-여행-코스/  ",
    "//서울-여행-코스//",
])
def test_every_variant_of_one_korean_post_is_one_path(raw: str) -> None:
    assert normalise_path(raw) == SEOUL


@pytest.mark.parametrize(("raw", "expected"), [
    ("", "(not set)"),
    ("(not set)", "(not set)"),
    ("(NOT SET)", "(not set)"),
    ("(other)", "(other)"),
    ("/", "/"),
    ("/?utm_source=x", "/"),
    ("/?p=123", "/?p=123"),
    ("/?p=123&utm_source=x", "/?p=123"),
    ("/?page_id=7", "/?p=7"),
    ("/How-To-Pack-Light", "/how-to-pack-light/"),
    ("/ads.txt", "/ads.txt"),
    ("/%FF%FE/", "/%ff%fe/"),  # not UTF-8: left encoded (lower-cased), never an error
    ("category/여행", "/category/여행/"),
])
def test_special_and_edge_paths(raw: str, expected: str) -> None:
    assert normalise_path(raw) == expected


@pytest.mark.parametrize(("path", "reason"), [
    ("/", "home"),
    ("/category/여행/", "archive"),
    ("/tag/맛집/", "archive"),
    ("/author/admin/", "archive"),
    ("/2025/01/", "archive"),
    ("/page/2/", "archive"),
    ("/?s=서울", "archive"),
    ("/about/", "page"),
    ("(not set)", "not_set"),
    ("(other)", "other"),
    ("/old-deleted-post/", "no_post"),
])
def test_paths_that_are_no_post(path: str, reason: str) -> None:
    assert classify_path(path, frozenset({"/about/"})) == reason


def test_post_lookup_by_permalink_short_link_suffix_and_slug() -> None:
    index = PostIndex(POSTS)
    assert index.find(SEOUL) == 101
    assert index.find("/?p=102") == 102
    assert index.find("/?p=999") is None
    assert index.find("/how-to-pack-light/amp/") == 106
    assert index.find("/서울-여행-코스/comment-page-2/") == 101
    # An old date-based permalink still finds the post by its slug.
    assert index.find("/2024/03/서울-여행-코스/") == 101
    assert index.find("/category/서울-여행-코스/") is None  # a category, not the post
    assert index.find("/") is None
    assert index.find("(not set)") is None
