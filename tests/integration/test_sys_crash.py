#!/usr/bin/python3
"""Crash-safety system test of `siemfwd run` (issue 5, deliverable 1). LONG-RUNNING
(about 2 minutes; runs in ctest).

The Defender emulator (3 tenants, Graph) keeps generating new alerts while siemfwd
delivers to four real outputs on 127.0.0.1: syslog TCP (CEF, octet-counting) to a
private rsyslogd, Kafka (JSON) to librdkafka's mock cluster, Splunk HEC (JSON,
indexer acks) to hec_emu.py, and a CEF file. A loop kills siemfwd with SIGKILL at a
random moment 0.3-3 s after each start (KILLS times) and restarts it. Then the
emulator stops generating and a last run is stopped cleanly with SIGTERM (exit 0).

Asserted: every generated (alert id, lastUpdate) reached every output at least once
(alerts are not updated in this test, so every generated version is still listed
at the end); nothing unknown was delivered; the clean last run delivered no version
twice within itself (duplicates may only come from records sent but not
acknowledged when a kill struck). Printed: duplicates and totals per output.

Env: SIEMFWD, SF_SOURCE_DIR, SF_TOOLS_DIR; SF_CRASH_KILLS (default 30),
SF_CRASH_SEED (random seed, printed), SF_KEEP=1 keeps the work dir.
"""

import collections
import os
import random
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
POLL_S = 1.0
SETTLE_S = 1.0
RATE_PER_MIN = 120          # new alerts per tenant per minute while killing
KILL_MIN_S, KILL_MAX_S = 0.3, 3.0


class Marks:
    """Where each output's delivered list stood when the clean run started."""

    def __init__(self, rig):
        self.syslog = len(rig.rsys.lines())
        self.file = len(L.read_lines(rig.file))
        self.hec = len(rig.hec.events())


def dups_within(keys):
    c = collections.Counter(keys)
    return sorted(k for k, n in c.items() if n > 1)


def check_clean_run(rig, marks):
    """The final clean run's own deliveries (after the marks) hold no version twice."""
    segs = {
        'syslog': [S.cef_key(S.cef_body(ln)) for ln in rig.rsys.lines()[marks.syslog:]],
        'file': [S.cef_key(ln) for ln in L.read_lines(rig.file)[marks.file:]],
        'hec': [S.json_key(e['event']) for e in rig.hec.events()[marks.hec:]],
    }
    for name, keys in segs.items():
        d = dups_within(keys)
        log('  clean run: %-6s delivered %d records, %d versions twice within the run'
            % (name, len(keys), len(d)))
        check(not d, '%s: the clean (SIGTERM) run delivered %d versions more than once, '
              'e.g. %s' % (name, len(d), d[:3]))


def kill_loop(rig, kills, rng):
    """Start, sleep uniform(0.3, 3) s, SIGKILL; KILLS times. Returns kill delays."""
    delays = []
    for n in range(1, kills + 1):
        r = rig.siemfwd('kill%02d' % n)
        delay = rng.uniform(KILL_MIN_S, KILL_MAX_S)
        time.sleep(delay)
        r.kill()
        delays.append(delay)
        if n % 5 == 0:
            cur = rig.vers.current()
            live = rig.live_keys()
            log('  %2d kills: %d versions listed; delivered so far: syslog %d, hec %d, '
                'file %d' % (n, len(cur), len(live['syslog']), len(live['hec']),
                             len(live['file'])))
    return delays


def crash(root, certs, kills, seed):
    """SIGKILL siemfwd at random moments while alerts keep coming; nothing lost"""
    rng = random.Random(seed)
    rig = S.Rig(root, certs, 'crash', TENANTS, POLL_S,
                ['--tenants', '3', '--alerts-per-tenant', '30', '--history', '1h',
                 '--rate', str(RATE_PER_MIN), '--update-rate', '0'])
    try:
        start = rig.vers.current()
        t0 = time.monotonic()
        delays = kill_loop(rig, kills, rng)
        log('  %d SIGKILLs in %.0f s (delays %.2f-%.2f s after start, mean %.2f s)' % (
            kills, time.monotonic() - t0, min(delays), max(delays),
            sum(delays) / len(delays)))
        rig.emu.control('*', set={'rate_per_min': 0, 'update_per_min': 0})
        time.sleep(SETTLE_S + 0.5)
        final = rig.vers.current()
        check(final >= rig.vers.known and start <= final,
              'a listed version disappeared: the emulator updated alerts')
        check(all(k[2] < (time.time() - SETTLE_S) * 1000 for k in final),
              'the emulator still generates alerts')
        log('  generated: %d initial + %d while killing = %d versions'
            % (len(start), len(final) - len(start), len(final)))
        marks = Marks(rig)
        r = rig.siemfwd('final')
        t1 = time.monotonic()
        L.wait_for(lambda: all(final <= set(v) for v in rig.live_keys().values()), 180,
                   'every version at syslog, hec and file after the restarts', 0.5)
        log('  clean run: syslog, hec and file complete %.1f s after the last start'
            % (time.monotonic() - t1))
        time.sleep(3 * POLL_S)     # a last cycle or two for kafka's verdicts
        rc = r.term()
        check(rc == 0, 'siemfwd exited %s after SIGTERM' % rc)
        live = rig.live_keys()
        live['kafka'] = rig.kafka.keys()
        dups = {}
        for name in ('syslog', 'kafka', 'hec', 'file'):
            dups[name] = S.summarize(live[name], final, final, name, allow_dups=True)
        check_clean_run(rig, marks)
        log('DUPLICATES after %d SIGKILLs (seed %s): %s; totals %s' % (
            kills, seed, ', '.join('%s=%d' % kv for kv in dups.items()),
            ', '.join('%s=%d' % (k, sum(v.values())) for k, v in live.items())))
    finally:
        rig.close()


def main():
    for path, what in ((L.SIEMFWD, 'siemfwd (set SIEMFWD)'),
                       (S.KAFKA_MOCK, 'kafka_mock (set SF_TOOLS_DIR)'),
                       (S.RSYSLOGD, 'rsyslogd')):
        if not os.access(path, os.X_OK):
            sys.stderr.write('%s not found: %s\n' % (what, path))
            return 2
    kills = int(os.environ.get('SF_CRASH_KILLS') or 30)
    seed = os.environ.get('SF_CRASH_SEED') or str(int(time.time()))
    root = tempfile.mkdtemp(prefix='siemfwd-crash.')
    certs = L.make_certs(os.path.join(root, 'certs'))
    log('siemfwd crash test (LONG-RUNNING, ~2 min): %s, %d kills, seed %s, work dir %s'
        % (L.SIEMFWD, kills, seed, root))
    t0 = time.monotonic()
    status = 'PASS'
    try:
        crash(root, certs, kills, seed)
    except AssertionError as e:
        status = 'FAIL'
        log('  FAIL: %s' % e)
    except Exception:            # a broken test or environment, not a siemfwd verdict
        status = 'ERROR'
        log('  ERROR:\n' + traceback.format_exc())
    log('--- %s crash (%.1f s)' % (status, time.monotonic() - t0))
    if status != 'PASS' or os.environ.get('SF_KEEP'):
        log('  files kept in %s' % root)
    else:
        shutil.rmtree(root, ignore_errors=True)
    return 0 if status == 'PASS' else 1


if __name__ == '__main__':
    sys.exit(main())
