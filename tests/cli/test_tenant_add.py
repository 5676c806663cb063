"""test_tenant_add.py - onboarding with tenants_dir, against the bundled Defender
emulator: `siemfwd tenant add` writes tenants_dir/NAME.yaml (0640, never over an
existing file) and prints the consent link; `check --online --tenant NAME` says
in words whether consent and permissions are in place (consent revoked:
AADSTS700016, roles removed: 403 + the permission's name, wrong secret:
AADSTS7000215, unknown tenant: AADSTS90002); and `run` on SIGHUP picks up
added, changed and removed files, keeps the running config when a file is
not YAML, and keeps a removed tenant's cursors (re-adding it re-sends nothing).

Processes started here (emulator, siemfwd run) are stopped here, by handle.
"""

import os
import shutil
import signal
import sqlite3
import stat
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                'integration'))
import e2e_lib as L  # noqa: E402

failures = []


def expect(res, rc, *patterns, absent=()):
    what = ' '.join(res.argv[1:])
    text = res.out + res.err
    if res.rc != rc:
        failures.append('%s: exit %s, want %d\n%s' % (what, res.rc, rc, res.describe()))
        L.log('FAIL ' + what)
        return
    for p in patterns:
        if p not in text:
            failures.append('%s: output lacks %r\n%s' % (what, p, res.describe()))
            L.log('FAIL ' + what)
            return
    for p in absent:
        if p in text:
            failures.append('%s: output has %r\n%s' % (what, p, res.describe()))
            L.log('FAIL ' + what)
            return
    L.log('ok   %s (exit %d)' % (what, rc))


def write_cfg(work, emu, certs, tenants_dir='tenants.d'):
    text = L.to_yaml({
        'state_dir': os.path.join(work, 'state'), 'poll_interval': '2s',
        'tenants_dir': tenants_dir,
        'http': {'ca_file': certs['ca.crt'], 'timeout': '20s'},
        'tenant_defaults': {'client_id': L.CLIENT_ID, 'client_secret': L.SECRET,
                            'authority': emu.url, 'api_base': emu.url, 'start_from': '3h',
                            'overlap': '5m', 'settle': '1s'},
        'outputs': [L.json_output(work, 'out')],
    })
    path = os.path.join(work, 'siemfwd.yaml')
    with open(path, 'w', encoding='utf-8') as f:
        f.write(text)
    os.chmod(path, 0o600)
    return path


