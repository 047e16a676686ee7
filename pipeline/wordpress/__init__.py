"""The WordPress bridge: a REST client for BRIDGE_BASE with BRIDGE_TOKEN, one module per concern.

``bridge`` holds the HTTP side (timeouts, HTTP Basic Application Password,
classification of failures by status); ``posts`` and ``media`` are the
concerns used by the featured-image pipeline, ``tags`` (get-or-create under a
lock) and ``seo_meta`` (Yoast / Rank Math meta, written and verified) those of
the SEO pipeline. This package imports no Dramatiq.
"""

from pipeline.wordpress.bridge import CONNECT_TIMEOUT_S, READ_TIMEOUT_S, Bridge, BridgeConfig
from pipeline.wordpress.errors import (
    BridgeAuthError,
    BridgeError,
    BridgeForbiddenError,
    BridgeNotConfiguredError,
    BridgeNotFoundError,
    BridgeRequestError,
    BridgeUnavailableError,
    MetaNotRegisteredError,
    ValueNotStorableError,
    WriteNotAppliedError,
)
from pipeline.wordpress.media import (
    MEDIA_ROUTE,
    Media,
    find_media_by_slug,
    get_media,
    upload_media,
)
from pipeline.wordpress.posts import (
    Post,
    get_post,
    post_route,
    set_featured_media,
    set_post_tags,
    write_post,
)
from pipeline.wordpress.seo_meta import (
    MU_PLUGIN,
    SEO_FIELDS,
    SEO_META_KEYS,
    read_seo_fields,
    seo_meta_keys,
    write_seo_meta,
)
from pipeline.wordpress.tags import (
    TAGS_ROUTE,
    Tag,
    TagLock,
    ensure_tag,
    ensure_tags,
    find_tag,
    get_tag,
    get_tags,
    tag_lock_key,
)

__all__ = [
    "CONNECT_TIMEOUT_S",
    "MEDIA_ROUTE",
    "MU_PLUGIN",
    "READ_TIMEOUT_S",
    "SEO_FIELDS",
    "SEO_META_KEYS",
    "TAGS_ROUTE",
    "Bridge",
    "BridgeAuthError",
    "BridgeConfig",
    "BridgeError",
    "BridgeForbiddenError",
    "BridgeNotConfiguredError",
    "BridgeNotFoundError",
    "BridgeRequestError",
    "BridgeUnavailableError",
    "Media",
    "MetaNotRegisteredError",
    "Post",
    "Tag",
    "TagLock",
    "ValueNotStorableError",
    "WriteNotAppliedError",
    "ensure_tag",
    "ensure_tags",
    "find_media_by_slug",
    "find_tag",
    "get_media",
    "get_post",
    "get_tag",
    "get_tags",
    "post_route",
    "read_seo_fields",
    "seo_meta_keys",
    "set_featured_media",
    "set_post_tags",
    "tag_lock_key",
    "upload_media",
    "write_post",
    "write_seo_meta",
]
