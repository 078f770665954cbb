#!/usr/bin/env bash
# check_probe_rss.sh BIN SOURCE_DIR WARM END MAX_SECONDS — a continuous probe run keeps flat
# memory (issue 14: no per-probe state kept for the summary or the plot). A reflector and a
# client at 1 ms intervals with --report-every 1s run until stopped between two namespaces
# of scripts/netns.sh; the client's and the reflector's VmRSS are read once WARM replies
# were counted in the client's interval lines (past the point where the summary's
# distributions become histograms) and again at END replies; neither may have grown by more
# than 384 KiB. Progress is counted in replies, not seconds, so a slow machine takes longer
# instead of failing; MAX_SECONDS bounds the whole run. ctest runs a short version (probe_rss)
# and, only when asked for by its label, ten minutes (probe_rss_soak, -L soak).
# Exit 77 (skipped) without root. Everything it made is removed on any exit.
set -euo pipefail
bin=$1 src=$2 warm=$3 end=$4 max_s=$5

skip() {
  echo "SKIPPED [$1]: $2"
  [ -n "${RINGSTAMP_SKIP_LOG:-}" ] && printf '%s\tprobe_rss\t%s\n' "$1" "$2" >>"$RINGSTAMP_SKIP_LOG"
  exit 77
}
[ "$(id -u)" -eq 0 ] || skip root "needs root to create network namespaces"

export RINGSTAMP_NETNS_SUFFIX=rss$$
out=$(mktemp -d /tmp/rs-probe-rss.XXXXXX)
server= client=
cleanup() {
  local rc=$?
  trap - EXIT
  [ -n "$client" ] && kill -INT "$client" 2>/dev/null && wait "$client" 2>/dev/null
  [ -n "$server" ] && kill -INT "$server" 2>/dev/null && wait "$server" 2>/dev/null
  "$src/scripts/netns.sh" down >/dev/null 2>&1 || true
  if [ "$rc" -ne 0 ]; then
    for f in "$out"/*; do echo "--- $f (last lines)"; tail -3 "$f"; done
  fi
  rm -rf "$out"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP
eval "$("$src/scripts/netns.sh" env)"
"$src/scripts/netns.sh" up >/dev/null

# `ip netns exec` execs ringstamp, so $! is ringstamp's pid: its /proc entry and signals.
ip netns exec "$NS_B" "$bin" probe server -i "$IF_B" --ip 10.99.0.12 --report-every 1s --json \
  >"$out/server.json" 2>"$out/server.err" &
server=$!
for _ in $(seq 200); do grep -q "STAMP reflector on" "$out/server.err" && break; sleep 0.1; done
grep -q "STAMP reflector on" "$out/server.err" || { echo "FAIL: the reflector did not start" >&2; exit 1; }
ip netns exec "$NS_A" "$bin" probe client -i "$IF_A" --ip 10.99.0.21 --server 10.99.0.12 -i 1ms \
  --report-every 1s -q --json >"$out/client.json" 2>"$out/client.err" &
client=$!

received() {  # replies counted in the client's interval lines so far
  grep '"type":"interval"' "$out/client.json" | grep -o '"received":[0-9]*' |
    awk -F: '{s += $2} END {print s + 0}'
}
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }

client_warm= server_warm= started=$SECONDS
while [ $((SECONDS - started)) -lt "$max_s" ]; do
  sleep 1
  kill -0 "$client" 2>/dev/null || { echo "FAIL: the client ended early" >&2; exit 1; }
  n=$(received)
  if [ -z "$client_warm" ] && [ "$n" -ge "$warm" ]; then
    client_warm=$(rss_kb "$client") server_warm=$(rss_kb "$server")
    echo "after $n replies: client VmRSS ${client_warm} kB, reflector ${server_warm} kB"
  fi
  [ "$n" -ge "$end" ] && break
done
n=$(received)
if [ "$n" -lt "$end" ] || [ -z "$client_warm" ]; then
  echo "FAIL: $n replies in ${max_s} s, want $end (is the machine that loaded?)" >&2
  exit 1
fi
client_end=$(rss_kb "$client") server_end=$(rss_kb "$server")
echo "after $n replies: client VmRSS ${client_end} kB, reflector ${server_end} kB"
kill -INT "$client"
wait "$client" || { echo "FAIL: the client exited $?" >&2; client=; exit 1; }
client=
grep -q '"type":"summary"' "$out/client.json" || { echo "FAIL: no summary line" >&2; exit 1; }
fail=0
# What stays flat, by construction: every distribution of the summary past 8,192 samples is a
# histogram ("exact": false). An exact one keeps 8 bytes a reply: too slow a growth for this
# window's RSS to show, but hours of probing would.
if ! /usr/bin/python3 - "$out/client.json" <<'PY'
import json, sys
summary = [json.loads(l) for l in open(sys.argv[1]) if '"type":"summary"' in l][-1]
grown = [k for k, v in summary.items()
         if isinstance(v, dict) and v.get("exact") is True and v.get("count", 0) > 8192]
if grown:
    print("FAIL: the summary keeps every sample of " + ", ".join(sorted(grown)), file=sys.stderr)
    sys.exit(1)
PY
then
  fail=1
fi
if [ $((client_end - client_warm)) -gt 384 ]; then
  echo "FAIL: the client grew by $((client_end - client_warm)) kB from $warm to $n replies" >&2
  fail=1
fi
if [ $((server_end - server_warm)) -gt 384 ]; then
  echo "FAIL: the reflector grew by $((server_end - server_warm)) kB from $warm to $n replies" >&2
  fail=1
fi
[ "$fail" -eq 0 ] && echo "probe_rss: flat from $warm to $n replies (client $((client_end - client_warm)) kB, reflector $((server_end - server_warm)) kB)"
exit "$fail"
