"""The WordPress bridge: a REST client for BRIDGE_BASE with BRIDGE_TOKEN, one module per concern.

``bridge`` holds the HTTP side (timeouts, HTTP Basic Application Password,
classification of failures by status); ``posts`` and ``media`` are the
concerns used by the featured-image pipeline. Tags and SEO meta go in their
own modules beside them. This package imports no Dramatiq.
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
    WriteNotAppliedError,
)
from pipeline.wordpress.media import (
    MEDIA_ROUTE,
    Media,
    find_media_by_slug,
    get_media,
    upload_media,
)
from pipeline.wordpress.posts import Post, get_post, post_route, set_featured_media

__all__ = [
    "CONNECT_TIMEOUT_S",
    "MEDIA_ROUTE",
    "READ_TIMEOUT_S",
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
    "Post",
    "WriteNotAppliedError",
    "find_media_by_slug",
    "get_media",
    "get_post",
    "post_route",
    "set_featured_media",
    "upload_media",
]
