# shellcheck shell=bash
# Flowgate provisioning helpers. Source this file; do not execute it.
#
#   source scripts/lib/provision.sh
#   fg_ensure_node_modules
#   fg_ensure_valkey_binary
#
# Every function is idempotent, safe under `set -euo pipefail`, and prints
# short "[flowgate] ..." progress lines to stderr. Functions that print a
# value (a path) print only that value on stdout.

if [[ -n "${FG_PROVISION_SOURCED:-}" ]]; then
  return 0
fi
FG_PROVISION_SOURCED=1

FG_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
export FG_ROOT

fg_log() {
  printf '[flowgate] %s\n' "$*" >&2
}

fg__is_root() {
  [[ "$(id -u)" == 0 ]]
}

fg__can_apt() {
  fg__is_root && command -v apt-get >/dev/null 2>&1 && command -v apt-cache >/dev/null 2>&1
}

# Milliseconds since the epoch (GNU date).
fg__now_ms() {
  date +%s%3N
}

# ---------------------------------------------------------------------------
# node_modules
# ---------------------------------------------------------------------------

fg_ensure_node_modules() {
  local stamp="$FG_ROOT/node_modules/.package-lock.json"
  local reason=""
  if [[ ! -d "$FG_ROOT/node_modules" ]]; then
    reason="node_modules is missing"
  elif [[ ! -f "$stamp" ]]; then
    reason="node_modules/.package-lock.json is missing"
  elif [[ "$FG_ROOT/package.json" -nt "$stamp" ]]; then
    reason="package.json changed"
  elif [[ -f "$FG_ROOT/package-lock.json" && "$FG_ROOT/package-lock.json" -nt "$stamp" ]]; then
    reason="package-lock.json changed"
  fi
  if [[ -z "$reason" ]]; then
    fg_log "node_modules is up to date"
    return 0
  fi
  fg_log "$reason: running npm install --no-audit --no-fund"
  (cd "$FG_ROOT" && npm install --no-audit --no-fund) >&2
  # npm may rewrite package-lock.json after the hidden lockfile; mark the
  # install as newer than both so the next run does not reinstall.
  if [[ -f "$stamp" ]]; then
    touch "$stamp"
  fi
  fg_log "npm install done"
}

# ---------------------------------------------------------------------------
# Valkey binaries
# ---------------------------------------------------------------------------

fg_find_valkey_server() {
  local name
  for name in valkey-server redis-server; do
    if command -v "$name" >/dev/null 2>&1; then
      command -v "$name"
      return 0
    fi
  done
  return 1
}

fg_find_valkey_cli() {
  local name
  for name in valkey-cli redis-cli; do
    if command -v "$name" >/dev/null 2>&1; then
      command -v "$name"
      return 0
    fi
  done
  return 1
}

fg__print_valkey_install_help() {
  fg_log "No Valkey (or Redis) server binary was found, and it cannot be installed automatically here (that needs root and apt-get)."
  fg_log "Install one of these ways, then run the command again:"
  fg_log "  Debian 12:  echo 'deb http://deb.debian.org/debian bookworm-backports main' | sudo tee /etc/apt/sources.list.d/backports.list"
  fg_log "              sudo apt-get update && sudo apt-get install -y -t bookworm-backports valkey-server"
  fg_log "  Debian/Ubuntu with Redis instead:  sudo apt-get update && sudo apt-get install -y redis-server"
  fg_log "  macOS:      brew install valkey"
  fg_log "  Docker:     docker compose up -d valkey   (serves redis://127.0.0.1:6380)"
  fg_log "  Or set VALKEY_URL to a running Valkey/Redis, e.g. VALKEY_URL=redis://127.0.0.1:6380"
}

