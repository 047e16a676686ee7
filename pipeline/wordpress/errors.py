"""Errors of the WordPress bridge, classified by HTTP status (never by WordPress's code).

Permanent (retrying cannot help; the message is rejected at once): 400, 404
for a post or tag that does not exist and the other 4xx, and a write that
WordPress answered with 200 but did not apply (meta keys it dropped because
they are not registered for REST among them). Configuration (every message
would fail alike, so the WordPress jobs are paused, see :mod:`pipeline.pause`):
401, 403, 404 with no WordPress route (``BRIDGE_BASE`` is not the REST root),
a bridge that is not configured. An outage (waited out for
``ATR_WP_OUTAGE_BUDGET_S``, then retried as usual): 408, 429, 5xx, timeouts
and connection errors.

Messages name the request (method and route, never the credentials) and what
an operator should check.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from pipeline.errors import OutageError, PeerMisconfigured, PermanentError

__all__ = [
    "BridgeAuthError",
    "BridgeError",
    "BridgeForbiddenError",
    "BridgeNotConfiguredError",
    "BridgeNotFoundError",
    "BridgeRequestError",
    "BridgeRouteNotFoundError",
    "BridgeUnavailableError",
    "MetaNotRegisteredError",
    "ValueNotStorableError",
    "WriteNotAppliedError",
]


class BridgeError(Exception):
    """Mixin of every WordPress bridge error; ``status`` is the HTTP status, if any.

    For an error answer, ``code`` and ``data`` are WordPress's own ``code`` and
    ``data`` (e.g. ``term_exists`` with ``data["term_id"]``); None and empty otherwise.
    """

    status: int | None = None
    code: str | None = None
    data: Mapping[str, Any] = MappingProxyType({})


class BridgeNotConfiguredError(BridgeError, PeerMisconfigured):
    """Raised when BRIDGE_BASE or BRIDGE_TOKEN is unset or malformed."""

    peer = "wordpress"


class BridgeAuthError(BridgeError, PeerMisconfigured):
    """Raised on 401: WordPress did not accept the BRIDGE_TOKEN credentials."""

    peer = "wordpress"


class BridgeForbiddenError(BridgeError, PeerMisconfigured):
    """Raised on 403: the BRIDGE_TOKEN user's role may not do this."""

    peer = "wordpress"


class BridgeNotFoundError(BridgeError, PermanentError):
    """Raised on 404: the post (or tag, or media item) does not exist."""


class BridgeRouteNotFoundError(BridgeNotFoundError, PeerMisconfigured):
    """Raised on a 404 that is no WordPress answer about an item (``rest_no_route``, not JSON).

    BRIDGE_BASE is then not the REST root (``…/wp-json``): every request fails alike.
    """

    peer = "wordpress"


class BridgeRequestError(BridgeError, PermanentError):
    """Raised on 400 and other 4xx: the request itself is wrong; retrying sends it again."""


class WriteNotAppliedError(BridgeError, PermanentError):
    """Raised when WordPress answered a write with 200 but the read-back shows no change.

    ``stored`` maps each meta field whose stored value differs to that value.
    """

    stored: Mapping[str, str] = MappingProxyType({})


class MetaNotRegisteredError(WriteNotAppliedError):
    """Raised when meta keys are not registered with show_in_rest (checked before writing)."""


class ValueNotStorableError(BridgeError, PermanentError):
    """Raised before any write when WordPress's sanitising would store another value.

    ``stored`` maps each such field (or ``tag:<name>``) to what WordPress would keep.
    """

    stored: Mapping[str, str] = MappingProxyType({})


class BridgeUnavailableError(BridgeError, OutageError):
    """Raised on 408, 429, 5xx, timeouts and connection errors: a later attempt may succeed."""

    peer = "wordpress"
