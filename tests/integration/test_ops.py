#!/usr/bin/python3
"""Integration tests of siemfwd's operational behaviour (issue 5, items 3-5)
against the bundled Defender emulator: the Prometheus /metrics and /healthz
endpoint, SIGHUP reload (invalid config kept out, tenants and outputs added
and removed, exactly once across the reload), SIGTERM/SIGINT shutdown and
restart, and the hardening warnings (world-readable config, TLS verify off).

Does not test crash safety or outage catch-up (test_sys_*.py do). Reuses
e2e_lib.py; each scenario has its own emulator and temp dir, removed unless
the scenario fails. Usage: test_ops.py [SCENARIO ...]; env SIEMFWD, SF_SOURCE_DIR.
"""

import http.client
import json
import os
import re
import signal
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import e2e_lib as L  # noqa: E402
from e2e_lib import check, log  # noqa: E402

# Scenarios known to fail because of a reported siemfwd bug: name -> reason.
EXPECTED_FAILURES = {}


# ------------------------------------------------------------------ helpers

free_port = L.free_port  # one copy, in e2e_lib


def http_get(port, path):
    """GET path from the metrics endpoint; (status, body text)."""
    conn = http.client.HTTPConnection('127.0.0.1', port, timeout=10)
    try:
        conn.request('GET', path)
        r = conn.getresponse()
        return r.status, r.read().decode('utf-8')
    finally:
        conn.close()


SAMPLE_RE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?[ \t]+(\S+)(?:[ \t]+-?\d+)?$')
LABEL_RE = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*(,|$)')


def unescape(v):
    return re.sub(r'\\(.)', lambda m: '\n' if m.group(1) == 'n' else m.group(1), v)


def parse_labels(text, line):
    labels, pos = {}, 0
    while pos < len(text):
        m = LABEL_RE.match(text, pos)
        check(m and m.end() > pos, 'metrics: bad label set in line %r' % line)
        check(m.group(1) not in labels, 'metrics: label %s twice in %r' % (m.group(1), line))
        labels[m.group(1)] = unescape(m.group(2))
        pos = m.end()
    return labels


def parse_metrics(text):
    """Prometheus text format 0.0.4 -> {name: {frozenset(labels): value}}.
    Comment lines are ignored except TYPE, which must precede its samples;
    malformed lines and a (name, labels) sample given twice fail."""
    out, typed = {}, {}
    check(text.endswith('\n'), 'metrics: the last line does not end with a line feed')
    for line in text.split('\n'):
        if not line.strip():
            continue
        if line.startswith('#'):
            parts = line.split()
            if len(parts) >= 4 and parts[1] == 'TYPE':
                check(parts[2] not in out, 'metrics: TYPE of %s after its samples' % parts[2])
                check(parts[3] in ('counter', 'gauge', 'histogram', 'summary', 'untyped'),
                      'metrics: bad TYPE line %r' % line)
                typed[parts[2]] = parts[3]
            continue
        m = SAMPLE_RE.match(line)
        check(m, 'metrics: malformed sample line %r' % line)
        try:
            value = float(m.group(3))
        except ValueError:
            raise L.E2EFailure('metrics: bad value in %r' % line) from None
        key = frozenset(parse_labels(m.group(2) or '', line).items())
        fam = out.setdefault(m.group(1), {})
        check(key not in fam, 'metrics: sample %r given twice' % line)
        fam[key] = value
    return out


def metric_groups_split(text):
    """Metric names whose sample lines are not one contiguous group."""
    seen, last, split = set(), None, set()
    for line in text.split('\n'):
        if not line.strip() or line.startswith('#'):
            continue
        name = SAMPLE_RE.match(line).group(1)
        if name != last and name in seen:
            split.add(name)
        seen.add(name)
        last = name
    return sorted(split)


def scrape(port):
    status, body = http_get(port, '/metrics')
    check(status == 200, 'GET /metrics: HTTP %d %r' % (status, body[:300]))
    return parse_metrics(body)


def value(metrics, name, **labels):
    return metrics.get(name, {}).get(frozenset(labels.items()))


def start_config(c, emu, tenants, outputs, **top):
    return L.write_config(c.dir, emu, c.certs, [L.tenant_entry(emu, n) for n in tenants],
                          [L.json_output(c.dir, o) for o in outputs], **top)


def has_all(path, keys):
    return lambda: keys <= set(L.delivered(path))