def onboarding(work, emu, certs):
    cfg = write_cfg(work, emu, certs)
    tdir = os.path.join(work, 'tenants.d')
    os.mkdir(tdir, 0o750)
    t1, t2 = emu.tenant_id('tenant1'), emu.tenant_id('tenant2')

    expect(L.siemfwd('check', '-c', cfg), 0, 'ok (0 tenants')
    res = L.siemfwd('tenant', 'add', 'tenant1', t1, '-c', cfg)
    expect(res, 0, 'wrote %s/tenant1.yaml' % tdir,
           '%s/%s/adminconsent?client_id=%s' % (emu.url, t1, L.CLIENT_ID),
           'SecurityAlert.Read.All', '--online --tenant tenant1')
    path = os.path.join(tdir, 'tenant1.yaml')
    mode = stat.S_IMODE(os.stat(path).st_mode) if os.path.exists(path) else None
    if mode != 0o640:
        failures.append('tenant1.yaml mode %s, want 0640' % (oct(mode) if mode else None))
    expect(L.siemfwd('check', '-c', cfg), 0, 'ok (1 tenants')

    # again: refused, nothing changed
    before = open(path, encoding='utf-8').read()
    expect(L.siemfwd('tenant', 'add', 'tenant1', t1, '-c', cfg), 2, 'already exists')
    # a file of that name holding another tenant: the file is not overwritten
    other = os.path.join(tdir, 'tenant2.yaml')
    with open(other, 'w', encoding='utf-8') as f:
        f.write('name: placeholder\ntenant_id: %s\n' % t2)
    expect(L.siemfwd('tenant', 'add', 'tenant2', t2, '--source', 'graph', '-c', cfg), 2,
           'tenant2.yaml: File exists', 'not overwritten')
    if open(path, encoding='utf-8').read() != before or \
            'placeholder' not in open(other, encoding='utf-8').read():
        failures.append('a refused tenant add changed a file')
    os.unlink(other)

    # bad input
    expect(L.siemfwd('tenant', 'add', 'bad name', t2, '-c', cfg), 2, "NAME 'bad name'")
    expect(L.siemfwd('tenant', 'add', '.hidden', t2, '-c', cfg), 2, "NAME '.hidden'")
    expect(L.siemfwd('tenant', 'add', 'ok', 'contoso.onmicrosoft.com', '-c', cfg), 2,
           'is not a GUID')
    expect(L.siemfwd('tenant', 'add', 'ok', t2, '--source', 'xdr', '-c', cfg), 2,
           "--source 'xdr'")
    expect(L.siemfwd('tenant', 'add', 'ok', t2, '-c', os.path.join(work, 'nope.yaml')), 2,
           'cannot open')
    expect(L.siemfwd('tenant', 'frob'), 2, 'usage: siemfwd tenant add')
    nodir = os.path.join(work, 'nodir.yaml')
    with open(cfg, encoding='utf-8') as f, open(nodir, 'w', encoding='utf-8') as g:
        g.write(f.read().replace('tenants_dir: "tenants.d"',
                                 'tenants:\n  - {name: x, tenant_id: %s}' % t2))
    expect(L.siemfwd('tenant', 'add', 'ok', t2, '-c', nodir), 2, 'sets no tenants_dir')

    # siem: the exporter is regional, so no default host: the file is refused
    # (and removed) until --api-base names one
    t3 = '00000000-0000-0000-0000-0000000000c3'
    legacy = os.path.join(tdir, 'legacy.yaml')
    expect(L.siemfwd('tenant', 'add', 'legacy', t3, '--source', 'siem', '-c', cfg), 2,
           'source siem needs api_base', 'wdatp-alertexporter-eu.windows.com',
           'makes the configuration invalid')
    if os.path.exists(legacy):
        failures.append('a refused siem tenant file was left in tenants_dir')
    expect(L.siemfwd('tenant', 'add', 'legacy', t3, '--source', 'siem', '--api-base',
                     'http://wdatp-alertexporter-eu.windows.com', '-c', cfg), 2,
           "--api-base 'http://")
    expect(L.siemfwd('tenant', 'add', 'legacy', t3, '--source', 'siem', '--api-base',
                     'https://wdatp-alertexporter-eu.windows.com', '-c', cfg), 0,
           'wrote %s' % legacy, 'SIEM API authorization')
    text = open(legacy, encoding='utf-8').read() if os.path.exists(legacy) else ''
    if 'api_base: https://wdatp-alertexporter-eu.windows.com\n' not in text:
        failures.append('legacy.yaml lacks its api_base:\n' + text)
    if os.path.exists(legacy):
        os.unlink(legacy)

    # online: consent and permissions in place, then each failure in words
    expect(L.siemfwd('tenant', 'add', 'tenant2', t2, '-c', cfg), 0, 'wrote')
    res = L.siemfwd('check', '-c', cfg, '--online', '--tenant', 'tenant1')
    expect(res, 0, 'tenant tenant1', 'ok   (graph): consented', absent=('tenant2',))
    expect(L.siemfwd('check', '-c', cfg, '--online', '--tenant', 'nosuch'), 2,
           "has no tenant 'nosuch'")
    emu.control('tenant1', fault='revoke_consent')
    expect(L.siemfwd('check', '-c', cfg, '--online', '--tenant', 'tenant1'), 1,
           'FAIL', 'AADSTS700016: app not found in the tenant',
           'consent link for the customer\'s administrator: %s/%s/adminconsent' % (emu.url, t1))
    emu.control('tenant1', fault='restore_consent')
    emu.control('tenant1', fault='revoke_roles')
    expect(L.siemfwd('check', '-c', cfg, '--online', '--tenant', 'tenant1'), 1,
           'permission missing', 'HTTP 403', 'SecurityAlert.Read.All')
    emu.control('tenant1', fault='restore_roles')
    with open(os.path.join(tdir, 'wrongsecret.yaml'), 'w', encoding='utf-8') as f:
        f.write('name: wrongsecret\ntenant_id: %s\nclient_secret: not-the-secret\n'
                % emu.tenant_id('tenant3'))
    expect(L.siemfwd('check', '-c', cfg, '--online', '--tenant', 'wrongsecret'), 1,
           'AADSTS7000215: invalid client secret')
    os.unlink(os.path.join(tdir, 'wrongsecret.yaml'))
    ghost = '0badc0de-0000-4000-8000-00000000beef'
    expect(L.siemfwd('tenant', 'add', 'ghost', ghost, '-c', cfg), 0, 'wrote')
    expect(L.siemfwd('check', '-c', cfg, '--online', '--tenant', 'ghost'), 1,
           'AADSTS90002: tenant not found')
    os.unlink(os.path.join(tdir, 'ghost.yaml'))
    expect(L.siemfwd('check', '-c', cfg, '--online'), 0, 'tenant tenant1', 'tenant tenant2')


def names_in(path):
    return L.per_tenant(L.delivered(path))


def cursor_rows(work, tenant):
    db = sqlite3.connect('file:%s?mode=ro' % os.path.join(work, 'state', 'siemfwd.db'),
                        uri=True)
    try:
        return db.execute('SELECT COUNT(*) FROM cursor WHERE tenant=?', (tenant,)).fetchone()[0]
    finally:
        db.close()


