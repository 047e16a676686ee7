"""Score every post from GA4 exports: the use case behind the ``ga4_score`` job.

The formula (every number is a :class:`~pipeline.ga4.config.Ga4Config` field;
an analyst can redo it by hand from the snapshot's columns):

1. **Rows to posts.** Each export row's path is normalised
   (:mod:`pipeline.ga4.paths`); rows whose paths normalise alike, and paths
   that lead to the same post (``/?p=123``, ``/slug/amp/``), are merged:
   counts are summed (views, users, key events, sessions, engagement
   seconds = average x users); averages are recomputed from the sums, never
   averaged. Paths of no post are listed apart (``unmatched``), never scored.
2. **Eligibility.** ``age_days`` = period end - publish date + 1. A post with
   ``age_days < min_age_days`` is ``insufficient-data`` (rule ``new_post``), one
   with ``views < min_views`` too (rule ``few_views``); neither is ranked.
3. **Components** (of each eligible post):
   - ``reach`` = log10(1 + views / days_live), days_live = min(age_days,
     period days): views per day live, log-scaled;
   - ``engagement_s`` = engagement seconds / users (average engagement time
     per active user);
   - ``views_per_user`` = views / users;
   - ``key_events_per_1k`` = 1000 x (key_events + m x p0) / (views + m): the
     post's key events per 1,000 views shrunk toward the site rate p0 =
     sum(key_events) / sum(views) over eligible posts, with m =
     ``key_event_prior_views`` (the empirical-Bayes beta-binomial mean: a post
     with few views is pulled to the site rate, one with many keeps its own;
     key events above views are counted as views).
   Values are rounded as the snapshot shows them (4 decimals) before ranking.
4. **Standardised within the period.** Each component becomes a percentile
   among the eligible posts: pct = 100 x (below + equal / 2) / N (ties share
   one value; one post alone is 50).
5. **Score** = sum over components of round(w_c / W x pct_c, 2), W the sum of
   the weights of the components the export has (a file without key events
   drops that weight and the others share it). 0-100.
6. **Decay** against the previous snapshot (the newest one of an earlier,
   non-overlapping period): reach share = views per day now / then, score
   change = score now - then. Severity is ``severe`` when the share is at
   or below ``decay_severe_reach`` or the score fell by
   ``decay_severe_drop`` or more, ``moderate`` and ``mild`` likewise, else
   ``none``; ``decaying`` = moderate or severe. A post that was
   insufficient-data then has no baseline (decay left empty).
7. **Tier**, the first rule that fires: ``new_post``, ``few_views`` ->
   insufficient-data; ``sliding`` (decaying and previously promote or keep)
   -> refresh; ``top_score`` (score >= promote_score) -> promote;
   ``bottom_score`` (score <= prune_score) -> prune; ``low_score`` (score <=
   refresh_score) -> refresh; ``middle`` -> keep. A post refresh or prune
   would pick that was modified within ``refresh_grace_days`` of the period
   end stays keep (rule ``recently_updated``).
8. **Order**: ranked posts by score (high first), then the others by views;
   ties by post id.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Protocol

import numpy as np
import pandas as pd

from pipeline.ga4.config import Ga4Config
from pipeline.ga4.errors import IncompleteExportError, OverlappingExportsError
from pipeline.ga4.paths import PostIndex, PostLike, PostsPort, classify_path, normalise_codes
from pipeline.ga4.reader import SUMMABLE, Export, Period, read_export

__all__ = [
    "COMPONENTS",
    "TIERS",
    "InputFile",
    "MergedPath",
    "PreviousPost",
    "PreviousSnapshot",
    "ScoreRun",
    "ScoredPost",
    "SnapshotSource",
    "UnmatchedPath",
    "explain",
    "score_exports",
    "score_files",
]

#: The tiers, best first.
TIERS: Final = ("promote", "keep", "refresh", "prune", "insufficient-data")
#: The score's components, in the order the snapshot lists them.
COMPONENTS: Final = ("reach", "engagement", "views_per_user", "key_events")
#: What an export must have for each component.
_NEEDS: Final = {"reach": None, "engagement": "engagement", "views_per_user": "users",
                 "key_events": "key_events"}
_VARIANTS_KEPT: Final = 10


@dataclass(frozen=True)
class InputFile:
    """One file of a run, as read."""

    path: str
    kind: str
    language: str
    rows: int
    totals_rows: int
    report_name: str | None
    property: str | None
    ignored_tables: tuple[str, ...]


@dataclass(frozen=True)
class MergedPath:
    """Raw GA4 paths merged into one post (or one unmatched path), the most viewed first."""

    target: str
    post_id: int | None
    views: float
    variants: int
    top: tuple[tuple[str, float], ...]


@dataclass(frozen=True)
class UnmatchedPath:
    """A canonical path that is no post (``reason``: :func:`pipeline.ga4.paths.classify_path`)."""

    path: str
    reason: str
    views: float
    users: float
    variants: int


@dataclass(frozen=True)
class PreviousPost:
    """What the previous snapshot said of one post."""

    tier: str
    score: float | None
    views_per_day: float


@dataclass(frozen=True)
class PreviousSnapshot:
    """The previous snapshot: its day, period and rows by post id."""

    day: dt.date
    period: Period
    posts: dict[int, PreviousPost]


class SnapshotSource(Protocol):
    """Finds the snapshot to compare a period with (``snapshot.SnapshotDir`` is one)."""

    def previous(self, period: Period) -> PreviousSnapshot | None:
        """The newest snapshot of a period that ended before ``period`` started."""


@dataclass(frozen=True)
class ScoredPost:
    """One post's row: its numbers, its components, its tier and why."""

    post_id: int
    title: str
    path: str
    tier: str
    rule: str
    score: float | None
    previous_tier: str
    previous_score: float | None
    score_change: float | None
    reach_share: float | None
    decay: str
    decaying: bool
    views: float
    users: float
    key_events: float
    views_per_day: float
    engagement_rate: float | None
    values: dict[str, float | None]
    percentiles: dict[str, float | None]
    points: dict[str, float | None]
    published: dt.date
    modified: dt.date
    age_days: int
    days_live: int
    variants: int


