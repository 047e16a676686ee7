#!/usr/bin/env bash
# Roll atr-workers back to REF (a release tag or commit) in the deploy order, with its gates.
#
#   ops/rollback.sh REF [--groups worker2,worker1] [--ping-timeout S] [--dry-run]
#
# The same steps as ops/deploy.sh, but checking out REF instead of pulling:
# install from REF's uv.lock, restart worker2, gate, restart worker1, gate,
# show the latest doclog lines. --dry-run prints every command.
set -euo pipefail

usage() { sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'; }

case "${1:-}" in
    ""|-*)
        if [ "${1:-}" = "-h" ] || [ "${1:-}" = "--help" ]; then usage; exit 0; fi
        echo "rollback: give the release to go back to, e.g. ops/rollback.sh v1.4.2 (see --help)" >&2
        exit 2 ;;
esac
ref=$1
shift
exec "$(dirname "$0")/deploy.sh" --checkout "$ref" "$@"
