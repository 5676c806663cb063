#!/bin/bash
# cluster_scale.sh - benchmark (numbers, not a test): cluster mode at scale.
# TENANTS (10,000) Defender-emulator tenants, split over EMUS (3) emulator
# processes (--tenant-base), shared by MEMBERS (3) `siemfwd run` members of one
# consumer group on librdkafka's mock cluster (3 brokers, tenants and cursors
# topics with PARTS (128) partitions). After the group settles and every tenant
# was polled, it measures for STEADY seconds (default 2 poll intervals):
#   * per member: tenants polled, requests/s, the effective poll period (gap
#     between two polls of one tenant), the cycle time (a burst of requests
#     without a 2 s pause), VmRSS and VmHWM (all from the emulators' request log
#     and /proc);
# then SIGKILLs the first member and reports the takeover: when its partitions
# were assigned to survivors (their "cluster: assigned" log lines) and the time
# from the kill to the first poll by a survivor of each of its tenants (median,
# p95, max), and the survivors' numbers afterwards.
# Use a Release build without sanitizers:
#   cmake -S . -B build-rel -DCMAKE_BUILD_TYPE=Release && cmake --build build-rel -j2
#   SIEMFWD=$PWD/build-rel/siemfwd SF_TOOLS_DIR=$PWD/build-rel/tools tests/bench/cluster_scale.sh
# Knobs (env): TENANTS, MEMBERS, EMUS, PARTS, POLL (30 s), STEADY, MAX_PARALLEL
# (16), ALERTS (2 per tenant), SESSION_MS (6000: a real broker's minimum),
# HEARTBEAT_MS (2000). KEEP=1 keeps the work dir.
set -euo pipefail
SRC=${SF_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
export SF_SOURCE_DIR=$SRC
export SIEMFWD=${SIEMFWD:-$SRC/build-rel/siemfwd}
export SF_TOOLS_DIR=${SF_TOOLS_DIR:-$(dirname "$SIEMFWD")/tools}
export TENANTS=${TENANTS:-10000} MEMBERS=${MEMBERS:-3} EMUS=${EMUS:-3} PARTS=${PARTS:-128}
export POLL=${POLL:-30} MAX_PARALLEL=${MAX_PARALLEL:-16} ALERTS=${ALERTS:-2}
export STEADY=${STEADY:-$((2 * POLL))} SESSION_MS=${SESSION_MS:-6000}
export HEARTBEAT_MS=${HEARTBEAT_MS:-2000}
if [ ! -x "$SIEMFWD" ]; then
    echo "siemfwd not found: $SIEMFWD (set SIEMFWD)" >&2
    exit 2
fi
exec /usr/bin/python3 - <<'PY'
import collections, os, shutil, signal, statistics, sys, tempfile, time
sys.path.insert(0, os.path.join(os.environ['SF_SOURCE_DIR'], 'tests', 'integration'))
import cluster_lib as C
import e2e_lib as L
from e2e_lib import log

E = os.environ
T, M, NE, P = int(E['TENANTS']), int(E['MEMBERS']), int(E['EMUS']), int(E['PARTS'])
POLL, STEADY, MAXP = float(E['POLL']), float(E['STEADY']), int(E['MAX_PARALLEL'])
SESSION, HB = int(E['SESSION_MS']), int(E['HEARTBEAT_MS'])
NAMES = ['m%d' % i for i in range(1, M + 1)]


def bursts(times, gap):
    """Durations of runs of request times with no pause longer than gap."""
    out, start, prev = [], None, None
    for t in sorted(times):
        if start is None:
            start = t
        elif t - prev > gap:
            out.append(prev - start)
            start = t
        prev = t
    if start is not None:
        out.append(prev - start)
    return out


def rss(m):
    got = {}
    with open('/proc/%d/status' % m.pid) as f:
        for ln in f:
            if ln.startswith(('VmRSS:', 'VmHWM:')):
                got[ln.split(':')[0]] = int(ln.split()[1]) // 1024
    return got


def measure(label, emus, members, t0, t1):
    """Per member: tenants, requests, the effective poll period (gap between
    two polls of one tenant: POLL when the member keeps up), the polling
    bursts (runs of requests without a 2 s pause: one cycle's work), RSS."""
    rows = [r for r in C.fetch_requests(emus, t0) if t0 <= r[0] < t1]
    per = collections.defaultdict(list)
    seen = collections.defaultdict(set)
    polls = collections.defaultdict(lambda: collections.defaultdict(list))
    for t, tid, _, who, _ in rows:
        per[who].append(t)
        seen[tid].add(who)
        polls[who][tid].append(t)
    multi = sum(1 for w in seen.values() if len(w) > 1)
    log('%s (%.0f s window): %d tenants polled, %d by more than one member' % (
        label, t1 - t0, len(seen), multi))
    for name in sorted(members):
        gaps = sorted(b - a for ts in polls[name].values() for a, b in zip(ts, ts[1:]))
        b = bursts(per[name], 2.0)
        full = b[1:-1] or b     # the first and last may be cut by the window
        r = rss(members[name])
        log('  %-3s tenants %5d  requests %6d (%5.1f/s)  poll period median %5.1f s max %5.1f s'
            '  cycle (burst) median %5.1f s max %5.1f s (%d)  VmRSS %4d MiB  VmHWM %4d MiB' % (
                name, len(polls[name]), len(per[name]), len(per[name]) / (t1 - t0),
                gaps[len(gaps) // 2] if gaps else -1, gaps[-1] if gaps else -1,
                statistics.median(full) if full else -1, max(full) if full else -1, len(b),
                r.get('VmRSS', -1), r.get('VmHWM', -1)))
    return {tid: next(iter(w)) for tid, w in seen.items() if len(w) == 1}


def main():
    root = tempfile.mkdtemp(prefix='siemfwd-cluster-bench.')
    certs = L.make_certs(os.path.join(root, 'certs'))
    log('cluster_scale: %d tenants, %d members, %d emulators, P=%d, poll %.0f s, '
        'max_parallel %d, session %d ms; %s; load: %s' % (
            T, M, NE, P, POLL, MAXP, SESSION, E['SIEMFWD'],
            open('/proc/loadavg').read().strip()))
    emus, members, mock = [], {}, None
    try:
        per = (T + NE - 1) // NE
        t_emu = time.monotonic()
        for k in range(NE):
            n = min(per, T - k * per)
            emus.append(L.Emulator(root, os.path.dirname(certs['ca.crt']), [
                '--tenants', str(n), '--tenant-base', str(k * per), '--alerts-per-tenant',
                E['ALERTS'], '--history', '1h', '--request-log-max', '3000000']))
        log('emulators up in %.1f s' % (time.monotonic() - t_emu))
        mock = C.KafkaMock(root, {'siemfwd.tenants': P, 'siemfwd.cursors': P})
        tenants, names = [], {}
        for emu in emus:
            for name in sorted(emu.tenants, key=lambda s: int(s[6:])):
                tenants.append(L.tenant_entry(emu, name, authority=emu.url))
                names[emu.tenant_id(name)] = name
        cl = C.cluster_section(mock.bootstrap, P, 'x', session_ms=SESSION, heartbeat_ms=HB)
        t_start = time.time()
        for name in NAMES:
            cfg, out = C.member_config(root, name, emus[0], certs, tenants, cl,
                                       poll_interval='%ds' % POLL, log_level='info')
            with open(cfg) as f:
                text = f.read().replace('max_parallel: 8', 'max_parallel: %d' % MAXP)
            with open(cfg, 'w') as f:
                f.write(text)
            members[name] = C.Member(root, name, cfg, out)
        rows = C.wait_all_polled(emus, names, t_start, 300, 'every tenant polled once')
        log('all %d tenants polled %.1f s after the members started' % (
            T, max(r[0] for r in rows) - t_start))
        # let the group settle: one more full interval after the first complete pass
        time.sleep(SESSION / 1000 + 5 + POLL)
        t0 = time.time()
        time.sleep(STEADY)
        owners = measure('steady, %d members' % M, emus, members, t0, time.time())
        victim = NAMES[0]
        mine = {tid for tid, w in owners.items() if w == victim}
        t_kill = time.time()
        members[victim].proc.send_signal(signal.SIGKILL)
        members[victim].proc.wait(10)
        log('SIGKILL %s (%d tenants)' % (victim, len(mine)))
        rest = {n: m for n, m in members.items() if n != victim}
        try:
            C.wait_all_polled(emus, mine, t_kill, 180, "the killed member's tenants polled")
        except L.E2EFailure as e:
            log('NOT ALL TAKEN OVER: %s' % e)
        first = C.first_poll_after(C.fetch_requests(emus, t_kill), t_kill, set(rest))
        took = sorted(first[t] - t_kill for t in mine if t in first) or [-1]
        log('%d of %d tenants polled again; ' % (len(first.keys() & mine), len(mine)) + 'takeover after SIGKILL: first poll of each of the %d tenants by a survivor '
            'after median %.1f s, p95 %.1f s, max %.1f s (session.timeout.ms %d)' % (
                len(took), statistics.median(took), took[int(0.95 * (len(took) - 1))],
                took[-1], SESSION))
        spans, _ = C.ownership(members[victim].stderr())
        parts = C.owned_at(spans, t_kill)
        assigned = {n: C.ownership(m.stderr())[1] for n, m in rest.items()}
        got = C.first_assigned(assigned, t_kill, parts)
        own = sorted(got.get(p, float('inf')) - t_kill for p in parts)
        if own:
            log('takeover after SIGKILL: its %d partitions assigned to survivors (their logs) '
                'after %.1f s .. %.1f s' % (len(parts), own[0], own[-1]))
        time.sleep(SESSION / 1000 + 5 + POLL)
        t0 = time.time()
        time.sleep(STEADY)
        measure('steady after the kill, %d members' % (M - 1), emus, rest, t0, time.time())
        for m in rest.values():
            m.proc.send_signal(signal.SIGTERM)
        for m in rest.values():
            m.proc.wait(120)
        warn = sum(1 for m in members.values() for ln in m.stderr().splitlines()
                   if 'level=error' in ln)
        log('error log lines over all members: %d' % warn)
    finally:
        for m in members.values():
            m.close()
        if mock:
            mock.stop()
        for emu in emus:
            emu.stop()
        if E.get('KEEP'):
            log('work dir kept: %s' % root)
        else:
            shutil.rmtree(root, ignore_errors=True)


main()
PY
