#!/usr/bin/env bash
# The body of server-1.sh / server-2.sh: a reflector for the peer and a client probing
# the peer's reflector, on one interface; stops both after DURATION seconds or when the
# client is done, and prints the client's report. Variables come from the caller.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${IFACE:?}" "${MY_IP:?}" "${CLIENT_IP:?}" "${PEER_IP:?}" "${COUNT:?}" "${INTERVAL:?}" "${DURATION:?}" "${OUT:?}"
BIN=${BIN:-$PWD/build/bin/ringstamp}
RUN=()
[ -n "${NETNS:-}" ] && RUN=(ip netns exec "$NETNS")
mkdir -p "$OUT"
if [ ! -x "$BIN" ]; then
  echo "probe-pair: $BIN not built; run: cmake -S . -B build && cmake --build build -j" >&2
  exit 1
fi
"${RUN[@]}" "$BIN" probe server -i "$IFACE" --ip "$MY_IP" --duration "$DURATION" >"$OUT/server.log" 2>&1 &
server=$!
trap 'kill -INT $server 2>/dev/null || true; wait $server 2>/dev/null || true' EXIT
# Give the peer's reflector a moment to come up.
sleep "${START_DELAY:-1}"
"${RUN[@]}" "$BIN" probe client -i "$IFACE" --ip "$CLIENT_IP" --server "$PEER_IP" --count "$COUNT" \
  --interval "$INTERVAL" --plot "$OUT/probe.svg" --json >"$OUT/client.jsonl"
tail -n 1 "$OUT/client.jsonl"
