#!/usr/bin/env bash
# kc's main job, start to finish on this machine: installs what it needs,
# builds, and runs the codec's self-check (every message and version encoded and
# decoded, record batches with every codec).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
scripts/build.sh build
build/bin/kc selfcheck
