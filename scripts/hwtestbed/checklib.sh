#!/bin/sh
# checklib.sh — helpers for the check scripts that run inside the hwtestbed VM (busybox sh).
#   . /hwtest/checklib.sh
#   hw_probe_tool negotiate "$HW_IF0" >/tmp/neg.out; expect_rc 0 $? "negotiate exits 0"
#   expect_kv /tmp/neg.out driver e1000e
#   expect_grep /tmp/info.out 'PHC.*not advancing' "info says the PHC is frozen"
#   finish_checks            # prints the tally; exit 1 if any check failed
# Every check prints "ok - ..." or "FAIL - ..."; a failing check shows the file it looked at.

checks_ok=0
checks_failed=0

ok() {
  checks_ok=$((checks_ok + 1))
  echo "ok - $*"
}
not_ok() {
  checks_failed=$((checks_failed + 1))
  echo "FAIL - $*"
}
show() {  # file: printed once under a failing check
  echo "---- $1"
  sed 's/^/| /' "$1" 2>/dev/null
  echo "----"
}

# expect_rc WANT GOT WHAT
expect_rc() {
  if [ "$2" = "$1" ]; then ok "$3 (exit $2)"; else not_ok "$3: exit $2, want $1"; fi
}
# expect_kv FILE KEY VALUE [WHAT]: a line KEY=VALUE exists
expect_kv() {
  if grep -qxF "$2=$3" "$1"; then
    ok "${4:-$2=$3}"
  else
    not_ok "${4:-$2=$3}: $1 has $(grep "^$2=" "$1" | head -n3 | tr '\n' ' ')"
    show "$1"
  fi
}
# kv FILE KEY: prints the first value of KEY
kv() { sed -n "s/^$2=//p" "$1" | head -n1; }
# expect_grep FILE ERE WHAT: some line matches (grep -E)
expect_grep() {
  if grep -qE "$2" "$1"; then ok "$3"; else not_ok "$3: no line of $1 matches /$2/"; show "$1"; fi
}
# expect_no_grep FILE ERE WHAT: no line matches
expect_no_grep() {
  if grep -qE "$2" "$1"; then
    not_ok "$3: $1 has $(grep -E "$2" "$1" | head -n3 | tr '\n' ' ')"
  else
    ok "$3"
  fi
}
# expect_true WHAT COMMAND...: COMMAND succeeds
expect_true() {
  w=$1
  shift
  if "$@"; then ok "$w"; else not_ok "$w"; fi
}
# wait_for_line FILE ERE SECONDS: bounded wait until FILE has a matching line
wait_for_line() {
  n=0
  while [ $n -lt $(($3 * 10)) ]; do
    grep -qE "$2" "$1" 2>/dev/null && return 0
    sleep 0.1
    n=$((n + 1))
  done
  return 1
}
# hwtstamp IFACE: "tx=... rx=..." as SIOCGHWTSTAMP says (hw_probe_tool raw-get; in its netns)
hwtstamp() {
  if [ "$1" = "$HW_IF1" ]; then
    inpeer hw_probe_tool raw-get "$1" | sed -n 's/^raw_config=//p'
  else
    hw_probe_tool raw-get "$1" | sed -n 's/^raw_config=//p'
  fi
}
# expect_hwtstamp IFACE CONFIG WHAT
expect_hwtstamp() {
  got=$(hwtstamp "$1")
  if [ "$got" = "$2" ]; then ok "$3 ($1: $got)"; else not_ok "$3: $1 is '$got', want '$2'"; fi
}

