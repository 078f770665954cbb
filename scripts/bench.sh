#!/usr/bin/env bash
# End-to-end benchmarks: ringstamp against the tools people would use instead, in ONE run,
# on a veth pair between two namespaces (scripts/netns.sh), with the same CPU pinning for
# both sides of every comparison (sender on CPU 0, receiver on CPU 1 unless said otherwise).
#
#   sudo scripts/bench.sh                    # full run, about 10 minutes
#   sudo scripts/bench.sh --quick            # about 2 minutes, short durations
#   sudo scripts/bench.sh --json out.json    # the same table as JSON as well
#   sudo scripts/bench.sh --only tx,rx --logs /tmp/bench-logs
#
# Sections (docs/benchmarks.md explains each figure and how to read it):
#   tx       frames/s reaching the peer (its veth rx_packets): ringstamp gen (1 worker, CPU 0;
#            2 workers, CPUs 0-1) against trafgen -P 1 (qdisc bypass, same 60-byte UDP frame);
#            each pass also prints the sender's CPU ns per frame (peer's receive path included)
#   rx       receivers on CPU 1 while trafgen sends 200k frames/s from CPU 0: CPU ns per frame
#            (/proc, setup excluded) and kernel drops for tcpdump, netsniff-ng and ringstamp
#            capture; then drops at trafgen's full rate
#   latency  sockperf UDP ping-pong against ringstamp probe (its userspace RTT, like for like:
#            back to back against back to back, every 1 ms against every 1 ms; network RTT
#            and the reflector's t3 error beside it), one CPU and split
#   micro    every <build dir>/bin/*_bench (Google Benchmark), short min time, relay_bench
#            included (PacketRelay dispatch at 1 / 1,000 / 100,000 endpoints); rudp_echo_bench
#            runs in the echo section instead when that is selected too
#   echo     rudp_echo_bench: UDP echo server CPU per echo, RUDPConn (io_uring wait, busy poll)
#            vs a kernel socket (recvmmsg/sendmmsg), 64 B and 1400 B, same batched clients; then
#            sockperf throughput (CPU 0, ns_a) into sockperf server vs bench/rudp_sink (a
#            RUDPConn on an address the kernel does not own), CPU 1 in ns_b: receiver CPU per
#            datagram over the window, received/sent counts
# Ratios are ringstamp / peer measured minutes apart in this run; targets from
# /work/shared/TARGETS.md. Benchmarks never fail the run: a MISS is a finding, a missing
# peer tool prints "missing: install X" and its rows say n/a.
# Robustness: every process runs under timeout(1); on exit (also Ctrl-C) every process this
# script started is stopped and the namespaces it made are deleted.
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=scripts/bench/lib.sh
source "$ROOT/scripts/bench/lib.sh"

usage() {
  sed -n '2,/^set -uo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'
  cat <<USAGE
flags:
  --quick            short durations, one pass (about 2 minutes)
  --json FILE        also write the table (and the raw measurements) as JSON to FILE
  --build-dir DIR    build tree to use/build (default: $ROOT/build-bench, RelWithDebInfo)
  --no-build         use the binaries already in the build tree
  --only LIST        comma-separated sections: tx,rx,latency,micro,echo (default: all)
  --logs DIR         keep every tool's raw output in DIR (default: removed on exit)
USAGE
}

QUICK=0
JSON_OUT=
BUILD=$ROOT/build-bench
DO_BUILD=1
ONLY=tx,rx,latency,micro,echo
LOGS=
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) QUICK=1 ;;
    --json) JSON_OUT=${2:?--json needs a file}; shift ;;
    --build-dir) BUILD=${2:?--build-dir needs a directory}; shift ;;
    --no-build) DO_BUILD=0 ;;
    --only) ONLY=${2:?--only needs a list}; shift ;;
    --logs) LOGS=${2:?--logs needs a directory}; shift ;;
    -h | --help) usage; exit 0 ;;
    *) echo "bench.sh: unknown flag $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
for s in ${ONLY//,/ }; do
  case "$s" in tx | rx | latency | micro | echo) ;; *)
    echo "bench.sh: --only: unknown section '$s' (tx, rx, latency, micro, echo)" >&2
    exit 2 ;;
  esac
done
want() { [[ ",$ONLY," == *",$1,"* ]]; }

if [ "$(id -u)" -ne 0 ]; then
  echo "bench.sh: run as root (sudo scripts/bench.sh): it creates network namespaces and" >&2
  echo "captures on them" >&2
  exit 1
fi
for t in ip taskset timeout pgrep awk; do
  command -v "$t" >/dev/null || { echo "bench.sh: $t not found (scripts/bootstrap.sh installs it)" >&2; exit 1; }
done
PY=/usr/bin/python3
[ -x "$PY" ] || PY=$(command -v python3) || { echo "bench.sh: python3 not found" >&2; exit 1; }
CLK_TCK=$(getconf CLK_TCK)

# Durations (seconds). Full: repeated passes, medians reported. Quick: one short pass.
# WARM: seconds a sender runs before its window opens; RX_SETTLE: seconds a receiver gets to
# set up before traffic starts (setup is never inside a window).
if [ "$QUICK" = 1 ]; then
  TX_DUR=2 TX_REPS=1 RX_DUR=2 RX_REPS=1 FULL_DUR=1 LAT_DUR=2 MICRO_MIN=0.01 MICRO_BOUND=120
  ECHO_DUR=1 TP_DUR=2
  WARM=0.5 RX_SETTLE=1
