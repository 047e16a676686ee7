"""``atr seo``: review the proposals of SEO automation and approve what goes live.

    atr seo review [--json] [POST_ID ...]
    atr seo approve (POST_ID ... | --all) [--force]

``review`` shows each stored proposal beside the post's values as they are
NOW in WordPress (read live): tags, focus keyword, meta description, SEO
title, with a note on fields a person edited (those are kept when applied,
unless ``--force``) and a warning when the post was retitled or edited since
the proposal (approving it then writes nothing: a new proposal is made).
When WordPress cannot be read, the values as of proposal time are shown and
marked so. ``approve`` enqueues ``seo_apply`` for each post (worker1 writes
it, checking again for edits made since the proposal); a post retitled or
edited since its proposal is named on stderr: worker1 writes nothing for it
and makes a new proposal. Exit codes: 0 done, 1 a post asked
for has no proposal, 2 bad usage or settings, 3 Redis unreachable.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Final

from ops.common import Exit, redis_down
from ops.console import render_table
from pipeline import names
from pipeline.settings import Settings, load_settings

if TYPE_CHECKING:
    from pipeline.seo.review import LiveReview
    from pipeline.seo.store import Proposal

__all__ = ["add_parsers", "seo_review_text"]

_LABELS: Final = {"tags": "tags", "focus_keyword": "focus keyword",
                  "meta_description": "meta description", "seo_title": "SEO title"}


def add_parsers(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``seo review|approve`` to ``atr``'s subcommands."""
    parser = subparsers.add_parser(
        "seo", help="review SEO proposals side by side and approve what goes live",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="seo_command", required=True, metavar="COMMAND")
    p = sub.add_parser("review", help="current vs proposed values of each proposal")
    p.add_argument("posts", nargs="*", type=int, metavar="POST_ID", help="default: all")
    p.add_argument("--json", action="store_true", help="one JSON object")
    p.set_defaults(handler=_cmd_review)
    p = sub.add_parser("approve", help="enqueue seo_apply for the posts' proposals")
    p.add_argument("posts", nargs="*", type=int, metavar="POST_ID")
    p.add_argument("--all", action="store_true", help="every stored proposal")
    p.add_argument("--force", action="store_true",
                   help="also replace values a person edited")
    p.set_defaults(handler=_cmd_approve)


def _cmd_review(args: argparse.Namespace) -> int:
    import redis

    settings = load_settings()
    try:
        proposals, missing = _select(settings, args.posts, every=not args.posts)
        reviews = _live(settings, proposals)
    except redis.RedisError as exc:
        return _redis_down(settings, exc)
    if args.json:
        print(json.dumps({"proposals": [{**r.proposal.to_json(), "now": r.to_json()}
                                        for r in reviews],
                          "missing": missing}, ensure_ascii=False, indent=2))
    else:
        print(_render(reviews) if reviews else "no SEO proposals waiting for review")
        for post_id in missing:
            print(f"post {post_id}: no proposal", file=sys.stderr)
    return Exit.PROBLEM if missing else Exit.OK


def _cmd_approve(args: argparse.Namespace) -> int:
    import redis

    if bool(args.posts) == bool(args.all):
        print("atr seo approve: give post ids or --all (not both)", file=sys.stderr)
        return Exit.USAGE
    settings = load_settings()
    try:
        proposals, missing = _select(settings, args.posts, every=args.all)
        changed = {r.proposal.post_id: r.changes for r in _live(settings, proposals)
                   if r.changes}
    except redis.RedisError as exc:
        return _redis_down(settings, exc)
    from brokers.boot import producer_broker
    from brokers.producer import send

    broker = producer_broker(settings)
    try:
        for proposal in proposals:
            # The proposal reviewed: a repeated approval, or one of a proposal
            # replaced since, is then a no-op instead of writing something unseen.
            message = send(broker, names.ACTOR_SEO_APPLY,
                           {"post_id": proposal.post_id, "force": bool(args.force),
                            "proposal_id": proposal.message_id})
            print(f"post {proposal.post_id}: {names.ACTOR_SEO_APPLY} enqueued "
                  f"(message_id={message.message_id})")
            if proposal.post_id in changed:
                # The worker checks again and decides; this tells the approver now.
                print(f"atr seo approve: post {proposal.post_id} changed since its proposal "
                      f"({'; '.join(changed[proposal.post_id])}): it will not be written; a "
                      f"new proposal is made instead, review it with `atr seo review "
                      f"{proposal.post_id}`", file=sys.stderr)
    finally:
        broker.close()
    for post_id in missing:
        print(f"atr seo approve: post {post_id} has no proposal (see `atr seo review`)",
              file=sys.stderr)
    if not proposals and not missing:
        print("no SEO proposals to approve")
    return Exit.PROBLEM if missing else Exit.OK


