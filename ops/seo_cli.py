"""``atr seo``: review the proposals of SEO automation and approve what goes live.

    atr seo review [--json] [POST_ID ...]
    atr seo approve (POST_ID ... | --all) [--force]

``review`` shows each stored proposal beside the post's values when it was
proposed: tags, focus keyword, meta description, SEO title, with a note on
fields a person edited (those are kept when applied, unless ``--force``).
``approve`` enqueues ``seo_apply`` for each post (worker1 writes it, checking
again for edits made since the proposal). Exit codes: 0 done, 1 a post asked
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
    except redis.RedisError as exc:
        return _redis_down(settings, exc)
    if args.json:
        print(json.dumps({"proposals": [p.to_json() for p in proposals],
                          "missing": missing}, ensure_ascii=False, indent=2))
    else:
        print(_render(proposals) if proposals else "no SEO proposals waiting for review")
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
    except redis.RedisError as exc:
        return _redis_down(settings, exc)
    from brokers.boot import producer_broker
    from brokers.producer import send

    broker = producer_broker(settings)
    try:
        for proposal in proposals:
            message = send(broker, names.ACTOR_SEO_APPLY, {"post_id": proposal.post_id,
                                                 "force": bool(args.force)})
            print(f"post {proposal.post_id}: {names.ACTOR_SEO_APPLY} enqueued "
                  f"(message_id={message.message_id})")
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
    return _render(proposals)


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


def _render(proposals: list[Proposal]) -> str:
    from pipeline.seo.store import FIELDS

    blocks = []
    for p in proposals:
        rows = [["tags", ", ".join(p.current.tags) or "-", ", ".join(p.proposed.tags), ""]]
        for name in FIELDS:
            note = "edited by a person: kept unless --force" if name in p.protected else \
                "same" if p.current.get(name) == p.proposed.get(name) else ""
            rows.append([_LABELS[name], p.current.get(name) or "-", p.proposed.get(name),
                         note])
        head = (f"post {p.post_id}  {p.title}\n  proposed {p.created} by {p.provider} "
                f"({p.model})")
        blocks.append(head + "\n" + _indent(render_table(
            ["FIELD", "CURRENT", "PROPOSED", "NOTE"], rows)))
    blocks.append(f"{len(proposals)} proposal(s). Approve with: atr seo approve "
                  f"{' '.join(str(p.post_id) for p in proposals)}   (or --all)")
    return "\n\n".join(blocks)


def _indent(text: str) -> str:
    return "\n".join("  " + line for line in text.splitlines())


def _redis_down(settings: Settings, exc: BaseException) -> int:
    return redis_down("atr seo", settings, exc, "the proposals")
