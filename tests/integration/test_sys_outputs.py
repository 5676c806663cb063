#!/usr/bin/python3
"""System test of `siemfwd run` with four real outputs on 127.0.0.1 (issues 4, 5):
Defender emulator (3 tenants, Graph) -> syslog TCP (CEF, RFC 5424, octet-counting)
to a private rsyslogd, Kafka (JSON) to librdkafka's mock cluster (3 brokers), Splunk
HEC (JSON, indexer acks) to hec_emu.py, and a CEF file.

1. once: two --once cycles (new and updated alerts in between): every version
   listed before the run reaches every output, none twice, CEF received by rsyslog
   equals the file output's lines and parses with lognormalizer.
2. isolation: siemfwd runs continuously while the emulator generates alerts; HEC
   answers 503 for 60 s. syslog and file keep receiving new alerts within a few
   poll intervals during the outage (checked at mid-outage), HEC gets nothing new;
   after it recovers HEC catches up from its own cursor (catch-up time printed)
   and every output has every version, none twice.

Usage: test_sys_outputs.py [SCENARIO ...]; env SIEMFWD, SF_SOURCE_DIR, SF_TOOLS_DIR.
Temp files are removed unless a scenario fails.
"""

import collections
import os
import shutil
import sys
import tempfile
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import e2e_lib as L  # noqa: E402
import sys_lib as S  # noqa: E402
from e2e_lib import check, log  # noqa: E402

TENANTS = ['tenant1', 'tenant2', 'tenant3']
POLL_S = 2.0
SETTLE_S = 1.0
OUTAGE_S = 60.0
# "within a few poll intervals": an alert older than this at a sample time
# must already be at syslog and file.
REALTIME_LAG_S = 5 * POLL_S + SETTLE_S


def check_cef_consistency(rig):
    """rsyslog's CEF bodies = the file output's lines (same format, same versions),
    and lognormalizer parses every received one."""
    got = rig.rsys.cef_lines()
    filed = L.read_lines(rig.file)
    check(collections.Counter(got) == collections.Counter(filed),
          'syslog CEF bodies differ from the file output: %d vs %d lines, e.g. %s'
          % (len(got), len(filed), sorted(set(got) ^ set(filed))[:1]))
    parsed, bad = S.lognorm_parse(got)
    log('  lognormalizer: %d of %d CEF messages received by rsyslog parsed' %
        (parsed, len(got)))
    check(parsed == len(got), 'lognormalizer parsed %d of %d, e.g. %s'
          % (parsed, len(got), bad))


# ------------------------------------------------------------------ 1
def s1_once(root, certs):
    """two --once cycles to syslog(rsyslog) + kafka(mock) + hec(acks) + file"""
    rig = S.Rig(root, certs, '1.once', TENANTS, POLL_S,
                ['--tenants', '3', '--alerts-per-tenant', '20', '--history', '2h'])
    try:
        for run in (1, 2):
            if run == 2:
                for n in TENANTS:
                    rig.emu.generate(n, 6)
                    rig.emu.update(n, 4)
                time.sleep(SETTLE_S + 0.3)
            rig.vers.snapshot(time.time() - SETTLE_S)
            res = L.run_once(rig.cfg)
            log('  run %d: exit %d in %.1f s, %d versions required so far'
                % (run, res.rc, res.elapsed, len(rig.vers.must)))
            live = rig.live_keys()
            for name in ('syslog', 'hec', 'file'):
                S.summarize(live[name], rig.vers.must, rig.vers.known, name)
        S.summarize(rig.kafka.keys(), rig.vers.must, rig.vers.known, 'kafka')
        check_cef_consistency(rig)
        st = rig.hec.stats()
        log('  hec: %d event POSTs, %d ack polls, codes %s' % (
            st['event_posts'], st['ack_polls'], st['codes']))
        return rig
    finally:
        rig.close()


# ------------------------------------------------------------------ 2
def newer(keys, since_ms, until_ms=None):
    return {k for k in keys if k[2] >= since_ms and (until_ms is None or k[2] < until_ms)}


def current_before(rig, cut):
    """Current versions (alerts may be updated meanwhile) with lastUpdate < cut (s)."""
    return {k for k in rig.vers.current() if k[2] < cut * 1000}


def sample_outage(rig, bg, t_out):
    """At a moment during the outage: syslog and file have every current version
    created since the outage began and older than REALTIME_LAG_S; HEC has none."""
    now = time.time()
    due = newer(current_before(rig, now - REALTIME_LAG_S), int(t_out * 1000))
    live = rig.live_keys()
    check(bg.alive(), 'siemfwd died during the outage:\n%s' % bg.stderr()[-3000:])
    arrived = {o: len(newer(live[o], int(t_out * 1000))) for o in live}
    pending = newer(current_before(rig, now), int(t_out * 1000)) - set(live['syslog'])
    oldest = max((now * 1000 - k[2]) / 1000 for k in pending) if pending else 0.0
    log('  t+%2.0f s: %d versions created since the outage began are due; arrived since: '
        'syslog %d, file %d, hec %d; oldest version not yet at syslog: %.1f s'
        % (now - t_out, len(due), arrived['syslog'], arrived['file'], arrived['hec'],
           oldest))
    for o in ('syslog', 'file'):
        late = sorted(due - set(live[o]))
        check(not late, '%s: %d versions older than %.0f s not delivered during the HEC '
              'outage, e.g. %s' % (o, len(late), REALTIME_LAG_S, late[:3]))
    return due, arrived


