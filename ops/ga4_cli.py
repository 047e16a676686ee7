"""``atr ga4``: score GA4 exports at a terminal, explain a post's tier, write the monthly report.

    atr ga4 score FILE... [--json] [--dry-run]
    atr ga4 show POST_ID [--day YYYY-MM-DD] [--json]
    atr ga4 report --month YYYY-MM
    atr ga4 pull [--end YYYY-MM-DD] [--days N]

``score`` does what the ``ga4_score`` job does with the drop folder, for
files named here (they are not moved): it lists the posts through the bridge
(``BRIDGE_BASE``), scores the files together and writes
``<ATR_DOCLOG_ROOT>/ga4_scores/<today>.csv`` (``--dry-run``: prints, writes
nothing). ``show`` says why a post has its tier in the newest snapshot (or
that of ``--day``): components, contributions, the rule that fired and the
previous tier. ``report`` writes the self-contained HTML report of a month
under ``<ATR_DOCLOG_ROOT>/ga4_reports/`` and prints its path. ``pull``
fetches the page report from the GA4 Data API (``ATR_GA4_PROPERTY_ID``) into
the drop folder, where the next ``ga4_score`` run scores it.

Exit codes: 0 done, 1 a file was refused, the post is not in the snapshot or
the Data API is busy (429/5xx: try later), 2 bad usage or settings (or the
Data API refused the credentials or the property). pandas and matplotlib load only inside a command.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from ops.common import Exit
from ops.console import render_table
from pipeline.errors import AtrError
from pipeline.settings import Settings, load_settings

if TYPE_CHECKING:
    from pipeline.ga4.score import ScoredPost, ScoreRun

__all__ = ["add_parsers", "render_snapshot"]

_TOP: Final = 20


def add_parsers(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``ga4 score|show|report`` to ``atr``'s subcommands."""
    parser = subparsers.add_parser(
        "ga4", help="score GA4 exports, explain a post's tier, write the monthly report",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="ga4_command", required=True, metavar="COMMAND")
    p = sub.add_parser("score", help="score GA4 exports (CSV downloads, runReport JSON)")
    p.add_argument("files", nargs="+", type=Path, metavar="FILE")
    p.add_argument("--json", action="store_true", help="one JSON object: summary and rows")
    p.add_argument("--dry-run", action="store_true", help="score and print; write nothing")
    p.set_defaults(handler=_cmd_score)
    p = sub.add_parser("show", help="why a post has its tier in a snapshot")
    p.add_argument("post_id", type=int, metavar="POST_ID")
    p.add_argument("--day", type=dt.date.fromisoformat, metavar="YYYY-MM-DD",
                   help="the snapshot of this day (default: the newest)")
    p.add_argument("--json", action="store_true", help="one JSON object")
    p.set_defaults(handler=_cmd_show)
    p = sub.add_parser("report", help="write the monthly HTML report and print its path")
    p.add_argument("--month", required=True, metavar="YYYY-MM",
                   help="the month whose newest snapshot is reported, e.g. 2025-01")
    p.set_defaults(handler=_cmd_report)
    p = sub.add_parser("pull", help="fetch the page report from the GA4 Data API into the "
                                    "drop folder")
    p.add_argument("--end", type=dt.date.fromisoformat, metavar="YYYY-MM-DD",
                   help="last day of the period (default: yesterday in ATR_TZ)")
    p.add_argument("--days", type=int, help="days of the period (default: ATR_GA4_PULL_DAYS)")
    p.set_defaults(handler=_cmd_pull)


def _cmd_score(args: argparse.Namespace) -> int:
    from pipeline.ga4.drop import RefusedFilesError, score_drop
    from pipeline.wordpress import Bridge, BridgeConfig
    from pipeline.wordpress.posts import list_posts

    settings = load_settings()
    config = settings.ga4_config
    today = dt.datetime.now(settings.zone).date()
    with Bridge(BridgeConfig.from_settings(settings)) as bridge:
        try:
            outcome = score_drop(list(args.files), lambda: list_posts(bridge),
                                 settings.doclog_root, today, config, dry_run=args.dry_run)
        except RefusedFilesError as exc:
            print(f"atr ga4 score: {exc}", file=sys.stderr)
            return Exit.PROBLEM
    run = outcome.run
    if args.json:
        print(json.dumps({**run.summary(), "dry_run": args.dry_run,
                          "snapshot": str(outcome.snapshot) if outcome.snapshot else None,
                          "rows": [_row_json(p) for p in run.posts],
                          "unmatched": [{"path": u.path, "reason": u.reason, "views": u.views}
                                        for u in run.unmatched]},
                         ensure_ascii=False, indent=2))
        return Exit.OK
    print(_render_run(run))
    if outcome.snapshot is not None:
        print(f"snapshot: {outcome.snapshot}")
    else:
        print("dry run: nothing written")
    return Exit.OK


