#!/usr/bin/python3
"""Tests of packaging/monitoring/ (issue 13, item 5): the Prometheus alert rules and the
Grafana dashboard, against the metrics siemfwd really exports.

1. static: `promtool check rules` and the rules' unit tests
   (test_monitoring.rules_test.yml, `promtool test rules`: every alert fires on its
   signal with the expected labels and text; removed tenants, idle outputs and healthy
   tenants stay quiet); the dashboard is valid JSON, takes its data source from a
   variable and has a panel for each signal.
2. live: siemfwd against the Defender emulator with tenant1 healthy and tenant2's
   consent revoked, metrics.listen on a free port. `curl /metrics | promtool check
   metrics` passes; every siemfwd_* name the rules and the dashboard use is exported,
   with the labels they match on. Then a real Prometheus (own config, storage and port)
   scrapes siemfwd every second and evaluates the rules: SiemfwdTenantAccessRefused
   becomes pending or firing for tenant2 and not for tenant1 (generous timeout, no
   timing assertion), and every dashboard query is accepted by its query API.

Needs the Debian package `prometheus` (prometheus, promtool; packaging/deps.sh).
Usage: test_monitoring.py [SCENARIO ...]; env SIEMFWD, SF_SOURCE_DIR.
"""

import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import e2e_lib as L  # noqa: E402
from e2e_lib import check, log  # noqa: E402

EXPECTED_FAILURES = {}

MON = os.path.join(L.SRC, 'packaging', 'monitoring')
RULES = os.path.join(MON, 'siemfwd.rules.yml')
DASHBOARD = os.path.join(MON, 'siemfwd-dashboard.json')
RULES_TEST = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                          'test_monitoring.rules_test.yml')
PROMTOOL = shutil.which('promtool') or '/usr/bin/promtool'
PROMETHEUS = shutil.which('prometheus') or '/usr/bin/prometheus'

# The alert each signal of issue 13 item 5 raises, and the metric it is built on.
ALERTS = {
    'SiemfwdTenantAccessRefused': 'siemfwd_tenant_auth_failed',          # token failures
    'SiemfwdTenantNotFlowing': 'siemfwd_last_success_timestamp_seconds',  # not flowing
    'SiemfwdCursorLagHigh': 'siemfwd_cursor_lag_seconds',                 # cursor lag
    'SiemfwdOutputFailing': 'siemfwd_output_connected',                   # output failing
    'SiemfwdRecordsQuarantined': 'siemfwd_quarantined_total',             # quarantine
    'SiemfwdTokenRenewalsExcessive': 'siemfwd_token_renewals_total',      # token failures
}
# Metrics the dashboard must chart (one panel or more each).
DASHBOARD_METRICS = (
    'siemfwd_tenant_auth_failed', 'siemfwd_last_success_timestamp_seconds',
    'siemfwd_cursor_lag_seconds', 'siemfwd_output_connected', 'siemfwd_output_retried_total',
    'siemfwd_output_queued_bytes', 'siemfwd_token_renewals_total', 'siemfwd_quarantined_total',
    'siemfwd_alerts_fetched_total', 'siemfwd_delivered_total')
# Labels the rules and the dashboard match on, per metric family.
LABELS = {
    'siemfwd_tenant_auth_failed': {'tenant'},
    'siemfwd_alerts_fetched_total': {'tenant'},
    'siemfwd_api_throttled_total': {'tenant'},
    'siemfwd_output_connected': {'output'},
    'siemfwd_output_retried_total': {'output'},
    'siemfwd_output_queued_bytes': {'output'},
    'siemfwd_output_queued_records': {'output'},
    'siemfwd_token_renewals_total': set(),
    'siemfwd_delivered_total': {'tenant', 'output'},
    'siemfwd_quarantined_total': {'tenant', 'output'},
    'siemfwd_cursor_lag_seconds': {'tenant', 'output'},
    'siemfwd_last_success_timestamp_seconds': {'tenant', 'output'},
}
NAME_RE = re.compile(r'\bsiemfwd_[a-z0-9_]+\b')


# ------------------------------------------------------------------ helpers

def need_tools():
    for tool in (PROMTOOL, PROMETHEUS):
        check(os.access(tool, os.X_OK), '%s not found: install the Debian package '
              '"prometheus" (packaging/deps.sh)' % tool)


free_port = L.free_port  # one copy, in e2e_lib


def http_get(port, path, timeout=10):
    conn = http.client.HTTPConnection('127.0.0.1', port, timeout=timeout)
    try:
        conn.request('GET', path)
        r = conn.getresponse()
        return r.status, r.read().decode('utf-8')
    finally:
        conn.close()


