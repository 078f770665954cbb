#!/bin/sh
# init.sh — /init of the hardware-timestamping VM (scripts/hwtestbed.sh builds it into the
# initramfs). Runs under busybox sh as PID 1:
#   mounts proc, sys, dev, run, tmp; loads the modules listed in /modules/order; finds the two
#   e1000e NICs by MAC; keeps $HW_IF0 (MAC $HW_MAC0) in the initial network namespace with
#   10.77.0.1/24 and moves $HW_IF1 into namespace "peer" with 10.77.0.2/24 (so traffic between
#   them crosses the emulated wire); runs the command from /etc/hwtestbed/command; prints
#   "$HW_MARKER=<exit code>" and powers off. Any failure here prints the marker with 125.
# Exported to the command: HW_IF0 HW_IF1 HW_MAC0 HW_MAC1 HW_IP0 HW_IP1 HW_NS1 (=peer)
# HW_PHC0 HW_PHC1 (/dev/ptpN of each NIC, from sysfs, "" if none). `inpeer CMD...` runs CMD in
# namespace peer; iproute2's ip is /usr/local/sbin/ip (plain `ip` in busybox sh is busybox's).
export PATH=/usr/local/sbin:/usr/local/bin:/sbin:/usr/sbin:/bin:/usr/bin
. /etc/hwtestbed/config
# Debian's busybox sh runs its own applets before looking at PATH, and its `ip` has no netns:
# iproute2's is called by path.
IPR=/usr/local/sbin/ip

finish() {
  echo "$HW_MARKER=$1"
  sync
  poweroff -f
  sleep 5
}
fail() {
  echo "hwtestbed init: $*"
  finish 125
}

mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmp /tmp
mount -t tmpfs run /run
ln -sf /proc/self/fd /dev/fd 2>/dev/null
ln -sf /proc/mounts /etc/mtab
hostname hwtestbed
$IPR link set lo up

for m in $(cat /modules/order); do
  insmod "/modules/$m.ko" || fail "insmod $m failed"
done

# The NICs appear when the driver has probed them; bounded wait.
ifname_of_mac() {
  for d in /sys/class/net/*; do
    [ "$(cat "$d/address" 2>/dev/null)" = "$1" ] && { basename "$d"; return 0; }
  done
  return 1
}
i=0
while [ $i -lt 100 ]; do
  HW_IF0=$(ifname_of_mac "$HW_MAC0") && HW_IF1=$(ifname_of_mac "$HW_MAC1") && break
  i=$((i + 1))
  sleep 0.1
done
[ -n "$HW_IF0" ] && [ -n "$HW_IF1" ] ||
  fail "no NICs with MACs $HW_MAC0 and $HW_MAC1 after 10 s; interfaces: $(ls /sys/class/net | tr '\n' ' ')"
phc_of() {
  for p in /sys/class/net/"$1"/device/ptp/ptp*; do
    [ -e "$p" ] && { echo "/dev/$(basename "$p")"; return 0; }
  done
  echo ""
}
HW_PHC0=$(phc_of "$HW_IF0")
HW_PHC1=$(phc_of "$HW_IF1")
HW_IP0=10.77.0.1
HW_IP1=10.77.0.2
HW_NS1=peer

$IPR netns add "$HW_NS1" || fail "ip netns add $HW_NS1 failed"
$IPR link set "$HW_IF1" netns "$HW_NS1" || fail "moving $HW_IF1 into netns $HW_NS1 failed"
$IPR -n "$HW_NS1" link set lo up
# `inpeer CMD...` runs CMD in the peer namespace (where $HW_IF1 lives).
printf '#!/bin/sh\nexec %s netns exec %s "$@"\n' "$IPR" "$HW_NS1" >/usr/local/bin/inpeer
chmod 755 /usr/local/bin/inpeer
$IPR addr add "$HW_IP0/24" dev "$HW_IF0" || fail "ip addr add on $HW_IF0 failed"
$IPR -n "$HW_NS1" addr add "$HW_IP1/24" dev "$HW_IF1" || fail "ip addr add on $HW_IF1 failed"
$IPR link set "$HW_IF0" up || fail "ip link set $HW_IF0 up failed"
$IPR -n "$HW_NS1" link set "$HW_IF1" up || fail "ip link set $HW_IF1 up failed"

# Carrier on both ends (the emulated link comes up a moment after "up"); bounded wait.
i=0
while [ $i -lt 100 ]; do
  c0=$(cat "/sys/class/net/$HW_IF0/carrier" 2>/dev/null)
  c1=$($IPR netns exec "$HW_NS1" cat "/sys/class/net/$HW_IF1/carrier" 2>/dev/null)
  [ "$c0" = 1 ] && [ "$c1" = 1 ] && break
  i=$((i + 1))
  sleep 0.1
done
[ "$c0" = 1 ] && [ "$c1" = 1 ] || fail "no carrier on $HW_IF0/$HW_IF1 after 10 s"

export HW_IF0 HW_IF1 HW_MAC0 HW_MAC1 HW_IP0 HW_IP1 HW_NS1 HW_PHC0 HW_PHC1
echo "hwtestbed: $(uname -r); $HW_IF0 ($HW_MAC0, $HW_IP0, ${HW_PHC0:-no PHC}) and" \
  "$HW_IF1 in netns $HW_NS1 ($HW_MAC1, $HW_IP1, ${HW_PHC1:-no PHC})"

cd /tmp
sh /etc/hwtestbed/command </dev/null
finish $?
