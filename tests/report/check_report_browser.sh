#!/usr/bin/env bash
# check_report_browser.sh BIN SOURCE_DIR — `probe client --report` between two namespaces of
# scripts/netns.sh (a STAMP run with --clocks-synchronised and an ICMP run), then each page is
# opened in headless Chromium: every picture must have rendered (each <svg> laid out with a
# non-empty box and drawn elements inside), the page must have loaded nothing from elsewhere
# and logged no console error. The page has no script of its own: the test appends a small
# one to a copy, which writes what it measured into the DOM that --dump-dom prints.
# Exit 77 (skipped) without root or Chromium; every wait is bounded; everything made is
# removed on any exit.
set -euo pipefail
bin=$1 src=$2

skip() {
  echo "SKIPPED [$1]: $2"
  [ -n "${RINGSTAMP_SKIP_LOG:-}" ] && printf '%s\treport_browser\t%s\n' "$1" "$2" >>"$RINGSTAMP_SKIP_LOG"
  exit 77
}
[ "$(id -u)" -eq 0 ] || skip root "needs root to create network namespaces"
command -v chromium >/dev/null || skip tool "needs chromium (scripts/bootstrap.sh installs it)"

export RINGSTAMP_NETNS_SUFFIX=rb$$
out=$(mktemp -d /tmp/rs-report.XXXXXX)
server=
cleanup() {
  local rc=$?
  trap - EXIT
  [ -n "$server" ] && kill -INT "$server" 2>/dev/null && wait "$server" 2>/dev/null
  "$src/scripts/netns.sh" down >/dev/null 2>&1 || true
  rm -rf "$out"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP
fail() { echo "FAIL: $*" >&2; exit 1; }

eval "$("$src/scripts/netns.sh" env)"
"$src/scripts/netns.sh" up >/dev/null
ip netns exec "$NS_B" "$bin" probe server -i "$IF_B" --ip 10.99.0.12 --duration 60 \
  >"$out/server.out" 2>"$out/server.err" &
server=$!
for _ in $(seq 200); do grep -q "STAMP reflector on" "$out/server.err" && break; sleep 0.1; done
grep -q "STAMP reflector on" "$out/server.err" || fail "the reflector did not start"
ip netns exec "$NS_A" "$bin" probe client -i "$IF_A" --ip 10.99.0.21 --server 10.99.0.12 -c 400 \
  -i 5ms -q --clocks-synchronised --label 'site=<lab & "test">' --report "$out/stamp.html" \
  >/dev/null || fail "probe client (STAMP) failed"
ip netns exec "$NS_A" "$bin" probe client -i "$IF_A" --ip 10.99.0.21 --server "$IP4_B" \
  --mode icmp -c 100 -i 5ms -q --report "$out/icmp.html" >/dev/null || fail "probe client (ICMP) failed"

for page in stamp icmp; do
  html=$out/$page.html
  grep -qi '<script' "$html" && fail "$page.html carries a script"
  # What the browser saw, written into the DOM by a script appended to a copy of the page.
  sed 's|</body>|<script>document.body.insertAdjacentHTML("beforeend", "<pre id=\\"rs-check\\">" + Array.from(document.querySelectorAll("svg")).map(s => { const b = s.getBoundingClientRect(); return [Math.round(b.width), Math.round(b.height), s.querySelectorAll("path,rect,line,text").length].join(","); }).join(";") + "</pre>");</script></body>|' \
    "$html" >"$out/$page-check.html"
  timeout 60 chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$out/profile-$page" --enable-logging=stderr --v=0 --window-size=1100,900 \
    --dump-dom "file://$out/$page-check.html" >"$out/$page.dom" 2>"$out/$page.log" ||
    fail "chromium could not open $page.html: $(tail -5 "$out/$page.log")"
  boxes=$(sed -n 's|.*<pre id="rs-check">\([^<]*\)</pre>.*|\1|p' "$out/$page.dom")
  [ -n "$boxes" ] || fail "$page.html: the check did not run: $(tail -5 "$out/$page.log")"
  n=$(tr ';' '\n' <<<"$boxes" | wc -l)
  [ "$n" -eq 5 ] || fail "$page.html: want 5 pictures, the browser laid out $n ($boxes)"
  k=0
  while IFS=, read -r w h elements; do
    k=$((k + 1))
    # ICMP's clock picture is a note (no reflector stamps): background, title, two lines.
    want=10
    [ "$page" = icmp ] && [ "$k" -eq 5 ] && want=3
    [ "$w" -gt 400 ] && [ "$h" -gt 200 ] && [ "$elements" -gt "$want" ] ||
      fail "$page.html: picture $k did not render: ${w}x${h} px, $elements elements ($boxes)"
  done < <(tr ';' '\n' <<<"$boxes")
  if grep -E 'CONSOLE\(|Uncaught|Failed to load resource|net::ERR' "$out/$page.log" | grep -v 'rs-check' >&2; then
    fail "$page.html: console errors or a resource it tried to fetch (above)"
  fi
  echo "$page.html: 5 pictures rendered ($boxes)"
done
grep -q 'site=&lt;lab &amp; &quot;test&quot;&gt;' "$out/stamp.html" || fail "the label is not escaped in stamp.html"
grep -q 'One-way delays (clocks synchronised)' "$out/stamp.html" || fail "stamp.html: no one-way delays"
grep -q 'ICMP echo: no reflector stamps' "$out/icmp.html" || fail "icmp.html: no ICMP note"
echo "report_browser: both reports render in Chromium"
