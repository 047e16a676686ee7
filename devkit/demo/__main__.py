"""``python -m devkit.demo``: run the demo; exit 0 when every step succeeded."""

from __future__ import annotations

import sys

from devkit.demo.run import run_demo
from pipeline.errors import AtrError


def main() -> int:
    """Run the demo; a bad setting or a missing redis-server is one line on stderr, exit 2."""
    try:
        return run_demo()
    except AtrError as exc:
        print(f"demo: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
