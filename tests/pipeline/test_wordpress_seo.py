"""Tags, post tags and SEO meta through the bridge, against the stand-in over HTTP.

What a user would see: the tags in WordPress's tag list (one per name, even
when workers race), the post's tags and meta read back, and the message of
each error class (never the Application Password).
"""

from __future__ import annotations

import base64
import contextlib
import re
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from devkit.wordpress import ADMIN, WordPressStandIn
from pipeline.errors import ConfigError, PermanentError, TransientError
from pipeline.text import normalise_tag
from pipeline.wordpress import (
    SEO_META_KEYS,
    Bridge,
    BridgeAuthError,
    BridgeConfig,
    BridgeError,
    BridgeForbiddenError,
    BridgeNotFoundError,
    BridgeRequestError,
    BridgeUnavailableError,
    MetaNotRegisteredError,
    Tag,
    TagLock,
    ValueNotStorableError,
    WriteNotAppliedError,
    ensure_tag,
    ensure_tags,
    find_tag,
    get_post,
    get_tag,
    get_tags,
    read_seo_fields,
    set_post_tags,
    tag_lock_key,
    write_seo_meta,
)

MU_PLUGIN = Path(__file__).parents[2] / "ops" / "wordpress" / "atr-seo-meta.php"
SECRETS = (ADMIN.app_password, ADMIN.app_password.replace(" ", ""),
           base64.b64encode(f"{ADMIN.login}:{ADMIN.app_password}".encode()).decode())
SEOUL_CAFE_SLUG = "%ec%84%9c%ec%9a%b8-%ec%b9%b4%ed%8e%98"


def bridge_for(server: WordPressStandIn, token: str | None = None) -> Bridge:
    config = BridgeConfig.from_values(server.base_url, token or server.token)
    return Bridge(BridgeConfig(config.base, config.user, config.password,
                               connect_timeout_s=2.0, read_timeout_s=10.0))


@pytest.fixture
def bridge(wordpress: WordPressStandIn) -> Iterator[Bridge]:
    with bridge_for(wordpress) as client:
        yield client


def no_lock(key: str) -> contextlib.AbstractContextManager[None]:
    """A lock that locks nothing: what a worker without the Redis lock would have."""
    return contextlib.nullcontext()


