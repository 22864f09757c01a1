#!/usr/bin/env bash
# Build the VS Code extension into editors/vscode/hoody-<version>.vsix:
# npm ci, TypeScript type-check, esbuild bundle (vscode-languageclient inside, `vscode` external),
# vsce package. Idempotent: when nothing that goes into the package changed since the last build,
# it only prints the path. Prints the .vsix path on its last line.
#   scripts/build_vsix.sh [--force]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
EXT=$ROOT/editors/vscode
cd "$EXT"
VERSION=$(node -p "require('./package.json').version")
VSIX=$EXT/hoody-$VERSION.vsix

inputs_hash() {
  # everything that ends up in the package or decides how it is built
  find src -type f -name '*.ts' -print0 | sort -z | xargs -0 cat \
    | cat - package.json package-lock.json tsconfig.json README.md LICENSE .vscodeignore "$ROOT/scripts/build_vsix.sh" \
    | sha256sum | cut -d' ' -f1
}
STAMP=$EXT/out/.build-stamp
HASH=$(inputs_hash)
if [ "${1:-}" != "--force" ] && [ -f "$VSIX" ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$HASH" ]; then
  echo "$VSIX"
  exit 0
fi

{
  LOCK_HASH=$(sha256sum package-lock.json | cut -d' ' -f1)
  if [ ! -f node_modules/.hoody-lock ] || [ "$(cat node_modules/.hoody-lock)" != "$LOCK_HASH" ]; then
    # esbuild's binary comes from its optional platform package; no install script is needed
    npm ci --no-audit --no-fund --ignore-scripts
    echo "$LOCK_HASH" > node_modules/.hoody-lock
  fi
  npx --no-install tsc -p . --noEmit
  rm -rf out
  npx --no-install esbuild src/extension.ts --bundle --platform=node --format=cjs --target=node20 \
    --external:vscode --minify --outfile=out/extension.js --log-level=warning
  rm -f "$VSIX"
  # the bundle is self-contained: node_modules stays out of the package
  npx --no-install vsce package --no-dependencies --allow-missing-repository --out "$VSIX"
} >&2
echo "$HASH" > "$STAMP"
echo "$VSIX"
