"""``atr ads``: the ad policy, the proposed ad mode of each post, and approving them.

    atr ads policy [--json]
    atr ads review [--json] [POST_ID ...]
    atr ads approve (POST_ID ... | --all) [--force]

``policy`` shows which ad mode each GA4 tier gets (``ATR_ADS_POLICY``), the
quality floor, the meta key and the newest GA4 snapshot's age. ``review``
shows each stored proposal: the post's mode now, the proposed one, its tier
and why (a mode a person set is marked: it is kept unless ``--force``).
``approve`` enqueues ``monetize`` with ``apply`` for those posts (worker2
writes and reads back the meta). Exit codes: 0 done, 1 a post asked for has
no proposal, 2 bad usage or settings, 3 Redis unreachable.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from typing import TYPE_CHECKING, Any, Final

from ops.common import Exit, redis_down
from ops.console import render_table
from pipeline import names
from pipeline.settings import Settings, load_settings

if TYPE_CHECKING:
    from pipeline.ads import AdProposal

__all__ = ["add_parsers", "ads_policy_text", "ads_review_text"]

#: The ad modes, most ads first (as :data:`pipeline.ads.AD_MODES`; kept light to import).
_MODES: Final = ("on", "reduced", "off")


def add_parsers(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``ads policy|review|approve`` to ``atr``'s subcommands."""
    parser = subparsers.add_parser(
        "ads", help="the ad policy per GA4 tier; review and approve each post's ad mode",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="ads_command", required=True, metavar="COMMAND")
    p = sub.add_parser("policy", help="GA4 tier -> ad mode, the quality floor, the snapshot")
    p.add_argument("--json", action="store_true", help="one JSON object")
    p.set_defaults(handler=_cmd_policy)
    p = sub.add_parser("review", help="current vs proposed ad mode of each proposal")
    p.add_argument("posts", nargs="*", type=int, metavar="POST_ID", help="default: all")
    p.add_argument("--json", action="store_true", help="one JSON object")
    p.set_defaults(handler=_cmd_review)
    p = sub.add_parser("approve", help="enqueue monetize (apply) for the posts' proposals")
    p.add_argument("posts", nargs="*", type=int, metavar="POST_ID")
    p.add_argument("--all", action="store_true", help="every stored proposal")
    p.add_argument("--force", action="store_true", help="also replace a mode a person set")
    p.set_defaults(handler=_cmd_approve)


def _policy(settings: Settings) -> dict[str, Any]:
    from pipeline.ads import latest_tiers

    tiers = latest_tiers(settings.doclog_root)
    today = dt.datetime.now(settings.zone).date()
    snapshot: dict[str, Any] = {"day": None, "age_days": None, "fresh": False}
    if tiers is not None:
        age = tiers.age_days(today)
        snapshot = {"day": tiers.day.isoformat(), "path": str(tiers.path), "age_days": age,
                    "fresh": age <= settings.ads_snapshot_max_age_days,
                    "posts": len(tiers.posts)}
    return {"mode": settings.ads_mode, "meta_key": settings.ads_meta_key,
            "policy": dict(settings.ads_policy), "min_words": settings.ads_min_words,
            "banned_words": list(settings.seo_banned_words or ()),
            "max_age_days": settings.ads_snapshot_max_age_days, "snapshot": snapshot}


def ads_policy_text(settings: Settings) -> str:
    """``atr ads policy`` as text (the demo prints it)."""
    info = _policy(settings)
    rows = [[tier, info["policy"][tier],
             "capped at reduced below the quality floor" if info["policy"][tier] == "on"
             else "left as it is" if info["policy"][tier] == "unchanged" else ""]
            for tier in info["policy"]]
    snap = info["snapshot"]
    if snap["day"] is None:
        seen = "no GA4 snapshot yet: monetize changes nothing until ga4_score writes one"
    else:
        state = "fresh" if snap["fresh"] else \
            f"STALE (over {info['max_age_days']} days): monetize changes nothing"
        seen = f"{snap['day']} ({snap['age_days']} days old, {snap['posts']} posts): {state}"
    return "\n".join([
        render_table(["GA4 TIER", "AD MODE", "NOTE"], rows),
        "",
        f"modes: {', '.join(_MODES)} (written to post meta {info['meta_key']})",
        f"quality floor: fewer than {info['min_words']} words (ATR_ADS_MIN_WORDS), or a "
        f"banned word of ATR_SEO_BANNED_WORDS in the title -> never on",
        f"ATR_ADS_MODE={info['mode']} ("
        + ("proposals only; atr ads approve writes them" if info["mode"] == "propose"
           else "written at once") + ")",
        f"newest GA4 snapshot: {seen}",
    ])


