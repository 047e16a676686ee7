"""The weights and thresholds of GA4 scoring, with their defaults and why.

Every number the score and the tiers depend on lives in :class:`Ga4Config`;
each field's ``reason`` metadata says in one line why the default is what it
is (:meth:`Ga4Config.reasons`), so the settings' help text and the README are
written from it and an analyst tuning a threshold knows what it guards.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from pipeline.errors import ConfigError

__all__ = ["Ga4Config"]

_NANUM_GOTHIC = Path("/usr/share/fonts/truetype/nanum/NanumGothic.ttf")


def _f(default: Any, reason: str) -> Any:
    return field(default=default, metadata={"reason": reason})


@dataclass(frozen=True)
class Ga4Config:
    """Weights, thresholds and the report font of GA4 scoring (all defaults documented)."""

    weight_reach: float = _f(
        0.40, "reach (views per day live) is what a post does for the site: the main weight")
    weight_engagement: float = _f(
        0.30, "engagement time separates read posts from bounced clicks")
    weight_views_per_user: float = _f(
        0.10, "repeat views per reader are a weak signal of usefulness: a small weight")
    weight_key_events: float = _f(
        0.20, "key events pay, but are rare and noisy even after shrinkage: below engagement")
    promote_score: float = _f(
        70.0, "score (0-100) at or above which a post is promoted: about the top third")
    refresh_score: float = _f(
        30.0, "score at or below which a post needs a refresh: about the bottom third")
    prune_score: float = _f(
        15.0, "score at or below which a post is a prune candidate: the bottom seventh")
    min_views: int = _f(
        30, "fewer views in the period than this: too little data to rank (insufficient-data)")
    min_age_days: int = _f(
        14, "a post younger than this at the period end has not been found by search yet")
    key_event_prior_views: float = _f(
        200.0, "weight of the site-wide key-event rate, in views: a 200-view post is "
               "half its own rate and half the site's")
    decay_mild_reach: float = _f(
        0.85, "views per day at or below this share of the previous period: mild decay")
    decay_moderate_reach: float = _f(
        0.70, "views per day at or below this share: moderate decay (decaying)")
    decay_severe_reach: float = _f(
        0.50, "views per day at or below this share (halved): severe decay")
    decay_mild_drop: float = _f(
        8.0, "score points lost since the previous snapshot for mild decay")
    decay_moderate_drop: float = _f(
        15.0, "score points lost for moderate decay (decaying)")
    decay_severe_drop: float = _f(
        25.0, "score points lost for severe decay")
    refresh_grace_days: int = _f(
        30, "a post updated this many days before the period end or later is left to recover "
            "instead of being sent to refresh or prune again")
    page_paths: tuple[str, ...] = _f(
        ("/about/", "/contact/", "/privacy-policy/"),
        "the site's static pages: listed apart as pages, never scored as posts")
    report_font: Path = field(default=_NANUM_GOTHIC, metadata={
        "reason": "a font with Hangul for the report's charts (Debian's fonts-nanum)"})

    def __post_init__(self) -> None:
        weights = (self.weight_reach, self.weight_engagement, self.weight_views_per_user,
                   self.weight_key_events)
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, (int, float)) and not isinstance(value, bool) and value < 0:
                raise ConfigError(f"GA4 {f.name}={value!r} must not be negative")
        if sum(weights) <= 0:
            raise ConfigError("GA4 weights must not all be 0: set at least one weight_* > 0")
        if not 0 <= self.prune_score < self.refresh_score < self.promote_score <= 100:
            raise ConfigError(
                f"GA4 thresholds must satisfy 0 <= prune_score ({self.prune_score:g}) < "
                f"refresh_score ({self.refresh_score:g}) < promote_score "
                f"({self.promote_score:g}) <= 100")
        if not 0 < self.decay_severe_reach < self.decay_moderate_reach \
                < self.decay_mild_reach <= 1:
            raise ConfigError(
                "GA4 decay reach shares must satisfy 0 < decay_severe_reach < "
                "decay_moderate_reach < decay_mild_reach <= 1")
        if not 0 < self.decay_mild_drop < self.decay_moderate_drop < self.decay_severe_drop:
            raise ConfigError("GA4 decay score drops must satisfy 0 < decay_mild_drop < "
                              "decay_moderate_drop < decay_severe_drop")
        if self.min_views < 1:
            raise ConfigError(f"GA4 min_views={self.min_views} must be at least 1")
        bad = [p for p in self.page_paths if not (p.startswith("/") and p.endswith("/"))]
        if bad:
            raise ConfigError(f"GA4 page_paths {bad} must start and end with '/' (e.g. /about/)")

    @property
    def weights(self) -> dict[str, float]:
        """Component name -> weight, in the order the snapshot lists them."""
        return {"reach": self.weight_reach, "engagement": self.weight_engagement,
                "views_per_user": self.weight_views_per_user,
                "key_events": self.weight_key_events}

    @classmethod
    def reasons(cls) -> dict[str, str]:
        """Field name -> the one-line reason of its default."""
        return {f.name: str(f.metadata["reason"]) for f in fields(cls)}