else
  TX_DUR=10 TX_REPS=3 RX_DUR=10 RX_REPS=2 FULL_DUR=5 LAT_DUR=10 MICRO_MIN=0.2 MICRO_BOUND=600
  ECHO_DUR=3 TP_DUR=10
  WARM=1 RX_SETTLE=1.5
fi
TX_CPU=0
RX_CPU=1
RX_RATE=200000
TP_RATE=100000  # sockperf throughput --mps, offered to both receivers (it reaches ~100k/s here)
TP_SIZE=64
TP_SINK_IP=10.99.0.40  # rudp_sink's address: in the testbed's subnet, not the kernel's

export RINGSTAMP_NETNS_SUFFIX=bench$$  # the testbed's names (scripts/netns.sh)
WORK=$(mktemp -d /tmp/rs-bench.XXXXXX)
RESULTS=$WORK/results.jsonl
: >"$RESULTS"
ANCHOR_TPID=
TESTBED_UP=0

cleanup() {
  local rc=$?
  trap - EXIT INT TERM HUP PIPE
  bg_kill_all
  if [ "$TESTBED_UP" = 1 ]; then "$ROOT/scripts/netns.sh" down >/dev/null 2>&1; fi
  # The namespaces a benchmark binary makes for itself (tests/support Testbed: "rsa"/"rsb" +
  # its pid in hex + "0"), should it have been killed before its destructor ran.
  local p hex
  for p in ${BENCH_PIDS:-}; do
    hex=$(printf '%x' $((p & 0xfffff)))
    ip netns del "rsa${hex}0" 2>/dev/null
    ip netns del "rsb${hex}0" 2>/dev/null
  done
  if [ -n "$LOGS" ]; then
    mkdir -p "$LOGS" && cp -r "$WORK"/. "$LOGS"/ && echo "raw logs: $LOGS"
  fi
  rm -rf "$WORK"
  exit "$rc"
}
trap cleanup EXIT
trap 'echo; echo "bench.sh: interrupted; cleaning up" >&2; exit 130' INT TERM
trap 'exit 129' HUP
trap 'exit 141' PIPE  # output cut short (| head): still clean up

SECTION_T0=$SECONDS
section() {
  [ -n "${SECTION_NAME:-}" ] && echo "   ($((SECONDS - SECTION_T0)) s)"
  SECTION_NAME=$1 SECTION_T0=$SECONDS
  echo
  echo "== $*"
}

# ---------------------------------------------------------------------------------------
section "build ($BUILD)"
BENCH_TARGETS=()
for f in "$ROOT"/bench/*_bench.cc; do BENCH_TARGETS+=("$(basename "$f" .cc)"); done
BENCH_TARGETS+=(rudp_sink)
BUILD_STATUS=skipped
if [ "$DO_BUILD" = 1 ]; then
  BUILD_STATUS=ok
  if [ ! -f "$BUILD/CMakeCache.txt" ]; then
    cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >"$WORK/cmake.log" 2>&1 ||
      { echo "bench.sh: cmake configure failed:"; tail -20 "$WORK/cmake.log"; exit 1; }
  else
    cmake "$BUILD" >"$WORK/cmake.log" 2>&1  # picks up new *_bench.cc files
  fi
  if ! cmake --build "$BUILD" -j"$(nproc)" --target ringstamp "${BENCH_TARGETS[@]}" \
    >"$WORK/build.log" 2>&1; then
    # One target failing (a file someone is editing) must not stop the others.
    BUILD_STATUS="failed: some targets measured from an earlier build"
    echo "   build failed for some target (last lines below); using what is built"
    grep -E 'error|undefined reference' "$WORK/build.log" | head -5 | sed 's/^/   /'
    for t in ringstamp "${BENCH_TARGETS[@]}"; do
      cmake --build "$BUILD" -j"$(nproc)" --target "$t" >>"$WORK/build.log" 2>&1 ||
        echo "   target $t does not build"
    done
  fi
fi
RS=$BUILD/bin/ringstamp
if [ ! -x "$RS" ]; then
  echo "bench.sh: $RS is not built (see the build errors above)" >&2
  exit 1
fi
echo "   ringstamp: $RS"

# ---------------------------------------------------------------------------------------
section "testbed"
eval "$("$ROOT/scripts/netns.sh" env)"
TESTBED_UP=1
"$ROOT/scripts/netns.sh" up >/dev/null || { echo "bench.sh: testbed setup failed" >&2; exit 1; }
echo "   $NS_A ($IF_A $MAC_A $IP4_A) <-> $NS_B ($IF_B $MAC_B $IP4_B)"
# A sleeper inside ns_b: its /proc/PID/net/dev shows the peer veth's counters without a fork.
bg_start anchor 7200 ip netns exec "$NS_B" sleep 7200
ANCHOR_TPID=$BG_PID
ANCHOR=$(bg_child "$ANCHOR_TPID") || { echo "bench.sh: cannot start the ns_b anchor" >&2; exit 1; }
rx_packets "$ANCHOR" "$IF_B" >/dev/null || { echo "bench.sh: no $IF_B in $NS_B" >&2; exit 1; }
TRAFGEN_CFG=$WORK/udp60.trafgen
write_trafgen_udp60 "$TRAFGEN_CFG"

HAVE_TRAFGEN=0 HAVE_TCPDUMP=0 HAVE_NETSNIFF=0 HAVE_SOCKPERF=0
have trafgen netsniff-ng && HAVE_TRAFGEN=1
have tcpdump && HAVE_TCPDUMP=1
have netsniff-ng && HAVE_NETSNIFF=1
have sockperf && HAVE_SOCKPERF=1
# Rows whose tool is missing say so instead of "not measured".
skip_rx() {  # NOTE KEY...
  local note=$1 k r
  shift
  for k in "$@"; do for r in "$RX_RATE" full; do rec "rx.$k" rate="$r" status=skipped note="$note"; done; done
}
if [ "$HAVE_TRAFGEN" = 0 ]; then
  rec tx.trafgen_p1 status=skipped note="missing: install netsniff-ng (trafgen)"
  rec tx.trafgen_p2 status=skipped note="missing: install netsniff-ng (trafgen)"
  skip_rx "missing: install netsniff-ng (trafgen sends the RX traffic)" tcpdump_null tcpdump_file \
    netsniff rs_count rs_null rs_file
fi
[ "$HAVE_TCPDUMP" = 0 ] && skip_rx "missing: install tcpdump" tcpdump_null tcpdump_file
[ "$HAVE_NETSNIFF" = 0 ] && skip_rx "missing: install netsniff-ng" netsniff
if [ "$HAVE_SOCKPERF" = 0 ]; then
  for k in one_cpu split one_cpu_paced split_paced; do
    rec "lat.sockperf_$k" status=skipped note="missing: install sockperf"
  done
  rec tp.sockperf_server status=skipped note="missing: install sockperf"
  rec tp.rudp_sink status=skipped note="missing: install sockperf (it sends the traffic)"
fi

META_START=$(date -u +%Y-%m-%dT%H:%M:%SZ)
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
rec meta date="$META_START" host="$(hostname)" kernel="$(uname -r)" \
  cpu="$(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)" cpus="$(nproc)" \
  load_start="$LOAD_START" quick="$QUICK" sections="$ONLY" \
  commit:="$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)" \
  tx_dur="$TX_DUR" tx_reps="$TX_REPS" rx_dur="$RX_DUR" rx_reps="$RX_REPS" full_dur="$FULL_DUR" \
  lat_dur="$LAT_DUR" micro_min_time="$MICRO_MIN" rx_rate="$RX_RATE" build="$BUILD_STATUS" \
  ringstamp_built="$(date -u -r "$RS" +%Y-%m-%dT%H:%M:%SZ)" \
  trafgen="$(trafgen -v 2>/dev/null | head -n1)" tcpdump="$(tcpdump --version 2>&1 | head -n1)" \
  sockperf="$(sockperf --version 2>&1 | head -n1)"

# ---------------------------------------------------------------------------------------
# group_cpu_ns PGID — on-CPU ns of every thread of every process in the process group
# (timeout(1) makes one for the command it runs, so a sender's forked workers count too).
group_cpu_ns() {
  local p f total=0 run rest
  for p in $(pgrep -g "$1" 2>/dev/null); do
    for f in /proc/"$p"/task/*/schedstat; do
      read -r run rest <"$f" 2>/dev/null || continue
      total=$((total + run))
    done
  done
  echo "$total"
}