@dataclass(frozen=True)
class ScoreRun:
    """The result of one scoring run: the posts' rows and everything set aside."""

    period: Period
    inputs: tuple[InputFile, ...]
    posts: tuple[ScoredPost, ...]
    unmatched: tuple[UnmatchedPath, ...]
    merged: tuple[MergedPath, ...]
    components: tuple[str, ...]
    weights: dict[str, float]
    site_key_event_rate: float
    previous_day: dt.date | None
    config: Ga4Config = field(repr=False)
    notes: tuple[str, ...] = ()

    @property
    def tier_counts(self) -> dict[str, int]:
        """Posts per tier, every tier present (0 when empty), best first."""
        counts = dict.fromkeys(TIERS, 0)
        for post in self.posts:
            counts[post.tier] += 1
        return counts

    def summary(self) -> dict[str, Any]:
        """A JSON-clean summary (for the ``ga4.scored`` doclog event and ``--json``)."""
        return {
            "period": {"start": self.period.start.isoformat(), "end": self.period.end.isoformat()},
            "tiers": self.tier_counts,
            "posts": len(self.posts),
            "unmatched_paths": len(self.unmatched),
            "unmatched_views": int(sum(u.views for u in self.unmatched)),
            "merged_posts": sum(1 for m in self.merged if m.post_id is not None),
            "input_files": [i.path for i in self.inputs],
            "rows": sum(i.rows for i in self.inputs),
            "components": list(self.components),
            "previous_snapshot": self.previous_day.isoformat() if self.previous_day else None,
        }

    def entering(self, tier: str) -> tuple[ScoredPost, ...]:
        """Posts in ``tier`` now that were not in it in the previous snapshot."""
        return tuple(p for p in self.posts if p.tier == tier and p.previous_tier != tier)

    def post(self, post_id: int) -> ScoredPost | None:
        """The row of ``post_id``, or None."""
        return next((p for p in self.posts if p.post_id == post_id), None)


