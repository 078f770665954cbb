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

finish_checks() {
  echo "hwcheck summary: ok=$checks_ok failed=$checks_failed"
  [ "$checks_failed" -eq 0 ] && [ "$checks_ok" -gt 0 ]
  exit $?
}
