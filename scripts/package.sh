#!/usr/bin/env bash
# Builds the Debian packages: ringstamp (the command, the shared library, man pages, bash
# completion; its postinst gives the binary CAP_NET_RAW/CAP_NET_ADMIN for the `ringstamp`
# group) and ringstamp-dev (headers, static libraries, CMake package, ringstamp.pc).
#
#   sudo scripts/package.sh [OUT_DIR]      # default OUT_DIR: build-package/
#   sudo apt-get install ./build-package/ringstamp_*.deb
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-build-package}
if [ "$(id -u)" -eq 0 ]; then scripts/bootstrap.sh; fi
cmake -S . -B build-package -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX=/usr \
  -DRINGSTAMP_BUILD_TESTS=OFF -DRINGSTAMP_BENCH=OFF -DRINGSTAMP_BUILD_EXAMPLES=OFF >/dev/null
cmake --build build-package -j"$(nproc)"
mkdir -p "$out"
(cd build-package && cpack -G DEB -B "$(cd .. && realpath "$out")")
ls -1 "$out"/*.deb
