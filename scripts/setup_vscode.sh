#!/usr/bin/env bash
# Install what the VS Code end-to-end test needs: Debian's chromium and ripgrep, and
# code-server 4.100.3 (a real VS Code 1.100.3: server, web workbench, Node extension host)
# into a cache folder. Idempotent: a second run only checks a marker and returns.
#   scripts/setup_vscode.sh            -> prints the code-server folder on its last line
# Cache folder: ${HOODY_E2E_CACHE:-$HOME/.cache/hoody-lsp-e2e}/code-server
#
# Why the manual steps: code-server's postinstall refuses to run as root and then runs
# `npm install` in lib/vscode, whose @vscode/ripgrep postinstall downloads rg from the
# internet. So: install with --ignore-scripts, rebuild only the native modules, take rg
# from Debian. code-server >= 4.102 needs Node 22; 4.100.3 is the newest for Node 20.
set -euo pipefail
VERSION=4.100.3
CACHE=${HOODY_E2E_CACHE:-$HOME/.cache/hoody-lsp-e2e}
DIR=$CACHE/code-server
MARKER=$DIR/.installed-$VERSION

need_apt=()
command -v rg >/dev/null || need_apt+=(ripgrep)
command -v chromium >/dev/null || need_apt+=(chromium)
if [ ${#need_apt[@]} -gt 0 ]; then
  SUDO=; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  echo "setup_vscode: installing ${need_apt[*]} with apt" >&2
  log=$(mktemp)
  if ! { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
         $SUDO apt-get install -y -qq -o=Dpkg::Use-Pty=0 "${need_apt[@]}"; } >"$log" 2>&1; then
    cat "$log" >&2; rm -f "$log"; exit 1
  fi
  rm -f "$log"
fi

if [ -f "$MARKER" ]; then
  echo "$DIR"
  exit 0
fi

echo "setup_vscode: installing code-server $VERSION into $DIR (a few minutes, once)" >&2
mkdir -p "$DIR"
cd "$DIR"
[ -f package.json ] || npm init -y >/dev/null
{
  npm install --ignore-scripts --no-audit --no-fund "code-server@$VERSION"
  npm rebuild argon2                         # node-pre-gyp falls back to a local build
  CS=node_modules/code-server/lib/vscode
  ( cd "$CS" && npm install --omit=dev --ignore-scripts --no-audit --no-fund \
    && { npm_config_yes=true npm rebuild @vscode/spdlog native-watchdog @vscode/deviceid node-pty || true; } )
  # the native modules the server cannot start without
  ls "$CS/node_modules/@vscode/spdlog/build/Release/spdlog.node" \
     "$CS/node_modules/node-pty/build/Release/pty.node" >/dev/null
  mkdir -p "$CS/node_modules/@vscode/ripgrep/bin"
  ln -sf "$(command -v rg)" "$CS/node_modules/@vscode/ripgrep/bin/rg"
  ln -sfn node_modules "$CS/node_modules.asar"
  ( cd "$CS/bin/remote-cli" && ln -sf code-linux.sh code-server )
  ( cd "$CS/bin/helpers" && ln -sf browser-linux.sh browser.sh )
  ( cd "$CS/extensions" && npm install --omit=dev --ignore-scripts --no-audit --no-fund )
} >&2
mkdir -p "$DIR/home"
# the first run also logs that it wrote a default config: keep only the version line
if ! HOME="$DIR/home" node node_modules/code-server/out/node/entry.js --version 2>&1 | grep -q "^$VERSION "; then
  echo "setup_vscode: code-server $VERSION does not start" >&2
  exit 1
fi
touch "$MARKER"
echo "$DIR"
