"""The WordPress stand-in lives in ``ops.standins`` (the demo uses it too); re-exported here."""

from ops.standins.wordpress import (
    ADMIN,
    READER,
    ApiError,
    Fault,
    RecordedRequest,
    WordPressStandIn,
)
from ops.standins.wordpress_store import Attachment, Post

__all__ = ["ADMIN", "READER", "ApiError", "Attachment", "Fault", "Post", "RecordedRequest",
           "WordPressStandIn"]