def reload(work, emu, certs):
    cfg = write_cfg(work, emu, certs)
    tdir = os.path.join(work, 'tenants.d')
    os.mkdir(tdir, 0o750)
    out = os.path.join(work, 'out.jsonl')
    expect(L.siemfwd('tenant', 'add', 'tenant1', emu.tenant_id('tenant1'), '-c', cfg), 0,
           'wrote')
    bg = L.Background(work, cfg)
    try:
        L.wait_for(lambda: names_in(out)['tenant1'] > 0, 60, 'tenant1 records')
        n1 = len(emu.versions('tenant1', 'graph'))
        L.wait_for(lambda: names_in(out)['tenant1'] >= n1, 60, 'all tenant1 records')

        # added
        expect(L.siemfwd('tenant', 'add', 'tenant2', emu.tenant_id('tenant2'), '-c', cfg), 0,
               'wrote')
        bg.proc.send_signal(signal.SIGHUP)
        L.wait_for(lambda: names_in(out)['tenant2'] > 0, 60, 'tenant2 records after SIGHUP')
        L.log('ok   SIGHUP: an added tenants file is picked up')

        # not YAML: the running configuration is kept
        with open(os.path.join(tdir, 'broken.yaml'), 'w', encoding='utf-8') as f:
            f.write('name: broken\ntenant_id: [oops\n')
        bg.proc.send_signal(signal.SIGHUP)
        L.wait_for(lambda: 'keeping the running configuration' in bg.stderr(), 30,
                   'reload refusing broken.yaml')
        err = bg.stderr()
        if 'broken.yaml:3' not in err or not bg.alive():
            failures.append('broken.yaml: no FILE:LINE error or siemfwd died:\n' + err[-3000:])
        new = emu.generate('tenant2', 2)
        L.wait_for(lambda: all(('tenant2',) + v in L.delivered(out) for v in new), 60,
                   'tenant2 still flowing under the kept configuration')
        L.log('ok   SIGHUP: a tenants file that is not YAML keeps the running config')
        os.unlink(os.path.join(tdir, 'broken.yaml'))

        # changed: tenant2 disabled -> no more of its alerts; removed: tenant1
        with open(os.path.join(tdir, 'tenant2.yaml'), 'a', encoding='utf-8') as f:
            f.write('enabled: false\n')
        os.unlink(os.path.join(tdir, 'tenant1.yaml'))
        marks = bg.stderr().count('running with the new configuration')
        bg.proc.send_signal(signal.SIGHUP)
        L.wait_for(lambda: bg.stderr().count('running with the new configuration') > marks,
                   60, 'reload with tenant1 removed')
        before = names_in(out)
        emu.generate('tenant2', 2)
        emu.generate('tenant1', 2)
        time.sleep(6)   # three poll intervals
        after = names_in(out)
        if after['tenant2'] != before['tenant2'] or after['tenant1'] != before['tenant1']:
            failures.append('after disabling tenant2 and removing tenant1 records still came: '
                            '%s -> %s' % (dict(before), dict(after)))
        if cursor_rows(work, 'tenant1') == 0:
            failures.append("a removed tenant's cursors were deleted from the state store")
        L.log("ok   SIGHUP: changed and removed files applied; tenant1's cursor kept")

        # re-added: catches up from its kept cursor, nothing sent twice
        expect(L.siemfwd('tenant', 'add', 'tenant1', emu.tenant_id('tenant1'), '-c', cfg), 0,
               'wrote')
        bg.proc.send_signal(signal.SIGHUP)
        want = emu.versions('tenant1', 'graph')
        L.wait_for(lambda: all(('tenant1',) + v in L.delivered(out) for v in want), 60,
                   'tenant1 caught up after re-adding')
        dup = [k for k, n in L.delivered(out).items() if n > 1 and k[0] == 'tenant1']
        if dup:
            failures.append('re-added tenant1 sent %d records twice, e.g. %s' % (len(dup),
                                                                                 dup[0]))
        L.log('ok   SIGHUP: a re-added tenant resumes from its kept cursor')
    finally:
        bg.stop()
        for mark in L.SANITIZER_MARKS:
            if mark in bg.stderr():
                failures.append('sanitizer report in siemfwd run:\n' + bg.stderr()[-4000:])


def main():
    root = tempfile.mkdtemp(prefix='sf-tenant-add-')
    emu = None
    try:
        certs = L.make_certs(os.path.join(root, 'pki'))
        emu = L.Emulator(root, os.path.join(root, 'pki'), ['--tenants', '3',
                                                           '--alerts-per-tenant', '5'])
        for name, fn in (('onboarding', onboarding), ('reload', reload)):
            work = os.path.join(root, name)
            os.mkdir(work)
            try:
                fn(work, emu, certs)
            except L.E2EFailure as e:
                failures.append('%s: %s' % (name, e))
    finally:
        if emu:
            emu.stop()
    if failures:
        for f in failures:
            print('FAIL ' + f)
        print('kept %s' % root)
        return 1
    shutil.rmtree(root, ignore_errors=True)
    print('all passed')
    return 0


if __name__ == '__main__':
    sys.exit(main())
