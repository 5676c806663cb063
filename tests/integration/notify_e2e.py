#!/usr/bin/python3
"""End-to-end tests of the notification outputs (issue 6): `siemfwd run --once`
pulls alerts from the Defender emulator and sends them as email through real SMTP
servers on loopback (aiosmtpd: STARTTLS + AUTH, implicit TLS, and one without
STARTTLS that must be refused) and as JSON to an HTTPS webhook receiver. Checks
recipients, subjects, tenant names, portal links, devices, a hostile title (no
extra header), rules, the flood digest (its count and ids: nothing lost), the
sent-once memory with a severity rise, a refused recipient quarantined, and
`siemfwd notify-test`.

The emulator runs inside this process so the test can give alerts known
severities, statuses and titles. Env: SIEMFWD, SF_SOURCE_DIR. Stdlib + aiosmtpd.
"""

import email
import email.policy
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import warnings

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import e2e_lib as L  # noqa: E402
from e2e_lib import check, log  # noqa: E402

sys.path.insert(0, os.path.join(L.SRC, 'tests', 'emulator'))
import defender_emu  # noqa: E402
import emu_server  # noqa: E402
from emu_util import now_ticks  # noqa: E402
from notify_peers import PASSWORD, USER, SMTPServer, WebhookReceiver  # noqa: E402

warnings.filterwarnings('ignore', category=DeprecationWarning)

CONTOSO = '00000000-0000-0000-0000-00000000c001'
FABRIKAM = '00000000-0000-0000-0000-00000000fab2'
HOSTILE = ('Evil\r\nBcc: victim@evil.example\r\nX-Injected: yes \u2014 Zo\u00eb '
           '\u653b\u6483 \u0007end')
HOSTILE_FLAT = 'Evil Bcc: victim@evil.example X-Injected: yes \u2014 Zo\u00eb \u653b\u6483 end'
HOOK_TOKEN = 'hook-token-123'
HEADER_NAMES = ['Date', 'From', 'To', 'Subject', 'Message-ID', 'MIME-Version',
                'Content-Type', 'Auto-Submitted']


class InProcEmulator:
    """The Defender emulator served from a thread of this process."""

    def __init__(self, workdir, certdir, config):
        path = os.path.join(workdir, 'emu.json')
        with open(path, 'w', encoding='utf-8') as f:
            json.dump(config, f)
        args = defender_emu.parse_args(['--certdir', certdir, '--client-id', L.CLIENT_ID,
                                        '--client-secret', L.SECRET, '--config', path,
                                        '--no-gzip'])
        self.tenants = {t.name: t for t in defender_emu.build_tenants(args)}
        self.emu = emu_server.Emulator(list(self.tenants.values()), args, lambda msg: None)
        defender_emu.populate(self.emu, list(self.tenants.values()), args)
        self.server = emu_server.Server(('127.0.0.1', 0), emu_server.Handler, self.emu,
                                        defender_emu.ssl_context(args))
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       kwargs={'poll_interval': 0.1}, daemon=True)
        self.thread.start()
        self.url = 'https://127.0.0.1:%d' % self.server.server_address[1]

    def alerts(self, name):
        return self.tenants[name].alerts

    def view(self, name, source):
        """The alerts of a tenant as the API renders them (full documents)."""
        t = self.tenants[name]
        with t.lock:
            return emu_server.expected_view(t, source, True)

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def shape_alerts(emu):
    """Known severities, statuses and titles: contoso (Graph) gets the hostile title
    first; fabrikam (MDE) one high new alert."""
    t = emu.tenants['contoso']
    plan = [('high', 'new', HOSTILE), ('high', 'new', None), ('high', 'inProgress', None),
            ('low', 'new', None), ('medium', 'new', None), ('medium', 'new', None),
            ('medium', 'resolved', None), ('informational', 'new', None)]
    with t.lock:
        check(len(t.alerts) == len(plan), 'contoso has %d alerts' % len(t.alerts))
        for a, (sev, st, title) in zip(t.alerts, plan):
            a['severity'], a['status'] = sev, st
            if title:
                a['title'] = title
    t = emu.tenants['fabrikam']
    with t.lock:
        for i, a in enumerate(t.alerts):
            a['severity'], a['status'] = ('high', 'new') if i == 0 else ('low', 'new')


