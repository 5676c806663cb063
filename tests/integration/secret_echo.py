#!/usr/bin/python3
"""Servers that echo secrets back (issue 10 B3/B4): whatever they quote must not
reach siemfwd's logs, siemfwd.db last_error, `siemfwd state`, `check --online`,
`notify-test` or a quarantine reason, in any form: raw, URL-encoded (%2B, %2b,
+ for space), base64 (alone or inside AUTH PLAIN), nor the half left by a cut.

Peers, all on loopback over TLS with the test CA:
  - a token endpoint that quotes the form body it got (client_secret=...), once
    short and once behind 240 bytes of padding so the secret straddles the
    256-byte sentence cut;
  - the HEC emulator with --echo-token, refusing siemfwd's token and quoting the
    Authorization header (alerts come from the Defender emulator);
  - an SMTP server (STARTTLS) answering AUTH PLAIN with a 535 that quotes it;
  - a webhook receiver answering 404 with the secret URL path in its body,
    across the 200-byte cut of the answer.
Also: http:// HEC and webhook URLs are warned about at start, and a webhook URL
is printed only as scheme://host/***. Env: SIEMFWD, SF_SOURCE_DIR. Stdlib only.
"""

import base64
import http.server
import json
import os
import shutil
import socket
import sqlite3
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import e2e_lib as L  # noqa: E402
from e2e_lib import check, log  # noqa: E402

HEC_EMU = os.path.join(L.SRC, 'tests', 'emulator', 'hec_emu.py')
TENANT_SECRET = 'Sup3r+Secret/Value=42 x&y'
SMTP_USER, SMTP_PASSWORD = 'siemfwd', 'smtpPa55+word/x'
HEC_TOKEN = 'hec-Wrong-Token-7788'
HOOK_PATH = '/services/T0001/B0002/HookSecretXYZ123'
SHORT_TID = '00000000-0000-0000-0000-0000000000e1'
LONG_TID = '00000000-0000-0000-0000-0000000000e2'


def forms(secret):
    """Every form a server may echo secret in."""
    raw = secret.encode()
    out = {secret, urllib.parse.quote(secret, safe='-._~'),
           urllib.parse.quote(secret, safe='-._~').replace('%2B', '%2b').replace('%2F', '%2f'),
           urllib.parse.quote_plus(secret, safe='-._~'),
           base64.b64encode(raw).decode().rstrip('=')}
    # the first characters alone: what a cut would leave
    out.add(urllib.parse.quote(secret, safe='-._~')[:8])
    out.add(secret[:6])
    return out


def plain_b64(user, password):
    return base64.b64encode(b'\0' + user.encode() + b'\0' + password.encode()).decode()


def assert_clean(where, text, secrets):
    for s in secrets:
        for f in forms(s):
            check(f not in text, '%s holds a form of a secret (%r):\n%s' % (where, f, text[-4000:]))
    pb = plain_b64(SMTP_USER, SMTP_PASSWORD)
    check(pb[:12] not in text, '%s holds the AUTH PLAIN string:\n%s' % (where, text[-4000:]))
    check(HOOK_PATH not in text and 'HookSecretXYZ' not in text and '/services/T0' not in text,
          '%s holds the webhook URL path:\n%s' % (where, text[-4000:]))


def server_ctx(certs, certdir):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(certs['server.crt'], os.path.join(certdir, 'server.key'))
    return ctx


def serve_https(handler, ctx):
    httpd = http.server.ThreadingHTTPServer(('127.0.0.1', 0), handler)
    httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
    threading.Thread(target=httpd.serve_forever, kwargs={'poll_interval': 0.1},
                     daemon=True).start()
    return httpd, 'https://127.0.0.1:%d' % httpd.server_address[1]


