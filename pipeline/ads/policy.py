"""The ad policy: which ad mode each GA4 tier gets, and the quality floor no tier passes.

``ATR_ADS_POLICY`` maps every tier of the GA4 snapshot to a mode (``on``,
``reduced``, ``off``) or to ``unchanged`` (leave the post as it is; the
default for ``insufficient-data``, which says nothing about the post yet).
The quality floor caps a post at ``reduced``, whatever its tier: fewer words
than ``ATR_ADS_MIN_WORDS`` (counted on the plain text, split on spaces, as
Korean is written: 어절), or a banned word of the SEO quality guide
(``ATR_SEO_BANNED_WORDS``: clickbait) in its title. Ads on thin or clickbait
pages are what ad networks and search quality raters penalise first.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

from pipeline.seo.quality import QualityGuide, banned_words_in
from pipeline.settings import Settings
from pipeline.text import plain_text

__all__ = ["AD_MODES", "UNCHANGED", "AdPolicy", "Decision", "word_count"]

#: The ad modes a post can have, most ads first.
AD_MODES: Final = ("on", "reduced", "off")
#: The policy target that leaves a post alone.
UNCHANGED: Final = "unchanged"


def word_count(content: str) -> int:
    """Words of a post body (HTML): spaced words (어절) of its plain text."""
    return len(plain_text(content).split())


@dataclass(frozen=True)
class Decision:
    """The mode a post should have (None: leave it unchanged) and why, in one line."""

    mode: str | None
    reason: str


@dataclass(frozen=True)
class AdPolicy:
    """Tier -> target, the word floor and the clickbait words (from the SEO guide)."""

    table: Mapping[str, str]
    min_words: int
    banned_words: tuple[str, ...]

    @classmethod
    def from_settings(cls, settings: Settings) -> AdPolicy:
        """The policy of ``ATR_ADS_POLICY``, ``ATR_ADS_MIN_WORDS`` and ``ATR_SEO_BANNED_WORDS``."""
        return cls(MappingProxyType(dict(settings.ads_policy)), settings.ads_min_words,
                   QualityGuide.from_settings(settings).banned_words)

    def decide(self, tier: str, title: str, content: str) -> Decision:
        """The mode of a post of ``tier`` with this ``title`` and body."""
        target = self.table.get(tier)
        if target is None:
            return Decision(None, f"tier {tier!r} is not in ATR_ADS_POLICY: left unchanged")
        if target == UNCHANGED:
            return Decision(None, f"{tier} -> unchanged")
        if target != "on":
            return Decision(target, f"{tier} -> {target}")
        floor = self.below_floor(title, content)
        if floor:
            return Decision("reduced", f"{tier} -> on, capped at reduced: {floor}")
        return Decision("on", f"{tier} -> on")

    def below_floor(self, title: str, content: str) -> str:
        """Why a post is below the quality floor ('' when it is not)."""
        words = word_count(content)
        if words < self.min_words:
            return f"{words} words < ATR_ADS_MIN_WORDS={self.min_words}"
        banned = banned_words_in(title, self.banned_words)
        if banned:
            return f"banned word {banned[0]!r} in the title (SEO quality guide)"
        return ""