# measure_sender KEY REP CPUS CMD... — CMD sends from ns_a pinned to CPUS; the window
# (after WARM s) counts the frames that reach the peer veth, and the sender's CPU time
# (its threads and forked processes; on veth the peer's receive path runs on the
# sender's CPU and is counted in it): frames/s depends on how much CPU the shared
# machine leaves the sender, CPU per frame much less. Records tx.KEY.
measure_sender() {
  local key=$1 rep=$2 cpus=$3
  shift 3
  local name="tx-$key-$rep"
  bg_start "$name" $((TX_DUR + 21)) taskset -c "$cpus" ip netns exec "$NS_A" "$@"
  local tpid=$BG_PID
  sleep "$WARM"
  if ! bg_alive "$tpid"; then
    bg_wait "$tpid"
    echo "   $key: exited before the window: $(tail -n2 "$WORK/$name.err" | tr '\n' ' ')"
    rec "tx.$key" rep="$rep" status=failed note="$(tail -n2 "$WORK/$name.err")"
    return
  fi
  local k0 t0 k1 t1 c0 c1
  c0=$(group_cpu_ns "$tpid"); k0=$(rx_packets "$ANCHOR" "$IF_B"); t0=$(now_ns)
  sleep "$TX_DUR"
  c1=$(group_cpu_ns "$tpid"); k1=$(rx_packets "$ANCHOR" "$IF_B"); t1=$(now_ns)
  local died=0
  bg_alive "$tpid" || died=1
  bg_stop "$tpid" 10
  local frames=$((k1 - k0)) cpu=$((c1 - c0))
  local fps nspf cpus_used
  fps=$(div "$((frames * 1000000000))" "$((t1 - t0))" 0)
  nspf=$(div "$cpu" "$frames" 1)
  cpus_used=$(div "$cpu" "$((t1 - t0))" 2)
  if [ "$died" = 1 ]; then
    echo "   $key: stopped during the window: $(tail -n2 "$WORK/$name.err" | tr '\n' ' ')"
    rec "tx.$key" rep="$rep" status=failed fps="$fps" note="$(tail -n2 "$WORK/$name.err")"
    return
  fi
  printf '   %-28s pass %d: %10s frames/s reaching the peer; sender %6s ns CPU/frame on %s CPUs\n' \
    "$key" "$rep" "$fps" "$nspf" "$cpus_used"
  rec "tx.$key" rep="$rep" status=ok fps="$fps" frames="$frames" window_ns=$((t1 - t0)) cpus="$cpus" \
    cpu_ns="$cpu" ns_per_frame="$nspf" cpus_used="$cpus_used"
}

