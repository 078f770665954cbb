#!/bin/bash
# check_install.sh BUILD_DIR SOURCE_DIR — installs the build into a temporary prefix, then
# builds tests/install/consumer (and examples/, when it exists) as separate projects against
# it: with find_package(ringstamp CONFIG) and with pkg-config. Runs what it built: as root,
# the standalone udp_time server in a namespace pair of its own, asked by `nc -u` from the
# other side. Cleans up (namespaces too), also on failure; every wait is bounded.
set -euo pipefail
build=$1
src=$2
work=$(mktemp -d /tmp/rs-install.XXXXXX)
ns_a= ns_b= server_pid=
cleanup() {
  if [ -n "$server_pid" ]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  for ns in $ns_a $ns_b; do ip netns del "$ns" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
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

  # The standalone udp_time, run: server in ns_a on an address the OS does not have,
  # the kernel's UDP client (nc -u) in ns_b.
  if [ "$(id -u)" -ne 0 ] || ! command -v nc >/dev/null; then
    echo "check_install: not root or no nc: udp_time not run"
  else
    echo "== examples/udp_time (standalone build) against nc -u =="
    sfx=$$
    ns_a=rsia$sfx ns_b=rsib$sfx
    ip netns add "$ns_a"
    ip netns add "$ns_b"
    ip link add "rsia$sfx" netns "$ns_a" type veth peer name "rsib$sfx" netns "$ns_b"
    ip -n "$ns_a" link set lo up
    ip -n "$ns_b" link set lo up
    ip -n "$ns_a" link set "rsia$sfx" up
    ip -n "$ns_b" link set "rsib$sfx" up
    ip -n "$ns_b" addr add 10.213.0.2/24 dev "rsib$sfx"
    LD_LIBRARY_PATH="$prefix/$libdir" timeout 60 ip netns exec "$ns_a" \
      "$work/examples/udp_time" server -i "rsia$sfx" --ip 10.213.0.10/24 2>"$work/udp_time.err" &
    server_pid=$!
    for _ in $(seq 1 100); do  # up to 10 s
      grep -q "serving on" "$work/udp_time.err" && break
      sleep 0.1
    done
    if ! grep -q "serving on" "$work/udp_time.err"; then
      echo "check_install: udp_time server did not start:" >&2
      cat "$work/udp_time.err" >&2
      exit 1
    fi
    answer=
    for _ in 1 2 3; do  # the first datagram may wait on ARP
      answer=$(echo 'SAY HI' | timeout 10 ip netns exec "$ns_b" nc -u -w2 10.213.0.10 7007 || true)
      [ -n "$answer" ] && break
    done
    if [ "$answer" != "Hello, World!" ]; then
      echo "check_install: udp_time answered '$answer' to SAY HI, want 'Hello, World!'" >&2
      cat "$work/udp_time.err" >&2
      exit 1
    fi
    echo "udp_time: SAY HI -> $answer"
    kill "$server_pid"
    wait "$server_pid" || { echo "check_install: udp_time server exited $?" >&2; exit 1; }
    server_pid=
    ip netns del "$ns_a"
    ip netns del "$ns_b"
    ns_a= ns_b=
  fi
fi
echo "check_install: ok"
