#!/bin/sh
# lib_check.sh — inside the hwtestbed VM: the timestamp layer's own APIs on the real e1000e driver,
# through tests/hw/hw_probe_tool, each answer compared with raw ioctls / sysfs.
#   scripts/hwtestbed.sh --bin build/bin/hw_probe_tool -- sh /hwtest/lib_check.sh
# Checks: capabilities (ETHTOOL_GET_TS_INFO), SIOCSHWTSTAMP negotiation with read-back, restore by
# Restore(), by scope, on SIGINT, SIGTERM and exit; restore of a non-default previous config; PHC
# discovery, PTP_SYS_OFFSET_EXTENDED chosen when PRECISE is unsupported, frozen-PHC detection;
# RX stamps through a ring and through SCM_TIMESTAMPING, TX stamps from the error queue: no zero
# shown as a hardware time.
. /hwtest/checklib.sh
cd /tmp

echo "== capabilities and negotiation on $HW_IF0"
expect_hwtstamp "$HW_IF0" "tx=off rx=none" "starts with hardware stamping off"
hw_probe_tool negotiate "$HW_IF0" >neg.out
expect_rc 0 $? "negotiate"
expect_kv neg.out driver e1000e
expect_kv neg.out has_hardware_rx 1 "ETHTOOL_GET_TS_INFO: hardware RX"
expect_kv neg.out has_hardware_tx 1 "ETHTOOL_GET_TS_INFO: hardware TX"
expect_grep neg.out '^capabilities=.*hardware-raw-clock' "capabilities named (hardware-raw-clock)"
expect_grep neg.out '^rx_filter_names=(.*,)?all(,|$)' "RX filters include all"
expect_kv neg.out phc_index "$(echo "$HW_PHC0" | sed 's,/dev/ptp,,')" "phc_index matches sysfs ($HW_PHC0)"
expect_kv neg.out raw_before "tx=off rx=none"
expect_kv neg.out lib_get_before_matches_raw 1 "GetConfig before = SIOCGHWTSTAMP"
expect_kv neg.out hardware 1 "Negotiate: hardware on"
expect_kv neg.out applied "tx=on rx=all" "Negotiate: applied tx=on rx=all"
expect_kv neg.out previous "tx=off rx=none" "Negotiate: previous read"
expect_kv neg.out previous_known 1
expect_kv neg.out changed 1
expect_kv neg.out has_restorer 1
expect_kv neg.out readback_matches_raw 1 "applied = SIOCGHWTSTAMP during the run"
expect_kv neg.out lib_get_during_matches_raw 1 "GetConfig during = SIOCGHWTSTAMP"
expect_kv neg.out restore_matches_before 1 "Restore() puts the previous config back"
expect_kv neg.out scoped_changed 1
expect_kv neg.out scope_restore_matches_before 1 "restorer's destructor puts it back"
expect_kv neg.out tx_only_hardware_tx 1 "TX-only request: hardware TX"
expect_kv neg.out tx_only_hardware_rx 0 "TX-only request: no hardware RX"
expect_kv neg.out tx_only_readback_matches_raw 1
expect_kv neg.out ptp_rx_hardware_rx 1 "PTP v2 event request: hardware RX"
expect_kv neg.out ptp_rx_readback_matches_raw 1 "PTP v2 event request: read back = SIOCGHWTSTAMP"
expect_kv neg.out end_matches_before 1 "nothing left changed"
expect_no_grep neg.out '_error=' "no call failed"

echo "== a non-default previous config is what comes back"
hw_probe_tool raw-set "$HW_IF0" 0 12 >set.out
expect_rc 0 $? "raw SIOCSHWTSTAMP tx=off rx=ptpv2-event"
pre=$(hwtstamp "$HW_IF0")
hw_probe_tool negotiate "$HW_IF0" >neg2.out
expect_rc 0 $? "negotiate over it"
expect_kv neg2.out previous "$pre" "previous = $pre"
expect_kv neg2.out restore_matches_before 1
expect_kv neg2.out end_matches_before 1
expect_hwtstamp "$HW_IF0" "$pre" "still $pre afterwards"
hw_probe_tool raw-set "$HW_IF0" 0 0 >/dev/null

echo "== restore on SIGINT, SIGTERM and plain exit (InstallHwTimestampingRestoreHandlers)"
for sig in INT TERM; do
  : >hold.out
  hw_probe_tool hold "$HW_IF0" 60 >hold.out 2>&1 &
  pid=$!
  if wait_for_line hold.out '^holding=1' 20; then
    expect_hwtstamp "$HW_IF0" "tx=on rx=all" "while held: hardware on"
    kill -"$sig" "$pid"
    wait "$pid"
    rc=$?
    if [ "$sig" = INT ]; then want=130; else want=143; fi
    expect_rc "$want" "$rc" "SIG$sig ends the process by the signal"
    expect_hwtstamp "$HW_IF0" "tx=off rx=none" "SIG$sig restored the config"
  else
    not_ok "hold did not start"
    show hold.out
    kill -9 "$pid" 2>/dev/null
  fi
done
hw_probe_tool hold "$HW_IF0" 1 >hold.out 2>&1
expect_rc 0 $? "hold until its own time limit"
expect_kv hold.out timed_out 1
expect_hwtstamp "$HW_IF0" "tx=off rx=none" "exit restored the config"

