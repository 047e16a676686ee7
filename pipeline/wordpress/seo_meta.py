"""SEO plugin meta through the bridge: which keys each plugin reads, read them, write and verify.

Yoast SEO and Rank Math keep a post's focus keyword, meta description and SEO
title in post meta, but neither registers those keys for the REST API. WordPress
answers a write of an unregistered key with 200 and drops it (``meta`` even
comes back as ``[]`` when no key is registered), and lists every registered
key of a post (``""`` until written). So before anything is written
(:func:`write_seo_post`) the post's ``context=edit`` read must list the keys
(else :class:`MetaNotRegisteredError`, pointing at the must-use plugin that
registers them, ``ops/wordpress/atr-seo-meta.php``) and every value must come
out of ``sanitize_text_field`` unchanged (else :class:`ValueNotStorableError`);
then the tags and meta go in one request, and are read back and compared.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Final

from pipeline.errors import ConfigError
from pipeline.wordpress.bridge import Bridge
from pipeline.wordpress.errors import (
    BridgeRequestError,
    MetaNotRegisteredError,
    ValueNotStorableError,
    WriteNotAppliedError,
)
from pipeline.wordpress.posts import Post, get_post, write_post
from pipeline.wordpress.sanitize import stored_text

__all__ = ["MU_PLUGIN", "SEO_FIELDS", "SEO_META_KEYS", "check_seo_write", "check_storable",
           "missing_seo_keys", "read_seo_fields", "seo_meta_keys", "write_seo_meta",
           "write_seo_post"]

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


def missing_seo_keys(post: Post, plugin: str) -> list[str]:
    """The meta keys of ``plugin`` that ``post``'s edit-context read does not list.

    WordPress lists every registered key (``""`` while unset), so a missing
    key is one the REST API does not know: the must-use plugin is not installed.
    """
    return [key for key in seo_meta_keys(plugin).values() if key not in post.meta]


def check_storable(values: Mapping[str, str], *, what: str,
                   stored_as: Callable[[str], str | None] = stored_text) -> None:
    """ValueNotStorableError when ``sanitize_text_field`` would change a value of ``values``.

    ``values`` maps a field name to its text; ``what`` names the post in the
    message; ``stored_as`` says what WordPress keeps of a text when it differs
    (:func:`~pipeline.wordpress.sanitize.stored_term_name` for tag names).
    """
    changed = {name: stored for name, value in values.items()
               if (stored := stored_as(value)) is not None}
    if changed:
        shown = "; ".join(f"{name}: {values[name]!r} would be stored as {stored!r}"
                          for name, stored in changed.items())
        error = ValueNotStorableError(
            f"nothing was written to {what}: WordPress's sanitize_text_field would change "
            f"{shown} (it strips HTML tags, line breaks and %xx codes and escapes a lone '<'); "
            "send plain one-line text without '<', '>' or '%xx' (`atr seo review` shows the "
            "proposal; run seo_automation again for a new one)")
        error.stored = MappingProxyType(changed)
        raise error


def check_seo_write(post: Post, plugin: str, values: Mapping[str, str]) -> None:
    """Everything that would stop ``values`` from being stored on ``post``, before any request.

    BridgeRequestError for a field that is not an SEO field; when there are
    values, MetaNotRegisteredError when ``post`` (a ``context=edit`` read)
    does not list the plugin's keys, and ValueNotStorableError when
    WordPress would store a value changed.
    """
    keys = _check_fields(plugin, values, post.id)
    missing = [keys[field] for field in values if keys[field] not in post.meta]
    if missing:
        raise MetaNotRegisteredError(
            f"nothing was written to post {post.id}: WordPress does not list "
            f"{', '.join(missing)} in its meta, so the keys are not registered for the REST "
            f"API (ATR_SEO_PLUGIN={plugin}) and a write would be dropped; install "
            f"{MU_PLUGIN} as a must-use plugin (copy it to wp-content/mu-plugins/ on the "
            f"site), then check that GET /wp-json/wp/v2/posts/{post.id}?context=edit lists "
            "them under meta")
    check_storable(values, what=f"post {post.id}")


def write_seo_post(bridge: Bridge, post: Post, plugin: str, values: Mapping[str, str], *,
                   tags: list[int] | None = None) -> Post:
    """Write ``values`` (field → text) as ``plugin``'s meta and ``tags``, in one request.

    ``post`` is the post as just read (``context=edit``); :func:`check_seo_write`
    runs first, so a refused value means nothing was sent. After the write,
    tags and meta are read back; WriteNotAppliedError when a stored value
    still differs (a filter of the site rewrote it); its ``stored`` maps each
    such field to what WordPress kept.
    """
    check_seo_write(post, plugin, values)
    keys = seo_meta_keys(plugin)
    meta = {keys[field]: value for field, value in values.items()}
    written = write_post(bridge, post.id, tags=tags, meta=meta)
    return _verify_meta(written, plugin, meta)


def write_seo_meta(bridge: Bridge, post_id: int, plugin: str,
                   values: Mapping[str, str]) -> Post:
    """Write ``values`` (field → text) as ``plugin``'s meta of ``post_id`` and verify them.

    :func:`write_seo_post` without tags, after reading the post.
    """
    _check_fields(plugin, values, post_id)
    return write_seo_post(bridge, get_post(bridge, post_id), plugin, values)


def _check_fields(plugin: str, values: Mapping[str, str], post_id: int) -> Mapping[str, str]:
    """The plugin's keys; ConfigError or BridgeRequestError for an unknown plugin or field."""
    keys = seo_meta_keys(plugin)
    unknown = sorted(set(values) - set(keys))
    if unknown:
        raise BridgeRequestError(f"unknown SEO field(s) {unknown} for post {post_id}: use "
                                 f"{', '.join(SEO_FIELDS)}")
    return keys


def _verify_meta(post: Post, plugin: str, meta: Mapping[str, str]) -> Post:
    dropped = [key for key in meta if key not in post.meta]
    if dropped:
        raise MetaNotRegisteredError(
            f"WordPress answered 200 to the {plugin} meta write for post {post.id} but dropped "
            f"{', '.join(dropped)}: the keys are not registered for the REST API "
            f"(ATR_SEO_PLUGIN={plugin}); install {MU_PLUGIN} as a must-use plugin (copy it "
            "to wp-content/mu-plugins/ on the site), then check that GET "
            f"/wp-json/wp/v2/posts/{post.id}?context=edit lists them under meta")
    changed = {key: _text(post.meta[key]) for key, value in meta.items()
               if _text(post.meta[key]) != value}
    if changed:
        shown = "; ".join(f"{key}: sent {meta[key]!r}, stored {stored!r}"
                          for key, stored in changed.items())
        error = WriteNotAppliedError(
            f"WordPress accepted the {plugin} meta for post {post.id} but stored other values "
            f"({shown}): a plugin or filter of the site rewrites the value; the stored values "
            "are recorded as written by us, not mistaken for a person's edit")
        field_of = {key: field for field, key in seo_meta_keys(plugin).items()}
        error.stored = MappingProxyType({field_of[key]: stored
                                         for key, stored in changed.items()})
        raise error
    return post


def _text(value: object) -> str:
    return "" if value is None else str(value)
