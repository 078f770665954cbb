#!/usr/bin/env bash
# Checks that ctest runs every doctest test case exactly once: no test name contains a
# character that splits or widens its ctest entry (';' is a CMake list separator, '*' and
# '?' are doctest filter wildcards), names are unique, and the ctest entries labelled unit
# and netns are exactly the test cases each binary lists (an entry also labelled `script`,
# a shell script's test such as netns_lan_demo, is not a doctest case and is left out).
#
#   scripts/check_test_registration.sh BUILD_DIR UNIT_TESTS_BIN NETNS_TESTS_BIN
set -euo pipefail
build=$1 unit=$2 netns=$3
fail=0

list_cases() {  # the test case names a doctest binary lists, one a line
  "$1" --list-test-cases --no-version | sed -e '/^\[doctest\]/d' -e '/^=\+$/d' -e '/^$/d'
}

check() {  # check LABEL BINARY
  local label=$1 bin=$2 cases entries
  cases=$(list_cases "$bin" | sort)
  entries=$(ctest --test-dir "$build" -N -L "^$label\$" -LE '^script$' | sed -n 's/^ *Test *#[0-9]*: //p' | sort)
  local bad
  bad=$(grep -n '[;*?]' <<<"$cases" || true)
  if [ -n "$bad" ]; then
    echo "test names with ';', '*' or '?' (they split or widen the ctest entry): $bad" >&2
    fail=1
  fi
  local dups
  dups=$(uniq -d <<<"$cases")
  if [ -n "$dups" ]; then
    echo "test names used twice in $(basename "$bin"): $dups" >&2
    fail=1
  fi
  if [ "$cases" != "$entries" ]; then
    echo "$(basename "$bin"): doctest lists $(wc -l <<<"$cases") test cases, ctest has" \
      "$(wc -l <<<"$entries") entries labelled $label; they differ:" >&2
    diff <(echo "$cases") <(echo "$entries") | head -20 >&2 || true
    fail=1
  else
    echo "$(basename "$bin"): $(wc -l <<<"$cases") test cases, one ctest entry each"
  fi
}

check unit "$unit"
check netns "$netns"
exit $fail