def versions(emu, names):
    return {(n,) + k for n in names for k in emu.versions(n, 'graph')}


def count_lines(text, *needles):
    return sum(1 for ln in text.splitlines() if all(n in ln for n in needles))


def stop_ok(bg, what):
    res = bg.stop()
    check(res.rc == 0, '%s: siemfwd exit %s:\n%s' % (what, res.rc, res.describe()))
    return res


# ------------------------------------------------------------------ 1
def s1_metrics(c):
    """/healthz and /metrics: fetched = served by the emulator, delivered = lines
    in each output, cursor lag per (tenant, output), token renewals, 429 count."""
    names, outs = ['tenant1', 'tenant2'], ['out-a', 'out-b']
    emu = c.emulator(['--tenants', '2', '--alerts-per-tenant', '8', '--history', '1h'])
    port = free_port()
    cfg = start_config(c, emu, names, outs, poll_interval='2s',
                       metrics={'listen': '127.0.0.1:%d' % port})
    bg = c.background(cfg)
    want = versions(emu, names)
    for o in outs:
        L.wait_for(has_all(c.out(o), want), 60, 'first cycle delivered to %s' % o)
    L.wait_for(lambda: http_get(port, '/healthz')[0] == 200, 20, '/healthz 200')
    status, body = http_get(port, '/healthz')
    check((status, body.strip()) == (200, 'ok'), 'GET /healthz: %d %r' % (status, body))
    status, body = http_get(port, '/no/such/path')
    check(status == 404, 'GET /no/such/path: HTTP %d, want 404' % status)

    # fetched: equal to alerts_served once a scrape falls between two cycles
    def fetched_matches():
        before = scrape(port)
        served = {n: emu.stats(n)['alerts_served'] for n in names}
        after = scrape(port)
        got = {n: value(after, 'siemfwd_alerts_fetched_total', tenant=n) for n in names}
        same = got == {n: value(before, 'siemfwd_alerts_fetched_total', tenant=n)
                       for n in names}
        fetched_matches.last = (got, served)
        return same and got == {n: float(v) for n, v in served.items()}
    fetched_matches.last = None
    try:
        L.wait_for(fetched_matches, 30, 'fetched == served', step=0.5)
    except AssertionError:
        raise L.E2EFailure('siemfwd_alerts_fetched_total %s != emulator alerts_served %s'
                           % fetched_matches.last) from None
    log('  fetched per tenant %s (= emulator alerts_served)' % fetched_matches.last[0])

    m = scrape(port)
    for o in outs:
        lines = L.per_tenant(L.delivered(c.out(o)))
        for n in names:
            d = value(m, 'siemfwd_delivered_total', tenant=n, output=o)
            check(d == lines[n], 'siemfwd_delivered_total{tenant=%s,output=%s} = %s, the '
                  'file holds %d records of that tenant' % (n, o, d, lines[n]))
            lag = value(m, 'siemfwd_cursor_lag_seconds', tenant=n, output=o)
            check(lag is not None and 0 <= lag < 4 * 3600,
                  'siemfwd_cursor_lag_seconds{tenant=%s,output=%s} = %s' % (n, o, lag))
    renewals = value(m, 'siemfwd_token_renewals_total')
    check(renewals is not None and renewals >= 1, 'siemfwd_token_renewals_total = %s'
          % renewals)
    check(all(value(m, 'siemfwd_api_throttled_total', tenant=n) == 0 for n in names),
          'siemfwd_api_throttled_total not 0 before any 429: %s'
          % m.get('siemfwd_api_throttled_total'))

    emu.control('tenant1', fault='throttle', count=1, retry_after=1)
    L.wait_for(lambda: value(scrape(port), 'siemfwd_api_throttled_total',
                             tenant='tenant1') == 1, 30,
               'siemfwd_api_throttled_total{tenant="tenant1"} to become 1')
    m = scrape(port)
    check(value(m, 'siemfwd_api_throttled_total', tenant='tenant2') == 0,
          'a 429 on tenant1 counted for tenant2: %s' % m['siemfwd_api_throttled_total'])
    check(emu.stats('tenant1')['throttled'] == 1, 'emulator served %d 429s, injected 1'
          % emu.stats('tenant1')['throttled'])
    log('  delivered/lag/renewals (%g)/throttled checked; 404 and /healthz ok' % renewals)
    check(bg.alive(), 'siemfwd exited early:\n' + bg.stderr()[-3000:])
    stop_ok(bg, 'metrics')


