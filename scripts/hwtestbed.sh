#!/usr/bin/env bash
# hwtestbed.sh — runs a command inside a small VM that has two real hardware-timestamping NICs:
# Debian's 6.12 kernel with its e1000e driver, under QEMU (TCG) emulating two Intel 82574L on one
# hub. This is where ringstamp's hardware-timestamp paths (SIOCSHWTSTAMP negotiation, restore, PHC
# discovery and reading) meet a real driver; a veth pair has none of them.
#
#   scripts/hwtestbed.sh -- ringstamp info -i eth0
#   scripts/hwtestbed.sh --timeout 120 --bin build/bin/hw_probe_tool -- sh /hwtest/lib_check.sh
#   scripts/hwtestbed.sh --prepare          # fetch and cache everything, boot nothing
#
# What it needs:
#   - qemu-system-x86 and busybox-static from Debian's packages: installed with apt-get when
#     missing (that needs root once). QEMU itself needs no root: TCG, no KVM, no tap device.
#     (/dev/kvm may exist, but KVM stops with an emulation failure on this machine kind.)
#   - the kernel package $RINGSTAMP_HW_KERNEL_PKG (default below), fetched with `apt-get download`
#     into the cache dir. If Debian's archive no longer lists that exact version, the newest
#     linux-image-6.12.*+deb12-amd64-unsigned it lists is used instead (said on stderr).
#   - the cache dir (default /var/cache/ringstamp-hwtestbed, or ~/.cache/ringstamp-hwtestbed when
#     that is not writable) keeps the .deb, the extracted kernel and modules and the base
#     initramfs, so a warm run needs no network and no apt: it boots in about 10-20 s.
#   - iproute2's `ip` on the host (copied into the VM: busybox's ip has no netns).
#
# The VM (see scripts/hwtestbed/init.sh): two e1000e NICs on one QEMU hub and no other network
# (no user-mode netdev: nothing leaves the VM). /init loads e1000e, keeps the NIC with MAC
# $HW_MAC0 in the initial namespace ($HW_IF0, 10.77.0.1/24) and moves the other into network
# namespace "peer" ($HW_IF1, 10.77.0.2/24), so traffic between the two addresses crosses the
# emulated wire. It runs COMMAND (with HW_* variables set, cwd /tmp, stdin /dev/null), prints a
# marker line with the exit code, and powers off.
#
# Options:
#   --timeout S      the VM's run, boot included (default 300); QEMU is killed when it expires.
#                    Fetching and caching come before and are not counted (--prepare does them)
#   --ringstamp PATH the ringstamp binary copied to /usr/local/bin (default: $RINGSTAMP_BIN, else
#                    build/bin/ringstamp when it exists)
#   --bin PATH       another file for /usr/local/bin (repeatable); ELF files bring their shared
#                    libraries and the loader; debug info is stripped from the copies
#   --env NAME=VALUE exported to COMMAND (repeatable)
#   --prepare        fetch, install and cache, then exit 0 without booting
# scripts/hwtestbed/*.sh are always copied to /hwtest/ in the VM.
#
# Exit code: COMMAND's own exit code, or 124 on timeout, 125 when the testbed could not be set up
# (a package cannot be obtained, no binary, /init could not bring the NICs up), 126 when the VM
# ended without reporting one (kernel panic, QEMU error), 77 when RINGSTAMP_SKIP_HW=1 (nothing
# is run: ctest says "skipped"). A guest kernel that panics before /init runs is booted again,
# up to three boots within --timeout; a VM that ends after /init started is never rebooted.
# Environment: RINGSTAMP_SKIP_HW, RINGSTAMP_HW_KERNEL_PKG, RINGSTAMP_HW_CACHE, RINGSTAMP_BIN.
set -euo pipefail

readonly DEFAULT_KERNEL_PKG=linux-image-6.12.117+deb12-amd64-unsigned
readonly EXIT_TIMEOUT=124 EXIT_SETUP=125 EXIT_NO_MARKER=126 EXIT_SKIP=77
readonly HW_MAC0=52:54:00:72:73:01 HW_MAC1=52:54:00:72:73:02
# Modules loaded in the VM, with their dependencies (found from each module's depends= field).
readonly HW_MODULES=(e1000e)