if want tx; then
  section "TX: frames/s reaching the peer, ${TX_DUR}s windows × $TX_REPS passes (sender pinned)"
  for rep in $(seq 1 "$TX_REPS"); do
    if [ "$HAVE_TRAFGEN" = 1 ]; then
      measure_sender trafgen_p1 "$rep" "$TX_CPU" trafgen --dev "$IF_A" --conf "$TRAFGEN_CFG" -P 1 --no-sock-mem
    fi
    measure_sender gen_w1 "$rep" "$TX_CPU" "$RS" gen -i "$IF_A" --dst-mac "$MAC_B" --src-ip "$IP4_A" \
      --dst-ip "$IP4_B" --size 60 --duration $((TX_DUR + 11))
    measure_sender gen_w2 "$rep" "$TX_CPU,$RX_CPU" "$RS" gen -i "$IF_A" --dst-mac "$MAC_B" \
      --src-ip "$IP4_A" --dst-ip "$IP4_B" --size 60 --workers 2 --duration $((TX_DUR + 11))
    if [ "$HAVE_TRAFGEN" = 1 ]; then
      measure_sender trafgen_p2 "$rep" "$TX_CPU,$RX_CPU" trafgen --dev "$IF_A" --conf "$TRAFGEN_CFG" -P 2 --no-sock-mem
    fi
  done
fi

# ---------------------------------------------------------------------------------------
# Receiver summaries: "received drops" from each tool's own output.
parse_tcpdump() {  # ERRFILE
  awk '/packets captured/ {c=$1} /packets dropped by kernel/ {d=$1} END {print (c==""?"null":c), (d==""?"null":d)}' "$1"
}
parse_netsniff() {  # OUTFILE
  tr '\r' '\n' <"$1" | awk '/packets passed filter/ {c=$1} /failed filter \(out of space\)/ {d=$1} END {print (c==""?"null":c), (d==""?"null":d)}'
}
parse_ringstamp_capture() {  # OUTFILE (--json: last line is the summary)
  "$PY" - "$1" <<'PYEOF'
import json, sys
last = None
for line in open(sys.argv[1], errors="replace"):
    line = line.strip()
    if line.startswith("{"):
        try:
            last = json.loads(line)
        except ValueError:
            pass
if last is None:
    print("null null")
else:
    print(last.get("packets", "null"), last.get("kernel_drops", "null"))
PYEOF
}

# measure_receiver KEY REP RATE DUR KIND CMD... — CMD receives in ns_b pinned to RX_CPU while
# trafgen sends from CPU 0 at RATE (frames/s, or "full"). CPU ns per frame over the window.
measure_receiver() {
  local key=$1 rep=$2 rate=$3 dur=$4 kind=$5
  shift 5
  local name="rx-$key-$rate-$rep"
  bg_start "$name" $((dur + 31)) ip netns exec "$NS_B" taskset -c "$RX_CPU" "$@"
  local rtpid=$BG_PID pid
  pid=$(bg_child "$rtpid") || {
    bg_wait "$rtpid"
    echo "   $key: did not start: $(tail -n2 "$WORK/$name.err" | tr '\n' ' ')"
    rec "rx.$key" rep="$rep" rate="$rate" status=failed note="$(tail -n2 "$WORK/$name.err")"
    return
  }
  sleep "$RX_SETTLE"
  if ! bg_alive "$rtpid"; then
    bg_wait "$rtpid"
    echo "   $key: exited during setup: $(tail -n2 "$WORK/$name.err" | tr '\n' ' ')"
    rec "rx.$key" rep="$rep" rate="$rate" status=failed note="$(tail -n2 "$WORK/$name.err")"
    return
  fi
  local rate_args=()
  [ "$rate" != full ] && rate_args=(--rate "${rate}pps")
  bg_start "tg-$name" $((dur + 21)) taskset -c "$TX_CPU" ip netns exec "$NS_A" \
    trafgen --dev "$IF_A" --conf "$TRAFGEN_CFG" -P 1 --no-sock-mem "${rate_args[@]}"
  local ttpid=$BG_PID
  sleep "$WARM"
  local c0 j0 k0 t0 c1 j1 k1 t1
  c0=$(cpu_ns "$pid"); j0=$(cpu_ticks "$pid"); k0=$(rx_packets "$ANCHOR" "$IF_B"); t0=$(now_ns)
  sleep "$dur"
  c1=$(cpu_ns "$pid"); j1=$(cpu_ticks "$pid"); k1=$(rx_packets "$ANCHOR" "$IF_B"); t1=$(now_ns)
  local sender_ok=1 receiver_ok=1
  bg_alive "$ttpid" || sender_ok=0
  bg_alive "$rtpid" || receiver_ok=0
  bg_stop "$ttpid" 10
  sleep 0.5  # the receiver drains its ring
  bg_stop "$rtpid" 15
  local received drops
  case "$kind" in
    tcpdump) read -r received drops < <(parse_tcpdump "$WORK/$name.err") ;;
    netsniff) read -r received drops < <(parse_netsniff "$WORK/$name.out") ;;
    ringstamp) read -r received drops < <(parse_ringstamp_capture "$WORK/$name.out") ;;
  esac
  rm -f "$WORK"/rx-*.pcap
  local frames=$((k1 - k0)) cpu=$((c1 - c0)) ticks=$((j1 - j0))
  local nspf fps nspf_ticks
  nspf=$(div "$cpu" "$frames" 1)
  nspf_ticks=$(div "$((ticks * 1000000000 / CLK_TCK))" "$frames" 1)
  fps=$(div "$((frames * 1000000000))" "$((t1 - t0))" 0)
  local status=ok note=
  # trafgen's --rate catches up in bursts after it was descheduled (seen: 3.1M frames in 11 s
  # at 200k/s): a window more than 10% off the rate is not a measurement at that rate.
  if [ "$rate" != full ] && [ "$fps" != null ] &&
    awk -v f="$fps" -v r="$rate" 'BEGIN { exit !(f < 0.9 * r || f > 1.1 * r) }'; then
    status=rate_off
    note="frames arrived at $fps/s, not $rate/s (trafgen's rate limiter bursts)"
  fi
  if [ "$sender_ok" = 0 ]; then status=failed; note="trafgen stopped early: $(tail -n1 "$WORK/tg-$name.err")"; fi
  if [ "$receiver_ok" = 0 ]; then status=failed; note="receiver stopped early: $(tail -n2 "$WORK/$name.err" | tr '\n' ' ')"; fi
  printf '   %-26s pass %d: %8s frames/s arriving, %7s ns CPU/frame (ticks: %s), received %s, drops %s%s\n' \
    "$key" "$rep" "$fps" "$nspf" "$nspf_ticks" "$received" "$drops" "${note:+ — $note}"
  rec "rx.$key" rep="$rep" rate="$rate" status="$status" ns_per_frame="$nspf" \
    ns_per_frame_ticks="$nspf_ticks" cpu_ns="$cpu" frames="$frames" fps="$fps" \
    received="$received" drops="$drops" note="$note"
  [ "$status" = rate_off ] && return 2
  return 0
}

