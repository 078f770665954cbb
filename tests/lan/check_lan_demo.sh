#!/usr/bin/env bash
# check_lan_demo.sh SOURCE_DIR RINGSTAMP UDP_TIME — the README's "A small network for demos",
# run as written: `scripts/netns.sh up 4` (with a suffix of this run's own), every node pings
# every other (IPv4 and IPv6), the time service (examples/udp_time) on node 1 and a client on
# each of nodes 2-4, `ringstamp capture` and tcpdump side by side on node 1's switch port; then both files
# hold the same 12 packets (6 requests, 6 answers, 2 + 2 per client), the server counted 6
# requests and 6 answers, and after `scripts/netns.sh down` no namespace or link of the
# suffix is left. Everything is removed on exit, also on failure.
#
# The walk-through's command lines are run from a directory laid out like a checkout
# (build/bin/ringstamp, build/bin/udp_time, scripts/), and the first check is that every one
# of them is in this file, word for word: the README cannot drift from what is tested.
# Exit 77 (skipped) without root or a tool it needs.
set -euo pipefail
src=$1 ringstamp=$2 udp_time=$3

skip() {  # skip CATEGORY REASON
  echo "SKIPPED [$1]: $2"
  if [ -n "${RINGSTAMP_SKIP_LOG:-}" ]; then
    printf '%s\tnetns_lan_demo\t%s\n' "$1" "$2" >>"$RINGSTAMP_SKIP_LOG"
  fi
  exit 77
}
[ "$(id -u)" -eq 0 ] || skip root "needs root to create network namespaces"
for tool in ip bridge ping tcpdump; do
  command -v "$tool" >/dev/null || skip tool "needs $tool"
done

fail=0
bad() { echo "FAIL: $*" >&2; fail=1; }

