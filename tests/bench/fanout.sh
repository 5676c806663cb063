#!/usr/bin/env bash
# fanout.sh - tenant fan-out benchmark (issue 3): the Defender emulator with
# N tenants (default 1000), 10 alerts each and 20 ms added latency per call;
# one `siemfwd run --once` cycle over all of them into a file output, with
# start_from ${START_FROM:-24h} (the first backfill). Prints wall time, peak RSS,
# records delivered and the API calls the emulator served. Numbers, not assertions.
# usage: fanout.sh [TENANTS] [MAX_PARALLEL]   (env SIEMFWD: binary to use)
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
n=${1:-1000}
par=${2:-64}
bin=${SIEMFWD:-$top/build-rel/siemfwd}
work=$(mktemp -d /tmp/sf-fanout.XXXXXX)
trap 'kill $emu 2>/dev/null; wait 2>/dev/null; [ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT
sh "$top/tests/emulator/mkcerts.sh" "$work/certs" >/dev/null
/usr/bin/python3 "$top/tests/emulator/defender_emu.py" --certdir "$work/certs" --tenants "$n" \
  --alerts-per-tenant 10 --history 1h --latency-ms 20 --client-secret bench-secret \
  >"$work/emu.out" 2>"$work/emu.log" &
emu=$!
for _ in $(seq 300); do grep -q '^READY' "$work/emu.out" 2>/dev/null && break; sleep 0.1; done
port=$(sed -n 's/^READY port=\([0-9]*\).*/\1/p' "$work/emu.out")
{
  echo "state_dir: $work/state"
  echo "log_level: warn"
  echo "http: {ca_file: $work/certs/ca.crt, max_parallel: $par}"
  echo "tenant_defaults: {client_id: 11111111-1111-1111-1111-111111111111,"
  echo "  client_secret: bench-secret, authority: https://127.0.0.1:$port,"
  echo "  api_base: https://127.0.0.1:$port, start_from: ${START_FROM:-24h}, settle: 1s}"
  echo "formats: [{name: cef, type: cef, map: $top/formats/maps/cef-defender.yaml}]"
  echo "outputs: [{name: out, type: file, format: cef, path: $work/out.cef}]"
  echo "tenants:"
  for i in $(seq "$n"); do
    printf '  - {name: t%d, tenant_id: 00000000-0000-0000-0000-%012d}\n' "$i" "$i"
  done
} >"$work/fanout.yaml"
# the emulator marks alerts updated at its start: wait out settle (1 s) so
# that one pass can see every alert
sleep 2
emu_cpu() { awk '{print $14 + $15}' "/proc/$emu/stat"; }
emu_before=$(emu_cpu)
/usr/bin/time -f "%e %M %U %S" -o "$work/time" "$bin" run -c "$work/fanout.yaml" --once 2>"$work/run.log" || true
read -r wall rss usr sys <"$work/time"
emu_secs=$(echo "$(emu_cpu) $emu_before $(getconf CLK_TCK)" | awk '{printf "%.2f", ($1 - $2) / $3}')
expected=$(curl -s --cacert "$work/certs/ca.crt" \
  "https://127.0.0.1:$port/_emu/alerts?tenant=*&source=graph" | /usr/bin/python3 -c \
  'import json,sys; print(json.load(sys.stdin)["count"])')
echo "fan-out: $n tenants, max_parallel $par, 20 ms latency per call:" \
     "wall ${wall}s, siemfwd cpu ${usr}s user + ${sys}s sys, peak RSS $((rss / 1024)) MB, $(wc -l <"$work/out.cef") records delivered" \
     "(emulator holds $expected)"
echo "the emulator (Python, one GIL) used ${emu_secs}s of CPU in that time"
grep -c "level=error\|level=warn" "$work/run.log" | xargs echo "warnings/errors logged:"
curl -s --cacert "$work/certs/ca.crt" "https://127.0.0.1:$port/_emu/stats" | /usr/bin/python3 -c '
import json, sys
calls = json.load(sys.stdin)["totals"]["calls"]
alert = sum(v for k, v in calls.items() if k != "token")
print("API calls: %d alert calls (%.2f per tenant), %s" % (alert, alert / '"$n"', calls))'

