#!/usr/bin/python3
"""Integration tests of the status page (issue 13, item 3) against the bundled
Defender emulator: a running siemfwd serves GET / (the HTML page) and
GET /status.json on metrics.listen; headless Chromium loads the page and the
test checks the DOM the page's script built (worst tenant first with its
state, a hostile tenant name and error text shown as text, filter and sort
through the URL fragment) and saves a screenshot as
$SF_BUILD_DIR/status-page.png; then `siemfwd state --json [--tenant NAME]`
prints the same document from the state store alone.

Tenants: tenant1 healthy, tenant2 consent revoked (token refused),
tenant3 failing (every API call answered 503), and a cursor of a tenant no
longer configured whose name is `<img src=x onerror=alert(1)>` and whose last
error is markup (written into the state store the way an old run would have
left it). Reuses e2e_lib.py. Usage: test_status.py [SCENARIO ...]; env
SIEMFWD, SF_SOURCE_DIR, SF_BUILD_DIR, CHROMIUM (default: chromium on PATH).
"""

import html.parser
import http.client
import json
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import e2e_lib as L  # noqa: E402
from e2e_lib import check, log  # noqa: E402

EXPECTED_FAILURES = {}
HOSTILE = '<img src=x onerror=alert(1)>'
HOSTILE_ERROR = '<script>alert(2)</script> & "quoted" <b>not bold</b>'
BUILD = os.environ.get('SF_BUILD_DIR') or os.path.dirname(L.SIEMFWD)
STATES = ('consent_revoked', 'failing', 'lagging', 'pending', 'flowing')
PAIR_KEYS = ('tenant', 'output', 'state', 'why', 'configured', 'source', 'lag_s', 'cursor',
             'cursor_ms', 'last_success', 'last_success_ms', 'last_attempt',
             'last_attempt_ms', 'last_error', 'delivered', 'quarantined', 'queued', 'fetched')


free_port = L.free_port  # one copy, in e2e_lib


def http_get(port, path):
    """(status, headers dict with lower-case names, body bytes)."""
    conn = http.client.HTTPConnection('127.0.0.1', port, timeout=10)
    try:
        conn.request('GET', path)
        r = conn.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        conn.close()


def status_json(port):
    status, headers, body = http_get(port, '/status.json')
    check(status == 200, 'GET /status.json: HTTP %d %r' % (status, body[:300]))
    check(headers.get('content-type', '').startswith('application/json'),
          '/status.json Content-Type: %r' % headers.get('content-type'))
    try:
        return json.loads(body.decode('utf-8'))
    except ValueError as e:
        raise L.E2EFailure('/status.json is not JSON (%s): %r' % (e, body[:500])) from None


def try_status_json(port):
    """status_json, or None while siemfwd is starting (not listening, 503)."""
    try:
        status, _, body = http_get(port, '/status.json')
    except OSError:
        return None
    return status_json(port) if status == 200 else None


def check_document(doc, source):
    """Fields and invariants every status document has."""
    check(doc.get('source') == source, 'source %r, expected %r' % (doc.get('source'), source))
    for k in ('siemfwd', 'generated', 'generated_ms', 'poll_interval_s', 'counts', 'outputs',
              'pairs'):
        check(k in doc, 'status document without %r: %s' % (k, sorted(doc)))
    pairs = doc['pairs']
    check(doc['counts']['total'] == len(pairs), 'counts.total %r != %d pairs'
          % (doc['counts']['total'], len(pairs)))
    for s in STATES:
        n = sum(1 for p in pairs if p['state'] == s)
        check(doc['counts'][s] == n, 'counts.%s %r != %d' % (s, doc['counts'][s], n))
    for p in pairs:
        missing = [k for k in PAIR_KEYS if k not in p]
        check(not missing, 'pair %s/%s lacks %s' % (p.get('tenant'), p.get('output'), missing))
        check(p['state'] in STATES, 'unknown state %r' % p['state'])
    ranks = [STATES.index(p['state']) for p in pairs]
    check(ranks == sorted(ranks), 'pairs are not worst first: %s'
          % [(p['tenant'], p['state']) for p in pairs])
    return {(p['tenant'], p['output']): p for p in pairs}


def seed_hostile(state_dir):
    """A cursor of a tenant that is no longer configured, as an old run with
    such a name (and an API answering markup) would have left it."""
    now = int(time.time() * 1000)
    db = sqlite3.connect(os.path.join(state_dir, 'siemfwd.db'), timeout=30)
    try:
        db.execute('INSERT OR REPLACE INTO cursor(tenant, output, watermark_ms, '
                   'last_success_ms, last_attempt_ms, delivered, quarantined, last_error) '
                   'VALUES (?, ?, ?, 0, ?, 3, 1, ?)',
                   (HOSTILE, 'json', now - 7200 * 1000, now - 1000, HOSTILE_ERROR))
        db.commit()
    finally:
        db.close()


