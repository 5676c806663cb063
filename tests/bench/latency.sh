#!/bin/bash
# latency.sh - benchmark (numbers, not a test; issue 9 item 7): time from an
# alert becoming available in the Defender API to its delivery, per output,
# with a healthy and with a busy Splunk HEC next to a file output.
#
# Set-up per case (fresh emulators, fresh state dir, fresh `siemfwd run`):
# 3 tenants (Graph source) in tests/emulator/defender_emu.py, poll_interval 2s,
# tenant settle 1s and overlap 1m (settle defaults to 30s, which would be most
# of the latency), a file output (format json) and a HEC output (format json,
# ack: true, every other HEC key at its default, as a new user writes it) to
# tests/emulator/hec_emu.py. After a warm-up (1 alert per tenant delivered to
# both outputs), 2 new alerts per tenant are added every 3 s through the
# emulator's POST /_emu/generate for LOAD seconds; then the script waits (up to
# DRAIN s) for every one of them to reach both outputs.
#   healthy: hec_emu acks 0.2 s after accepting a POST
#   busy:    30% of event POSTs answered 503 (code 9) and acks only after 8 s
#            (hec_emu busy_ratio / ack_delay, switched on when the load starts)
#
# Latency of an alert = delivery time - its lastUpdateDateTime (the moment
# the emulator added it; same host clock):
#   file         when its line appeared in the file (polled every 20 ms)
#   hec accepted when hec_emu accepted (HTTP 200) the first POST carrying it
#   hec acked    when a siemfwd /ack poll first got `true` for it: the moment
#                the forwarder can count it delivered (the headline HEC figure)
# Alerts never delivered within DRAIN count as infinitely late in p50/p95.
# "alert API calls" = GETs to the Graph alerts endpoint (the emulator's
# /_emu/stats calls.graph) during the LOAD window only.
#
# Use a Release build without sanitizers:
#   cmake -S . -B build-rel -DCMAKE_BUILD_TYPE=Release -DSIEMFWD_TESTS=OFF
#   cmake --build build-rel -j2 --target siemfwd
#   SIEMFWD=$PWD/build-rel/siemfwd tests/bench/latency.sh
# Knobs (env): LOAD (36 s), EVERY (3 s), PER (2 alerts per tenant per round),
# TENANTS (3), POLL (2s), SETTLE (1s), OVERLAP (1m), BUSY_RATIO (0.3),
# BUSY_ACK_DELAY (8), DRAIN (120 s), CASES ("healthy busy"), KEEP=1 keeps the
# work dir. The emulators and this script always come from this source tree
# (SF_SOURCE_DIR); only the binary comes from SIEMFWD.
set -euo pipefail
SRC=${SF_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
export SF_SOURCE_DIR=$SRC
export SIEMFWD=${SIEMFWD:-$SRC/build-rel/siemfwd}
export LOAD=${LOAD:-36} EVERY=${EVERY:-3} PER=${PER:-2} TENANTS=${TENANTS:-3}
export POLL=${POLL:-2s} SETTLE=${SETTLE:-1s} OVERLAP=${OVERLAP:-1m}
export BUSY_RATIO=${BUSY_RATIO:-0.3} BUSY_ACK_DELAY=${BUSY_ACK_DELAY:-8}
export DRAIN=${DRAIN:-120} CASES=${CASES:-healthy busy}
if [ ! -x "$SIEMFWD" ]; then
    echo "siemfwd not found: $SIEMFWD (set SIEMFWD)" >&2
    exit 2
fi
exec /usr/bin/python3 - <<'PY'
import json, math, os, re, shutil, subprocess, sys, tempfile, threading, time
sys.path.insert(0, os.path.join(os.environ['SF_SOURCE_DIR'], 'tests', 'integration'))
import e2e_lib as L
import sys_lib as S
from e2e_lib import log

E = os.environ
LOAD, EVERY, PER, T = float(E['LOAD']), float(E['EVERY']), int(E['PER']), int(E['TENANTS'])
POLL, SETTLE, OVERLAP = E['POLL'], E['SETTLE'], E['OVERLAP']
BUSY_RATIO, BUSY_ACK = float(E['BUSY_RATIO']), float(E['BUSY_ACK_DELAY'])
DRAIN = float(E['DRAIN'])
CASES = E['CASES'].split()


def uptime():
    return subprocess.run(['uptime'], stdout=subprocess.PIPE,
                          universal_newlines=True).stdout.strip()


def dur_s(text):
    m = re.fullmatch(r'(\d+(?:\.\d+)?)(ms|s|m|h)', text)
    L.check(m, 'bad duration %r' % text)
    return float(m.group(1)) * {'ms': 0.001, 's': 1, 'm': 60, 'h': 3600}[m.group(2)]


class FileWatch(threading.Thread):
    """Tails a json file output every 20 ms: first-seen time per alert id."""

    def __init__(self, path):
        super().__init__(daemon=True)
        self.path, self.off, self.buf = path, 0, b''
        self.seen, self.dups = {}, 0
        self.lock = threading.Lock()
        self.halt = threading.Event()

    def poll(self):
        try:
            with open(self.path, 'rb') as f:
                f.seek(self.off)
                chunk = f.read()
        except FileNotFoundError:
            return
        now = time.time()
        self.off += len(chunk)
        self.buf += chunk
        *lines, self.buf = self.buf.split(b'\n')
        with self.lock:
            for ln in lines:
                if not ln.strip():
                    continue
                aid = json.loads(ln)['id']
                if aid in self.seen:
                    self.dups += 1
                else:
                    self.seen[aid] = now

    def run(self):
        while not self.halt.is_set():
            self.poll()
            time.sleep(0.02)

    def snapshot(self):
        with self.lock:
            return dict(self.seen), self.dups


def hec_times(hec):
    """{alert id: (first accepted, first acked or None)}, duplicate events."""
    obj = hec._req('GET', '/_emu/events?times=1')
    out, dups, n = {}, 0, {}
    for env, tm in zip(obj['events'], obj['times']):
        aid = env['event']['id']
        n[aid] = n.get(aid, 0) + 1
        acc, ack = tm['received'], tm['acked']
        if aid in out:
            dups += 1
            pacc, pack = out[aid]
            acc = min(acc, pacc)
            ack = pack if ack is None else (ack if pack is None else min(ack, pack))
        out[aid] = (acc, ack)
    return out, dups


def pct(vals, q):
    """Nearest-rank percentile; inf (never delivered) sorts last."""
    if not vals:
        return math.nan
    s = sorted(vals)
    return s[max(0, math.ceil(q * len(s)) - 1)]


def fmt(v):
    if math.isnan(v):
        return '-'
    return 'never' if math.isinf(v) else '%.1f' % v


def graph_calls(emu):
    return emu.get('/_emu/stats')['totals']['calls'].get('graph', 0)


def run_case(root, certs, case):
    d = os.path.join(root, case)
    os.makedirs(d)
    emu = L.Emulator(d, os.path.dirname(certs['ca.crt']),
                     ['--tenants', str(T), '--alerts-per-tenant', '1', '--history', '10m'])
    hec = run = None
    try:
        hec = S.HecEmu(d, ack=True, ack_delay=0.2, verbose=False)
        path = os.path.join(d, 'file.jsonl')
        outs = [{'name': 'file', 'type': 'file', 'format': 'json', 'path': path},
                {'name': 'hec', 'type': 'hec', 'format': 'json', 'url': hec.url,
                 'token': S.HEC_TOKEN, 'ack': True}]
        names = sorted(emu.tenants, key=lambda s: int(s[6:]))
        tenants = [L.tenant_entry(emu, n, settle=SETTLE, overlap=OVERLAP) for n in names]
        cfg = L.write_config(d, emu, certs, tenants, outs, poll_interval=POLL)
        watch = FileWatch(path)
        watch.start()
        run = S.Siemfwd(d, cfg, case)
        # warm-up: the initial alerts reach both outputs (HEC acked)
        initial = emu.get('/_emu/alerts?tenant=*&source=graph')['count']

        def warm():
            L.check(run.alive(), 'siemfwd exited:\n%s' % run.stderr()[-3000:])
            got, _ = hec_times(hec)
            return (len(watch.snapshot()[0]) >= initial and
                    sum(1 for _, a in got.values() if a is not None) >= initial)
        L.wait_for(warm, 90, 'the warm-up alerts at both outputs', 0.25)
        time.sleep(dur_s(POLL))
        if case == 'busy':
            hec.control(busy_ratio=BUSY_RATIO, ack_delay=BUSY_ACK)
        hs0 = hec.stats()
        c0 = graph_calls(emu)
        avail = {}
        t0 = time.time()
        rounds = int(LOAD // EVERY)
        for k in range(rounds):
            time.sleep(max(0.0, t0 + k * EVERY - time.time()))
            made = emu.post('/_emu/generate', {'tenant': '*', 'count': PER})['created']
            for rows in made.values():
                for a in rows:
                    avail[a['id']] = L.parse_time(a['lastUpdateDateTime'])
        time.sleep(max(0.0, t0 + LOAD - time.time()))
        calls = graph_calls(emu) - c0
        # drain: every injected alert at both outputs, or DRAIN seconds
        end = time.monotonic() + DRAIN
        while time.monotonic() < end:
            L.check(run.alive(), 'siemfwd exited:\n%s' % run.stderr()[-3000:])
            seen, _ = watch.snapshot()
            got, _ = hec_times(hec)
            if all(a in seen for a in avail) and all(
                    got.get(a, (0, None))[1] is not None for a in avail):
                break
            time.sleep(0.5)
        drained = time.time() - t0 - LOAD
        seen, fdups = watch.snapshot()
        got, hdups = hec_times(hec)
        hs2 = hec.stats()
        watch.halt.set()
        rc = run.term(90)
        warns = sum(1 for ln in run.stderr().splitlines()
                    if re.search(r'(^|\s)level=(warn|error)(\s|$)', ln))
        inf = math.inf
        lat = {
            'file (line written)': [seen[a] - t if a in seen else inf
                                    for a, t in avail.items()],
            'hec (POST accepted)': [got[a][0] - t if a in got else inf
                                    for a, t in avail.items()],
            'hec (ack true)': [got[a][1] - t if a in got and got[a][1] is not None else inf
                               for a, t in avail.items()],
        }
        http = {k: hs2['http'].get(k, 0) - hs0['http'].get(k, 0) for k in hs2['http']}
        log('  %s: %d alerts injected in %d rounds over %.0f s; drain %.1f s after the '
            'load; %d alert API calls in the load window; HEC: %d event POSTs (HTTP %s), '
            '%d ack polls during load + drain; duplicates: file %d, hec %d; siemfwd exit %s '
            'after SIGTERM, %d warn/error log lines'
            % (case, len(avail), rounds, LOAD, drained, calls,
               hs2['event_posts'] - hs0['event_posts'],
               ', '.join('%s: %d' % kv for kv in sorted(http.items()) if kv[1]),
               hs2['ack_polls'] - hs0['ack_polls'], fdups, hdups, rc, warns))
        return {'lat': lat, 'calls': calls, 'n': len(avail)}
    finally:
        if run:
            run.ensure_dead()
        if hec:
            hec.stop()
        emu.stop()


def main():
    asan = b'libasan' in subprocess.run(['ldd', L.SIEMFWD], stdout=subprocess.PIPE).stdout
    root = tempfile.mkdtemp(prefix='siemfwd-latency.')
    certs = L.make_certs(os.path.join(root, 'certs'))
    poll_s = dur_s(POLL)
    log('latency: %s%s; work dir %s' % (L.SIEMFWD, ' (ASan build!)' if asan else '', root))
    log('  %d tenants (graph), poll_interval %s, tenant settle %s (default 30s would dominate '
        'the latency), overlap %s; outputs: file (json) and hec (json, ack: true, other keys '
        'default); %d alerts per tenant every %g s for %g s' % (T, POLL, SETTLE, OVERLAP, PER,
                                                              EVERY, LOAD))
    log('  busy HEC: %g%% of event POSTs answered 503, acks after %g s'
        % (BUSY_RATIO * 100, BUSY_ACK))
    log('  load at start: %s' % uptime())
    res = {}
    try:
        for case in CASES:
            res[case] = run_case(root, certs, case)
    finally:
        if os.environ.get('KEEP'):
            log('  kept %s' % root)
        else:
            shutil.rmtree(root, ignore_errors=True)
    log('  load at end:   %s' % uptime())
    log('')
    log('latency from alert available (lastUpdateDateTime) to delivery, seconds:')
    log('| case | output | delivered | p50 | p95 | max |')
    log('|---|---|---|---|---|---|')
    for case, r in res.items():
        for name, vals in r['lat'].items():
            log('| %s | %s | %d/%d | %s | %s | %s |' % (
                case, name, sum(1 for v in vals if not math.isinf(v)), len(vals),
                fmt(pct(vals, 0.5)), fmt(pct(vals, 0.95)), fmt(max(vals) if vals else math.nan)))
    nominal = T * LOAD / poll_s
    log('')
    log('alert API calls (GET alerts_v2) in the %g s load window (%d tenants x one call per '
        '%s poll would be ~%.0f):' % (LOAD, T, POLL, nominal))
    log('  ' + ', '.join('%s %d (%.2f per tenant-poll)' % (c, r['calls'], r['calls'] / nominal)
                         for c, r in res.items()))
    log('')
    log('summary (p95, s; aim: file output within poll interval + 1 s = %.0f s in both cases):'
        % (poll_s + 1))
    log('| what | %s |' % ' | '.join(res))
    log('|---|%s' % ('---|' * len(res)))
    for name, label in (('file (line written)', 'file output, p95 available -> written'),
                        ('hec (ack true)', 'HEC output, p95 available -> acked'),
                        ('hec (POST accepted)', 'HEC output, p95 available -> accepted')):
        log('| %s | %s |' % (label, ' | '.join(fmt(pct(r['lat'][name], 0.95))
                                                for r in res.values())))
    log('| alert API calls during %g s of load | %s |'
        % (LOAD, ' | '.join(str(r['calls']) for r in res.values())))


main()
PY
