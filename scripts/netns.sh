#!/usr/bin/env bash
# The two-host testbed on one machine: two network namespaces joined by a veth pair.
#
#   scripts/netns.sh up [SUFFIX]     # creates rs-a-SUFFIX and rs-b-SUFFIX, prints names, MACs, addresses
#   scripts/netns.sh down [SUFFIX]   # removes both (the veth pair goes with them)
#   scripts/netns.sh env [SUFFIX]    # prints the variables (for eval) without creating anything
#
# Nothing outside the two namespaces is touched. SUFFIX defaults to the caller's PID,
# so parallel runs never collide; pass the same SUFFIX to `down`.
set -euo pipefail

cmd=${1:-}
suffix=${2:-$$}
NS_A="rs-a-$suffix"
NS_B="rs-b-$suffix"
IF_A="rsa$suffix"; IF_A=${IF_A:0:15}
IF_B="rsb$suffix"; IF_B=${IF_B:0:15}
MAC_A=02:72:73:00:00:01
MAC_B=02:72:73:00:00:02
IP4_A=10.99.0.1
IP4_B=10.99.0.2
IP6_A=fd00:99::1
IP6_B=fd00:99::2

print_env() {
  cat <<VARS
NS_A=$NS_A
NS_B=$NS_B
IF_A=$IF_A
IF_B=$IF_B
MAC_A=$MAC_A
MAC_B=$MAC_B
IP4_A=$IP4_A
IP4_B=$IP4_B
IP6_A=$IP6_A
IP6_B=$IP6_B
VARS
}

up() {
  if [ "$(id -u)" -ne 0 ]; then echo "netns.sh: needs root (sudo)" >&2; exit 1; fi
  trap 'echo "netns.sh: setup failed; removing what was made" >&2; down >/dev/null 2>&1' ERR
  ip netns add "$NS_A"
  ip netns add "$NS_B"
  ip link add "$IF_A" netns "$NS_A" type veth peer name "$IF_B" netns "$NS_B"
  for side in A B; do
    ns_var=NS_$side; if_var=IF_$side; mac_var=MAC_$side; ip4_var=IP4_$side; ip6_var=IP6_$side
    ns=${!ns_var}; ifn=${!if_var}
    ip -n "$ns" link set lo up
    ip -n "$ns" link set "$ifn" address "${!mac_var}"
    ip netns exec "$ns" sysctl -qw "net.ipv6.conf.$ifn.accept_dad=0"
    ip -n "$ns" addr add "${!ip4_var}/24" dev "$ifn"
    ip -n "$ns" -6 addr add "${!ip6_var}/64" dev "$ifn" nodad
    ip -n "$ns" link set "$ifn" up
  done
  trap - ERR
  print_env
}

down() {
  ip netns del "$NS_A" 2>/dev/null || true
  ip netns del "$NS_B" 2>/dev/null || true
}

case "$cmd" in
  up) up ;;
  down) down ;;
  env) print_env ;;
  *) echo "usage: $0 up|down|env [SUFFIX]" >&2; exit 2 ;;
esac