echo "== PHC of $HW_IF0"
hw_probe_tool phc "$HW_IF0" >phc.out
expect_rc 0 $? "phc"
expect_kv phc.out phc_matches_sysfs 1 "PHC found from the interface = sysfs ($HW_PHC0)"
expect_kv phc.out raw_precise EOPNOTSUPP "driver: PTP_SYS_OFFSET_PRECISE unsupported"
expect_kv phc.out raw_extended ok "driver: PTP_SYS_OFFSET_EXTENDED works"
expect_kv phc.out offset_method extended "MeasureOffset falls back to extended"
expect_kv phc.out offset_uncertainty_nonnegative 1
expect_grep phc.out '^offset_samples=[1-9]' "offset from at least one sample"
expect_grep phc.out '^offset_ns=-?[0-9]+$' "offset measured"
if [ "$(kv phc.out raw_advance_ns_200ms)" = 0 ]; then
  expect_kv phc.out frozen 1 "frozen PHC detected (raw: no advance in 200 ms)"
else
  expect_kv phc.out frozen 0 "advancing PHC not called frozen (raw: $(kv phc.out raw_advance_ns_200ms) ns)"
fi
if [ "$(kv phc.out raw_advance_ns_200ms)" = 0 ]; then
  frozen=1
  note "emulator gap detected: the PHC does not advance (QEMU 7.2 e1000e); the NIC will deliver no hardware stamps"
else
  frozen=0
  note "the PHC advances: hardware stamps that arrive are checked as such"
fi
expect_no_grep phc.out '_error=' "no call failed"

echo "== RX stamps on $HW_IF1 (netns $HW_NS1) with hardware stamping on"
for mode in ring cmsg; do
  : >rx.out
  inpeer hw_probe_tool rx-stamps "$HW_IF1" 5 20 "$mode" >rx.out 2>&1 &
  pid=$!
  if wait_for_line rx.out '^ready=1' 20; then
    ping -c 10 -i 0.2 -W 1 "$HW_IP1" >ping.out 2>&1
    wait "$pid"
    expect_rc 0 $? "rx-stamps $mode"
    expect_kv rx.out hardware_rx 1 "$mode: hardware RX negotiated"
    expect_grep rx.out '^raw_during=tx=on rx=all' "$mode: SIOCGHWTSTAMP shows it during the run"
    frames=$(kv rx.out frames)
    if [ "${frames:-0}" -ge 5 ]; then ok "$mode: $frames frames received"; else not_ok "$mode: frames=$frames"; show rx.out; fi
    expect_kv rx.out zero_shown_as_hardware 0 "$mode: no zero shown as a hardware time"
    expect_kv rx.out lib_hardware "$(kv rx.out raw_hardware_nonzero)" "$mode: hardware stamps = frames the kernel stamped"
    expect_kv rx.out lib_software "$frames" "$mode: every frame has its software stamp"
    hw_n=$(kv rx.out raw_hardware_nonzero)
    if [ "${hw_n:-0}" -gt 0 ]; then
      note "$mode: $hw_n hardware stamps arrived (checked above: all reported, none zero)"
    else
      note "$mode: no hardware stamp arrived (frozen PHC: $frozen): every frame kept its software stamp (checked above)"
    fi
    expect_hwtstamp "$HW_IF1" "tx=off rx=none" "$mode: $HW_IF1 restored at exit"
  else
    not_ok "rx-stamps $mode did not start"
    show rx.out
    kill -9 "$pid" 2>/dev/null
  fi
done

echo "== TX stamps on $HW_IF0 with hardware TX on (error queue)"
hw_probe_tool tx-stamps "$HW_IF0" 5 3 >tx.out 2>&1
expect_rc 0 $? "tx-stamps"
expect_kv tx.out hardware_tx 1 "hardware TX negotiated"
expect_grep tx.out '^raw_during=tx=on ' "SIOCGHWTSTAMP shows it during the run"
expect_kv tx.out sent 5
reports=$(kv tx.out tx_reports)
if [ "${reports:-0}" -ge 1 ] && [ "$reports" -le 5 ]; then ok "$reports TX stamp reports for 5 frames"; else not_ok "tx_reports=$reports"; show tx.out; fi
expect_kv tx.out zero_shown_as_hardware 0 "TX: no zero shown as a hardware time"
expect_kv tx.out lib_hardware "$(kv tx.out raw_hardware_nonzero)" "TX: hardware stamps = reports the kernel stamped"
expect_kv tx.out lib_software "$reports" "TX: every report has its software stamp"
hw_n=$(kv tx.out raw_hardware_nonzero)
if [ "${hw_n:-0}" -gt 0 ]; then
  note "TX: $hw_n hardware stamps arrived (checked above: all reported, none zero)"
else
  note "TX: no hardware stamp arrived (frozen PHC: $frozen)"
fi
expect_hwtstamp "$HW_IF0" "tx=off rx=none" "TX: $HW_IF0 restored at exit"
# e1000e keeps one hardware TX stamp pending and the kernel then skips that frame's software
# stamp; SOF_TIMESTAMPING_OPT_TX_SWHW gives the software stamp of every frame regardless.
hw_probe_tool tx-stamps "$HW_IF0" 5 3 swhw >txs.out 2>&1
expect_rc 0 $? "tx-stamps with OPT_TX_SWHW"
expect_kv txs.out tx_reports 5 "TX+SWHW: a report for every frame"
expect_kv txs.out lib_software 5 "TX+SWHW: every frame has its software stamp"
expect_kv txs.out zero_shown_as_hardware 0 "TX+SWHW: no zero shown as a hardware time"

finish_checks
