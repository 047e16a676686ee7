"""The offline SEO provider on the golden set: one line per post, for a human to judge.

Prints ``id | title | tags | focus keyword | description length`` for every
post of ``tests/data/korean_posts.json`` (or the error of a post that has too
little text), then the Kiwi load time and the median time per post, as a
ratio of the load time.

    .venv/bin/python bench/offline_seo.py [--posts PATH] [--descriptions]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path
from typing import Final

from pipeline.llm.errors import InvalidAnswer
from pipeline.llm.offline import OfflineProvider
from pipeline.llm.request import SeoRequest

_ROOT: Final = Path(__file__).resolve().parents[1]
_POSTS: Final = _ROOT / "tests" / "data" / "korean_posts.json"
_TITLE_WIDTH: Final = 28


def main() -> None:
    """Run the provider over the golden set and print the table and timings."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--posts", type=Path, default=_POSTS,
                        help="a JSON list of {id, title, content, tags} (default: golden set)")
    parser.add_argument("--descriptions", action="store_true",
                        help="also print each meta description and SEO title")
    args = parser.parse_args()
    posts = json.loads(args.posts.read_text(encoding="utf-8"))
    provider = OfflineProvider()

    started = time.perf_counter()
    provider.complete(SeoRequest.from_json(posts[0]))
    first_s = time.perf_counter() - started

    timings: list[float] = []
    print(f"{'id':>3} | {'title':<{_TITLE_WIDTH}} | tags | keyword | description length")
    for post in posts:
        request = SeoRequest.from_json(post)
        started = time.perf_counter()
        try:
            answer = provider.complete(request).answer
        except InvalidAnswer as exc:
            print(f"{post['id']:>3} | {_clip(request.title)} | InvalidAnswer: {exc}")
            continue
        timings.append(time.perf_counter() - started)
        print(f"{post['id']:>3} | {_clip(request.title)} | {', '.join(answer.tags)} | "
              f"{answer.focus_keyword} | {len(answer.meta_description)}")
        if args.descriptions:
            print(f"    description: {answer.meta_description}")
            print(f"    seo title:   {answer.seo_title}")
    per_post = statistics.median(timings)
    print(f"\nfirst call (Kiwi load included): {first_s * 1000:.0f} ms; "
          f"median per post after: {per_post * 1000:.1f} ms "
          f"(load / post = {first_s / per_post:.0f}x) over {len(timings)} posts, {provider.model}")


def _clip(title: str) -> str:
    if len(title) > _TITLE_WIDTH:
        title = title[:_TITLE_WIDTH - 1] + "…"
    return f"{title:<{_TITLE_WIDTH}}"


if __name__ == "__main__":
    main()
