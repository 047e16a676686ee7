"""SEO plugin meta through the bridge: which keys each plugin reads, read them, write and verify.

Yoast SEO and Rank Math keep a post's focus keyword, meta description and SEO
title in post meta, but neither registers those keys for the REST API. WordPress
answers a write of an unregistered key with 200 and drops it (``meta`` even
comes back as ``[]`` when no key is registered), so every write is read back
with ``context=edit``: a dropped key is a :class:`MetaNotRegisteredError`
pointing at the must-use plugin that registers them, ``ops/wordpress/atr-seo-meta.php``.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

from pipeline.errors import ConfigError
from pipeline.wordpress.bridge import Bridge
from pipeline.wordpress.errors import (
    BridgeRequestError,
    MetaNotRegisteredError,
    WriteNotAppliedError,
)
from pipeline.wordpress.posts import Post, get_post, post_route

__all__ = ["MU_PLUGIN", "SEO_FIELDS", "SEO_META_KEYS", "read_seo_fields", "seo_meta_keys",
           "write_seo_meta"]

#: The fields an SEO plugin keeps per post, in the order they are shown.
SEO_FIELDS: Final = ("focus_keyword", "meta_description", "seo_title")
#: Plugin (``ATR_SEO_PLUGIN``) → field → the post meta key that plugin reads.
SEO_META_KEYS: Final[Mapping[str, Mapping[str, str]]] = MappingProxyType({
    "yoast": MappingProxyType({
        "focus_keyword": "_yoast_wpseo_focuskw",
        "meta_description": "_yoast_wpseo_metadesc",
        "seo_title": "_yoast_wpseo_title",
    }),
    "rankmath": MappingProxyType({
        "focus_keyword": "rank_math_focus_keyword",
        "meta_description": "rank_math_description",
        "seo_title": "rank_math_title",
    }),
})
#: The must-use plugin that registers every key above for REST (path in this repository).
MU_PLUGIN: Final = "ops/wordpress/atr-seo-meta.php"


def seo_meta_keys(plugin: str) -> Mapping[str, str]:
    """Field → meta key of ``plugin``; ConfigError naming ATR_SEO_PLUGIN when unknown."""
    try:
        return SEO_META_KEYS[plugin]
    except KeyError:
        raise ConfigError(f"ATR_SEO_PLUGIN={plugin!r} is not a supported SEO plugin: use "
                          f"{' or '.join(SEO_META_KEYS)}") from None


def read_seo_fields(post: Post, plugin: str) -> dict[str, str]:
    """Field → the post's current value for ``plugin`` ('' when absent or empty)."""
    keys = seo_meta_keys(plugin)
    return {field: _text(post.meta.get(key)) for field, key in keys.items()}


def write_seo_meta(bridge: Bridge, post_id: int, plugin: str,
                   values: Mapping[str, str]) -> Post:
    """Write ``values`` (field → text) as ``plugin``'s meta of ``post_id`` and verify them.

    Reads the post back with ``context=edit`` and compares raw values:
    MetaNotRegisteredError when WordPress dropped keys (not registered for
    REST), WriteNotAppliedError when a stored value differs from the one sent.
    """
    keys = seo_meta_keys(plugin)
    unknown = sorted(set(values) - set(keys))
    if unknown:
        raise BridgeRequestError(f"unknown SEO field(s) {unknown} for post {post_id}: use "
                                 f"{', '.join(SEO_FIELDS)}")
    meta = {keys[field]: value for field, value in values.items()}
    if not meta:
        return get_post(bridge, post_id)
    # json= sends Content-Type: application/json; without it WordPress ignores the body.
    bridge.request("POST", post_route(post_id), json={"meta": meta})
    post = get_post(bridge, post_id)
    dropped = [key for key in meta if key not in post.meta]
    if dropped:
        raise MetaNotRegisteredError(
            f"WordPress answered 200 to the {plugin} meta write for post {post_id} but dropped "
            f"{', '.join(dropped)}: the keys are not registered for the REST API "
            f"(ATR_SEO_PLUGIN={plugin}); install {MU_PLUGIN} as a must-use plugin (copy it "
            "to wp-content/mu-plugins/ on the site), then check that GET "
            f"/wp-json/wp/v2/posts/{post_id}?context=edit lists them under meta")
    changed = {key: _text(post.meta[key]) for key, value in meta.items()
               if _text(post.meta[key]) != value}
    if changed:
        shown = "; ".join(f"{key}: sent {meta[key]!r}, stored {stored!r}"
                          for key, stored in changed.items())
        raise WriteNotAppliedError(
            f"WordPress accepted the {plugin} meta for post {post_id} but stored other values "
            f"({shown}): {MU_PLUGIN} sanitizes with sanitize_text_field (tags, line breaks, "
            "repeated spaces and %xx octets are removed): send plain one-line text; "
            "otherwise a plugin or filter rewrites the value")
    return post


def _text(value: object) -> str:
    return "" if value is None else str(value)
