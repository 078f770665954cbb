#!/bin/bash
# check_json_lines.sh BIN SOURCE_DIR — runs every ringstamp command with --json between two
# namespaces of its own (probe server and client in both modes, a link outage, capture,
# gen with TX stamps, info), then checks every line printed against docs/json-schema.json
# and docs/json.md (tests/docs/check_json_lines.py). Needs root. Every wait is bounded; the
# namespaces and files go away on any exit.
set -euo pipefail
bin=$1 src=$2
export RINGSTAMP_NETNS_SUFFIX=jl$$  # the two namespaces' names (scripts/netns.sh)
eval "$("$src/scripts/netns.sh" env)"
na=$NS_A nb=$NS_B ia=$IF_A ib=$IF_B
out=$(mktemp -d /tmp/rs-json-lines.XXXXXX)
cleanup() {
  ip netns pids "$na" 2>/dev/null | xargs -r kill 2>/dev/null || true
  ip netns pids "$nb" 2>/dev/null | xargs -r kill 2>/dev/null || true
  "$src/scripts/netns.sh" down >/dev/null 2>&1 || true
  rm -rf "$out"
}
trap cleanup EXIT
in_a() { ip netns exec "$na" "$@"; }
in_b() { ip netns exec "$nb" "$@"; }
wait_for() {  # wait_for FILE TEXT: up to 20 s
  for _ in $(seq 200); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
  echo "timed out waiting for '$2' in $1:" >&2
  cat "$1" >&2
  return 1
}

"$src/scripts/netns.sh" up >/dev/null  # $IP4_A 10.99.0.1, $IP4_B 10.99.0.2 in the OS

# probe: a reflector, a client in each mode (one with labels and synchronised clocks).
ip netns exec "$nb" "$bin" probe server -i "$ib" --ip 10.99.0.12/24 --duration 60 --json --label role=reflector \
  --report-every 200ms \
  >"$out/server.json" 2>"$out/server.err" &
server=$!
wait_for "$out/server.err" "STAMP reflector on"
in_a "$bin" probe client -i "$ia" --ip 10.99.0.21/24 --server 10.99.0.12 -c 5 -i 10ms --json \
  --label site=lab --label rack=r4 >"$out/client.json"
in_a "$bin" probe client -i "$ia" --ip 10.99.0.21/24 --server 10.99.0.12 -c 5 -i 10ms --json \
  --clocks-synchronised >"$out/client-sync.json"
# Several targets: each line names its own, with the targets file's labels.
printf '10.99.0.12 rack=r1\n10.99.0.12:863 rack=r2 # nobody answers there\n' >"$out/targets.txt"
in_a "$bin" probe client -i "$ia" --ip 10.99.0.21/24 --targets "$out/targets.txt" -c 3 -i 10ms \
  --timeout 200ms --json --label site=lab >"$out/client-targets.json" && rc=0 || rc=$?
[ "$rc" -eq 1 ] || { echo "two targets, one unanswered: exit $rc, want 1" >&2; exit 1; }
[ "$(grep -c '"type":"summary"' "$out/client-targets.json")" -eq 2 ] ||
  { echo "two targets: want two summary lines" >&2; exit 1; }
in_a "$bin" probe client -i "$ia" --ip 10.99.0.21/24 --server 10.99.0.2 --mode icmp -c 3 \
  -i 10ms --json >"$out/client-icmp.json"
in_a "$bin" probe client -i "$ia" --ip 10.99.0.21/24 --server 10.99.0.12 --duration 1 -i 10ms \
  --report-every 200ms -q --json >"$out/client-report.json"
in_a "$bin" probe client -i "$ia" --ip 10.99.0.21/24 --server 10.99.0.2 --mode icmp \
  --duration 0.5 -i 10ms --report-every 200ms -q --json >"$out/client-icmp-report.json"
# A link outage in the middle of a run: the client prints link lines. (Background jobs run
# `ip netns exec` itself, which execs ringstamp, so $! is ringstamp and takes the signal.)
ip netns exec "$na" "$bin" probe client -i "$ia" --ip 10.99.0.21/24 --server 10.99.0.12 -c 40 -i 20ms --json \
  >"$out/client-link.json" 2>/dev/null &
client=$!
sleep 0.3
ip -n "$na" link set "$ia" down
sleep 0.4
ip -n "$na" link set "$ia" up
timeout 30 tail --pid="$client" -f /dev/null
wait "$client"
kill -INT "$server"
wait "$server"

# capture on B while gen sends from A.
ip netns exec "$nb" "$bin" capture -i "$ib" -c 5 --duration 30 -w "$out/cap.pcap" --json udp \
  >"$out/capture.json" 2>"$out/capture.err" &
cap=$!
wait_for "$out/capture.err" "capturing on"
in_a "$bin" gen -i "$ia" --dst-mac 02:72:73:00:00:02 --src-ip 10.99.0.1 --dst-ip 10.99.0.2 \
  -c 5 --rate 1000 --tx-stamps --json >"$out/gen.json"
wait "$cap"

in_a "$bin" info -i "$ia" --json >"$out/info.json"

grep -q '"type":"link"' "$out/client-link.json" || { echo "no link line after the outage" >&2; exit 1; }
/usr/bin/python3 "$src/tests/docs/check_json_lines.py" "$src/docs/json-schema.json" \
  "$src/docs/json.md" "$out"/*.json