def _cmd_policy(args: argparse.Namespace) -> int:
    settings = load_settings()
    if args.json:
        print(json.dumps(_policy(settings), ensure_ascii=False, indent=2))
    else:
        print(ads_policy_text(settings))
    return Exit.OK


def _cmd_review(args: argparse.Namespace) -> int:
    import redis

    settings = load_settings()
    try:
        proposals, missing = _select(settings, args.posts, every=not args.posts)
    except redis.RedisError as exc:
        return _redis_down(settings, exc)
    if args.json:
        print(json.dumps({"proposals": [p.to_json() for p in proposals], "missing": missing},
                         ensure_ascii=False, indent=2))
    else:
        print(_render(proposals) if proposals else "no ad mode proposals waiting for review")
        for post_id in missing:
            print(f"post {post_id}: no proposal", file=sys.stderr)
    return Exit.PROBLEM if missing else Exit.OK


def _cmd_approve(args: argparse.Namespace) -> int:
    import redis

    if bool(args.posts) == bool(args.all):
        print("atr ads approve: give post ids or --all (not both)", file=sys.stderr)
        return Exit.USAGE
    settings = load_settings()
    try:
        proposals, missing = _select(settings, args.posts, every=args.all)
    except redis.RedisError as exc:
        return _redis_down(settings, exc)
    if proposals:
        from brokers.boot import producer_broker
        from brokers.producer import send

        broker = producer_broker(settings)
        try:
            ids = [p.post_id for p in proposals]
            message = send(broker, names.ACTOR_MONETIZE, {"post_ids": ids, "apply": True,
                                                "force": bool(args.force)})
        finally:
            broker.close()
        print(f"monetize enqueued to apply the ad mode of post(s) "
              f"{', '.join(map(str, ids))} (message_id={message.message_id})")
    for post_id in missing:
        print(f"atr ads approve: post {post_id} has no proposal (see `atr ads review`)",
              file=sys.stderr)
    if not proposals and not missing:
        print("no ad mode proposals to approve")
    return Exit.PROBLEM if missing else Exit.OK


def ads_review_text(settings: Settings) -> str:
    """``atr ads review`` as text (the demo prints it)."""
    proposals, _ = _select(settings, [], every=True)
    return _render(proposals) if proposals else "no ad mode proposals waiting for review"


def _select(settings: Settings, posts: list[int], *,
            every: bool) -> tuple[list[AdProposal], list[int]]:
    from pipeline import redis_client
    from pipeline.ads import AdStore

    client = redis_client.connect(settings.redis_url, "cli")
    try:
        store = AdStore(client)
        if every:
            return store.proposals(), []
        found = {p: store.get_proposal(p) for p in dict.fromkeys(posts)}
        return ([p for p in found.values() if p is not None],
                [post_id for post_id, p in found.items() if p is None])
    finally:
        client.close()


def _render(proposals: list[AdProposal]) -> str:
    rows = [[str(p.post_id), _cut(p.title, 30), p.tier, p.current or "-", p.proposed,
             p.reason + ("; set by a person: kept unless --force" if p.person_set else "")]
            for p in proposals]
    snapshots = sorted({p.snapshot for p in proposals})
    return "\n".join([
        render_table(["POST", "TITLE", "TIER", "CURRENT", "PROPOSED", "REASON"], rows),
        "",
        f"{len(proposals)} proposal(s) from GA4 snapshot {', '.join(snapshots)}. Approve "
        f"with: atr ads approve {' '.join(str(p.post_id) for p in proposals)}   (or --all)",
    ])


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[:width - 1] + "…"


def _redis_down(settings: Settings, exc: BaseException) -> int:
    return redis_down("atr ads", settings, exc, "the proposals")
