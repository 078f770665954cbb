#!/usr/bin/env bash
# Testbeds on one machine, in network namespaces: two hosts joined by a veth pair, or a small
# network of N hosts on a bridge.
#
#   scripts/netns.sh up [N]      # makes N nodes (default 2), prints their variables
#   scripts/netns.sh down [N]    # removes everything `up` made with this suffix (N is not needed)
#   scripts/netns.sh env [N]     # prints the variables (for eval) without creating anything
#
#   N = 2      two namespaces rs-a-SUFFIX and rs-b-SUFFIX joined by the veth pair rsaSUFFIX /
#              rsbSUFFIX: NS_A, IF_A, MAC_A, IP4_A, IP6_A (and _B), also as NS_1.., NS_2..
#   N = 3..64  nodes rs-1-SUFFIX .. rs-N-SUFFIX, each with one interface rsK-SUFFIX, plugged
#              into the bridge rsbr-SUFFIX of a namespace of its own, rs-sw-SUFFIX (the switch:
#              the other end of node K's veth is its port rspK-SUFFIX). NODES, NS_K, IF_K,
#              MAC_K, IP4_K, IP6_K for K = 1..N; NS_SW, IF_BR, PORT_K.
#
#   Node K: MAC 02:72:73:00:00:KK (K in hex), 10.99.0.K/24, fd00:99::K/64 (IPv6 DAD off),
#   links up. Interface names are cut to 15 characters. `up` returns once every link has its
#   carrier, no IPv6 address is tentative and every switch port forwards: ping works at once.
#
# SUFFIX is $RINGSTAMP_NETNS_SUFFIX (1..32 letters, digits, '_', '-'; default "lan"): runs
# with different suffixes never collide; give `env` and `down` the same one. `up` refuses
# (exit 1) when a namespace of its suffix exists already. Usage errors exit 2.
#
#   RINGSTAMP_NETNS_SUFFIX=demo$$ scripts/netns.sh up
#   eval "$(scripts/netns.sh env 4)"; scripts/netns.sh up 4; ...; scripts/netns.sh down
#
# Nothing is made in the namespace this runs in: every link is created inside its node's or
# the switch's namespace. If `up` fails half-way it removes what it made; `down` removes what
# a failed or finished `up` left, and nothing else.
set -euo pipefail

usage() {
  echo "usage: [RINGSTAMP_NETNS_SUFFIX=S] $0 up|down|env [N]   (N: nodes, 2..64, default 2)" >&2
  exit 2
}