# receiver ARGS... — measure_receiver, once more when the offered rate was off.
receiver() {
  measure_receiver "$@" && return 0
  [ $? = 2 ] || return 0
  echo "   (rate off: measuring $1 again)"
  local key=$1 rep=$2
  shift 2
  measure_receiver "$key" "${rep}r" "$@"
  return 0
}

run_receivers() {  # RATE DUR REP
  local rate=$1 dur=$2 rep=$3
  if [ "$HAVE_TCPDUMP" = 1 ]; then
    receiver tcpdump_null "$rep" "$rate" "$dur" tcpdump tcpdump -i "$IF_B" -n -Z root -w /dev/null
  fi
  receiver rs_count "$rep" "$rate" "$dur" ringstamp "$RS" capture -i "$IF_B" -q --json \
    --duration $((dur + 21))
  receiver rs_null "$rep" "$rate" "$dur" ringstamp "$RS" capture -i "$IF_B" -q --json \
    -w /dev/null --duration $((dur + 21))
  if [ "$HAVE_TCPDUMP" = 1 ]; then
    receiver tcpdump_file "$rep" "$rate" "$dur" tcpdump tcpdump -i "$IF_B" -n -Z root \
      -w "$WORK/rx-tcpdump.pcap"
  fi
  receiver rs_file "$rep" "$rate" "$dur" ringstamp "$RS" capture -i "$IF_B" -q --json \
    -w "$WORK/rx-ringstamp.pcap" --duration $((dur + 21))
  if [ "$HAVE_NETSNIFF" = 1 ]; then
    receiver netsniff "$rep" "$rate" "$dur" netsniff netsniff-ng --in "$IF_B" --silent \
      -S 32MiB --bind-cpu "$RX_CPU"
  fi
}

if want rx; then
  if [ "$HAVE_TRAFGEN" = 1 ]; then
    section "RX: receivers on CPU $RX_CPU, trafgen at $RX_RATE frames/s on CPU $TX_CPU, ${RX_DUR}s windows × $RX_REPS passes"
    for rep in $(seq 1 "$RX_REPS"); do run_receivers "$RX_RATE" "$RX_DUR" "$rep"; done
    section "RX: the same receivers at trafgen's full rate, ${FULL_DUR}s windows"
    run_receivers full "$FULL_DUR" 1
  else
    section "RX: skipped (trafgen sends the traffic: install netsniff-ng)"
  fi
fi

# ---------------------------------------------------------------------------------------
# Latency. sockperf prints one-way latency (RTT/2); the table converts to RTT.
parse_sockperf() {  # OUTFILE → "p50_us p99_us" (one-way, µs)
  awk '/percentile 50\.0+ =/ {p50=$NF} /percentile 99\.0+ =/ {p99=$NF} END {print (p50==""?"null":p50), (p99==""?"null":p99)}' "$1"
}

# measure_sockperf KEY SERVER_CPU CLIENT_CPU MPS — MPS "max": back-to-back ping-pong (sockperf's
# default, as the peer figures of TARGETS.md); a number: paced like the probe (1000 = every 1 ms;
# sockperf's client spins between sends).
measure_sockperf() {
  local key=$1 scpu=$2 ccpu=$3 mps=$4 name="lat-$1"
  bg_start "$name-server" $((LAT_DUR + 40)) ip netns exec "$NS_B" taskset -c "$scpu" \
    sockperf server -i "$IP4_B" -p 11111
  local stpid=$BG_PID
  sleep 1
  timeout -s INT -k 5 $((LAT_DUR + 30)) ip netns exec "$NS_A" taskset -c "$ccpu" \
    sockperf ping-pong -i "$IP4_B" -p 11111 -t "$LAT_DUR" --mps="$mps" >"$WORK/$name.out" 2>&1
  local rc=$?
  bg_stop "$stpid" 5
  local p50 p99
  read -r p50 p99 < <(parse_sockperf "$WORK/$name.out")
  if [ "$rc" != 0 ] || [ "$p50" = null ]; then
    echo "   sockperf $key: failed (exit $rc): $(tail -n2 "$WORK/$name.out" | tr '\n' ' ')"
    rec "lat.sockperf_$key" status=failed note="$(tail -n2 "$WORK/$name.out")"
    return
  fi
  local rtt50 rtt99
  rtt50=$(awk -v v="$p50" 'BEGIN {printf "%.0f", v * 2000}')
  rtt99=$(awk -v v="$p99" 'BEGIN {printf "%.0f", v * 2000}')
  printf '   sockperf %-28s one-way p50 %s µs p99 %s µs → RTT p50 %s ns, p99 %s ns\n' \
    "$key (srv $scpu, cli $ccpu)" "$p50" "$p99" "$rtt50" "$rtt99"
  rec "lat.sockperf_$key" status=ok oneway_p50_us="$p50" oneway_p99_us="$p99" rtt_p50_ns="$rtt50" \
    rtt_p99_ns="$rtt99" server_cpu="$scpu" client_cpu="$ccpu" mps="$mps"
}