def score_files(paths: Sequence[Path], posts: PostsPort, config: Ga4Config | None = None,
                previous: PreviousSnapshot | SnapshotSource | None = None, *,
                period: Period | None = None) -> ScoreRun:
    """Read ``paths`` (one period), map them to ``posts`` and score every post.

    ``previous`` is the snapshot to detect decay against, or where to find it
    (a :class:`SnapshotSource`). Every file is read before anything is
    scored: one bad file raises its :class:`~pipeline.ga4.errors.Ga4InputError`
    and nothing is produced.
    """
    exports = [read_export(Path(p), period=period) for p in paths]
    return score_exports(exports, posts, config, previous)


def score_exports(exports: Sequence[Export], posts: PostsPort, config: Ga4Config | None = None,
                  previous: PreviousSnapshot | SnapshotSource | None = None) -> ScoreRun:
    """Score exports already read (see :func:`score_files`)."""
    config = config or Ga4Config()
    if not exports:
        raise OverlappingExportsError("no GA4 export given: name at least one file")
    period = _one_period(exports)
    _check_complete(exports)
    listed: Iterable[PostLike] = posts() if callable(posts) else posts
    index = PostIndex(listed)
    table = _concat(exports)
    available = frozenset.intersection(*(e.available for e in exports))
    components = tuple(c for c in COMPONENTS if _NEEDS[c] is None or _NEEDS[c] in available)
    if isinstance(previous, PreviousSnapshot) or previous is None:
        before = previous
    else:
        before = previous.previous(period)
    frame, unmatched, merged = _to_posts(table, index, config)
    rows, p0, weights = _score(frame, index, period, components, config, before)
    notes = tuple(n for e in exports for n in e.notes)
    return ScoreRun(
        period=period,
        inputs=tuple(InputFile(str(e.source), e.kind, e.language, e.rows, e.totals_rows,
                               e.report_name, e.ga_property, e.ignored_tables) for e in exports),
        posts=rows, unmatched=unmatched, merged=merged, components=components,
        weights=weights, site_key_event_rate=p0,
        previous_day=before.day if before else None, config=config, notes=notes)


def _one_period(exports: Sequence[Export]) -> Period:
    periods = {e.period for e in exports}
    if len(periods) > 1:
        listed = ", ".join(f"{e.source.name} {e.period}" for e in exports)
        raise OverlappingExportsError(
            f"the files cover different periods ({listed}); score one period at a time")
    return exports[0].period


def _check_complete(exports: Sequence[Export]) -> None:
    counts = [e.row_count for e in exports if e.row_count is not None]
    if not counts:
        return
    have = sum(e.rows for e in exports if e.kind == "runreport")
    if have < max(counts):
        names = ", ".join(e.source.name for e in exports if e.kind == "runreport")
        raise IncompleteExportError(
            f"{names}: runReport rowCount is {max(counts)} but the files hold {have} rows: "
            "pages are missing; fetch every page (offset/limit) and score them together")


def _concat(exports: Sequence[Export]) -> pd.DataFrame:
    if len(exports) == 1:
        return exports[0].table
    tables = []
    owner: dict[str, str] = {}
    for export in exports:
        for raw in pd.unique(export.table["path"].to_numpy()):
            if raw in owner:
                raise OverlappingExportsError(
                    f"{owner[raw]} and {export.source.name} both list {raw!r} for "
                    f"{export.period}: they overlap (the same export twice?); score one of them")
            owner[raw] = export.source.name
        tables.append(export.table)
    return pd.concat(tables, ignore_index=True)


