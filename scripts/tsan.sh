#!/usr/bin/env bash
# Runs tests under ThreadSanitizer: builds build-tsan (RINGSTAMP_TSAN=ON), runs the ctest
# entries matching REGEX (default: every unit and namespace test), and fails when TSan
# reported anything (its reports are kept in build-tsan/tsan-reports/).
#
#   sudo scripts/tsan.sh                      # everything (slow: ~3x the plain run)
#   sudo scripts/tsan.sh 'relay|conn|probe'   # a subset
set -euo pipefail
cd "$(dirname "$0")/.."
regex=${1:-.}
cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRINGSTAMP_TSAN=ON -DRINGSTAMP_BENCH=OFF \
  -DRINGSTAMP_INSTALL=OFF -DRINGSTAMP_WERROR=ON >/dev/null
cmake --build build-tsan -j"$(nproc)" --target unit_tests netns_tests ringstamp
reports=$PWD/build-tsan/tsan-reports
rm -rf "$reports" && mkdir -p "$reports"
export TSAN_OPTIONS="halt_on_error=0 second_deadlock_stack=1 log_path=$reports/report"
ctest --test-dir build-tsan -R "$regex" -L 'unit|netns' --output-on-failure --timeout 900 -j1
if compgen -G "$reports/report*" >/dev/null; then
  echo "tsan.sh: ThreadSanitizer reports in $reports:" >&2
  grep -h "^WARNING\|^SUMMARY" "$reports"/report* | sort | uniq -c >&2
  exit 1
fi
echo "tsan.sh: no ThreadSanitizer report"