def write_config(path, work, emu, peers):
    st, im, pl, hook = peers
    ca = os.path.join(work, 'certs', 'ca.crt')
    text = f"""state_dir: {work}/state
poll_interval: 5s
log_level: info
http:
  ca_file: {ca}
tenant_defaults:
  client_id: {L.CLIENT_ID}
  client_secret: ${{E2E_SECRET}}
  authority: {emu.url}
  start_from: 3h
  overlap: 2m
  settle: 1s
tenants:
  - name: contoso
    tenant_id: {CONTOSO}
    source: graph
    api_base: {emu.url}
    outputs: [oncall, flood, cleartext, teams]
  - name: fabrikam
    tenant_id: {FABRIKAM}
    source: mde
    api_base: {emu.url}/mde
    outputs: [oncall, cleartext, badrcpt, teams]
outputs:
  - name: oncall                 # STARTTLS + AUTH; high and new only
    type: email
    format: json
    url: {st.url}
    from: siemfwd@mssp.example
    to: [soc-oncall@mssp.example, lead@mssp.example]
    username: {USER}
    password: ${{E2E_SMTP_PASSWORD}}
    ca_file: {ca}
    rules:
      - {{min_severity: high, status: [new]}}
  - name: flood                  # implicit TLS; every contoso alert, 2 per 10m
    type: email
    format: json
    url: {im.url}
    from: siemfwd@mssp.example
    to: [flood@mssp.example]
    ca_file: {ca}
    include: {{device: false}}
    rules:
      - {{tenants: [contoso]}}
    flood: {{max: 2, per: 10m}}
  - name: cleartext              # the server offers no STARTTLS: nothing may go out
    type: email
    format: json
    url: {pl.url}
    from: siemfwd@mssp.example
    to: [soc@mssp.example]
  - name: badrcpt                # the server refuses the recipient (550)
    type: email
    format: json
    url: {st.url}
    from: siemfwd@mssp.example
    to: [bad-address@mssp.example]
    username: {USER}
    password: ${{E2E_SMTP_PASSWORD}}
    ca_file: {ca}
    rules:
      - {{min_severity: high, status: [new]}}
  - name: teams
    type: webhook
    format: json
    url: {hook.url}/ok
    ca_file: {ca}
    headers: {{Authorization: "Bearer ${{E2E_HOOK_TOKEN}}"}}
    rules:
      - {{min_severity: medium, status: [new]}}
    template: |
      {{"@type": "MessageCard", "summary": "${{alert.title}}",
       "title": "[${{tenant.name}}] ${{alert.severity}}: ${{alert.title}}",
       "text": "${{alert.alertWebUrl}}", "devices": "${{alert.devices}}", "raw": "${{record}}"}}
  - name: hook-raw               # notify-test only
    type: webhook
    url: {hook.url}/accepted
    ca_file: {ca}
  - name: hook-bad               # notify-test only: HTTP 400
    type: webhook
    url: {hook.url}/bad
    ca_file: {ca}
  - name: debug
    type: file
    format: json
    path: {work}/debug.jsonl
"""
    with open(path, 'w', encoding='utf-8') as f:
        f.write(text)
    os.chmod(path, 0o600)


def env():
    e = dict(os.environ)
    e.update(E2E_SECRET=L.SECRET, E2E_SMTP_PASSWORD=PASSWORD, E2E_HOOK_TOKEN=HOOK_TOKEN)
    return e


def siemfwd(*args, timeout=180):
    r = subprocess.run([L.SIEMFWD] + list(args), capture_output=True, text=True, env=env(),
                       timeout=timeout)
    for mark in L.SANITIZER_MARKS:
        check(mark not in r.stderr, 'sanitizer report from siemfwd %s:\n%s' % (args[0], r.stderr))
    return r


# ------------------------------------------------------------------ reading mail

def text_body(m):
    return m['msg'].get_body(preferencelist=('plain',)).get_content()


def html_body(m):
    return m['msg'].get_body(preferencelist=('html',)).get_content()


def field(text, label):
    """The value of 'Label:  value' in a plain-text body, or None."""
    for line in text.splitlines():
        if line.startswith(label + ':'):
            return line[len(label) + 1:].strip()
    return None


def header_names(raw):
    head = raw.split(b'\r\n\r\n', 1)[0].decode('ascii')
    return [line.split(':', 1)[0] for line in head.split('\r\n') if line[:1] not in (' ', '\t')]


def devices_of(alert, source):
    if source == 'mde':
        return [alert['computerDnsName']]
    out = []
    for e in alert.get('evidence') or []:
        if e.get('@odata.type', '').endswith('deviceEvidence') and e.get('deviceDnsName'):
            if e['deviceDnsName'].lower() not in [d.lower() for d in out]:
                out.append(e['deviceDnsName'])
    return out


