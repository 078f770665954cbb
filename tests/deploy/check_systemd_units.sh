#!/bin/bash
# check_systemd_units.sh BIN SOURCE_DIR — the units in deploy/systemd are valid
# (systemd-analyze verify) and their ExecStart lines, expanded the way systemd does with the
# sample /etc/default files, run as an unprivileged user holding only the capabilities the
# units grant (setpriv: nobody, ambient CAP_NET_RAW + CAP_NET_ADMIN, no new privileges):
# the reflector answers the client across two namespaces of this test, both stop cleanly on
# the units' KillSignal, and their journal lines (JSON) say so. Needs root to set up; every
# wait is bounded and everything made is removed on exit.
set -euo pipefail
bin=$1 src=$2
export RINGSTAMP_NETNS_SUFFIX=du$$  # the two namespaces' names (scripts/netns.sh)
eval "$("$src/scripts/netns.sh" env)"
na=$NS_A nb=$NS_B ia=$IF_A ib=$IF_B
tmp=$(mktemp -d /tmp/rs-deploy.XXXXXX)
chmod 755 "$tmp"
cleanup() {
  ip netns pids "$na" 2>/dev/null | xargs -r kill 2>/dev/null || true
  ip netns pids "$nb" 2>/dev/null | xargs -r kill 2>/dev/null || true
  "$src/scripts/netns.sh" down >/dev/null 2>&1 || true
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# 1. The units as systemd reads them (binary and settings paths pointed at this build).
mkdir -p "$tmp/units" "$tmp/default"
cp "$src"/deploy/default/* "$tmp/default/"
for u in "$src"/deploy/systemd/*.service; do
  sed -e "s|/usr/bin/ringstamp|$bin|" -e "s|EnvironmentFile=/etc/default/|EnvironmentFile=$tmp/default/|" \
    "$u" >"$tmp/units/$(basename "$u")"
done
cp "$tmp/units/ringstamp-probe@.service" "$tmp/units/ringstamp-probe@10.97.0.10.service"
systemd-analyze verify --man=no "$tmp/units/ringstamp-reflector.service" \
  "$tmp/units/ringstamp-probe@10.97.0.10.service" || fail "systemd-analyze verify"

# 2. Two namespaces: the reflector's host and the client's.
"$src/scripts/netns.sh" up >/dev/null

# ExecStart of UNIT with the settings file's variables (as systemd: ${X} one word, $X split
# on spaces) and the instance %i. Prints one argument a line.
exec_start() {  # exec_start UNIT SETTINGS INSTANCE [VAR=VALUE...]
  /usr/bin/python3 - "$@" <<'PY'
import re, shlex, sys
unit, settings, instance, *overrides = sys.argv[1:]
env = {}
for line in open(settings).read().splitlines() + overrides:
    line = line.strip()
    if line and not line.startswith("#") and "=" in line:
        k, v = line.split("=", 1)
        env[k] = v
cmd = next(l.split("=", 1)[1] for l in open(unit) if l.startswith("ExecStart="))
out = []
for word in shlex.split(cmd):
    m = re.fullmatch(r"\$([A-Z_]+)", word)
    if m:
        out += env.get(m.group(1), "").split()
        continue
    word = re.sub(r"\$\{([A-Z_]+)\}", lambda m: env.get(m.group(1), ""), word)
    out.append(word.replace("%i", instance))
print("\n".join(out))
PY
}
as_unit() {  # as_unit NETNS ARGS...: nobody, only the units' capabilities, no new privileges;
  # exec, so that a background as_unit's $! is ringstamp itself
  exec ip netns exec "$1" setpriv --reuid=65534 --regid=65534 --clear-groups \
    --inh-caps=-all,+net_raw,+net_admin --ambient-caps=-all,+net_raw,+net_admin \
    --bounding-set=-all,+net_raw,+net_admin --no-new-privs "${@:2}"
}

mapfile -t server < <(exec_start "$tmp/units/ringstamp-reflector.service" \
  "$tmp/default/ringstamp-reflector" "" RINGSTAMP_IFACE="$ib" RINGSTAMP_IP=10.97.0.10/24 \
  RINGSTAMP_REPORT_EVERY=500ms)
mapfile -t client < <(exec_start "$tmp/units/ringstamp-probe@10.97.0.10.service" \
  "$tmp/default/ringstamp-probe" 10.97.0.10 RINGSTAMP_IFACE="$ia" RINGSTAMP_IP=10.97.0.20/24 \
  RINGSTAMP_INTERVAL=10ms RINGSTAMP_REPORT_EVERY=500ms)
[ "${server[1]}" = probe ] && [ "${server[2]}" = server ] || fail "reflector ExecStart: ${server[*]}"
[ "${client[2]}" = client ] || fail "client ExecStart: ${client[*]}"

as_unit "$nb" "${server[@]}" >"$tmp/server.json" 2>"$tmp/server.err" &
spid=$!
for _ in $(seq 100); do grep -q "STAMP reflector on" "$tmp/server.err" && break; sleep 0.1; done
grep -q "STAMP reflector on" "$tmp/server.err" || { cat "$tmp/server.err" >&2; fail "reflector did not start as nobody"; }
[ "$(ps -o uid= -p "$spid" | tr -d ' ')" = 65534 ] || fail "the reflector does not run as nobody"
grep -q '^CapEff:.*0000000000003000$' "/proc/$spid/status" ||
  fail "the reflector's effective capabilities are not exactly CAP_NET_ADMIN+CAP_NET_RAW: $(grep CapEff "/proc/$spid/status")"
as_unit "$na" "${client[@]}" >"$tmp/client.json" 2>"$tmp/client.err" &
cpid=$!
sleep 2
# KillSignal=SIGINT: both stop with their summary and exit 0.
kill -INT "$cpid"
timeout 20 tail --pid="$cpid" -f /dev/null || fail "client did not stop on SIGINT"
wait "$cpid" || { cat "$tmp/client.err" >&2; fail "client exit status $?"; }
kill -INT "$spid"
timeout 20 tail --pid="$spid" -f /dev/null || fail "reflector did not stop on SIGINT"
wait "$spid" || { cat "$tmp/server.err" >&2; fail "reflector exit status $?"; }

grep -q '"type":"interval"' "$tmp/client.json" || fail "no interval line from the client"
grep -q '"target_host":"10.97.0.10"' "$tmp/client.json" || fail "the instance label is missing"
grep -q '"type":"probe"' "$tmp/client.json" && fail "the client unit runs -q: no probe lines"
received=$(grep '"type":"summary"' "$tmp/client.json" | grep -o '"received":[0-9]*' | head -1 | cut -d: -f2)
[ "${received:-0}" -gt 0 ] || fail "the client received nothing: $(cat "$tmp/client.json" "$tmp/client.err")"
grep -q '"type":"server_interval"' "$tmp/server.json" || fail "no server_interval line"
grep -q '"type":"server_summary"' "$tmp/server.json" || fail "no server_summary after SIGINT"
echo "units verified; reflector and client ran as nobody with CAP_NET_RAW+CAP_NET_ADMIN: $received replies"