def _to_posts(table: pd.DataFrame, index: PostIndex, config: Ga4Config
              ) -> tuple[pd.DataFrame, tuple[UnmatchedPath, ...], tuple[MergedPath, ...]]:
    """Sums per post id (rows for every listed post), the unmatched paths and the merges."""
    raw_codes, raw_uniques = pd.factorize(table["path"].to_numpy(dtype=object))
    canon_codes, canon_uniques = normalise_codes(np.asarray(raw_uniques, dtype=object))
    n_canon = len(canon_uniques)
    per_raw = {c: np.bincount(raw_codes, weights=table[c].to_numpy(dtype=float),
                              minlength=len(raw_uniques)) for c in SUMMABLE}
    per_canon = {c: np.bincount(canon_codes, weights=v, minlength=n_canon)
                 for c, v in per_raw.items()}
    found = [index.find(str(p)) for p in canon_uniques]
    post_of_canon = np.array([-1 if f is None else f for f in found], dtype=np.int64)
    post_of_raw = post_of_canon[canon_codes]

    ids = np.array(sorted(index.posts), dtype=np.int64)
    position = {int(i): k for k, i in enumerate(ids.tolist())}
    matched = post_of_canon >= 0
    slot = np.array([position.get(int(p), -1) for p in post_of_canon], dtype=np.int64)
    frame = pd.DataFrame({"post_id": ids})
    for c in SUMMABLE:
        frame[c] = np.bincount(slot[matched], weights=per_canon[c][matched], minlength=len(ids))
    slot_of_raw = slot[canon_codes]
    frame["variants"] = np.bincount(slot_of_raw[slot_of_raw >= 0], minlength=len(ids))

    raw_views = per_raw["views"]
    canon_variants = np.bincount(canon_codes, minlength=n_canon)
    page_paths = frozenset(config.page_paths)
    unmatched = sorted(
        (UnmatchedPath(str(canon_uniques[k]), classify_path(str(canon_uniques[k]), page_paths),
                       float(per_canon["views"][k]), float(per_canon["users"][k]),
                       int(canon_variants[k]))
         for k in np.flatnonzero(~matched)),
        key=lambda u: (-u.views, u.path))
    merged = _merges(raw_uniques, raw_views, post_of_raw, canon_codes, canon_uniques, index)
    return frame, tuple(unmatched), merged


def _merges(raw_uniques: Any, raw_views: np.ndarray, post_of_raw: np.ndarray,
            canon_codes: np.ndarray, canon_uniques: Any, index: PostIndex
            ) -> tuple[MergedPath, ...]:
    """Every post (or unmatched path) that more than one raw path was merged into."""
    # One integer group per post, then one per unmatched canonical path.
    offset = int(post_of_raw.max(initial=-1)) + 1
    group = np.where(post_of_raw >= 0, post_of_raw, offset + canon_codes)
    sizes = np.bincount(group)
    multi = np.flatnonzero(sizes[group] > 1)
    if not len(multi):
        return ()
    order = multi[np.lexsort((-raw_views[multi], group[multi]))]
    groups, starts = np.unique(group[order], return_index=True)
    raw = np.asarray(raw_uniques, dtype=object)
    out = []
    for g, first in zip(groups.tolist(), starts.tolist(), strict=True):
        members = order[first:first + int(sizes[g])]
        post_id = g if g < offset else None
        target = index.paths[g] if post_id is not None else str(canon_uniques[g - offset])
        top = tuple((str(raw[m]), float(raw_views[m])) for m in members[:_VARIANTS_KEPT])
        out.append(MergedPath(target, post_id, float(raw_views[members].sum()),
                              len(members), top))
    return tuple(sorted(out, key=lambda m: (-m.views, m.target)))


def _percentiles(values: np.ndarray) -> np.ndarray:
    """pct = 100 x (below + equal / 2) / N for each value (see the module docstring)."""
    n = len(values)
    if n == 0:
        return values
    ranks = pd.Series(values).rank(method="average").to_numpy()
    return 100.0 * (ranks - 0.5) / n


