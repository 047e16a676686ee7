"""The WordPress stand-in's tags, post tags, registered meta and test helpers, over raw HTTP.

These pin the WordPress 6.1 behaviour the bridge relies on (and must survive):
the shapes and error bodies, the escaped names, the silent drops, the race.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from devkit.wordpress import ADMIN, READER, WordPressStandIn
from devkit.wordpress.standin import SEO_META_KEYS

SEOUL_CAFE_SLUG = "%ec%84%9c%ec%9a%b8-%ec%b9%b4%ed%8e%98"


class Client:
    """Plain ``requests`` calls to the stand-in as a given user (None: anonymous)."""

    def __init__(self, server: WordPressStandIn, login: str | None = ADMIN.login,
                 password: str = ADMIN.app_password) -> None:
        self.base = server.base_url
        self.auth = (login, password) if login else None

    def get(self, route: str, **params: Any) -> requests.Response:
        return requests.get(self.base + route, params=params, auth=self.auth, timeout=5)

    def post(self, route: str, body: Any) -> requests.Response:
        return requests.post(self.base + route, json=body, auth=self.auth, timeout=5)


@pytest.fixture
def admin(wordpress: WordPressStandIn) -> Iterator[Client]:
    yield Client(wordpress)


def test_a_created_tag_has_wordpress_shape_and_a_korean_slug(
        admin: Client, wordpress: WordPressStandIn) -> None:
    answer = admin.post("/wp/v2/tags", {"name": "  서울   카페 "})
    assert answer.status_code == 201
    tag = answer.json()
    assert tag == {"id": tag["id"], "count": 0, "description": "",
                   "link": f"{wordpress.site_url}/tag/{SEOUL_CAFE_SLUG}/", "name": "서울 카페",
                   "slug": SEOUL_CAFE_SLUG, "taxonomy": "post_tag", "meta": []}
    assert answer.headers["Location"] == f"{wordpress.base_url}/wp/v2/tags/{tag['id']}"
    assert admin.get(f"/wp/v2/tags/{tag['id']}").json() == tag
    (stored,) = wordpress.tags
    assert (stored.id, stored.name, stored.slug) == (tag["id"], "서울 카페", SEOUL_CAFE_SLUG)


def test_a_name_is_stored_escaped_and_answered_so_in_every_context(admin: Client) -> None:
    tag = admin.post("/wp/v2/tags", {"name": "커피 & <i>디저트</i>"}).json()
    assert tag["name"] == "커피 &amp; 디저트"
    assert tag["slug"] == "%ec%bb%a4%ed%94%bc-%eb%94%94%ec%a0%80%ed%8a%b8"
    for context in ("view", "edit"):
        assert admin.get(f"/wp/v2/tags/{tag['id']}", context=context).json()["name"] == \
            "커피 &amp; 디저트"
    # search matches the stored (escaped) form, as a SQL LIKE on wp_terms.name does.
    assert admin.get("/wp/v2/tags", search="커피 & 디저트").json() == []
    assert [t["id"] for t in admin.get("/wp/v2/tags", search="커피 &amp; 디저트").json()] == \
        [tag["id"]]


def test_an_existing_name_is_term_exists_with_the_term_id(admin: Client) -> None:
    first = admin.post("/wp/v2/tags", {"name": "Jeju Trip"}).json()
    answer = admin.post("/wp/v2/tags", {"name": "jeju trip"})
    assert answer.status_code == 400
    assert answer.json() == {
        "code": "term_exists",
        "message": "A term with the name provided already exists in this taxonomy.",
        "data": {"status": 400, "term_id": first["id"]}}


def test_a_taken_slug_gets_a_number_as_in_wp_unique_term_slug(
        admin: Client, wordpress: WordPressStandIn) -> None:
    # Two names (no term_exists), one slug: spaces and dashes both become "-".
    admin.post("/wp/v2/tags", {"name": "서울 카페"})
    second = admin.post("/wp/v2/tags", {"name": "서울-카페"})
    assert second.status_code == 201
    assert [t.slug for t in wordpress.tags] == [SEOUL_CAFE_SLUG, f"{SEOUL_CAFE_SLUG}-2"]


@pytest.mark.parametrize(("body", "status", "code"), [
    ({}, 400, "rest_missing_callback_param"),
    ({"name": 7}, 400, "rest_invalid_param"),
    ({"name": "   "}, 500, "empty_term_name"),
])
def test_a_bad_create_is_refused(body: dict[str, Any], status: int, code: str, admin: Client,
                                 wordpress: WordPressStandIn) -> None:
    answer = admin.post("/wp/v2/tags", body)
    assert (answer.status_code, answer.json()["code"]) == (status, code)
    assert wordpress.tags == []


def test_who_may_create_and_read_tags(wordpress: WordPressStandIn) -> None:
    reader = Client(wordpress, READER.login, READER.app_password)
    anonymous = Client(wordpress, None)
    for client, status in ((reader, 403), (anonymous, 401)):
        answer = client.post("/wp/v2/tags", {"name": "제주"})
        assert (answer.status_code, answer.json()["code"]) == (status, "rest_cannot_create")
        listing = client.get("/wp/v2/tags", context="edit")
        assert (listing.status_code, listing.json()["code"]) == (status,
                                                                   "rest_forbidden_context")
    tag = wordpress.add_tag("제주")
    assert reader.get("/wp/v2/tags").json()[0]["id"] == tag.id
    assert anonymous.get(f"/wp/v2/tags/{tag.id}").status_code == 200
    assert reader.get(f"/wp/v2/tags/{tag.id}", context="edit").status_code == 403
    missing = reader.get("/wp/v2/tags/9999")
    assert (missing.status_code, missing.json()["code"]) == (404, "rest_term_invalid")


def test_listing_filters_orders_and_pages_like_wordpress(
        admin: Client, wordpress: WordPressStandIn) -> None:
    ids = {name: wordpress.add_tag(name).id for name in ("제주 맛집", "Busan", "제주", "apple")}
    names = [t["name"] for t in admin.get("/wp/v2/tags", per_page=100).json()]
    assert names == ["apple", "Busan", "제주", "제주 맛집"]  # by name, case-insensitively
    assert [t["name"] for t in admin.get("/wp/v2/tags", search="제주").json()] == \
        ["제주", "제주 맛집"]
    include = f"{ids['제주']},{ids['apple']},4242"
    assert [t["id"] for t in admin.get("/wp/v2/tags", include=include).json()] == \
        [ids["apple"], ids["제주"]]
    assert [t["id"] for t in admin.get("/wp/v2/tags", include=include,
                                       orderby="include").json()] == [ids["제주"], ids["apple"]]
    assert [t["name"] for t in admin.get("/wp/v2/tags", slug="busan,apple").json()] == \
        ["apple", "Busan"]
    page = admin.get("/wp/v2/tags", per_page=3, page=2)
    assert [t["name"] for t in page.json()] == ["제주 맛집"]
    assert (page.headers["X-WP-Total"], page.headers["X-WP-TotalPages"]) == ("4", "2")
    for bad in ({"per_page": 101}, {"orderby": "random"}, {"include": "x"}):
        answer = admin.get("/wp/v2/tags", **bad)
        assert (answer.status_code, answer.json()["code"]) == (400, "rest_invalid_param")


def test_racing_creates_both_succeed_with_the_option_and_are_atomic_without(
        wordpress: WordPressStandIn) -> None:
    def create_twice(server: WordPressStandIn) -> list[int]:
        client, barrier, statuses = Client(server), threading.Barrier(2), []

        def one() -> None:
            barrier.wait()
            statuses.append(client.post("/wp/v2/tags", {"name": "서울 카페"}).status_code)

        pool = [threading.Thread(target=one) for _ in range(2)]
        for thread in pool:
            thread.start()
        for thread in pool:
            thread.join(timeout=10)
        return sorted(statuses)

    with WordPressStandIn(tag_create_race_s=0.3) as racy:
        assert create_twice(racy) == [201, 201]
        assert [t.slug for t in racy.tags] == [SEOUL_CAFE_SLUG, f"{SEOUL_CAFE_SLUG}-2"]
        assert {t.name for t in racy.tags} == {"서울 카페"}
    assert create_twice(wordpress) == [201, 400]
    assert len(wordpress.tags) == 1


def test_post_tags_drop_unknown_ids_and_come_back_in_name_order(
        admin: Client, wordpress: WordPressStandIn) -> None:
    post_id = wordpress.post_ids[0]
    zeta, alpha = wordpress.add_tag("제주"), wordpress.add_tag("가을")
    answer = admin.post(f"/wp/v2/posts/{post_id}", {"tags": [zeta.id, 4242, alpha.id, zeta.id]})
    assert answer.status_code == 200
    assert answer.json()["tags"] == [alpha.id, zeta.id] == wordpress.post(post_id).tags
    tags = admin.get("/wp/v2/tags", include=f"{alpha.id},{zeta.id}").json()
    assert [t["count"] for t in tags] == [1, 1]
    bad = admin.post(f"/wp/v2/posts/{post_id}", {"tags": "제주"})
    assert (bad.status_code, bad.json()["code"]) == (400, "rest_invalid_param")


def test_the_seo_keys_are_registered_by_default_and_sanitized(
        admin: Client, wordpress: WordPressStandIn) -> None:
    post_id = wordpress.post_ids[0]
    # As WordPress does, every registered key is listed, "" until written.
    empty = dict.fromkeys(sorted(SEO_META_KEYS), "")
    assert admin.get(f"/wp/v2/posts/{post_id}", context="edit").json()["meta"] == empty
    meta = {"_yoast_wpseo_title": " <b>성수동</b>  카페\n투어 ", "rank_math_title": "제목",
            "unregistered_key": "dropped"}
    answer = admin.post(f"/wp/v2/posts/{post_id}", {"meta": meta})
    assert answer.json()["meta"] == {**empty, "_yoast_wpseo_title": "성수동 카페 투어",
                                     "rank_math_title": "제목"}
    answer = admin.post(f"/wp/v2/posts/{post_id}", {"meta": {"rank_math_title": None}})
    assert answer.json()["meta"] == {**empty, "_yoast_wpseo_title": "성수동 카페 투어"}
    bad = admin.post(f"/wp/v2/posts/{post_id}", {"meta": {"rank_math_title": 3}})
    assert (bad.status_code, bad.json()["code"]) == (400, "rest_invalid_param")


def test_without_registered_meta_every_key_is_dropped_and_meta_is_a_list() -> None:
    with WordPressStandIn(registered_meta=frozenset()) as wordpress:
        post_id = wordpress.post_ids[0]
        answer = Client(wordpress).post(f"/wp/v2/posts/{post_id}",
                                        {"meta": {"_yoast_wpseo_title": "제목"}})
        assert (answer.status_code, answer.json()["meta"]) == (200, [])
        assert wordpress.registered_meta == frozenset()


def test_edit_post_plays_a_person_in_wp_admin(admin: Client, wordpress: WordPressStandIn) -> None:
    post_id = wordpress.post_ids[1]
    tag = wordpress.add_tag("편집자 태그")
    with pytest.raises(ValueError, match="exists"):
        wordpress.add_tag("편집자 태그")
    edited = wordpress.edit_post(post_id, title="고친 제목", tags=[tag.id],
                                 meta={"_yoast_wpseo_metadesc": "사람이 쓴 설명"})
    assert (edited.title, edited.tags) == ("고친 제목", [tag.id])
    post = admin.get(f"/wp/v2/posts/{post_id}", context="edit").json()
    assert post["title"]["raw"] == "고친 제목" and post["tags"] == [tag.id]
    assert post["meta"] == {**dict.fromkeys(sorted(SEO_META_KEYS), ""),
                            "_yoast_wpseo_metadesc": "사람이 쓴 설명"}
    assert wordpress.edit_post(post_id, meta={"_yoast_wpseo_metadesc": None}).meta == {}
    with pytest.raises(ValueError, match=r"tag ids \[4242\] are not tags"):
        wordpress.edit_post(post_id, tags=[4242])
    # post() is a copy: changing it changes nothing.
    wordpress.post(post_id).meta["_yoast_wpseo_title"] = "lost"
    assert "_yoast_wpseo_title" not in wordpress.post(post_id).meta
    assert wordpress.requests_to("POST", "posts.item") == []  # edits are not requests


def test_fail_next_can_skip_requests_and_refuses_an_unknown_route(
        admin: Client, wordpress: WordPressStandIn) -> None:
    wordpress.fail_next("POST", "tags.collection", status=500, after_effect=True, skip=1)
    assert admin.post("/wp/v2/tags", {"name": "하나"}).status_code == 201
    assert admin.post("/wp/v2/tags", {"name": "둘"}).status_code == 500
    assert admin.post("/wp/v2/tags", {"name": "셋"}).status_code == 201
    assert [t.name for t in wordpress.tags] == ["하나", "둘", "셋"]  # the 500 came after the write
    assert [r.fault for r in wordpress.requests_to("POST", "tags.collection")] == \
        [False, True, False]
    wordpress.fail_next("GET", "tags.item", status=503)
    assert admin.get(f"/wp/v2/tags/{wordpress.tags[0].id}").status_code == 503
    with pytest.raises(ValueError, match=r"unknown route 'tag\.collection'"):
        wordpress.fail_next("POST", "tag.collection")


def test_the_race_option_must_not_be_negative() -> None:
    with pytest.raises(ValueError, match="tag_create_race_s=-1 must be >= 0 seconds"):
        WordPressStandIn(tag_create_race_s=-1)


@pytest.mark.parametrize("after_effect", [False, True], ids=["before", "after"])
def test_reset_next_resets_the_connection_before_or_after_the_write(
        after_effect: bool, admin: Client, wordpress: WordPressStandIn) -> None:
    wordpress.reset_next("POST", "tags.collection", after_effect=after_effect)
    with pytest.raises(requests.ConnectionError, match=r"reset by peer|aborted"):
        admin.post("/wp/v2/tags", {"name": "끊김"})
    assert [t.name for t in wordpress.tags] == (["끊김"] if after_effect else [])
    (recorded,) = wordpress.requests_to("POST", "tags.collection")
    assert recorded.fault and recorded.status == 0
    assert admin.post("/wp/v2/tags", {"name": "다음"}).status_code == 201  # one-off


def test_hang_next_can_skip_requests_and_apply_the_write_before_hanging(
        admin: Client, wordpress: WordPressStandIn) -> None:
    wordpress.hang_next("POST", "tags.collection", seconds=2, after_effect=True, skip=1)
    assert admin.post("/wp/v2/tags", {"name": "먼저"}).status_code == 201
    with pytest.raises(requests.Timeout):
        requests.post(admin.base + "/wp/v2/tags", json={"name": "느림"}, auth=admin.auth,
                      timeout=0.5)
    assert [t.name for t in wordpress.tags] == ["먼저", "느림"]  # made, then the hang
