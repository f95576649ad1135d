#!/usr/bin/env bash
# The whole test suite: installs what it needs, then builds and runs every test
# twice, in a normal build (build/) and under AddressSanitizer +
# UndefinedBehaviorSanitizer (build-asan/), then runs the fuzz targets briefly
# with libFuzzer (build-fuzz/). Exits non-zero on any failure.
#   scripts/test.sh           everything
#   scripts/test.sh quick     the normal build only
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh test
jobs=$(nproc 2>/dev/null || echo 2)
failed=0

run_suite() { # DIR LABEL [cmake options...]
    local dir=$1 label=$2
    shift 2
    echo "== $label: build ($dir)"
    scripts/build.sh "$dir" "$@"
    echo "== $label: test"
    ctest --test-dir "$dir" --output-on-failure -j"$jobs" || failed=1
}

run_suite build "normal build"
if [ "${1:-}" != quick ]; then
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
        run_suite build-asan "ASan+UBSan build" -DKC_SANITIZE=ON -DKC_BUILD_BENCH=OFF
    CC=clang run_suite build-fuzz "libFuzzer" -DKC_FUZZ=ON -DKC_BUILD_BENCH=OFF
fi
if [ $failed -ne 0 ]; then
    echo "kc: test suite FAILED" >&2
    exit 1
fi
echo "kc: test suite passed"
