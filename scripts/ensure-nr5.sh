#!/usr/bin/env bash
# Installs a Node-RED 5 leg for the end-to-end tests into .nr5/ (inside the repository,
# gitignored), without touching the system's Node:
#   .nr5/node/       the npm package node@22  -> .nr5/node/node_modules/node/bin/node
#   .nr5/node-red/   the npm package node-red@5, installed with that Node 22 on PATH
# Idempotent and quiet when both are present. Prints nothing on success unless it installs.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dir="$root/.nr5"
NODE_SPEC="${NR5_NODE_SPEC:-22}"
NODE_RED_SPEC="${NR5_NODE_RED_SPEC:-5}"
node_bin="$dir/node/node_modules/node/bin/node"
red_pkg="$dir/node-red/node_modules/node-red/package.json"

node_ok() {
  [ -x "$node_bin" ] && "$node_bin" -e 'process.exit(/^v22\./.test(process.version) ? 0 : 1)' 2>/dev/null
}
red_ok() {
  [ -f "$red_pkg" ] && node -e 'process.exit(/^5\./.test(require(process.argv[1]).version) ? 0 : 1)' "$red_pkg"
}

if node_ok && red_ok; then exit 0; fi

npm_flags=(--no-audit --no-fund --no-save --prefer-offline --loglevel=error --no-package-lock)
start=$(date +%s)

if ! node_ok; then
  echo "ensure-nr5: installing node@$NODE_SPEC into .nr5/node ..." >&2
  rm -rf "$dir/node"
  mkdir -p "$dir/node"
  printf '{ "name": "nr5-node", "private": true }\n' >"$dir/node/package.json"
  (cd "$dir/node" && npm install "${npm_flags[@]}" "node@$NODE_SPEC" >&2)
  node_ok || { echo "ensure-nr5: $node_bin is not a working Node 22" >&2; exit 1; }
fi

if ! red_ok; then
  echo "ensure-nr5: installing node-red@$NODE_RED_SPEC into .nr5/node-red ..." >&2
  rm -rf "$dir/node-red"
  mkdir -p "$dir/node-red"
  printf '{ "name": "nr5-node-red", "private": true }\n' >"$dir/node-red/package.json"
  # Install scripts of node-red's dependencies run under the Node 22 it will run on.
  (cd "$dir/node-red" && PATH="$(dirname "$node_bin"):$PATH" npm install "${npm_flags[@]}" "node-red@$NODE_RED_SPEC" >&2)
  red_ok || { echo "ensure-nr5: node-red 5 did not install" >&2; exit 1; }
fi

echo "ensure-nr5: ready ($("$node_bin" --version), node-red $(node -p "require('$red_pkg').version")) in $(($(date +%s) - start)) s" >&2
