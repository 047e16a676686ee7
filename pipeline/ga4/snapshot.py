"""The snapshot CSV of a scoring run, and reading snapshots back.

``<root>/ga4_scores/<YYYY-MM-DD>.csv`` (root is ``ATR_DOCLOG_ROOT``): UTF-8
with a BOM so Excel opens the Korean titles correctly, one row per post in
the order of :func:`~pipeline.ga4.score.score_files`, columns in
:data:`SNAPSHOT_COLUMNS` (what an analyst reads first on the left: id, title,
path, tier, score, rule). Numbers are written with fixed decimals, so the
same data always gives the same bytes (the Korean-UI and the English export of
one report give identical snapshots). The file is written to a temporary
name, fsynced and renamed: a reader never sees half a snapshot.

Beside it, ``<root>/ga4_scores/paths/<YYYY-MM-DD>.csv`` lists what was not
scored as a post (unmatched paths with their reason) and which raw paths were
merged, for the monthly report and for an analyst checking the mapping.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Final

import pandas as pd

from pipeline.ga4.errors import SnapshotError
from pipeline.ga4.reader import Period
from pipeline.ga4.score import (
    COMPONENTS,
    PreviousPost,
    PreviousSnapshot,
    ScoredPost,
    ScoreRun,
)

__all__ = [
    "PATHS_COLUMNS",
    "SNAPSHOT_COLUMNS",
    "SNAPSHOT_DIR",
    "SnapshotDir",
    "load_snapshot",
    "read_posts",
    "read_snapshot",
    "write_snapshot",
]

#: Directory under the doclog root (``pipeline.rotate`` expires its CSVs).
SNAPSHOT_DIR: Final = "ga4_scores"
_PATHS_DIR: Final = "paths"
_VALUE_COLUMNS: Final = {"reach": "reach", "engagement": "engagement_s",
                         "views_per_user": "views_per_user", "key_events": "key_events_per_1k"}
#: The snapshot's columns, in order.
SNAPSHOT_COLUMNS: Final = (
    "post_id", "title", "path", "tier", "score", "rule", "previous_tier", "previous_score",
    "score_change", "decaying", "decay", "reach_share", "views", "users", "key_events",
    "views_per_day", "engagement_rate",
    *(_VALUE_COLUMNS[c] for c in COMPONENTS),
    *(f"{c}_pct" for c in COMPONENTS),
    *(f"{c}_pts" for c in COMPONENTS),
    "published", "modified", "age_days", "days_live", "variants", "period_start", "period_end",
)
#: The columns of ``paths/<day>.csv``.
PATHS_COLUMNS: Final = ("path", "post_id", "reason", "views", "users", "variants",
                        "top_variants")
_REQUIRED: Final = ("post_id", "tier", "score", "views_per_day", "period_start", "period_end")
_DAY_NAME: Final = re.compile(r"(\d{4}-\d{2}-\d{2})\.csv")


def _num(value: float | None, decimals: int) -> str:
    if value is None:
        return ""
    text = f"{value:.{decimals}f}"
    return "0" if decimals == 0 and text == "-0" else text


def _count(value: float) -> str:
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.2f}"


def _row(post: ScoredPost, period: Period) -> list[str]:
    return [
        str(post.post_id), post.title, post.path, post.tier, _num(post.score, 2), post.rule,
        post.previous_tier, _num(post.previous_score, 2), _num(post.score_change, 2),
        "" if not post.decay else ("yes" if post.decaying else "no"), post.decay,
        _num(post.reach_share, 4), _count(post.views), _count(post.users),
        _count(post.key_events), _num(post.views_per_day, 2), _num(post.engagement_rate, 4),
        *(_num(post.values[c], 4) for c in COMPONENTS),
        *(_num(post.percentiles[c], 2) for c in COMPONENTS),
        *(_num(post.points[c], 2) for c in COMPONENTS),
        post.published.isoformat(), post.modified.isoformat(), str(post.age_days),
        str(post.days_live), str(post.variants), period.start.isoformat(),
        period.end.isoformat(),
    ]


def _csv_text(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return "\ufeff" + buffer.getvalue()


def _write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with tmp.open("w", encoding="utf-8", newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def write_snapshot(run: ScoreRun, root: Path, day: dt.date) -> Path:
    """Write ``run`` as ``<root>/ga4_scores/<day>.csv`` (and its ``paths/`` file); its path.

    The paths file is written first, so the newest ``*.csv`` of the
    directory is always a complete snapshot. Rewriting a day replaces it.
    """
    directory = root / SNAPSHOT_DIR
    paths_rows: list[list[str]] = [
        [u.path, "", u.reason, _count(u.views), _count(u.users), str(u.variants), ""]
        for u in run.unmatched]
    paths_rows += [
        [m.target, "" if m.post_id is None else str(m.post_id), "merged", _count(m.views), "",
         str(m.variants), " | ".join(f"{raw} ({_count(v)})" for raw, v in m.top)]
        for m in run.merged]
    _write_atomically(directory / _PATHS_DIR / f"{day.isoformat()}.csv",
                      _csv_text(PATHS_COLUMNS, paths_rows))
    target = directory / f"{day.isoformat()}.csv"
    _write_atomically(target, _csv_text(SNAPSHOT_COLUMNS,
                                        (_row(p, run.period) for p in run.posts)))
    return target


def load_snapshot(path: Path) -> pd.DataFrame:
    """A snapshot as a table of strings (empty cells are ``""``); SnapshotError if unusable."""
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise SnapshotError(f"{path}: cannot read the GA4 snapshot ({exc}); move it aside "
                            "and score again") from None
    missing = [c for c in _REQUIRED if c not in table.columns]
    if missing:
        raise SnapshotError(f"{path}: not a GA4 snapshot of this version (no "
                            f"{', '.join(missing)} column); move it aside and score again")
    return table


def load_paths(root: Path, day: dt.date) -> pd.DataFrame:
    """The ``paths/<day>.csv`` beside a snapshot (an empty table when there is none)."""
    path = root / SNAPSHOT_DIR / _PATHS_DIR / f"{day.isoformat()}.csv"
    if not path.is_file():
        return pd.DataFrame(columns=list(PATHS_COLUMNS), dtype=str)
    return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")


def _float(text: str) -> float | None:
    return float(text) if text != "" else None


def read_snapshot(path: Path) -> PreviousSnapshot:
    """A snapshot file as the previous snapshot of a run (tiers, scores, views per day)."""
    table = load_snapshot(path)
    match = _DAY_NAME.fullmatch(path.name)
    day = dt.date.fromisoformat(match[1]) if match else dt.date.min
    if table.empty:
        return PreviousSnapshot(day, Period(day, day), {})
    try:
        period = Period(dt.date.fromisoformat(str(table["period_start"].iat[0])),
                        dt.date.fromisoformat(str(table["period_end"].iat[0])))
        posts = {int(pid): PreviousPost(tier, _float(score), float(vpd or 0))
                 for pid, tier, score, vpd in zip(table["post_id"], table["tier"],
                                                  table["score"], table["views_per_day"],
                                                  strict=True)}
    except ValueError as exc:
        raise SnapshotError(f"{path}: a GA4 snapshot value is malformed ({exc}); move it "
                            "aside and score again") from None
    return PreviousSnapshot(day, period, posts)


def read_posts(path: Path) -> list[ScoredPost]:
    """A snapshot's rows back as :class:`ScoredPost` (for ``atr ga4 show``), in file order."""
    table = load_snapshot(path)
    missing = [c for c in SNAPSHOT_COLUMNS if c not in table.columns]
    if missing:
        raise SnapshotError(f"{path}: not a GA4 snapshot of this version (no "
                            f"{', '.join(missing)} column); score the period again")
    posts = []
    try:
        for row in table.to_dict("records"):
            posts.append(ScoredPost(
                post_id=int(row["post_id"]), title=row["title"], path=row["path"],
                tier=row["tier"], rule=row["rule"], score=_float(row["score"]),
                previous_tier=row["previous_tier"], previous_score=_float(row["previous_score"]),
                score_change=_float(row["score_change"]), reach_share=_float(row["reach_share"]),
                decay=row["decay"], decaying=row["decaying"] == "yes",
                views=float(row["views"]), users=float(row["users"]),
                key_events=float(row["key_events"]),
                views_per_day=float(row["views_per_day"] or 0),
                engagement_rate=_float(row["engagement_rate"]),
                values={c: _float(row[_VALUE_COLUMNS[c]]) for c in COMPONENTS},
                percentiles={c: _float(row[f"{c}_pct"]) for c in COMPONENTS},
                points={c: _float(row[f"{c}_pts"]) for c in COMPONENTS},
                published=dt.date.fromisoformat(row["published"]),
                modified=dt.date.fromisoformat(row["modified"]),
                age_days=int(row["age_days"]), days_live=int(row["days_live"]),
                variants=int(row["variants"])))
    except ValueError as exc:
        raise SnapshotError(f"{path}: a GA4 snapshot value is malformed ({exc}); move it "
                            "aside and score again") from None
    return posts


