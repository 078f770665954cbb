#!/usr/bin/env bash
# Installs the Debian 12 packages that ringstamp's build, tests, demo and benchmarks need.
# Idempotent: packages already present are not fetched again; apt-get update runs once,
# only when something is missing.
set -euo pipefail

PACKAGES=(
  build-essential cmake pkg-config clang-format libmicrohttpd-dev prometheus
  liburing-dev libabsl-dev libbenchmark-dev doctest-dev libpcap-dev
  nlohmann-json3-dev libcap-dev libmnl-dev
  iproute2 iputils-ping procps tcpdump tshark python3 python3-scapy python3-jsonschema python3-prometheus-client
  netsniff-ng sockperf
  help2man netcat-openbsd dpkg-dev fakeroot libcap2-bin bash-completion man-db systemd util-linux
  clang libclang-rt-14-dev
  chromium
)

if [ "$(id -u)" -ne 0 ]; then
  echo "bootstrap.sh: run as root (sudo scripts/bootstrap.sh): it installs packages with apt-get" >&2
  exit 1
fi

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "bootstrap: all ${#PACKAGES[@]} packages present"
  exit 0
fi
echo "bootstrap: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# tshark asks whether non-root users may capture; answer no without a prompt.
echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