class _Quiet(http.server.BaseHTTPRequestHandler):
    def log_message(self, fmt, *args):
        pass

    def answer(self, status, obj):
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class EchoTokenHandler(_Quiet):
    """Entra look-alike that quotes the request body in error_description."""

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get('Content-Length') or 0)).decode()
        pad = 'x' * 240 + ' ' if LONG_TID in self.path else ''
        self.answer(401, {'error': 'invalid_client',
                          'error_description': 'AADSTS7000215: %sInvalid client secret in '
                                               'request %s provided. Trace ID: 1' % (pad, body)})


class EchoHookHandler(_Quiet):
    """A webhook receiver that knows no hook and says where it looked."""

    def do_POST(self):
        self.rfile.read(int(self.headers.get('Content-Length') or 0))
        # padded so that the path straddles the 200-byte cut of the answer
        self.answer(404, {'error': 'no hook at %s %s%s' % ('p' * 150, self.headers.get('Host'),
                                                           self.path)})


class EchoSMTP:
    """STARTTLS SMTP server whose 535 quotes the AUTH exchange."""

    def __init__(self, ctx):
        self.ctx = ctx
        self.sock = socket.socket()
        self.sock.bind(('127.0.0.1', 0))
        self.sock.listen(8)
        self.url = 'smtp://127.0.0.1:%d' % self.sock.getsockname()[1]
        self.stopped = False
        threading.Thread(target=self.loop, daemon=True).start()

    def loop(self):
        while not self.stopped:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self.session, args=(conn,), daemon=True).start()

    def session(self, conn):
        tls = False
        f = conn.makefile('rwb')

        def say(text):
            f.write(text.encode() + b'\r\n')
            f.flush()
        try:
            say('220 echo ESMTP')
            while True:
                line = f.readline().decode(errors='replace').rstrip('\r\n')
                if not line:
                    return
                cmd = line.split(' ', 1)[0].upper()
                if cmd in ('EHLO', 'HELO'):
                    say('250-echo\r\n250-STARTTLS\r\n250 AUTH PLAIN' if not tls
                        else '250-echo\r\n250 AUTH PLAIN')
                elif cmd == 'STARTTLS':
                    say('220 2.0.0 go ahead')
                    conn = self.ctx.wrap_socket(conn, server_side=True)
                    f = conn.makefile('rwb')
                    tls = True
                elif cmd == 'AUTH':
                    parts = line.split()
                    resp = parts[2] if len(parts) > 2 else None
                    if resp is None:
                        say('334 ')
                        resp = f.readline().decode(errors='replace').strip()
                    say('535 5.7.8 Authentication failed: AUTH PLAIN %s (%s)' % (
                        resp, base64.b64decode(resp + '==').split(b'\0')[-1].decode(
                            errors='replace')))
                elif cmd == 'QUIT':
                    say('221 bye')
                    return
                else:
                    say('250 OK')
        except (OSError, ValueError):
            pass
        finally:
            conn.close()

    def stop(self):
        self.stopped = True
        self.sock.close()


class HecEmu:
    def __init__(self, certs, certdir, workdir):
        self.logf = open(os.path.join(workdir, 'hec.log'), 'ab')
        self.proc = subprocess.Popen(
            [L.PY, HEC_EMU, '--cert', certs['server.crt'], '--key',
             os.path.join(certdir, 'server.key'), '--token', 'the-right-token', '--echo-token',
             '--exit-with-parent'], stdout=subprocess.PIPE, stderr=self.logf)
        line = self.proc.stdout.readline().decode()
        check(line.startswith('READY port='), 'hec_emu did not start: %r' % line)
        self.url = 'https://127.0.0.1:%d' % int(line.split('=', 1)[1])

    def stop(self):
        self.proc.terminate()
        self.proc.wait(10)
        self.logf.close()


def write(path, text):
    with open(path, 'w', encoding='utf-8') as f:
        f.write(text)
    os.chmod(path, 0o600)
    return path


def env():
    e = L._env()
    e.update(T_SECRET=TENANT_SECRET, T_SMTP=SMTP_PASSWORD, T_HEC=HEC_TOKEN)
    return e