# --- 1. The README's walk-through is what this file runs. ---------------------------------
# Its command lines: the indented lines of the section, a trailing "  # comment" dropped.
readme_lines=$(awk '/^## A small network for demos/{on=1; next} on && /^## /{on=0}
  on && /^    [^ ]/{sub(/^    /, ""); sub(/  +# .*$/, ""); print}' "$src/README.md")
if [ "$(wc -l <<<"$readme_lines")" -lt 10 ]; then
  bad "README.md: no walk-through found under '## A small network for demos'"
fi
mine=$(sed 's/^ *//' "$0")
while IFS= read -r line; do
  [ -n "$line" ] || continue
  # Word for word, at the start of a line here; only a redirect or a check may follow it.
  if ! awk -v l="$line" 'index($0, l) == 1 && (length($0) == length(l) || substr($0, length(l) + 1, 1) == " ") {found=1} END {exit !found}' <<<"$mine"; then
    bad "README.md walk-through line not run by this test: $line"
  fi
done <<<"$readme_lines"

# --- The checkout-like directory the commands run in. -------------------------------------
work=$(mktemp -d /tmp/rs-lan.XXXXXX)
mkdir -p "$work/build/bin"
ln -s "$ringstamp" "$work/build/bin/ringstamp"
ln -s "$udp_time" "$work/build/bin/udp_time"
ln -s "$src/scripts" "$work/scripts"
cd "$work"
export RINGSTAMP_NETNS_SUFFIX=t$$
suffix=$RINGSTAMP_NETNS_SUFFIX
pids=()
# shellcheck disable=SC2317  # reached through the trap
cleanup() {
  local rc=$? p
  trap - EXIT
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  "$src/scripts/netns.sh" down >/dev/null 2>&1 || true
  if [ "$rc" -ne 0 ] || [ "$fail" -ne 0 ]; then
    for f in server.log rs.log td.log clients.txt rs.txt td.txt; do
      [ -f "$f" ] && { echo "--- $f"; cat "$f"; }
    done
  fi
  cd / && rm -rf "$work"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

wait_line() {  # wait_line TEXT FILE: until FILE holds TEXT, at most 10 s
  local i
  for ((i = 0; i < 100; i++)); do
    grep -qF -- "$1" "$2" 2>/dev/null && return 0
    sleep 0.1
  done
  bad "no '$1' in $2 within 10 s"
  return 1
}
wait_exit() {  # wait_exit PID NAME: until PID has ended, at most 10 s; its exit code in $?
  local i
  for ((i = 0; i < 100; i++)); do
    kill -0 "$1" 2>/dev/null || { wait "$1"; return; }
    sleep 0.1
  done
  bad "$2 still running after 10 s"
  return 1
}

# --- 2. The network. ----------------------------------------------------------------------
eval "$(scripts/netns.sh env 4)"
scripts/netns.sh up 4 >/dev/null
for i in 1 2 3 4; do
  for j in 1 2 3 4; do
    [ "$i" = "$j" ] && continue
    ns=NS_$i ip4=IP4_$j ip6=IP6_$j
    ip netns exec "${!ns}" ping -c1 -W1 "${!ip4}" >/dev/null || bad "node $i cannot ping ${!ip4}"
    ip netns exec "${!ns}" ping -c1 -W1 "${!ip6}" >/dev/null || bad "node $i cannot ping ${!ip6}"
  done
done

# --- 3. The time service, its clients, two captures. --------------------------------------
ip netns exec "$NS_1" build/bin/udp_time server -i "$IF_1" --ip 10.99.0.101/24 2>server.log &
pids+=($!)
wait_line "serving on" server.log
ip netns exec "$NS_SW" build/bin/ringstamp capture -i "$PORT_1" -w rs.pcap -c 12 --duration 30s udp port 7007 2>rs.log &
rs_pid=$!
pids+=("$rs_pid")
ip netns exec "$NS_SW" timeout 30 tcpdump -i "$PORT_1" -w td.pcap -c 12 udp port 7007 2>td.log &
td_pid=$!
pids+=("$td_pid")
wait_line "capturing on" rs.log
wait_line "listening on" td.log
ip netns exec "$NS_2" build/bin/udp_time client -i "$IF_2" --ip 10.99.0.102/24 --server 10.99.0.101 >>clients.txt || bad "client on node 2"
ip netns exec "$NS_3" build/bin/udp_time client -i "$IF_3" --ip 10.99.0.103/24 --server 10.99.0.101 >>clients.txt || bad "client on node 3"
ip netns exec "$NS_4" build/bin/udp_time client -i "$IF_4" --ip 10.99.0.104/24 --server 10.99.0.101 >>clients.txt || bad "client on node 4"
wait_exit "$rs_pid" "ringstamp capture -c 12" || bad "ringstamp capture exited $?"
wait_exit "$td_pid" "tcpdump -c 12" || bad "tcpdump exited $?"

# Each client: the time (with the stamp it came from), then the greeting.
[ "$(grep -cE '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z [a-z]+$' clients.txt)" -eq 3 ] ||
  bad "clients.txt: want 3 times"
[ "$(grep -cx 'Hello, World!' clients.txt)" -eq 3 ] || bad "clients.txt: want 3 greetings"

# --- 4. Both captures hold the same exchange. ---------------------------------------------
tcpdump -nn -r rs.pcap >rs.txt 2>/dev/null || bad "tcpdump cannot read rs.pcap"
tcpdump -nn -r td.pcap >td.txt 2>/dev/null || bad "tcpdump cannot read td.pcap"
count() {  # count FILE FILTER: packets in FILE that FILTER takes
  tcpdump -nn -r "$1" "$2" 2>/dev/null | wc -l
}
for f in rs.pcap td.pcap; do
  [ "$(count "$f" "udp dst port 7007 and dst host 10.99.0.101")" -eq 6 ] || bad "$f: want 6 requests"
  [ "$(count "$f" "udp src port 7007 and src host 10.99.0.101")" -eq 6 ] || bad "$f: want 6 answers"
  for k in 2 3 4; do
    [ "$(count "$f" "udp and src host 10.99.0.10$k and dst port 7007")" -eq 2 ] ||
      bad "$f: want 2 requests from node $k"
    [ "$(count "$f" "udp and dst host 10.99.0.10$k and src port 7007")" -eq 2 ] ||
      bad "$f: want 2 answers to node $k"
  done
  if command -v tshark >/dev/null; then  # a second reader of the same files
    [ "$(tshark -r "$f" -Y 'udp.dstport == 7007' 2>/dev/null | wc -l)" -eq 6 ] ||
      bad "$f: tshark does not count 6 requests"
    [ "$(tshark -r "$f" -Y 'udp.srcport == 7007' 2>/dev/null | wc -l)" -eq 6 ] ||
      bad "$f: tshark does not count 6 answers"
  fi
done
# Byte for byte the same frames, in the same order (the stamps aside).
cmp -s <(tcpdump -nn -t -x -r rs.pcap 2>/dev/null) <(tcpdump -nn -t -x -r td.pcap 2>/dev/null) ||
  bad "rs.pcap and td.pcap differ: $(diff <(tcpdump -nn -t -r rs.pcap 2>/dev/null) <(tcpdump -nn -t -r td.pcap 2>/dev/null) | head -5)"

# --- 5. The server's own count, then down. ------------------------------------------------
kill %1; wait %1; cat server.log >/dev/null
pids=("${pids[@]:1}")
grep -qF "udp_time: 6 requests, 6 answers sent, 0 not sent" server.log ||
  bad "server.log: want 6 requests and 6 answers"
scripts/netns.sh down
left_ns=$(ip netns list | awk '{print $1}' | grep -E -- "-$suffix\$" || true)
[ -z "$left_ns" ] || bad "namespaces left after down: $left_ns"
left_links=$(ip -o link show | grep -F -- "$suffix" || true)
[ -z "$left_links" ] || bad "links left after down: $left_links"

[ "$fail" -eq 0 ] && echo "netns_lan_demo: 4 nodes, 24 pings, 3 clients, 12 packets in both captures, down clean"
exit "$fail"
