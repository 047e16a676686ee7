"""Which endpoints index_submit submits to, and with which key, from the settings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from pipeline.errors import ConfigError, PayloadError, PermanentError
from pipeline.index.indexnow import IndexNowKey, endpoint_name
from pipeline.settings import Settings

__all__ = ["GOOGLE", "IndexNotConfiguredError", "IndexTargets", "site_url"]

#: The endpoint name of the Google Indexing API (beside the IndexNow hosts).
GOOGLE: Final = "google"


class IndexNotConfiguredError(PermanentError):
    """Raised when index_submit runs with no endpoint configured (no key, Google off)."""


@dataclass(frozen=True)
class IndexTargets:
    """The IndexNow endpoints (name -> URL), the key, and whether Google is on."""

    indexnow: dict[str, str]
    key: IndexNowKey | None
    google: bool

    @classmethod
    def from_settings(cls, settings: Settings) -> IndexTargets:
        """The targets of ``ATR_INDEXNOW_*`` and ``ATR_GOOGLE_INDEXING``."""
        key = IndexNowKey(settings.indexnow_key, settings.indexnow_key_location) \
            if settings.indexnow_key else None
        endpoints = {endpoint_name(u): u for u in settings.indexnow_endpoints or ()} \
            if key else {}
        return cls(endpoints, key, settings.google_indexing == "on")

    @property
    def names(self) -> tuple[str, ...]:
        """Every endpoint name, IndexNow ones first."""
        return (*self.indexnow, *((GOOGLE,) if self.google else ()))

    def check(self, endpoint: object) -> str:
        """``endpoint`` as one of :attr:`names`; PayloadError otherwise (none: not configured)."""
        if not self.names:
            raise IndexNotConfiguredError(
                "no index endpoint is configured: set ATR_INDEXNOW_KEY (and "
                "ATR_INDEXNOW_ENDPOINTS), or ATR_GOOGLE_INDEXING=on")
        if not isinstance(endpoint, str) or endpoint not in self.names:
            raise PayloadError(f"endpoint {endpoint!r} is not configured; endpoints: "
                               f"{', '.join(self.names)} (or null for all)")
        return endpoint


def site_url(settings: Settings) -> str:
    """The public site: ``ATR_INDEX_SITE``, else BRIDGE_BASE without ``/wp-json``."""
    if settings.index_site:
        return settings.index_site
    if settings.bridge_base:
        return settings.bridge_base.removesuffix("/wp-json")
    raise ConfigError("set ATR_INDEX_SITE to the public site (https://example.com) or "
                      "BRIDGE_BASE to its REST root")
