#!/bin/sh
# Fetch the benchmark corpora: sources of pure-Python packages, as source distributions from the package
# registry, unpacked into a cache folder (default ~/.cache/hoody-lsp-corpora; first argument overrides).
# Prints the unpacked source roots, one per line, for ctxbench_run.py and bench_*.py.
set -eu
CACHE="${1:-${HOODY_CORPORA:-$HOME/.cache/hoody-lsp-corpora}}"
PY="${PYTHON:-python3}"
mkdir -p "$CACHE/sdist"
# name==version; pinned so figures can be reproduced
PACKAGES="click==8.1.8 rich==13.9.4 attrs==24.2.0 flask==3.1.0 httpx==0.27.2 requests==2.32.3 jinja2==3.1.4 werkzeug==3.1.3"
for spec in $PACKAGES; do
  name="${spec%%==*}"
  ver="${spec##*==}"
  dest="$CACHE/$name-$ver"
  if [ ! -d "$dest" ]; then
    "$PY" -m pip download --quiet --no-deps --no-binary :all: "$spec" -d "$CACHE/sdist" >&2
    archive=$(ls "$CACHE/sdist"/* | grep -i "/$name-$ver\.\(tar\.gz\|zip\)$" | head -n 1 || true)
    if [ -z "$archive" ]; then
      archive=$(ls "$CACHE/sdist"/* | grep -i "$ver" | grep -i "$(echo "$name" | cut -c1-4)" | head -n 1)
    fi
    tmp="$CACHE/.unpack-$name"
    rm -rf "$tmp" && mkdir -p "$tmp"
    case "$archive" in
      *.zip) "$PY" -m zipfile -e "$archive" "$tmp" ;;
      *) tar -xzf "$archive" -C "$tmp" ;;
    esac
    # one top folder per archive; its name must be unique for ctxbench
    mv "$tmp"/* "$dest"
    rm -rf "$tmp"
  fi
  echo "$dest"
done