def flat(s):
    return ' '.join(''.join(' ' if ord(c) < 0x20 or c == '\x7f' else c for c in s).split())


# ------------------------------------------------------------------ checks

def check_oncall(msgs, emu):
    want = {}
    for name, source, tid in (('contoso', 'graph', CONTOSO), ('fabrikam', 'mde', FABRIKAM)):
        for a in emu.view(name, source):
            if a['severity'].lower() == 'high' and a['status'].lower() == 'new':
                want[a['id']] = (name, source, tid, a)
    got = {}
    for m in msgs:
        body = text_body(m)
        aid = field(body, 'Alert ID')
        check(aid not in got, 'oncall: alert %s sent twice' % aid)
        got[aid] = m
        check(m['rcpt_tos'] == ['soc-oncall@mssp.example', 'lead@mssp.example'],
              'oncall: envelope recipients %s' % m['rcpt_tos'])
        check(m['mail_from'] == 'siemfwd@mssp.example', 'oncall: MAIL FROM %s' % m['mail_from'])
        check(m['tls'], 'oncall: message not sent over STARTTLS')
        check(header_names(m['raw']) == HEADER_NAMES, 'oncall: headers %s'
              % header_names(m['raw']))
        check(m['msg']['To'] == 'soc-oncall@mssp.example, lead@mssp.example',
              'oncall: To: %s' % m['msg']['To'])
    check(set(got) == set(want), 'oncall: sent %s, expected %s' % (sorted(got), sorted(want)))
    for aid, (name, source, tid, a) in want.items():
        m, body = got[aid], text_body(got[aid])
        check(str(m['msg']['Subject']) == '[%s] High: %s' % (name, flat(a['title'])),
              'oncall: subject %r for %s' % (str(m['msg']['Subject']), a['title']))
        check(field(body, 'Organization') == '%s (tenant %s)' % (name, tid),
              'oncall: organization line %r' % field(body, 'Organization'))
        link = field(body, 'Portal link')
        check(link and 'tid=%s' % tid in link, 'oncall: portal link %r' % link)
        if source == 'graph':
            check(link == a['alertWebUrl'], 'oncall: link %r != %r' % (link, a['alertWebUrl']))
        check('href="%s"' % link in html_body(m), 'oncall: HTML part has no link to %s' % link)
        devs = devices_of(a, source)
        check(field(body, 'Devices') == (', '.join(devs) if devs else None),
              'oncall: devices %r, expected %r' % (field(body, 'Devices'), devs))
    return got


def check_hostile(got, emu):
    hostile = emu.alerts('contoso')[0]['id']
    m = got[hostile]
    check(str(m['msg']['Subject']) == '[contoso] High: ' + HOSTILE_FLAT,
          'hostile: subject %r' % str(m['msg']['Subject']))
    check(header_names(m['raw']) == HEADER_NAMES, 'hostile: headers %s' % header_names(m['raw']))
    head = m['raw'].split(b'\r\n\r\n', 1)[0]
    check(b'\nBcc' not in head and b'\nX-Injected' not in head, 'hostile: injected header')
    check(all(b < 0x80 for b in head), 'hostile: raw 8-bit bytes in the header block')
    check('victim@evil.example' not in m['rcpt_tos'], 'hostile: extra recipient')
    check(field(text_body(m), 'Alert ID') == hostile, 'hostile: wrong alert')
    log('  hostile title: one Subject, RFC 2047 encoded, %d headers' % len(HEADER_NAMES))


