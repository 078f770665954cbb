#!/usr/bin/env bash
# The main job on the embedded default: two network namespaces on this machine joined by a
# veth pair, a STAMP reflector (`ringstamp probe server`) in one and a probe client in the
# other for a few seconds; per-probe lines, the summary and the plot's path. Everything it
# makes is removed on exit, also on failure or Ctrl-C.
#
#   sudo scripts/demo.sh            # bootstrap, build, run
#   DEMO_COUNT=500 DEMO_INTERVAL=5ms sudo scripts/demo.sh
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
  echo "demo.sh: run as root (sudo scripts/demo.sh): it installs packages and creates namespaces" >&2
  exit 1
fi

scripts/bootstrap.sh
echo "== build"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" --target ringstamp >/dev/null
BIN=$PWD/build/bin/ringstamp

export RINGSTAMP_NETNS_SUFFIX=demo$$  # scripts/netns.sh names everything with it
eval "$(scripts/netns.sh env)"
OUT=${DEMO_OUT:-$PWD/demo-out}
mkdir -p "$OUT"
SERVER_PID=
cleanup() {
  [ -n "$SERVER_PID" ] && kill -INT "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null || true
  scripts/netns.sh down
}
trap cleanup EXIT INT TERM

echo "== testbed: two namespaces joined by a veth pair"
scripts/netns.sh up | sed 's/^/   /'

COUNT=${DEMO_COUNT:-200}
INTERVAL=${DEMO_INTERVAL:-10ms}
# The reflector answers for an address the namespace's kernel does not own: ringstamp
# answers ARP/NDP and ping for it itself, no OS interface or address needed.
REFLECTOR_IP=10.99.0.10
CLIENT_IP=10.99.0.20

echo "== reflector in $NS_B ($REFLECTOR_IP on $IF_B), client in $NS_A ($CLIENT_IP on $IF_A)"
ip netns exec "$NS_B" "$BIN" probe server -i "$IF_B" --ip "$REFLECTOR_IP" --duration 60 \
  >"$OUT/server.log" 2>&1 &
SERVER_PID=$!
sleep 0.5

ip netns exec "$NS_A" "$BIN" probe client -i "$IF_A" --ip "$CLIENT_IP" --server "$REFLECTOR_IP" \
  --count "$COUNT" --interval "$INTERVAL" --clocks-synchronised --plot "$OUT/probe.svg" | tee "$OUT/client.txt"

kill -INT "$SERVER_PID" 2>/dev/null || true
wait "$SERVER_PID" 2>/dev/null || true
SERVER_PID=
echo "== reflector"
sed 's/^/   /' "$OUT/server.log"
echo "== plot: $OUT/probe.svg (open it in a browser)"