# Records "URI SUITE SIGNED_BY COMPONENT..." for every enabled `deb` source in
# /etc/apt/sources.list, sources.list.d/*.list and sources.list.d/*.sources
# (FG_APT_ETC overrides /etc/apt, for testing the parser).
# SIGNED_BY is "-" when the source names no key file.
fg__apt_source_records() {
  local f etc="${FG_APT_ETC:-/etc/apt}"
  local -a lists=() deb822=()
  [[ -r "$etc/sources.list" ]] && lists+=("$etc/sources.list")
  for f in "$etc"/sources.list.d/*.list; do
    [[ -r "$f" ]] && lists+=("$f")
  done
  for f in "$etc"/sources.list.d/*.sources; do
    [[ -r "$f" ]] && deb822+=("$f")
  done

  if ((${#lists[@]})); then
    # One-line style: deb [opt=val ...] URI SUITE COMPONENT...
    awk '
      {
        sub(/#.*/, "")
        if ($1 != "deb") next
        line = $0
        signed = "-"
        if (match(line, /^[ \t]*deb[ \t]+\[[^]]*\]/)) {
          opts = substr(line, 1, RLENGTH - 1)
          sub(/^[ \t]*deb[ \t]+\[/, "", opts)
          line = "deb " substr(line, RSTART + RLENGTH)
          n = split(opts, o, /[ \t]+/)
          for (i = 1; i <= n; i++) {
            if (o[i] ~ /^signed-by=/) { signed = substr(o[i], 11) }
          }
        }
        n = split(line, w, /[ \t]+/)
        k = 0
        for (i = 1; i <= n; i++) if (w[i] != "") f[++k] = w[i]
        if (k < 3) next
        out = f[2] " " f[3] " " signed
        for (i = 4; i <= k; i++) out = out " " f[i]
        print out
      }' "${lists[@]}"
  fi

  if ((${#deb822[@]})); then
    # deb822 style: stanzas separated by blank lines; continuation lines
    # start with whitespace (Signed-By may embed a whole key block).
    awk '
      function reset() { types = ""; uris = ""; suites = ""; comps = ""; signed = ""; enabled = ""; cur = "" }
      function flush(   nu, ns, i, j, U, S, sb) {
        if (types ~ /(^|[ \t])deb([ \t]|$)/ && tolower(enabled) !~ /^[ \t]*(no|false|0)[ \t]*$/ && uris != "" && suites != "") {
          sb = signed
          gsub(/^[ \t]+|[ \t]+$/, "", sb)
          if (sb == "" || sb ~ /[ \t]/) sb = "-"
          nu = split(uris, U, /[ \t]+/)
          ns = split(suites, S, /[ \t]+/)
          for (i = 1; i <= nu; i++) {
            if (U[i] == "") continue
            for (j = 1; j <= ns; j++) {
              if (S[j] == "") continue
              print U[i] " " S[j] " " sb " " comps
            }
          }
        }
        reset()
      }
      FNR == 1 { flush() }
      /^[ \t]*#/ { next }
      /^[ \t]*$/ { flush(); next }
      /^[ \t]/ {
        if (cur == "uris") uris = uris " " $0
        else if (cur == "suites") suites = suites " " $0
        else if (cur == "components") comps = comps " " $0
        else if (cur == "types") types = types " " $0
        else if (cur == "signed-by") signed = signed " (multi-line)"
        next
      }
      {
        p = index($0, ":")
        if (p == 0) next
        key = tolower(substr($0, 1, p - 1))
        val = substr($0, p + 1)
        cur = key
        if (key == "types") types = val
        else if (key == "uris") uris = val
        else if (key == "suites") suites = val
        else if (key == "components") comps = val
        else if (key == "signed-by") signed = val
        else if (key == "enabled") enabled = val
      }
      END { flush() }' "${deb822[@]}" | awk '{ $1 = $1; print }'
  fi
}

# Prints the candidate version apt would install for PKG, or nothing.
fg__apt_candidate() {
  local cand
  cand="$(apt-cache policy "$1" 2>/dev/null | awk '/^[ \t]+Candidate:/ { print $2; exit }')"
  if [[ -n "$cand" && "$cand" != "(none)" ]]; then
    printf '%s\n' "$cand"
  fi
}

# Prints the candidate version of PKG if it comes from suite SUITE.
fg__apt_candidate_in_suite() {
  local pkg="$1" suite="$2"
  apt-cache policy "$pkg" 2>/dev/null | awk -v suite="$suite" '
    /^[ \t]+Candidate:/ { cand = $2 }
    /^[ \t]+(\*\*\* )?[^ \t]+ [0-9]+$/ { sub(/^[ \t]+(\*\*\* )?/, ""); ver = $1; next }
    ver == cand && index($0, " " suite "/") { print cand; exit }'
}

fg__os_field() {
  local key="$1"
  [[ -r /etc/os-release ]] || return 0
  awk -F= -v k="$key" '$1 == k { v = $2; gsub(/^"|"$/, "", v); print v; exit }' /etc/os-release
}

fg__apt_update_all() {
  fg_log "apt-get update"
  DEBIAN_FRONTEND=noninteractive apt-get update -q >&2
}

# Adds <codename>-backports (Debian only) from the mirror already configured
# for <codename> main, unless some source already serves it. Returns 0 if
# backports is configured afterwards.
fg__ensure_debian_backports() {
  local codename="$1"
  local backports="$codename-backports"
  local list=/etc/apt/sources.list.d/flowgate-backports.list
  local records uri signed line

  records="$(fg__apt_source_records || true)"
  if awk -v s="$backports" '$2 == s { found = 1 } END { exit !found }' <<<"$records"; then
    fg_log "$backports is already configured in the apt sources"
    return 0
  fi

  # The mirror serving "<codename> main"; prefer one that is not a security mirror.
  line="$(awk -v s="$codename" '
    $2 == s && $1 !~ /^cdrom:/ {
      main = 0
      for (i = 4; i <= NF; i++) if ($i == "main") main = 1
      if (!main) next
      if ($1 !~ /security/) { print; exit }
      if (fallback == "") fallback = $0
    }
    END { if (fallback != "") print fallback }' <<<"$records" | head -n 1)"
  if [[ -n "$line" ]]; then
    uri="$(awk '{ print $1 }' <<<"$line")"
    signed="$(awk '{ print $3 }' <<<"$line")"
  else
    uri="http://deb.debian.org/debian"
    signed="-"
    fg_log "no apt source serves '$codename main'; using $uri for $backports"
  fi
  uri="${uri%/}"

  local entry
  if [[ "$signed" != "-" && -r "$signed" ]]; then
    entry="deb [signed-by=$signed] $uri $backports main"
  else
    entry="deb $uri $backports main"
  fi
  fg_log "adding apt source $list: $entry"
  printf '# Added by Flowgate scripts/lib/provision.sh to install valkey-server.\n%s\n' "$entry" >"$list"

  # Refresh only the new list; keep every other list as it is.
  fg_log "apt-get update (only $backports)"
  if ! DEBIAN_FRONTEND=noninteractive apt-get update -q \
    -o Dir::Etc::sourcelist="sources.list.d/$(basename "$list")" \
    -o Dir::Etc::sourceparts=- \
    -o APT::Get::List-Cleanup=0 >&2; then
    fg_log "targeted apt-get update failed; running a full one"
    fg__apt_update_all
  fi
  return 0
}

# Runs "apt-get install -y --no-install-recommends ARGS..." with a
# policy-rc.d that forbids starting services, so a package's postinst cannot
# start (or fail to start) a system daemon. Any policy-rc.d already present is
# put back afterwards. Valkey/Redis daemons that appear during the install are
# stopped again by pid.
fg__apt_install_no_services() {
  local policy=/usr/sbin/policy-rc.d
  local backup="" rc=0
  local before after pid

  before="$(pgrep -x 'valkey-server|redis-server' 2>/dev/null | sort || true)"

  if [[ -e "$policy" ]]; then
    backup="$(mktemp /usr/sbin/policy-rc.d.flowgate.XXXXXX)"
    cp -p "$policy" "$backup"
  fi

  (
    # shellcheck disable=SC2317  # invoked through the EXIT trap
    restore() {
      if [[ -n "$backup" ]]; then
        mv -f "$backup" "$policy"
      else
        rm -f "$policy"
      fi
    }
    trap restore EXIT
    trap 'exit 130' INT TERM
    printf '#!/bin/sh\n# Flowgate: do not start services during apt-get install.\nexit 101\n' >"$policy"
    chmod 755 "$policy"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@" >&2
  ) || rc=$?

  after="$(pgrep -x 'valkey-server|redis-server' 2>/dev/null | sort || true)"
  for pid in $(comm -13 <(printf '%s\n' "$before") <(printf '%s\n' "$after")); do
    fg_log "stopping a Valkey/Redis daemon (pid $pid) that the package install started"
    kill -TERM "$pid" 2>/dev/null || true
    for _ in 1 2 3 4 5 6 7 8 9 10; do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.5
    done
  done
  return "$rc"
}

fg_install_valkey() {
  local existing
  if existing="$(fg_find_valkey_server)"; then
    fg_log "Valkey server already installed: $existing"
    return 0
  fi
  if ! fg__can_apt; then
    fg__print_valkey_install_help
    return 1
  fi

  local id codename updated=0
  id="$(fg__os_field ID)"
  codename="$(fg__os_field VERSION_CODENAME)"

  # 1. valkey-server, from <codename>-backports on Debian (Debian 12 has no
  #    valkey in main), or from the configured suites elsewhere.
  if [[ "$id" == debian && -n "$codename" ]]; then
    fg__ensure_debian_backports "$codename"
    if [[ -z "$(fg__apt_candidate valkey-server)" ]]; then
      fg__apt_update_all
      updated=1
    fi
  elif [[ -z "$(fg__apt_candidate valkey-server)" ]]; then
    fg__apt_update_all
    updated=1
  fi

  if [[ -n "$(fg__apt_candidate valkey-server)" ]]; then
    local -a pkgs=(valkey-server) target=()
    if [[ -n "$(fg__apt_candidate valkey-tools)" ]]; then
      pkgs+=(valkey-tools)
    fi
    if [[ -n "$codename" && -n "$(fg__apt_candidate_in_suite valkey-server "$codename-backports")" ]]; then
      target=(-t "$codename-backports")
    fi
    fg_log "installing ${pkgs[*]} ${target[*]:+(${target[*]})}"
    if fg__apt_install_no_services "${target[@]}" "${pkgs[@]}" && fg_find_valkey_server >/dev/null; then
      fg_log "installed $(fg_find_valkey_server)"
      return 0
    fi
    fg_log "installing valkey-server failed; trying redis-server"
  else
    fg_log "no valkey-server package is available; trying redis-server"
  fi

  # 2. redis-server from the main suite.
  if [[ -z "$(fg__apt_candidate redis-server)" && "$updated" == 0 ]]; then
    fg__apt_update_all
  fi
  if [[ -n "$(fg__apt_candidate redis-server)" ]]; then
    local -a rpkgs=(redis-server)
    if [[ -n "$(fg__apt_candidate redis-tools)" ]]; then
      rpkgs+=(redis-tools)
    fi
    fg_log "installing ${rpkgs[*]}"
    if fg__apt_install_no_services "${rpkgs[@]}" && fg_find_valkey_server >/dev/null; then
      fg_log "installed $(fg_find_valkey_server)"
      return 0
    fi
  fi

  fg_log "could not install valkey-server or redis-server with apt-get"
  fg__print_valkey_install_help
  return 1
}

fg_ensure_valkey_binary() {
  local bin
  if bin="$(fg_find_valkey_server)"; then
    fg_log "Valkey server: $bin"
    printf '%s\n' "$bin"
    return 0
  fi
  fg_install_valkey || return 1
  bin="$(fg_find_valkey_server)" || return 1
  fg_log "Valkey server: $bin"
  printf '%s\n' "$bin"
}

# ---------------------------------------------------------------------------
# Chromium (for Playwright)
# ---------------------------------------------------------------------------

fg__find_chromium() {
  if [[ -n "${CHROMIUM_PATH:-}" && -x "${CHROMIUM_PATH}" ]]; then
    printf '%s\n' "$CHROMIUM_PATH"
    return 0
  fi
  if [[ -x /usr/bin/chromium ]]; then
    printf '%s\n' /usr/bin/chromium
    return 0
  fi
  local name
  for name in chromium chromium-browser; do
    if command -v "$name" >/dev/null 2>&1; then
      command -v "$name"
      return 0
    fi
  done
  return 1
}

# Loads about:blank headless and checks the DOM comes back.
fg__chromium_works() {
  local bin="$1" profile out
  profile="$(mktemp -d "${TMPDIR:-/tmp}/flowgate-chromium.XXXXXX")"
  out="$(timeout 60 "$bin" --headless --no-sandbox --disable-gpu --disable-dev-shm-usage \
    --disable-quic --no-first-run --disable-background-networking --disable-component-update \
    --disable-sync --user-data-dir="$profile" --dump-dom about:blank 2>/dev/null || true)"
  rm -rf "$profile"
  [[ "$out" == *"<body>"* ]]
}

fg_ensure_chromium() {
  local bin
  if ! bin="$(fg__find_chromium)"; then
    if ! fg__can_apt; then
      fg_log "Chromium was not found, and it cannot be installed automatically here (that needs root and apt-get)."
      fg_log "Install it, then run the command again:"
      fg_log "  Debian/Ubuntu:  sudo apt-get update && sudo apt-get install -y chromium   (Ubuntu: chromium-browser)"
      fg_log "  Or set CHROMIUM_PATH to a Chrome/Chromium executable."
      return 1
    fi
    if [[ -z "$(fg__apt_candidate chromium)" ]]; then
      fg__apt_update_all
    fi
    fg_log "installing chromium (Debian package, --no-install-recommends)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium >&2
    bin="$(fg__find_chromium)" || {
      fg_log "chromium was installed but no chromium binary was found"
      return 1
    }
    if ! fg__chromium_works "$bin"; then
      fg_log "$bin does not run headless (--headless --dump-dom about:blank failed)"
      return 1
    fi
    fg_log "installed $("$bin" --version 2>/dev/null || echo "$bin")"
  fi
  CHROMIUM_PATH="$bin"
  export CHROMIUM_PATH
  fg_log "Chromium: $CHROMIUM_PATH"
}

# ---------------------------------------------------------------------------
# Valkey at run time
# ---------------------------------------------------------------------------

# fg_valkey_answers URL: 0 if a Valkey/Redis at URL answers PING within ~1 s.
fg_valkey_answers() {
  local url="${1:?usage: fg_valkey_answers redis://host:port}"
  if [[ -d "$FG_ROOT/node_modules/ioredis" ]]; then
    node "$FG_ROOT/scripts/valkey-ping.mjs" "$url"
    return
  fi
  # Before npm install: fall back to the CLI.
  local cli reply
  cli="$(fg_find_valkey_cli)" || {
    echo "valkey-ping: neither node_modules/ioredis nor valkey-cli is available" >&2
    return 1
  }
  reply="$(timeout 2 "$cli" -u "$url" ping 2>/dev/null || true)"
  [[ "$reply" == PONG ]]
}

# fg_start_local_valkey PORT DATADIR: a daemonized server on 127.0.0.1:PORT,
# or the one already answering there.
fg_start_local_valkey() {
  local port="${1:?usage: fg_start_local_valkey PORT DATADIR}"
  local dir="${2:?usage: fg_start_local_valkey PORT DATADIR}"
  local url="redis://127.0.0.1:$port"
  local bin

  if fg_valkey_answers "$url" 2>/dev/null; then
    fg_log "reusing the Valkey already answering at $url"
    return 0
  fi
  bin="$(fg_find_valkey_server)" || {
    fg_log "no valkey-server/redis-server on PATH"
    return 1
  }
  mkdir -p "$dir"
  dir="$(cd "$dir" && pwd)"
  rm -f "$dir/valkey.pid" # stale from an earlier run; the new daemon writes its own
  fg_log "starting $(basename "$bin") on 127.0.0.1:$port (data in $dir)"
  "$bin" --bind 127.0.0.1 --port "$port" \
    --dir "$dir" --daemonize yes \
    --pidfile "$dir/valkey.pid" --logfile "$dir/valkey.log" \
    --save "" --appendonly no >&2 || {
    fg_log "$(basename "$bin") failed to start; see $dir/valkey.log"
    return 1
  }

  local deadline=$(($(fg__now_ms) + 5000))
  while (($(fg__now_ms) < deadline)); do
    if fg_valkey_answers "$url" 2>/dev/null; then
      fg_log "Valkey is up at $url (pid $(cat "$dir/valkey.pid" 2>/dev/null || echo '?'))"
      return 0
    fi
    local pid
    pid="$(cat "$dir/valkey.pid" 2>/dev/null || true)"
    if [[ -n "$pid" ]] && ! kill -0 "$pid" 2>/dev/null; then
      break # the daemon has already exited
    fi
    sleep 0.2
  done
  fg_log "Valkey did not come up at $url; last lines of $dir/valkey.log:"
  tail -n 5 "$dir/valkey.log" 2>/dev/null | sed 's/^/[flowgate]   /' >&2 || true
  return 1
}

fg_docker_available() {
  command -v docker >/dev/null 2>&1 || return 1
  timeout 5 docker info >/dev/null 2>&1
}