def check_flood(msgs, emu):
    ids = [a['id'] for a in emu.view('contoso', 'graph')]
    single, digests = [], []
    for m in msgs:
        subject = str(m['msg']['Subject'])
        check(m['rcpt_tos'] == ['flood@mssp.example'], 'flood: recipients %s' % m['rcpt_tos'])
        if 'Digest:' in subject:
            digests.append(m)
        else:
            check(field(text_body(m), 'Devices') is None, 'flood: device shown though '
                  'include.device is false')
            single.append(field(text_body(m), 'Alert ID'))
    check(len(single) == 2, 'flood: %d single messages, expected 2' % len(single))
    check(len(digests) == 1, 'flood: %d digests, expected 1' % len(digests))
    d = digests[0]
    n = len(ids) - 2
    check(str(d['msg']['Subject']) == '[contoso] Digest: %d alerts held by flood control '
          '(highest: High)' % n, 'flood: digest subject %r' % str(d['msg']['Subject']))
    listed = [line.rsplit('(alert ', 1)[1].rstrip(')') for line in text_body(d).splitlines()
              if line[:1].isdigit() and '(alert ' in line]
    check(len(listed) == n, 'flood: digest lists %d alerts, says %d' % (len(listed), n))
    check(sorted(single + listed) == sorted(ids), 'flood: sent %s + digest %s != alerts %s'
          % (single, listed, ids))
    check('%d alerts matched the rule "tenants=contoso" after its flood limit (2 per 10m)' % n
          in ' '.join(text_body(d).split()), 'flood: digest text: %s' % text_body(d)[:300])
    log('  flood: 2 single messages + 1 digest of %d; every contoso alert accounted for' % n)


def check_teams(reqs, emu):
    want = {}
    for name, source in (('contoso', 'graph'), ('fabrikam', 'mde')):
        for a in emu.view(name, source):
            if a['severity'].lower() in ('medium', 'high') and a['status'].lower() == 'new':
                want[a['id']] = (name, source, a)
    got = {}
    for r in reqs:
        check(r['headers'].get('Authorization') == 'Bearer ' + HOOK_TOKEN,
              'teams: Authorization %r' % r['headers'].get('Authorization'))
        check(r['headers'].get('Content-Type') == 'application/json', 'teams: content type')
        doc = json.loads(r['body'].decode('utf-8'))
        raw = json.loads(doc['raw'])
        check(raw['id'] not in got, 'teams: %s posted twice' % raw['id'])
        got[raw['id']] = (doc, raw)
    check(set(got) == set(want), 'teams: posted %s, expected %s' % (sorted(got), sorted(want)))
    for aid, (name, source, a) in want.items():
        doc, raw = got[aid]
        sev = a['severity'][0].upper() + a['severity'][1:].lower()
        check(doc['title'] == '[%s] %s: %s' % (name, sev, a['title']), 'teams: title %r'
              % doc['title'])
        check(doc['summary'] == a['title'], 'teams: summary %r' % doc['summary'])
        check(raw['tenant']['name'] == name, 'teams: record tenant %r' % raw['tenant'])
        check(doc['text'].startswith('https://security.microsoft.com/') and 'tid=' in doc['text'],
              'teams: link %r' % doc['text'])
        check(doc['devices'] == ', '.join(devices_of(a, source)), 'teams: devices %r'
              % doc['devices'])
    log('  teams webhook: %d templated JSON documents (hostile title JSON-escaped)' % len(got))


def check_quarantine(work, emu):
    path = os.path.join(work, 'state', 'quarantine', 'badrcpt.jsonl')
    want = {a['id'] for a in emu.view('fabrikam', 'mde')
            if a['severity'] == 'High' and a['status'] == 'New'}
    with open(path, encoding='utf-8') as f:
        rows = [json.loads(line) for line in f]
    check({r['alert_id'] for r in rows} == want, 'badrcpt: quarantined %s, expected %s'
          % ([r['alert_id'] for r in rows], want))
    for r in rows:
        check('550 5.1.1 <bad-address@mssp.example>' in r['reason'], 'badrcpt: reason %r'
              % r['reason'])


# ------------------------------------------------------------------ scenario

def run_once_cleartext_behind(cfg):
    """run --once; cleartext never delivers, so the run says so (exit 1) and
    names it, and only it, as left behind."""
    r = siemfwd('run', '-c', cfg, '--once')
    check(r.returncode == 1, 'run --once exit %d (want 1: cleartext left behind):\n%s'
          % (r.returncode, r.stderr[-3000:]))
    behind = [x for x in r.stderr.splitlines() if 'left behind' in x]
    check(behind and all('output=cleartext' in x for x in behind),
          'run --once: left behind should name cleartext only:\n%s' % '\n'.join(behind))
    return r


