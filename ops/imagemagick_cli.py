"""``atr imagemagick check``: the ImageMagick preflight that every image worker runs at boot.

    atr imagemagick check [--format jpeg|webp] [--json]

Checks, in this process (so run it with the worker's environment: the units
set MAGICK_CONFIGURE_PATH=/srv/atr-workers/ops/imagemagick):

* the coder rights the thumbnail pipeline and every image actor declare
  (``imagemagick_needs``), with MagickCore's own ``IsRightsAuthorized``;
* ATR_THUMB_FONT: exists, a single face, covers Hangul;
* the resource limits (a ``time`` limit is refused: it kills the worker).

Exit codes: 0 everything ok, 1 a problem found (each printed on one line),
2 bad usage or settings.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from typing import Final

from ops.common import Exit
from ops.console import render_table
from pipeline.imagemagick import UNLIMITED, Finding, Need, check, policy_files
from pipeline.settings import Settings, load_settings, process_environ

__all__ = ["add_parsers", "pipeline_needs"]

_BYTE_LIMITS: Final = ("memory", "map", "disk")


def add_parsers(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``imagemagick check`` to ``atr``'s subcommands."""
    parser = subparsers.add_parser(
        "imagemagick", help="check the ImageMagick policy, font and limits the workers use",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="imagemagick_command", required=True, metavar="COMMAND")
    p = sub.add_parser("check", help="run the image workers' preflight here; exit 1 on a problem")
    p.add_argument("--format", choices=("jpeg", "webp"), default=None,
                   help="output format to check (default: ATR_THUMB_FORMAT)")
    p.add_argument("--json", action="store_true", help="one JSON object")
    p.set_defaults(handler=_cmd_check)


def pipeline_needs(thumb_format: str) -> list[Need]:
    """What the thumbnail pipeline needs whatever its actors declare: backgrounds, output."""
    return [Need("JPEG", "read"), Need("PNG", "read"), Need(thumb_format, "write")]


def _declared_needs(settings: Settings) -> dict[str, tuple[Need, ...]]:
    """The ``imagemagick_needs`` of every actor of every group, by actor name."""
    # Imported here: declaring the actors imports every actor module.
    from brokers.boot import producer_broker
    from middleware.imagemagick import ImageMagickPolicy

    broker = producer_broker(settings)  # declares actors; opens no connection
    try:
        for middleware in broker.middleware:
            if isinstance(middleware, ImageMagickPolicy):
                return dict(middleware.needs)
        return {}
    finally:
        broker.close()


def _cmd_check(args: argparse.Namespace) -> int:
    settings = load_settings()
    if args.format is not None:
        settings = dataclasses.replace(settings, thumb_format=args.format)
    environ = process_environ()
    declared = _declared_needs(settings)
    needs = pipeline_needs(settings.thumb_format) + [
        need for actor_needs in declared.values() for need in actor_needs]
    findings = check(needs, settings.thumb_font, environ=environ)
    files = [str(p) for p in policy_files(environ)]
    ok = all(f.ok for f in findings)
    if args.json:
        print(json.dumps({"ok": ok, "format": settings.thumb_format, "policy_files": files,
                          "magick_configure_path": environ.get("MAGICK_CONFIGURE_PATH"),
                          "findings": [dataclasses.asdict(f) for f in findings]}, indent=2))
        return Exit.OK if ok else Exit.PROBLEM
    print(_render(findings, files, declared, environ.get("MAGICK_CONFIGURE_PATH")))
    return Exit.OK if ok else Exit.PROBLEM


def _render(findings: list[Finding], files: list[str], declared: dict[str, tuple[Need, ...]],
            configure_path: str | None) -> str:
    lines = [f"Policy files in force (load order): {', '.join(files) or 'none'}"]
    if not configure_path:
        lines.append("  MAGICK_CONFIGURE_PATH is not set: only the system policy is checked; "
                     "the worker units set MAGICK_CONFIGURE_PATH=/srv/atr-workers/ops/imagemagick")
    coder_rows = []
    for f in findings:
        if f.kind == "coder":
            coder, right = f.subject.split(" ")
            users = sorted(a for a, needs in declared.items() if f.subject in map(str, needs))
            coder_rows.append([coder, right, "yes" if f.ok else "NO",
                               ", ".join(f.where) if not f.ok else "",
                               ", ".join(users) or "pipeline"])
    lines += ["", render_table(["CODER", "RIGHT", "ALLOWED", "DENIED BY", "NEEDED BY"],
                               coder_rows), ""]
    for f in findings:
        if f.kind in ("font", "path"):
            label = "Font" if f.kind == "font" else "Temporary path"
            lines.append(f"{label}: ok ({f.message})" if f.ok else
                         f"{label}: {f.status.upper()} (see the problems below)")
    limit_rows = [[f.subject, _shown(f), f.status] for f in findings if f.kind == "limit"]
    lines += ["", render_table(["RESOURCE", "LIMIT", "STATUS"], limit_rows)]
    problems = [f.message for f in findings if not f.ok]
    if problems:
        lines += ["", f"{len(problems)} problem(s):"] + [f"  {p}" for p in problems]
    else:
        lines += ["", "ok: the image workers can render here"]
    return "\n".join(lines)


def _shown(finding: Finding) -> str:
    """A limit's value in readable units."""
    value = finding.value
    if value is None or value >= UNLIMITED:
        return "unlimited"
    if finding.subject in _BYTE_LIMITS:
        return f"{value / 2**20:.0f} MiB"
    if finding.subject == "area":
        return f"{value / 1e6:.0f} megapixels"
    if finding.subject in ("width", "height"):
        return f"{value} px"
    if finding.subject == "time":
        return f"{value} s"
    return str(value)
