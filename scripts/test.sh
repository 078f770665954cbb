#!/usr/bin/env bash
# The test command: installs what is needed, builds with warnings as errors, runs every
# test through ctest, then again in the ASan+UBSan configuration, and builds the other
# build types (Debug, Release, MinSizeRel: every target, warnings as errors, no test run),
# and runs every libFuzzer target for 10 s.
# Exits non-zero on any failure.
#
#   sudo scripts/test.sh            # everything
#   RINGSTAMP_SKIP_SANITIZE=1 RINGSTAMP_ALLOW_SKIP=sanitize sudo scripts/test.sh
#                                   # without the sanitizer pass (local iteration only)
#   RINGSTAMP_SKIP_BUILD_TYPES=1 RINGSTAMP_ALLOW_SKIP=build-types sudo scripts/test.sh
#                                   # without the other build types (local iteration only)
#
# A test that cannot run here reports Skipped (exit 77) and says why. The run fails on any
# skip unless its category is named in RINGSTAMP_ALLOW_SKIP (comma-separated: root, kernel,
# tool, hw, sanitize, build-types, fuzz; or "all"), e.g. RINGSTAMP_SKIP_HW=1 RINGSTAMP_ALLOW_SKIP=hw.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
  echo "test.sh: run as root (sudo scripts/test.sh): it installs packages and the integration" >&2
  echo "tests create network namespaces" >&2
  exit 1
fi

scripts/bootstrap.sh
jobs=$(nproc)
# Namespaces that exist before the tests (someone else's) are not the tests' leftovers.
ns_before=$(ip netns list 2>/dev/null | awk '{print $1}' | sort)

skip_log=$(mktemp /tmp/ringstamp-skips.XXXXXX)
trap 'rm -f "$skip_log"' EXIT
export RINGSTAMP_SKIP_LOG=$skip_log

run_config() {
  local dir=$1; shift
  echo "== configure $dir ($*)"
  cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRINGSTAMP_WERROR=ON "$@" >/dev/null
  echo "== build $dir"
  cmake --build "$dir" -j"$jobs"
  echo "== test $dir"
  # -LE soak: the ten-minute runs are asked for by name (ctest -L soak), not run here.
  ctest --test-dir "$dir" --output-on-failure --timeout 600 -j1 -LE soak
}

run_config build
if [ "${RINGSTAMP_SKIP_SANITIZE:-0}" = 1 ]; then
  printf 'sanitize\t(ASan+UBSan pass)\tRINGSTAMP_SKIP_SANITIZE=1\n' >>"$skip_log"
else
  # The sanitizer pass skips benchmarks' build only; every test runs again.
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    run_config build-sanitize -DRINGSTAMP_SANITIZE=ON -DRINGSTAMP_BENCH=OFF
fi

# Every build type must build (a packager picks one; a new warning at -O3 or -Os fails here,
# not on their machine). The tests ran above; here only the build is checked.
if [ "${RINGSTAMP_SKIP_BUILD_TYPES:-0}" = 1 ]; then
  printf 'build-types\t(Debug, Release, MinSizeRel builds)\tRINGSTAMP_SKIP_BUILD_TYPES=1\n' >>"$skip_log"
else
  for type in Release Debug MinSizeRel; do
    dir=build-$(echo "$type" | tr '[:upper:]' '[:lower:]')
    echo "== configure $dir (CMAKE_BUILD_TYPE=$type)"
    cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE="$type" -DRINGSTAMP_WERROR=ON >/dev/null
    echo "== build $dir"
    cmake --build "$dir" -j"$jobs"
  done
fi

# A short run of every fuzz target (scripts/fuzz.sh; clang, ASan+UBSan): a finding fails.
if [ "${RINGSTAMP_SKIP_FUZZ:-0}" = 1 ]; then
  printf 'fuzz\t(libFuzzer targets, 10 s each)\tRINGSTAMP_SKIP_FUZZ=1\n' >>"$skip_log"
else
  echo "== fuzz (10 s per target)"
  scripts/fuzz.sh 10
fi

left=$(comm -13 <(echo "$ns_before") <(ip netns list 2>/dev/null | awk '{print $1}' | sort) |
  grep -E '^rs' || true)
if [ -n "$left" ]; then
  echo "test.sh: namespaces left behind by a test: $left" >&2
  exit 1
fi
# Every skip is shown with its reason; one whose category was not allowed fails the run.
allowed=",${RINGSTAMP_ALLOW_SKIP:-},"
if [ -s "$skip_log" ]; then
  echo "== $(wc -l <"$skip_log") test(s) skipped:"
  awk -F'\t' '{printf "   [%s] %s: %s\n", $1, $2, $3}' "$skip_log"
  unallowed=$(awk -F'\t' '{print $1}' "$skip_log" | sort -u | while read -r cat; do
    case "$allowed" in *",all,"* | *",$cat,"*) ;; *) echo "$cat" ;; esac
  done)
  if [ -n "$unallowed" ]; then
    echo "test.sh: tests were skipped in categories not allowed: $(echo $unallowed)." \
      "Fix what they need, or allow them by name: RINGSTAMP_ALLOW_SKIP=$(echo $unallowed | tr ' ' ,)" >&2
    exit 1
  fi
  echo "== all tests passed (skips above allowed by RINGSTAMP_ALLOW_SKIP)"
else
  echo "== all tests passed, none skipped"
fi