def s2_isolation(root, certs):
    """HEC 503 for 60 s while syslog/file/kafka keep delivering; HEC catches up"""
    rig = S.Rig(root, certs, '2.isolation', TENANTS, POLL_S,
                ['--tenants', '3', '--alerts-per-tenant', '10', '--history', '1h',
                 '--rate', '20'])
    try:
        bg = rig.siemfwd('run')
        t0 = time.time()
        L.wait_for(lambda: all(current_before(rig, t0 - SETTLE_S) <= set(v)
                               for v in rig.live_keys().values()), 90,
                   'the initial alerts at syslog, hec and file', 0.5)
        log('  initial alerts everywhere after %.1f s' % (time.time() - t0))
        t_out = time.time()
        rig.hec.control(unhealthy_for=OUTAGE_S)
        log('  HEC answers 503 for %.0f s from now' % OUTAGE_S)
        samples = []
        for at in (OUTAGE_S / 3, OUTAGE_S / 2, OUTAGE_S - 5):
            time.sleep(max(0.0, t_out + at - time.time()))
            samples.append(sample_outage(rig, bg, t_out))
        due_mid, arrived_mid = samples[1]
        check(len(due_mid) > 0 and arrived_mid['syslog'] >= len(due_mid),
              'by mid-outage syslog received %d new versions, %d were due'
              % (arrived_mid['syslog'], len(due_mid)))
        check(samples[-1][1]['syslog'] > samples[0][1]['syslog'],
              'syslog received nothing between the first and last outage sample')
        hec_during = samples[-1][1]['hec']
        check(hec_during == 0, 'HEC indexed %d versions created during its 503 outage'
              % hec_during)
        t_end = t_out + OUTAGE_S
        time.sleep(max(0.0, t_end - time.time()))
        state = {}

        def hec_caught_up():
            state['need'] = current_before(rig, t_end - SETTLE_S)
            return state['need'] <= set(rig.hec.keys())
        L.wait_for(hec_caught_up, 180, 'HEC to catch up after its outage', 0.5)
        catchup = time.time() - t_end
        log('  HEC caught up %.1f s after it recovered: %d current versions older than the '
            'outage end, %d of them created during the outage (output backoff is capped at '
            '60 s)' % (catchup, len(state['need']),
                       len(newer(state['need'], int(t_out * 1000)))))
        for n in TENANTS:
            rig.emu.control(n, set={'rate_per_min': 0, 'update_per_min': 0})
        time.sleep(SETTLE_S + 0.5)
        final = current_before(rig, time.time() - SETTLE_S)
        check(final == rig.vers.current(), 'the emulator still changes alerts')
        L.wait_for(lambda: all(final <= set(v) for v in rig.live_keys().values()), 60,
                   'every version at syslog, hec and file')
        time.sleep(2 * POLL_S)     # a last cycle for kafka's verdicts
        rc = bg.term()
        check(rc == 0, 'siemfwd exited %s after SIGTERM' % rc)
        log('  final: every current version (%d) at every output; versions superseded by '
            'an update need not be' % len(final))
        live = rig.live_keys()
        live['kafka'] = rig.kafka.keys()
        for name in ('syslog', 'hec', 'file', 'kafka'):
            S.summarize(live[name], final, None, name)
            S.check_plausible(live[name], final, name)
        check_cef_consistency(rig)
        log('CATCHUP hec_after_%ds_503=%.1fs' % (OUTAGE_S, catchup))
        return rig
    finally:
        rig.close()


SCENARIOS = [('1', 'once', s1_once), ('2', 'isolation', s2_isolation)]


def main(argv):
    for path, what in ((L.SIEMFWD, 'siemfwd (set SIEMFWD)'),
                       (S.KAFKA_MOCK, 'kafka_mock (set SF_TOOLS_DIR)'),
                       (S.RSYSLOGD, 'rsyslogd')):
        if not os.access(path, os.X_OK):
            sys.stderr.write('%s not found: %s\n' % (what, path))
            return 2
    want = set(argv)
    chosen = [s for s in SCENARIOS if not want or s[0] in want or s[1] in want]
    root = tempfile.mkdtemp(prefix='siemfwd-sys.')
    certs = L.make_certs(os.path.join(root, 'certs'))
    log('siemfwd system test (outputs): %s, work dir %s' % (L.SIEMFWD, root))
    results, keep, t_all = [], False, time.monotonic()
    for num, name, fn in chosen:
        label = '%s.%s' % (num, name)
        log('=== %s: %s' % (label, fn.__doc__.strip()))
        t0 = time.monotonic()
        status = 'PASS'
        try:
            fn(root, certs)
        except AssertionError as e:
            status = 'FAIL'
            log('  FAIL: %s' % e)
        except Exception:        # a broken test or environment, not a siemfwd verdict
            status = 'ERROR'
            log('  ERROR:\n' + traceback.format_exc())
        if status != 'PASS':
            keep = True
            log('  files kept in %s' % os.path.join(root, label))
        log('--- %s %s (%.1f s)' % (status, label, time.monotonic() - t0))
        results.append((label, status))
    log('\nsummary (%.0f s):' % (time.monotonic() - t_all))
    for label, status in results:
        log('  %-5s %s' % (status, label))
    if not keep and not os.environ.get("SF_KEEP"):
        shutil.rmtree(root, ignore_errors=True)
    return 1 if any(s != 'PASS' for _, s in results) else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
