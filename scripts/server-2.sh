#!/usr/bin/env bash
# Host 2 of the two-host probe pair: a STAMP reflector for host 1, and a client probing
# host 1's reflector. Defaults are the Vagrant VM rs2 (private interface eth1); every
# value can be overridden, so the same script runs in the namespace testbed:
#
#   sudo scripts/server-2.sh
#   IFACE=rsb123 MY_IP=10.99.0.22 PEER_IP=10.99.0.21 NETNS=rs-b-123 DURATION=5 scripts/server-2.sh
set -euo pipefail
cd "$(dirname "$0")/.."
IFACE=${IFACE:-eth1}
MY_IP=${MY_IP:-192.168.56.22}        # the reflector's address (ringstamp answers ARP for it)
CLIENT_IP=${CLIENT_IP:-192.168.56.32} # the client's own address
PEER_IP=${PEER_IP:-192.168.56.21}     # host 1's reflector
COUNT=${COUNT:-1000}
INTERVAL=${INTERVAL:-10ms}
DURATION=${DURATION:-30}
OUT=${OUT:-/tmp/ringstamp-server-2}
exec scripts/probe-pair.sh
