# shellcheck shell=bash
# scripts/bench/lib.sh — helpers for scripts/bench.sh: bounded background runs, receiver CPU
# from /proc, the peer veth's rx_packets counter, result records. Sourced, never run.
#
#   source scripts/bench/lib.sh
#   bg_start tcpdump 30 ip netns exec "$NS_B" taskset -c 1 tcpdump -i "$IF_B" -w /dev/null
#   pid=$(bg_child "$BG_PID"); c0=$(cpu_ns "$pid") ...; bg_stop "$BG_PID"
#   rec rx.tcpdump_null ns_per_frame=95.1 drops=0
#
# Every process started here runs under timeout(1) (a hard bound even if this shell dies)
# and is listed in BG_PIDS, which bg_kill_all (the caller's exit trap) ends.
# Expects: WORK (a private directory), RESULTS (the records file).

BG_PIDS=()
BG_PID=

# bg_start NAME BOUND_S CMD... — runs CMD in the background under `timeout -s INT BOUND_S`,
# stdout in $WORK/NAME.out, stderr in $WORK/NAME.err. Sets BG_PID (timeout's pid).
bg_start() {
  local name=$1 bound=$2
  shift 2
  timeout -s INT -k 5 "$bound" "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" &
  BG_PID=$!
  BG_PIDS+=("$BG_PID")
}

# bg_child TIMEOUT_PID — the pid of the command timeout(1) runs (ip netns exec and taskset
# exec in place, so this is the tool itself). Empty if it did not start within 2 s.
bg_child() {
  local c
  for _ in $(seq 1 40); do
    c=$(pgrep -P "$1" 2>/dev/null | head -n1)
    if [ -n "$c" ]; then
      echo "$c"
      return 0
    fi
    kill -0 "$1" 2>/dev/null || return 1
    sleep 0.05
  done
  return 1
}

# bg_alive TIMEOUT_PID — true while the command runs.
bg_alive() { kill -0 "$1" 2>/dev/null; }

# bg_stop TIMEOUT_PID [WAIT_S] — SIGINT to the command (timeout forwards it), up to WAIT_S
# (default 10) for it to print its summary and exit, then SIGKILL. Returns its exit code.
bg_stop() {
  local pid=$1 wait_s=${2:-10} rc
  if kill -0 "$pid" 2>/dev/null; then
    kill -INT "$pid" 2>/dev/null
    for _ in $(seq 1 $((wait_s * 10))); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
      pkill -KILL -P "$pid" 2>/dev/null
      kill -KILL "$pid" 2>/dev/null
    fi
  fi
  wait "$pid" 2>/dev/null
  rc=$?
  local keep=() p
  for p in "${BG_PIDS[@]}"; do [ "$p" != "$pid" ] && keep+=("$p"); done
  BG_PIDS=("${keep[@]}")
  return $rc
}

# bg_wait TIMEOUT_PID — waits for the command to end by itself (its bound still applies).
bg_wait() {
  local pid=$1 rc
  wait "$pid" 2>/dev/null
  rc=$?
  local keep=() p
  for p in "${BG_PIDS[@]}"; do [ "$p" != "$pid" ] && keep+=("$p"); done
  BG_PIDS=("${keep[@]}")
  return $rc
}