def first_run(work, cfg, emu, peers):
    st, im, pl, hook = peers
    r = siemfwd('check', '-c', cfg)
    check(r.returncode == 0, 'check failed: %s%s' % (r.stdout, r.stderr))
    r = run_once_cleartext_behind(cfg)
    check('does not offer STARTTLS' in r.stderr, 'cleartext: no STARTTLS refusal logged:\n%s'
          % r.stderr[-3000:])
    check(pl.box.sessions >= 1 and not pl.messages(), 'cleartext: %d messages went out '
          'without TLS (%d sessions)' % (len(pl.messages()), pl.box.sessions))
    oncall = [m for m in st.messages() if 'soc-oncall@mssp.example' in m['rcpt_tos']]
    got = check_oncall(oncall, emu)
    log('  oncall: %d messages over STARTTLS+AUTH to 2 recipients' % len(got))
    check_hostile(got, emu)
    check_flood(im.messages(), emu)
    check_teams(hook.received('/ok'), emu)
    check_quarantine(work, emu)
    check(not [m for m in st.messages() if m['rcpt_tos'] == ['bad-address@mssp.example']],
          'badrcpt: delivered anyway')
    r = siemfwd('state', '-c', cfg)
    line = [x for x in r.stdout.splitlines() if ' cleartext ' in x]
    check(line and 'STARTTLS' in line[0], 'state: cleartext shows no error: %s' % r.stdout)
    log('  cleartext: refused, nothing sent, cursor held with the reason')
    return got


def second_run(cfg, emu, peers):
    """Severity rise re-notifies; an unchanged re-delivered alert does not."""
    st, im, pl, hook = peers
    before_on, before_fl, before_hook = len(st.messages()), len(im.messages()), \
        len(hook.received('/ok'))
    t = emu.tenants['contoso']
    with t.lock:
        rise, same = t.alerts[3], t.alerts[1]
        rise['severity'] = 'high'
        rise['updated'] = same['updated'] = now_ticks()
    time.sleep(1.5)   # settle: 1s
    run_once_cleartext_behind(cfg)
    new_on = [m for m in st.messages()[before_on:] if 'soc-oncall@mssp.example' in m['rcpt_tos']]
    check([field(text_body(m), 'Alert ID') for m in new_on] == [rise['id']],
          'second run: oncall sent %s, expected only %s' % (
              [field(text_body(m), 'Alert ID') for m in new_on], rise['id']))
    check(str(new_on[0]['msg']['Subject']).startswith('[contoso] High: '), 'second run subject')
    new_fl = im.messages()[before_fl:]
    check([field(text_body(m), 'Alert ID') for m in new_fl] == [rise['id']],
          'second run: flood output sent %s' % [str(m['msg']['Subject']) for m in new_fl])
    new_hook = [json.loads(json.loads(x['body'])['raw'])['id']
                for x in hook.received('/ok')[before_hook:]]
    check(new_hook == [rise['id']], 'second run: teams got %s' % new_hook)
    log('  memory: severity low -> high sent again; an update at the same severity not')


def notify_tests(cfg, peers):
    st, im, pl, hook = peers
    n0 = len(st.messages())
    r = siemfwd('notify-test', '-c', cfg, '--output', 'oncall')
    check(r.returncode == 0 and r.stdout.startswith('oncall (email): delivered: 250 2.0.0 Ok: '
                                                    'queued as TEST'),
          'notify-test oncall: %d %s %s' % (r.returncode, r.stdout, r.stderr))
    r = siemfwd('notify-test', '-c', cfg, '--output', 'oncall', '--tenant', 'fabrikam')
    check(r.returncode == 0, 'notify-test --tenant: %s %s' % (r.stdout, r.stderr))
    subjects = [str(m['msg']['Subject']) for m in st.messages()[n0:]]
    check(subjects == ['[contoso] Informational: siemfwd test notification',
                       '[fabrikam] Informational: siemfwd test notification'],
          'notify-test subjects %s' % subjects)
    link = field(text_body(st.messages()[-1]), 'Portal link')
    check(link and link.endswith('tid=' + FABRIKAM), 'notify-test link %r' % link)
    alert = os.path.join(os.path.dirname(cfg), 'alert.json')
    with open(alert, 'w', encoding='utf-8') as f:
        json.dump({'value': [{'id': 'da-file-1', 'title': HOSTILE, 'severity': 'High',
                              'status': 'New', 'computerDnsName': 'srv-7.fabrikam.example'}]}, f)
    r = siemfwd('notify-test', '-c', cfg, '--output', 'oncall', '--tenant', 'fabrikam',
                '--alert', alert)
    m = st.messages()[-1]
    check(r.returncode == 0 and str(m['msg']['Subject']) == '[fabrikam] High: ' + HOSTILE_FLAT
          and header_names(m['raw']) == HEADER_NAMES
          and field(text_body(m), 'Devices') == 'srv-7.fabrikam.example'
          and field(text_body(m), 'Portal link') == 'https://security.microsoft.com/alerts/'
          'da-file-1?tid=' + FABRIKAM, 'notify-test --alert: %s %s %r' % (
              r.stdout, r.stderr, str(m['msg']['Subject'])))
    r = siemfwd('notify-test', '-c', cfg, '--output', 'hook-raw')
    check(r.returncode == 0 and r.stdout.startswith('hook-raw (webhook): delivered: HTTP 202'),
          'notify-test hook-raw: %s %s' % (r.stdout, r.stderr))
    doc = json.loads(hook.received('/accepted')[-1]['body'])
    check(doc['type'] == 'alert' and doc['tenant'] == {'name': 'contoso', 'id': CONTOSO}
          and doc['title'] == 'siemfwd test notification', 'hook-raw document %s' % doc)
    expect = [('cleartext', 1, 'cleartext (email): fatal: ', 'does not offer STARTTLS'),
              ('badrcpt', 1, 'badrcpt (email): rejected: <bad-address@mssp.example>: 550 5.1.1',
               'Recipient address rejected'),
              ('hook-bad', 1, 'hook-bad (webhook): rejected: HTTP 400', ''),
              ('debug', 2, '', ''), ('nosuch', 2, '', '')]
    for out, rc, prefix, text in expect:
        r = siemfwd('notify-test', '-c', cfg, '--output', out)
        check(r.returncode == rc and r.stdout.startswith(prefix) and text in r.stdout,
              'notify-test %s: exit %d (want %d): %s %s' % (out, r.returncode, rc, r.stdout,
                                                            r.stderr))
    log('  notify-test: delivered (email, webhook), fatal, rejected, usage errors')


