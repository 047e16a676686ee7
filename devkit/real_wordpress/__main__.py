"""``python -m devkit.real_wordpress [prepare|serve]``: build the cached site, or run one.

``prepare`` builds the pristine site in the cache (once) and prints its path;
``serve`` starts a copy with the project's must-use plugin, prints the
``BRIDGE_BASE`` / ``BRIDGE_TOKEN`` lines to use with it and runs until Ctrl-C.
"""

from __future__ import annotations

import argparse
import shlex
import signal
import sys
from pathlib import Path

from devkit.real_wordpress.harness import RealWordPress, RealWordPressError, prepare

_MU_PLUGIN = Path(__file__).resolve().parents[2] / "ops" / "wordpress" / "atr-seo-meta.php"


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit code."""
    parser = argparse.ArgumentParser(prog="python -m devkit.real_wordpress",
                                     description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("command", choices=("prepare", "serve"))
    args = parser.parse_args(argv)
    try:
        if args.command == "prepare":
            print(prepare())
            return 0
        with RealWordPress(mu_plugins=[_MU_PLUGIN]) as site:
            editor = site.users["editor"]
            print(f"export BRIDGE_BASE={shlex.quote(site.rest_root)}")
            print(f"export BRIDGE_TOKEN={shlex.quote(editor.token)}")
            print(f"# WordPress {site.version} at {site.url}; logs in {site.log_dir}; "
                  "Ctrl-C stops it", flush=True)
            signal.sigwait({signal.SIGINT, signal.SIGTERM})
    except RealWordPressError as exc:
        print(f"real-wordpress: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    sys.exit(main())
