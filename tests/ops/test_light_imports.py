"""``atr``'s parser and its Dramatiq-free commands load neither Dramatiq nor Redis."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
_HEAVY = ("dramatiq", "dramatiq_dashboard", "redis")


def _python(code: str, *, block: bool = False) -> subprocess.CompletedProcess[str]:
    # Blocking makes an import of any of them fail, as on a host without them.
    prelude = f"import sys\nfor name in {_HEAVY!r}: sys.modules[name] = None\n" if block else ""
    return subprocess.run([sys.executable, "-c", prelude + code], cwd=ROOT, text=True,
                          capture_output=True, timeout=60, check=False)


def test_building_the_parser_leaves_dramatiq_and_redis_unloaded() -> None:
    result = _python("import sys, ops.cli\nops.cli.build_parser()\n"
                     f"print([m for m in {_HEAVY!r} if m in sys.modules])")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_atr_workers_json_runs_without_dramatiq_and_redis() -> None:
    result = _python("import ops.cli\nraise SystemExit(ops.cli.main(['workers', '--json']))",
                     block=True)
    assert result.returncode == 0, result.stderr
    assert set(json.loads(result.stdout)) == {"worker1", "worker2"}


def test_the_blocking_is_real() -> None:
    result = _python("import redis", block=True)
    assert result.returncode != 0
