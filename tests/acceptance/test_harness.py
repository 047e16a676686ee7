"""The harness itself: real WordPress 6.1.9, the must-use plugin active, the users there."""

from __future__ import annotations

from devkit.real_wordpress import RealWordPress
from pipeline.wordpress.seo_meta import SEO_META_KEYS
from tests.acceptance.rest import Rest


def test_it_is_debians_wordpress_with_the_users_and_roles_the_tests_need(
        real_wordpress: RealWordPress, admin: Rest) -> None:
    # The answers the suite asserts were recorded on Debian 12's 6.1.9.
    assert real_wordpress.version.startswith("6.")
    index = admin.ok("GET", "/")
    assert index["url"] == real_wordpress.url
    roles = {u["slug"]: u["roles"] for u in admin.ok("GET", "/wp/v2/users",
                                                     params={"context": "edit"})}
    assert roles == {"admin": ["administrator"], "editor": ["editor"], "reader": ["subscriber"]}


def test_the_must_use_plugin_registers_every_seo_key_empty_until_written(admin: Rest) -> None:
    post_id = admin.new_post("하네스 확인용 글")
    meta = admin.ok("GET", f"/wp/v2/posts/{post_id}", params={"context": "edit"})["meta"]
    # The plugin also registers the ad mode (ATR_ADS_META_KEY, atr_ad_mode by default).
    keys = {k for plugin in SEO_META_KEYS.values() for k in plugin.values()} | {"atr_ad_mode"}
    assert meta == dict.fromkeys(keys, "")
