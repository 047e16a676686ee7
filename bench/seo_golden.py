"""The SEO quality guide on the golden set: which posts pass, and which rules they break.

Every post of ``tests/data/korean_posts.json`` goes through one provider
(default ``offline``; ``openai`` and ``gemini`` need their keys in the
settings) and its answer through the quality guide of the settings
(``ATR_SEO_*``, defaults when unset). Printed: one row per post (id, title,
PASS, FAIL or NO ANSWER, the rules it breaks) with the messages under a
failing row, the posts breaking each rule, and the pass rate.

    .venv/bin/python bench/seo_golden.py [--provider offline] [--json] [--posts PATH]

Calls go one after another, without the shared rate limiter: a 429 from a
real provider shows as NO ANSWER. This is a report: the exit status is 0
whatever the pass rate, 2 when the settings or the provider are misconfigured.
"""

from __future__ import annotations

import argparse
import json
import sys
import unicodedata
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Final

from pipeline.errors import ConfigError
from pipeline.llm.config import PROVIDERS, build_provider
from pipeline.llm.errors import LlmError
from pipeline.llm.request import SeoRequest
from pipeline.seo.quality import RULES, QualityGuide, check
from pipeline.settings import Settings
from pipeline.settings_env import read_environment

_ROOT: Final = Path(__file__).resolve().parents[1]
_POSTS: Final = _ROOT / "tests" / "data" / "korean_posts.json"
#: The bench never connects to Redis; this lets a machine without worker settings run it.
_UNUSED_REDIS_URL: Final = "redis://127.0.0.1:1/0"
#: Display columns of the title column (a Hangul syllable takes two).
_TITLE_COLUMNS: Final = 34


@dataclass
class _Row:
    id: int
    title: str
    status: str
    rules: list[str] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    error: str | None = None


def main(argv: Sequence[str] | None = None) -> int:
    """Run the golden set through the provider and the guide; print the report."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--provider", choices=PROVIDERS, default="offline",
                        help="the provider that answers (default: offline)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--posts", type=Path, default=_POSTS,
                        help="a JSON list of {id, title, content, tags} (default: golden set)")
    args = parser.parse_args(argv)
    try:
        env = read_environment()
        env.setdefault("REDIS_URL", _UNUSED_REDIS_URL)
        settings = Settings.from_env(env)
        provider = build_provider(args.provider, settings)
    except ConfigError as exc:
        print(f"seo_golden: {exc}", file=sys.stderr)
        return 2
    guide = QualityGuide.from_settings(settings)
    posts = json.loads(args.posts.read_text(encoding="utf-8"))

    rows: list[_Row] = []
    for post in posts:
        # Asked within the guide's bounds, as seo_automation asks.
        request = SeoRequest.from_json(post, bounds=guide.bounds)
        try:
            answer = provider.complete(request).answer
        except LlmError as exc:
            rows.append(_Row(post["id"], request.title, "NO ANSWER",
                             error=f"{type(exc).__name__}: {exc}"))
            continue
        violations = check(answer, request.title, request.content, guide)
        rows.append(_Row(post["id"], request.title, "FAIL" if violations else "PASS",
                         list(dict.fromkeys(v.rule for v in violations)),
                         [v.message for v in violations]))

    report = _report(rows, guide, provider.name, provider.model)
    print(json.dumps(report, ensure_ascii=False, indent=2) if args.json else _text(report))
    return 0


def _report(rows: Sequence[_Row], guide: QualityGuide, provider: str,
            model: str) -> dict[str, Any]:
    answered = [r for r in rows if r.status != "NO ANSWER"]
    passed = [r for r in answered if r.status == "PASS"]
    return {
        "provider": provider, "model": model, "guide": asdict(guide),
        "posts": [asdict(r) for r in rows],
        "rules": {rule: [r.id for r in answered if rule in r.rules] for rule in RULES},
        "total": len(rows), "answered": len(answered), "passed": len(passed),
        "pass_rate": len(passed) / len(answered) if answered else 0.0,
    }


def _text(report: dict[str, Any]) -> str:
    guide = report["guide"]
    lines = [
        f"provider {report['provider']} ({report['model']}); guide: description "
        f"{guide['desc_min']}-{guide['desc_max']}, title {guide['title_min']}-"
        f"{guide['title_max']}, tags {guide['tags_min']}-{guide['tags_max']}, banned "
        f"{', '.join(guide['banned_words']) or 'none'}",
        "",
        f" id  {_pad('title', _TITLE_COLUMNS)}  result     rules",
    ]
    for row in report["posts"]:
        lines.append(f"{row['id']:>3}  {_pad(_clip(row['title']), _TITLE_COLUMNS)}  "
                     f"{row['status']:<9}  {', '.join(row['rules'])}".rstrip())
        lines.extend(f"{'':>5}- {message}" for message in row["messages"])
        if row["error"]:
            lines.append(f"{'':>5}- {row['error']}")
    lines += ["", "rule                    posts  ids"]
    for rule, ids in report["rules"].items():
        lines.append(f"{rule:<22}  {len(ids):>5}  {', '.join(map(str, ids))}".rstrip())
    lines += ["", f"passed {report['passed']} of {report['answered']} answered posts "
                  f"({report['pass_rate']:.1%}); {report['total'] - report['answered']} of "
                  f"{report['total']} posts got no answer"]
    return "\n".join(lines)


def _columns(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _clip(text: str) -> str:
    if _columns(text) <= _TITLE_COLUMNS:
        return text
    while _columns(text) > _TITLE_COLUMNS - 1:
        text = text[:-1]
    return text + "…"


def _pad(text: str, columns: int) -> str:
    return text + " " * max(0, columns - _columns(text))


if __name__ == "__main__":
    sys.exit(main())
