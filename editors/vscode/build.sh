#!/usr/bin/env bash
# Build the .vsix from this folder; the real work is in scripts/build_vsix.sh.
exec "$(dirname "$0")/../../scripts/build_vsix.sh" "$@"