def _render_run(run: ScoreRun) -> str:
    counts = "  ".join(f"{tier} {n}" for tier, n in run.tier_counts.items())
    lines = [f"period {run.period} ({run.period.days} days), {len(run.inputs)} file(s), "
             f"{sum(i.rows for i in run.inputs)} rows; previous snapshot: "
             f"{run.previous_day or 'none'}", f"tiers: {counts}"]
    rows = [[p.post_id, p.tier, "" if p.score is None else f"{p.score:.2f}", p.rule,
             f"{p.views:,.0f}", p.variants, p.decay or "", p.previous_tier or "-", p.title]
            for p in run.posts[:_TOP]]
    lines.append(render_table(["POST", "TIER", "SCORE", "RULE", "VIEWS", "PATHS", "DECAY",
                               "BEFORE", "TITLE"], rows))
    if len(run.posts) > _TOP:
        lines.append(f"... {len(run.posts) - _TOP} more post(s) in the snapshot")
    if run.unmatched:
        views = sum(u.views for u in run.unmatched)
        lines.append(f"not posts: {len(run.unmatched)} path(s), {views:,.0f} views "
                     "(" + ", ".join(f"{u.path} [{u.reason}]" for u in run.unmatched[:5])
                     + (", ..." if len(run.unmatched) > 5 else "") + ")")
    merged = [m for m in run.merged if m.post_id is not None]
    if merged:
        lines.append(f"merged: {len(merged)} post(s) seen under several paths, e.g. "
                     f"post {merged[0].post_id}: {merged[0].variants} paths")
    for note in run.notes:
        lines.append(f"note: {note}")
    return "\n".join(lines)


def render_snapshot(path: Path) -> str:
    """A snapshot's rows as a table: post, tier, score, rule, views, paths, title."""
    from pipeline.ga4.snapshot import read_posts

    rows = [[p.post_id, p.tier, "" if p.score is None else f"{p.score:.2f}", p.rule,
             f"{p.views:,.0f}", p.variants, p.title] for p in read_posts(path)]
    return render_table(["POST", "TIER", "SCORE", "RULE", "VIEWS", "PATHS", "TITLE"], rows)


def _row_json(post: ScoredPost) -> dict[str, Any]:
    return {"post_id": post.post_id, "title": post.title, "path": post.path, "tier": post.tier,
            "rule": post.rule, "score": post.score, "previous_tier": post.previous_tier or None,
            "decay": post.decay or None, "views": post.views, "variants": post.variants,
            "values": post.values, "percentiles": post.percentiles, "points": post.points}


def _cmd_show(args: argparse.Namespace) -> int:
    from pipeline.ga4.score import explain
    from pipeline.ga4.snapshot import SnapshotDir, read_posts

    settings = load_settings()
    snapshots = SnapshotDir(settings.doclog_root)
    days = snapshots.days()
    day = args.day or (days[-1] if days else None)
    if day is None or day not in days:
        raise AtrError(f"no GA4 snapshot {'of ' + str(day) + ' ' if day else ''}under "
                       f"{snapshots.directory}; score an export first (atr ga4 score FILE)")
    path = snapshots.path(day)
    post = next((p for p in read_posts(path) if p.post_id == args.post_id), None)
    if post is None:
        print(f"atr ga4 show: post {args.post_id} is not in the snapshot {path} (not "
              "published then, or its paths matched no post; see ga4_scores/paths/)",
              file=sys.stderr)
        return Exit.PROBLEM
    lines = explain(post, settings.ga4_config)
    if args.json:
        print(json.dumps({"snapshot": str(path), **_row_json(post), "explanation": lines},
                         ensure_ascii=False, indent=2))
    else:
        print(f"snapshot {path}")
        print("\n".join(lines))
    return Exit.OK


def _cmd_report(args: argparse.Namespace) -> int:
    from pipeline.ga4.report import report

    settings: Settings = load_settings()
    print(report(settings.doclog_root, args.month, settings.ga4_config))
    return Exit.OK


def _cmd_pull(args: argparse.Namespace) -> int:
    from pipeline.ga4.pull import Ga4PullUnavailable, PullConfig, pull_report

    settings = load_settings()
    if not settings.ga4_property_id or not settings.ga4_credentials:
        raise AtrError("the live pull is off: set ATR_GA4_PROPERTY_ID and ATR_GA4_CREDENTIALS "
                       "(or drop a downloaded export into ATR_GA4_DROP_DIR)")
    days = args.days or settings.ga4_pull_days
    if not 1 <= days <= 365:
        raise AtrError(f"--days must be from 1 to 365, got {days}")
    end = args.end or dt.datetime.now(settings.zone).date() - dt.timedelta(days=1)
    start = end - dt.timedelta(days=days - 1)
    config = PullConfig(settings.ga4_property_id, settings.ga4_credentials,
                        settings.ga4_api_base)
    try:
        path = pull_report(config, start, end, settings.ga4_drop_dir)
    except Ga4PullUnavailable as exc:
        print(f"atr ga4 pull: {exc}", file=sys.stderr)
        return Exit.PROBLEM
    print(path)
    return Exit.OK