# note WHAT: says what was detected and which checks therefore apply (not a check itself)
note() {
  echo "note - $*"
}
# phc_frozen IFACE: true when `ringstamp info` finds the interface's PHC not advancing (QEMU's
# e1000e); then no hardware stamp can be expected and the fallback checks apply instead.
phc_frozen() {
  ringstamp info -i "$1" 2>/dev/null | grep -q "FROZEN: the PHC does not advance"
}
# probe_lines_check FILE: every answered line of `probe client --json` in FILE: rtt = t4 - t1,
# dwell = t3 - t2, net = rtt - dwell, t1 < t2 <= t3 < t4 (one VM, one system clock), every
# stamp nonzero and within a day of now (on the system clock: a raw PHC time would not be).
# Stamps are compared as digit strings (awk's doubles cannot hold 19 digits); the figures are
# checked only when the stamps have at most 15 digits' difference. Prints
# "lines=N bad=M hardware=H" and the first bad lines.
probe_lines_check() {
  now=$(date +%s)
  awk -v now="$now" '
    # The last "k":{"ns":N,"source":"S"} of the line: the top-level stamp (keys are sorted,
    # so a nested one such as follow_up.t3 comes first).
    function field(k,   rest, s, re) {
      re = "\"" k "\":\\{\"ns\":-?[0-9]+,\"source\":\"[a-z-]+\""
      rest = $0
      s = ""
      while (match(rest, re)) {
        s = substr(rest, RSTART, RLENGTH)
        rest = substr(rest, RSTART + RLENGTH)
      }
      sub(/^.*"ns":/, "", s)
      return s
    }
    function ns(f) { return substr(f, 1, index(f, ",") - 1) }
    function src(f,   s) { s = f; sub(/^.*"source":"/, "", s); sub(/"$/, "", s); return s }
    function num(k,   s) {
      if (!match($0, "\"" k "\":-?[0-9]+")) return "null"
      s = substr($0, RSTART, RLENGTH); sub(/^.*:/, "", s); return s
    }
    function lt(a, b) { return length(a) < length(b) || (length(a) == length(b) && a < b) }
    function diff(a, b,   n) {  # a - b for equal-length digit strings close together
      n = length(a) - 12; if (n < 1) n = 1
      if (substr(a, 1, n) != substr(b, 1, n)) return "far"
      # A "1" in front of both tails: busybox awk reads a digit string with a leading 0 and
      # only digits 0-7 as octal ("072317453553"), which once made a good line look 64 s off.
      return ("1" substr(a, n + 1)) - ("1" substr(b, n + 1))
    }
    /"type":"summary"/ { next }
    /"status":"ok"/ {
      f1 = field("t1"); f2 = field("t2"); f3 = field("t3"); f4 = field("t4")
      lines++
      why = ""
      if (f1 == "" || f2 == "" || f3 == "" || f4 == "") why = "a stamp is missing"
      else {
        t1 = ns(f1); t2 = ns(f2); t3 = ns(f3); t4 = ns(f4)
        for (i = 1; i <= 4; i++) {
          t = (i == 1 ? t1 : i == 2 ? t2 : i == 3 ? t3 : t4)
          f = (i == 1 ? f1 : i == 2 ? f2 : i == 3 ? f3 : f4)
          if (src(f) ~ /^hardware/) hw++
          if (t == "0" || length(t) != 19 || substr(t, 1, 10) + 0 < now - 86400 || substr(t, 1, 10) + 0 > now + 60)
            why = why " t" i "=" t " off the system clock"
        }
        if (why == "") {
          if (!(lt(t1, t2) && !lt(t3, t2) && lt(t3, t4))) why = "not t1 < t2 <= t3 < t4"
          rtt = diff(t4, t1); dwell = diff(t3, t2)
          if (rtt == "far" || dwell == "far") why = why " stamps too far apart"
          else {
            if (num("rtt_ns") != rtt) why = why " rtt_ns " num("rtt_ns") " != t4 - t1 = " rtt
            if (num("dwell_ns") != dwell) why = why " dwell_ns " num("dwell_ns") " != t3 - t2 = " dwell
            if (num("network_rtt_ns") != rtt - dwell) why = why " network_rtt_ns != rtt - dwell"
          }
        }
      }
      if (why != "") { bad++; if (bad <= 3) print "bad line: " why ": " $0 }
    }
    END { printf "lines=%d bad=%d hardware=%d\n", lines, bad, hw }
  ' "$1"
}
# counters_balance FILE: the summary of `probe client --json` in FILE has
# sent = received + lost + late + in_flight
counters_balance() {
  line=$(grep '"type":"summary"' "$1" | tail -n1)
  get() { echo "$line" | sed -n "s/.*\"$1\":\([0-9]*\).*/\1/p"; }
  sent=$(get sent); rec=$(get received); lost=$(get lost); late=$(get late); fl=$(get in_flight)
  [ -n "$sent" ] && [ "$sent" -eq $((rec + lost + late + ${fl:-0})) ] && [ "${rec:-0}" -gt 0 ]
}

finish_checks() {
  echo "hwcheck summary: ok=$checks_ok failed=$checks_failed"
  [ "$checks_failed" -eq 0 ] && [ "$checks_ok" -gt 0 ]
  exit $?
}