def bad_configs(work, cfg):
    with open(cfg, encoding='utf-8') as f:
        text = f.read()
    cases = [('{min_severity: high, status: [new]}', '{min_severity: hihg, status: [new]}',
              'outputs[0].rules[0].min_severity'),
             ('flood: {max: 2, per: 10m}', 'flood: {max: 2, per: 10}',
              'outputs[1].flood.per'),
             ('"raw": "${record}"}', '"raw": ${record}}', 'outputs[4].template: ')]
    for old, new, want in cases:
        check(old in text, 'bad config: %r not in config' % old)
        path = os.path.join(work, 'bad.yaml')
        with open(path, 'w', encoding='utf-8') as f:
            f.write(text.replace(old, new))
        os.chmod(path, 0o600)
        r = siemfwd('check', '-c', path)
        check(r.returncode == 2 and want in r.stderr and 'bad.yaml:' in r.stderr,
              'check %s: exit %d %s' % (new, r.returncode, r.stderr))
    log('  check: rules, flood and template errors as FILE:LINE: path')


def main():
    root = tempfile.mkdtemp(prefix='siemfwd-notify-')
    ok = False
    peers, emu = [], None
    try:
        certs = L.make_certs(os.path.join(root, 'certs'))
        certs['server.key'] = os.path.join(root, 'certs', 'server.key')
        peers = [SMTPServer('starttls', certs), SMTPServer('implicit', certs),
                 SMTPServer('plain', certs), WebhookReceiver(certs)]
        emu = InProcEmulator(root, os.path.dirname(certs['ca.crt']), {
            'defaults': {'alerts': 8, 'history': '1h', 'mde_share': 1.0,
                         'unknown_evidence_rate': 0.0},
            'tenants': [{'name': 'contoso', 'id': CONTOSO},
                        {'name': 'fabrikam', 'id': FABRIKAM, 'alerts': 3}]})
        shape_alerts(emu)
        cfg = os.path.join(root, 'siemfwd.yaml')
        write_config(cfg, root, emu, peers)
        time.sleep(1.5)   # alerts updated just now are behind `settle: 1s`
        log('run 1: rules, STARTTLS/AUTH, smtps, hostile title, flood, webhook, 550')
        first_run(root, cfg, emu, peers)
        log('run 2: sent-once memory')
        second_run(cfg, emu, peers)
        log('notify-test')
        notify_tests(cfg, peers)
        bad_configs(root, cfg)
        ok = True
    except Exception:  # noqa: BLE001 - report every failure the same way
        traceback.print_exc()
    finally:
        for p in peers:
            p.stop()
        if emu:
            emu.stop()
        if ok:
            shutil.rmtree(root, ignore_errors=True)
        else:
            log('kept %s for inspection' % root)
    log('PASS' if ok else 'FAIL')
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
