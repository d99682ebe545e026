#!/usr/bin/env bash
# `npm test`: provision, then typecheck, unit + integration tests, build, e2e
# (which includes the fault suite). `npm run test:faults` (--faults): provision,
# build, and only the fault suite.
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

only_faults=false
if [[ "${1:-}" == "--faults" ]]; then
  only_faults=true
  total=2
fi

if ! $only_faults; then
  run_step "typecheck" npx tsc --noEmit
  run_step "unit + integration tests" npx vitest run
fi
# The build and the e2e server get secrets they must never leak: an admin token
# and an extra API key. tests/e2e/secrets.spec.ts searches the browser bundle
# and the served page for both.
secret() { node -e 'process.stdout.write(require("node:crypto").randomBytes(12).toString("hex"))'; }
E2E_ENV=(
  "FLOWGATE_E2E_SECRET_KEY=sk-e2e-$(secret)"
  "ADMIN_TOKEN=admin-e2e-$(secret)"
)
E2E_ENV+=("API_KEYS=demo-free-key:free,demo-pro-key:pro,demo-enterprise-key:enterprise,${E2E_ENV[0]#*=}:pro")
run_step "production build" env "${E2E_ENV[@]}" npx next build
if $only_faults; then
  run_step "fault suite" env "${E2E_ENV[@]}" npx playwright test --project faults
else
  run_step "end-to-end tests and fault suite" env "${E2E_ENV[@]}" npx playwright test
fi
fg_log "all $total steps succeeded"