def s2_metrics_format(c):
    """/metrics groups all lines of one metric together (text format 0.0.4)."""
    emu = c.emulator(['--tenants', '2', '--alerts-per-tenant', '3', '--history', '1h'])
    port = free_port()
    cfg = start_config(c, emu, ['tenant1', 'tenant2'], ['out-a', 'out-b'],
                       metrics={'listen': '127.0.0.1:%d' % port})
    bg = c.background(cfg)
    want = versions(emu, ['tenant1', 'tenant2'])
    L.wait_for(has_all(c.out('out-b'), want), 60, 'first cycle delivered')
    status, body = http_get(port, '/metrics')
    check(status == 200, 'GET /metrics: HTTP %d' % status)
    parse_metrics(body)
    split = metric_groups_split(body)
    stop_ok(bg, 'metrics format')
    check(not split, 'metrics: samples of %s are interleaved with other metrics; the text '
          'format wants all lines of one metric as one group' % split)


# ------------------------------------------------------------------ 2
def s3_reload(c):
    """SIGHUP: an invalid config is reported and the running one kept; a valid one
    adds a tenant and an output, removes an output; exactly once across it."""
    emu = c.emulator(['--tenants', '3', '--alerts-per-tenant', '6', '--history', '1h'])
    cfg = start_config(c, emu, ['tenant1', 'tenant2'], ['out-a', 'out-b'])
    bg = c.background(cfg)
    want = versions(emu, ['tenant1', 'tenant2'])
    for o in ('out-a', 'out-b'):
        L.wait_for(has_all(c.out(o), want), 60, 'first cycle delivered to %s' % o)

    # (a) an unknown key: reported with FILE:LINE, the running config kept
    good = open(cfg, encoding='utf-8').read()
    lines = good.splitlines()
    at = next(i for i, ln in enumerate(lines) if ln.startswith('poll_interval:'))
    lines.insert(at + 1, 'poll_intervall: 5s')
    with open(cfg, 'w', encoding='utf-8') as f:
        f.write('\n'.join(lines) + '\n')
    where = '%s:%d' % (cfg, at + 2)
    bg.proc.send_signal(signal.SIGHUP)
    L.wait_for(lambda: 'keeping the running configuration' in bg.stderr(), 20,
               '"keeping the running configuration" after SIGHUP with a bad config')
    err = bg.stderr()
    check(count_lines(err, where, 'poll_intervall') == 1,
          'stderr does not name %s and the unknown key:\n%s' % (where, err[-2000:]))
    new = {('tenant1',) + k for k in emu.generate('tenant1', 3)}
    for o in ('out-a', 'out-b'):
        L.wait_for(has_all(c.out(o), new), 30, 'new alerts in %s after the rejected reload'
                   % o)
    check(bg.alive(), 'siemfwd exited after a bad reload:\n' + bg.stderr()[-3000:])
    log('  invalid config: reported at %s, still delivering' % os.path.basename(where))

    # (b) tenant3 and out-c added, out-b removed
    L.write_config(c.dir, emu, c.certs, [L.tenant_entry(emu, n) for n in
                                         ('tenant1', 'tenant2', 'tenant3')],
                   [L.json_output(c.dir, 'out-a'), L.json_output(c.dir, 'out-c')])
    bg.proc.send_signal(signal.SIGHUP)
    L.wait_for(lambda: 'reload: running with the new configuration' in bg.stderr(), 60,
               '"reload: running with the new configuration"')
    reloaded_at = time.time()
    b_size = len(L.read_lines(c.out('out-b')))
    all3 = versions(emu, ['tenant1', 'tenant2', 'tenant3'])
    for o in ('out-a', 'out-c'):
        L.wait_for(has_all(c.out(o), all3), 60, 'all three tenants in %s after reload' % o)
    late = {(n,) + k for n in ('tenant1', 'tenant3') for k in emu.generate(n, 2)}
    for o in ('out-a', 'out-c'):
        L.wait_for(has_all(c.out(o), late), 30, 'alerts made after the reload in %s' % o)
    time.sleep(2.5)     # one more poll interval: out-b must stay as it was
    check(len(L.read_lines(c.out('out-b'))) == b_size, 'out-b, removed by the reload, '
          'grew from %d to %d records' % (b_size, len(L.read_lines(c.out('out-b')))))
    check(not any(k[0] == 'tenant3' for k in L.delivered(c.out('out-b'))),
          'out-b (removed) got tenant3 records')
    stop_ok(bg, 'reload')
    exp = L.Expected(emu, {n: 'graph' for n in ('tenant1', 'tenant2', 'tenant3')})
    exp.snapshot()
    for o in ('out-a', 'out-c'):
        L.assert_exactly_once(L.delivered(c.out(o)), exp.must, exp.known, o)
    got_b = L.delivered(c.out('out-b'))
    check(max(got_b.values()) == 1, 'out-b: a record delivered twice')
    check(all(L.parse_time(k[2]) < reloaded_at for k in got_b),
          'out-b: records made after the reload')


