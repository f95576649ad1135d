#!/usr/bin/env bash
# Installs the Debian packages kc needs that are missing (as root, or with sudo).
#   scripts/deps.sh          build dependencies
#   scripts/deps.sh demo     + kcat, the client of the demo
#   scripts/deps.sh test     + what the test suite uses (clang for fuzzing, third-party peers)
set -euo pipefail

build_pkgs=(gcc make cmake pkg-config python3 zlib1g-dev libsnappy-dev liblz4-dev libzstd-dev
            libssl-dev libevent-dev libcmocka-dev)
test_pkgs=(clang libclang-rt-14-dev librdkafka-dev kcat python3-kafka python3-confluent-kafka
           python3-snappy python3-lz4 python3-zstandard)

want=("${build_pkgs[@]}")
[ "${1:-}" = demo ] && want+=(kcat)
if [ "${1:-}" = test ]; then
    want+=("${test_pkgs[@]}")
    # kafkajs runs on Node.js; a machine may have it from elsewhere (with npm inside).
    command -v npm >/dev/null 2>&1 || want+=(nodejs npm)
fi

missing=()
for p in "${want[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "kc: installing Debian packages: ${missing[*]}" >&2
sudo=()
[ "$(id -u)" -eq 0 ] || sudo=(sudo)
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