def run(*args, timeout=120):
    r = subprocess.run([L.SIEMFWD] + list(args), capture_output=True, text=True, env=env(),
                       timeout=timeout)
    for mark in L.SANITIZER_MARKS:
        check(mark not in r.stderr, 'sanitizer report from siemfwd %s:\n%s' % (args[0], r.stderr))
    return r


def token_echo(work, certs, token_url, hook_url, smtp_url):
    """check --online, run --once, the database and `state` after refusals
    that quote the secret."""
    cfg = write(os.path.join(work, 'token.yaml'), f"""\
state_dir: {work}/state-token
http: {{ca_file: {certs['ca.crt']}, timeout: 10s}}
tenant_defaults:
  client_id: {L.CLIENT_ID}
  client_secret: ${{T_SECRET}}
  authority: {token_url}
  api_base: {token_url}
tenants:
  - {{name: short, tenant_id: {SHORT_TID}}}
  - {{name: long, tenant_id: {LONG_TID}}}
outputs:
  - {{name: out, type: file, format: json, path: {work}/out.jsonl}}
  - name: oncall
    type: email
    url: {smtp_url}
    ca_file: {certs['ca.crt']}
    from: siemfwd@mssp.example
    to: [soc@mssp.example]
    username: {SMTP_USER}
    password: ${{T_SMTP}}
    rules: [{{min_severity: high}}]
  - name: hook
    type: webhook
    url: {hook_url}{HOOK_PATH}
    ca_file: {certs['ca.crt']}
    rules: [{{min_severity: high}}]
  - name: hook-plain
    type: webhook
    url: http://127.0.0.1:9{HOOK_PATH}
    rules: [{{min_severity: high}}]
  - {{name: hec-plain, type: hec, format: json, url: "http://127.0.0.1:9", token: "${{T_HEC}}"}}
""")
    secrets = [TENANT_SECRET, SMTP_PASSWORD, HEC_TOKEN]
    r = run('check', '-c', cfg, '--online')
    check(r.returncode == 1 and 'tenant short' in r.stdout and 'tenant long' in r.stdout,
          'check --online: exit %d\n%s\n%s' % (r.returncode, r.stdout, r.stderr))
    check('AADSTS7000215' in r.stdout, 'check --online lost the error: %s' % r.stdout)
    assert_clean('check --online', r.stdout + r.stderr, secrets)
    check('hook-plain' in r.stderr and 'is http://' in r.stderr and
          'http://127.0.0.1:9/***' in r.stderr,
          'no http:// warning for the webhook:\n%s' % r.stderr)
    check('hec-plain' in r.stderr and 'http://127.0.0.1:9 is http://' in r.stderr,
          'no http:// warning for HEC:\n%s' % r.stderr)
    log('  check --online: token endpoint echoes masked (short and across the cut); '
        'http:// warned')

    r = run('run', '-c', cfg, '--once')
    check(r.returncode == 1, 'run --once: exit %d\n%s' % (r.returncode, r.stderr[-3000:]))
    assert_clean('run --once log', r.stderr + r.stdout, secrets)
    db = sqlite3.connect(os.path.join(work, 'state-token', 'siemfwd.db'))
    rows = db.execute('SELECT tenant, output, last_error FROM cursor').fetchall()
    db.close()
    errors = '\n'.join(e for _, _, e in rows)
    check('AADSTS7000215' in errors, 'no last_error stored: %s' % rows)
    assert_clean('siemfwd.db last_error', errors, secrets)
    r = run('state', '-c', cfg)
    check(r.returncode == 0 and 'AADSTS7000215' in r.stdout, 'state: %s %s' % (r.stdout,
                                                                              r.stderr))
    assert_clean('siemfwd state', r.stdout + r.stderr, secrets)
    log('  run --once, siemfwd.db, state: masked')

    r = run('notify-test', '-c', cfg, '--output', 'oncall')
    check(r.returncode == 1 and '535' in r.stdout + r.stderr,
          'notify-test oncall: exit %d %s %s' % (r.returncode, r.stdout, r.stderr))
    assert_clean('notify-test oncall', r.stdout + r.stderr, secrets)
    r = run('notify-test', '-c', cfg, '--output', 'hook')
    out = r.stdout + r.stderr
    check(r.returncode == 1 and 'HTTP 404' in out and hook_url + '/***' in out,
          'notify-test hook: exit %d %s' % (r.returncode, out))
    assert_clean('notify-test hook', out, secrets)
    log('  notify-test: SMTP 535 quoting AUTH PLAIN and a 404 quoting the hook URL masked')