PROBE_CPU_FLAG=0
PROBE_BUSY_FLAG=
probe_detect() {
  local help
  help=$("$RS" probe client --help 2>&1) || return 1
  echo "$help" | grep -q -- '--server' || return 1
  "$RS" probe server --help >/dev/null 2>&1 || return 1
  echo "$help" | grep -q -- '--cpu' && PROBE_CPU_FLAG=1
  if echo "$help" | grep -q -- '--busy-poll'; then PROBE_BUSY_FLAG=--busy-poll
  elif echo "$help" | grep -q -- '--busy_poll'; then PROBE_BUSY_FLAG=--busy_poll; fi
  return 0
}

# measure_probe KEY SERVER_CPU CLIENT_CPU [EXTRA FLAGS...] — a probe every 1 ms for LAT_DUR
# seconds; PROBE_PACE=pingpong: back to back (--interval 0) for LAT_DUR seconds, one summary
# line (-q), like sockperf's ping-pong.
measure_probe() {
  local key=$1 scpu=$2 ccpu=$3 name="lat-probe-$1"
  shift 3
  local scpu_flag=() ccpu_flag=()
  if [ "$PROBE_CPU_FLAG" = 1 ]; then scpu_flag=(--cpu "$scpu"); ccpu_flag=(--cpu "$ccpu"); fi
  local pace=(--count $((LAT_DUR * 1000)) --interval 1ms)
  [ "${PROBE_PACE:-}" = pingpong ] && pace=(--duration "$LAT_DUR" --interval 0 -q)
  bg_start "$name-server" $((LAT_DUR + 60)) ip netns exec "$NS_B" taskset -c "$scpu" \
    "$RS" probe server -i "$IF_B" --ip 10.99.0.10 --duration $((LAT_DUR + 50)) "${scpu_flag[@]}" "$@"
  local stpid=$BG_PID
  sleep 1.5
  timeout -s INT -k 5 $((LAT_DUR + 40)) ip netns exec "$NS_A" taskset -c "$ccpu" \
    "$RS" probe client -i "$IF_A" --ip 10.99.0.20 --server 10.99.0.10 "${pace[@]}" \
    --json "${ccpu_flag[@]}" "$@" >"$WORK/$name.out" 2>"$WORK/$name.err"
  local rc=$?
  bg_stop "$stpid" 5
  local fields
  fields=$("$PY" "$ROOT/scripts/bench/report.py" probe-summary "$WORK/$name.out")
  if [ "$rc" != 0 ] || [ -z "$fields" ]; then
    echo "   probe $key: failed (exit $rc): $(tail -n2 "$WORK/$name.err" | tr '\n' ' ')"
    rec "lat.probe_$key" status=failed note="$(tail -n2 "$WORK/$name.err")"
    return
  fi
  # fields: net_p50 net_p99 rtt_p50 rtt_p99 sent received lost overhead_p50 overhead_key
  #         user_rtt_p50 user_rtt_p99 t3_error_p50 t3_error_p90
  local net50 net99 rtt50 rtt99 sent received lost ovh ovh_key user50 user99 t3e50 t3e90
  read -r net50 net99 rtt50 rtt99 sent received lost ovh ovh_key user50 user99 t3e50 t3e90 <<<"$fields"
  printf '   probe %-31s userspace RTT p50 %s ns; network RTT p50 %s ns p99 %s ns; RTT p50 %s ns; t3 error p50 %s ns p90 %s ns; %s/%s answered; %s p50 %s ns\n' \
    "$key (srv $scpu, cli $ccpu)" "$user50" "$net50" "$net99" "$rtt50" "$t3e50" "$t3e90" "$received" "$sent" \
    "$ovh_key" "$ovh"
  rec "lat.probe_$key" status=ok net_rtt_p50_ns="$net50" net_rtt_p99_ns="$net99" rtt_p50_ns="$rtt50" \
    rtt_p99_ns="$rtt99" user_rtt_p50_ns="$user50" user_rtt_p99_ns="$user99" \
    t3_error_p50_ns="$t3e50" t3_error_p90_ns="$t3e90" sent="$sent" received="$received" lost="$lost" \
    overhead_p50_ns="$ovh" overhead_field="$ovh_key" server_cpu="$scpu" client_cpu="$ccpu" flags="$*"
}

