#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz with clang (build-fuzz/, ASan+UBSan) and runs
# each for SECONDS, starting from the committed seeds (tests/fuzz/corpus/<target>/).
# Prints executions per target; a crash, leak, sanitizer report or timeout fails the run and
# leaves the input in build-fuzz/findings/ (reproduce: build-fuzz/fuzz/<target> <file>).
#
#   scripts/fuzz.sh              # every target, 60 s each
#   scripts/fuzz.sh 10           # every target, 10 s each (the test command's short pass)
#   scripts/fuzz.sh 300 fuzz_parse_frame fuzz_v3_block
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true
if ! command -v clang++ >/dev/null; then
  echo "fuzz.sh: clang++ not found (apt-get install clang libclang-rt-14-dev)" >&2
  exit 1
fi
CC=clang CXX=clang++ cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRINGSTAMP_FUZZ=ON \
  -DRINGSTAMP_BUILD_TESTS=OFF -DRINGSTAMP_BENCH=OFF -DRINGSTAMP_BUILD_APPS=OFF \
  -DRINGSTAMP_BUILD_EXAMPLES=OFF -DRINGSTAMP_INSTALL=OFF >/dev/null
cmake --build build-fuzz -j"$(nproc)" --target fuzz_targets
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <(cd tests/fuzz && ls fuzz_*.cc | sed 's/\.cc$//')
fi
findings=$PWD/build-fuzz/findings
mkdir -p "$findings"
failed=()
for t in "${targets[@]}"; do
  work=$(mktemp -d /tmp/rs-fuzz-$t.XXXXXX)
  seeds=tests/fuzz/corpus/$t
  [ -d "$seeds" ] || seeds=$work
  set +e
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    "build-fuzz/fuzz/$t" "$work" "$seeds" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$findings/$t-" >"$work/log" 2>&1
  rc=$?
  set -e
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log" | tail -1)
  cov=$(grep -o 'cov: [0-9]*' "$work/log" | tail -1)
  printf '%-24s %12s executions, %s%s\n' "$t" "${execs:-?}" "${cov:-cov: ?}" "$([ $rc -ne 0 ] && echo "  FINDING (exit $rc)")"
  if [ $rc -ne 0 ]; then
    failed+=("$t")
    grep -m5 -E "ERROR|SUMMARY|runtime error" "$work/log" >&2 || true
    cp "$work/log" "$findings/$t.log"
  fi
  rm -rf "$work"
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz.sh: findings in ${failed[*]} (inputs and logs in $findings)" >&2
  exit 1
fi
echo "fuzz.sh: ${#targets[@]} targets, ${seconds} s each, no finding"
