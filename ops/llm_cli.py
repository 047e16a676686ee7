"""``atr llm``: try the LLM chain on one post, see the shared budgets, clear a quota mark.

    atr llm try [--provider P] [--json] [--wait S] FILE|-
    atr llm status [--json]
    atr llm reset PROVIDER

``try`` reads a post as JSON (``{"title": ..., "content": ..., "tags": [...]}``)
from FILE or stdin and runs one SEO request exactly as a worker would:
through the shared limiter in Redis (so it spends the same budget), with the
fallback chain, unless ``--provider`` picks one provider alone. It prints the
checked answer (``--json``: one object). With no budget now it waits, up to
``--wait`` seconds. Exit codes: 0 answered, 1 no provider answered, 2 bad
usage or settings, 3 Redis unreachable.

``status`` shows, per provider of the chain, the calls and tokens counted in
the current window against the limits, a cooldown after a 429, and a mark
"out of quota until ..." (daily quota, ``insufficient_quota``). ``reset``
removes that mark and the cooldown, after the plan or quota was raised.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import TYPE_CHECKING, Any

from ops.common import Exit, redis_down
from ops.console import render_table
from pipeline.errors import ConfigError, Deferred
from pipeline.names import LLM_PROVIDERS as PROVIDERS
from pipeline.settings import Settings, load_settings

if TYPE_CHECKING:
    import redis

    from pipeline.llm.chain import LlmChain, Suggestion
    from pipeline.llm.request import SeoRequest

__all__ = ["add_parsers"]



def add_parsers(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``llm try|status|reset`` to ``atr``'s subcommands."""
    parser = subparsers.add_parser(
        "llm", help="try the LLM chain on a post, show shared budgets, clear quota marks",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="llm_command", required=True, metavar="COMMAND")
    p = sub.add_parser("try", help="run one SEO request for a post given as JSON")
    p.add_argument("file", metavar="FILE|-", help='post as JSON {"title", "content"}; - = stdin')
    p.add_argument("--provider", choices=PROVIDERS,
                   help="only this provider (default: the configured chain with fallbacks)")
    p.add_argument("--json", action="store_true", help="one JSON object")
    p.add_argument("--wait", type=float, default=120.0,
                   help="seconds to wait for budget when the limit is reached (default 120)")
    p.set_defaults(handler=_cmd_try)
    p = sub.add_parser("status", help="calls, tokens, cooldowns and quota marks per provider")
    p.add_argument("--json", action="store_true", help="one JSON object")
    p.set_defaults(handler=_cmd_status)
    p = sub.add_parser("reset", help="clear a provider's out-of-quota mark and cooldown")
    p.add_argument("provider", choices=PROVIDERS[:2])
    p.set_defaults(handler=_cmd_reset)


def _cmd_try(args: argparse.Namespace) -> int:
    import redis

    from pipeline.llm.config import build_chain
    from pipeline.llm.errors import LlmUnavailable
    from pipeline.llm.request import SeoRequest

    try:
        text = sys.stdin.read() if args.file == "-" else open(args.file, encoding="utf-8").read()
    except OSError as exc:
        raise ConfigError(f"cannot read the post: {exc}") from None
    try:
        request = SeoRequest.from_json(json.loads(text))
    except (json.JSONDecodeError, ValueError) as exc:
        raise ConfigError(f"the post must be JSON like "
                          f'{{"title": "...", "content": "..."}}: {exc}') from None
    settings = load_settings()
    client = _client(settings)
    try:
        chain = build_chain(settings, client, (args.provider,) if args.provider else None)
        suggestion = _suggest_waiting(chain, request, args.wait)
    except LlmUnavailable as exc:
        print(f"atr llm try: {exc}", file=sys.stderr)
        return Exit.PROBLEM
    except redis.RedisError as exc:
        return _redis_down(settings, exc)
    finally:
        client.close()
    print(json.dumps(_suggestion_json(suggestion), ensure_ascii=False, indent=2) if args.json
          else _render_suggestion(suggestion))
    return Exit.OK


def _suggest_waiting(chain: LlmChain, request: SeoRequest, wait_s: float) -> Suggestion:
    from pipeline.llm.errors import LlmUnavailable

    deadline = time.monotonic() + wait_s
    while True:
        try:
            return chain.suggest(request)
        except Deferred as exc:
            left = deadline - time.monotonic()
            if exc.delay_ms / 1000 > left:
                raise LlmUnavailable(f"{exc.reason}; no budget within --wait {wait_s:g} s "
                                     "(see `atr llm status`)") from None
            print(f"atr llm try: {exc.reason}; waiting {exc.delay_ms} ms", file=sys.stderr)
            time.sleep(exc.delay_ms / 1000)