def _score(frame: pd.DataFrame, index: PostIndex, period: Period, components: tuple[str, ...],
           config: Ga4Config, before: PreviousSnapshot | None
           ) -> tuple[tuple[ScoredPost, ...], float, dict[str, float]]:
    ids = frame["post_id"].to_numpy()
    views = frame["views"].to_numpy(dtype=float)
    users = frame["users"].to_numpy(dtype=float)
    key_events = np.minimum(frame["key_events"].to_numpy(dtype=float), views)
    published = [index.posts[int(i)].date.date() for i in ids]
    age = np.array([(period.end - d).days + 1 for d in published], dtype=np.int64)
    days_live = np.clip(np.minimum(age, period.days), 1, None)
    per_day = views / days_live
    eligible = (age >= config.min_age_days) & (views >= config.min_views)

    safe_users = np.where(users > 0, users, 1.0)
    p0 = float(key_events[eligible].sum() / views[eligible].sum()) \
        if eligible.any() and views[eligible].sum() > 0 else 0.0
    m = config.key_event_prior_views
    values = {
        "reach": np.round(np.log10(1.0 + per_day), 4),
        "engagement": np.round(np.where(users > 0, frame["engagement_total_s"] / safe_users, 0), 4),
        "views_per_user": np.round(np.where(users > 0, views / safe_users, 0.0), 4),
        "key_events": np.round(1000.0 * (key_events + m * p0)
                               / np.where(views + m > 0, views + m, 1.0), 4),
    }
    total_w = sum(config.weights[c] for c in components)
    weights = {c: (config.weights[c] / total_w if c in components else 0.0) for c in COMPONENTS}
    pct: dict[str, np.ndarray] = {}
    pts: dict[str, np.ndarray] = {}
    score = np.zeros(len(ids))
    for c in components:
        p = np.full(len(ids), np.nan)
        p[eligible] = np.round(_percentiles(values[c][eligible]), 2)
        pct[c] = p
        pts[c] = np.round(weights[c] * p, 2)
        score = score + np.nan_to_num(pts[c])
    score = np.round(score, 2)
    rate_w = frame["rate_w"].to_numpy(dtype=float)
    rate = np.where(rate_w > 0, frame["engaged_w"].to_numpy(dtype=float)
                    / np.where(rate_w > 0, rate_w, 1.0), np.nan)

    variants = frame["variants"].to_numpy(dtype=np.int64)
    rows = []
    for k, post_id in enumerate(ids):
        post = index.posts[int(post_id)]
        prev = before.posts.get(int(post_id)) if before else None
        # A post that was too new or too little read then has no baseline to decay from.
        baseline = prev if prev is not None and prev.tier != "insufficient-data" else None
        s = float(score[k]) if eligible[k] else None
        share = (round(float(per_day[k]) / baseline.views_per_day, 4)
                 if baseline is not None and baseline.views_per_day > 0 else None)
        change = round(s - prev.score, 2) if s is not None and prev and prev.score is not None \
            else None
        decay = _decay(share, change, config) if baseline is not None else ""
        tier, rule = _tier(s, bool(eligible[k]), int(age[k]), float(views[k]), decay, prev,
                           post.modified.date(), period, config)
        rows.append(ScoredPost(
            post_id=int(post_id), title=post.title,
            path=index.paths[int(post_id)],
            tier=tier, rule=rule, score=s, previous_tier=prev.tier if prev else "",
            previous_score=prev.score if prev else None, score_change=change,
            reach_share=share, decay=decay, decaying=decay in ("moderate", "severe"),
            views=float(views[k]), users=float(users[k]), key_events=float(key_events[k]),
            views_per_day=round(float(per_day[k]), 2),
            engagement_rate=None if math.isnan(rate[k]) else round(float(rate[k]), 4),
            values={c: float(values[c][k]) if c in components else None for c in COMPONENTS},
            percentiles={c: (float(pct[c][k]) if c in pct and eligible[k] else None)
                         for c in COMPONENTS},
            points={c: (float(pts[c][k]) if c in pts and eligible[k] else None)
                    for c in COMPONENTS},
            published=published[k], modified=post.modified.date(), age_days=int(age[k]),
            days_live=int(days_live[k]), variants=int(variants[k])))
    ranked = sorted((r for r in rows if r.score is not None),
                    key=lambda r: (-(r.score or 0.0), r.post_id))
    rest = sorted((r for r in rows if r.score is None), key=lambda r: (-r.views, r.post_id))
    return tuple(ranked + rest), p0, weights


def _decay(share: float | None, change: float | None, config: Ga4Config) -> str:
    drop = -change if change is not None else None
    for level, ratio, points in (("severe", config.decay_severe_reach, config.decay_severe_drop),
                                 ("moderate", config.decay_moderate_reach,
                                  config.decay_moderate_drop),
                                 ("mild", config.decay_mild_reach, config.decay_mild_drop)):
        if (share is not None and share <= ratio) or (drop is not None and drop >= points):
            return level
    return "none"


