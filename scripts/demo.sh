#!/usr/bin/env bash
# `npm run demo`: provide Valkey, build if needed, start the Flowgate server.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/lib/provision.sh
source scripts/lib/provision.sh

export NEXT_TELEMETRY_DISABLED="${NEXT_TELEMETRY_DISABLED:-1}"

fg_ensure_node_modules

# --- Valkey -----------------------------------------------------------------
LOCAL_URL="redis://127.0.0.1:6380"
DATA_DIR="$FG_ROOT/.valkey"

# The eviction policy Flowgate needs (docs/operations.md#maxmemory-and-eviction), as
# docker-compose.yml runs it: capped at 256 MB, a full server drops the least frequently used
# keys (cold cached prompts) and keeps active callers' limit state and hot prompts. Valkey's
# defaults (no maxmemory, noeviction) would grow without bound, or once capped refuse every decision.
VALKEY_MAXMEMORY=256mb
VALKEY_MAXMEMORY_POLICY=allkeys-lfu

# Applied with CONFIG SET to the server this script has just started (scripts/lib/provision.sh
# starts it with the defaults); a VALKEY_URL of your own, or a server already running, is left as it is.
configure_local_valkey() {
  if node -e '
    const Redis = require("ioredis");
    const [url, maxmemory, policy] = process.argv.slice(1);
    const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    client.on("error", () => {});
    client.connect()
      .then(() => client.config("SET", "maxmemory", maxmemory))
      .then(() => client.config("SET", "maxmemory-policy", policy))
      .then(() => client.quit())
      .catch((err) => { console.error(err.message); process.exit(1); });
  ' "$LOCAL_URL" "$VALKEY_MAXMEMORY" "$VALKEY_MAXMEMORY_POLICY"; then
    fg_log "local Valkey: maxmemory $VALKEY_MAXMEMORY, maxmemory-policy $VALKEY_MAXMEMORY_POLICY"
  else
    fg_log "could not set maxmemory on $LOCAL_URL: it runs with its defaults (docs/operations.md#maxmemory-and-eviction)"
  fi
}

wait_for_url() { # URL SECONDS
  local url="$1" deadline=$((SECONDS + $2))
  while ((SECONDS < deadline)); do
    fg_valkey_answers "$url" 2>/dev/null && return 0
    sleep 0.5
  done
  fg_valkey_answers "$url"
}

if [[ -n "${VALKEY_URL:-}" ]] && fg_valkey_answers "$VALKEY_URL"; then
  fg_log "using VALKEY_URL (it answers PING)"
else
  if [[ -n "${VALKEY_URL:-}" ]]; then
    fg_log "VALKEY_URL is set but does not answer; providing a local Valkey at $LOCAL_URL instead"
  fi
  if fg_valkey_answers "$LOCAL_URL" 2>/dev/null; then
    fg_log "using the Valkey already answering at $LOCAL_URL"
  elif fg_find_valkey_server >/dev/null; then
    fg_start_local_valkey 6380 "$DATA_DIR"
    configure_local_valkey
  elif fg_docker_available; then
    fg_log "starting Valkey with: docker compose up -d valkey"
    docker compose up -d valkey >&2
    wait_for_url "$LOCAL_URL" 30 || {
      fg_log "the docker compose Valkey did not answer at $LOCAL_URL within 30 s"
      exit 1
    }
  elif fg_install_valkey; then
    fg_start_local_valkey 6380 "$DATA_DIR"
    configure_local_valkey
  else
    exit 1
  fi
  VALKEY_URL="$LOCAL_URL"
fi
export VALKEY_URL
# The local demo: its public demo keys (unless API_KEYS says otherwise) and the
# dashboard shows caller addresses whole. A gateway facing the internet runs
# `npm start` without it (see docs/operations.md).
export FLOWGATE_DEMO="${FLOWGATE_DEMO:-true}"

# --- Build ------------------------------------------------------------------
needs_build() {
  [[ -f .next/BUILD_ID ]] || return 0
  local -a inputs=()
  local p
  for p in app lib components public next.config.ts next.config.mjs next.config.js \
    package.json package-lock.json tsconfig.json postcss.config.mjs tailwind.config.ts; do
    [[ -e "$p" ]] && inputs+=("$p")
  done
  ((${#inputs[@]})) || return 1
  [[ -n "$(find "${inputs[@]}" -newer .next/BUILD_ID -print -quit 2>/dev/null)" ]]
}

if needs_build; then
  fg_log "building: npx next build"
  npx next build
else
  fg_log "build is up to date (.next/BUILD_ID)"
fi

# --- Serve ------------------------------------------------------------------
port="${PORT:-3000}"
# bash always sets a HOSTNAME shell variable; only an exported one reaches server.mjs.
host="$(printenv HOSTNAME || true)"
case "$host" in
  "" | 0.0.0.0 | "::" | "[::]") host=localhost ;;
esac
shown_url="$VALKEY_URL"
if [[ "$shown_url" == *@* ]]; then
  shown_url="${shown_url%%://*}://***@${shown_url##*@}"
fi
fg_log "Flowgate demo: http://$host:$port  (Valkey: $shown_url)"
exec node server.mjs
