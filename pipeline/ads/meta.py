"""A post's ad mode as post meta through the bridge: read it, write it and verify it.

The key (``ATR_ADS_META_KEY``, ``atr_ad_mode`` by default) is registered for
REST by the must-use plugin ``ops/wordpress/atr-seo-meta.php``. WordPress
answers a write of an unregistered key with 200 and drops it, so every write
is read back with ``context=edit`` (as the SEO meta is).
"""

from __future__ import annotations

from pipeline.wordpress.bridge import Bridge
from pipeline.wordpress.errors import MetaNotRegisteredError, WriteNotAppliedError
from pipeline.wordpress.posts import Post, get_post, post_route
from pipeline.wordpress.seo_meta import MU_PLUGIN

__all__ = ["read_ad_mode", "write_ad_mode"]


def read_ad_mode(post: Post, key: str) -> str:
    """The post's ad mode ('' when unset)."""
    value = post.meta.get(key)
    return "" if value is None else str(value)


def write_ad_mode(bridge: Bridge, post_id: int, key: str, mode: str) -> Post:
    """Set ``key`` to ``mode`` on ``post_id`` and read it back; the post as read back.

    MetaNotRegisteredError when WordPress dropped the key, WriteNotAppliedError
    when it stored another value.
    """
    # json= sends Content-Type: application/json; without it WordPress ignores the body.
    bridge.request("POST", post_route(post_id), json={"meta": {key: mode}})
    post = get_post(bridge, post_id)
    if key not in post.meta:
        raise MetaNotRegisteredError(
            f"WordPress answered 200 to the ad mode write for post {post_id} but dropped "
            f"{key}: the key is not registered for the REST API (ATR_ADS_META_KEY={key}); "
            f"install {MU_PLUGIN} as a must-use plugin (and define ATR_ADS_META_KEY in "
            "wp-config.php if you changed the key), then check GET "
            f"/wp-json/wp/v2/posts/{post_id}?context=edit lists it under meta")
    stored = read_ad_mode(post, key)
    if stored != mode:
        raise WriteNotAppliedError(
            f"WordPress accepted {key}={mode!r} for post {post_id} but stored {stored!r}: a "
            "plugin or filter rewrites the value")
    return post
