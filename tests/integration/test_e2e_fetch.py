#!/usr/bin/python3
"""End-to-end tests of `siemfwd run` (fetch -> map -> file outputs) against the
bundled Defender emulator (issue 3): exactly once across cycles and restarts,
boundary ties across pages, 429 isolation, token expiry, revoked consent,
malformed pages, certificate auth, all three sources, `check --online`.

Does not test outputs other than `file` (their own tests do). Each scenario runs
its own emulator and state dir in a temp dir, removed unless the scenario fails.
Usage: test_e2e_fetch.py [SCENARIO-NUMBER-OR-NAME ...]; env SIEMFWD, SF_SOURCE_DIR.
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import e2e_lib as L  # noqa: E402
from e2e_lib import check, log  # noqa: E402

# Scenarios known to fail because of a reported siemfwd bug: name -> reason.
# Only names listed here may fail without failing the test run.
EXPECTED_FAILURES = {}


def cef_format(name, source):
    mapfile = {'graph': 'cef-defender.yaml', 'mde': 'cef-mde.yaml',
               'siem': 'cef-siem.yaml'}[source]
    return {'name': name, 'type': 'cef', 'map': os.path.join(L.MAPS, mapfile)}


def check_cef(path, want, label):
    lines = L.read_lines(path)
    log('  %s: %d CEF lines' % (label, len(lines)))
    check(len(lines) == want, '%s: %d CEF lines, expected one per delivered alert (%d)'
          % (label, len(lines), want))
    bad = [ln for ln in lines if not ln.startswith('CEF:0|Microsoft|')]
    check(not bad, '%s: not CEF: %.200s' % (label, bad[:1]))


# ------------------------------------------------------------------ 1
def s1_exactly_once_restart(c):
    """3 graph tenants, --once three times (a restart each time) with new and
    updated alerts in between: every version exactly once per output."""
    names = ['tenant1', 'tenant2', 'tenant3']
    emu = c.emulator(['--tenants', '3', '--alerts-per-tenant', '15', '--history', '2h'])
    outs = [L.json_output(c.dir, 'json-a'), L.json_output(c.dir, 'json-b'),
            {'name': 'cef', 'type': 'file', 'format': 'cef-graph',
             'path': os.path.join(c.dir, 'cef.log')}]
    cfg = L.write_config(c.dir, emu, c.certs, [L.tenant_entry(emu, n) for n in names], outs,
                         [cef_format('cef-graph', 'graph')])
    exp = L.Expected(emu, {n: 'graph' for n in names})
    tracked = None
    for run in range(1, 4):
        if run > 1:
            for n in names:
                emu.generate(n, 4)
                emu.update(n, 3)
            if run == 2:
                tracked = emu.update('tenant2', 1)[0][0]
            else:
                emu.update('tenant2', ids=[tracked])
            time.sleep(1.3)      # past the 1 s settle delay
        exp.snapshot()
        res = L.run_once(cfg)
        log('  run %d: exit %d in %.1f s' % (run, res.rc, res.elapsed))
    for out in ('json-a', 'json-b'):
        L.assert_exactly_once(L.delivered(c.out(out)), exp.must, exp.known, out)
    got = L.delivered(c.out('json-a'))
    versions = sorted(k for k in got if k[0] == 'tenant2' and k[1] == tracked)
    listed = sorted(k for k in exp.known if k[0] == 'tenant2' and k[1] == tracked)
    log('  alert %s updated between runs: %d versions delivered' % (tracked, len(versions)))
    check(len(listed) >= 3 and versions == listed, 'updated alert %s: expected every '
          'version (original + updates) %s, got %s' % (tracked, listed, versions))
    check_cef(os.path.join(c.dir, 'cef.log'), sum(got.values()), 'cef')
    # A fourth run with nothing new: the overlap re-read delivers nothing.
    size = {o: len(L.read_lines(c.out(o))) for o in ('json-a', 'json-b')}
    L.run_once(cfg)
    for o, n in size.items():
        now = len(L.read_lines(c.out(o)))
        check(now == n, '%s: a re-read with nothing new appended %d records' % (o, now - n))
    rows = L.state_rows(L.siemfwd('state', '-c', cfg))
    check(all((n, o) in rows for n in names for o in ('json-a', 'json-b', 'cef')),
          'siemfwd state lacks a (tenant, output) row: %s' % sorted(rows))


# ------------------------------------------------------------------ 2
def s2_boundary_tie(c):
    """Alerts sharing one lastUpdate across a page boundary: Graph nextLink paging,
    Graph time-boundary paging after a deep-paging failure (a tie smaller and one
    larger than a page), MDE window split and a tie filling a whole MDE page."""
    # tenant: (source, page_size, alerts 1 ms apart before the tie, alerts in the tie,
    #          deep nextLink paging fails after the first page)
    plan = {'tenant1': ('graph', 4, 3, 6, False), 'tenant2': ('mde', 4, 2, 3, False),
            'tenant3': ('graph', 4, 2, 3, True), 'tenant4': ('mde', 5, 1, 5, False),
            'tenant5': ('graph', 3, 1, 7, True)}
    emu = c.emulator(config={'tenants': [{'name': n, 'alerts': 0} for n in sorted(plan)]})
    emu.generate('tenant4', 6)      # ordinary alerts before this tie
    ties = {}
    for n, (src, page, before, tie, deep) in sorted(plan.items()):
        ties[n] = emu.control(n, fault='boundary_tie', before=before, tie=tie, ago_s=5)
        if deep:
            emu.control(n, fault='deep_paging', api='graph', after_pages=1, mode='error')
        log('  %s (%s, page %d): %d alerts at %s, %s' % (
            n, src, page, tie, ties[n]['tie_lastUpdateDateTime'],
            'window split' if src == 'mde' else
            'time-boundary paging (nextLink fails)' if deep else 'nextLink paging'))
    tenants = [L.tenant_entry(emu, n, p[0], page_size=p[1]) for n, p in sorted(plan.items())]
    cfg = L.write_config(c.dir, emu, c.certs, tenants, [L.json_output(c.dir, 'json')])
    exp = L.Expected(emu, {n: p[0] for n, p in plan.items()})
    time.sleep(1.2)
    exp.snapshot()
    res = L.run_once(cfg)
    for n in (n for n, p in plan.items() if p[4]):
        served = emu.stats(n)['faults_served'].get('deep_paging', 0)
        log('  %s: %d deep-paging failures served' % (n, served))
        check(served >= 1, '%s: the deep-paging fault was never hit (test set-up)' % n)
    got = L.delivered(c.out('json'))
    L.assert_exactly_once(got, exp.must, exp.known, 'json')
    for n, t in sorted(ties.items()):
        at = L.parse_time(t['tie_lastUpdateDateTime'])
        n_tie = sum(1 for k in got if k[0] == n and L.parse_time(k[2]) == at)
        check(n_tie == plan[n][3], '%s: %d of the %d alerts at %s delivered'
              % (n, n_tie, plan[n][3], t['tie_lastUpdateDateTime']))
    check('skipped' not in res.err, 'a tie was reported as skipped:\n' + res.describe())


# ------------------------------------------------------------------ 3
def s3_throttle_isolation(c):
    """429 with Retry-After on tenant1 does not hold back tenant2; tenant1 catches
    up after the fault clears; nothing lost or doubled."""
    names = ['tenant1', 'tenant2', 'tenant3']
    emu = c.emulator(['--tenants', '3', '--alerts-per-tenant', '5', '--history', '1h',
                      '--fault', 'tenant1@throttle:count=100000,retry_after=2'])
    cfg = L.write_config(c.dir, emu, c.certs, [L.tenant_entry(emu, n) for n in names],
                         [L.json_output(c.dir, 'json')], poll_interval='2s')
    out = c.out('json')
    bg = c.background(cfg)

    def has(keys):
        return lambda: keys <= set(L.delivered(out))

    first = {('tenant2',) + k for k in emu.versions('tenant2', 'graph')}
    t0 = time.monotonic()
    L.wait_for(has(first), 60, 'tenant2 initial alerts while tenant1 is throttled')
    log('  tenant2: %d initial alerts after %.1f s' % (len(first), time.monotonic() - t0))
    for rnd in range(1, 4):
        emu.generate('tenant1', 2)
        new = {('tenant2',) + k for k in emu.generate('tenant2', 2)}
        t0 = time.monotonic()
        L.wait_for(has(new), 60, 'round %d: new tenant2 alerts while tenant1 is '
                   'throttled' % rnd)
        log('  round %d: 2 new tenant2 alerts delivered %.1f s after creation'
            % (rnd, time.monotonic() - t0))
    check(bg.alive(), 'siemfwd exited early:\n' + bg.stderr()[-3000:])
    got = L.per_tenant(L.delivered(out))
    throttled = emu.stats('tenant1')['throttled']
    log('  tenant1 meanwhile: %d records, %d answers 429' % (got['tenant1'], throttled))
    check(got['tenant1'] == 0, 'tenant1 delivered %d records through a 429 fault'
          % got['tenant1'])
    check(throttled >= 2, 'tenant1 got %d 429s: it should have retried after Retry-After'
          % throttled)
    check(L.error_lines(bg.stderr(), 'tenant1'), 'no warning naming tenant1 on stderr')
    emu.control('tenant1', fault='clear')
    t0 = time.monotonic()
    all1 = {('tenant1',) + k for k in emu.versions('tenant1', 'graph')}
    L.wait_for(has(all1), 60, 'tenant1 to catch up after the 429s stopped')
    log('  tenant1 caught up (%d alerts) %.1f s after the fault cleared'
        % (len(all1), time.monotonic() - t0))
    res = bg.stop()
    check(res.rc == 0, 'siemfwd run exit %s after SIGTERM:\n%s' % (res.rc, res.describe()))
    exp = L.Expected(emu, {n: 'graph' for n in names})
    exp.snapshot()
    L.assert_exactly_once(L.delivered(out), exp.must, exp.known, 'json')


# ------------------------------------------------------------------ 4
def s4_token_expiry(c):
    """Tokens that expire mid-paging: short lifetime (tenant1, tenant3) and
    server-side expiry before the advertised one (tenant2, a 401 mid-walk)."""
    names = ['tenant1', 'tenant2', 'tenant3']
    emu = c.emulator(['--token-ttl', '3', '--latency-ms', '400', '--history', '2h'],
                     {'tenants': [{'name': 'tenant1', 'alerts': 30},
                                  {'name': 'tenant2', 'alerts': 20},
                                  {'name': 'tenant3', 'alerts': 12, 'mde_share': 1.0}]})
    emu.control('tenant2', fault='token_ttl', seconds=3600)
    emu.control('tenant2', fault='token_expire_after', seconds=2)
    tenants = [L.tenant_entry(emu, 'tenant1', page_size=3),
               L.tenant_entry(emu, 'tenant2', page_size=3),
               L.tenant_entry(emu, 'tenant3', 'mde', page_size=4)]
    cfg = L.write_config(c.dir, emu, c.certs, tenants, [L.json_output(c.dir, 'json')])
    exp = L.Expected(emu, {'tenant1': 'graph', 'tenant2': 'graph', 'tenant3': 'mde'})
    time.sleep(1.2)   # alerts the emulator last updated at start-up are past settle
    exp.snapshot()
    res = L.run_once(cfg)
    for n in names:
        st = emu.stats(n)
        log('  %s: %d tokens issued, %s API calls, HTTP status %s' % (
            n, st['tokens_issued'], st['calls'], st['status']))
        check(st['tokens_issued'] >= 2, '%s: one token lasted the whole walk (test '
              'set-up: paging must outlive the token)' % n)
    n401 = emu.get('/_emu/stats')['totals']['status'].get('401', 0)
    log('  run: %.1f s; %d answers 401 (expired token)' % (res.elapsed, n401))
    check(n401 >= 1, 'no request was made with an expired token (test set-up: tenant2 '
          'tokens expire server-side after 2 s)')
    L.assert_exactly_once(L.delivered(c.out('json')), exp.must, exp.known, 'json')


# ------------------------------------------------------------------ 5
def s5_revoked_consent(c):
    """Consent revoked in tenant2 (token refused) and roles removed in tenant3
    (API 403): errors name them; tenant1 and tenant4 deliver everything."""
    names = ['tenant1', 'tenant2', 'tenant3', 'tenant4']
    emu = c.emulator(['--tenants', '4', '--alerts-per-tenant', '8', '--history', '1h',
                      '--fault', 'tenant2@revoke_consent', '--fault', 'tenant3@revoke_roles'])
    cfg = L.write_config(c.dir, emu, c.certs, [L.tenant_entry(emu, n) for n in names],
                         [L.json_output(c.dir, 'json')])
    exp = L.Expected(emu, {'tenant1': 'graph', 'tenant4': 'graph'})
    exp.snapshot()
    res = L.run_once(cfg, expect_rc=1)
    for bad in ('tenant2', 'tenant3'):
        lines = [ln for ln in L.error_lines(res.err, bad) if 'level=error' in ln]
        log('  %s: %s' % (bad, lines[0][:200] if lines else 'NO ERROR LINE'))
        check(lines, 'no error line naming %s on stderr:\n%s' % (bad, res.describe()))
    for good in ('tenant1', 'tenant4'):
        check(not L.error_lines(res.err, good), 'warnings/errors for healthy %s:\n%s'
              % (good, res.describe()))
    got = L.delivered(c.out('json'))
    check(not any(k[0] in ('tenant2', 'tenant3') for k in got),
          'records delivered for a tenant without access')
    L.assert_exactly_once(got, exp.must, exp.known, 'json')
    st = L.siemfwd('state', '-c', cfg)
    rows = L.state_rows(st)
    for bad in ('tenant2', 'tenant3'):
        row = rows.get((bad, 'json'), '')
        log('  state %s' % row.strip()[:200])
        check(('HTTP 4' in row or 'AADSTS' in row or 'consent' in row.lower()
               or 'refused' in row.lower() or 'unauthorized' in row.lower()),
              'siemfwd state shows no access error for %s:\n%s' % (bad, st.out))
    for good in ('tenant1', 'tenant4'):
        check((good, 'json') in rows, 'siemfwd state has no row for %s' % good)


# ------------------------------------------------------------------ 6
def s6_malformed_pages(c):
    """Malformed JSON, a truncated body and an HTML error page with status 200 on
    three tenants: no crash, the healthy tenant delivers; after the faults clear,
    everything, once."""
    names = ['tenant1', 'tenant2', 'tenant3', 'tenant4']
    emu = c.emulator(['--tenants', '4', '--alerts-per-tenant', '8', '--history', '1h'])
    emu.control('tenant1', fault='malformed', mode='json', count=None)
    emu.control('tenant2', fault='truncate', mode='body', count=None)
    emu.control('tenant4', fault='malformed', mode='html', count=None)
    cfg = L.write_config(c.dir, emu, c.certs, [L.tenant_entry(emu, n, page_size=5)
                                               for n in names],
                         [L.json_output(c.dir, 'json')])
    exp = L.Expected(emu, {n: 'graph' for n in names})
    exp.snapshot()
    res = L.run_once(cfg, expect_rc=None, timeout=150)
    log('  run 1 (faults on): exit %d in %.1f s' % (res.rc, res.elapsed))
    check(res.rc in (0, 1), 'run 1 exit %d:\n%s' % (res.rc, res.describe()))
    for bad in ('tenant1', 'tenant2', 'tenant4'):
        served = emu.stats(bad)['faults_served']
        log('  %s: faults served %s' % (bad, served))
        check(served, '%s: the fault was never served (test set-up)' % bad)
        check(L.error_lines(res.err, bad), 'no warning naming %s:\n%s'
              % (bad, res.describe()))
    got = L.per_tenant(L.delivered(c.out('json')))
    log('  after run 1: %s' % dict(sorted(got.items())))
    check(not L.error_lines(res.err, 'tenant3'), 'warnings for healthy tenant3')
    L.assert_exactly_once(L.delivered(c.out('json')), exp.only({'tenant3'}), exp.known,
                          'json (tenant3 only)')
    for bad in ('tenant1', 'tenant2', 'tenant4'):
        emu.control(bad, fault='clear')
    exp.snapshot()
    res = L.run_once(cfg)
    log('  run 2 (faults cleared): exit %d in %.1f s' % (res.rc, res.elapsed))
    L.assert_exactly_once(L.delivered(c.out('json')), exp.must, exp.known, 'json')


# ------------------------------------------------------------------ 7
def s7_certificate_auth(c):
    """Client-assertion auth with a registered certificate (Graph v2 token and
    SIEM v1 token) delivers; an unregistered certificate fails for that tenant."""
    emu = c.emulator(['--tenants', '3', '--alerts-per-tenant', '8', '--history', '1h',
                      '--client-cert', c.certs['client.crt']])
    good = {'cert_file': c.certs['client.crt'], 'key_file': c.certs['client.key']}
    rogue = {'cert_file': c.certs['rogue.crt'], 'key_file': c.certs['rogue.key']}
    tenants = [L.tenant_entry(emu, 'tenant1', certificate=good),
               L.tenant_entry(emu, 'tenant2', certificate=rogue),
               L.tenant_entry(emu, 'tenant3', 'siem', certificate=good)]
    cfg = L.write_config(c.dir, emu, c.certs, tenants, [L.json_output(c.dir, 'json')])
    exp = L.Expected(emu, {'tenant1': 'graph', 'tenant3': 'siem'})
    exp.snapshot()
    res = L.run_once(cfg, expect_rc=1)
    for n in ('tenant1', 'tenant2', 'tenant3'):
        st = emu.stats(n)
        log('  %s: %d assertions, %d tokens, %d token errors' % (
            n, st['assertions'], st['tokens_issued'], st['token_errors']))
    check(emu.stats('tenant1')['assertions'] >= 1, 'tenant1 did not use a client assertion')
    lines = [ln for ln in L.error_lines(res.err, 'tenant2') if 'level=error' in ln]
    check(lines, 'no error naming tenant2 (rogue certificate):\n' + res.describe())
    log('  tenant2: %s' % lines[0][:200])
    for ok in ('tenant1', 'tenant3'):
        check(not L.error_lines(res.err, ok), 'warnings/errors for %s:\n%s'
              % (ok, res.describe()))
    got = L.delivered(c.out('json'))
    check(not any(k[0] == 'tenant2' for k in got), 'tenant2 delivered with a rogue cert')
    L.assert_exactly_once(got, exp.must, exp.known, 'json')


# ------------------------------------------------------------------ 8
def s8_three_sources(c):
    """Graph, MDE and SIEM API tenants in one config, two runs with new and
    updated alerts: each version exactly once in JSON, one CEF line each."""
    emu = c.emulator(['--tenants', '3', '--alerts-per-tenant', '10', '--history', '2h'])
    srcs = {'tenant1': 'graph', 'tenant2': 'mde', 'tenant3': 'siem'}
    tenants = [L.tenant_entry(emu, n, s, outputs=['json', 'cef-' + s])
               for n, s in srcs.items()]
    formats = [cef_format('fmt-' + s, s) for s in srcs.values()]
    outs = [L.json_output(c.dir, 'json')] + [
        {'name': 'cef-' + s, 'type': 'file', 'format': 'fmt-' + s,
         'path': os.path.join(c.dir, 'cef-%s.log' % s)} for s in srcs.values()]
    cfg = L.write_config(c.dir, emu, c.certs, tenants, outs, formats)
    exp = L.Expected(emu, srcs)
    for run in (1, 2):
        if run == 2:
            for n in srcs:
                emu.generate(n, 3, mde_only=True)
                emu.update(n, 2)
            time.sleep(2.3)   # SIEM detections may be processed up to 1 s after now
        exp.snapshot()
        res = L.run_once(cfg)
        log('  run %d: exit %d in %.1f s' % (run, res.rc, res.elapsed))
    got = L.delivered(c.out('json'))
    L.assert_exactly_once(got, exp.must, exp.known, 'json')
    per = L.per_tenant(got)
    for n, s in srcs.items():
        check(per[n] > 0, '%s (%s): nothing delivered' % (n, s))
        check_cef(os.path.join(c.dir, 'cef-%s.log' % s), per[n], 'cef-' + s)


# ------------------------------------------------------------------ 9
def s9_check_online(c):
    """`siemfwd check --online`: ok per healthy tenant of each source, FAIL for the
    tenant whose consent was revoked, exit 1."""
    emu = c.emulator(['--tenants', '4', '--alerts-per-tenant', '2',
                      '--fault', 'tenant4@revoke_consent'])
    tenants = [L.tenant_entry(emu, 'tenant1'), L.tenant_entry(emu, 'tenant2', 'mde'),
               L.tenant_entry(emu, 'tenant3', 'siem'), L.tenant_entry(emu, 'tenant4')]
    cfg = L.write_config(c.dir, emu, c.certs, tenants, [L.json_output(c.dir, 'json')])
    res = L.siemfwd('check', '-c', cfg, '--online')
    log('  ' + res.out.strip().replace('\n', '\n  '))
    check(res.rc == 1, 'expected exit 1:\n' + res.describe())
    lines = {ln.split()[1]: ln for ln in res.out.splitlines() if ln.startswith('tenant ')}
    for n in ('tenant1', 'tenant2', 'tenant3'):
        check(n in lines and lines[n].split()[2] == 'ok', '%s not reported ok:\n%s'
              % (n, res.describe()))
    check('tenant4' in lines and lines['tenant4'].split()[2] == 'FAIL',
          'tenant4 (consent revoked) not reported FAIL:\n' + res.describe())
    emu.control('tenant4', fault='restore_consent')
    res = L.siemfwd('check', '-c', cfg, '--online')
    check(res.rc == 0, 'consent restored, expected exit 0:\n' + res.describe())


SCENARIOS = [
    ('1', 'exactly_once_restart', s1_exactly_once_restart),
    ('2', 'boundary_tie', s2_boundary_tie),
    ('3', 'throttle_isolation', s3_throttle_isolation),
    ('4', 'token_expiry', s4_token_expiry),
    ('5', 'revoked_consent', s5_revoked_consent),
    ('6', 'malformed_pages', s6_malformed_pages),
    ('7', 'certificate_auth', s7_certificate_auth),
    ('8', 'three_sources', s8_three_sources),
    ('9', 'check_online', s9_check_online),
]


def main(argv):
    return L.run_scenarios(SCENARIOS, argv, 'e2e', EXPECTED_FAILURES)


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