def try_get(port, path):
    try:
        return http_get(port, path)
    except OSError:
        return None, ''


def run(argv, what, timeout=120, **kw):
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout,
                       **kw)
    out = p.stdout.decode('utf-8', 'replace')
    check(p.returncode == 0, '%s: exit %d\n$ %s\n%s' % (what, p.returncode, ' '.join(argv),
                                                       out[-4000:]))
    return out


def rules_text():
    """The rules file without its comment lines."""
    with open(RULES, encoding='utf-8') as f:
        return ''.join(ln for ln in f if not ln.lstrip().startswith('#'))


def dashboard():
    with open(DASHBOARD, encoding='utf-8') as f:
        try:
            return json.load(f)
        except ValueError as e:
            raise L.E2EFailure('%s is not valid JSON: %s' % (DASHBOARD, e)) from None


def dashboard_panels(d):
    out = []
    for p in d.get('panels', []):
        out.append(p)
        out.extend(p.get('panels', []))     # collapsed rows hold their panels
    return out


def dashboard_exprs(d):
    return [(p.get('title'), t['expr']) for p in dashboard_panels(d)
            for t in p.get('targets', []) if t.get('expr')]


def concrete(expr):
    """A dashboard query with Grafana's variables replaced, for Prometheus' API."""
    expr = expr.replace('$__rate_interval', '1m').replace('$__interval', '15s')
    return re.sub(r'\$\{?(job|instance|tenant|output)\}?', '.*', expr)


