"""Quota utilisation: tokens per minute worker1 gets out of an LLM limit, and its 429s.

worker1 runs under the real ``dramatiq`` CLI (2 processes x 6 threads, as in
production) against the local OpenAI fake (``devkit/fakes/openai_server.py``),
which enforces ``--tpm`` tokens and ``--rpm`` requests per sliding window of
``--window-s`` seconds and answers 429 past them. Our settings are set to the
same limits, so the shared limiter in Redis must keep all 12 threads under
them. A backlog larger than the run can drain keeps the workers busy.

Printed: tokens the fake charged per minute during the run, divided by the
TPM (the utilisation; target >= 0.90), the fake's 429 count (target 0), calls
answered, and deferrals (messages that waited for budget). Every run uses a
private redis-server on a free port; nothing talks to 127.0.0.1:6379.

    .venv/bin/python bench/llm_quota.py [--minutes M] [--tpm T] [--rpm R]
                                        [--window-s W] [--latency-s L]

Exit status: 0 when both targets are met, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Final

from brokers.boot import producer_broker
from brokers.producer import send
from devkit.fakes import openai_server
from devkit.fakes.openai_server import OpenAIFake
from devkit.redis_server import EmbeddedRedis
from devkit.supervise import GroupProcess
from pipeline.settings import Settings

_TARGET: Final = 0.90
_POSTS: Final = Path(__file__).parents[1] / "tests" / "data" / "korean_posts.json"


def _env(redis_url: str, fake: OpenAIFake, args: argparse.Namespace, root: Path) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items()
            if not k.startswith("ATR_") and k not in ("REDIS_URL", "OPENAI_API_KEY",
                                                       "GEMINI_API_KEY")}
    return {**base, "NO_PROXY": "127.0.0.1,localhost", "REDIS_URL": redis_url,
            "ATR_DOCLOG_ROOT": str(root), "ATR_METRICS_WORKER1_PORT": "0",
            "ATR_LLM_PROVIDER": "openai", "ATR_LLM_FALLBACK": "",
            "OPENAI_API_KEY": openai_server.API_KEY, "OPENAI_BASE_URL": fake.base_url,
            "ATR_OPENAI_RPM": str(args.rpm), "ATR_OPENAI_TPM": str(args.tpm),
            "ATR_LLM_WINDOW_S": str(args.window_s)}


def _backlog(env: dict[str, str], count: int) -> None:
    posts = [p for p in json.loads(_POSTS.read_text(encoding="utf-8"))
             if len(p["content"]) > 400]
    broker = producer_broker(Settings.from_env(env))
    for i in range(count):
        post = posts[i % len(posts)]
        send(broker, "seo_suggest", {"title": post["title"], "content": post["content"],
                                     "ref": f"bench-{i}"})
    broker.close()


def _count(root: Path, event: str) -> int:
    return sum(line.count(f'"event":"{event}"') for path in (root / "seo_suggest").glob("*")
               for line in path.read_text(encoding="utf-8").splitlines())


def main(argv: Sequence[str] | None = None) -> int:
    """Run worker1 against the limited fake for ``--minutes`` and print the utilisation."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=3.0, help="length of the run")
    parser.add_argument("--tpm", type=int, default=40_000, help="tokens per window")
    parser.add_argument("--rpm", type=int, default=1_000, help="requests per window")
    parser.add_argument("--window-s", type=float, default=60.0, help="window, in seconds")
    parser.add_argument("--latency-s", type=float, default=0.5,
                        help="the fake's answer time, in seconds")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="atr-bench-llm-") as tmp, \
            EmbeddedRedis() as redis_server, \
            OpenAIFake(rpm=args.rpm, tpm=args.tpm, window_s=args.window_s,
                       latency_s=args.latency_s) as fake:
        root = Path(tmp) / "logs"
        env = _env(redis_server.url, fake, args, root)
        # About 800 tokens a call: a backlog the run cannot drain.
        expected_calls = args.tpm / 800 * args.minutes * 60 / args.window_s
        _backlog(env, int(expected_calls * 2) + 50)
        with GroupProcess("worker1", env, Path(tmp) / "worker1.log", cwd=Path(tmp)) as worker:
            while not fake.admitted:
                time.sleep(0.05)
            started = fake.admitted[0][0]
            time.sleep(args.minutes * 60)
            ended = time.monotonic()
            admitted = [(at, t) for at, t in fake.admitted if started <= at < ended]
            tokens = sum(t for _, t in admitted)
            calls = len(admitted)
            worker.stop()
        per_window = tokens / ((ended - started) / args.window_s)
        utilisation = per_window / args.tpm
        deferrals = _count(root, "deferred")
    print(f"worker1 2x6 (real dramatiq CLI) vs the OpenAI fake: TPM {args.tpm}, RPM {args.rpm} "
          f"per {args.window_s:g} s window, answer time {args.latency_s:g} s, "
          f"{args.minutes:g} min run")
    print(f"  calls answered:         {calls}")
    print(f"  tokens charged:         {tokens} ({per_window:.0f} per {args.window_s:g} s window)")
    count = int(args.minutes * 60 / args.window_s)
    windows = [sum(t for at, t in admitted
                   if i * args.window_s <= at - started < (i + 1) * args.window_s)
               for i in range(count)]
    print(f"  tokens per window:      {', '.join(map(str, windows))}")
    print(f"  deferrals (waited):     {deferrals}")
    print(f"  429s from the fake:     {fake.rate_limited}")
    print(f"utilisation (tokens per window / TPM): {utilisation:.3f} "
          f"(target >= {_TARGET:.2f} with zero 429s)")
    ok = utilisation >= _TARGET and fake.rate_limited == 0
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