if want latency; then
  section "latency: ${LAT_DUR}s each: sockperf UDP ping-pong (back to back, then every 1 ms) vs ringstamp probe (back to back, then every 1 ms)"
  if [ "$HAVE_SOCKPERF" = 1 ]; then
    measure_sockperf one_cpu "$TX_CPU" "$TX_CPU" max
    measure_sockperf split "$RX_CPU" "$TX_CPU" max
    measure_sockperf one_cpu_paced "$TX_CPU" "$TX_CPU" 1000
    measure_sockperf split_paced "$RX_CPU" "$TX_CPU" 1000
  fi
  if probe_detect; then
    if "$RS" probe client --help 2>&1 | grep -q 'back to back'; then
      PROBE_PACE=pingpong measure_probe pingpong_one_cpu "$TX_CPU" "$TX_CPU"
      PROBE_PACE=pingpong measure_probe pingpong_split "$RX_CPU" "$TX_CPU"
    else
      for k in pingpong_one_cpu pingpong_split; do
        echo "   probe $k: skipped (no --interval 0 in this build)"
        rec "lat.probe_$k" status=skipped note="no --interval 0 (back to back) in this build"
      done
    fi
    measure_probe one_cpu "$TX_CPU" "$TX_CPU"
    measure_probe split "$RX_CPU" "$TX_CPU"
    # The same with /metrics served and scraped every second on both hosts: scraping must not
    # move the probe's RX overhead (the endpoint renders on its own thread).
    if "$RS" probe client --help 2>&1 | grep -q -- '--metrics'; then
      local_scrape='while :; do curl -s -o /dev/null http://127.0.0.1:19863/metrics; sleep 1; done'
      bg_start lat-scrape-a $((LAT_DUR + 70)) ip netns exec "$NS_A" sh -c "$local_scrape"
      scrape_a=$BG_PID
      bg_start lat-scrape-b $((LAT_DUR + 70)) ip netns exec "$NS_B" sh -c "$local_scrape"
      scrape_b=$BG_PID
      measure_probe split_scraped "$RX_CPU" "$TX_CPU" --metrics 127.0.0.1:19863
      bg_stop "$scrape_a" 5
      bg_stop "$scrape_b" 5
    else
      echo "   probe scraped: skipped (no --metrics flag in this build)"
      rec lat.probe_split_scraped status=skipped note="no --metrics flag in this build"
    fi
    if [ -n "$PROBE_BUSY_FLAG" ]; then
      measure_probe busy_split "$RX_CPU" "$TX_CPU" "$PROBE_BUSY_FLAG"
    else
      echo "   probe busy-poll: skipped (no --busy-poll flag in this build)"
      rec lat.probe_busy_split status=skipped note="no --busy-poll flag in this build"
    fi
  else
    echo "   probe: skipped: probe command not built"
    for k in one_cpu split busy_split; do rec "lat.probe_$k" status=skipped note="probe command not built"; done
  fi
fi

# ---------------------------------------------------------------------------------------
# run_bench BOUND_S OUT CMD... — a benchmark binary under timeout(1), stdout and stderr in OUT,
# in the background so that the exit trap can end it (BG_PIDS) and remove the namespaces it
# makes should it die before cleaning up (BENCH_PIDS: its pid names them); waits for it and
# returns its exit status.
BENCH_PIDS=
run_bench() {
  local bound=$1 out=$2 bpid
  shift 2
  timeout -s INT -k 10 "$bound" "$@" >"$out" 2>&1 &
  bpid=$!
  BG_PIDS+=("$bpid")
  BENCH_PIDS="$BENCH_PIDS $(bg_child "$bpid")"
  bg_wait "$bpid"
}