# bg_kill_all — every command still running: SIGINT, a moment, then SIGKILL.
bg_kill_all() {
  local p
  [ ${#BG_PIDS[@]} -eq 0 ] && return 0
  for p in "${BG_PIDS[@]}"; do kill -INT "$p" 2>/dev/null; done
  sleep 1
  for p in "${BG_PIDS[@]}"; do
    if kill -0 "$p" 2>/dev/null; then
      pkill -KILL -P "$p" 2>/dev/null
      kill -KILL "$p" 2>/dev/null
    fi
    wait "$p" 2>/dev/null
  done
  BG_PIDS=()
}

# cpu_ns PID — CPU time of every thread of PID, in ns: the sum of the first field of
# /proc/PID/task/*/schedstat (se.sum_exec_runtime, user + system; the kernel scales
# utime+stime to this same sum, which they report in 10 ms ticks). Falls back to
# (utime+stime) × 1e9 / CLK_TCK when schedstat is absent.
cpu_ns() {
  local pid=$1 f total=0 run rest
  for f in /proc/"$pid"/task/*/schedstat; do
    [ -r "$f" ] || continue
    read -r run rest <"$f" 2>/dev/null || continue
    total=$((total + run))
  done
  if [ "$total" -eq 0 ]; then
    local t
    t=$(cpu_ticks "$pid") || return 1
    total=$((t * 1000000000 / CLK_TCK))
  fi
  echo "$total"
}

# cpu_ticks PID — utime + stime of the process (all threads, exited ones included), in ticks.
cpu_ticks() {
  local line
  read -r line <"/proc/$1/stat" 2>/dev/null || return 1
  line=${line##*) }  # fields after the command name (which may hold spaces)
  # shellcheck disable=SC2086
  set -- $line
  echo $((${12} + ${13}))  # fields 14 and 15 of stat(5), counted from field 3
}

# rx_packets ANCHOR_PID IFACE — the interface's rx_packets as seen from ANCHOR_PID's
# network namespace (/proc/PID/net/dev: no fork, no namespace switch).
rx_packets() {
  local anchor=$1 ifname=$2 name rest
  while IFS=: read -r name rest; do
    name=${name// /}
    if [ "$name" = "$ifname" ]; then
      # shellcheck disable=SC2086
      set -- $rest
      echo "$2"
      return 0
    fi
  done <"/proc/$anchor/net/dev"
  return 1
}

# now_ns — wall-clock ns (bash's EPOCHREALTIME, µs resolution, no fork).
now_ns() {
  local t=${EPOCHREALTIME/./}
  echo "${t}000"
}

# rec KEY NAME=VALUE... — one JSON object per line in $RESULTS. Numbers and null stay bare,
# everything else becomes a JSON string; NAME:=VALUE is always a string.
rec() {
  local key=$1 kv k v out
  shift
  out="{\"key\":\"$key\""
  for kv in "$@"; do
    local text=0
    if [[ $kv == *:=* && ${kv%%:=*} != *=* ]]; then
      # k:=v is always a string (a commit hash such as 230e623 reads as a number).
      k=${kv%%:=*}
      v=${kv#*:=}
      text=1
    else
      k=${kv%%=*}
      v=${kv#*=}
    fi
    if [[ $text == 0 && ($v =~ ^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$ || $v == null || $v == true || $v == false) ]]; then
      out+=",\"$k\":$v"
    else
      v=${v//\\/\\\\}
      v=${v//\"/\\\"}
      v=${v//$'\n'/ }
      v=${v//$'\t'/ }
      out+=",\"$k\":\"$v\""
    fi
  done
  echo "$out}" >>"$RESULTS"
}

# div A B [SCALE] — A / B with SCALE decimals (default 1); "null" when B is 0 or empty.
div() {
  local a=$1 b=$2 s=${3:-1}
  if [ -z "$a" ] || [ -z "$b" ] || [ "$b" = 0 ]; then
    echo null
    return
  fi
  awk -v a="$a" -v b="$b" -v s="$s" 'BEGIN { printf "%.*f\n", s, a / b }'
}

# have TOOL — true when TOOL is on PATH; otherwise prints "missing: install PKG" once.
have() {
  local tool=$1 pkg=${2:-$1}
  if command -v "$tool" >/dev/null 2>&1; then return 0; fi
  echo "   missing: install $pkg ($tool not found); its measurements are skipped"
  return 1
}

# write_trafgen_udp60 FILE — trafgen config for the 60-byte UDP/IPv4 frame `ringstamp gen`
# sends by default (same MACs, addresses, ports, DF, TTL; 18 payload bytes).
write_trafgen_udp60() {
  cat >"$1" <<CFG
/* 60-byte UDP/IPv4 frame, as ringstamp gen --size 60 sends it: 14 + 20 + 8 + 18 bytes. */
{
  eth(da=$MAC_B, sa=$MAC_A, type=0x0800),
  ipv4(saddr=$IP4_A, daddr=$IP4_B, ttl=64, proto=17, df),
  udp(sp=10000, dp=9),
  fill(0x00, 18)
}
CFG
}