def seo_review_text(settings: Settings, posts: list[int]) -> str:
    """``atr seo review POST_ID ...`` as text (the demo prints it)."""
    proposals, _ = _select(settings, posts, every=False)
    return _render(_live(settings, proposals))


def _live(settings: Settings, proposals: list[Proposal]) -> list[LiveReview]:
    """The proposals beside their posts read now (as of proposal time without a bridge)."""
    from pipeline import redis_client
    from pipeline.seo.review import review_live
    from pipeline.seo.store import SeoStore
    from pipeline.wordpress import Bridge, BridgeConfig, BridgeNotConfiguredError

    if not proposals:
        return []
    client = redis_client.connect(settings.redis_url, "cli")
    try:
        store = SeoStore(client)
        try:
            config = BridgeConfig.from_settings(settings)
        except BridgeNotConfiguredError as exc:
            return review_live(proposals, None, settings.seo_plugin, store.get_written,
                               offline_note=str(exc))
        with Bridge(config) as bridge:
            return review_live(proposals, bridge, settings.seo_plugin, store.get_written)
    finally:
        client.close()


def _select(settings: Settings, posts: list[int], *,
            every: bool) -> tuple[list[Proposal], list[int]]:
    from pipeline import redis_client
    from pipeline.seo.store import SeoStore

    client = redis_client.connect(settings.redis_url, "cli")
    try:
        store = SeoStore(client)
        if every:
            return store.proposals(), []
        found = {p: store.get_proposal(p) for p in dict.fromkeys(posts)}
        return ([p for p in found.values() if p is not None],
                [post_id for post_id, p in found.items() if p is None])
    finally:
        client.close()


def _render(reviews: list[LiveReview]) -> str:
    from pipeline.seo.store import FIELDS

    blocks = []
    for r in reviews:
        p, now = r.proposal, r.current
        rows = [["tags", ", ".join(now.tags) or "-", ", ".join(p.proposed.tags), ""]]
        for name in FIELDS:
            note = "edited by a person: kept unless --force" if name in r.protected else \
                "same" if now.get(name) == p.proposed.get(name) else ""
            shown = "(not readable)" if r.unreadable else now.get(name) or "-"
            rows.append([_LABELS[name], shown, p.proposed.get(name), note])
        head = (f"post {p.post_id}  {p.title}\n  proposed {p.created} by {p.provider} "
                f"({p.model})")
        warnings = [f"  WARNING: the post changed since this proposal ({change}); approving "
                    "it writes nothing and asks for a new proposal" for change in r.changes]
        if r.note:
            warnings.append(f"  NOTE: {r.note}")
        column = "CURRENT (now)" if r.live else "CURRENT (at proposal)"
        blocks.append("\n".join([head, *warnings]) + "\n" + _indent(render_table(
            ["FIELD", column, "PROPOSED", "NOTE"], rows)))
    proposals = [r.proposal for r in reviews]
    blocks.append(f"{len(proposals)} proposal(s). Approve with: atr seo approve "
                  f"{' '.join(str(p.post_id) for p in proposals)}   (or --all)")
    return "\n\n".join(blocks)


def _indent(text: str) -> str:
    return "\n".join("  " + line for line in text.splitlines())


def _redis_down(settings: Settings, exc: BaseException) -> int:
    return redis_down("atr seo", settings, exc, "the proposals")