# ------------------------------------------------------------------ the DOM

class Dom(html.parser.HTMLParser):
    """What the test needs from Chromium's --dump-dom: every element's tag,
    the rows of table#pairs as {class of td: text}, element counts."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags = []              # (tag, attrs dict)
        self.rows = []              # table#pairs tbody rows: {cell class: text}
        self.ids = {}               # id -> text
        self._stack = []            # open elements: (tag, attrs)
        self._in_pairs = False
        self._cell = None
        self._texts = {}            # id -> [text]

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append((tag, a))
        if tag in ('meta', 'input', 'br', 'img', 'link'):
            return
        self._stack.append((tag, a))
        if tag == 'table' and a.get('id') == 'pairs':
            self._in_pairs = True
        if self._in_pairs and tag == 'tr' and any(t == 'tbody' for t, _ in self._stack):
            self.rows.append({'_state': a.get('data-state')})
        if self._in_pairs and tag == 'td' and self.rows:
            self._cell = (a.get('class') or '').split()
        if a.get('id'):
            self._texts[a['id']] = []

    def handle_endtag(self, tag):
        while self._stack:
            t, a = self._stack.pop()
            if t == 'table' and a.get('id') == 'pairs':
                self._in_pairs = False
            if t == 'td':
                self._cell = None
            if a.get('id') in self._texts:
                self.ids[a['id']] = ''.join(self._texts[a['id']])
            if t == tag:
                break

    def handle_data(self, data):
        for _, a in self._stack:
            if a.get('id') in self._texts:
                self._texts[a['id']].append(data)
        if self._cell is not None and self.rows:
            row = self.rows[-1]
            names = [c for c in self._cell if c not in ('num',)] or ['?']
            # the tenant cell: its name span apart from a "not configured" tag
            span = self._stack[-1][1].get('class') if self._stack else None
            key = 'tenant_tag' if span == 'tag' else names[0]
            row[key] = row.get(key, '') + data


def chromium_bin():
    return os.environ.get('CHROMIUM') or shutil.which('chromium') or shutil.which(
        'chromium-browser')


def chromium(url, workdir, *extra, timeout=120):
    """Headless Chromium on url; returns its stdout (the DOM with --dump-dom)."""
    profile = tempfile.mkdtemp(prefix='chromium.', dir=workdir)
    argv = [chromium_bin(), '--headless', '--disable-gpu', '--no-sandbox',
            '--no-first-run', '--no-default-browser-check', '--disable-extensions',
            '--disable-background-networking', '--disable-dev-shm-usage',
            '--user-data-dir=' + profile, '--virtual-time-budget=5000'] + list(extra) + [url]
    try:
        p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=timeout)
    except subprocess.TimeoutExpired:
        raise L.E2EFailure('chromium did not finish within %d s: %s' % (timeout, ' '.join(argv)))
    err = p.stderr.decode('utf-8', 'replace')
    with open(os.path.join(workdir, 'chromium.log'), 'a', encoding='utf-8') as f:
        f.write('$ %s\nexit %d\n%s\n' % (' '.join(argv), p.returncode, err))
    check(p.returncode == 0, 'chromium exit %d:\n%s' % (p.returncode, err[-2000:]))
    return p.stdout.decode('utf-8', 'replace')


def load_dom(port, workdir, fragment=''):
    text = chromium('http://127.0.0.1:%d/%s' % (port, fragment), workdir, '--dump-dom')
    with open(os.path.join(workdir, 'dom%s.html' % (fragment.replace('#', '-').replace(
            '&', '-').replace('=', '_'))), 'w', encoding='utf-8') as f:
        f.write(text)
    d = Dom()
    d.feed(text)
    d.close()
    check(d.rows, 'the page shows no rows (did its script run?):\n%s' % text[-3000:])
    return text, d


# ------------------------------------------------------------------ scenario 1

def start_daemon(c):
    emu = c.emulator(['--tenants', '3', '--alerts-per-tenant', '6', '--history', '1h',
                      '--fault', 'tenant2@revoke_consent'])
    emu.control('tenant3', fault='server_error', count=None, status=503)
    port = free_port()
    cfg = L.write_config(c.dir, emu, c.certs,
                         [L.tenant_entry(emu, n) for n in ('tenant1', 'tenant2', 'tenant3')],
                         [L.json_output(c.dir, 'json')],
                         metrics={'listen': '127.0.0.1:%d' % port})
    bg = c.background(cfg)
    L.wait_for(lambda: os.path.exists(os.path.join(c.dir, 'state', 'siemfwd.db')), 60,
               'the state store')
    return emu, cfg, bg, port


def wait_states(port, want, timeout=90):
    def ok():
        doc = try_status_json(port)
        if not doc:
            return None
        pairs = {(p['tenant'], p['output']): p['state'] for p in doc['pairs']}
        return doc if all(pairs.get(k) == s for k, s in want.items()) else None
    try:
        return L.wait_for(ok, timeout, 'states %s' % want, step=1)
    except L.E2EFailure:
        log('  last /status.json: %s' % json.dumps(status_json(port), indent=1)[:4000])
        raise


def s1_page(c):
    """status.json and the page in headless Chromium: worst first, states,
    hostile name and error text as text, filter and sort, screenshot."""
    check(chromium_bin(), 'chromium not found (Debian package chromium; packaging/deps.sh)')
    emu, cfg, bg, port = start_daemon(c)
    seed_hostile(os.path.join(c.dir, 'state'))
    want = {('tenant1', 'json'): 'flowing', ('tenant2', 'json'): 'consent_revoked',
            ('tenant3', 'json'): 'failing', (HOSTILE, 'json'): 'failing'}
    doc = wait_states(port, want)

    # /status.json
    pairs = check_document(doc, 'running')
    check(len(pairs) == 4, 'expected 4 pairs, got %s' % sorted(pairs))
    t1, t2, t3, h = (pairs[(n, 'json')] for n in ('tenant1', 'tenant2', 'tenant3', HOSTILE))
    check(t1['delivered'] > 0 and t1['last_success_ms'] and t1['lag_s'] is not None
          and t1['fetched'] >= t1['delivered'] and t1['configured'] is True,
          'tenant1 should be flowing with deliveries: %s' % t1)
    check(t2['last_error'] and ('refused' in t2['last_error'] or 'AADSTS' in t2['last_error']),
          'tenant2: no refusal in its error: %s' % t2)
    check('503' in t3['last_error'], 'tenant3: no HTTP 503 in its error: %s' % t3)
    check(h['configured'] is False and h['last_error'] == HOSTILE_ERROR and h['queued'] is None,
          'the unconfigured cursor: %s' % h)
    check(doc['pairs'][0]['tenant'] == 'tenant2', 'first pair is not the revoked tenant: %s'
          % [p['tenant'] for p in doc['pairs']])
    check([o['name'] for o in doc['outputs']] == ['json'] and doc['outputs'][0]['running'],
          'outputs: %s' % doc['outputs'])
    _, _, raw = http_get(port, '/status.json')
    check(b'<' not in raw and b'>' not in raw, '/status.json carries a raw < or >')
    log('  /status.json: %d pairs, counts %s' % (len(pairs), doc['counts']))

    # the page as served
    status, headers, body = http_get(port, '/')
    check(status == 200 and headers.get('content-type', '').startswith('text/html'),
          'GET /: HTTP %d, %r' % (status, headers.get('content-type')))
    csp = headers.get('content-security-policy', '')
    check("default-src 'none'" in csp and "img-src 'none'" in csp, 'GET /: CSP %r' % csp)
    page = body.decode('utf-8')
    for ref in ('src=', 'href=', '@import', 'url('):
        check(ref not in page, 'the page refers to something outside itself (%s)' % ref)
    check('innerHTML' not in page and 'insertAdjacentHTML' not in page
          and 'document.write' not in page, 'the page builds markup from strings')
    status, _, _ = http_get(port, '/nothing-here')
    check(status == 404, 'GET /nothing-here: HTTP %d' % status)

    # the page in a browser
    text, d = load_dom(port, c.dir)
    first = d.rows[0]
    log('  first row: %s' % first)
    check(first.get('tenant') == 'tenant2' and first.get('state') == 'consent revoked'
          and first['_state'] == 'consent_revoked',
          'the first row is not tenant2 / consent revoked: %s' % d.rows)
    by_name = {r.get('tenant'): r for r in d.rows}
    check(set(by_name) == {'tenant1', 'tenant2', 'tenant3', HOSTILE},
          'rows shown: %s' % sorted(by_name))
    hr = by_name[HOSTILE]
    check(hr.get('state') == 'failing' and hr.get('err') == HOSTILE_ERROR
          and hr.get('tenant_tag') == 'not configured',
          'the hostile row is not shown as text: %s' % hr)
    check(by_name['tenant3'].get('state') == 'failing' and
          '503' in by_name['tenant3'].get('err', ''), 'tenant3 row: %s' % by_name['tenant3'])
    check(by_name['tenant1'].get('state') == 'flowing', 'tenant1 row: %s' % by_name['tenant1'])
    check(not any(t == 'img' for t, _ in d.tags), 'an <img> element made it into the DOM')
    check(not any(t == 'b' for t, _ in d.tags), 'a <b> element made it into the DOM')
    check(sum(1 for t, _ in d.tags if t == 'script') == 1, 'more than the page\'s own script')
    check('&lt;img src=x onerror=alert(1)&gt;' in text, 'the escaped tenant name is not '
          'in the DOM as text')
    check('stale' not in d.ids.get('updated', '') and 'updated' in d.ids.get('updated', ''),
          'refresh status: %r' % d.ids.get('updated'))

    # filter and sort: the same code the filter box and the column clicks run
    _, d2 = load_dom(port, c.dir, '#q=TENANT3')
    check([r.get('tenant') for r in d2.rows] == ['tenant3'],
          'filter q=TENANT3 shows %s' % [r.get('tenant') for r in d2.rows])
    _, d3 = load_dom(port, c.dir, '#sort=tenant&dir=-1')
    names = [r.get('tenant') for r in d3.rows]
    check(names == sorted(names, reverse=True), 'sorted by tenant, descending: %s' % names)
    _, d4 = load_dom(port, c.dir, '#state=failing')
    check(sorted(r.get('tenant') for r in d4.rows) == sorted([HOSTILE, 'tenant3']),
          'state filter: %s' % [r.get('tenant') for r in d4.rows])

    shot = os.path.join(BUILD, 'status-page.png')
    if os.path.exists(shot):
        os.unlink(shot)
    chromium('http://127.0.0.1:%d/' % port, c.dir, '--screenshot=' + shot,
             '--window-size=1400,900', '--hide-scrollbars')
    check(os.path.exists(shot) and os.path.getsize(shot) > 10000,
          'no screenshot at %s' % shot)
    with open(shot, 'rb') as f:
        check(f.read(8) == b'\x89PNG\r\n\x1a\n', 'the screenshot is not a PNG')
    log('  screenshot: %s (%d bytes)' % (shot, os.path.getsize(shot)))

    res = bg.stop()
    check(res.rc == 0, 'siemfwd exit %s:\n%s' % (res.rc, res.describe()))

    # the same document from the state store, daemon stopped
    st = L.siemfwd('state', '-c', cfg, '--json')
    check(st.rc == 0, 'state --json:\n' + st.describe())
    sdoc = json.loads(st.out)
    spairs = check_document(sdoc, 'state_store')
    check(set(spairs) == set(pairs), 'state --json pairs %s != %s' % (sorted(spairs),
                                                                      sorted(pairs)))
    check(spairs[('tenant2', 'json')]['state'] == 'consent_revoked',
          'state --json: tenant2 is %s' % spairs[('tenant2', 'json')])
    check(spairs[(HOSTILE, 'json')]['last_error'] == HOSTILE_ERROR, 'state --json: %s'
          % spairs[(HOSTILE, 'json')])
    check('<' not in st.out, 'state --json prints a raw <')
    one = L.siemfwd('state', '-c', cfg, '--json', '--tenant', 'tenant3')
    check(one.rc == 0, 'state --json --tenant:\n' + one.describe())
    odoc = json.loads(one.out)
    check([(p['tenant'], p['state']) for p in odoc['pairs']] == [('tenant3', 'failing')],
          'state --json --tenant tenant3: %s' % odoc['pairs'])
    check(odoc['counts']['total'] == 1, 'counts for one tenant: %s' % odoc['counts'])
    table = L.siemfwd('state', '-c', cfg, '--tenant', 'tenant1')
    rows = L.state_rows(table)
    check(table.rc == 0 and list(rows) == [('tenant1', 'json')],
          'state --tenant tenant1 (table): %s' % table.describe())
    bad = L.siemfwd('state', '-c', cfg, '--json', '--tenant', 'nosuch')
    check(bad.rc == 2 and 'nosuch' in bad.err and not bad.out,
          'state --json --tenant nosuch:\n' + bad.describe())
    bad = L.siemfwd('state', '-c', cfg, '--tenant', 'nosuch')
    check(bad.rc == 2 and 'nosuch' in bad.err, 'state --tenant nosuch:\n' + bad.describe())


# ------------------------------------------------------------------ scenario 2

def s2_starting(c):
    """state --json reads without creating anything, and after one pass shows
    the pair flowing with what was delivered."""
    emu = c.emulator(['--tenants', '1', '--alerts-per-tenant', '2'])
    port = free_port()
    cfg = L.write_config(c.dir, emu, c.certs, [L.tenant_entry(emu, 'tenant1')],
                         [L.json_output(c.dir, 'json')],
                         metrics={'listen': '127.0.0.1:%d' % port})
    res = L.siemfwd('state', '-c', cfg, '--json')
    check(res.rc == 1 and not os.path.exists(os.path.join(c.dir, 'state')),
          'state --json without a state store must fail and create nothing:\n'
          + res.describe())
    L.run_once(cfg)
    res = L.siemfwd('state', '-c', cfg, '--json', '--tenant', 'tenant1')
    doc = json.loads(res.out)
    pairs = check_document(doc, 'state_store')
    p = pairs[('tenant1', 'json')]
    lines = len(L.read_lines(c.out('json')))
    check(p['state'] == 'flowing' and lines > 0 and p['delivered'] == lines
          and p['queued'] is None and p['fetched'] is None and p['last_error'] == '',
          'after one pass (%d lines delivered): %s' % (lines, p))


# ------------------------------------------------------------------ scenario 3

def s3_thousand(c):
    """1,000 tenants x 2 outputs, every one failing (the identity provider
    is unreachable): /status.json stays quick and the page shows all 2,000
    rows, and a filter narrows them."""
    n = 1000
    port = free_port()
    dead = 'https://127.0.0.1:%d' % free_port()     # nothing listens there
    tenants = [{'name': 'cust%04d' % i, 'tenant_id': '00000000-0000-0000-0000-%012d' % (i + 1),
                'authority': dead, 'api_base': dead} for i in range(n)]
    cfg = {'state_dir': os.path.join(c.dir, 'state'), 'poll_interval': '60s',
           'log_level': 'error', 'metrics': {'listen': '127.0.0.1:%d' % port},
           'http': {'timeout': '5s', 'max_parallel': 16},
           'tenant_defaults': {'client_id': L.CLIENT_ID, 'client_secret': L.SECRET},
           'tenants': tenants,
           'outputs': [L.json_output(c.dir, 'siem-a'), L.json_output(c.dir, 'siem-b')]}
    path = os.path.join(c.dir, 'siemfwd.yaml')
    with open(path, 'w', encoding='utf-8') as f:
        f.write(L.to_yaml(cfg))
    os.chmod(path, 0o600)
    bg = c.background(path)

    def all_failing():
        doc = try_status_json(port)
        return doc if doc and doc['counts']['failing'] == 2 * n else None
    t0 = time.monotonic()
    doc = L.wait_for(all_failing, 180, 'all %d pairs failing' % (2 * n), step=2)
    log('  all %d pairs failing after %.0f s' % (2 * n, time.monotonic() - t0))
    check_document(doc, 'running')
    t0 = time.monotonic()
    for _ in range(5):
        status_json(port)
    per = (time.monotonic() - t0) / 5
    log('  /status.json with %d pairs: %.0f ms, %d bytes' % (
        2 * n, per * 1000, len(json.dumps(doc))))
    check(per < 2.0, '/status.json took %.1f s with %d pairs' % (per, 2 * n))
    t0 = time.monotonic()
    _, d = load_dom(port, c.dir)
    log('  the page with %d rows in Chromium: %.1f s' % (len(d.rows), time.monotonic() - t0))
    check(len(d.rows) == 2 * n, 'the page shows %d rows, expected %d' % (len(d.rows), 2 * n))
    check(d.rows[0].get('tenant') == 'cust0000' and d.rows[-1].get('tenant') == 'cust0999',
          'order: %s ... %s' % (d.rows[0], d.rows[-1]))
    _, d = load_dom(port, c.dir, '#q=cust012')
    check(len(d.rows) == 20, 'filter cust012: %d rows' % len(d.rows))
    res = bg.stop()
    check(res.rc == 0, 'siemfwd exit %s:\n%s' % (res.rc, res.describe()))


SCENARIOS = [
    ('1', 'page', s1_page),
    ('2', 'store', s2_starting),
    ('3', 'thousand', s3_thousand),
]


def main(argv):
    return L.run_scenarios(SCENARIOS, argv, 'status', EXPECTED_FAILURES)


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
