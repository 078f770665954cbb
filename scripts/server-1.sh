#!/usr/bin/env bash
# Host 1 of the two-host probe pair: a STAMP reflector for host 2, and a client probing
# host 2's reflector. Defaults are the Vagrant VM rs1 (private interface eth1); every
# value can be overridden, so the same script runs in the namespace testbed:
#
#   sudo scripts/server-1.sh
#   IFACE=rsa123 MY_IP=10.99.0.21 PEER_IP=10.99.0.22 NETNS=rs-a-123 DURATION=5 scripts/server-1.sh
set -euo pipefail
cd "$(dirname "$0")/.."
IFACE=${IFACE:-eth1}
MY_IP=${MY_IP:-192.168.56.21}        # the reflector's address (ringstamp answers ARP for it)
CLIENT_IP=${CLIENT_IP:-192.168.56.31} # the client's own address
PEER_IP=${PEER_IP:-192.168.56.22}     # host 2's reflector
COUNT=${COUNT:-1000}
INTERVAL=${INTERVAL:-10ms}
DURATION=${DURATION:-30}
OUT=${OUT:-/tmp/ringstamp-server-1}
exec scripts/probe-pair.sh