# ------------------------------------------------------------------ 3
def s4_sigterm(c):
    """SIGTERM with a syslog output down: exit 0 within shutdown_timeout, a final
    "stopped:" line; a restart (stopped by SIGINT) delivers nothing twice."""
    names = ['tenant1', 'tenant2']
    emu = c.emulator(['--tenants', '2', '--alerts-per-tenant', '6', '--history', '1h',
                      '--rate', '30'])
    timeout_s = 4
    outs = [L.json_output(c.dir, 'out-a'),
            {'name': 'syslog-down', 'type': 'syslog', 'format': 'json',
             'address': '127.0.0.1:%d' % free_port(), 'transport': 'tcp'}]
    cfg = L.write_config(c.dir, emu, c.certs, [L.tenant_entry(emu, n) for n in names], outs,
                         shutdown_timeout='%ds' % timeout_s)
    out = c.out('out-a')
    bg = c.background(cfg)
    L.wait_for(has_all(out, versions(emu, names)), 60, 'first cycle delivered')
    emu.generate('tenant1', 3)
    time.sleep(1.0)
    t0 = time.monotonic()
    bg.proc.send_signal(signal.SIGTERM)
    try:
        rc = bg.proc.wait(timeout_s + 4)
    except Exception:
        raise L.E2EFailure('siemfwd still running %d s after SIGTERM (shutdown_timeout '
                           '%d s):\n%s' % (timeout_s + 4, timeout_s, bg.stderr()[-3000:]))
    took = time.monotonic() - t0
    res = stop_ok(bg, 'SIGTERM')
    check(rc == 0, 'exit %s after SIGTERM' % rc)
    last = [ln for ln in res.err.splitlines() if ln.strip()][-1]
    check('stopped:' in last, 'the last log line is not the "stopped:" summary: %r' % last)
    check(count_lines(res.err, 'SIGTERM') >= 1, 'no log line about SIGTERM')
    log('  SIGTERM: exit 0 after %.1f s; %s' % (took, last.strip()[:150]))

    first = L.delivered(out)
    emu.control('*', set={'rate_per_min': 0, 'update_per_min': 0})
    emu.generate('tenant2', 3)
    rdir = os.path.join(c.dir, 'restart')
    os.makedirs(rdir)
    bg2 = L.Background(rdir, cfg)
    c.bgs.append(bg2)
    L.wait_for(lambda: 'running:' in bg2.stderr(), 30, 'the restarted siemfwd to start')
    L.wait_for(has_all(out, versions(emu, names)), 60, 'the restarted siemfwd to catch up')
    bg2.proc.send_signal(signal.SIGINT)
    rc2 = bg2.proc.wait(timeout_s + 4)
    res2 = stop_ok(bg2, 'SIGINT')
    check(rc2 == 0 and 'stopped:' in res2.err, 'SIGINT: exit %s\n%s' % (rc2, res2.err[-2000:]))
    exp = L.Expected(emu, {n: 'graph' for n in names})
    exp.snapshot()
    got = L.delivered(out)
    L.assert_exactly_once(got, exp.must, exp.known, 'out-a')
    log('  restart added %d records, none twice' % (sum(got.values()) - sum(first.values())))