if want micro; then
  section "microbenchmarks ($BUILD/bin/*_bench, --benchmark_min_time=$MICRO_MIN)"
  mkdir -p "$WORK/micro"
  for b in "$BUILD"/bin/*_bench; do
    [ -x "$b" ] || continue
    n=$(basename "$b")
    [ "$n" = rudp_echo_bench ] && want echo && continue  # the echo section runs it
    run_bench "$MICRO_BOUND" "$WORK/micro/$n.txt" "$b" --benchmark_min_time="$MICRO_MIN" \
      --benchmark_out="$WORK/micro/$n.json" --benchmark_out_format=json
    rc=$?
    if [ "$rc" = 0 ]; then
      echo "   $n: $(grep -c '"name"' "$WORK/micro/$n.json" 2>/dev/null || echo 0) benchmarks"
    else
      echo "   $n: exit $rc: $(grep -iE 'error|skip' "$WORK/micro/$n.txt" | head -n2 | tr '\n' ' ')"
    fi
    rec "micro.$n" status="$([ "$rc" = 0 ] && echo ok || echo failed)" exit="$rc"
  done
fi

# ---------------------------------------------------------------------------------------
# udp_counters — the ns_b kernel's UDP "InDatagrams RcvbufErrors" (the anchor's /proc/PID/net/snmp).
udp_counters() {
  awk '/^Udp:/ { if (h) { print $2, $6; exit } h = 1 }' "/proc/$ANCHOR/net/snmp"
}

# measure_tp KEY CMD... — CMD receives in ns_b on RX_CPU while sockperf throughput sends
# TP_SIZE-byte datagrams at TP_RATE/s from ns_a on TX_CPU to TP_DST. CPU ns per datagram
# arriving at the peer veth over the window (setup and sockperf's ~2 s warm-up excluded);
# received and dropped from the ns_b kernel's UDP counters (sockperf server) or the sink's JSON
# (rudp_sink), sent from sockperf's summary.
measure_tp() {
  local key=$1
  shift
  local name="tp-$key"
  bg_start "$name" $((TP_DUR + 40)) ip netns exec "$NS_B" taskset -c "$RX_CPU" "$@"
  local rtpid=$BG_PID pid
  pid=$(bg_child "$rtpid") || {
    bg_wait "$rtpid"
    echo "   $key: did not start: $(tail -n2 "$WORK/$name.err" | tr '\n' ' ')"
    rec "tp.$key" status=failed note="$(tail -n2 "$WORK/$name.err")"
    return
  }
  sleep "$RX_SETTLE"
  if ! bg_alive "$rtpid"; then
    bg_wait "$rtpid"
    echo "   $key: exited during setup: $(tail -n2 "$WORK/$name.err" | tr '\n' ' ')"
    rec "tp.$key" status=failed note="$(tail -n2 "$WORK/$name.err")"
    return
  fi
  local u0 ue0
  read -r u0 ue0 < <(udp_counters)
  bg_start "$name-client" $((TP_DUR + 30)) ip netns exec "$NS_A" taskset -c "$TX_CPU" \
    sockperf throughput -i "$TP_DST" -p 11111 -m "$TP_SIZE" --mps="$TP_RATE" -t $((TP_DUR + 2))
  local ctpid=$BG_PID
  sleep 2.5  # sockperf's warm-up stage (~2 s) and the ARP answer are outside the window
  local c0 k0 t0 c1 k1 t1
  c0=$(cpu_ns "$pid"); k0=$(rx_packets "$ANCHOR" "$IF_B"); t0=$(now_ns)
  sleep "$TP_DUR"
  c1=$(cpu_ns "$pid"); k1=$(rx_packets "$ANCHOR" "$IF_B"); t1=$(now_ns)
  bg_wait "$ctpid"  # bounded: sockperf runs -t, timeout(1) stops it otherwise
  local crc=$?
  sleep 0.5  # the receiver drains
  local receiver_ok=1
  bg_alive "$rtpid" || receiver_ok=0
  bg_stop "$rtpid" 15
  local sent received drops u1 ue1
  sent=$(awk '/Total of [0-9]+ messages sent/ { for (i = 1; i <= NF; i++) if ($i == "of") print $(i + 1) }' \
    "$WORK/$name-client.out" "$WORK/$name-client.err" 2>/dev/null | tail -n1)
  [ -n "$sent" ] || sent=null
  case "$key" in
    sockperf_server)
      read -r u1 ue1 < <(udp_counters)
      received=$((u1 - u0)) drops=$((ue1 - ue0)) ;;
    *) read -r received drops < <("$PY" -c 'import json,sys
for l in open(sys.argv[1]):
    l = l.strip()
    if l.startswith("{"):
        j = json.loads(l)
        print(j.get("received", "null"), j.get("queue_dropped", 0) + j.get("kernel_drops", 0))
        break
else: print("null null")' "$WORK/$name.out" 2>/dev/null || echo null null) ;;
  esac
  local frames=$((k1 - k0)) cpu=$((c1 - c0)) nspd fps status=ok note=
  nspd=$(div "$cpu" "$frames" 1)
  fps=$(div "$((frames * 1000000000))" "$((t1 - t0))" 0)
  if [ "$crc" != 0 ] || [ "$sent" = null ]; then
    status=failed note="sockperf throughput: exit $crc: $(tail -n1 "$WORK/$name-client.err")"
  fi
  [ "$receiver_ok" = 0 ] && status=failed note="receiver stopped early: $(tail -n2 "$WORK/$name.err" | tr '\n' ' ')"
  printf '   %-18s %8s datagrams/s arriving, receiver %7s ns CPU/datagram; received %s of %s sent, %s dropped%s\n' \
    "$key" "$fps" "$nspd" "$received" "$sent" "$drops" "${note:+ — $note}"
  rec "tp.$key" status="$status" ns_per_dgram="$nspd" cpu_ns="$cpu" frames="$frames" fps="$fps" \
    received="$received" sent="$sent" drops="$drops" size="$TP_SIZE" rate="$TP_RATE" note="$note"
}

if want echo; then
  section "echo: rudp_echo_bench (server CPU per echo, ${ECHO_DUR}s windows), then sockperf throughput (${TP_DUR}s, $TP_SIZE B at $TP_RATE/s)"
  mkdir -p "$WORK/micro"
  b=$BUILD/bin/rudp_echo_bench
  if [ -x "$b" ]; then
    run_bench 300 "$WORK/micro/rudp_echo_bench.txt" env RS_ECHO_SECONDS="$ECHO_DUR" "$b" \
      --benchmark_out="$WORK/micro/rudp_echo_bench.json" --benchmark_out_format=json
    rc=$?
    echo "   rudp_echo_bench: exit $rc"
    grep -E '^BM_' "$WORK/micro/rudp_echo_bench.txt" | sed 's/^/   /'
    rec micro.rudp_echo_bench status="$([ "$rc" = 0 ] && echo ok || echo failed)" exit="$rc"
  else
    echo "   rudp_echo_bench not built"
  fi
  if [ "$HAVE_SOCKPERF" = 1 ]; then
    TP_DST=$IP4_B measure_tp sockperf_server sockperf server -i "$IP4_B" -p 11111
    if [ -x "$BUILD/bin/rudp_sink" ]; then
      TP_DST=$TP_SINK_IP measure_tp rudp_sink "$BUILD/bin/rudp_sink" --interface "$IF_B" \
        --ip "$TP_SINK_IP/24" --port 11111 --cpu "$RX_CPU" --duration $((TP_DUR + 35))
    else
      rec tp.rudp_sink status=skipped note="rudp_sink not built"
    fi
  fi
fi

# ---------------------------------------------------------------------------------------
rec meta_end date="$(date -u +%Y-%m-%dT%H:%M:%SZ)" load_end="$(cut -d' ' -f1-3 /proc/loadavg)"
section "results"
report_args=(table --results "$RESULTS" --micro "$WORK/micro")
[ -n "$JSON_OUT" ] && report_args+=(--json "$JSON_OUT")
"$PY" "$ROOT/scripts/bench/report.py" "${report_args[@]}"
