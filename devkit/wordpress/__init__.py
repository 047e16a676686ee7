"""A local stand-in for the WordPress 6.1 REST API (:mod:`devkit.wordpress.standin`)."""

from devkit.wordpress.standin import (
    ADMIN,
    READER,
    ApiError,
    ConnectionReset,
    Fault,
    RecordedRequest,
    WordPressStandIn,
)
from devkit.wordpress.store import Attachment, Post

__all__ = ["ADMIN", "READER", "ApiError", "Attachment", "ConnectionReset", "Fault", "Post",
           "RecordedRequest", "WordPressStandIn"]
