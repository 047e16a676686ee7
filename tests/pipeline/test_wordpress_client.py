"""The WordPress bridge against the stand-in: reads, uploads, verified writes, every error class.

Each error test asserts the message an operator sees, and that the
Application Password never appears in it.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from devkit.wordpress import ADMIN, READER, WordPressStandIn
from pipeline.errors import PermanentError, TransientError
from pipeline.wordpress import (
    Bridge,
    BridgeAuthError,
    BridgeConfig,
    BridgeError,
    BridgeForbiddenError,
    BridgeNotConfiguredError,
    BridgeNotFoundError,
    BridgeRequestError,
    BridgeUnavailableError,
    WriteNotAppliedError,
    find_media_by_slug,
    get_media,
    get_post,
    set_featured_media,
    upload_media,
)

JPEG = (Path(__file__).parents[2] / "ops" / "assets" / "thumb-bg.jpg").read_bytes()
SECRETS = (ADMIN.app_password, ADMIN.app_password.replace(" ", ""),
           base64.b64encode(f"{ADMIN.login}:{ADMIN.app_password}".encode()).decode())


def bridge_for(server: WordPressStandIn, token: str | None = None, *,
               read_timeout_s: float = 5.0) -> Bridge:
    config = BridgeConfig.from_values(server.base_url, token or server.token)
    return Bridge(BridgeConfig(config.base, config.user, config.password,
                               connect_timeout_s=2.0, read_timeout_s=read_timeout_s))


@pytest.fixture
def bridge(wordpress: WordPressStandIn) -> Iterator[Bridge]:
    with bridge_for(wordpress) as client:
        yield client


def assert_no_secret(error: BaseException) -> str:
    text = f"{error} {error!r}"
    for secret in SECRETS:
        assert secret not in text
    return str(error)


def test_get_post_reads_the_raw_korean_title_and_the_encoded_slug(
        bridge: Bridge, wordpress: WordPressStandIn) -> None:
    post = get_post(bridge, wordpress.post_ids[0])
    assert post.title == "서울 성수동 카페 투어: 주말에 가기 좋은 7곳"
    assert post.slug == "%ec%84%b1%ec%88%98%eb%8f%99-%ec%b9%b4%ed%8e%98-%ed%88%ac%ec%96%b4"
    assert post.featured_media == 0 and not any(post.meta.values()) and post.tags == ()
    (request,) = wordpress.requests
    assert request.query == {"context": "edit"} and request.user == ADMIN.login


def test_upload_then_find_by_slug_and_set_featured_with_read_back(
        bridge: Bridge, wordpress: WordPressStandIn) -> None:
    post_id = wordpress.post_ids[1]
    media = upload_media(bridge, JPEG, "atr-thumb-1-deadbeef.jpg", "image/jpeg",
                         alt_text="제주 올레길")
    assert media.slug == "atr-thumb-1-deadbeef" and media.mime_type == "image/jpeg"
    assert (media.width, media.height) == (1600, 900)  # the asset's own size
    (stored,) = wordpress.media
    assert stored.data == JPEG and stored.alt_text == "제주 올레길"
    assert wordpress.requests[-1].content_disposition == \
        'attachment; filename="atr-thumb-1-deadbeef.jpg"'
    assert find_media_by_slug(bridge, "atr-thumb-1-deadbeef") == media
    assert find_media_by_slug(bridge, "atr-thumb-1-0000000") is None
    assert get_media(bridge, media.id) == media and get_media(bridge, 99_999) is None

    post = set_featured_media(bridge, post_id, media.id)
    assert post.featured_media == media.id == wordpress.post(post_id).featured_media


def test_the_same_file_name_twice_gets_a_suffixed_slug_and_lookup_finds_the_first(
        bridge: Bridge) -> None:
    first = upload_media(bridge, JPEG, "atr-thumb-2-abc.jpg", "image/jpeg")
    second = upload_media(bridge, JPEG, "atr-thumb-2-abc.jpg", "image/jpeg")
    assert second.slug == "atr-thumb-2-abc-1"  # WordPress renamed the file
    assert find_media_by_slug(bridge, "atr-thumb-2-abc") == first


def test_featured_media_pointing_at_a_missing_attachment_is_caught_by_the_read_back(
        bridge: Bridge, wordpress: WordPressStandIn) -> None:
    post_id = wordpress.post_ids[0]
    with pytest.raises(WriteNotAppliedError) as caught:
        set_featured_media(bridge, post_id, 424242)
    assert isinstance(caught.value, PermanentError)
    assert str(caught.value) == (
        f"WordPress accepted featured_media=424242 for post {post_id} but the post still has "
        "featured_media=0: attachment 424242 may not exist (deleted from the media library?) "
        "or a plugin blocks the change")
    # The stand-in answered 200, as WordPress does.
    assert [r.status for r in wordpress.requests_to("POST", "posts.item")] == [200]


def test_wrong_application_password_is_a_permanent_401_naming_bridge_token(
        wordpress: WordPressStandIn) -> None:
    with bridge_for(wordpress, f"{ADMIN.login}:wrong pass word") as client, \
            pytest.raises(BridgeAuthError) as caught:
        get_post(client, wordpress.post_ids[0])
    message = assert_no_secret(caught.value)
    assert "wrong pass word" not in message
    assert message.startswith(
        f"WordPress refused the credentials for GET /wp/v2/posts/{wordpress.post_ids[0]} "
        "(401 rest_not_logged_in: You are not currently logged in.); check BRIDGE_TOKEN: "
        "user 'atr-bot' must exist and the password must be one of its Application Passwords")
    assert caught.value.status == 401 and isinstance(caught.value, PermanentError)


def test_a_user_who_may_not_edit_gets_a_permanent_403_naming_the_role(
        wordpress: WordPressStandIn) -> None:
    with bridge_for(wordpress, wordpress.reader_token) as client:
        with pytest.raises(BridgeForbiddenError) as caught:
            upload_media(client, JPEG, "atr-thumb-3-abc.jpg", "image/jpeg")
        assert str(caught.value) == (
            "WordPress user 'reader' may not do POST /wp/v2/media (403 rest_cannot_create: "
            "Sorry, you are not allowed to create posts as this user.); give the user a role "
            "that can edit posts and upload files (Editor), or put such a user in BRIDGE_TOKEN")
        with pytest.raises(BridgeForbiddenError, match="403 rest_forbidden_context"):
            get_post(client, wordpress.post_ids[0])
    assert READER.app_password not in str(caught.value)
    assert wordpress.media == []


def test_a_missing_post_is_a_permanent_404_asking_to_check_the_post_id(bridge: Bridge) -> None:
    with pytest.raises(BridgeNotFoundError) as caught:
        get_post(bridge, 987654)
    assert str(assert_no_secret(caught.value)).startswith(
        "WordPress has nothing at GET /wp/v2/posts/987654 (404 rest_post_invalid_id: Invalid "
        "post ID.); check the post id")


def test_a_base_without_wp_json_is_a_404_pointing_at_bridge_base(
        wordpress: WordPressStandIn) -> None:
    with Bridge(BridgeConfig.from_values(wordpress.site_url, wordpress.token)) as client, \
            pytest.raises(BridgeNotFoundError) as caught:
        get_post(client, wordpress.post_ids[0])
    assert "404 rest_no_route" in str(caught.value)
    assert f"check BRIDGE_BASE={wordpress.site_url} is the REST root" in str(caught.value)


def test_a_bad_request_is_a_permanent_400_that_says_to_fix_the_request(
        bridge: Bridge, wordpress: WordPressStandIn) -> None:
    with pytest.raises(BridgeRequestError) as caught:
        upload_media(bridge, b"", "atr-thumb-4-abc.jpg", "image/jpeg")
    assert str(caught.value) == (
        "WordPress rejected POST /wp/v2/media (400 rest_upload_no_data: No data supplied.); "
        "the request is wrong and a retry would send it again: fix the payload or the code "
        "that built it")
    with pytest.raises(BridgeRequestError, match="400 rest_invalid_param"):
        set_featured_media(bridge, wordpress.post_ids[0], -3)


def test_a_non_ascii_filename_is_refused_before_any_request(
        bridge: Bridge, wordpress: WordPressStandIn) -> None:
    with pytest.raises(BridgeRequestError, match="must be ASCII"):
        upload_media(bridge, JPEG, "썸네일.jpg", "image/jpeg")
    assert wordpress.requests == []


def test_the_standin_answers_400_to_a_utf8_filename_star_disposition(
        wordpress: WordPressStandIn) -> None:
    answer = requests.post(f"{wordpress.base_url}/wp/v2/media", data=JPEG, timeout=5,
                           auth=(ADMIN.login, ADMIN.app_password),
                           headers={"Content-Type": "image/jpeg",
                                    "Content-Disposition": "attachment; filename*=UTF-8''"
                                    "%EC%8D%B8.jpg"})
    assert answer.status_code == 400
    assert answer.json()["code"] == "rest_upload_invalid_disposition"


def test_the_standin_ignores_a_json_body_sent_without_its_content_type(
        wordpress: WordPressStandIn) -> None:
    post_id = wordpress.post_ids[0]
    answer = requests.post(f"{wordpress.base_url}/wp/v2/posts/{post_id}", timeout=5,
                           data=b'{"title": "changed"}', auth=(ADMIN.login, ADMIN.app_password))
    assert answer.status_code == 200
    assert wordpress.post(post_id).title == answer.json()["title"]["raw"] != "changed"


@pytest.mark.parametrize("status", [500, 502, 503, 429])
def test_server_errors_and_429_are_transient(
        status: int, bridge: Bridge, wordpress: WordPressStandIn) -> None:
    wordpress.fail_next("GET", "posts.item", status=status)
    with pytest.raises(BridgeUnavailableError) as caught:
        get_post(bridge, wordpress.post_ids[0])
    assert isinstance(caught.value, TransientError) and caught.value.status == status
    assert str(assert_no_secret(caught.value)).startswith(
        f"WordPress could not answer GET /wp/v2/posts/{wordpress.post_ids[0]} now ({status} ")
    # Whether it is retried is the worker's decision: the text does not promise it.
    assert "retried" not in str(caught.value)
    assert get_post(bridge, wordpress.post_ids[0]).id == wordpress.post_ids[0]  # once only


def test_a_hanging_site_is_a_transient_read_timeout(wordpress: WordPressStandIn) -> None:
    wordpress.hang_next("POST", "media.collection", seconds=3)
    with bridge_for(wordpress, read_timeout_s=0.5) as client, \
            pytest.raises(BridgeUnavailableError) as caught:
        upload_media(client, JPEG, "atr-thumb-5-abc.jpg", "image/jpeg")
    assert str(caught.value) == (
        f"WordPress did not answer POST /wp/v2/media within 0.5 s (read timeout) at "
        f"{wordpress.base_url}; the site is slow or down")
    assert wordpress.media == []


def test_an_unreachable_site_is_transient(wordpress: WordPressStandIn) -> None:
    base = wordpress.base_url
    wordpress.stop()
    with Bridge(BridgeConfig.from_values(base, wordpress.token)) as client, \
            pytest.raises(BridgeUnavailableError) as caught:
        get_post(client, 1)
    assert str(assert_no_secret(caught.value)).startswith(
        f"could not reach WordPress for GET /wp/v2/posts/1 at {base} (ConnectionError); "
        "check BRIDGE_BASE and the network")


@pytest.mark.parametrize(("base", "token", "expected"), [
    (None, None, "the WordPress bridge is not configured (BRIDGE_BASE and BRIDGE_TOKEN unset): "
     "set BRIDGE_BASE to the site's REST root (https://example.com/wp-json) and BRIDGE_TOKEN "
     "to user:application-password"),
    ("https://example.com/wp-json", None, "(BRIDGE_TOKEN unset)"),
    ("example.com/wp-json", "u:p", "BRIDGE_BASE='example.com/wp-json' is not an http(s) URL"),
    ("https://example.com/wp-json", "no-colon-secret",
     "BRIDGE_TOKEN must be user:application-password (the value is hidden)"),
])
def test_an_unconfigured_bridge_is_permanent_and_says_what_to_set(
        base: str | None, token: str | None, expected: str) -> None:
    with pytest.raises(BridgeNotConfiguredError) as caught:
        BridgeConfig.from_values(base, token)
    assert expected in str(caught.value)
    assert "no-colon-secret" not in str(caught.value)
    assert isinstance(caught.value, BridgeError) and isinstance(caught.value, PermanentError)


def test_the_config_repr_hides_the_password(wordpress: WordPressStandIn) -> None:
    assert ADMIN.app_password not in repr(BridgeConfig.from_values(wordpress.base_url,
                                                                   wordpress.token))