def _tier(score: float | None, eligible: bool, age: int, views: float, decay: str,
          prev: PreviousPost | None, modified: dt.date, period: Period, config: Ga4Config
          ) -> tuple[str, str]:
    if age < config.min_age_days:
        return "insufficient-data", "new_post"
    if views < config.min_views or not eligible or score is None:
        return "insufficient-data", "few_views"
    if decay in ("moderate", "severe") and prev is not None and prev.tier in ("promote", "keep"):
        tier, rule = "refresh", "sliding"
    elif score >= config.promote_score:
        return "promote", "top_score"
    elif score <= config.prune_score:
        tier, rule = "prune", "bottom_score"
    elif score <= config.refresh_score:
        tier, rule = "refresh", "low_score"
    else:
        return "keep", "middle"
    if (period.end - modified).days < config.refresh_grace_days:
        return "keep", "recently_updated"
    return tier, rule


_RULES: Final[dict[str, Callable[[ScoredPost, Ga4Config], str]]] = {
    "new_post": lambda p, c: (f"published {p.published} = {p.age_days} days before the period "
                              f"end, under min_age_days={c.min_age_days}: too new to rank"),
    "few_views": lambda p, c: (f"{p.views:,.0f} views in the period, under "
                               f"min_views={c.min_views}: too little data to rank"),
    "sliding": lambda p, c: (f"was {p.previous_tier} ({p.previous_score}), decay {p.decay}: "
                             f"views per day at {_share(p)} of the previous period, score "
                             f"change {p.score_change}"),
    "top_score": lambda p, c: f"score {p.score} >= promote_score {c.promote_score:g}",
    "bottom_score": lambda p, c: f"score {p.score} <= prune_score {c.prune_score:g}",
    "low_score": lambda p, c: f"score {p.score} <= refresh_score {c.refresh_score:g}",
    "middle": lambda p, c: (f"score {p.score} between refresh_score {c.refresh_score:g} and "
                            f"promote_score {c.promote_score:g}"),
    "recently_updated": lambda p, c: (f"modified {p.modified}, within refresh_grace_days="
                                      f"{c.refresh_grace_days} of the period end: left to "
                                      "recover"),
}


def _share(post: ScoredPost) -> str:
    return f"{post.reach_share:.0%}" if post.reach_share is not None else "n/a"


def explain(post: ScoredPost, config: Ga4Config | None = None) -> list[str]:
    """Lines saying why ``post`` has its tier: its rule, components and previous tier.

    For ``atr ga4 show``: each component's value, its percentile among the
    period's ranked posts, its weight (share of the weights of the components
    the export had) and the points it contributed; then the comparison with
    the previous snapshot that decides decay.
    """
    config = config or Ga4Config()
    lines = [f"post {post.post_id} {post.title!r} ({post.path}): {post.tier} by rule "
             f"{post.rule}: {_RULES[post.rule](post, config)}",
             f"  traffic: {post.views:,.0f} views, {post.users:,.0f} users, "
             f"{post.key_events:,.0f} key events; {post.views_per_day} views per day over "
             f"{post.days_live} days live; published {post.published} ({post.age_days} days "
             f"before the period end), modified {post.modified}; {post.variants} GA4 path(s)"]
    present = [c for c in COMPONENTS if post.values[c] is not None]
    total_w = sum(config.weights[c] for c in present) or 1.0
    for c in present:
        weight = config.weights[c] / total_w
        lines.append(f"  {c}: value {post.values[c]}, percentile {post.percentiles[c]}, "
                     f"weight {weight:.0%}, points {post.points[c]}")
    if post.score is not None:
        lines.append(f"  score {post.score} (sum of the points; thresholds: promote >= "
                     f"{config.promote_score:g}, refresh <= {config.refresh_score:g}, prune <= "
                     f"{config.prune_score:g})")
    if not post.previous_tier:
        lines.append("  previous snapshot: this post was not in it (or there is none): no decay "
                     "check")
    else:
        lines.append(f"  previous snapshot: {post.previous_tier} (score "
                     f"{post.previous_score if post.previous_score is not None else 'n/a'}); "
                     f"score change {post.score_change if post.score_change is not None else 'n/a'}"
                     f", views per day at {_share(post)} of then; decay "
                     f"{post.decay or 'not checked (no baseline)'}")
    return lines