def _suggestion_json(suggestion: Suggestion) -> dict[str, Any]:
    usage = suggestion.completion.usage
    return {"provider": suggestion.provider, "model": suggestion.completion.model,
            "fallback": suggestion.fallback,
            "usage": None if usage is None else {"prompt_tokens": usage.prompt_tokens,
                                                 "completion_tokens": usage.completion_tokens},
            "answer": suggestion.completion.answer.to_json()}


def _render_suggestion(suggestion: Suggestion) -> str:
    answer, usage = suggestion.completion.answer, suggestion.completion.usage
    tokens = "n/a" if usage is None else \
        f"{usage.prompt_tokens} prompt + {usage.completion_tokens} completion"
    rows = [["tags", ", ".join(answer.tags)],
            ["focus keyword", answer.focus_keyword],
            ["meta description", f"{answer.meta_description} ({len(answer.meta_description)}자)"],
            ["SEO title", f"{answer.seo_title} ({len(answer.seo_title)}자)"]]
    head = (f"{suggestion.provider} ({suggestion.completion.model})"
            f"{', as a fallback' if suggestion.fallback else ''}; tokens: {tokens}")
    return head + "\n\n" + render_table(["FIELD", "VALUE"], rows)


def _cmd_status(args: argparse.Namespace) -> int:
    import redis

    from pipeline.llm.config import build_chain

    settings = load_settings()
    client = _client(settings)
    try:
        chain = build_chain(settings, client, tuple(p for p in settings.llm_chain
                                                    if p != "offline") or None)
        rows = [_status_row(chain, p) for p in chain.providers if p.limited]
    except redis.RedisError as exc:
        return _redis_down(settings, exc)
    finally:
        client.close()
    if args.json:
        print(json.dumps({"chain": list(settings.llm_chain), "window_s": settings.llm_window_s,
                          "providers": rows}, ensure_ascii=False, indent=2))
        return Exit.OK
    print(f"chain: {' -> '.join(settings.llm_chain)}; window {settings.llm_window_s:g} s")
    if rows:
        print(render_table(
            ["PROVIDER", "MODEL", "CALLS/RPM", "TOKENS/TPM", "COOLDOWN", "QUOTA"],
            [[r["provider"], r["model"], f"{r['requests']}/{r['rpm']}",
              f"{r['tokens']}/{r['tpm']}",
              f"{r['cooldown_ms'] / 1000:.1f} s" if r["cooldown_ms"] else "-",
              r["exhausted"] or "ok"] for r in rows]))
    return Exit.OK


def _status_row(chain: LlmChain, provider: Any) -> dict[str, Any]:
    from pipeline import keys

    budget = chain.budget(provider)
    snap = chain.limiter.snapshot(budget)
    mark = chain.client.get(keys.llm_exhausted(provider.name))
    return {"provider": provider.name, "model": provider.model,
            "requests": snap.requests, "rpm": budget.limits.rpm,
            "tokens": snap.tokens, "tpm": budget.limits.tpm, "cooldown_ms": snap.cooldown_ms,
            "exhausted": mark.decode() if isinstance(mark, bytes) else mark}


def _cmd_reset(args: argparse.Namespace) -> int:
    import redis

    from pipeline import keys
    from pipeline.llm.ratelimit import Budget, Limits

    settings = load_settings()
    client = _client(settings)
    try:
        model = settings.openai_model if args.provider == "openai" else settings.gemini_model
        budget = Budget(args.provider, model, Limits(None, None))
        removed = client.delete(keys.llm_exhausted(args.provider), f"{budget.key}:cool")
    except redis.RedisError as exc:
        return _redis_down(settings, exc)
    finally:
        client.close()
    print(f"{args.provider}: " + ("quota mark and cooldown cleared" if removed
                                  else "nothing to clear (no quota mark, no cooldown)"))
    return Exit.OK


def _client(settings: Settings) -> redis.Redis:
    from pipeline import redis_client

    return redis_client.connect(settings.redis_url, "cli")


def _redis_down(settings: Settings, exc: BaseException) -> int:
    return redis_down("atr llm", settings, exc, "the shared LLM budgets")

