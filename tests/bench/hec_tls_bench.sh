#!/usr/bin/env bash
# hec_tls_bench.sh - benchmark (numbers, not a test) of the HEC output over HTTP and
# HTTPS against tests/emulator/hec_emu.py (--no-store; --cert/--key from
# tests/emulator/mkcerts.sh for HTTPS), driven by `bench_syslog -y` with a hec config:
# the same harness for both, so the HTTP/HTTPS difference is TLS alone. bench_hec
# (HTTP only, also ack on) is left as it is. Ack off; gzip on and off. The Python
# emulator is usually the bottleneck: read the numbers as a floor.
# hec_emu.py answers keep-alive requests with two writes (headers, then body) and
# Nagle on, so each request waits for the client's delayed ACK (~40 ms on Linux):
# that, not the output, caps these numbers. NODELAY=1 runs the emulator with
# TCP_NODELAY (Handler.disable_nagle_algorithm, set from outside; the emulator
# file is unchanged) to show what the output itself does.
# Temp dir removed at the end (KEEP=1 keeps it).
# usage: hec_tls_bench.sh [RECORDS] [BATCH]   (env BENCH_SYSLOG: binary to use)
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
n=${1:-100000}
batch=${2:-500}
bin=${BENCH_SYSLOG:-$top/build-bench/tests/bench_syslog}
token=11111111-aaaa-4bbb-8ccc-00000000beef
[ -x "$bin" ] || { echo "hec_tls_bench: no $bin (build Release into build-bench)" >&2; exit 2; }
work=$(mktemp -d /tmp/sf-hectls.XXXXXX)
emu=
stop_emu() {   # prints the emulator's CPU time (user + sys) over its two runs
    if [ -n "$emu" ] && [ -r "/proc/$emu/stat" ]; then
        awk -v hz="$(getconf CLK_TCK)" '{ printf "  emulator cpu over both runs: %.2f s\n",
            ($14 + $15) / hz }' "/proc/$emu/stat"
    fi
    if [ -n "$emu" ]; then kill "$emu" 2>/dev/null || true; wait "$emu" 2>/dev/null || true; fi
    emu=
}
trap 'stop_emu >/dev/null; [ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT
sh "$top/tests/emulator/mkcerts.sh" "$work/certs" >/dev/null

start_emu() {   # [--cert C --key K]; sets emu and port
    /usr/bin/python3 -c 'import sys, os
sys.path.insert(0, sys.argv[1])
import hec_emu
hec_emu.Handler.disable_nagle_algorithm = os.environ.get("NODELAY") == "1"
sys.argv = ["hec_emu.py"] + sys.argv[2:]
hec_emu.main()' "$top/tests/emulator" --no-store --token "$token" "$@" \
        >"$work/emu.out" 2>"$work/emu.log" &
    emu=$!
    for _ in $(seq 100); do grep -q '^READY' "$work/emu.out" 2>/dev/null && break; sleep 0.1; done
    port=$(sed -n 's/^READY port=\([0-9]*\).*/\1/p' "$work/emu.out")
    [ -n "$port" ] || { echo "hec_tls_bench: emulator did not start" >&2; cat "$work/emu.log" >&2; exit 1; }
}

run() {   # label scheme gzip
    local label=$1 scheme=$2 gzip=$3
    {
        echo "type: hec"
        echo "url: $scheme://127.0.0.1:$port"
        echo "token: $token"
        echo "gzip: $gzip"
        [ "$scheme" = https ] && echo "tls: {ca_file: \"$work/certs/ca.crt\"}"
    } >"$work/hec.yaml"
    "$bin" -y "$work/hec.yaml" -n "$n" -b "$batch" -l "$label" || echo "  ($label: exit $?)"
}

echo "HEC benchmark: $n records x 1024 B, batch $batch (send + flush each), ack off," \
     "emulator TCP_NODELAY ${NODELAY:-0};" \
     "load: $(uptime | sed 's/.*load average: //')"
start_emu
run "http, gzip" http true
run "http, no gzip" http false
stop_emu
start_emu --cert "$work/certs/server.crt" --key "$work/certs/server.key"
run "https, gzip" https true
run "https, no gzip" https false
stop_emu