def hec_echo(work, certs, certdir):
    """A HEC that refuses the token and quotes it: log, db, quarantine, state."""
    emu = hec = None
    try:
        emu = L.Emulator(work, certdir, config={
            'defaults': {'alerts': 3, 'history': '1h'},
            'tenants': [{'name': 'contoso', 'id': '00000000-0000-0000-0000-00000000c001'}]})
        hec = HecEmu(certs, certdir, work)
        cfg = L.write_config(work, emu, certs, [L.tenant_entry(emu, 'contoso')], [
            {'name': 'splunk', 'type': 'hec', 'format': 'json', 'url': hec.url,
             'token': '${T_HEC}', 'tls': {'ca_file': certs['ca.crt']}}], name='hec.yaml')
        time.sleep(1.5)    # alerts updated just now are behind `settle: 1s`
        r = run('run', '-c', cfg, '--once')
        out = r.stdout + r.stderr
        check('Invalid token' in out, 'HEC refusal not reported (exit %d):\n%s' % (
            r.returncode, out[-3000:]))
        assert_clean('run --once log (HEC)', out, [HEC_TOKEN])
        state = os.path.join(work, 'state')
        db = sqlite3.connect(os.path.join(state, 'siemfwd.db'))
        errors = '\n'.join(e for (e,) in db.execute('SELECT last_error FROM cursor'))
        db.close()
        assert_clean('siemfwd.db last_error (HEC)', errors, [HEC_TOKEN])
        qdir = os.path.join(state, 'quarantine')
        for name in (os.listdir(qdir) if os.path.isdir(qdir) else []):
            with open(os.path.join(qdir, name), encoding='utf-8') as f:
                assert_clean('quarantine ' + name, f.read(), [HEC_TOKEN])
        r = run('state', '-c', cfg)
        assert_clean('siemfwd state (HEC)', r.stdout + r.stderr, [HEC_TOKEN])
        log('  HEC quoting its token: log, siemfwd.db, quarantine, state masked')
    finally:
        if hec:
            hec.stop()
        if emu:
            emu.stop()


def main():
    root = tempfile.mkdtemp(prefix='siemfwd-echo-')
    ok = False
    servers = []
    try:
        certs = L.make_certs(os.path.join(root, 'certs'))
        certdir = os.path.dirname(certs['ca.crt'])
        ctx = server_ctx(certs, certdir)
        token_srv, token_url = serve_https(EchoTokenHandler, ctx)
        hook_srv, hook_url = serve_https(EchoHookHandler, ctx)
        smtp = EchoSMTP(ctx)
        servers = [token_srv, hook_srv]
        log('token endpoint, SMTP and webhook peers quoting secrets')
        token_echo(root, certs, token_url, hook_url, smtp.url)
        smtp.stop()
        log('HEC quoting its token')
        hec_echo(root, certs, certdir)
        ok = True
    except Exception:  # noqa: BLE001 - report every failure the same way
        traceback.print_exc()
    finally:
        for s in servers:
            s.shutdown()
            s.server_close()
        if ok:
            shutil.rmtree(root, ignore_errors=True)
        else:
            log('kept %s for inspection' % root)
    log('PASS' if ok else 'FAIL')
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