# ------------------------------------------------------------------ 4
def s5_warnings(c):
    """A world-readable config and `tls: {verify: false}` warn at start and after
    SIGHUP; a 0600 config with verification on warns about neither."""
    emu = c.emulator(['--tenants', '1', '--alerts-per-tenant', '2', '--history', '1h'])
    quiet = start_config(c, emu, ['tenant1'], ['out-a'], name='quiet.yaml')
    res = L.run_once(quiet)
    check('readable by every user' not in res.err and 'verification is OFF' not in res.err,
          'warnings for a 0600 config with verification on:\n%s' % res.err[-2000:])

    closed = free_port()
    outs = [L.json_output(c.dir, 'out-a'),
            {'name': 'syslog-noverify', 'type': 'syslog', 'format': 'json',
             'address': '127.0.0.1:%d' % closed, 'transport': 'tls',
             'tls': {'verify': False}}]
    cfg = L.write_config(c.dir, emu, c.certs, [L.tenant_entry(emu, 'tenant1')], outs,
                         name='loud.yaml', shutdown_timeout='3s')
    os.chmod(cfg, 0o644)
    bg = c.background(cfg)
    L.wait_for(lambda: 'verification is OFF' in bg.stderr(), 30, 'the TLS-off warning')
    err = bg.stderr()
    check(count_lines(err, cfg, 'readable by every user') == 1,
          'no warning naming the world-readable %s:\n%s' % (cfg, err[-2000:]))
    check(count_lines(err, 'verification is OFF', 'syslog-noverify') == 1,
          'the TLS-off warning does not name the output:\n%s' % err[-2000:])
    bg.proc.send_signal(signal.SIGHUP)
    L.wait_for(lambda: 'reload: running with the new configuration' in bg.stderr(), 60,
               'the reload to finish')
    L.wait_for(lambda: count_lines(bg.stderr(), 'verification is OFF') == 2, 10,
               'the TLS-off warning again after the reload')
    check(count_lines(bg.stderr(), cfg, 'readable by every user') == 2,
          'no world-readable warning at the reload')
    stop_ok(bg, 'warnings')
    log('  0644 config and verify:false warned at start and at reload')


# ------------------------------------------------------------------ 6
def s6_once_outputs_down(c):
    """Regression: `--once` with its only output unreachable used to exit 0
    having delivered nothing. It must exit 1, name the tenant, hold the
    cursor, and a later run with the output back delivers everything once."""
    names = ['tenant1']
    emu = c.emulator(['--tenants', '1', '--alerts-per-tenant', '5', '--history', '1h'])
    time.sleep(1.2)
    port = free_port()
    sink = os.path.join(c.dir, 'sink.log')
    out = {'name': 'syslog-a', 'type': 'syslog', 'format': 'json',
           'address': '127.0.0.1:%d' % port, 'transport': 'tcp', 'framing': 'lf'}
    cfg = L.write_config(c.dir, emu, c.certs, [L.tenant_entry(emu, n) for n in names], [out])
    res = L.run_once(cfg, expect_rc=1)
    check(count_lines(res.err, 'tenant=tenant1', 'output=syslog-a', 'left behind') >= 1,
          'no log line says that tenant1 was left behind at syslog-a:\n' + res.err[-2000:])
    check(count_lines(res.err, '1 of 1 tenants incomplete') == 1,
          'the summary line does not count tenant1 as incomplete:\n' + res.err[-2000:])
    log('  --once with the only output down: exit 1, tenant named')
    # bring a plain TCP receiver up on that port and run again
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(('127.0.0.1', port))
    srv.listen(8)
    got = []

    def serve():
        conn, _ = srv.accept()
        with conn, open(sink, 'wb') as f:
            while True:
                data = conn.recv(65536)
                if not data:
                    break
                f.write(data)
                got.append(len(data))
    th = threading.Thread(target=serve, daemon=True)
    th.start()
    L.run_once(cfg, expect_rc=0)
    srv.close()
    th.join(10)
    lines = [json.loads(ln[ln.index('{'):]) for ln in
             open(sink, encoding='utf-8').read().splitlines() if '{' in ln]
    ids = [a['id'] for a in lines]
    want = {k[0] for k in emu.versions('tenant1', 'graph')}
    check(set(ids) >= want and len(ids) == len(set(ids)),
          'second run: %d records, %d distinct, %d expected' % (len(ids), len(set(ids)), len(want)))
    log('  output back: %d alerts delivered once each' % len(ids))


SCENARIOS = [
    ('1', 'metrics', s1_metrics),
    ('2', 'metrics_format', s2_metrics_format),
    ('3', 'reload', s3_reload),
    ('4', 'sigterm', s4_sigterm),
    ('5', 'warnings', s5_warnings),
    ('6', 'once_outputs_down', s6_once_outputs_down),
]


def main(argv):
    return L.run_scenarios(SCENARIOS, argv, 'ops', EXPECTED_FAILURES)


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
