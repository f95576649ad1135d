#!/usr/bin/env bash
# Installs a kc build into a temporary prefix, then builds and runs hello.c
# against the installed copy three ways (pkg-config; find_package with kc::kc;
# with kc::kc_static) and checks the shared libraries' ABI hygiene; then the
# mock example through pkg-config kc-mock.
#   install_test.sh BUILD_DIR SOURCE_DIR CC LIBDIR VERSION [EXTRA_CFLAGS]
set -euo pipefail
build=$1 src=$2 cc=$3 libdir=$4 version=$5 extra_cflags=${6:-}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/kc-install.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix
fail() { echo "install test: $*" >&2; exit 1; }

cmake --install "$build" --prefix "$prefix" >"$tmp/install.log" || {
    cat "$tmp/install.log"; fail "cmake --install failed"; }
lib=$prefix/$libdir
want="kc $version UNSUPPORTED_VERSION"

check_run() { # NAME BINARY
    local out
    out=$(LD_LIBRARY_PATH=$lib "$2") || fail "$1: exited $?"
    [ "$out" = "$want" ] || fail "$1: printed '$out', expected '$want'"
    echo "ok: $1 -> $out"
}

# 1. pkg-config, with the .pc found only under the temporary prefix.
export PKG_CONFIG_PATH=$lib/pkgconfig
unset PKG_CONFIG_LIBDIR || true
flags=$(pkg-config --cflags --libs kc) || fail "pkg-config does not find kc"
case $flags in *"$prefix"*) ;; *) fail "kc.pc does not point into the prefix: $flags" ;; esac
# shellcheck disable=SC2086 # flags are a word list on purpose
"$cc" $extra_cflags -o "$tmp/hello_pc" "$src/hello.c" $flags || fail "pkg-config build failed"
check_run "pkg-config" "$tmp/hello_pc"
ldd_out=$(LD_LIBRARY_PATH=$lib ldd "$tmp/hello_pc")
grep -q "$lib/libkc.so" <<<"$ldd_out" || fail "hello_pc does not use the installed libkc: $ldd_out"

# 2. find_package(kc): kc::kc and kc::kc_static.
cmake -S "$src/consumer" -B "$tmp/consumer" -DCMAKE_PREFIX_PATH="$prefix" \
    -DCMAKE_C_COMPILER="$cc" -DCMAKE_C_FLAGS="$extra_cflags" \
    -DKC_HELLO_SRC="$src/hello.c" >"$tmp/consumer.log" 2>&1 || {
    cat "$tmp/consumer.log"; fail "find_package(kc) project did not configure"; }
cmake --build "$tmp/consumer" >>"$tmp/consumer.log" 2>&1 || {
    cat "$tmp/consumer.log"; fail "find_package(kc) project did not build"; }
check_run "find_package kc::kc" "$tmp/consumer/hello_shared"
check_run "find_package kc::kc_static" "$tmp/consumer/hello_static"
if readelf -d "$tmp/consumer/hello_static" | grep -q 'NEEDED.*libkc'; then
    fail "hello_static links libkc dynamically"
fi

# 3. The shared library: a SONAME, and nothing but kc_ symbols exported.
so=$(readlink -f "$lib/libkc.so")
soname=$(readelf -d "$so" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[ -n "$soname" ] || fail "libkc.so has no SONAME"
[ -e "$lib/$soname" ] || fail "SONAME $soname is not installed next to libkc.so"
echo "ok: SONAME $soname"
bad=$(nm -D --defined-only "$so" | awk '$2 ~ /^[A-Z]$/ && $3 !~ /^kc_/ {print $3}')
[ -z "$bad" ] || fail "libkc.so exports non-kc_ symbols: $(echo $bad)"
echo "ok: exports $(nm -D --defined-only "$so" | awk '$2 ~ /^[A-Z]$/' | wc -l) symbols, all kc_"

# 4. libkc-mock: only kc_mock_ symbols exported (its broker, codec and
# utility copies stay private), and the mock example built through
# pkg-config kc-mock and run against the installed libraries.
mso=$(readlink -f "$lib/libkc-mock.so")
bad=$(nm -D --defined-only "$mso" | awk '$2 ~ /^[A-Z]$/ && $3 !~ /^kc_mock_/ {print $3}')
[ -z "$bad" ] || fail "libkc-mock.so exports non-kc_mock_ symbols: $(echo $bad)"
echo "ok: libkc-mock exports $(nm -D --defined-only "$mso" | awk '$2 ~ /^[A-Z]$/' | wc -l) symbols, all kc_mock_"
mflags=$(pkg-config --cflags --libs kc kc-mock) || fail "pkg-config does not find kc-mock"
# shellcheck disable=SC2086
"$cc" $extra_cflags -o "$tmp/mock_app" "$src/../../examples/mock_test_app.c" $mflags ||
    fail "mock example build through pkg-config failed"
out=$(LD_LIBRARY_PATH=$lib "$tmp/mock_app" 2>&1) || fail "mock example: exited $?: $out"
echo "ok: mock example -> ${out##*$'\n'}"

# Only the public headers are installed.
extra=$(cd "$prefix/include" && find . -type f ! -path './kc/*.h')
[ -z "$extra" ] || fail "unexpected installed headers: $extra"
echo "install test: passed"
