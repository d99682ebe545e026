#!/usr/bin/env bash
# `npm test`: provision, then typecheck, unit + integration tests, build, e2e.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/lib/provision.sh
source scripts/lib/provision.sh

export NEXT_TELEMETRY_DISABLED="${NEXT_TELEMETRY_DISABLED:-1}"
# Build and serve the tests' app from its own folder: a running demo keeps .next.
export FLOWGATE_DIST_DIR="${FLOWGATE_DIST_DIR:-.next-test}"

fg_ensure_node_modules
FLOWGATE_VALKEY_SERVER="$(fg_ensure_valkey_binary)"
export FLOWGATE_VALKEY_SERVER
fg_ensure_chromium

step=0
total=4
run_step() { # TITLE COMMAND...
  local title="$1"
  shift
  step=$((step + 1))
  fg_log "==== [$step/$total] $title: $* ===="
  local rc=0
  "$@" || rc=$?
  if ((rc != 0)); then
    fg_log "step $step/$total ($title) failed with exit code $rc"
    exit "$rc"
  fi
}

run_step "typecheck" npx tsc --noEmit
run_step "unit + integration tests" npx vitest run
run_step "production build" npx next build
run_step "end-to-end tests" npx playwright test
fg_log "all $total steps succeeded"
