#!/bin/bash
# check_package.sh BUILD_DIR — builds the two .deb packages of BUILD_DIR with CPack, checks
# their control data (dependencies found by dpkg-shlibdeps, the postinst), unpacks them into
# an empty directory and runs the command from there; checks the man pages render and the
# bash completion completes. Cleans up.
set -euo pipefail
build=$1
work=$(mktemp -d /tmp/rs-package.XXXXXX)
trap 'rm -rf "$work"' EXIT

(cd "$work" && cpack -G DEB --config "$build/CPackConfig.cmake" -B "$work/out" >"$work/cpack.log" 2>&1) ||
  { cat "$work/cpack.log"; exit 1; }
runtime=$(ls "$work"/out/ringstamp_*.deb)
dev=$(ls "$work"/out/ringstamp-dev_*.deb)
echo "built: $(basename "$runtime") $(basename "$dev")"

fail() { echo "check_package: $*" >&2; exit 1; }
depends=$(dpkg-deb -f "$runtime" Depends)
echo "Depends: $depends"
for lib in libpcap0.8 liburing2 libmnl0 libcap2; do
  grep -q "$lib" <<<"$depends" || fail "runtime package does not depend on $lib"
done
dpkg-deb -I "$runtime" postinst | grep -q "setcap cap_net_raw,cap_net_admin+ep" ||
  fail "runtime package has no postinst that sets the capabilities"
dpkg-deb -f "$dev" Depends | grep -q "ringstamp (=" || fail "dev package does not depend on ringstamp"

root=$work/root
dpkg-deb -x "$runtime" "$root"
dpkg-deb -x "$dev" "$root"
version=$("$root/usr/bin/ringstamp" --version)
echo "from the package: $version"
[[ $version == "ringstamp "* ]] || fail "ringstamp --version printed '$version'"
for page in ringstamp ringstamp-capture ringstamp-gen ringstamp-info ringstamp-probe-server \
  ringstamp-probe-client; do
  f=$(ls "$root"/usr/share/man/man1/"$page".1* 2>/dev/null | head -1)
  [ -n "$f" ] || fail "no man page $page.1"
  MANWIDTH=80 man -l "$f" 2>/dev/null | grep -q "^NAME" || fail "man page $page does not render"
done
[ -f "$root/usr/include/ringstamp/engine/conn/rudp_conn.h" ] || fail "dev package has no headers"
[ -n "$(find "$root/usr/lib" -name ringstamp.pc)" ] || fail "dev package has no ringstamp.pc"

# The completion, driven as bash drives it: `ringstamp ca<TAB>` and `ringstamp capture --sn<TAB>`.
comp=$root/usr/share/bash-completion/completions/ringstamp
[ -f "$comp" ] || fail "no bash completion installed"
got=$(PATH="$root/usr/bin:$PATH" bash -c '
  source "$1"
  COMP_WORDS=(ringstamp ca); COMP_CWORD=1; _ringstamp; echo "${COMPREPLY[*]}"
  COMP_WORDS=(ringstamp capture --sn); COMP_CWORD=2; _ringstamp; echo "${COMPREPLY[*]}"
  COMP_WORDS=(ringstamp probe c); COMP_CWORD=2; _ringstamp; echo "${COMPREPLY[*]}"' _ "$comp")
echo "completion: $(tr '\n' '|' <<<"$got")"
[ "$got" = $'capture\n--snaplen\nclient' ] || fail "completion gave '$got'"
echo "check_package: ok"
