"""GA4 snapshot CSVs with chosen tiers, for the ads tests and the demo.

Written with the snapshot's own columns (:data:`pipeline.ga4.snapshot.SNAPSHOT_COLUMNS`),
UTF-8 with a BOM, the way GA4 scoring writes them; only the columns a reader of
tiers needs are filled in.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Mapping
from pathlib import Path

from pipeline.ga4.snapshot import SNAPSHOT_COLUMNS, SNAPSHOT_DIR

__all__ = ["write_tier_snapshot"]


def write_tier_snapshot(root: Path, day: dt.date, tiers: Mapping[int, str]) -> Path:
    """``<root>/ga4_scores/<day>.csv`` with ``tiers`` (post id -> tier); its path."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(SNAPSHOT_COLUMNS), lineterminator="\n")
    writer.writeheader()
    start = day - dt.timedelta(days=28)
    scores = {"promote": "82.50", "keep": "55.00", "refresh": "21.00", "prune": "4.00",
              "insufficient-data": ""}
    for post_id, tier in tiers.items():
        row = dict.fromkeys(SNAPSHOT_COLUMNS, "")
        row.update(post_id=str(post_id), title=f"post {post_id}", path=f"/p/{post_id}/",
                   tier=tier, score=scores.get(tier, ""),
                   rule="new_post" if tier == "insufficient-data" else "score",
                   views_per_day="10.00", period_start=start.isoformat(),
                   period_end=(day - dt.timedelta(days=1)).isoformat())
        writer.writerow(row)
    path = root / SNAPSHOT_DIR / f"{day.isoformat()}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\ufeff" + buffer.getvalue(), encoding="utf-8")
    return path
