#!/usr/bin/env bash
# Configures and builds kc into a build directory (default: build), warnings as errors.
#   scripts/build.sh [DIR] [cmake options...]
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build}
shift || true
cmake -S . -B "$dir" -DKC_WERROR=ON "$@" >/dev/null
cmake --build "$dir" -j"$(nproc 2>/dev/null || echo 2)" -- --no-print-directory -s