cmd=${1:-}
case "$cmd" in up | down | env) ;; *) usage ;; esac
[ $# -le 2 ] || usage
n=${2:-2}
if ! [[ "$n" =~ ^[0-9]+$ ]] || [ "${#n}" -gt 2 ] || [ "$n" -lt 2 ] || [ "$n" -gt 64 ]; then
  echo "netns.sh: '$n' is not a node count (2..64)" >&2
  if ! [[ "$n" =~ ^[0-9]+$ ]]; then
    echo "netns.sh: a suffix is given in the environment: RINGSTAMP_NETNS_SUFFIX=$n $0 $cmd" >&2
  fi
  usage
fi
n=$((10#$n))
suffix=${RINGSTAMP_NETNS_SUFFIX:-lan}
if ! [[ "$suffix" =~ ^[A-Za-z0-9_-]{1,32}$ ]]; then
  echo "netns.sh: RINGSTAMP_NETNS_SUFFIX='$suffix': want 1..32 letters, digits, '_' or '-'" >&2
  exit 2
fi

# The names, addresses and MACs of N nodes: ns_[K], if_[K], ... for K = 1..N. Interface
# names are cut to 15 characters (their index comes before the suffix, so they stay apart).
declare -a ns_ if_ mac_ ip4_ ip6_ port_
for ((k = 1; k <= n; k++)); do
  if [ "$n" -eq 2 ]; then
    side=a
    [ "$k" -eq 2 ] && side=b
    ns_[k]="rs-$side-$suffix"
    name="rs$side$suffix"
  else
    ns_[k]="rs-$k-$suffix"
    name="rs$k-$suffix"
    port="rsp$k-$suffix"
    port_[k]=${port:0:15}
  fi
  if_[k]=${name:0:15}
  printf -v "mac_[k]" '02:72:73:00:00:%02x' "$k"
  ip4_[k]=10.99.0.$k
  ip6_[k]=fd00:99::$k
done
NS_SW="rs-sw-$suffix"
IF_BR="rsbr-$suffix"
IF_BR=${IF_BR:0:15}

print_env() {
  local k
  echo "NODES=$n"
  if [ "$n" -eq 2 ]; then
    local s
    for s in A B; do
      k=1
      [ "$s" = B ] && k=2
      echo "NS_$s=${ns_[k]}"
      echo "IF_$s=${if_[k]}"
      echo "MAC_$s=${mac_[k]}"
      echo "IP4_$s=${ip4_[k]}"
      echo "IP6_$s=${ip6_[k]}"
    done
  else
    echo "NS_SW=$NS_SW"
    echo "IF_BR=$IF_BR"
  fi
  for ((k = 1; k <= n; k++)); do
    echo "NS_$k=${ns_[k]}"
    echo "IF_$k=${if_[k]}"
    echo "MAC_$k=${mac_[k]}"
    echo "IP4_$k=${ip4_[k]}"
    echo "IP6_$k=${ip6_[k]}"
    if [ "$n" -gt 2 ]; then echo "PORT_$k=${port_[k]}"; fi
  done
}

# Node K's end of its link: lo up, MAC, addresses (no IPv6 DAD, so they work at once), up.
setup_node() {
  local k=$1 ns=${ns_[$1]} ifn=${if_[$1]}
  ip -n "$ns" link set lo up
  ip -n "$ns" link set "$ifn" address "${mac_[k]}"
  ip netns exec "$ns" sysctl -qw "net.ipv6.conf.$ifn.accept_dad=0"
  ip -n "$ns" addr add "${ip4_[k]}/24" dev "$ifn"
  ip -n "$ns" -6 addr add "${ip6_[k]}/64" dev "$ifn" nodad
  ip -n "$ns" link set "$ifn" up
}

# Until every node's link is up with its carrier and no IPv6 address is tentative any more
# (the kernel finishes even a `nodad` address in a work item once the carrier comes; until
# then the node ignores neighbour solicitations for it), and every switch port forwards.
# At most 10 s.
wait_ready() {
  local k tries
  for ((tries = 0; tries < 100; tries++)); do
    for ((k = 1; k <= n; k++)); do
      ip -n "${ns_[k]}" link show dev "${if_[k]}" | grep -q 'state UP' || break
      [ -z "$(ip -n "${ns_[k]}" -6 addr show dev "${if_[k]}" tentative)" ] || break
    done
    if [ "$k" -gt "$n" ] &&
      { [ "$n" -eq 2 ] || [ "$(bridge -n "$NS_SW" link show | grep -c 'state forwarding')" -eq "$n" ]; }; then
      return 0
    fi
    sleep 0.1
  done
  echo "netns.sh: links not ready after 10 s" >&2
  return 1
}

up() {
  if [ "$(id -u)" -ne 0 ]; then echo "netns.sh: needs root (sudo)" >&2; exit 1; fi
  local k existing
  # A namespace of this suffix that exists already is someone's: leave it alone.
  existing=$(ip netns list | awk '{print $1}' | grep -Fxf <(all_names) || true)
  if [ -n "$existing" ]; then
    echo "netns.sh: already there (another run with suffix '$suffix'?): $(echo "$existing" | tr '\n' ' ')" >&2
    echo "netns.sh: remove them with RINGSTAMP_NETNS_SUFFIX=$suffix $0 down, or pick another suffix" >&2
    exit 1
  fi
  # Whatever stops `up` half-way (a failed command, a signal) removes what it made.
  made=0
  trap 'if [ "$made" = 0 ]; then echo "netns.sh: setup failed; removing what was made" >&2; down; fi' EXIT
  trap 'exit 130' INT TERM HUP
  if [ "$n" -eq 2 ]; then
    ip netns add "${ns_[1]}"
    ip netns add "${ns_[2]}"
    ip link add "${if_[1]}" netns "${ns_[1]}" type veth peer name "${if_[2]}" netns "${ns_[2]}"
  else
    # The switch: a bridge in its own namespace. No IPv6 there (no link-local address, no MLD
    # or router solicitations of its own on the wire); no multicast snooping, so NDP and
    # other multicast reach every port without a querier.
    ip netns add "$NS_SW"
    ip -n "$NS_SW" link set lo up
    ip netns exec "$NS_SW" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
      net.ipv6.conf.default.disable_ipv6=1
    ip -n "$NS_SW" link add "$IF_BR" type bridge stp_state 0 mcast_snooping 0
    ip -n "$NS_SW" link set "$IF_BR" up
    for ((k = 1; k <= n; k++)); do
      ip netns add "${ns_[k]}"
      ip link add "${if_[k]}" netns "${ns_[k]}" type veth peer name "${port_[k]}" netns "$NS_SW"
      ip -n "$NS_SW" link set "${port_[k]}" master "$IF_BR"
      ip -n "$NS_SW" link set "${port_[k]}" up
    done
  fi
  for ((k = 1; k <= n; k++)); do setup_node "$k"; done
  wait_ready
  made=1
  print_env
}

# Every namespace name `up` can make with this suffix, whatever N was.
all_names() {
  local k
  echo "rs-a-$suffix"
  echo "rs-b-$suffix"
  echo "$NS_SW"
  for ((k = 1; k <= 64; k++)); do echo "rs-$k-$suffix"; done
}

# Deleting a namespace deletes the veth ends and the bridge in it (and with an end, its peer).
down() {
  local ns
  for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep -Fxf <(all_names) || true); do
    ip netns del "$ns" 2>/dev/null || true
  done
}

case "$cmd" in
  up) up ;;
  down) down ;;
  env) print_env ;;
esac
