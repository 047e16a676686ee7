"""The stand-in answers as real WordPress 6.1.9 does, where the two once differed.

Every test runs twice, against the stand-in (``devkit/wordpress``) and against
real WordPress (the session's :class:`~devkit.real_wordpress.RealWordPress`),
sends the same requests, and asserts the answer real WordPress gave. A
difference that creeps back into the stand-in fails its half of the test.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest

from devkit.real_wordpress import RealWordPress
from devkit.wordpress import WordPressStandIn
from devkit.wordpress.store import SEO_META_KEYS
from pipeline.wordpress import Bridge, BridgeConfig, BridgeUnavailableError, get_post
from tests.acceptance.conftest import ROOT
from tests.acceptance.rest import Reply, Rest

JPEG = (ROOT / "ops" / "assets" / "thumb-bg.jpg").read_bytes()
WRONG = "abcd efgh ijkl mnop qrst uvwx"


@dataclass
class Site:
    """One WordPress to compare: the editor's and the subscriber's clients, a post maker."""

    kind: str
    base: str
    editor_token: str
    reader_token: str
    new_post: Callable[..., int]
    database: Callable[[bool], None]

    def as_editor(self) -> Rest:
        return Rest(self.base, self.editor_token)

    def as_wrong_password(self) -> Rest:
        return Rest(self.base, f"{self.editor_token.partition(':')[0]}:{WRONG}")


@pytest.fixture(params=["stand-in", "real-wordpress"])
def site(request: pytest.FixtureRequest) -> Iterator[Site]:
    if request.param == "stand-in":
        with WordPressStandIn() as standin:
            yield Site("stand-in", standin.base_url, standin.token, standin.reader_token,
                       lambda title, **kw: standin.add_post(title, **kw).id,
                       lambda up: standin.database_outage(not up))
        return
    real: RealWordPress = request.getfixturevalue("real_wordpress")

    def database(up: bool) -> None:
        if up:
            real.start_database()
        else:
            real.stop_database()

    with Rest(real.rest_root, real.users["admin"].token) as admin:
        yield Site("real-wordpress", real.rest_root, real.users["editor"].token,
                   real.users["reader"].token,
                   lambda title, **kw: admin.new_post(title, **kw), database)


def error_of(reply: Reply) -> tuple[int, str, str]:
    return reply.status, reply.body["code"], reply.body["message"]


def test_a_wrong_password_is_no_login_public_reads_answer_and_the_rest_is_a_401(
        site: Site) -> None:
    post_id = site.new_post("비밀번호 확인 글")
    with site.as_wrong_password() as wrong:
        public = wrong.call("GET", f"/wp/v2/posts/{post_id}")
        assert (public.status, public.body["id"]) == (200, post_id)
        listed = wrong.call("GET", "/wp/v2/posts")
        assert listed.status == 200 and post_id in [p["id"] for p in listed.body]
        assert error_of(wrong.call("GET", f"/wp/v2/posts/{post_id}",
                                   params={"context": "edit"})) == (
            401, "rest_forbidden_context", "Sorry, you are not allowed to edit this post.")
        assert error_of(wrong.call("GET", "/wp/v2/users/me")) == (
            401, "rest_not_logged_in", "You are not currently logged in.")
        assert error_of(wrong.call("POST", f"/wp/v2/posts/{post_id}",
                                   json={"title": "x"})) == (
            401, "rest_cannot_edit", "Sorry, you are not allowed to edit this post.")
        assert error_of(wrong.call("POST", "/wp/v2/tags", json={"name": "x"})) == (
            401, "rest_cannot_create",
            "Sorry, you are not allowed to create terms in this taxonomy.")


@pytest.mark.parametrize(("written", "stored"), [
    ("a < b", "a &lt; b"),
    ("a<b", "a&lt;b"),
    ("a <b> c", "a c"),
    ("<script>x</script>y", "y"),
    ("x & y", "x & y"),
])
def test_meta_is_sanitized_a_lone_less_than_escaped_not_cut(
        written: str, stored: str, site: Site) -> None:
    post_id = site.new_post("정리 확인 글")
    with site.as_editor() as editor:
        answer = editor.ok("POST", f"/wp/v2/posts/{post_id}",
                           json={"meta": {"_yoast_wpseo_metadesc": written}})
    assert answer["meta"]["_yoast_wpseo_metadesc"] == stored


def test_term_slugs_drop_plus_signs_accents_and_quotes(site: Site) -> None:
    expected = {"C++ 입문": ("C++ 입문", "c-%ec%9e%85%eb%ac%b8"), "Café": ("Café", "cafe"),
                "it's \"q\"": ("it's \"q\"", "its-q"), "A & B": ("A &amp; B", "a-b")}
    with site.as_editor() as editor:
        made = {name: editor.call("POST", "/wp/v2/tags", json={"name": name})
                for name in expected}
    for name, reply in made.items():
        if reply.status == 400:  # made by the other run of this test on the same site
            assert reply.body["code"] == "term_exists"
            with site.as_editor() as editor:
                reply = Reply(200, "", editor.ok(
                    "GET", f"/wp/v2/tags/{reply.body['data']['term_id']}"), "")
        assert (reply.body["name"], reply.body["slug"]) == expected[name]


def test_featured_media_set_to_a_post_removes_the_image_and_to_nothing_is_ignored(
        site: Site) -> None:
    post_id, other = site.new_post("대표 이미지 글"), site.new_post("첨부가 아닌 글")
    with site.as_editor() as editor:
        media = editor.ok("POST", "/wp/v2/media", data=JPEG, headers={
            "Content-Type": "image/jpeg",
            "Content-Disposition": 'attachment; filename="parity.jpg"'})["id"]
        set_ = editor.ok("POST", f"/wp/v2/posts/{post_id}", json={"featured_media": media})
        assert set_["featured_media"] == media
        missing = editor.ok("POST", f"/wp/v2/posts/{post_id}",
                            json={"featured_media": 999_999})
        assert missing["featured_media"] == media
        not_media = editor.ok("POST", f"/wp/v2/posts/{post_id}",
                              json={"featured_media": other})
        assert not_media["featured_media"] == 0


def test_wrong_type_meta_is_rest_invalid_type_naming_the_param(site: Site) -> None:
    post_id = site.new_post("타입 확인 글")
    with site.as_editor() as editor:
        reply = editor.call("POST", f"/wp/v2/posts/{post_id}",
                            json={"meta": {"_yoast_wpseo_metadesc": 5}})
        after = editor.ok("GET", f"/wp/v2/posts/{post_id}", params={"context": "edit"})
    assert reply.status == 400
    assert reply.body == {
        "code": "rest_invalid_type",
        "message": "meta._yoast_wpseo_metadesc is not of type string.",
        "data": {"status": 400},
        "additional_data": [{"param": "meta._yoast_wpseo_metadesc"}]}
    assert after["meta"]["_yoast_wpseo_metadesc"] == ""


def test_every_registered_key_comes_back_empty_until_written(site: Site) -> None:
    post_id = site.new_post("메타 확인 글")
    with site.as_editor() as editor:
        meta = editor.ok("GET", f"/wp/v2/posts/{post_id}", params={"context": "edit"})["meta"]
    assert meta == dict.fromkeys(SEO_META_KEYS, "")


def test_a_post_carries_modified_gmt_password_excerpt_author_and_writes_bump_modified(
        site: Site) -> None:
    post_id = site.new_post("수정 시각 확인 글", password="pw-1234")
    with site.as_editor() as editor:
        before = editor.ok("GET", f"/wp/v2/posts/{post_id}", params={"context": "edit"})
        assert {"modified", "modified_gmt", "password", "excerpt", "author"} <= set(before)
        assert before["password"] == "pw-1234" and before["content"]["protected"] is True
        assert isinstance(before["author"], int) and "raw" in before["excerpt"]
        # modified has a one-second resolution: let the clock pass a second.
        second = before["modified_gmt"]
        while time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) <= second:
            time.sleep(0.2)
        after = editor.ok("POST", f"/wp/v2/posts/{post_id}", json={"excerpt": "요약"})
    assert after["modified_gmt"] > before["modified_gmt"]
    assert after["modified"] > before["modified"]
    assert after["excerpt"]["raw"] == "요약"


def test_a_database_outage_is_a_500_html_page_and_a_transient_error(site: Site) -> None:
    post_id = site.new_post("장애 확인 글")
    site.database(False)
    try:
        with site.as_editor() as editor:
            reply = editor.call("GET", f"/wp/v2/posts/{post_id}", params={"context": "edit"})
        with Bridge(BridgeConfig.from_values(site.base, site.editor_token)) as bridge, \
                pytest.raises(BridgeUnavailableError) as caught:
            get_post(bridge, post_id)
    finally:
        site.database(True)
    assert reply.status == 500 and reply.content_type.startswith("text/html")
    assert "Error establishing a database connection" in reply.text
    assert str(caught.value).startswith(f"WordPress could not answer GET /wp/v2/posts/{post_id}"
                                        " now (500 Internal Server Error)")


def test_the_error_answers_the_jobs_meet_are_the_same(site: Site) -> None:
    """The answers the stand-in already gave right, kept right (statuses, codes, messages)."""
    post_id = site.new_post("오류 응답 확인 글")
    upload = {"data": JPEG, "headers": {"Content-Type": "image/jpeg",
                                        "Content-Disposition": 'attachment; filename="e.jpg"'}}
    with site.as_editor() as editor, Rest(site.base, site.reader_token) as reader:
        assert error_of(reader.call("POST", "/wp/v2/tags", json={"name": "구독자 태그"})) == (
            403, "rest_cannot_create",
            "Sorry, you are not allowed to create terms in this taxonomy.")
        assert error_of(reader.call("GET", "/wp/v2/tags", params={"context": "edit"})) == (
            403, "rest_forbidden_context",
            "Sorry, you are not allowed to edit terms in this taxonomy.")
        assert error_of(reader.call("POST", "/wp/v2/media", **upload)) == (
            403, "rest_cannot_create", "Sorry, you are not allowed to create posts as this user.")
        assert error_of(editor.call("POST", "/wp/v2/media", data=JPEG, headers={
            "Content-Type": "image/jpeg",
            "Content-Disposition": "attachment; filename*=UTF-8''%EC%8D%B8.jpg"}))[:2] == (
            400, "rest_upload_invalid_disposition")
        made = editor.ok("POST", "/wp/v2/tags", json={"name": "중복 확인 태그"})
        again = editor.call("POST", "/wp/v2/tags", json={"name": "중복 확인 태그"})
        assert error_of(again) == (
            400, "term_exists", "A term with the name provided already exists in this taxonomy.")
        assert again.body["data"]["term_id"] == made["id"]
        assert error_of(editor.call("POST", "/wp/v2/tags", json={"name": "  "})) == (
            500, "empty_term_name", "A name is required for this term.")
        assert error_of(editor.call("POST", f"/wp/v2/posts/{post_id}",
                                    json={"tags": ["이름"]})) == (
            400, "rest_invalid_param", "Invalid parameter(s): tags")
        ignored = editor.call("POST", f"/wp/v2/posts/{post_id}",
                              data=b'{"title": "\\ubc14\\ub00c\\uba74 \\uc548 \\ub428"}',
                              headers={"Content-Type": "text/plain"})
        assert (ignored.status, ignored.body["title"]["raw"]) == (200, "오류 응답 확인 글")
        media = editor.ok("POST", "/wp/v2/media", **upload)["id"]
        assert error_of(editor.call("DELETE", f"/wp/v2/media/{media}")) == (
            501, "rest_trash_not_supported",
            "The post does not support trashing. Set 'force=true' to delete.")
        gone = editor.call("DELETE", f"/wp/v2/media/{media}", params={"force": "true"})
        assert (gone.status, gone.body["deleted"]) == (200, True)
        assert error_of(editor.call("DELETE", f"/wp/v2/media/{media}",
                                    params={"force": "true"})) == (
            404, "rest_post_invalid_id", "Invalid post ID.")
        assert error_of(editor.call("GET", "/wp/v2/posts", params={"page": 999}))[:2] == (
            400, "rest_post_invalid_page_number")
        trashed = editor.call("DELETE", f"/wp/v2/posts/{post_id}")
        assert (trashed.status, trashed.body["status"]) == (200, "trash")
        assert error_of(editor.call("DELETE", f"/wp/v2/posts/{post_id}")) == (
            410, "rest_already_trashed", "The post has already been deleted.")