def parse_families(text):
    """/metrics text -> {name: [set of label names of each sample]}."""
    fams = {}
    for line in text.splitlines():
        if not line or line.startswith('#'):
            continue
        m = re.match(r'([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s', line)
        check(m, 'metrics: malformed line %r' % line)
        labels = set(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="', m.group(3) or ''))
        fams.setdefault(m.group(1), []).append(labels)
    return fams


class Prometheus:
    """/usr/bin/prometheus on a free port with its own config and storage."""

    def __init__(self, workdir, target_port):
        self.port = free_port()
        self.dir = os.path.join(workdir, 'prometheus')
        os.makedirs(os.path.join(self.dir, 'data'))
        self.config = os.path.join(self.dir, 'prometheus.yml')
        cfg = {   # JSON is YAML
            'global': {'scrape_interval': '1s', 'scrape_timeout': '1s',
                       'evaluation_interval': '1s'},
            'rule_files': [RULES],
            'scrape_configs': [{'job_name': 'siemfwd', 'scrape_interval': '1s',
                                'scrape_timeout': '1s',
                                'static_configs': [{'targets': ['127.0.0.1:%d' % target_port]}]}],
        }
        with open(self.config, 'w', encoding='utf-8') as f:
            json.dump(cfg, f, indent=1)
        run([PROMTOOL, 'check', 'config', self.config], 'promtool check config')
        self.log_path = os.path.join(self.dir, 'prometheus.log')
        self.logf = open(self.log_path, 'wb')
        self.argv = [PROMETHEUS, '--config.file=' + self.config,
                     '--storage.tsdb.path=' + os.path.join(self.dir, 'data'),
                     '--web.listen-address=127.0.0.1:%d' % self.port,
                     '--storage.tsdb.retention.time=1h', '--log.level=info']
        self.proc = subprocess.Popen(self.argv, stdout=self.logf, stderr=subprocess.STDOUT,
                                     cwd=self.dir)

    def log_tail(self, n=3000):
        with open(self.log_path, 'rb') as f:
            return f.read()[-n:].decode('utf-8', 'replace')

    def alive(self):
        return self.proc.poll() is None

    def api(self, path, **params):
        q = ('?' + urllib.parse.urlencode(params)) if params else ''
        status, body = http_get(self.port, '/api/v1/' + path + q, timeout=30)
        try:
            obj = json.loads(body)
        except ValueError:
            raise L.E2EFailure('Prometheus %s: HTTP %d, not JSON: %.300s'
                               % (path, status, body)) from None
        return status, obj

    def wait_ready(self, timeout=90):
        def ready():
            check(self.alive(), 'prometheus exited (%s):\n%s'
                  % (self.proc.returncode, self.log_tail()))
            return try_get(self.port, '/-/ready')[0] == 200
        L.wait_for(ready, timeout, 'Prometheus ready on port %d' % self.port, step=0.5)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.logf.close()


# ------------------------------------------------------------------ 1
def s1_static(c):
    """promtool check rules and test rules; the dashboard is valid JSON with a data
    source variable and a panel for each signal."""
    need_tools()
    out = run([PROMTOOL, 'check', 'rules', RULES], 'promtool check rules')
    log('  ' + out.strip().replace('\n', '\n  '))
    out = run([PROMTOOL, 'test', 'rules', RULES_TEST], 'promtool test rules')
    log('  rule unit tests: ' + out.strip().splitlines()[-1].strip())
    with open(RULES, encoding='utf-8') as f:
        rules_text = f.read()
    for alert, metric in ALERTS.items():
        m = re.search(r'- alert: %s\n(?:\s+#.*\n)*\s+expr:(.*(?:\n\s{10,}.*)*)' % alert,
                      rules_text)
        check(m, 'rule %s missing from %s' % (alert, RULES))
        check(metric in m.group(1), 'rule %s does not use %s: %s' % (alert, metric, m.group(1)))

    d = dashboard()
    dsvars = [v for v in d.get('templating', {}).get('list', []) if v.get('type') == 'datasource']
    check(len(dsvars) == 1 and dsvars[0].get('query') == 'prometheus',
          'dashboard: want one data source variable of type prometheus, got %s' % dsvars)
    ds_ref = '${%s}' % dsvars[0]['name']
    panels = dashboard_panels(d)
    ids = [p.get('id') for p in panels]
    check(len(ids) == len(set(ids)) and None not in ids, 'dashboard: panel ids not unique: %s'
          % ids)
    for p in panels:
        check('gridPos' in p, 'dashboard: panel %r has no gridPos' % p.get('title'))
        if p.get('type') == 'row':
            continue
        check(p.get('datasource', {}).get('uid') == ds_ref,
              'dashboard: panel %r does not use the data source variable (%s): %s'
              % (p.get('title'), ds_ref, p.get('datasource')))
        check(p.get('targets'), 'dashboard: panel %r has no query' % p.get('title'))
        for t in p['targets']:
            check(t.get('datasource', {}).get('uid') == ds_ref and t.get('expr'),
                  'dashboard: a query of panel %r has no expr or a fixed data source: %s'
                  % (p.get('title'), t))
    used = {n for _, e in dashboard_exprs(d) for n in NAME_RE.findall(e)}
    missing = [m for m in DASHBOARD_METRICS if m not in used]
    check(not missing, 'dashboard: no panel charts %s' % missing)
    log('  dashboard: %d panels, %d queries, data source ${%s}, charts %d metrics'
        % (len(panels), len(dashboard_exprs(d)), dsvars[0]['name'], len(used)))


# ------------------------------------------------------------------ 2
def s2_live(c):
    """siemfwd with tenant2's consent revoked: promtool check metrics on the live
    /metrics; a real Prometheus scrapes it and SiemfwdTenantAccessRefused turns
    pending or firing for tenant2 only; every dashboard query runs."""
    need_tools()
    emu = c.emulator(['--tenants', '2', '--alerts-per-tenant', '4', '--history', '1h',
                      '--fault', 'tenant2@revoke_consent'])
    port = free_port()
    cfg = L.write_config(c.dir, emu, c.certs,
                         [L.tenant_entry(emu, n) for n in ('tenant1', 'tenant2')],
                         [L.json_output(c.dir, 'json')], poll_interval='2s',
                         metrics={'listen': '127.0.0.1:%d' % port})
    bg = c.background(cfg)
    want = {('tenant1',) + k for k in emu.versions('tenant1', 'graph')}
    L.wait_for(lambda: want <= set(L.delivered(c.out('json'))), 120,
               'tenant1 delivered to the json output')

    def refused():
        check(bg.alive(), 'siemfwd exited early:\n' + bg.stderr()[-3000:])
        status, body = try_get(port, '/metrics')
        return status == 200 and 'siemfwd_tenant_auth_failed{tenant="tenant2"} 1\n' in body
    L.wait_for(refused, 120, 'siemfwd_tenant_auth_failed{tenant="tenant2"} 1 in /metrics')

    # promtool's linter on the live text, fetched by curl
    url = 'http://127.0.0.1:%d/metrics' % port
    out = run(['bash', '-o', 'pipefail', '-c', 'curl -sSf "$1" | "$2" check metrics', 'lint',
               url, PROMTOOL], 'curl /metrics | promtool check metrics')
    log('  curl /metrics | promtool check metrics: ok%s' % (': ' + out.strip() if out.strip()
                                                           else ''))

    # every name the rules and the dashboard use is exported, with the labels they need
    status, text = http_get(port, '/metrics')
    check(status == 200, 'GET /metrics: HTTP %d' % status)
    fams = parse_families(text)
    d = dashboard()
    used = set(NAME_RE.findall(rules_text()))
    used |= {n for _, e in dashboard_exprs(d) for n in NAME_RE.findall(e)}
    for v in d['templating']['list']:
        used |= set(NAME_RE.findall(json.dumps(v.get('query', ''))))
    unknown = sorted(n for n in used if n not in fams)
    check(not unknown, 'rules or dashboard use metrics siemfwd does not export: %s '
          '(exported: %s)' % (unknown, sorted(fams)))
    for name in sorted(used):
        want_labels = LABELS.get(name)
        check(want_labels is not None, 'test: no label expectation for %s' % name)
        bad = [ls for ls in fams[name] if ls != want_labels]
        check(not bad, '%s: samples with labels %s, the rules and dashboard match on %s'
              % (name, bad[:3], sorted(want_labels)))
    log('  %d metric names used by rules and dashboard, all exported with the expected labels'
        % len(used))

    # a real Prometheus scrapes siemfwd and evaluates the rules
    prom = Prometheus(c.dir, port)
    try:
        prom.wait_ready()
        version = re.search(r'version (\S+)', run([PROMETHEUS, '--version'], 'version'))
        log('  prometheus %s on 127.0.0.1:%d' % (version.group(1) if version else '?',
                                                 prom.port))
        seen = {}

        def access_refused_alerts():
            check(prom.alive(), 'prometheus exited:\n' + prom.log_tail())
            check(bg.alive(), 'siemfwd exited early:\n' + bg.stderr()[-3000:])
            status, obj = prom.api('alerts')
            check(status == 200 and obj.get('status') == 'success',
                  '/api/v1/alerts: HTTP %d %s' % (status, obj))
            got = [a for a in obj['data']['alerts']
                   if a['labels'].get('alertname') == 'SiemfwdTenantAccessRefused']
            seen['alerts'] = got
            return [a for a in got if a['labels'].get('tenant') == 'tenant2'
                    and a.get('state') in ('pending', 'firing')]
        try:
            hit = L.wait_for(access_refused_alerts, 180,
                             'SiemfwdTenantAccessRefused{tenant="tenant2"} pending or firing',
                             step=1)
        except AssertionError:
            status, targets = prom.api('targets')
            raise L.E2EFailure('no SiemfwdTenantAccessRefused alert for tenant2; alerts %s; '
                               'targets %s; prometheus log:\n%s'
                               % (seen.get('alerts'), json.dumps(targets)[:1500],
                                  prom.log_tail())) from None
        a = hit[0]
        log('  SiemfwdTenantAccessRefused %s: %s (%s)'
            % (a['state'], a['annotations'].get('summary'),
               ', '.join('%s=%s' % kv for kv in sorted(a['labels'].items()))))
        check(a['labels'].get('job') == 'siemfwd' and a['labels'].get('severity') == 'critical',
              'alert labels: %s' % a['labels'])
        others = [x['labels'] for x in seen['alerts'] if x['labels'].get('tenant') != 'tenant2']
        check(not others, 'SiemfwdTenantAccessRefused also for a healthy tenant: %s' % others)

        status, obj = prom.api('rules')
        check(status == 200 and obj.get('status') == 'success', '/api/v1/rules: %s' % obj)
        health = {r['name']: (r.get('health'), r.get('lastError'))
                  for g in obj['data']['groups'] for r in g['rules']}
        check(len(health) >= len(ALERTS) and all(h == 'ok' for h, _ in health.values()),
              'rules not evaluated cleanly by Prometheus: %s' % health)
        log('  %d rules loaded, all evaluated with health ok' % len(health))

        # every dashboard query is valid PromQL for this Prometheus
        nonempty = 0
        for title, expr in dashboard_exprs(d):
            q = concrete(expr)
            status, res = prom.api('query', query=q)
            check(status == 200 and res.get('status') == 'success',
                  'dashboard panel %r: query %s refused: %s' % (title, q, res))
            nonempty += bool(res['data']['result'])
        status, res = prom.api('query', query='siemfwd_tenant_auth_failed == 1')
        check([r['metric'].get('tenant') for r in res['data']['result']] == ['tenant2'],
              'the "Tenants refusing access" query gives %s' % res['data']['result'])
        log('  %d dashboard queries accepted by Prometheus, %d with data now'
            % (len(dashboard_exprs(d)), nonempty))
    finally:
        prom.stop()
    res = bg.stop()
    check(res.rc == 0, 'siemfwd exit %s:\n%s' % (res.rc, res.describe()))


SCENARIOS = [
    ('1', 'static', s1_static),
    ('2', 'live', s2_live),
]


def main(argv):
    return L.run_scenarios(SCENARIOS, argv, 'monitoring', EXPECTED_FAILURES)


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
