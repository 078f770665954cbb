#!/bin/sh
# probe_check.sh — inside the hwtestbed VM: `ringstamp probe` with --tstamp hardware on e1000e.
#   scripts/hwtestbed.sh --bin build/bin/hw_probe_tool -- sh /hwtest/probe_check.sh
# Written against the CLI of issue 6 (probe server / probe client); wired into ctest once
# `ringstamp probe` exists (see docs/hardware-testbed.md).
# Layout: reflector in namespace peer on $HW_IF1 at 10.77.0.12, client on $HW_IF0 at 10.77.0.11
# (addresses the kernel does not own: ringstamp answers ARP for them itself).
# Checks: the client's --tstamp hardware switches hardware stamping on (SIOCGHWTSTAMP during the
# run), restores it on exit and on SIGINT; every probe is answered; since the emulated NIC delivers
# zero hardware stamps, every stamp is reported as software (never "hardware" with a zero time)
# and the summary is printed.
. /hwtest/checklib.sh
cd /tmp
SERVER_IP=10.77.0.12
CLIENT_IP=10.77.0.11

if ! ringstamp probe --help >/dev/null 2>&1 && ! ringstamp --help 2>&1 | grep -q '^  probe'; then
  not_ok "ringstamp has no probe command"
  finish_checks
fi

: >srv.out
inpeer ringstamp probe server -i "$HW_IF1" --ip "$SERVER_IP" --duration 120 >srv.out 2>&1 &
srv_pid=$!
sleep 3

echo "== probe client --tstamp hardware --json"
before=$(hwtstamp "$HW_IF0")
ringstamp probe client -i "$HW_IF0" --ip "$CLIENT_IP" --server "$SERVER_IP" --count 20 \
  --interval 100ms --tstamp hardware --json >cli.json 2>cli.err &
cli_pid=$!
sleep 1
during=$(hwtstamp "$HW_IF0")
case "$during" in
  "tx=on "*) ok "hardware TX on during the run (SIOCGHWTSTAMP: $during)" ;;
  *) not_ok "hardware TX on during the run: SIOCGHWTSTAMP says $during" ;;
esac
wait "$cli_pid"
expect_rc 0 $? "probe client"
cat cli.err
tail -n 3 cli.json
expect_grep cli.json '"type": ?"summary"' "summary line"
expect_grep cli.json '"received": ?20[,}]' "all 20 probes answered"
expect_grep cli.json '"lost": ?0[,}]' "none lost"
expect_grep cli.json '"t1": ?\{[^}]*"source": ?"software"' "t1 falls back to software stamps"
expect_grep cli.json '"t4": ?\{[^}]*"source": ?"software"' "t4 falls back to software stamps"
expect_no_grep cli.json '"source": ?"hardware"' "no stamp shown as hardware (the NIC delivered none)"
expect_no_grep cli.json '"ns": ?0[,}]' "no zero time reported"
expect_hwtstamp "$HW_IF0" "$before" "config restored on exit"

echo "== SIGINT during probe client --tstamp hardware"
ringstamp probe client -i "$HW_IF0" --ip "$CLIENT_IP" --server "$SERVER_IP" --count 1000 \
  --interval 100ms --tstamp hardware >int.out 2>int.err &
cli_pid=$!
sleep 2
during=$(hwtstamp "$HW_IF0")
case "$during" in
  "tx=on "*) ok "hardware TX on during the run ($during)" ;;
  *) not_ok "hardware TX on during the run: $during" ;;
esac
kill -INT "$cli_pid"
wait "$cli_pid"
rc=$?
if [ "$rc" -eq 0 ] || [ "$rc" -eq 130 ]; then ok "client stopped by SIGINT (exit $rc)"; else not_ok "client after SIGINT: exit $rc"; fi
expect_grep int.err "$HW_IF0: hardware timestamps on" "the plan says hardware stamping is on"
expect_grep int.out "sent|received" "summary printed after SIGINT"
expect_hwtstamp "$HW_IF0" "$before" "config restored after SIGINT"

kill -INT "$srv_pid" 2>/dev/null
wait "$srv_pid"
finish_checks