class SnapshotDir:
    """The snapshots under ``<root>/ga4_scores``: list them, find the one to compare with."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.directory = root / SNAPSHOT_DIR

    def days(self) -> list[dt.date]:
        """Days that have a snapshot, oldest first."""
        if not self.directory.is_dir():
            return []
        found = []
        for path in self.directory.iterdir():
            match = _DAY_NAME.fullmatch(path.name)
            if match and path.is_file():
                try:
                    found.append(dt.date.fromisoformat(match[1]))
                except ValueError:
                    continue
        return sorted(found)

    def path(self, day: dt.date) -> Path:
        """Where the snapshot of ``day`` is (or would be)."""
        return self.directory / f"{day.isoformat()}.csv"

    def previous(self, period: Period) -> PreviousSnapshot | None:
        """The newest snapshot of a period that ended before ``period`` started, or None.

        Comparing with a non-overlapping period is what makes a drop a
        decay: a daily run over a rolling 28-day window compares with the
        snapshot of about 28 days earlier.
        """
        for day in reversed(self.days()):
            end = self._period_end(self.path(day))
            if end is not None and end < period.start:
                return read_snapshot(self.path(day))
        return None

    def latest_for_month(self, year: int, month: int) -> dt.date | None:
        """The newest snapshot whose period ends in that month (its day), or None."""
        for day in reversed(self.days()):
            end = self._period_end(self.path(day))
            if end is not None and (end.year, end.month) == (year, month):
                return day
        return None

    @staticmethod
    def _period_end(path: Path) -> dt.date | None:
        try:
            with path.open(encoding="utf-8-sig", newline="") as handle:
                reader = csv.DictReader(handle)
                first = next(reader, None)
        except (OSError, csv.Error, UnicodeDecodeError):
            return None
        if not first or not first.get("period_end"):
            return None
        try:
            return dt.date.fromisoformat(first["period_end"])
        except ValueError:
            return None