repo=$(cd "$(dirname "$0")/.." && pwd)

log() { echo "hwtestbed: $*" >&2; }
die() {
  log "$*"
  exit "$EXIT_SETUP"
}

timeout_s=300
ringstamp_bin=${RINGSTAMP_BIN:-}
extra_bins=()
extra_env=()
prepare_only=0
while [ $# -gt 0 ]; do
  case "$1" in
    --timeout) timeout_s=${2:?--timeout needs seconds}; shift 2 ;;
    --ringstamp) ringstamp_bin=${2:?--ringstamp needs a path}; shift 2 ;;
    --bin) extra_bins+=("${2:?--bin needs a path}"); shift 2 ;;
    --env) extra_env+=("${2:?--env needs NAME=VALUE}"); shift 2 ;;
    --prepare) prepare_only=1; shift ;;
    --) shift; break ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option '$1' (usage: hwtestbed.sh [options] -- COMMAND...; --help lists them)" ;;
  esac
done
[[ "$timeout_s" =~ ^[0-9]+$ ]] && [ "$timeout_s" -gt 0 ] || die "--timeout wants whole seconds > 0, got '$timeout_s'"
if [ "$prepare_only" = 0 ] && [ $# -eq 0 ]; then
  die "no COMMAND (usage: hwtestbed.sh [options] -- COMMAND...)"
fi
for e in "${extra_env[@]+"${extra_env[@]}"}"; do
  [[ "$e" =~ ^[A-Za-z_][A-Za-z0-9_]*= ]] || die "--env wants NAME=VALUE, got '$e'"
done

if [ "${RINGSTAMP_SKIP_HW:-0}" = 1 ]; then
  log "RINGSTAMP_SKIP_HW=1: hardware-timestamping VM tests skipped"
  if [ -n "${RINGSTAMP_SKIP_LOG:-}" ]; then
    printf 'hw\thwtestbed %s\tRINGSTAMP_SKIP_HW=1\n' "${*:-prepare}" >>"$RINGSTAMP_SKIP_LOG"
  fi
  exit "$EXIT_SKIP"
fi

# ---------------------------------------------------------------- cache dir and lock
cache=${RINGSTAMP_HW_CACHE:-/var/cache/ringstamp-hwtestbed}
if ! mkdir -p "$cache" 2>/dev/null || [ ! -w "$cache" ]; then
  if [ -n "${RINGSTAMP_HW_CACHE:-}" ]; then die "cache dir $cache is not writable"; fi
  cache=${XDG_CACHE_HOME:-$HOME/.cache}/ringstamp-hwtestbed
  mkdir -p "$cache" || die "cannot create cache dir $cache"
fi
# One preparer at a time (parallel ctest runs, two developers); booting needs no lock.
exec 9>"$cache/.lock"
flock -w 600 9 || die "cache $cache is locked by another hwtestbed run for over 600 s"

# ---------------------------------------------------------------- host packages
have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
apt_updated=0
apt_update_once() {
  [ "$apt_updated" = 1 ] && return 0
  apt_updated=1
  log "apt-get update"
  apt-get update -qq >&2 || log "apt-get update failed (going on with the lists there are)"
}

missing=()
command -v qemu-system-x86_64 >/dev/null || missing+=(qemu-system-x86)
# Any static /bin/busybox will do (the VM has no libc for a dynamic one); busybox-static has it.
if ! have_pkg busybox-static && { [ ! -x /bin/busybox ] || ldd /bin/busybox >/dev/null 2>&1; }; then
  missing+=(busybox-static)
fi
command -v ip >/dev/null || missing+=(iproute2)
command -v xz >/dev/null || missing+=(xz-utils)
command -v strip >/dev/null || missing+=(binutils)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    die "missing Debian packages ${missing[*]}: run once as root (sudo $0 --prepare) or" \
      "apt-get install ${missing[*]}; set RINGSTAMP_SKIP_HW=1 to skip the hardware tests"
  fi
  log "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2; then
    apt_update_once
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2 ||
      die "apt-get install ${missing[*]} failed: the hardware tests need them" \
        "(set RINGSTAMP_SKIP_HW=1 to skip them)"
  fi
fi
busybox=/bin/busybox
[ -x "$busybox" ] || die "$busybox missing although busybox-static is installed (reinstall it)"

# ---------------------------------------------------------------- kernel package
# Prints the candidate version apt knows for package $1, or nothing.
apt_candidate() {
  apt-cache policy "$1" 2>/dev/null | sed -n 's/^ *Candidate: //p' | grep -v '^(none)$' || true
}

# Newest linux-image-6.12.N+deb12-amd64-unsigned that apt lists.
newest_612_pkg() {
  apt-cache search --names-only '^linux-image-6\.12\.[0-9]+\+deb12-amd64-unsigned$' 2>/dev/null |
    awk '{print $1}' | sort -V | tail -n1
}

# Sets kernel_pkg to a package apt can fetch: the one asked for, or (the default only) the newest
# 6.12 one apt lists. Returns 1 when there is none.
resolve_kernel_pkg() {
  kernel_pkg=${RINGSTAMP_HW_KERNEL_PKG:-$DEFAULT_KERNEL_PKG}
  [ -n "$(apt_candidate "$kernel_pkg")" ] && return 0
  [ -z "${RINGSTAMP_HW_KERNEL_PKG:-}" ] || return 1
  local fallback
  fallback=$(newest_612_pkg)
  [ -n "$fallback" ] || return 1
  log "$kernel_pkg is not in the archive any more; using $fallback"
  kernel_pkg=$fallback
}
# Downloads $kernel_pkg into $cache/debs; prints the .deb's path.
download_kernel_pkg() {
  local dl
  log "downloading $kernel_pkg ($(apt_candidate "$kernel_pkg"), about 110 MB)"
  dl=$(mktemp -d "$cache/debs/.dl.XXXXXX")
  if (cd "$dl" && apt-get download -q -o APT::Sandbox::User=root "$kernel_pkg" >&2); then
    mv "$dl"/*.deb "$cache/debs/"
    rmdir "$dl"
    ls "$cache/debs/${kernel_pkg}"_*.deb | sort -V | tail -n1
  else
    rm -rf "$dl"
    return 1
  fi
}
no_kernel() {
  die "cannot obtain Debian's kernel package ${RINGSTAMP_HW_KERNEL_PKG:-$DEFAULT_KERNEL_PKG} (nor," \
    "for the default, any linux-image-6.12.*+deb12-amd64-unsigned) with apt: the hardware tests" \
    "need it. Check apt's sources and network, or set RINGSTAMP_SKIP_HW=1 to skip them"
}

kernel_pkg=${RINGSTAMP_HW_KERNEL_PKG:-$DEFAULT_KERNEL_PKG}
kdir=$cache/kernel/$kernel_pkg
if [ ! -f "$kdir/.complete" ] && [ -z "${RINGSTAMP_HW_KERNEL_PKG:-}" ]; then
  # The default is not cached: a kernel cached earlier as its fallback will do (a warm run must
  # not need apt), unless apt offers the default itself.
  cached=$(ls -d "$cache"/kernel/linux-image-6.12.*/.complete 2>/dev/null | sort -V | tail -n1 || true)
  if [ -n "$cached" ] && [ -z "$(apt_candidate "$kernel_pkg")" ]; then
    kernel_pkg=$(basename "$(dirname "$cached")")
    kdir=$cache/kernel/$kernel_pkg
  fi
fi
if [ ! -f "$kdir/.complete" ]; then
  mkdir -p "$cache/debs"
  deb=$(ls "$cache/debs/${kernel_pkg}"_*.deb 2>/dev/null | sort -V | tail -n1 || true)
  if [ -z "$deb" ]; then
    # apt's lists may be missing or stale (a version the archive has dropped): update once.
    if ! resolve_kernel_pkg; then
      apt_update_once
      resolve_kernel_pkg || no_kernel
    fi
    if ! deb=$(download_kernel_pkg); then
      [ "$apt_updated" = 0 ] || no_kernel
      apt_update_once
      resolve_kernel_pkg || no_kernel
      deb=$(download_kernel_pkg) || no_kernel
    fi
    kdir=$cache/kernel/$kernel_pkg
  fi
  if [ ! -f "$kdir/.complete" ]; then
    log "extracting $(basename "$deb")"
    rm -rf "$kdir" "$kdir.tmp"
    mkdir -p "$kdir.tmp"
    dpkg-deb -x "$deb" "$kdir.tmp" || die "dpkg-deb -x $deb failed (corrupt download? delete it and rerun)"
    touch "$kdir.tmp/.complete"
    mv "$kdir.tmp" "$kdir"
  fi
fi
vmlinuz=$(ls "$kdir"/boot/vmlinuz-* 2>/dev/null | head -n1 || true)
[ -n "$vmlinuz" ] || die "no boot/vmlinuz-* in $kdir (delete it and rerun)"
kver=${vmlinuz##*/vmlinuz-}
moddir=$kdir/lib/modules/$kver
[ -d "$moddir" ] || die "no lib/modules/$kver in $kdir"

# ---------------------------------------------------------------- base initramfs (cached)
# busybox and the modules. The per-run part (init, binaries, command) is a second cpio archive
# appended to it: the kernel unpacks concatenated archives in order.
find_module() {  # module name (dashes and underscores alike) -> path of its .ko[.xz|.zst|.gz]
  local n=$1
  find "$moddir/kernel" \( -name "$n.ko*" -o -name "${n//_/-}.ko*" -o -name "${n//-/_}.ko*" \) -print -quit
}
module_info() {  # path, field -> value of field= in the module's .modinfo strings
  case "$1" in
    *.xz) xz -dc "$1" ;;
    *.zst) zstd -dc "$1" ;;
    *.gz) gzip -dc "$1" ;;
    *) cat "$1" ;;
  esac | tr '\0' '\n' | sed -n "s/^$2=//p" | head -n1
}
mod_order=()
add_module() {  # depth-first: dependencies before the module
  local name=$1 path dep
  for m in "${mod_order[@]+"${mod_order[@]}"}"; do [ "$m" = "$name" ] && return 0; done
  path=$(find_module "$name")
  [ -n "$path" ] || die "module $name not found under $moddir (is it built in? grep the config)"
  local deps
  deps=$(module_info "$path" depends)
  for dep in ${deps//,/ }; do add_module "$dep"; done
  mod_order+=("$name")
}
for m in "${HW_MODULES[@]}"; do add_module "$m"; done

bb_version=$(dpkg-query -W -f='${Version}' busybox-static 2>/dev/null || echo unknown)
base_key=$(printf '%s\n' "$kver" "$bb_version" "${mod_order[@]}" "v1" | sha256sum | cut -c1-16)
base=$cache/base-$base_key.cpio.gz
if [ ! -f "$base" ]; then
  log "building base initramfs (busybox $bb_version, modules: ${mod_order[*]})"
  stage=$(mktemp -d)
  trap 'rm -rf "$stage"' EXIT
  mkdir -p "$stage"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,run,tmp,etc,modules,root}
  cp "$busybox" "$stage/bin/busybox"
  for applet in $("$busybox" --list-full); do
    [ -e "$stage/$applet" ] || ln -s /bin/busybox "$stage/$applet"
  done
  rm -f "$stage/init" "$stage/linuxrc"
  : >"$stage/modules/order"
  for m in "${mod_order[@]}"; do
    p=$(find_module "$m")
    case "$p" in
      *.xz) xz -dc "$p" >"$stage/modules/$m.ko" ;;
      *.zst) zstd -dc "$p" >"$stage/modules/$m.ko" ;;
      *.gz) gzip -dc "$p" >"$stage/modules/$m.ko" ;;
      *) cp "$p" "$stage/modules/$m.ko" ;;
    esac
    echo "$m" >>"$stage/modules/order"
  done
  (cd "$stage" && find . -mindepth 1 | sed 's,^\./,,' | LC_ALL=C sort |
    "$busybox" cpio -o -H newc -R 0:0 2>/dev/null | gzip -6 >"$base.tmp") ||
    die "cpio of the base initramfs failed"
  mv "$base.tmp" "$base"
  rm -rf "$stage"
  trap - EXIT
  # Older base images of other kernels or module lists are not needed any more.
  find "$cache" -maxdepth 1 -name 'base-*.cpio.gz' ! -name "base-$base_key.cpio.gz" -delete
