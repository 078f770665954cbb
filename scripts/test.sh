#!/usr/bin/env bash
# The test command: installs what is needed, builds with warnings as errors, runs every
# test through ctest, then again in the ASan+UBSan configuration. Exits non-zero on any failure.
#
#   sudo scripts/test.sh            # everything
#   RINGSTAMP_SKIP_SANITIZE=1 sudo scripts/test.sh   # skip the sanitizer pass (local iteration only)
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

run_config() {
  local dir=$1; shift
  echo "== configure $dir ($*)"
  cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
  echo "== build $dir"
  cmake --build "$dir" -j"$jobs"
  echo "== test $dir"
  ctest --test-dir "$dir" --output-on-failure --timeout 600 -j1
}

run_config build
if [ "${RINGSTAMP_SKIP_SANITIZE:-0}" != 1 ]; then
  # The sanitizer pass skips benchmarks' build only; every test runs again.
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    run_config build-sanitize -DRINGSTAMP_SANITIZE=ON -DRINGSTAMP_BENCH=OFF
fi

left=$(comm -13 <(echo "$ns_before") <(ip netns list 2>/dev/null | awk '{print $1}' | sort) |
  grep -E '^(rs[ab]|rs-)' || true)
if [ -n "$left" ]; then
  echo "test.sh: namespaces left behind by a test: $left" >&2
  exit 1
fi
echo "== all tests passed"
