#!/usr/bin/env bash
# Deploy atr-workers on this host in the runbook's order, stopping at the first failed gate.
#
#   ops/deploy.sh [--groups worker2,worker1] [--ping-timeout S] [--dry-run]
#   ops/rollback.sh REF [same options]      (checks out REF instead of pulling)
#
# Steps: note the running release; git pull --ff-only (or check out REF);
# install exactly what uv.lock says (./dev setup); then for worker2, then
# worker1 (each only if named in --groups): systemctl restart atr-<group>,
# and a gate: `atr ping --group <group>` (every queue of the group answers,
# end to end) and `atr health --group <group>` (not CRIT). Then restart the
# scheduler and dashboard if they are enabled here, and show the latest
# doclog lines. On a two-host setup run `--groups worker2` on the worker2
# host first, then `--groups worker1` on the worker1 host.
#
# --dry-run prints every command without running any. Exit codes: 0 deployed,
# 1 a step or gate failed (nothing after it ran), 2 bad usage.
set -euo pipefail

usage() { sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; }

ROOT=$(cd "$(dirname "$0")/.." && pwd)
ATR="$ROOT/.venv/bin/atr"
DRY_RUN=0
CHECKOUT=""
PING_TIMEOUT=90
WANTED="worker2,worker1"

while [ $# -gt 0 ]; do
    case "$1" in
        --dry-run) DRY_RUN=1 ;;
        --groups) WANTED=${2:?--groups needs a value, e.g. worker2}; shift ;;
        --ping-timeout) PING_TIMEOUT=${2:?--ping-timeout needs seconds}; shift ;;
        --checkout) CHECKOUT=${2:?--checkout needs a git ref}; shift ;;
        -h|--help) usage; exit 0 ;;
        *) echo "deploy: unknown option '$1' (see --help)" >&2; exit 2 ;;
    esac
    shift
done

# Always worker2 (light jobs) before worker1 (heavy jobs), whatever the order given.
GROUPS_IN_ORDER=()
for group in worker2 worker1; do
    case ",$WANTED," in *",$group,"*) GROUPS_IN_ORDER+=("$group") ;; esac
done
for group in ${WANTED//,/ }; do
    case "$group" in worker1|worker2) ;; *)
        echo "deploy: unknown group '$group'; groups: worker1, worker2" >&2; exit 2 ;;
    esac
done

step() { printf '\n==> %s\n' "$*"; }
run() {
    printf '+ %s\n' "$*"
    if [ "$DRY_RUN" -eq 0 ]; then "$@"; fi
}
as_root() { if [ "$(id -u)" -eq 0 ]; then run "$@"; else run sudo "$@"; fi; }
fail() {
    printf '\ndeploy: STOPPED: %s\n' "$*" >&2
    printf 'deploy: nothing after this step ran. Roll back with: ops/rollback.sh %s\n' \
        "$PREVIOUS" >&2
    exit 1
}

cd "$ROOT"
PREVIOUS=$(git rev-parse --short HEAD)
step "running release: $PREVIOUS (roll back with: ops/rollback.sh $PREVIOUS)"

if [ -n "$CHECKOUT" ]; then
    step "checking out $CHECKOUT"
    run git fetch --quiet --tags origin || fail "git fetch failed"
    run git checkout --quiet --detach "$CHECKOUT" || fail "cannot check out '$CHECKOUT'"
else
    step "pulling the new release"
    run git pull --ff-only --quiet || fail "git pull --ff-only failed (local changes or a diverged branch?)"
fi
step "installing exactly what uv.lock says"
run "$ROOT/dev" setup || fail "installation failed"

for group in "${GROUPS_IN_ORDER[@]}"; do
    step "restarting $group"
    as_root systemctl restart "atr-$group" || fail "systemctl restart atr-$group failed"
    step "gate: every queue of $group answers"
    run "$ATR" ping --group "$group" --timeout "$PING_TIMEOUT" \
        || fail "$group's queues did not answer within ${PING_TIMEOUT}s after the restart (see above; journalctl -u atr-$group -n 50)"
    step "gate: atr health for $group is not CRIT"
    code=0
    run "$ATR" health --group "$group" || code=$?
    if [ "$code" -ge 2 ]; then
        fail "atr health --group $group reports CRIT (exit $code, see above)"
    fi
done

for unit in atr-scheduler atr-dashboard; do
    if [ "$DRY_RUN" -eq 1 ] || systemctl is-enabled --quiet "$unit" 2>/dev/null; then
        step "restarting $unit"
        as_root systemctl restart "$unit" || fail "systemctl restart $unit failed"
    fi
done

step "latest doclog lines"
run "$ATR" doclog tail -n 20 || true
step "deployed $(git rev-parse --short HEAD) (was $PREVIOUS)"
