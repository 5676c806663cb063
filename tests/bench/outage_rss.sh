#!/bin/bash
# outage_rss.sh - benchmark (numbers, not a test): siemfwd run with one output down
# while 100,000 alerts are pending for it (Defender emulator, 100 tenants x 1000
# alerts over 2 h) and a healthy file output. Reports siemfwd's peak RSS (VmHWM
# from /proc/PID/status) during the outage, checks that the file output got every
# alert, then starts the syslog receiver (a private rsyslogd) and reports the
# catch-up time until syslog has every alert too. Everything on 127.0.0.1, in a
# temp dir removed at the end (KEEP=1 keeps it).
#
# Use a build without sanitizers for meaningful RSS figures:
#   cmake -S . -B build-rel && cmake --build build-rel -j2 --target siemfwd
#   SIEMFWD=$PWD/build-rel/siemfwd tests/bench/outage_rss.sh
# Knobs (env): TENANTS (100), ALERTS (1000 per tenant), OUTAGE (60 s of outage
# after the file output is complete), POLL (5s), MAX_PARALLEL (8), QUEUE (the syslog
# output's queue_max_bytes; default: siemfwd's).
set -euo pipefail
SRC=${SF_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
export SF_SOURCE_DIR=$SRC
export SIEMFWD=${SIEMFWD:-$SRC/build/siemfwd}
export TENANTS=${TENANTS:-100} ALERTS=${ALERTS:-1000} OUTAGE=${OUTAGE:-60} POLL=${POLL:-5}
export MAX_PARALLEL=${MAX_PARALLEL:-8}
if [ ! -x "$SIEMFWD" ]; then
    echo "siemfwd not found: $SIEMFWD (set SIEMFWD)" >&2
    exit 2
fi
exec /usr/bin/python3 - <<'PY'
import os, shutil, subprocess, sys, tempfile, time
sys.path.insert(0, os.path.join(os.environ['SF_SOURCE_DIR'], 'tests', 'integration'))
import e2e_lib as L
import sys_lib as S
from e2e_lib import log

T, A = int(os.environ['TENANTS']), int(os.environ['ALERTS'])
OUTAGE, POLL = float(os.environ['OUTAGE']), float(os.environ['POLL'])
SETTLE = 1.0


class Lines:
    """Lines appended to a file so far (reads only what is new)."""
    def __init__(self, path):
        self.path, self.off, self.n = path, 0, 0

    def count(self):
        try:
            with open(self.path, 'rb') as f:
                f.seek(self.off)
                while True:
                    chunk = f.read(1 << 20)
                    if not chunk:
                        break
                    self.n += chunk.count(b'\n')
                    self.off += len(chunk)
        except FileNotFoundError:
            pass
        return self.n


def status_kb(pid, field):
    with open('/proc/%d/status' % pid, encoding='ascii') as f:
        for ln in f:
            if ln.startswith(field + ':'):
                return int(ln.split()[1])
    return 0


def wait_lines(lines, want, run, timeout, what, rss):
    """Wait until lines has want lines; returns (seconds, seconds to the first)."""
    t0 = time.monotonic()
    first = None
    while lines.count() < want:
        if first is None and lines.n:
            first = time.monotonic() - t0
        L.check(run.alive(), 'siemfwd exited:\n%s' % run.stderr()[-3000:])
        L.check(time.monotonic() - t0 < timeout, 'timed out waiting for %s (%d of %d lines)'
                % (what, lines.n, want))
        rss.append(status_kb(run.pid, 'VmRSS'))
        time.sleep(0.5)
    return time.monotonic() - t0, first if first is not None else time.monotonic() - t0


def main():
    asan = b'libasan' in subprocess.run(['ldd', L.SIEMFWD], stdout=subprocess.PIPE).stdout
    root = tempfile.mkdtemp(prefix='siemfwd-outage-rss.')
    certs = L.make_certs(os.path.join(root, 'certs'))
    log('outage_rss: %s%s, %d tenants x %d alerts, work dir %s' % (
        L.SIEMFWD, ' (ASan build: RSS figures inflated)' if asan else '', T, A, root))
    emu = L.Emulator(root, os.path.join(root, 'certs'),
                     ['--tenants', str(T), '--alerts-per-tenant', str(A), '--history', '2h'])
    rsys = S.Rsyslog(root)
    rsys.stop()                              # the syslog receiver is down
    run = None
    try:
        path = os.path.join(root, 'file.cef')
        outs = [S.syslog_output(rsys.port), S.file_output(path)]
        if os.environ.get('QUEUE'):             # the syslog output's memory budget
            outs[0]['queue_max_bytes'] = os.environ['QUEUE']
        cfg = L.write_config(root, emu, certs, [L.tenant_entry(emu, n) for n in sorted(
            emu.tenants, key=lambda s: int(s[6:]))], outs, [S.cef_format()],
            poll_interval='%gs' % POLL, shutdown_timeout='30s')
        with open(cfg) as f:
            text = f.read().replace('max_parallel: 8', 'max_parallel: %s'
                                    % os.environ['MAX_PARALLEL'])
        with open(cfg, 'w') as f:
            f.write(text)
        vers = S.Versions(emu)
        time.sleep(SETTLE + 1)               # alerts last updated at start-up settle
        t_start = time.time()
        run = S.Siemfwd(root, cfg, 'run')
        vers.snapshot(t_start - SETTLE)
        need = len(vers.must)
        log('  %d alert versions pending for both outputs; syslog receiver stopped' % need)
        rss = []
        took, _ = wait_lines(Lines(path), need, run, 1800, 'the file output', rss)
        got = S.file_keys(path)
        S.summarize(got, vers.must, None, 'file', allow_dups=True)
        hwm_file = status_kb(run.pid, 'VmHWM')
        log('  file output complete after %.1f s; VmHWM %d KiB' % (took, hwm_file))
        t_out = time.monotonic()
        rss_out = []
        while time.monotonic() - t_out < OUTAGE:
            L.check(run.alive(), 'siemfwd exited:\n%s' % run.stderr()[-3000:])
            rss_out.append(status_kb(run.pid, 'VmRSS'))
            time.sleep(0.5)
        L.check(not os.path.exists(rsys.out), 'syslog got records while its receiver was down')
        hwm_out = status_kb(run.pid, 'VmHWM')
        log('  %.0f s more with syslog down: VmRSS %d..%d KiB, VmHWM %d KiB' % (
            OUTAGE, min(rss_out), max(rss_out), hwm_out))
        rsys.start()
        t_up = time.time()
        rss_up = []
        _, first = wait_lines(Lines(rsys.out), need, run, 1800, 'syslog to catch up', rss_up)
        catchup = time.time() - t_up
        S.summarize(rsys.keys(), vers.must, None, 'syslog', allow_dups=True)
        hwm_all = status_kb(run.pid, 'VmHWM')
        rc = run.term(120)
        log('  syslog caught up %.1f s after its receiver started (first record after %.1f s:'
            ' the output\'s backoff, capped at 30 s); VmHWM at the end %d KiB; siemfwd exit'
            ' %s after SIGTERM' % (catchup, first, hwm_all, rc))
        log('RESULT alerts=%d file_complete_s=%.1f peak_rss_kib_while_down=%d '
            'max_vmrss_kib_outage_only=%d syslog_catchup_s=%.1f syslog_first_record_s=%.1f '
            'peak_rss_kib_total=%d asan=%s'
            % (need, took, hwm_out, max(rss_out), catchup, first, hwm_all,
               'yes' if asan else 'no'))
    finally:
        if run:
            run.ensure_dead()
        rsys.stop()
        emu.stop()
        if os.environ.get('KEEP'):
            log('  kept %s' % root)
        else:
            shutil.rmtree(root, ignore_errors=True)


main()
PY
