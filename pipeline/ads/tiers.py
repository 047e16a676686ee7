"""The newest GA4 snapshot as the ad job reads it: its day and each post's tier.

The snapshot is written by GA4 scoring (:mod:`pipeline.ga4.snapshot`,
``<ATR_DOCLOG_ROOT>/ga4_scores/<YYYY-MM-DD>.csv``); this module only reads
the columns it needs (``post_id``, ``tier``, ``score``, ``rule``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from pipeline.ga4.errors import SnapshotError
from pipeline.ga4.snapshot import SnapshotDir, load_snapshot

__all__ = ["PostTier", "Tiers", "latest_tiers"]


@dataclass(frozen=True)
class PostTier:
    """One post's row: its tier, score ('' when unscored) and the rule that gave the tier."""

    post_id: int
    tier: str
    score: str
    rule: str


@dataclass(frozen=True)
class Tiers:
    """A snapshot's day, file and rows by post id."""

    day: dt.date
    path: Path
    posts: dict[int, PostTier]

    def age_days(self, today: dt.date) -> int:
        """Days from the snapshot's day to ``today``."""
        return (today - self.day).days


def latest_tiers(root: Path) -> Tiers | None:
    """The newest snapshot under ``root/ga4_scores``, or None when there is none.

    SnapshotError when the newest file cannot be read as a snapshot.
    """
    snapshots = SnapshotDir(root)
    days = snapshots.days()
    if not days:
        return None
    path = snapshots.path(days[-1])
    table = load_snapshot(path)
    try:
        posts = {int(pid): PostTier(int(pid), str(tier), str(score),
                                    str(rule) if "rule" in table.columns else "")
                 for pid, tier, score, rule in zip(
                     table["post_id"], table["tier"], table["score"],
                     table["rule"] if "rule" in table.columns else [""] * len(table),
                     strict=True)}
    except ValueError as exc:
        raise SnapshotError(f"{path}: a post id is not a number ({exc}); move the file "
                            "aside and score again") from None
    return Tiers(days[-1], path, posts)
