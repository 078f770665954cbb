#!/bin/bash
# check_install.sh BUILD_DIR SOURCE_DIR — installs the build into a temporary prefix, then
# builds tests/install/consumer (and examples/, when it exists) as separate projects against
# it: with find_package(ringstamp CONFIG) and with pkg-config. Runs what it built. Cleans up.
set -euo pipefail
build=$1
src=$2
work=$(mktemp -d /tmp/rs-install.XXXXXX)
trap 'rm -rf "$work"' EXIT
prefix=$work/prefix

cmake --install "$build" --prefix "$prefix" >"$work/install.log"
libdir=$(sed -n 's/^CMAKE_INSTALL_LIBDIR:PATH=//p' "$build/CMakeCache.txt")
for f in include/ringstamp/engine/conn/rudp_conn.h include/ringstamp/common/clock.h \
  "$libdir/cmake/ringstamp/ringstampConfig.cmake" "$libdir/cmake/ringstamp/ringstampConfigVersion.cmake" \
  "$libdir/pkgconfig/ringstamp.pc" "$libdir/libringstamp_probe.a" "$libdir/libringstamp.so"; do
  if [ ! -e "$prefix/$f" ]; then
    echo "check_install: $f was not installed" >&2
    exit 1
  fi
done
if [ -n "$(find "$prefix/include/ringstamp" -type f ! -name '*.h')" ]; then
  echo "check_install: files other than headers under include/ringstamp" >&2
  exit 1
fi

# A sanitizer build installs sanitized libraries: consumers link the same runtime.
san_flags=
if grep -q '^RINGSTAMP_SANITIZE:BOOL=ON' "$build/CMakeCache.txt"; then
  san_flags="-fsanitize=address,undefined"
fi

echo "== find_package(ringstamp) =="
cmake -S "$src/tests/install/consumer" -B "$work/consumer" -DCMAKE_PREFIX_PATH="$prefix" \
  -DCMAKE_CXX_FLAGS="$san_flags" -DCMAKE_EXE_LINKER_FLAGS="$san_flags" >"$work/cfg.log" ||
  { cat "$work/cfg.log"; exit 1; }
cmake --build "$work/consumer" -j2 >"$work/build.log" || { cat "$work/build.log"; exit 1; }
"$work/consumer/consumer_static"
LD_LIBRARY_PATH="$prefix/$libdir" "$work/consumer/consumer_shared"

echo "== pkg-config ringstamp =="
export PKG_CONFIG_PATH="$prefix/$libdir/pkgconfig"
pkg-config --modversion ringstamp
# shellcheck disable=SC2046
# shellcheck disable=SC2086
g++ -std=c++20 $san_flags -I"$src/tests/install/consumer" "$src/tests/install/consumer/consumer.cc" \
  $(pkg-config --cflags --libs ringstamp) -o "$work/consumer_pc"
LD_LIBRARY_PATH="$prefix/$libdir" "$work/consumer_pc"

if [ -f "$src/examples/CMakeLists.txt" ]; then
  echo "== examples/ against the installed package =="
  cmake -S "$src/examples" -B "$work/examples" -DCMAKE_PREFIX_PATH="$prefix" \
    -DCMAKE_CXX_FLAGS="$san_flags" -DCMAKE_EXE_LINKER_FLAGS="$san_flags" >"$work/ex-cfg.log" ||
    { cat "$work/ex-cfg.log"; exit 1; }
  cmake --build "$work/examples" -j2 >"$work/ex-build.log" || { cat "$work/ex-build.log"; exit 1; }
  ls "$work/examples"
fi
echo "check_install: ok"
