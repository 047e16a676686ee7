"""The index ledger on a real redis-server: claim and mark done N URLs, against plain SETs.

- ``ledger``: :meth:`SubmissionLedger.claim` (one Lua call per 1,000 keys, SET NX
  per key inside) then :meth:`SubmissionLedger.mark_done` (pipelined SETs), as
  one ``index_submit`` message does for N URLs;
- ``baseline``: the least any claim could cost: one pipelined ``SET key v NX EX``
  per URL, without reading the answers back per key or marking anything done.

Printed: seconds of both for N URLs, and the ratio ledger / baseline. The
machine is shared (2 cores, other jobs): read the ratio, not the seconds.

    .venv/bin/python bench/index_ledger.py [--urls N]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> int:
    """Run both and print the figures."""
    import redis

    from devkit.redis_server import EmbeddedRedis
    from pipeline.index.ledger import SubmissionLedger, sent_key

    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--urls", type=int, default=100_000)
    args = parser.parse_args()
    urls = [f"https://blog.example/post-{i}/" for i in range(args.urls)]
    with EmbeddedRedis() as server:
        client = redis.Redis.from_url(server.url)
        started = time.perf_counter()
        ledger = SubmissionLedger(client, "searchadvisor.naver.com", "2026-12-06")
        claimed = ledger.claim(urls, "m1")
        ledger.mark_done(claimed)
        ledger_s = time.perf_counter() - started
        assert len(claimed) == len(urls)
        client.flushall()
        started = time.perf_counter()
        for start in range(0, len(urls), 1000):
            with client.pipeline(transaction=False) as pipe:
                for url in urls[start:start + 1000]:
                    pipe.set(sent_key("b", "2026-12-06", url), "m1", nx=True, ex=172800)
                pipe.execute()
        baseline_s = time.perf_counter() - started
        client.close()
    print(f"{args.urls} URLs: ledger (claim + mark done) {ledger_s:.2f} s, baseline "
          f"(pipelined SET NX only) {baseline_s:.2f} s, ratio {ledger_s / baseline_s:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
