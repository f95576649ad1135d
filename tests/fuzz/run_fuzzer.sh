#!/usr/bin/env bash
# ctest's libFuzzer run: fuzzes a copy of the seed corpus (the committed seeds
# never change) for a bounded time and keeps any crashing input.
#   run_fuzzer.sh FUZZER CORPUS_DIR ARTIFACT_DIR SECONDS
set -euo pipefail
fuzzer=$1 corpus=$2 artifacts=$3 seconds=$4
work=$(mktemp -d "${TMPDIR:-/tmp}/kc-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir "$work/corpus"
cp -r "$corpus"/. "$work/corpus/"
mkdir -p "$artifacts"
name=$(basename "$fuzzer")
set +e
"$fuzzer" -max_total_time="$seconds" -rss_limit_mb=1024 -timeout=10 -print_final_stats=1 \
    -artifact_prefix="$artifacts/$name-" "$work/corpus" 2>"$work/log"
rc=$?
set -e
tail -n 40 "$work/log"
if [ $rc -ne 0 ]; then
    echo "$name: libFuzzer failed (exit $rc); reproducer(s) in $artifacts:" >&2
    ls -1 "$artifacts" | grep "^$name-" >&2 || true
    echo "replay one with: $fuzzer <file>" >&2
fi
exit $rc
