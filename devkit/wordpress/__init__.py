"""A local stand-in for the WordPress 6.1 REST API (:mod:`devkit.wordpress.standin`)."""

from devkit.wordpress.standin import (
    ADMIN,
    READER,
    ApiError,
    Fault,
    RecordedRequest,
    WordPressStandIn,
)
from devkit.wordpress.store import Attachment, Post

__all__ = ["ADMIN", "READER", "ApiError", "Attachment", "Fault", "Post", "RecordedRequest",
           "WordPressStandIn"]
