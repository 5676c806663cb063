#!/usr/bin/env bash
# syslog_bench.sh - benchmark (numbers, not a test) of the syslog output against a
# private rsyslogd on 127.0.0.1 (imtcp: one plain TCP listener, one TLS listener with
# the ossl driver, anon client auth; omfile writes %rawmsg% per line). Runs bench_syslog
# for tcp/lf, tcp/octet-counting and tls/octet-counting, each with a fresh rsyslogd and
# output file; prints bench_syslog's line (records/s, MB/s, CPU) and the end-to-end
# time until rsyslog had written every line. Everything lives in a temp dir removed at
# the end (KEEP=1 keeps it). Needs rsyslog, rsyslog-openssl and the openssl CLI.
# usage: syslog_bench.sh [RECORDS] [BATCH]   (env BENCH_SYSLOG: binary to use)
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
n=${1:-100000}
batch=${2:-500}
bin=${BENCH_SYSLOG:-$top/build-bench/tests/bench_syslog}
rsyslogd=${RSYSLOGD:-/usr/sbin/rsyslogd}
[ -x "$bin" ] || { echo "syslog_bench: no $bin (build Release into build-bench)" >&2; exit 2; }
[ -x "$rsyslogd" ] || { echo "syslog_bench: no $rsyslogd" >&2; exit 2; }
work=$(mktemp -d /tmp/sf-syslogbench.XXXXXX)
rpid=
stop_rsyslog() {
    if [ -n "$rpid" ]; then kill "$rpid" 2>/dev/null || true; wait "$rpid" 2>/dev/null || true; fi
    rpid=
}
trap 'stop_rsyslog; [ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT
sh "$top/tests/emulator/mkcerts.sh" "$work/certs" >/dev/null

start_rsyslog() {   # fresh work dir, out.log and ports; sets rpid, tcp_port, tls_port
    rm -rf "$work/rs" && mkdir -p "$work/rs/work"
    cat >"$work/rs/rsyslog.conf" <<EOF
global(workDirectory="$work/rs/work" maxMessageSize="64k"
  parser.escapeControlCharactersOnReceive="off"
  DefaultNetstreamDriverCAFile="$work/certs/ca.crt"
  DefaultNetstreamDriverCertFile="$work/certs/server.crt"
  DefaultNetstreamDriverKeyFile="$work/certs/server.key")
module(load="imtcp")
template(name="raw" type="string" string="%rawmsg%\n")
ruleset(name="r") {
  action(type="omfile" file="$work/rs/out.log" template="raw")
}
input(type="imtcp" address="127.0.0.1" port="0" ruleset="r"
  listenPortFileName="$work/rs/tcp.port")
input(type="imtcp" address="127.0.0.1" port="0" ruleset="r"
  listenPortFileName="$work/rs/tls.port"
  StreamDriver.Name="ossl" StreamDriver.Mode="1" StreamDriver.AuthMode="anon")
EOF
    "$rsyslogd" -n -f "$work/rs/rsyslog.conf" -i "$work/rs/rsyslog.pid" \
        >"$work/rs/rsyslog.log" 2>&1 &
    rpid=$!
    for _ in $(seq 100); do
        [ -s "$work/rs/tcp.port" ] && [ -s "$work/rs/tls.port" ] && break
        sleep 0.1
    done
    tcp_port=$(cat "$work/rs/tcp.port" 2>/dev/null || true)
    tls_port=$(cat "$work/rs/tls.port" 2>/dev/null || true)
    if [ -z "$tcp_port" ] || [ -z "$tls_port" ]; then
        echo "syslog_bench: rsyslogd did not start:" >&2
        cat "$work/rs/rsyslog.log" >&2
        exit 1
    fi
}

lines() { if [ -f "$work/rs/out.log" ]; then wc -l <"$work/rs/out.log"; else echo 0; fi; }

run() {   # label transport framing
    local label=$1 transport=$2 framing=$3 port t0 t1 got uniq ca=()
    start_rsyslog
    port=$tcp_port
    if [ "$transport" = tls ]; then port=$tls_port; ca=(-c "$work/certs/ca.crt"); fi
    t0=$(date +%s.%N)
    if ! "$bin" -a "127.0.0.1:$port" -t "$transport" -f "$framing" "${ca[@]}" \
        -n "$n" -b "$batch" -l "$label"; then
        echo "  $label: bench_syslog failed; rsyslog log:"; cat "$work/rs/rsyslog.log"
        stop_rsyslog
        return
    fi
    # rsyslog has ACKed everything; wait (at most 60 s) until omfile wrote it all.
    for _ in $(seq 1200); do
        [ "$(lines)" -ge "$n" ] && break
        sleep 0.05
    done
    t1=$(date +%s.%N)
    got=$(lines)
    uniq=$( (grep -o 'externalId=da[0-9]*' "$work/rs/out.log" 2>/dev/null || true) | sort -u | wc -l)
    awk -v l="$label" -v a="$t0" -v b="$t1" -v n="$n" -v got="$got" -v u="$uniq" 'BEGIN {
        printf "  %s end to end (start to last line in rsyslog file): %.3f s, %.0f records/s,"\
               " %.1f MB/s; lines written %d, distinct ids %d\n",
               l, b - a, n / (b - a), n * 1024 / (b - a) / 1e6, got, u }'
    stop_rsyslog
}

echo "syslog benchmark: $n records x 1024 B, batch $batch; rsyslog $("$rsyslogd" -v | head -1 | awk '{print $2}' | tr -d ,); load: $(uptime | sed 's/.*load average: //')"
run "tcp lf" tcp lf
run "tcp octet-counting" tcp octet-counting
run "tls octet-counting" tls octet-counting
