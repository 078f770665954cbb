#!/usr/bin/env bash
# check_prometheus.sh BIN SOURCE_DIR — a real Prometheus scrapes a probe client and a probe
# server (`--metrics`) between two namespaces of scripts/netns.sh for ~20 s, the reflector
# stopped halfway; then Prometheus' HTTP API is asked for the received and lost series and an
# RTT histogram_quantile, and each answer is checked against the client's own JSON interval
# and summary lines (check_prometheus.py). Every exposition is checked too: the text format
# with `promtool check metrics`, OpenMetrics with prometheus_client's strict parser (and by
# Prometheus itself, which asks for OpenMetrics first); every family served must be in
# docs/metrics.md, and every query of deploy/grafana's dashboard must answer. Exit 77 (skipped) without root or
# the tools; every wait is bounded; everything made is removed on any exit.
set -euo pipefail
bin=$1 src=$2

skip() {
  echo "SKIPPED [$1]: $2"
  [ -n "${RINGSTAMP_SKIP_LOG:-}" ] && printf '%s\tmetrics_prometheus\t%s\n' "$1" "$2" >>"$RINGSTAMP_SKIP_LOG"
  exit 77
}
[ "$(id -u)" -eq 0 ] || skip root "needs root to create network namespaces"
for tool in prometheus promtool curl; do
  command -v "$tool" >/dev/null || skip tool "needs $tool (scripts/bootstrap.sh installs it)"
done

export RINGSTAMP_NETNS_SUFFIX=pm$$
out=$(mktemp -d /tmp/rs-prometheus.XXXXXX)
pids=()
cleanup() {
  local rc=$? p
  trap - EXIT
  for p in "${pids[@]}"; do kill -INT "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do timeout 20 tail --pid="$p" -f /dev/null 2>/dev/null || kill -KILL "$p" 2>/dev/null || true; done
  "$src/scripts/netns.sh" down >/dev/null 2>&1 || true
  if [ "$rc" -ne 0 ]; then
    for f in "$out"/*.err "$out"/prometheus.log; do [ -f "$f" ] && { echo "--- $f"; tail -20 "$f"; }; done
  fi
  rm -rf "$out"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP
fail() { echo "FAIL: $*" >&2; exit 1; }
wait_for() {  # wait_for FILE TEXT: up to 20 s
  for _ in $(seq 200); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
  fail "no '$2' in $1 within 20 s"
}

eval "$("$src/scripts/netns.sh" env)"
"$src/scripts/netns.sh" up >/dev/null
in_a() { ip netns exec "$NS_A" "$@"; }

# The reflector serves its metrics on B's own address (reachable from A), the client on A's
# loopback. `ip netns exec` execs, so each $! is the program itself.
ip netns exec "$NS_B" "$bin" probe server -i "$IF_B" --ip 10.99.0.12 --report-every 1s --json \
  --metrics "$IP4_B:19862" --label role=reflector >"$out/server.json" 2>"$out/server.err" &
server=$!
pids+=("$server")
wait_for "$out/server.err" "STAMP reflector on"
ip netns exec "$NS_A" "$bin" probe client -i "$IF_A" --ip 10.99.0.21 --server 10.99.0.12 -i 10ms \
  --timeout 300ms --report-every 1s -q --json --metrics 127.0.0.1:19863 --label site=lab \
  >"$out/client.json" 2>"$out/client.err" &
client=$!
pids+=("$client")
wait_for "$out/client.json" '"type":"interval"'

# Every exposition parses: promtool on the text format, prometheus_client on OpenMetrics.
om='Accept: application/openmetrics-text; version=1.0.0; charset=utf-8'
for url in "http://127.0.0.1:19863/metrics" "http://$IP4_B:19862/metrics"; do
  in_a curl -sfS "$url" -o "$out/text.prom" || fail "GET $url"
  in_a promtool check metrics <"$out/text.prom" || fail "promtool check metrics: $url"
  sed -n 's/^# TYPE \([a-z_]*\) .*/\1/p' "$out/text.prom" >>"$out/families.txt"
  in_a curl -sfS -H "$om" -D "$out/headers" "$url" -o "$out/text.om" || fail "GET $url (OpenMetrics)"
  grep -qi '^content-type: application/openmetrics-text' "$out/headers" || fail "$url: no OpenMetrics content type"
  /usr/bin/python3 -c '
import sys
from prometheus_client.openmetrics.parser import text_string_to_metric_families
families = list(text_string_to_metric_families(open(sys.argv[1]).read()))
assert len(families) > 10, len(families)
' "$out/text.om" || fail "$url: OpenMetrics that prometheus_client's parser refuses"
done
# Every family served is described in docs/metrics.md.
for name in $(sort -u "$out/families.txt"); do
  grep -q "\`$name\`" "$src/docs/metrics.md" || fail "docs/metrics.md does not describe $name"
done
in_a curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:19863/other | grep -qx 404 || fail "/other is not 404"
in_a curl -s -o /dev/null -w '%{http_code}' -X POST http://127.0.0.1:19863/metrics | grep -qx 405 ||
  fail "POST /metrics is not 405"

# Prometheus, in A, scraping both every second.
cat >"$out/prometheus.yml" <<YML
global:
  scrape_interval: 1s
  scrape_timeout: 900ms
scrape_configs:
  - job_name: client
    static_configs: [{targets: ['127.0.0.1:19863']}]
  - job_name: server
    static_configs: [{targets: ['$IP4_B:19862']}]
YML
ip netns exec "$NS_A" prometheus --config.file="$out/prometheus.yml" --storage.tsdb.path="$out/tsdb" \
  --web.listen-address=127.0.0.1:19090 --log.level=warn >"$out/prometheus.log" 2>&1 &
pids+=("$!")
for _ in $(seq 300); do
  in_a curl -sf http://127.0.0.1:19090/-/ready >/dev/null 2>&1 && break
  sleep 0.1
done
in_a curl -sf http://127.0.0.1:19090/-/ready >/dev/null || fail "Prometheus not ready within 30 s"
sleep 10
while_both_ran=$(date +%s.%N)
kill -INT "$server"  # the reflector goes: the client's probes are lost from now on
timeout 20 tail --pid="$server" -f /dev/null || fail "the reflector did not stop"
sleep 10
now=$(date +%s.%N)
# The answers are read while the client still runs; then it stops with its summary.
for q in received lost quantile up; do
  case $q in
    received) expr='ringstamp_probe_received_total{job="client"}[60s]' ;;
    lost) expr='ringstamp_probe_lost{job="client"}[60s]' ;;
    quantile) expr='histogram_quantile(0.5, sum by (le) (ringstamp_probe_rtt_seconds_bucket{job="client"}))' ;;
    up) expr='up{job="server"}[60s]' ;;
  esac
  in_a curl -sfS -G http://127.0.0.1:19090/api/v1/query --data-urlencode "query=$expr" \
    --data-urlencode "time=$now" -o "$out/q-$q.json" || fail "query $expr"
done
kill -INT "$client"
timeout 20 tail --pid="$client" -f /dev/null || fail "the client did not stop on SIGINT"
# Also every query of the Grafana dashboard in deploy/, asked of this Prometheus.
ip netns exec "$NS_A" /usr/bin/python3 "$src/tests/metrics/check_prometheus.py" "$out" \
  http://127.0.0.1:19090 "$while_both_ran" "$src/deploy/grafana/ringstamp-dashboard.json" ||
  fail "Prometheus disagrees with the client's JSON, or a dashboard query failed"
echo "metrics_prometheus: Prometheus' series agree with the client's own lines"