class KeyedLocks:
    """One ``threading.Lock`` per key, recording the keys (the actor uses a Redis lock)."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[str, threading.Lock] = {}
        self.keys: list[str] = []

    @contextlib.contextmanager
    def __call__(self, key: str) -> Iterator[None]:
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
            self.keys.append(key)
        with lock:
            yield


def assert_no_secret(error: BaseException) -> str:
    text = f"{error} {error!r}"
    for secret in SECRETS:
        assert secret not in text
    return str(error)


# -- tags -----------------------------------------------------------------

def test_get_or_create_returns_the_same_tag_twice_and_creates_once(
        bridge: Bridge, wordpress: WordPressStandIn) -> None:
    locks = KeyedLocks()
    first = ensure_tag(bridge, "서울 카페", locks)
    assert first == Tag(first.id, "서울 카페", SEOUL_CAFE_SLUG)
    # The same name, spelled differently (spaces, case, NFD), is the same tag.
    assert ensure_tag(bridge, "  서울   카페 ", locks) == first
    assert ensure_tag(bridge, "\u1109\u1165\u110b\u116e\u11af 카페", locks) == first
    assert ensure_tag(bridge, "Jeju", locks).id == ensure_tag(bridge, "JEJU", locks).id
    assert [t.slug for t in wordpress.tags] == [SEOUL_CAFE_SLUG, "jeju"]
    assert len(wordpress.requests_to("POST", "tags.collection")) == 2
    # Only creations lock, and on the normalised name.
    assert locks.keys == ["서울 카페", "jeju"] == [tag_lock_key("서울 카페"), tag_lock_key("Jeju")]
    assert find_tag(bridge, "서울 카페") == first and find_tag(bridge, "부산") is None
    assert get_tag(bridge, first.id) == first and get_tag(bridge, 9999) is None


def test_a_name_wordpress_escapes_is_compared_unescaped(
        bridge: Bridge, wordpress: WordPressStandIn) -> None:
    tag = ensure_tag(bridge, "커피 & 디저트", no_lock)
    assert tag.name == "커피 & 디저트"
    (stored,) = wordpress.tags
    assert stored.name == "커피 &amp; 디저트"  # as WordPress stores and answers it
    assert ensure_tag(bridge, "커피 & 디저트", no_lock) == tag == find_tag(bridge, "커피 & 디저트")
    assert len(wordpress.requests_to("POST", "tags.collection")) == 1


def test_term_exists_is_answered_with_the_existing_tag(
        bridge: Bridge, wordpress: WordPressStandIn) -> None:
    existing = wordpress.add_tag("여행")
    # Our lookups do not find "<b>여행</b>", but WordPress strips the markup and says term_exists.
    tag = ensure_tag(bridge, "<b>여행</b>", no_lock)
    assert tag == Tag(existing.id, "여행", existing.slug)
    (create,) = wordpress.requests_to("POST", "tags.collection")
    assert create.status == 400 and len(wordpress.tags) == 1
    # The bridge error carries WordPress's code and data.
    with pytest.raises(BridgeRequestError) as caught:
        bridge.request("POST", "/wp/v2/tags", json={"name": "여행"}, expect=(201,))
    assert caught.value.code == "term_exists"
    assert dict(caught.value.data) == {"status": 400, "term_id": existing.id}


def test_ensure_tags_keeps_the_order_and_drops_repeated_names(
        bridge: Bridge, wordpress: WordPressStandIn) -> None:
    tags = ensure_tags(bridge, ["제주", "Busan", "제주 ", "busan", "서울 카페"], KeyedLocks())
    assert [t.name for t in tags] == ["제주", "Busan", "서울 카페"]
    assert len(wordpress.tags) == 3
    assert get_tags(bridge, [tags[2].id, 9999, tags[0].id]) == [tags[2], tags[0]]
    assert get_tags(bridge, []) == []


def race(wordpress: WordPressStandIn, name: str, lock: TagLock, *, workers: int = 2,
         threads: int = 3) -> list[Tag]:
    """``workers`` times ``threads`` threads, each with its own bridge, ensure ``name`` at once."""
    barrier = threading.Barrier(workers * threads)
    results: list[Tag] = []
    errors: list[BridgeError] = []

    def one() -> None:
        with bridge_for(wordpress) as client:
            barrier.wait()
            try:
                results.append(ensure_tag(client, name, lock))
            except BridgeError as exc:  # reported by the assertion below
                errors.append(exc)

    pool = [threading.Thread(target=one) for _ in range(workers * threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join(timeout=30)
    assert not errors and len(results) == workers * threads
    return results


def test_without_a_lock_racing_creates_make_a_duplicate_tag_as_wordpress_does() -> None:
    with WordPressStandIn(tag_create_race_s=0.2) as wordpress:
        results = race(wordpress, "서울 카페", no_lock)
        same_name = [t for t in wordpress.tags if normalise_tag(t.name) == "서울 카페"]
    # The stand-in reproduces the bug the lock exists for: 201 twice, the second "-2".
    assert len(same_name) >= 2
    assert f"{SEOUL_CAFE_SLUG}-2" in {t.slug for t in same_name}
    assert len({t.id for t in results}) >= 2


def test_with_a_lock_racing_workers_end_with_exactly_one_tag() -> None:
    with WordPressStandIn(tag_create_race_s=0.2) as wordpress:
        results = race(wordpress, "서울 카페", KeyedLocks())
        assert [t.slug for t in wordpress.tags] == [SEOUL_CAFE_SLUG]
        assert len(wordpress.requests_to("POST", "tags.collection")) == 1
    assert {t.id for t in results} == {wordpress.tags[0].id}


def test_a_500_after_the_tag_was_created_is_transient_and_the_retry_finds_it(
        bridge: Bridge, wordpress: WordPressStandIn) -> None:
    wordpress.fail_next("POST", "tags.collection", status=500, after_effect=True)
    with pytest.raises(BridgeUnavailableError) as caught:
        ensure_tag(bridge, "부산 맛집", no_lock)
    assert isinstance(caught.value, TransientError) and caught.value.status == 500
    assert str(assert_no_secret(caught.value)).startswith(
        "WordPress could not answer POST /wp/v2/tags now (500 internal_server_error")
    (created,) = wordpress.tags  # the write happened; only the answer was lost
    again = ensure_tag(bridge, "부산 맛집", no_lock)  # what the retried message does
    assert again.id == created.id and len(wordpress.tags) == 1
    assert len(wordpress.requests_to("POST", "tags.collection")) == 1


def test_an_empty_tag_name_is_refused_before_any_request(
        bridge: Bridge, wordpress: WordPressStandIn) -> None:
    with pytest.raises(BridgeRequestError, match="tag name '  ' is empty"):
        ensure_tag(bridge, "  ", no_lock)
    assert wordpress.requests == []


# -- post tags ------------------------------------------------------------

def test_set_post_tags_replaces_the_whole_list_and_reads_it_back(
        bridge: Bridge, wordpress: WordPressStandIn) -> None:
    post_id = wordpress.post_ids[0]
    cafe, jeju, busan = ensure_tags(bridge, ["카페", "제주", "부산"], no_lock)
    post = set_post_tags(bridge, post_id, [cafe.id, jeju.id, cafe.id])
    assert set(post.tags) == {cafe.id, jeju.id} == set(wordpress.post(post_id).tags)
    post = set_post_tags(bridge, post_id, [busan.id])
    assert post.tags == (busan.id,) and wordpress.post(post_id).tags == [busan.id]
    (write, *_) = wordpress.requests_to("POST", "posts.item")
    assert write.content_type == "application/json"
    assert [r.query for r in wordpress.requests_to("GET", "posts.item")] == \
        [{"context": "edit"}] * 2
    assert set_post_tags(bridge, post_id, []).tags == ()


def test_a_tag_id_that_is_no_tag_is_dropped_by_wordpress_and_caught_by_the_read_back(
        bridge: Bridge, wordpress: WordPressStandIn) -> None:
    post_id = wordpress.post_ids[1]
    cafe = ensure_tag(bridge, "카페", no_lock)
    with pytest.raises(WriteNotAppliedError) as caught:
        set_post_tags(bridge, post_id, [cafe.id, 4242])
    assert str(caught.value) == (
        f"WordPress accepted tags=[{cafe.id}, 4242] for post {post_id} but the post has "
        f"tags=[{cafe.id}]: tag ids [4242] may not exist (deleted in Posts > Tags?), or a "
        "plugin blocks the change")
    assert isinstance(caught.value, PermanentError)
    assert [r.status for r in wordpress.requests_to("POST", "posts.item")] == [200]


def test_a_tag_id_that_is_not_a_positive_integer_is_refused_before_any_request(
        bridge: Bridge, wordpress: WordPressStandIn) -> None:
    for bad in (True, -1, 0):
        with pytest.raises(BridgeRequestError, match="is not a positive integer"):
            set_post_tags(bridge, wordpress.post_ids[0], [bad])
    assert wordpress.requests == []


# -- SEO meta -------------------------------------------------------------

@pytest.mark.parametrize("plugin", ["yoast", "rankmath"])
def test_seo_meta_is_written_and_read_back_raw(
        plugin: str, bridge: Bridge, wordpress: WordPressStandIn) -> None:
    post_id = wordpress.post_ids[2]
    values = {"focus_keyword": "성수동 카페",
              "meta_description": "주말에 가기 좋은 성수동 카페 7곳을 골랐습니다 & 정리했습니다.",
              "seo_title": "성수동 카페 투어 \"2026\" — 주말 추천"}
    post = write_seo_meta(bridge, post_id, plugin, values)
    assert read_seo_fields(post, plugin) == values
    keys = SEO_META_KEYS[plugin]
    assert {keys[f]: v for f, v in values.items()} == wordpress.post(post_id).meta
    (write,) = wordpress.requests_to("POST", "posts.item")
    assert write.content_type == "application/json"
    assert wordpress.requests_to("GET", "posts.item")[-1].query == {"context": "edit"}
    other = "rankmath" if plugin == "yoast" else "yoast"
    assert read_seo_fields(get_post(bridge, post_id), other) == dict.fromkeys(values, "")


def test_only_the_given_fields_are_written_and_a_person_edit_is_read(
        bridge: Bridge, wordpress: WordPressStandIn) -> None:
    post_id = wordpress.post_ids[3]
    wordpress.edit_post(post_id, meta={SEO_META_KEYS["yoast"]["seo_title"]: "편집자가 쓴 제목"})
    post = write_seo_meta(bridge, post_id, "yoast", {"focus_keyword": "제주 올레길"})
    assert read_seo_fields(post, "yoast") == {
        "focus_keyword": "제주 올레길", "meta_description": "", "seo_title": "편집자가 쓴 제목"}


def test_unregistered_meta_is_a_permanent_error_naming_the_keys_and_the_mu_plugin() -> None:
    with WordPressStandIn(registered_meta=frozenset()) as wordpress, \
            bridge_for(wordpress) as bridge:
        post_id = wordpress.post_ids[0]
        with pytest.raises(MetaNotRegisteredError) as caught:
            write_seo_meta(bridge, post_id, "yoast", {"focus_keyword": "성수동 카페",
                                                      "meta_description": "설명입니다."})
        # WordPress would answer 200 and drop the keys (meta is []): nothing is sent.
        assert wordpress.requests_to("POST", "posts.item") == []
        assert wordpress.post(post_id).meta == {}
    assert str(assert_no_secret(caught.value)) == (
        f"nothing was written to post {post_id}: WordPress does not list "
        "_yoast_wpseo_focuskw, _yoast_wpseo_metadesc in its meta, so the keys are not "
        "registered for the REST API (ATR_SEO_PLUGIN=yoast) and a write would be dropped; "
        "install ops/wordpress/atr-seo-meta.php as a must-use plugin (copy it to "
        "wp-content/mu-plugins/ on the site), then check that "
        f"GET /wp-json/wp/v2/posts/{post_id}?context=edit lists them under meta")
    assert isinstance(caught.value, PermanentError)
    assert isinstance(caught.value, WriteNotAppliedError)


def test_a_partly_registered_plugin_names_only_the_dropped_key() -> None:
    keys = SEO_META_KEYS["rankmath"]
    registered = frozenset({keys["focus_keyword"], keys["meta_description"]})
    with WordPressStandIn(registered_meta=registered) as wordpress, \
            bridge_for(wordpress) as bridge, pytest.raises(MetaNotRegisteredError) as caught:
        write_seo_meta(bridge, wordpress.post_ids[0], "rankmath",
                       {"focus_keyword": "카페", "seo_title": "제목"})
    assert "does not list rank_math_title in its meta" in str(caught.value)
    assert "(ATR_SEO_PLUGIN=rankmath)" in str(caught.value)


@pytest.mark.parametrize(("value", "stored"), [
    ("첫 줄\n둘째 줄", "첫 줄 둘째 줄"),
    ("3 < 5 카페 비교", "3 &lt; 5 카페 비교"),
    ("<b>성수동</b> 카페", "성수동 카페"),
    ("할인 %ec 쿠폰", "할인 쿠폰"),
], ids=["newline", "lone-less-than", "tag", "octet"])
def test_a_value_wordpress_would_sanitize_is_refused_before_any_write(
        value: str, stored: str, bridge: Bridge, wordpress: WordPressStandIn) -> None:
    post_id = wordpress.post_ids[0]
    with pytest.raises(ValueNotStorableError) as caught:
        write_seo_meta(bridge, post_id, "yoast", {"focus_keyword": "카페",
                                                  "meta_description": value})
    assert caught.value.stored == {"meta_description": stored}
    assert str(caught.value).startswith(
        f"nothing was written to post {post_id}: WordPress's sanitize_text_field would change "
        f"meta_description: {value!r} would be stored as {stored!r}")
    assert wordpress.requests_to("POST", "posts.item") == []
    assert wordpress.post(post_id).meta == {}


def test_an_unknown_plugin_or_field_is_refused_before_any_request(
        bridge: Bridge, wordpress: WordPressStandIn) -> None:
    with pytest.raises(ConfigError, match="ATR_SEO_PLUGIN='aioseo' is not a supported SEO "
                                          "plugin: use yoast or rankmath"):
        write_seo_meta(bridge, wordpress.post_ids[0], "aioseo", {"seo_title": "제목"})
    with pytest.raises(BridgeRequestError, match=r"unknown SEO field\(s\) \['title'\]"):
        write_seo_meta(bridge, wordpress.post_ids[0], "yoast", {"title": "제목"})
    assert wordpress.requests == []


def test_the_mu_plugin_registers_exactly_the_keys_the_bridge_writes() -> None:
    php = MU_PLUGIN.read_text(encoding="utf-8")
    registered = set(re.findall(r"'((?:_yoast_wpseo|rank_math)_\w+)'", php))
    assert registered == {k for keys in SEO_META_KEYS.values() for k in keys.values()}
    assert registered | {"atr_ad_mode"} == WordPressStandIn().registered_meta
    for needed in ("'show_in_rest'      => true", "'single'            => true",
                   "'type'              => 'string'",
                   "'sanitize_callback' => 'sanitize_text_field'",
                   "current_user_can( 'edit_post', (int) $object_id )", "wp-content/mu-plugins/",
                   "?context=edit' | jq .meta"):
        assert needed in php


# -- errors through the new calls ---------------------------------------

def test_a_wrong_password_is_a_401_on_every_new_call(wordpress: WordPressStandIn) -> None:
    with bridge_for(wordpress, f"{ADMIN.login}:wrong pass word") as client:
        # A public read answers as for anyone: WordPress 6.1 drops the wrong login.
        assert get_tags(client, [2]) == []
        for call in (lambda: ensure_tag(client, "카페", no_lock),
                     lambda: set_post_tags(client, wordpress.post_ids[0], [2]),
                     lambda: write_seo_meta(client, wordpress.post_ids[0], "yoast",
                                            {"seo_title": "제목"})):
            with pytest.raises(BridgeAuthError) as caught:
                call()
            # WordPress takes a wrong password as no login: each route's own 401 code.
            said = assert_no_secret(caught.value)
            assert "(401 rest_" in said and "); check BRIDGE_TOKEN" in said
    assert wordpress.tags == []


def test_a_subscriber_may_read_tags_but_not_look_up_create_or_write(
        bridge: Bridge, wordpress: WordPressStandIn) -> None:
    cafe = ensure_tag(bridge, "카페", no_lock)
    with bridge_for(wordpress, wordpress.reader_token) as reader:
        assert get_tags(reader, [cafe.id]) == [cafe]
        with pytest.raises(BridgeForbiddenError) as caught:
            ensure_tag(reader, "제주", no_lock)
        assert str(caught.value).startswith(
            "WordPress user 'reader' may not do GET /wp/v2/tags (403 rest_forbidden_context: "
            "Sorry, you are not allowed to edit terms in this taxonomy.)")
        with pytest.raises(BridgeForbiddenError, match="403 rest_cannot_create"):
            reader.request("POST", "/wp/v2/tags", json={"name": "제주"}, expect=(201,))
        with pytest.raises(BridgeForbiddenError, match="403 rest_cannot_edit"):
            set_post_tags(reader, wordpress.post_ids[0], [cafe.id])
        # The meta write reads the post first (context=edit), which a subscriber may not.
        with pytest.raises(BridgeForbiddenError, match="403 rest_forbidden_context"):
            write_seo_meta(reader, wordpress.post_ids[0], "yoast", {"seo_title": "제목"})
    assert [t.id for t in wordpress.tags] == [cafe.id]


def test_a_missing_post_is_a_404_for_tags_and_meta(bridge: Bridge) -> None:
    with pytest.raises(BridgeNotFoundError, match=r"POST /wp/v2/posts/987654 \(404 "
                                                  "rest_post_invalid_id"):
        set_post_tags(bridge, 987654, [2])
    with pytest.raises(BridgeNotFoundError, match="404 rest_post_invalid_id"):
        write_seo_meta(bridge, 987654, "rankmath", {"focus_keyword": "카페"})
