#!/usr/bin/env bash
# kc's main job, start to finish on this machine: installs what it needs,
# builds, runs the codec's self-check, then starts kc-broker with its data
# under build/demo-data, produces a few records to it, consumes them back and
# shows the cluster as kc's client sees it (kc metadata). kc's own tools are
# the clients; kcat, a client nobody here wrote, reads the records once more.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh demo
scripts/build.sh build
build/bin/kc selfcheck

data=build/demo-data
mkdir -p "$data"
out=$(mktemp)
build/bin/kc-broker config/server.properties --override listeners=PLAINTEXT://127.0.0.1:0 \
    --override "log.dirs=$data" >"$out" 2>build/demo-broker.log &
broker=$!
trap 'kill $broker 2>/dev/null; wait $broker 2>/dev/null; rm -f "$out"' EXIT
for _ in $(seq 100); do
    grep -q '^listening on ' "$out" && break
    kill -0 $broker 2>/dev/null || { cat build/demo-broker.log >&2; exit 1; }
    sleep 0.1
done
addr=$(sed -n 's/^listening on //p' "$out" | head -n 1)
[ -n "$addr" ] || { echo "kc-broker did not start; see build/demo-broker.log" >&2; exit 1; }
echo "kc-broker listening on $addr (data in $data, log in build/demo-broker.log)"

topic=demo-$(date +%s)
printf 'order-1:first\norder-2:second\norder-3:third\n' |
    build/bin/kc produce -b "$addr" -t "$topic" -K : -X compression.type=lz4
echo "kc produce wrote 3 records to $topic (created on first use); kc consume reads them back:"
build/bin/kc consume -b "$addr" -t "$topic" -o beginning -e -f '  partition %p offset %o key %k value %s\n'
echo "and kcat reads the same:"
kcat -C -b "$addr" -t "$topic" -e -q -f '  partition %p offset %o key %k value %s\n'
echo "what kc's client sees of the cluster:"
build/bin/kc metadata -b "$addr" -t "$topic"

kill -TERM $broker
wait $broker
trap - EXIT
rm -f "$out"
echo "kc-broker stopped cleanly"