fi
flock -u 9

if [ "$prepare_only" = 1 ]; then
  log "prepared: kernel $kver ($kernel_pkg), qemu $(qemu-system-x86_64 --version | head -n1 | awk '{print $4}'), cache $cache"
  exit 0
fi

# ---------------------------------------------------------------- per-run initramfs
if [ -z "$ringstamp_bin" ] && [ -x "$repo/build/bin/ringstamp" ]; then
  ringstamp_bin=$repo/build/bin/ringstamp
fi
run_dir=$(mktemp -d "${TMPDIR:-/tmp}/hwtestbed.XXXXXX")
qemu_pid=
cleanup() {
  if [ -n "$qemu_pid" ] && kill -0 "$qemu_pid" 2>/dev/null; then kill -9 "$qemu_pid" 2>/dev/null || true; fi
  rm -rf "$run_dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
stage=$run_dir/stage
mkdir -p "$stage/usr/local/bin" "$stage/usr/local/sbin" "$stage/hwtest" "$stage/etc/hwtestbed"

is_elf() { [ "$(head -c 4 "$1" | od -An -c | tr -d ' ')" = '177ELF' ]; }
declare -A copied=()
copy_file() {  # src, dst inside stage; strips debug info from ELF files
  local src=$1 dst=$stage$2
  [ -n "${copied[$2]:-}" ] && return 0
  copied[$2]=1
  mkdir -p "$(dirname "$dst")"
  if is_elf "$src"; then
    strip --strip-debug -o "$dst" "$src" 2>/dev/null || cp -L "$src" "$dst"
  else
    cp -L "$src" "$dst"
  fi
  chmod --reference="$(readlink -f "$src")" "$dst"
}
copy_with_libs() {  # an executable and, if dynamic, its libraries and loader at their host paths
  local src=$1 dst=$2 lib
  copy_file "$src" "$dst"
  ldd "$src" >/dev/null 2>&1 || return 0  # static: nothing more to copy
  # ldd lines: "libx.so => /path (0x..)" or "/lib64/ld-linux-x86-64.so.2 (0x..)"
  while read -r lib; do
    [ -n "$lib" ] || continue
    copy_file "$lib" "$lib"
    # The loader is found through PT_INTERP; keep its canonical path too.
  done < <(ldd "$src" | awk '/=>/ {if ($3 ~ /^\//) print $3; next} $1 ~ /^\// {print $1}')
  if ldd "$src" | grep -q 'not found'; then
    die "$src: shared libraries not found: $(ldd "$src" | grep 'not found' | tr -s ' \t' ' ')"
  fi
}

if [ -n "$ringstamp_bin" ]; then
  [ -x "$ringstamp_bin" ] || die "ringstamp binary $ringstamp_bin is missing or not executable"
  if ldd "$ringstamp_bin" 2>/dev/null | grep -q 'libasan'; then
    die "$ringstamp_bin is an ASan build: use a build without RINGSTAMP_SANITIZE in the VM"
  fi
  copy_with_libs "$ringstamp_bin" /usr/local/bin/ringstamp
fi
for b in "${extra_bins[@]+"${extra_bins[@]}"}"; do
  [ -f "$b" ] || die "--bin $b: no such file"
  if ldd "$b" 2>/dev/null | grep -q 'libasan'; then
    die "$b is an ASan build: use a build without RINGSTAMP_SANITIZE in the VM"
  fi
  copy_with_libs "$b" "/usr/local/bin/$(basename "$b")"
done
copy_with_libs "$(command -v ip)" /usr/local/sbin/ip
cp "$repo"/scripts/hwtestbed/*.sh "$stage/hwtest/"
cp "$repo/scripts/hwtestbed/init.sh" "$stage/init"
chmod 755 "$stage/init" "$stage"/hwtest/*.sh

nonce=$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
marker="HWTESTBED-EXIT-$nonce"
{
  echo "HW_MARKER=$marker"
  echo "HW_MAC0=$HW_MAC0"
  echo "HW_MAC1=$HW_MAC1"
} >"$stage/etc/hwtestbed/config"
# The command, each word single-quoted for sh; the --env pairs likewise.
quote() { printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")"; }
{
  for e in "${extra_env[@]+"${extra_env[@]}"}"; do
    printf 'export %s=%s\n' "${e%%=*}" "$(quote "${e#*=}")"
  done
  for w in "$@"; do printf '%s ' "$(quote "$w")"; done
  echo
} >"$stage/etc/hwtestbed/command"

(cd "$stage" && find . -mindepth 1 | sed 's,^\./,,' | LC_ALL=C sort |
  "$busybox" cpio -o -H newc -R 0:0 2>/dev/null | gzip -1 >"$run_dir/run.cpio.gz") ||
  die "cpio of the per-run initramfs failed"
cat "$base" "$run_dir/run.cpio.gz" >"$run_dir/initrd.gz"

# ---------------------------------------------------------------- boot
# A guest kernel that panics while it boots (TCG with two vCPUs has been seen to take an int3
# Oops in a secondary CPU's idle loop while the kernel patches its own code) never reached
# /init: that boot is tried again, up to three in all within the timeout. A VM that ends after
# /init spoke is never rebooted: that is the command's run, and what it did is the result.
console=$run_dir/console.log
start=$(date +%s)
timed_out=0
for attempt in 1 2 3; do
  log "booting $kver under QEMU TCG (timeout ${timeout_s}s, boot $attempt of at most 3): $*"
  set +e
  # -nic none: no default (user-mode) NIC; the hub has only the two e1000e ports.
  qemu-system-x86_64 \
    -accel tcg,thread=multi -cpu max -smp 2 -m 1024 -nographic -no-reboot -nic none \
    -kernel "$vmlinuz" -initrd "$run_dir/initrd.gz" \
    -append "console=ttyS0 quiet panic=-1" \
    -netdev hubport,id=n0,hubid=0 -device e1000e,netdev=n0,mac=$HW_MAC0,romfile= \
    -netdev hubport,id=n1,hubid=0 -device e1000e,netdev=n1,mac=$HW_MAC1,romfile= \
    </dev/null >"$console" 2>&1 &
  qemu_pid=$!
  while kill -0 "$qemu_pid" 2>/dev/null; do
    if [ $(($(date +%s) - start)) -ge "$timeout_s" ]; then
      timed_out=1
      kill -TERM "$qemu_pid" 2>/dev/null
      sleep 2
      kill -KILL "$qemu_pid" 2>/dev/null
      break
    fi
    sleep 0.2
  done
  wait "$qemu_pid" 2>/dev/null
  qemu_rc=$?
  qemu_pid=
  set -e
  # The console, less the firmware's screen-control sequences and CRs.
  tr -d '\r' <"$console" | sed 's/\x1b\[[0-9;?]*[a-zA-Z]//g; s/\x1bc//g'
  [ "$timed_out" = 1 ] && break
  grep -q "^$marker=" "$console" && break
  # /init's lines start with "hwtestbed"; a panic before any of them is a failed boot.
  if grep -q "Kernel panic" "$console" && ! grep -q "^hwtestbed" "$console" && [ "$attempt" -lt 3 ]; then
    log "the guest kernel panicked before /init ran: booting again"
    continue
  fi
  break
done

elapsed=$(($(date +%s) - start))

if [ "$timed_out" = 1 ]; then
  log "timed out after ${timeout_s}s: QEMU killed (console output above)"
  exit "$EXIT_TIMEOUT"
fi
rc=$(tr -d '\r' <"$console" | sed -n "s/^$marker=\([0-9][0-9]*\)\$/\1/p" | tail -n1)
if [ -z "$rc" ]; then
  log "the VM ended after ${elapsed}s (QEMU exit $qemu_rc) without reporting the command's exit" \
    "code: see the console output above (kernel panic? /init failure?)"
  exit "$EXIT_NO_MARKER"
fi
log "command exited $rc (VM ran ${elapsed}s)"
exit "$rc"
